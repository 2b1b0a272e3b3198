"""Python idioms of code written by others (issue #17): builtins on differentiated values
(``max``, ``min``, ``sum``, ``float``, ``tuple``, ``list``, ``dict``), the ``operator`` module,
dict arguments iterated by key, by ``.items()`` and ``.values()``, ``with np.errstate(...)``,
lists handed to NumPy reductions and ``np.asarray(x, dtype=...)``.

Each function is written as its author would. The oracles: central differences, and
``jax.grad``/``jax.jvp`` of a jax twin where the function itself cannot run under jax (Python's
``max`` compares traced values; jax has no ``errstate``), else of the function itself.
"""

from __future__ import annotations

import operator
import warnings

import numpy as np
import pytest
from oracle import check, finite_difference, numpy_is

import srcgrad

jax = pytest.importorskip("jax")
jnp = pytest.importorskip("jax.numpy")
jax.config.update("jax_enable_x64", True)


def _close(a, b, rtol=1e-10, atol=1e-12):
    np.testing.assert_allclose(np.asarray(a, dtype=float), np.asarray(b, dtype=float),
                               rtol=rtol, atol=atol)


def _fd_close(got, f, args, i, rtol=1e-6, atol=1e-8):
    np.testing.assert_allclose(np.asarray(got, dtype=float), finite_difference(f, args, i),
                               rtol=rtol, atol=atol)


# --- dict arguments: iterated by key, items and values -----------------------------------------

def l2_by_key(params, x):
    total = 0.0
    for name in params:
        total = total + np.sum(np.tanh(params[name] * x) ** 2)
    return total


def l2_by_items(params, x):
    total = 0.0
    for name, w in params.items():
        total = total + np.sum(w * x) ** 2 * (2.0 if name.startswith("w") else 1.0)
    return total


def l2_by_values(params):
    return sum(np.sum(w ** 2) for w in params.values())


def keys_listed(params, x):
    names = list(params.keys())
    return np.sum(params[names[0]] * x) + np.sum(params[names[-1]] ** 3)


def _params(seed):
    rng = np.random.default_rng(seed)
    return {"w1": rng.normal(size=3), "b1": rng.normal(size=3), "w2": rng.normal(size=3)}


@pytest.mark.parametrize("f", [l2_by_key, l2_by_items])
def test_a_dict_argument_iterated_as_python_does(f):
    params, x = _params(1), np.random.default_rng(2).normal(size=3)
    got = srcgrad.grad(f)(params, x)
    assert isinstance(got, dict) and list(got) == list(params)
    with numpy_is(__name__, jnp):
        want = jax.grad(f)({k: jnp.asarray(v) for k, v in params.items()}, jnp.asarray(x))
    for k in params:
        _close(got[k], want[k])
    value = srcgrad.value_and_grad(f)(params, x)[0]
    _close(value, f(params, x))


def test_the_keys_of_a_dict_argument_in_insertion_order():
    # (jax flattens a dict in sorted key order, Python iterates it in insertion order)
    params, x = _params(22), np.random.default_rng(23).normal(size=3)
    got = srcgrad.grad(keys_listed)(params, x)
    _close(got["w1"], x)
    _close(got["b1"], np.zeros(3))
    _close(got["w2"], 3 * params["w2"] ** 2)


def test_a_dict_argument_through_values_and_sum():
    params = _params(3)
    got = srcgrad.grad(l2_by_values)(params)
    for k, v in params.items():
        _close(got[k], 2 * v)


def test_a_dict_argument_iterated_in_forward_mode():
    params, x = _params(4), np.random.default_rng(5).normal(size=3)
    tangent = _params(6)
    for f in (l2_by_key, l2_by_items):
        value, tan = srcgrad.jvp(f)((params, x), (tangent, np.zeros(3)))
        jp = {k: jnp.asarray(v) for k, v in params.items()}
        jt = {k: jnp.asarray(v) for k, v in tangent.items()}
        with numpy_is(__name__, jnp):
            want = jax.jvp(f, (jp, jnp.asarray(x)), (jt, jnp.zeros(3)))
        _close(value, want[0])
        _close(tan, want[1])


