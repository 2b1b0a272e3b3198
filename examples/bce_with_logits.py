"""The tutorial's first backward(): x = ones(5), y = zeros(3), z = x @ w + b, and the loss
binary_cross_entropy_with_logits(z, y), differentiated with respect to w (5 x 3) and b (3).

Every row of dL/dw equals dL/db. The reason: z_j = sum_i x_i w_ij + b_j, so
dL/dw_ij = x_i * dL/dz_j and dL/db_j = dL/dz_j; with x all ones, each row i of dL/dw is
dL/dz, which is dL/db. (Here dL/dz_j = sigmoid(z_j) / 3: the loss is the mean over the three
outputs of softplus(z_j), its target being 0.)
"""

import numpy as np

import srcgrad
from srcgrad.nn import functional as F


def loss(w, b, x, y):
    z = x @ w + b
    return F.binary_cross_entropy_with_logits(z, y)


def main() -> None:
    rng = np.random.default_rng(0)
    x = np.ones(5)      # input
    y = np.zeros(3)     # expected output
    w = rng.standard_normal((5, 3))
    b = rng.standard_normal(3)
    d_w, d_b = srcgrad.grad(loss, wrt=("w", "b"))(w, b, x, y)
    np.set_printoptions(precision=4, suppress=True)
    print("dL/dw =")
    print(d_w)
    print("dL/db =", d_b)
    print("every row of dL/dw equals dL/db:", bool(np.allclose(d_w, d_b)))
    z = x @ w + b
    print("sigmoid(z) / 3       =", 1 / (1 + np.exp(-z)) / 3)


if __name__ == "__main__":
    main()
