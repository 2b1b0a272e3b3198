"""Fuzz seed 20670: jvp: 0.00175, jax.grad . v = -0.0154 (6.71e+06 x tolerance) (float64): a = np.broadcast_to(b, s) + 0.25 had a view of b_dot as its tangent, then b[..., 0] += changed it"""

DTYPE = 'float64'
VALUES = {'x': [[1.1576990036233368, -0.44674762341698604, 0.27196658335540325], [-0.01851165467275484, 0.9588669649131858, 0.09623988492443702], [-0.3979657788305575, -0.7303583381134465, -1.4679876825205405]], 'y': [[-0.46370416882125154, -1.1675851190440765, 0.5471610102224385]]}
PYTHON_FLOATS = ()
import numpy as np


def f(x, y):
    a = np.copy(x)
    b = np.arctan2(y, 1.5 + np.cos(((y) @ np.broadcast_to(np.mean(y), (3,)))[..., None]))
    c = np.sum(np.min(y, axis=-2), axis=0, keepdims=True)
    c += np.broadcast_to(np.mean(np.maximum((x - c), (x).mean())), (1,))
    a = np.broadcast_to(b, (3, 3)) + 0.25
    b[..., 0] += np.broadcast_to(np.mean((0.25 - np.tanh(a))), (1,))
    return np.sum(a * np.tanh(c)) + np.sum(b * np.tanh(b)) + np.sum(c * np.tanh(a))
