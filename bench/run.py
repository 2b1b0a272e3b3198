"""srcgrad benchmarks: generated gradients vs hand-written NumPy, and transformation time.

Run with ``make bench`` (or ``.venv/bin/python bench/run.py``); ``--strict`` exits 1 when a
target is missed. See bench/README.md for what each benchmark measures.

1. Two-layer net gradient (the PyTorch tutorial seed), srcgrad vs hand-written backprop,
   plus JAX (op-by-op and jitted) and torch where importable.
2. A five-primitive scalar function of two Python floats, srcgrad vs hand-written derivatives.
3. First-call transformation time of a ~30-line straight-line NumPy function (3-layer MLP).

Every timed function is first checked for correctness. Times are the best (and the median) of
several interleaved repeats of many calls each, after warm-up.
"""

from __future__ import annotations

import argparse
import inspect
import os
import platform
import re
import statistics
import subprocess
import sys
import time
import timeit
from collections.abc import Callable

os.environ.setdefault("JAX_PLATFORMS", "cpu")  # before anything imports jax (srcgrad may)

import numpy as np  # noqa: E402

import srcgrad  # noqa: E402

TARGET_TWO_LAYER = 1.05  # srcgrad time / hand-written time
TARGET_SCALAR = 1.5  # srcgrad time / hand-written time
TARGET_TRANSFORM_MS = 30.0  # first call minus a regular call

# ------------------------------------------------------------------------------------------------
# 1. Two-layer net (N=64, D_in=1000, H=100, D_out=10, float64)
# ------------------------------------------------------------------------------------------------


def two_layer_loss(w1, w2, x, y):
    h = np.maximum(x @ w1, 0.0)
    y_pred = h @ w2
    return np.sum((y_pred - y) ** 2)


def two_layer_hand(w1, w2, x, y):
    """The best hand-written backprop of ``two_layer_loss`` (the loss value is not computed)."""
    t1 = x @ w1
    h = np.maximum(t1, 0.0)
    y_pred = h @ w2
    d = 2 * (y_pred - y)
    d_w2 = h.T @ d
    d_w1 = x.T @ ((d @ w2.T) * (t1 > 0))
    return d_w1, d_w2


def two_layer_args(seed: int = 0):
    rng = np.random.default_rng(seed)
    n, d_in, h, d_out = 64, 1000, 100, 10
    x = rng.standard_normal((n, d_in))
    y = rng.standard_normal((n, d_out))
    w1 = rng.standard_normal((d_in, h))
    w2 = rng.standard_normal((h, d_out))
    return w1, w2, x, y


# ------------------------------------------------------------------------------------------------
# 2. Scalar function of two Python floats: sin, *, /, exp, ** (+ two adds)
# ------------------------------------------------------------------------------------------------


def scalar_f(x, y):
    return np.sin(x) * y + np.exp(x / y) - x ** 2


def scalar_hand(x, y):
    """Hand-written derivatives of ``scalar_f``, with the same numpy calls."""
    q = x / y
    e = np.exp(q)
    d_x = np.cos(x) * y + e / y - 2 * x
    d_y = np.sin(x) - e * q / y
    return d_x, d_y


SCALAR_ARGS = (1.3, 0.7)

# ------------------------------------------------------------------------------------------------
# 3. A ~30-line straight-line function for the transformation time
# ------------------------------------------------------------------------------------------------


