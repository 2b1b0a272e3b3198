"""Differential fuzzing: srcgrad against jax.grad on random programs (tests/fuzzgen.py).

    python tests/fuzz.py -n 10000 [--start 0] [--jobs 2] [--save tests/fuzz_cases]

For each seed, the program of tests/fuzzgen.py is differentiated with respect to every
argument by srcgrad in reverse mode (``grad``) and in forward mode (``jvp`` along a random
direction), in float64, and for a quarter of the programs in float32 as well. Both are
compared with ``jax.grad`` of the very same module run on ``jax.numpy``; the forward-mode
tangent with the jax gradient's inner product with the direction.

A program is *skipped*, not compared, where the derivative is not defined at its point: jax's
gradient is not finite, or central differences of the NumPy program disagree with it (a branch
or a kink within 1e-6 of the point). Everything else is a *mismatch*: a wrong value or shape,
srcgrad raising (SrcGradError included: the generator writes only code srcgrad supports), or a
program that jax runs and srcgrad's derivative does not. ``--save`` writes each mismatch as a
regression case file, which tests/test_fuzz.py runs. The last line of the report reads
``N programs, M mismatches``; the exit status is 1 when M > 0.
"""

from __future__ import annotations

import argparse
import linecache
import os
import signal
import sys
import time
import warnings
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from fuzzgen import Program, generate  # noqa: E402

TOLERANCE = {"float64": (1e-7, 1e-9), "float32": (2e-3, 2e-4)}   # rtol, atol (scaled)
TIME_LIMIT_S = 60


@dataclass
class Outcome:
    seed: int
    status: str          # "ok", "skipped", "mismatch", "invalid" (the generator failed)
    detail: str = ""
    case: str = ""       # the regression case file of a mismatch


def _jax():
    import jax

    jax.config.update("jax_enable_x64", True)
    return jax


def load(text: str, name: str, xp_name: str = "numpy"):
    """``f`` of the module ``text``, its source readable by inspect (srcgrad reads it)."""
    filename = f"<fuzz {name} {xp_name}>"
    linecache.cache[filename] = (len(text), None, text.splitlines(True), filename)
    namespace = {"__name__": f"fuzz_{name}"}
    exec(compile(text, filename, "exec"), namespace)  # noqa: S102 - the generator's own text
    return namespace["f"], filename


def _close(got, want, dtype, size=0.0) -> float:
    """The worst error of ``got`` against ``want`` relative to the dtype's tolerance (<= 1
    passes); the absolute part scales with ``want``, or with ``size`` where that is larger
    (float32: the largest gradient of all arguments, whose rounding the small ones carry)."""
    rtol, atol = TOLERANCE[dtype]
    got, want = np.asarray(got, dtype=np.float64), np.asarray(want, dtype=np.float64)
    if got.shape != want.shape:
        return np.inf
    big = max(np.max(np.abs(want), initial=0.0), size)
    scale = atol * (1.0 + big) + rtol * np.abs(want)
    err = np.abs(got - want) / scale
    return float(np.max(np.where(np.isnan(err), np.inf, err), initial=0.0))


def _stable(f, args, grads, rng) -> bool:
    """Central differences of ``f`` (float64) along a random direction agree with ``grads``."""
    dirs = [rng.standard_normal(np.shape(a)) for a in args]
    eps = 1e-6

    def at(t):
        return float(f(*[a + t * d for a, d in zip(args, dirs, strict=True)]))

    fd = (at(eps) - at(-eps)) / (2 * eps)
    want = sum(float(np.sum(np.asarray(g) * d)) for g, d in zip(grads, dirs, strict=True))
    return abs(fd - want) <= 1e-5 * (1.0 + abs(want) + abs(at(0.0)))


def check(program: Program) -> Outcome:
    """srcgrad's gradient and jvp of ``program`` against jax.grad (see the module docstring)."""
    import srcgrad

    jax = _jax()
    seed = program.seed
    name = f"s{seed}"
    f_np, fn_np = load(program.text, name)
    f_jx, fn_jx = load(program.jax_text, name, "jax")
    try:
        names = list(program.values)
        argnums = tuple(range(len(names)))
        rng = np.random.default_rng(seed)
        dtypes = ["float64"] + (["float32"] if program.dtype == "float32" else [])
        for dtype in dtypes:
            args = program.arguments(dtype)
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    f_np(*args)
            except Exception as exc:   # the generator wrote a program NumPy refuses: not ours
                return Outcome(seed, "skipped", f"numpy: {type(exc).__name__}: {exc}")
            jargs = [a if isinstance(a, float) else jax.numpy.asarray(a) for a in args]
            try:
                want = [np.asarray(g) for g in jax.grad(f_jx, argnums=argnums)(*jargs)]
            except Exception as exc:   # the program is outside what jax runs: not ours
                return Outcome(seed, "skipped", f"jax: {type(exc).__name__}: {exc}")
            if not all(np.all(np.isfinite(g)) and np.max(np.abs(g), initial=0) < 1e6
                       for g in want):
                return Outcome(seed, "skipped", "jax's gradient is not finite")
            if dtype == "float64" and not _stable(f_np, args, want, rng):
                return Outcome(seed, "skipped", "a branch or kink within 1e-6")
            problem = _compare(srcgrad, f_np, names, args, want, dtype, rng)
            if problem:
                why = f"{problem} ({dtype})"
                return Outcome(seed, "mismatch", why, program.case_file(why))
        return Outcome(seed, "ok")
    finally:
        linecache.cache.pop(fn_np, None)
        linecache.cache.pop(fn_jx, None)


