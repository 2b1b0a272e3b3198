"""JAX's conventions on srcgrad's front end (#20): ``argnums``, ``has_aux``, static arguments
under ``jit=True``, integer arguments refused, and every failure under jit a located
SrcGradError. Each answer is checked against ``jax.grad`` of the same function on jax.numpy,
or against srcgrad's NumPy backend."""

from __future__ import annotations

import numpy as np
import pytest
from oracle import numpy_is

import srcgrad

jax = pytest.importorskip("jax")
jnp = pytest.importorskip("jax.numpy")
jax.config.update("jax_enable_x64", True)

MODULE = __name__


def _jax(fn, *args, **kwargs):
    """``jax.grad(fn, ...)`` with this module's ``np`` bound to jax.numpy."""
    g = jax.grad(fn, **kwargs)
    with numpy_is(MODULE, jnp):
        return g(*args)


def _jax_value_and_grad(fn, *args, **kwargs):
    g = jax.value_and_grad(fn, **kwargs)
    with numpy_is(MODULE, jnp):
        return g(*args)


def _close(got, want, rtol=1e-10):
    got_leaves, want_leaves = jax.tree_util.tree_leaves(got), jax.tree_util.tree_leaves(want)
    assert jax.tree_util.tree_structure(got) == jax.tree_util.tree_structure(want)
    for g, w in zip(got_leaves, want_leaves, strict=True):
        np.testing.assert_allclose(np.asarray(g), np.asarray(w), rtol=rtol, atol=1e-12)


@pytest.fixture
def w(rng):
    return rng.standard_normal((3, 3))


@pytest.fixture
def x(rng):
    return rng.standard_normal((2, 3))


# --- has_aux -------------------------------------------------------------------------------------

def loss_with_metrics(w, x):
    h = np.tanh(x @ w)
    return np.sum(h ** 2), {"mean": np.mean(h), "h": h}


def loss_with_tuple(w, x):
    y = np.sin(x @ w)
    return np.mean(y ** 2), (y, np.max(y))


def rnn_with_state(w, x):
    """The auxiliary value is the loop's last state, which the backward sweep restores."""
    h = x
    for _ in range(4):
        h = np.tanh(h @ w)
    return np.sum(h * h), h


def loss_and_count(w, x):
    return np.sum(np.cos(x @ w)), x.shape[0]


@pytest.mark.parametrize("fn", [loss_with_metrics, loss_with_tuple, rnn_with_state,
                                loss_and_count])
def test_has_aux_is_jax_s(fn, w, x):
    _close(srcgrad.grad(fn, has_aux=True)(w, x), _jax(fn, w, x, has_aux=True))
    _close(srcgrad.value_and_grad(fn, has_aux=True)(w, x),
           _jax_value_and_grad(fn, w, x, has_aux=True))


@pytest.mark.parametrize("fn", [loss_with_metrics, rnn_with_state])
def test_has_aux_with_several_arguments(fn, w, x):
    want = _jax(fn, w, x, argnums=(0, 1), has_aux=True)
    _close(srcgrad.grad(fn, argnums=(0, 1), has_aux=True)(w, x), want)
    _close(srcgrad.grad(fn, wrt=("w", "x"), has_aux=True)(w, x), want)
    _close(srcgrad.value_and_grad(fn, argnums=(0, 1), has_aux=True)(w, x),
           _jax_value_and_grad(fn, w, x, argnums=(0, 1), has_aux=True))


def test_has_aux_on_the_jax_backend(w, x):
    want = _jax(loss_with_tuple, w, x, has_aux=True)
    for jit in (False, True):
        _close(srcgrad.grad(loss_with_tuple, has_aux=True, backend="jax", jit=jit)(w, x), want)


def test_the_auxiliary_value_is_the_forward_sweep_s():
    """The generated code keeps the state the loop left before the backward sweep restores
    it (without that, ``aux`` came out as ``x``)."""
    src = srcgrad.grad(rnn_with_state, has_aux=True).source
    assert "aux = h" in src and src.rstrip().endswith("return d_w, aux")


def one_value(w, x):
    return np.sum(w * x[0])


def three_values(w, x):
    return np.sum(w), w, x


@pytest.mark.parametrize("fn, count", [(one_value, "one value"), (three_values, "3 values")])
def test_has_aux_needs_a_pair(fn, count, w, x):
    with pytest.raises(srcgrad.SrcGradError, match=f"return a pair.*returns {count}") as err:
        srcgrad.grad(fn, has_aux=True)(w, x)
    assert err.value.filename == __file__ and err.value.line.strip().startswith("return")


def container_output(w, x):
    y = w * x[0]
    return np.sum(y), {"y": y}


