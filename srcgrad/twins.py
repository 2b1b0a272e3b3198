"""NumPy twins of library functions that srcgrad has no primitive for: ``jax.nn.relu``,
``jax.nn.softmax``, ``scipy.special.expit``, ``scipy.special.logsumexp``,
``scipy.stats.norm.logpdf``...

A library's own source is not the user's code, and srcgrad never inlines it. A call of one of
these functions in differentiated code is lowered as a call of its twin here instead: ordinary
NumPy code with the library's signature and conventions (JAX's derivative of relu at 0 is 0;
SciPy's softmax defaults to the whole array), which srcgrad differentiates from its source as it
does the user's. Where the textbook formula loses precision, the stable one is written (a
softmax with its maximum subtracted, which carries no derivative: ``stop_gradient``).

:func:`twin_of` finds the twin of a callable; the table of each library is read once that
library is imported by the user (jax and scipy are optional).
"""

from __future__ import annotations

import inspect
import sys
from collections.abc import Callable
from typing import Any

import numpy as np

from srcgrad.nn import functional as F
from srcgrad.runtime.arrays import erf
from srcgrad.runtime.linalg import (
    eigh_packed,
    logabsdet,
    lstsq_rank,
    lstsq_residuals,
    lstsq_solution,
    lstsq_sv,
    mT,
    qr_packed,
    slogdet_sign,
    svd_packed,
)
from srcgrad.runtime.structures import stop_gradient

_SQRT1_2 = 0.7071067811865476
_LOG_SQRT_2PI = 0.9189385332046727

# --- activations (jax.nn) ------------------------------------------------------------------------
# those torch.nn.functional shares with jax.nn, with the same conventions, are its own

relu, sigmoid, softplus, silu, elu = F.relu, F.sigmoid, F.softplus, F.silu, F.elu


def relu6(x):
    return np.where(x > 0, np.where(x < 6.0, x, 6.0), 0.0)


def log_sigmoid(x):
    return -np.logaddexp(0.0, -x)


def gelu(x, approximate=True):
    """JAX's default is the tanh approximation; ``approximate=False`` is ``x Φ(x)``."""
    if approximate:
        return 0.5 * x * (1.0 + np.tanh(0.7978845608028654 * (x + 0.044715 * x * x * x)))
    return 0.5 * x * (1.0 + erf(x * _SQRT1_2))


def celu(x, alpha=1.0):
    return np.where(x > 0, x, alpha * np.expm1(np.where(x > 0, 0.0, x) / alpha))


def selu(x):
    return 1.0507009873554805 * np.where(
        x > 0, x, 1.6732632423543772 * np.expm1(np.where(x > 0, 0.0, x)))


def leaky_relu(x, negative_slope=0.01):
    return np.where(x >= 0, x, negative_slope * x)


def hard_tanh(x):
    return np.where(x > -1.0, np.where(x < 1.0, x, 1.0), -1.0)


def softmax(x, axis=-1):
    return F.softmax(x, axis)


def log_softmax(x, axis=-1):
    return F.log_softmax(x, axis)


def logsumexp(a, axis=None, b=None, keepdims=False):
    """``log Σ b·exp(a)`` over ``axis`` (all of ``a`` for None), with the maximum shifted out."""
    m = stop_gradient(np.max(a, axis=axis, keepdims=True))
    e = np.exp(a - m) if b is None else b * np.exp(a - m)
    s = np.log(np.sum(e, axis=axis, keepdims=True)) + m
    return s if keepdims else np.squeeze(s, axis=axis)


# --- scipy.special -------------------------------------------------------------------------------


def scipy_softmax(x, axis=None):
    return softmax(x, axis)


def scipy_log_softmax(x, axis=None):
    return log_softmax(x, axis)


def logit(p):
    return np.log(p) - np.log1p(-p)


def erfc(x):
    return 1.0 - erf(x)


def ndtr(x):
    return 0.5 * (1.0 + erf(x * _SQRT1_2))


def xlogy(x, y):
    """``x log y``, 0 where ``x`` is 0; its derivative in ``x`` is ``log y`` there too (as
    JAX's), only ``log 0`` is kept out of the product."""
    return x * np.log(np.where((x == 0) & (y == 0), 1.0, y))


def xlog1py(x, y):
    return x * np.log1p(np.where((x == 0) & (y == -1), 0.0, y))


# --- scipy.stats.norm, jax.scipy.stats.norm ------------------------------------------------------


def norm_logpdf(x, loc=0.0, scale=1.0):
    z = (x - loc) / scale
    return -0.5 * z * z - _LOG_SQRT_2PI - np.log(scale)


def norm_pdf(x, loc=0.0, scale=1.0):
    z = (x - loc) / scale
    return np.exp(-0.5 * z * z - _LOG_SQRT_2PI) / scale


