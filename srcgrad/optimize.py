"""Make generated code as tight as hand-written backprop.

Passes over a :class:`~srcgrad.ir.Program`, each exact (no change in values):
``fold`` simplifies arithmetic with literal 0/1 and literal-only arithmetic; ``eliminate``
drops statements whose value nobody reads; ``inline`` substitutes single-use temporaries
(``t3``, ``d_t3``) into their one use within the same sweep; ``tidy`` writes indices as the
user did (``x[1:3]``) and drops redundant parentheses.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, replace

import libcst as cst

from srcgrad.build import call_receiver, method_call
from srcgrad.cstwalk import changed, ident, visit
from srcgrad.ir import Gen, GIf, GLoop, GNode, Program, gens
from srcgrad.printer import code
from srcgrad.template import grouped

_TEMP = re.compile(r"^(d_)?t\d+$")
MAX_LINE = 84  # inlining stops before a statement grows past this many characters


@dataclass(frozen=True)
class Facts:
    """What the analyses know about names: ``scalars`` hold scalars; ``shape_class`` maps a
    variable to a representative of the variables with its shape and dtype."""

    scalars: frozenset[str] = frozenset()
    shape_class: Callable[[str], str] = str
    alias: str = "np"   # the array module's name in generated code


def optimize(program: Program, user_names: frozenset[str], facts: Facts = Facts()) -> Program:
    """All passes, to a fixed point."""
    _READS.clear()
    _LENGTHS.clear()
    simplified: dict[int, cst.BaseExpression] = {}

    def simplify(e: cst.BaseExpression) -> cst.BaseExpression:
        # Expressions are immutable: simplify each one once, and its result never again.
        hit = simplified.get(id(e))
        if hit is None:
            if "unreduce" in reads(e):  # the only pattern _ScalarBroadcast rewrites
                e_b = visit(e, _ScalarBroadcast(facts))
            else:
                e_b = e
            hit = fold(e_b) if _FOLDABLE in reads(e_b) else e_b
            simplified[id(e)] = simplified[id(hit)] = hit
            _KEEP.extend((e, hit))
        return hit

    def fixed_point(program: Program) -> Program:
        for _ in range(8):
            before = _signature(program)
            program = _map_exprs(program, simplify)
            program = eliminate(program)
            program = inline(program, user_names)
            program = propagate_constants(program)
            program = coalesce(program)
            program = prune_pushes(program)
            program = merge_saves(program)
            program = drop_unread_lists(program)
            if _signature(program) == before:
                break
        return program

    program = fixed_point(program)
    for _ in range(8):
        # values computed twice (derivatives of derivatives repeat terms): to a fixed point
        # again after each merge; most code has none, and pays one pass
        merged = common_subexpressions(program, facts.alias)
        if _signature(merged) == _signature(program):
            break
        program = fixed_point(merged)
    _KEEP.clear()
    _READS.clear()
    _LENGTHS.clear()
    _CODES.clear()
    return fuse_pops(_map_exprs(drop_fresh_copies(program), tidy))


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


def _is_copy(expr: cst.BaseExpression) -> bool:
    """``np.array(x, copy=True)``: a new array."""
    return (isinstance(expr, cst.Call) and isinstance(expr.func, cst.Attribute)
            and expr.func.attr.value == "array" and len(expr.args) == 2
            and expr.args[1].keyword is not None and expr.args[1].keyword.value == "copy")


def _is_copy_of(expr: cst.BaseExpression, name: str) -> bool:
    """``np.array(name, copy=True)``."""
    return _is_copy(expr) and isinstance(expr.args[0].value, cst.Name) and \
        expr.args[0].value.value == name


_KEEP: list[cst.CSTNode] = []   # keeps memoized expressions alive so their ids stay unique


def _signature(p: Program) -> tuple:
    return tuple((g.target, id(g.expr)) for g in (*gens(p.forward), *gens(p.backward)))


class _ScalarBroadcast:
    """``unreduce(s, v) * 2 * v`` -> ``s * 2 * v`` for a scalar ``s``: the product already has
    ``v``'s shape, so broadcasting ``s`` first is wasted work."""

    def __init__(self, facts: Facts):
        super().__init__()
        self.facts = facts

    def leave_BinaryOperation(self, original, updated: cst.BinaryOperation):
        if not isinstance(updated.operator, cst.Multiply):
            return updated
        factors = _factors(updated.left) + _factors(updated.right)
        for k, f in enumerate(factors):
            target = self._scalar_unreduce(f)
            if target is None:
                continue
            cls = self.facts.shape_class(target)
            others = [g for j, g in enumerate(factors) if j != k]
            alike = [g for g in others if isinstance(g, cst.Name)
                     and self.facts.shape_class(g.value) == cls]
            if alike and all(g in alike or _number(g) is not None or _is_count(g)
                             for g in others):
                return _rebuild(updated, f, f.args[0].value)
        return updated

    def _scalar_unreduce(self, node) -> str | None:
        if (isinstance(node, cst.Call) and isinstance(node.func, cst.Name)
                and node.func.value == "unreduce" and len(node.args) == 2
                and isinstance(node.args[1].value, cst.Name)):
            s = node.args[0].value
            if (isinstance(s, cst.Name) and s.value in self.facts.scalars) or \
                    _number(s) is not None:
                return node.args[1].value.value
        return None


