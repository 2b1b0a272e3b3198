"""NumPy twins of numpy.linalg's functions srcgrad has no primitive of its own for: the
decompositions (``eigh``, ``svd``, ``qr``, ``slogdet``, ``lstsq``: each output with a derivative
a slice of one packed array, :mod:`srcgrad.runtime.linalg`, so that one decomposition computes
them all and each output's adjoint reaches the rule), and numpy.linalg's spellings of
primitives (``np.linalg.matmul``, ``vector_norm``, ``trace`` over the last two axes, ...).
:mod:`srcgrad.twins` holds the tables that name them."""

from __future__ import annotations

import numpy as np

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


def diagonal(a, offset=0, axis1=0, axis2=1):
    """The diagonal of ``a`` over two axes (a copy, where NumPy's is a read-only view)."""
    b = np.moveaxis(a, (axis1, axis2), (-2, -1))
    rows, cols = b.shape[-2], b.shape[-1]
    if offset >= 0:
        n = max(min(rows, cols - offset), 0)
        return b[..., np.arange(n), np.arange(n) + offset]
    n = max(min(rows + offset, cols), 0)
    return b[..., np.arange(n) - offset, np.arange(n)]


def matrix_transpose(x):
    return np.swapaxes(x, -1, -2)


def linalg_matmul(x1, x2):
    return x1 @ x2


def linalg_outer(x1, x2):
    return np.outer(x1, x2)


def linalg_tensordot(x1, x2, axes=2):
    return np.tensordot(x1, x2, axes)


def linalg_cross(x1, x2, axis=-1):
    return np.moveaxis(np.cross(np.moveaxis(x1, axis, -1), np.moveaxis(x2, axis, -1)), -1, axis)


def linalg_trace(x, offset=0, dtype=None):
    return np.trace(x, offset, -2, -1)


def linalg_diagonal(x, offset=0):
    return diagonal(x, offset, -2, -1)


def vector_norm(x, axis=None, keepdims=False, ord=2):
    """The vector norm over ``axis`` (an int) or of every element (None)."""
    if axis is None:
        out = np.linalg.norm(np.ravel(x), ord)
        if keepdims:
            return np.reshape(out, (1,) * np.ndim(x))
        return out
    return np.linalg.norm(x, ord, axis, keepdims)


def matrix_norm(x, keepdims=False, ord="fro"):
    return np.linalg.norm(x, ord, (-2, -1), keepdims)


def svdvals(x):
    return svd(x, compute_uv=False)


def _vector_norm_refuses(x, axis=None, keepdims=False, ord=2):
    if isinstance(axis, (tuple, list)):
        return ("np.linalg.vector_norm over a tuple of axes has no derivative rule here",
                "move the axes together and reshape them into one first, or pass one axis")
    return None


def _trace_refuses(x, offset=0, dtype=None):
    if dtype is not None:
        return ("np.linalg.trace(..., dtype=...) has no derivative rule here",
                "cast the result instead: np.linalg.trace(x).astype(dtype)")
    return None


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
