"""Expressions: literals, containers, operators, subscripts and indices, lambdas,
comprehensions and conditional expressions, passive values (names and attributes: ``names``)."""

from __future__ import annotations

from typing import Any, cast

import libcst as cst
import numpy as np

from srcgrad.cstwalk import visit
from srcgrad.ir import (
    If,
    Lit,
    Var,
    atom_uses,
)
from srcgrad.normalize.base import _Base
from srcgrad.normalize.values import (
    _BINOPS,
    _COMPARE,
    _MISSING,
    _NOT_NONE,
    _UNARY,
    Frame,
    Home,
    Local,
    Obj,
    Pack,
    Ref,
    _assigned_names,
    _atom_node,
    _dotted,
    _is_index_builder,
    _is_r_,
    _is_shape_attribute,
    _literal_value,
    _op_text,
    _single_key,
    _target_names,
    gens_of,
)
from srcgrad.rules.calls import CallSpec, is_array_module
from srcgrad.template import grouped


class _Expressions(_Base):
    def _passive_expr(self, frame: Frame, node: cst.BaseExpression) -> Lit:
        """``node`` kept as written, its names replaced by what they name here: a test, which
        carries no derivative (``np.sum(x) > 1 and i < n``)."""
        uses: set[str] = set()
        lowering = self

        class _Names:
            bound: list[set[str]] = []   # names of the comprehensions around (kept as written)

            def visit_Lambda(self, n):
                raise lowering.error(frame, n, "a lambda is not supported in a condition")

            def visit_ListComp(self, n):
                names: set[str] = set()
                clause = n.for_in
                while clause is not None:
                    names.update(_target_names(clause.target))
                    clause = clause.inner_for_in
                self.bound = [*self.bound, names]

            def leave_ListComp(self, original, updated):
                self.bound = self.bound[:-1]
                return updated

            visit_GeneratorExp = visit_SetComp = visit_DictComp = visit_ListComp
            leave_GeneratorExp = leave_SetComp = leave_DictComp = leave_ListComp

            def visit_NamedExpr(self, n):
                raise lowering.error(frame, n, "the walrus operator (:=) is not supported in "
                                     "a condition", "assign the value on its own line, "
                                     "before the test")

            def visit_Attribute(self, n: cst.Attribute):
                return not lowering._on_object(frame, n)   # read as a whole, on leaving

            def leave_Attribute(self, original: cst.Attribute, updated):
                if not lowering._on_object(frame, original):
                    return updated
                atom = lowering.materialize(frame, lowering.value(frame, original, None),
                                            original)
                uses.update(atom_uses(atom))
                return _atom_node(atom)

            def leave_Name(self, original: cst.Name, updated: cst.Name):
                if original.value in ("True", "False", "None") or any(
                        original.value in b for b in self.bound):
                    return updated
                value = lowering.value(frame, original, None)
                if isinstance(value, Ref):
                    if is_array_module(value.obj):
                        return cst.Name(lowering.ctx.alias)
                    return lowering._bind_object(value.obj, original).node
                atom = lowering.materialize(frame, value, original)
                uses.update(atom_uses(atom))
                return _atom_node(atom)

        new = visit(node, _Names())
        return Lit(new.with_changes(lpar=(), rpar=()) if hasattr(new, "lpar") else new,
                   frozenset(uses))

    def _expr_ListComp(self, frame, node, hint):
        """``[f(x) for x in xs if c]``: a list built by a loop (``items.append(f(x))``)."""
        return self._comprehension(frame, node, hint)

    def _expr_GeneratorExp(self, frame, node, hint):
        """A generator expression, read as the list of its items (``sum(f(x) for x in xs)``)."""
        return self._comprehension(frame, node, hint)

    def _comprehension(self, frame: Frame, node, hint):
        name = hint.name if isinstance(hint, Home) else self.ctx.namer.fresh(hint or "items")
        positions = frame.parsed.positions
        here = positions.get(node)
        statement: cst.BaseStatement = cst.SimpleStatementLine([cst.Expr(cst.Call(
            cst.Attribute(cst.Name(name), cst.Name("append")), [cst.Arg(node.elt)]))])
        loops = []
        clause = node.for_in
        while clause is not None:
            loops.append(clause)
            clause = clause.inner_for_in
        for clause in reversed(loops):
            for test in reversed(clause.ifs):
                statement = cst.If(test.test, cst.IndentedBlock([statement]))
                positions[statement] = positions.get(test, here)
            if clause.asynchronous is not None:
                raise self.error(frame, clause, "`async for` is not supported")
            statement = cst.For(clause.target, clause.iter, cst.IndentedBlock([statement]))
            positions[statement] = positions.get(clause, here)
        assert frame.origin is not None  # a comprehension is in a statement
        user = frame.origin  # comments quote the user's statement, not the loop made here
        for n in gens_of(statement):
            positions.setdefault(n, here)
            self._synthetic[id(n)] = user
        self._keep.append(statement)
        targets = [k for k in _assigned_names(statement) if k != name]
        # the loop variables of a comprehension are its own: names the function also uses
        # (`[r * 2 for r in r]` in a loop over r) are set aside, and get names of their own
        saved = {k: frame.env.pop(k) for k in targets if k in frame.env}
        homes = {k: frame.homes.pop(k) for k in targets if k in frame.homes}
        if saved or homes:
            outer = loops[0].iter   # evaluated where the comprehension is, before its loop
            seq = self.ctx.namer.fresh("seq")
            frame.env[seq] = self._outer_value(frame, outer, saved)
            old = statement
            statement = old.with_changes(iter=cst.Name(seq))
            positions[statement] = positions.get(old, here)
            self._synthetic[id(statement)] = user
            self._keep.append(statement)
        frame.env[name] = Pack("list", ())
        self._statements(frame, [statement], top=False)
        result = frame.env.pop(name)
        for k in targets:
            frame.env.pop(k, None)
            frame.homes.pop(k, None)
        if saved or homes:
            frame.env.pop(seq, None)
        frame.env.update(saved)
        frame.homes.update(homes)
        frame.origin = user
        if isinstance(result, Var):
            self.lists.add(result.name)
        return result

    def _outer_value(self, frame: Frame, node: cst.BaseExpression, saved: dict) -> Any:
        """``node`` evaluated with the names set aside in ``saved`` back in place."""
        current = {k: frame.env.get(k) for k in saved}
        frame.env.update(saved)
        try:
            return self.value(frame, node, None)
        finally:
            for k, v in current.items():
                if v is None:
                    frame.env.pop(k, None)
                else:
                    frame.env[k] = v

    def _expr_IfExp(self, frame, node: cst.IfExp, hint):
        """``a if c else b``: a branch assigning one variable (or, where ``c`` is known when the
        code is generated, ``a`` or ``b`` itself)."""
        decided = self._static(frame, node.test)
        if decided is not _MISSING and decided is not _NOT_NONE and not isinstance(decided, Obj):
            return self.value(frame, node.body if decided else node.orelse, hint)
        target = self._target(frame, hint) if not isinstance(hint, Home) else hint.name
        with self._control(frame, node):
            test = self._test(frame, node.test)

            def branch(expr):
                def lower():
                    value = self.atom(frame, expr, Home(target))
                    if value != Var(target):
                        self.emit(frame, target, "assign", (value,))
                return self._block_of(frame, lower)

            self._forget()
            body = branch(node.body)
            self._forget()
            orelse = branch(node.orelse)
            self.body.append(If(test, body, orelse, frame.origin))
        return Var(target)

    def _expr_Integer(self, frame, node, hint):
        return Lit(node.with_changes(lpar=(), rpar=()))

    _expr_Float = _expr_Integer
    _expr_Imaginary = _expr_Integer
    _expr_SimpleString = _expr_Integer
    _expr_ConcatenatedString = _expr_Integer
    _expr_Ellipsis = _expr_Integer

    def _expr_FormattedString(self, frame, node, hint):
        return self._passive(frame, node)

    def _passive(self, frame: Frame, node: cst.BaseExpression) -> Lit:
        """A non-differentiable expression kept as written, its names lowered to atoms."""
        uses: set[str] = set()
        lowering = self

        class _Sub:
            def leave_Name(self, original, updated):
                return updated

            def leave_FormattedStringExpression(self, original, updated):
                a = lowering.atom(frame, updated.expression)
                uses.update(atom_uses(a))
                return updated.with_changes(expression=_atom_node(a))

        new = visit(node, _Sub())
        return Lit(new, frozenset(uses))

    def _expr_Tuple(self, frame, node, hint):
        return Pack("tuple", tuple(self._elements(frame, node.elements)))

    def _expr_List(self, frame, node, hint):
        return Pack("list", tuple(self._elements(frame, node.elements)))

    def _elements(self, frame: Frame, elements):
        for e in elements:
            if isinstance(e, cst.StarredElement):
                raise self.error(frame, e, "starred elements are not supported")
            yield self.value(frame, e.value, None)

    def _expr_Dict(self, frame, node, hint):
        keys, items = [], []
        for e in node.elements:
            if not isinstance(e, cst.DictElement):
                raise self.error(frame, e, "** in dict literals is not supported")
            key = self.atom(frame, e.key)
            if not isinstance(key, Lit) or key.uses:
                raise self.error(frame, e.key, "dict keys must be constants here")
            keys.append(_literal_value(key.node))
            items.append(self.value(frame, e.value, None))
        return Pack("dict", tuple(items), tuple(keys))

    def _expr_UnaryOperation(self, frame, node, hint):
        if isinstance(node.operator, cst.Minus) and isinstance(node.expression,
                                                               (cst.Integer, cst.Float)):
            return Lit(node.with_changes(lpar=(), rpar=()))
        operand = self.atom(frame, node.expression)
        if isinstance(node.operator, cst.Not):
            return self.emit(frame, self._target(frame, hint), "logical_not", (operand,))
        return self.emit(frame, self._target(frame, hint), _UNARY[type(node.operator)], (operand,))

    def _expr_BinaryOperation(self, frame, node, hint):
        prim = _BINOPS.get(type(node.operator))
        if prim is None:
            raise self.error(frame, node, f"operator {_op_text(node.operator)} is not supported")
        left = self.atom(frame, node.left)
        right = self.atom(frame, node.right)
        if isinstance(left, Lit) and isinstance(right, Lit) and not isinstance(hint, Home):
            # constants of the computation (`T + 1` of `T = x.shape[0]`): kept as written
            return Lit(node.with_changes(left=grouped(left.node),
                                         right=grouped(right.node)),
                       left.uses | right.uses, scalar=left.scalar and right.scalar)
        return self.emit(frame, self._target(frame, hint), prim, (left, right))

    def _expr_BooleanOperation(self, frame, node, hint):
        """``cond = a or b`` in code srcgrad generated (the test of the user's ``if``, which
        Python evaluates for its truth): kept as written, a value with no derivative. In
        the user's code it is refused: on arrays Python raises, and between differentiated
        values it would choose one."""
        if not frame.parsed.filename.startswith("<srcgrad "):
            raise self.error(frame, node, "`and`/`or` is not supported in a differentiated "
                             "function", "use np.logical_and / np.logical_or (or & and |) "
                             "on arrays")
        left, right = self.atom(frame, node.left), self.atom(frame, node.right)
        for a, side in ((left, node.left), (right, node.right)):
            if isinstance(a, Var) and a.name not in self._inert:
                raise self.error(frame, side, "`and`/`or` of a differentiated value is not "
                                 "supported in a differentiated function",
                                 "use np.logical_and / np.logical_or (or & and |) on arrays, "
                                 "or an if statement")
        expr = cst.BooleanOperation(_atom_node(left), node.operator, _atom_node(right))
        return self.emit(frame, self._target(frame, hint), "assign", (Lit(
            expr, atom_uses(left) | atom_uses(right)),))

    def _expr_Comparison(self, frame, node, hint):
        if len(node.comparisons) != 1:
            raise self.error(frame, node, "chained comparisons are not supported",
                             "write (a < b) & (b < c)")
        comp = node.comparisons[0]
        prim = _COMPARE.get(type(comp.operator))
        left = self.atom(frame, node.left)
        right = self.atom(frame, comp.comparator)
        if prim is None:  # is, is not, in, not in: evaluated as written, no derivative
            uses = atom_uses(left) | atom_uses(right)
            return Lit(node.with_changes(left=_atom_node(left), comparisons=[
                comp.with_changes(comparator=_atom_node(right))]), uses)
        return self.emit(frame, self._target(frame, hint), prim, (left, right))

    def _expr_Subscript(self, frame, node, hint):
        if self._is_s_(frame, node.value):  # an index written np.s_[...], as gradient code does
            return self._index(frame, node)
        base = self._items_of(frame, self.value(frame, node.value, None))
        if isinstance(base, Ref) and _is_index_builder(base.obj):
            return self._index_builder(frame, node, base.obj, hint)
        if isinstance(base, Pack) and base.kind != "dict" and len(node.slice) == 1 and \
                isinstance(node.slice[0].slice, cst.Slice):  # xs[1:], xs[::-1]: a pack too
            part = node.slice[0].slice
            bounds = [None if e is None else self._constant(frame, e)
                      for e in (part.lower, part.upper, part.step)]
            if not all(b is None or isinstance(b, int) for b in bounds):
                raise self.error(frame, node, "a literal tuple or list is sliced by constants "
                                 "only here")
            return Pack(base.kind, base.items[slice(*bounds)])
        if isinstance(base, Pack) and base.kind != "dict" and not self._constant_index(
                frame, node):
            # t[k], k known only at run time: the items in a list built at run time (its
            # adjoint takes any index), read by index
            items = self.ctx.namer.temp()
            self._runtime_list(frame, items, Pack("list", tuple(
                self._array_of_pack(frame, node, v) for v in base.items)), node)
            return self.emit(frame, self._target(frame, hint), "getitem", (Var(items),),
                             (("index", self._index(frame, node)),))
        if isinstance(base, Pack):
            key = self._static_index(frame, node)
            try:
                return base.items[base.keys.index(key)] if base.keys is not None else \
                    base.items[key]
            except (ValueError, IndexError, TypeError):
                raise self.error(frame, node, f"index {key!r} is out of range for this "
                                 f"{base.kind}") from None
        base_atom = self.materialize(frame, base, node.value)
        index = self._index(frame, node)
        if isinstance(base_atom, Lit) and _is_shape_attribute(base_atom.node):
            # x.shape[0]: a constant of the computation, kept as written
            key = _single_key(node, int)
            return Lit(cst.Subscript(base_atom.node, index.node.slice),
                       base_atom.uses | index.uses,
                       scalar=isinstance(key, int))
        if hint is None and isinstance(base_atom, Var):
            key = _single_key(node)
            if isinstance(key, str) and key.isidentifier():
                hint = f"{base_atom.name}_{key}"
        return self.emit(frame, self._target(frame, hint), "getitem", (base_atom,),
                         (("index", index),))

    def _index_builder(self, frame: Frame, node: cst.Subscript, obj: Any, hint):
        """``np.r_[a, b]``: ``np.concatenate`` of its items made at least 1-d (what NumPy
        computes for items that are arrays and numbers). Its other forms (slices, string
        directives) and ``np.c_``, ``np.mgrid``, ``np.ogrid`` stay constants: kept as written
        where they read no name, refused where they do (they might carry a derivative)."""
        plain = all(isinstance(e.slice, cst.Index) and e.slice.star is None and
                    not isinstance(e.slice.value, (cst.SimpleString, cst.ConcatenatedString))
                    for e in node.slice)
        if _is_r_(obj) and plain:
            items = []
            for e in node.slice:
                v = self.atom(frame, cast(cst.Index, e.slice).value)  # (plain)
                items.append(self.emit(frame, self.ctx.namer.temp(), "atleast_1d", (v,)))
            return self._primitive(frame, node, CallSpec("concatenate", "seq"),
                                   [Pack("list", tuple(items))], {}, hint)
        index = self._index(frame, node)
        if index.uses:
            spelled = _dotted(node.value)
            raise self.error(frame, node, f"{spelled}[...] of variables is not supported: "
                             "srcgrad would treat its result as a constant",
                             "build the array with np.concatenate, np.stack or np.meshgrid, "
                             "which srcgrad differentiates")
        return self._passive(frame, node)

    def _is_s_(self, frame: Frame, node: cst.BaseExpression) -> bool:
        if isinstance(node, cst.Name) and node.value not in frame.env:
            return self._lookup(frame, node.value) is np.s_
        if isinstance(node, cst.Attribute) and node.attr.value == "s_" and isinstance(
                node.value, cst.Name) and node.value.value not in frame.env:
            return getattr(self._lookup(frame, node.value.value), "s_", None) is np.s_
        return False

    def _constant_index(self, frame: Frame, node: cst.Subscript) -> bool:
        """Whether ``node``'s index is one constant (``t[0]``, ``t[-1]``, ``t[K]``)."""
        if len(node.slice) != 1 or not isinstance(node.slice[0].slice, cst.Index):
            return False
        try:
            self._constant(frame, node.slice[0].slice.value)
        except ValueError:
            return False
        return True

    def _static_index(self, frame: Frame, node: cst.Subscript):
        if len(node.slice) == 1 and isinstance(node.slice[0].slice, cst.Index):
            try:
                return self._constant(frame, node.slice[0].slice.value)
            except ValueError:
                pass
        raise self.error(frame, node, "a literal tuple, list or dict can only be indexed by a "
                         "constant here")

    def _constant(self, frame: Frame, node: cst.BaseExpression):
        """The value of ``node`` if it is a constant (``-1``, a module-level number); else
        ValueError."""
        key = self.atom(frame, node)
        if isinstance(key, Lit) and not key.uses:
            return _literal_value(key.node)
        raise ValueError("not a constant")

    def _index(self, frame: Frame, node: cst.Subscript) -> Lit:
        """The index of ``node`` as ``s_[...]`` with its expressions lowered to atoms."""
        uses: set[str] = set()

        def lower(e: cst.BaseExpression | None):
            if e is None:
                return None
            a = self.atom(frame, e)
            uses.update(atom_uses(a))
            return _atom_node(a)

        elements = []
        for el in node.slice:
            s = el.slice
            if isinstance(s, cst.Index):
                s = s.with_changes(value=lower(s.value))
            else:
                assert isinstance(s, cst.Slice)  # the other kind
                s = s.with_changes(lower=lower(s.lower), upper=lower(s.upper),
                                   step=lower(s.step))
            elements.append(el.with_changes(slice=s))
        return Lit(cst.Subscript(cst.Name("s_"), elements), frozenset(uses))

    def _expr_Lambda(self, frame, node, hint):
        return self._local(frame, "<lambda>", node.params, node.body)

    def _local(self, frame: Frame, name: str, params: cst.Parameters, body) -> Local:
        self._param_names(frame, params)
        defaults = {}
        for p in (*params.params, *params.kwonly_params):
            if p.default is not None:
                defaults[p.name.value] = self.value(frame, p.default, None)
        return Local(name, params, body, frame, defaults)
