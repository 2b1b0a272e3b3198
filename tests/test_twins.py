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


# --- array manipulation, ordering and scans (#17): splits, partition, quantiles, cumprod,
# ufunc accumulate, interp, convolve and correlate ------------------------------------------------
# Each function is written once with this module's `np`; the oracles run it with `np` bound to
# jax.numpy (jnp.split, jnp.partition, jnp.quantile, jnp.cumprod, jnp.maximum.accumulate,
# jnp.interp, jnp.convolve, jnp.correlate) and by central differences. The points keep away
# from kinks: no ties, no x on a knot of interp, no q (n - 1) on a whole number.

XP = np.array([-1.5, -0.4, 0.3, 1.1, 2.0])          # interp's knots (not differentiated)


def o_split(x):                                     # unpacked
    a, b = np.split(x, 2, axis=1)
    return np.sum(a * np.sin(b))


def o_array_split(x):                               # indexed
    return np.sum(np.array_split(x, 3)[1] ** 2) + np.sum(
        np.array_split(x, [1, 3], axis=1)[2] ** 3)


def o_hvd_split(x):                                 # iterated
    total = 0.0
    for k, p in enumerate(np.dsplit(x, 2)):
        total = total + (k + 1.0) * np.sum(p ** 2)
    for p in np.vsplit(x, [1]):
        total = total + np.sum(np.tanh(p))
    for p in np.hsplit(x, 3):
        total = total + np.sum(p[0] * p[-1])
    return total


def o_partition(x):    # a function of each part's values, whatever their order inside it
    p = np.partition(x, 2, axis=-1)
    flat = np.partition(np.ravel(x), 7)   # (jnp.partition takes no axis=None)
    return (np.sum(p[..., 2] ** 3) + np.sum(np.sin(p[..., :2])) + np.sum(np.exp(p[..., 3:]))
            + flat[7] * np.sum(flat[:7] ** 2))


def o_quantile(x):
    return (np.sum(np.quantile(x, np.array([0.1, 0.5, 0.93]), axis=1) ** 2)
            + np.quantile(x, 0.37) ** 3
            + np.sum(np.quantile(x, 0.61, axis=0, keepdims=True) * np.arange(5.0)))


def o_percentile(x):
    return (np.sum(np.percentile(x, np.array([15.0, 60.0]), axis=-1) ** 2)
            + np.sum(np.percentile(x, 82.0, keepdims=True)))


def o_quantile_q(q, x):                              # the derivative in q too
    return np.sum(np.quantile(x, q, axis=0) ** 2)


def o_cumprod(x):
    return np.sum(np.cumprod(x, axis=1) * np.cos(x)) + np.sum(np.cumprod(x) ** 2)


def o_accumulate(x):
    return (np.sum(np.maximum.accumulate(x, axis=1) ** 2)
            + np.sum(np.minimum.accumulate(x) * np.sin(x)))


def o_interp(x, fp):
    return (np.sum(np.interp(x, XP, fp) ** 2)
            + np.sum(np.interp(x, XP, fp, left=-0.25, right=fp[2]) * x))


def o_convolve(a, v):
    return (np.sum(np.convolve(a, v) ** 2) + np.sum(np.sin(np.convolve(v, a, "same")))
            + np.sum(np.convolve(a, v, mode="valid") ** 3))


def o_correlate(a, v):
    return (np.sum(np.correlate(a, v) ** 2) + np.sum(np.sin(np.correlate(v, a, "same")))
            + np.sum(np.correlate(a, v, mode="full") ** 3) + np.sum(np.correlate(v, a) ** 2))


def _normal(seed, *shape):
    return np.random.default_rng(seed).standard_normal(shape)


_ZEROED = _normal(31, 3, 4)
_ZEROED[1, 2] = 0.0                                  # cumprod through a zero (no division)
_ZEROED[2, 0] = 0.0

#: (function, arguments, wrt)
ORDERING_CASES = [
    (o_split, (_normal(21, 3, 4),), 0),
    (o_array_split, (_normal(22, 5, 4),), 0),
    (o_hvd_split, (_normal(23, 2, 3, 4),), 0),
    (o_partition, (_normal(24, 3, 5),), 0),
    (o_quantile, (_normal(25, 3, 5),), 0),
    (o_percentile, (_normal(26, 4, 6),), 0),
    (o_quantile_q, (np.array([0.23, 0.55, 0.9]), _normal(27, 6, 2)), (0, 1)),
    (o_cumprod, (_normal(28, 3, 4),), 0),
    (o_cumprod, (_ZEROED,), 0),
    (o_accumulate, (_normal(29, 3, 5),), 0),
    (o_interp, (np.array([-2.0, -1.1, -0.2, 0.45, 0.9, 1.7, 2.6]), _normal(30, 5)), (0, 1)),
    (o_convolve, (_normal(32, 5), _normal(33, 3)), (0, 1)),
    (o_correlate, (_normal(34, 6), _normal(35, 3)), (0, 1)),
]
ORDERING_IDS = [f"{f.__name__}-{i}" for i, (f, _, _) in enumerate(ORDERING_CASES)]


