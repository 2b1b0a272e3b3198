"""Checkpointing: the gradient of a 1 000-step recurrence, its cell marked with
``srcgrad.checkpoint`` or not.

Unmarked, the forward sweep saves what the cell's adjoints read at every step (its
intermediates); marked, it saves the cell's arguments only, and the backward sweep computes the
cell again (its generated vector-Jacobian product) before differentiating it. The benchmark
reports the peak memory the gradient call allocates (``tracemalloc``) and its time, marked
against unmarked. Target: peak <= 1/5 of the unmarked one, at <= 2x its time. Both gradients are
checked against each other first. Run: ``.venv/bin/python bench/checkpoint.py [--quick]``.
"""

from __future__ import annotations

import argparse
import os
import sys
import tracemalloc

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run  # noqa: E402  (the measuring and printing helpers)

import srcgrad  # noqa: E402

STEPS, WIDTH = 1000, 256
TARGET_MEMORY, TARGET_TIME = 1 / 5, 2.0


def cell(h, x, w1, w2, b):
    """One step of a gated recurrence: several elementwise intermediates per step."""
    a = np.tanh(h * w1 + x)
    gate = 1.0 / (1.0 + np.exp(-(h * w2 + b)))
    c = np.sin(a * w2) * gate
    d = np.tanh(c + h * 0.5)
    return d * gate + h * (1.0 - gate)


checkpointed_cell = srcgrad.checkpoint(cell)


def recurrence(xs, w1, w2, b, h0):
    h = h0
    for t in range(xs.shape[0]):
        h = cell(h, xs[t], w1, w2, b)
    return np.sum(h ** 2)


def recurrence_checkpointed(xs, w1, w2, b, h0):
    h = h0
    for t in range(xs.shape[0]):
        h = checkpointed_cell(h, xs[t], w1, w2, b)
    return np.sum(h ** 2)


def peak_bytes(fn, *args) -> int:
    """The peak of memory allocated (beyond what was live before) during ``fn(*args)``."""
    tracemalloc.start()
    tracemalloc.reset_peak()
    base = tracemalloc.get_traced_memory()[0]
    fn(*args)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak - base


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--strict", action="store_true", help="exit 1 if a target is missed")
    opts = parser.parse_args()
    steps = 100 if opts.quick else STEPS
    rng = np.random.default_rng(0)
    args = (rng.standard_normal((steps, WIDTH)) * 0.5, rng.standard_normal(WIDTH) * 0.5,
            rng.standard_normal(WIDTH) * 0.5, rng.standard_normal(WIDTH) * 0.1,
            rng.standard_normal(WIDTH) * 0.1)
    plain = srcgrad.grad(recurrence, wrt=(1, 2, 3)).fn
    marked = srcgrad.grad(recurrence_checkpointed, wrt=(1, 2, 3)).fn
    for a, b in zip(plain(*args), marked(*args), strict=True):
        run.check_close("checkpointed gradient", b, a, rtol=1e-10)
    mem_plain, mem_marked = peak_bytes(plain, *args), peak_bytes(marked, *args)
    timed = run.measure({"unmarked": (plain, args), "checkpointed": (marked, args)},
                        rounds=3 if opts.quick else 10, batch_s=0.2 if opts.quick else 1.0)
    ratio_t = timed["checkpointed"].best / timed["unmarked"].best
    ratio_m = mem_marked / mem_plain
    print(f"srcgrad checkpoint benchmark -- Python {sys.version.split()[0]}, numpy "
          f"{np.__version__}, {os.cpu_count()} CPUs ({run._cpu_name()})")
    print(f"\nGradient of a {steps}-step recurrence (width {WIDTH}, float64) wrt (w1, w2, b)")
    print(f"  {'':14}{'peak memory':>14}{'best time':>12}")
    for name, mem in (("unmarked", mem_plain), ("checkpointed", mem_marked)):
        print(f"  {name:14}{mem / 2 ** 20:11.2f} MiB{timed[name].best * 1e3:9.2f} ms")
    ok = ratio_m <= TARGET_MEMORY and ratio_t <= TARGET_TIME
    print(f"  checkpointed / unmarked: memory {ratio_m:.3f} (target <= {TARGET_MEMORY:.2f}), "
          f"time {ratio_t:.2f}x (target <= {TARGET_TIME:.1f}x) -> {'OK' if ok else 'MISSED'}")
    return 1 if opts.strict and not ok else 0


if __name__ == "__main__":
    sys.exit(main())
