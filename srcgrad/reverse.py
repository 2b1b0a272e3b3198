"""Reverse mode: the forward sweep, then adjoint statements from the rule table, in reverse.

Contract: for each active core statement ``z = prim(a, b)``, visited from last to first, the
adjoint of every active operand receives ``vjp_i(d_z, z, a, b)``; the first contribution is an
assignment (``d_a = …``), later ones add (``d_a = d_a + …``). Inactive operands get no code at
all. Data flows through arguments and return values only.

Control flow is replayed in reverse: a branch reads the condition the forward sweep recorded, a
loop runs its iterations backwards (``for t in reversed(range(n))``, or as many times as the
forward sweep counted). A value the backward sweep reads is saved on a stack (``saved_h``) only
where the forward sweep overwrites it later: pushed where it is read, popped just before the
adjoint that reads it.
"""

from __future__ import annotations

from dataclasses import dataclass

import libcst as cst

from srcgrad.analyze import Activity, ShapeClasses, diff_operands
from srcgrad.build import (
    apply_rule_fn,
    atom_node,
    call_name,
    call_of,
    call_receiver,
    counted_range,
    is_int,
    lowered_gens,
    method_call,
    parameters,
    primal_expr,
    primal_gens,
    renamed,
    sliced,
    structured,
)
from srcgrad.context import PassContext
from srcgrad.cstwalk import call, changed, ident, visit
from srcgrad.errors import SrcGradError
from srcgrad.ir import (
    Atom,
    CoreFunction,
    Gen,
    GIf,
    GLoop,
    GNode,
    If,
    Lit,
    Loop,
    Node,
    Origin,
    Program,
    Stmt,
    Var,
    assigned,
    free_reads,
    gens,
    walk,
)
from srcgrad.naming import function_name
from srcgrad.printer import code
from srcgrad.rules.core import Undefined, undefined
from srcgrad.rules.shape import VIEWS
from srcgrad.template import names_in_rule, used_params

_OUT = "__out__"

def _strip_unbroadcast(expr: cst.BaseExpression) -> cst.BaseExpression:
    if call_name(expr) == "unbroadcast":
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
            found |= {n for a in operands for n in _atom_uses(a)}
    else:
        for p, a in zip(positional, operands, strict=False):
            if p.name in used:
                found |= _atom_uses(a)
    for k, v in stmt.params:
        if k in used:
            found |= _atom_uses(v)
    return found


def _atom_uses(a: Atom) -> set[str]:
    return {a.name} if isinstance(a, Var) else set(a.uses)


@dataclass(frozen=True, eq=False)
class _Cond:
    """A test, in generated code, outside which an adjoint holds zeros: the adjoint of a value
    that a branch or loop may overwrite (``not cond``, ``not trips``). ``deps``: the names it
    reads, which must keep their values from where it is made to where it is tested."""

    test: cst.BaseExpression
    deps: frozenset[str]

    @property
    def key(self) -> str:
        return code(self.test)


@dataclass(frozen=True)
class _Guard(GIf):
    """An ``if`` around a statement's adjoint code (no primal value changes in it)."""


def _negated(test: cst.BaseExpression) -> cst.BaseExpression:
    return cst.UnaryOperation(cst.Not(), test)


def _either(a: _Cond, b: _Cond, both: bool = False) -> _Cond:
    """``a or b`` (``a and b`` with ``both``): ``b`` is read only where ``a`` does not decide,
    so that ``b`` may read names that hold a value only there."""
    def part(c: _Cond) -> cst.BaseExpression:
        t = c.test
        return changed(t, lpar=[cst.LeftParen()], rpar=[cst.RightParen()]) if isinstance(
            t, cst.BooleanOperation) else t
    op = cst.And() if both else cst.Or()
    return _Cond(cst.BooleanOperation(part(a), op, part(b)), a.deps | b.deps)


