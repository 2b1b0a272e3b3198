"""srcgrad control-flow benchmarks: gradients of loops, branches and inlined subroutines.

Run with ``.venv/bin/python bench/control_flow.py`` (``--quick`` for a smoke run, ``--show`` to
print the generated RNN gradient, ``--strict`` to exit 1 when a target is missed).

1. A 100-step tanh RNN (batch 8, input 16, hidden 32, float64), gradient wrt (Wx, Wh, b):
   srcgrad against a hand-written BPTT in NumPy (forward storing the states, then a reversed
   loop). Target: srcgrad <= 1.3x hand.
2. A building thermal simulation in the style of PassiveLogic's BuildingSimulation benchmark:
   a concrete slab, a water tank and the fluid loop between them, 20 explicit time steps, each
   made of small subroutines (conduction, pump, heat exchanger, thermostat, temperature update)
   that srcgrad inlines; Python-float state; loss = (final slab temperature - target) ** 2,
   differentiated wrt 5 parameters. Target: gradient time <= 3x forward time. Peers where
   importable: PyTorch eager, ``jax.grad`` without jit, HIPS autograd, tangent.

Every gradient is checked before it is timed (against the hand-written BPTT; against central
finite differences and, where importable, jax). Times use ``run.measure``: the best (and the
median) of many short interleaved batches after warm-up; ratios use the best.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
import types
from collections.abc import Callable

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
# The per-step matmuls are tiny (8x16 @ 16x32): one BLAS thread is what they use anyway, and the
# large matmuls of the batched BPTT row are not slowed down many times over by a busy core.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import run  # noqa: E402  (sets JAX_PLATFORMS=cpu before anything imports jax)

import srcgrad  # noqa: E402

TARGET_RNN = 1.3  # srcgrad gradient time / hand-written BPTT time
TARGET_THERMAL = 3.0  # srcgrad gradient time / forward time

# ------------------------------------------------------------------------------------------------
# 1. RNN: 100 steps, batch 8, input 16, hidden 32
# ------------------------------------------------------------------------------------------------


def rnn_loss(Wx, Wh, b, xs, h0):
    h = h0
    for t in range(xs.shape[0]):
        h = np.tanh(xs[t] @ Wx + h @ Wh + b)
    return np.sum(h * h)


def rnn_hand(Wx, Wh, b, xs, h0):
    """Hand-written BPTT: forward storing the states, then a reversed loop."""
    hs = [h0]
    h = h0
    for t in range(xs.shape[0]):
        h = np.tanh(xs[t] @ Wx + h @ Wh + b)
        hs.append(h)
    d_h = 2.0 * h
    d_Wx = np.zeros_like(Wx)
    d_Wh = np.zeros_like(Wh)
    d_b = np.zeros_like(b)
    for t in range(xs.shape[0] - 1, -1, -1):
        h = hs[t + 1]
        d_z = d_h * (1.0 - h * h)
        d_Wx += xs[t].T @ d_z
        d_Wh += hs[t].T @ d_z
        d_b += d_z.sum(axis=0)
        d_h = d_z @ Wh.T
    return d_Wx, d_Wh, d_b


def rnn_hand_batched(Wx, Wh, b, xs, h0):
    """BPTT with the weight gradients taken after the loop, as two large matmuls (info only:
    a better algorithm than the loop srcgrad mirrors)."""
    n, batch, _ = xs.shape
    hs = np.empty((n + 1,) + h0.shape)
    hs[0] = h = h0
    for t in range(n):
        hs[t + 1] = h = np.tanh(xs[t] @ Wx + h @ Wh + b)
    d_zs = np.empty_like(hs[1:])
    d_h = 2.0 * h
    for t in range(n - 1, -1, -1):
        h = hs[t + 1]
        d_zs[t] = d_z = d_h * (1.0 - h * h)
        d_h = d_z @ Wh.T
    d_zs = d_zs.reshape(n * batch, -1)
    return (xs.reshape(n * batch, -1).T @ d_zs, hs[:-1].reshape(n * batch, -1).T @ d_zs,
            d_zs.sum(axis=0))


RNN_WRT = ("Wx", "Wh", "b")


def rnn_args(seed: int = 0, steps: int = 100, batch: int = 8, n_in: int = 16, hidden: int = 32):
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((n_in, hidden)) / np.sqrt(n_in),
            rng.standard_normal((hidden, hidden)) / np.sqrt(hidden),
            0.1 * rng.standard_normal(hidden),
            rng.standard_normal((steps, batch, n_in)),
            0.5 * rng.standard_normal((batch, hidden)))


# ------------------------------------------------------------------------------------------------
# 2. Building thermal simulation: slab, tank, fluid loop; 20 steps of small subroutines
# ------------------------------------------------------------------------------------------------

CP_WATER = 4186.0  # J/(kg K)
DT = 60.0  # s per step
SLAB_HEAT_CAPACITY = 2400.0 * 880.0  # 1 m^3 of concrete (10 m^2 x 10 cm), J/K
LOOP_HEAT_CAPACITY = 20.0 * CP_WATER  # 20 l of water in the tubes, J/K
TANK_HEAT_CAPACITY = 200.0 * CP_WATER  # 200 l tank, J/K


def conduct(t_from, t_to, k):
    """Heat flow (W) through a conductance ``k`` (W/K)."""
    return k * (t_from - t_to)


def pump(rate, t_fluid):
    """Mass flow (kg/s): warmer, thinner water moves a little faster."""
    return rate * (1.0 + 0.002 * (t_fluid - 20.0))


def exchange(t_in, t_body, ua, m_dot):
    """Heat (W) a fluid stream entering at ``t_in`` gives a body at ``t_body`` (e-NTU)."""
    c = m_dot * CP_WATER
    eff = 1.0 - np.exp(-ua / c)
    return eff * c * (t_in - t_body)


def heater(t_tank, setpoint, p_max):
    """Thermostat: full power below the setpoint, a tenth of it above."""
    if t_tank < setpoint:
        p = p_max
    else:
        p = 0.1 * p_max
    return p


def warm(t, q, heat_capacity):
    """Explicit Euler step of a lumped temperature under a net heat flow ``q``."""
    return t + DT * q / heat_capacity


def building_loss(k_slab, ua_tube, pump_rate, t_tank0, t_slab0):
    t_slab = t_slab0
    t_loop = t_slab0
    t_tank = t_tank0
    for _step in range(20):
        m_dot = pump(pump_rate, t_loop)
        q_mix = m_dot * CP_WATER * (t_tank - t_loop)  # tank water in, loop water back
        q_slab = exchange(t_loop, t_slab, ua_tube, m_dot)
        q_lost = conduct(t_slab, 5.0, k_slab)  # to the ground and outside
        q_heat = heater(t_tank, 58.0, 3000.0)
        t_loop = warm(t_loop, q_mix - q_slab, LOOP_HEAT_CAPACITY)
        t_slab = warm(t_slab, q_slab - q_lost, SLAB_HEAT_CAPACITY)
        t_tank = warm(t_tank, q_heat - q_mix - conduct(t_tank, 20.0, 2.0), TANK_HEAT_CAPACITY)
    d = t_slab - 21.0
    return d * d


THERMAL_WRT = ("k_slab", "ua_tube", "pump_rate", "t_tank0", "t_slab0")
THERMAL_ARGS = (30.0, 400.0, 0.05, 60.0, 16.0)  # W/K, W/K, kg/s, deg C, deg C
THERMAL_FUNCS = (conduct, pump, exchange, heater, warm, building_loss)


def thermal_fd(args, eps_rel: float = 1e-6) -> list[float]:
    """Central finite differences of ``building_loss`` in each argument."""
    out = []
    for i, a in enumerate(args):
        eps = eps_rel * max(1.0, abs(a))
        plus = list(args)
        minus = list(args)
        plus[i] = a + eps
        minus[i] = a - eps
        out.append((building_loss(*plus) - building_loss(*minus)) / (2 * eps))
    return out


def thermostat_switches(args) -> int:
    """How many steps of the simulation run with the heater at full power."""
    hits = []
    rebound = rebind(THERMAL_FUNCS, heater=lambda t, s, p: hits.append(t < s) or heater(t, s, p))
    rebound["building_loss"](*args)
    return sum(hits)


# ------------------------------------------------------------------------------------------------
# Peers: the same source run against another array namespace
# ------------------------------------------------------------------------------------------------


def rebind(funcs, **names) -> dict:
    """Copies of ``funcs`` that see ``names`` (``np=jax.numpy``) in place of this module's
    globals, and call each other's copies."""
    env = dict(globals())
    for fn in funcs:
        env[fn.__name__] = types.FunctionType(fn.__code__, env, fn.__name__, fn.__defaults__,
                                              fn.__closure__)
    env.update(names)
    return env


