"""The values lowering works with (homes, packs, local functions, references to Python
objects, frames), and the facts about syntax and objects every part of it asks."""

from __future__ import annotations

import ast
import builtins
import functools
import inspect
import logging
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import libcst as cst
import numpy as np

from srcgrad import objects
from srcgrad.cstwalk import visit
from srcgrad.errors import Location
from srcgrad.ir import (
    Atom,
    If,
    Jump,
    Lit,
    Origin,
    Var,
)
from srcgrad.parse import ParsedFunction
from srcgrad.printer import code
from srcgrad.rules import runtime

_BINOPS: dict[type, str] = {
    cst.Add: "add", cst.Subtract: "subtract", cst.Multiply: "multiply", cst.Divide: "divide",
    cst.FloorDivide: "floor_divide", cst.Modulo: "mod", cst.Power: "power",
    cst.MatrixMultiply: "matmul", cst.BitAnd: "bitwise_and", cst.BitOr: "bitwise_or",
    cst.BitXor: "bitwise_xor",
}
_AUGOPS: dict[type, type] = {
    cst.AddAssign: cst.Add, cst.SubtractAssign: cst.Subtract, cst.MultiplyAssign: cst.Multiply,
    cst.DivideAssign: cst.Divide, cst.FloorDivideAssign: cst.FloorDivide,
    cst.ModuloAssign: cst.Modulo, cst.PowerAssign: cst.Power,
    cst.MatrixMultiplyAssign: cst.MatrixMultiply,
}
_COMPARE: dict[type, str] = {
    cst.LessThan: "less", cst.LessThanEqual: "less_equal", cst.GreaterThan: "greater",
    cst.GreaterThanEqual: "greater_equal", cst.Equal: "equal", cst.NotEqual: "not_equal",
}
_UNARY: dict[type, str] = {cst.Minus: "negative", cst.Plus: "positive", cst.BitInvert: "invert"}
_PASSIVE_ATTRIBUTES = {"dtype", "itemsize", "nbytes", "strides", "shape", "ndim", "size"}
_SCALAR_ATTRIBUTES = {"itemsize", "nbytes", "ndim", "size"}
_UNSUPPORTED_BLOCKS: dict[type, str] = {cst.Try: "try", cst.With: "with", cst.ClassDef: "class",
                       cst.Match: "match"} if hasattr(cst, "Match") else {
    cst.Try: "try", cst.With: "with", cst.ClassDef: "class"}


@dataclass(frozen=True)
class CallSite:
    """A call being lowered: where it is, the object its callee resolves to, and its
    arguments as lowering values (atoms, packs, references)."""

    frame: Frame
    node: cst.Call
    fn: Any
    args: list
    kwargs: dict
    hint: Any
    effect: bool = False  # an expression statement: kept for its effect


@dataclass(frozen=True)
class Home:
    """A hint naming the exact core variable a value goes to (a name assigned inside control
    flow keeps one name)."""

    name: str


@dataclass(frozen=True)
class Pack:
    """A literal tuple, list or dict of atoms, kept symbolic while only indexed or unpacked."""

    kind: str                       # "tuple" | "list" | "dict"
    items: tuple[Any, ...]          # Atom | Pack | Local
    keys: tuple[Any, ...] | None = None


@dataclass(frozen=True, eq=False)
class Local:
    """A function defined inside the function being normalized (``def`` or ``lambda``)."""

    name: str
    params: cst.Parameters
    body: cst.BaseSuite | cst.BaseExpression
    frame: Frame
    defaults: dict[str, Any]


@dataclass(frozen=True)
class Ref:
    """A non-local object reached by name: a module, a function, a class."""

    obj: Any
    node: cst.BaseExpression | None  # None: a child of a sequence module


@dataclass(frozen=True, eq=False)
class Obj:
    """An object the function receives (a model, a layer, a NamedTuple of parameters), known by
    its structure: its attributes lower to the variables its leaves are read into (``leaves``,
    shared by every object under one argument), its methods are inlined."""

    shape: objects.Shape
    path: tuple[str, ...]
    leaves: Mapping[tuple[str, ...], str | Lit]  # a variable; a literal: an object from outside
    label: str   # as the user's code reaches it: "model.fc1"


@dataclass(frozen=True, eq=False)
class Method:
    """A method of an :class:`Obj` (``model.forward``), inlined when called."""

    fn: Callable
    owner: Obj


