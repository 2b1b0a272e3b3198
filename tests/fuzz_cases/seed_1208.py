"""Fuzz seed 1208: jvp: -1.3354766155392426, jax.grad . v = -2.829004037113744 (5.21e+06 x tolerance) (float64)"""

DTYPE = 'float32'
VALUES = {'x': [-0.05866889537315201, 0.7400275611834704, 1.3916116150859486], 'y': 1.3742416415108485}
PYTHON_FLOATS = ('y',)
import numpy as np


def g0(p, q):
    u = np.tanh(np.squeeze(np.std(q, axis=-1, keepdims=True), axis=0))
    return u * np.var(np.var(0.5))


def f(x, y):
    a = np.where(np.multiply(x, np.tanh(x)) > 0.0, x[-1], np.mean(y))
    b = x * 1.5
    a = np.tanh(b)
    for i0 in range(1, 4):
        a = a / (1.5 + np.cos(np.log(1.5 + np.cos(b))))
    a = np.multiply(a, np.tanh(np.broadcast_to(a, (3,))))
    b -= np.arccosh(1.5 + np.linalg.det((np.eye(3) * 2.0 + 0.3 * np.tanh(np.broadcast_to(1.3, (3, 3))))) ** 2) * 0.5
    hs0 = [np.tanh(np.broadcast_to(y, (3,)))]
    for i0 in range(0, 4, 2):
        hs0.append(np.minimum(a, np.var(b, axis=0)))
    a = np.mean(np.stack(hs0), axis=0)
    b = a + 0.25
    a[:1] += np.log(1.5 + np.cos(np.hypot(y, 0.5 + np.square(y))))
    return np.sum(a * np.tanh(b)) + np.sum(b * np.tanh(a))
