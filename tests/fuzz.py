"""Differential fuzzing: srcgrad against jax.grad on random programs (tests/fuzzgen.py).

    python tests/fuzz.py -n 10000 [--start 0] [--jobs 2] [--save tests/fuzz_cases]

For each seed, the program of tests/fuzzgen.py is differentiated with respect to every
argument by srcgrad in reverse mode (``grad``) and in forward mode (``jvp`` along a random
direction), in float64, and for a quarter of the programs in float32 as well, at the same
point. Both are compared with ``jax.grad`` of the very same module run on ``jax.numpy``, in
float64 (for float32, to float32's tolerance); the forward-mode tangent with the jax
gradient's inner product with the direction.

jax's gradient is jax's own differentiation (its JVP and transpose rules) traced to a jaxpr
along the branches the NumPy program took, then evaluated by NumPy (tests/jaxpr_numpy.py):
eager ``jax.grad`` compiles each new primitive signature with XLA and costs ten times more.

A program is *skipped*, not compared, where the derivative is not defined at its point: jax's
gradient is not finite, or central differences of the NumPy program disagree with it (a branch
or a kink within 1e-6 of the point), or the float32 program takes another branch. Everything
else is a *mismatch*: a wrong value or shape, srcgrad raising (SrcGradError included: the
generator writes only code srcgrad supports), or a program that jax runs and srcgrad's
derivative does not. A gradient that disagrees is first judged by central differences of each
of its coordinates: where they disagree with jax too, or cannot tell a float32 disagreement
within ten tolerances from rounding, the program is skipped and the reason counted.
``--save`` writes each mismatch as a regression case file, which tests/test_fuzz.py runs. The
last line of the report reads ``N programs, M mismatches``; the exit status is 1 when M > 0.
"""

from __future__ import annotations

import argparse
import ast
import functools
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

import fuzzgen  # noqa: E402
import jaxpr_numpy  # noqa: E402
from fuzzgen import Program, generate  # noqa: E402

# rtol, atol (scaled). Measured on 1500 programs (seeds 200000 to 201499): the worst float64
# disagreement of an agreeing program was 6.2e-13 relative (6.2e-4 of this tolerance), the
# worst float32 one 0.82 of its tolerance.
TOLERANCE = {"float64": (1e-9, 1e-11), "float32": (2e-3, 2e-4)}
# How far past the tolerance a disagreement that central differences cannot settle is taken
# for rounding: never in float64 (no program needed it), ten tolerances in float32
ROUNDING = {"float64": 1.0, "float32": 10.0}
TIME_LIMIT_S = 60


@dataclass
class Outcome:
    seed: int
    status: str          # "ok", "skipped", "mismatch", "invalid" (the generator failed)
    detail: str = ""
    case: str = ""       # the regression case file of a mismatch
    eager: bool = False  # jax.grad ran eagerly: the program could not be traced


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


def check(program: Program, backend: str = "numpy") -> Outcome:
    """srcgrad's gradient and jvp of ``program`` against jax.grad (see the module docstring);
    with ``backend="jax"``, srcgrad's generated code runs on jax arrays."""
    import srcgrad

    seed = program.seed
    name = f"s{seed}"
    f_np, fn_np = load(program.text, name)
    try:
        names = list(program.values)
        rng = np.random.default_rng(seed)
        args = program.arguments()
        # float32 programs are differentiated at the float32 point; jax's float64 gradient
        # there is the reference for srcgrad's float64 and float32 derivatives alike
        args64 = [a if isinstance(a, float) else a.astype(np.float64) for a in args]
        recorded, replayed = _twins(program.text)
        taken = decisions(recorded, args64)
        if isinstance(taken, Exception):   # the generator wrote a program NumPy refuses
            return Outcome(seed, "skipped", f"numpy: {type(taken).__name__}: {taken}")
        try:
            want = jax_grad(replayed, program, args64, taken)
        except Exception as exc:   # the program is outside what jax runs: not ours
            return Outcome(seed, "skipped", f"jax: {type(exc).__name__}: {exc}")
        if not all(np.all(np.isfinite(g)) and np.max(np.abs(g), initial=0) < 1e6 for g in want):
            return Outcome(seed, "skipped", "jax's gradient is not finite")
        if not _stable(f_np, args64, want, rng):
            return Outcome(seed, "skipped", "a branch or kink within 1e-6")
        runs = [("float64", args64)]
        if program.dtype == "float32":
            if decisions(recorded, args) != taken:
                return Outcome(seed, "skipped", "float32 takes another branch")
            runs.append(("float32", args))
        for dtype, point in runs:
            problem = _compare(srcgrad, f_np, names, point, want, dtype, rng, backend)
            if problem:
                unresolved = _unconfirmed(f_np, args64, want, problem, dtype)
                if unresolved:
                    return Outcome(seed, "skipped", unresolved)
                why = f"{problem.text} ({dtype})"
                return Outcome(seed, "mismatch", why, program.case_file(why))
        return Outcome(seed, "ok")
    finally:
        linecache.cache.pop(fn_np, None)


