"""Fuzz seed 10106: grad wrt y: error 9.48e+07 x tolerance (float64): np.std of values equal to within rounding (1e-16): its derivative was a quotient of two rounding errors"""

DTYPE = 'float64'
VALUES = {'x': [[-0.19741995490918662, 0.2208526231491732, 0.9222171647939721], [1.201860552789487, 0.41068078586417966, -0.4726391877576681]], 'y': [[0.32827912983406815, 0.14281216445039213, 0.503388542090053], [0.6637987837254844, 0.3294638798743872, 1.0608293853288209]], 'z': [[-0.5592206065644968, -0.9067831159432034, -0.16361634914007706]]}
PYTHON_FLOATS = ()
import numpy as np


def f(x, y, z):
    a = np.copy(np.broadcast_to(np.std(np.sum(np.outer(np.broadcast_to(np.mean(y), (3,)), np.broadcast_to(np.mean(y), (3,))), axis=0), axis=-1), (1, 3)))
    b = np.cumsum(np.flip(y, axis=1), axis=0)
    c = (a * b).min(axis=-1, keepdims=True)
    if np.mean(np.cos(b)) < 1.0:
        a[0] = np.positive(c[-1])
    b[:, 1] = np.broadcast_to(np.mean(x), (2,))
    hs0 = [np.broadcast_to(np.mean(b), (2, 1)) + 0.25]
    for i0 in range(0):
        hs0.append((np.prod((1.2 + np.sin(x)), axis=1, keepdims=True) + np.linalg.norm((0.5 + np.square(x)))))
    c = np.stack(hs0)[0] * len(hs0)
    a[0, 0] = np.mean(np.arctan(x[0]))
    c = np.broadcast_to(np.mean(((1.2 + np.sin(np.clip(a, -0.5, 0.7)))).prod(axis=-2)), (2, 1)) + 0.25
    c = np.tanh(np.broadcast_to(np.mean(np.sum(np.linalg.inv((np.eye(3) * 2.0 + 0.3 * np.tanh(np.broadcast_to(np.mean(np.concatenate([(np.broadcast_to(a, (2, 3)))[..., :1], (y)[..., 1:]], axis=-1)), (3, 3))))), axis=0)), (2, 1)))
    b /= (1.5 + np.sin(c))
    return np.sum(a * np.tanh(c)) + np.sum(b * np.tanh(b)) + np.sum(c * np.tanh(c))
