"""Joins, tiles, repeats, transposes and indexing, and their adjoints: the slice of a join's
adjoint for each part, the scatter-add of a read's adjoint, writes that give a new array on jax."""

from __future__ import annotations

import itertools

import numpy as np

from srcgrad.errors import SrcGradError
from srcgrad.runtime.arrays import _xp, shape
from srcgrad.runtime.structures import StructGrad


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
    if isinstance(x, (dict, tuple, list, StructGrad)):
        return StructGrad.at(x, index, g)
    xp = _xp(g, x)
    if xp is np:
        z = np.zeros(shape(x), dtype=np.result_type(g, x))
        if _is_basic_index(index):
            z[index] = g
        else:
            np.add.at(z, index, g)
        return z
    return xp.zeros(shape(x), xp.result_type(g, x)).at[index].add(g)


def add_at(a, index, g):
    """``a[index] += g`` for an adjoint ``a`` that srcgrad made (in place where the array or
    container allows it); returns ``a``. Repeated indices add up."""
    if isinstance(a, StructGrad):
        if isinstance(index, slice) and a.length is not None:  # xs[:-1] read
            summed = a + StructGrad.sliced(a.length, index, g)
            a.items = summed.items
            return a
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
    wide = xp.result_type(a, g)
    if wide != xp.result_type(a):   # a complex g (an adjoint through complex values): widened
        a = xp.asarray(a).astype(wide)
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
    xp = _xp(x, v)
    x = xp.asarray(x)
    mask = _scalar_under_mask(x, index, v)
    if mask is not None:  # x[x < 0] = 0: a choice, which jax.jit can trace (.at[] cannot)
        return xp.where(mask, xp.asarray(v, dtype=x.dtype), x)
    return x.at[index].set(v)


def _scalar_under_mask(x, index, v):
    """Where ``x[index] = v`` puts one number under a boolean mask of ``x``'s leading
    dimensions: the mask, shaped to broadcast against ``x``; else None."""
    dtype = getattr(index, "dtype", None)
    if dtype is None or dtype.kind != "b" or np.ndim(v) != 0 or \
            tuple(index.shape) != tuple(x.shape[:index.ndim]):
        return None
    return index.reshape(tuple(index.shape) + (1,) * (x.ndim - index.ndim))


def zero_at(g, index, copy=False):
    """``g`` with ``g[index]`` zeroed (the adjoint of the value an assignment overwrote); in
    place unless ``copy``."""
    if type(g) is np.ndarray:
        if copy:
            g = g.copy()
        g[index] = 0
        return g
    return set_at(g, index, 0.0)


def take_at(g, index):
    """``g[index]``, never a view of ``g`` (which is about to change)."""
    part = g[index]
    return part.copy() if isinstance(part, np.ndarray) and part.base is not None else part


def take_written(g, index):
    """The adjoint of the values ``x[index] = v`` wrote: ``g[index]``, but 0 where a later
    repeat of the same element in ``index`` overwrote the value (NumPy keeps the last write:
    ``x[[0, 0]] = [a, b]`` leaves ``b``). On jax the order of repeated writes is undefined, and
    every repeat gets its element's adjoint."""
    part = take_at(g, index)
    if type(g) is not np.ndarray or _is_basic_index(index) or not any(
            getattr(p, "dtype", None) is not None and p.dtype.kind in "iu" or
            isinstance(p, list) for p in (index if isinstance(index, tuple) else (index,))):
        return part
    where = np.arange(g.size).reshape(g.shape)[index].ravel()
    found, last_from_end = np.unique(where[::-1], return_index=True)
    if found.size == where.size:  # no element written twice
        return part
    last = np.zeros(where.size, dtype=bool)
    last[where.size - 1 - last_from_end] = True
    return part * last.reshape(np.shape(part))


def _triple(value, k: int) -> tuple[int, ...]:
    return tuple(int(v) for v in value) if isinstance(value, (tuple, list)) else (int(value),) * k


def _window_reads(spatial: tuple[int, ...], size, stride, dilation):
    """The output's spatial shape, and per offset in the window the strided slice of the
    input's last axes that offset reads."""
    k = len(size)
    stride, dilation = _triple(stride, k), _triple(dilation, k)
    out = tuple((n - d * (s - 1) - 1) // st + 1
                for n, s, st, d in zip(spatial, size, stride, dilation, strict=True))
    if any(o <= 0 for o in out):
        raise SrcGradError(f"windows of size {tuple(size)} (dilation {dilation}) do not fit in "
                           f"an input of size {tuple(spatial)}", hint="pad the input, or use a "
                           "smaller kernel")
    reads = []
    for offset in itertools.product(*(range(s) for s in size)):
        index = (Ellipsis, *(slice(o * d, o * d + st * (m - 1) + 1, st)
                             for o, d, st, m in zip(offset, dilation, stride, out, strict=True)))
        reads.append((offset, index))
    return out, reads