def mlp_loss(w1, b1, g1, c1, w2, b2, g2, c2, w3, b3, x, y):
    # layer 1: affine -> layer norm -> tanh
    z1 = x @ w1 + b1
    m1 = z1.mean(axis=1, keepdims=True)
    v1 = ((z1 - m1) ** 2).mean(axis=1, keepdims=True)
    h1 = np.tanh((z1 - m1) / np.sqrt(v1 + 1e-5) * g1 + c1)
    # layer 2: affine -> layer norm -> relu, plus a residual connection
    z2 = h1 @ w2 + b2
    m2 = np.mean(z2, axis=1, keepdims=True)
    d2 = z2 - m2
    v2 = np.mean(d2 * d2, axis=1, keepdims=True)
    h2 = np.maximum(d2 / np.sqrt(v2 + 1e-5) * g2 + c2, 0.0) + h1
    # layer 3: logits
    logits = h2 @ w3.T + b3
    # softmax cross-entropy, numerically stable
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_z = np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    log_p = shifted - log_z
    nll = -(y * log_p).sum(axis=1)
    data = nll.mean()
    # regularizers: L2 on weights, entropy bonus, activation penalty
    l2 = np.sum(w1 * w1) + np.sum(w2 * w2) + np.sum(w3 * w3)
    p = np.exp(log_p)
    ent = -np.mean(np.sum(p * log_p, axis=1))
    act = np.mean(h2.reshape(-1) ** 2)
    return data + 1e-3 * l2 - 1e-2 * ent + 1e-4 * act


MLP_WRT = ("w1", "b1", "g1", "c1", "w2", "b2", "g2", "c2", "w3", "b3")


def mlp_args(seed: int = 0):
    rng = np.random.default_rng(seed)
    b, d, h, c = 32, 20, 64, 5

    def r(*shape, scale=0.2, mean=0.0):
        return mean + scale * rng.standard_normal(shape)

    return (r(d, h), r(h, scale=0.1), r(h, scale=0.1, mean=1.0), r(h, scale=0.1),
            r(h, h), r(h, scale=0.1), r(h, scale=0.1, mean=1.0), r(h, scale=0.1),
            r(c, h), r(c, scale=0.1), r(b, d, scale=1.0), np.eye(c)[rng.integers(0, c, b)])


# ------------------------------------------------------------------------------------------------
# Measurement
# ------------------------------------------------------------------------------------------------


class Timing:
    def __init__(self, samples: list[float]):
        self.samples = samples
        self.best = min(samples)
        self.median = statistics.median(samples)


def measure(cases: dict[str, tuple[Callable, tuple]], *, rounds: int, batch_s: float,
            max_s: float = 15.0) -> dict[str, Timing]:
    """Seconds per call of each ``fn(*args)``, after warm-up: ``rounds`` interleaved batches of
    about ``batch_s`` each (the loop count is calibrated per case), fewer if they take more than
    ``max_s`` in all. Many short batches make the minimum robust to other processes taking the
    CPU for a while."""
    timers = {}
    for name, (fn, args) in cases.items():
        names = [f"a{i}" for i in range(len(args))]
        timer = timeit.Timer(f"fn({', '.join(names)})",
                             globals={"fn": fn, **dict(zip(names, args, strict=True))})
        timer.timeit(3)  # warm-up
        one = min(timer.repeat(repeat=3, number=3)) / 3
        timers[name] = (timer, max(1, round(batch_s / max(one, 1e-9))))
    samples: dict[str, list[float]] = {name: [] for name in cases}
    deadline = time.perf_counter() + max_s
    for i in range(rounds):
        if i >= 5 and time.perf_counter() > deadline:
            break
        for name, (timer, number) in timers.items():
            samples[name].append(timer.timeit(number) / number)
    return {name: Timing(s) for name, s in samples.items()}


def fmt_time(seconds: float) -> str:
    if seconds >= 1e-3:
        return f"{seconds * 1e3:8.3f} ms"
    if seconds >= 1e-6:
        return f"{seconds * 1e6:8.2f} us"
    return f"{seconds * 1e9:8.0f} ns"


def status(ok: bool) -> str:
    return "OK" if ok else "MISS"


def check_close(name: str, got, want, rtol=1e-7, atol=1e-9) -> None:
    got = got if isinstance(got, (tuple, list)) else (got,)
    want = want if isinstance(want, (tuple, list)) else (want,)
    assert len(got) == len(want), f"{name}: {len(got)} gradients, expected {len(want)}"
    for i, (g, w) in enumerate(zip(got, want, strict=True)):
        g = np.asarray(g)
        w = np.asarray(w)
        assert g.shape == w.shape, f"{name}: gradient {i} has shape {g.shape}, want {w.shape}"
        assert np.allclose(g, w, rtol=rtol, atol=atol), \
            f"{name}: gradient {i} differs (max abs err {np.max(np.abs(g - w)):.3g})"


