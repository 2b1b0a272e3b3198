"""srcgrad on JAX against JAX itself, in one process; ratios of the best times. Prints the device
JAX uses (a GPU where one is there; nothing here assumes a CPU).

1. The MLP 784-256-10, batch 128 (``--batch`` for another), float32, CrossEntropyLoss + Adam
   (lr 1e-3): ``srcgrad.compile_step`` (forward, generated adjoint and Adam's update in one
   ``jax.jit``) against the same step written directly in JAX (``jax.jit`` of
   ``jax.value_and_grad`` plus the Adam update, parameters donated). Target: <= 1.05x.
   The eager NumPy step of srcgrad is reported beside them.
2. The tutorials' two-layer net's gradient (N=64, D_in=1000, H=100, D_out=10, float32):
   ``srcgrad.grad(backend="jax", jit=True)`` against ``jax.jit(jax.grad)``.

    .venv/bin/python bench/jax_backend.py [--quick] [--batch 1024]
"""

from __future__ import annotations

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
from run import Timing, fmt_time, measure  # noqa: E402

import srcgrad  # noqa: E402
from srcgrad import nn, optim  # noqa: E402

CE = nn.CrossEntropyLoss()


def mlp_loss(model, x, y):
    return CE(model(x), y)


def jax_mlp_step():
    """The step as a JAX user writes it: parameters as a pytree, Adam by hand."""
    b1, b2, eps, lr = 0.9, 0.999, 1e-8, 1e-3

    def loss(params, x, y):
        (w1, c1), (w2, c2) = params
        h = jnp.maximum(x @ w1.T + c1, 0.0)
        logits = h @ w2.T + c2
        return -jnp.mean(jnp.take_along_axis(jax.nn.log_softmax(logits), y[:, None], axis=1))

    def step(params, m, v, t, x, y):
        value, grads = jax.value_and_grad(loss)(params, x, y)
        t = t + 1
        m = jax.tree_util.tree_map(lambda m, g: b1 * m + (1 - b1) * g, m, grads)
        v = jax.tree_util.tree_map(lambda v, g: b2 * v + (1 - b2) * g * g, v, grads)
        scale = lr * jnp.sqrt(1 - b2 ** t) / (1 - b1 ** t)
        params = jax.tree_util.tree_map(lambda p, m, v: p - scale * m / (jnp.sqrt(v) + eps),
                                        params, m, v)
        return value, params, m, v, t

    return jax.jit(step, donate_argnums=(0, 1, 2))


def mlp_case(batch: int):
    srcgrad.manual_seed(0)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((batch, 784)).astype(np.float32)
    y = rng.integers(0, 10, batch)
    model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 10)).float()
    ours = srcgrad.compile_step(mlp_loss, model, optim.Adam(model.parameters(), lr=1e-3))
    xj, yj = jnp.asarray(x), jnp.asarray(y)

    def srcgrad_step():
        return ours(xj, yj).block_until_ready()

    weights = [jnp.asarray(np.asarray(p, dtype=np.float32)) for p in model.parameters()]
    state = {"params": ((weights[0], weights[1]), (weights[2], weights[3]))}
    state["m"] = jax.tree_util.tree_map(jnp.zeros_like, state["params"])
    state["v"] = jax.tree_util.tree_map(jnp.zeros_like, state["params"])
    state["t"] = jnp.zeros((), jnp.int32)
    step = jax_mlp_step()

    def jax_step():
        value, state["params"], state["m"], state["v"], state["t"] = step(
            state["params"], state["m"], state["v"], state["t"], xj, yj)
        return value.block_until_ready()

    eager_model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 10)).float()
    eager_opt = optim.Adam(eager_model.parameters(), lr=1e-3)
    vg = srcgrad.value_and_grad(mlp_loss)

    def eager_step():
        loss, grads = vg(eager_model, x, y)
        eager_opt.step(grads)
        return loss

    return {"jax.jit(value_and_grad) + Adam": (jax_step, ()),
            "srcgrad.compile_step": (srcgrad_step, ()),
            "srcgrad eager (NumPy)": (eager_step, ())}


def two_layer_loss(w1, w2, x, y):
    h = np.maximum(x @ w1, 0.0)
    return np.sum((h @ w2 - y) ** 2)


def two_layer_case():
    rng = np.random.default_rng(0)
    args = [jnp.asarray(rng.standard_normal(s).astype(np.float32))
            for s in ((1000, 100), (100, 10), (64, 1000), (64, 10))]
    ours = srcgrad.grad(two_layer_loss, wrt=(0, 1), backend="jax", jit=True)

    def jax_loss(w1, w2, x, y):
        h = jnp.maximum(x @ w1, 0.0)
        return jnp.sum((h @ w2 - y) ** 2)

    theirs = jax.jit(jax.grad(jax_loss, argnums=(0, 1)))
    return {"jax.jit(jax.grad)": (lambda *a: theirs(*a)[0].block_until_ready(), args),
            "srcgrad jax+jit": (lambda *a: ours(*a)[0].block_until_ready(), args)}


def report(title: str, t: dict[str, Timing], base: str) -> None:
    print(f"\n{title}")
    for name, timing in t.items():
        print(f"  {name:34s} {fmt_time(timing.best):>10s}  {timing.best / t[base].best:5.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--batch", type=int, default=128)
    options = parser.parse_args()
    rounds, batch_s = (5, 0.05) if options.quick else (30, 0.2)
    print(f"jax {jax.__version__} on {jax.devices()[0].platform}: {jax.devices()}")
    t = measure(mlp_case(options.batch), rounds=rounds, batch_s=batch_s)
    report(f"1. MLP 784-256-10, batch {options.batch}, float32, CE + Adam, one compiled step "
           "(target <= 1.05x)", t, "jax.jit(value_and_grad) + Adam")
    t = measure(two_layer_case(), rounds=rounds, batch_s=batch_s)
    report("2. two-layer net gradient, float32", t, "jax.jit(jax.grad)")


if __name__ == "__main__":
    main()
