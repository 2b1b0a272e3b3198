"""Copies: ``coalesce`` removes ``a = b`` by renaming, ``propagate_constants`` substitutes
names bound to literals, ``drop_fresh_copies`` drops copies of values that are new already."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from typing import cast

import libcst as cst

from srcgrad.cstwalk import visit
from srcgrad.ir import Gen, GIf, GLoop, GNode, Program, gens
from srcgrad.naming import is_temporary
from srcgrad.optimize.fold import _number
from srcgrad.optimize.walk import (
    _is_copy,
    _is_copy_of,
    _map_block,
    _node_reads,
    _node_writes,
    _rename,
    _Substitute,
    reads,
)


def drop_fresh_copies(p: Program) -> Program:
    """Copies that copy nothing: ``y = x * 2.0`` then ``y = np.array(y, copy=True)`` (the
    product is new already), and ``h = h`` (a value given back to its own variable, as a
    ``grad_hook`` does)."""
    def block(nodes: tuple[GNode, ...]) -> tuple[GNode, ...]:
        out: list[GNode] = []
        for node in nodes:
            if isinstance(node, GIf):
                node = replace(node, body=block(node.body), orelse=block(node.orelse))
            elif isinstance(node, GLoop):
                node = replace(node, body=block(node.body))
            elif isinstance(node, Gen) and node.index is None and not node.effect and \
                    isinstance(node.expr, cst.Name) and node.expr.value == node.target:
                continue
            prev = out[-1] if out else None
            if isinstance(node, Gen) and isinstance(prev, Gen) and prev.target == node.target \
                    and prev.index is None and _is_copy_of(node.expr, node.target) and (
                        isinstance(prev.expr, (cst.BinaryOperation, cst.UnaryOperation))
                        or _is_copy(prev.expr)):
                continue
            out.append(node)
        return tuple(out)

    return replace(p, forward=block(p.forward), backward=block(p.backward))


def propagate_constants(p: Program) -> Program:
    """Adjoints that are numbers (the seed ``d_out = 1.0``) are written where they are read."""
    assigned = Counter(g.target for g in gens(p.backward))
    constants = {g.target: g.expr for g in p.backward if isinstance(g, Gen)
                 and g.target is not None and assigned[g.target] == 1
                 and _number(g.expr) is not None}
    if not constants:
        return p
    swap = _Substitute(constants)

    def substituted(e: cst.BaseExpression) -> cst.BaseExpression:
        return visit(e, swap) if constants.keys() & reads(e).keys() else e

    backward = tuple(g for g in _map_block(p.backward, substituted)
                     if not (isinstance(g, Gen) and g.target in constants))
    return replace(p, backward=backward, returns=tuple(map(substituted, p.returns)))


def coalesce(p: Program) -> Program:
    """Remove copies ``a = b``: a temporary ``a`` is replaced by ``b`` where it is read;
    otherwise ``b`` takes the name ``a`` from its definition on, if ``b`` is not read later.
    Both sweeps are one sequence here, since the backward sweep reads forward values. Names
    that appear in a branch or loop are left alone."""
    structured: set[str] = set()
    for node in (*p.forward, *p.backward):
        if not isinstance(node, Gen) or node.index is not None:
            structured |= set(_node_reads(node)) | _node_writes(node)
    stmts = [*p.forward, *p.backward]
    boundary = len(p.forward)
    writes = Counter(s.target for s in stmts if isinstance(s, Gen) and s.target)
    targets = [s.target if isinstance(s, Gen) else None for s in stmts]  # kept in step
    i = 0
    while i < len(stmts):
        if _coalesce_at(stmts, i, p.returns, structured, writes, targets):
            if i < boundary:
                boundary -= 1
        else:
            i += 1
    return replace(p, forward=tuple(stmts[:boundary]), backward=tuple(stmts[boundary:]))


def _coalesce_at(stmts: list[GNode], i: int, returns, structured: set[str],
                 writes: Counter[str], targets: list[str | None]) -> bool:
    g = stmts[i]
    if not isinstance(g, Gen) or g.target is None or not isinstance(g.expr, cst.Name) or \
            g.effect or g.pair:
        return False
    a, b = g.target, g.expr.value
    if a in structured or b in structured:
        return False
    # branches and loops after it do not read a or b (structured): only statements matter
    later = (s for s in stmts[i + 1:] if isinstance(s, Gen))
    # each assigned once (a here, b before it): neither is assigned later, no need to look
    once = writes[a] == 1 and writes[b] <= 1
    if is_temporary(a, adjoint=True) and (once or not any(
            s.target in (a, b) for s in later)) and not any(a in reads(r) for r in returns):
        rename = _rename(a, b)
        for k in range(i + 1, len(stmts)):
            s = stmts[k]
            if isinstance(s, Gen) and a in reads(s.expr):
                stmts[k] = replace(s, expr=visit(s.expr, rename))
        del stmts[i]
        del targets[i]
        writes[a] -= 1
        return True
    if not writes[b]:  # a parameter, or a name assigned in a branch or loop: not here
        return False
    try:
        first = targets.index(b, 0, i)  # b's first definition
    except ValueError:
        return False
    later = (s for s in stmts[i + 1:] if isinstance(s, Gen))
    span = [k for k in range(first, i) if isinstance(stmts[k], Gen)]
    if any(s.target == a or a in reads(s.expr) for s in (cast(Gen, stmts[k]) for k in span)):
        return False
    if any(b in reads(s.expr) or s.target == b for s in later) or any(
            b in reads(r) for r in returns):
        return False
    rename = _rename(b, a)
    for k in span:
        s = stmts[k]
        assert isinstance(s, Gen)  # (span)
        if s.target == b:
            writes[b] -= 1
            writes[a] += 1
            targets[k] = a
        stmts[k] = replace(s, target=a if s.target == b else s.target,
                           expr=visit(s.expr, rename) if b in reads(s.expr) else s.expr)
    del stmts[i]
    del targets[i]
    writes[a] -= 1
    return True
