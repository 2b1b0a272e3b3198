"""Fuzz seed 1230: grad wrt y: error inf x tolerance, shape (1, 2, 3) (jax (1, 2, 3)) (float64)"""

DTYPE = 'float64'
VALUES = {'x': [[[-1.2119044260422578, 0.24286585782149084, 0.3962172307885834], [-1.446863711870047, -0.5449374415909639, -0.8273843978479355]], [[-1.1660421427063077, -0.2437032463999933, 0.09641253345667922], [0.9564187480209743, 0.9073796046426432, -0.6508768692219217]]], 'y': [[[-0.8735123096847363, -0.22129203983087997, 1.2189595681774215], [0.7766194693749968, 0.8084602430504177, -1.2964359998323762]]], 'z': -0.2715972637876236}
PYTHON_FLOATS = ('z',)
import numpy as np


def g0(p, q):
    u = np.prod((1.2 + np.sin(0.25)))
    if np.mean(2.0) < 0.3:
        u = np.mean(np.sqrt(1.0 + np.mean(p, axis=1, keepdims=True) ** 2))
    return u * q


def g1(p, q):
    u = np.min(q, axis=1, keepdims=True)
    if np.sum(q) > -0.5 and np.sum(q) > -0.5:
        u = np.copy(u)
    return u * (g0(np.broadcast_to(p, (2, 2, 1)), q)).mean()


def f(x, y, z):
    a = y * 1.5
    b = np.tanh(np.broadcast_to(np.tan(0.5 * np.tanh(y)), (2, 2, 3)) if np.sum(y) > 0.3 or np.mean(y) < 0.3 else np.where(a > 1.0, x, np.broadcast_to(z, (2, 2, 3))))
    b *= np.cos((np.concatenate([(b)[..., :1], (np.broadcast_to(2.0, (2, 2, 3)))[..., 1:]], axis=-1))[:, 1])
    hs0 = [b + 0.25]
    for i0 in range(0):
        hs0.append(np.copy(np.broadcast_to(np.hypot(np.sum(z), 0.5 + np.square((x).sum(axis=2, keepdims=True))), (2, 2, 3))))
    b = sum(hs0) * 0.3
    b = np.tanh(np.broadcast_to(y, (2, 2, 3)))
    n0 = 0
    while n0 < 3:
        n0 = n0 + 1
        a = np.broadcast_to(np.std(np.var(b, axis=-3, keepdims=True), axis=-3), (1, 2, 3)) * 1.5
        for i1, r1 in enumerate(y):
            a = np.linalg.norm((0.5 + np.square(z))) / (1.5 + np.cos(y[:1]))
    b = np.tanh(np.broadcast_to((y[None, 0]).mean(axis=2, keepdims=True), (2, 2, 3)))
    return np.sum(a * np.tanh(a)) + np.sum(b * np.tanh(b))