def test_a_container_of_differentiated_values_as_an_output_is_refused(w, x):
    """Without has_aux, a dict of values that carry a derivative is an output of vjp: refused
    at the return (it would have had no cotangent)."""
    for call in (lambda: srcgrad.vjp(container_output, w, x),
                 lambda: srcgrad.jvp(container_output, (w, x), (w, x))):
        with pytest.raises(srcgrad.SrcGradError, match="container of values that carry a "
                           "derivative") as err:
            call()
        assert err.value.filename == __file__


# --- argnums -------------------------------------------------------------------------------------

def bilinear(a, b):
    return np.sum(np.sin(a) * b)


def test_argnums_is_wrt(rng):
    a, b = rng.standard_normal(4), rng.standard_normal(4)
    _close(srcgrad.grad(bilinear, argnums=1)(a, b), _jax(bilinear, a, b, argnums=1))
    _close(srcgrad.grad(bilinear, argnums=(0, 1))(a, b), _jax(bilinear, a, b, argnums=(0, 1)))
    _close(srcgrad.value_and_grad(bilinear, argnums=[1, 0])(a, b),
           _jax_value_and_grad(bilinear, a, b, argnums=(1, 0)))


@pytest.mark.parametrize("kwargs, match", [
    (dict(wrt=1, argnums=0), "wrt or argnums, not both"),
    (dict(argnums="a"), "argnums must be an int or a tuple of ints"),
    (dict(argnums=True), "argnums must be an int"),
])
def test_bad_argnums_are_refused(kwargs, match):
    with pytest.raises(srcgrad.SrcGradError, match=match):
        srcgrad.grad(bilinear, **kwargs)


# --- static arguments under jit ------------------------------------------------------------------

def repeated(x, n):
    s = 0.0
    for i in range(n):
        s = s + np.sum(np.sin(x) * (i + 1))
    return s


def with_mode(x, mode):
    if mode == "square":
        return np.sum(x ** 2)
    return np.sum(np.abs(x))


def test_an_int_loop_bound_is_static_under_jit(rng):
    x = rng.standard_normal(4)
    g = srcgrad.grad(repeated, backend="jax", jit=True)
    for n in (2, 3, 2):  # each new value compiles again
        _close(g(x, n), srcgrad.grad(repeated)(x, n))
        _close(g(x, n), _jax(repeated, x, n))


def test_static_argnames_and_argnums(rng):
    x = rng.standard_normal(4)
    for kwargs in (dict(static_argnames="mode"), dict(static_argnums=1), {}):
        g = srcgrad.grad(with_mode, backend="jax", jit=True, **kwargs)  # (a str: static anyway)
        _close(g(x, "square"), 2 * x)
        _close(g(x, "abs"), np.sign(x))


def scaled_sum(x, k):
    return np.sum(x) * k


def test_a_named_static_argument_that_is_an_array(rng):
    """An argument named static is static whatever its type (here a tuple: hashable)."""
    def shaped(x, shape):
        return np.sum(np.reshape(x, shape) ** 2)

    x = rng.standard_normal(6)
    g = srcgrad.grad(shaped, backend="jax", jit=True, static_argnames=("shape",))
    _close(g(x, (2, 3)), 2 * x)


@pytest.mark.parametrize("kwargs, match", [
    (dict(static_argnums=1), "are for jit=True"),
    (dict(static_argnums=5, backend="jax", jit=True), "has no parameter 5"),
    (dict(static_argnames="z", backend="jax", jit=True), "has no parameter 'z'"),
])
def test_bad_static_arguments_are_refused(kwargs, match):
    with pytest.raises(srcgrad.SrcGradError, match=match):
        srcgrad.grad(scaled_sum, **kwargs)


def test_an_integer_wrt_is_refused_under_jit(rng):
    x = rng.standard_normal(3)
    with pytest.raises(srcgrad.SrcGradError, match="'k': it is an integer"):
        srcgrad.grad(scaled_sum, wrt=1, backend="jax", jit=True)(x, 3)
    with pytest.raises(srcgrad.SrcGradError, match="'x': it is an integer"):
        srcgrad.grad(scaled_sum, backend="jax", jit=True)(np.arange(3), 2.0)


# --- every failure under jit is located ----------------------------------------------------------

def branchy(a):
    if np.sum(a) > 0:
        return np.sum(np.sin(a))
    return np.sum(a)


def branchy_scalar(a):
    if a > 0:
        return np.sin(a)
    return a


def masked(a):
    return np.sum(a[a > 0])


@pytest.mark.parametrize("call, line", [
    (lambda v: srcgrad.grad(branchy, backend="jax", jit=True)(v), "if np.sum(a) > 0:"),
    (lambda v: srcgrad.jvp(branchy, (v,), (v,), backend="jax", jit=True), "if np.sum(a) > 0:"),
    (lambda v: srcgrad.hvp(branchy, backend="jax", jit=True)(v, v), "if np.sum(a) > 0:"),
    (lambda v: srcgrad.derivative(branchy_scalar, backend="jax", jit=True)(0.5), "if a > 0:"),
    (lambda v: srcgrad.grad(masked, backend="jax", jit=True)(v), "return np.sum(a[a > 0])"),
])
def test_a_traced_decision_is_a_located_error_in_every_entry_point(call, line, rng):
    with pytest.raises(srcgrad.SrcGradError, match="cannot depend on the values of traced "
                       "arrays") as err:
        call(rng.standard_normal(3))
    assert err.value.filename == __file__ and err.value.line.strip() == line
    assert "static_argnames" in str(err.value)


