"""Fuzz seed 1173: jvp: nan, jax.grad . v = -5.6381756882162914 (inf x tolerance) (float64) (rewritten b = b / ... for b /= ...: an in-place update of an array a loop iterates over is refused now)"""

DTYPE = 'float64'
VALUES = {'x': [[[0.36544281584969296, -0.011189793013315796, -0.1624452760422863], [-1.3581671380504963, -0.805624447997518, 1.2711323494236595]], [[-0.08464041883112472, 1.4263999574135764, -1.3298676614837013], [0.4086052600186736, 1.4041822362228853, -0.5096481038102213]]], 'y': [[-0.36683095443981273, 1.0753614835424208, 0.5174389807918933]]}
PYTHON_FLOATS = ()
import numpy as np


def g0(p, q):
    u = np.log(1.5 + np.cos(np.ravel(p).reshape((2, 3))))
    if not np.sum(u) > -0.5:
        u = np.broadcast_to(np.mean(q[-1] / (1.5 + np.cos(q * u))), (2, 3)) + 0.25
    return u * np.concatenate([(np.broadcast_to((q + 0.5), (2, 2, 3)))[..., :1], (np.broadcast_to(p, (2, 2, 3)))[..., 1:]], axis=-1)


def g1(p, q):
    u = np.tanh(q)
    if np.sum(np.arctan2(0.25, 1.5 + np.cos(u))) > 0.0 and np.sum(np.arctan2(0.25, 1.5 + np.cos(u))) > 0.0:
        u = np.minimum(np.tanh(u if not np.mean(p) < 1.0 else u), q)
    return u * np.var(p)


def f(x, y):
    a = 1.0 / (1.0 + np.exp(-np.abs(-0.7)))
    b = np.broadcast_to(a, (2, 3)) + 0.25
    c = np.cosh(np.sin(np.flip(x, axis=1)))
    c[-1] = np.arcsinh((b).std(axis=-2, keepdims=True))
    c *= np.cos(np.mean(np.repeat(b, 2, axis=1)))
    b = np.broadcast_to(y[None, 0], (2, 3)) * 1.5
    for i0, r0 in enumerate(c):
        c = c / (1.5 + np.sin(np.stack([np.broadcast_to(a, (2, 2, 3)), np.broadcast_to((c).sum(axis=-1, keepdims=True), (2, 2, 3))])[0]))
    if np.sum(np.add(b, x)) > -0.5:
        b[:1] += 1.3
        a = np.mean(np.repeat(np.arctan(c), 2, axis=2))
        a = np.mean(np.logaddexp(b, np.minimum(0.2, x)))
    return np.sum(a * np.tanh(b)) + np.sum(b * np.tanh(b)) + np.sum(c * np.tanh(a))