def peer_cases(funcs, entry: str, args, wrt: tuple[int, ...], want, rtol: float, label: str):
    """``{name: (grad_fn, args)}`` for each importable peer, each checked against ``want``;
    ``{name: why}`` for the others."""
    cases: dict[str, tuple[Callable, tuple]] = {}
    absent: dict[str, str] = {}

    def attempt(name, build):
        try:
            fn, fargs, unpack = build()
            check_close(f"{label}: {name}", unpack(fn(*fargs)), want, rtol=rtol)
            cases[name] = (fn, fargs)
        except ImportError:
            absent[name] = "not installed"
        except Exception as exc:  # a peer is an extra row only
            absent[name] = f"error: {type(exc).__name__}: {str(exc)[:120]}"

    def torch_case():
        import torch

        torch.set_num_threads(1)  # like NumPy here (OPENBLAS_NUM_THREADS=1): one core each
        f = rebind(funcs, np=_TorchNumpy(torch))[entry]
        targs = tuple(torch.tensor(a, dtype=torch.float64) for a in args)
        for i in wrt:
            targs[i].requires_grad_(True)

        def torch_grad(*a):
            return torch.autograd.grad(f(*a), [a[i] for i in wrt])

        return torch_grad, targs, lambda r: [t.detach().numpy() for t in r]

    def jax_case():
        jax_mod = run._import_jax()
        if isinstance(jax_mod, str):
            raise ImportError(jax_mod)
        jax, jnp = jax_mod
        g = jax.grad(rebind(funcs, np=jnp)[entry], argnums=wrt)
        jargs = tuple(jnp.asarray(a) if isinstance(a, np.ndarray) else a for a in args)
        return (lambda *a: jax.block_until_ready(g(*a))), jargs, lambda r: [np.asarray(x)
                                                                           for x in r]

    def autograd_case():
        import autograd
        import autograd.numpy as anp

        g = autograd.grad(_positional(rebind(funcs, np=anp)[entry], wrt, args), 0)
        return (lambda *a: g(a)), tuple(args[i] for i in wrt), list

    def tangent_case():
        import tangent

        g = tangent.grad(globals()[entry], wrt=wrt)
        return g, args, list

    attempt("torch eager (autograd.grad)", torch_case)
    attempt("jax.grad (no jit)", jax_case)
    attempt("HIPS autograd", autograd_case)
    attempt("tangent", tangent_case)
    return cases, absent


