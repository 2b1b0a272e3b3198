"""Adjoints back to their operand's shape: undoing broadcasting and reductions, and the checks on
what custom rules return."""

from __future__ import annotations

import numpy as np

from srcgrad.errors import SrcGradError
from srcgrad.runtime.arrays import _dtype, _xp, shape


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
    """A fresh array of ``x``'s shape and dtype holding ``g`` broadcast to it (``x`` an array,
    or the :class:`Like` of one)."""
    xp = _xp(g, x)
    if not hasattr(x, "shape"):
        return g
    return xp.zeros(x.shape, x.dtype) + g


class Like:
    """What the backward sweep keeps of an array it reads only for its shape and dtype
    (``unbroadcast(d_t4, t4)``): those, and not the array."""

    __slots__ = ("shape", "dtype")

    def __init__(self, shape: tuple[int, ...], dtype):
        self.shape, self.dtype = shape, dtype

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def __repr__(self) -> str:
        return f"Like({self.shape}, {self.dtype})"


def like(x):
    """``x``'s shape and dtype, saved in its place (a Python number is kept as it is)."""
    shape_ = getattr(x, "shape", None)
    return x if shape_ is None else Like(tuple(shape_), x.dtype)


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


def astype_grad(g, x, dtype=None):
    """The derivative ``g`` of a cast ``x.astype(dtype)`` carried back to ``x``: ``g`` in
    ``x``'s dtype or, where ``dtype`` is an integer or bool type (a cast that is piecewise
    constant), zeros of ``g``'s dtype in ``x``'s shape. Also the tangent of the cast, with
    ``x`` its output."""
    if dtype is not None and not np.issubdtype(np.dtype(dtype), np.inexact):
        xp = _xp(g, x)
        return xp.zeros(shape(x), dtype=xp.result_type(g))
    dt = _dtype(x)
    if np.iscomplexobj(g) and (dt is None or np.dtype(dt).kind != "c" or (
            dtype is not None and np.dtype(dtype).kind != "c")):
        g = _xp(g).real(g)   # to a real dtype, or from the real cast of a complex x: Re(g)
    if dt is None:
        return g
    return _xp(g).asarray(g).astype(dt)


def spread(s, x, axis=None, keepdims=False):
    """The standard deviation ``s`` of ``x``, inf where the values it reduces are equal to
    within rounding (``s <= 4 eps max|x|``): the derivative ``1 / (2 s)`` is then 0, not
    1/0 nor a quotient of two rounding errors."""
    xp = _xp(s, x)
    dt = _dtype(x)
    eps = np.finfo(dt if dt is not None and np.issubdtype(dt, np.floating) else np.float64).eps
    scale = xp.max(xp.abs(x), axis=axis, keepdims=keepdims)
    return xp.where(s <= 4 * eps * scale, xp.inf, s)


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
