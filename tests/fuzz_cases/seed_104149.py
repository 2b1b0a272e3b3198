"""Fuzz seed 104149: grad wrt y: error 4.98e+06 x tolerance, shape (1, 3) (jax (1, 3)) (float64): a constant appended in a loop to a list with a derivative (its value named like a later active one) had its pop_grad removed as dead code, so the next pop_grad read its slot"""

DTYPE = 'float64'
VALUES = {'x': [[-0.28740007492154307, 0.587123801264589, 0.05309095814306852], [1.1284951581805007, -0.6364329834800048, 1.2160002107078727], [-1.0239213878785525, -1.1850502023465606, 0.7311998489156002]], 'y': [[-0.030554308546986153, 0.10576876706531024, -0.02005001447940158]], 'z': [[-0.9512054674472238], [0.8368142568808508], [-1.1578319710118217]]}
PYTHON_FLOATS = ()
import numpy as np


def f(x, y, z):
    a = ((np.broadcast_to(0.5, (3, 3))) @ np.broadcast_to(np.mean(y[None, 0]), (3,)))[..., None]
    b = np.linalg.norm((0.5 + np.square(np.concatenate([(np.broadcast_to(a, (3, 3)))[..., :1], (np.broadcast_to(z, (3, 3)))[..., 1:]], axis=-1))), axis=-1, keepdims=True)
    for i0, r0 in enumerate(z):
        a[..., 0] = r0
    a = np.broadcast_to(-0.7, (3, 1)) * 1.5
    b /= (1.5 + np.sin(np.broadcast_to(np.mean(y), (3, 1))))
    b = np.broadcast_to(np.mean(np.log1p(np.square(y)) * np.multiply(z, np.tanh(z))), (3, 1)) + 0.25
    a[-1] = -0.7
    hs0 = [b * 1.5]
    for i0 in range(1, 4):
        hs0.append(np.tanh(a))
    a = np.stack(hs0)[0] * len(hs0)
    b -= np.broadcast_to(np.mean(np.multiply(z, np.tanh(x))), (3, 1)) * 0.5
    b = np.broadcast_to(np.mean(np.ravel(np.diag((np.eye(3) * 2.0 + 0.3 * np.tanh(np.broadcast_to(y, (3, 3))))) * np.broadcast_to(np.mean(x), (3,)) + np.trace((np.eye(3) * 2.0 + 0.3 * np.tanh(np.broadcast_to(y, (3, 3)))))).reshape((3,))), (3, 1)) + 0.25
    return np.sum(a * np.tanh(b)) + np.sum(b * np.tanh(b))
