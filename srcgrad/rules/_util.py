"""Helpers that rules call where one expression of ``xp.*`` would not be clear or general enough.

They run unchanged on NumPy arrays, jax arrays (also under ``jax.jit``) and Python scalars:
the backend is picked from the arguments, never from a global setting. Generated code calls
them by these names.
"""

from __future__ import annotations

import math

import numpy as np

from srcgrad.errors import SrcGradError


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


def unbroadcast(g, x):
    """``g`` summed back to the shape of ``x``, undoing NumPy broadcasting (``(5,3,4) -> (3,4)``).

    A ``g`` smaller than ``x`` (a scalar seed) is broadcast up instead, in ``x``'s dtype.
    """
    gshape, xshape = getattr(g, "shape", ()), getattr(x, "shape", ())
    if gshape == xshape:  # the common case, kept fast for scalars
        return g
    if type(g) is np.ndarray and type(xshape) is tuple:
        lead = len(gshape) - len(xshape)
        if lead > 0 and gshape[lead:] == xshape:  # leading axes only: (8, 32) -> (32,)
            return g.sum(axis=0) if lead == 1 else g.sum(axis=tuple(range(lead)))
    gshape, xshape = shape(g), shape(x)
    lead = len(gshape) - len(xshape)
    if lead < 0 or any(
        gs != xs and xs != 1 for gs, xs in zip(gshape[lead:], xshape, strict=True)
    ):
        return broadcast_like(g, x)
    axes = tuple(range(lead)) + tuple(
        lead + i for i, n in enumerate(xshape) if n == 1 and gshape[lead + i] != 1
    )
    xp = _xp(g, x)
    summed = xp.sum(g, axis=axes) if axes else g
    if not hasattr(x, "shape"):  # a Python scalar: keep the gradient a scalar
        return summed
    return xp.reshape(summed, xshape)


def broadcast_like(g, x):
    """A fresh array of ``x``'s shape and dtype holding ``g`` broadcast to it."""
    xp = _xp(g, x)
    if not hasattr(x, "shape"):
        return g
    return xp.zeros_like(x) + g


def unreduce(g, x, axis=None, keepdims=False):
    """The adjoint of a sum: ``g`` put back over the reduced ``axis`` of ``x``."""
    return broadcast_like(keep(g, x, axis, keepdims), x)


def _positive_axes(axis, ndim):
    axes = axis if isinstance(axis, tuple) else (axis,)
    return tuple(sorted(a % ndim for a in axes))


def reduced_count(x, axis=None):
    """How many elements of ``x`` each output of a reduction over ``axis`` combines."""
    xs = shape(x)
    if axis is None:
        return int(np.prod(xs, dtype=np.int64))
    return int(np.prod([xs[a] for a in _positive_axes(axis, len(xs))], dtype=np.int64))


def keep(v, x, axis=None, keepdims=False):
    """A reduction's output ``v`` re-expanded so it broadcasts against its input ``x``.

    A scalar ``v`` broadcasts as it is, and is returned as it is: a Python float made an
    array would be a float64 one, and would turn a float32 adjoint into float64 (NEP 50).
    """
    if axis is None or keepdims or shape(v) == ():
        return v
    return _xp(v, x).expand_dims(v, _positive_axes(axis, len(shape(x))))


def _real_dtype(x):
    """``x``'s dtype if it is a floating one, else float64: the dtype its adjoints take."""
    dt = _dtype(x)
    return dt if dt is not None and np.dtype(dt).kind in "fc" else np.float64


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


def var_grad(g, x, axis=None, ddof=0, keepdims=False):
    """Adjoint of ``var``: ``2 (x - mean) / (n - ddof)`` times ``g``."""
    xp = _xp(g, x)
    centered = x - xp.mean(x, axis=axis, keepdims=True)
    return keep(g, x, axis, keepdims) * 2 * centered / (reduced_count(x, axis) - ddof)


