"""Python's builtins on the values of a differentiated function: ``sum`` (of a list's items,
of an array's rows), ``max`` and ``min`` (Python's choice at ties), ``float``, ``tuple``,
``list`` and ``dict`` of literal containers, and the views of dicts known when the code is
generated. Each resolver answers a call (``CALL_RESOLVERS`` in ``calls``) or passes."""

from __future__ import annotations

import builtins
from typing import Any

import libcst as cst

from srcgrad.ir import Lit, Var
from srcgrad.normalize.values import CallSite, Frame, Pack


def _builtin_sum(low: Any, c: CallSite) -> Any:
    """``sum(items)``, ``sum(items, start)``: a sum of a list or tuple's items, or of an
    array's rows."""
    if c.fn is not builtins.sum or not 1 <= len(c.args) + len(c.kwargs) <= 2 or set(
            c.kwargs) - {"start"}:
        return NotImplemented
    start = c.args[1] if len(c.args) == 2 else c.kwargs.get("start")
    total = _sum(low, c.frame, c.node, c.args[0], None if start is not None else c.hint)
    if start is None:
        return total
    return low.emit(c.frame, low._target(c.frame, c.hint), "add", (
        low.materialize(c.frame, start, c.node), low.materialize(c.frame, total, c.node)))


def _dict_view(pack: Pack, view: str) -> Pack:
    """``d.keys()``, ``d.values()`` or ``d.items()`` of a dict known when the code is
    generated (a literal, a ModuleDict): a literal list."""
    assert pack.keys is not None  # (a dict's)
    keys = [Lit(cst.parse_expression(repr(k))) for k in pack.keys]
    if view == "keys":
        return Pack("list", tuple(keys))
    if view == "values":
        return Pack("list", pack.items)
    return Pack("list", tuple(Pack("tuple", (k, v)) for k, v in zip(keys, pack.items,
                                                                      strict=True)))


def _differentiated(low: Any, value: Any) -> bool:
    """Whether ``value`` (an atom, or a literal container of them) carries a derivative."""
    if isinstance(value, Pack):
        return any(_differentiated(low, v) for v in value.items)
    return isinstance(value, Var) and value.name not in low._inert


def _builtin_float(low: Any, c: CallSite) -> Any:
    """``float(loss)`` of a differentiated value: the number, its derivative passed through
    (``float("inf")`` and ``float(n)`` of other values stay calls, as written)."""
    if c.fn is not builtins.float or len(c.args) != 1 or c.kwargs or not (
            isinstance(c.args[0], Var) and _differentiated(low, c.args[0])):
        return NotImplemented
    return low.emit(c.frame, low._target(c.frame, c.hint), "to_float", (c.args[0],))


def _builtin_container(low: Any, c: CallSite) -> Any:
    """``tuple([a, b])``, ``list((a, b))``, ``dict(w=w, b=b)``: a literal container of the
    same items, known when the code is generated."""
    if c.fn not in (builtins.tuple, builtins.list, builtins.dict):
        return NotImplemented
    kind = c.fn.__name__
    if kind == "dict":
        if c.args:
            return NotImplemented
        return Pack("dict", tuple(c.kwargs.values()), tuple(c.kwargs))
    if c.kwargs or len(c.args) > 1:
        return NotImplemented
    if not c.args:
        return Pack(kind, ())
    items = low._items_of(c.frame, c.args[0])
    if not isinstance(items, Pack) or items.kind == "dict":
        return NotImplemented
    return Pack(kind, items.items)


def _builtin_extremum(low: Any, c: CallSite) -> Any:
    """``max(a, b, ...)`` and ``min(...)`` as Python computes them (the first extreme item
    wins a tie); ``max(xs)`` of a list, tuple or array."""
    if c.fn is not builtins.max and c.fn is not builtins.min or not any(
            _differentiated(low, a) for a in (*c.args, *c.kwargs.values())):
        return NotImplemented  # max(len(x), 1): a call as written
    name = c.fn.__name__
    if c.kwargs or not c.args:
        raise low.error(c.frame, c.node, f"{name}() with key= or default= is not supported",
                        f"write the comparison out, or use np.{name}imum / np.{name}")
    items = c.args
    if len(items) == 1:
        seq = low._items_of(c.frame, items[0])
        if not isinstance(seq, Pack):  # an array, a list built at run time: np.max(xs, 0)
            xs = low.materialize(c.frame, seq, c.node)
            if isinstance(xs, Var) and (xs.name in low.lists or xs.name in low.arguments):
                # (an argument may be a list: its gradient then a list, see densify)
                xs = low.emit(c.frame, low.ctx.namer.temp(), "array_list", (xs,))
            return low.emit(c.frame, low._target(c.frame, c.hint), f"a{name}", (xs,), (
                ("axis", Lit(cst.Integer("0"))),))
        if not seq.items:
            raise low.error(c.frame, c.node, f"{name}() of an empty sequence")
        items = list(seq.items)
    best = low.materialize(c.frame, items[0], c.node)
    for k, item in enumerate(items[1:], 1):  # best = item if item > best else best
        value = low.materialize(c.frame, item, c.node)
        wins = low.emit(c.frame, low.ctx.namer.temp(), "greater" if name == "max" else "less",
                        (value, best))
        best = low.emit(c.frame, low._target(c.frame, c.hint if k == len(items) - 1 else None),
                        "where", (wins, value, best))
    return best


def _sum(low: Any, frame: Frame, node: cst.Call, items: Any, hint: Any) -> Any:
    """Python's ``sum`` of a list: the items added one by one (a literal list) or
    ``sum_list`` (a list built at run time)."""
    if isinstance(items, Pack):
        if not items.items:
            return Lit(cst.Integer("0"))
        total = low.materialize(frame, items.items[0], node)
        for k, item in enumerate(items.items[1:], 1):
            last = k == len(items.items) - 1
            total = low.emit(frame, low._target(frame, hint if last else None), "add",
                              (total, low.materialize(frame, item, node)))
        return total
    items = low._items_of(frame, items)
    if isinstance(items, Pack):
        return _sum(low, frame, node, items, hint)
    # a list built at run time, or an array (Python adds its rows)
    return low.emit(frame, low._target(frame, hint), "sum_list", (
        low.materialize(frame, items, node),))
