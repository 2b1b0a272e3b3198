"""Loops over sequences: ``for`` over ``range`` (counted down from its bounds), over arrays
and runtime lists (by index), over ``enumerate`` and ``zip``, ``reversed``, and over literal
tuples, lists and dicts and sequences of modules (one copy of the body per item)."""

from __future__ import annotations

from typing import cast

import libcst as cst

from srcgrad.ir import Atom, Lit, Var, atom_uses
from srcgrad.normalize.base import _Base
from srcgrad.normalize.values import Frame, Pack, _atom_node, _statement_list


class _Iteration(_Base):
    def _for(self, frame: Frame, node: cst.For) -> None:
        it = node.iter
        seqs = [a.value for a in it.args] if isinstance(it, cst.Call) and isinstance(
            it.func, cst.Name) and it.func.value in ("enumerate", "zip") else [it]
        line = self._origin(frame, node).loc.lineno
        outer = frame.iterated
        frame.iterated = {**{q.value: line for q in seqs if isinstance(q, cst.Name)}, **outer}
        try:
            self._with_else(frame, node, self._for_loop)
        finally:
            frame.iterated = outer

    def _for_loop(self, frame: Frame, node: cst.For) -> None:
        origin = self._origin(frame, node)
        if node.asynchronous is not None:
            raise self.error(frame, node, "`async for` is not supported")
        iterable, target = node.iter, node.target
        call = iterable if isinstance(iterable, cst.Call) else None
        builtin = self._builtin_callee(frame, call) if call is not None else None
        statements = _statement_list(node.body)
        counted = self._counted(frame, iterable)
        if counted is not None:
            if not isinstance(target, cst.Name):
                raise self.error(frame, target, "the target of a loop over range() must be a "
                                 "name")
            bounds, limit, backward = counted
            self._loop(frame, node, origin, frame.homes[target.value], bounds, [], statements,
                       target.value, limit=limit, backward=backward)
            return
        if builtin in (enumerate, zip):
            self._for_items(frame, node, origin, builtin, call, statements)
            return
        if builtin is reversed and call is not None and len(call.args) == 1 and \
                call.args[0].keyword is None:  # reversed(xs): the items of xs[::-1]
            iterable = cst.Subscript(call.args[0].value, [cst.SubscriptElement(cst.Slice(
                None, None, cst.UnaryOperation(cst.Minus(), cst.Integer("1"))))])
            self._keep.append(iterable)
        value = self._items_of(frame, self.value(frame, iterable, None))
        if isinstance(value, Pack):  # a literal tuple or list: one copy of the body per item
            items = value.items if value.kind != "dict" else tuple(  # a dict: its keys
                Lit(cst.parse_expression(repr(k))) for k in cast(tuple, value.keys))
            for item in items:
                self.assign(frame, target, item)
                self._statements(frame, statements, top=False)
            return
        seq = self._kept(frame, self.materialize(frame, value, iterable))
        if isinstance(seq, Var) and _reads_by_own_items(node):
            # for k in d: ... d[k] ...: d is a dict built at run time (an argument), and the
            # loop runs over its keys
            seq = self.emit(frame, self.ctx.namer.fresh("keys"), "dict_keys", (seq,))
        index = self.ctx.namer.fresh("i")
        length = Lit(cst.Call(cst.Name("len"), [cst.Arg(_atom_node(seq))]), atom_uses(seq),
                     scalar=True)
        self._loop(frame, node, origin, index, (Lit(cst.Integer("0")), length,
                                                Lit(cst.Integer("1"))),
                   [(target, seq)], statements)

    def _for_items(self, frame, node, origin, builtin, call, statements) -> None:
        args = [a for a in call.args if a.keyword is None]
        values = [self._items_of(frame, self.value(frame, a.value, None)) for a in args]
        if any(isinstance(v, Pack) for v in values):
            self._unrolled_items(frame, node, builtin, values, statements)
            return
        if builtin is enumerate:
            target = node.target
            if not (isinstance(target, (cst.Tuple, cst.List)) and len(target.elements) == 2
                    and isinstance(target.elements[0].value, cst.Name)) or len(args) != 1 or \
                    len(call.args) != 1:
                raise self.error(frame, node, "write the loop as `for i, x in enumerate(xs):`")
            seq = self._kept(frame, self.materialize(frame, values[0], args[0].value))
            index = frame.homes[target.elements[0].value.value]
            length = Lit(cst.Call(cst.Name("len"), [cst.Arg(_atom_node(seq))]), atom_uses(seq),
                         scalar=True)
            self._loop(frame, node, origin, index, (Lit(cst.Integer("0")), length,
                                                    Lit(cst.Integer("1"))),
                       [(target.elements[1].value, seq)], statements,
                       target.elements[0].value.value)
            return
        target = node.target
        if not (isinstance(target, (cst.Tuple, cst.List)) and len(target.elements) == len(args)
                == len(call.args)) or not args:
            raise self.error(frame, node, "write the loop as `for a, b in zip(xs, ys):`")
        seqs = [self._kept(frame, self.materialize(frame, v, a.value))
                for v, a in zip(values, args, strict=True)]
        lengths = [cst.Call(cst.Name("len"), [cst.Arg(_atom_node(q))]) for q in seqs]
        length_node = lengths[0] if len(lengths) == 1 else cst.Call(
            cst.Name("min"), [cst.Arg(n) for n in lengths])
        length = Lit(length_node, frozenset().union(*(atom_uses(q) for q in seqs)), scalar=True)
        index = self.ctx.namer.fresh("i")
        self._loop(frame, node, origin, index, (Lit(cst.Integer("0")), length,
                                                Lit(cst.Integer("1"))),
                   [(e.value, q) for e, q in zip(target.elements, seqs, strict=True)],
                   statements)

    def _unrolled_items(self, frame, node, builtin, values, statements) -> None:
        """``for i, layer in enumerate(self.layers):`` over a literal list or a sequence of
        modules: one copy of the body per item, as for a literal list."""
        target = node.target
        if not all(isinstance(v, Pack) for v in values) or not isinstance(
                target, (cst.Tuple, cst.List)) or len(target.elements) != (
                2 if builtin is enumerate else len(values)) or len(values) != (
                1 if builtin is enumerate else len(values)) or not values:
            raise self.error(frame, node, "write the loop as `for i, x in enumerate(xs):` or "
                             "`for a, b in zip(xs, ys):`, over lists (or sequences of modules) "
                             "only", "zip a list of modules with another list")
        rows = enumerate(values[0].items) if builtin is enumerate else zip(
            *(v.items for v in values), strict=False)
        for row in rows:
            items = (Lit(cst.Integer(str(row[0]))), row[1]) if builtin is enumerate else row
            for e, item in zip(target.elements, items, strict=True):
                self.assign(frame, e.value, item)
            self._statements(frame, statements, top=False)

    def _builtin_callee(self, frame: Frame, call: cst.Call):
        if isinstance(call.func, cst.Name) and call.func.value not in frame.env:
            found = self._lookup(frame, call.func.value)
            if found in (range, enumerate, zip, reversed):
                return found
        return None

    def _counted(self, frame: Frame, iterable: cst.BaseExpression):
        """``(bounds, limit, backward)`` of a loop over ``range(...)``, ``range(...)[:limit]``
        or ``reversed(`` either ``)``; None for a loop over anything else."""
        backward = False
        if isinstance(iterable, cst.Call) and self._builtin_callee(frame, iterable) is \
                reversed and len(iterable.args) == 1 and iterable.args[0].keyword is None:
            backward, iterable = True, iterable.args[0].value
        limit: cst.BaseExpression | Atom | None = None
        if isinstance(iterable, cst.Subscript) and len(iterable.slice) == 1 and isinstance(
                s := iterable.slice[0].slice, cst.Slice) and s.lower is None and \
                s.step is None and s.upper is not None:
            limit, iterable = s.upper, iterable.value
        if not (isinstance(iterable, cst.Call) and
                self._builtin_callee(frame, iterable) is range):
            return None
        bounds = self._range_bounds(frame, iterable)
        if limit is not None:
            limit = self._kept(frame, self.atom(frame, cast(cst.BaseExpression, limit)))
        return bounds, limit, backward

    def _range_bounds(self, frame: Frame, call: cst.Call):
        if any(a.keyword is not None for a in call.args) or not 1 <= len(call.args) <= 3:
            raise self.error(frame, call, "range() takes one to three positional arguments")
        atoms = [self.atom(frame, a.value) for a in call.args]
        if len(atoms) == 1:
            atoms = [Lit(cst.Integer("0")), atoms[0]]
        if len(atoms) == 2:
            atoms.append(Lit(cst.Integer("1")))
        return tuple(self._kept(frame, a) for a in atoms)


def _reads_by_own_items(node: cst.For) -> bool:
    """Whether the loop ``for k in d:`` reads ``d[k]`` in its body: ``d`` is then a mapping,
    whose iteration gives its keys (a sequence is not indexed by its own items)."""
    if not isinstance(node.target, cst.Name) or not isinstance(node.iter, cst.Name):
        return False
    seq, key = node.iter.value, node.target.value
    found = False

    class _Find(cst.CSTVisitor):
        def visit_Subscript(self, sub: cst.Subscript) -> None:
            nonlocal found
            if isinstance(sub.value, cst.Name) and sub.value.value == seq and len(
                    sub.slice) == 1 and isinstance(e := sub.slice[0].slice, cst.Index) and \
                    isinstance(e.value, cst.Name) and e.value.value == key:
                found = True

    node.body.visit(_Find())
    return found
