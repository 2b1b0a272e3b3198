"""Fuzz seed 1023: grad wrt z: error 9.9e+06 x tolerance, shape (1, 2, 1) (jax (1, 2, 1)) (float64)"""

DTYPE = 'float64'
VALUES = {'x': [[[-0.48339275997442144, 1.2176962052480302, 1.2288058535110875], [0.7416701466281013, 0.9693069651865631, -0.6970903290078847]], [[-1.2368974308076615, -0.6980411635656395, 0.6049510019998494], [0.8299749785625017, -0.3790648675010573, -1.0150430631148226]]], 'y': [[[-0.5799468351542643]]], 'z': [[[-0.6010635690732907], [0.7458474854238375]]]}
PYTHON_FLOATS = ()
import numpy as np


def g0(p, q):
    u = np.copy(np.arctan2(q, 1.5 + np.cos(p)))
    return u * np.sum(np.array([np.sum(np.mean(np.maximum(u, 0.0))) for r0 in p]))


def f(x, y, z):
    a = np.log(1.5 + np.cos(np.stack([np.broadcast_to(y, (2, 2, 3)), np.broadcast_to(y, (2, 2, 3))])[1]))
    b = np.expand_dims(g0(np.broadcast_to(np.mean(x), (3,)), np.broadcast_to(np.mean(a), (2, 3))), 0)[0] + 0.25
    b /= (1.5 + np.sin(np.maximum(np.linalg.det((np.eye(3) * 2.0 + 0.3 * np.tanh(np.broadcast_to(np.mean(y), (3, 3))))), 1.3)))
    hs1 = [np.broadcast_to(np.mean(z), (2, 3)) * 1.5]
    for i0 in range(3, 0, -1):
        hs1.append(np.copy(np.broadcast_to(np.tanh(-i0 * 0.1), (2, 3))))
    b = np.stack(hs1)[0] * len(hs1)
    a = np.broadcast_to(np.linalg.norm((0.5 + np.square(((np.broadcast_to(-0.7, (2, 2, 3))) @ np.broadcast_to(1.3, (3,)))[..., None])), axis=-1, keepdims=True), (2, 2, 3)) + 0.25
    a = np.copy(np.broadcast_to(np.copy((b + b)), (2, 2, 3)))
    return np.sum(a * np.tanh(b)) + np.sum(b * np.tanh(b))