def cumsum_grad(g, x, axis=None):
    """Adjoint of ``cumsum``: a reversed cumulative sum of ``g``."""
    xp = _xp(g, x)
    if axis is None:
        return xp.reshape(xp.flip(xp.cumsum(xp.flip(g))), shape(x))
    return xp.flip(xp.cumsum(xp.flip(g, axis), axis=axis), axis)


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


def norm_grad(g, out, x, ord=None, axis=None, keepdims=False):
    """Adjoint of ``np.linalg.norm``: vector norms (any ``ord``), the Frobenius and nuclear
    norms, and the matrix norms ``ord`` = 1, -1, inf, -inf (column/row sums), 2, -2
    (extreme singular values)."""
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


def concat_grad_t(h, g, i, xs, axis=0):
    """The transpose of :func:`concat_grad`: ``h`` in ``xs[i]``'s part of zeros shaped like
    ``g``."""
    xp = _xp(h, g)
    if axis is None:
        sizes = [int(np.prod(shape(x), dtype=np.int64)) for x in xs]
        start = sum(sizes[:i])
        return getitem_grad(xp.ravel(h), g, slice(start, start + sizes[i]))
    sizes = [shape(x)[axis] for x in xs]
    start = sum(sizes[:i])
    index = [slice(None)] * len(shape(g))
    index[axis] = slice(start, start + sizes[i])
    return getitem_grad(h, g, tuple(index))


def stack_grad_t(h, g, i, axis=0):
    """The transpose of :func:`stack_grad`: ``h`` at ``i`` along ``axis`` of zeros like ``g``."""
    index = [slice(None)] * len(shape(g))
    index[axis] = i
    return getitem_grad(h, g, tuple(index))


def hstack_grad_t(h, g, i, xs):
    """The transpose of :func:`hstack_grad`."""
    axis = 0 if all(len(shape(x)) <= 1 for x in xs) else 1
    parts = [x if len(shape(x)) else _xp(x).reshape(x, (1,)) for x in xs]
    return concat_grad_t(_xp(h).reshape(h, shape(parts[i])), g, i, parts, axis)


def vstack_grad_t(h, g, i, xs):
    """The transpose of :func:`vstack_grad`."""
    parts = [_xp(x).atleast_2d(x) for x in xs]
    return concat_grad_t(_xp(h).reshape(h, shape(parts[i])), g, i, parts, 0)


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


def concat_grad(g, i, xs, axis=0):
    """Adjoint of ``np.concatenate(xs, axis)`` for ``xs[i]``: its slice of ``g``."""
    xp = _xp(g)
    if axis is None:
        sizes = [int(np.prod(shape(x), dtype=np.int64)) for x in xs]
        start = sum(sizes[:i])
        return xp.reshape(g[start:start + sizes[i]], shape(xs[i]))
    sizes = [shape(x)[axis] for x in xs]
    start = sum(sizes[:i])
    index = [slice(None)] * g.ndim
    index[axis] = slice(start, start + sizes[i])
    return g[tuple(index)]


def stack_grad(g, i, axis=0):
    """Adjoint of ``np.stack(xs, axis)`` for ``xs[i]``."""
    return _xp(g).take(g, i, axis=axis)


def hstack_grad(g, i, xs):
    """Adjoint of ``np.hstack(xs)`` for ``xs[i]``."""
    axis = 0 if all(len(shape(x)) <= 1 for x in xs) else 1
    parts = [x if len(shape(x)) else _xp(x).reshape(x, (1,)) for x in xs]
    return _xp(g).reshape(concat_grad(g, i, parts, axis), shape(xs[i]))


def vstack_grad(g, i, xs):
    """Adjoint of ``np.vstack(xs)`` for ``xs[i]``."""
    parts = [_xp(x).atleast_2d(x) for x in xs]
    return _xp(g).reshape(concat_grad(g, i, parts, 0), shape(xs[i]))


