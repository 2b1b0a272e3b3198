"""Derivatives at kinks and edges follow the conventions of docs/rules.md, for arrays and for
Python floats alike, checked against jax.grad: ties of maximum/minimum and clip's bounds split
evenly, |x| has derivative 1 at 0, sqrt, log and powers at 0 and NaN and inf are JAX's."""

from __future__ import annotations

import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from oracle import numpy_is

import srcgrad

jax.config.update("jax_enable_x64", True)
INF, NAN = float("inf"), float("nan")


def relu(x):
    return np.maximum(x, 0.0)


def relu_zero_first(x):
    return np.maximum(0.0, x)


def floor_at_zero(x):
    return np.minimum(x, 0.0)


def absolute(x):
    return np.abs(x)


def clipped(x):
    return np.clip(x, 0.0, 1.0)


def root(x):
    return np.sqrt(x)


def logarithm(x):
    return np.log(x)


def half_power(x):
    return x ** 0.5


def square(x):
    return x ** 2


def zero_to_the(x):
    return 0.0 ** x


def int_zero_power(x):
    return x ** 0


def self_power(x):
    return x ** x


def angle(x):
    return np.arctan2(x, 0.0)


def smooth(x):
    return np.tanh(x) * np.exp(x)


# (function, point, srcgrad's derivative, JAX's where it differs, or None where they agree)
CONVENTIONS = [
    (relu, 0.0, 0.5, None),           # ties split evenly, whichever operand comes first
    (relu_zero_first, 0.0, 0.5, None),
    (floor_at_zero, 0.0, 0.5, None),
    (absolute, 0.0, 1.0, None),       # |x| at 0: 1
    (clipped, 0.0, 0.5, None),        # a bound is a tie of maximum or minimum
    (clipped, 1.0, 0.5, None),
    (root, 0.0, INF, None),
    (logarithm, 0.0, INF, None),
    (half_power, 0.0, INF, None),
    (square, 0.0, 0.0, None),
    (zero_to_the, 0.0, 0.0, None),    # d(a ** b)/db = a ** b log a, taken as 0 at a == 0
    (int_zero_power, 0.0, 0.0, None),  # x ** 0 is constant (JAX's integer_pow)
    (self_power, 0.0, NAN, None),
    (angle, 0.0, NAN, None),
    (smooth, NAN, NAN, None),         # NaN propagates
    (smooth, -INF, 0.0, None),        # 0 * 0 + (-1) * 0
]


def _jax_grad(fn, x):
    with numpy_is(__name__, jnp):
        return float(jax.grad(fn)(x))


def _kinks():
    for fn, x, ours, theirs in CONVENTIONS:
        for kind in ("float", "array"):
            for mode in ("grad", "jvp", "derivative"):
                if not (mode == "derivative" and kind == "array"):
                    yield pytest.param(fn, x, ours, theirs, kind, mode,
                                       id=f"{mode}-{kind}-{fn.__name__}-{x}")


@pytest.mark.parametrize(("fn", "x", "ours", "theirs", "kind", "mode"), list(_kinks()))
def test_derivative_at_a_kink_or_edge(fn, x, ours, theirs, kind, mode):
    """Reverse and forward mode keep the same conventions; a Python float never raises where
    NumPy gives inf or nan (1 / 0, 0 ** -1)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # NumPy warns of 1 / 0; the value is inf
        if kind == "float" and mode == "grad":
            got = srcgrad.grad(fn)(x)
            assert isinstance(got, float)  # never a bool, never a ZeroDivisionError
        elif mode == "derivative":
            got = srcgrad.derivative(fn)(x)
            assert isinstance(got, float)
        elif kind == "float":
            got = srcgrad.jvp(fn, (x,), (1.0,))[1]
            assert isinstance(got, float)
        elif mode == "grad":
            got = srcgrad.grad(lambda v: np.sum(fn(v)))(np.array([x, x]))[0]
        else:
            got = srcgrad.jvp(lambda v: fn(v), (np.array([x, x]),), (np.array([1.0, 0.0]),))[1][0]
        want = _jax_grad(fn, x)
    np.testing.assert_equal(got, ours)
    np.testing.assert_equal(want, ours if theirs is None else theirs)


def test_inf_and_nan_propagate_like_jax():
    def f(x):
        return np.sum(np.exp(x) * x)

    x = np.array([1.0, INF, NAN, -INF])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        got = srcgrad.grad(f)(x)
        with numpy_is(__name__, jnp):
            want = np.asarray(jax.grad(f)(x))
    np.testing.assert_allclose(got, want, rtol=1e-12)  # inf and nan where jax has them


def clip_with_bounds(x, lo, hi):
    return np.sum(np.clip(x, lo, hi) * np.array([1.0, 2.0, 3.0, 4.0]))


@pytest.mark.parametrize("bounds", [(0.3, 1.2), (0.5, 0.5), (1.0, 0.4)],
                         ids=["ordered", "equal", "crossed"])
@pytest.mark.parametrize("mode", ["grad", "jvp"])
def test_clip_with_array_bounds_is_minimum_of_maximum(bounds, mode):
    """np.clip(x, lo, hi) differentiates as minimum(maximum(x, lo), hi), as JAX's does: each
    bound's share depends on the other (crossed bounds give everything to hi)."""
    x = np.array([0.1, 0.5, 0.9, 1.5])
    lo, hi = np.full(4, bounds[0]), np.full(4, bounds[1])
    with numpy_is(__name__, jnp):
        want = jax.grad(clip_with_bounds, argnums=(0, 1, 2))(*map(jnp.asarray, (x, lo, hi)))
    if mode == "grad":
        got = srcgrad.grad(clip_with_bounds, wrt=(0, 1, 2))(x, lo, hi)
        for g, w in zip(got, want, strict=True):
            np.testing.assert_allclose(g, np.asarray(w), rtol=1e-12)
    else:
        for k in range(3):
            tangents = [np.zeros(4), np.zeros(4), np.zeros(4)]
            tangents[k] = np.array([1.0, -2.0, 0.5, 3.0])
            _, t = srcgrad.jvp(clip_with_bounds, (x, lo, hi), tuple(tangents))
            np.testing.assert_allclose(t, np.asarray(want[k]) @ tangents[k], rtol=1e-12)


