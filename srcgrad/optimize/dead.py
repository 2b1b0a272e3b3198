"""Dead code: ``eliminate`` drops statements whose value nothing reads, branch by branch
and loop by loop, knowing which tests hold where."""

from __future__ import annotations

from dataclasses import replace
from typing import cast

import libcst as cst

from srcgrad.build import call_receiver
from srcgrad.cstwalk import visit
from srcgrad.ir import Gen, GIf, GLoop, GNode, Program, gens
from srcgrad.optimize.walk import _node_reads, _node_writes, reads


def eliminate(p: Program) -> Program:
    """Drop statements whose targets are never read afterwards (effects stay); a loop body is
    live with what its next iteration reads."""
    live: set[str] = set()
    for r in p.returns:
        live |= set(reads(r))
    backward, live = _live_block(p.backward, live)
    forward, _ = _live_block(p.forward, live)
    return replace(p, forward=forward, backward=backward)


def _unread_pop(g: Gen, live: set[str]) -> list[Gen] | None:
    """``d_v = pop_grad(d_xs, v)`` (or an expression of it: ``d_a = d_a + pop_grad(d_xs, t)
    * w``) where ``d_v`` is never read: ``d_xs = drop_grad(d_xs)`` for each item it takes,
    which takes the item's slot off the list's adjoint all the same (a later ``pop_grad``
    reads the item before it)."""
    if g.target is None or g.target in live or g.index is not None:
        return None
    lists: list[cst.Name] = []

    class _Pops:
        def visit_Call(self, node: cst.Call) -> None:  # (in the order Python calls them)
            if isinstance(node.func, cst.Name) and node.func.value in ("pop_grad",
                                                                       "drop_grad") \
                    and node.args and isinstance(node.args[0].value, cst.Name):
                lists.append(node.args[0].value)

    visit(g.expr, _Pops())
    if not lists:
        return None
    return [replace(g, target=xs.value, expr=cst.Call(cst.Name("drop_grad"), [cst.Arg(xs)]))
            for xs in lists]


Tested = tuple[str, bool]  # a name and the truth an `if` tests it for


def _tested(test: cst.BaseExpression) -> Tested | None:
    """``c`` -> ``("c", True)``, ``not c`` -> ``("c", False)``; None for other tests."""
    if isinstance(test, cst.Name):
        return test.value, True
    if isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not) and \
            isinstance(test.expression, cst.Name):
        return test.expression.value, False
    return None


def _changes(node: GNode) -> set[str]:
    """Names ``node`` may bind or change (the lists it appends to or pops from)."""
    out = _node_writes(node)
    for g in gens((node,)):
        if g.effect:
            receiver = call_receiver(g.expr)
            if receiver:
                out.add(receiver)
    return out


def _assuming(conds: dict[str, frozenset[Tested]], lit: Tested) -> tuple[
        set[str], dict[str, frozenset[Tested]]]:
    """Where ``lit`` holds: the names live only where it does not (dead here), and the
    conditions left of the others (those it satisfies are live unconditionally)."""
    name, truth = lit
    dead: set[str] = set()
    left: dict[str, frozenset[Tested]] = {}
    for v, c in conds.items():
        if lit in c:
            continue
        rest = c - {(name, not truth)}
        if rest:
            left[v] = rest
        else:
            dead.add(v)
    return dead, left


def _live_block(block: tuple[GNode, ...], live: set[str]) -> tuple[tuple[GNode, ...], set[str]]:
    kept, live, _ = _live_within(block, live, {})
    return kept, live


def _live_within(block: tuple[GNode, ...], live: set[str], conds: dict[str, frozenset[Tested]]
                 ) -> tuple[tuple[GNode, ...], set[str], dict[str, frozenset[Tested]]]:
    """Liveness, backwards through ``block``. ``conds`` maps a live name read only under
    tests (the guards of adjoint code: ``if not cond:``) to those tests, any one of which may
    hold; a branch on one of them has the name dead on its other side."""
    kept: list[GNode] = []
    live = set(live)
    for node in reversed(block):
        if conds:  # a test reading a name changed here no longer tells what it tested
            changed = _changes(node)
            conds = {v: c for v, c in conds.items() if not any(n in changed for n, _ in c)}
        if isinstance(node, Gen):
            dropped = _unread_pop(node, live)
            if dropped is not None:  # the items' adjoints go unread: their slots still go
                for drop in reversed(dropped):  # (backwards, as the block is walked)
                    if drop.target in live:     # (a later pop reads the list's adjoint)
                        kept.append(drop)
                        conds.pop(drop.target, None)
                continue
            if node.effect or node.target is None or node.target in live:
                kept.append(node)
                if node.index is None and node.target is not None:  # (None: nothing to drop)
                    live.discard(node.target)
                    conds.pop(node.target, None)
                for n in _node_reads(node):
                    live.add(n)
                    conds.pop(n, None)
        elif isinstance(node, GIf):
            lit = _tested(node.test)
            if lit is not None and lit[0] in _changes(node):
                lit = None  # the sides change what was tested
            if lit is None:
                body, l1, c1 = _live_within(node.body, live, dict(conds))
                orelse, l2, c2 = _live_within(node.orelse, live, dict(conds))
            else:
                dead, c = _assuming(conds, lit)
                body, l1, c1 = _live_within(node.body, live - dead, c)
                dead, c = _assuming(conds, (lit[0], not lit[1]))
                orelse, l2, c2 = _live_within(node.orelse, live - dead, c)
            if body or orelse:
                kept.append(replace(node, body=body, orelse=orelse))
                merged: dict[str, frozenset[Tested] | None] = {}  # None: read unconditionally
                for side, cs, truth in ((l1, c1, True), (l2, c2, False)):
                    for v in side:
                        if lit is not None:
                            here: frozenset[Tested] | None = cs.get(
                                v, frozenset({(lit[0], lit[1] == truth)}))
                        else:
                            here = cs.get(v)
                        if here is None or merged.get(v, frozenset()) is None:
                            merged[v] = None
                        else:
                            merged[v] = cast(frozenset, merged.get(v, frozenset())) | here
                live = l1 | l2 | set(reads(node.test))
                conds = {v: c for v, c in merged.items() if c is not None and v in live
                         and not any((n, not t) in c for n, t in c)}
                for n in reads(node.test):
                    conds.pop(n, None)
        elif isinstance(node, GLoop):
            conds = {}  # a loop's iterations see other values: live unconditionally
            inner = live | set(reads(node.expr))
            while True:
                body, start = _live_block(node.body, inner)
                if start <= inner:
                    break
                inner |= start
            if body:
                kept.append(replace(node, body=body))
                live = inner
        else:
            kept.append(node)
    return tuple(reversed(kept)), live, conds
