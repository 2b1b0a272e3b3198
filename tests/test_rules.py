"""Every rule of ``DEFAULT_RULES`` checked three ways, then the rules used through the engine.

For each case of each differentiable rule, in float64 with NumPy:

(a) the VJP against central finite differences of the primal (``<c, J v>`` along a random
    direction ``v`` for a random cotangent ``c``; a Python float ``c`` for scalar outputs, like
    the engine's seed);
(b) the JVP against the VJP (``<c, jvp(v)> == <vjp(c), v>``);
(c) the VJP with ``xp = jax.numpy`` on jax arrays against ``jax.vjp`` of the rule's own primal.
    All cases of a rule are traced into one ``jax.jit`` (XLA compiles dominate the time), so our
    VJPs run on tracers there; the eager jax path is covered by the end-to-end tests.

The same cases check that float32 operands get float32 adjoints, and every rule function is
checked to be inlinable (one return expression over names generated code can see).
Then: property-based broadcasting checks, float32 through ``srcgrad.grad``, and
``srcgrad.grad`` of small user functions against ``jax.grad`` (backends numpy and jax).
"""

from __future__ import annotations

import ast
import builtins
import copy
import functools
import inspect
import sys
import types
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import jax

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from hypothesis.extra import numpy as hnp  # noqa: E402

import srcgrad  # noqa: E402
from srcgrad.backends import HELPERS  # noqa: E402
from srcgrad.printer import code  # noqa: E402
from srcgrad.rules import DEFAULT_RULES, Rule  # noqa: E402
from srcgrad.rules.core import Undefined  # noqa: E402
from srcgrad.runtime.structures import densify  # noqa: E402
from srcgrad.template import _template  # noqa: E402

EPS = 1e-6
PY = "python float"  # a shape standing for a Python float operand

# --- operand generators ---------------------------------------------------------------------
# A spec is a function rng -> operand. A shape of PY gives a Python float.


def _draw(r, shape, fn):
    if shape == PY:
        return float(fn(r, ()))
    return np.asarray(fn(r, shape), dtype=np.float64)


def normal(shape=(3, 4), scale=1.0):
    return lambda r: _draw(r, shape, lambda r, s: scale * r.standard_normal(s))


def unif(shape=(3, 4), lo=-1.0, hi=1.0):
    return lambda r: _draw(r, shape, lambda r, s: r.uniform(lo, hi, s))


def away(shape=(3, 4), lo=0.5, hi=2.0):
    """Random sign times a magnitude in [lo, hi]: away from zero."""
    return lambda r: _draw(r, shape, lambda r, s: r.choice([-1.0, 1.0], s) * r.uniform(lo, hi, s))


def cnormal(shape=(3, 4), scale=1.0):
    """Complex: independent normal real and imaginary parts."""
    return lambda r: scale * (r.standard_normal(shape) + 1j * r.standard_normal(shape))


def caway(shape=(3, 4), lo=0.5, hi=2.0):
    """Complex, of modulus in [lo, hi] and any phase: away from zero."""
    return lambda r: r.uniform(lo, hi, shape) * np.exp(2j * np.pi * r.random(shape))


def well_conditioned(shape=(3, 3)):
    n = shape[-1]
    return lambda r: r.standard_normal(shape) / np.sqrt(n) + 2.0 * np.eye(n)


def boolean(shape=(3, 4)):
    return lambda r: r.random(shape) > 0.5


def const(value):
    return lambda r: value


@dataclass
class Case:
    """Operands drawn by ``specs`` (redrawn until ``ok(*ops)``), params passed by keyword."""

    specs: tuple[Callable, ...]
    params: dict[str, Any] = field(default_factory=dict)
    ok: Callable[..., bool] | None = None
    label: str = ""
    rtol: float = 1e-6
    maker: Callable | None = None
    inactive: tuple[int, ...] = ()   # float operands held constant (a literal exponent)
    fd: bool = True                  # False at a kink (ties): only (b) and (c) apply

    def make(self, r) -> list:
        if self.maker is not None:
            return self.maker(r)
        for _ in range(200):
            ops = [s(r) for s in self.specs]
            if self.ok is None or self.ok(*ops):
                return ops
        raise AssertionError(f"could not draw operands for case {self.label}")


def C(*specs, ok=None, label="", rtol=1e-6, inactive=(), fd=True, **params) -> Case:
    return Case(tuple(specs), params, ok, label, rtol, inactive=inactive, fd=fd)


def _shape_label(s) -> str:
    return "py" if s == PY else "x".join(map(str, s)) or "0d"


# --- the cases ------------------------------------------------------------------------------

CASES: dict[str, list[Case]] = {}

UNARY_DOMAIN: dict[str, Callable] = {
    "negative": normal, "positive": normal, "square": normal,
    "reciprocal": away, "sqrt": lambda s: unif(s, 0.3, 3.0), "cbrt": away, "absolute": away,
    "exp": lambda s: unif(s, -2, 2), "exp2": lambda s: unif(s, -2, 2),
    "expm1": lambda s: unif(s, -2, 2), "log": lambda s: unif(s, 0.3, 3.0),
    "log2": lambda s: unif(s, 0.3, 3.0), "log10": lambda s: unif(s, 0.3, 3.0),
    "log1p": lambda s: unif(s, -0.6, 3.0),
    "sin": lambda s: unif(s, -3, 3), "cos": lambda s: unif(s, -3, 3),
    "tan": lambda s: unif(s, -1.2, 1.2), "arcsin": lambda s: unif(s, -0.9, 0.9),
    "arccos": lambda s: unif(s, -0.9, 0.9), "arctan": lambda s: unif(s, -3, 3),
    "sinh": lambda s: unif(s, -2, 2), "cosh": lambda s: unif(s, -2, 2),
    "tanh": lambda s: unif(s, -2, 2), "arcsinh": lambda s: unif(s, -3, 3),
    "arccosh": lambda s: unif(s, 1.2, 3.0), "arctanh": lambda s: unif(s, -0.9, 0.9),
}
for _name, _dom in UNARY_DOMAIN.items():
    CASES[_name] = [C(_dom(s), label=_shape_label(s)) for s in [(3, 4), (5,), (), PY]]

BINARY_SHAPES = [((3, 4), (3, 4)), ((3, 4), (4,)), ((4,), (3, 4)), ((2, 1, 4), (3, 1)),
                 ((), (2, 3)), (PY, (3, 4)), ((3, 4), PY)]


def _gap(a, b, tol=0.05):
    return bool(np.min(np.abs(np.subtract(a, b))) > tol)


def _binary(fa, fb, ok=None, shapes=BINARY_SHAPES):
    return [C(fa(sa), fb(sb), ok=ok, label=f"{_shape_label(sa)}-{_shape_label(sb)}")
            for sa, sb in shapes]


for _name in ("add", "subtract", "multiply", "logaddexp", "arctan2", "hypot"):
    CASES[_name] = _binary(normal, normal)
CASES["divide"] = _binary(normal, away)
CASES["maximum"] = _binary(normal, normal, ok=_gap)
CASES["minimum"] = _binary(normal, normal, ok=_gap)
CASES["power"] = _binary(lambda s: unif(s, 0.4, 2.0), lambda s: unif(s, -2.0, 2.0)) + [
    C(normal((3, 4)), const(3), label="int-exponent"),           # negative base, b constant
    C(normal((3, 4)), const(2.0), label="float-exponent-negative-base", inactive=(1,)),
    C(unif((3, 4), 0.4, 2), unif((3, 1), 0.5, 2.5), label="positive-broadcast"),
    # a zero base: d/db = out log(a) is taken as 0 there (log of the replaced zero), as jax
    # does; finite differences would step to negative bases, so only (b) and (c) apply
    C(const(np.array([0.0, 0.5, 1.0, 2.0])), unif((3, 4), 1.5, 3.0), fd=False, label="zero-base"),
]


def mod_case(sa, sb) -> Case:
    """a % b away from its jumps: a = b (k + u) with u in [0.2, 0.8]."""
    def make(r):
        if sa == PY:
            a = 1.7
            return [a, a / (r.integers(-2, 2, sb) + r.uniform(0.2, 0.8, sb))]
        b = away(sb)(r)
        q = r.integers(-2, 2, np.broadcast_shapes(np.shape(b), sa))
        return [b * (q + r.uniform(0.2, 0.8, q.shape)), b]
    return Case((), {}, None, f"{_shape_label(sa)}-{_shape_label(sb)}", maker=make)


CASES["mod"] = [mod_case((3, 4), (3, 4)), mod_case((3, 4), (4,)), mod_case((2, 3, 4), (3, 1)),
                mod_case((3, 4), PY), mod_case(PY, (3,))]


def _clip_ok(x, lo, hi):
    return all(b is None or _gap(x, b) for b in (lo, hi))


CASES["clip"] = [
    C(normal(), unif(PY, -0.8, -0.3), unif(PY, 0.3, 0.8), ok=_clip_ok, label="floats"),
    C(normal(), const(None), unif(PY, 0.3, 0.8), ok=_clip_ok, label="no-lo"),
    C(normal(), unif(PY, -0.8, -0.3), const(None), ok=_clip_ok, label="no-hi"),
    C(normal(), unif((4,), -0.8, -0.2), unif((3, 1), 0.2, 0.8), ok=_clip_ok, label="arrays"),
    C(normal((4,)), unif((), -0.8, -0.2), unif((3, 4), 0.2, 0.8), ok=_clip_ok, label="bcast-x"),
]
CASES["where"] = [
    C(boolean((3, 4)), normal((3, 4)), normal((4,)), label="c-a-bcast-b"),
    C(boolean((3, 1)), normal((1, 4)), normal((3, 4)), label="all-bcast"),
    C(boolean((3, 4)), normal(PY), normal((3, 4)), label="scalar-a"),
    C(boolean((4,)), normal((3, 4)), normal(PY), label="scalar-b"),
]

# reductions: axis None, int, negative int, tuple; keepdims both ways
AXES = [(None, False), (None, True), (1, False), (-1, True), ((0, 2), False), ((2, 0), True),
        (-2, False)]


def _reductions(spec, extra=None, axes=AXES):
    cases = [C(spec, axis=a, keepdims=k, label=f"axis={a}-kd={k}") for a, k in axes]
    return cases + (extra or [])


CASES["sum"] = _reductions(normal((3, 4, 2)), [C(normal(()), label="0d"),
                                               C(normal((5,)), axis=0, label="1d")])
CASES["mean"] = _reductions(normal((3, 4, 2)), [C(normal((5,)), label="1d")])
CASES["prod"] = _reductions(away((3, 4, 2), 0.5, 1.5), [
    C(lambda r: np.where(np.arange(12).reshape(3, 4) == 5, 0.0, r.uniform(0.5, 1.5, (3, 4))),
      axis=None, label="one-zero"),
    C(lambda r: np.where(np.arange(12).reshape(3, 4) % 5 == 0, 0.0, r.uniform(0.5, 1.5, (3, 4))),
      axis=1, label="zeros-axis1"),
    C(unif((5,), 0.5, 1.5), label="1d"),
])
# ties: no derivative, but the adjoint is shared equally among them, as jax does
_TIES = const(np.array([[1.0, 3.0, 3.0, 0.0], [2.0, 2.0, 2.0, 2.0], [-1.0, 5.0, 0.0, 5.0]]))
CASES["amax"] = _reductions(normal((3, 4, 2)), [
    C(normal((5,)), label="1d"), C(_TIES, axis=1, fd=False, label="ties-axis1"),
    C(_TIES, fd=False, label="ties-all")])
CASES["amin"] = _reductions(normal((3, 4, 2)), [
    C(normal((5,)), label="1d"), C(_TIES, axis=1, fd=False, label="ties-axis1"),
    C(_TIES, axis=0, keepdims=True, fd=False, label="ties-axis0-kd")])
CASES["var"] = _reductions(normal((3, 4, 2)), [
    C(normal((3, 4)), axis=1, ddof=1, label="ddof1-axis1"),
    C(normal((3, 4)), axis=None, ddof=1, keepdims=True, label="ddof1-all-kd"),
    C(normal((3, 4, 2)), axis=(0, 2), ddof=2, label="ddof2-tuple"),
])
CASES["std"] = _reductions(normal((3, 4, 2)), [
    C(normal((3, 4)), axis=1, ddof=1, label="ddof1-axis1"),
    C(normal((3, 4)), axis=-2, ddof=1, keepdims=True, label="ddof1-neg-kd"),
])
CASES["cumsum"] = [C(normal((3, 4)), label="flat"), C(normal((3, 4)), axis=0, label="axis0"),
                   C(normal((3, 4, 2)), axis=-1, label="axis-1"), C(normal((5,)), label="1d")]

