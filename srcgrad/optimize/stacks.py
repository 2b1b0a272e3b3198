"""The stacks of saved values: pushes nothing pops are pruned, lists nothing reads are
dropped, a read of the last item and its pop become one pop, and saves of one value merge."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from typing import cast

import libcst as cst

from srcgrad.build import call_of, call_receiver, method_call
from srcgrad.ir import Gen, GIf, GLoop, GNode, Program, gens
from srcgrad.optimize.cse import _key
from srcgrad.optimize.walk import _node_reads, _node_writes, reads


def prune_pushes(p: Program) -> Program:
    """Drop the pushes of saved values whose pops were dropped (nothing reads them)."""
    popped = {g.pair for g in gens(p.backward) if g.pair and g.target}
    pushed = {g.pair for g in gens(p.forward) if g.pair and not g.target}
    if pushed <= popped:
        return p

    def keep(block: tuple[GNode, ...]) -> tuple[GNode, ...]:
        out: list[GNode] = []
        for node in block:
            if isinstance(node, Gen):
                if not (node.pair and not node.target and node.pair not in popped):
                    out.append(node)
            elif isinstance(node, GIf):
                out.append(replace(node, body=keep(node.body), orelse=keep(node.orelse)))
            elif isinstance(node, GLoop):
                out.append(replace(node, body=keep(node.body)))
            else:
                out.append(node)
        return tuple(out)

    return replace(p, forward=keep(p.forward))


def _list_method(g: GNode) -> tuple[str, str] | None:
    """``(xs, "append")`` for the statement ``xs.append(v)`` (or ``xs.pop()``)."""
    if not (isinstance(g, Gen) and g.effect and g.index is None):
        return None
    receiver = call_receiver(g.expr)
    if receiver is None or g.target not in (None, receiver):
        return None
    assert isinstance(g.expr, cst.Call) and isinstance(g.expr.func, cst.Attribute)  # (receiver)
    method = g.expr.func.attr.value
    return (receiver, method) if method in ("append", "pop") else None


def drop_unread_lists(p: Program) -> Program:
    """Lists only ever appended to and popped from, never read (the stack of a tangent that
    nothing reads, in the derivative of gradient code): those appends and pops go."""
    ops: Counter[str] = Counter()
    for g in gens(p.forward + p.backward):
        found = _list_method(g)
        if found is not None:
            ops[found[0]] += 1
    if not ops:
        return p
    uses: Counter[str] = Counter()
    for node in p.forward + p.backward:
        uses.update(_node_reads(node))
    for r in p.returns:
        uses.update(reads(r))
    unread = {name for name, k in ops.items() if uses[name] == k}
    if not unread:
        return p

    def keep(block: tuple[GNode, ...]) -> tuple[GNode, ...]:
        out: list[GNode] = []
        for node in block:
            found = _list_method(node)
            if found is not None and found[0] in unread:
                continue
            if isinstance(node, GIf):
                node = replace(node, body=keep(node.body), orelse=keep(node.orelse))
            elif isinstance(node, GLoop):
                node = replace(node, body=keep(node.body))
            out.append(node)
        return tuple(out)

    return replace(p, forward=keep(p.forward), backward=keep(p.backward))


def fuse_pops(p: Program) -> Program:
    """``v = xs[-1]``, then ``xs.pop()`` with nothing using ``xs`` between: ``v = xs.pop()``.
    Run last, on tidied code: the read becomes a statement no other pass may move."""
    def block(nodes: tuple[GNode, ...]) -> tuple[GNode, ...]:
        out = list(nodes)
        for i, g in enumerate(out):
            if isinstance(g, GIf):
                out[i] = replace(g, body=block(g.body), orelse=block(g.orelse))
            elif isinstance(g, GLoop):
                out[i] = replace(g, body=block(g.body))
        i = 0
        while i < len(out):
            g = out[i]
            lst = _last_item_of(g.expr) if isinstance(g, Gen) and g.index is None and \
                g.target and not g.effect else None
            if lst is not None and isinstance(g, Gen) and lst != g.target:  # (lst: g is a Gen)
                k = next((k for k in range(i + 1, len(out)) if lst in _node_reads(out[k])
                          or lst in _node_writes(out[k])), None)
                if k is not None and _list_method(out[k]) == (lst, "pop") and \
                        not cast(cst.Call, cast(Gen, out[k]).expr).args:  # (a pop)
                    out[i] = replace(g, expr=method_call(lst, "pop"))
                    del out[k]
            i += 1
        return tuple(out)

    return replace(p, forward=block(p.forward), backward=block(p.backward))


def _last_item_of(expr: cst.BaseExpression) -> str | None:
    """``xs`` for ``xs[-1]``."""
    if isinstance(expr, cst.Subscript) and isinstance(expr.value, cst.Name) and \
            len(expr.slice) == 1 and isinstance(expr.slice[0].slice, cst.Index):
        index = expr.slice[0].slice.value
        if isinstance(index, cst.UnaryOperation) and isinstance(index.operator, cst.Minus) \
                and isinstance(index.expression, cst.Integer) and \
                index.expression.value == "1":
            return expr.value.value
    return None


def merge_saves(p: Program) -> Program:
    """A value pushed twice in a row (two adjoint statements read it) is pushed once: of the
    two pops, the one the backward sweep runs first stays, and the second, which would take
    back the same value into the same name, goes with the other push."""
    pushes: dict[int, tuple[tuple[GNode, ...], int]] = {}  # pair -> (its block, position)
    pops: dict[int, tuple[tuple[GNode, ...], int]] = {}

    def index(block: tuple[GNode, ...], into: dict) -> None:
        for k, node in enumerate(block):
            if isinstance(node, Gen) and node.pair:
                into[node.pair] = (block, k)
            elif isinstance(node, GIf):
                index(node.body, into)
                index(node.orelse, into)
            elif isinstance(node, GLoop):
                index(node.body, into)

    index(p.forward, pushes)
    index(p.backward, pops)
    drop: set[int] = set()      # pairs whose push goes
    gone_pops: set[int] = set()  # pairs whose pop goes
    repaired: dict[int, int] = {}  # the kept pop -> the pair of the kept push
    used: set[int] = set()  # pairs merged this round (a run of three merges over rounds)
    for pair, (block, k) in pushes.items():
        if pair in used:
            continue
        first = block[k]
        assert isinstance(first, Gen)
        stack = call_receiver(first.expr)
        for later in block[k + 1:]:
            if not isinstance(later, Gen):
                break
            if later.pair and not later.target and call_receiver(later.expr) == stack:
                if _key(later.expr, "")[0] != _key(first.expr, "")[0] or later.pair in used:
                    break
                # `later` is popped first: its pop takes the value back; the pop of `first`
                # runs after it and may go if nothing between the two pops writes the name
                if pair in pops and later.pair in pops:
                    (b1, i1), (b2, i2) = pops[later.pair], pops[pair]
                    name = cast(Gen, b1[i1]).target  # (index: the Gens of pairs)
                    if b1 is b2 and i1 < i2 and cast(Gen, b2[i2]).target == name and not any(
                            name in _node_writes(n) for n in b1[i1 + 1:i2]):
                        drop.add(later.pair)
                        gone_pops.add(pair)
                        repaired[later.pair] = pair
                        used |= {pair, later.pair}
                break
            if later.target and later.target in reads(first.expr):
                break
    if not drop:
        return p

    def keep(block: tuple[GNode, ...], pushes_: bool) -> tuple[GNode, ...]:
        out: list[GNode] = []
        for node in block:
            if isinstance(node, Gen) and node.pair and (
                    (pushes_ and not node.target and node.pair in drop) or
                    (not pushes_ and node.target and node.pair in gone_pops)):
                continue
            if isinstance(node, Gen) and not pushes_ and node.target and node.pair in repaired:
                node = replace(node, pair=repaired[node.pair])
            if isinstance(node, GIf):
                node = replace(node, body=keep(node.body, pushes_),
                               orelse=keep(node.orelse, pushes_))
            elif isinstance(node, GLoop):
                node = replace(node, body=keep(node.body, pushes_))
            out.append(node)
        return tuple(out)

    # the kept pop of `later` now takes back the value `first` pushed: same value, same name
    return replace(p, forward=keep(p.forward, True), backward=keep(p.backward, False))


#: Helpers that read only the shape and dtype of one argument (by position): a value the
#: backward sweep reads only there is saved as its shape (``like``), not kept alive whole.
_SHAPE_ONLY = {"unbroadcast": 1, "unreduce": 1, "broadcast_like": 1, "keep": 1,
               "reduced_count": 0}


def _value_reads(node: cst.CSTNode, into: set[str]) -> None:
    """The names ``node`` reads as values (a read only for its shape does not count)."""
    if isinstance(node, cst.Name):
        into.add(node.value)
        return
    if isinstance(node, cst.Call) and isinstance(node.func, cst.Name) and \
            node.func.value in _SHAPE_ONLY:
        k = _SHAPE_ONLY[node.func.value]
        for i, arg in enumerate(node.args):
            if not (i == k and arg.keyword is None and isinstance(arg.value, cst.Name)):
                _value_reads(arg.value, into)
        return
    for child in node.children:
        _value_reads(child, into)


def save_shapes(p: Program) -> Program:
    """A saved value the backward sweep reads only for its shape (``unbroadcast(d_t4, t4)``)
    is saved as ``like(t4)``, its shape and dtype: the array itself is not kept alive."""
    pops: dict[str, set[int]] = {}   # name -> the pairs whose pops assign it
    other: set[str] = set()          # names the backward sweep assigns otherwise
    for g in gens(p.backward):
        if g.target:
            (pops.setdefault(g.target, set()).add(g.pair) if g.pair else other.add(g.target))
    popped = set(pops) - other
    if not popped:   # straight-line code saves nothing
        return p
    values: set[str] = set()

    def read(e: cst.CSTNode | None) -> None:
        if e is not None and not popped.isdisjoint(reads(e)):   # (most read none of them)
            _value_reads(e, values)

    def walk(block: tuple[GNode, ...]) -> None:
        for node in block:
            if isinstance(node, Gen):
                read(node.expr)
                read(node.index)
            elif isinstance(node, GIf):
                read(node.test)
                walk(node.body)
                walk(node.orelse)
            elif isinstance(node, GLoop):
                read(node.expr)
                walk(node.body)

    walk(p.backward)
    for r in p.returns:
        read(r)
    shaped = {pair for name in popped - values for pair in pops[name]}
    if not shaped:
        return p

    def block(nodes: tuple[GNode, ...]) -> tuple[GNode, ...]:
        out: list[GNode] = []
        for node in nodes:
            if isinstance(node, Gen) and node.pair in shaped and not node.target:
                stack = call_receiver(node.expr)
                saved = cast(cst.Call, node.expr).args[0].value
                out.append(replace(node, expr=method_call(cast(str, stack), "append",
                                                          call_of("like", saved))))
            elif isinstance(node, GIf):
                out.append(replace(node, body=block(node.body), orelse=block(node.orelse)))
            elif isinstance(node, GLoop):
                out.append(replace(node, body=block(node.body)))
            else:
                out.append(node)
        return tuple(out)

    return replace(p, forward=block(p.forward))
