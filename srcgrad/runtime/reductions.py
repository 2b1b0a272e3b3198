"""The adjoints of reductions whose one expression would not be clear: extrema, products, variance,
cumulative sums, norms; and the elementwise shares of clip and log."""

from __future__ import annotations

import math

import numpy as np

from srcgrad.errors import SrcGradError
from srcgrad.runtime.arrays import _dtype, _real_dtype, _xp, shape
from srcgrad.runtime.broadcasting import _positive_axes, keep, reduced_count


def _share(hit, axis, dtype):
    """``hit`` (a mask) divided by its count over ``axis``, in ``dtype``: ties share equally."""
    xp = _xp(hit)
    hit = xp.asarray(hit, dtype=dtype)
    return hit / xp.sum(hit, axis=axis, keepdims=True)


def extremum_grad(g, out, x, axis=None, keepdims=False):
    """Adjoint of max/min: ``g`` shared equally among the positions that attain the extremum."""
    hit = x == keep(out, x, axis, keepdims)
    return keep(g, x, axis, keepdims) * _share(hit, axis, _real_dtype(x))


def prod_grad(g, x, axis=None, keepdims=False):
    """Adjoint of prod, exact where ``x`` has zeros: the product of all *other* elements."""
    xp = _xp(g, x)
    xs = shape(x)
    if axis is None:
        axes = tuple(range(len(xs)))
    else:
        axes = _positive_axes(axis, len(xs))
    rest = tuple(i for i in range(len(xs)) if i not in axes)
    moved = xp.transpose(x, rest + axes)
    flat = xp.reshape(moved, tuple(xs[i] for i in rest) + (-1,))
    others = xp.reshape(_others(xp, flat), shape(moved))
    others = xp.transpose(others, tuple(np.argsort(rest + axes)))
    return keep(g, x, axis, keepdims) * others


def _others(xp, flat):
    """Along the last axis: the product of all the other elements, exact with zeros."""
    ones = xp.ones_like(flat[..., :1])
    left = xp.cumprod(xp.concatenate([ones, flat[..., :-1]], axis=-1), axis=-1)
    right = xp.flip(
        xp.cumprod(xp.concatenate([ones, xp.flip(flat, -1)[..., :-1]], axis=-1), axis=-1), -1
    )
    return left * right


def prod_grad_jvp(g, x, t, axis=None, keepdims=False):
    """The derivative of :func:`prod_grad` along ``t`` in ``x``: ``sum_j t_j prod_{k != i, j}
    x_k`` for each ``i`` of a reduced group, exact with zeros (a symmetric map: also its
    transpose)."""
    xp = _xp(g, x, t)
    xs = shape(x)
    axes = tuple(range(len(xs))) if axis is None else _positive_axes(axis, len(xs))
    rest = tuple(i for i in range(len(xs)) if i not in axes)
    lead = tuple(xs[i] for i in rest)
    flat = xp.reshape(xp.transpose(x, rest + axes), lead + (-1,))
    flat_t = xp.reshape(xp.transpose(xp.broadcast_to(t, xs), rest + axes), lead + (-1,))
    n = shape(flat)[-1]
    eye = xp.eye(n, dtype=bool)
    # row i: x with x_i replaced by 1; its leave-one-out products are prod_{k != i, j} x_k
    pairs = _others(xp, xp.where(eye, xp.ones_like(flat)[..., None, :], flat[..., None, :]))
    d = xp.sum(xp.where(eye, 0, pairs) * flat_t[..., None, :], axis=-1)
    moved = tuple(xs[i] for i in rest + axes)
    d = xp.transpose(xp.reshape(d, moved), tuple(np.argsort(rest + axes)))
    return keep(g, x, axis, keepdims) * d


def _real_only(x, what: str) -> None:
    if np.iscomplexobj(x):
        raise SrcGradError(f"{what} of a complex array is not differentiated",
                           hint="write it with np.abs: np.sqrt(np.sum(np.abs(z) ** 2)) is the "
                           "2-norm, np.mean(np.abs(z - np.mean(z)) ** 2) the variance")


