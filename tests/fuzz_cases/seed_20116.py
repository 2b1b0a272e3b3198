"""Fuzz seed 20116: grad wrt z: error 2.44e+06 x tolerance (float64): b[:1] = b zeroed d_b in place before the value read it"""

DTYPE = 'float64'
VALUES = {'x': [0.8077472168929849, 0.5104038753676088, 1.0284225471989754], 'y': -0.5109111291907084, 'z': [0.8858744350025431, -0.8661954465494219, 0.3254320914751325]}
PYTHON_FLOATS = ('y',)
import numpy as np


def f(x, y, z):
    a = np.subtract(np.minimum(1.3, y), 2.0)
    b = (np.diag((np.eye(3) * 2.0 + 0.3 * np.tanh(np.broadcast_to(2.0, (3, 3))))) * z + np.trace((np.eye(3) * 2.0 + 0.3 * np.tanh(np.broadcast_to(2.0, (3, 3)))))).std(axis=0, keepdims=True)
    c = -0.7
    b[:1] = b
    for r0, q0 in zip(b, np.cos(np.broadcast_to(np.linalg.norm((0.5 + np.square(c))), (1,)))):
        a = np.minimum(np.tensordot(np.broadcast_to(q0, (3,)), np.broadcast_to(c, (3,)), axes=1), np.cbrt(2.0 + np.sin(a)))
    a = np.mean(np.minimum(a, np.concatenate([(np.broadcast_to(c, (3,)))[..., :1], (z)[..., 1:]], axis=-1)))
    b[:1] = np.square(np.logaddexp(b, 0.5))
    b /= (1.5 + np.sin(np.mean(np.repeat(((np.broadcast_to(c, (3,))) @ np.broadcast_to(y, (3,)))[..., None], 2, axis=0))))
    c = np.mean(a)
    c -= np.logaddexp(np.copy(y), -0.7) * 0.5
    c = np.reciprocal(1.5 + np.cos(np.arccos(0.9 * np.sin(c))))
    c *= np.cos(np.linalg.norm((0.5 + np.square(z))) * 2.0 * c)
    return np.sum(a * np.tanh(b)) + np.sum(b * np.tanh(c)) + np.sum(c * np.tanh(b))