class _State:
    """Where the backward sweep stands: which adjoints hold a value (the others are zero), and
    which of those are arrays made here and nowhere else referenced, safe to update in place.
    Of the adjoints holding a value, ``zero`` are zeros made by ``zero_grad`` (a value the
    forward sweep overwrote on every path here), and ``when`` maps others to a test outside
    which they are zeros: the adjoint code of the statements that made those values is skipped
    there, as JAX's symbolic zeros skip it, so that ``0 * inf`` never turns a derivative nan."""

    def __init__(self, defined=(), owned=(), keep=frozenset(), zero=(), when=None):
        self.defined: set[str] = set(defined)
        self.owned: set[str] = set(owned)
        self.keep: frozenset[str] = keep  # adjoints that must still hold a value at the end
        self.zero: set[str] = set(zero)
        self.when: dict[str, _Cond] = dict(when or {})

    def copy(self, keep: frozenset[str] | None = None) -> _State:
        return _State(self.defined, self.owned, self.keep if keep is None else keep, self.zero,
                      self.when)

    def drop(self, var: str) -> None:
        """``var`` is overwritten: whatever its adjoint held no longer matters."""
        self.defined.discard(var)
        self.owned.discard(var)
        self.zero.discard(var)
        self.when.pop(var, None)

    def forget(self, names: set[str], among: dict[str, _Cond]) -> None:
        """The tests of ``among`` reading ``names`` no longer hold: backward code changed
        them."""
        olds = {id(c) for c in among.values()}
        self.when = {v: c for v, c in self.when.items()
                     if id(c) not in olds or not c.deps & names}


def _targets(block: list[GNode]) -> set[str]:
    """The names ``block`` assigns."""
    return {g.target for g in gens(tuple(block)) if g.target}


class _Names:
    """A set of names, answered by membership without being built: those a block assigns at
    positions past ``index`` (``positions``: each name's last position in the block), or, with
    ``later`` false, before it (each name's first position); and those of the ``outer`` sets
    and ``extra``, never those of ``exclude``. Built for every node, sets would make long
    functions quadratic."""

    __slots__ = ("positions", "index", "outer", "extra", "exclude", "later")

    def __init__(self, positions: dict[str, int], index: int, outer: tuple = (),
                 extra: frozenset[str] = frozenset(), exclude: frozenset[str] = frozenset(),
                 later: bool = True):
        self.positions, self.index, self.outer = positions, index, outer
        self.extra, self.exclude, self.later = extra, exclude, later

    def __contains__(self, name: object) -> bool:
        if name in self.exclude:
            return False
        at = self.positions.get(name)  # type: ignore[arg-type]
        if at is not None and (at > self.index if self.later else at < self.index):
            return True
        return name in self.extra or any(name in o for o in self.outer)

    def __and__(self, other) -> set[str]:
        return {n for n in other if n in self}

    __rand__ = __and__


def _bound_before(block: tuple[Node, ...], outer: tuple, out: dict[int, _Names]) -> None:
    """For each node, the names surely assigned before it runs."""
    first: dict[str, int] = {}
    for k, node in enumerate(block):
        if isinstance(node, Stmt):
            first.setdefault(node.target, k)
        elif isinstance(node, If):
            for n in assigned(node.body) & assigned(node.orelse):
                first.setdefault(n, k)
    for k, node in enumerate(block):
        here = _Names(first, k, outer, later=False)
        out[id(node)] = here
        if isinstance(node, If):
            _bound_before(node.body, (here,), out)
            _bound_before(node.orelse, (here,), out)
        elif isinstance(node, Loop):
            _bound_before(node.body, (here,), out)


