"""Train the two-layer ReLU network of the PyTorch autograd tutorial with gradients from srcgrad.

N=64 samples, D_in=1000 inputs, H=100 hidden units, D_out=10 outputs, squared error, plain
gradient descent with learning rate 1e-6 for 500 iterations. The gradient function is generated
from `loss`'s source, and its code is printed first.
"""

import numpy as np

import srcgrad


def loss(w1, w2, x, y):
    h = np.maximum(x @ w1, 0.0)  # hidden layer with ReLU
    y_pred = h @ w2
    return np.sum((y_pred - y) ** 2)


loss_and_grads = srcgrad.value_and_grad(loss, wrt=("w1", "w2"))


def main() -> None:
    rng = np.random.default_rng(0)
    n, d_in, hidden, d_out = 64, 1000, 100, 10
    x = rng.standard_normal((n, d_in))
    y = rng.standard_normal((n, d_out))
    w1 = rng.standard_normal((d_in, hidden))
    w2 = rng.standard_normal((hidden, d_out))
    learning_rate = 1e-6

    print("The gradient srcgrad generated from loss(w1, w2, x, y):\n")
    srcgrad.show(loss_and_grads)
    print()
    for t in range(1, 501):
        value, (d_w1, d_w2) = loss_and_grads(w1, w2, x, y)
        if t % 100 == 0:
            print(f"iteration {t:3d}   loss {value:.8f}")
        w1 = w1 - learning_rate * d_w1
        w2 = w2 - learning_rate * d_w2


if __name__ == "__main__":
    main()