def helper_calls(source: str) -> str:
    """Statements and srcgrad runtime-helper calls in generated code."""
    from srcgrad.backends import HELPERS

    counts = {}
    code = "\n".join(ln for ln in source.splitlines() if not ln.strip().startswith("#"))
    for name in HELPERS:
        n = len(re.findall(rf"(?<![\w.]){name}\(", code))
        if n:
            counts[name] = n
    stmts = sum(1 for ln in source.splitlines()[1:] if ln.strip() and
                not ln.strip().startswith("#"))
    inner = ", ".join(f"{k} x{v}" for k, v in sorted(counts.items(), key=lambda kv: -kv[1]))
    return f"{stmts} statements; runtime-helper calls: {inner or 'none'}"


REPORT: list[str] = []  # printed at the end, in section order
SUMMARY: list[tuple[str, str, str, str]] = []  # (what, measured, target, status)


def say(line: str = "") -> None:
    REPORT.append(line)


def progress(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def table(title: str, timings: dict[str, Timing], base: str, notes: dict[str, str]) -> None:
    say()
    say(title)
    say(f"  {'implementation':30s} {'best':>11s} {'median':>11s} {'vs hand':>8s}")
    ref = timings[base].best
    for name, t in timings.items():
        say(f"  {name:30s} {fmt_time(t.best)} {fmt_time(t.median)} "
            f"{t.best / ref:7.2f}x  {notes.get(name, '')}".rstrip())


def ratio_rows(label: str, t: dict[str, Timing], target: float, digits: int) -> dict[str, str]:
    """Summary rows for the two srcgrad entry points; the notes for the table."""
    notes = {}
    for name, short in (("srcgrad GradFunction call", "GradFunction"), ("srcgrad .fn", ".fn")):
        r = t[name].best / t["hand-written NumPy"].best
        st = status(r <= target)
        notes[name] = f"target <= {target:.2f}x  {st}"
        SUMMARY.append((f"{label}, {short} / hand", f"{r:.{digits}f}x", f"<= {target}x", st))
    return notes


# ------------------------------------------------------------------------------------------------
# 1 + 4. Two-layer net: srcgrad vs hand-written NumPy, then JAX and torch as extra rows
# ------------------------------------------------------------------------------------------------


def two_layer_numpy(quick: bool):
    args = two_layer_args()
    want = two_layer_hand(*args)
    g = srcgrad.grad(two_layer_loss, wrt=("w1", "w2"))
    check_close("two-layer: srcgrad GradFunction", g(*args), want)
    check_close("two-layer: srcgrad .fn", g.fn(*args), want)
    t = measure({"hand-written NumPy": (two_layer_hand, args),
                 "srcgrad GradFunction call": (g, args),
                 "srcgrad .fn": (g.fn, args)}, rounds=60 if quick else 300, batch_s=0.002)
    return t, g, args, want


def two_layer_others(args, want, quick: bool) -> tuple[dict[str, Timing], dict[str, str]]:
    """JAX and torch on the two-layer net. Measured after everything else: once XLA's CPU
    thread pool has run, its threads compete with OpenBLAS's for the cores."""
    cases: dict[str, tuple[Callable, tuple]] = {}
    absent: dict[str, str] = {}
    jax_mod = _import_jax()
    if isinstance(jax_mod, str):
        absent["jax"] = jax_mod
    else:
        jax, jnp = jax_mod

        def jax_loss(w1, w2, x, y):
            h = jnp.maximum(x @ w1, 0.0)
            return jnp.sum((h @ w2 - y) ** 2)

        jargs = tuple(jnp.asarray(a) for a in args)
        assert all(a.dtype == jnp.float64 for a in jargs), "jax x64 is not enabled"
        jgrad = jax.grad(jax_loss, argnums=(0, 1))
        jjit = jax.jit(jgrad)
        check_close("two-layer: jax.grad", jgrad(*jargs), want, rtol=1e-6)
        check_close("two-layer: jax.jit(jax.grad)", jjit(*jargs), want, rtol=1e-6)  # warm-up
        cases["jax.grad (no jit)"] = (lambda *a: jax.block_until_ready(jgrad(*a)), jargs)
        cases["jax.jit(jax.grad), warm"] = (lambda *a: jax.block_until_ready(jjit(*a)), jargs)
    torch_case = _torch_case(args, want)
    if isinstance(torch_case, str):
        absent["torch"] = torch_case
    else:
        cases["torch.autograd.grad"] = torch_case
    timed = measure(cases, rounds=20 if quick else 100, batch_s=0.004) if cases else {}
    return timed, absent


def _import_jax():
    try:
        import jax
        import jax.numpy as jnp
    except ImportError as exc:
        return f"not installed ({exc})"
    jax.config.update("jax_enable_x64", True)
    return jax, jnp


def _torch_case(args, want):
    try:
        import torch
    except ImportError:
        return "not installed"
    try:
        # one thread: torch's threads and NumPy's BLAS threads, run by turns in one process,
        # otherwise wait on each other (measured here: 1.3 ms a gradient alone, 70 ms by turns)
        torch.set_num_threads(1)
        targs = [torch.from_numpy(a) for a in args]
        targs[0].requires_grad_(True)
        targs[1].requires_grad_(True)

        def torch_grad(w1, w2, x, y):
            loss = ((torch.clamp(x @ w1, min=0.0) @ w2 - y) ** 2).sum()
            return torch.autograd.grad(loss, (w1, w2))

        check_close("two-layer: torch", [r.numpy() for r in torch_grad(*targs)], want,
                    rtol=1e-6)
        return torch_grad, tuple(targs)
    except Exception as exc:  # torch is an extra row only
        return f"error: {type(exc).__name__}: {exc}"


# ------------------------------------------------------------------------------------------------
# 2. Scalar function
# ------------------------------------------------------------------------------------------------


def bench_scalar(quick: bool) -> None:
    want = scalar_hand(*SCALAR_ARGS)
    g = srcgrad.grad(scalar_f, wrt=("x", "y"))
    check_close("scalar: srcgrad GradFunction", g(*SCALAR_ARGS), want, rtol=1e-12)
    check_close("scalar: srcgrad .fn", g.fn(*SCALAR_ARGS), want, rtol=1e-12)
    t = measure({"hand-written NumPy": (scalar_hand, SCALAR_ARGS),
                 "srcgrad GradFunction call": (g, SCALAR_ARGS),
                 "srcgrad .fn": (g.fn, SCALAR_ARGS)}, rounds=100 if quick else 500, batch_s=0.0005)
    notes = ratio_rows("scalar f(x, y)", t, TARGET_SCALAR, 2)
    table(f"[2] scalar f(x, y) = sin(x)*y + exp(x/y) - x**2 at Python floats {SCALAR_ARGS}, "
          "wrt (x, y)", t, "hand-written NumPy", notes)
    say(f"  generated code: {helper_calls(g.source)}")


# ------------------------------------------------------------------------------------------------
# 3. Transformation time
# ------------------------------------------------------------------------------------------------


def _mlp_fd_check(grads, args, directions: int = 3) -> None:
    """Central finite differences of ``mlp_loss`` along random directions."""
    rng = np.random.default_rng(1)
    n = len(MLP_WRT)
    for _ in range(directions):
        dirs = [rng.standard_normal(np.shape(a)) for a in args[:n]]
        eps = 1e-6
        plus = [a + eps * d for a, d in zip(args[:n], dirs, strict=True)] + list(args[n:])
        minus = [a - eps * d for a, d in zip(args[:n], dirs, strict=True)] + list(args[n:])
        fd = (mlp_loss(*plus) - mlp_loss(*minus)) / (2 * eps)
        an = sum(float(np.sum(g * d)) for g, d in zip(grads, dirs, strict=True))
        assert np.isclose(fd, an, rtol=1e-5, atol=1e-8), f"mlp_loss: fd {fd} vs grad {an}"


def _transform_once(args) -> tuple[float, float]:
    """(first call, regular call) of a fresh GradFunction, cache cleared, in seconds."""
    srcgrad.pipeline._CACHE.clear()
    g = srcgrad.grad(mlp_loss, wrt=MLP_WRT)
    t0 = time.perf_counter()
    g(*args)
    t1 = time.perf_counter()
    g(*args)
    t2 = time.perf_counter()
    return t1 - t0, t2 - t1


def bench_transform(quick: bool) -> None:
    args = mlp_args()
    g = srcgrad.grad(mlp_loss, wrt=MLP_WRT)
    _mlp_fd_check(g(*args), args)
    _transform_once(args)  # warm-up: lazy imports, libcst caches
    reps = 4 if quick else 10
    firsts, regulars = zip(*(_transform_once(args) for _ in range(reps)), strict=True)
    diffs = sorted(a - b for a, b in zip(firsts, regulars, strict=True))
    med = statistics.median(diffs) * 1e3
    st = status(med <= TARGET_TRANSFORM_MS)
    SUMMARY.append(("transformation of mlp_loss, median", f"{med:.1f} ms",
                    f"<= {TARGET_TRANSFORM_MS:.0f} ms", st))
    say()
    n_lines = len(inspect.getsourcelines(mlp_loss)[0])
    say(f"[3] first-call transformation time of mlp_loss ({n_lines} source lines, "
        f"{len(MLP_WRT)} gradients, {len(g.source.splitlines())} generated lines)")
    say(f"  first call minus a regular call ({statistics.median(regulars) * 1e3:.2f} ms), "
        f"{reps} fresh transformations (cache cleared):")
    say(f"  median {med:7.1f} ms   min {diffs[0] * 1e3:7.1f} ms   max {diffs[-1] * 1e3:7.1f} ms"
        f"   target <= {TARGET_TRANSFORM_MS:.0f} ms  {st}")
    say(f"  in a fresh interpreter: {_cold_process()}")
    _stage_breakdown(args, reps=2 if quick else 3)


def _cold_process() -> str:
    """``import srcgrad`` and the first gradient call in a new interpreter."""
    code = ("import sys, time; t0 = time.perf_counter(); import srcgrad; t1 = time.perf_counter()\n"
            f"sys.path.insert(0, {os.path.dirname(os.path.abspath(__file__))!r})\n"
            "import run; a = run.mlp_args(); g = srcgrad.grad(run.mlp_loss, wrt=run.MLP_WRT)\n"
            "t2 = time.perf_counter(); g(*a); t3 = time.perf_counter()\n"
            "print(f'{(t1 - t0) * 1e3:.0f} {(t3 - t2) * 1e3:.0f}')")
    try:
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             timeout=60, check=True).stdout.split()
        return f"import srcgrad {out[0]} ms, then first call {out[1]} ms"
    except Exception as exc:
        return f"unavailable ({type(exc).__name__})"


