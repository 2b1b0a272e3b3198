"""Fuzz seed 1279: grad wrt x: error inf x tolerance, shape (2, 2, 3) (jax (2, 2, 3)) (float64)

jax's gradient is nan here at every point (the std of a mean broadcast over its axis), so
the case is checked against central differences."""

DTYPE = 'float64'
VALUES = {'x': [[[0.6715316973460768, 1.1132736312925915, 1.1065586681138964], [-0.9717582057101406, 1.4199166316940186, 0.5468310838502028]], [[-0.3881066885700457, 1.447083338487272, -0.17511668278363546], [-0.2666147430623169, 0.3597124217378358, 0.6642067311589379]]], 'y': -0.5728634492851168}
PYTHON_FLOATS = ('y',)
import numpy as np


def g0(p, q):
    u = np.linalg.norm((0.5 + np.square(np.sum(np.tile(p, 2)) * 0.5)))
    return u * np.hypot(0.25, 0.5 + np.square(q[..., :1]))


def f(x, y):
    a = np.broadcast_to(np.where(np.maximum(2.0, y) > -0.5, 0.5, np.log2(2.0 + np.sin(2.0))), (2, 2, 3)) + 0.25
    b = np.cumsum(np.hypot(x, 0.5 + np.square(a)), axis=2)
    b = np.copy(np.broadcast_to(np.mean(np.repeat(b * 0.5, 2, axis=2)), (2, 2, 3)))
    a[..., 1:] = np.broadcast_to(np.mean(np.log(1.5 + np.cos(x))), (2, 2, 2))
    a = np.tan(0.5 * np.tanh((1.2 + np.cos(a)) ** 1.5))
    hs0 = [np.broadcast_to(y, (2, 2, 3)) * 1.5]
    for i0 in range(1):
        hs0.append(np.cos(np.flip(a, axis=1)))
    a = hs0[-1] * 0.5
    b -= np.tanh(a) * 0.5
    b = np.broadcast_to(np.arctan(a[:1]), (2, 2, 3)) + 0.25
    b[:, 1] = np.broadcast_to(np.mean((np.stack([np.broadcast_to(np.mean(x), (2, 3)) for r1 in a])).std(axis=2, keepdims=True)), (2, 3))
    return np.sum(a * np.tanh(b)) + np.sum(b * np.tanh(b))
