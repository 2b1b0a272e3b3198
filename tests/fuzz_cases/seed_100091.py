"""Fuzz seed 100091: grad raised ValueError: non-broadcastable output operand with shape (1,) doesn't match the broadcast shape (2,3) (float64): r0, the loop variable, given a zero adjoint in the branch taken, read the value of the later loop over x (another shape)"""

DTYPE = 'float64'
VALUES = {'x': [[[1.253502406641215, -1.077078572682339, 0.9980744529070704], [-0.4564234422285818, -0.9450312349574024, -0.453530993946482]], [[0.7383615738523459, -0.6730610772745345, -0.6926594777013177], [1.0836013007705176, 1.2038698428396737, 0.05410124277841444]]], 'y': [[-0.11957560323509275], [-0.9414304959053669]]}
PYTHON_FLOATS = ()
import numpy as np


def f(x, y):
    a = np.minimum(x, np.subtract(y, 2.0))
    b = 1.3
    for i0, r0 in enumerate(y):
        if not np.sum((a - x)) > 0.3:
            a = np.cos(np.minimum(r0, x))
            continue
        else:
            b = np.mean(-np.arctan2(y, 1.5 + np.cos(b)))
            a = np.broadcast_to((a / (1.5 + np.cos(b))).max(axis=-2, keepdims=True), (2, 2, 3)) + 0.25
            break
    hs0 = [np.mean(y)]
    for i0 in range(2):
        hs0.append(np.log1p(np.square(b)))
    b = sum(hs0) * 0.3
    for r0 in x:
        a[0] += np.sum(np.array([np.sum(np.broadcast_to(b, (3,))) for r1 in r0]))
    b *= np.cos(np.max(b))
    a += np.linalg.norm((0.5 + np.square(x * 0.5)), axis=-1, keepdims=True)
    return np.sum(a * np.tanh(b)) + np.sum(b * np.tanh(b))