def test_a_dict_argument_iterated_on_the_jax_backend():
    params, x = _params(7), np.random.default_rng(8).normal(size=3)
    jp = {k: jnp.asarray(v) for k, v in params.items()}
    for jit in (False, True):
        got = srcgrad.grad(l2_by_items, backend="jax", jit=jit)(jp, jnp.asarray(x))
        with numpy_is(__name__, jnp):
            want = jax.grad(l2_by_items)(jp, jnp.asarray(x))
        for k in params:
            _close(got[k], want[k])


def test_a_loop_over_a_dict_reading_it_by_key_runs_over_its_keys():
    src = srcgrad.grad(l2_by_key)
    src(_params(9), np.ones(3))
    assert "keys = dict_keys(params)" in src.source


def test_a_loop_over_an_array_is_not_read_as_one_over_keys():
    def rows(X, w):
        s = 0.0
        for row in X:
            s = s + np.sum(np.sin(row * w))
        return s
    X, w = np.random.default_rng(10).normal(size=(3, 4)), np.random.default_rng(11).normal(
        size=4)
    g = srcgrad.grad(rows, wrt=(0, 1))
    got = g(X, w)
    assert "dict_keys" not in g.source
    _fd_close(got[0], rows, (X, w), 0)
    _fd_close(got[1], rows, (X, w), 1)


# --- builtins: max, min, sum, float, tuple, list, dict ------------------------------------------

def max_of_two(a, b):
    return max(a, b) * min(a, 2.0 * b)


def max_of_three(a, b, c):
    return max(a, b, c) ** 2 + min(c, a, b)


def max_of_an_array(x):
    return max(x) - 2.0 * min(x)


def max_of_a_list(w):
    scores = [np.sum(w), np.sum(w ** 2), 0.25]
    return max(scores) + min(scores)


@pytest.mark.parametrize("args", [(0.3, -0.7), (0.5, 0.2), (-1.5, 0.4)])
def test_builtin_max_and_min_of_numbers(args):
    got = srcgrad.grad(max_of_two, wrt=(0, 1))(*args)
    for i in (0, 1):
        _fd_close(got[i], max_of_two, args, i)
    _close(srcgrad.value_and_grad(max_of_two)(*args)[0], max_of_two(*args))


def test_builtin_max_of_three_keeps_pythons_choice():
    args = (0.3, 1.2, -2.0)
    got = srcgrad.grad(max_of_three, wrt=(0, 1, 2))(*args)
    for i in range(3):
        _fd_close(got[i], max_of_three, args, i)


def test_builtin_max_at_a_tie_follows_python_the_first_wins():
    # max(a, b) is a when a == b (Python returns the first maximal item): all of the
    # derivative goes to a
    ga, gb = srcgrad.grad(lambda a, b: max(a, b) * 3.0, wrt=(0, 1))(0.5, 0.5)
    assert (float(ga), float(gb)) == (3.0, 0.0)
    ga, gb = srcgrad.grad(lambda a, b: min(a, b) * 3.0, wrt=(0, 1))(0.5, 0.5)
    assert (float(ga), float(gb)) == (3.0, 0.0)


def test_builtin_max_of_an_array_and_of_a_list():
    x = np.random.default_rng(12).normal(size=5)
    got = srcgrad.grad(max_of_an_array)(x)
    want = jax.grad(lambda v: jnp.max(v) - 2.0 * jnp.min(v))(jnp.asarray(x))
    _close(got, want)
    w = np.random.default_rng(13).normal(size=3)
    _fd_close(srcgrad.grad(max_of_a_list)(w), max_of_a_list, (w,), 0)


def test_builtin_max_with_key_is_refused_at_its_line():
    def f(x):
        return max(x, key=abs)
    with pytest.raises(srcgrad.SrcGradError, match=r"max\(\) with key= or default="):
        srcgrad.grad(f)(np.ones(3))


def sum_of_rows(X):
    return np.sum(sum(X) ** 2) + sum(np.sin(X[0]))


def sum_with_start(xs, c):
    return np.sum(sum([x * c for x in xs], 1.0) ** 2)


def test_builtin_sum_of_an_array_adds_its_rows():
    X = np.random.default_rng(14).normal(size=(3, 4))
    check(sum_of_rows, (X,), rtol=1e-10, atol=1e-12)


