"""The array module of the arguments, shapes and dtypes: what every other helper asks."""

from __future__ import annotations

import math

import numpy as np


def _xp(*values):
    """numpy, or jax.numpy if any value is a jax array or tracer."""
    for v in values:
        if isinstance(v, (np.ndarray, np.generic, float, int, bool, complex)) or v is None:
            continue
        mod = type(v).__module__
        if mod.startswith("jax") or mod.startswith("jaxlib"):
            import jax.numpy as jnp

            return jnp
    return np


def shape(x) -> tuple[int, ...]:
    """The shape of an array or Python scalar (``()`` for scalars)."""
    s = getattr(x, "shape", None)
    if s is not None:
        return tuple(s)
    return () if isinstance(x, (float, int, complex)) else np.shape(x)


def _dtype(x):
    return getattr(x, "dtype", None)


def _real_dtype(x):
    """``x``'s dtype if it is a floating one, else float64: the dtype its adjoints take."""
    dt = _dtype(x)
    return dt if dt is not None and np.dtype(dt).kind in "fc" else np.float64


def erf(x):
    """The error function, elementwise: jax's on jax arrays, SciPy's where SciPy is installed,
    else ``math.erf`` of each element."""
    xp = _xp(x)
    if xp is not np:
        import jax.scipy.special

        return jax.scipy.special.erf(x)
    try:
        from scipy.special import erf as scipy_erf
    except ImportError:  # scipy is optional: one element at a time
        return np.vectorize(math.erf, otypes=[np.result_type(x, np.float64)])(x)
    return scipy_erf(x)
