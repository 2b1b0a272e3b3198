"""The backward sweep statement by statement: each active statement's adjoint code from its
rule (or custom rule), guarded where its output's adjoint may be zeros, with the values it
reads saved on stacks where the forward sweep overwrites them; then the forward sweep with
the pushes the backward one asked for."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, cast

import libcst as cst

from srcgrad.analyze import Activity, Names, ShapeClasses, bound_before, diff_operands, kill_after
from srcgrad.build import (
    apply_rule_fn,
    atom_node,
    call_name,
    call_of,
    lowered_gens,
    method_call,
    parameters,
    primal_expr,
    primal_gens,
    renamed,
    structured,
)
from srcgrad.context import PassContext
from srcgrad.cstwalk import call, changed, ident, visit
from srcgrad.ir import (
    CoreFunction,
    Gen,
    GNode,
    If,
    Lit,
    Loop,
    Node,
    Origin,
    Stmt,
    Var,
    assigned,
    atom_uses,
    free_reads,
    walk,
)
from srcgrad.printer import code
from srcgrad.reverse.state import _Cond, _Guard, _State, _targets
from srcgrad.rules.core import Undefined, undefined
from srcgrad.rules.shape import VIEWS
from srcgrad.template import names_in_rule, used_params

_OUT = "__out__"


def _strip_unbroadcast(expr: cst.BaseExpression) -> cst.BaseExpression:
    if call_name(expr) == "unbroadcast":
        assert isinstance(expr, cst.Call)  # (call_name)
        inner = expr.args[0].value
        return changed(inner, lpar=(), rpar=()) if isinstance(
            inner, (cst.BinaryOperation, cst.UnaryOperation)) else inner
    return expr


def _rule_reads(fn, lead: int, stmt: Stmt) -> set[str]:
    """The variables (and ``_OUT``) that rule function ``fn``, applied to ``stmt`` with ``lead``
    leading parameters (``xp``, ``g``, ``out``, ``i``), reads."""
    used = used_params(fn)
    params = parameters(fn)
    found: set[str] = {_OUT} if len(params) > 2 and lead > 2 and params[2].name in used else set()
    rest = params[lead:]
    star = next((p for p in rest if p.kind is p.VAR_POSITIONAL), None)
    positional = [p for p in rest if p.kind is p.POSITIONAL_OR_KEYWORD]
    operands = list(stmt.args)
    if star is not None:
        if star.name in used:
            found |= {n for a in operands for n in atom_uses(a)}
    else:
        for p, a in zip(positional, operands, strict=False):
            if p.name in used:
                found |= atom_uses(a)
    for k, v in stmt.params:
        if k in used:
            found |= atom_uses(v)
    return found


def _in_place(expr: cst.BaseExpression) -> cst.BaseExpression:
    """``zero_at(g, index, copy=True)`` -> ``zero_at(g, index)``."""
    if call_name(expr) == "zero_at":
        assert isinstance(expr, cst.Call)  # (call_name)
        args = [a for a in expr.args if a.keyword is None]
        args[-1] = changed(args[-1], comma=cst.MaybeSentinel.DEFAULT)
        return changed(expr, args=args)
    return expr


class _ShapeOnly:
    """In helper arguments that only supply a shape and dtype (``unreduce(g, t3)``), read an
    active variable of the same shape class instead (``unreduce(g, t2)`` for ``t3 = t2 ** 2``),
    so that the forward temporary need not be kept."""

    POSITIONS = {"unbroadcast": 1, "unreduce": 1, "broadcast_like": 1, "reduced_count": 0}

    def __init__(self, shapes: ShapeClasses, act: Activity):
        super().__init__()
        self.shapes, self.act = shapes, act

    def leave_Call(self, original: cst.Call, updated: cst.Call) -> cst.Call:
        if not isinstance(updated.func, cst.Name) or updated.func.value not in self.POSITIONS:
            return updated
        k = self.POSITIONS[updated.func.value]
        if k >= len(updated.args) or not isinstance(arg := updated.args[k].value, cst.Name):
            return updated
        root = self.shapes.find(arg.value)
        if root not in self.act.active or root in self.shapes.changing:
            return updated
        args = list(updated.args)
        args[k] = changed(args[k], value=ident(root))
        return changed(updated, args=args)




class _Statements:
    """Builds the backward sweep statement by statement, then the forward sweep with the pushes
    it asked for."""

    if TYPE_CHECKING:  # the control flow's, in srcgrad/reverse/control.py (a subclass)
        branch: Callable[[If, _State], list[GNode]]
        loop: Callable[[Loop, _State], list[GNode]]

    def __init__(self, fn: CoreFunction, act: Activity, shapes: ShapeClasses, ctx: PassContext):
        self.fn, self.act, self.shapes, self.ctx = fn, act, shapes, ctx
        self.kills: dict[int, Names] = {}
        kill_after(fn.body, (), self.kills)
        self.before: dict[int, Names] = {}
        bound_before(fn.body, (frozenset(fn.params),), self.before)
        self.primal = set(fn.params) | assigned(fn.body)
        stmts = [n for n in walk(fn.body) if isinstance(n, Stmt)]
        counts: dict[str, int] = {}
        for n in stmts:
            counts[n.target] = counts.get(n.target, 0) + 1
        self.defs = {n.target: n for n in stmts if counts[n.target] == 1}
        # arrays assigned by index, and the views of them: they change without being assigned
        views: dict[str, set[str]] = {a: set() for a in fn.arrays}
        for n in stmts:
            base = n.args[0].name if n.args and isinstance(n.args[0], Var) else None
            if n.prim in VIEWS and base is not None:
                for root, seen in views.items():
                    if base == root or base in seen:
                        seen.add(n.target)
        self.changing = set(fn.arrays).union(*views.values()) if views else set()
        roots: dict[str, set[str]] = {}  # a view changes where its array is assigned by index
        for root, seen in views.items():
            for v in seen:
                roots.setdefault(v, set()).add(root)
        if roots:
            for key, later in list(self.kills.items()):
                self.kills[key] = Names({}, 0, (later,), frozenset(
                    v for v, rs in roots.items() if any(r in later for r in rs)))
        self.adjoints: dict[str, str] = {}
        self.stacks: dict[str, str] = {}
        self.pushes: dict[int, tuple[list[tuple[str, int]], list[tuple[str, int]]]] = {}
        self.pairs = 0

    def adj(self, var: str) -> str:
        if var not in self.adjoints:
            self.adjoints[var] = self.ctx.namer.adjoint(var)
        return self.adjoints[var]

    def stack(self, var: str) -> str:
        if var not in self.stacks:
            self.stacks[var] = self.ctx.namer.fresh(f"saved_{var}")
        return self.stacks[var]

    def _snapshot(self):
        namer = self.ctx.namer
        return (set(namer._taken), set(namer._claimed), namer._temps, dict(self.adjoints),
                dict(self.stacks), self.pairs)

    def _pushes(self):
        return {k: (list(a), list(b)) for k, (a, b) in self.pushes.items()}

    def _restore(self, snap) -> None:
        namer = self.ctx.namer
        namer._taken, namer._claimed, namer._temps, self.adjoints, self.stacks, self.pairs = (
            set(snap[0]), set(snap[1]), snap[2], dict(snap[3]), dict(snap[4]), snap[5])

    def _saved(self, node: Node, names: list[str], origin: Origin, before: bool = True,
               first: bool = False) -> list[Gen]:
        """Pops (backward) for values of ``names`` read at ``node``'s adjoint; records the
        matching pushes the forward sweep makes before (or after) ``node`` (``first``: before
        the pushes recorded there already)."""
        pops: list[Gen] = []
        pushes = self.pushes.setdefault(id(node), ([], []))
        for name in names:
            self.pairs += 1
            at = pushes[0] if before else pushes[1]
            at.insert(0 if first else len(at), (name, self.pairs))
            pops.append(Gen(name, method_call(self.stack(name), "pop"), origin, pair=self.pairs))
        return pops

    def block(self, block: tuple[Node, ...], st: _State) -> list[GNode]:
        out: list[GNode] = []
        for node in reversed(block):
            before = dict(st.when)
            if isinstance(node, Stmt):
                made = self.stmt(node, st)
            elif isinstance(node, If):
                made = self.branch(node, st)
            elif isinstance(node, Loop):
                made = self.loop(node, st)
            else:
                continue
            if before:  # the tests made before this node must still read the same values
                st.forget(_targets(made), before)
            if made and out and isinstance(made[0], _Guard) and isinstance(out[-1], _Guard) \
                    and code(made[0].test) == code(out[-1].test):  # one `if` for a chain
                a, b = out[-1], made[0]
                out[-1] = _Guard(a.test, a.body + b.body, a.orelse + b.orelse, a.origin)
                made = made[1:]
            out += made
        return out

    def stmt(self, s: Stmt, st: _State) -> list[GNode]:
        t = s.target
        if t not in self.act.active or t not in st.defined or t in st.zero or s.prim == "call":
            st.drop(t)  # (an adjoint of zeros: the statement's adjoint code would add zeros)
            return self._kept(s, t, st)
        cond = st.when.get(t)  # d_t is zero unless cond: its adjoint code runs under it
        rule = self.fn.rules[s.prim]
        ops = [(i, a.name) for i in diff_operands(s, self.fn.rules)
               if isinstance(a := s.args[i], Var) and a.name in self.act.active]
        ops.sort(key=lambda p: p[1] == t)  # the adjoint of the old value of t comes last
        out: list[GNode] = []
        g: cst.BaseExpression = ident(self.adj(t))
        aliased = sum(name == t for _, name in ops) > 1
        if aliased:  # t = t * t: keep d_t before it is replaced
            keep = self.ctx.namer.adjoint(self.ctx.namer.temp())
            out.append(Gen(keep, g, s.origin))
            g = ident(keep)
        read: set[str] = set()
        vjp = cast(tuple, rule.vjp)  # (read for active operands only: a rule without has none)
        fns = [vjp[0] if rule.variadic else vjp[i] for i, _ in ops]
        for fn in fns:
            if isinstance(fn, Undefined):
                raise undefined(fn, s, "adjoint")
        # an adjoint first given a value under cond is zeros outside it, shaped like its value
        fresh = {name for _, name in ops if name == t or name not in st.defined} \
            if cond is not None else set()
        if s.custom is not None:
            return out + self._custom(s, st, ops, g, cond, fresh)
        for fn in fns:
            read |= _rule_reads(fn, 4 if rule.variadic else 3, s)
        out += self._reads(s, t, read | fresh)  # names the output: self._out_name
        if cond is not None and cond.deps & _targets(out):
            cond, fresh = None, set()  # a value its test reads was just restored
        lead = [ident(self.ctx.alias), g, ident(self._out_name)]
        arrays = {a.name if isinstance(a, Var) else id(a) for a in s.args
                  if not (isinstance(a, Lit) and a.is_scalar_number)}  # x * x: one shape
        shape_only = _ShapeOnly(self.shapes, self.act)
        contribs = []
        for (i, name), fn in zip(ops, fns, strict=True):
            extra = [cst.Integer(str(i))] if rule.variadic else []
            contrib = apply_rule_fn(fn, [*lead, *extra], s)
            # t = t * x: the old t may have another shape than the new one
            same = self.shapes.same(name, t) and (name != t or t in self.shapes.scalars)
            if rule.elementwise and (len(arrays) == 1 or same):
                contrib = _strip_unbroadcast(contrib)
            if _ShapeOnly.POSITIONS.keys() & names_in_rule(fn):
                contrib = visit(contrib, shape_only)
            contribs.append((name, contrib))
        if s.prim == "append" and [i for i, _ in ops] == [0]:
            # an item with no derivative: its slot in the list's adjoint goes unread
            contribs = [(t, cst.Call(ident("drop_grad"), [cst.Arg(g)]))]
        if s.prim == "setitem" and t in st.owned and not aliased:  # d_y[index] = 0 in place
            # (not for y[i] = y: its kept d_y is d_t, which the value's adjoint reads after)
            contribs = [(name, _in_place(c) if name == t else c) for name, c in contribs]
        owned = set(st.owned)
        st.drop(t)
        adds, passed = self._adds(contribs, st, s.origin, cond)
        return out + self._guarded(cond, adds, fresh - passed, owned, st, s.origin) + \
            self._kept(s, t, st)

    def _adds(self, contribs, st: _State, origin: Origin, cond: _Cond | None
              ) -> tuple[list[GNode], set[str]]:
        """The adds of ``contribs``, and the names whose adjoint is the output's (no code)."""
        out: list[GNode] = []
        passed: set[str] = set()
        for name, c in contribs:
            gen = self.add(name, c, st, origin, cond)
            if gen is not None:
                out.append(gen)
            else:
                passed.add(name)
        return out, passed

    def _guarded(self, cond: _Cond | None, code: list[GNode], fresh: set[str], owned: set[str],
                 st: _State, origin: Origin) -> list[GNode]:
        """``code`` (a statement's adjoint code), run only where ``cond`` holds; outside it, the
        adjoints of ``fresh`` it gives a first value are zeros."""
        if cond is None or not code:
            return code
        for v in st.defined - fresh - owned:  # updated in place only where cond holds
            st.owned.discard(v)
        zeros = [Gen(self.adj(v), call_of("zero_grad", ident(v)), origin)
                 for v in sorted(fresh) if v in st.defined]
        return [_Guard(cond.test, tuple(code), tuple(zeros), origin)]

    def _custom(self, s: Stmt, st: _State, ops: list[tuple[int, str]],
                g: cst.BaseExpression, cond: _Cond | None, fresh: set[str]) -> list[GNode]:
        """The adjoint of a call with a custom rule: the rule's lowered body, its ``d_out``
        bound to the output's adjoint and its ``out`` to the output; each adjoint it returns
        goes to its argument, checked for shape."""
        t = s.target
        assert s.custom is not None  # (stmt's condition)
        low = s.custom.adjoint
        assert low is not None  # (without one, its vjp is Undefined: stmt has raised)
        d_out, out_ = low.inputs
        free = free_reads(low.body, low.results)
        read = (free - {d_out, out_}) | ({_OUT} if out_ in free else set())
        out: list[GNode] = list(self._reads(s, t, read | fresh))
        if cond is not None and cond.deps & _targets(out):
            cond, fresh = None, set()
        names = {d_out: g, out_: ident(self._out_name)}
        body: list[GNode] = list(lowered_gens(low.body, names, self.ctx))
        owned = set(st.owned)
        st.drop(t)
        label = cst.SimpleString(repr(s.custom.label(low)))
        contribs = []
        for i, name in ops:
            contrib = renamed(atom_node(low.results[i]), names)
            if low.checked:
                like = g if low.like_adjoint else atom_node(s.args[i])
                contrib = call_of("shaped_like", contrib, like, label)
            contribs.append((name, contrib))
        adds, passed = self._adds(contribs, st, s.origin, cond)
        return out + self._guarded(cond, body + adds, fresh - passed, owned, st, s.origin) + \
            self._kept(s, t, st)

    def _kept(self, s: Stmt, t: str, st: _State) -> list[GNode]:
        """An adjoint that must hold a value after ``s`` overwrote its variable (another path,
        or the next iteration, reads it): zeros shaped like the value ``s`` overwrote, which
        comes back from the stack."""
        if t not in st.keep or t in st.defined or t not in self.act.active:
            return []
        out: list[Gen] = []
        if t in self.before.get(id(s), frozenset()):
            out += self._saved(s, [t], s.origin)
        st.defined.add(t)
        st.owned.add(t)
        st.zero.add(t)
        return [*out, Gen(self.adj(t), call_of("zero_grad", ident(t)), s.origin)]

    def _reads(self, s: Stmt, t: str, read: set[str]) -> list[Gen]:
        """Pops (and a copy) so that the adjoint of ``s`` sees the values ``s`` saw: those the
        forward sweep overwrites later were saved. Sets ``self._out_name`` to the name that
        holds ``s``'s output there."""
        out: list[Gen] = []
        later = self.kills[id(s)]
        operands = sorted((read & self.primal) - {_OUT})
        self._out_name = t
        if _OUT in read and (t in later or t in operands):
            into = self.ctx.namer.temp() if t in operands else t
            if t in later:  # the output is overwritten later: saved right after s
                pops = self._saved(s, [t], s.origin, before=False)
                out += [Gen(into, p.expr, p.origin, pair=p.pair) for p in pops]
            else:  # the output is in t now; the old t comes back from the stack below
                out.append(Gen(into, ident(t), s.origin))
            self._out_name = into
        # s itself overwrites t: its old value, if read, was saved too
        lost = [n for n in operands if n in later or n == t]
        again = [n for n in lost if self._recomputable(n, s)]
        out += self._saved(s, [n for n in lost if n not in again], s.origin)
        out += [Gen(n, primal_expr(self.defs[n], self.ctx), s.origin) for n in again]
        return out

    def _recomputable(self, name: str, site: Stmt) -> bool:
        """Whether ``name`` is cheaper to compute again than to save: an index into an array
        that does not change (``xs[t]`` in a loop over ``t``)."""
        d = self.defs.get(name)
        later = self.kills[id(site)]
        return d is not None and d is not site and d.prim == "getitem" and \
            not any(n in later or n == site.target for n in d.reads())

    def add(self, var: str, contrib: cst.BaseExpression, st: _State, origin: Origin,
            cond: _Cond | None = None) -> Gen | None:
        """``d_var`` receives ``contrib``: the first time an assignment, then a sum (in place
        for an index into an array made here); where ``cond`` holds only, if given."""
        name = self.adj(var)
        nonzero = var in st.defined and var not in st.zero and var not in st.when
        prior = st.when.get(var)
        st.zero.discard(var)
        if cond is None or nonzero or (prior is not None and prior.key != cond.key):
            st.when.pop(var, None)
        else:
            st.when[var] = cond
        scatter = call_name(contrib) == "getitem_grad"
        if isinstance(contrib, cst.Name) and contrib.value == name and var not in st.defined:
            st.defined.add(var)  # t = t + c: the adjoint of the old t is the one of the new
            return None
        if var not in st.defined:
            st.defined.add(var)
            fresh = scatter or call_name(contrib) == "zero_at" or isinstance(
                contrib, (cst.BinaryOperation, cst.UnaryOperation))  # an array made here
            (st.owned.add if fresh else st.owned.discard)(var)
            return Gen(name, contrib, origin)
        if scatter and var in st.owned:
            assert isinstance(contrib, cst.Call)  # (scatter)
            g, _, index = (a.value for a in contrib.args)
            return Gen(name, call_of("add_at", ident(name), index, g), origin)
        st.owned.add(var)
        right = contrib if not isinstance(contrib, cst.BinaryOperation) or not isinstance(
            contrib.operator, (cst.Add, cst.Subtract)) else changed(contrib,
            lpar=[cst.LeftParen()], rpar=[cst.RightParen()])
        return Gen(name, cst.BinaryOperation(ident(name), cst.Add(), right), origin)

    def forward(self, block: tuple[Node, ...]) -> list[GNode]:
        out: list[GNode] = []
        for node in block:
            before, after = self.pushes.get(id(node), ([], []))
            out += [self._push(name, pair, node.origin) for name, pair in before]
            if isinstance(node, Stmt):
                out += primal_gens(node, self.ctx)
            else:
                made = structured(node, self.forward)
                if made is not None:
                    out.append(made)
            out += [self._push(name, pair, node.origin) for name, pair in after]
        return out

    def _push(self, name: str, pair: int, origin: Origin) -> Gen:
        value: cst.BaseExpression = ident(name)
        if name in self.fn.lists:  # appended to later: save a copy of the list as it is now
            value = call_of("list", value)
        elif name in self.changing:  # an array (or a view of one) assigned by index later
            value = call(cst.Attribute(value, ident("copy")), [])
        return Gen(None, method_call(self.stack(name), "append", value), origin, effect=True,
                   pair=pair)
