"""Forward mode (``srcgrad.jvp``, ``srcgrad.derivative``) against ``jax.jvp`` (x64) and central
finite differences: the end-to-end functions of the rule tests, every control-flow construct
(branches, loops, jumps, lists, index assignment, inlined calls) and random programs."""

from __future__ import annotations

import copy
import inspect

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import test_control_flow as cf
import test_control_flow_random as rp
import test_rules as tr
from hypothesis import assume, given, settings
from oracle import numpy_is

import srcgrad

jax.config.update("jax_enable_x64", True)


def _directions(args, argnums, seed=0):
    rng = np.random.default_rng(seed)

    def like(a):
        if isinstance(a, float):
            return float(rng.standard_normal())
        return rng.standard_normal(np.shape(a))

    return [jax.tree.map(like, args[i]) for i in argnums]


def _jnp_twin(fn):
    module = inspect.getmodule(fn)
    namespace = {**fn.__globals__, "np": jnp}
    for name, value in fn.__globals__.items():  # helpers the function calls see jnp too
        if inspect.isfunction(value) and inspect.getmodule(value) is module and value is not fn:
            namespace[name] = value
    return namespace


def jvp_check(fn, args, wrt, backend="numpy", rtol=1e-9, fd=True, jax_oracle=True):
    """``srcgrad.jvp`` of ``fn`` along random tangents of the ``wrt`` arguments equals
    ``jax.jvp`` (and central differences); returns (value, tangent)."""
    params = list(inspect.signature(fn).parameters)
    wrt = wrt if isinstance(wrt, tuple) else (wrt,)
    argnums = tuple(w if isinstance(w, int) else params.index(w) for w in wrt)
    tangents = _directions(args, argnums)
    jf = srcgrad.JvpFunction(fn, argnums, backend=backend)
    value, tangent = jf(args, tangents)
    np.testing.assert_allclose(np.asarray(value), np.asarray(fn(*copy.deepcopy(args))),
                               rtol=1e-12)  # (a copy: the function may write to its arguments)
    assert np.shape(tangent) == np.shape(value)
    if jax_oracle:
        module = inspect.getmodule(fn).__name__

        def along(*wargs):
            full = list(jax.tree.map(jnp.asarray, args))
            for i, a in zip(argnums, wargs, strict=True):
                full[i] = a
            with numpy_is(module, jnp):
                return fn(*full)

        primals = [jax.tree.map(jnp.asarray, args[i]) for i in argnums]
        _, want = jax.jvp(along, primals, [jax.tree.map(jnp.asarray, t) for t in tangents])
        np.testing.assert_allclose(np.asarray(tangent), np.asarray(want), rtol=rtol,
                                   atol=1e-11, err_msg=f"jvp of {fn.__name__} vs jax.jvp")
    if fd:
        eps = 1e-6

        def at(s):
            moved = list(args)
            for i, t in zip(argnums, tangents, strict=True):
                moved[i] = jax.tree.map(lambda a, d: a + s * d, args[i], t)
            return np.asarray(fn(*moved), dtype=np.float64)

        want_fd = (at(eps) - at(-eps)) / (2 * eps)
        np.testing.assert_allclose(np.asarray(tangent), want_fd, rtol=1e-5, atol=1e-6,
                                   err_msg=f"jvp of {fn.__name__} vs finite differences")
    return value, tangent


# --- the end-to-end functions of the rule tests ------------------------------------------------

@pytest.mark.parametrize("backend", ["numpy", "jax"])
@pytest.mark.parametrize("index", range(len(tr.E2E)), ids=tr.E2E_IDS)
def test_end_to_end_against_jax_jvp(index, backend):
    fn, makers, wrt = tr.E2E[index]
    args = tr._e2e_args(fn, makers)
    jvp_check(fn, args, wrt, backend=backend, fd=backend == "numpy")


# --- control flow --------------------------------------------------------------------------------

@pytest.mark.parametrize("fn", [cf.if_else, cf.elif_chain, cf.nested_if, cf.if_without_else,
                                cf.ternary, cf.nested_ternary, cf.bool_ops, cf.early_returns,
                                cf.returns_in_both, cf.calls_with_returns,
                                cf.calls_returning_tuples])
@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_branches(fn, sign):
    jvp_check(fn, (sign * np.abs(cf.V), cf.W), ("x", "y"))


@pytest.mark.parametrize("fn", cf.LOOPS)
@pytest.mark.parametrize("scale", [0.5, 2.0])
def test_loops_over_vectors(fn, scale):
    jvp_check(fn, (np.abs(cf.V) * scale, np.abs(cf.W) * 0.5 + 0.6), ("x", "w"))


@pytest.mark.parametrize("fn", cf.SEQUENCES)
def test_loops_over_sequences(fn):
    jvp_check(fn, (cf.M, cf.W), ("xs", "w"))