def norm_cdf(x, loc=0.0, scale=1.0):
    return 0.5 * (1.0 + erf((x - loc) / scale * _SQRT1_2))


# --- numpy --------------------------------------------------------------------------------------


def append(arr, values, axis=None):
    """``np.append``: both flattened and joined, or joined along ``axis``."""
    if axis is None:
        return np.concatenate([np.ravel(arr), np.ravel(values)])
    return np.concatenate([arr, values], axis=axis)


def nansum(a, axis=None, keepdims=False):
    return np.sum(np.where(np.isnan(a), 0.0, a), axis=axis, keepdims=keepdims)


def nanmean(a, axis=None, keepdims=False):
    kept = ~np.isnan(a)
    return np.sum(np.where(kept, a, 0.0), axis=axis, keepdims=keepdims) / np.sum(
        kept, axis=axis, keepdims=keepdims)


def nanmax(a, axis=None, keepdims=False):
    return np.max(np.where(np.isnan(a), -np.inf, a), axis=axis, keepdims=keepdims)


def nanmin(a, axis=None, keepdims=False):
    return np.min(np.where(np.isnan(a), np.inf, a), axis=axis, keepdims=keepdims)


def nanprod(a, axis=None, keepdims=False):
    return np.prod(np.where(np.isnan(a), 1.0, a), axis=axis, keepdims=keepdims)


def nanvar(a, axis=None, ddof=0, keepdims=False):
    kept = ~np.isnan(a)
    a = np.where(kept, a, 0.0)   # (a nan kept out of the branch not taken: its adjoint is nan)
    mean = np.sum(a, axis=axis, keepdims=True) / np.sum(kept, axis=axis, keepdims=True)
    squares = np.where(kept, (a - mean) ** 2, 0.0)
    return np.sum(squares, axis=axis, keepdims=keepdims) / (
        np.sum(kept, axis=axis, keepdims=keepdims) - ddof)


def nanstd(a, axis=None, ddof=0, keepdims=False):
    return np.sqrt(nanvar(a, axis=axis, ddof=ddof, keepdims=keepdims))


def ptp(a, axis=None, keepdims=False):
    return np.max(a, axis=axis, keepdims=keepdims) - np.min(a, axis=axis, keepdims=keepdims)


def average(a, axis=None, weights=None, keepdims=False):
    if weights is None:
        return np.mean(a, axis=axis, keepdims=keepdims)
    return np.sum(a * weights, axis=axis, keepdims=keepdims) / np.sum(
        weights * np.ones_like(a), axis=axis, keepdims=keepdims)


def trapezoid(y, x=None, dx=1.0, axis=-1):
    y = np.moveaxis(y, axis, -1)
    widths = dx if x is None else np.diff(x)
    return np.sum(widths * (y[..., 1:] + y[..., :-1]) / 2.0, axis=-1)


def fliplr(m):
    return np.flip(m, axis=1)


def flipud(m):
    return np.flip(m, axis=0)


def polyval(p, x):
    """Horner's rule over the coefficients, highest power first."""
    y = 0.0 * x
    for c in p:
        y = y * x + c
    return y


def kron(a, b):
    if np.ndim(a) == 1 and np.ndim(b) == 1:
        return np.ravel(a[:, None] * b[None, :])
    outer = a[:, None, :, None] * b[None, :, None, :]
    return np.reshape(outer, (a.shape[0] * b.shape[0], a.shape[1] * b.shape[1]))


def vecdot(x1, x2, axis=-1):
    return np.sum(x1 * x2, axis=axis)


def multi_dot(arrays):
    out = arrays[0]
    for a in arrays[1:]:
        out = out @ a
    return out


def matrix_power(a, n):
    """``a`` multiplied by itself ``n`` times (``n`` >= 1, a Python int)."""
    out = a
    for _ in range(n - 1):
        out = out @ a
    return out


def float_power(x1, x2):
    return np.power(x1 * 1.0, x2)


def select(condlist, choicelist, default=0.0):
    """The first choice whose condition holds, else ``default`` (choices tried last first)."""
    out = default
    for cond, choice in zip(condlist[::-1], choicelist[::-1], strict=True):
        out = np.where(cond, choice, out)
    return out


# --- numpy.linalg: decompositions -----------------------------------------------------------
# Each output with a derivative is a slice of one packed array (srcgrad.runtime.linalg), so that
# one decomposition computes them all and each output's adjoint reaches the rule.


def eigh(a, UPLO="L"):
    """``w, v``, of the symmetric matrix of ``a``'s lower (or upper) triangle, as NumPy's."""
    wv = eigh_packed(a, UPLO)
    return wv[..., 0, :], wv[..., 1:, :]


def eigvalsh(a, UPLO="L"):
    return eigh_packed(a, UPLO)[..., 0, :]


