"""The adjoints of products and linear algebra: matmul, dot, tensordot, inner, einsum, trace, diag
and solve, batched where NumPy batches."""

from __future__ import annotations

import numpy as np

from srcgrad.errors import SrcGradError
from srcgrad.runtime.arrays import _dtype, _xp, shape
from srcgrad.runtime.broadcasting import unbroadcast
from srcgrad.runtime.indexing import transpose_grad


def mT(a):
    """``a`` with its last two axes swapped (a matrix transpose, batched)."""
    return _xp(a).swapaxes(a, -1, -2)


def matmul_grad_a(g, a, b):
    """Adjoint of ``a @ b`` for ``a``, for any ranks (1-D operands included)."""
    if a.ndim == 2 and b.ndim == 2:
        return g @ b.T
    xp = _xp(g, a, b)
    if b.ndim == 1:
        da = g * b if shape(g) == () else xp.expand_dims(g, -1) * b
    elif a.ndim == 1:
        da = xp.squeeze(xp.expand_dims(g, -2) @ mT(b), -2)
    else:
        da = g @ mT(b)
    return unbroadcast(da, a)


def matmul_grad_b(g, a, b):
    """Adjoint of ``a @ b`` for ``b``, for any ranks (1-D operands included)."""
    if a.ndim == 2 and b.ndim == 2:
        return a.T @ g
    xp = _xp(g, a, b)
    if a.ndim == 1:
        db = xp.expand_dims(a, -1) * xp.expand_dims(g, -2) if b.ndim > 1 else g * a
    elif b.ndim == 1:
        db = xp.squeeze(mT(a) @ xp.expand_dims(g, -1), -1)
    else:
        db = mT(a) @ g
    return unbroadcast(db, b)


def matmul_grad_bt(g, a, b):
    """``transpose_grad(matmul_grad_b(g, a, b))``: the adjoint of ``w`` in ``a @ w.T`` (``b``
    is ``w.T``), in ``w``'s layout: ``g.T @ a`` for 2-D operands, contiguous as ``w`` is."""
    if a.ndim == 2 and b.ndim == 2 and g.ndim == 2:
        return g.T @ a
    return transpose_grad(matmul_grad_b(g, a, b))


def dot_grad_a(g, a, b):
    """Adjoint of ``np.dot(a, b)`` for ``a`` (scalars, vectors, matrices, N-d . M-d)."""
    xp = _xp(g, a, b)
    if xp.ndim(a) == 0 or xp.ndim(b) == 0:
        return unbroadcast(g * b, a)
    if b.ndim <= 2:
        return matmul_grad_a(g, a, b)
    # dot(a, b)[i..., j..., k] = sum_m a[i..., m] b[j..., m, k]
    b_axes = [i for i in range(b.ndim) if i != b.ndim - 2]
    g_axes = list(range(a.ndim - 1, g.ndim))
    return xp.tensordot(g, b, axes=(g_axes, b_axes))


def dot_grad_b(g, a, b):
    """Adjoint of ``np.dot(a, b)`` for ``b``."""
    xp = _xp(g, a, b)
    if xp.ndim(a) == 0 or xp.ndim(b) == 0:
        return unbroadcast(g * a, b)
    if b.ndim <= 2:
        return matmul_grad_b(g, a, b)
    a_axes = list(range(a.ndim - 1))
    g_axes = list(range(a.ndim - 1))
    gb = xp.tensordot(a, g, axes=(a_axes, g_axes))  # (m, j..., k)
    return xp.moveaxis(gb, 0, b.ndim - 2)


def tensordot_axes(a, b, axes):
    """``axes`` of ``np.tensordot`` as two explicit lists of non-negative axes."""
    nda, ndb = len(shape(a)), len(shape(b))
    if isinstance(axes, (int, np.integer)):
        return list(range(nda - axes, nda)), list(range(axes))
    ax_a, ax_b = axes
    ax_a = [ax_a] if isinstance(ax_a, (int, np.integer)) else list(ax_a)
    ax_b = [ax_b] if isinstance(ax_b, (int, np.integer)) else list(ax_b)
    return [int(i) % nda for i in ax_a], [int(i) % ndb for i in ax_b]