def windows(x, size, stride=1, dilation=1):
    """The sliding windows over ``x``'s last ``len(size)`` axes, as new axes at the end:
    shape ``x.shape[:-k] + out + size`` (what a convolution or pooling reduces)."""
    xp = _xp(x)
    size = tuple(int(s) for s in size)
    out, reads = _window_reads(shape(x)[-len(size):], size, stride, dilation)
    stacked = xp.stack([x[index] for _, index in reads], axis=-1)
    return xp.reshape(stacked, shape(x)[:-len(size)] + out + size)


def windows_grad(g, x, size, stride=1, dilation=1):
    """Adjoint of :func:`windows`: each window's adjoint added back where it was read."""
    xp = _xp(g, x)
    size = tuple(int(s) for s in size)
    _, reads = _window_reads(shape(x)[-len(size):], size, stride, dilation)
    if xp is np:
        z = np.zeros(shape(x), dtype=np.result_type(g, x))
        for offset, index in reads:
            z[index] += g[(Ellipsis,) + offset]
        return z
    z = xp.zeros(shape(x), dtype=xp.result_type(g, x))
    for offset, index in reads:
        z = z.at[index].add(g[(Ellipsis,) + offset])
    return z


#: np.pad's modes that copy elements of the array (its others compute values from them)
_COPYING_PADS = ("edge", "wrap", "reflect", "symmetric")


def pad_grad(g, x, pad_width, mode="constant"):
    """Adjoint of ``np.pad(x, pad_width, mode)``: the part of ``g`` over ``x`` (constant
    mode); for a mode that copies elements (edge, wrap, reflect, symmetric), each element of
    ``g`` added back to the element of ``x`` it is a copy of."""
    if mode in _COPYING_PADS:
        n = int(np.prod(shape(x), dtype=np.int64))
        source = np.pad(np.arange(n).reshape(shape(x)), pad_width, mode=mode).ravel()
        xp = _xp(g, x)
        if xp is np:
            summed = np.bincount(source, weights=np.ravel(g), minlength=n)
            return summed.astype(np.result_type(g), copy=False).reshape(shape(x))
        return xp.zeros(n, xp.result_type(g)).at[source].add(xp.ravel(g)).reshape(shape(x))
    if mode != "constant":
        raise SrcGradError(f"np.pad(..., mode={mode!r}) has no derivative rule here",
                           hint="pad with mode='constant', 'edge', 'wrap', 'reflect' or "
                           "'symmetric'")
    widths = np.broadcast_to(np.asarray(pad_width, dtype=np.int64).reshape(-1, 2)
                             if np.ndim(pad_width) else np.full((1, 2), pad_width),
                             (len(shape(x)), 2))
    return g[tuple(slice(int(lo), int(lo) + n) for (lo, _), n in zip(widths, shape(x),
                                                                       strict=True))]


def diff_grad(g, x, n=1, axis=-1):
    """Adjoint of ``np.diff(x, n, axis)``: ``n`` times, ``-diff`` of ``g`` padded with a zero
    at both ends of ``axis``."""
    xp = _xp(g, x)
    axis = axis % len(shape(x))
    pads = [(0, 0)] * len(shape(x))
    pads[axis] = (1, 1)
    for _ in range(int(n)):
        g = -xp.diff(xp.pad(g, pads), axis=axis)
    return g


def sort_grad(g, x, axis=-1):
    """Adjoint of ``np.sort(x, axis)``: each element of ``g`` put back where its sorted value
    came from."""
    xp = _xp(g, x)
    order = xp.argsort(x, axis=axis)
    if xp is np:
        z = np.zeros(shape(x), dtype=np.result_type(g, x))
        np.put_along_axis(z, order, g, axis=axis)
        return z
    return xp.zeros_like(x).at[_along(order, axis)].set(g)


def _along(order, axis):
    """The index that puts values at ``order`` along ``axis`` (for jax's ``.at``)."""
    idx = list(np.ix_(*[np.arange(n) for n in order.shape]))
    idx[axis % order.ndim] = order
    return tuple(idx)


