"""Fuzz seed 106597: grad wrt z: error 6.44e+07 x tolerance, shape (3,) (jax (3,)) (float64): a constant appended in a loop to a list with a derivative (its value named like a later active one) had its pop_grad removed as dead code, so the next pop_grad read its slot"""

DTYPE = 'float32'
VALUES = {'x': [[0.5021950234628045, -1.240225170492012, 0.9383318652295438], [0.4651887997118358, 0.9119161395545765, -1.2166561525675381]], 'y': [[-0.32303314343431144, 1.4611658981888285, 1.0512413712303155]], 'z': [0.9410291058599576, 0.09022075260734574, -0.06479578366057437]}
PYTHON_FLOATS = ()
import numpy as np


def f(x, y, z):
    a = np.stack([np.cbrt(2.0 + np.sin(z)) for r0 in y])
    b = np.tanh(a)
    c = np.tanh(np.broadcast_to(1.3, (1, 3)))
    hs1 = [np.tanh(np.broadcast_to(z, (1, 3)))]
    for i0 in range(1, 4):
        hs1.append(np.broadcast_to(np.arcsinh(np.min(c, axis=1, keepdims=True)), (1, 3)) * 1.5)
    c = hs1[-1] * 0.5
    if np.sum(np.var(1.3)) > -0.5:
        if np.mean(np.log(1.5 + np.cos(z))) < 0.3 or np.sum(np.log(1.5 + np.cos(z))) > 0.3:
            c[..., 1:] = (np.multiply(b, np.tanh(a)))[:, 1]
        else:
            c = np.copy(np.broadcast_to(np.max(np.linalg.norm((0.5 + np.square(c)), axis=-1, keepdims=True)), (1, 3)))
    elif not np.sum(np.subtract(y, y)) > -0.5:
        c = np.tanh(np.broadcast_to(np.sum(np.linalg.inv((np.eye(3) * 2.0 + 0.3 * np.tanh(np.broadcast_to(np.sum(b, axis=1, keepdims=True), (3, 3))))), axis=0), (1, 3)))
    else:
        c[-1] += np.broadcast_to(np.mean(np.stack([np.multiply(x, np.tanh(z)), x])[1]), (3,))
    return np.sum(a * np.tanh(c)) + np.sum(b * np.tanh(c)) + np.sum(c * np.tanh(b))
