"""One training step through srcgrad.nn and srcgrad.optim, against the same step written by
hand in NumPy (and PyTorch eager where installed), in one process; ratios of the best times.

1. The tutorials' two-layer net as Sequential(Linear, ReLU, Linear), N=64, D_in=1000, H=100,
   D_out=10, float64, summed squared error, SGD (lr 1e-6). Target: <= 1.05x hand-written.
2. An MLP 784-256-10, batch 128, float32, CrossEntropyLoss and Adam (lr 1e-3). Target: <= 1.05x
   hand-written; PyTorch eager reported.
3. The Module layer's own cost per call for a 4-parameter model: a call of value_and_grad
   minus a call of the generated function it runs. Target: <= 20 us.

    .venv/bin/python bench/train_step.py [--quick]
"""

from __future__ import annotations

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
import numpy as np  # noqa: E402
from run import Timing, fmt_time, measure  # noqa: E402

import srcgrad  # noqa: E402
from srcgrad import nn, optim  # noqa: E402

try:
    import torch
except ImportError:  # pragma: no cover - a dev install has it
    torch = None

SUM_MSE = nn.MSELoss(reduction="sum")
CE = nn.CrossEntropyLoss()


def two_layer_loss(model, x, y):
    return SUM_MSE(model(x), y)


def mlp_loss(model, x, y):
    return CE(model(x), y)


def two_layer_case():
    srcgrad.manual_seed(0)
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((64, 1000)), rng.standard_normal((64, 10))
    model = nn.Sequential(nn.Linear(1000, 100), nn.ReLU(), nn.Linear(100, 10))
    opt = optim.SGD(model.parameters(), lr=1e-6)
    vg = srcgrad.value_and_grad(two_layer_loss)
    weights = [np.array(p) for p in model.parameters()]

    def ours():
        loss, grads = vg(model, x, y)
        opt.step(grads)
        return loss

    def hand():
        w1, b1, w2, b2 = weights
        h = x @ w1.T + b1
        a = np.maximum(h, 0.0)
        diff = a @ w2.T + b2 - y
        loss = np.sum(diff ** 2)
        g = 2.0 * diff
        g_w2, g_b2 = g.T @ a, g.sum(axis=0)
        g_h = g @ w2
        g_h[h <= 0] = 0.0
        g_w1, g_b1 = g_h.T @ x, g_h.sum(axis=0)
        w1 -= 1e-6 * g_w1
        b1 -= 1e-6 * g_b1
        w2 -= 1e-6 * g_w2
        b2 -= 1e-6 * g_b2
        return loss

    assert np.isclose(ours(), hand(), rtol=1e-10)
    for p, q in zip(model.parameters(), weights, strict=True):
        np.testing.assert_allclose(p, q, rtol=1e-10)
    return {"srcgrad": (ours, ()), "hand-written": (hand, ())}


class _Adam:
    """Adam written out for the hand-written step (torch's update)."""

    def __init__(self, params, lr=1e-3, b1=0.9, b2=0.999, eps=1e-8):
        self.params, self.lr, self.b1, self.b2, self.eps = params, lr, b1, b2, eps
        self.m = [np.zeros_like(p) for p in params]
        self.v = [np.zeros_like(p) for p in params]
        self.t = 0

    def step(self, grads):
        self.t += 1
        c1, c2 = 1 - self.b1 ** self.t, np.sqrt(1 - self.b2 ** self.t)
        for p, g, m, v in zip(self.params, grads, self.m, self.v, strict=True):
            m += (g - m) * (1 - self.b1)
            v *= self.b2
            v += (1 - self.b2) * g * g
            p -= (self.lr / c1) * m / (np.sqrt(v) / c2 + self.eps)


def mlp_case():
    srcgrad.manual_seed(1)
    rng = np.random.default_rng(1)
    x = rng.standard_normal((128, 784)).astype(np.float32)
    y = rng.integers(0, 10, 128)
    model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 10)).float()
    opt = optim.Adam(model.parameters(), lr=1e-3)
    vg = srcgrad.value_and_grad(mlp_loss)
    params = [np.array(p) for p in model.parameters()]
    hand_opt = _Adam(params)
    rows = np.arange(128)

    def ours():
        loss, grads = vg(model, x, y)
        opt.step(grads)
        return loss

    def hand():
        w1, b1, w2, b2 = params
        h = x @ w1.T + b1
        a = np.maximum(h, 0)
        z = a @ w2.T + b2
        z = z - z.max(axis=1, keepdims=True)
        e = np.exp(z)
        s = e.sum(axis=1, keepdims=True)
        loss = np.mean(np.log(s[:, 0]) - z[rows, y])
        g = e / s
        g[rows, y] -= 1
        g /= 128
        g_w2, g_b2 = g.T @ a, g.sum(axis=0)
        g_h = g @ w2
        g_h[h <= 0] = 0
        hand_opt.step([g_h.T @ x, g_h.sum(axis=0), g_w2, g_b2])
        return loss

    assert np.isclose(ours(), hand(), rtol=1e-5)
    for p, q in zip(model.parameters(), params, strict=True):
        np.testing.assert_allclose(p, q, rtol=1e-4, atol=1e-6)
    cases = {"srcgrad": (ours, ()), "hand-written": (hand, ())}
    if torch is not None:
        tm = torch.nn.Sequential(torch.nn.Linear(784, 256), torch.nn.ReLU(),
                                 torch.nn.Linear(256, 10))
        topt = torch.optim.Adam(tm.parameters(), lr=1e-3)
        tx, ty = torch.tensor(x), torch.tensor(y)
        lossf = torch.nn.CrossEntropyLoss()

        def eager():
            topt.zero_grad()
            loss = lossf(tm(tx), ty)
            loss.backward()
            topt.step()
            return loss

        cases["torch eager"] = (eager, ())
    return cases


def overhead_case():
    srcgrad.manual_seed(2)
    model = nn.Sequential(nn.Linear(2, 2), nn.Linear(2, 1))
    x, y = np.ones((4, 2)), np.zeros((4, 1))
    vg = srcgrad.value_and_grad(mlp_loss_small)
    vg(model, x, y)
    return {"value_and_grad(model, x, y)": (vg, (model, x, y)),
            "its generated function": (vg.fn, (model, x, y))}


MSE = nn.MSELoss()


def mlp_loss_small(model, x, y):
    return MSE(model(x), y)


def report(title: str, t: dict[str, Timing], base: str) -> None:
    print(f"\n{title}")
    for name, timing in t.items():
        ratio = timing.best / t[base].best
        print(f"  {name:30s} {fmt_time(timing.best):>10s}  {ratio:5.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    quick = parser.parse_args().quick
    rounds, batch = (5, 0.05) if quick else (30, 0.2)
    if torch is not None:
        print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    t = measure(two_layer_case(), rounds=rounds, batch_s=batch)
    report("1. two-layer net, Sequential + SGD, float64 (target <= 1.05x)", t, "hand-written")
    t = measure(mlp_case(), rounds=rounds, batch_s=batch)
    report("2. MLP 784-256-10, batch 128, float32, CE + Adam (target <= 1.05x)", t,
           "hand-written")
    t = measure(overhead_case(), rounds=rounds, batch_s=batch)
    over = t["value_and_grad(model, x, y)"].best - t["its generated function"].best
    report("3. the Module layer's cost per call, 4 parameters (target <= 20 us)", t,
           "its generated function")
    print(f"  overhead {over * 1e6:.1f} us")


if __name__ == "__main__":
    main()
