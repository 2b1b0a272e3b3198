"""Library functions differentiated through their NumPy twins (srcgrad/twins.py): jax.nn's
activations, scipy.special's and scipy.stats.norm's functions. Each is called as a user
calls it; the value must be the library's own, the gradient jax.grad's of the library function
(for jax.nn and jax.scipy) or central differences' (scipy), in both modes, on both backends."""

from __future__ import annotations

import numpy as np
import pytest
from oracle import finite_difference

import srcgrad

jax = pytest.importorskip("jax")
jnp = pytest.importorskip("jax.numpy")
jax.config.update("jax_enable_x64", True)
special = pytest.importorskip("scipy.special")
stats = pytest.importorskip("scipy.stats")
import jax.scipy.special as jspecial  # noqa: E402
import jax.scipy.stats as jstats  # noqa: E402

X = np.array([[-2.5, -0.3, 0.4, 1.7], [0.9, -1.1, 2.2, -0.05]])
P = np.array([[0.1, 0.35, 0.6, 0.93], [0.5, 0.02, 0.77, 0.4]])
P0 = np.array([[0.0, 0.35, 0.6, 0.0], [0.5, 0.0, 0.77, 0.4]])   # zeros: xlogy's x at 0

#: (name, the function of x the user writes, its point): jax-side twins of each are compared
#: with jax.grad of the same library call
JAX_CASES = [
    ("relu", lambda x: jnp.sum(jax.nn.relu(x) * x), X),
    ("relu6", lambda x: jnp.sum(jax.nn.relu6(3 * x) * x), X),
    ("sigmoid", lambda x: jnp.sum(jax.nn.sigmoid(x) ** 2), X),
    ("log_sigmoid", lambda x: jnp.sum(jax.nn.log_sigmoid(x)), X),
    ("softplus", lambda x: jnp.sum(jax.nn.softplus(x) * x), X),
    ("silu", lambda x: jnp.sum(jax.nn.silu(x)), X),
    ("swish", lambda x: jnp.sum(jax.nn.swish(x) * x), X),
    ("gelu", lambda x: jnp.sum(jax.nn.gelu(x) * x), X),
    ("gelu exact", lambda x: jnp.sum(jax.nn.gelu(x, approximate=False) * x), X),
    ("elu", lambda x: jnp.sum(jax.nn.elu(x, alpha=0.7) * x), X),
    ("celu", lambda x: jnp.sum(jax.nn.celu(x, alpha=1.3) * x), X),
    ("selu", lambda x: jnp.sum(jax.nn.selu(x) * x), X),
    ("leaky_relu", lambda x: jnp.sum(jax.nn.leaky_relu(x, negative_slope=0.2) * x), X),
    ("hard_tanh", lambda x: jnp.sum(jax.nn.hard_tanh(2 * x) * x), X),
    ("softmax", lambda x: jnp.sum(jax.nn.softmax(x) * jnp.arange(4.0)), X),
    ("softmax axis 0", lambda x: jnp.sum(jax.nn.softmax(x, axis=0) * x), X),
    ("log_softmax", lambda x: jnp.sum(jax.nn.log_softmax(x, axis=-1)[:, 1]), X),
    ("logsumexp", lambda x: jax.nn.logsumexp(x), X),
    ("logsumexp axis", lambda x: jnp.sum(jax.nn.logsumexp(x, axis=1) ** 2), X),
    ("logsumexp keepdims b", lambda x: jnp.sum(jspecial.logsumexp(x, axis=0, b=P, keepdims=True)
                                               * 2.0), X),
    ("jax.scipy expit", lambda x: jnp.sum(jspecial.expit(x) * x), X),
    ("jax.scipy logit", lambda p: jnp.sum(jspecial.logit(p) ** 2), P),
    ("jax.scipy erf", lambda x: jnp.sum(jspecial.erf(x) * x), X),
    ("jax.scipy erfc", lambda x: jnp.sum(jspecial.erfc(x) * x), X),
    ("jax.scipy ndtr", lambda x: jnp.sum(jspecial.ndtr(x) * x), X),
    ("jax.scipy xlogy", lambda p: jnp.sum(jspecial.xlogy(p, p + 1.0)), P),
    ("jax.scipy xlogy at 0", lambda p: jnp.sum(jspecial.xlogy(p, 2.0 + p)), P0),
    ("jax.scipy xlog1py at 0", lambda p: jnp.sum(jspecial.xlog1py(p, 1.0 + p)), P0),
    ("jax.scipy softmax", lambda x: jnp.sum(jspecial.softmax(x, axis=1) * x), X),
    ("jax.scipy norm", lambda x: jnp.sum(jstats.norm.logpdf(x, 0.5, 2.0)
                                         + jstats.norm.cdf(x) * jstats.norm.pdf(x, scale=1.5)), X),
    ("lax.stop_gradient", lambda x: jnp.sum(x * jax.lax.stop_gradient(x)), X),
]


