"""Derivatives of derivatives: generated code differentiated again. Hessian-vector products and
Hessians against ``jax.hessian`` (x64) and finite differences of gradients, derivatives of any
order of ``np.tanh`` against jax, ``grad(grad(f))``, and Newton's method converging
quadratically."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import srcgrad

jax.config.update("jax_enable_x64", True)


def smooth(x):
    return np.sum(np.tanh(x) ** 2) + np.sum(x) ** 2 + np.sum(np.exp(0.3 * x) * x)


def smooth_jax(x):
    return jnp.sum(jnp.tanh(x) ** 2) + jnp.sum(x) ** 2 + jnp.sum(jnp.exp(0.3 * x) * x)


def two_layer(w1, w2, x, y):
    h = np.tanh(x @ w1)
    return np.sum((h @ w2 - y) ** 2)


def two_layer_jax(w1, w2, x, y):
    h = jnp.tanh(x @ w1)
    return jnp.sum((h @ w2 - y) ** 2)


R = np.random.default_rng(0)
X = R.standard_normal(4)
V = R.standard_normal(4)
NET = (R.standard_normal((3, 4)) * 0.5, R.standard_normal((4, 2)) * 0.5,
       R.standard_normal((5, 3)), R.standard_normal((5, 2)))


def test_hvp_matches_jax():
    got = srcgrad.hvp(smooth)(X, V)
    want = jax.jvp(jax.grad(smooth_jax), (X,), (V,))[1]
    np.testing.assert_allclose(got, np.asarray(want), rtol=1e-10)


def test_hvp_matches_finite_differences_of_the_gradient():
    g = srcgrad.grad(smooth)
    eps = 1e-6
    fd = (g(X + eps * V) - g(X - eps * V)) / (2 * eps)
    np.testing.assert_allclose(srcgrad.hvp(smooth)(X, V), fd, rtol=1e-6, atol=1e-8)


def test_hvp_of_the_two_layer_net_with_respect_to_w1(rng):
    v = rng.standard_normal(NET[0].shape)
    got = srcgrad.hvp(two_layer, wrt="w1")(*NET, v)
    want = jax.jvp(lambda w: jax.grad(two_layer_jax)(w, *NET[1:]), (NET[0],), (v,))[1]
    assert got.shape == NET[0].shape
    np.testing.assert_allclose(got, np.asarray(want), rtol=1e-10)


def test_hessian_matches_jax():
    np.testing.assert_allclose(srcgrad.hessian(smooth)(X), np.asarray(jax.hessian(smooth_jax)(X)),
                               rtol=1e-10)
    h = srcgrad.hessian(two_layer, wrt="w2")(*NET)
    assert h.shape == NET[1].shape * 2
    want = jax.hessian(two_layer_jax, argnums=1)(*NET)
    np.testing.assert_allclose(h, np.asarray(want), rtol=1e-10, atol=1e-12)


def test_hessian_of_a_function_of_a_float():
    assert srcgrad.hessian(lambda x: x ** 4 + np.sin(x))(0.5) == pytest.approx(
        12 * 0.25 - np.sin(0.5))


def th(x):
    return np.tanh(x)


def test_derivatives_of_tanh_to_the_sixth_order():
    d = th
    want = jnp.tanh
    sizes = []
    for order in range(1, 7):
        d = srcgrad.derivative(d)
        want = jax.grad(want)
        for x in (-1.2, 0.0, 0.7):
            assert d(x) == pytest.approx(float(want(x)), rel=1e-9, abs=1e-12), (order, x)
        sizes.append(len(d.source.splitlines()))
    # the code grows with the order (a derivative of each line of the previous one), but
    # stays the size of the expression swell, not of a tape
    assert sizes[3] < 60, sizes
    assert sizes == sorted(sizes)


def test_grad_of_grad():
    gg = srcgrad.grad(srcgrad.grad(th))
    for x in (-0.4, 0.9):
        assert gg(x) == pytest.approx(float(jax.grad(jax.grad(jnp.tanh))(x)), rel=1e-10)


def test_derivative_of_a_gradient_and_gradient_of_a_derivative():
    def f(x):
        return np.exp(np.sin(x)) * x

    def fj(x):
        return jnp.exp(jnp.sin(x)) * x

    want = float(jax.grad(jax.grad(fj))(0.8))
    assert srcgrad.derivative(srcgrad.grad(f))(0.8) == pytest.approx(want, rel=1e-10)
    assert srcgrad.grad(srcgrad.derivative(f))(0.8) == pytest.approx(want, rel=1e-10)


def test_differentiating_a_jvp_pair_is_refused():
    with pytest.raises(srcgrad.SrcGradError, match="value, tangent"):
        srcgrad.grad(srcgrad.jvp(th))(0.3)


def newton_objective(x):
    # strictly convex, minimum away from 0
    return np.sum(np.exp(x) - 2.0 * x) + 0.5 * np.sum(x * x) + 0.1 * np.sum(x) ** 2


def test_newtons_method_converges_quadratically():
    grad = srcgrad.grad(newton_objective)
    hess = srcgrad.hessian(newton_objective)
    x = np.full(3, 1.5)
    errors = []
    for _ in range(6):
        g = grad(x)
        errors.append(float(np.linalg.norm(g)))
        if errors[-1] < 1e-13:
            break
        x = x - np.linalg.solve(hess(x), g)
    assert errors[-1] < 1e-12
    # quadratic convergence: each error at most C times the square of the one before
    pairs = [(a, b) for a, b in zip(errors, errors[1:], strict=False) if a < 1e-1 and b > 1e-14]
    assert pairs, errors
    assert all(b <= 2.0 * a * a for a, b in pairs), errors


GRAD_TWO_LAYER = srcgrad.grad(two_layer)


def directional(w1, w2, x, y, v):
    return np.sum(GRAD_TWO_LAYER(w1, w2, x, y) * v)


def test_gradient_of_a_function_that_calls_a_gradient(rng):
    """Reverse over reverse: the generated gradient is inlined (matmul_grad_a/b, unbroadcast
    and unreduce have rules), so the gradient of <grad f, v> is H v."""
    v = rng.standard_normal(NET[0].shape)
    got = srcgrad.grad(directional)(*NET, v)
    want = jax.jvp(lambda w: jax.grad(two_layer_jax)(w, *NET[1:]), (NET[0],), (v,))[1]
    np.testing.assert_allclose(got, np.asarray(want), rtol=1e-10)
    src = srcgrad.grad(directional).source
    assert "grad_two_layer() L" in src  # the inlined gradient's statements are quoted


GRAD_W2 = srcgrad.grad(two_layer, wrt="w2")


def along_w2(w2, v):
    return np.sum(GRAD_W2(NET[0], w2, NET[2], NET[3]) * v)


def test_second_derivative_with_respect_to_w2_by_reverse_over_reverse(rng):
    hess = jax.hessian(two_layer_jax, argnums=1)(*NET)
    v = rng.standard_normal(NET[1].shape)
    got = srcgrad.grad(along_w2)(NET[1], v)
    np.testing.assert_allclose(got, np.tensordot(np.asarray(hess), v, axes=2), rtol=1e-10)


JVP_TH = srcgrad.jvp(th)


def calls_a_jvp(x):
    return JVP_TH((x,), (1.0,))[1]


def test_a_jvp_called_in_a_differentiated_function_is_inlined():
    # d/dx of tanh'(x) is tanh''(x)
    np.testing.assert_allclose(srcgrad.grad(calls_a_jvp)(0.3),
                               float(jax.grad(jax.grad(jnp.tanh))(0.3)), rtol=1e-12)
    assert "# jvp_th() L" in srcgrad.grad(calls_a_jvp).source


def directional_by_jvp(w1, w2, x, y, v):          # <grad loss(w1), v> = d/dt loss(w1 + t v)
    _, tangent = srcgrad.jvp(two_layer, (w1, w2, x, y), (v, 0.0 * w2, 0.0 * x, 0.0 * y))
    return tangent


HVP_TWO_LAYER = srcgrad.hvp(two_layer)


def hvp_norm(w1, w2, x, y, v):                      # a function of an HVP
    return np.sum(HVP_TWO_LAYER(w1, w2, x, y, v) ** 2)


def test_gradients_of_functions_that_call_jvp_and_hvp(rng):
    v = rng.standard_normal(NET[0].shape)
    got = srcgrad.grad(directional_by_jvp)(*NET, v)
    want = jax.jvp(lambda w: jax.grad(two_layer_jax)(w, *NET[1:]), (NET[0],), (v,))[1]
    np.testing.assert_allclose(got, np.asarray(want), rtol=1e-10)
    hess = np.asarray(jax.hessian(two_layer_jax)(*NET)).reshape(NET[0].size, NET[0].size)
    got = srcgrad.grad(hvp_norm, wrt="v")(*NET, v)
    np.testing.assert_allclose(got.ravel(), 2 * hess @ (hess @ v.ravel()), rtol=1e-9)


def test_a_jvp_call_needs_literal_tuples():
    def bad(x):
        primals = []
        for _ in range(1):
            primals.append(x)  # a list made at run time
        return srcgrad.jvp(th, primals, (1.0,))[1]

    with pytest.raises(srcgrad.SrcGradError, match="two tuples") as info:
        srcgrad.grad(bad)(0.3)
    assert info.value.lineno is not None


def joined(a, b):
    return np.sum(np.stack([a, b * 2.0, np.ones(3)]) ** 2) + np.sum(np.concatenate([a, b]) ** 3)


def joined_jax(a, b):
    return jnp.sum(jnp.stack([a, b * 2.0, jnp.ones(3)]) ** 2) + \
        jnp.sum(jnp.concatenate([a, b]) ** 3)


def test_hessian_through_joined_arrays():
    a, b = np.array([0.1, 0.5, -0.3]), np.array([1.0, -2.0, 0.4])
    for wrt in (0, 1):
        np.testing.assert_allclose(srcgrad.hessian(joined, wrt=wrt)(a, b),
                                   np.asarray(jax.hessian(joined_jax, argnums=wrt)(a, b)),
                                   rtol=1e-10)


# --- second derivatives through every kind of gradient code ------------------------------------
# Each function's gradient code calls other runtime helpers (getitem_grad, extremum_grad,
# prod_grad, var_grad, norm_grad, solve_grad_*, concat_grad, ...). Its Hessian is checked by
# forward over reverse (the default), reverse over forward, and reverse over reverse (the
# gradient of a function that calls grad(f)), against jax.hessian. The functions are written
# with the module-global np; jax runs them with np bound to jax.numpy.

A0 = np.array([[2.0, 0.3, -0.2], [0.1, 1.5, 0.4], [-0.3, 0.2, 1.8]])
W0 = R.standard_normal((4, 2))


def with_extrema(x):
    return np.sum(np.max(x * x, axis=1) ** 2) + np.min(np.sin(x)) ** 2


def with_prod(x):
    return np.sum(np.prod(np.sin(x) + 1.5, axis=0)) + np.prod(x[0]) ** 2


def with_var(x):
    return np.sum(np.var(np.tanh(x), axis=1)) + np.std(x * x) + np.var(x[1], ddof=1) ** 2


def with_norm(x):
    return (np.sum(np.linalg.norm(np.sin(x), axis=1)) + np.linalg.norm(x) ** 3
            + np.linalg.norm(x[0], ord=3) + np.linalg.norm(x[1], ord=1) * np.sum(x))


def with_solve(x):
    return np.sum(np.linalg.solve(A0 + 0.1 * x[:, :3], x[:, 3]) ** 2) + \
        np.sum(np.linalg.solve(A0 * np.exp(x[0, 0]), np.tanh(x[:, 1:3])) ** 3)


def with_products(x):
    h = np.tanh(x)
    return (np.sum(np.dot(h, W0) ** 2) + np.sum(np.inner(h, x) ** 2)
            + np.sum(np.tensordot(h, x, axes=([1], [1])) ** 2) + np.sum((x.T @ h) ** 2))


def with_joins(x):
    return (np.sum(np.concatenate([np.sin(x[0]), x[1] ** 2]) ** 2)
            + np.sum(np.stack([x[0], np.cos(x[2])], axis=1) ** 3)
            + np.sum(np.hstack([x[0], x[1]]) ** 3) + np.sum(np.vstack([x[0], x[1:]]) ** 3))


def with_shapes(x):
    return (np.sum(np.tile(np.sin(x), (2, 1)) ** 3) + np.sum(np.repeat(x, 2, axis=1) ** 3)
            + np.sum(np.cumsum(x, axis=1) ** 3) + np.trace(np.tanh(x[:, :3])) ** 2
            + np.sum(np.diag(x[:, :3]) ** 3) + np.sum(np.transpose(x) ** 3)
            + np.sum(x[np.array([0, 2, 0])] ** 3))


def with_index_assignment(x):
    y = np.zeros((3, 4))
    y[0] = np.sin(x[0])
    y[1:] = x[1:] ** 2
    y[2, 1] = y[2, 1] * x[0, 0]
    return np.sum(y ** 3)


def with_kinks(x):
    return np.sum(np.clip(x, -0.5, 0.5) ** 3) + np.sum(np.abs(x) ** x) + \
        np.sum(np.maximum(x, 0.1) ** 3)


def with_a_loop(x):
    h = x[0]
    for t in range(3):
        h = np.tanh(h * x[t] + 0.5)
    return np.sum(h ** 2)


def with_a_list(x):
    hs = []
    h = x[0]
    for t in range(3):
        h = np.tanh(h * x[t] + 0.5)
        hs.append(h)
    return np.sum(np.stack(hs) ** 2) + np.sum(hs.pop() * hs[0])


def with_einsum(x):
    return (np.sum(np.einsum("ij,ij->i", x, np.tanh(x)) ** 2)
            + np.sum(np.einsum("ij,kj->ik", x, x) ** 2) + np.einsum("ii->", x[:, :3]) ** 3)


def with_einsum_of_a_scalar(s):
    return np.einsum("i,i->", np.sin(XS[0] * s), XS[1] * s * s)


def with_keepdims(x):
    """Reductions with their parameters away from the defaults (keepdims, axis, ord, ddof): the
    gradient helpers they become keep them, and so do those helpers' own rules."""
    return (np.sum(np.linalg.norm(np.sin(x), ord=2, axis=1, keepdims=True) * x)
            + np.sum(np.linalg.norm(x, ord=4, axis=0, keepdims=True) * x)
            + np.sum(np.linalg.norm(x, ord=2.5, axis=1) ** 2)
            + np.linalg.norm(np.cos(x), "fro") ** 3 + np.linalg.norm(x[0], ord=np.inf) * x[1, 1]
            + np.sum(np.linalg.norm(x, ord=0, axis=1) * x[0, :3])
            + np.sum(np.prod(np.cos(x) + 1.5, axis=0, keepdims=True) * x)
            + np.sum(np.var(x, axis=1, keepdims=True, ddof=1) * x)
            + np.sum(np.std(x, axis=0, keepdims=True) * x)
            + np.sum(np.max(x * x, axis=1, keepdims=True) * x)
            + np.sum(np.min(np.sin(x), axis=0, keepdims=True) * x)
            + np.sum(np.mean(x, axis=1, keepdims=True) ** 3)
            + np.sum(np.sum(x ** 2, axis=0, keepdims=True) ** 2))