def _stage_breakdown(args, reps: int) -> None:
    """Where the transformation time goes: srcgrad's passes, timed by wrapping them."""
    from srcgrad import analyze, emit, optimize, pipeline, reverse

    hooks = [(pipeline, "parse_function", "parse (libcst + positions)"),
             (pipeline, "names_in", "the user's names"),
             (pipeline, "normalize", "normalize"),
             (analyze, "activity", "analyze.activity"),
             (analyze, "ShapeClasses", "analyze.ShapeClasses"),
             (reverse, "reverse", "reverse"),
             (optimize, "optimize", "optimize, in all"),
             (optimize, "eliminate", "  eliminate"),
             (optimize, "inline", "  inline"),
             (optimize, "_map_exprs", "  fold / tidy"),
             (emit, "emit", "emit (source text)"),
             (emit, "compile_function", "compile + exec")]
    spent: dict[str, float] = {}
    calls: dict[str, int] = {}
    saved = []

    def wrap(fn, label):
        def timed(*a, **k):
            t0 = time.perf_counter()
            try:
                return fn(*a, **k)
            finally:
                spent[label] = spent.get(label, 0.0) + time.perf_counter() - t0
                calls[label] = calls.get(label, 0) + 1
        return timed

    total = 0.0
    try:
        for mod, attr, label in hooks:
            if hasattr(mod, attr):
                saved.append((mod, attr, getattr(mod, attr)))
                setattr(mod, attr, wrap(getattr(mod, attr), label))
        for _ in range(reps):
            first, regular = _transform_once(args)
            total += first - regular
    except Exception as exc:
        say(f"  (stage breakdown unavailable: {type(exc).__name__}: {exc})")
        return
    finally:
        for mod, attr, fn in reversed(saved):
            setattr(mod, attr, fn)
    say(f"  where the time goes (srcgrad's passes wrapped and timed, mean of {reps}, "
        f"{total / reps * 1e3:.0f} ms in all):")
    for _, _, label in hooks:
        if label in spent:
            per = calls[label] / reps
            say(f"    {label:28s} {spent[label] / reps * 1e3:7.1f} ms"
                + (f"   ({per:.0f} calls)" if per > 1 else ""))