# products and contractions
CASES["matmul"] = [
    C(normal((3, 4)), normal((4, 2)), label="2d@2d"),
    C(normal((3, 4)), normal((5, 4, 2)), label="2d@3d"),
    C(normal((1, 3, 4)), normal((5, 4, 2)), label="1x3x4@5x4x2"),
    C(normal((5, 1, 3, 4)), normal((2, 4, 2)), label="4d@3d"),
    C(normal((4,)), normal((4, 2)), label="1d@2d"),
    C(normal((3, 4)), normal((4,)), label="2d@1d"),
    C(normal((4,)), normal((4,)), label="1d@1d"),
    C(normal((2, 3, 4)), normal((4,)), label="3d@1d"),
    C(normal((4,)), normal((2, 4, 3)), label="1d@3d"),
]
CASES["dot"] = [
    C(normal((3, 4)), normal((4, 2)), label="2d.2d"),
    C(normal((4,)), normal((4,)), label="1d.1d"),
    C(normal((3, 4)), normal((4,)), label="2d.1d"),
    C(normal((4,)), normal((4, 2)), label="1d.2d"),
    C(normal((2, 3, 4)), normal((5, 4, 2)), label="3d.3d"),
    C(normal((4,)), normal((5, 4, 2)), label="1d.3d"),
    C(normal((2, 3, 4)), normal((4, 2)), label="3d.2d"),
    C(normal(PY), normal((3, 4)), label="scalar.2d"),
    C(normal((3,)), normal(()), label="1d.0d"),
]
CASES["vdot"] = [C(normal((3, 4)), normal((12,)), label="2d-1d"),
                 C(normal((5,)), normal((5,)), label="1d")]
CASES["inner"] = [C(normal((3, 4)), normal((5, 4)), label="2d-2d"),
                  C(normal((4,)), normal((4,)), label="1d-1d"),
                  C(normal((2, 3, 4)), normal((4,)), label="3d-1d"),
                  C(normal((4,)), normal((2, 3, 4)), label="1d-3d")]
CASES["outer"] = [C(normal((3,)), normal((4,)), label="1d-1d"),
                  C(normal((2, 3)), normal((4,)), label="2d-1d")]
CASES["tensordot"] = [
    C(normal((3, 4, 5)), normal((4, 5, 2)), label="axes=2"),
    C(normal((3, 4)), normal((4, 5)), axes=1, label="axes=1"),
    C(normal((3,)), normal((4,)), axes=0, label="axes=0"),
    C(normal((3, 4, 5)), normal((4, 3, 2)), axes=([1, 0], [0, 1]), label="pairs-sorted-b"),
    C(normal((3, 4, 5)), normal((4, 3, 2)), axes=([0, 1], [1, 0]), label="pairs-unsorted-b"),
    C(normal((3, 4, 5)), normal((5, 2, 3)), axes=([2, 0], [0, 2]), label="pairs-unsorted-a"),
    C(normal((3, 4)), normal((4, 5)), axes=([-1], [0]), label="negative"),
    C(normal((3, 4)), normal((5, 3)), axes=(0, 1), label="int-pair"),
]
CASES["einsum"] = [
    C(normal((3, 4)), normal((4, 2)), subscripts="ij,jk->ik", label="matmul"),
    C(normal((4, 4)), subscripts="ii->", label="trace"),
    C(normal((4, 4)), subscripts="ii->i", label="diagonal"),
    C(normal((3, 4)), subscripts="ij->", label="sum"),
    C(normal((3, 4)), subscripts="ij->ji", label="transpose"),
    C(normal((2, 3, 4)), normal((2, 4, 5)), subscripts="bij,bjk->bik", label="batched"),
    C(normal((4,)), normal((4,)), subscripts="i,i->", label="dot"),
    C(normal((3,)), normal((4,)), subscripts="i,j->ij", label="outer"),
    C(normal((3, 4)), normal((4, 2)), subscripts="ij,jk", label="implicit"),
    C(normal((2, 3)), normal((3, 4)), normal((4, 2)), subscripts="ij,jk,kl->il", label="three"),
    C(normal((3, 4)), normal((3, 5)), subscripts="ij,ik->j", label="unused-k"),
    C(normal((3, 3, 2)), subscripts="iij->j", label="diag-batched"),
    C(normal((2, 3, 4)), normal((1, 4, 5)), subscripts="...ij,...jk->...ik",
      label="ellipsis-broadcast"),   # a size-1 batch axis, broadcast
]
CASES["trace"] = [
    C(normal((4, 4)), label="square"),
    C(normal((3, 5)), offset=1, label="offset1"),
    C(normal((5, 3)), offset=-2, label="offset-2"),
    C(normal((3, 2, 4)), axis1=2, axis2=0, label="3d-axes"),
    # from the end, on a batch of non-square matrices (np.linalg.trace's axes): the adjoint
    # took the wrong axes and had the wrong shape
    C(normal((3, 3, 4)), offset=1, axis1=-2, axis2=-1, label="negative-axes"),
    C(normal((2, 3, 2)), axis1=0, axis2=-1, label="mixed-axes"),
]
CASES["diag"] = [
    C(normal((4,)), label="1d"), C(normal((4,)), k=1, label="1d-k1"),
    C(normal((3,)), k=-2, label="1d-k-2"), C(normal((4, 4)), label="2d"),
    C(normal((3, 5)), k=1, label="2d-k1"), C(normal((5, 3)), k=-1, label="2d-k-1"),
]
CASES["det"] = [C(well_conditioned((3, 3)), label="3x3"),
                C(well_conditioned((2, 3, 3)), label="batched"),
                C(well_conditioned((1, 1)), label="1x1")]
CASES["inv"] = [C(well_conditioned((3, 3)), label="3x3"),
                C(well_conditioned((2, 3, 3)), label="batched")]
CASES["solve"] = [
    C(well_conditioned((3, 3)), normal((3,)), label="vector"),
    C(well_conditioned((3, 3)), normal((3, 2)), label="matrix"),
    C(well_conditioned((2, 3, 3)), normal((2, 3, 4)), label="batched"),
    C(well_conditioned((2, 3, 3)), normal((3,)), label="batched-a-vector-b"),
    C(well_conditioned((2, 3, 3)), normal((3, 2)), label="batched-a-matrix-b"),
    C(well_conditioned((3, 3)), normal((2, 3, 2)), label="batched-b"),
]
CASES["norm"] = [
    C(normal((5,)), label="vec-2"),
    C(away((5,)), ord=1, label="vec-ord1"),
    C(normal((5,)), ord=2, label="vec-ord2"),
    C(away((5,)), ord=np.inf, label="vec-inf"),
    C(away((5,)), ord=-np.inf, label="vec-neg-inf"),
    C(const(np.array([1.0, -3.0, 3.0, 2.0])), ord=np.inf, fd=False, label="vec-inf-ties"),
    C(away((5,)), ord=3, label="vec-ord3"),
    C(away((5,)), ord=-1, label="vec-ord-1"),
    C(away((5,)), ord=0, label="vec-ord0"),
    C(normal((3, 4)), label="fro-default"),
    C(normal((3, 4)), ord="fro", label="fro"),
    C(normal((3, 4)), ord="fro", axis=(0, 1), keepdims=True, label="fro-axes-kd"),
    C(normal((3, 4)), axis=1, label="rows"),
    C(away((3, 4)), ord=1, axis=-1, keepdims=True, label="rows-ord1-kd"),
    C(away((3, 4)), ord=np.inf, axis=0, label="cols-inf"),
    C(normal((3, 4)), ord=2, axis=1, label="rows-ord2"),
    C(normal((3, 4)), ord=2, axis=(1,), label="rows-ord2-tuple-axis"),
    C(normal((2, 3, 4)), label="3d-flat"),
    C(away((3, 4)), ord=1, label="mat-ord1"),
    C(away((3, 4)), ord=np.inf, label="mat-inf"),
    C(away((3, 4)), ord=-1, label="mat-ord-1"),
    C(normal((3, 4)), ord=2, label="mat-ord2"),
    C(normal((3, 4)), ord=-2, label="mat-ord-2"),
    C(normal((3, 4)), ord="nuc", label="mat-nuc"),
    C(away((2, 3, 4)), ord=1, axis=(2, 0), label="mat-ord1-axes"),
    C(normal((2, 3, 4)), ord="nuc", axis=(0, 2), keepdims=True, label="mat-nuc-axes-kd"),
]

# shape rules
CASES["reshape"] = [C(normal((3, 4)), shape=(2, 6), label="2x6"),
                    C(normal((3, 4)), shape=(-1,), label="flat"),
                    C(normal((3, 4)), shape=(4, 3, 1), label="3d"),
                    C(normal(()), shape=(1, 1), label="0d")]
CASES["ravel"] = [C(normal((3, 4)), label="2d"), C(normal((2, 3, 2)), label="3d")]
CASES["transpose"] = [C(normal((3, 4)), label="2d"), C(normal((2, 3, 4)), label="3d-rev"),
                      C(normal((2, 3, 4)), axes=(1, 0, 2), label="perm"),
                      C(normal((2, 3, 4)), axes=(-1, 0, 1), label="neg-perm"),
                      C(normal((5,)), label="1d")]
CASES["swapaxes"] = [C(normal((2, 3, 4)), axis1=0, axis2=2, label="0-2"),
                     C(normal((2, 3, 4)), axis1=-1, axis2=0, label="neg")]
CASES["moveaxis"] = [C(normal((2, 3, 4)), source=0, destination=-1, label="int"),
                     C(normal((2, 3, 4)), source=(0, 1), destination=(2, 0), label="tuple")]
CASES["expand_dims"] = [C(normal((3, 4)), axis=0, label="0"),
                        C(normal((3, 4)), axis=-1, label="-1"),
                        C(normal((3, 4)), axis=(0, 2), label="tuple"),
                        C(normal(()), axis=0, label="0d")]
CASES["squeeze"] = [C(normal((3, 1, 4, 1)), label="all"),
                    C(normal((3, 1, 4, 1)), axis=1, label="1"),
                    C(normal((3, 1, 4, 1)), axis=(1, 3), label="tuple"),
                    C(normal((3, 1, 4, 1)), axis=-1, label="-1")]
CASES["broadcast_to"] = [C(normal((4,)), shape=(3, 4), label="lead"),
                         C(normal((3, 1)), shape=(2, 3, 4), label="inner"),
                         C(normal(()), shape=(2, 2), label="0d"),
                         C(normal(PY), shape=(3,), label="py")]
for _name in ("atleast_1d", "atleast_2d", "atleast_3d"):
    CASES[_name] = [C(normal(s), label=_shape_label(s)) for s in [(), (3,), (2, 3), (2, 3, 4), PY]]
CASES["flip"] = [C(normal((3, 4, 2)), label="all"), C(normal((3, 4, 2)), axis=0, label="0"),
                 C(normal((3, 4, 2)), axis=(0, 2), label="tuple"),
                 C(normal((3, 4, 2)), axis=-1, label="-1")]
CASES["tile"] = [C(normal((3,)), reps=2, label="int"),
                 C(normal((3, 4)), reps=(2, 1), label="2d"),
                 C(normal((3, 4)), reps=(2,), label="short-reps"),
                 C(normal((3, 4)), reps=(2, 3, 2), label="long-reps"),
                 C(normal(()), reps=(2, 3), label="0d"),
                 C(normal((2, 3)), reps=[3, 2], label="list")]
CASES["repeat"] = [C(normal((2, 3)), repeats=2, label="int-flat"),
                   C(normal((2, 3)), repeats=3, axis=1, label="int-axis1"),
                   C(normal((3, 4)), repeats=np.array([1, 0, 2]), axis=0, label="array-axis0"),
                   C(normal((3, 4)), repeats=np.array([2, 1, 1, 3]), axis=-1, label="array-neg"),
                   C(normal((2, 2)), repeats=np.array([1, 2, 0, 3]), label="array-flat"),
                   C(normal((5,)), repeats=2, axis=0, label="1d")]
_IDX = [1, -1, slice(1, None), slice(None, None, 2), slice(None, None, -1), slice(3, 0, -2),
        (1, slice(None, None, 2)), (None, Ellipsis, 0), (Ellipsis, None), (slice(1, 3), None, -2),
        np.array([0, 2, 0, 1]), (np.array([0, 0, 2]), np.array([1, 1, 3])),
        (slice(None), np.array([1, 1, 0])), np.array([[0, 1], [1, 1]]),
        np.array([True, False, True]), (1, np.array([3, 3])), ()]