def with_list_joins(x):
    rows = [np.sin(x[0]), x[1] ** 2, np.cos(x[2])]
    return (np.sum(np.stack(rows, axis=1) ** 3) + np.sum(np.hstack(rows) ** 3)
            + np.sum(np.vstack(rows) ** 3) + np.sum(sum(rows) ** 3)
            + np.sum(np.array(rows) ** 3))


SECOND = [with_einsum, with_extrema, with_prod, with_var, with_norm, with_solve, with_products,
          with_joins, with_keepdims, with_list_joins,
          with_shapes, with_index_assignment, with_kinks, with_a_loop, with_a_list]
XS = R.uniform(0.2, 1.2, (3, 4)) * np.array([1.0, -1.0, 1.0, -1.0])


def _jax_hessian(fn, x):
    from oracle import numpy_is

    def twin(x):
        with numpy_is(__name__, jnp):
            return fn(x)

    if fn is with_index_assignment:
        def twin(x):  # jax arrays are immutable: the same function with .at[].set()
            y = jnp.zeros((3, 4)).at[0].set(jnp.sin(x[0])).at[1:].set(x[1:] ** 2)
            y = y.at[2, 1].set(y[2, 1] * x[0, 0])
            return jnp.sum(y ** 3)
    return np.asarray(jax.hessian(twin)(x)).reshape(x.size, x.size)