def tile_grad(g, x, reps):
    """Adjoint of ``np.tile(x, reps)``: the tiles of ``g`` summed."""
    xp = _xp(g, x)
    reps = (reps,) if isinstance(reps, int) else tuple(reps)
    xs = shape(x)
    nd = max(len(xs), len(reps))
    xs_full = (1,) * (nd - len(xs)) + xs
    reps = (1,) * (nd - len(reps)) + reps
    split = []
    for r, n in zip(reps, xs_full, strict=True):
        split += [r, n]
    summed = xp.sum(xp.reshape(g, split), axis=tuple(range(0, 2 * nd, 2)))
    return xp.reshape(summed, xs)


def repeat_grad(g, x, repeats, axis=None):
    """Adjoint of ``np.repeat(x, repeats, axis)``: each run of copies summed."""
    xp = _xp(g, x)
    if axis is None or len(shape(x)) == 0:   # repeat treats a 0-d x as 1-d
        flat_x = xp.ravel(x)
        return xp.reshape(repeat_grad(g, flat_x, repeats, 0), shape(x))
    axis = axis % len(shape(x))
    n = shape(x)[axis]
    if np.ndim(repeats) == 0:
        new = shape(x)[:axis] + (n, int(repeats)) + shape(x)[axis + 1:]
        return xp.sum(xp.reshape(g, new), axis=axis + 1)
    seg = np.repeat(np.arange(n), np.asarray(repeats))
    onehot = (seg[:, None] == np.arange(n)[None, :]).astype(g.dtype)  # (total, n)
    moved = xp.moveaxis(g, axis, -1) @ onehot
    return xp.moveaxis(moved, -1, axis)


def transpose_grad(g, axes=None):
    """Adjoint of ``np.transpose(x, axes)``: ``g`` transposed back."""
    xp = _xp(g)
    if axes is None:
        return xp.transpose(g)
    return xp.transpose(g, tuple(int(i) for i in np.argsort([a % g.ndim for a in axes])))


def _is_basic_index(index) -> bool:
    parts = index if isinstance(index, tuple) else (index,)
    return all(
        p is None or p is Ellipsis or isinstance(p, (int, slice, np.integer)) for p in parts
    )


def getitem_grad(g, x, index):
    """Adjoint of ``x[index]``: ``g`` scattered into zeros of ``x``'s shape (repeats add up).

    For a tuple, list or dict ``x``: a container like ``x`` holding ``g`` at ``index`` and
    zeros elsewhere (a :class:`StructGrad`).
    """
    if isinstance(x, (dict, tuple, list)):
        return StructGrad.at(x, index, g)
    xp = _xp(g, x)
    if xp is np:
        z = np.zeros(shape(x), dtype=np.result_type(g, x))
        if _is_basic_index(index):
            z[index] = g
        else:
            np.add.at(z, index, g)
        return z
    return xp.zeros_like(x).at[index].add(g)


def add_at(a, index, g):
    """``a[index] += g`` for an adjoint ``a`` that srcgrad made (in place where the array or
    container allows it); returns ``a``. Repeated indices add up."""
    if isinstance(a, StructGrad):
        if isinstance(index, int) and index < 0 and a.length is not None:
            index %= a.length
        old = a.items.get(index)
        a.items[index] = g if old is None else old + g
        return a
    if isinstance(a, (list, dict)):
        a[index] = a[index] + g
        return a
    if isinstance(a, tuple):
        return a[:index] + (a[index] + g,) + a[index + 1:] if index != -1 else \
            a[:-1] + (a[-1] + g,)
    xp = _xp(a, g)
    if xp is np:
        if _is_basic_index(index):
            a[index] += g
        else:
            np.add.at(a, index, g)
        return a
    return xp.asarray(a).at[index].add(g)


def set_at(x, index, v):
    """``x[index] = v`` on an array srcgrad owns: in place for NumPy, a new array for JAX."""
    if type(x) is np.ndarray and _xp(v) is np:
        x[index] = v
        return x
    return _xp(x, v).asarray(x).at[index].set(v)


