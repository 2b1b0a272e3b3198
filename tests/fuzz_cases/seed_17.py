"""Fuzz seed 17: a list built inside a loop (hs1 = [...] in the body) was refused"""

DTYPE = 'float64'
VALUES = {'x': [[[1.0352243783937047, -1.017080726492679, 0.17323364209707637], [-0.3957601750071862, -0.8551741093146947, -0.34252788723240446]], [[-0.2155065027191747, 0.33402932549694153, 0.7091576115398595], [-1.4541310302098653, -0.7378772586220822, 0.3124375636917902]]], 'y': -1.2487899159385705, 'z': [[[1.4932910427689294, 0.9970383735021118, -1.3896679269980257]], [[0.20261943944533378, 0.32802041113531044, -1.4792202614571952]]]}
PYTHON_FLOATS = ('y',)
import numpy as np


def g0(p, q):
    u = (1.2 + np.cos(0.25)) ** 1.5
    if np.sum((u + u)) > 0.0 or np.sum((u + u)) > 0.0:
        u = np.exp2(np.sin(np.minimum(0.2, u)))
    return u * (u + -0.7) / (1.5 + np.cos(q / (1.5 + np.cos(u))))


def f(x, y, z):
    a = np.tanh(z)
    b = np.add(np.cbrt(2.0 + np.sin(2.0)), np.maximum(x, 0.0))
    c = np.broadcast_to(np.arctan2(0.25, 1.5 + np.cos(2.0)), (2, 2, 3)) + 0.25
    hs0 = [np.tanh(np.broadcast_to(y, (2, 2, 3)))]
    for i0 in range(1, 4):
        hs0.append(np.tanh(np.broadcast_to(np.flip(np.arccos(0.9 * np.sin(z)), axis=1), (2, 2, 3))))
    c = np.stack(hs0)[0] * len(hs0)
    b = np.tanh(np.broadcast_to(np.sum(np.tile(np.log2(2.0 + np.sin(1.3)), 2)) * 0.5, (2, 2, 3)))
    for r0, q0 in zip(c, np.cos(np.broadcast_to((b).var(axis=0), (2, 2, 3)))):
        for i1 in range(3, 0, -1):
            c[-1] += ((1.2 + np.sin(np.logaddexp(a, c)))).prod()
        hs1 = [np.broadcast_to(z, (2, 2, 3)) + 0.25]
        for i1 in reversed(range(3)):
            hs1.append(np.tanh(np.broadcast_to(np.max(np.std(i1 * 0.1)), (2, 2, 3))))
        c = np.mean(np.stack(hs1), axis=0)
    c = np.cos(np.stack([r2 for r2 in c]))
    a = np.broadcast_to(np.mean(np.log(1.5 + np.cos(np.arctan(c)))), (2, 1, 3)) * 1.5
    c = np.copy(np.broadcast_to(np.linalg.norm((0.5 + np.square(np.stack([np.broadcast_to(np.mean(z), (2, 3)) for r3 in c])))), (2, 2, 3)))
    return np.sum(a * np.tanh(c)) + np.sum(b * np.tanh(c)) + np.sum(c * np.tanh(b))