@functools.lru_cache(maxsize=4)
def _twins(text: str):
    """The NumPy module ``text`` compiled twice with its branch tests recording decisions
    (``_decide``): as it is, and as the jax module that replays them."""
    recorded = compile(jaxpr_numpy.record_tests(ast.parse(text)), "<fuzz decisions>", "exec")
    jax_tree = fuzzgen.jax_tree(jaxpr_numpy.record_tests(ast.parse(text)))  # parsed again:
    return recorded, compile(jax_tree, "<fuzz jax>", "exec")            # cheaper than a copy


def decisions(code, args) -> list[bool] | Exception:
    """The branch decisions of the recording NumPy module ``code`` at ``args``, in the order
    taken (or the exception it raised)."""
    taken = jaxpr_numpy.Decisions()
    namespace = {"__name__": "fuzz_decisions", "_decide": taken.record}
    exec(code, namespace)  # noqa: S102 - the generator's own program
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            namespace["f"](*args)
    except Exception as exc:
        return exc
    return taken.taken


def jax_grad(code, program: Program, args, taken: list[bool]) -> list[np.ndarray]:
    """jax.grad of the replaying jax module ``code``'s ``f`` with respect to every argument,
    at ``args``: traced along the branches NumPy took and evaluated by NumPy
    (tests/jaxpr_numpy.py); eagerly by jax where the trace fails (a program whose values
    decide something other than a branch)."""
    jax = _jax()
    argnums = tuple(range(len(args)))
    namespace = {"__name__": "fuzz_jax", "_decide": jaxpr_numpy.replayer(taken)}
    exec(code, namespace)  # noqa: S102 - the generator's own program
    try:
        return jaxpr_numpy.grad(namespace["f"], [np.float64(a) if isinstance(a, float) else a
                                                  for a in args], argnums)
    except jax.errors.ConcretizationTypeError:
        EAGER[0] += 1
        f_jx, fn_jx = load(program.jax_text, f"s{program.seed}", "jax")
        try:
            jargs = [a if isinstance(a, float) else jax.numpy.asarray(a) for a in args]
            return [np.asarray(g) for g in jax.grad(f_jx, argnums=argnums)(*jargs)]
        finally:
            linecache.cache.pop(fn_jx, None)


EAGER = [0]   # programs jax.grad ran eagerly (the trace failed), in this process


@dataclass
class Problem:
    """What is wrong with srcgrad's derivatives: ``text``; for a gradient, the argument's
    index, srcgrad's gradient and its error in units of the dtype's tolerance."""

    text: str
    index: int | None = None
    got: np.ndarray | None = None
    error: float = np.inf


def central_differences(f, args, i: int, eps: float = 1e-6) -> np.ndarray:
    """The gradient of ``f`` (float64) with respect to argument ``i`` at ``args``, by central
    differences of each coordinate."""
    fd = np.zeros(np.shape(args[i]))
    for j in np.ndindex(fd.shape):
        def at(t, j=j):
            moved = [np.array(a, dtype=np.float64) for a in args]
            moved[i][j] += t
            return float(f(*[float(m) if isinstance(a, float) else m
                             for m, a in zip(moved, args, strict=True)]))
        fd[j] = (at(eps) - at(-eps)) / (2 * eps)
    return fd


def check_by_differences(program: Program) -> Outcome:
    """srcgrad's gradient and jvp of ``program`` (float64) against central differences of
    every coordinate, where jax's gradient is not finite but the derivative is (a standard
    deviation of values broadcast from one: jax's 0/0, srcgrad's 0). "ok" only where central
    differences at two step sizes agree (no kink near the point) and so does srcgrad."""
    import srcgrad

    f, filename = load(program.text, f"d{program.seed}")
    try:
        args = [a if isinstance(a, float) else a.astype(np.float64)
                for a in program.arguments()]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            want = [central_differences(f, args, i) for i in range(len(args))]
            coarse = [central_differences(f, args, i, 1e-4) for i in range(len(args))]
            got = srcgrad.grad(f, wrt=tuple(program.values))(*args)
            dirs = [np.random.default_rng(program.seed).standard_normal(np.shape(a))
                    for a in args]
            _, tangent = srcgrad.jvp(f, tuple(args), tuple(
                float(d) if isinstance(a, float) else d for a, d in zip(args, dirs, strict=True)))
        # central differences of these programs agree with srcgrad to 1.3e-9 (1 + max |g|)
        # and better (measured on 42): 100 times that
        scale = 1e-7 * (1.0 + max(float(np.max(np.abs(w), initial=0.0)) for w in want))
        for n, w, c, g in zip(program.values, want, coarse, got, strict=True):
            if not np.max(np.abs(w - c), initial=0.0) <= 100 * scale:   # nan: not either
                return Outcome(program.seed, "skipped", "central differences are not stable")
            if np.shape(g) != np.shape(w) or not np.max(np.abs(g - w), initial=0.0) <= scale:
                return Outcome(program.seed, "mismatch",
                               f"grad wrt {n}: {np.asarray(g)!r}, central differences {w!r}")
        expect = sum(float(np.sum(w * d)) for w, d in zip(want, dirs, strict=True))
        if not abs(float(tangent) - expect) <= scale * (1.0 + sum(np.abs(d).sum() for d in dirs)):
            return Outcome(program.seed, "mismatch",
                           f"jvp: {float(tangent)!r}, central differences {expect!r}")
        return Outcome(program.seed, "ok")
    finally:
        linecache.cache.pop(filename, None)