@pytest.mark.parametrize("name, fn, point", JAX_CASES, ids=[c[0] for c in JAX_CASES])
@pytest.mark.parametrize("backend", ["numpy", "jax"])
def test_jax_library_functions_match_jax_grad(name, fn, point, backend):
    value, got = srcgrad.value_and_grad(fn, backend=backend)(point)
    np.testing.assert_allclose(np.asarray(value), np.asarray(fn(jnp.asarray(point))),
                               rtol=1e-12)
    want = np.asarray(jax.grad(fn)(jnp.asarray(point)))
    np.testing.assert_allclose(np.asarray(got), want, rtol=1e-9, atol=1e-12)
    direction = np.cos(np.arange(point.size).reshape(point.shape))
    _, tangent = srcgrad.jvp(fn, (point,), (direction,), backend=backend)
    np.testing.assert_allclose(np.asarray(tangent), np.sum(want * direction), rtol=1e-9)


SCIPY_CASES = [
    ("expit", lambda x: np.sum(special.expit(x) * x), X),
    ("log_expit", lambda x: np.sum(special.log_expit(x)), X),
    ("logit", lambda p: np.sum(special.logit(p) ** 2), P),
    ("logsumexp", lambda x: special.logsumexp(x), X),
    ("logsumexp axis b", lambda x: np.sum(special.logsumexp(x, axis=1, b=P) ** 2), X),
    ("softmax (whole array)", lambda x: np.sum(special.softmax(x) * np.arange(8.0).reshape(2, 4)),
     X),
    ("softmax axis", lambda x: np.sum(special.softmax(x, axis=0) * x), X),
    ("log_softmax", lambda x: np.sum(special.log_softmax(x, axis=1)[:, 2]), X),
    ("erf", lambda x: np.sum(special.erf(x) * x), X),
    ("erfc", lambda x: np.sum(special.erfc(x) ** 2), X),
    ("ndtr", lambda x: np.sum(special.ndtr(x) * x), X),
    ("xlogy", lambda p: np.sum(special.xlogy(p, 2.0 * p)), P),
    ("xlog1py", lambda p: np.sum(special.xlog1py(p, p)), P),
    ("xlogy at x = 0", lambda p: np.sum(special.xlogy(p, 2.0 + p)), P0),
    ("xlog1py at x = 0", lambda p: np.sum(special.xlog1py(p, 1.0 + p)), P0),
    ("norm.logpdf", lambda x: np.sum(stats.norm.logpdf(x, loc=0.5, scale=2.0)), X),
    ("norm.pdf", lambda x: np.sum(stats.norm.pdf(x) * x), X),
    ("norm.cdf", lambda x: np.sum(stats.norm.cdf(x, 1.0) ** 2), X),
]


@pytest.mark.parametrize("name, fn, point", SCIPY_CASES, ids=[c[0] for c in SCIPY_CASES])
def test_scipy_functions_match_central_differences(name, fn, point):
    value, got = srcgrad.value_and_grad(fn)(point)
    np.testing.assert_allclose(value, fn(point), rtol=1e-12)
    np.testing.assert_allclose(got, finite_difference(fn, (point,), 0), rtol=1e-6, atol=1e-8)
    direction = np.sin(np.arange(point.size).reshape(point.shape) + 1.0)
    _, tangent = srcgrad.jvp(fn, (point,), (direction,))
    np.testing.assert_allclose(tangent, np.sum(got * direction), rtol=1e-10)


def test_the_library_source_is_never_inlined():
    """The generated code quotes the twin's lines (srcgrad/twins.py), not scipy's or jax's."""
    import re

    src = srcgrad.grad(lambda x: jnp.sum(jax.nn.softmax(x))).source
    files = set(re.findall(r"# \S+\(\) (\S+\.py) L\d+:", src))
    assert files <= {"twins.py", "functional.py"} and files, src