def tensordot_grad_a(g, a, b, axes=2):
    """Adjoint of ``np.tensordot(a, b, axes)`` for ``a``."""
    xp = _xp(g, a, b)
    ax_a, ax_b = tensordot_axes(a, b, axes)
    free_a = [i for i in range(len(shape(a))) if i not in ax_a]
    free_b = [i for i in range(len(shape(b))) if i not in ax_b]
    g_b = list(range(len(free_a), len(free_a) + len(free_b)))
    # t's axes: free_a, then b's contracted axes in increasing order (paired with a's ax_a)
    t = g * b if shape(g) == () else xp.tensordot(g, b, axes=(g_b, free_b))
    order = free_a + [ax_a[j] for j in np.argsort(ax_b)]
    return xp.transpose(t, tuple(int(i) for i in np.argsort(order)))


def tensordot_grad_b(g, a, b, axes=2):
    """Adjoint of ``np.tensordot(a, b, axes)`` for ``b``."""
    xp = _xp(g, a, b)
    ax_a, ax_b = tensordot_axes(a, b, axes)
    free_a = [i for i in range(len(shape(a))) if i not in ax_a]
    g_a = list(range(len(free_a)))
    # t's axes: a's contracted axes in increasing order (paired with b's ax_b), then free_b
    t = a * g if shape(g) == () else xp.tensordot(a, g, axes=(free_a, g_a))
    free_b = [i for i in range(len(shape(b))) if i not in ax_b]
    order = [ax_b[j] for j in np.argsort(ax_a)] + free_b
    return xp.transpose(t, tuple(int(i) for i in np.argsort(order)))


def inner_grad_a(g, a, b):
    """Adjoint of ``np.inner(a, b)`` for ``a``: a contraction of the last axes (or a product
    when one operand is a scalar)."""
    if len(shape(a)) == 0 or len(shape(b)) == 0:
        return unbroadcast(g * b, a)
    return tensordot_grad_a(g, a, b, ([-1], [-1]))


def inner_grad_b(g, a, b):
    """Adjoint of ``np.inner(a, b)`` for ``b``."""
    if len(shape(a)) == 0 or len(shape(b)) == 0:
        return unbroadcast(g * a, b)
    return tensordot_grad_b(g, a, b, ([-1], [-1]))


def einsum_grad(g, i, subscripts, *operands):
    """Adjoint of ``np.einsum(subscripts, *operands)`` for operand ``i``."""
    xp = _xp(g, *operands)
    inputs, _, output = subscripts.replace(" ", "").partition("->")
    ins = inputs.split(",")
    if not _:
        output = "".join(sorted(c for c in set(inputs) if c.isalpha() and inputs.count(c) == 1))
    if "." in subscripts:
        spelled, broadcast = _spell_ellipsis(inputs, output if _ else None, operands)
        return unbroadcast(einsum_grad(g, i, spelled, *broadcast), operands[i])
    target = ins[i]
    others = [s for j, s in enumerate(ins) if j != i]
    other_ops = [op for j, op in enumerate(operands) if j != i]
    # Letters of the operand that appear nowhere else are summed in the forward: broadcast back.
    keep_letters = "".join(
        dict.fromkeys(c for c in target if c in output or any(c in s for s in others))
    )
    spec = ",".join([output] + others) + "->" + keep_letters
    partial = xp.einsum(spec, g, *other_ops)
    shape_i = shape(operands[i])
    sizes = dict(zip(target, shape_i, strict=True))
    full = "".join(dict.fromkeys(target))
    expanded = xp.einsum(keep_letters + "->" + keep_letters, partial)
    for c in full:
        if c not in keep_letters:
            expanded = xp.expand_dims(expanded, -1)
            keep_letters += c
    expanded = xp.broadcast_to(
        xp.einsum(keep_letters + "->" + full, expanded), tuple(sizes[c] for c in full)
    )
    if full != target:  # repeated letters (a diagonal, 'ii->'): put g on that diagonal
        # full's letters are target's in order of first appearance: one axis there, 1 at repeats
        seen: set[str] = set()
        spread = []
        for c in target:
            spread.append(1 if c in seen else sizes[c])
            seen.add(c)
        dtype = _dtype(operands[i])
        eye = _diag_mask(xp, target, sizes, np.float64 if dtype is None else dtype)
        expanded = xp.reshape(expanded, tuple(spread)) * eye
    # einsum made a Python-float g a float64 array: keep the dtype promotion would give
    return xp.asarray(expanded, dtype=xp.result_type(operands[i], g))


