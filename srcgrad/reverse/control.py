"""The backward sweep of branches and loops: a branch reads the condition the forward sweep
recorded, a loop runs backwards over its range or counted trips, and the adjoints a branch or
loop may leave as zeros are zeros outside a test."""

from __future__ import annotations

from typing import Literal

import libcst as cst

from srcgrad.build import (
    atom_node,
    call_name,
    call_of,
    counted_range,
    is_int,
    sliced,
)
from srcgrad.cstwalk import ident
from srcgrad.ir import (
    Atom,
    Gen,
    GIf,
    GLoop,
    GNode,
    If,
    Lit,
    Loop,
    Node,
    Origin,
    Var,
)
from srcgrad.reverse.state import _Cond, _either, _negated, _State, _targets
from srcgrad.reverse.statements import _Statements


class _Control(_Statements):
    """The backward sweep of branches and loops."""

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
        pops = self._saved(node, [n for n in [test] if n is not None and n in self.kills[id(node)]],
                           node.origin)
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

    def _ran(self, node: Loop, changed: set[str]) -> Literal[True] | _Cond | None:
        """Whether the loop ran at least once: True if it surely did, else the test that it
        did not (``not trips``, ``len(xs) == 0``), or None where none holds after its reverse
        (whose body assigns ``changed``)."""
        if node.trips:
            return _Cond(_negated(ident(node.trips)), frozenset({node.trips}))
        if node.bounds is None:
            return None
        parts = [*node.bounds, *([node.limit] if node.limit is not None else [])]
        if all(isinstance(a, Lit) and isinstance(a.node, cst.Integer) for a in parts):
            r = range(*(_int_of(a) for a in node.bounds))
            return True if (r if node.limit is None else r[:_int_of(node.limit)]) \
                else None
        deps = frozenset(node.reads())
        if deps & changed:
            return None
        start, stop, step = (atom_node(a) for a in node.bounds)
        if node.limit is None and is_int(start, 0) and is_int(step, 1):
            zero = cst.Integer("0")
            test: cst.BaseExpression = cst.Comparison(stop, [cst.ComparisonTarget(
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


def _int_of(a: Atom) -> int:
    """The value of an atom known to be an integer literal."""
    assert isinstance(a, Lit) and isinstance(a.node, cst.Integer)
    return int(a.node.value)