@dataclass(eq=False)
class Frame:
    """One function body being lowered: its parsed source and its name environment."""

    parsed: ParsedFunction
    env: dict[str, Any]
    where: str
    origin: Origin | None = None
    call: Location | None = None   # a library's twin: the user's call (where errors point)
    return_hint: str | Home | None = "out"   # name for the value of `return <expression>`
    homes: dict[str, str] = field(default_factory=dict)  # user name -> core name, in control flow
    loops: int = 0   # how many loops enclose the statement being lowered
    branches: int = 0  # how many branches enclose it
    mutated: frozenset[str] = frozenset()  # user names assigned by index (`y[i] = v`)
    pinned: dict[str, str] = field(default_factory=dict)  # ... and their one core name each
    result: str | tuple[str, ...] | None = None  # the variable(s) every `return` assigns
    returned: str | None = None  # the flag a `return` inside a loop sets
    outer_block: int = -1  # the block the outermost loop being lowered goes into
    loop_returns: int = 0  # how many `return`s inside loops have been lowered
    break_flags: list = field(default_factory=list)  # per loop: the flag `break` sets, or None
    bound_at: dict[str, Origin] = field(default_factory=dict)  # `h = x`: where h was bound
    iterated: dict[str, int] = field(default_factory=dict)  # names enclosing loops iterate over


def gens_of(node: cst.CSTNode):
    """``node`` and the statements and blocks srcgrad made around the user's expressions."""
    yield node
    if isinstance(node, (cst.For, cst.If)):
        for child in node.body.body:
            yield from gens_of(child)
    elif isinstance(node, cst.SimpleStatementLine):
        yield from node.body
        for small in node.body:
            if isinstance(small, cst.Expr):
                yield small.value
                if isinstance(small.value, cst.Call):
                    yield small.value.func


def _statement_list(suite) -> list:
    if isinstance(suite, cst.SimpleStatementSuite):  # def f(x): return x * x
        return [cst.SimpleStatementLine(suite.body)]
    return list(suite.body) if isinstance(suite, cst.IndentedBlock) else [suite]


def _header(frame: Frame, node: cst.CSTNode) -> str:
    """The first line of a compound statement, as the user wrote it (``for t in range(n):``)."""
    if isinstance(node, cst.If):
        return f"if {_dotted(node.test)}:"
    if isinstance(node, cst.For):
        return f"for {_dotted(node.target)} in {_dotted(node.iter)}:"
    if isinstance(node, cst.While):
        return f"while {_dotted(node.test)}:"
    return frame.parsed.text(node)


def _name_of(target) -> str | None:
    return target.value if isinstance(target, cst.Name) else None


def _own_jumps(block):
    """The jumps of ``block`` that belong to its loop (not to a nested one)."""
    for node in block:
        if isinstance(node, Jump):
            yield node
        elif isinstance(node, If):
            yield from _own_jumps(node.body)
            yield from _own_jumps(node.orelse)


def _subscript_targets(node: cst.CSTNode) -> frozenset[str]:
    """The names a function body assigns by index (``y[i] = v``, ``y[i] += v``)."""
    names: set[str] = set()

    def add(target) -> None:
        if isinstance(target, cst.Subscript) and isinstance(target.value, cst.Name):
            names.add(target.value.value)
        elif isinstance(target, (cst.Tuple, cst.List)):
            for e in target.elements:
                add(e.value)

    class _Targets:
        def visit_Assign(self, n: cst.Assign) -> None:
            for t in n.targets:
                add(t.target)

        def visit_AugAssign(self, n: cst.AugAssign) -> None:
            add(n.target)

        def visit_FunctionDef(self, n) -> bool:
            return False

    visit(node, _Targets())
    return frozenset(names)


def _target_names(target: cst.BaseExpression, names: list[str] | None = None) -> list[str]:
    """The names an assignment target binds (``a``, ``a, (b, *c)``), in order."""
    names = [] if names is None else names
    if isinstance(target, cst.Name):
        if target.value not in names:
            names.append(target.value)
    elif isinstance(target, (cst.Tuple, cst.List)):
        for e in target.elements:
            _target_names(e.value, names)
    elif isinstance(target, cst.StarredElement):
        _target_names(target.value, names)
    return names


def _assigned_names(node: cst.CSTNode) -> list[str]:
    """The names a statement assigns, nested blocks included (not nested functions), in order."""
    names: list[str] = []

    def add(target) -> None:
        _target_names(target, names)

    class _Targets:
        def visit_Assign(self, n: cst.Assign) -> None:
            for t in n.targets:
                add(t.target)

        def visit_AnnAssign(self, n: cst.AnnAssign) -> None:
            add(n.target)

        def visit_AugAssign(self, n: cst.AugAssign) -> None:
            add(n.target)

        def visit_For(self, n: cst.For) -> None:
            add(n.target)

        def visit_Call(self, n: cst.Call) -> None:
            f = n.func
            if isinstance(f, cst.Attribute) and f.attr.value == "append" and isinstance(
                    f.value, cst.Name):
                add(f.value)

        def visit_FunctionDef(self, n) -> bool:
            return False

        def visit_Lambda(self, n) -> bool:
            return False

        def visit_ListComp(self, n) -> bool:
            return False

        visit_GeneratorExp = visit_SetComp = visit_DictComp = visit_ListComp

    visit(node, _Targets())
    return names


