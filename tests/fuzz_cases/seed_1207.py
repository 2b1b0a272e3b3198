"""Fuzz seed 1207: grad wrt x: error inf x tolerance, shape (3,) (jax (3,)) (float64)"""

DTYPE = 'float32'
VALUES = {'x': [-0.9668214468214992, -0.15823448006217733, 0.8663348406188986], 'y': [-1.3064005898424975]}
PYTHON_FLOATS = ()
import numpy as np


def g0(p, q):
    u = np.std(p)
    if np.sum(np.cbrt(2.0 + np.sin(p))) > 0.0 or np.mean(np.cbrt(2.0 + np.sin(p))) < 0.0:
        u = np.prod((1.2 + np.sin(p)))
    return u * q


def f(x, y):
    a = np.tanh(np.broadcast_to(0.25, (3,)))
    b = (1.5 + np.sin(np.sqrt(1.0 + x ** 2))) ** np.cos(np.mean(-0.7))
    c = g0(np.mean(np.logaddexp(x, y)), np.mean(b))
    b = np.arcsinh(y / (1.5 + np.cos(x)))
    n0 = 0
    while n0 < 2 and not np.mean(a) < 1.0:
        n0 = n0 + 1
        c = g0(np.mean(np.multiply(x, np.tanh(y))), np.mean(np.cumsum(b, axis=0)))
        b /= (1.5 + np.sin(np.cbrt(2.0 + np.sin(c))))
        a = np.cumsum((1.5 + np.sin(b)) ** np.cos(y), axis=0)
    return np.sum(a * np.tanh(a)) + np.sum(b * np.tanh(c)) + np.sum(c * np.tanh(b))