# (no whitespace in a label: a test id with a newline cannot be selected on pytest's command
# line, and mutmut selects tests by id: a mutant those tests reach failed to run at all)
CASES["getitem"] = [C(normal((3, 4)), index=i, label="".join(repr(i).split())) for i in _IDX] + [
    C(normal((3, 4)), index=np.arange(12).reshape(3, 4) % 3 == 0, label="mask-2d"),
    C(normal((2, 3, 4)), index=(Ellipsis, np.array([0, 0]), slice(None, None, 3)),
      label="ellipsis-adv-slice"),
    C(normal((2, 3, 4)), index=(np.array([1, 0, 1]), slice(None), np.array([2, 2, 0])),
      label="adv-slice-adv"),
]
CASES["setitem"] = [
    C(normal((3, 4)), normal((4,)), index=1, label="row"),
    C(normal((3, 4)), normal(()), index=(0, 2), label="element"),
    C(normal((3, 4)), normal((2, 4)), index=slice(0, 2), label="rows"),
    C(normal((3, 4)), normal((3, 1)), index=(slice(None), slice(1, 3)), label="broadcast"),
    C(normal((5,)), normal((2,)), index=np.array([0, 3]), label="fancy"),
]
CASES["astype"] = [C(normal((3, 4)), dtype=np.float64, label="f64"),
                   C(normal((3,)), dtype="float64", label="str"),
                   C(normal((3, 4), 3.0), dtype="int64", label="int")]
CASES["to_float"] = [C(normal(()), label="0d"), C(normal(PY), label="py")]
CASES["full_like"] = [C(normal((3, 4)), normal(()), label="scalar"),
                      C(normal((3, 4)), normal((4,)), label="row")]
CASES["copy"] = [C(normal((3, 4)), label="2d"), C(normal(()), label="0d")]
CASES["assign"] = [C(normal((3, 4)), label="2d"), C(normal(()), label="0d")]
CASES["concatenate"] = [
    C(normal((2, 3)), normal((4, 3)), label="axis0"),
    C(normal((3, 2)), normal((3, 1)), normal((3, 4)), axis=1, label="axis1-three"),
    C(normal((2, 3)), normal((2, 2)), axis=-1, label="axis-1"),
    C(normal((2, 3)), normal((5,)), axis=None, label="flat"),
]
CASES["stack"] = [C(normal((2, 3)), normal((2, 3)), normal((2, 3)), label="axis0"),
                  C(normal((2, 3)), normal((2, 3)), axis=-1, label="axis-1"),
                  C(normal((2, 3)), normal((2, 3)), axis=1, label="axis1"),
                  C(normal(()), normal(()), label="0d")]
CASES["hstack"] = [C(normal((3,)), normal((2,)), label="1d"),
                   C(normal((2, 3)), normal((2, 1)), label="2d"),
                   C(normal(()), normal((3,)), label="0d-1d"),
                   C(normal(PY), normal(PY), label="py")]
CASES["vstack"] = [C(normal((3,)), normal((3,)), label="1d"),
                   C(normal((2, 3)), normal((1, 3)), label="2d"),
                   C(normal((2, 3)), normal((3,)), label="2d-1d")]
CASES["array"] = [C(normal(()), normal(()), normal(()), label="0d"),
                  C(normal((3,)), normal((3,)), label="1d"),
                  C(normal(PY), normal(PY), label="py")]

# complex values (JAX's convention: an adjoint g of z pairs with a tangent as Re(g dz)); real
# operands too, whose adjoints are real (the real part); abs of complex values beside its
# real cases; at complex 0 abs has no derivative (jax's convention, 0, checked against jax)
CASES["absolute"] += [C(caway((3, 4)), label="complex"), C(caway(()), label="complex-0d"),
                      C(const(np.array([0j, 1 + 1j, -2j])), fd=False, label="complex-zero")]
CASES["real"] = [C(cnormal((3, 4)), label="complex"), C(normal((3, 4)), label="real"),
                 C(cnormal(()), label="complex-0d")]
CASES["imag"] = [C(cnormal((3, 4)), label="complex"), C(normal((3, 4)), label="real")]
CASES["conj"] = [C(cnormal((3, 4)), label="complex"), C(normal((5,)), label="real")]
CASES["angle"] = [C(caway((3, 4)), label="complex"), C(away((5,)), label="real"),
                  C(caway((4,)), deg=True, label="degrees")]


def _ffts(spec, n_key, ns, axis_key, axes, norm_sizes=True):
    """Cases of one FFT: the lengths ``ns`` (None: the operand's), over ``axes``, each norm."""
    cases = []
    for k, (n, axis) in enumerate(zip(ns, axes, strict=True)):
        norm = (None, "backward", "ortho", "forward")[k % 4]
        params = {n_key: n, axis_key: axis, "norm": norm}
        cases.append(C(spec, label=f"{n_key}={n}-{axis_key}={axis}-{norm}",
                       **{key: v for key, v in params.items() if v is not None}))
    return cases


_LENGTHS = (None, 4, 9, None, 8, 5)       # cut (4, 5), padded (8, 9), even and odd, and as is
_AXIS = (-1, 0, -1, 1, 0, -1)
for _name in ("fft", "ifft"):
    CASES[_name] = (_ffts(normal((6, 7)), "n", _LENGTHS, "axis", _AXIS)
                    + [C(cnormal((6, 7)), label=f"complex-{a}", **p) for a, p in
                       (("n5", {"n": 5}), ("ortho-axis0", {"norm": "ortho", "axis": 0}))])
CASES["rfft"] = _ffts(normal((6, 7)), "n", _LENGTHS, "axis", _AXIS)
# irfft reads the bins a real signal of length n has: n = 2 (m - 1) by default, odd n, and
# m larger (bins dropped) or smaller (zeros) than n // 2 + 1; Re of the constant bin only
CASES["irfft"] = (_ffts(cnormal((6, 4)), "n", (None, 7, 4, 9, None, 2), "axis", _AXIS)
                  + [C(normal((5,)), label="real-operand")])
_S = (None, (4, 5), None, (3, 8), (7, 2), None)
_AXES = (None, (1, 2), (0,), (1, 0), (-1, -2), (0, 2))   # (s without axes: deprecated)
for _name in ("fftn", "ifftn"):
    CASES[_name] = (_ffts(normal((4, 5, 3)), "s", _S, "axes", _AXES)
                    + [C(cnormal((3, 4)), s=(5, 3), axes=(0, 1), label="complex")])
CASES["rfftn"] = _ffts(normal((4, 5, 3)), "s", _S, "axes", _AXES)
CASES["irfftn"] = (_ffts(cnormal((4, 5, 3)), "s", _S, "axes", _AXES)
                   + [C(cnormal((3, 4)), s=(3, 7), axes=(0, 1), label="odd-last")])
_S2 = (None, (4, 5), None, (3, 8), (7, 2), None)
_AXES2 = (None, None, (0, 1), (1, 0), (-1, -3), (0, 2))
for _name in ("fft2", "ifft2"):
    CASES[_name] = (_ffts(normal((4, 5, 3)), "s", _S2, "axes", _AXES2)
                    + [C(cnormal((3, 4)), s=(5, 3), label="complex")])
CASES["rfft2"] = _ffts(normal((4, 5, 3)), "s", _S2, "axes", _AXES2)
CASES["irfft2"] = (_ffts(cnormal((4, 5, 3)), "s", _S2, "axes", _AXES2)
                   + [C(cnormal((3, 4)), s=(3, 7), label="odd-last")])

CASES["fftshift"] = [C(normal((4, 5)), label="all"),
                     C(cnormal((3, 5, 2)), axes=(1,), label="axis1"),
                     C(normal((5,)), axes=0, label="int-axis")]
CASES["ifftshift"] = [C(normal((4, 5)), label="all"), C(normal((3, 5, 2)), axes=(0, 1),
                                                          label="axes")]

# non-differentiable rules: their primal only has to run (and agree between the backends)
_F, _G = normal((3, 4)), normal((4,))
_B, _I = boolean((3, 4)), (lambda r: r.integers(0, 8, (3, 4)))
# the runtime helpers of generated code (differentiated again for higher derivatives): linear
# in g, the second operand supplies a shape
CASES["broadcast_like"] = [C(normal((4,)), normal((3, 4)), label="lead"),
                           C(normal((3, 1)), normal((2, 3, 4)), label="inner"),
                           C(normal(()), normal((2, 2)), label="0d"),
                           C(normal(PY), normal((3,)), label="py"),
                           C(normal((3, 4)), normal((3, 4)), label="same")]
CASES["unbroadcast"] = [C(normal((3, 4)), normal((4,)), label="lead"),
                        C(normal((2, 3, 4)), normal((3, 1)), label="inner"),
                        C(normal((2, 2)), normal(()), label="0d"),
                        C(normal((3, 4)), normal((3, 4)), label="same")]
CASES["unreduce"] = [C(normal(()), normal((3, 4)), label="all"),
                     C(normal((4,)), normal((3, 4)), axis=0, label="axis0"),
                     C(normal((3, 1)), normal((3, 4)), axis=1, keepdims=True, label="keepdims"),
                     C(normal((2,)), normal((2, 3, 4)), axis=(1, 2), label="tuple")]

CASES["matmul_grad_a"] = [C(normal((3, 2)), normal((3, 4)), normal((4, 2)), label="2d"),
                          C(normal((2,)), normal((4,)), normal((4, 2)), label="a-1d"),
                          C(normal((3,)), normal((3, 4)), normal((4,)), label="b-1d"),
                          C(normal((2, 3, 5)), normal((2, 3, 4)), normal((4, 5)), label="batch")]
CASES["matmul_grad_b"] = [C(normal((3, 2)), normal((3, 4)), normal((4, 2)), label="2d"),
                          C(normal((2,)), normal((4,)), normal((4, 2)), label="a-1d"),
                          C(normal((3,)), normal((3, 4)), normal((4,)), label="b-1d"),
                          C(normal((2, 3, 5)), normal((2, 3, 4)), normal((4, 5)), label="batch")]



def made(label: str, maker: Callable, rtol: float = 1e-6, **params) -> Case:
    """A case whose operands depend on each other (``out`` of a reduction and its ``x``)."""
    return Case((), params, label=label, rtol=rtol, maker=maker)


def _with_zero(r):
    x = r.uniform(0.5, 1.5, (3, 4)) * r.choice([-1.0, 1.0], (3, 4))
    x[1, 2] = 0.0
    return x


def _solved(b_shape):
    def maker(r):
        a = well_conditioned()(r)
        b = r.standard_normal(b_shape)
        return [r.standard_normal(b_shape), np.linalg.solve(a, b), a, b]
    return maker


def _normed(shape, **params):
    def maker(r):
        x = away(shape)(r)
        out = np.linalg.norm(x, **params)
        return [_random_like(r, out), np.asarray(out), x]
    return maker


CASES["keep"] = [C(normal((3,)), normal((3, 4)), axis=1, label="axis1"),
                 C(normal((4,)), normal((2, 3, 4)), axis=(0, 1), label="tuple"),
                 C(normal((3, 1)), normal((3, 4)), axis=1, keepdims=True, label="keepdims")]
CASES["extremum_grad"] = [
    made("max-axis1", lambda r: [normal((3,))(r), *(lambda x: [x.max(axis=1), x])(
        normal((3, 4))(r))], axis=1),
    made("min-all", lambda r: [normal(())(r), *(lambda x: [np.asarray(x.min()), x])(
        normal((5,))(r))]),
    made("ties", lambda r: [normal((2,))(r), np.array([1.0, 2.0]),
                            np.array([[1.0, 1.0, 0.0], [2.0, 0.5, 2.0]])], axis=1)]
CASES["prod_grad"] = [C(normal((3,)), away((3, 4)), axis=1, label="axis1"),
                      C(normal(()), away((2, 3)), label="all"),
                      C(normal((3, 1)), away((3, 4)), axis=-1, keepdims=True, label="keepdims"),
                      made("zero", lambda r: [normal((3,))(r), _with_zero(r)], axis=1),
                      made("zero-all", lambda r: [normal(())(r), _with_zero(r)])]
CASES["var_grad"] = [C(normal((4,)), normal((3, 4)), axis=0, label="axis0"),
                     C(normal(()), normal((5,)), ddof=1, label="ddof"),
                     C(normal((3, 1)), normal((3, 4)), axis=1, keepdims=True, label="keepdims")]
CASES["cumsum_grad"] = [C(normal((12,)), normal((3, 4)), label="flat"),
                        C(normal((3, 4)), normal((3, 4)), axis=1, label="axis1")]
CASES["norm_grad"] = [made("2", _normed((4,))),
                      made("2-axis1", _normed((3, 4), axis=1), axis=1),
                      made("3", _normed((5,), ord=3), ord=3),
                      made("fro", _normed((3, 4))),
                      made("1", _normed((4,), ord=1), ord=1),
                      made("keepdims", _normed((3, 4), axis=0, keepdims=True), axis=0,
                           keepdims=True)]
CASES["dot_grad_a"] = [C(normal((3, 2)), normal((3, 4)), normal((4, 2)), label="2d"),
                       C(normal((3,)), normal((3, 4)), normal((4,)), label="mv")]
CASES["dot_grad_b"] = [C(normal((3, 2)), normal((3, 4)), normal((4, 2)), label="2d"),
                       C(normal((3,)), normal((3, 4)), normal((4,)), label="mv")]
CASES["inner_grad_a"] = [C(normal((3, 2)), normal((3, 4)), normal((2, 4)), label="2d"),
                         C(normal(()), normal((4,)), normal((4,)), label="1d")]