def _positional(f, wrt, args):
    """``f`` as a function of the tuple of its ``wrt`` arguments (autograd takes one)."""
    def packed(params):
        full = list(args)
        for i, p in zip(wrt, params, strict=True):
            full[i] = p
        return f(*full)
    return packed


class _TorchNumpy:
    """The few ``np.*`` functions the models call, for torch tensors."""

    def __init__(self, torch):
        self.tanh, self.exp, self.sum = torch.tanh, torch.exp, torch.sum


# ------------------------------------------------------------------------------------------------
# Measurement and report
# ------------------------------------------------------------------------------------------------

check_close = run.check_close
fmt_time = run.fmt_time
SUMMARY: list[tuple[str, str, str, str]] = []


def code_stats(source: str) -> str:
    """Lines, statements, runtime-helper calls and tape pushes (one per loop iteration each)."""
    return (f"{len(source.splitlines())} lines, {run.helper_calls(source)}; "
            f"{source.count('.append(')} values saved per loop iteration")


def table(title: str, timings: dict, base: str, header: str, notes: dict[str, str]) -> None:
    print()
    print(title)
    print(f"  {'implementation':32s} {'best':>11s} {'median':>11s} {header:>9s}")
    ref = timings[base].best
    for name, t in timings.items():
        print(f"  {name:32s} {fmt_time(t.best)} {fmt_time(t.median)} "
              f"{t.best / ref:8.2f}x  {notes.get(name, '')}".rstrip())