def _single_key(node: cst.Subscript, kind: type = str):
    """The index of ``node`` if it is one literal string (or int) key, else None."""
    if len(node.slice) == 1 and isinstance(node.slice[0].slice, cst.Index):
        value = node.slice[0].slice.value
        if kind is str and isinstance(value, cst.SimpleString):
            return value.evaluated_value
        if kind is int and isinstance(value, cst.Integer):
            return int(value.value)
        if kind is int and isinstance(value, cst.UnaryOperation) and isinstance(
                value.expression, cst.Integer):
            return -int(value.expression.value)
    return None


def _is_shape_attribute(node: cst.BaseExpression) -> bool:
    return isinstance(node, cst.Attribute) and node.attr.value == "shape"


#: Objects whose methods a differentiated function may call as written, on values that are
#: not differentiated (their results carry no derivative): random number generators.
_SERVICES = (np.random.Generator, np.random.RandomState, np.random.BitGenerator)


def _is_service(obj: Any) -> bool:
    return isinstance(obj, _SERVICES)


def _is_data(obj: Any) -> bool:
    """A value (array, number, tuple...) rather than a module, function, class or constant."""
    if obj is None or isinstance(obj, bool) or inspect.ismodule(obj) or callable(obj):
        return False
    if isinstance(obj, (logging.Logger, *_SERVICES)) or _is_index_builder(obj):
        return False  # objects of services: a logger, an rng
    return not isinstance(obj, (Var, Lit, Pack, Local, Obj, Method))


class _Missing:
    pass


_MISSING = _Missing()
_NOT_NONE = _Missing()   # known not to be None (an array an object holds), its value unknown
def _is_none(a: Atom) -> bool:
    return isinstance(a, Lit) and isinstance(a.node, cst.Name) and a.node.value == "None"


def _srcgrad_hook(obj: Any, name: str) -> Callable | None:
    """``obj.<name>`` for an object of srcgrad's own (a derivative, ``srcgrad.jvp``)."""
    owner = obj if inspect.isfunction(obj) else type(obj)
    if not (getattr(owner, "__module__", "") or "").startswith("srcgrad."):
        return None
    return getattr(obj, name, None)


def _opened(value: Any) -> Any:
    """A call's argument as an inline hook sees it: a literal tuple or list as a tuple of
    its items, a function or object as itself, any other value unchanged (opaque)."""
    if isinstance(value, Pack) and value.kind in ("tuple", "list"):
        return tuple(value.items)
    if isinstance(value, Ref):
        return value.obj
    return value


#: Libraries whose Python source is theirs, not code for srcgrad to read: a function of theirs
#: is differentiated only through a rule or a twin (srcgrad.twins), never by inlining it.
_LIBRARIES = frozenset({"numpy", "jax", "jaxlib", "srcgrad", "scipy", "sklearn", "pandas",
                        "torch", "tensorflow", "autograd", "numba", "cupy", "xarray",
                        "statsmodels", "matplotlib", "flax", "optax", "equinox"})


def _is_user_function(obj: Any) -> bool:
    fn_code = getattr(obj, "__code__", None)
    if fn_code is None or not inspect.isfunction(obj):
        return False
    module = getattr(obj, "__module__", "") or ""
    return module.split(".")[0] not in _LIBRARIES or module.startswith(
        ("srcgrad.nn", "srcgrad.twins"))  # layers, losses, twins: NumPy code, differentiated


_CONSTRUCTORS = ("zeros", "ones", "empty", "full", "arange", "eye", "identity", "linspace",
                 "zeros_like", "ones_like", "empty_like", "full_like")
_HELPER_RULES = frozenset(r.name for r in runtime.RULES)  # of generated code: lists stay lists
_LIST_RULES = {"append", "pop", "stack_list", "array_list", "sum_list", "getitem", "len", "assign"}
def _atom_key(a: Atom) -> tuple:
    return ("var", a.name) if isinstance(a, Var) else ("lit", code(a.node))


def _atom_node(a: Atom) -> cst.BaseExpression:
    """``a``'s expression, a fresh node for a variable (normalize keeps nodes by identity)."""
    return cst.Name(a.name) if isinstance(a, Var) else a.node


