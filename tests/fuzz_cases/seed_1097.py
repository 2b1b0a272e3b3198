"""Fuzz seed 1097: grad wrt x: error inf x tolerance, shape (3,) (jax (3,)) (float64)

jax's gradient is nan here at every point (np.std of values broadcast from one), so the
case is checked against central differences. `a -= ...` in the loop over `a` is written
`a = a - ...` (srcgrad refuses an in-place update of an array a loop iterates over)."""

DTYPE = 'float32'
VALUES = {'x': [-0.1161105385426684, 0.055549897940382786, -0.7655797302841825], 'y': [-1.2565265715976544]}
PYTHON_FLOATS = ()
import numpy as np


def g0(p, q):
    u = np.mean(np.prod((1.2 + np.sin(q))))
    return u * np.std(np.exp2(np.sin(p)), axis=0, keepdims=True)


def f(x, y):
    a = x + 0.25
    b = np.divide(np.minimum(0.2, y), np.exp(np.cos(np.maximum(a, 0.0))))
    b[0] = np.mean(g0(np.broadcast_to(np.prod((1.2 + np.sin(a))), (3,)), np.broadcast_to(np.mean(x), (1,))))
    b *= np.cos(x)
    a *= np.cos(np.multiply(np.hypot(-0.7, 0.5 + np.square(a)), np.tanh(((1.2 + np.sin(x))).prod())))
    a *= np.cos(np.sum(np.tile(x[..., -1], 2)) * 0.5)
    for r0, q0 in zip(a, np.cos(np.broadcast_to(y, (3,)))):
        a = a - np.mean(q0) * 0.5
        a = a - np.stack([np.broadcast_to(r0, (3,)), np.broadcast_to(y, (3,))])[1] * 0.5
        a = np.sum(np.outer(np.broadcast_to(np.std(0.25), (3,)), np.broadcast_to(np.var(b, axis=-1, keepdims=True), (3,))), axis=0)
    return np.sum(a * np.tanh(a)) + np.sum(b * np.tanh(b))
