"""Lean visits of libcst trees, for srcgrad's passes over small generated expressions.

libcst's own visitor dispatch (``node.visit(visitor)``) calls several hooks per node, walks
every whitespace and parenthesis token and validates each rebuilt node; srcgrad walks its small
expressions thousands of times while it transforms one function, and that machinery was most
of the transformation time. :func:`visit` keeps libcst's visitor interface (``visit_<Node>``
returns False to skip the children, ``leave_<Node>(original, updated)`` returns the
replacement) but goes only into fields that hold code (not tokens, whitespace or
parentheses, nor the names of attributes and keyword arguments, which are not variables) and
rebuilds a node only when one of its children changed.
"""

from __future__ import annotations

import dataclasses
import operator
from typing import Any, TypeVar

import libcst as cst

N = TypeVar("N", bound=cst.CSTNode)

# Fields that hold tokens, whitespace, comments or parentheses, never code to visit.
_TOKENS = frozenset({
    "lpar", "rpar", "comma", "operator", "equal", "star", "dot", "colon", "semicolon",
    "lbracket", "rbracket", "lbrace", "rbrace", "first_colon", "second_colon", "asynchronous",
    "leading_lines", "lines_after_decorators", "header", "footer", "indent", "newline",
    "trailing_whitespace", "encoding", "default_indent", "default_newline",
    "has_trailing_newline",
})

# The names of attributes (``np.sum``: only ``np`` is a variable) and of keyword arguments
# (``axis=``) are not variables: visits do not enter them.
_NOT_NAMES = frozenset({(cst.Attribute, "attr"), (cst.Arg, "keyword")})

_FIELDS: dict[type, tuple[tuple[str, ...], tuple[str, ...]]] = {}


def _fields(cls: type) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(all field names, the fields that may hold code) of a node class."""
    hit = _FIELDS.get(cls)
    if hit is None:
        fields = dataclasses.fields(cls)
        names = tuple(f.name for f in fields)
        code = tuple(f.name for f in fields if f.name not in _TOKENS
                     and not f.name.startswith("whitespace") and (cls, f.name) not in _NOT_NAMES
                     and not _is_text(f.type))
        hit = _FIELDS[cls] = (names, code)
    return hit


def _is_text(annotation: object) -> bool:
    """A field typed as a string (``Name.value``, ``Arg.star``): no code inside."""
    return annotation in (str, bool) or "Literal[" in repr(annotation)


def _plan(vcls: type, ncls: type) -> tuple[Any, Any, tuple[str, ...]]:
    """(``visit_<Node>``, ``leave_<Node>``, the fields that may hold code), kept on the
    visitor class (so plans go away with a class defined in a function)."""
    plans = vcls.__dict__.get("_visit_plans")
    if plans is None:
        plans = {}
        vcls._visit_plans = plans  # type: ignore[attr-defined]
    name = ncls.__name__
    hit = plans[ncls] = (getattr(vcls, f"visit_{name}", None) or getattr(vcls, "visit_node", None),
                         getattr(vcls, f"leave_{name}", None) or getattr(vcls, "leave_node", None),
                         _fields(ncls)[1])
    return hit


def visit(node: N, visitor: object) -> N:
    """``node`` visited by ``visitor`` (any object with ``visit_<Node>``/``leave_<Node>``
    methods, or generic ``visit_node``/``leave_node``); the rebuilt tree, or ``node`` itself if
    nothing changed."""
    cls = type(node)
    vcls = type(visitor)
    plans = vcls.__dict__.get("_visit_plans")
    plan = (plans.get(cls) if plans is not None else None) or _plan(vcls, cls)
    enter, leave, code = plan
    updated = node
    if code and (enter is None or enter(visitor, node) is not False):
        changes: dict[str, Any] | None = None
        for name in code:
            value = getattr(node, name)
            kind = _KINDS.get(type(value)) or _kind(value)
            if kind is _NODE:
                new = visit(value, visitor)
            elif kind is _SEQUENCE and value:
                items = [visit(v, visitor) for v in value]
                new = value if all(map(operator.is_, items, value)) else tuple(items)
            else:
                continue
            if new is not value:
                if changes is None:
                    changes = {}
                changes[name] = new
        if changes:
            updated = rebuilt(node, changes)
    elif enter is not None and not code:
        enter(visitor, node)
    if leave is not None:
        return leave(visitor, node, updated)
    return updated


_NODE, _SEQUENCE, _OTHER = "node", "sequence", "other"
_KINDS: dict[type, str] = {tuple: _SEQUENCE, list: _SEQUENCE}


def _kind(value: object) -> str:
    kind = _KINDS[type(value)] = _NODE if isinstance(value, cst.CSTNode) else _OTHER
    return kind


def code_fields(cls: type) -> tuple[str, ...]:
    """The fields of a node class that may hold code (what :func:`visit` enters)."""
    return _fields(cls)[1]


def rebuilt(node: N, changes: dict[str, Any]) -> N:
    """``node`` with some fields changed (no validation: srcgrad builds only valid trees)."""
    cls = type(node)
    new = object.__new__(cls)
    for name in _fields(cls)[0]:
        object.__setattr__(new, name, changes[name] if name in changes else getattr(node, name))
    return new


def changed(node: N, **changes: Any) -> N:
    """``node.with_changes(**changes)`` without libcst's validation, for generated code."""
    return rebuilt(node, changes)


# --- building nodes -------------------------------------------------------------------------------
# libcst's constructors validate each node and make fresh whitespace tokens for every default
# field (an ``Arg`` costs ~3 µs, a ``Call`` ~7 µs); generated code builds thousands of nodes.
# Nodes are immutable, so one ``Name`` per identifier serves every use, and new ``Arg`` and
# ``Call`` nodes are copies of a validated one with their code fields replaced.

_NAMES: dict[str, cst.Name] = {}
_ARG = cst.Arg(cst.Name("_"))
_CALL = cst.Call(cst.Name("_"), [])
_KEYWORD_ARG = cst.Arg(cst.Name("_"), keyword=cst.Name("_"), equal=cst.AssignEqual(
    whitespace_before=cst.SimpleWhitespace(""), whitespace_after=cst.SimpleWhitespace("")))


def ident(identifier: str) -> cst.Name:
    """The node of a name."""
    node = _NAMES.get(identifier)
    if node is None:
        node = _NAMES[identifier] = cst.Name(identifier)
    return node


def argument(value: cst.BaseExpression, keyword: str | None = None) -> cst.Arg:
    """An argument of a call: ``value``, or ``keyword=value``."""
    if keyword is None:
        return rebuilt(_ARG, {"value": value})
    return rebuilt(_KEYWORD_ARG, {"value": value, "keyword": ident(keyword)})  # k=v


def call(func: cst.BaseExpression, args: list[cst.Arg]) -> cst.Call:
    """The call ``func(*args)``."""
    return rebuilt(_CALL, {"func": func, "args": tuple(args)})