def spread_of_a_solve(y):
    m = np.eye(3) * 2.0 + 0.3 * np.tanh(np.broadcast_to(y, (3, 3)))
    s = np.linalg.solve(m, np.full(3, 2.25))    # equal entries, to within rounding
    return y / (1.5 + np.sin(np.std(s)))


@pytest.mark.parametrize("mode", ["grad", "jvp"])
def test_std_of_values_equal_to_within_rounding(mode):
    """A standard deviation of values that differ only by rounding (here 1.3e-16) has the
    derivative of one of equal values, 0: not a quotient of two rounding errors (the fuzzer's
    seeds 10106 and 10363 had such gradients off by 20% and more)."""
    y = np.array([-1.0697684605440532])
    s = np.linalg.solve(np.eye(3) * 2.0 + 0.3 * np.tanh(np.broadcast_to(y, (3, 3))),
                        np.full(3, 2.25))
    assert 0 < np.std(s) < 1e-15
    if mode == "grad":
        got = srcgrad.grad(lambda v: np.sum(spread_of_a_solve(v)))(y)
    else:
        got = srcgrad.jvp(lambda v: np.sum(spread_of_a_solve(v)), (y,), (np.ones(1),))[1]
    want = 1 / (1.5 + np.sin(np.std(s)))     # std stays 0 as y moves: central differences
    np.testing.assert_allclose(got, [want] if mode == "grad" else want, rtol=1e-9)


def std_plus_mean(x):
    return np.std(x) + np.mean(x)


@pytest.mark.parametrize("scale", [1e-100, 1e-12, 1.0, 100.0, 1e6])
@pytest.mark.parametrize("mode", ["grad", "jvp"])
def test_equal_to_within_rounding_is_relative_to_the_values(scale, mode):
    """Values one rounding step apart count as equal at every scale (std's derivative 0), and
    values far apart relative to their size never do, however small: the threshold is
    relative. (An absolute threshold gave 17.0 instead of 1/3 at 100, and 1/3 instead of
    the true derivative at 1e-100.)"""
    near = scale * np.array([1.0, 1.0, 1.0])
    near[1] = np.nextafter(near[1], np.inf)
    assert 0 < np.std(near)
    far = scale * np.array([1.0, 1.5, 1.25])
    v = np.array([0.3, -1.1, 0.7])
    for x, equal in ((near, True), (far, False)):
        if mode == "grad":
            got = srcgrad.grad(std_plus_mean)(x)
        else:
            got = srcgrad.jvp(std_plus_mean, (x,), (v,))[1]
        if equal:
            want = np.full(3, 1 / 3)
        else:
            want = np.asarray(jax.grad(lambda y: jnp.std(y) + jnp.mean(y))(jnp.asarray(x)))
        np.testing.assert_allclose(got, want if mode == "grad" else want @ v, rtol=1e-9)