CASES["inner_grad_b"] = [C(normal((3, 2)), normal((3, 4)), normal((2, 4)), label="2d"),
                         C(normal(()), normal((4,)), normal((4,)), label="1d")]
CASES["tensordot_grad_a"] = [C(normal((3, 2)), normal((3, 4)), normal((4, 2)), axes=1,
                               label="1"),
                             C(normal(()), normal((3, 4)), normal((4, 3)),
                               axes=([1, 0], [0, 1]), label="pairs")]
CASES["tensordot_grad_b"] = [C(normal((3, 2)), normal((3, 4)), normal((4, 2)), axes=1,
                               label="1"),
                             C(normal(()), normal((3, 4)), normal((4, 3)),
                               axes=([1, 0], [0, 1]), label="pairs")]
CASES["einsum_grad"] = [C(normal((3,)), normal((3, 4)), normal((3, 4)), i=0,
                          subscripts="ij,ij->i", label="rows"),
                        C(normal((3, 2)), normal((3, 4)), normal((4, 2)), i=1,
                          subscripts="ij,jk->ik", label="matmul-b"),
                        C(normal(()), normal((3, 3)), i=0, subscripts="ii->", label="trace")]
CASES["shaped_like"] = [C(normal((3, 4)), normal((3, 4)), rule="r", label="same"),
                        C(normal(()), normal((3,)), rule="r", label="spread")]
CASES["mT"] = [C(normal((2, 3, 4)), label="3d"), C(normal((3, 4)), label="2d")]
CASES["solve_grad_b"] = [made("vector", _solved((3,))), made("matrix", _solved((3, 2)))]
CASES["solve_grad_a"] = [made("vector", _solved((3,))), made("matrix", _solved((3, 2)))]
CASES["solve_jvp_a"] = [
    made("vector", lambda r: [normal((3, 3))(r), *_solved((3,))(r)[1:]]),
    made("matrix", lambda r: [normal((3, 3))(r), *_solved((3, 2))(r)[1:]])]
CASES["trace_grad"] = [C(normal(()), normal((3, 4)), label="2d"),
                       C(normal((2,)), normal((3, 3, 2)), offset=1, label="offset-3d")]
CASES["diag_grad"] = [C(normal((3, 3)), normal((3,)), label="place"),
                      C(normal((3,)), normal((3, 4)), label="extract"),
                      C(normal((2,)), normal((3, 3)), k=1, label="k1")]
CASES["getitem_grad"] = [C(normal((4,)), normal((3, 4)), index=1, label="row"),
                         C(normal((3, 4)), normal((3, 4)), index=np.array([0, 2, 0]),
                           label="repeats"),
                         C(normal((2, 2)), normal((3, 4)), index=(slice(1, 3), slice(0, 2)),
                           label="block")]
CASES["take_at"] = [C(normal((3, 4)), index=1, label="row"),
                    C(normal((5,)), index=np.array([0, 3, 0]), label="repeats")]
CASES["take_written"] = [C(normal((3, 4)), index=1, label="row"),
                         C(normal((5,)), index=np.array([4, 0, 3]), label="fancy"),
                         C(normal((3, 4)), index=(np.array([2, 0]), slice(1, 3)),
                           label="rows and a slice")]
CASES["zero_at"] = [C(normal((3, 4)), index=(0, slice(1, 3)), copy=True, label="block"),
                    C(normal((5,)), index=np.array([0, 3]), copy=True, label="fancy")]
CASES["add_at"] = [C(normal((3, 4)), const(1), normal((4,)), label="row"),
                   C(normal((5,)), const(np.array([0, 3, 0])), normal((3,)), label="repeats"),
                   C(normal((3, 4)), const((slice(None), 1)), normal(()), label="broadcast")]
CASES["set_at"] = [C(normal((3, 4)), const(1), normal((4,)), label="row"),
                   C(normal((3, 4)), const((slice(None), 1)), normal(()), label="broadcast")]
_XS2 = (np.zeros((2, 3)), np.zeros((4, 3)))
CASES["concat_grad"] = [C(normal((6, 3)), i=1, xs=_XS2, label="axis0"),
                        C(normal((3, 5)), i=0, xs=(np.zeros((3, 2)), np.zeros((3, 3))), axis=1,
                          label="axis1"),
                        C(normal((11,)), i=1, xs=(np.zeros((2, 3)), np.zeros(5)), axis=None,
                          label="flat")]
CASES["concat_grad_t"] = [C(normal((4, 3)), g=np.zeros((6, 3)), i=1, xs=_XS2, label="axis0"),
                          C(normal((5,)), g=np.zeros(11), i=1,
                            xs=(np.zeros((2, 3)), np.zeros(5)), axis=None, label="flat")]
CASES["stack_grad"] = [C(normal((3, 2, 4)), i=1, axis=1, label="axis1"),
                       C(normal((2, 3)), i=0, label="axis0")]
CASES["stack_grad_t"] = [C(normal((3, 4)), g=np.zeros((3, 2, 4)), i=1, axis=1, label="axis1"),
                         C(normal((3,)), g=np.zeros((2, 3)), i=0, label="axis0")]
CASES["hstack_grad"] = [C(normal((5,)), i=1, xs=(np.zeros(3), np.zeros(2)), label="1d"),
                        C(normal((2, 4)), i=0, xs=(np.zeros((2, 3)), np.zeros((2, 1))),
                          label="2d")]
CASES["hstack_grad_t"] = [C(normal((2,)), g=np.zeros(5), i=1, xs=(np.zeros(3), np.zeros(2)),
                            label="1d"),
                          C(normal((2, 3)), g=np.zeros((2, 4)), i=0,
                            xs=(np.zeros((2, 3)), np.zeros((2, 1))), label="2d")]
CASES["vstack_grad"] = [C(normal((3, 3)), i=1, xs=(np.zeros(3), np.zeros((2, 3))), label="mix")]
CASES["vstack_grad_t"] = [C(normal((2, 3)), g=np.zeros((3, 3)), i=1,
                            xs=(np.zeros(3), np.zeros((2, 3))), label="mix"),
                          C(normal((3,)), g=np.zeros((3, 3)), i=0,
                            xs=(np.zeros(3), np.zeros((2, 3))), label="1d")]
CASES["tile_grad"] = [C(normal((6,)), normal((3,)), reps=2, label="int"),
                      C(normal((6, 4)), normal((3, 4)), reps=(2, 1), label="2d")]
CASES["repeat_grad"] = [C(normal((12,)), normal((2, 3)), repeats=2, label="flat"),
                        C(normal((2, 6)), normal((2, 3)), repeats=2, axis=1, label="axis1")]
CASES["transpose_grad"] = [C(normal((2, 3, 4)), axes=(1, 2, 0), label="axes"),
                           C(normal((3, 4)), label="T")]
CASES["take"] = [C(normal((3, 4)), indices=np.array([0, 2, 2]), axis=1, label="axis"),
                 C(normal((3, 4)), indices=np.array([[1, 5], [5, 11]]), label="flat")]
CASES["median"] = [C(normal((3, 5)), axis=1, label="odd"), C(normal((4, 3)), axis=0,
                                                               keepdims=True, label="even"),
                   C(normal((2, 3)), label="all")]
CASES["take_grad"] = [C(normal((3, 3)), normal((3, 4)), indices=np.array([0, 2, 2]), axis=1,
                        inactive=(1,), label="axis")]
CASES["median_grad"] = [C(normal((3,)), normal((3, 5)), axis=1, inactive=(1,), label="odd")]
CASES["erf"] = [C(normal((3, 4), 1.5), label="2d")]
CASES["gammaln"] = [C(unif((3, 4), 0.2, 4.0), label="2d"), C(unif((), 0.5, 3.0), label="0d")]
CASES["digamma"] = [C(unif((3, 4), 0.2, 4.0), label="2d")]
CASES["polygamma"] = [C(const(1), unif((3, 4), 0.3, 4.0), label="trigamma"),
                      C(const(2), unif((3,), 0.5, 3.0), label="n=2")]
CASES["log_ndtr"] = [C(normal((3, 4), 2.0), label="2d"),
                     C(unif((3,), -9.0, -6.0), label="lower-tail")]
CASES["fmod"] = [C(normal((3, 4)), away((3, 4)), label="2d"),
                 C(normal((3, 4)), away(()), label="scalar-divisor")]
CASES["degrees"] = [C(normal((3, 4)), label="2d")]
CASES["radians"] = [C(normal((3, 4)), label="2d")]
CASES["sinc"] = [C(normal((3, 4)), label="2d")]
CASES["nan_to_num"] = [C(normal((3, 4)), label="finite")]
CASES["roll"] = [C(normal((3, 4)), shift=1, label="flat"),
                 C(normal((3, 4)), shift=(1, -2), axis=(0, 1), label="axes")]
CASES["triu"] = [C(normal((4, 4)), label="square"), C(normal((2, 3, 4)), k=1, label="batched")]
CASES["tril"] = [C(normal((4, 4)), k=-1, label="square")]
CASES["diff"] = [C(normal((3, 5)), label="last"), C(normal((6, 3)), n=2, axis=0, label="n2")]
CASES["sort"] = [C(normal((3, 5)), label="last"), C(normal((4, 3)), axis=0, label="axis0")]
CASES["cross"] = [C(normal((4, 3)), normal((4, 3)), label="rows"),
                  C(normal((3,)), normal((2, 3)), label="broadcast")]
CASES["diff_grad"] = [C(normal((3, 4)), normal((3, 5)), label="last")]
CASES["sort_grad"] = [C(normal((3, 5)), normal((3, 5)), inactive=(1,), label="last")]
CASES["matmul_grad_bt"] = [C(normal((4, 3)), normal((4, 5)), normal((5, 3)), label="2d"),
                           C(normal((2, 4, 3)), normal((2, 4, 5)), normal((5, 3)),
                             label="batched")]
CASES["windows"] = [
    C(normal((2, 3, 7)), size=(3,), stride=(2,), dilation=(1,), label="1d"),
    C(normal((2, 6, 7)), size=(3, 2), stride=(2, 1), dilation=(1, 2), label="2d-dilated")]
CASES["windows_grad"] = [
    C(normal((2, 3, 3, 3)), normal((2, 3, 7)), size=(3,), stride=(2,), label="1d"),
    C(normal((2, 2, 5, 3, 2)), normal((2, 6, 7)), size=(3, 2), stride=(2, 1), dilation=(1, 2),
      label="2d-dilated")]
CASES["pad"] = [C(normal((3, 4)), pad_width=((1, 2), (0, 1)), label="pairs"),
                C(normal((3,)), pad_width=2, label="int"),
                C(normal((2, 3)), pad_width=((0, 0), (1, 1)), constant_values=-1.5,
                  label="constant")]
CASES["pad_grad"] = [C(normal((6, 5)), normal((3, 4)), pad_width=((1, 2), (0, 1)),
                       label="pairs"),
                     *(C(normal((6, 5)), normal((3, 4)), pad_width=((1, 2), (0, 1)), mode=m,
                         label=m) for m in ("edge", "wrap", "reflect", "symmetric"))]
CASES["astype_grad"] = [C(normal((3, 4)), normal((3, 4)), label="f64")]
# take_along_axis: repeated and negative indices (their adjoints add up), indices broadcast
# over x's leading axis, and the flattened array (axis=None)
CASES["take_along_axis"] = [
    C(normal((3, 4)), indices=np.array([[0, 2, 2], [3, 1, 0], [1, 1, -1]]), axis=1,
      label="repeats"),
    C(normal((3, 4)), indices=np.array([[2, 0, 1, 1]]), axis=0, label="broadcast"),
    C(normal((3, 4)), indices=np.array([5, 0, 11, 5]), axis=None, label="flat")]
CASES["take_along_grad"] = [
    C(normal((3, 3)), normal((3, 4)), indices=np.array([[0, 2, 2], [3, 1, 0], [1, 1, -1]]),
      axis=1, inactive=(1,), label="repeats"),
    C(normal((4,)), normal((3, 4)), indices=np.array([5, 0, 11, 5]), axis=None, inactive=(1,),
      label="flat")]
# np.convolve in each mode, the longer operand first and second (NumPy exchanges them)
CASES["convolve"] = [C(normal((5,)), normal((3,)), mode=m, label=f"{m}-{k}")
                     for m in ("full", "same", "valid") for k in ("long-short",)] + [
    C(normal((2,)), normal((6,)), mode=m, label=f"{m}-short-long")
    for m in ("full", "same", "valid")] + [C(normal((4,)), normal((4,)), label="equal")]
# cast_like: v as an adjoint of x (Re v where x is real); fft_fit: cut or padded to x's lengths
CASES["cast_like"] = [C(cnormal((3, 4)), normal((3, 4)), label="to-real"),
                      C(cnormal((3, 4)), cnormal((3, 4)), label="complex"),
                      C(normal((3, 4)), normal((3, 4)), label="real")]
