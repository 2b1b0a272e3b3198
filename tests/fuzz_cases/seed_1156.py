"""Fuzz seed 1156: grad raised SrcGradError: File "<fuzz s1156 numpy>", line 24, column 9:"""

DTYPE = 'float64'
VALUES = {'x': [0.9948119630005907, -1.3671034056496862, 0.7341761878779423], 'y': [-0.6979627848243892], 'z': [0.6620786456851984, 0.07850780947752667, -0.2351646499800002]}
PYTHON_FLOATS = ()
import numpy as np


def g0(p, q):
    u = (np.minimum(0.2, p) - np.where(np.stack([np.mean(p) for r0 in q]) > 0.3, p, p))
    if np.mean(2.0) < 0.3:
        u = np.broadcast_to(0.5, (1,)) + 0.25
    return u * np.sum(np.array([np.sum(np.mean(u)) for r1 in u]))


def f(x, y, z):
    a = np.tanh(z)
    b = np.broadcast_to((a * x).std(axis=-1), (3,)) + 0.25
    c = np.min(((1.2 + np.sin(y))).prod(axis=0))
    hs2 = [np.mean(a)]
    for i0 in reversed(range(3)):
        hs2.append(np.mean(z))
    c = hs2[-1] * 0.5
    for r0, q0 in zip(a, np.cos(a)):
        a = np.broadcast_to(np.dot(-a, np.broadcast_to(np.std(a), (3,))), (3,)) * 1.5
        for r1, q1 in zip(x, np.cos(np.broadcast_to(np.arctan2(2.0, 1.5 + np.cos(y)), (3,)))):
            b[:1] = np.max(np.concatenate([(b)[..., :1], (z)[..., 1:]], axis=-1), axis=0)
    if np.mean(a[0]) < 0.0 or np.mean(a[0]) < 0.0:
        hs3 = [np.mean(z)]
        for i1 in reversed(range(3)):
            hs3.append(np.mean(np.sum(np.linalg.inv((np.eye(3) * 2.0 + 0.3 * np.tanh(np.broadcast_to((b + i1 * 0.1), (3, 3))))), axis=0)))
        c = hs3[-1] * 0.5
        b -= (np.linalg.solve((np.eye(3) * 2.0 + 0.3 * np.tanh(np.broadcast_to(z, (3, 3)))), x)).min(axis=0, keepdims=True) * 0.5
        c *= np.cos(1.3)
    elif np.mean(1.3 * c) < 0.3:
        a = np.arccosh(1.5 + np.abs(x) ** 2)
    return np.sum(a * np.tanh(a)) + np.sum(b * np.tanh(c)) + np.sum(c * np.tanh(c))
