"""Inline a rule function into generated code by substituting its parameters.

A rule's body is a single ``return`` expression; its parameters become the CST expressions of
the call site (variables, literals), ``xp`` becomes the backend alias. Parameters left at their
default by the user's call are dropped from calls where that is exact (a trailing or keyword
argument), so ``np.sum(x)`` stays ``np.sum(x)`` and not ``np.sum(x, axis=None, keepdims=False)``.
"""

from __future__ import annotations

import inspect
import operator
import textwrap
from collections.abc import Callable, Mapping
from functools import cache

import libcst as cst

from srcgrad.cstwalk import argument, changed, visit


@cache
def _template(fn: Callable) -> tuple[cst.BaseExpression, tuple[inspect.Parameter, ...]]:
    source = textwrap.dedent(inspect.getsource(fn))
    module = cst.parse_module(source)
    func = module.body[0]
    if not isinstance(func, cst.FunctionDef):
        raise TypeError(f"rule {fn.__qualname__} is not a def")
    body = func.body
    if isinstance(body, cst.SimpleStatementSuite):  # def f(...): return ...
        smalls = list(body.body)
    else:
        lines = [s for s in body.body if isinstance(s, cst.SimpleStatementLine)]
        smalls = [s for line in lines for s in line.body
                  if not (isinstance(s, cst.Expr) and isinstance(s.value, cst.SimpleString))]
    if len(smalls) != 1 or not isinstance(smalls[0], cst.Return):
        raise TypeError(f"rule {fn.__qualname__} must be a single return expression")
    value = smalls[0].value
    assert value is not None
    return value, tuple(inspect.signature(fn).parameters.values())


def names_in(node: cst.CSTNode) -> set[str]:
    """The identifiers ``node`` reads: not attribute names (``np.sum``: only ``np``) nor
    keyword names (``axis=``)."""
    names: set[str] = set()

    class _Names:
        def visit_Name(self, n: cst.Name) -> None:
            names.add(n.value)

    visit(node, _Names())
    return names


def grouped(e: cst.BaseExpression) -> cst.BaseExpression:
    """``e`` in parentheses if it is an operation (to stand inside another expression)."""
    if isinstance(e, (cst.BinaryOperation, cst.UnaryOperation, cst.Comparison,
                      cst.BooleanOperation, cst.IfExp, cst.Lambda)) and not e.lpar:
        return changed(e, lpar=[cst.LeftParen()], rpar=[cst.RightParen()])
    return e


@cache
def names_in_rule(fn: Callable) -> frozenset[str]:
    """The names the return expression of rule ``fn`` reads (parameters and helpers)."""
    return frozenset(names_in(_template(fn)[0]))


@cache
def used_params(fn: Callable) -> frozenset[str]:
    """The parameters of rule ``fn`` its return expression reads."""
    return names_in_rule(fn) & {p.name for p in _template(fn)[1]}


def instantiate(fn: Callable, values: Mapping[str, cst.BaseExpression | tuple],
                omitted: frozenset[str] = frozenset()) -> cst.BaseExpression:
    """The return expression of ``fn`` with each parameter replaced by ``values[name]``.

    A tuple value stands for a ``*args`` parameter (spliced into calls, a tuple elsewhere).
    Parameters in ``omitted`` take their default; they are dropped where they are a trailing
    positional or a keyword argument of a call.
    """
    expr, params, defaults = _parts(fn)
    subst: dict[str, cst.BaseExpression | tuple] = {}
    for name, has_default, star in params:
        if name in values and name not in omitted:
            subst[name] = values[name]
        elif has_default:
            subst[name] = _OMIT
        elif star:
            subst[name] = ()
        else:
            raise KeyError(f"no value for parameter {name!r} of {fn.__qualname__}")
    return visit(expr, _Substitute(subst, defaults))


@cache
def _parts(fn: Callable) -> tuple[cst.BaseExpression, tuple[tuple[str, bool, bool], ...],
                                  dict[str, object]]:
    """The return expression of rule ``fn``; (name, has a default, is ``*args``) of each
    parameter; the defaults."""
    expr, params = _template(fn)
    return (expr, tuple((p.name, p.default is not p.empty, p.kind is p.VAR_POSITIONAL)
                        for p in params),
            {p.name: p.default for p in params if p.default is not p.empty})


_OMIT = cst.Name("__omitted__")


def _default_node(value) -> cst.BaseExpression:
    return cst.parse_expression(repr(value))


class _Substitute:
    """Replace parameter names; splice ``*args``; drop omitted trailing/keyword arguments."""

    def __init__(self, subst, defaults):
        super().__init__()
        self.subst = subst
        self.defaults = defaults

    def visit_Arg(self, node: cst.Arg) -> bool:
        return False  # keyword names are not parameters: handled in leave_Call

    def leave_Call(self, original: cst.Call, updated: cst.Call) -> cst.Call:
        args: list[tuple[cst.Arg, str | None]] = []   # (argument, name of an omitted parameter)
        for arg in updated.args:
            value = arg.value
            if isinstance(value, cst.Name) and value.value in self.subst:
                new = self.subst[value.value]
                if arg.star == "*" and isinstance(new, tuple):
                    args.extend((argument(v), None) for v in new)
                    continue
                if new is _OMIT:
                    args.append((arg, value.value))
                    continue
            new_value = visit(value, self)
            args.append((arg if new_value is value else changed(arg, value=new_value), None))
        # Drop omitted keyword arguments, and omitted positionals with nothing after them.
        args = [(a, o) for a, o in args if not (o is not None and a.keyword is not None)]
        while args and args[-1][1] is not None:
            args.pop()
        final = [a if o is None else changed(a, value=_default_node(self.defaults[o]))
                 for a, o in args]
        if final and final[-1].comma is not cst.MaybeSentinel.DEFAULT:  # no trailing comma
            final[-1] = changed(final[-1], comma=cst.MaybeSentinel.DEFAULT)
        if len(final) == len(updated.args) and all(map(operator.is_, final, updated.args)):
            return updated
        return changed(updated, args=final)

    def leave_Name(self, original: cst.Name, updated: cst.Name):
        new = self.subst.get(updated.value)
        if new is None:
            return updated
        if new is _OMIT:
            return _default_node(self.defaults[updated.value])
        if isinstance(new, tuple):
            return cst.Tuple([cst.Element(v) for v in new] or [],
                             lpar=[cst.LeftParen()], rpar=[cst.RightParen()]) \
                if len(new) != 1 else cst.Tuple([cst.Element(new[0], comma=cst.Comma())])
        return _parenthesize(new)


_ATOMIC = (cst.Name, cst.Attribute, cst.Call, cst.Subscript, cst.Integer, cst.Float,
           cst.Imaginary, cst.SimpleString, cst.Tuple, cst.List, cst.Dict, cst.Ellipsis)


def _parenthesize(node: cst.BaseExpression) -> cst.BaseExpression:
    """``node`` wrapped in parentheses unless it is atomic (safe anywhere)."""
    if isinstance(node, _ATOMIC) or node.lpar:
        return node
    return changed(node, lpar=[cst.LeftParen()], rpar=[cst.RightParen()])
