"""What is decided when the code is generated: an ``if`` on an object's fixed attribute
(``if self.bias is not None:``), a loop over a model's layers or a literal ``range`` that
reads attributes by name (unrolled), a ``with`` that only silences warnings
(``np.errstate``), whose body stands in its place."""

from __future__ import annotations

import warnings
from typing import Any, cast

import libcst as cst
import numpy as np

from srcgrad.cstwalk import visit
from srcgrad.ir import Lit, Var
from srcgrad.normalize.base import _Base
from srcgrad.normalize.values import (
    _MISSING,
    _NOT_NONE,
    Frame,
    Obj,
    Pack,
    Ref,
    _statement_list,
)


class _Decided(_Base):
    def _static_rows(self, frame: Frame, stmt: cst.For) -> list | None:
        """The (target, item) pairs of each trip of a loop over the children of an object
        (``for layer in self.layers:``, ``enumerate(self)``, ``zip(self.blocks, sizes)``) with
        no ``else``, ``break``, ``continue`` or ``return``, else None."""
        it = stmt.iter
        if isinstance(it, cst.Call) and isinstance(it.func, cst.Name) and self._lookup(
                frame, it.func.value) is range and isinstance(stmt.target, cst.Name) and \
                stmt.orelse is None and not _jumps(stmt.body) and _reads_by_name(stmt.body):
            bounds = [self._static(frame, a.value) for a in it.args]
            if all(type(b) is int for b in bounds) and not any(a.keyword for a in it.args):
                # for k in range(self.num_layers): getattr(self, f"weight_ih_l{k}"): unrolled
                return [[(stmt.target, Lit(cst.Integer(str(k))))] for k in range(*bounds)]
        call = isinstance(it, cst.Call) and isinstance(it.func, cst.Name) and \
            self._lookup(frame, it.func.value) in (enumerate, zip)
        seqs = [a.value for a in cast(cst.Call, it).args] if call else [it]
        views = [q for q in seqs if isinstance(q, cst.Call) and not q.args and isinstance(
            q.func, cst.Attribute) and q.func.attr.value in ("items", "keys", "values")]
        if stmt.orelse is not None or not seqs or not all(
                isinstance(q, (cst.Name, cst.Attribute)) or q in views for q in seqs) or \
                _jumps(stmt.body):
            return None
        if not any(isinstance(self._static(frame, q), Obj) or isinstance(q, cst.Attribute)
                   and self._on_object(frame, q) or q in views and isinstance(
                       self._static(frame, cast(cst.Attribute, cast(cst.Call, q).func).value),
                       Obj) for q in seqs):
            return None
        values = [self._items_of(frame, self.value(frame, q, None)) for q in seqs]
        if not all(isinstance(v, Pack) and v.kind in ("list", "tuple") for v in values):
            return None
        if call and self._lookup(frame, cast(cst.Name, cast(cst.Call, it).func).value) is enumerate:
            if len(values) != 1 or not isinstance(stmt.target, cst.Tuple) or \
                    len(stmt.target.elements) != 2:
                return None
            index, item = (e.value for e in stmt.target.elements)
            return [[(index, Lit(cst.Integer(str(k)))), (item, v)]
                    for k, v in enumerate(values[0].items)]
        if call:
            if not isinstance(stmt.target, cst.Tuple) or len(stmt.target.elements) != len(
                    values):
                return None
            return [list(zip((e.value for e in stmt.target.elements), row, strict=True))
                    for row in zip(*(v.items for v in values), strict=False)]
        return [[(stmt.target, v)] for v in values[0].items]

    def _quiet_with(self, frame: Frame, stmt: cst.With) -> bool:
        """Whether ``stmt`` only silences warnings (``with np.errstate(divide="ignore",
        invalid="ignore"):``, ``warnings.catch_warnings()``): no ``as`` name, settings known
        when the code is generated. ``"raise"`` or ``"call"`` would change what the body
        does, and are refused."""
        if stmt.asynchronous is not None:
            return False
        for item in stmt.items:
            call = item.item
            if item.asname is not None or not isinstance(call, cst.Call):
                return False
            fn = self._dotted_object(frame, call.func)
            if fn is warnings.catch_warnings and not call.args:
                continue
            if fn is not np.errstate or any(a.keyword is None for a in call.args):
                return False
            for a in call.args:
                assert a.keyword is not None  # (checked above)
                setting = self._static(frame, a.value)
                if setting in ("raise", "call") or not isinstance(setting, str):
                    raise self.error(frame, a, f"np.errstate({a.keyword.value}="
                                     f"{setting!r}) is not supported in a differentiated "
                                     "function" if setting in ("raise", "call") else
                                     "np.errstate's settings must be literal strings here",
                                     "use 'ignore', 'warn' or 'print' here, and test the "
                                     "values after the call")
        return True

    def _dotted_object(self, frame: Frame, node: cst.BaseExpression) -> Any:
        """The object a dotted name (``np.errstate``) refers to outside the function."""
        if isinstance(node, cst.Name):
            found = self._lookup(frame, node.value)
            return found.obj if isinstance(found, Ref) else found
        if isinstance(node, cst.Attribute):
            base = self._dotted_object(frame, node.value)
            if base is _MISSING or isinstance(base, (Var, Lit, Pack, Obj)):
                return _MISSING
            return getattr(base, node.attr.value, _MISSING)
        return _MISSING

    def _decided(self, frame: Frame, stmt: cst.If) -> list | None:
        """The statements an ``if`` runs where its test is known when the code is generated
        (an object's fixed attribute: ``if self.training:``), else None."""
        value = self._static(frame, stmt.test)
        if value is _MISSING or value is _NOT_NONE or isinstance(value, Obj):
            return None
        if value:
            chosen = _statement_list(stmt.body)
        elif isinstance(stmt.orelse, cst.If):
            chosen = [stmt.orelse]
        elif isinstance(stmt.orelse, cst.Else):
            chosen = _statement_list(stmt.orelse.body)
        else:
            chosen = []
        if _ends_in_jump(chosen) or not any(_jumps(c) for c in chosen):
            return chosen
        return None  # a jump inside: lowered as a branch, whose jumps srcgrad knows


def _jumps(body: cst.CSTNode) -> bool:
    """Whether ``body`` holds a ``break``, ``continue`` or ``return`` (not in a nested
    function)."""
    found = []

    class _Jumps:
        def visit_Break(self, n) -> None:
            found.append(n)

        visit_Continue = visit_Return = visit_Break

        def visit_FunctionDef(self, n) -> bool:
            return False

        visit_Lambda = visit_FunctionDef

    visit(body, _Jumps())
    return bool(found)


def _ends_in_jump(statements: list) -> bool:
    """Whether ``statements`` end in a ``return``, ``break`` or ``continue`` and hold no
    other."""
    if not statements or not isinstance(statements[-1], cst.SimpleStatementLine):
        return False
    last = statements[-1].body
    return isinstance(last[-1], (cst.Return, cst.Break, cst.Continue)) and not any(
        _jumps(c) for c in statements[:-1]) and not any(
        isinstance(small, (cst.Return, cst.Break, cst.Continue)) for small in last[:-1])


def _reads_by_name(body: cst.CSTNode) -> bool:
    """Whether ``body`` calls ``getattr`` (a layer's parameters read by a computed name)."""
    found = []

    class _Getattr:
        def visit_Call(self, n: cst.Call) -> None:
            if isinstance(n.func, cst.Name) and n.func.value == "getattr":
                found.append(n)

    visit(body, _Getattr())
    return bool(found)
