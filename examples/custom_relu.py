"""The PyTorch tutorial's custom ReLU (an autograd Function with a forward and a backward of its
own), written for srcgrad: `my_relu` is the forward, and `@srcgrad.adjoint(my_relu)` registers
the backward. The two-layer network of the tutorial (N=64, D_in=1000, H=100, D_out=10, squared
error, gradient descent with learning rate 1e-6 for 500 iterations) is trained with it.

The rule's body is inlined into the generated gradient, under a comment naming the rule,
`# my_relu_backward() L..`: the printed code shows it.
"""

import numpy as np

import srcgrad


def my_relu(x):
    """The forward pass: max(x, 0)."""
    return np.clip(x, 0.0, None)


@srcgrad.adjoint(my_relu)
def my_relu_backward(d_out, out, x):
    """The backward pass: the output's adjoint, zeroed where the input was negative."""
    d_x = d_out.copy()
    d_x[x < 0] = 0
    return d_x


def loss(w1, w2, x, y):
    y_pred = my_relu(x @ w1) @ w2
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

    print("The gradient srcgrad generated, with the custom backward inlined:\n")
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
