"""Control flow: ``if``, ``for`` and ``while``, ``break``, ``continue`` and early
``return``, loops that count down from ``range`` bounds or count their trips."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable
from dataclasses import replace
from typing import Any, cast

import libcst as cst

from srcgrad.ir import (
    Atom,
    If,
    Jump,
    Lit,
    Loop,
    Node,
    Origin,
    Stmt,
    Var,
    always_exits,
    assigned,
    atom_uses,
    may_exit,
)
from srcgrad.normalize.base import _Base
from srcgrad.normalize.values import (
    Frame,
    Home,
    Local,
    Method,
    Obj,
    Pack,
    _assigned_names,
    _name_of,
    _own_jumps,
    _statement_list,
)


class _Control(_Base):
    @contextlib.contextmanager
    def _control(self, frame: Frame, node: cst.CSTNode):
        """Lower a branch or loop: every name it assigns gets one home for the whole statement
        (the outermost one decides), and no result computed outside is reused inside."""
        outermost = not frame.homes
        for name in _assigned_names(node):
            if name in frame.homes:
                continue
            current = frame.env.get(name)
            if isinstance(current, Lit) and len(current.uses) == 1 and isinstance(
                    current.node, cst.Name) and current.node.value in current.uses:
                current = Var(current.node.value)  # a loop index of an earlier loop
            owned = isinstance(current, Var) and self._owner.get(current.name) == (
                id(frame), name) and not any(k != name and v == current
                                             for k, v in frame.env.items())
            if owned:
                home = cast(Var, current).name
            else:
                home = self._target(frame, name)
                if current is not None and not isinstance(current, (Local, Obj, Method)):
                    self._origin(frame, node)
                    if name in frame.bound_at:  # `h = h0` before the loop: quote that line
                        frame.origin = frame.bound_at[name]
                    if isinstance(current, Pack) and current.kind == "list":
                        self._runtime_list(frame, home, current, node)
                    else:
                        self.emit(frame, home, "assign",
                                  (self.materialize(frame, current, node),))
            frame.homes[name] = home
            frame.env[name] = Var(home)
        self._forget()
        try:
            yield
        finally:
            self._forget()
            if outermost:
                frame.homes.clear()

    def _block(self, frame: Frame, statements: list, loop: bool = False) -> tuple[Node, ...]:
        """Lower ``statements`` into a block of their own."""
        self.blocks.append([])
        self._forget()
        frame.loops += loop
        try:
            self._statements(frame, statements, top=False)
        finally:
            frame.loops -= loop
            self._forget()
        return tuple(self.blocks.pop())

    def _test(self, frame: Frame, node: cst.BaseExpression) -> Var:
        """The branch to take, in a variable the reverse sweep reads again: ``cond = x > 0``."""
        return self.emit(frame, self.ctx.namer.fresh("cond"), "assign",
                         (self._passive_expr(frame, node),))

    def _if(self, frame: Frame, node: cst.If) -> None:
        origin = self._origin(frame, node)
        test = self._test(frame, node.test)
        frame.branches += 1
        try:
            self._if_blocks(frame, node, test, origin)
        finally:
            frame.branches -= 1

    def _if_blocks(self, frame: Frame, node: cst.If, test: Var, origin: Origin) -> None:
        body = self._block(frame, _statement_list(node.body))
        if isinstance(node.orelse, cst.If):  # elif
            orelse = self._block_of(frame, lambda: self._if(frame, cast(cst.If, node.orelse)))
        elif isinstance(node.orelse, cst.Else):
            orelse = self._block(frame, _statement_list(node.orelse.body))
        else:
            orelse = ()
        self.body.append(If(test, body, orelse, origin))

    def _block_of(self, frame: Frame, lower: Callable[[], None]) -> tuple[Node, ...]:
        self.blocks.append([])
        try:
            lower()
        finally:
            block = self.blocks.pop()
        return tuple(block)

    def _rest(self, frame: Frame, rest: list) -> tuple[Node, ...]:
        frame.branches += 1  # the statements now run inside a branch
        try:
            return self._block(frame, rest)
        finally:
            frame.branches -= 1

    def _early_return(self, frame: Frame, node: cst.Return) -> None:
        """``return v`` inside a branch: ``v`` goes to the function's result variable and the
        statements after the ``if`` move to the other branch."""
        self._assign_result(frame, node)
        assert frame.origin is not None  # _statements sets it before each statement
        self.body.append(Jump("return", frame.origin, id(frame)))
        return None

    def _assign_result(self, frame: Frame, node: cst.Return) -> None:
        """``return v`` into the function's result variable; ``return a, b`` of the function
        being differentiated into one result variable per output."""
        if node.value is None:
            raise self.error(frame, node, "a bare `return` has no value to differentiate")
        parts = self._outputs(frame, node)
        if frame.result is None:
            frame.result = self._target(frame, frame.return_hint) if parts is None else \
                tuple(self._target(frame, f"out{k}") for k in range(1, len(parts) + 1))
        several = isinstance(frame.result, tuple)
        if several != (parts is not None) or (several and len(cast(list, parts)) != len(
                frame.result)):
            n = len(frame.result) if several else 1
            raise self.error(frame, node, f"this return gives {len(parts or [1])} value(s), an "
                             f"earlier one {n}", "return as many values on every path")
        if isinstance(frame.result, tuple):  # (several)
            assert parts is not None
            pairs: Iterable[tuple[str, cst.BaseExpression]] = zip(frame.result, parts, strict=True)
        else:
            pairs = [(frame.result, node.value)]
        for home, expr in pairs:
            value = self.atom(frame, expr, Home(home))
            if value != Var(home):
                self.emit(frame, home, "assign", (value,))

    @staticmethod
    def _outputs(frame: Frame, node: cst.Return) -> list[cst.BaseExpression] | None:
        """The values of ``return a, b`` (several outputs of the function being
        differentiated; a tuple its caller unpacks for a function inlined); None for any other
        return."""
        if isinstance(node.value, cst.Tuple) and len(
                node.value.elements) > 1 and all(isinstance(e, cst.Element)
                                                 for e in node.value.elements):
            return [e.value for e in node.value.elements]
        return None

    @staticmethod
    def _result_atoms(frame: Frame) -> Any:
        if isinstance(frame.result, tuple):
            atoms = tuple(Var(r) for r in frame.result)
            return Pack("tuple", atoms) if frame.where else atoms
        assert frame.result is not None  # a return has set it
        return Var(frame.result)

    def _jump_rest(self, frame: Frame, stmt: cst.If, rest: list) -> bool:
        """After ``if c: ... break``, the statements that follow run only on the paths through
        the ``if`` that do not jump: move them there (a copy on each such path). True when
        ``rest`` has been lowered (or never runs)."""
        node = self.body[-1]
        assert isinstance(node, If)
        scope = id(frame)
        if not (may_exit(node.body, scope) or may_exit(node.orelse, scope)):
            return False
        if rest:
            self.body[-1] = self._with_rest(frame, node, rest, scope)
        return True

    def _with_rest(self, frame: Frame, node: If, rest: list, scope: int) -> If:
        return replace(node, body=self._append_rest(frame, node.body, rest, scope),
                       orelse=self._append_rest(frame, node.orelse, rest, scope))

    def _append_rest(self, frame: Frame, block: tuple[Node, ...], rest: list, scope: int
                     ) -> tuple[Node, ...]:
        # only the last node of a block can jump: a jumping `if` took the nodes after it
        if always_exits(block, scope):
            return block
        if block and isinstance(block[-1], If) and may_exit(block[-1:], scope):
            return (*block[:-1], self._with_rest(frame, block[-1], rest, scope))
        return block + self._rest(frame, rest)

    def _with_else(self, frame: Frame, node, lower: Callable) -> None:
        """A loop, and its ``else:`` block, which runs when no ``break`` ended the loop: every
        ``break`` of the loop sets ``broke = True`` first."""
        if node.orelse is None:
            frame.break_flags.append(None)
            try:
                lower(frame, node)
            finally:
                frame.break_flags.pop()
            return
        origin = self._origin(frame, node)
        flag = self.ctx.namer.fresh("broke")
        self.body.append(Stmt(flag, "assign", (Lit(cst.Name("False")),), (), origin))
        frame.break_flags.append(flag)
        try:
            lower(frame, node)
        finally:
            frame.break_flags.pop()
        orelse = self._rest(frame, _statement_list(node.orelse.body))
        if may_exit(orelse, id(frame)):
            raise self.error(frame, node.orelse, "`break`, `continue` or `return` in the "
                             "`else:` block of a loop is not supported yet",
                             "set a flag there and test it after the loop")
        self.body.append(If(Var(flag), (), orelse, origin))

    def _break(self, frame: Frame, origin: Origin) -> list[Node]:
        """The nodes of a ``break`` of the innermost loop."""
        flag = frame.break_flags[-1] if frame.break_flags else None
        out: list[Node] = []
        if flag is not None:
            out.append(Stmt(flag, "assign", (Lit(cst.Name("True")),), (), origin))
        return [*out, Jump("break", origin)]

    def _while(self, frame: Frame, node: cst.While) -> None:
        self._with_else(frame, node, self._while_loop)

    def _kept(self, frame: Frame, bound: Atom) -> Atom:
        """A loop bound or sequence, bound to a temporary if the loop rebinds what it reads:
        Python evaluates it once, before the first trip (and the reverse sweep reads it again
        after the loop)."""
        if atom_uses(bound) & set(frame.homes.values()):
            return self.emit(frame, self.ctx.namer.temp(), "assign", (bound,))
        return bound

    def _loop(self, frame: Frame, node, origin: Origin, index: str, bounds,
              items: list, statements: list, user_index: str | None = None, *,
              limit: Atom | None = None, backward: bool = False) -> None:
        """Lower a counted loop: ``items`` are (target, sequence) pairs read at the index."""
        if user_index is not None:  # an int, never differentiated: `t + 1` stays as written
            frame.env[user_index] = Lit(cst.Name(index), frozenset({index}), scalar=True)

        def lower_body():
            for target, seq in items:
                frame.origin = origin
                self.assign(frame, target, self.emit(
                    frame, self._target(frame, _name_of(target)), "getitem", (seq,),
                    (("index", Lit(cst.Name(index), frozenset({index}), scalar=True)),)))
            self._statements(frame, statements, top=False)

        body = self._loop_body(frame, lower_body)
        trips = None
        if any(isinstance(n, Jump) and n.kind == "break" for n in _own_jumps(body)):
            trips = self._count_trips(frame, origin)
            body = (self._increment(frame, trips, origin), *body)
        self.body.append(Loop(body, origin, index=index, bounds=bounds, trips=trips,
                              limit=limit, backward=backward))

    def _loop_body(self, frame: Frame, lower: Callable[[], object]) -> tuple[Node, ...]:
        if not frame.loops:
            frame.outer_block = len(self.blocks) - 1
        self.blocks.append([])
        self._forget()
        frame.loops += 1
        stale = set(self._stale)
        try:
            lower()
        finally:
            frame.loops -= 1
            self._forget()
        body = tuple(self.blocks.pop())
        # (a view the body takes again before it reads it is a new view at every trip)
        self._refuse_stale_reads(frame, body, set(self._stale) - stale - assigned(body))
        return body

    def _loop_return(self, frame: Frame, node: cst.Return) -> None:
        """``return v`` inside a loop: ``v`` goes to the result, a flag says so, and ``break``;
        after each loop the flag ends the enclosing loop or the function (``_after_loop``)."""
        assert frame.origin is not None  # _statements sets it before each statement
        if frame.returned is None:
            frame.returned = self.ctx.namer.fresh("returned")
            self.blocks[frame.outer_block].append(Stmt(
                frame.returned, "assign", (Lit(cst.Name("False")),), (), frame.origin))
        self._assign_result(frame, node)
        self.body.append(Stmt(frame.returned, "assign", (Lit(cst.Name("True")),), (),
                              frame.origin))
        self.body.extend(self._break(frame, frame.origin))
        frame.loop_returns += 1

    def _after_loop(self, frame: Frame, origin: Origin, rest: list) -> bool:
        """After a loop that may have returned: leave the enclosing loop (or the function)
        if it did, else run ``rest``. True when ``rest`` has been lowered."""
        assert frame.returned is not None
        jump = self._break(frame, origin) if frame.loops else [Jump("return", origin,
                                                                     id(frame))]
        self.body.append(If(Var(frame.returned), tuple(jump), (), origin))
        if not rest:
            return True
        assert isinstance(self.body[-1], If)  # the one just appended
        self.body[-1] = replace(self.body[-1], orelse=self._rest(frame, rest))
        return True

    def _count_trips(self, frame: Frame, origin: Origin) -> str:
        trips = self.ctx.namer.fresh("trips")
        frame.origin = origin
        self.body.append(Stmt(trips, "assign", (Lit(cst.Integer("0")),), (), origin))
        return trips

    def _increment(self, frame: Frame, trips: str, origin: Origin) -> Stmt:
        return Stmt(trips, "add", (Var(trips), Lit(cst.Integer("1"), scalar=True)), (), origin)

    def _while_loop(self, frame: Frame, node: cst.While) -> None:
        origin = self._origin(frame, node)
        test = self._passive_expr(frame, node.test)
        trips = self._count_trips(frame, origin)
        body = self._loop_body(frame, lambda: self._statements(
            frame, _statement_list(node.body), top=False))
        body = (self._increment(frame, trips, origin), *body)
        self.body.append(Loop(body, origin, test=test, trips=trips))