# unit(x), abs's derivative (constant for a real x, which the harness sees as a zero adjoint)
CASES["unit"] = [C(caway((3, 4)), label="complex"), C(away((5,)), label="real"),
                 C(const(np.array([0j, 1 - 1j])), fd=False, label="complex-zero")]
CASES["fft_fit"] = [C(normal((3, 4)), normal((5, 2)), label="all-axes"),
                    C(cnormal((3, 4)), normal((3, 6)), axes=(1,), label="padded"),
                    C(normal((4, 5, 2)), normal((2, 5, 3)), axes=(0, -1), label="cut-and-padded"),
                    C(normal((3, 4)), normal((3, 4)), label="same")]
CASES["convolve_grad"] = [
    C(normal((n + m - 1 if mode == "full" else max(n, m) if mode == "same" else
              abs(n - m) + 1,)), normal((n,)), normal((m,)), mode=mode, inactive=(1,),
      label=f"{mode}-{n}-{m}")
    for mode in ("full", "same", "valid") for n, m in ((5, 3), (2, 6))]
CASES["log_base"] = [C(unif((3, 4), 0.5, 2.0), label="positive")]
CASES["replace_zero"] = [C(away((3, 4)), label="nonzero")]
CASES["spread"] = [C(unif((3,), 0.5, 2.0), normal((3, 4)), axis=1, inactive=(1,), label="row"),
                   C(unif((), 0.5, 2.0), normal((3, 4)), inactive=(1,), label="all"),
                   # rows of scales 1e-3 and 1e16: each row is measured against its own
                   C(unif((2,), 0.5, 2.0), lambda r: np.array([[1e-3, 2e-3], [1e16, 2e16]]),
                     axis=1, inactive=(1,), fd=False, label="row-scales")]  # fd: inf - inf

# --- np.linalg's decompositions (#17): each packed into one array (srcgrad/runtime/linalg.py) --

def symmetric(shape=(3, 3), gap=0.3):
    """A symmetric matrix (exactly) whose eigenvalues are at least ``gap`` apart: the
    eigenvectors' derivative grows as 1 / gap."""
    def draw(r):
        while True:
            b = r.standard_normal(shape)
            a = (b + np.swapaxes(b, -1, -2)) / 2
            if np.min(np.diff(np.linalg.eigvalsh(a), axis=-1), initial=np.inf) > gap:
                return a
    return draw


def spd(shape=(3, 3)):
    """A symmetric positive definite matrix (exactly symmetric, as NumPy's cholesky assumes)."""
    n = shape[-1]

    def draw(r):
        b = r.standard_normal(shape) / np.sqrt(n)
        a = b @ np.swapaxes(b, -1, -2) + np.eye(n)
        return (a + np.swapaxes(a, -1, -2)) / 2
    return draw


def distinct_sv(shape=(4, 3), gap=0.2):
    """A matrix whose singular values are at least ``gap`` apart and from 0."""
    def draw(r):
        while True:
            a = r.standard_normal(shape)
            s = np.linalg.svd(a, compute_uv=False)
            if np.min(s) > gap and np.min(-np.diff(s, axis=-1), initial=np.inf) > gap:
                return a
    return draw


def of_rank(n, rank):
    """An ``n`` x ``n`` matrix of rank ``rank`` (singular for rank < n)."""
    return lambda r: r.standard_normal((n, rank)) @ r.standard_normal((rank, n))


def spaced(shape=(3,)):
    """Increasing values at least 0.5 apart along the last axis (distinct eigenvalues)."""
    return lambda r: np.cumsum(r.uniform(0.5, 1.5, shape), axis=-1) - 2.0


CASES["det"] += [C(of_rank(3, 2), label="singular-rank2"), C(of_rank(3, 1), label="singular-rank1"),
                 C(of_rank(2, 1), label="singular-2x2")]
CASES["logabsdet"] = [C(well_conditioned((3, 3)), label="3x3"),
                      C(well_conditioned((2, 3, 3)), label="batched"),
                      C(lambda r: -well_conditioned((3, 3))(r), label="negative-det")]
CASES["cholesky"] = [C(spd((3, 3)), label="3x3"), C(spd((2, 4, 4)), label="batched"),
                     C(spd((1, 1)), label="1x1")]
CASES["eigh_packed"] = [C(symmetric((3, 3)), label="3x3"), C(symmetric((2, 4, 4)), label="batched"),
                        C(symmetric((1, 1)), label="1x1"),
                        C(symmetric((3, 3)), UPLO="U", label="upper")]
CASES["svd_packed"] = [C(distinct_sv((4, 3)), label="tall"), C(distinct_sv((3, 4)), label="wide"),
                       C(distinct_sv((3, 3)), label="square"),
                       C(distinct_sv((2, 4, 3)), label="batched-tall"),
                       C(distinct_sv((2, 2, 3)), label="batched-wide")]
CASES["qr_packed"] = [C(well_conditioned((3, 3)), label="square"),
                      C(distinct_sv((5, 3)), label="tall"),
                      C(distinct_sv((2, 4, 3)), label="batched")]
CASES["pinv"] = [C(distinct_sv((4, 3)), label="tall"), C(distinct_sv((3, 4)), label="wide"),
                 C(well_conditioned((3, 3)), label="square"),
                 C(distinct_sv((2, 4, 3)), label="batched")]
def _least_squares(a_spec, b_spec):
    """``a``, ``b`` and ``a``'s pseudo-inverse (an operand the derivatives read)."""
    def maker(r):
        a = a_spec(r)
        return [a, b_spec(r), np.linalg.pinv(a)]
    return maker


CASES["lstsq_solution"] = [
    made("tall-vector", _least_squares(distinct_sv((5, 3)), normal((5,)))),
    made("tall-matrix", _least_squares(distinct_sv((5, 3)), normal((5, 2)))),
    made("square", _least_squares(well_conditioned((3, 3)), normal((3,)))),
    made("wide-min-norm", _least_squares(distinct_sv((3, 5)), normal((3,)))),
    made("wide-matrix", _least_squares(distinct_sv((3, 5)), normal((3, 2))))]
CASES["from_triangle"] = [C(normal((3, 3)), label="lower"),
                          C(normal((2, 3, 3)), uplo="U", label="batched-upper")]
CASES["triangle_grad"] = [C(normal((3, 3)), label="lower"),
                          C(normal((2, 3, 3)), uplo="U", label="batched-upper")]
CASES["tril_half"] = [C(normal((3, 3)), label="2d"), C(normal((2, 4, 4)), label="batched")]
CASES["eig_quotient"] = [
    C(normal((3, 3)), spaced((3,)), normal((3, 3)), label="2d"),
    C(normal((2, 4, 4)), spaced((2, 4)), normal((2, 4, 4)), label="batched"),
    # an adjoint that is zero (the eigenvectors not read): zeros, even at equal eigenvalues
    C(normal((3, 3)), const(np.ones(3)), const(np.zeros((3, 3))), label="unread-ties")]
CASES["over"] = [C(normal((4, 3)), away((1, 3)), normal((4, 3)), label="2d"),
                 C(normal((2, 4, 3)), away((2, 1, 3)), normal((2, 4, 3)), label="batched"),
                 C(normal((4, 3)), const(np.array([[1.0, 0.0, 2.0]])), const(np.zeros((4, 3))),
                   label="unread-zero")]
CASES["cofactor"] = [C(well_conditioned((3, 3)), label="3x3"),
                     C(well_conditioned((2, 3, 3)), label="batched"),
                     C(of_rank(3, 2), label="singular"), C(well_conditioned((1, 1)), label="1x1")]
CASES["cofactor_jvp"] = [C(normal((3, 3)), well_conditioned((3, 3)), label="3x3"),
                         C(normal((2, 3, 3)), well_conditioned((2, 3, 3)), label="batched"),
                         C(normal((3, 3)), of_rank(3, 2), label="singular"),
                         C(normal((4, 4)), of_rank(4, 2), label="rank2")]

NONDIFF_CASES: dict[str, Case] = {
    "zero_grad": C(_F), "seed": C(normal(())), "stop_gradient": C(_F),
    "clip_share": C(_F, const(-0.5), const(0.5)),
    "reduced_count": C(_F, axis=1), "like": C(_F),
    **{n: C(_F) for n in ("sign", "floor", "ceil", "rint", "trunc", "isnan", "isinf",
                          "isfinite", "zeros_like", "ones_like",
                          "empty_like", "shape", "ndim", "size", "len")},
    "round": C(_F, decimals=1), "argmax": C(_F, axis=1), "argmin": C(_F, axis=1),
    "argsort": C(_F, axis=0),
    # three to a line and kth the middle: the arrangement is unique (NumPy's and jax's agree)
    "argpartition": C(normal((4, 3)), kth=1),
    "searchsorted": C(const(np.array([-1.0, 0.0, 0.5, 2.0])), _F, side="right"),
    "split_indices": C(const((3, 7)), const(3), axis=1, strict=False),
    "iscomplexobj": C(_F),
    "fft_len": C(_F, n=6, axis=0),
    "fft_lens": C(normal((3, 4, 2)), axes=(0, 2)), "fft_axes": C(normal((3, 4, 2)), s=(3, 3)),
    "fft2_axes": C(normal((3, 4, 2))), "swap_norm": Case((), {"norm": "ortho"}),
    "half_weights": C(normal((3, 6)), axis=1),
    **{n: C(_F, _G) for n in ("floor_divide", "less", "less_equal", "greater",
                              "greater_equal", "equal", "not_equal")},
    "isclose": C(_F, _G), "heaviside": C(_F, const(0.5)),
    "logical_and": C(_B, _B), "logical_or": C(_B, _B), "logical_not": C(_B),
    "invert": C(_I), "bitwise_and": C(_I, _I), "bitwise_or": C(_I, _I),
    "bitwise_xor": C(_I, _I),
    "slogdet_sign": C(well_conditioned((3, 3))), "lstsq_rank": C(normal((4, 3)), normal((4,))),
}


# --- the harness ----------------------------------------------------------------------------

def _rng(*parts) -> np.random.Generator:
    return np.random.default_rng(zlib.crc32("/".join(map(str, parts)).encode()))


def _is_active(rule: Rule, k: int, op) -> bool:
    if op is None or isinstance(op, (bool, int, np.integer)):
        return False
    if isinstance(op, np.ndarray) and op.dtype.kind not in "fc":
        return False
    return rule.variadic or (rule.vjp[k] is not None and not isinstance(rule.vjp[k], Undefined))


def _vjp(rule: Rule, k: int, xp, g, out, ops, params):
    if rule.variadic:
        return rule.vjp[0](xp, g, out, k, *ops, **params)
    return rule.vjp[k](xp, g, out, *ops, **params)


def _jvp(rule: Rule, k: int, xp, t, out, ops, params):
    if rule.variadic:
        return rule.jvp[0](xp, t, out, k, *ops, **params)
    return rule.jvp[k](xp, t, out, *ops, **params)


def _random_like(r, x):
    """A random value of ``x``'s shape; a Python float for scalars (the engine's seed); complex
    where ``x`` is."""
    s = np.shape(x)
    if np.iscomplexobj(x):
        return r.standard_normal(s) + 1j * r.standard_normal(s)
    return float(r.standard_normal()) if s == () else r.standard_normal(s)


def _inner(a, b) -> float:
    """``Re(sum(a b))``, the pairing of an adjoint with a tangent in JAX's convention for
    complex values (no conjugate; srcgrad/runtime/spectral.py): a plain inner product for
    real ones."""
    def wide(v):
        return np.asarray(v, dtype=np.complex128 if np.iscomplexobj(v) else np.float64)
    return float(np.real(np.sum(wide(a) * wide(b))))


def _to_jax(op):
    return jnp.asarray(op) if isinstance(op, np.ndarray) else op


RULE_CASES = [(name, case) for name, rule in DEFAULT_RULES.items() if rule.differentiable
              for case in CASES.get(name, [])]


# rules over lists and dicts built at run time (operands are lists or dicts, adjoints
# StructGrads): tested end to end against finite differences and jax.grad in
# tests/test_control_flow.py and tests/test_idioms.py (dict arguments)
LIST_RULES = {"append", "pop", "stack_list", "array_list", "sum_list", "pop_grad",
              "unpop_grad", "unstack_grad", "sum_list_grad", "densify", "dict_keys",
              "dict_values", "dict_items", "values_grad", "items_grad"}
# derivatives of derivatives' helpers, all of whose own derivatives are Undefined: their
# primals are checked as the jvps of prod_grad and norm_grad
UNDEFINED = {n for n, r in DEFAULT_RULES.items() if r.vjp is not None and
             all(isinstance(v, Undefined) for v in r.vjp)}