def _kill_after(block: tuple[Node, ...], outer: tuple, out: dict[int, _Names]) -> None:
    """For each node, the names that may be assigned after it runs (later in its block, in an
    enclosing block, or in a later iteration of an enclosing loop)."""
    last: dict[str, int] = {}
    bodies: dict[int, set[str]] = {}  # what each loop's body assigns
    for k, node in enumerate(block):
        if isinstance(node, Stmt):
            last[node.target] = k
        elif isinstance(node, If):
            for n in assigned(node.body) | assigned(node.orelse):
                last[n] = k
        elif isinstance(node, Loop):
            bodies[k] = assigned(node.body)
            for n in bodies[k] | {n for n in (node.index, node.trips) if n}:
                last[n] = k
    for k, node in enumerate(block):
        here = _Names(last, k, outer)
        out[id(node)] = here
        if isinstance(node, If):
            _kill_after(node.body, (here,), out)
            _kill_after(node.orelse, (here,), out)
        elif isinstance(node, Loop):
            body = bodies[k]
            extra = frozenset(body | {n for n in (node.trips,) if n})
            exclude = frozenset({node.index}) if node.index and node.index not in body else \
                frozenset()  # the reverse loop sets it again
            _kill_after(node.body, (_Names({}, 0, (here,), extra, exclude),), out)


