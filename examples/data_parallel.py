"""Data-parallel training on JAX: scikit-learn's 8x8 digits, an MLP 64-128-10 trained with Adam
by one compiled step (forward, srcgrad's generated adjoint and the update in one `jax.jit`),
the batch split over the devices of a `jax.sharding.Mesh` and the parameters replicated.

Without a GPU this runs on 8 host devices JAX is told to make of the CPU
(`XLA_FLAGS=--xla_force_host_platform_device_count=8`, set below before jax is imported); with
several GPUs it runs on them unchanged. It prints the mesh, the shape of each device's part of a
batch, and the test accuracy. Across several hosts, call `jax.distributed.initialize()` first on
each (docs/nn.md).

    python examples/data_parallel.py [--epochs 15] [--devices 8]
"""

import argparse
import os
import sys

if __name__ == "__main__":
    count = sys.argv[sys.argv.index("--devices") + 1] if "--devices" in sys.argv else "8"
    flags = os.environ.get("XLA_FLAGS", "")
    if "xla_force_host_platform_device_count" not in flags:
        os.environ["XLA_FLAGS"] = f"{flags} --xla_force_host_platform_device_count={count}"

import jax  # noqa: E402
import numpy as np  # noqa: E402
from jax.sharding import Mesh  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402

import srcgrad  # noqa: E402
from srcgrad import nn, optim  # noqa: E402

criterion = nn.CrossEntropyLoss()


def loss_fn(model, x, y):
    return criterion(model(x), y)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--devices", type=int, default=8)
    epochs = parser.parse_args().epochs
    digits = load_digits()
    x = (digits.data / 16.0).astype(np.float32)
    y = digits.target
    rng = np.random.default_rng(0)
    order = rng.permutation(len(x))
    train, test = order[:1440], order[1440:]

    mesh = Mesh(np.array(jax.devices()), ("batch",))
    print(f"mesh: {dict(mesh.shape)} over {[str(d) for d in mesh.devices]}")
    srcgrad.manual_seed(0)
    model = nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 10)).float()
    step = srcgrad.compile_step(loss_fn, model, optim.Adam(model.parameters(), lr=1e-2),
                                mesh=mesh)
    batch = 16 * len(jax.devices())   # divisible by the number of devices
    for epoch in range(1, epochs + 1):
        shuffled = rng.permutation(train)
        losses = [float(step(x[rows], y[rows]))
                  for rows in (shuffled[k:k + batch]
                               for k in range(0, len(shuffled) - batch + 1, batch))]
        if epoch == 1:
            print(f"each device's part of a batch: {step.shard_shapes()}")
        if epoch % 5 == 0:
            print(f"epoch {epoch:2d}   loss {np.mean(losses):.4f}")
    step.sync()   # the trained parameters back into the model (NumPy)
    accuracy = np.mean(np.argmax(model(x[test]), axis=1) == y[test])
    print(f"test accuracy {accuracy:.3f}")


if __name__ == "__main__":
    main()