def test_every_rule_has_cases():
    diff = {n for n, r in DEFAULT_RULES.items() if r.differentiable} - LIST_RULES - UNDEFINED
    nondiff = set(DEFAULT_RULES) - diff - LIST_RULES - UNDEFINED
    assert sorted(diff - set(CASES)) == [], "differentiable rules without a test case"
    assert sorted(nondiff - set(NONDIFF_CASES)) == [], "non-differentiable rules without a case"
    assert sorted(set(CASES) - diff) == [] and sorted(set(NONDIFF_CASES) - nondiff) == []
    assert all(CASES[n] for n in diff)
    labels = [(n, c.label) for n, c in RULE_CASES]
    assert len(labels) == len(set(labels)), "case labels must be unique within a rule"


@dataclass
class Setup:
    """A case drawn: operands, which are differentiable, a cotangent and tangent directions."""

    ops: list
    params: dict
    out: Any
    active: list[int]
    c: Any
    v: dict[int, Any]


def _setup(name: str, case: Case) -> Setup:
    rule = DEFAULT_RULES[name]
    r = _rng(name, case.label)
    ops = case.make(r)
    out = rule.primal(np, *ops, **case.params)
    active = [k for k, op in enumerate(ops)
              if _is_active(rule, k, op) and k not in case.inactive]
    c = _random_like(r, out)
    return Setup(ops, case.params, out, active, c, {k: _random_like(r, ops[k]) for k in active})


@functools.cache
def _jax_vjps(name: str) -> list:
    """For every case of rule ``name``: ``(jax.vjp's cotangents, ours with xp=jax.numpy)``, or
    the exception raised. All cases of a rule are traced into one ``jax.jit`` (XLA compiles are
    what make jax slow here): our VJPs thereby also run on tracers."""
    rule = DEFAULT_RULES[name]
    setups = [_setup(name, case) for case in CASES[name]]
    errors: dict[int, BaseException] = {}

    def one(s: Setup, arrays, c):
        # arrays: the active array operands (traced); Python-float operands stay Python floats
        traced = dict(zip([k for k in s.active if isinstance(s.ops[k], np.ndarray)], arrays,
                          strict=True))
        base = [traced.get(k, op) for k, op in enumerate(s.ops)]

        def primal(*act):
            full = list(base)
            for k, a in zip(s.active, act, strict=True):
                full[k] = a
            return rule.primal(jnp, *full, **s.params)

        jout, pullback = jax.vjp(primal, *[base[k] for k in s.active])
        expected = pullback(c.astype(jout.dtype))
        ours = [_vjp(rule, k, jnp, c, jout, base, s.params) for k in s.active]
        return list(expected), ours

    def run(all_arrays, all_c):
        results = []
        for i, (s, arrays, c) in enumerate(zip(setups, all_arrays, all_c, strict=True)):
            try:
                results.append(one(s, arrays, c))
            except Exception as exc:  # reported by that case's test
                errors[i] = exc
                results.append(None)
        return results

    all_arrays = [[jnp.asarray(s.ops[k]) for k in s.active if isinstance(s.ops[k], np.ndarray)]
                  for s in setups]
    all_c = [jnp.asarray(s.c, dtype=np.complex128 if np.iscomplexobj(s.c) else np.float64)
             for s in setups]
    results = jax.jit(run)(all_arrays, all_c)
    return [errors.get(i, res) for i, res in enumerate(results)]


@pytest.mark.parametrize(("name", "case"), RULE_CASES,
                         ids=[f"{n}-{c.label}" for n, c in RULE_CASES])
def test_rule(name: str, case: Case):
    rule = DEFAULT_RULES[name]
    s = _setup(name, case)
    ops, params, out, active, c, v = s.ops, s.params, s.out, s.active, s.c, s.v
    assert active, "a case needs at least one differentiable operand"

    # (a) VJP against central finite differences of the primal
    vjps = {k: _vjp(rule, k, np, c, out, ops, params) for k in active}
    for k in active:
        assert np.shape(vjps[k]) == np.shape(ops[k]), f"adjoint of operand {k} has a wrong shape"
        assert np.asarray(vjps[k]).dtype == (
            np.complex128 if np.iscomplexobj(ops[k]) else np.float64), "adjoint's dtype"
    if case.fd:
        plus = [op + EPS * v[k] if k in v else op for k, op in enumerate(ops)]
        minus = [op - EPS * v[k] if k in v else op for k, op in enumerate(ops)]
        jv_fd = np.subtract(rule.primal(np, *plus, **params), rule.primal(np, *minus, **params))
        fd = _inner(c, jv_fd) / (2 * EPS)
        rev = sum(_inner(vjps[k], v[k]) for k in active)
        assert fd == pytest.approx(rev, rel=case.rtol, abs=case.rtol), "VJP != finite differences"

    # (b) JVP against VJP, operand by operand
    for k in active:
        t = _jvp(rule, k, np, v[k], out, ops, params)
        t = np.broadcast_to(t, np.shape(out))
        assert _inner(c, t) == pytest.approx(_inner(vjps[k], v[k]), rel=1e-9, abs=1e-9), (
            f"JVP and VJP of operand {k} disagree")

    # (c) our VJP with xp=jax.numpy on jax arrays (traced) against jax.vjp of the primal
    result = _jax_vjps(name)[CASES[name].index(case)]
    if isinstance(result, BaseException):
        raise result
    expected, ours = result
    for k, e, a in zip(active, expected, ours, strict=True):
        assert np.shape(a) == np.shape(ops[k]), f"jax adjoint of operand {k} has a wrong shape"
        np.testing.assert_allclose(np.asarray(a), np.asarray(e), rtol=1e-9, atol=1e-12,
                                   err_msg=f"jax VJP of operand {k}")
        np.testing.assert_allclose(np.asarray(a), vjps[k], rtol=1e-9, atol=1e-12,
                                   err_msg=f"numpy and jax VJPs of operand {k}")


def _has_float32(name: str, case: Case) -> bool:
    """Whether the case in float32 has a float32 array anywhere (an active operand or the
    cotangent): the Python-number cases have none, and nothing to say about float32."""
    s = _setup(name, case)
    return not isinstance(s.c, float) or any(
        isinstance(s.ops[k], np.ndarray) and s.ops[k].dtype.kind in "fc" for k in s.active)


FLOAT32_CASES = [(n, c) for n, c in RULE_CASES if _has_float32(n, c)]


@pytest.mark.parametrize(("name", "case"), FLOAT32_CASES,
                         ids=[f"{n}-{c.label}" for n, c in FLOAT32_CASES])
def test_rule_keeps_float32(name: str, case: Case):
    """float32 operands (and a float32 or Python-float cotangent) get float32 adjoints; so
    does a Python-float operand where the cotangent is float32 (JAX's weak type)."""
    rule = DEFAULT_RULES[name]
    s = _setup(name, case)
    ops = [op.astype(np.float32) if isinstance(op, np.ndarray) and op.dtype.kind == "f" else
           op.astype(np.complex64) if isinstance(op, np.ndarray) and op.dtype.kind == "c" else op
           for op in s.ops]
    out = rule.primal(np, *ops, **s.params)
    c = s.c if isinstance(s.c, float) else np.asarray(
        s.c, dtype=np.complex64 if np.iscomplexobj(s.c) else np.float32)
    checked = 0
    for k in s.active:
        if not isinstance(ops[k], np.ndarray) and isinstance(c, float):
            continue   # a Python number with a Python-float cotangent: no float32 to keep
        g = _vjp(rule, k, np, c, out, ops, s.params)
        checked += 1
        if isinstance(g, float):  # a Python-float cotangent passed through: still weak
            assert isinstance(c, float) and np.shape(ops[k]) == () and np.shape(out) == ()
        else:
            want = np.complex64 if np.iscomplexobj(ops[k]) else np.float32
            assert np.asarray(g).dtype == want, f"adjoint of operand {k} is {g.dtype}"
    assert checked, "no float32 adjoint in this case"


def _numpy_twin(name: str):
    """The NumPy function of rule ``name``'s name (None for the helpers of generated code)."""
    for space in (np, np.linalg, np.fft):
        f = getattr(space, name, None)
        if callable(f) and not isinstance(f, type):
            return f
    return None


NUMPY_CASES = [(n, c) for n, c in [*RULE_CASES, *NONDIFF_CASES.items()]
               if _numpy_twin(n) is not None and n not in ("astype", "empty_like")]
# (x.astype(dtype) is a method: np.astype is another spelling only in NumPy 2; empty_like's
# values are whatever the memory held)


@pytest.mark.parametrize(("name", "case"), NUMPY_CASES,
                         ids=[f"{n}-{c.label}" for n, c in NUMPY_CASES])
def test_rule_primal_is_numpys_function(name: str, case: Case):
    """A rule's primal computes what the NumPy function it stands for computes, exactly
    (the rule tests compare derivatives with jax, but a primal and its jax twin could be
    wrong together)."""
    rule = DEFAULT_RULES[name]
    ops = case.make(_rng("twin", name, case.label))
    params = dict(case.params)
    got = rule.primal(np, *ops, **params)
    f = _numpy_twin(name)
    if name == "einsum":
        want = f(params.pop("subscripts"), *ops, **params)
    elif rule.variadic:
        want = f(list(ops), **params)
    else:
        want = f(*ops, **params)
    assert np.shape(got) == np.shape(want)
    np.testing.assert_array_equal(np.asarray(got), np.asarray(want))


HELPER_CASES = [(n, c) for n, c in [*RULE_CASES, *NONDIFF_CASES.items()] if n in HELPERS]


def _assert_same_value(got, want):
    """Equal values, also where they are lists, tuples or dicts of arrays."""
    if isinstance(want, (list, tuple)):
        assert isinstance(got, (list, tuple)) and len(got) == len(want)
        for a, b in zip(got, want, strict=True):
            _assert_same_value(a, b)
    elif isinstance(want, dict):
        assert isinstance(got, dict) and got.keys() == want.keys()
        for k in want:
            _assert_same_value(got[k], want[k])
    elif type(want).__name__ == "Like":   # a saved value's shape and dtype
        assert type(got) is type(want) and (got.shape, got.dtype) == (want.shape, want.dtype)
    else:
        assert np.shape(got) == np.shape(want)
        np.testing.assert_array_equal(np.asarray(got), np.asarray(want))


@pytest.mark.parametrize(("name", "case"), HELPER_CASES,
                         ids=[f"{n}-{c.label}" for n, c in HELPER_CASES])
def test_helper_rule_primal_is_the_helper(name: str, case: Case):
    """The rule of a run-time helper computes what the helper computes: its primal is what a
    higher-order derivative inlines for the helper's call in generated code, and the rule
    tests check the rule's derivatives against its own primal (a wrong primal with
    derivatives to match would pass them)."""
    rule = DEFAULT_RULES[name]
    ops = case.make(_rng("helper", name, case.label))
    got = rule.primal(np, *copy.deepcopy(ops), **case.params)
    ops = copy.deepcopy(ops)
    if name == "einsum_grad":   # einsum_grad(g, i, subscripts, *operands)
        want = HELPERS[name](ops[0], case.params["i"], case.params["subscripts"], *ops[1:])
    else:
        want = HELPERS[name](*ops, **case.params)
    _assert_same_value(got, want)


@pytest.mark.parametrize("name", ["less", "less_equal", "greater", "greater_equal", "equal",
                                  "not_equal", "maximum", "minimum"])
def test_comparisons_at_ties_are_numpys(name):
    """Random operands never tie: at ties, ``<=`` and ``<`` are told apart here."""
    a, b = np.array([1.0, 2.0, 3.0, -0.5]), np.array([1.0, 0.0, 3.0, 0.5])
    np.testing.assert_array_equal(DEFAULT_RULES[name].primal(np, a, b), getattr(np, name)(a, b))


def test_round_rounds_to_whole_numbers_by_default():
    x = np.array([0.26, 1.5, -2.71, 3.49])
    np.testing.assert_array_equal(DEFAULT_RULES["round"].primal(np, x), np.round(x))


@pytest.mark.parametrize("name", sorted(NONDIFF_CASES))
def test_nondiff_primal_runs(name: str):
    rule = DEFAULT_RULES[name]
    assert not rule.differentiable and rule.jvp is None
    case = NONDIFF_CASES[name]
    ops = case.make(_rng(name))
    out = rule.primal(np, *ops, **case.params)
    jout = rule.primal(jnp, *[_to_jax(op) for op in ops], **case.params)
    if name == "empty_like":
        assert np.shape(out) == np.shape(jout) == np.shape(ops[0])
    elif name == "split_indices":  # basic indices, not arrays
        assert out == jout == [(slice(None), slice(0, 3)), (slice(None), slice(3, 5)),
                               (slice(None), slice(5, 7))]
    elif name == "swap_norm":  # a string
        assert out == jout == "ortho"
    elif name == "like":  # a saved value's shape and dtype, not an array
        assert out.shape == jout.shape == np.shape(ops[0]) and out.ndim == ops[0].ndim
        assert out.dtype == ops[0].dtype and jout.dtype == jnp.asarray(ops[0]).dtype
    else:
        np.testing.assert_allclose(np.asarray(jout), np.asarray(out), rtol=1e-12)