# ------------------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--strict", action="store_true", help="exit 1 if a target is missed")
    parser.add_argument("--quick", action="store_true", help="fewer repeats (a smoke run)")
    opts = parser.parse_args()
    start = time.perf_counter()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0

    progress("[1/4] two-layer net: srcgrad vs hand-written NumPy ...")
    t1, g1, args1, want1 = two_layer_numpy(opts.quick)
    progress("[2/4] scalar function ...")
    bench_scalar(opts.quick)
    section2 = REPORT[:]
    REPORT.clear()
    progress("[3/4] transformation time ...")
    bench_transform(opts.quick)
    section3 = REPORT[:]
    REPORT.clear()
    progress("[4/4] JAX / torch on the two-layer net ...")
    others, absent = two_layer_others(args1, want1, opts.quick)

    notes = ratio_rows("two-layer net", t1, TARGET_TWO_LAYER, 3)
    table("[1] two-layer net gradient wrt (w1, w2): N=64, D_in=1000, H=100, D_out=10, float64",
          {**t1, **others}, "hand-written NumPy", notes)
    for name, why in absent.items():
        say(f"  {name:30s} {why}")
    say(f"  generated code: {helper_calls(g1.source)}")
    for name, t in others.items():
        SUMMARY.append((f"two-layer net, {name} / hand",
                        f"{t.best / t1['hand-written NumPy'].best:.3f}x", "(info)", ""))
    # two-layer rows first in the summary
    order = sorted(range(len(SUMMARY)), key=lambda i: not SUMMARY[i][0].startswith("two-layer"))
    summary = [SUMMARY[i] for i in order]

    print(f"srcgrad benchmarks -- Python {platform.python_version()}, numpy {np.__version__}"
          f"{_versions()}, {os.cpu_count()} CPUs ({_cpu_name()}), {time.strftime('%Y-%m-%d')}")
    print("times per call; best = minimum over many short interleaved batches (ratios use it)")
    if load > 0.5:
        print(f"WARNING: load average {load:.2f} at start: other processes were using the CPU, "
              "times (BLAS-bound ones above all) are noisy")
    for line in REPORT + section2 + section3:
        print(line)
    print()
    print("summary")
    print(f"  {'measure':46s} {'measured':>10s} {'target':>10s}  status")
    for what, measured, target, st in summary:
        print(f"  {what:46s} {measured:>10s} {target:>10s}  {st}".rstrip())
    print(f"\n(benchmark wall time {time.perf_counter() - start:.0f} s)")
    missed = any(st == "MISS" for *_, st in summary)
    return 1 if opts.strict and missed else 0


def _versions() -> str:
    out = []
    for name in ("jax", "torch"):
        mod = sys.modules.get(name)
        if mod is not None:
            out.append(f", {name} {mod.__version__}")
    return "".join(out)


def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


if __name__ == "__main__":
    sys.exit(main())
