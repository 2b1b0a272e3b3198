"""Fuzz seed 4105: grad wrt x: error 9.78e+08 x tolerance, shape (3,) (jax (3,)) (float64).

The list ts0 = [x, a, np.cos(a)] built in a branch: the adjoint of np.cos(a), inlined into
the dead update of d_a, was deleted with it, and with it the pop that takes its item off the
list's adjoint, so x got a's adjoint (0): a silently wrong gradient. Dead code keeps the pop
(as drop_grad) now."""

DTYPE = 'float32'
VALUES = {'x': [-0.9725512309926623, -0.585852198631446, 0.058981898789106646], 'y': -0.2330393157341608}
PYTHON_FLOATS = ('y',)
import numpy as np


def g0(p, q):
    u = -0.7
    return u * np.maximum(np.concatenate([(np.broadcast_to(q, (3,)))[..., :1], (np.broadcast_to(u, (3,)))[..., 1:]], axis=-1), u)


def f(x, y):
    a = (np.flip(x, axis=0) - y)
    b = np.log1p(np.square(np.sum(np.outer(np.broadcast_to(y, (3,)), x), axis=0)))
    b = np.stack([np.mean(np.einsum('...i,i->...', np.broadcast_to(y, (3,)), np.broadcast_to(y, (3,)))[..., None]) for r0 in a])
    if np.mean(np.tanh(a)) < -0.5 and np.sum(np.tanh(a)) > -0.5:
        a = np.tanh(np.broadcast_to(np.linalg.det((np.eye(3) * 2.0 + 0.3 * np.tanh(np.broadcast_to(np.add(a, x), (3, 3))))), (3,)))
        a = np.arcsin(0.9 * np.tanh(a))
        a *= np.cos(np.broadcast_to(np.sum(np.tile(y, 2)) * 0.5, (3,)))
        a = np.arcsin(0.9 * np.tanh(a))
        a[..., 0] = np.abs(1.3)
    elif np.mean(b) < 1.0:
        a = np.copy(np.broadcast_to(np.var(-0.7), (3,)))
        if np.sum(a) > 0.3:
            ts0 = [a, np.sin(x), a * x]
        else:
            ts0 = [x, a, np.cos(a)]
        b = ts0[0] * 0.5 + ts0[0] * 0.25
    return np.sum(a * np.tanh(a)) + np.sum(b * np.tanh(b))
