"""Seeds and zeros, and the adjoints of tuples, lists and dicts: :class:`StructGrad` accumulates
the adjoints of the items read, list rules take them off again, :func:`densify` gives them the
argument's structure."""

from __future__ import annotations

import dataclasses

import numpy as np

from srcgrad.errors import SrcGradError
from srcgrad.runtime.arrays import _xp, shape
from srcgrad.runtime.broadcasting import broadcast_like, unbroadcast


def stop_gradient(x):
    """``x`` itself, as a value with no derivative: nothing flows back through it."""
    return x


def check(test, message=None):
    """``assert test, message`` of the user's code, in the forward sweep."""
    if not test:
        raise AssertionError(message) if message is not None else AssertionError


def throw(exc):
    """``raise exc`` of the user's code, in the forward sweep."""
    raise exc


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
    if isinstance(x, (str, bytes)) or x is None:
        return None  # a key, a name: no derivative
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
            if isinstance(index, slice):  # xs[1:]: the adjoint of the part, item by item
                return cls.sliced(len(x), index, g)
            return cls({index % len(x): g}, len(x))
        if isinstance(x, StructGrad) and x.length is not None:  # shaped like an adjoint (the
            if isinstance(index, slice):                      # tangent of add_at's)
                return cls.sliced(x.length, index, g)
            return cls({index % x.length if isinstance(index, int) else index: g}, x.length)
        return cls({index: g})

    @classmethod
    def sliced(cls, length: int, index: slice, g) -> StructGrad:
        """The adjoint of a list of ``length`` items from ``g``, the adjoint of its part
        ``[index]``."""
        where = range(length)[index]
        part = g if isinstance(g, StructGrad) else cls.of(g)
        return cls({where[k]: v for k, v in part.items.items() if v is not None}, length)

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
    """Adjoint of ``np.stack(xs, axis)`` (or ``np.array(xs)``) for a list ``xs`` built at run
    time; an item that is a list itself (``np.array([[k(a, b) for b in X] for a in X])``)
    gets the adjoint of a list, item by item."""
    xp = _xp(g)
    return StructGrad({i: unstack_grad(part, x) if isinstance(x, (list, tuple)) else part
                       for i, x in enumerate(xs)
                       for part in (xp.take(g, i, axis=axis),)}, len(xs))


def sum_list_grad(g, xs):
    """Adjoint of ``sum(xs)`` (Python's) for a list ``xs``: every item receives ``g``; for an
    array, every row (``sum`` adds an array's rows)."""
    if hasattr(xs, "shape") and not isinstance(xs, (list, tuple)):  # a fresh array (adjoints
        return broadcast_like(unbroadcast(g, xs[0]) if len(xs) else g, xs)  # add into it)
    return StructGrad({i: unbroadcast(g, x) for i, x in enumerate(xs)}, len(xs))


def to_float(x):
    """``float(x)``: a Python float, or a 0-d array on jax (a traced value has no float)."""
    if isinstance(x, (float, int, np.ndarray, np.generic)):
        return float(x)
    return _xp(x).reshape(x, ())


def dict_keys(d):
    """``list(d.keys())``: a dict's keys, in order."""
    return list(d.keys())


def dict_values(d):
    """``list(d.values())``: a dict's values, in order."""
    return list(d.values())


def dict_items(d):
    """``list(d.items())``: a dict's ``(key, value)`` pairs, in order."""
    return list(d.items())


def values_grad(g, d):
    """Adjoint of ``list(d.values())`` for ``d``: the adjoint of the i-th value goes to the
    i-th key."""
    return StructGrad({k: g[i] for i, k in enumerate(d)
                       if not isinstance(g, StructGrad) or i in g.items})


def items_grad(g, d):
    """Adjoint of ``list(d.items())`` for ``d``: the adjoint of the value of the i-th pair
    goes to the i-th key (keys carry no derivative)."""
    out = {}
    for i, k in enumerate(d):
        pair = g[i] if not isinstance(g, StructGrad) or i in g.items else None
        if isinstance(pair, (StructGrad, tuple, list)):
            out[k] = pair[1]
    return StructGrad(out)


def list_append(xs, v):
    """``xs.append(v)``, returning ``xs``."""
    xs.append(v)
    return xs


def densify(g, x):
    """The adjoint ``g`` of ``x`` in ``x``'s structure, zeros for the items never read."""
    if g is None:
        return zero_grad(x)
    if isinstance(g, (list, tuple)) and isinstance(x, (list, tuple)) and len(g) == len(x):
        return type(x)(densify(gi, xi) for gi, xi in zip(g, x, strict=True))  # items of items
    if isinstance(g, dict) and isinstance(x, dict):
        return {k: densify(g.get(k), v) for k, v in x.items()}
    if isinstance(x, (list, tuple)) and hasattr(g, "shape") and len(g) == len(x):
        return type(x)(densify(g[i], v) for i, v in enumerate(x))  # np.max(xs): by rows
    if isinstance(g, StructGrad) and hasattr(x, "shape") and not isinstance(x, (list, tuple)):
        xp = _xp(x)   # the rows of an array read one by one (sum(x), np.array(x))
        return xp.stack([densify(g.items.get(i), x[i]) for i in range(len(x))]) if len(x) \
            else xp.zeros_like(x)
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


def replace_fields(obj, **changes):
    """The gradient of a dataclass: a copy of ``obj`` (``dataclasses.replace``) with the
    fields ``changes``, the others as they are."""
    return dataclasses.replace(obj, **changes)