def zero_at(g, index, copy=False):
    """``g`` with ``g[index]`` zeroed (the adjoint of the value an assignment overwrote); in
    place unless ``copy``."""
    if type(g) is np.ndarray:
        if copy:
            g = g.copy()
        g[index] = 0
        return g
    return _xp(g).asarray(g).at[index].set(0)


def take_at(g, index):
    """``g[index]``, never a view of ``g`` (which is about to change)."""
    part = g[index]
    return part.copy() if isinstance(part, np.ndarray) and part.base is not None else part


def astype_grad(g, x):
    """Adjoint of ``x.astype(dtype)``: ``g`` back in ``x``'s dtype."""
    dt = _dtype(x)
    if dt is None:
        return g
    return _xp(g).asarray(g).astype(dt)


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


def spread(s, x, axis=None, keepdims=False):
    """The standard deviation ``s`` of ``x``, inf where the values it reduces are equal to
    within rounding (``s <= 4 eps max|x|``): the derivative ``1 / (2 s)`` is then 0, not
    1/0 nor a quotient of two rounding errors."""
    xp = _xp(s, x)
    dt = _dtype(x)
    eps = np.finfo(dt if dt is not None and np.issubdtype(dt, np.floating) else np.float64).eps
    scale = xp.max(xp.abs(x), axis=axis, keepdims=keepdims)
    return xp.where(s <= 4 * eps * scale, xp.inf, s)


def replace_zero(x):
    """``x`` with zeros replaced by ones (to keep ``log(x) * 0`` finite)."""
    return _xp(x).where(x == 0, 1, x)


def shaped_like(d, x, rule):
    """What custom ``rule`` returned, ``d``, where a value shaped like ``x`` is due (an adjoint
    for the argument ``x``, a tangent for the output ``x``): a scalar is spread over ``x``'s
    shape; another shape is a ``SrcGradError`` naming the rule."""
    if shape(d) == shape(x):
        return d
    if shape(d) == ():
        return broadcast_like(d, x)
    raise SrcGradError(f"the rule {rule} returned a value of shape {shape(d)} where one of "
                       f"shape {shape(x)} is due",
                       hint="an adjoint rule returns one adjoint per argument, shaped like "
                            "it; a tangent rule returns the output's tangent")


def stop_gradient(x):
    """``x`` itself, as a value with no derivative: nothing flows back through it."""
    return x


def seed(out):
    """The adjoint that starts the backward sweep of a gradient: 1 for a scalar output."""
    if getattr(out, "shape", ()) != () and shape(out) != ():
        raise SrcGradError(
            f"grad needs a function with a scalar output; this one returned shape {shape(out)}",
            hint="reduce the output to a scalar (e.g. np.sum, np.mean), or use "
            "srcgrad.vjp or srcgrad.jacobian for an array output",
        )
    return 1.0


def zero_grad(x):
    """A zero adjoint with the structure of ``x`` (an input the output does not depend on)."""
    if isinstance(x, dict):
        return {k: zero_grad(v) for k, v in x.items()}
    if isinstance(x, (tuple, list)):
        return type(x)(zero_grad(v) for v in x)
    if hasattr(x, "shape"):
        return _xp(x).zeros_like(x)
    if isinstance(x, complex):
        return 0j
    if isinstance(x, (int, float)):
        return 0.0   # (0.0 * x is nan for an inf or nan x)
    return 0.0 * x