def var_grad(g, x, axis=None, ddof=0, keepdims=False):
    """Adjoint of ``var``: ``2 (x - mean) / (n - ddof)`` times ``g`` (a complex ``x`` refused:
    its variance is of ``|x - mean|``, whose adjoint conjugates)."""
    _real_only(x, "np.var or np.std")
    xp = _xp(g, x)
    centered = x - xp.mean(x, axis=axis, keepdims=True)
    return keep(g, x, axis, keepdims) * 2 * centered / (reduced_count(x, axis) - ddof)


def cumsum_grad(g, x, axis=None):
    """Adjoint of ``cumsum``: a reversed cumulative sum of ``g``."""
    xp = _xp(g, x)
    if axis is None:
        return xp.reshape(xp.flip(xp.cumsum(xp.flip(g))), shape(x))
    return xp.flip(xp.cumsum(xp.flip(g, axis), axis=axis), axis)


def norm_grad(g, out, x, ord=None, axis=None, keepdims=False):
    """Adjoint of ``np.linalg.norm``: vector norms (any ``ord``), the Frobenius and nuclear
    norms, and the matrix norms ``ord`` = 1, -1, inf, -inf (column/row sums), 2, -2
    (extreme singular values). A complex ``x`` is refused (the norm is of ``|x|``, whose
    adjoint conjugates)."""
    _real_only(x, "np.linalg.norm")
    xp = _xp(g, x)
    nd = len(shape(x))
    if isinstance(axis, tuple) and len(axis) == 1:
        axis = axis[0]
    gk, nk = keep(g, x, axis, keepdims), keep(out, x, axis, keepdims)
    vector = (axis is None and nd == 1) or isinstance(axis, (int, np.integer))
    if ord is None or ord == "fro" or (vector and ord == 2):
        return gk * x / xp.where(nk == 0, 1, nk)
    if not vector:
        return gk * _matrix_norm_grad(x, ord, (0, 1) if axis is None else axis)
    if ord == 0:  # the count of non-zeros: piecewise constant
        return xp.zeros_like(x * gk)
    if ord == 1:
        return gk * xp.sign(x)
    if ord in (np.inf, -np.inf):
        return extremum_grad(gk, nk, xp.abs(x), axis, True) * xp.sign(x)
    p = ord
    return gk * xp.sign(x) * xp.abs(x) ** (p - 1) / xp.where(nk == 0, 1, nk) ** (p - 1)


def _matrix_norm_grad(x, ord, axis):
    """The derivative of a matrix norm over ``axis = (row, col)`` of ``x``, of ``x``'s shape."""
    xp = _xp(x)
    nd = len(shape(x))
    row, col = axis[0] % nd, axis[1] % nd
    if ord in (1, -1, np.inf, -np.inf):  # max/min over col (row) of the abs sums down rows
        sums = xp.sum(xp.abs(x), axis=row if ord in (1, -1) else col, keepdims=True)
        pick = xp.max if ord > 0 else xp.min
        hit = sums == pick(sums, axis=(row, col), keepdims=True)
        return _share(hit, (row, col), _real_dtype(x)) * xp.sign(x)
    if ord in (2, -2, "nuc"):  # d sigma_k = u_k v_k^T; d sum(sigma) = U V^T
        u, _, vh = xp.linalg.svd(xp.moveaxis(x, (row, col), (-2, -1)), full_matrices=False)
        if ord != "nuc":
            k = slice(0, 1) if ord == 2 else slice(-1, None)
            u, vh = u[..., :, k], vh[..., k, :]
        return xp.moveaxis(u @ vh, (-2, -1), (row, col))
    raise NotImplementedError(f"adjoint of the matrix norm ord={ord!r}")