def _factors(node: cst.BaseExpression) -> list[cst.BaseExpression]:
    """The factors of a product; a divisor counts as a factor (its shape matters the same).
    Parentheses do not matter here: only which shapes are broadcast together does."""
    if isinstance(node, cst.BinaryOperation):
        if isinstance(node.operator, cst.Multiply):
            return _factors(node.left) + _factors(node.right)
        if isinstance(node.operator, cst.Divide):
            return _factors(node.left) + [node.right]
    return [node]


def _is_count(node: cst.BaseExpression) -> bool:
    """``reduced_count(...)``: a Python int."""
    return isinstance(node, cst.Call) and isinstance(node.func, cst.Name) and \
        node.func.value == "reduced_count"


def _rebuild(node: cst.BaseExpression, old: cst.BaseExpression, new: cst.BaseExpression):
    """``node`` with its first occurrence of the subtree ``old`` (the same object: nodes may
    be shared) replaced by ``new``."""
    return visit(node, _Swap(old, new))


class _Swap:
    def __init__(self, old: cst.CSTNode, new: cst.CSTNode):
        self.old, self.new = old, new

    def visit_node(self, node: cst.CSTNode) -> bool:
        return self.old is not None  # once swapped, nothing more to look at

    def leave_node(self, original, updated):
        if original is self.old:
            self.old = None
            return self.new
        return updated


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
    hit = _READS.get(id(node))
    if hit is not None and hit[0] is node:
        return hit[1]
    total = _reads_of(node)
    _READS[id(node)] = (node, total)
    return total


def _reads_of(node: GNode) -> Counter[str]:
    if isinstance(node, Gen):  # y[i] = v reads y, i and v
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


def _node_writes(node: GNode) -> set[str]:
    """Names assigned anywhere in ``node``."""
    if isinstance(node, Gen):
        return {node.target} if node.target else set()
    out: set[str] = set()
    if isinstance(node, GLoop) and node.target:
        out.add(node.target)
    for g in gens((node,)):
        if g.target:
            out.add(g.target)
    return out


# --- names read by an expression ---------------------------------------------------------------

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


_READS: dict[int, tuple[cst.CSTNode | GNode, Counter[str]]] = {}


def reads(expr: cst.CSTNode) -> Counter[str]:
    """How often each name is read in ``expr`` (memoized while optimizing)."""
    hit = _READS.get(id(expr))
    if hit is not None and hit[0] is expr:
        return hit[1]
    v = _Reads()
    visit(expr, v)
    _READS[id(expr)] = (expr, v.names)
    return v.names


# --- dead code -----------------------------------------------------------------------------------

def eliminate(p: Program) -> Program:
    """Drop statements whose targets are never read afterwards (effects stay); a loop body is
    live with what its next iteration reads."""
    live: set[str] = set()
    for r in p.returns:
        live |= set(reads(r))
    backward, live = _live_block(p.backward, live)
    forward, _ = _live_block(p.forward, live)
    return replace(p, forward=forward, backward=backward)


def _unread_pop(g: Gen, live: set[str]) -> Gen | None:
    """``d_v = pop_grad(d_xs, v)`` where ``d_v`` is never read: ``d_xs = drop_grad(d_xs)``,
    which takes the item's slot off the list's adjoint all the same (a later ``pop_grad``
    reads the item before it)."""
    e = g.expr
    if g.target is None or g.target in live or g.index is not None or not (
            isinstance(e, cst.Call) and isinstance(e.func, cst.Name)
            and e.func.value == "pop_grad" and isinstance(e.args[0].value, cst.Name)):
        return None
    xs = e.args[0].value
    return replace(g, target=xs.value, expr=cst.Call(cst.Name("drop_grad"), [cst.Arg(xs)]))


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
            if dropped is not None:  # the item's adjoint goes unread: its slot still goes
                node = dropped
            if node.effect or node.target is None or node.target in live:
                kept.append(node)
                if node.index is None:
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
                merged: dict[str, frozenset[Tested]] = {}
                for side, cs, truth in ((l1, c1, True), (l2, c2, False)):
                    for v in side:
                        if lit is not None:
                            here = cs.get(v, frozenset({(lit[0], lit[1] == truth)}))
                        else:
                            here = cs.get(v)
                        if here is None or merged.get(v, frozenset()) is None:
                            merged[v] = None
                        else:
                            merged[v] = merged.get(v, frozenset()) | here
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


