"""Fuzz seed 109756: grad wrt y: error 3.34e+06 x tolerance, shape (2, 2, 1) (jax (2, 2, 1)) (float64): in a loop, hs0 = [np.tanh(a)] right after a = np.tanh(a) took the value of a itself (the same expression text, a read before it was reassigned): a wrong value and gradient"""

DTYPE = 'float64'
VALUES = {'x': [[[0.9030425499543133, 0.22935807517979478, -0.8468524031856218], [-0.9525542213000572, -0.24148263830174388, -1.1110149522072543]], [[1.4389348336949257, 0.1497829377543054, -0.2680790768406194], [-1.4705259089070464, 0.08512809848010416, 1.209709246291347]]], 'y': [[[0.8173271029710731], [-0.5793282736146956]], [[-0.18586682366694607], [0.20980947950234086]]]}
PYTHON_FLOATS = ()
import numpy as np


def g0(p, q):
    u = np.sin(q)
    if np.sum(1.3 * q) > 0.3:
        u = np.broadcast_to(np.mean(np.subtract(np.where(np.broadcast_to(1.3, (2, 2, 3)) > 0.0, u, np.broadcast_to(p, (2, 2, 1))), (p).var(axis=0))), (2, 2, 1)) + 0.25
    return u * np.maximum(np.exp2(np.sin(u)), -1.3)


def g1(p, q):
    u = np.cumsum(np.maximum(q, 0.0), axis=0)
    return u * (u[-1] + np.maximum(q, q))


def f(x, y):
    a = np.tanh(np.tanh(x) if np.sum(x) > 0.0 else np.broadcast_to(np.positive(y), (2, 2, 3)))
    b = (y * a + np.exp(np.tanh(y)))
    c = np.broadcast_to(np.dot(np.broadcast_to(np.mean(np.divide(b, np.exp(np.cos(b)))), (3,)), np.broadcast_to(np.mean((1.2 + np.cos(a)) ** 1.5), (3,))), (2, 1, 1)) + 0.25
    for r0 in c:
        a = np.tanh(a)
        hs0 = [np.tanh(a)]
        for i1 in range(1):
            hs0.append(np.concatenate([((1.5 + np.sin(c)) ** np.cos(b))[..., :1], (np.cumsum(a, axis=1))[..., 1:]], axis=-1))
        b = np.stack(hs0)[0] * len(hs0)
        c = np.positive(c)
    a -= np.log10(1.5 + np.tanh(np.minimum(y, b))) * 0.5
    c = np.broadcast_to(np.sum(np.array([np.sum(np.broadcast_to(np.mean((a).mean(axis=-3, keepdims=True)), (2, 3))) for r1 in b])), (2, 1, 1)) + 0.25
    return np.sum(a * np.tanh(a)) + np.sum(b * np.tanh(b)) + np.sum(c * np.tanh(a))
