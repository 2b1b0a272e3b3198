"""Fuzz seed 45: srcgrad iterated over the loop's own later values of b (for r0, q0 in zip(b, ...) with b rebound in the body): wrong value and gradient (rewritten b = b / ... for b /= ...: an in-place update of an array a loop iterates over is refused now)"""

DTYPE = 'float64'
VALUES = {'x': [[0.21939197084251694, 0.08547343551060838, 0.7909507194057781], [0.9350783010288213, 0.03068656560217109, 0.8380190171933624], [0.888339913380134, 0.284265013022603, -0.2742658593121683]], 'y': 0.513829319414393, 'z': [0.38240348956076264]}
PYTHON_FLOATS = ()
import numpy as np


def g0(p, q):
    u = np.arcsin(0.9 * np.tanh(p))
    return u * np.stack([np.mean(q) for r0 in q])


def f(x, y, z):
    a = np.arccos(0.9 * np.sin(np.linalg.det((np.eye(3) * 2.0 + 0.3 * np.tanh(x)))))
    b = np.concatenate([(np.broadcast_to(np.prod((1.2 + np.sin(z)), axis=0), (3, 3)))[..., :1], (np.broadcast_to(np.copy(0.25), (3, 3)))[..., 1:]], axis=-1)
    for r0, q0 in zip(b, np.cos(b)):
        n1 = 0
        while n1 < 2 and np.sum(x) > 1.0 and np.mean(x) < 1.0:
            n1 = n1 + 1
            b = np.maximum(np.copy(y), b)
            b[..., 1:] += np.sinh(np.tanh(a))
            b = b / (1.5 + np.sin(np.sum(np.array([np.sum(np.broadcast_to(np.mean(np.multiply(x, np.tanh(2.0))), (3,))) for r1 in b]))))
        b = np.copy(np.broadcast_to(np.sum(np.concatenate([(b)[..., :1], (np.broadcast_to(r0, (3, 3)))[..., 1:]], axis=-1), axis=1, keepdims=True), (3, 3)))
        a = np.mean(np.reciprocal(1.5 + np.cos(b)))
    b[..., 1:] = a
    return np.sum(a * np.tanh(b)) + np.sum(b * np.tanh(a))
