"""Dynamic control flow: the tutorials contrast static graphs with dynamic ones, built anew by
every run. srcgrad differentiates the Python as written: this function's loop runs as many
times as the data says and its branch depends on the values, and the generated adjoint
replays them backwards (the forward sweep records the branch taken and counts the trips).

It prints the gradient, checks it against central differences, and prints the generated code.
"""

import numpy as np

import srcgrad


def f(x, w):
    h = x
    steps = 0
    while np.linalg.norm(h) < 10.0 and steps < 20:   # data-dependent trip count
        if np.sum(h) > 0:                             # data-dependent branch
            h = np.tanh(h * w) * 3.0 + h
        else:
            h = h * w - 0.5
        steps += 1
    return np.sum(h ** 2)


def main() -> None:
    x, w = np.array([0.3, -0.2, 0.5]), np.array([1.1, 0.9, 1.3])
    g = srcgrad.grad(f, wrt="w")
    d_w = g(x, w)
    eps = 1e-6
    fd = np.array([(f(x, w + eps * e) - f(x, w - eps * e)) / (2 * eps) for e in np.eye(3)])
    print("df/dw            ", d_w)
    print("central diffs    ", fd)
    print("agree:", bool(np.allclose(d_w, fd, rtol=1e-6)))
    print()
    srcgrad.show(g)


if __name__ == "__main__":
    main()
