"""What the passes share: names read and written by expressions and blocks, mapping a
function over a program's expressions, substitution of names, and the per-call memo."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from typing import Any, TypeGuard, TypeVar

import libcst as cst

from srcgrad.cstwalk import ident, visit
from srcgrad.ir import Gen, GIf, GLoop, GNode, Program, gens
from srcgrad.printer import code
from srcgrad.template import grouped

N = TypeVar("N")
V = TypeVar("V")


@dataclass
class Memo:
    """What the passes computed per node during one :func:`~srcgrad.optimize.optimize` call,
    by table (``reads``, ``lengths``, ``keys``), keyed by the node's id. Each entry holds its
    node, and ``keep`` holds the expressions simplified, so that no id is reused while the
    memo lives."""

    reads: dict[int, tuple[object, Any]] = field(default_factory=dict)
    lengths: dict[int, tuple[object, Any]] = field(default_factory=dict)
    keys: dict[int, tuple[object, Any]] = field(default_factory=dict)
    keep: list[object] = field(default_factory=list)


_MEMO: ContextVar[Memo | None] = ContextVar("srcgrad_optimize_memo", default=None)


@contextmanager
def memoized() -> Iterator[Memo]:
    """A fresh memo for the passes run inside the ``with`` block (this thread's, this
    call's: concurrent optimizations never share one)."""
    memo = Memo()
    token = _MEMO.set(memo)
    try:
        yield memo
    finally:
        _MEMO.reset(token)


def remembered(table: str, node: N, compute: Callable[[N], V]) -> V:
    """``compute(node)``, memoized in ``table`` of the current memo (computed afresh where
    no optimization is running)."""
    memo = _MEMO.get()
    if memo is None:
        return compute(node)
    entries = getattr(memo, table)
    hit = entries.get(id(node))
    if hit is not None and hit[0] is node:
        return hit[1]
    value = compute(node)
    entries[id(node)] = (node, value)
    return value


def remember(table: str, node: object, value: object) -> None:
    """Record ``value`` for ``node`` in ``table`` of the current memo, if any."""
    memo = _MEMO.get()
    if memo is not None:
        getattr(memo, table)[id(node)] = (node, value)

MAX_LINE = 84  # inlining stops before a statement grows past this many characters


@dataclass(frozen=True)
class Facts:
    """What the analyses know about names: ``scalars`` hold scalars; ``shape_class`` maps a
    variable to a representative of the variables with its shape and dtype."""

    scalars: frozenset[str] = frozenset()
    shape_class: Callable[[str], str] = str
    alias: str = "np"   # the array module's name in generated code


def _is_copy(expr: cst.BaseExpression) -> TypeGuard[cst.Call]:
    """``np.array(x, copy=True)``: a new array."""
    return (isinstance(expr, cst.Call) and isinstance(expr.func, cst.Attribute)
            and expr.func.attr.value == "array" and len(expr.args) == 2
            and expr.args[1].keyword is not None and expr.args[1].keyword.value == "copy")


def _is_copy_of(expr: cst.BaseExpression, name: str | None) -> bool:
    """``np.array(name, copy=True)``."""
    return _is_copy(expr) and isinstance(expr.args[0].value, cst.Name) and \
        expr.args[0].value.value == name




def _signature(p: Program) -> tuple:
    return tuple((g.target, id(g.expr)) for g in (*gens(p.forward), *gens(p.backward)))


def _map_exprs(p: Program, f) -> Program:
    return replace(p, forward=_map_block(p.forward, f), backward=_map_block(p.backward, f),
                   returns=tuple(f(r) for r in p.returns))


def _map_block(block: tuple[GNode, ...], f) -> tuple[GNode, ...]:
    out: list[GNode] = []
    for node in block:
        if isinstance(node, Gen):
            new = f(node.expr)
            out.append(node if new is node.expr else replace(node, expr=new))
            if node.index is not None:
                out[-1] = replace(out[-1], index=f(node.index))
        elif isinstance(node, GIf):
            out.append(replace(node, test=f(node.test), body=_map_block(node.body, f),
                               orelse=_map_block(node.orelse, f)))
        elif isinstance(node, GLoop):
            out.append(replace(node, expr=f(node.expr), body=_map_block(node.body, f)))
        else:
            out.append(node)
    return tuple(out)


def _node_reads(node: GNode) -> Counter[str]:
    """Names read anywhere in ``node`` (its nested blocks included; memoized while
    optimizing)."""
    if isinstance(node, Gen) and node.index is None:
        return reads(node.expr)
    return remembered("reads", node, _reads_of)


def _reads_of(node: GNode) -> Counter[str]:
    if isinstance(node, Gen):  # y[i] = v reads y, i and v
        assert node.index is not None and node.target is not None  # (_node_reads: the others)
        return reads(node.expr) + reads(node.index) + Counter([node.target])
    total: Counter[str] = Counter()
    if isinstance(node, GIf):
        total.update(reads(node.test))
        for n in (*node.body, *node.orelse):
            total.update(_node_reads(n))
    elif isinstance(node, GLoop):
        total.update(reads(node.expr))
        for n in node.body:
            total.update(_node_reads(n))
    return total


#: Helpers of generated code that change their first argument in place (an adjoint list's
#: items popped, an adjoint array added into): a call of one writes that argument.
MUTATING = frozenset({"pop_grad", "drop_grad", "add_at", "set_at", "zero_at", "list_append",
                      "list_pop"})


def mutated(expr: cst.CSTNode) -> set[str]:
    """The names ``expr`` changes in place: the first arguments of its calls of
    :data:`MUTATING` helpers."""
    out: set[str] = set()
    if MUTATING.isdisjoint(reads(expr)):  # (memoized: most expressions call none of them)
        return out

    class _Calls:
        def visit_Call(self, node: cst.Call) -> None:
            if isinstance(node.func, cst.Name) and node.func.value in MUTATING and node.args \
                    and isinstance(node.args[0].value, cst.Name):
                out.add(node.args[0].value.value)

    visit(expr, _Calls())
    return out


def _node_writes(node: GNode) -> set[str]:
    """Names assigned or changed in place anywhere in ``node``."""
    if isinstance(node, Gen):
        out = mutated(node.expr)
        if node.target:
            out.add(node.target)
        return out
    out = set()
    if isinstance(node, GLoop) and node.target:
        out.add(node.target)
    for g in gens((node,)):
        if g.target:
            out.add(g.target)
        out |= mutated(g.expr)
    return out


class _Reads:
    def __init__(self) -> None:
        self.names: Counter[str] = Counter()

    def visit_Name(self, node: cst.Name) -> None:
        self.names[node.value] += 1

    def visit_Integer(self, node: cst.Integer) -> None:
        self.names[_FOLDABLE] += 1

    visit_Float = visit_Integer
    visit_UnaryOperation = visit_Integer


_FOLDABLE = "#foldable"  # not a name: marks number literals and unary operators (see fold)


def reads(expr: cst.CSTNode) -> Counter[str]:
    """How often each name is read in ``expr`` (memoized while optimizing)."""
    memo = _MEMO.get()  # (remembered's work, written out: this is the passes' hottest call)
    if memo is not None:
        hit = memo.reads.get(id(expr))
        if hit is not None and hit[0] is expr:
            return hit[1]
    names = _names_read(expr)
    if memo is not None:
        memo.reads[id(expr)] = (expr, names)
    return names


def _names_read(expr: cst.CSTNode) -> Counter[str]:
    v = _Reads()
    visit(expr, v)
    return v.names


class _Substitute:
    """Replace names by expressions (compound ones parenthesized); the names of attributes
    (``np.sum``) and of keyword arguments (``axis=``) are not variables and stay."""

    def __init__(self, exprs: dict[str, cst.BaseExpression]):
        super().__init__()
        self.exprs = {k: grouped(e) for k, e in exprs.items()}

    def leave_Name(self, original: cst.Name, updated: cst.Name):
        return self.exprs.get(updated.value, updated)


def _length(expr: cst.CSTNode) -> int:
    """The length of ``expr``'s code (memoized while optimizing)."""
    return remembered("lengths", expr, lambda e: len(code(e)))


def _rename(old: str, new: str) -> _Substitute:
    return _Substitute({old: ident(new)})
