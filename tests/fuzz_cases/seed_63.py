"""Fuzz seed 63: a comprehension in an if test was refused"""

DTYPE = 'float64'
VALUES = {'x': [[[0.180238115686703, 1.4767766065788712, -0.9099378709702904], [0.015862836667849933, -0.8988626742030733, -0.9830156825513898]], [[-0.3971406035276823, -0.6365614960924445, -0.2587917638132713], [1.4684598540164946, -0.015933080393739862, -0.03613155763844844]]], 'y': [[[-0.9554733385034142], [-0.3756493602268791]]]}
PYTHON_FLOATS = ()
import numpy as np


def g0(p, q):
    u = np.tanh(p)
    if np.mean(np.minimum(p, p)) < 0.0:
        u = np.cumsum(np.where(np.sum(p, axis=1, keepdims=True) > -0.5, p, u), axis=0)
    return u * np.concatenate([(np.concatenate([(np.broadcast_to(q, (2, 2, 3)))[..., :1], (np.broadcast_to(0.5, (2, 2, 3)))[..., 1:]], axis=-1))[..., :1], (np.broadcast_to(np.arcsinh(u), (2, 2, 3)))[..., 1:]], axis=-1)


def f(x, y):
    a = np.broadcast_to(np.logaddexp(-0.7, np.sum(x[..., -1])), (2, 2, 1)) + 0.25
    b = x * 1.5
    c = x + 0.25
    n0 = 0
    while n0 < 2 and np.mean(np.sin(c)) < 1.0 and np.sum(np.sin(c)) > 1.0:
        n0 = n0 + 1
        if not np.mean(np.sum(np.array([np.sum(np.broadcast_to(np.mean(a), (2, 1))) for r0 in a]))) < -0.5:
            c = (1.5 + np.sin(np.max(b, axis=2, keepdims=True))) ** np.cos(b)
            a = np.copy(np.broadcast_to(np.mean(np.hypot(np.log10(1.5 + np.tanh(x)), 0.5 + np.square(np.exp(-np.square(a))))), (2, 2, 1)))
        elif np.mean(np.arcsin(0.9 * np.tanh(y))) < 0.3 or np.sum(np.arcsin(0.9 * np.tanh(y))) > 0.3:
            c[0] = np.broadcast_to(np.mean(b), (2, 3))
    return np.sum(a * np.tanh(c)) + np.sum(b * np.tanh(b)) + np.sum(c * np.tanh(b))