def _spell_ellipsis(inputs: str, output: str | None, operands) -> tuple[str, list]:
    """Subscripts with each ``...`` written as letters of its own, and the operands broadcast
    over those axes (as einsum broadcasts them): ``'...i,i->...'`` on (2, 3), (3,) becomes
    ``'Ai,i->A'``."""
    ins = inputs.split(",")
    spare = [c for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ" if c not in inputs]
    extra = [len(shape(op)) - len(s.replace("...", "")) if "..." in s else 0
             for s, op in zip(ins, operands, strict=True)]
    n = max(extra)
    parts = [shape(op)[:k] for op, k in zip(operands, extra, strict=True)]
    common = np.broadcast_shapes(*parts)
    letters = "".join(spare[:n])
    spelled, broadcast = [], []
    for s, op, k in zip(ins, operands, extra, strict=True):
        spelled.append(s.replace("...", letters[n - k:]))
        if "..." in s and shape(op)[:k] != common[n - k:]:
            op = _xp(op).broadcast_to(op, common[n - k:] + shape(op)[k:])
        broadcast.append(op)
    if output is None:
        once = sorted(c for c in inputs if c.isalpha() and inputs.count(c) == 1)
        output = letters + "".join(once)
    return ",".join(spelled) + "->" + output.replace("...", letters), broadcast


def einsum_grad_jvp(t, k, i, subscripts, g, *operands):
    """The derivative of ``einsum_grad(g, i, subscripts, *operands)`` along ``t`` in its
    ``k``-th operand (0: ``g``; it is linear in each, and operand ``i`` gives only a shape)."""
    if k == 0:
        return einsum_grad(t, i, subscripts, *operands)
    if k - 1 == i:
        return _xp(t).zeros_like(einsum_grad(g, i, subscripts, *operands))
    ops = list(operands)
    ops[k - 1] = t
    return einsum_grad(g, i, subscripts, *ops)


def einsum_grad_vjp(h, k, i, subscripts, g, *operands):
    """The transpose of :func:`einsum_grad_jvp`: the einsum with operand ``i`` replaced by
    ``h`` (for ``g``), or the adjoint for operand ``k - 1`` of that einsum (mixed second
    derivatives are symmetric)."""
    ops = list(operands)
    ops[i] = h
    if k == 0:
        return _xp(h).einsum(subscripts, *ops)
    if k - 1 == i:
        return _xp(h).zeros_like(operands[i])
    return einsum_grad(g, k - 1, subscripts, *ops)


def _diag_mask(xp, target, sizes, dtype):
    mask = xp.ones(tuple(sizes[c] for c in target), dtype=dtype)
    for a, ca in enumerate(target):
        for b in range(a + 1, len(target)):
            if target[b] == ca:
                idx = xp.arange(sizes[ca])
                shp = [1] * len(target)
                shp_a, shp_b = list(shp), list(shp)
                shp_a[a], shp_b[b] = -1, -1
                mask = mask * (xp.reshape(idx, shp_a) == xp.reshape(idx, shp_b))
    return mask


def trace_grad(g, x, offset=0, axis1=0, axis2=1):
    """Adjoint of ``np.trace``: ``g`` on the chosen diagonal, zeros elsewhere."""
    xp = _xp(g, x)
    axis1, axis2 = axis1 % x.ndim, axis2 % x.ndim   # np.trace(x, 0, -2, -1): from the end
    n, m = shape(x)[axis1], shape(x)[axis2]
    eye = xp.eye(n, m, k=offset, dtype=x.dtype)
    eye = xp.moveaxis(xp.reshape(eye, (n, m) + (1,) * (x.ndim - 2)), (0, 1), (axis1, axis2))
    if shape(g) == ():
        return eye * g
    return eye * xp.expand_dims(xp.expand_dims(g, min(axis1, axis2)), max(axis1, axis2))


def diag_grad(g, x, k=0):
    """Adjoint of ``np.diag``: extract the diagonal, or place ``g`` on it."""
    xp = _xp(g, x)
    if x.ndim == 1:
        return xp.diagonal(g, offset=k)
    n, m = x.shape
    eye = xp.eye(n, m, k=k, dtype=x.dtype)
    length = shape(g)[0]
    rows = xp.arange(length) + max(-k, 0)
    cols = xp.arange(length) + max(k, 0)
    z = xp.zeros((n, m), dtype=g.dtype)
    if xp is np:
        z[rows, cols] = g
        return z
    return z.at[rows, cols].set(g) * eye


def _solve_vector(a, b) -> bool:
    """Whether ``np.linalg.solve(a, b)`` treats ``b`` as (a stack of) vectors: NumPy >= 2 and
    jax do exactly when ``b`` is 1-D; NumPy 1 also when ``b.ndim == a.ndim - 1``."""
    nb = len(shape(b))
    if nb == 1:
        return True
    return _xp(a, b) is np and np.lib.NumpyVersion(np.__version__) < "2.0.0" and (
        nb == len(shape(a)) - 1)


def solve_grad_a(g, out, a, b):
    """Adjoint of ``np.linalg.solve(a, b)`` for ``a``: ``-(a^-T g) out^T``, summed over the
    batch axes that ``a`` was broadcast along."""
    if _solve_vector(a, b):
        da = -(_solve_matrices(mT(a), g[..., None]) @ out[..., None, :])
    else:
        da = -(_solve_matrices(mT(a), g) @ mT(out))
    return unbroadcast(da, a)


def solve_grad_b(g, out, a, b):
    """Adjoint of ``np.linalg.solve(a, b)`` for ``b``: ``a^-T g``, summed over the batch axes
    that ``b`` was broadcast along."""
    if _solve_vector(a, b):
        return unbroadcast(_solve_matrices(mT(a), g[..., None])[..., 0], b)
    return unbroadcast(_solve_matrices(mT(a), g), b)


def solve_jvp_a(t, out, a, b):
    """Tangent of ``np.linalg.solve(a, b)`` along ``a``: ``-a^-1 (da out)``."""
    if _solve_vector(a, b):
        return -_solve_matrices(a, t @ out[..., None])[..., 0]
    return -_solve_matrices(a, t @ out)


def _solve_matrices(a, rhs):
    """``a^-1 rhs`` for a stack of matrices ``rhs`` (never vectors), batch axes broadcast."""
    xp = _xp(a, rhs)
    batch = np.broadcast_shapes(shape(a)[:-2], shape(rhs)[:-2])
    return xp.linalg.solve(xp.broadcast_to(a, batch + shape(a)[-2:]),
                           xp.broadcast_to(rhs, batch + shape(rhs)[-2:]))


def convolve_grad(g, a, v, mode="full"):
    """Adjoint of ``np.convolve(a, v, mode)`` for ``a``: ``g`` put in its place in the full
    convolution (zeros around it), correlated with ``v`` (a convolution with ``v`` reversed, no
    conjugate taken). ``np.convolve`` is symmetric in its operands, in every mode, so
    ``convolve_grad(g, v, a, mode)`` is ``v``'s; and linear in ``g`` and in ``v``."""
    xp = _xp(g, a, v)
    n, m = shape(a)[0], shape(v)[0]
    size = shape(g)[0]
    start = {"full": 0, "same": (min(n, m) - 1) // 2, "valid": min(n, m) - 1}[mode]
    full = xp.pad(g, (start, n + m - 1 - start - size))
    return xp.convolve(full, xp.flip(v), "valid")


# --- decompositions: one array holds every output that has a derivative --------------------------
# A primitive has one output. Where NumPy returns several arrays (np.linalg.eigh, svd, qr), the
# rule's primal packs them into one array along the second-to-last axis, and the twins of
# srcgrad.twins take them apart by slicing: each output's adjoint reaches the rule as its part
# of the packed adjoint (zeros where an output is not read).


def _real(a, what: str):
    """``a``, refused if complex: the derivatives of the decompositions here are written for
    real matrices (a complex one's are not holomorphic: they involve conjugates)."""
    if np.iscomplexobj(a):
        raise SrcGradError(f"{what} of a complex matrix is not differentiated",
                           hint="differentiate its real and imaginary parts as a real "
                           "matrix of twice the size, or leave the call out of the function")
    return a


def eigh_packed(a, UPLO="L"):  # noqa: N803 - NumPy's name
    """``np.linalg.eigh(a, UPLO)``: the eigenvalues ``w`` over the eigenvectors ``v``, one
    ``(..., n + 1, n)`` array (``w`` is row 0)."""
    _real(a, "np.linalg.eigh")
    xp = _xp(a)
    w, v = xp.linalg.eigh(from_triangle(a, UPLO))
    return xp.concatenate([w[..., None, :], v], axis=-2)


def svd_packed(a, full_matrices=False, hermitian=False):
    """``np.linalg.svd(a, full_matrices=False)``: the singular values ``s`` (row 0), ``u``
    (the next ``m`` rows) and ``vh`` transposed (the last ``n`` rows), one
    ``(..., 1 + m + n, k)`` array, ``k = min(m, n)``. ``full_matrices`` is refused where it
    makes a difference (a matrix that is not square), and ``hermitian``."""
    if hermitian:
        raise SrcGradError("np.linalg.svd(..., hermitian=True) is not differentiated",
                           hint="leave hermitian=False (the same singular values; NumPy's "
                           "singular vectors may differ in sign)")
    if full_matrices and shape(a)[-2] != shape(a)[-1]:
        raise SrcGradError(f"np.linalg.svd of a matrix that is not square (shape {shape(a)}) "
                           "is differentiated with full_matrices=False only",
                           hint="pass full_matrices=False (the complement of the singular "
                           "vectors has no derivative)")
    _real(a, "np.linalg.svd")
    xp = _xp(a)
    u, s, vh = xp.linalg.svd(a, full_matrices=False)
    return xp.concatenate([s[..., None, :], u, mT(vh)], axis=-2)


def qr_packed(a, mode="reduced"):
    """``np.linalg.qr(a)`` (reduced) of a square or tall ``a``: ``q`` (the first ``m`` rows)
    over ``r`` transposed (the last ``n``), one ``(..., m + n, n)`` array."""
    if mode != "reduced":
        raise SrcGradError(f"np.linalg.qr(..., mode={mode!r}) is not differentiated",
                           hint="use mode='reduced' (the default)")
    if shape(a)[-2] < shape(a)[-1]:
        raise SrcGradError(
            f"np.linalg.qr of a wide matrix (shape {shape(a)}) is not differentiated: its "
            "derivative is not unique", hint="differentiate the qr of the transpose, or of "
            "a square or tall matrix")
    _real(a, "np.linalg.qr")
    xp = _xp(a)
    q, r = xp.linalg.qr(a)
    return xp.concatenate([q, mT(r)], axis=-2)


def logabsdet(a):
    """``np.linalg.slogdet(a)[1]``: ``log |det a|``."""
    return _xp(a).linalg.slogdet(_real(a, "np.linalg.slogdet"))[1]


def slogdet_sign(a):
    """``np.linalg.slogdet(a)[0]``: the sign of ``det a``, with no derivative."""
    return _xp(a).linalg.slogdet(a)[0]


def cofactor(a):
    """The cofactor matrix of ``a`` (batched): ``det(a) a^-T`` where ``a`` is invertible, and
    the derivative of ``det`` everywhere, singular matrices included. From the SVD
    ``a = u diag(s) vh``: ``det(u) det(vh) u diag(prod_{j != i} s_j) vh`` (``u`` and ``vh``
    conjugated for a complex ``a``; the derivative is the holomorphic one, as ``inv``'s). On
    NumPy arrays, ``det(a) inv(a)^T`` where ``inv`` succeeds (as accurate, near singular
    matrices included, and a fraction of an SVD's cost), the SVD where a matrix is singular."""
    xp = _xp(a)
    if xp is np:
        try:
            with np.errstate(all="ignore"):
                fast = np.linalg.det(a)[..., None, None] * mT(np.linalg.inv(a))
            if np.all(np.isfinite(fast)):
                return fast
        except np.linalg.LinAlgError:
            pass
    u, s, vh = xp.linalg.svd(a, full_matrices=False)
    u, vh = xp.conj(u), xp.conj(vh)
    n = shape(a)[-1]
    others = xp.where(xp.eye(n, dtype=bool), xp.ones_like(s)[..., None, :], s[..., None, :])
    signs = xp.linalg.det(u) * xp.linalg.det(vh)
    return xp.conj(signs)[..., None, None] * (u * xp.prod(others, axis=-1)[..., None, :]) @ vh


def cofactor_jvp(t, a):
    """The tangent of :func:`cofactor` at ``a`` along ``t``, singular ``a`` included (the map is
    self-adjoint, so it is also the adjoint). With ``a = u diag(s) vh`` and ``b = u^T t vh^T``,
    the tangent of the cofactor matrix of ``diag(s)`` is ``sum_{k != i} b_kk q_ik`` on the
    diagonal and ``-b_ji q_ij`` off it, ``q_ij`` the product of the ``s_k`` with ``k`` neither
    ``i`` nor ``j``."""
    xp = _xp(t, a)
    u, s, vh = xp.linalg.svd(a, full_matrices=False)
    n = shape(a)[-1]
    eye = xp.eye(n, dtype=bool)
    left = ~(eye[:, None, :] | eye[None, :, :])          # [i, j, k]: k is neither i nor j
    q = xp.prod(xp.where(left, s[..., None, None, :], xp.ones_like(s)[..., None, None, :]),
                axis=-1) * ~eye                             # q_ij, 0 on the diagonal
    b = xp.conj(mT(u)) @ t @ xp.conj(mT(vh))
    bdiag = xp.diagonal(b, axis1=-2, axis2=-1)
    d = -q * mT(b) + xp.where(eye, (q @ bdiag[..., :, None]), 0.0)
    signs = xp.linalg.det(u) * xp.linalg.det(vh)
    return signs[..., None, None] * (xp.conj(u) @ d @ xp.conj(vh))


def lstsq_solution(a, b, p, rcond=None):
    """``np.linalg.lstsq(a, b, rcond)[0]``: the least-squares solution. ``p``, the
    pseudo-inverse of ``a``, is for the derivatives (rules/linalg.py), not the value."""
    _real(b, "np.linalg.lstsq")
    return _xp(a, b).linalg.lstsq(_real(a, "np.linalg.lstsq"), b, rcond=rcond)[0]


def pinv(a, rcond=None, hermitian=False):
    """``np.linalg.pinv(a, rcond, hermitian)`` of a real matrix (a complex one is refused)."""
    return _xp(a).linalg.pinv(_real(a, "np.linalg.pinv"), rcond, hermitian)


def lstsq_residuals(a, b, rcond=None):
    """``np.linalg.lstsq(a, b, rcond)[1]``: the sums of squared residuals."""
    xp = _xp(a, b)
    if xp is np:
        return np.linalg.lstsq(a, b, rcond=rcond)[1]
    return xp.linalg.lstsq(a, b, rcond=rcond, numpy_resid=True)[1]  # jax's own: zeros


def lstsq_rank(a, b, rcond=None):
    """``np.linalg.lstsq(a, b, rcond)[2]``: the rank of ``a``."""
    return _xp(a, b).linalg.lstsq(a, b, rcond=rcond)[2]


def lstsq_sv(a, b, rcond=None):
    """``np.linalg.lstsq(a, b, rcond)[3]``: the singular values of ``a``."""
    return _xp(a, b).linalg.lstsq(a, b, rcond=rcond)[3]


def from_triangle(a, uplo="L"):
    """The symmetric matrix NumPy's ``cholesky`` and ``eigh`` read from one triangle of ``a``
    (batched): the lower (``uplo="L"``) mirrored onto the upper, or the upper (``"U"``). A
    complex (Hermitian) matrix is refused: its derivatives here are written for real ones."""
    _real(a, "np.linalg.cholesky or eigh")
    xp = _xp(a)
    if _lower(uplo):
        return xp.tril(a) + mT(xp.tril(a, -1))
    return xp.triu(a) + mT(xp.triu(a, 1))


def triangle_grad(g, uplo="L"):
    """Adjoint of :func:`from_triangle`: ``g`` on the triangle read, its transpose added below
    (above) the diagonal, zeros on the other triangle."""
    xp = _xp(g)
    if _lower(uplo):
        return xp.tril(g) + xp.tril(mT(g), -1)
    return xp.triu(g) + xp.triu(mT(g), 1)


def _lower(uplo) -> bool:
    if str(uplo).upper() not in ("L", "U"):
        raise ValueError("UPLO argument must be 'L' or 'U'")
    return str(uplo).upper() == "L"


def eig_quotient(k, w, g):
    """``k_ij / (w_j - w_i)`` off the diagonal (batched), 0 on it: the coupling of
    eigenvectors (and of singular vectors, with ``w = s**2``) in their derivatives; ``g`` is
    the adjoint (or tangent) ``k`` is made from.

    Where two ``w`` are equal it is infinite or nan: the eigenvectors have no derivative there
    (as in JAX), and a loss that reads them gets a nan, never a wrong number. Only where ``g``
    is zero everywhere (the eigenvectors not read) it is 0, not ``0 / 0``."""
    xp = _xp(k, w, g)
    eye = xp.eye(shape(w)[-1], dtype=bool)
    unread = xp.all(g == 0, axis=(-2, -1), keepdims=True)
    return xp.where(unread | eye, xp.zeros_like(k), k) / xp.where(
        unread | eye, xp.ones_like(k), w[..., None, :] - w[..., :, None])


def over(k, s, g):
    """``k / s``, 0 where ``g`` (the adjoint or tangent ``k`` is made from) is zero everywhere:
    the singular vectors of a matrix with a zero singular value, not read."""
    xp = _xp(k, s, g)
    unread = xp.all(g == 0, axis=(-2, -1), keepdims=True)
    return xp.where(unread, xp.zeros_like(k), k) / xp.where(unread, xp.ones_like(s), s)


def tril_half(x):
    """The lower triangle of ``x`` (batched) with its diagonal halved: the map of Cholesky's
    derivative (linear, and its own transpose)."""
    xp = _xp(x)
    return xp.tril(x) - x * xp.eye(shape(x)[-1], dtype=bool) / 2
