"""Linear regression as the PyTorch tutorial writes it, trained by srcgrad: a Module wrapping
nn.Linear, MSELoss, SGD with lr 0.01, 100 epochs on y = 2x + 1 for x = 0..10.

Each epoch is the PyTorch habit: optimizer.zero_grad(), then srcgrad.backward (the gradient
code of the loss through the model is generated once, from the source of `loss_fn` and of the
modules' forward; there is no tape), then optimizer.step(). It prints the target/prediction
pairs as the tutorial does: the predictions end close to 1, 3, ..., 21.

    python examples/linear_regression.py [epochs]
"""

import sys

import numpy as np

import srcgrad
from srcgrad import nn, optim


class LinearRegression(nn.Module):
    def __init__(self, input_size, output_size):
        super().__init__()
        self.linear = nn.Linear(input_size, output_size)

    def forward(self, x):
        out = self.linear(x)
        return out


criterion = nn.MSELoss()


def loss_fn(model, inputs, labels):
    return criterion(model(inputs), labels)


def main(epochs: int = 100) -> None:
    srcgrad.manual_seed(1)
    x_values = [i for i in range(11)]
    x_train = np.array(x_values, dtype=np.float32).reshape(-1, 1)
    y_values = [2 * i + 1 for i in x_values]
    y_train = np.array(y_values, dtype=np.float32).reshape(-1, 1)

    model = LinearRegression(1, 1).float()
    optimizer = optim.SGD(model.parameters(), lr=0.01)
    for epoch in range(epochs):
        optimizer.zero_grad()
        loss = srcgrad.backward(loss_fn, model, x_train, y_train)
        optimizer.step()
        if epoch % 20 == 0 or epoch == epochs - 1:
            print(f"epoch {epoch}, loss {float(loss):.6f}")

    predicted = model(x_train)
    for train, pred in zip(y_train, predicted, strict=True):
        print(train, pred)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100)
