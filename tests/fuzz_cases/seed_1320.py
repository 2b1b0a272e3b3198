"""Fuzz seed 1320: grad raised TypeError: object of type 'numpy.float64' has no len() (float64)"""

DTYPE = 'float32'
VALUES = {'x': [[-0.6973656438509375, 0.46516532607333616, 0.8969891368803617], [0.8635106569112447, -1.278630166056347, -1.1484982667803756]], 'y': 1.235135459441933, 'z': -0.944684380836425}
PYTHON_FLOATS = ()
import numpy as np


def f(x, y, z):
    a = np.linalg.norm((0.5 + np.square(np.hypot(x, 0.5 + np.square(z)))))
    b = np.tanh(np.broadcast_to(np.linalg.norm((0.5 + np.square(a))), (3,)))
    c = np.expm1(np.tanh(x))
    for r0 in x:
        for r1 in r0:
            c = np.add(x, np.stack([np.mean(c) for r0 in r0]))
            a += a
    for i0, r0 in enumerate(b):
        b = np.tanh(np.broadcast_to(np.mean(np.exp2(np.sin(i0 * 0.1 / (1.5 + np.cos(x))))), (3,)))
    b = np.tanh(np.broadcast_to(y, (3,)))
    b[..., 1:] = np.broadcast_to(np.mean(x), (2,))
    a = z * 1.5
    return np.sum(a * np.tanh(a)) + np.sum(b * np.tanh(c)) + np.sum(c * np.tanh(c))