@pytest.mark.parametrize("fn", [f for f in cf.LISTS if f is not cf.numpy_of_comprehensions])
def test_lists_and_comprehensions(fn):
    jvp_check(fn, (cf.M, cf.W), ("xs", "w"))


@pytest.mark.parametrize("fn", cf.INDEX_ASSIGNMENTS)
@pytest.mark.parametrize("backend", ["numpy", "jax"])
def test_index_assignment(fn, backend):
    xs = cf.M.copy()
    jvp_check(fn, (xs, cf.W), ("xs", "w"), backend=backend, jax_oracle=False)
    np.testing.assert_array_equal(xs, cf.M)  # the caller's array is never changed


def test_tangent_inputs_are_never_changed():
    xs, w = cf.M.copy(), cf.W.copy()
    dxs, dw = np.ones_like(xs), np.ones_like(w)
    for fn in cf.INDEX_ASSIGNMENTS:
        srcgrad.jvp(fn, (xs, w), (dxs, dw))
        np.testing.assert_array_equal(dxs, np.ones_like(xs))
        np.testing.assert_array_equal(dw, np.ones_like(w))


def test_loops_on_the_jax_backend():
    jvp_check(cf.rnn, (cf.M, cf.W), ("xs", "w"), backend="jax")


@settings(max_examples=40, deadline=None, derandomize=True)
@given(rp.cases())
def test_random_programs_match_jax_jvp(case):
    """Random programs mixing branches and loops (shown on failure) get jax.jvp's tangent."""
    text, x, w = case
    f_np, f_jax = rp._compile(text, np), rp._compile(text, jnp)
    rng = np.random.default_rng(1)
    dx = rng.standard_normal(3)
    dw = rng.standard_normal(np.shape(w)) if np.ndim(w) else float(rng.standard_normal())
    w_j = w if isinstance(w, float) else jnp.asarray(w)
    value, want = jax.jvp(f_jax, (jnp.asarray(x), w_j),
                          (jnp.asarray(dx), dw if isinstance(dw, float) else jnp.asarray(dw)))
    assume(np.isfinite(float(want)) and abs(float(want)) < 1e8)
    g = jax.grad(f_jax, argnums=(0, 1))(jnp.asarray(x), w_j)
    assume(rp._path_is_stable(f_np, x, w, g))
    try:
        _, got = srcgrad.jvp(f_np, (x, w), (dx, dw), source=text)
    except Exception as exc:
        raise AssertionError(f"srcgrad.jvp failed on\n{text}\nwith x={x!r}, w={w!r}") from exc
    np.testing.assert_allclose(float(got), float(want), rtol=1e-7, atol=1e-9,
                               err_msg=f"jvp of\n{text}\nwith x={x!r}, w={w!r}")


# --- API -----------------------------------------------------------------------------------------

def two_layer(w1, w2, x, y):
    h = np.maximum(x @ w1, 0.0)
    return np.sum((h @ w2 - y) ** 2)


def test_jvp_source_reads_like_forward_mode():
    src = srcgrad.jvp(two_layer).source
    assert src.startswith("def jvp_two_layer(w1, w2, x, y, *, w1_dot, w2_dot, x_dot, y_dot):")
    assert "h_dot = " in src and "d_" not in src and "backward" not in src
    assert src.rstrip().splitlines()[-1].strip().startswith("return ")


def test_jvp_with_and_without_primals():
    r = np.random.default_rng(0)
    args = (r.standard_normal((4, 3)), r.standard_normal((3, 2)), r.standard_normal((5, 4)),
            r.standard_normal((5, 2)))
    tangents = tuple(r.standard_normal(np.shape(a)) for a in args)
    out, t = srcgrad.jvp(two_layer, args, tangents)
    jf = srcgrad.jvp(two_layer)
    assert isinstance(jf, srcgrad.JvpFunction)
    out2, t2 = jf(args, tangents)
    assert out == out2 and t == t2
    # linear in the tangent: J (2v) = 2 J v
    assert srcgrad.jvp(two_layer, args, tuple(2 * v for v in tangents))[1] == \
        pytest.approx(2 * t, rel=1e-12)


def test_jvp_only_differentiates_what_it_is_given_tangents_for():
    jf = srcgrad.JvpFunction(two_layer, ("w1",))
    assert "w2_dot" not in jf.source and "x_dot" not in jf.source
    r = np.random.default_rng(1)
    args = (r.standard_normal((4, 3)), r.standard_normal((3, 2)), r.standard_normal((5, 4)),
            r.standard_normal((5, 2)))
    v = r.standard_normal((4, 3))
    full = srcgrad.jvp(two_layer, args, (v, *(np.zeros_like(a) for a in args[1:])))[1]
    assert jf(args, (v,))[1] == pytest.approx(full, rel=1e-12)


def cubic(x, a):
    return a * x ** 3 - np.sin(x)


