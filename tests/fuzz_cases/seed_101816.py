"""Fuzz seed 101816: grad wrt z: error inf x tolerance, shape (3,) (jax (3,)) (float64). A nan where jax gives a finite gradient: a = np.arccosh(1.5 + -z ** 2) is nan where |z| > 0.7 (the generator forgot parentheses, since fixed), then overwritten in a loop; its adjoint was zero only at run time (the trip count is not known when the code is generated), and 0 times the nan derivative was nan, where jax's symbolic zeros give 0. Now the adjoint code of the arccosh runs only where the loops did not overwrite a (reverse._Cond)"""

DTYPE = 'float64'
VALUES = {'x': [1.2195569844812715, 0.3244264629652651, -0.6529519261370729], 'y': 0.18342004822438973, 'z': [-1.3387314043476697, 0.6539805171003881, -0.3257147838778458]}
PYTHON_FLOATS = ('y',)
import numpy as np


def g0(p, q):
    u = (q + np.minimum(q, q))
    return u * np.hypot((1.5 + np.sin(u)) ** np.cos(q), 0.5 + np.square(np.where((u + -0.7) > -0.5, -0.7, -0.7)))


def f(x, y, z):
    a = np.arccosh(1.5 + -z ** 2)
    b = 0.5
    b = np.mean(np.repeat(np.expand_dims(x, 0)[0], 2, axis=0))
    for r0, q0 in zip(a, np.cos((b - z))):
        n1 = 0
        while n1 < 1 and (np.mean(np.diag((np.eye(3) * 2.0 + 0.3 * np.tanh(np.broadcast_to(2.0, (3, 3))))) * np.broadcast_to(q0, (3,)) + np.trace((np.eye(3) * 2.0 + 0.3 * np.tanh(np.broadcast_to(2.0, (3, 3)))))) < 0.3 or np.sum(np.diag((np.eye(3) * 2.0 + 0.3 * np.tanh(np.broadcast_to(2.0, (3, 3))))) * np.broadcast_to(q0, (3,)) + np.trace((np.eye(3) * 2.0 + 0.3 * np.tanh(np.broadcast_to(2.0, (3, 3)))))) > 0.3):
            n1 = n1 + 1
            a = np.broadcast_to(np.linalg.norm((0.5 + np.square((1.5 + np.sin(z)) ** np.cos(y))), axis=-1, keepdims=True), (3,)) * 1.5
        b = np.sum(np.tile(b, 2)) * 0.5
    a /= (1.5 + np.sin(np.mean(g0(b, a))))
    a *= np.cos(np.sum(np.array([np.sum(np.arctan(r0)) for r0 in z])))
    a[..., 1:] = np.broadcast_to(np.mean(a), (2,))
    return np.sum(a * np.tanh(b)) + np.sum(b * np.tanh(b))
