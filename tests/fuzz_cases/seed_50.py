"""Fuzz seed 50: grad wrt z: error inf x tolerance, shape (1,) (jax (1,)) (float64)"""

DTYPE = 'float64'
VALUES = {'x': [[[0.8622680756598706, 1.0010080037507474, 0.14371338055267513], [1.4203472884203387, -0.7894993262629205, 0.44077002975065227]], [[-1.3049217867633336, 0.16673281995558353, -0.2929275508414002], [-0.7021026078231917, 1.4600469004514163, -0.30804699708736183]]], 'y': [[[-0.5146314265322095]], [[-1.1245290287815706]]], 'z': [-1.165626597823672]}
PYTHON_FLOATS = ()
import numpy as np


def g0(p, q):
    u = (np.exp2(np.sin(p)) - np.log(1.5 + np.cos(p)))
    return u * np.std(np.broadcast_to(p, (2, 2, 3)), axis=0, keepdims=True)


def f(x, y, z):
    a = np.logaddexp(np.hypot(x, 0.5 + np.square(x)), g0(np.broadcast_to(z, (1, 2, 3)), np.broadcast_to(z, (2, 2, 3))))
    b = np.std(np.broadcast_to(z, (2, 2, 3)), axis=-3, keepdims=True)
    hs0 = [np.copy(np.broadcast_to(b, (2, 2, 3)))]
    for i0 in range(2):
        hs0.append(np.copy(np.broadcast_to(np.linalg.det((np.eye(3) * 2.0 + 0.3 * np.tanh(np.broadcast_to(np.sum(np.tile(1.3, 2)) * 0.5, (3, 3))))), (2, 2, 3))))
    a = np.mean(np.stack(hs0), axis=0)
    a = np.where(x[:1] > -0.5, np.expand_dims(x, 0)[0], np.concatenate([(np.broadcast_to(0.5, (2, 2, 3)))[..., :1], (np.broadcast_to(1.3, (2, 2, 3)))[..., 1:]], axis=-1))
    a[-1] = np.broadcast_to(np.mean(np.hypot(2.0, 0.5 + np.square(z)) * np.reciprocal(1.5 + np.cos(a))), (2, 3))
    for i0 in range(1):
        a = np.copy(np.broadcast_to(np.mean(np.divide(y, np.exp(np.cos(z))), axis=-2, keepdims=True), (2, 2, 3)))
        n1 = 0
        while n1 < 1 and np.mean(z[..., -1]) < -0.5:
            n1 = n1 + 1
            b[0, 0] += np.log(1.5 + np.cos(np.exp(-np.square(z))))
            b = np.tanh(np.broadcast_to(np.mean(np.ravel(np.concatenate([(x)[..., :1], (x)[..., 1:]], axis=-1)).reshape((2, 2, 3))), (1, 2, 3)))
    return np.sum(a * np.tanh(a)) + np.sum(b * np.tanh(a))
