"""Fuzz seed 1420: grad wrt y: error 9.9e+06 x tolerance, shape (1, 1, 3) (jax (1, 1, 3)) (float64)"""

DTYPE = 'float64'
VALUES = {'x': [[[-1.2079316205511363, -1.2417394262862882, -0.11819422192817264], [1.0617296495857116, 1.168284966876624, -0.41443648272769784]], [[-0.6339552397168552, -0.8071483521114274, -1.2940919986402801], [-0.2611405567604965, 0.7660701804102863, -0.6838777916849167]]], 'y': [[[1.4548724872562628, 0.6469846772870751, -0.48891456848333403]]]}
PYTHON_FLOATS = ()
import numpy as np


def g0(p, q):
    u = np.mean(p, axis=1, keepdims=True)
    if np.mean(np.squeeze(u, axis=1)) < 1.0:
        u = np.copy(np.broadcast_to(np.expm1(np.tanh(q)), (2, 1, 1)))
    return u * np.arctan2(np.exp(np.tanh(0.25)), 1.5 + np.cos(-0.7))


def f(x, y):
    a = np.where(((1.2 + np.sin(y))).prod(axis=2, keepdims=True) > 1.0, np.broadcast_to((x).sum(), (2, 2, 3)), (y + x))
    b = np.max(np.cbrt(2.0 + np.sin(a)), axis=2, keepdims=True)
    c = (y - np.maximum(y, x))
    a = np.copy(np.broadcast_to(np.sqrt(1.0 + np.cos(y) ** 2), (2, 2, 3)))
    b = np.copy(np.broadcast_to(np.mean(a[-1] / (1.5 + np.cos((c + a)))), (2, 2, 1)))
    for r0 in y:
        b *= np.cos(np.sum(np.array([np.sum(np.broadcast_to(np.mean(np.sqrt(1.0 + a ** 2)), (2, 3))) for r0 in c])))
        for r1, q1 in zip(b, np.cos(np.broadcast_to(np.mean(y), (2, 2, 1)))):
            c = np.maximum(np.broadcast_to(r1, (2, 2, 3)), 2.0)
            b = np.tanh(np.broadcast_to(np.mean(np.stack([(c + q1), c])[0]), (2, 2, 1)))
        for r1, q1 in zip(r0, np.cos(np.broadcast_to(np.mean(np.reciprocal(1.5 + np.cos(y))), (1, 3)))):
            a[:, 1] = np.prod((1.2 + np.sin(np.where(c[:, 1] > 0.0, np.broadcast_to(r1, (2, 2, 3)), x))))
            b = np.tanh(np.broadcast_to((np.multiply(y, np.tanh(q1))).max(axis=2, keepdims=True), (2, 2, 1)))
    return np.sum(a * np.tanh(b)) + np.sum(b * np.tanh(c)) + np.sum(c * np.tanh(b))
