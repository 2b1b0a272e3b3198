"""Fuzz seed 1218: grad raised SrcGradError: File "<fuzz s1218 numpy>", line 9, column 9:"""

DTYPE = 'float32'
VALUES = {'x': [[0.042375668683652945, -0.5572363721440079, 0.2488601874667884], [0.20822684410644365, -0.23636678693204605, 0.7165076646301185]], 'y': 0.3258323216657153, 'z': -0.6083176576752876}
PYTHON_FLOATS = ('z',)
import numpy as np


def f(x, y, z):
    a = np.broadcast_to(np.min(2.0), (1, 1)) + 0.25
    b = a + 0.25
    c = (y - np.tanh(2.0))
    for i0, r0 in enumerate(x):
        hs0 = [np.tanh(np.broadcast_to(np.mean(r0), (1, 1)))]
        for i1 in reversed(range(3)):
            hs0.append(np.broadcast_to(np.mean(-2.0), (1, 1)) * 1.5)
        b = hs0[-1] * 0.5
        c -= np.log10(1.5 + np.tanh(z)) * 0.5
        a = np.tanh(b)
    a = np.tanh(b)
    a = np.broadcast_to(((c - x)).var(), (1, 1)) + 0.25
    for r0, q0 in zip(a, np.cos(np.broadcast_to((1.5 + np.sin(0.5)) ** np.cos(c), (1, 1)))):
        b[0, 0] += np.mean(np.tanh(np.broadcast_to(z, (1,)) if np.mean(np.subtract(y, x)) < 0.3 else np.add(z, r0)))
        c = 1.3
    c = np.mean(np.mean(np.stack([np.broadcast_to(a, (2, 3)), np.broadcast_to(z, (2, 3))])[0], axis=-1, keepdims=True))
    return np.sum(a * np.tanh(b)) + np.sum(b * np.tanh(a)) + np.sum(c * np.tanh(a))