class _Reverse:
    """Builds the backward sweep, then the forward sweep with the pushes it asked for."""

    def __init__(self, fn: CoreFunction, act: Activity, shapes: ShapeClasses, ctx: PassContext):
        self.fn, self.act, self.shapes, self.ctx = fn, act, shapes, ctx
        self.kills: dict[int, _Names] = {}
        _kill_after(fn.body, (), self.kills)
        self.before: dict[int, _Names] = {}
        _bound_before(fn.body, (frozenset(fn.params),), self.before)
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
                self.kills[key] = _Names({}, 0, (later,), frozenset(
                    v for v, rs in roots.items() if any(r in later for r in rs)))
        self.adjoints: dict[str, str] = {}
        self.stacks: dict[str, str] = {}
        self.pushes: dict[int, tuple[list[tuple[str, int]], list[tuple[str, int]]]] = {}
        self.pairs = 0

    # --- names ---------------------------------------------------------------------------------

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

    # --- saving values the backward sweep reads -----------------------------------------------

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

    # --- backward sweep ------------------------------------------------------------------------

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
        rule = self.ctx.rules[s.prim]
        ops = [(i, s.args[i].name) for i in diff_operands(s, self.ctx.rules)
               if isinstance(s.args[i], Var) and s.args[i].name in self.act.active]
        ops.sort(key=lambda p: p[1] == t)  # the adjoint of the old value of t comes last
        out: list[GNode] = []
        g: cst.BaseExpression = ident(self.adj(t))
        aliased = sum(name == t for _, name in ops) > 1
        if aliased:  # t = t * t: keep d_t before it is replaced
            keep = self.ctx.namer.adjoint(self.ctx.namer.temp())
            out.append(Gen(keep, g, s.origin))
            g = ident(keep)
        read: set[str] = set()
        fns = [rule.vjp[0] if rule.variadic else rule.vjp[i] for i, _ in ops]
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
        low = s.custom.adjoint
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

    def _kept(self, s: Stmt, t: str, st: _State) -> list[Gen]:
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
            g, _, index = (a.value for a in contrib.args)
            return Gen(name, call_of("add_at", ident(name), index, g), origin)
        st.owned.add(var)
        right = contrib if not isinstance(contrib, cst.BinaryOperation) or not isinstance(
            contrib.operator, (cst.Add, cst.Subtract)) else changed(contrib,
            lpar=[cst.LeftParen()], rpar=[cst.RightParen()])
        return Gen(name, cst.BinaryOperation(ident(name), cst.Add(), right), origin)

    def branch(self, node: If, st: _State) -> list[GNode]:
        snap, pushes = self._snapshot(), self._pushes()
        s1, s2 = st.copy(), st.copy()
        body, orelse = self.block(node.body, s1), self.block(node.orelse, s2)
        union = s1.defined | s2.defined
        if union - s1.defined or union - s2.defined:  # again, keeping those adjoints
            self._restore(snap)
            self.pushes = pushes
            s1 = st.copy(keep=st.keep | (union - s1.defined))
            s2 = st.copy(keep=st.keep | (union - s2.defined))
            body, orelse = self.block(node.body, s1), self.block(node.orelse, s2)
            s1.keep = s2.keep = st.keep
            union = s1.defined | s2.defined
        body += self._zeros(union - s1.defined, s1, node.origin, node.body)
        orelse += self._zeros(union - s2.defined, s2, node.origin, node.orelse)
        st.defined, st.owned = union, s1.owned & s2.owned
        st.zero = s1.zero & s2.zero
        st.when = self._joined(node, s1, s2, union - st.zero, _targets(body + orelse))
        if not body and not orelse:
            return []
        test = node.test.name if isinstance(node.test, Var) else None
        # saved before the `if`: a branch may end in `break`
        pops = self._saved(node, [n for n in [test] if n in self.kills[id(node)]], node.origin)
        return [*pops, GIf(atom_node(node.test), tuple(body), tuple(orelse), node.origin)]

    def _joined(self, node: If, s1: _State, s2: _State, names: set[str], changed: set[str]
                ) -> dict[str, _Cond]:
        """After a branch, the tests outside which the adjoints of ``names`` are zeros: the
        branch's own test where one side overwrote the value and the other did not (unless
        the sides' backward code, assigning ``changed``, changes it)."""
        test = node.test.name if isinstance(node.test, Var) else None
        if test in changed:
            test = None
        when: dict[str, _Cond] = {}
        taken = _Cond(ident(test), frozenset({test})) if test is not None else None
        for v in names:
            c1, c2 = s1.when.get(v), s2.when.get(v)
            if c1 is not None and c1 is c2:  # from before the branch
                when[v] = c1
            elif taken is None:
                continue
            elif v in s1.zero:
                not_taken = _Cond(_negated(taken.test), taken.deps)
                when[v] = not_taken if c2 is None else _either(not_taken, c2, both=True)
            elif v in s2.zero:
                when[v] = taken if c1 is None else _either(taken, c1, both=True)
        return when

    def _zeros(self, names, st: _State, origin: Origin, side: tuple[Node, ...] = ()
               ) -> list[Gen]:
        """Zero adjoints for ``names``, at the end of the backward code of a branch's
        ``side``. A name assigned again later holds a later value (another shape) there: its
        value comes back from a push made where the side starts, before the side's own."""
        st.defined |= set(names)
        st.owned |= set(names)
        st.zero |= set(names)
        for v in names:
            st.when.pop(v, None)
        stale = [v for v in sorted(names)
                 if side and v in self.kills[id(side[0])] and v in self.primal]
        pops = self._saved(side[0], stale, origin, first=True) if stale else []
        return pops + [Gen(self.adj(v), call_of("zero_grad", ident(v)), origin)
                       for v in sorted(names)]

    def loop(self, node: Loop, st: _State) -> list[GNode]:
        zero, when, defined = set(st.zero), dict(st.when), set(st.defined)
        entry = st.copy()
        keep: set[str] = set()
        for _ in range(16):  # the adjoints live across iterations settle in a few rounds
            snap, pushes = self._snapshot(), self._pushes()
            exit_ = _State(entry.defined, entry.owned, st.keep | keep)
            body = self.block(node.body, exit_)
            grown = exit_.defined - entry.defined
            lost = (entry.owned - exit_.owned) & exit_.defined
            dropped = entry.defined - exit_.defined - keep
            if not grown and not lost and not dropped:
                break
            entry.defined |= grown
            entry.owned = (entry.owned | grown) - lost
            keep |= dropped  # the next iteration reads it: zeros where it is overwritten
            self._restore(snap)
            self.pushes = pushes
        body += self._zeros(entry.defined - exit_.defined, exit_, node.origin)
        new = entry.defined - st.defined
        # a variable assigned again after the loop holds a later value here: its value at the
        # end of the loop comes back from the stack, so that its zero adjoint has its shape
        stale = sorted(v for v in new if v in self.kills[id(node)] and v in self.primal)
        restore = self._saved(node, stale, node.origin, before=False) if body else []
        inits = self._zeros(new, st, node.origin)
        st.defined, st.owned = entry.defined, entry.owned
        # after the loop, an adjoint the body's first iteration leaves zero is zero if it ran
        touched = _targets(body)
        ran = self._ran(node, touched)
        st.zero = {v for v in zero | new if self.adj(v) not in touched} | (
            exit_.zero if ran is True else exit_.zero & (zero | new))
        st.when = {v: c for v, c in when.items() if self.adj(v) not in touched}
        if isinstance(ran, _Cond):
            st.when.update((v, ran) for v in (exit_.zero & defined) - st.zero)
        if ran is not None:  # zeros where the body's first iteration leaves them so
            st.when.update((v, c if ran is True else _either(ran, c))
                           for v, c in exit_.when.items() if v not in st.zero)
        if not body:
            return []
        reads = [*node.reads(), *([node.trips] if node.trips else [])]
        pops = self._saved(node, sorted(set(reads) & self.kills[id(node)]), node.origin,
                           before=False)
        return [*restore, *inits, *pops, GLoop(node.index or "_", self._reverse_range(node),
                                               tuple(body), node.origin)]

    def _ran(self, node: Loop, changed: set[str]) -> bool | _Cond | None:
        """Whether the loop ran at least once: True if it surely did, else the test that it
        did not (``not trips``, ``len(xs) == 0``), or None where none holds after its reverse
        (whose body assigns ``changed``)."""
        if node.trips:
            return _Cond(_negated(ident(node.trips)), frozenset({node.trips}))
        if node.bounds is None:
            return None
        parts = [*node.bounds, *([node.limit] if node.limit is not None else [])]
        if all(isinstance(a, Lit) and isinstance(a.node, cst.Integer) for a in parts):
            r = range(*(int(a.node.value) for a in node.bounds))
            return True if (r if node.limit is None else r[:int(node.limit.node.value)]) \
                else None
        deps = frozenset(node.reads())
        if deps & changed:
            return None
        start, stop, step = (atom_node(a) for a in node.bounds)
        if node.limit is None and is_int(start, 0) and is_int(step, 1):
            zero = cst.Integer("0")
            test = cst.Comparison(stop, [cst.ComparisonTarget(
                cst.Equal() if call_name(stop) == "len" else cst.LessThanEqual(), zero)])
        else:
            test = _negated(counted_range(node))
        return _Cond(test, deps)

    def _reverse_range(self, node: Loop) -> cst.BaseExpression:
        if node.bounds is None:
            assert node.trips
            return call_of("range", ident(node.trips))
        r = counted_range(node)
        if node.backward:  # a loop over reversed(r): back in r's order
            if not node.trips:
                return r
            r = sliced(r, step=cst.UnaryOperation(cst.Minus(), cst.Integer("1")))
        if node.trips:  # a loop that may break: the iterations it ran
            r = sliced(r, stop=ident(node.trips))
        return call_of("reversed", r)

    # --- forward sweep -------------------------------------------------------------------------

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


