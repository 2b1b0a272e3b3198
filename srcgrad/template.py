"""Inline a rule function into generated code by substituting its parameters.

A rule's body is a single ``return`` expression; its parameters become the CST expressions of
the call site (variables, literals), ``xp`` becomes the backend alias. Parameters left at their
default by the user's call are dropped from calls where that is exact (a trailing or keyword
argument), so ``np.sum(x)`` stays ``np.sum(x)`` and not ``np.sum(x, axis=None, keepdims=False)``.
"""

from __future__ import annotations

import inspect
import textwrap
from collections.abc import Callable, Mapping
from functools import cache
from typing import Any, cast

import libcst as cst

from srcgrad.cstwalk import argument, changed, code_fields, rebuilt, visit


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
    build, params, defaults = _recipe(fn)
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
    return build(_Substitution(subst, defaults))


@cache
def _recipe(fn: Callable) -> tuple[Callable[[_Substitution], cst.BaseExpression],
                                   tuple[tuple[str, bool, bool], ...], dict[str, object]]:
    """How to instantiate rule ``fn`` (a builder made once from its return expression: parts
    without parameters are reused as they are); (name, has a default, is ``*args``) of each
    parameter; the defaults."""
    expr, params = _template(fn)
    names = frozenset(p.name for p in params)
    build = _compile(expr, names) or (lambda s: expr)
    return (build, tuple((p.name, p.default is not p.empty, p.kind is p.VAR_POSITIONAL)
                         for p in params),
            {p.name: p.default for p in params if p.default is not p.empty})


_OMIT = cst.Name("__omitted__")
Builder = Callable[["_Substitution"], Any]


class _Substitution:
    """The values of one instantiation: parameter -> expression, ``()``/tuple for ``*args``,
    ``_OMIT`` for a parameter left at its default."""

    def __init__(self, subst: dict, defaults: dict):
        self.subst, self.defaults = subst, defaults

    def name(self, param: str) -> cst.BaseExpression:
        """What the parameter ``param`` becomes where it is read as a value."""
        new = self.subst[param]
        if new is _OMIT:
            return _default_node(self.defaults[param])
        if isinstance(new, tuple):
            return cst.Tuple([cst.Element(v) for v in new] or [],
                             lpar=[cst.LeftParen()], rpar=[cst.RightParen()]) \
                if len(new) != 1 else cst.Tuple([cst.Element(new[0], comma=cst.Comma())])
        return _parenthesize(new)


def _default_node(value: object) -> cst.BaseExpression:
    return _parsed(repr(value))  # by its text: True == 1, but they are written differently


@cache
def _parsed(text: str) -> cst.BaseExpression:
    return cst.parse_expression(text)


def _compile(node: cst.CSTNode, params: frozenset[str]) -> Builder | None:
    """A builder of ``node`` with the parameters substituted; None if ``node`` reads none (it
    is then used as it is)."""
    if isinstance(node, cst.Name):
        if node.value not in params:
            return None
        param = node.value
        return lambda s: s.name(param)
    if isinstance(node, cst.Call):
        return _compile_call(node, params)
    parts: list[tuple[str, Any]] = []
    for field in code_fields(type(node)):
        value = getattr(node, field)
        if isinstance(value, cst.CSTNode):
            build = _compile(value, params)
            if build is not None:
                parts.append((field, build))
        elif isinstance(value, (tuple, list)) and value:
            items = [_compile(v, params) if isinstance(v, cst.CSTNode) else None for v in value]
            if any(b is not None for b in items):
                fixed = tuple(value)
                parts.append((field, _sequence(fixed, items)))
    if not parts:
        return None
    return lambda s: rebuilt(node, {field: build(s) for field, build in parts})


def _sequence(fixed: tuple, items: list[Builder | None]) -> Builder:
    return lambda s: tuple(v if b is None else b(s) for v, b in zip(fixed, items, strict=True))