def test_builtin_sum_with_a_start_value():
    rng = np.random.default_rng(15)
    xs, c = [rng.normal(size=2), rng.normal(size=2)], 0.7
    dxs, dc = srcgrad.grad(sum_with_start, wrt=(0, 1))(xs, c)
    with numpy_is(__name__, jnp):
        want = jax.grad(sum_with_start, argnums=(0, 1))([jnp.asarray(x) for x in xs], c)
    for a, b in zip(dxs, want[0], strict=True):
        _close(a, b)
    _close(dc, want[1])


def float_of_a_loss(x):
    loss = np.sum(x ** 2)
    return float(loss) * 2.0 + float(x[0])


def test_float_of_a_differentiated_value_carries_its_derivative():
    x = np.random.default_rng(16).normal(size=3)
    got = srcgrad.grad(float_of_a_loss)(x)
    _close(got, 4.0 * x + np.array([1.0, 0.0, 0.0]))
    value, tangent = srcgrad.jvp(float_of_a_loss)((x,), (np.ones(3),))
    assert type(value) is float
    _close(tangent, np.sum(4.0 * x) + 1.0)
    g32 = srcgrad.grad(float_of_a_loss)(x.astype(np.float32))
    assert g32.dtype == np.float32


def containers(x):
    pair = tuple([x, x * 2.0])
    items = list(pair)
    named = dict(a=x, b=items[1])
    return np.sum(named["a"] * named["b"]) + np.sum(pair[0] * items[0])


def test_tuple_list_and_dict_of_differentiated_values():
    check(containers, (np.random.default_rng(17).normal(size=3),), rtol=1e-10, atol=1e-12)


# --- the operator module -------------------------------------------------------------------------

def with_operators(a, b):
    y = operator.mul(a, b) + operator.add(a, b) - operator.truediv(a, 2.0)
    return np.sum(operator.neg(y) + operator.pow(b, 3) + operator.matmul(a, b))


def test_operator_functions_are_their_operators():
    rng = np.random.default_rng(18)
    a, b = rng.normal(size=3), rng.normal(size=3)
    check(with_operators, (a, b), wrt=(0, 1), rtol=1e-10, atol=1e-12)


# --- with np.errstate, lists into reductions, asarray with a dtype -------------------------------

def quiet_log(x):
    with np.errstate(divide="ignore", invalid="ignore"):
        y = np.log(x)
        z = y * x
    return np.sum(z)


def test_errstate_silences_warnings_and_the_body_is_differentiated():
    x = np.abs(np.random.default_rng(19).normal(size=4)) + 0.1
    g = srcgrad.grad(quiet_log)
    _close(g(x), np.log(x) + 1.0)
    assert "errstate" not in g.source
    _close(srcgrad.jvp(quiet_log)((x,), (np.ones(4),))[1], np.sum(np.log(x) + 1.0))


def test_warnings_catch_warnings_is_transparent():
    def f(x):
        with warnings.catch_warnings():
            y = np.sqrt(x)
        return np.sum(y)
    x = np.array([0.5, 2.0])
    _close(srcgrad.grad(f)(x), 0.5 / np.sqrt(x))


def test_errstate_raise_is_refused_at_its_line():
    def f(x):
        with np.errstate(divide="raise"):
            y = np.log(x)
        return np.sum(y)
    with pytest.raises(srcgrad.SrcGradError, match=r"errstate\(divide='raise'\)"):
        srcgrad.grad(f)(np.ones(3))


def list_into_reductions(a, b):
    return np.sum([a, b * 2.0]) + np.mean([a, a + 2.0]) + np.max(np.array([[a, b], [b, a]]))


def test_a_list_of_differentiated_values_handed_to_numpy():
    rng = np.random.default_rng(20)
    # (jax.numpy refuses lists where NumPy takes them: central differences only)
    check(list_into_reductions, (rng.normal(size=3), rng.normal(size=3)), wrt=(0, 1),
          jax_oracle=False)


def asarray_with_dtype(x):
    y = np.asarray(x, dtype=np.float64)
    z = np.array([x[0], x[1]], dtype=np.float64)
    return np.sum(y ** 2) + np.sum(z ** 3)


def test_asarray_with_a_dtype():
    check(asarray_with_dtype, (np.random.default_rng(21).normal(size=3),), rtol=1e-10,
          atol=1e-12)