def _compare(srcgrad, f_np, names, args, want, dtype, rng) -> str:
    """What is wrong with srcgrad's derivatives of ``f_np`` at ``args``, or ''."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            got = srcgrad.grad(f_np, wrt=tuple(names))(*args)
        except Exception as exc:
            return f"grad raised {type(exc).__name__}: {exc}"
        size = max(float(np.max(np.abs(w), initial=0.0)) for w in want) \
            if dtype == "float32" else 0.0
        for n, g, w in zip(names, got, want, strict=True):
            err = _close(g, w, dtype, size)
            if err > 1.0:
                return (f"grad wrt {n}: error {err:.3g} x tolerance, shape {np.shape(g)} "
                        f"(jax {np.shape(w)})")
        dirs = [float(rng.standard_normal()) if isinstance(a, float)
                else rng.standard_normal(np.shape(a)).astype(a.dtype) for a in args]
        try:
            _, tangent = srcgrad.jvp(f_np, tuple(args), tuple(dirs))
        except Exception as exc:
            return f"jvp raised {type(exc).__name__}: {exc}"
        expect = sum(float(np.sum(np.asarray(w, np.float64) * d)) for w, d in
                     zip(want, dirs, strict=True))
        err = _close(tangent, expect, dtype)
        if err > 1.0:
            return f"jvp: {float(tangent)!r}, jax.grad . v = {expect!r} ({err:.3g} x tolerance)"
    return ""


def _alarm(signum, frame):
    raise TimeoutError(f"no answer in {TIME_LIMIT_S} s")


def run_seeds(seeds: list[int]) -> list[Outcome]:
    """Worker: check each seed's program under a time limit."""
    signal.signal(signal.SIGALRM, _alarm)
    warnings.simplefilter("ignore")
    out = []
    for seed in seeds:
        try:
            program = generate(seed)
        except Exception as exc:
            out.append(Outcome(seed, "invalid", f"{type(exc).__name__}: {exc}"))
            continue
        signal.alarm(TIME_LIMIT_S)
        try:
            out.append(check(program))
        except Exception as exc:
            why = f"{type(exc).__name__}: {exc}"
            out.append(Outcome(seed, "mismatch", why, program.case_file(why)))
        finally:
            signal.alarm(0)
    return out


def _single_threaded_env():
    os.environ.setdefault("JAX_PLATFORMS", "cpu")
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    flags = os.environ.get("XLA_FLAGS", "")
    os.environ["XLA_FLAGS"] = (
        "--xla_backend_optimization_level=0 --xla_llvm_disable_expensive_passes=true "
        f"--xla_cpu_use_fusion_emitters=false --xla_cpu_multi_thread_eigen=false {flags}").strip()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-n", type=int, default=1000, help="programs to check")
    ap.add_argument("--start", type=int, default=0, help="first seed")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="processes")
    ap.add_argument("--save", type=Path, default=None,
                    help="write each mismatch as a regression case file in this folder")
    ap.add_argument("--chunk", type=int, default=25, help="seeds per task")
    opts = ap.parse_args(argv)
    _single_threaded_env()
    seeds = list(range(opts.start, opts.start + opts.n))
    chunks = [seeds[i:i + opts.chunk] for i in range(0, len(seeds), opts.chunk)]
    counts = {"ok": 0, "skipped": 0, "mismatch": 0, "invalid": 0}
    skips: dict[str, int] = {}
    mismatches = []
    t0 = time.perf_counter()
    with ProcessPoolExecutor(opts.jobs, mp_context=get_context("spawn")) as pool:
        futures = [pool.submit(run_seeds, c) for c in chunks]
        done = 0
        for fut in as_completed(futures):
            for o in fut.result():
                counts[o.status] += 1
                if o.status == "skipped":
                    why = o.detail.split(":")[0]
                    skips[why] = skips.get(why, 0) + 1
                if o.status == "invalid":
                    print(f"seed {o.seed}: the generator failed: {o.detail}", flush=True)
                if o.status == "mismatch":
                    mismatches.append(o)
                    print(f"seed {o.seed}: {o.detail}", flush=True)
                    if opts.save:
                        opts.save.mkdir(parents=True, exist_ok=True)
                        (opts.save / f"seed_{o.seed}.py").write_text(o.case)
            done += 1
            if done % max(1, len(chunks) // 20) == 0:
                n = sum(counts.values())
                print(f"  {n}/{opts.n} programs, {counts['mismatch']} mismatches, "
                      f"{time.perf_counter() - t0:.0f} s", file=sys.stderr, flush=True)
    total = sum(counts.values())
    print(f"{counts['ok']} agreed, {counts['skipped']} skipped "
          f"({', '.join(f'{k}: {v}' for k, v in sorted(skips.items())) or 'none'}), "
          f"{counts['invalid']} not generated, "
          f"in {time.perf_counter() - t0:.0f} s with {opts.jobs} processes")
    print(f"{total} programs, {counts['mismatch']} mismatches")
    return 1 if counts["mismatch"] or counts["invalid"] else 0


if __name__ == "__main__":
    sys.exit(main())
