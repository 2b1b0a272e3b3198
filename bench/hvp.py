"""Hessian-vector product of the seed two-layer net loss with respect to w1.

srcgrad's ``hvp`` in both modes (the forward-mode derivative of the gradient code along v, the
default, and the gradient of the forward-mode derivative; all generated as source) against a
hand-written HVP in NumPy, ``jax.jvp(jax.grad)`` with and without jit, and PyTorch's double
backward; all checked against each other first. Run:
``.venv/bin/python bench/hvp.py [--quick] [--show]``.
"""

from __future__ import annotations

import argparse
import os
import sys

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run  # noqa: E402  (the measuring and printing helpers)

import srcgrad  # noqa: E402


def two_layer_loss(w1, w2, x, y):
    h = np.maximum(x @ w1, 0.0)
    y_pred = h @ w2
    return np.sum((y_pred - y) ** 2)


def hvp_hand(w1, w2, x, y, v):
    """H_w1 v by hand: the relu mask is constant almost everywhere, so the loss is quadratic
    in w1 there: H v = x^T ((2 (x v * mask) w2 w2^T) * mask)."""
    mask = (x @ w1) > 0
    dh = (x @ v) * mask
    return x.T @ ((2 * (dh @ w2) @ w2.T) * mask)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--show", action="store_true", help="print the generated code")
    opts = parser.parse_args()
    args = run.two_layer_args()
    v = np.random.default_rng(5).standard_normal(args[0].shape)
    want = hvp_hand(*args, v)
    h = srcgrad.hvp(two_layer_loss, wrt="w1")
    rof = srcgrad.hvp(two_layer_loss, wrt="w1", mode="reverse-over-forward")
    run.check_close("hvp: srcgrad", h(*args, v), want, rtol=1e-9)
    run.check_close("hvp: srcgrad, reverse over forward", rof(*args, v), want, rtol=1e-9)
    if opts.show:
        print(h.source)
        print(rof.source)
    cases = {"hand-written NumPy": (hvp_hand, (*args, v)),
             "srcgrad hvp": (lambda *a: h(*a), (*args, v)),
             "srcgrad hvp rev-over-fwd": (lambda *a: rof(*a), (*args, v))}
    jax_mod = run._import_jax()
    if not isinstance(jax_mod, str):
        jax, jnp = jax_mod

        def loss(w1, w2, x, y):
            return jnp.sum((jnp.maximum(x @ w1, 0.0) @ w2 - y) ** 2)

        def jhvp(w1, w2, x, y, v):
            return jax.jvp(lambda w: jax.grad(loss)(w, w2, x, y), (w1,), (v,))[1]

        jargs = tuple(jnp.asarray(a) for a in (*args, v))
        jjit = jax.jit(jhvp)
        run.check_close("hvp: jax", jhvp(*jargs), want, rtol=1e-6)
        run.check_close("hvp: jax jit", jjit(*jargs), want, rtol=1e-6)
        cases["jax.jvp(jax.grad), no jit"] = (lambda *a: jax.block_until_ready(jhvp(*a)), jargs)
        cases["jax.jit(jvp(grad)), warm"] = (lambda *a: jax.block_until_ready(jjit(*a)), jargs)
    try:
        import torch

        torch.set_num_threads(1)
        tw1, tw2, tx, ty, tv = (torch.from_numpy(a) for a in (*args, v))
        tw1.requires_grad_(True)

        def torch_hvp(w1, w2, x, y, v):
            loss = ((torch.clamp(x @ w1, min=0.0) @ w2 - y) ** 2).sum()
            (g,) = torch.autograd.grad(loss, (w1,), create_graph=True)
            return torch.autograd.grad(g, (w1,), grad_outputs=v)[0]

        run.check_close("hvp: torch", torch_hvp(tw1, tw2, tx, ty, tv).numpy(), want, rtol=1e-6)
        cases["torch double backward"] = (torch_hvp, (tw1, tw2, tx, ty, tv))
    except ImportError:
        print("torch: not installed")
    timed = run.measure(cases, rounds=20 if opts.quick else 100, batch_s=0.004)
    run.table("HVP of the two-layer net loss (N=64, D_in=1000, H=100, D_out=10, float64) "
              "wrt w1", timed, "hand-written NumPy", {})
    for name, fn in (("forward over reverse", h), ("reverse over forward", rof)):
        src = fn.source
        run.say(f"  generated code, {name}: {len(src.splitlines())} lines; "
                f"{run.helper_calls(src)}")
    base = timed["srcgrad hvp"].best
    for name, t in timed.items():
        if name != "srcgrad hvp":
            run.say(f"  srcgrad / {name}: {base / t.best:.2f}x")
    print(f"srcgrad HVP benchmark -- Python {sys.version.split()[0]}, numpy {np.__version__}"
          f"{run._versions()}, {os.cpu_count()} CPUs ({run._cpu_name()})")
    print("\n".join(run.REPORT))
    return 0


if __name__ == "__main__":
    sys.exit(main())