def target_notes(label: str, t: dict, base: str, target: float) -> dict[str, str]:
    notes = {}
    for name, short in (("srcgrad GradFunction call", "GradFunction"), ("srcgrad .fn", ".fn")):
        r = t[name].best / t[base].best
        st = run.status(r <= target)
        notes[name] = f"target <= {target:.1f}x  {st}"
        SUMMARY.append((f"{label}, {short}", f"{r:.2f}x", f"<= {target}x", st))
    return notes


def measure_peers(cases: dict[str, tuple[Callable, tuple]], quick: bool) -> dict:
    """``run.measure`` for fast peers; for slow ones (eager JAX: hundreds of ms a call) the
    best and median of a few single calls after one warm-up call."""
    fast = {}
    out = {}
    for name, (fn, args) in cases.items():
        fn(*args)  # warm-up
        t0 = time.perf_counter()
        fn(*args)
        one = time.perf_counter() - t0
        if one < 0.02:
            fast[name] = (fn, args)
            continue
        samples = []
        for _ in range(2 if quick or one > 0.2 else 5):
            t0 = time.perf_counter()
            fn(*args)
            samples.append(time.perf_counter() - t0)
        out[name] = run.Timing([one] + samples)
    if fast:
        out.update(run.measure(fast, rounds=5 if quick else 30, batch_s=0.01,
                               max_s=2 if quick else 8))
    return out


def bench_rnn(quick: bool):
    args = rnn_args()
    want = rnn_hand(*args)
    check_close("rnn: batched hand BPTT", rnn_hand_batched(*args), want, rtol=1e-9, atol=1e-12)
    g = srcgrad.grad(rnn_loss, wrt=RNN_WRT)
    check_close("rnn: srcgrad GradFunction", g(*args), want, rtol=1e-9, atol=1e-12)
    check_close("rnn: srcgrad .fn", g.fn(*args), want, rtol=1e-9, atol=1e-12)
    t = run.measure({"hand-written BPTT": (rnn_hand, args),
                     "srcgrad GradFunction call": (g, args),
                     "srcgrad .fn": (g.fn, args),
                     "hand BPTT, batched dW (info)": (rnn_hand_batched, args),
                     "forward only (rnn_loss)": (rnn_loss, args)},
                    rounds=15 if quick else 60, batch_s=0.01, max_s=4 if quick else 20)
    return g, args, want, t


