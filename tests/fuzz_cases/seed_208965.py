"""Fuzz seed 208965: grad wrt x: error 4.31e+08 x tolerance, shape (3,) (jax (3,)) (float64): the restore of a zero adjoint's stale variable (the fix for seed 100091) popped before the branch's own pops of the same stack: its value is now pushed where the side starts"""

DTYPE = 'float64'
VALUES = {'x': [-1.3648099594731538, 0.71846032464234, -0.10993775756032087], 'y': -0.3556652268480489, 'z': 0.8728658273562093}
PYTHON_FLOATS = ()
import numpy as np


def g0(p, q):
    u = 0.25
    if np.sum(np.var(0.25)) > -0.5 or np.sum(np.var(0.25)) > -0.5:
        u = np.mean(np.linalg.solve((np.eye(3) * 2.0 + 0.3 * np.tanh(np.broadcast_to(np.var(u), (3, 3)))), np.stack([np.mean(q) for r0 in p])))
    return u * np.linalg.solve((np.eye(3) * 2.0 + 0.3 * np.tanh(np.broadcast_to(np.stack([p, p])[1], (3, 3)))), q)


def f(x, y, z):
    a = np.concatenate([(np.broadcast_to(np.maximum(z, y), (3,)))[..., :1], (np.broadcast_to(np.prod((1.2 + np.sin(z))), (3,)))[..., 1:]], axis=-1)
    b = np.sum(np.array([np.sum(z) for r1 in a])) / (1.5 + np.cos(np.prod((1.2 + np.sin(y)))))
    b = np.hypot(0.25, 0.5 + np.square(y))
    for r0 in x:
        if not np.sum(z * b) > 0.3:
            continue
        elif np.mean(0.5) < 1.0 or np.mean(0.5) < 1.0:
            b = np.mean(np.flip(np.abs(x), axis=0))
            a = np.hypot(np.divide(0.25, np.exp(np.cos(a))), 0.5 + np.square(np.linalg.det((np.eye(3) * 2.0 + 0.3 * np.tanh(np.broadcast_to(r0, (3, 3)))))))
            b = (np.positive(a))[..., -1] * 1.5
        a[-1] = np.mean(a / (1.5 + np.cos(r0)), axis=0)
        a = np.broadcast_to(z, (3,)) * 1.5
    a /= (1.5 + np.sin(np.sum(np.array([np.sum(np.max(y)) for r2 in a]))))
    a[..., 0] = np.mean(np.linalg.solve((np.eye(3) * 2.0 + 0.3 * np.tanh(np.broadcast_to(np.sum(np.outer(a, np.broadcast_to(0.5, (3,))), axis=0), (3, 3)))), np.broadcast_to(z, (3,))))
    return np.sum(a * np.tanh(a)) + np.sum(b * np.tanh(b))
