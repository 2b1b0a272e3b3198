"""Test oracles: central finite differences and jax.grad on the very same Python function.

Functions under test are written once with the module-global name ``np``; the jax oracle runs
them with that global temporarily bound to ``jax.numpy`` (helpers they call see it too).
"""

from __future__ import annotations

import contextlib
import sys

import numpy as np

import srcgrad

try:
    import jax
    import jax.numpy as jnp

    jax.config.update("jax_enable_x64", True)
except ImportError:  # pragma: no cover - jax is a dev dependency
    jax = None


@contextlib.contextmanager
def numpy_is(module_name: str, xp):
    mod = sys.modules[module_name]
    saved = mod.np
    mod.np = xp
    try:
        yield
    finally:
        mod.np = saved


def _leaves(x):
    if isinstance(x, dict):
        return [v for k in sorted(x) for v in _leaves(x[k])]
    if isinstance(x, (tuple, list)):
        return [v for item in x for v in _leaves(item)]
    return [x]


def finite_difference(f, args, i, eps=1e-6):
    """d f / d args[i] by central differences (args[i] a float or float64 array)."""
    x = args[i]
    if isinstance(x, float):
        def at(v):
            a = list(args)
            a[i] = v
            return float(f(*a))
        return (at(x + eps) - at(x - eps)) / (2 * eps)
    x = np.asarray(x, dtype=np.float64)
    grad = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        plus, minus = x.copy(), x.copy()
        plus[idx] += eps
        minus[idx] -= eps
        a_plus, a_minus = list(args), list(args)
        a_plus[i], a_minus[i] = plus, minus
        grad[idx] = (float(f(*a_plus)) - float(f(*a_minus))) / (2 * eps)
    return grad


def check(f, args, wrt=0, rtol=1e-6, atol=1e-8, jax_oracle=True, fd=True, backend="numpy"):
    """srcgrad.grad(f, wrt) agrees with finite differences and jax.grad; returns the grads."""
    single = isinstance(wrt, (int, str))
    wrts = (wrt,) if single else tuple(wrt)
    import inspect

    params = list(inspect.signature(f).parameters)
    idx = [w if isinstance(w, int) else params.index(w) for w in wrts]
    got = srcgrad.grad(f, wrt=wrt, backend=backend)(*args)
    got_t = (got,) if single else got
    for i, g in zip(idx, got_t, strict=True):
        arg = args[i]
        if fd and not isinstance(arg, (dict, tuple, list)):
            want = finite_difference(f, args, i)
            np.testing.assert_allclose(np.asarray(g), want, rtol=1e-5, atol=1e-6)
        if jax_oracle and jax is not None:
            jargs = jax.tree_util.tree_map(
                lambda v: jnp.asarray(v) if isinstance(v, np.ndarray) else v, list(args))
            with numpy_is(f.__module__, jnp):
                want = jax.grad(f, argnums=i)(*jargs)
            for a, b in zip(_leaves(g), _leaves(want), strict=True):
                np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=rtol, atol=atol)
        for a, b in zip(_leaves(g), _leaves(arg), strict=True):
            assert np.shape(a) == np.shape(b)
    return got