# --- inlining ------------------------------------------------------------------------------------

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
        if (name is None or g.effect or g.pair or not _TEMP.match(name) or name in user_names
                or counts[name] != 1 or assigned[name] != 1):  # a pop stays where it is
            i += 1
            continue
        read = set(reads(g.expr))
        j = next((k for k in range(i + 1, len(stmts)) if name in _node_reads(stmts[k])), None)
        if j is None or not isinstance(stmts[j], (Gen, GIf)) or (
                isinstance(stmts[j], Gen) and stmts[j].index is not None
                and name in reads(stmts[j].index)) or any(
                (stmts[k].target in read) if isinstance(stmts[k], Gen) else
                (_node_writes(stmts[k]) & read) for k in range(i + 1, j)) or (
                isinstance(stmts[j], Gen) and stmts[j].target in read):
            i += 1
            continue
        target = stmts[j]
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
            _LENGTHS[id(new)] = (new, length)
            stmts[j] = replace(target, expr=new)
        del stmts[i]
    return stmts


class _Substitute:
    """Replace names by expressions (compound ones parenthesized); the names of attributes
    (``np.sum``) and of keyword arguments (``axis=``) are not variables and stay."""

    def __init__(self, exprs: dict[str, cst.BaseExpression]):
        super().__init__()
        self.exprs = {k: grouped(e) for k, e in exprs.items()}

    def leave_Name(self, original: cst.Name, updated: cst.Name):
        return self.exprs.get(updated.value, updated)


_LENGTHS: dict[int, tuple[cst.CSTNode, int]] = {}


def _length(expr: cst.CSTNode) -> int:
    """The length of ``expr``'s code (memoized while optimizing)."""
    hit = _LENGTHS.get(id(expr))
    if hit is not None and hit[0] is expr:
        return hit[1]
    n = len(code(expr))
    _LENGTHS[id(expr)] = (expr, n)
    return n


def _rename(old: str, new: str) -> _Substitute:
    return _Substitute({old: ident(new)})