@pytest.mark.parametrize("fn", SECOND)
@pytest.mark.parametrize("mode", ["forward-over-reverse", "reverse-over-forward"])
def test_hessians_through_gradient_helpers(fn, mode):
    got = srcgrad.hessian(fn, mode=mode)(XS).reshape(XS.size, XS.size)
    np.testing.assert_allclose(got, _jax_hessian(fn, XS), rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("fn", [f for f in SECOND if f is not with_a_list])
def test_reverse_over_reverse_through_gradient_helpers(fn, rng):
    v = rng.standard_normal(XS.shape)
    gradient = srcgrad.grad(fn)

    def along_v(x):
        return np.sum(gradient(x) * v)

    got = srcgrad.grad(along_v)(XS)
    np.testing.assert_allclose(got.ravel(), _jax_hessian(fn, XS) @ v.ravel(), rtol=1e-8,
                               atol=1e-10)


def test_the_gradient_of_list_adjoints_is_refused_where_it_is_used():
    gradient = srcgrad.grad(with_a_list)

    def along(x):
        return np.sum(gradient(x))

    with pytest.raises(srcgrad.SrcGradError, match="no adjoint rule for") as err:
        srcgrad.grad(along)(XS)
    assert err.value.lineno is not None


def test_third_derivatives_of_einsum_are_refused_where_they_are_needed():
    d2 = srcgrad.derivative(srcgrad.derivative(lambda s: np.einsum("i,i->", XS[0] * s, XS[1] * s),
                                               ))
    assert np.isclose(d2(0.3), 2 * np.sum(XS[0] * XS[1]))
    with pytest.raises(srcgrad.SrcGradError, match="einsum_grad_jvp") as err:
        srcgrad.derivative(srcgrad.derivative(srcgrad.grad(with_einsum_of_a_scalar)))(0.3)
    assert err.value.lineno is not None


PROD_C = np.array([0.4, -0.9, 1.3])


def prod_of_a_scalar(s):
    return np.prod(np.sin(s * PROD_C))


def test_a_third_derivative_in_forward_mode_without_a_rule_is_refused_at_its_line():
    """The tangent of ``prod_grad_jvp`` (forward mode over the derivative of gradient code) is
    ``Undefined``: a SrcGradError at the line, not an internal error."""
    d2 = srcgrad.derivative(srcgrad.grad(prod_of_a_scalar))
    want = jax.grad(jax.grad(lambda t: jnp.prod(jnp.sin(t * PROD_C))))(0.3)
    np.testing.assert_allclose(d2(0.3), want, rtol=1e-12)
    with pytest.raises(srcgrad.SrcGradError, match=r"no tangent rule for prod_grad_jvp\(\) "
                       r"here: the third derivative of np.prod is not available") as err:
        srcgrad.derivative(d2)(0.3)
    assert err.value.lineno is not None


def test_hvp_source_is_the_tangent_of_the_gradient_code():
    src = srcgrad.hvp(with_a_loop).source
    assert src.startswith("def hvp_with_a_loop(x, *, x_dot):")
    assert "h = saved_h.pop()" in src and "h_dot = saved_h_dot.pop()" in src
    assert "for t in reversed(range(3)):" in src
    rof = srcgrad.hvp(with_a_loop, mode="reverse-over-forward").source
    assert rof.startswith("def grad_jvp_with_a_loop(")


def test_hvp_mode_is_checked():
    with pytest.raises(srcgrad.SrcGradError, match="mode must be"):
        srcgrad.hvp(smooth, mode="forward")
