"""Fuzz seed 1005: grad wrt y: error inf x tolerance, shape (1, 3) (jax (1, 3)) (float64)"""

DTYPE = 'float64'
VALUES = {'x': [[[-1.2533424807963187, 1.2916861271658107, -0.6381479148966887], [0.41567414586149587, 1.0043781736322592, 1.430166010359121]], [[-1.0132958877295262, -0.009586035663865289, 0.6504814050046912], [-0.4799889303002376, 1.3337760840010713, -0.9882374423130398]]], 'y': [[0.503366116333738, -0.011428905217556462, -0.1588117929672963]]}
PYTHON_FLOATS = ()
import numpy as np


def g0(p, q):
    u = (np.minimum(q, -0.7)).std()
    return u * np.minimum(q, np.hypot(0.25, 0.5 + np.square(u)))


def f(x, y):
    a = np.multiply(np.minimum(y, x), np.tanh(np.arctan2(x, 1.5 + np.cos(y))))
    b = np.tanh(np.flip(y, axis=0))
    c = np.broadcast_to(0.25, (1, 1)) * 1.5
    c = np.tanh(np.broadcast_to(np.mean(np.divide(0.25, np.exp(np.cos(np.log2(2.0 + np.sin(a)))))), (1, 1)))
    if np.mean(x) < 1.0 and np.mean(x) < 1.0:
        c = np.std((1.5 + np.sin(y)) ** np.cos(b), axis=1, keepdims=True)
    c[..., 1:] = np.std(c)
    return np.sum(a * np.tanh(a)) + np.sum(b * np.tanh(a)) + np.sum(c * np.tanh(b))