def svd(a, full_matrices=True, compute_uv=True, hermitian=False):
    """``u, s, vh`` with ``full_matrices=False`` (or of a square matrix), or ``s``."""
    if not compute_uv:
        return svd_packed(a, False, hermitian)[..., 0, :]
    m = a.shape[-2]
    usv = svd_packed(a, full_matrices, hermitian)
    return usv[..., 1:m + 1, :], usv[..., 0, :], mT(usv[..., m + 1:, :])


def qr(a, mode="reduced"):
    m = a.shape[-2]
    qr_ = qr_packed(a, mode)
    return qr_[..., :m, :], mT(qr_[..., m:, :])


def slogdet(a):
    """``sign, logabsdet``: the sign has no derivative."""
    return slogdet_sign(a), logabsdet(a)


def lstsq(a, b, rcond=None):
    """``x, residuals, rank, s``: only ``x`` has a derivative (the others' is a located
    error where one is needed); its derivatives read ``a``'s pseudo-inverse."""
    p = np.linalg.pinv(a)
    return (lstsq_solution(a, b, p, rcond), lstsq_residuals(a, b, rcond),
            lstsq_rank(a, b, rcond), lstsq_sv(a, b, rcond))


# --- the tables ----------------------------------------------------------------------------------

_JAX_NN: dict[str, Callable] = {
    "relu": relu, "relu6": relu6, "sigmoid": sigmoid, "log_sigmoid": log_sigmoid,
    "softplus": softplus, "silu": silu, "swish": silu, "gelu": gelu, "elu": elu, "celu": celu,
    "selu": selu, "leaky_relu": leaky_relu, "hard_tanh": hard_tanh, "softmax": softmax,
    "log_softmax": log_softmax, "logsumexp": logsumexp,
}
_SCIPY_SPECIAL: dict[str, Callable] = {
    "expit": sigmoid, "log_expit": log_sigmoid, "logit": logit, "logsumexp": logsumexp,
    "softmax": scipy_softmax, "log_softmax": scipy_log_softmax, "erfc": erfc, "ndtr": ndtr,
    "xlogy": xlogy, "xlog1py": xlog1py,
}
_JAX_SCIPY_SPECIAL: dict[str, Callable] = {**_SCIPY_SPECIAL, "softmax": softmax,
                                          "log_softmax": log_softmax}
_NUMPY: dict[str, Callable] = {
    "append": append, "nansum": nansum, "nanmean": nanmean, "nanmax": nanmax, "nanmin": nanmin,
    "nanprod": nanprod, "nanvar": nanvar, "nanstd": nanstd, "ptp": ptp, "average": average,
    "trapezoid": trapezoid, "trapz": trapezoid, "fliplr": fliplr, "flipud": flipud,
    "polyval": polyval, "kron": kron, "vecdot": vecdot, "float_power": float_power,
    "select": select,
}
_LINALG: dict[str, Callable] = {"multi_dot": multi_dot, "matrix_power": matrix_power,
                                "vecdot": vecdot, "eigh": eigh, "eigvalsh": eigvalsh,
                                "svd": svd, "qr": qr, "slogdet": slogdet, "lstsq": lstsq}
_NORM: dict[str, Callable] = {"logpdf": norm_logpdf, "pdf": norm_pdf, "cdf": norm_cdf}

#: module name -> (attribute -> twin), read once the module is imported
_LIBRARIES: dict[str, dict[str, Callable]] = {
    "numpy": _NUMPY, "jax.numpy": _NUMPY, "numpy.linalg": _LINALG,
    "jax.numpy.linalg": _LINALG, "jax.nn": _JAX_NN,
    "jax.scipy.special": _JAX_SCIPY_SPECIAL, "scipy.special": _SCIPY_SPECIAL,
    "jax.scipy.stats.norm": _NORM,
}
_NORM_INSTANCES = ("scipy.stats",)   # where ``norm`` is an object whose methods are bound

_known: dict[int, tuple[Any, Callable]] = {}
_read: set[str] = set()


def twin_of(obj: Any) -> Callable | None:
    """The twin of library function ``obj``; None if it has none."""
    for name, table in _LIBRARIES.items():
        if name not in _read and name in sys.modules:
            _read.add(name)
            module = sys.modules[name]
            for attr, twin in table.items():
                fn = getattr(module, attr, None)
                if fn is not None:
                    _known[id(fn)] = (fn, twin)
    hit = _known.get(id(obj))
    if hit is not None and hit[0] is obj:
        return hit[1]
    if inspect.ismethod(obj):  # scipy.stats.norm.logpdf: a new bound method at each access
        for name in _NORM_INSTANCES:
            found = sys.modules.get(name)
            if found is not None and obj.__self__ is getattr(found, "norm", None):
                return _NORM.get(obj.__func__.__name__)
    return None