def test_maximum_minimum_ties_split_evenly():
    """At ties each operand gets half the derivative, as in jax, whichever comes first; the
    halves sum to the whole, and a float32 derivative stays float32."""
    x, g = np.array([-1.0, 0.0, 2.0]), np.ones(3)
    for name, da_expected in (("maximum", [0.0, 0.5, 1.0]), ("minimum", [1.0, 0.5, 0.0])):
        rule = DEFAULT_RULES[name]
        for a, b in ((x, 0.0), (0.0, x)):
            out = rule.primal(np, a, b)
            da = _vjp(rule, 0, np, g, out, [a, b], {})
            db = _vjp(rule, 1, np, g, out, [a, b], {})
            mine, other = (da, db) if a is x else (db, da)
            np.testing.assert_array_equal(mine, da_expected)
            assert other == 3.0 - sum(da_expected)
        x32 = x.astype(np.float32)
        da = _vjp(rule, 0, np, g.astype(np.float32), rule.primal(np, x32, 0.0), [x32, 0.0], {})
        assert da.dtype == np.float32


def test_clip_bounds_take_half():
    """np.clip as minimum(maximum(x, lo), hi): 1/2 at a bound to x, 1/2 to the bound."""
    x, g = np.array([-1.0, 0.0, 0.5, 1.0, 2.0]), np.ones(5)
    rule = DEFAULT_RULES["clip"]
    out = rule.primal(np, x, 0.0, 1.0)
    shares = [_vjp(rule, i, np, g, out, [x, 0.0, 1.0], {}) for i in range(3)]
    np.testing.assert_array_equal(shares[0], [0.0, 0.5, 1.0, 0.5, 0.0])
    assert (shares[1], shares[2]) == (1.5, 1.5)
    want = [jax.grad(lambda *v: jnp.sum(jnp.clip(*v)), argnums=i)(x, 0.0, 1.0) for i in range(3)]
    for got, w in zip(shares, want, strict=True):
        np.testing.assert_allclose(got, w)


@pytest.mark.parametrize("xp", [np, jnp], ids=["numpy", "jax"])
def test_norm_of_zero_has_a_zero_adjoint(xp):
    """At the zero vector each norm's adjoint is 0 (no 0/0), whatever its ``ord``."""
    rule = DEFAULT_RULES["norm"]
    for x, params in ((xp.zeros(3), {}), (xp.zeros((2, 3)), {"axis": 1}),
                      *((xp.zeros(3), {"ord": p}) for p in (1, 2, 3, 2.5, np.inf))):
        out = rule.primal(xp, x, **params)
        g = _vjp(rule, 0, xp, xp.ones_like(out), out, [x], params)
        np.testing.assert_array_equal(np.asarray(g), np.zeros(x.shape))


def test_getitem_of_containers():
    """Indexing a tuple, list or dict: the adjoints of two reads add up item by item, and
    ``densify`` puts them back into the container's structure, zeros for unread items."""
    rule = DEFAULT_RULES["getitem"]
    a, b, c = np.ones(2), np.ones(3), np.ones(4)
    g1, g2 = np.full(3, 2.0), np.full(3, 5.0)
    for x, i, j in (((a, b, c), 1, -2), ([a, b, c], 1, 1), ({"a": a, "b": b, "c": c}, "b", "b")):
        out = rule.primal(np, x, index=i)
        assert out is b
        total = _vjp(rule, 0, np, g1, out, [x], {"index": i}) + \
            _vjp(rule, 0, np, g2, out, [x], {"index": j})
        dense = densify(total, x)
        assert type(dense) is type(x)
        items = list(dense.values()) if isinstance(dense, dict) else list(dense)
        for got, want in zip(items, [np.zeros(2), g1 + g2, np.zeros(4)], strict=True):
            np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("xp", [np, jnp], ids=["numpy", "jax"])
def test_astype_adjoint_has_the_operand_dtype(xp):
    rule = DEFAULT_RULES["astype"]
    x = xp.linspace(0.0, 1.0, 3, dtype=np.float32)
    out = rule.primal(xp, x, dtype=np.float64)
    assert out.dtype == np.float64
    g = _vjp(rule, 0, xp, xp.ones(3, dtype=np.float64), out, [x], {"dtype": np.float64})
    assert g.dtype == np.float32 and g.shape == (3,)


def _rule_functions():
    for name, rule in DEFAULT_RULES.items():
        fns = [("primal", rule.primal)]
        for kind in ("jvp", "vjp"):
            for k, fn in enumerate(getattr(rule, kind) or ()):
                if fn is not None and not hasattr(fn, "primal") and not isinstance(
                        fn, Undefined):  # LinearJvp wraps the primal
                    fns.append((f"{kind}{k}", fn))
        for what, fn in fns:
            yield pytest.param(fn, id=f"{name}-{what}")


@pytest.mark.parametrize("fn", list(_rule_functions()))
def test_rule_bodies_are_inlinable(fn):
    """A single return expression over parameters, ``xp``, builtins and the helpers that
    generated code sees: the code generator inlines bodies by substitution of names."""
    expr, parameters = _template(fn)  # raises unless the body is one return expression
    tree = ast.parse(code(expr), mode="eval")
    params = {p.name for p in parameters}
    names = [n for n in ast.walk(tree) if isinstance(n, ast.Name)]
    bound = {n.id for n in names if isinstance(n.ctx, ast.Store)}  # comprehension variables
    free = {n.id for n in names if isinstance(n.ctx, ast.Load)} - params - bound
    unknown = {n for n in free if n not in HELPERS and not hasattr(builtins, n)}
    assert not unknown, f"names generated code cannot see: {sorted(unknown)}"


# --- property-based broadcasting ------------------------------------------------------------

BROADCAST_OPS = {
    "add": (normal, normal), "subtract": (normal, normal), "multiply": (normal, normal),
    "divide": (normal, away), "maximum": (normal, normal), "arctan2": (away, away),
    "hypot": (away, away),
}


@pytest.mark.parametrize("name", sorted(BROADCAST_OPS))
@settings(max_examples=25, deadline=None)
@given(shapes=hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3,
                                                 max_side=3),
       seed=st.integers(0, 2**32 - 1))
def test_broadcasting_property(name, shapes, seed):
    rule = DEFAULT_RULES[name]
    sa, sb = shapes.input_shapes
    fa, fb = BROADCAST_OPS[name]
    r = np.random.default_rng(seed)
    for _ in range(100):
        a, b = fa(sa)(r), fb(sb)(r)
        if name != "maximum" or _gap(a, b, 1e-3):
            break
    out = rule.primal(np, a, b)
    assert np.shape(out) == shapes.result_shape
    c = r.standard_normal(np.shape(out))
    va, vb = r.standard_normal(sa), r.standard_normal(sb)
    ga, gb = (_vjp(rule, k, np, c, out, [a, b], {}) for k in (0, 1))
    assert np.shape(ga) == sa and np.shape(gb) == sb
    fd = _inner(c, rule.primal(np, a + EPS * va, b + EPS * vb)
                - rule.primal(np, a - EPS * va, b - EPS * vb)) / (2 * EPS)
    assert fd == pytest.approx(_inner(ga, va) + _inner(gb, vb), rel=1e-5, abs=1e-6)


# --- float32 stays float32 ------------------------------------------------------------------
# Functions given to srcgrad must reach numpy through the global name ``np``.

def f32_unary(x):
    return np.sum(np.tanh(x) * np.exp(x) + np.sqrt(x * x + 1.0))


def f32_binary_const(x):
    return np.sum(x * 2.5 + 1.0 - x / 3.0 + x ** 2.0 + np.maximum(x, 0.1))


def f32_reductions(x):
    return np.sum(x, axis=0).mean() + np.mean(x) + x.sum() + np.var(x, axis=1).sum()


def f32_matmul(x, w):
    return np.sum(np.tanh(x @ w))


def f32_shapes(x):
    return np.sum(x.reshape(2, 6).T * np.transpose(x).reshape(6, 2))


def f32_getitem(x):
    return np.sum(x[1:, ::2] ** 2) + x[0, 1] * x[-1, -1]


def f32_norm(x):
    return np.linalg.norm(x) + np.sum(np.abs(x))


F32_CASES = [(f32_unary, 0), (f32_binary_const, 0), (f32_reductions, 0), (f32_matmul, (0, 1)),
             (f32_shapes, 0), (f32_getitem, 0), (f32_norm, 0)]


@pytest.mark.parametrize("backend", ["numpy", "jax"])
@pytest.mark.parametrize(("fn", "wrt"), F32_CASES, ids=[f.__name__ for f, _ in F32_CASES])
def test_float32_preserved(fn, wrt, backend):
    r = _rng(fn.__name__)
    args = [r.uniform(0.5, 1.5, (3, 4)).astype(np.float32)]
    if fn is f32_matmul:
        args.append(r.standard_normal((4, 2)).astype(np.float32))
    if backend == "jax":
        args = [jnp.asarray(a) for a in args]
    grads = srcgrad.grad(fn, wrt=wrt, backend=backend)(*args)
    grads = grads if isinstance(wrt, tuple) else (grads,)
    positions = wrt if isinstance(wrt, tuple) else (wrt,)
    for g, i in zip(grads, positions, strict=True):
        assert g.dtype == np.float32, f"gradient of argument {i} is {g.dtype}"
        assert g.shape == args[i].shape


# --- end to end: srcgrad.grad against jax.grad ----------------------------------------------

def e_sin_tanh(x):
    return np.sum(np.sin(x) * np.tanh(x))


def e_two_layer(w1, w2, x, y):
    h = np.maximum(x @ w1, 0.0)
    return np.sum((h @ w2 - y) ** 2)


def e_sum_axis(x):
    s = np.sum(x ** 2, axis=1)
    return np.sum(np.sum(x, axis=-1, keepdims=True) * x) + np.sum(s * s)


def e_mean_method(x):
    return x.mean() * np.exp(x).mean(axis=0).sum()


def e_transpose(x, w):
    return np.sum(np.sin(x.T @ w))


def e_reshape(x):
    return np.sum(np.cos(x.reshape(4, 3)) @ np.arange(3.0))


def e_det(a):
    return np.linalg.det(a)


def e_inv_solve(a, b):
    return np.sum(np.linalg.inv(a) @ b) + np.sum(np.linalg.solve(a, b) ** 2)


def e_einsum(a, b):
    return np.einsum("ij,jk->", a, b) + np.sum(np.einsum("ij,jk->ik", a, b) ** 2)


def e_einsum_trace(a):
    return np.einsum("ii->", a @ a)


def e_concatenate(a, b):
    return np.sum(np.concatenate([a, b]) ** 3)


def e_stack(a, b):
    return np.sum(np.stack([a, b], axis=1) ** 2 * np.arange(2.0))


def e_slices(x):
    return np.sum(x[1:, ::2] ** 2) + x[0, -1] * np.sum(x[::-1, 1])


MASK = np.arange(12).reshape(3, 4) % 3 == 0


def e_fancy(x):
    return np.sum(x[np.array([0, 0, 2])] ** 2) + np.sum(x[MASK] ** 3)


def e_data_mask(x):
    return np.sum(x[x > 0] ** 2)


def e_softmax(x):
    z = x - np.max(x, axis=1, keepdims=True)
    return np.sum(np.log(np.sum(np.exp(z), axis=1)))


def e_norm(x):
    return np.linalg.norm(x) + np.linalg.norm(x, axis=1).sum()


def e_var_std(x):
    return np.var(x) + x.std(axis=1, ddof=1).sum()


def e_where(x):
    return np.sum(np.where(x > 0, x ** 2, -x))


def e_clip(x):
    return np.sum(np.clip(x, -0.5, 0.5) * x)


def e_broadcast(x, b):
    return np.sum((x + b) ** 2 / (1.0 + b * b))


def e_power(x, y):
    return np.sum(x ** y)


def e_prod_cumsum(x):
    return np.sum(np.prod(x, axis=0)) + np.sum(np.cumsum(x, axis=1) ** 2)


def e_tile_repeat(x):
    return np.sum(np.tile(x, (2, 1)) ** 2) + np.sum(np.repeat(x, 2, axis=1) * x.mean())


def e_trace_diag(a):
    return np.trace(a @ a) + np.sum(np.diag(a) ** 2)


def e_outer_dot(a, b):
    return np.sum(np.outer(a, b) ** 2) + np.dot(a, a)


def e_expand_squeeze(x):
    return np.sum(np.squeeze(np.expand_dims(x, 0)) * np.flip(x, 1))


def e_trig(a, b):
    return np.sum(np.arctan2(a, b) + np.hypot(a, b) + np.logaddexp(a, b))


def e_abs_minmax(x):
    return np.sum(np.abs(x)) + np.max(x) - np.min(x, axis=0).sum()


def e_matvec(a, v):
    return np.sum((a @ v) ** 2) + v @ v