def take_grad(g, x, indices, axis=None):
    """Adjoint of ``np.take(x, indices, axis)``: ``g`` added into zeros of ``x``'s shape at
    the indices (repeats add up)."""
    xp = _xp(g, x, indices)   # (indices traced under jax.jit: jax's scatter takes them)
    indices = xp.asarray(indices)
    if axis is None:
        flat = getitem_grad(xp.reshape(g, (-1,)), xp.reshape(x, (-1,)), indices.reshape(-1))
        return xp.reshape(flat, shape(x))
    axis = axis % len(shape(x))
    moved = xp.moveaxis(xp.reshape(g, shape(x)[:axis] + (indices.size,) + shape(x)[axis + 1:]),
                        axis, 0)
    z = getitem_grad(moved, xp.moveaxis(x, axis, 0), indices.reshape(-1))
    return xp.moveaxis(z, 0, axis)


def median_grad(g, x, axis=None, keepdims=False):
    """Adjoint of ``np.median(x, axis)``: ``g`` to the middle element of each sorted line, or
    half of it to each of the two middle ones."""
    xp = _xp(g, x)
    g = xp.asarray(g, dtype=xp.result_type(g, x))   # (a Python float keeps x's precision)
    if axis is None:
        return xp.reshape(median_grad(xp.reshape(g, ()), xp.reshape(x, (-1,)), 0), shape(x))
    axis = axis % len(shape(x))
    n = shape(x)[axis]
    order = xp.argsort(x, axis=axis)
    picks = [(n - 1) // 2] if n % 2 else [n // 2 - 1, n // 2]
    g = g if keepdims else xp.expand_dims(g, axis)
    spread = xp.zeros(shape(x), dtype=xp.result_type(g, x))
    index = [slice(None)] * len(shape(x))
    for k in picks:
        index[axis] = slice(k, k + 1)
        share = xp.broadcast_to(g / len(picks), shape(order[tuple(index)]))
        spread = spread + _scatter(xp, xp.zeros_like(spread), order[tuple(index)], share, axis)
    return spread


def _scatter(xp, z, order, values, axis):
    if xp is np:
        np.put_along_axis(z, order, values, axis=axis)
        return z
    idx = list(np.ix_(*[np.arange(n) for n in order.shape]))
    idx[axis] = order
    return z.at[tuple(idx)].set(values)


def take_along_grad(g, x, indices, axis=-1):
    """Adjoint of ``np.take_along_axis(x, indices, axis)``: ``g`` added into zeros of ``x``'s
    shape at the indices along ``axis`` (repeats add up; ``axis=None``: of the flattened
    ``x``)."""
    xp = _xp(g, x, indices)   # (indices traced under jax.jit: jax's scatter takes them)
    if axis is None:
        flat = take_along_grad(g, xp.reshape(x, (-1,)), indices, 0)
        return xp.reshape(flat, shape(x))
    ndim = len(shape(x))
    axis = axis % ndim
    indices = xp.asarray(indices)
    indices = xp.where(indices < 0, indices + shape(x)[axis], indices)
    full = shape(g)
    idx = list(np.ix_(*[np.arange(n) if shape(x)[d] != 1 or d == axis else np.zeros(n, int)
                        for d, n in enumerate(full)]))
    idx[axis] = xp.broadcast_to(indices, full)
    if xp is np:
        z = np.zeros(shape(x), dtype=np.result_type(g, x))
        np.add.at(z, tuple(idx), g)
        return z
    return xp.zeros(shape(x), xp.result_type(g, x)).at[tuple(idx)].add(g)


def split_indices(shape_, indices_or_sections, axis=0, strict=True):
    """The basic indices of the pieces of ``np.split`` (``strict``: the sections must divide
    the axis) and ``np.array_split`` along ``axis`` of an array of shape ``shape_``."""
    n = shape_[axis]
    if np.ndim(indices_or_sections) == 0:
        sections = int(indices_or_sections)
        if sections <= 0:
            raise ValueError("number sections must be larger than 0.")
        if strict and n % sections:
            raise ValueError("array split does not result in an equal division")
        each, extra = divmod(n, sections)
        sizes = [each + 1] * extra + [each] * (sections - extra)
        bounds = [0, *itertools.accumulate(sizes)]
    else:
        bounds = [0, *(int(i) for i in indices_or_sections), n]
    head = (slice(None),) * (axis % len(shape_))
    return [head + (slice(lo, hi),) for lo, hi in itertools.pairwise(bounds)]