@pytest.mark.parametrize("backend", ["numpy", "jax"])
@pytest.mark.parametrize("fn, args, wrt", ORDERING_CASES, ids=ORDERING_IDS)
def test_ordering_and_scans_reverse_mode(fn, args, wrt, backend):
    """srcgrad.grad against jax.grad of the same source on jax.numpy and central differences,
    on both backends; the value is NumPy's own."""
    from oracle import check

    value, _ = srcgrad.value_and_grad(fn, wrt=wrt)(*args)
    np.testing.assert_allclose(value, fn(*args), rtol=1e-13)
    check(fn, args, wrt, rtol=1e-10, atol=1e-12, fd=backend == "numpy", backend=backend)


@pytest.mark.parametrize("fn, args, wrt", ORDERING_CASES, ids=ORDERING_IDS)
def test_ordering_and_scans_forward_mode(fn, args, wrt):
    """srcgrad.jvp against jax.jvp along a random tangent of every differentiated argument."""
    from oracle import numpy_is

    wrts = (wrt,) if isinstance(wrt, int) else wrt
    rng = np.random.default_rng(36)
    tangents = [rng.standard_normal(np.shape(a)) if k in wrts else np.zeros(np.shape(a))
                for k, a in enumerate(args)]
    value, got = srcgrad.jvp(fn, args, tangents)
    with numpy_is(__name__, jnp):
        want_value, want = jax.jvp(fn, tuple(jnp.asarray(a) for a in args),
                                   tuple(jnp.asarray(t) for t in tangents))
    np.testing.assert_allclose(value, want_value, rtol=1e-12)
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


def h_cumprod(x):
    return np.sum(np.cumprod(x) * np.sin(x))


def h_interp_fp(fp):
    return np.sum(np.interp(np.array([-1.0, 0.1, 0.7, 1.9, 2.4]), XP, fp) ** 3)


def h_interp_x(x):
    return np.sum(np.sin(x) * np.interp(x, XP, XP ** 2))


def h_convolve(a):                       # both operands differentiated: the mixed terms too
    return np.sum(np.convolve(a, np.sin(a), "same") ** 2) + np.sum(np.correlate(a, a ** 2) ** 2)


def h_quantile(x):
    return np.sum(np.quantile(x, np.array([0.3, 0.8]), axis=0) ** 3)


def h_accumulate(x):
    return np.sum(np.maximum.accumulate(x) ** 3)


def h_partition_split(x):
    a, b = np.split(np.partition(x, 3), 2)
    return np.sum(a ** 2) * np.sum(np.exp(b))


HESSIAN_CASES = [
    (h_cumprod, _normal(40, 5)), (h_cumprod, np.array([0.7, -1.2, 0.0, 1.5, 0.9])),
    (h_interp_fp, _normal(41, 5)),
    (h_interp_x, np.array([-1.9, -0.9, 0.05, 0.8, 1.4, 2.3])),
    (h_convolve, _normal(42, 5)), (h_quantile, _normal(43, 6, 2)),
    (h_accumulate, _normal(44, 6)), (h_partition_split, _normal(45, 6)),
]


@pytest.mark.parametrize("mode", ["forward-over-reverse", "reverse-over-forward"])
@pytest.mark.parametrize("fn, x", HESSIAN_CASES,
                         ids=[f"{f.__name__}-{i}" for i, (f, _) in enumerate(HESSIAN_CASES)])
def test_ordering_and_scans_second_order(fn, x, mode):
    """srcgrad.hessian (both orders of the modes) against jax.hessian."""
    from oracle import numpy_is

    got = srcgrad.hessian(fn, mode=mode)(x)
    with numpy_is(__name__, jnp):
        want = jax.hessian(fn)(jnp.asarray(x))
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


def test_split_pieces_are_views_of_their_array():
    """np.split's pieces are basic slices (NumPy's views): written in place, they are refused
    as any view is, never differentiated as copies."""
    def f(x):
        a, b = np.split(x, 2)
        a += 1.0
        return np.sum(x * b)

    with pytest.raises(srcgrad.SrcGradError, match="view"):
        srcgrad.grad(f)(np.arange(4.0))


def test_cumprod_at_zeros_matches_jax():
    """An element 0 (two of them, the first at the start): no 0/0, JAX's numbers."""
    from oracle import numpy_is

    def f(x):
        return np.sum(np.cumprod(x) * np.arange(1.0, 6.0))

    for x in (np.array([0.0, 2.0, -1.5, 0.0, 3.0]), np.array([1.5, 0.0, 2.0, 0.5, 0.0])):
        with numpy_is(__name__, jnp):
            want = jax.grad(f)(jnp.asarray(x))
        np.testing.assert_allclose(srcgrad.grad(f)(x), want, rtol=1e-13)