def _in_place(expr: cst.BaseExpression) -> cst.BaseExpression:
    """``zero_at(g, index, copy=True)`` -> ``zero_at(g, index)``."""
    if call_name(expr) == "zero_at":
        args = [a for a in expr.args if a.keyword is None]
        args[-1] = changed(args[-1], comma=cst.MaybeSentinel.DEFAULT)
        return changed(expr, args=args)
    return expr


def _indexed_params(fn: CoreFunction) -> set[str]:
    """Parameters read by index: they may be tuples, lists or dicts, whose adjoints are put
    back into the argument's structure at the end (``densify``)."""
    return {s.args[0].name for s in walk(fn.body) if isinstance(s, Stmt)
            and s.prim == "getitem" and isinstance(s.args[0], Var) and s.args[0].name in fn.params}


def reverse(fn: CoreFunction, wrt: tuple[str, ...], act: Activity, shapes: ShapeClasses,
            ctx: PassContext, *, with_value: bool = False, cotangent: bool = False) -> Program:
    """The program computing ``fn``'s value (if ``with_value``) and its gradient wrt ``wrt``.
    With ``cotangent``, the output's adjoint is a keyword-only parameter (``d_out``) instead
    of 1: a vector-Jacobian product, for outputs of any shape."""
    result = fn.result
    if isinstance(result, Lit) and isinstance(result.node, cst.Name) and \
            result.node.value == "None":
        raise SrcGradError(f"{fn.name} returns None: there is no output to differentiate",
                           fn.result_origin.loc, hint="return the scalar to differentiate")
    if isinstance(result, tuple) and not cotangent:
        raise SrcGradError(f"grad needs a function with one scalar output; {fn.name} returns "
                           f"{len(result)} values", fn.result_origin.loc,
                           hint="differentiate a scalar made of them, or use srcgrad.jacobian "
                           "or srcgrad.vjp for several outputs")
    rev = _Reverse(fn, act, shapes, ctx)
    st = _State()
    backward: list[GNode] = []
    seed_param: tuple[str, ...] = ()
    if cotangent and isinstance(result, tuple):  # d_out = (d_r, d_theta): one per output
        seed_param = (ctx.namer.adjoint("out"),)
        for k, a in enumerate(result):
            if isinstance(a, Var) and a.name in act.active:
                item = cst.Subscript(ident(seed_param[0]),
                                     [cst.SubscriptElement(cst.Index(cst.Integer(str(k))))])
                gen = rev.add(a.name, item, st, fn.result_origin)
                if gen is not None:
                    backward.append(gen)
    elif cotangent:  # the caller's array: never updated in place (not owned)
        name = result.name if isinstance(result, Var) else "out"
        seed_param = (rev.adj(name),)
        if isinstance(result, Var) and result.name in act.active:
            st.defined.add(result.name)
    elif isinstance(result, Var) and result.name in act.active:
        if shapes.find(result.name) == shapes.SCALAR:  # a full reduction: surely a scalar
            seed: cst.BaseExpression = cst.Float("1.0")
        else:  # checked at run time: grad needs a scalar output
            seed = call_of("seed", ident(result.name))
        backward.append(rev.add(result.name, seed, st, fn.result_origin))
    backward += rev.block(fn.body, st)
    forward: list[GNode] = []
    started: set[str] = set()
    for node in fn.body:  # each stack starts empty before the statement that first pushes
        part = rev.forward((node,))
        for g in gens(tuple(part)):
            stack = call_receiver(g.expr) if g.pair and not g.target else None
            if stack and stack not in started:
                started.add(stack)
                forward.append(Gen(stack, cst.List([]), node.origin))
        forward += part
    containers = _indexed_params(fn)
    returns = []
    for p in wrt:
        if p in st.defined:
            g: cst.BaseExpression = ident(rev.adj(p))
            if p in containers:
                g = call_of("densify", g, ident(p))
        else:
            g = call_of("zero_grad", ident(p))
        returns.append(g)
    if with_value:
        value = atom_node(result)
        grads = returns[0] if len(returns) == 1 else cst.Tuple([cst.Element(r) for r in returns])
        returns = [value, grads]
    if cotangent:
        kwonly = (*seed_param, *fn.kwonly)
        params = (*(p for p in fn.params if p not in fn.kwonly), *kwonly)
        return Program(f"vjp_{function_name(fn.name)}", params, tuple(forward), tuple(backward),
                       tuple(returns), kwonly=kwonly)
    return Program(f"grad_{function_name(fn.name)}", fn.params, tuple(forward), tuple(backward),
                   tuple(returns), kwonly=fn.kwonly)


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
        if k >= len(updated.args) or not isinstance(updated.args[k].value, cst.Name):
            return updated
        root = self.shapes.find(updated.args[k].value.value)
        if root not in self.act.active or root in self.shapes.changing:
            return updated
        args = list(updated.args)
        args[k] = changed(args[k], value=ident(root))
        return changed(updated, args=args)


def scalar_adjoints(program: Program, fn: CoreFunction, shapes: ShapeClasses,
                    act: Activity) -> frozenset[str]:
    """Adjoint names known to hold scalars: the seed and adjoints of full reductions."""
    names = {g.target for g in gens(program.backward) if call_name(g.expr) == "seed"}
    scalar_vars = {v for v in act.active if shapes.find(v) == shapes.SCALAR}
    return frozenset(names | {f"d_{v}" for v in scalar_vars})