def _number_node(v: int | float) -> cst.BaseExpression:
    text = repr(v)
    if text in ("inf", "-inf", "nan"):
        return cst.parse_expression(f"float('{text}')")
    node = cst.parse_expression(text)
    return node


def _container_node(pack: Pack, nodes) -> cst.BaseExpression:
    if pack.kind == "dict":
        assert pack.keys is not None  # a dict's keys
        return cst.Dict([cst.DictElement(_number_or_string(k), v)
                         for k, v in zip(pack.keys, nodes, strict=True)])
    elements = [cst.Element(n) for n in nodes]
    if pack.kind == "list":
        return cst.List(elements)
    if len(elements) == 1:
        elements = [cst.Element(nodes[0], comma=cst.Comma())]
    return cst.Tuple(elements)


def _number_or_string(v) -> cst.BaseExpression:
    return cst.parse_expression(repr(v))


def _literal_value(node: cst.BaseExpression):
    try:
        return ast.literal_eval(cst.Module([]).code_for_node(node))
    except Exception as exc:
        raise ValueError("not a literal") from exc


def _describe(node: cst.CSTNode) -> str:
    names = {
        "IfExp": "a conditional expression (a if c else b)",
        "BooleanOperation": "`and`/`or`",
        "ListComp": "a list comprehension", "GeneratorExp": "a generator expression",
        "DictComp": "a dict comprehension", "SetComp": "a set comprehension",
        "NamedExpr": "the walrus operator (:=)", "Await": "`await`", "Yield": "`yield`",
        "Set": "a set literal",
    }
    return names.get(type(node).__name__, type(node).__name__)


_CODE_RUNNERS = (builtins.exec, builtins.eval, builtins.compile, builtins.__import__)
_HINTS = {
    "IfExp": "use np.where(c, a, b) for an elementwise choice",
    "BooleanOperation": "use np.logical_and / np.logical_or (or & and |) on arrays",
    "ListComp": "write the loop's items out, or use a vectorized numpy expression",
    "GeneratorExp": "use a vectorized numpy expression (np.sum over an axis)",
    "DictComp": "build the dict with a literal {...}",
    "SetComp": "use a list or an array",
    "NamedExpr": "assign the value on its own line",
    "Set": "use a tuple or a list",
}
def _op_text(op) -> str:
    return getattr(op, "_get_token", lambda: type(op).__name__)()


def _dotted(node: cst.BaseExpression) -> str:
    return cst.Module([]).code_for_node(node)


@functools.cache
def _signatures(primal, variadic: bool, nin: int):
    """A rule's primal parameters after ``xp``, and the signatures that bind a call's
    arguments to them: those after the operands (or all of them)."""
    params = list(inspect.signature(primal).parameters.values())[1:]
    rest = [p for p in params if p.kind is not p.VAR_POSITIONAL] if variadic else params[nin:]
    return params, inspect.Signature(rest), inspect.Signature(params)


_LOGGING = ("debug", "info", "warning", "error", "critical", "exception", "log")
_READ_ONLY = frozenset({builtins.print, builtins.repr, builtins.str, builtins.format,
                        builtins.id, builtins.type, builtins.isinstance, builtins.issubclass,
                        builtins.hasattr, builtins.callable, builtins.hash, warnings.warn,
                        builtins.list, builtins.tuple, builtins.dict, builtins.set,
                        builtins.frozenset, builtins.sorted, builtins.reversed,
                        builtins.enumerate, builtins.zip, builtins.range, builtins.bool,
                        builtins.int, builtins.float, builtins.complex,
                        *(getattr(logging, name) for name in _LOGGING)})


def _reads_only(obj: Any) -> bool:
    """Whether calling ``obj`` surely leaves its arguments unchanged (``print``, logging):
    such an opaque call may take differentiated values."""
    try:
        if obj in _READ_ONLY:
            return True
    except TypeError:  # unhashable
        return False
    owner = getattr(obj, "__self__", None)
    return isinstance(owner, logging.Logger) and getattr(obj, "__name__", "") in _LOGGING


_INDEX_BUILDERS = frozenset({"RClass", "CClass", "MGridClass", "OGridClass", "_Mgrid", "_Ogrid"})


def _is_index_builder(obj: Any) -> bool:
    """``np.r_``, ``np.c_``, ``np.mgrid``, ``np.ogrid`` (and jax.numpy's): objects whose
    indexing computes an array from the index's items (not ``np.s_``, which only spells an
    index)."""
    cls = type(obj)
    return cls.__name__ in _INDEX_BUILDERS and cls.__module__.split(".")[0] in ("numpy", "jax")


def _is_r_(obj: Any) -> bool:
    return type(obj).__name__ == "RClass" and _is_index_builder(obj)
