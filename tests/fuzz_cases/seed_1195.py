"""Fuzz seed 1195: grad raised ValueError: input operand has more dimensions than allowed by the axis remapping (float64)"""

DTYPE = 'float64'
VALUES = {'x': [[1.35593912921966, -0.3915458767903941, 0.537993035929182], [0.5842437988688345, -1.047618303403004, -0.9165710337010522], [0.9857818249092141, 1.1264232322929724, 1.4475038328657437]], 'y': [0.9782673599817264]}
PYTHON_FLOATS = ()
import numpy as np


def f(x, y):
    a = x * np.linalg.norm((0.5 + np.square(x)))
    b = np.copy(a)
    c = (x[None, 0] - b)
    for r0, q0 in zip(y, np.cos(np.broadcast_to(np.mean(np.sum(x, axis=1, keepdims=True)), (1,)))):
        c[..., 0] = np.broadcast_to(np.mean(((np.stack([r0 for r0 in c])) @ np.broadcast_to(np.expand_dims(r0, 0), (3,)))[..., None]), (3,))
    b *= np.cos((np.abs(x) - np.prod((1.2 + np.sin(a)), axis=0)))
    c = np.broadcast_to(np.mean(np.log1p(np.square(y))), (3, 3)) + 0.25
    a[0, 0] = np.mean(np.repeat(np.add(a, b), 2, axis=1))
    a /= (1.5 + np.sin(np.sum(np.linalg.inv((np.eye(3) * 2.0 + 0.3 * np.tanh(np.broadcast_to(a[:1], (3, 3))))), axis=0)))
    c -= b * 0.5
    c = np.maximum(x, 0.0)
    a += np.sum(np.outer(np.broadcast_to(np.mean(c[:1]), (3,)), np.broadcast_to(np.mean(np.sqrt(1.0 + b ** 2)), (3,))), axis=0)
    b /= (1.5 + np.sin(c))
    return np.sum(a * np.tanh(b)) + np.sum(b * np.tanh(b)) + np.sum(c * np.tanh(b))