def test_asarray_to_an_integer_dtype_carries_no_derivative():
    def f(x):
        return np.sum(np.asarray(x, dtype=np.int64) * x)
    x = np.array([1.5, 2.5, -0.5])
    _close(srcgrad.grad(f)(x), np.asarray(x, dtype=np.int64))


# --- a tuple indexed at run time; a custom rule's 1-tuple -----------------------------------------

def tuple_by_runtime_index(x, k):
    powers = (x, x ** 2, np.sin(x))
    return np.sum(powers[k] * powers[k - 1])


@pytest.mark.parametrize("k", [0, 1, 2, -1])
def test_a_literal_tuple_indexed_by_a_runtime_integer(k):
    x = np.random.default_rng(40 + k).normal(size=3)
    check(tuple_by_runtime_index, (x, k), rtol=1e-10, atol=1e-12)
    value, tangent = srcgrad.jvp(lambda v: tuple_by_runtime_index(v, k))((x,), (np.ones(3),))
    with numpy_is(__name__, jnp):
        want = jax.jvp(lambda v: tuple_by_runtime_index(v, k), (jnp.asarray(x),),
                       (jnp.ones(3),))
    _close(value, want[0])
    _close(tangent, want[1])


def squashed(x):
    return np.tanh(x)


@srcgrad.adjoint(squashed)
def _squashed_adjoint(g, out, x):
    return (g * (1 - out ** 2),)   # a 1-tuple, as jax.custom_vjp's bwd returns


def test_a_custom_adjoint_may_return_a_one_tuple():
    x = np.random.default_rng(44).normal(size=3)
    got = srcgrad.grad(lambda v: np.sum(squashed(v) ** 2))(x)
    _close(got, 2 * np.tanh(x) * (1 - np.tanh(x) ** 2))


def literal_dict_views(x):
    layers = {"p": x, "q": np.sin(x) * 2.0}
    total = 0.0
    for name, v in layers.items():
        total = total + np.sum(v * (1.0 if name == "p" else 3.0))
    for v in layers.values():
        total = total + np.sum(v ** 2)
    return total + len(list(layers.keys()))


def test_the_views_of_a_dict_made_in_the_function():
    check(literal_dict_views, (np.random.default_rng(45).normal(size=4),), rtol=1e-10,
          atol=1e-12)


def test_nanstd_of_equal_values_has_np_stds_derivative():
    # one value per row: the spread is 0, and so is np.std's derivative (sqrt of the
    # variance gave 0/0 = nan; fuzz seed 101)
    y = np.array([[1.1], [-0.4]])
    got = srcgrad.grad(lambda v: np.sum(np.cos(np.nanstd(v, axis=1, keepdims=True))))(y)
    want = srcgrad.grad(lambda v: np.sum(np.cos(np.std(v, axis=1, keepdims=True))))(y)
    _close(got, want)
    _close(got, np.zeros((2, 1)))
    x = np.random.default_rng(46).normal(size=(3, 4))

    def cubed(v):
        return np.sum(np.nanstd(v, axis=0, ddof=1) ** 3)
    _fd_close(srcgrad.grad(cubed)(x), cubed, (x,), 0)


def either_test(x):
    if np.sum(x) > 0.5 or np.max(x) < -2.0:
        return np.sum(np.sin(x) ** 3)
    return np.sum(x ** 3)


@pytest.mark.parametrize("seed", [47, 48])
def test_a_combined_test_survives_differentiating_the_gradient(seed):
    # generated code keeps the test in a variable (cond = a or b), which srcgrad reads
    # when it differentiates that code again
    x = np.random.default_rng(seed).normal(size=3) + (1.0 if seed == 47 else -1.0)
    got = srcgrad.hessian(either_test)(x)
    with numpy_is(__name__, jnp):
        want = jax.hessian(either_test)(jnp.asarray(x))
    _close(got, want)


# --- *args, **kwargs and closures returned -------------------------------------------------------

def weighted(*terms, scale=1.0, **weights):
    total = 0.0
    for t in terms:
        total = total + np.sum(t ** 2)
    for name, w in weights.items():
        total = total + w * (2.0 if name == "a" else 1.0)
    return scale * total


