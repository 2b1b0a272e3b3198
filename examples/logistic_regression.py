"""Logistic regression as a Module: a Linear layer and a sigmoid, trained with BCELoss and SGD
on a small dataset of two Gaussian clusters (two features, 100 points each).

It prints the loss as it trains and the accuracy on the training set at the end (it ends
above 95 %), then the decision boundary w1 x1 + w2 x2 + b = 0 the model learned.

    python examples/logistic_regression.py [epochs]
"""

import sys

import numpy as np

import srcgrad
from srcgrad import nn, optim


class LogisticRegression(nn.Module):
    def __init__(self, n_features):
        super().__init__()
        self.linear = nn.Linear(n_features, 1)
        self.sigmoid = nn.Sigmoid()

    def forward(self, x):
        return self.sigmoid(self.linear(x))


criterion = nn.BCELoss()


def loss_fn(model, x, y):
    return criterion(model(x), y)


def main(epochs: int = 200) -> None:
    srcgrad.manual_seed(0)
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.normal(-1.0, 1.0, (100, 2)), rng.normal(1.5, 1.0, (100, 2))])
    y = np.concatenate([np.zeros((100, 1)), np.ones((100, 1))])
    model = LogisticRegression(2)
    optimizer = optim.SGD(model.parameters(), lr=0.5)
    for epoch in range(epochs):
        optimizer.zero_grad()
        loss = srcgrad.backward(loss_fn, model, x, y)
        optimizer.step()
        if epoch % 50 == 0 or epoch == epochs - 1:
            print(f"epoch {epoch:3d}  loss {float(loss):.4f}")
    accuracy = np.mean((model(x) > 0.5) == (y > 0.5))
    print(f"accuracy {accuracy:.1%}")
    (w1, w2), b = model.linear.weight[0], model.linear.bias[0]
    print(f"decision boundary: {w1:.3f} x1 + {w2:.3f} x2 + {b:.3f} = 0")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 200)