def test_derivative_of_a_scalar_function():
    d = srcgrad.derivative(cubic)
    for x in (-1.3, 0.0, 2.0):
        assert d(x, 0.5) == pytest.approx(1.5 * x ** 2 - np.cos(x), rel=1e-12)
    assert "x_dot" in d.source and "a_dot" not in d.source
    assert srcgrad.derivative(cubic, wrt="a")(2.0, 0.5) == pytest.approx(8.0)
    assert srcgrad.derivative(cubic, mode="reverse")(2.0, 0.5) == pytest.approx(
        1.5 * 4 - np.cos(2.0))


def test_derivative_as_a_decorator():
    @srcgrad.derivative
    def f(x):
        return np.exp(2.0 * x)

    assert f(0.3) == pytest.approx(2 * np.exp(0.6))


def test_jvp_errors_name_the_problem():
    args = (np.ones((4, 3)), np.ones((3, 2)), np.ones((5, 4)), np.ones((5, 2)))
    with pytest.raises(srcgrad.SrcGradError, match="takes 4 tangent"):
        srcgrad.jvp(two_layer, args, (np.ones((4, 3)),))
    with pytest.raises(srcgrad.SrcGradError, match="shape"):
        srcgrad.jvp(two_layer, args, (np.ones((3, 4)), *args[1:]))
    with pytest.raises(srcgrad.SrcGradError, match="scalar argument"):
        srcgrad.derivative(cubic)(np.ones(3), 0.5)
    with pytest.raises(srcgrad.SrcGradError, match="primals and tangents"):
        srcgrad.jvp(two_layer, args)


def returns_none(x):
    y = x * 2.0  # noqa: F841


def test_forward_mode_of_a_function_returning_none_is_refused_at_its_line():
    with pytest.raises(srcgrad.SrcGradError, match="returns None") as info:
        srcgrad.jvp(returns_none, (np.ones(3),), (np.ones(3),))
    assert info.value.lineno is not None
    assert info.value.hint == "return the value to differentiate"


def broadcast_sum(x, w):
    return x + w


def broadcast_difference(x, w):
    y = np.sin(x) - w
    return y


@pytest.mark.parametrize("fn", [broadcast_sum, broadcast_difference])
def test_the_tangent_of_a_broadcast_operand_has_the_outputs_shape(fn):
    """Along ``x`` (3, 1) only, ``x + w`` with ``w`` (3, 4): the tangent, ``x_dot``
    broadcast, has the output's shape."""
    rng = np.random.default_rng(3)
    jvp_check(fn, (rng.standard_normal((3, 1)), rng.standard_normal((3, 4))), "x")


def constant_output(x):
    return np.ones(3) * 2.0


def test_output_that_does_not_depend_on_the_input_has_a_zero_tangent():
    out, t = srcgrad.jvp(constant_output, (np.ones(2),), (np.ones(2),))
    np.testing.assert_array_equal(t, np.zeros(3))


def written_into_a_passive_argument(x, y):
    y[1] = x[0] * 2.0
    y[2] = y[1] * x[1]
    return np.sum(y * y)


def test_an_index_write_into_an_argument_without_a_tangent():
    """``y`` carries no tangent until an item with one is written into it (zeros first)."""
    x, y, v = np.array([0.5, -1.5, 2.0]), np.array([1.0, 2.0, 3.0]), np.array([0.3, 0.7, -1.1])
    value, tangent = srcgrad.JvpFunction(written_into_a_passive_argument, (0,))((x, y.copy()),
                                                                                 (v,))
    grad = srcgrad.grad(written_into_a_passive_argument)(x, y.copy())
    assert value == written_into_a_passive_argument(x, y.copy())
    np.testing.assert_allclose(tangent, grad @ v, rtol=1e-12)
    np.testing.assert_allclose(y, [1.0, 2.0, 3.0])  # the caller's array is unchanged


ONES3 = np.ones(3)


def with_defaults(x, scale=2.0, shift=ONES3):
    return np.sum(np.sin(x) * scale + shift)


def test_jvp_differentiates_the_primals_given_and_leaves_defaults_alone():
    """As jax.jvp: parameters left at their defaults take no tangent (it demanded 3)."""
    import jax

    x = np.linspace(0.0, 1.0, 3)
    value, tangent = srcgrad.jvp(with_defaults, (x,), (np.ones(3),))
    assert value == pytest.approx(with_defaults(x)) and tangent == pytest.approx(
        2.0 * np.sum(np.cos(x)))
    _, tangent = srcgrad.jvp(with_defaults, (x, 3.0), (np.ones(3), 1.0))
    want = jax.jvp(lambda a, s: jax.numpy.sum(jax.numpy.sin(a) * s + 1.0), (x, 3.0),
                   (np.ones(3), 1.0))[1]
    assert tangent == pytest.approx(float(want))
    with pytest.raises(srcgrad.SrcGradError, match="takes 3 tangent"):
        srcgrad.jvp(with_defaults, (x, 3.0), (np.ones(3),))
