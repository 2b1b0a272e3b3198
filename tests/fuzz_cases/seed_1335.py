"""Fuzz seed 1335: grad raised ZeroDivisionError: integer modulo by zero (float64)"""

DTYPE = 'float32'
VALUES = {'x': [-0.21729920559027294, -1.1076843052941816, 0.8716977325516662], 'y': [-0.9753693226997537]}
PYTHON_FLOATS = ()
import numpy as np


def g0(p, q):
    u = np.multiply(np.mean(q), np.tanh(p))
    if not np.sum(q) > -0.5:
        u = np.copy(np.broadcast_to(np.minimum(np.multiply(q, np.tanh(1.3)), np.max(1.3)), (3,)))
    return u * 1.0 / (1.0 + np.exp(-np.mean(p, axis=0)))


def f(x, y):
    a = np.hypot(np.log10(1.5 + np.tanh(y)), 0.5 + np.square(np.log2(2.0 + np.sin(-0.7))))
    b = np.sum(np.outer(np.where(np.add(a, a) > 0.3, x, np.broadcast_to(a, (3,))), np.broadcast_to(a, (3,))), axis=0)
    c = np.tanh((np.prod((1.2 + np.sin(a)), axis=0, keepdims=True))[0])
    c = np.mean(np.cbrt(2.0 + np.sin(np.exp(np.tanh(x)))))
    b -= np.mean(np.repeat(np.trace((np.eye(3) * 2.0 + 0.3 * np.tanh(np.broadcast_to(b, (3, 3))))) + np.sum(np.diag((np.eye(3) * 2.0 + 0.3 * np.tanh(np.broadcast_to(b, (3, 3))))) * b), 2, axis=0)) * 0.5
    for r0 in y:
        b = np.maximum(c, np.hypot(c, 0.5 + np.square(x)))
        b += np.mean(np.repeat(np.expand_dims(r0, 0), 2, axis=0))
    return np.sum(a * np.tanh(a)) + np.sum(b * np.tanh(a)) + np.sum(c * np.tanh(c))
