"""The two-layer network of two_layer_net.py as a Module: Sequential(Linear, ReLU, Linear),
summed squared error, and an SGD optimizer doing the update (lr 1e-6, 500 iterations).

It starts from the same weights as two_layer_net.py and prints the same losses; first it
prints the backward code srcgrad generated for the loss through the model.

    python examples/two_layer_module.py [iterations]
"""

import sys

import numpy as np

import srcgrad
from srcgrad import nn, optim

criterion = nn.MSELoss(reduction="sum")


def loss_fn(model, x, y):
    return criterion(model(x), y)


def main(iterations: int = 500) -> None:
    rng = np.random.default_rng(0)  # the draws of two_layer_net.py, in its order
    n, d_in, hidden, d_out = 64, 1000, 100, 10
    x = rng.standard_normal((n, d_in))
    y = rng.standard_normal((n, d_out))
    w1 = rng.standard_normal((d_in, hidden))
    w2 = rng.standard_normal((hidden, d_out))

    model = nn.Sequential(nn.Linear(d_in, hidden, bias=False), nn.ReLU(),
                          nn.Linear(hidden, d_out, bias=False))
    model.load_state_dict({"0.weight": w1.T, "2.weight": w2.T})  # torch's (out, in) layout
    optimizer = optim.SGD(model.parameters(), lr=1e-6)
    loss_and_grads = srcgrad.value_and_grad(loss_fn)

    print("The backward code srcgrad generated for loss_fn through the model:\n")
    srcgrad.show(loss_and_grads, model, x, y)
    print()
    for t in range(1, iterations + 1):
        loss, grads = loss_and_grads(model, x, y)
        optimizer.step(grads)
        if t % 100 == 0:
            print(f"iteration {t:3d}   loss {loss:.8f}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 500)