# --- constants -----------------------------------------------------------------------------------

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
            if lst is not None and lst != g.target:
                k = next((k for k in range(i + 1, len(out)) if lst in _node_reads(out[k])
                          or lst in _node_writes(out[k])), None)
                if k is not None and _list_method(out[k]) == (lst, "pop") and \
                        not out[k].expr.args:
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
                    name = b1[i1].target
                    if b1 is b2 and i1 < i2 and b2[i2].target == name and not any(
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


# --- common subexpressions ----------------------------------------------------------------------

_CODES: dict[int, tuple[cst.CSTNode, tuple[object, bool]]] = {}
_PURE_HELPERS = frozenset({"unbroadcast", "broadcast_like", "unreduce", "matmul_grad_a",
                           "matmul_grad_b", "reduced_count", "keep"})


def _key(node: cst.CSTNode, alias: str) -> tuple[object, bool]:
    """What ``node`` computes, as a hashable structure (equal for equal expressions however
    they are parenthesized), and whether it is pure: its calls are of the array module's
    functions (``np.tanh``) or of helpers that make new values. Memoized while optimizing."""
    hit = _CODES.get(id(node))
    if hit is not None and hit[0] is node:
        return hit[1]
    t = type(node)
    key: object
    pure = True
    if t is cst.Name or t is cst.Integer or t is cst.Float or t is cst.SimpleString:
        key = (t, node.value)
    elif t is cst.BinaryOperation:
        (left, p1), (right, p2) = _key(node.left, alias), _key(node.right, alias)
        key, pure = (t, type(node.operator), left, right), p1 and p2
    elif t is cst.UnaryOperation:
        inner, pure = _key(node.expression, alias)
        key = (t, type(node.operator), inner)
    elif t is cst.Attribute:
        inner, pure = _key(node.value, alias)
        key = (t, inner, node.attr.value)
    elif t is cst.Call:
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
    elif t is cst.Subscript:
        inner, pure = _key(node.value, alias)
        parts = [_key(e.slice, alias) for e in node.slice]
        key, pure = (t, inner, tuple(k for k, _ in parts)), pure and all(p for _, p in parts)
    elif t is cst.Index:
        inner, pure = _key(node.value, alias)
        key = (t, node.star, inner)
    else:  # rarer nodes (slices, tuples, comparisons): by their text, never merged
        key, pure = (t, code(tidy(node))), False
    _CODES[id(node)] = (node, (key, pure))
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


# --- copies --------------------------------------------------------------------------------------

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
    if _TEMP.match(a) and (once or not any(s.target in (a, b) for s in later)) and not any(
            a in reads(r) for r in returns):
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
    if any(stmts[k].target == a or a in reads(stmts[k].expr) for k in span):
        return False
    if any(b in reads(s.expr) or s.target == b for s in later) or any(
            b in reads(r) for r in returns):
        return False
    rename = _rename(b, a)
    for k in span:
        s = stmts[k]
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


# --- constant folding ----------------------------------------------------------------------------

def _number(node: cst.BaseExpression) -> float | None:
    """The value of a number literal, else None."""
    if isinstance(node, (cst.Integer, cst.Float)):
        try:
            return float(node.value)  # "2", "1e-5", "1_000"
        except ValueError:
            return float(node.evaluated_value)  # "0x10"
    return None


def _literal(v: float, like_int: bool) -> cst.BaseExpression:
    if like_int and float(v).is_integer():
        text = str(int(v))
    else:
        text = repr(float(v))
    if text.startswith("-"):
        return cst.UnaryOperation(cst.Minus(), _number_node(text[1:]))
    return _number_node(text)


def _number_node(text: str) -> cst.BaseExpression:
    if text.isdigit():
        return cst.Integer(text)
    if text[0].isdigit():  # 2.5, 1e-05
        return cst.Float(text)
    return cst.parse_expression(text)  # inf, nan: names (the backend defines neither)


_MASKS = frozenset({"isnan", "isinf", "isfinite", "logical_and", "logical_or",
                    "logical_not", "logical_xor", "signbit"})


def _boolish(e: cst.BaseExpression) -> bool:
    """Whether ``e`` may be a boolean (a comparison, a mask): ``1.0 * e`` is then a number, ``e``
    is not."""
    if isinstance(e, (cst.Comparison, cst.BooleanOperation)):
        return True
    if isinstance(e, cst.UnaryOperation) and isinstance(e.operator, (cst.Not, cst.BitInvert)):
        return True
    if isinstance(e, cst.BinaryOperation) and isinstance(e.operator, (cst.BitAnd, cst.BitOr,
                                                                      cst.BitXor)):
        return True
    if isinstance(e, cst.Call):
        f = e.func
        name = f.value if isinstance(f, cst.Name) else f.attr.value if isinstance(
            f, cst.Attribute) else ""
        return name in _MASKS
    return False


class _Fold:
    def leave_BinaryOperation(self, original, updated: cst.BinaryOperation):
        op = updated.operator
        left, right = _number(updated.left), _number(updated.right)
        keep = {"lpar": updated.lpar, "rpar": updated.rpar}
        ints = isinstance(updated.left, cst.Integer) and isinstance(updated.right, cst.Integer)
        if left is not None and right is not None and not isinstance(op, cst.Power):
            result = {cst.Add: left + right, cst.Subtract: left - right,
                      cst.Multiply: left * right}.get(type(op))
            if result is not None:
                return _literal(result, ints)
        if isinstance(op, cst.Multiply):  # x * 1 is x, unless x is a mask (1.0 * (x > 0))
            if right == 1 and not _boolish(updated.left):
                return _strip(updated.left, keep)
            if left == 1 and not _boolish(updated.right):
                return _strip(updated.right, keep)
        if isinstance(op, cst.Divide) and right == 1:
            return _strip(updated.left, keep)
        if isinstance(op, cst.Power) and right == 1:
            return _strip(updated.left, keep)
        if isinstance(op, (cst.Add, cst.Subtract)) and right == 0 and \
                _is_int_literal(updated.right):
            return _strip(updated.left, keep)
        return updated

    def leave_UnaryOperation(self, original, updated: cst.UnaryOperation):
        inner = updated.expression
        if isinstance(updated.operator, cst.Minus) and isinstance(inner, cst.BinaryOperation) \
                and isinstance(inner.operator, (cst.Multiply, cst.Divide)):
            first = _leftmost(inner)
            if isinstance(first, cst.UnaryOperation) and isinstance(first.operator, cst.Minus):
                # -(-a * b / c) -> a * b / c
                return changed(_rebuild(inner, first, first.expression),
                               lpar=updated.lpar, rpar=updated.rpar)
        if isinstance(updated.operator, cst.Minus) and isinstance(inner, cst.UnaryOperation) \
                and isinstance(inner.operator, cst.Minus):
            return changed(inner.expression, lpar=updated.lpar, rpar=updated.rpar) \
                if updated.lpar else inner.expression
        return updated


def _leftmost(node: cst.BaseExpression) -> cst.BaseExpression:
    # (a * b) / c: the left operand of * and / may be a parenthesized product too
    while isinstance(node, cst.BinaryOperation) and isinstance(
            node.operator, (cst.Multiply, cst.Divide)):
        node = node.left
    return node


def _is_int_literal(node) -> bool:
    return isinstance(node, cst.Integer)


def _strip(node: cst.BaseExpression, keep) -> cst.BaseExpression:
    if keep["lpar"] and hasattr(node, "lpar"):
        return changed(node, **keep)
    return node


def fold(expr: cst.BaseExpression) -> cst.BaseExpression:
    return visit(expr, _Fold())


# --- tidy: user-style indices, no redundant parentheses ----------------------------------------

_PREC: dict[type, int] = {
    cst.BooleanOperation: 2, cst.Comparison: 4, cst.BitOr: 5, cst.BitXor: 6, cst.BitAnd: 7,
    cst.LeftShift: 8, cst.RightShift: 8, cst.Add: 9, cst.Subtract: 9, cst.Multiply: 10,
    cst.Divide: 10, cst.FloorDivide: 10, cst.Modulo: 10, cst.MatrixMultiply: 10,
    cst.UnaryOperation: 11, cst.Power: 12,
}


def _prec(node: cst.BaseExpression) -> int:
    if isinstance(node, cst.BinaryOperation):
        return _PREC[type(node.operator)]
    if isinstance(node, (cst.UnaryOperation, cst.BooleanOperation, cst.Comparison)):
        return _PREC[type(node)]
    if isinstance(node, (cst.IfExp, cst.Lambda)):
        return 0
    return 100


class _Tidy:
    def leave_Subscript(self, original, updated: cst.Subscript):
        # x[s_[1:3, None]] -> x[1:3, None]
        if len(updated.slice) == 1 and isinstance(updated.slice[0].slice, cst.Index):
            inner = updated.slice[0].slice.value
            if (isinstance(inner, cst.Subscript) and isinstance(inner.value, cst.Name)
                    and inner.value.value == "s_"):
                return changed(updated, slice=inner.slice)
        return updated

    def leave_BinaryOperation(self, original, updated: cst.BinaryOperation):
        p = _PREC[type(updated.operator)]
        power = isinstance(updated.operator, cst.Power)
        left = updated.left
        right = updated.right
        if left.lpar and (_prec(left) > p or (_prec(left) == p and not power)) \
                and _prec(left) != 100:
            left = changed(left, lpar=[], rpar=[])
        if right.lpar and (_prec(right) > p or (power and _prec(right) == p)) \
                and _prec(right) != 100 and not (power and isinstance(right, cst.UnaryOperation)):
            right = changed(right, lpar=[], rpar=[])
        if right.lpar and _prec(right) == 100 and isinstance(right, (cst.Name, cst.Call,
                                                                    cst.Attribute, cst.Subscript)):
            right = changed(right, lpar=[], rpar=[])
        if left.lpar and _prec(left) == 100 and isinstance(left, (cst.Name, cst.Call,
                                                                 cst.Attribute, cst.Subscript)):
            left = changed(left, lpar=[], rpar=[])
        return changed(updated, left=left, right=right)

    def leave_Element(self, original, updated: cst.Element):
        v = updated.value
        if v.lpar and not isinstance(v, (cst.Tuple, cst.GeneratorExp)):
            return changed(updated, value=changed(v, lpar=[], rpar=[]))
        return updated

    def leave_Arg(self, original, updated: cst.Arg):
        v = updated.value
        if v.lpar and not isinstance(v, (cst.Tuple, cst.GeneratorExp)):
            return changed(updated, value=changed(v, lpar=[], rpar=[]))
        return updated


def tidy(expr: cst.BaseExpression) -> cst.BaseExpression:
    expr = visit(expr, _Tidy())
    if getattr(expr, "lpar", None) and not isinstance(expr, cst.Tuple):
        expr = changed(expr, lpar=[], rpar=[])
    return expr