def test_relu_at_zero_follows_jax():
    """JAX's relu has derivative 0 at 0 (not the 1/2 of a tie of maximum)."""
    def f(x):
        return jnp.sum(jax.nn.relu(x))

    point = np.array([0.0, 1.0, -1.0])
    np.testing.assert_array_equal(srcgrad.grad(f)(point), jax.grad(f)(point))


# --- NumPy functions without a primitive, through twins ------------------------------------------

XN = np.array([[0.3, np.nan, -1.2, 0.8], [1.1, 0.4, -0.6, 2.0], [-0.9, 0.2, 0.7, np.nan]])
Y = np.array([[0.3, 0.9, -1.2, 0.8], [1.1, 0.4, -0.6, 2.0], [-0.9, 0.2, 0.7, 1.4]])
W3 = np.arange(1.0, 4.0)[:, None] * np.ones(4)

NUMPY_CASES = [
    ("nansum", lambda x: np.nansum(x * 2.0) + np.sum(np.nansum(x, axis=0) ** 2), XN),
    ("nanmean", lambda x: np.sum(np.nanmean(x, axis=1) ** 2) + np.nanmean(x), XN),
    ("nanmax nanmin", lambda x: np.sum(np.nanmax(x, axis=1)) + np.nanmin(x), XN),
    ("nanprod", lambda x: np.sum(np.nanprod(x, axis=0)), XN),
    ("nanvar nanstd", lambda x: np.sum(np.nanvar(x, axis=1)) + np.nanstd(x, ddof=1), XN),
    ("ptp", lambda x: np.sum(np.ptp(x, axis=0)), Y),
    ("average", lambda x: np.sum(np.average(x, axis=0, weights=W3)) + np.average(x), Y),
    ("trapezoid", lambda x: np.sum(np.trapezoid(x, dx=0.5))
     + np.trapezoid(x[0], x=np.arange(4.0) ** 2), Y),
    ("fliplr flipud", lambda x: np.sum(np.fliplr(x) * Y) + np.sum(np.flipud(x) * Y), Y),
    ("polyval", lambda x: np.sum(np.polyval(x[0], x[1])), Y),
    ("kron", lambda x: np.sum(np.kron(x[:2, :2], x[1:, 2:]) * np.arange(16.0).reshape(4, 4))
     + np.sum(np.kron(x[0], x[1]) ** 2), Y),
    ("vecdot", lambda x: np.sum(np.vecdot(x, Y) ** 2), Y),
    ("multi_dot", lambda x: np.sum(np.linalg.multi_dot([x, x.T, x])), Y),
    ("matrix_power", lambda x: np.sum(np.linalg.matrix_power(x[:, :3], 3)), Y),
    ("float_power", lambda x: np.sum(np.float_power(np.abs(x) + 1.0, 1.5)), Y),
    ("select", lambda x: np.sum(np.select([x > 0.5, x < -0.5], [x ** 2, np.sin(x)], 0.1 * x)),
     Y),
    ("append", lambda x: np.sum(np.append(x[0], x[1:]) ** 2), Y),
]


@pytest.mark.parametrize("name, fn, point", NUMPY_CASES, ids=[c[0] for c in NUMPY_CASES])
def test_numpy_functions_through_twins(name, fn, point):
    """Against jax.grad of the same function on jax.numpy and central differences; the value
    is NumPy's own."""
    from oracle import check

    value, _ = srcgrad.value_and_grad(fn)(point)
    np.testing.assert_allclose(value, fn(point), rtol=1e-12)
    check(fn, (point,))


def test_math_erf_is_the_erf_rule():
    import math

    def f(x):
        return math.erf(x) * x

    assert srcgrad.grad(f)(0.3) == pytest.approx(
        math.erf(0.3) + 0.3 * 2 / math.sqrt(math.pi) * math.exp(-0.09), rel=1e-12)


def test_a_literal_list_sliced_by_constants():
    def f(a, b, c):
        parts = [a, b, c]
        return np.sum(np.stack(parts[1:]) * 2.0) + np.sum(parts[::-1][0])

    got = srcgrad.grad(f, wrt=(0, 1, 2))(np.ones(2), np.ones(2), np.ones(2))
    np.testing.assert_array_equal(np.stack(got), [[0, 0], [2, 2], [3, 3]])