def norm_grad_dx(g, out, x, t, ord=None, axis=None, keepdims=False):
    """The derivative of :func:`norm_grad` along ``t`` in ``x`` (the norm ``out`` held fixed;
    a diagonal map: also its transpose). Vector norms and the Frobenius norm."""
    xp = _xp(g, x, t)
    vector = _norm_kind(x, ord, axis)
    gk, nk = keep(g, x, axis, keepdims), keep(out, x, axis, keepdims)
    if ord is None or ord == "fro" or (vector and ord == 2):
        return gk * t / xp.where(nk == 0, 1, nk)
    if ord in (0, 1, np.inf, -np.inf):  # piecewise constant in x
        return xp.zeros_like(x * t * gk)
    p = ord
    return gk * (p - 1) * xp.abs(x) ** (p - 2) * t / xp.where(nk == 0, 1, nk) ** (p - 1)


def norm_grad_dout(g, out, x, t, ord=None, axis=None, keepdims=False):
    """The derivative of :func:`norm_grad` along ``t`` in the norm ``out`` (``x`` held
    fixed). Vector norms and the Frobenius norm."""
    xp = _xp(g, x, t)
    vector = _norm_kind(x, ord, axis)
    gk, nk = keep(g, x, axis, keepdims), keep(out, x, axis, keepdims)
    tk = keep(t, x, axis, keepdims)
    if ord in (0, 1, np.inf, -np.inf):
        return xp.zeros_like(x * tk * gk)
    p = 2 if ord is None or ord == "fro" or (vector and ord == 2) else ord
    return -(p - 1) * gk * xp.sign(x) * xp.abs(x) ** (p - 1) * tk / \
        xp.where(nk == 0, 1, nk) ** p


def _norm_kind(x, ord, axis) -> bool:
    """Whether ``norm(x, ord, axis)`` is a vector norm; a matrix norm other than Frobenius
    has no second derivative here."""
    nd = len(shape(x))
    if isinstance(axis, tuple) and len(axis) == 1:
        axis = axis[0]
    vector = (axis is None and nd == 1) or isinstance(axis, (int, np.integer))
    if not vector and ord not in (None, "fro"):
        raise SrcGradError(f"the second derivative of the matrix norm ord={ord!r} is not "
                           "available", hint="use the Frobenius norm (ord=None), or a vector "
                           "norm over an axis")
    return vector


def clip_share(x, lo, hi, of="x"):
    """The share of ``np.clip(x, lo, hi)``'s derivative that goes to ``of`` (``"x"``, ``"lo"``
    or ``"hi"``; a bound may be ``None``): the clip taken as ``minimum(maximum(x, lo), hi)``,
    whose ties split evenly (JAX's convention): 1 inside, 0 outside, 1/2 at a bound."""
    m, to_x, to_lo, to_m, to_hi = x, 1, 0, 1, 0
    if lo is not None:
        m = _xp(x, lo).maximum(x, lo)
        to_x, to_lo = (x > lo) + 0.5 * (x == lo), (lo > x) + 0.5 * (x == lo)
    if hi is not None:
        to_m, to_hi = (m < hi) + 0.5 * (m == hi), (hi < m) + 0.5 * (m == hi)
    share = {"x": to_x * to_m, "lo": to_lo * to_m, "hi": to_hi}[of]
    dt = _dtype(x)
    if dt is not None and np.issubdtype(dt, np.floating) and _dtype(share) != dt:
        share = share.astype(dt)  # a float32 derivative stays float32
    return share


def log_base(a):
    """``log(a)``, and 0 where ``a == 0``: the ``log(a)`` of ``d(a^b)/db = a^b log(a)``, whose
    product is 0 at ``a == 0``. A Python number gives a Python float, which keeps a float32
    adjoint float32 (a NumPy float64 would not, NEP 50)."""
    if isinstance(a, (int, float)) and not isinstance(a, bool):
        return math.log(a) if a > 0 else 0.0 if a == 0 else math.nan
    return _xp(a).log(replace_zero(a))


def replace_zero(x):
    """``x`` with zeros replaced by ones (to keep ``log(x) * 0`` finite)."""
    return _xp(x).where(x == 0, 1, x)