def _compile_call(node: cst.Call, params: frozenset[str]) -> Builder | None:
    """A call: arguments that are parameters may be spliced (``*args``) or dropped (left at
    their default, as a keyword or trailing positional argument)."""
    func = _compile(node.func, params)
    args: list[tuple[cst.Arg, str | None, Builder | None]] = []  # (arg, its param, builder)
    slices: dict[int, tuple[str, Builder | None, Builder | None]] = {}  # *args[lo:hi]
    for a in node.args:
        v = a.value
        if isinstance(v, cst.Name) and v.value in params:
            args.append((a, v.value, None))
            continue
        if a.star == "*" and isinstance(v, cst.Subscript) and isinstance(
                v.value, cst.Name) and v.value.value in params and len(v.slice) == 1 and \
                isinstance(v.slice[0].slice, cst.Slice) and v.slice[0].slice.step is None:
            part = v.slice[0].slice
            slices[len(args)] = (v.value.value, _bound(part.lower, params),
                                 _bound(part.upper, params))
        args.append((a, None, _compile(v, params)))
    if func is None and all(p is None and b is None for _, p, b in args):
        return None

    def build(s: _Substitution) -> cst.Call:
        out: list[tuple[cst.Arg, str | None]] = []  # (argument, name of an omitted parameter)
        for k, (a, param, value) in enumerate(args):
            spliced = _spliced(s, *slices[k]) if k in slices else None
            if spliced is not None:  # *operands[:i] with i a number: those operands
                out.extend((argument(v), None) for v in spliced)
                continue
            if param is not None:
                new = s.subst[param]
                if a.star == "*" and isinstance(new, tuple):
                    out.extend((argument(v), None) for v in new)
                    continue
                if new is _OMIT:
                    out.append((a, param))
                    continue
                out.append((changed(a, value=s.name(param)), None))
            else:
                out.append((a if value is None else changed(a, value=value(s)), None))
        # Drop omitted keyword arguments, and omitted positionals with nothing after them.
        out = [(a, o) for a, o in out if not (o is not None and a.keyword is not None)]
        while out and out[-1][1] is not None:
            out.pop()
        final = [a if o is None else changed(a, value=_default_node(s.defaults[o]))
                 for a, o in out]
        if final and final[-1].comma is not cst.MaybeSentinel.DEFAULT:  # no trailing comma
            final[-1] = changed(final[-1], comma=cst.MaybeSentinel.DEFAULT)
        changes: dict[str, Any] = {"args": tuple(final)}
        if func is not None:
            changes["func"] = func(s)
        return rebuilt(node, changes)

    return build


def _bound(node: cst.BaseExpression | None, params: frozenset[str]) -> Builder | None:
    if node is None:
        return None
    build = _compile(node, params)
    return build or (lambda s: node)


def _spliced(s: _Substitution, param: str, lower: Builder | None, upper: Builder | None):
    """The items of ``*param[lower:upper]`` when ``param`` holds a tuple and both bounds
    come out as whole numbers; None otherwise."""
    items = s.subst[param]
    if not isinstance(items, tuple):
        return None
    bounds = [None if b is None else _int_value(b(s)) for b in (lower, upper)]
    if any(b is _NOT_INT for b in bounds):
        return None
    lower_int, upper_int = cast("list[int | None]", bounds)  # (none is _NOT_INT)
    return items[lower_int:upper_int]


_NOT_INT = object()


def _int_value(node: cst.BaseExpression) -> object:
    """The value of an integer expression of literals (``i + 1`` once ``i`` is 2)."""
    if node.lpar:
        node = changed(node, lpar=[], rpar=[])
    if isinstance(node, cst.Integer):
        return int(node.value)
    if isinstance(node, cst.UnaryOperation) and isinstance(node.operator, cst.Minus):
        v = _int_value(node.expression)
        return _NOT_INT if v is _NOT_INT else -v  # type: ignore[operator]
    if isinstance(node, cst.BinaryOperation) and isinstance(node.operator,
                                                            (cst.Add, cst.Subtract)):
        a, b = _int_value(node.left), _int_value(node.right)
        if a is _NOT_INT or b is _NOT_INT:
            return _NOT_INT
        return a + b if isinstance(node.operator, cst.Add) else a - b  # type: ignore[operator]
    return _NOT_INT


_ATOMIC = (cst.Name, cst.Attribute, cst.Call, cst.Subscript, cst.Integer, cst.Float,
           cst.Imaginary, cst.SimpleString, cst.Tuple, cst.List, cst.Dict, cst.Ellipsis)


def _parenthesize(node: cst.BaseExpression) -> cst.BaseExpression:
    """``node`` wrapped in parentheses unless it is atomic (safe anywhere)."""
    if isinstance(node, _ATOMIC) or node.lpar:
        return node
    return changed(node, lpar=[cst.LeftParen()], rpar=[cst.RightParen()])
