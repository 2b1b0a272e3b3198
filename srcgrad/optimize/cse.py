"""Common subexpressions: ``common_subexpressions`` computes a repeated pure expression once,
while nothing it reads is assigned between the two."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace

import libcst as cst

from srcgrad.build import call_receiver
from srcgrad.cstwalk import ident, visit
from srcgrad.ir import Gen, GIf, GLoop, GNode, Program, gens
from srcgrad.optimize.tidy import tidy
from srcgrad.optimize.walk import _MEMO, _map_exprs, _Substitute, reads
from srcgrad.printer import code

_PURE_HELPERS = frozenset({"unbroadcast", "broadcast_like", "unreduce", "matmul_grad_a",
                           "matmul_grad_b", "reduced_count", "keep"})


def _key(node: cst.CSTNode, alias: str) -> tuple[object, bool]:
    """What ``node`` computes, as a hashable structure (equal for equal expressions however
    they are parenthesized), and whether it is pure: its calls are of the array module's
    functions (``np.tanh``) or of helpers that make new values. Memoized while optimizing."""
    memo = _MEMO.get()
    if memo is not None:
        hit = memo.keys.get(id(node))
        if hit is not None and hit[0] is node:
            return hit[1]
    key = _computed_key(node, alias)
    if memo is not None:
        memo.keys[id(node)] = (node, key)
    return key


def _computed_key(node: cst.CSTNode, alias: str) -> tuple[object, bool]:
    t = type(node)
    key: object
    pure = True
    if type(node) is cst.Name or type(node) is cst.Integer or type(node) is cst.Float or \
            type(node) is cst.SimpleString:
        key = (t, node.value)
    elif type(node) is cst.BinaryOperation:
        (left, p1), (right, p2) = _key(node.left, alias), _key(node.right, alias)
        key, pure = (t, type(node.operator), left, right), p1 and p2
    elif type(node) is cst.UnaryOperation:
        inner, pure = _key(node.expression, alias)
        key = (t, type(node.operator), inner)
    elif type(node) is cst.Attribute:
        inner, pure = _key(node.value, alias)
        key = (t, inner, node.attr.value)
    elif type(node) is cst.Call:
        f = node.func
        pure = (isinstance(f, cst.Attribute) and isinstance(f.value, cst.Name)
                and f.value.value == alias) or (isinstance(f, cst.Name)
                                                and f.value in _PURE_HELPERS)
        parts = []
        for a in node.args:
            k, p = _key(a.value, alias)
            parts.append((a.star, a.keyword.value if a.keyword else None, k))
            pure = pure and p
        key = (t, _key(f, alias)[0], tuple(parts))
    elif type(node) is cst.Subscript:
        inner, pure = _key(node.value, alias)
        slices = [_key(e.slice, alias) for e in node.slice]
        key, pure = (t, inner, tuple(k for k, _ in slices)), pure and all(p for _, p in slices)
    elif type(node) is cst.Index:
        inner, pure = _key(node.value, alias)
        key = (t, node.star, inner)
    else:  # rarer nodes (slices, tuples, comparisons): by their text, never merged
        key, pure = (t, code(tidy(node))), False
    return key, pure


def common_subexpressions(p: Program, alias: str = "np") -> Program:
    """A pure expression computed again in the same block, with none of the names it reads
    (nor the first result's name) assigned in between, becomes a copy of the first result,
    which ``coalesce`` then removes (``out_dot = 1 - t2`` after ``out_dot_3 = 1 - t2``).
    Arrays updated in place, their values, and calls of anything but array functions and
    value-making helpers are left alone."""
    mutated: set[str] = set()
    for g in (*gens(p.forward), *gens(p.backward)):
        if g.index is not None or g.effect:
            mutated.add(g.target or "")
        e = g.expr
        if isinstance(e, cst.Call) and e.args and isinstance(e.args[0].value, cst.Name) and (
                isinstance(e.func, cst.Name) and e.func.value in _IN_PLACE):
            mutated.add(e.args[0].value.value)  # add_at(d_h, ...) may update d_h in place
        receiver = call_receiver(e)
        if receiver is not None:
            mutated.add(receiver)     # xs.append(v), saved.pop()

    merged: dict[str, str] = {}  # the second holder of a value -> the first

    def block(nodes: tuple[GNode, ...]) -> tuple[GNode, ...]:
        seen: dict[object, str] = {}          # what a pure expression computes -> its holder
        stale: dict[str, list[object]] = {}   # a name -> the entries its assignment ends
        out: list[GNode] = []
        for node in nodes:
            if not isinstance(node, Gen):  # names a branch or loop assigns are not tracked
                seen.clear()
                stale.clear()
                if isinstance(node, GIf):
                    node = replace(node, body=block(node.body), orelse=block(node.orelse))
                elif isinstance(node, GLoop):
                    node = replace(node, body=block(node.body))
                out.append(node)
                continue
            t = node.target
            for k in stale.pop(t, ()) if t else ():
                seen.pop(k, None)
            if t and node.index is None and not node.effect and not node.pair and \
                    t not in mutated and not isinstance(node.expr, (cst.Name, cst.Integer,
                                                                    cst.Float)):
                key, pure = _key(node.expr, alias)
                first = seen.get(key)
                if first is not None:
                    node = replace(node, expr=ident(first))
                    merged[t] = first
                elif pure:
                    names = reads(node.expr).keys()
                    if t not in names and not (names & mutated):
                        seen[key] = t
                        for n in (t, *names):
                            stale.setdefault(n, []).append(key)
            out.append(node)
        return tuple(out)

    p = replace(p, forward=block(p.forward), backward=block(p.backward))
    # names assigned once (straight-line values): the second one's readers read the first
    assigned = Counter(g.target for g in (*gens(p.forward), *gens(p.backward)))
    for node in (*p.forward, *p.backward):
        if isinstance(node, GLoop) and node.target:
            assigned[node.target] += 1
    same = {a: b for a, b in merged.items() if assigned[a] == 1 and assigned[b] == 1}
    if not same:
        return p
    swap = _Substitute({a: ident(b) for a, b in same.items()})

    def substituted(e: cst.BaseExpression) -> cst.BaseExpression:
        return visit(e, swap) if same.keys() & reads(e).keys() else e

    p = _map_exprs(p, substituted)
    return replace(p, forward=_drop(p.forward, same), backward=_drop(p.backward, same))


def _drop(nodes: tuple[GNode, ...], names: dict[str, str]) -> tuple[GNode, ...]:
    """``nodes`` without the copies ``a = b`` of ``names`` (nothing reads ``a`` now)."""
    out: list[GNode] = []
    for node in nodes:
        if isinstance(node, Gen) and node.target in names and isinstance(node.expr, cst.Name):
            continue
        if isinstance(node, GIf):
            node = replace(node, body=_drop(node.body, names), orelse=_drop(node.orelse, names))
        elif isinstance(node, GLoop):
            node = replace(node, body=_drop(node.body, names))
        out.append(node)
    return tuple(out)


_IN_PLACE = frozenset({"add_at", "zero_at", "set_at"})