def e_reassign(x):
    y = x * 2.0
    y = y + np.sin(y)
    y = y.T @ x
    return np.sum(y)


def e_augmented(x):
    y = x * 1.0
    y += np.sin(x)
    y *= x
    y -= 2.0
    y /= 3.0
    return np.sum(y ** 2)


def e_unpack(x):
    a, b = x[0], x[1]
    c, d, e = x
    return np.sum(a * b + c * d * e)


def e_local_functions(x):
    def g(u, k=2.0):
        return u * k + np.exp(u)

    f = lambda z: z ** 3 + z
    return np.sum(g(x) + g(x, 3.0) + f(x) * f(2.0 * x))


def e_scalar_param(a, x):
    return np.sum(np.sin(a * x)) + a ** 2


def e_method_args(x):
    return (np.sum(np.mean(x, 1) ** 2) + x.sum(1).prod() + np.sum(x.reshape((2, -1))[1])
            + np.sum(x.reshape(2, -1) ** 2) + np.sum(x.transpose(1, 0)[0] ** 3))


def e_standardize(x):
    m = np.mean(x, axis=1, keepdims=True)
    s = np.std(x, axis=1, keepdims=True)
    return np.sum(((x - m) / s) ** 3)


def e_index_variety(x):
    return (np.sum(x[None] * 2) + np.sum(x[..., 0]) + x[-1, -1] + np.sum(x[:, None, 1:] ** 2)
            + np.sum(x[np.array([0, 0, 1])][:, np.array([1, 1])]))


def e_scalars(x):
    s = np.sum(x)
    m = x.mean()
    t = s * m + s
    return t * np.max(x) + np.var(x) * s


def e_shared_subexpression(x, mu):
    return np.sum((x - mu) ** 2) + np.sum((x - mu) * 3.0)


def e_params_tuple(params, x):
    w, b = params
    return np.sum(np.tanh(x @ w + b))


def e_params_dict(params, x):
    return np.sum(np.tanh(x @ params["w"] + params["b"]))


def e_matrix_norms(x):
    return np.linalg.norm(x, ord=2) + np.linalg.norm(x, "nuc") + np.linalg.norm(x, 1)


def e_tensordot_pairs(a, b):
    return np.sum(np.tensordot(a, b, axes=([0, 1], [1, 0])) ** 2)


def e_solve_vector(a, b):
    return np.sum(np.linalg.solve(a, b) ** 2)


def e_convolve_modes(a, v):
    return (np.sum(np.convolve(a, v) ** 2) + np.sum(np.convolve(v, a, mode="same") * a[0])
            + np.sum(np.sin(np.convolve(a, v, "valid"))))


def e_take_along_axis(x):
    order = np.argsort(x, axis=1)
    return np.sum(np.take_along_axis(x, order, axis=1) * np.arange(4.0)) + np.sum(
        np.take_along_axis(x, np.array([[0, 0, 3]]), axis=1) ** 2)


def e_power_spectrum(x):
    return np.sum(np.abs(np.fft.rfft(x)) ** 2) + np.sum(np.abs(np.fft.rfft(x, n=9)))


def e_spectral_filter(x, h):
    return np.sum(np.real(np.fft.ifft(np.fft.fft(x) * h)) ** 2)


def e_fft2_parts(x):
    y = np.fft.fft2(x, norm="ortho")
    return np.sum(y.real * np.imag(y)) + np.sum(np.angle(y[1:, 1:])) + np.sum(
        np.fft.irfft2(np.fft.rfft2(x) * (1 + 0.5j), s=(4, 5)) ** 2)


def _m(*shape):
    return lambda r: r.standard_normal(shape)


def _wc(n, batch=()):
    return lambda r: r.standard_normal((*batch, n, n)) / np.sqrt(n) + 2.0 * np.eye(n)


def _pos(*shape):
    return lambda r: r.uniform(0.5, 2.0, shape)


def _tuple(*makers):
    return lambda r: tuple(m(r) for m in makers)


E2E = [
    (e_sin_tanh, [_m(3, 4)], 0),
    (e_two_layer, [_m(5, 4), _m(4, 3), _m(8, 5), _m(8, 3)], ("w1", "w2")),
    (e_sum_axis, [_m(3, 4)], 0),
    (e_mean_method, [_m(3, 4)], 0),
    (e_transpose, [_m(4, 3), _m(4, 2)], (0, 1)),
    (e_reshape, [_m(3, 4)], 0),
    (e_det, [_wc(3)], 0),
    (e_inv_solve, [_wc(3), _m(3, 2)], (0, 1)),
    (e_einsum, [_m(3, 4), _m(4, 2)], (0, 1)),
    (e_einsum_trace, [_m(3, 3)], 0),
    (e_concatenate, [_m(2, 3), _m(4, 3)], (0, 1)),
    (e_stack, [_m(3,), _m(3,)], (0, 1)),
    (e_slices, [_m(4, 5)], 0),
    (e_fancy, [_m(3, 4)], 0),
    (e_data_mask, [_m(3, 4)], 0),
    (e_softmax, [_m(3, 4)], 0),
    (e_norm, [_m(3, 4)], 0),
    (e_var_std, [_m(3, 4)], 0),
    (e_where, [_m(3, 4)], 0),
    (e_clip, [_m(3, 4)], 0),
    (e_broadcast, [_m(3, 4), _m(4)], ("x", "b")),
    (e_power, [_pos(3, 4), _m(4)], (0, 1)),
    (e_prod_cumsum, [_m(3, 4)], 0),
    (e_tile_repeat, [_m(2, 3)], 0),
    (e_trace_diag, [_m(3, 3)], 0),
    (e_outer_dot, [_m(3), _m(4)], (0, 1)),
    (e_expand_squeeze, [_m(3, 4)], 0),
    (e_trig, [_m(3, 4), _m(4)], (0, 1)),
    (e_abs_minmax, [_m(3, 4)], 0),
    (e_matvec, [_m(3, 4), _m(4)], (0, 1)),
    (e_reassign, [_m(3, 3)], 0),
    (e_augmented, [_m(3, 4)], 0),
    (e_unpack, [_m(3, 4)], 0),
    (e_local_functions, [_m(3, 4)], 0),
    (e_scalar_param, [lambda r: 0.7, _m(3, 4)], (0, 1)),
    (e_method_args, [_m(3, 4)], 0),
    (e_standardize, [_m(3, 4)], 0),
    (e_index_variety, [_m(3, 4)], 0),
    (e_scalars, [_m(3, 4)], 0),
    (e_shared_subexpression, [_m(3, 4), _m(4)], (0, 1)),
    (e_params_tuple, [_tuple(_m(4, 2), _m(2)), _m(3, 4)], 0),
    (e_params_dict, [lambda r: {"w": r.standard_normal((4, 2)), "b": r.standard_normal(2)},
                     _m(3, 4)], (0, 1)),
    (e_matrix_norms, [_m(3, 4)], 0),
    (e_tensordot_pairs, [_m(3, 4, 2), _m(4, 3, 5)], (0, 1)),
    (e_solve_vector, [_wc(3, (2,)), _m(3)], (0, 1)),
    (e_convolve_modes, [_m(6), _m(3)], (0, 1)),
    (e_take_along_axis, [_m(3, 4)], 0),
    (e_power_spectrum, [_m(8)], 0),
    (e_spectral_filter, [_m(7), _m(7)], (0, 1)),   # (complex arguments: test_complex.py)
    (e_fft2_parts, [_m(4, 6)], 0),
]
E2E_IDS = [f.__name__ for f, _, _ in E2E]
EAGER_ONLY = {e_data_mask}   # a data-dependent boolean mask cannot be traced by jax.jit


def _with_jnp(fn):
    """``fn`` with its global ``np`` bound to ``jax.numpy``."""
    namespace = {**fn.__globals__, "np": jnp}
    return types.FunctionType(fn.__code__, namespace, fn.__name__, fn.__defaults__,
                              fn.__closure__)


def _e2e_args(fn, makers):
    r = _rng(fn.__name__)
    return [m(r) for m in makers]


def _argnums(fn, wrt) -> tuple[int, ...]:
    params = list(inspect.signature(fn).parameters)
    items = wrt if isinstance(wrt, tuple) else (wrt,)
    return tuple(w if isinstance(w, int) else params.index(w) for w in items)


@functools.cache
def _jax_grad(index: int):
    """``jax.grad`` of the jnp twin of ``E2E[index]`` (jitted: one XLA compile, shared by the
    backends)."""
    fn, makers, wrt = E2E[index]
    args = jax.tree.map(jnp.asarray, _e2e_args(fn, makers))
    grad = jax.grad(_with_jnp(fn), argnums=_argnums(fn, wrt))
    return (grad if fn in EAGER_ONLY else jax.jit(grad))(*args)


@pytest.mark.parametrize("backend", ["numpy", "jax"])
@pytest.mark.parametrize("index", range(len(E2E)), ids=E2E_IDS)
def test_end_to_end_against_jax(index, backend):
    fn, makers, wrt = E2E[index]
    args = _e2e_args(fn, makers)
    argnums = _argnums(fn, wrt)
    ours = srcgrad.grad(fn, wrt=wrt, backend=backend)(*args)
    ours = ours if isinstance(wrt, tuple) else (ours,)
    for i, a, b in zip(argnums, ours, _jax_grad(index), strict=True):
        assert jax.tree.structure(a) == jax.tree.structure(args[i])
        for u, w, x in zip(jax.tree.leaves(a), jax.tree.leaves(b), jax.tree.leaves(args[i]),
                           strict=True):
            assert np.shape(u) == np.shape(x)
            np.testing.assert_allclose(np.asarray(u), np.asarray(w), rtol=1e-9, atol=1e-12,
                                       err_msg=f"gradient of argument {i}")


JIT_SUBSET = ["e_two_layer", "e_softmax", "e_fancy", "e_slices", "e_params_dict",
              "e_matrix_norms", "e_local_functions", "e_scalar_param", "e_spectral_filter",
              "e_fft2_parts"]


@pytest.mark.parametrize("name", JIT_SUBSET)
def test_end_to_end_jitted(name):
    """The generated code also runs under ``jax.jit`` (``backend="jax", jit=True``)."""
    index = E2E_IDS.index(name)
    fn, makers, wrt = E2E[index]
    args = _e2e_args(fn, makers)
    ours = srcgrad.grad(fn, wrt=wrt, backend="jax", jit=True)(*args)
    ours = ours if isinstance(wrt, tuple) else (ours,)
    for a, b in zip(ours, _jax_grad(index), strict=True):
        for u, w in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True):
            np.testing.assert_allclose(np.asarray(u), np.asarray(w), rtol=1e-9, atol=1e-12)


# --- the run-time helpers called directly: edges no rule case reaches --------------------------

def test_erf_without_scipy_is_math_erf_elementwise(monkeypatch):
    """Without SciPy, ``erf`` is ``math.erf`` of each element, also of no elements."""
    import scipy.special

    from srcgrad.runtime.arrays import erf
    x = np.array([[-2.0, -0.3, 0.0], [0.1, 1.0, 3.5]])
    expected = scipy.special.erf(x)
    monkeypatch.setitem(sys.modules, "scipy.special", None)   # import raises ImportError
    got = erf(x)
    assert got.dtype == np.float64
    np.testing.assert_allclose(got, expected, rtol=1e-15, atol=1e-16)
    empty = erf(np.zeros((0, 3)))
    assert empty.shape == (0, 3) and empty.dtype == np.float64


@pytest.mark.xfail(strict=True, raises=AssertionError)
def test_erf_without_scipy_keeps_float32(monkeypatch):
    """Bug (found by mutation testing): without SciPy, ``erf`` of a float32 array is float64
    (``otypes=[np.result_type(x, np.float64)]``), where SciPy's ``erf`` and jax's keep
    float32, as every rule does; a float32 program's values turn float64 from there on."""
    from srcgrad.runtime.arrays import erf
    monkeypatch.setitem(sys.modules, "scipy.special", None)
    assert erf(np.array([0.5, -1.0], dtype=np.float32)).dtype == np.float32


def test_seed_is_one_for_a_scalar_output_of_any_kind():
    """The backward sweep starts from 1.0 for a Python number, a NumPy scalar or a 0-d array;
    an output with a shape is refused."""
    from srcgrad.errors import SrcGradError
    from srcgrad.runtime.structures import seed
    for out in (2.5, 3, np.float64(2.0), np.float32(2.0), np.array(2.0)):
        assert seed(out) == 1.0
    with pytest.raises(SrcGradError, match="scalar output"):
        seed(np.ones(3))


# --- regression: engine bugs found on the way ------------------------------------------------

def e_array_of_an_array(x):
    return np.sum(np.array(x) ** 2)


def test_engine_np_array_of_an_array():
    x = np.array([1.0, -2.0, 3.0])
    np.testing.assert_allclose(srcgrad.grad(e_array_of_an_array)(x), 2 * x)
