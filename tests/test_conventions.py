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


@pytest.mark.parametrize(("fn", "x", "ours", "theirs"), CONVENTIONS,
                         ids=[f"{c[0].__name__}-{c[1]}" for c in CONVENTIONS])
@pytest.mark.parametrize("kind", ["float", "array"])
def test_derivative_at_a_kink_or_edge(fn, x, ours, theirs, kind):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # NumPy warns of 1 / 0; the value is inf
        if kind == "float":
            got = srcgrad.grad(fn)(x)
            assert isinstance(got, float)  # never a bool, never a ZeroDivisionError
        else:
            got = srcgrad.grad(lambda v: np.sum(fn(v)))(np.array([x, x]))[0]
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
