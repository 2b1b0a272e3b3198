"""Index assignments: the array a name assigned by index holds (the function's own: a copy
unless it was just made), ``y[index] = v`` on it, a dict made in the function filled by key,
and what such a write makes stale: the names NumPy would show it through (views of the
array, the array a copy was made from), whose later reads are refused."""

from __future__ import annotations

from typing import Any

import libcst as cst
import numpy as np

from srcgrad.errors import SrcGradError
from srcgrad.ir import Lit, Node, Stmt, Var, atom_uses, walk
from srcgrad.normalize.base import _Base
from srcgrad.normalize.values import (
    _CONSTRUCTORS,
    Frame,
    Pack,
    _dotted,
    _single_key,
)
from srcgrad.rules.shape import VIEWS


class _Writes(_Base):
    def _own_array(self, frame: Frame, target: cst.Name, value: Any) -> Var:
        """The value of a variable later assigned by index: an array of the function's own in
        the variable's one name (a copy unless it was just computed into it)."""
        if isinstance(value, Var):
            self._refuse_write_through(frame, target, target.value, value,
                                       f"{target.value}[...] = ...")
        home = self._target(frame, target.value)
        last = self.body[-1] if self.body else None
        if value == Var(home) and isinstance(last, Stmt) and last.target == home and \
                last.prim == "call" and self._fresh(last):
            return value  # np.zeros(...): a new array (other results may be simplified away)
        copied = self.emit(frame, home, "copy", (self.materialize(frame, value, target),))
        if isinstance(value, Var):
            self._aliases[home] = value.name
        return copied

    def _fresh(self, stmt: Stmt) -> bool:
        """Whether ``stmt`` makes a new array (not a view of, or a name for, another one)."""
        if stmt.prim == "call":
            obj = self.bindings.get(_dotted(stmt.args[0].node)) if isinstance(
                stmt.args[0], Lit) else None
            return any(obj is getattr(np, n, None) for n in _CONSTRUCTORS)
        return stmt.prim not in VIEWS

    def _setitem(self, frame: Frame, target: cst.Subscript, value: Any) -> None:
        """``y[index] = v``: the array ``y`` changes in place (it is the function's own);
        ``cache["z1"] = z1`` into a dict made in the function: the dict, known when the code
        is generated, holds ``z1`` under that key from here on."""
        assert isinstance(target.value, cst.Name)  # its callers' condition
        name = target.value.value
        base = frame.env.get(name)
        if isinstance(base, Pack) and base.kind == "dict":
            frame.env[name] = self._dict_set(frame, target, base, value)
            return
        if not isinstance(base, Var) or base.name != frame.pinned.get(name):
            raise self.error(frame, target, f"{name!r} must be an array assigned before its "
                             "items are", f"start it with {name} = np.zeros(...) or a copy")
        index = self._index(frame, target)
        item = self.materialize(frame, value, target)
        self.emit(frame, base.name, "setitem", (base, item), (("index", index),))
        self._mark_stale(frame, target, name, base.name)

    def _dict_set(self, frame: Frame, target: cst.Subscript, base: Pack, value: Any) -> Pack:
        """``base`` with ``value`` under the key ``target`` gives: a literal key, in
        straight-line code (a branch or loop would make the dict's keys known only at run
        time)."""
        key = _single_key(target)
        key = _single_key(target, int) if key is None else key
        if key is None or frame.branches or frame.loops:
            raise self.error(frame, target, "a dict made in the function is filled only with "
                             "literal keys, outside branches and loops, here",
                             "build it in one expression ({k: v for ...}, dict(...)), or "
                             "keep the values in a list")
        keys, items = list(base.keys or ()), list(base.items)
        if key in keys:
            items[keys.index(key)] = value
        else:
            keys.append(key)
            items.append(value)
        return Pack("dict", tuple(items), tuple(keys))

    def _mark_stale(self, frame: Frame, target: cst.Subscript, name: str, written: str) -> None:
        """After ``name[...] = v`` writes the array ``written``: the other names whose memory
        NumPy changes with it (views of it; the array ``name = other`` was copied from, and its
        views) are stale, and a later read of one is refused (srcgrad's copies do not change)."""
        source = self._aliases.get(written)
        roots = {written} | ({source, self._views.get(source, source)} if source else set())
        line = frame.parsed.loc(target).lineno
        for k, v in frame.env.items():
            if k == name or not isinstance(v, Var) or v.name == written:
                continue
            if v.name in roots and v.name == source:
                self._stale[v.name] = (
                    f"{k!r} is the array {name!r} was made from ({name} = {k}: in NumPy one "
                    f"array under two names), and `{name}[...] = ...` at line {line} changed "
                    f"it; srcgrad gave {name!r} an array of its own",
                    f"write {name} = {k}.copy() to make that so, or write into {k} itself")
            elif self._views.get(v.name) in roots or v.name in roots:
                self._stale[v.name] = (
                    f"{k!r} may be a view of the array `{name}[...] = ...` at line {line} "
                    "changed (basic indexing, iteration over rows, .T, reshape and the like "
                    f"share memory in NumPy): NumPy changed {k!r} too, srcgrad does not",
                    f"make {k} an array of its own before the write ({k} = {k}.copy()), or "
                    "take it again after it")

    def _refuse_stale_reads(self, frame: Frame, body: tuple[Node, ...], stale: set[str]) -> None:
        """A loop whose body reads a value a write later in the body made stale (a view of
        the array written): from its second trip on, NumPy reads the changed memory."""
        if not stale:
            return
        for node in walk(body):
            if isinstance(node, Stmt):
                reads = set().union(*(atom_uses(a) for a in (*node.args,
                                                            *(v for _, v in node.params))))
                hit = next(iter(reads & stale), None)
                if hit is not None:
                    message, hint = self._stale[hit]
                    raise SrcGradError(f"in this loop, {message} (a later trip reads it)",
                                       node.origin.at, hint)
