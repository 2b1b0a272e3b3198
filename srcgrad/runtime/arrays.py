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


def _special(name: str, x):
    """SciPy's (or, on jax arrays, jax.scipy's) special function ``name`` of ``x``."""
    if _xp(x) is not np:
        import jax.scipy.special

        return getattr(jax.scipy.special, name)
    import scipy.special  # (reached only from a call of scipy.special's own function)

    return getattr(scipy.special, name)


def gammaln(x):
    """``log |Γ(x)|``, elementwise (``math.lgamma`` of each element where SciPy is missing)."""
    try:
        return _special("gammaln", x)(x)
    except ImportError:
        return np.vectorize(math.lgamma, otypes=[np.result_type(x, np.float64)])(x)


def digamma(x):
    """``ψ(x)``, the derivative of ``gammaln``, elementwise."""
    return _special("digamma", x)(x)


def polygamma(n, x):
    """``ψ⁽ⁿ⁾(x)``, the n-th derivative of ``digamma``, elementwise, in ``x``'s dtype (SciPy's
    is float64 whatever ``x``'s)."""
    out = _special("polygamma", x)(n, x)
    dt = _real_dtype(x)
    if isinstance(out, np.ndarray) and out.dtype != dt:
        return out.astype(dt)
    return out


def log_ndtr(x):
    """``log Φ(x)``, the log of the standard normal distribution function, elementwise
    (accurate far in the lower tail)."""
    return _special("log_ndtr", x)(x)
