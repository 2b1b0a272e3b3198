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


def test_hvp_of_the_two_layer_net_with_respect_to_w1():
    v = R.standard_normal(NET[0].shape)
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


def test_gradient_of_a_function_that_calls_a_gradient():
    """Reverse over reverse: the generated gradient is inlined (matmul_grad_a/b, unbroadcast
    and unreduce have rules), so the gradient of <grad f, v> is H v."""
    v = R.standard_normal(NET[0].shape)
    got = srcgrad.grad(directional)(*NET, v)
    want = jax.jvp(lambda w: jax.grad(two_layer_jax)(w, *NET[1:]), (NET[0],), (v,))[1]
    np.testing.assert_allclose(got, np.asarray(want), rtol=1e-10)
    src = srcgrad.grad(directional).source
    assert "grad_two_layer() L" in src  # the inlined gradient's statements are quoted


GRAD_W2 = srcgrad.grad(two_layer, wrt="w2")


def along_w2(w2, v):
    return np.sum(GRAD_W2(NET[0], w2, NET[2], NET[3]) * v)


def test_second_derivative_with_respect_to_w2_by_reverse_over_reverse():
    hess = jax.hessian(two_layer_jax, argnums=1)(*NET)
    v = R.standard_normal(NET[1].shape)
    got = srcgrad.grad(along_w2)(NET[1], v)
    np.testing.assert_allclose(got, np.tensordot(np.asarray(hess), v, axes=2), rtol=1e-10)


JVP_TH = srcgrad.jvp(th)


def calls_a_jvp(x):
    return JVP_TH((x,), (1.0,))[1]


def test_a_jvp_called_in_a_differentiated_function_is_refused_at_the_call():
    with pytest.raises(srcgrad.SrcGradError, match="called differently") as info:
        srcgrad.grad(calls_a_jvp)(0.3)
    assert info.value.lineno is not None and "JVP_TH" in str(info.value)


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
