"""The tutorial's first backpropagation, one weight at a time: y = x * w with w = 1.0, data
x = [1, 2, 3], y = [2, 4, 6], squared error per sample, w -= 0.01 * grad, 10 epochs.

As the tutorial does, in float32, it prints each per-sample gradient, the last loss of each
epoch, and the prediction for x = 4 before and after training: gradients -2.0, -7.84 and
-16.2288 in epoch 0, and a prediction of 7.8049 at the end.

    python examples/scalar_weight.py [epochs]
"""

import sys

import numpy as np

import srcgrad


def forward(x, w):
    return x * w


def loss(w, x, y):
    return (forward(x, w) - y) ** 2


loss_and_grad = srcgrad.value_and_grad(loss)   # d loss / d w, generated from the source above


def main(epochs: int = 10) -> None:
    x_data = np.array([1.0, 2.0, 3.0], dtype=np.float32)
    y_data = np.array([2.0, 4.0, 6.0], dtype=np.float32)
    w = np.float32(1.0)
    print("Prediction (before training)", 4, float(forward(np.float32(4.0), w)))
    for epoch in range(epochs):
        for x_val, y_val in zip(x_data, y_data, strict=True):
            value, grad = loss_and_grad(w, x_val, y_val)
            print("\tgrad: ", float(x_val), float(y_val), float(grad))
            w = w - np.float32(0.01) * grad
        print(f"Epoch: {epoch} | Loss: {float(value)}")
    print("Prediction (after training)", 4, float(forward(np.float32(4.0), w)))


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 10)