def with_varargs(x, y):
    product = lambda *args: args[0] * args[1] + len(args)  # noqa: E731
    return weighted(x, np.sin(y), scale=0.5, a=np.sum(x * y), b=np.sum(y)) + np.sum(
        product(x, y, 3.0))


def make_vjp(x):
    y = np.sin(x)

    def vjp(g):
        return g * np.cos(x)
    return y, vjp


def make_loss(scale):
    def loss(w):
        return scale * np.sum(np.tanh(w) ** 2)
    return loss


def with_closures(x, w):
    y, vjp = make_vjp(x)
    loss = make_loss(3.0)
    return np.sum(vjp(y) * w) + loss(w * x)


def test_star_args_and_star_kwargs_of_inlined_functions():
    rng = np.random.default_rng(49)
    check(with_varargs, (rng.normal(size=3), rng.normal(size=3)), wrt=(0, 1), rtol=1e-10,
          atol=1e-12)


def test_a_function_returning_a_closure_which_is_then_called():
    rng = np.random.default_rng(50)
    check(with_closures, (rng.normal(size=3), rng.normal(size=3)), wrt=(0, 1), rtol=1e-10,
          atol=1e-12)


def test_star_args_of_the_differentiated_function_are_refused():
    def f(*xs):
        return np.sum(xs[0])
    with pytest.raises(srcgrad.SrcGradError, match=r"\*args parameters are not supported"):
        srcgrad.grad(f)(np.ones(2))


# --- scipy.special's gamma family and log_ndtr ------------------------------------------------

special = pytest.importorskip("scipy.special")
import jax.scipy.special as jspecial  # noqa: E402


def gamma_family(x, y):
    return np.sum(special.gammaln(x) * y + special.digamma(x) ** 2
                  + special.polygamma(1, x) * y + special.betaln(x, y + 1.0)
                  + special.psi(y + 2.0))


def gamma_family_jax(x, y):
    return jnp.sum(jspecial.gammaln(x) * y + jspecial.digamma(x) ** 2
                   + jspecial.polygamma(1, x) * y + jspecial.betaln(x, y + 1.0)
                   + jspecial.digamma(y + 2.0))


def test_the_gamma_family_against_jax_in_both_modes_and_second_order():
    rng = np.random.default_rng(51)
    x, y = rng.uniform(0.3, 3.0, 4), rng.uniform(0.3, 3.0, 4)
    got = srcgrad.grad(gamma_family, wrt=(0, 1))(x, y)
    want = jax.grad(gamma_family_jax, argnums=(0, 1))(jnp.asarray(x), jnp.asarray(y))
    for a, b in zip(got, want, strict=True):
        _close(a, b, rtol=1e-9)
    _close(srcgrad.jvp(gamma_family)((x, y), (np.ones(4), np.ones(4)))[1],
           jax.jvp(gamma_family_jax, (jnp.asarray(x), jnp.asarray(y)),
                   (jnp.ones(4), jnp.ones(4)))[1], rtol=1e-9)

    def in_x(v):
        return gamma_family(v, y)
    _close(srcgrad.hessian(in_x)(x),
           jax.hessian(lambda v: gamma_family_jax(v, jnp.asarray(y)))(jnp.asarray(x)),
           rtol=1e-8)


def test_log_ndtr_far_in_the_lower_tail():
    x = np.array([-35.0, -12.0, -3.0, 0.5, 4.0])
    got = srcgrad.grad(lambda v: np.sum(special.log_ndtr(v)))(x)
    want = jax.grad(lambda v: jnp.sum(jspecial.log_ndtr(v)))(jnp.asarray(x))
    assert np.all(np.isfinite(got))
    _close(got, want, rtol=1e-8)


def test_math_lgamma_is_gammaln():
    import math

    def f(x):
        return math.lgamma(x) * 2.0
    _close(srcgrad.grad(f)(2.5), 2.0 * special.digamma(2.5))


def test_builtins_of_values_without_a_derivative_stay_calls_as_written():
    def f(x):
        n = max(x.shape[0], 2)
        k = min(len(x), 10, key=abs)
        return np.sum(x) * n + k
    g = srcgrad.grad(f)
    _close(g(np.ones(3)), np.full(3, 3.0))
    assert "n = max(x.shape[0], 2)" in g.source and "min(len(x), 10, key=abs)" in g.source


# --- NumPy and numpy.linalg spellings through twins --------------------------------------------

