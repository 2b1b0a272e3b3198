"""Fuzz seed 59: NotImplementedError from inside srcgrad: the adjoint of np.einsum('...i,i->...')"""

DTYPE = 'float32'
VALUES = {'x': [[0.26324147599909287, 0.9781985045965058, -1.1491686592582502], [-0.3677111739729422, -0.9412129495701188, -1.0191521979412888]], 'y': [[-1.4825412599108891, 1.4179520817889806, -1.1890091503119589], [1.3035535839137866, -0.22115523510167723, 0.6192560445845645]]}
PYTHON_FLOATS = ()
import numpy as np


def g0(p, q):
    u = np.copy(p)
    return u * np.maximum(u * u, np.sum(np.array([np.sum(np.broadcast_to(0.5, (1,))) for r0 in p])))


def g1(p, q):
    u = 2.0
    return u * np.arcsin(0.9 * np.tanh(np.where(np.trace((np.eye(3) * 2.0 + 0.3 * np.tanh(np.broadcast_to(u, (3, 3))))) + np.sum(np.diag((np.eye(3) * 2.0 + 0.3 * np.tanh(np.broadcast_to(u, (3, 3))))) * np.broadcast_to(q, (3,))) > 1.0, p, u)))


def f(x, y):
    a = np.cumsum(np.logaddexp(y, x), axis=0)
    b = (1.5 + np.sin(np.minimum(a, x))) ** np.cos((a + x))
    b = y * 1.5
    b -= (np.positive(x))[:1] * 0.5
    a = np.broadcast_to(np.einsum('...i,i->...', np.broadcast_to(y[-1], (2, 3)), np.broadcast_to(np.mean(np.arctanh(0.8 * np.tanh(x))), (3,)))[..., None], (2, 3)) + 0.25
    a += 0.5
    a = np.where(y[..., :1] > -0.5, np.broadcast_to(np.mean(np.repeat(a, 2, axis=1)), (2, 3)), np.exp2(np.sin(x)))
    b = a + 0.25
    for i0, r0 in enumerate(y):
        a = np.broadcast_to(np.log2(2.0 + np.sin((i0 * 0.1 - r0))), (2, 3)) + 0.25
        b *= np.cos(np.maximum(np.concatenate([(b)[..., :1], (x)[..., 1:]], axis=-1), 0.0))
    return np.sum(a * np.tanh(a)) + np.sum(b * np.tanh(a))