def relu(x):
    return np.clip(x, 0.0, None)


@srcgrad.adjoint(relu)
def relu_backward(d_out, out, x):
    d_x = d_out.copy()
    d_x[x < 0] = 0
    return d_x


def two_layer(w1, w2, x):
    return np.sum((relu(x @ w1) @ w2) ** 2)


def test_a_custom_rule_that_assigns_under_a_mask_is_jitted(rng):
    """The tutorials' custom ReLU backward (``d_x[x < 0] = 0``) under jax.jit: a mask whose
    number of elements jax cannot know, traced as a choice."""
    w1, w2, x = rng.standard_normal((4, 5)), rng.standard_normal((5, 2)), \
        rng.standard_normal((3, 4))
    want = srcgrad.grad(two_layer, wrt=(0, 1))(w1, w2, x)
    for jit in (False, True):
        _close(srcgrad.grad(two_layer, wrt=(0, 1), backend="jax", jit=jit)(w1, w2, x), want)


def test_one_number_under_a_mask_of_leading_dimensions(rng):
    from srcgrad.runtime.indexing import set_at, zero_at

    a = rng.standard_normal((3, 4))
    rows = np.array([True, False, True])
    want = a.copy()
    want[rows] = 2.0
    got = jax.jit(lambda v, m: set_at(v, m, 2.0))(jnp.asarray(a), jnp.asarray(rows))
    np.testing.assert_array_equal(np.asarray(got), want)
    want[a < 0] = 0
    got = jax.jit(lambda v: zero_at(v, v < 0))(jnp.asarray(want))
    np.testing.assert_array_equal(np.asarray(got), want)


# --- Jacobians and Hessians on jax: jax arrays, jittable, vmappable -------------------------------

def vector_valued(x, w):
    return np.sin(x) * np.sum(w * x)


def two_outputs(x, w):
    return np.sin(x) * w, np.sum(x ** 2)


def cubes(x):
    return np.sum(np.sin(x) ** 3)


@pytest.mark.parametrize("mode", ["rev", "fwd"])
def test_jacobian_on_jax_is_a_traceable_jax_array(mode, rng):
    x, w = rng.standard_normal(3), rng.standard_normal(3)
    want = jax.jacrev(vector_valued)
    with numpy_is(MODULE, jnp):
        want_x, want_batch = want(x, w), jax.vmap(want, in_axes=(0, None))(np.stack([x, -x]), w)
    jac = srcgrad.jacobian(vector_valued, mode=mode, backend="jax")
    got = jac(x, w)
    assert isinstance(got, jax.Array)
    _close(got, want_x)
    _close(jax.jit(jac)(x, w), want_x)
    _close(jax.vmap(jac, in_axes=(0, None))(np.stack([x, -x]), w), want_batch)


@pytest.mark.parametrize("backend", ["numpy", "jax"])
@pytest.mark.parametrize("mode", ["rev", "fwd"])
def test_jacobian_of_several_arguments_and_outputs(mode, backend, rng):
    x, w = rng.standard_normal(3), rng.standard_normal(3)
    with numpy_is(MODULE, jnp):
        want = jax.jacrev(two_outputs, argnums=(0, 1))(x, w)   # [output][argument]
    got = srcgrad.jacobian(two_outputs, wrt=(0, 1), mode=mode, backend=backend)(x, w)
    for arg in range(2):  # [argument][output]
        for out in range(2):
            _close(got[arg][out], want[out][arg])
    jac = srcgrad.jacfwd if mode == "fwd" else srcgrad.jacrev
    _close(jac(vector_valued, argnums=1, backend=backend)(x, w),
           srcgrad.jacobian(vector_valued, wrt="w")(x, w))


def test_a_jacobian_of_an_unknown_parameter_is_refused():
    with pytest.raises(srcgrad.SrcGradError, match="no parameter 'z'"):
        srcgrad.jacobian(vector_valued, wrt="z")
    with pytest.raises(srcgrad.SrcGradError, match="no parameter 4"):
        srcgrad.jacobian(vector_valued, wrt=4)


def test_hessian_on_jax_is_a_traceable_jax_array(rng):
    x = rng.standard_normal(4)
    with numpy_is(MODULE, jnp):
        want = jax.hessian(cubes)(x)
    hess = srcgrad.hessian(cubes, backend="jax")
    assert isinstance(hess(x), jax.Array)
    _close(hess(x), want)
    _close(jax.jit(hess)(x), want)