# --- a value overwritten in a loop or a branch: its derivative is not read -----------------------
# JAX, tracing Python's loops and branches, never calls the derivative of a value nothing reads
# (a symbolic zero); srcgrad's backward code skips it at run time where the loop ran or the
# branch overwrote the value, so a singular derivative there (inf, nan) does not turn the
# gradient nan. Where the value is read, the inf or nan is JAX's.

def overwritten_in_a_while(x, n):
    a = np.log(x)                   # derivative inf at 0
    i = 0
    while i < n:
        a = x * 3.0
        i = i + 1
    return np.sum(a * x)


def overwritten_in_a_for(x, n):
    a = np.sqrt(x)
    for r in np.ones(n):            # trips: n
        a = x * r
    return np.sum(a)


def overwritten_in_a_branch(x, n):
    a = np.arccosh(x)               # nan below 1
    b = np.sqrt(x)
    if n > 0:
        a = x * 2.0
    else:
        b = x * 3.0
    return np.sum(a * b)


def overwritten_in_a_nested_loop(x, n):
    a = np.log(x)
    b = x * 1.0
    for r in b:
        i = 0
        while i < n:
            a = b * r
            i = i + 1
    return np.sum(a)


def overwritten_in_a_branch_in_a_loop(x, n):
    s = x * 0.5
    for k in range(3):              # runs: known when the code is written
        b = np.sqrt(s)
        if k >= n:
            b = s * 2.0
        s = s + b
    return np.sum(s)


OVERWRITTEN = [overwritten_in_a_while, overwritten_in_a_for, overwritten_in_a_branch,
               overwritten_in_a_nested_loop, overwritten_in_a_branch_in_a_loop]


@pytest.mark.parametrize("n", [0, 1, 2])
@pytest.mark.parametrize("fn", OVERWRITTEN, ids=lambda f: f.__name__)
def test_a_derivative_nothing_reads_is_not_computed(fn, n):
    x = np.array([0.0, 0.5, 2.0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        got = srcgrad.grad(fn, wrt="x")(x, n)
        tangent = srcgrad.jvp(lambda v: fn(v, n), (x,), (np.ones(3),))[1]
        with numpy_is(__name__, jnp):
            want = np.asarray(jax.grad(fn)(jnp.asarray(x), n))
            want_tangent = float(jax.jvp(lambda v: fn(v, n), (jnp.asarray(x),),
                                         (jnp.ones(3),))[1])
    np.testing.assert_allclose(got, want, rtol=1e-12)   # equal nan and inf where JAX has them
    np.testing.assert_allclose(tangent, want_tangent, rtol=1e-12)
    if (fn is overwritten_in_a_branch_in_a_loop) == (n == 0) and fn is not \
            overwritten_in_a_branch:    # (there the value read is singular at 0 either way)
        assert np.isfinite(got).all() and np.isfinite(tangent)


def test_a_derivative_nothing_reads_is_not_computed_on_jax():
    x = np.array([0.0, 0.5, 2.0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        got = srcgrad.grad(overwritten_in_a_nested_loop, wrt="x", backend="jax")(
            jnp.asarray(x), 1)
    np.testing.assert_allclose(np.asarray(got), [2.0, 2.0, 4.5], rtol=1e-12)  # a = x * x[2]


@pytest.mark.parametrize("mode", ["forward-over-reverse", "reverse-over-forward"])
def test_second_derivative_of_an_overwritten_value(mode):
    """The guards of the gradient code are differentiated again: the Hessian where the loop
    ran is finite at 0, as jax.hessian's."""
    x = np.array([0.0, 0.5, 2.0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        got = srcgrad.hessian(overwritten_in_a_while, wrt=0, mode=mode)(x, 2)
        with numpy_is(__name__, jnp):
            want = np.asarray(jax.hessian(overwritten_in_a_while)(jnp.asarray(x), 2))
    assert np.isfinite(want).all()
    np.testing.assert_allclose(got, want, rtol=1e-12)


@pytest.mark.xfail(strict=True, raises=AssertionError,
                   reason="reverse over reverse: a value saved on a stack in a loop gets its "
                   "adjoint through the stack's, zeros only at run time (docs/generated-code.md)")
def test_reverse_over_reverse_of_a_value_overwritten_in_a_loop():
    x = np.array([0.0, 0.5, 2.0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        gradient = srcgrad.grad(overwritten_in_a_branch_in_a_loop, wrt="x")
        got = srcgrad.jacobian(gradient, wrt=0)(x, 0)
        with numpy_is(__name__, jnp):
            want = np.asarray(jax.hessian(overwritten_in_a_branch_in_a_loop)(jnp.asarray(x), 0))
    assert np.isfinite(want).all()
    np.testing.assert_allclose(got, want, rtol=1e-12)