def bench_thermal(quick: bool):
    args = THERMAL_ARGS
    g = srcgrad.grad(building_loss, wrt=THERMAL_WRT)
    got = g(*args)
    check_close("thermal: srcgrad vs finite differences", got, thermal_fd(args), rtol=1e-5,
                atol=1e-8)
    check_close("thermal: srcgrad .fn", g.fn(*args), got, rtol=1e-12)
    t = run.measure({"forward (building_loss)": (building_loss, args),
                     "srcgrad GradFunction call": (g, args),
                     "srcgrad .fn": (g.fn, args)},
                    rounds=30 if quick else 200, batch_s=0.002, max_s=3 if quick else 12)
    return g, args, [float(x) for x in got], t


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats (a smoke run)")
    parser.add_argument("--show", action="store_true", help="print the generated RNN gradient")
    parser.add_argument("--strict", action="store_true", help="exit 1 if a target is missed")
    opts = parser.parse_args()
    start = time.perf_counter()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0

    run.progress("[1/3] RNN: srcgrad vs hand-written BPTT ...")
    g_rnn, rnn_a, rnn_want, t_rnn = bench_rnn(opts.quick)
    run.progress("[2/3] building thermal simulation: srcgrad vs forward ...")
    g_th, th_a, th_want, t_th = bench_thermal(opts.quick)
    # peers last: once XLA's CPU thread pool has run, its threads compete with OpenBLAS's
    run.progress("[3/3] peers (torch, jax, autograd, tangent) ...")
    th_peers, th_absent = peer_cases(THERMAL_FUNCS, "building_loss", th_a, (0, 1, 2, 3, 4),
                                     th_want, 1e-9, "thermal")
    rnn_peers, rnn_absent = peer_cases((rnn_loss,), "rnn_loss", rnn_a, (0, 1, 2), rnn_want,
                                       1e-9, "rnn")
    t_th_peers = measure_peers(th_peers, opts.quick)
    t_rnn_peers = measure_peers(rnn_peers, opts.quick)

    versions = "".join(f", {m} {sys.modules[m].__version__}" for m in ("jax", "torch", "autograd")
                       if m in sys.modules and hasattr(sys.modules[m], "__version__"))
    print(f"srcgrad control-flow benchmarks -- Python {platform.python_version()}, "
          f"numpy {np.__version__}{versions}, {os.cpu_count()} CPUs ({run._cpu_name()}), "
          f"{time.strftime('%Y-%m-%d')}, OPENBLAS_NUM_THREADS={os.environ['OPENBLAS_NUM_THREADS']}")
    print("times per call; best = minimum over many short interleaved batches (ratios use it)")
    if load > 0.5:
        print(f"WARNING: load average {load:.2f} at start: other processes were using the CPU, "
              "times are noisy")

    notes = target_notes("RNN gradient / hand BPTT", t_rnn, "hand-written BPTT", TARGET_RNN)
    table("[1] RNN, 100 steps, batch 8, input 16, hidden 32, float64: gradient wrt (Wx, Wh, b)",
          {**t_rnn, **t_rnn_peers}, "hand-written BPTT", "vs hand", notes)
    for name, why in rnn_absent.items():
        print(f"  {name:32s} {why}")
    print(f"  generated code: {code_stats(g_rnn.source)}")
    for name, t in t_rnn_peers.items():
        SUMMARY.append((f"RNN, {name} / hand",
                        f"{t.best / t_rnn['hand-written BPTT'].best:.2f}x", "(info)", ""))
    if opts.show:
        lines = g_rnn.source.splitlines()
        print("\n  generated gradient of rnn_loss (srcgrad.grad(rnn_loss, wrt=('Wx', 'Wh', 'b'))"
              ".source):")
        for i, line in enumerate(lines[:60], 1):
            print(f"  {i:3d} | {line}")
        if len(lines) > 60:
            print(f"      ... {len(lines) - 60} more lines")

    base = "forward (building_loss)"
    notes = target_notes("thermal gradient / forward", t_th, base, TARGET_THERMAL)
    table(f"[2] building thermal simulation, 20 steps, Python floats: gradient wrt "
          f"{len(THERMAL_WRT)} parameters ({', '.join(THERMAL_WRT)})",
          {**t_th, **t_th_peers}, base, "vs fwd", notes)
    for name, why in th_absent.items():
        print(f"  {name:32s} {why}")
    print(f"  loss {building_loss(*th_a):.6g} at {dict(zip(THERMAL_WRT, th_a, strict=True))}; "
          f"heater at full power in {thermostat_switches(th_a)} of 20 steps")
    print(f"  gradient {', '.join(f'{w:.6g}' for w in th_want)}")
    print(f"  generated code: {code_stats(g_th.source)}")
    for name, t in t_th_peers.items():
        r = t.best / t_th[base].best
        r_src = t.best / t_th["srcgrad .fn"].best
        SUMMARY.append((f"thermal, {name} / forward", f"{r:.1f}x", "(info)",
                        f"({r_src:.1f}x srcgrad .fn)"))

    print()
    print("summary")
    print(f"  {'measure':46s} {'measured':>10s} {'target':>10s}  status")
    for what, measured, target, st in SUMMARY:
        print(f"  {what:46s} {measured:>10s} {target:>10s}  {st}".rstrip())
    print(f"\n(benchmark wall time {time.perf_counter() - start:.0f} s)")
    missed = any(st == "MISS" for *_, st in SUMMARY)
    return 1 if opts.strict and missed else 0


if __name__ == "__main__":
    sys.exit(main())
