"""``check_grad``: srcgrad's derivatives of a function against central finite differences, as
HIPS autograd's ``check_grads`` and PyTorch's ``gradcheck`` do for theirs.

Along random directions ``v`` of each differentiated argument, and for a random cotangent ``c``
of the output, three numbers must agree: ``<vjp(c), v>`` (reverse mode), ``<c, jvp(v)>``
(forward mode) and ``<c, (f(x + eps v) - f(x - eps v)) / (2 eps)>``.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from srcgrad.derivatives import JvpFunction, vjp
from srcgrad.errors import SrcGradError
from srcgrad.runtime.structures import zero_grad


class GradCheckError(AssertionError):
    """A derivative that disagrees with finite differences; ``report`` has the figures."""

    def __init__(self, report: GradCheck):
        self.report = report
        super().__init__(str(report))


@dataclass
class GradCheck:
    """What :func:`check_grad` found: per differentiated argument, the worst relative error of
    reverse mode and of forward mode against finite differences over the directions tried."""

    function: str
    rows: list[tuple[str, float, float]] = field(default_factory=list)  # (arg, rev, fwd)
    rtol: float = 0.0
    ok: bool = True

    def __str__(self) -> str:
        lines = [f"check_grad({self.function}): {'OK' if self.ok else 'MISMATCH'} "
                 f"(worst relative error against finite differences, rtol {self.rtol:g})"]
        for name, rev, fwd in self.rows:
            flag = "" if max(rev, fwd) <= self.rtol else "   <- wrong"
            lines.append(f"  {name:<12} reverse {rev:.2e}   forward {fwd:.2e}{flag}")
        return "\n".join(lines)


def check_grad(fn: Callable, *args: Any, wrt: int | str | Sequence[int | str] | None = None,
               eps: float | None = None, rtol: float | None = None, directions: int = 3,
               seed: int = 0, modes: Sequence[str] = ("rev", "fwd"),
               raise_error: bool = True) -> GradCheck:
    """Check srcgrad's reverse- and forward-mode derivatives of ``fn`` at ``args`` against
    central finite differences, along ``directions`` random directions of each argument in
    ``wrt`` (default: every float or float-array argument). ``eps`` defaults to 1e-6 for
    float64 (1e-3 for float32), ``rtol`` to 1e-5 (1e-2). Raises :class:`GradCheckError` with
    the report on a mismatch, or returns it (``.ok``) with ``raise_error=False``."""
    params = list(inspect.signature(fn).parameters)
    positions = _positions(fn, params, args, wrt)
    rng = np.random.default_rng(seed)
    low = any(getattr(a, "dtype", None) == np.float32 for i in positions
              for a in _leaves(args[i]))
    eps = eps if eps is not None else (1e-3 if low else 1e-6)
    rtol = rtol if rtol is not None else (1e-2 if low else 1e-5)
    out, pullback = vjp(fn, *args)
    forward = JvpFunction(fn, tuple(range(len(args))))  # the arguments given, not defaults
    if isinstance(out, tuple):
        raise SrcGradError(f"check_grad checks a function with one output; {fn.__name__} "
                           f"returns {len(out)}", hint="check a function of each output")
    report = GradCheck(getattr(fn, "__name__", "f"), rtol=rtol)
    for i in positions:
        worst = {"rev": 0.0, "fwd": 0.0}
        for _ in range(directions):
            c = _random_like(rng, out)
            v = _random_like(rng, args[i])
            plus, minus = list(args), list(args)
            plus[i] = _step(args[i], v, eps)
            minus[i] = _step(args[i], v, -eps)
            fd = _dot(c, (np.asarray(fn(*plus), dtype=np.float64)
                          - np.asarray(fn(*minus), dtype=np.float64)) / (2 * eps))
            found = {}
            if "rev" in modes:
                found["rev"] = _dot(pullback(c)[i], v)
            if "fwd" in modes:
                tangents = [v if k == i else _zeros_like(args[k]) for k in range(len(args))]
                found["fwd"] = _dot(c, forward(args, tangents)[1])
            scale = max(abs(fd), 1.0)
            for mode, value in found.items():
                worst[mode] = max(worst[mode], abs(value - fd) / scale)
        report.rows.append((params[i] if i < len(params) else f"arg{i}",
                            worst["rev"], worst["fwd"]))
    report.ok = all(max(rev, fwd) <= rtol for _, rev, fwd in report.rows)
    if not report.ok and raise_error:
        raise GradCheckError(report)
    return report


def _positions(fn: Callable, params: list[str], args: tuple,
               wrt: int | str | Sequence[int | str] | None) -> list[int]:
    if wrt is None:
        found = [i for i, a in enumerate(args) if _is_float(a)]
        if not found:
            raise SrcGradError(f"check_grad: no float argument of {fn.__name__} to check",
                               hint="pass wrt= to choose the arguments")
        return found
    chosen = [wrt] if isinstance(wrt, (int, str)) else list(wrt)
    out = []
    for w in chosen:
        i = params.index(w) if isinstance(w, str) and w in params else w
        if not isinstance(i, int) or not 0 <= i < len(args) or not _is_float(args[i]):
            raise SrcGradError(f"check_grad: {w!r} is not a float argument of {fn.__name__}")
        out.append(i)
    return out


def _is_float(a: Any) -> bool:
    """A float, a float array, or a tuple, list or dict of them (the leaves differentiated)."""
    if isinstance(a, dict):
        return bool(a) and all(_is_float(v) for v in a.values())
    if isinstance(a, (tuple, list)):
        return bool(a) and all(_is_float(v) for v in a)
    return isinstance(a, float) or (isinstance(a, np.ndarray) and a.dtype.kind == "f")


def _leaves(x: Any) -> list:
    if isinstance(x, dict):
        return [leaf for v in x.values() for leaf in _leaves(v)]
    if isinstance(x, (tuple, list)):
        return [leaf for v in x for leaf in _leaves(v)]
    return [x]


def _random_like(rng: np.random.Generator, x: Any) -> Any:
    if isinstance(x, dict):
        return {k: _random_like(rng, v) for k, v in x.items()}
    if isinstance(x, (tuple, list)):
        return type(x)(_random_like(rng, v) for v in x)
    if np.ndim(x) == 0:
        return float(rng.standard_normal())
    return rng.standard_normal(np.shape(x)).astype(np.asarray(x).dtype)


def _zeros_like(x: Any) -> Any:
    return zero_grad(x)


def _step(x: Any, v: Any, eps: float) -> Any:
    if isinstance(x, dict):
        return {k: _step(x[k], v[k], eps) for k in x}
    if isinstance(x, (tuple, list)):
        return type(x)(_step(a, b, eps) for a, b in zip(x, v, strict=True))
    return float(x + eps * v) if isinstance(x, float) else x + eps * v


def _dot(a: Any, b: Any) -> float:
    if isinstance(a, dict):
        return sum(_dot(a[k], b[k]) for k in a)
    if isinstance(a, (tuple, list)):
        return sum(_dot(x, y) for x, y in zip(a, b, strict=True))
    return float(np.sum(np.asarray(a, dtype=np.float64) * np.asarray(b, dtype=np.float64)))