SPELLINGS = [
    ("diagonal", lambda x: np.sum(np.diagonal(x) ** 2) + np.sum(np.diagonal(x, 1) * 3.0)
     + np.sum(np.diagonal(x, -1))),
    ("diagonal axes", lambda x: np.sum(np.diagonal(x[None] * 2.0, 0, 1, 2) ** 3)),
    ("matrix_transpose", lambda x: np.sum(np.matrix_transpose(x) * np.arange(12.0).reshape(4, 3))),
    ("logaddexp2", lambda x: np.sum(np.logaddexp2(x, 2.0 * x[::-1]))),
    ("fmax fmin", lambda x: np.sum(np.fmax(x, 0.1) * np.fmin(x, -0.2))),
    ("nancumsum", lambda x: np.sum(np.nancumsum(x, axis=1) ** 2)),
    ("nancumprod", lambda x: np.sum(np.nancumprod(x, axis=0))),
    ("rot90", lambda x: np.sum(np.rot90(x) * np.arange(12.0).reshape(4, 3))
     + np.sum(np.rot90(x, 2) * np.arange(12.0).reshape(3, 4))
     + np.sum(np.rot90(x, -1) ** 2 * np.arange(12.0).reshape(4, 3))),
    ("linalg.matmul", lambda x: np.sum(np.linalg.matmul(x, x.T) ** 2)),
    ("linalg.outer", lambda x: np.sum(np.linalg.outer(x[0], x[1]) ** 2)),
    ("linalg.tensordot", lambda x: np.sum(np.linalg.tensordot(x, x, axes=2))),
    ("linalg.cross", lambda x: np.sum(np.linalg.cross(x[:, :3], x[:, 1:]) ** 2)),
    ("linalg.trace", lambda x: np.sum(np.linalg.trace(x[None] * x[:, :3, None] ** 2) ** 2)),
    ("linalg.diagonal", lambda x: np.sum(np.linalg.diagonal(x) ** 2)),
    ("vector_norm", lambda x: np.linalg.vector_norm(x) + np.sum(np.linalg.vector_norm(
        x, axis=1, ord=3)) + np.sum(np.linalg.vector_norm(x, keepdims=True))),
    ("matrix_norm", lambda x: np.linalg.matrix_norm(x) + np.linalg.matrix_norm(x, ord=1)),
    ("svdvals", lambda x: np.sum(np.linalg.svdvals(x) ** 3)),
]


@pytest.mark.parametrize("name, fn", SPELLINGS, ids=[n for n, _ in SPELLINGS])
def test_numpy_spellings_through_twins(name, fn):
    x = np.random.default_rng(52).normal(size=(3, 4))
    got = srcgrad.grad(fn)(x)
    with numpy_is(__name__, jnp):
        want = jax.grad(fn)(jnp.asarray(x))
    _close(got, want, rtol=1e-9)


def sum_of_a_list_argument(xs):
    return np.sum(sum(xs) ** 2) + np.sum(max([np.sum(x) for x in xs]))


def max_of_an_argument(xs):
    return max(xs) * 2.0 + min(xs)


def test_builtins_over_a_list_argument_give_a_list_gradient():
    rng = np.random.default_rng(53)
    xs = [rng.normal(size=2), rng.normal(size=2)]
    got = srcgrad.grad(sum_of_a_list_argument)(xs)
    assert isinstance(got, list) and len(got) == 2
    with numpy_is(__name__, jnp):
        want = jax.grad(sum_of_a_list_argument)([jnp.asarray(x) for x in xs])
    for a, b in zip(got, want, strict=True):
        _close(a, b)
    got = srcgrad.grad(max_of_an_argument)([0.3, 1.7, -0.2])
    assert isinstance(got, list) and [float(v) for v in got] == [0.0, 2.0, 1.0]
    _close(srcgrad.grad(max_of_an_argument)(np.array([0.3, 1.7, -0.2])), [0.0, 2.0, 1.0])


def test_item_of_a_differentiated_value_is_float_of_it():
    def f(x):
        return np.sum(x ** 2).item() * 2.0 + x[1].item()
    x = np.random.default_rng(54).normal(size=3)
    _close(srcgrad.grad(f)(x), 4.0 * x + np.array([0.0, 1.0, 0.0]))
