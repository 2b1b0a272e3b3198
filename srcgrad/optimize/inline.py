"""Inlining: ``inline`` substitutes a temporary read once into its one use in the same
sweep, while the line stays short and nothing it reads is written in between."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace

from srcgrad.cstwalk import visit
from srcgrad.ir import Gen, GIf, GLoop, GNode, Program, gens
from srcgrad.naming import is_temporary
from srcgrad.optimize.walk import (
    MAX_LINE,
    _length,
    _node_reads,
    _node_writes,
    _Substitute,
    mutated,
    reads,
    remember,
)


def inline(p: Program, user_names: frozenset[str]) -> Program:
    """Substitute temporaries read exactly once, later in the same block of the same sweep,
    into that read."""
    counts: Counter[str] = Counter()
    assigned: Counter[str] = Counter()
    for node in (*p.forward, *p.backward):
        counts.update(_node_reads(node))
    for g in (*gens(p.forward), *gens(p.backward)):
        if g.target:
            assigned[g.target] += 1
    for node in (*p.forward, *p.backward):
        if isinstance(node, GLoop) and node.target:
            assigned[node.target] += 1
    for r in p.returns:
        counts.update(reads(r))
    forward = _inline_block(list(p.forward), counts, assigned, user_names)
    backward = _inline_block(list(p.backward), counts, assigned, user_names)
    return replace(p, forward=tuple(forward), backward=tuple(backward))


def _inline_block(stmts: list[GNode], counts, assigned, user_names) -> list[GNode]:
    for k, node in enumerate(stmts):
        if isinstance(node, GIf):
            stmts[k] = replace(node, body=tuple(_inline_block(list(node.body), counts, assigned,
                                                              user_names)),
                               orelse=tuple(_inline_block(list(node.orelse), counts, assigned,
                                                          user_names)))
        elif isinstance(node, GLoop):
            stmts[k] = replace(node, body=tuple(_inline_block(list(node.body), counts,
                                                              assigned, user_names)))
    i = 0
    while i < len(stmts):
        g = stmts[i]
        name = g.target if isinstance(g, Gen) else None
        if (not isinstance(g, Gen) or name is None or g.effect or g.pair  # (a pop stays)
                or not is_temporary(name, adjoint=True) or name in user_names
                or counts[name] != 1 or assigned[name] != 1):
            i += 1
            continue
        read = set(reads(g.expr))
        changes = mutated(g.expr)  # pop_grad(d_xs, v) takes d_xs's last item: it keeps its
        j = next((k for k in range(i + 1, len(stmts)) if name in _node_reads(stmts[k])), None)
        if j is None or not isinstance(target := stmts[j], (Gen, GIf)) or (  # place among
                isinstance(target, Gen) and target.index is not None        # the reads of d_xs
                and name in reads(target.index)) or any(
                _node_writes(s) & read or changes and changes & set(_node_reads(s))
                for s in stmts[i + 1:j]) or (
                isinstance(target, Gen) and target.target in read) or (
                changes and changes & (set(_node_reads(target)) | _node_writes(target))):
            i += 1
            continue
        swap = _Substitute({name: g.expr})
        if isinstance(target, GIf):
            if name not in reads(target.test):
                i += 1
                continue
            stmts[j] = replace(target, test=visit(target.test, swap))
        else:
            # the one read of `name` becomes the expression (in parentheses if compound)
            length = _length(target.expr) - len(name) + _length(swap.exprs[name])
            if length + len(target.target or "") > MAX_LINE:
                i += 1
                continue
            new = visit(target.expr, swap)
            remember("lengths", new, length)
            stmts[j] = replace(target, expr=new)
        del stmts[i]
    return stmts