class StructGrad:
    """The adjoint of a tuple, list or dict while it is being accumulated: the adjoints of the
    items read so far (``None`` for the others). ``+`` adds item by item. ``length`` is the
    number of items of a list or tuple at the time (a list built with ``append`` shrinks back
    as the backward sweep takes its items off, see :func:`pop_grad`)."""

    __slots__ = ("items", "length")

    def __init__(self, items: dict, length: int | None = None):
        self.items = items
        self.length = length

    @classmethod
    def at(cls, x, index, g):
        if isinstance(x, (tuple, list)):
            return cls({index % len(x): g}, len(x))
        return cls({index: g})

    @classmethod
    def of(cls, x) -> StructGrad:
        """The adjoint of a tuple, list or dict ``x`` (or of a sequence of them)."""
        if isinstance(x, StructGrad):
            return x
        if isinstance(x, dict):
            return cls(dict(x))
        return cls(dict(enumerate(x)), len(x))

    def __add__(self, other):
        if isinstance(other, (list, tuple, dict)):
            other = StructGrad.of(other)
        if not isinstance(other, StructGrad):
            return NotImplemented
        items = dict(self.items)
        for k, v in other.items.items():
            items[k] = v if items.get(k) is None else items[k] + v
        return StructGrad(items, self.length if self.length is not None else other.length)

    def __radd__(self, other):
        if isinstance(other, (list, tuple, dict)):
            return StructGrad.of(other) + self
        return NotImplemented

    def __getitem__(self, index):  # the adjoint of one item (zero if it was never read)
        if isinstance(index, int) and index < 0 and self.length is not None:
            index %= self.length
        item = self.items.get(index)
        return 0.0 if item is None else item

    def __repr__(self) -> str:
        return f"StructGrad({self.items!r})"


def pop_grad(g, v):
    """Adjoint of ``xs.append(v)`` for ``v``: the adjoint of the list's last item, taken off
    the list's adjoint ``g`` (zeros like ``v`` if that item was never read)."""
    if isinstance(g, list):
        return g.pop()
    n = g.length if g.length is not None else max(g.items, default=-1) + 1
    item = g.items.pop(n - 1, None)
    g.length = n - 1
    return zero_grad(v) if item is None else item


def drop_grad(g):
    """Adjoint of ``xs.append(v)`` for ``xs`` where ``v`` has no derivative: ``g`` with the
    last item's adjoint taken off, unread (it was the adjoint of ``v``)."""
    if isinstance(g, list):
        g.pop()
        return g
    n = g.length if g.length is not None else max(g.items, default=-1) + 1
    g.items.pop(n - 1, None)
    g.length = n - 1
    return g


def list_pop(xs):
    """``xs.pop()`` for its effect, returning ``xs``."""
    xs.pop()
    return xs


def unpop_grad(g):
    """Adjoint of ``xs.pop()`` for ``xs``: the adjoint ``g`` of the shorter list, one item
    longer (the popped item's adjoint is added by the read that took it, ``v = xs[-1]``)."""
    if isinstance(g, list):
        return StructGrad(dict(enumerate(g)), len(g) + 1)
    n = g.length if g.length is not None else max(g.items, default=-1) + 1
    return StructGrad(dict(g.items), n + 1)


def unstack_grad(g, xs, axis=0):
    """Adjoint of ``np.stack(xs, axis)`` for a list ``xs`` built at run time."""
    xp = _xp(g)
    return StructGrad({i: xp.take(g, i, axis=axis) for i in range(len(xs))}, len(xs))


def sum_list_grad(g, xs):
    """Adjoint of ``sum(xs)`` for a list ``xs``: every item receives ``g``."""
    return StructGrad({i: unbroadcast(g, x) for i, x in enumerate(xs)}, len(xs))


def list_append(xs, v):
    """``xs.append(v)``, returning ``xs``."""
    xs.append(v)
    return xs


def densify(g, x):
    """The adjoint ``g`` of ``x`` in ``x``'s structure, zeros for the items never read."""
    if g is None:
        return zero_grad(x)
    if not isinstance(g, StructGrad):
        return g
    if isinstance(x, list) and g.length is not None and g.length != len(x):
        g = StructGrad(g.items, None)
    if isinstance(x, dict):
        return {k: densify(g.items.get(k), v) for k, v in x.items()}
    items: dict = {}
    for k, v in g.items.items():  # x[-1] and x[2] are the same item of a 3-tuple
        k = k % len(x) if isinstance(k, int) else k
        items[k] = v if items.get(k) is None else items[k] + v
    return type(x)(densify(items.get(i), v) for i, v in enumerate(x))
