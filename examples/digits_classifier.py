"""A real dataset: scikit-learn's 8x8 handwritten digits (1797 images, shipped inside the
package: no download), classified by an MLP trained with a DataLoader and Adam.

An MLP 64-128-64-10 with ReLU and dropout, CrossEntropyLoss, Adam (lr 1e-3), batches of 32,
80/20 split of the data; a tqdm progress bar over the epochs. At the end it prints the test
accuracy (at least 95 %) and saves the loss and accuracy curves as a PNG (matplotlib).

    python examples/digits_classifier.py [--epochs 30] [--out digits_training.png]
"""

import argparse

import matplotlib
import numpy as np
from sklearn.datasets import load_digits
from tqdm import tqdm

import srcgrad
from srcgrad import data, nn, optim

matplotlib.use("Agg")  # files only: no screen needed
import matplotlib.pyplot as plt  # noqa: E402


class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Dropout(0.1),
                                    nn.Linear(128, 64), nn.ReLU(), nn.Linear(64, 10))

    def forward(self, x):
        return self.layers(x)


criterion = nn.CrossEntropyLoss()


def loss_fn(model, x, y):
    return criterion(model(x), y)


def accuracy(model, x, y) -> float:
    model.eval()
    predicted = np.argmax(model(x), axis=1)
    model.train()
    return float(np.mean(predicted == y))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--out", default="digits_training.png")
    args = parser.parse_args()

    srcgrad.manual_seed(0)
    digits = load_digits()
    x = (digits.data / 16.0).astype(np.float32)
    y = digits.target
    train, test = data.random_split(data.TensorDataset(x, y), [0.8, 0.2],
                                    generator=np.random.default_rng(0))
    x_test, y_test = data.default_collate([test[i] for i in range(len(test))])
    loader = data.DataLoader(train, batch_size=32, shuffle=True,
                             generator=np.random.default_rng(1))
    model = MLP().float()
    optimizer = optim.Adam(model.parameters(), lr=1e-3)
    loss_and_grads = srcgrad.value_and_grad(loss_fn)

    losses, accuracies = [], []
    for _ in tqdm(range(args.epochs), desc="training", unit="epoch"):
        total = 0.0
        for xb, yb in loader:
            loss, grads = loss_and_grads(model, xb, yb)
            optimizer.step(grads)
            total += float(loss) * len(yb)
        losses.append(total / len(train))
        accuracies.append(accuracy(model, x_test, y_test))
    print(f"train loss {losses[-1]:.4f}")
    print(f"test accuracy {accuracies[-1]:.1%} ({len(test)} images)")

    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.5))
    left.plot(range(1, args.epochs + 1), losses)
    left.set(xlabel="epoch", ylabel="training loss", title="loss")
    right.plot(range(1, args.epochs + 1), [100 * a for a in accuracies])
    right.set(xlabel="epoch", ylabel="test accuracy (%)", title="accuracy")
    fig.tight_layout()
    fig.savefig(args.out, dpi=100)
    print(f"curves saved to {args.out}")


if __name__ == "__main__":
    main()
