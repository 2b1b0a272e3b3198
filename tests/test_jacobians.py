"""``srcgrad.vjp`` and ``srcgrad.jacobian`` (both modes) against ``jax.vjp``, ``jax.jacrev`` and
``jax.jacfwd`` (x64), on array-valued functions with branches and loops."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from oracle import numpy_is

import srcgrad

jax.config.update("jax_enable_x64", True)


def layer(x, w):
    return np.tanh(x @ w) * 2.0


def polar(v):
    return np.array([np.sqrt(v[0] ** 2 + v[1] ** 2), np.arctan2(v[1], v[0])])


def softmax(z):
    e = np.exp(z - np.max(z))
    return e / np.sum(e)


def running(x, w):
    out = np.zeros(x.shape[0])
    acc = 0.0
    for i in range(x.shape[0]):
        if x[i] > 0:
            acc = acc + w * x[i]
        else:
            acc = acc * 0.5
        out[i] = acc
    return out


R = np.random.default_rng(3)
CASES = [
    (layer, (R.standard_normal((3, 4)), R.standard_normal((4, 2))), 0),
    (layer, (R.standard_normal((3, 4)), R.standard_normal((4, 2))), 1),
    (polar, (np.array([1.0, 2.0]),), 0),
    (softmax, (R.standard_normal(5),), 0),
    (running, (R.standard_normal(6), 0.7), 0),
    (running, (R.standard_normal(6), 0.7), 1),
]
IDS = [f"{f.__name__}-{w}" for f, _, w in CASES]


def _jax(fn, args):
    def twin(*a):
        with numpy_is(__name__, jnp):
            return fn(*a)
    return twin, tuple(jnp.asarray(a) if isinstance(a, np.ndarray) else a for a in args)


def _fd_jacobian(fn, args, wrt, eps=1e-6):
    x = np.asarray(args[wrt], dtype=float)
    cols = []
    for k in range(x.size):
        e = np.zeros(x.size)
        e[k] = eps
        e = e.reshape(x.shape)
        plus, minus = list(args), list(args)
        plus[wrt] = x + e if np.ndim(args[wrt]) else float(x + e)
        minus[wrt] = x - e if np.ndim(args[wrt]) else float(x - e)
        cols.append((np.asarray(fn(*plus)) - np.asarray(fn(*minus))) / (2 * eps))
    return np.stack(cols, axis=-1).reshape(np.shape(fn(*args)) + np.shape(args[wrt]))


@pytest.mark.parametrize(("fn", "args", "wrt"), CASES, ids=IDS)
@pytest.mark.parametrize("mode", ["rev", "fwd"])
def test_jacobian_matches_jax(fn, args, wrt, mode):
    got = srcgrad.jacobian(fn, wrt=wrt, mode=mode)(*args)
    np.testing.assert_allclose(got, _fd_jacobian(fn, args, wrt), rtol=1e-6, atol=1e-8)
    if fn is running:  # index assignment and a branch on values: no jax twin
        return
    twin, jargs = _jax(fn, args)
    want = (jax.jacrev if mode == "rev" else jax.jacfwd)(twin, argnums=wrt)(*jargs)
    assert got.shape == np.shape(want)
    np.testing.assert_allclose(got, np.asarray(want), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize(("fn", "args", "wrt"), CASES[:4], ids=IDS[:4])
def test_vjp_matches_jax(fn, args, wrt, rng):
    out, pullback = srcgrad.vjp(fn, *args)
    np.testing.assert_allclose(out, fn(*args))
    c = rng.standard_normal(np.shape(out))
    got = pullback(c)
    twin, jargs = _jax(fn, args)
    _, jpull = jax.vjp(twin, *jargs)
    for a, b in zip(got, jpull(jnp.asarray(c)), strict=True):
        np.testing.assert_allclose(a, np.asarray(b), rtol=1e-10, atol=1e-12)


def test_vjp_source_takes_the_output_adjoint():
    src = srcgrad.VjpFunction(layer).source
    assert src.startswith("def vjp_layer(x, w, *, d_out):")
    assert "seed" not in src and "1.0" not in src


def test_vjp_never_changes_the_cotangent(rng):
    x = rng.standard_normal(6)
    out, pullback = srcgrad.vjp(running, x, 0.7)
    c = np.ones_like(out)
    pullback(c)
    np.testing.assert_array_equal(c, np.ones_like(out))


def test_vjp_cotangent_of_the_wrong_shape_is_refused():
    _, pullback = srcgrad.vjp(polar, np.array([1.0, 2.0]))
    with pytest.raises(srcgrad.SrcGradError, match="cotangent has shape"):
        pullback(np.ones(3))


def test_jacobian_of_a_scalar_function_is_its_gradient(rng):
    x = rng.standard_normal(4)
    g = srcgrad.jacobian(lambda v: np.sum(np.sin(v) * v))(x)
    np.testing.assert_allclose(g, np.cos(x) * x + np.sin(x), rtol=1e-12)


def to_polar(x, y):
    r = np.sqrt(x * x + y * y)
    return r, np.arctan2(y, x)


def two_outputs(w, x):
    h = np.tanh(x @ w)
    return h, np.sum(h ** 2)


@pytest.mark.parametrize("mode", ["rev", "fwd"])
def test_jacobians_of_several_outputs_match_jax(mode, rng):
    twin, jargs = _jax(to_polar, (1.0, 2.0))
    for wrt in (0, 1):
        got = srcgrad.jacobian(to_polar, wrt=wrt, mode=mode)(1.0, 2.0)
        want = jax.jacrev(twin, argnums=wrt)(*jargs)
        assert isinstance(got, tuple) and len(got) == 2
        for a, b in zip(got, want, strict=True):
            np.testing.assert_allclose(a, np.asarray(b), rtol=1e-12)
    w, x = rng.standard_normal((3, 2)), rng.standard_normal((4, 3))
    got = srcgrad.jacobian(two_outputs, wrt=0, mode=mode)(w, x)
    twin, jargs = _jax(two_outputs, (w, x))
    want = (jax.jacrev if mode == "rev" else jax.jacfwd)(twin)(*jargs)
    for a, b in zip(got, want, strict=True):
        assert a.shape == np.shape(b)
        np.testing.assert_allclose(a, np.asarray(b), rtol=1e-10, atol=1e-12)


def test_jvp_and_vjp_of_several_outputs():
    (r, theta), (dr, dtheta) = srcgrad.jvp(to_polar, (1.0, 2.0), (0.3, -0.7))
    twin, _ = _jax(to_polar, (1.0, 2.0))
    _, want = jax.jvp(twin, (1.0, 2.0), (0.3, -0.7))
    np.testing.assert_allclose([dr, dtheta], [float(w) for w in want], rtol=1e-12)
    assert "return (r, out2), (r_dot, out2_dot)" in srcgrad.jvp(to_polar).source
    out, pullback = srcgrad.vjp(to_polar, 1.0, 2.0)
    _, jpull = jax.vjp(twin, 1.0, 2.0)
    np.testing.assert_allclose(pullback((0.5, 2.0)), [float(v) for v in jpull((0.5, 2.0))],
                               rtol=1e-12)
    with pytest.raises(srcgrad.SrcGradError, match="tuple of 2"):
        pullback(0.5)


def test_grad_of_several_outputs_is_refused_with_a_pointer_to_jacobian():
    with pytest.raises(srcgrad.SrcGradError, match="returns 2 values") as info:
        srcgrad.grad(to_polar)(1.0, 2.0)
    assert "jacobian" in str(info.value) and info.value.lineno is not None


def polar_or_product(x, y):
    r = np.sqrt(x ** 2 + y ** 2)
    if np.sum(r) > 1.0:
        return r, np.arctan2(y, x)
    return r * 2.0, x * y


def returns_from_a_loop(x, w):
    h = x
    for i in range(5):
        h = np.tanh(h * w + i * 0.1)
        if np.sum(h) < 0.5:
            return h, np.sum(h) * w
    return h * 2.0, w


@pytest.mark.parametrize(("fn", "args"), [
    (polar_or_product, (np.array([0.8, 0.3]), np.array([0.5, -0.9]))),
    (polar_or_product, (np.array([0.2, 0.3]), np.array([0.1, -0.2]))),
    (returns_from_a_loop, (np.array([0.8, 0.3]), 0.7)),
    (returns_from_a_loop, (np.array([0.1, -0.3]), 0.7)),
], ids=["branch-taken", "branch-not-taken", "loop-runs-out", "loop-returns"])
@pytest.mark.parametrize("mode", ["rev", "fwd"])
def test_several_outputs_returned_from_branches_and_loops(fn, args, mode):
    twin, jargs = _jax(fn, args)
    for wrt in (0, 1):
        got = srcgrad.jacobian(fn, wrt=wrt, mode=mode)(*args)
        want = jax.jacrev(twin, argnums=wrt)(*jargs)
        for k, (a, b) in enumerate(zip(got, want, strict=True)):
            np.testing.assert_allclose(a, np.asarray(b), rtol=1e-10, atol=1e-12)
            fd = _fd_jacobian(lambda *a, k=k: fn(*a)[k], args, wrt)
            np.testing.assert_allclose(a, fd, rtol=1e-6, atol=1e-8)


def test_every_return_gives_as_many_values():
    def mixed(x):
        if np.sum(x) > 0:
            return x, x * 2.0
        return x

    with pytest.raises(srcgrad.SrcGradError, match="gives 1 value") as info:
        srcgrad.jvp(mixed, (np.ones(2),), (np.ones(2),))
    assert info.value.lineno is not None and "return x" in str(info.value)
