"""Fuzz seed 1171: ValueError: non-broadcastable output operand with shape (1,) doesn't match the broadcast shape (3,)"""

DTYPE = 'float64'
VALUES = {'x': [[[0.428657595479891, 0.3145302784828983, 0.5664847885933115], [-0.019814977812929513, 0.08500166230226869, 1.2238130255925452]], [[-0.9583885502203416, 0.590428720960245, 1.308368706523317], [0.3056663710942642, 1.0905900060620772, 0.17100280143571034]]], 'y': [[[1.4614807402192156], [1.2509563029243576]]], 'z': [-0.8705349684347662]}
PYTHON_FLOATS = ()
import numpy as np


def g0(p, q):
    u = np.min(q) * np.sqrt(1.0 + q ** 2)
    return u * u[:1]


def g1(p, q):
    u = q * 1.5
    if np.sum(q / (1.5 + np.cos(u))) > 1.0:
        u = np.add(np.maximum(u, p), p)
    return u * np.max(np.sum(np.linalg.inv((np.eye(3) * 2.0 + 0.3 * np.tanh(np.broadcast_to(q, (3, 3))))), axis=0), axis=-1)


def f(x, y, z):
    a = np.multiply(z[:1], np.tanh(np.trace((np.eye(3) * 2.0 + 0.3 * np.tanh(np.broadcast_to(z, (3, 3))))) + np.sum(np.diag((np.eye(3) * 2.0 + 0.3 * np.tanh(np.broadcast_to(z, (3, 3))))) * np.broadcast_to(z, (3,)))))
    b = np.max(np.cbrt(2.0 + np.sin(0.5)))
    a -= ((1.2 + np.sin(np.minimum(a, y)))).prod() * 0.5
    a -= np.broadcast_to(np.mean(np.max(y, axis=1, keepdims=True)), (3,)) * 0.5
    a[..., 1:] = np.broadcast_to(np.mean((np.trace((np.eye(3) * 2.0 + 0.3 * np.tanh(np.broadcast_to(np.mean(x), (3, 3))))) + np.sum(np.diag((np.eye(3) * 2.0 + 0.3 * np.tanh(np.broadcast_to(np.mean(x), (3, 3))))) * a) - np.expand_dims(z, 0)[0])), (2,))
    a -= np.multiply(np.tanh(a if not np.mean(np.clip(0.25, -0.5, 0.7)) < 0.3 else np.broadcast_to(1.3, (3,))), np.tanh(np.abs(z))) * 0.5
    return np.sum(a * np.tanh(a)) + np.sum(b * np.tanh(b))