def test_running_maximum_ties_share_as_maximum_does():
    """A value equal to the running maximum so far shares its derivative half and half with it
    (np.maximum's convention, applied one element after another); jax.lax.cummax pairs the
    elements in another order, so where ties are met the two differ (documented)."""
    def f(x):
        return np.sum(np.maximum.accumulate(x))

    from oracle import numpy_is

    x = np.array([1.0, 3.0, 3.0, 2.0])        # running maximum [1, 3, 3, 3]
    # the last three outputs are max(max(3, 3), 2): 1 + 1 reach the tie, which gives half to
    # each 3, and the first 3 also has its own output
    np.testing.assert_array_equal(srcgrad.grad(f)(x), [1.0, 2.0, 1.0, 0.0])
    with numpy_is(__name__, jnp):
        want = jax.grad(f)(jnp.asarray(x))
    assert np.sum(want) == 4.0 and want[0] == 1.0 and want[3] == 0.0   # jax: the same total
    y = np.array([0.5, -1.0, 2.0, 1.5])       # no tie: the same as jax
    with numpy_is(__name__, jnp):
        want = jax.grad(f)(jnp.asarray(y))
    np.testing.assert_array_equal(srcgrad.grad(f)(y), want)


def r_quantile_method(x):
    return np.sum(np.quantile(x, 0.5, method="nearest"))


def r_percentile_axes(x):
    return np.sum(np.percentile(x, 50.0, axis=(0, 1)))


def r_interp_period(x):
    return np.sum(np.interp(x, np.arange(4.0), x, period=2.0))


@pytest.mark.parametrize("fn, match", [
    (r_quantile_method, r"method='nearest' has no derivative rule"),
    (r_percentile_axes, "tuple of axes"),
    (r_interp_period, r"period=\.\.\.\) has no derivative rule"),
])
def test_ordering_refusals(fn, match):
    """A parameter the twins do not differentiate is refused where the user wrote the call."""
    import inspect

    with pytest.raises(srcgrad.SrcGradError, match=match) as info:
        srcgrad.grad(fn)(np.arange(4.0).reshape(2, 2))
    line = inspect.getsourcelines(fn)[1] + 1
    assert info.value.lineno == line and info.value.filename == __file__


def test_split_pieces_go_stale_when_their_array_is_written():
    """After x[...] = v, NumPy's pieces show the write: srcgrad, which does not, refuses."""
    def f(x):
        y = x * 1.0
        a, b = np.split(y, 2)
        y[0] = 5.0
        return np.sum(a * b)

    with pytest.raises(srcgrad.SrcGradError, match="view"):
        srcgrad.grad(f)(np.arange(4.0))


def o_jitted(x):
    a, b, c = np.split(x, [1, 3], axis=1)
    return (np.sum(np.maximum.accumulate(x, axis=1) ** 2) + np.sum(np.cumprod(b))
            + np.sum(np.quantile(x, np.array([0.3, 0.7]), axis=0) ** 2)
            + np.sum(np.partition(x, 1, axis=0)[1] ** 2)
            + np.sum(np.interp(c, XP, np.cos(XP)))
            + np.sum(np.convolve(x[0], a[:, 0], "same") ** 2))


def test_ordering_twins_under_jax_jit():
    """Under jax.jit the gathers at computed indices (quantile's, partition's) are traced."""
    from oracle import numpy_is

    x = _normal(46, 3, 5)
    got = srcgrad.grad(o_jitted, backend="jax", jit=True)(x)
    with numpy_is(__name__, jnp):
        want = jax.grad(o_jitted)(jnp.asarray(x))
    np.testing.assert_allclose(np.asarray(got), want, rtol=1e-10, atol=1e-12)


def test_ordering_twins_keep_float32():
    def f(x):
        return (np.sum(np.cumprod(x, axis=0) ** 2) + np.sum(np.quantile(x, 0.4, axis=1))
                + np.sum(np.interp(x, XP, np.cos(XP))) + np.sum(np.partition(x, 2)[:, 2]))

    assert srcgrad.grad(f)(_normal(47, 3, 5).astype(np.float32)).dtype == np.float32


def test_correlate_of_complex_operands_raises():
    """NumPy's correlate conjugates v, which the twin does not write: an error, not a value
    without the conjugate."""
    def f(a):
        return np.sum(np.abs(np.correlate(a, np.array([1.0 + 2.0j, 0.5]))))

    with pytest.raises(NotImplementedError, match="complex"):
        srcgrad.grad(f)(np.arange(4.0))