def _unconfirmed(f, args, want, problem: Problem, dtype: str = "float64") -> str:
    """Why a disagreement of srcgrad's gradient with jax's is not srcgrad's fault, or ''.

    Central differences of every coordinate of the argument are the arbiter: where they
    disagree with jax's gradient, the derivative is not defined there (a standard deviation
    of equal values, a kink); where srcgrad's float32 gradient is within ROUNDING
    tolerances of jax's and central differences cannot tell which is nearer, the
    disagreement is rounding (in float64, any disagreement counts)."""
    if problem.index is None or problem.got is None:
        return ""
    i = problem.index
    fd = central_differences(f, args, i)
    w, g = np.asarray(want[i], np.float64), np.asarray(problem.got, np.float64)
    scale = 1e-5 * (1.0 + np.max(np.abs(w), initial=0.0))
    if np.max(np.abs(fd - w), initial=0.0) > scale:
        return "jax's gradient disagrees with central differences"
    if problem.error <= ROUNDING[dtype] and np.max(np.abs(fd - g), initial=0.0) <= scale:
        return f"rounding: central differences agree with both ({problem.error:.3g} x tolerance)"
    return ""


def _compare(srcgrad, f_np, names, args, want, dtype, rng, backend="numpy") -> Problem | None:
    """What is wrong with srcgrad's derivatives of ``f_np`` at ``args``, or None."""
    on = _on_jax if backend == "jax" else list
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            got = srcgrad.grad(f_np, wrt=tuple(names), backend=backend)(*on(args))
            got = [np.asarray(g) for g in got]
        except Exception as exc:
            return Problem(f"grad raised {type(exc).__name__}: {exc}")
        size = max(float(np.max(np.abs(w), initial=0.0)) for w in want) \
            if dtype == "float32" else 0.0
        for i, (n, g, w) in enumerate(zip(names, got, want, strict=True)):
            err = _close(g, w, dtype, size)
            if err > 1.0:
                return Problem(f"grad wrt {n}: error {err:.3g} x tolerance, shape "
                               f"{np.shape(g)} (jax {np.shape(w)})",
                               i, g if np.shape(g) == np.shape(w) else None, err)
        dirs = [float(rng.standard_normal()) if isinstance(a, float)
                else rng.standard_normal(np.shape(a)).astype(a.dtype) for a in args]
        try:
            _, tangent = srcgrad.jvp(f_np, tuple(on(args)), tuple(on(dirs)), backend=backend)
            tangent = np.asarray(tangent)
        except Exception as exc:
            return Problem(f"jvp raised {type(exc).__name__}: {exc}")
        expect = sum(float(np.sum(np.asarray(w, np.float64) * d)) for w, d in
                     zip(want, dirs, strict=True))
        err = _close(tangent, expect, dtype)
        if err > 1.0:
            return Problem(f"jvp: {float(tangent)!r}, jax.grad . v = {expect!r} "
                           f"({err:.3g} x tolerance)")
    return None


def _on_jax(values) -> list:
    """``values`` as jax arrays (Python floats stay floats)."""
    jnp = _jax().numpy
    return [v if isinstance(v, float) else jnp.asarray(v) for v in values]


def _alarm(signum, frame):
    raise TimeoutError(f"no answer in {TIME_LIMIT_S} s")


def run_seeds(seeds: list[int], backend: str = "numpy") -> list[Outcome]:
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
        before = EAGER[0]
        try:
            out.append(check(program, backend))
            out[-1].eager = EAGER[0] > before
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
    ap.add_argument("--backend", choices=("numpy", "jax"), default="numpy",
                    help="where srcgrad's generated code runs (jax: eagerly, ~1 s a program)")
    opts = ap.parse_args(argv)
    _single_threaded_env()
    seeds = list(range(opts.start, opts.start + opts.n))
    chunks = [seeds[i:i + opts.chunk] for i in range(0, len(seeds), opts.chunk)]
    counts = {"ok": 0, "skipped": 0, "mismatch": 0, "invalid": 0}
    eager = 0
    skips: dict[str, int] = {}
    mismatches = []
    t0 = time.perf_counter()
    with ProcessPoolExecutor(opts.jobs, mp_context=get_context("spawn")) as pool:
        futures = [pool.submit(run_seeds, c, opts.backend) for c in chunks]
        done = 0
        for fut in as_completed(futures):
            for o in fut.result():
                counts[o.status] += 1
                eager += o.eager
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
          f"{counts['invalid']} not generated, {eager} differentiated by eager jax.grad, "
          f"in {time.perf_counter() - t0:.0f} s with {opts.jobs} processes")
    print(f"{total} programs, {counts['mismatch']} mismatches")
    return 1 if counts["mismatch"] or counts["invalid"] else 0


if __name__ == "__main__":
    sys.exit(main())
