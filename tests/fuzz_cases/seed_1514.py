"""Fuzz seed 1514: ValueError: non-broadcastable output operand with shape (1,) doesn't match the broadcast shape (3,)"""

DTYPE = 'float32'
VALUES = {'x': [0.07151460557029976, 0.29958311812409066, 1.257955861650124], 'y': [1.2832490742699343]}
PYTHON_FLOATS = ()
import numpy as np


def g0(p, q):
    u = np.tanh(np.tanh(q if np.mean(np.sin(q)) < 1.0 and np.sum(np.sin(q)) > 1.0 else q))
    if np.sum(np.trace((np.eye(3) * 2.0 + 0.3 * np.tanh(np.broadcast_to(u, (3, 3))))) + np.sum(np.diag((np.eye(3) * 2.0 + 0.3 * np.tanh(np.broadcast_to(u, (3, 3))))) * np.broadcast_to(q, (3,)))) > 0.3:
        u = np.broadcast_to(np.copy((u).std(axis=-1)), (1,)) * 1.5
    return u * -np.tanh(p)


def f(x, y):
    a = np.log10(1.5 + np.tanh(np.sum(x, axis=-1, keepdims=True)))
    b = np.subtract(a, 1.3)
    a = np.tanh(np.broadcast_to((np.subtract(b, a)).min(), (1,)))
    b = np.broadcast_to(np.mean((1.5 + np.sin((x).std(axis=-1, keepdims=True))) ** np.cos(x)), (1,)) + 0.25
    a *= np.cos(np.dot(np.broadcast_to(np.log10(1.5 + np.tanh(b)), (3,)), np.trace((np.eye(3) * 2.0 + 0.3 * np.tanh(np.broadcast_to(0.5, (3, 3))))) + np.sum(np.diag((np.eye(3) * 2.0 + 0.3 * np.tanh(np.broadcast_to(0.5, (3, 3))))) * np.broadcast_to(y, (3,)))))
    b[..., 0] = np.mean(y)
    return np.sum(a * np.tanh(b)) + np.sum(b * np.tanh(a))
