"""Lower a user function to the core form: one primitive per statement.

before: any supported Python function body (nested expressions, method calls, tuple unpacking,
augmented assignment, calls to other user functions, lambdas, literal containers, ``if``,
``for``, ``while``, ``break``, ``continue``, conditional expressions).
after:  a :class:`~srcgrad.ir.CoreFunction` whose statements are ``target = prim(atoms)``;
reassigned names are versioned (``h``, ``h_2``) outside control flow and keep one name (their
*home*) inside it; calls to user functions are inlined; loops count down from ``range``
bounds or count their trips; the statements after an ``if`` whose branch always breaks or
continues move into the other branch; every node knows the user statement it came from.
"""

from __future__ import annotations

import ast
import builtins
import contextlib
import functools
import inspect
import numbers
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import libcst as cst
import numpy as np

from srcgrad import custom
from srcgrad.context import PassContext
from srcgrad.cstwalk import visit
from srcgrad.errors import SrcGradError
from srcgrad.ir import (
    Atom,
    CoreFunction,
    Custom,
    If,
    Jump,
    Lit,
    Loop,
    Lowered,
    Node,
    Origin,
    Stmt,
    Var,
    always_exits,
    may_exit,
)
from srcgrad.parse import ParsedFunction, parse_function
from srcgrad.printer import code
from srcgrad.rules import Rule, runtime
from srcgrad.rules.calls import METHODS, PROPERTIES, CallSpec, is_array_module
from srcgrad.rules.shape import VIEWS
from srcgrad.template import grouped, names_in

_BINOPS: dict[type, str] = {
    cst.Add: "add", cst.Subtract: "subtract", cst.Multiply: "multiply", cst.Divide: "divide",
    cst.FloorDivide: "floor_divide", cst.Modulo: "mod", cst.Power: "power",
    cst.MatrixMultiply: "matmul", cst.BitAnd: "bitwise_and", cst.BitOr: "bitwise_or",
    cst.BitXor: "bitwise_xor",
}
_AUGOPS: dict[type, type] = {
    cst.AddAssign: cst.Add, cst.SubtractAssign: cst.Subtract, cst.MultiplyAssign: cst.Multiply,
    cst.DivideAssign: cst.Divide, cst.FloorDivideAssign: cst.FloorDivide,
    cst.ModuloAssign: cst.Modulo, cst.PowerAssign: cst.Power,
    cst.MatrixMultiplyAssign: cst.MatrixMultiply,
}
_COMPARE: dict[type, str] = {
    cst.LessThan: "less", cst.LessThanEqual: "less_equal", cst.GreaterThan: "greater",
    cst.GreaterThanEqual: "greater_equal", cst.Equal: "equal", cst.NotEqual: "not_equal",
}
_UNARY: dict[type, str] = {cst.Minus: "negative", cst.Plus: "positive", cst.BitInvert: "invert"}
_PASSIVE_ATTRIBUTES = {"dtype", "itemsize", "nbytes", "strides", "shape", "ndim", "size"}
_SCALAR_ATTRIBUTES = {"itemsize", "nbytes", "ndim", "size"}
_UNSUPPORTED_BLOCKS = {cst.Try: "try", cst.With: "with", cst.ClassDef: "class",
                       cst.Match: "match"} if hasattr(cst, "Match") else {
    cst.Try: "try", cst.With: "with", cst.ClassDef: "class"}


@dataclass(frozen=True)
class Home:
    """A hint naming the exact core variable a value goes to (a name assigned inside control
    flow keeps one name)."""

    name: str


@dataclass(frozen=True)
class Pack:
    """A literal tuple, list or dict of atoms, kept symbolic while only indexed or unpacked."""

    kind: str                       # "tuple" | "list" | "dict"
    items: tuple[Any, ...]          # Atom | Pack | Local
    keys: tuple[Any, ...] | None = None


@dataclass(frozen=True, eq=False)
class Local:
    """A function defined inside the function being normalized (``def`` or ``lambda``)."""

    name: str
    params: cst.Parameters
    body: cst.BaseSuite | cst.BaseExpression
    frame: Frame
    defaults: dict[str, Any]


@dataclass(frozen=True)
class Ref:
    """A non-local object reached by name: a module, a function, a class."""

    obj: Any
    node: cst.BaseExpression


@dataclass(eq=False)
class Frame:
    """One function body being lowered: its parsed source and its name environment."""

    parsed: ParsedFunction
    env: dict[str, Any]
    where: str
    origin: Origin | None = None
    return_hint: str | Home | None = "out"   # name for the value of `return <expression>`
    homes: dict[str, str] = field(default_factory=dict)  # user name -> core name, in control flow
    loops: int = 0   # how many loops enclose the statement being lowered
    branches: int = 0  # how many branches enclose it
    mutated: frozenset[str] = frozenset()  # user names assigned by index (`y[i] = v`)
    pinned: dict[str, str] = field(default_factory=dict)  # ... and their one core name each
    result: str | tuple[str, ...] | None = None  # the variable(s) every `return` assigns
    returned: str | None = None  # the flag a `return` inside a loop sets
    outer_block: int = -1  # the block the outermost loop being lowered goes into
    loop_returns: int = 0  # how many `return`s inside loops have been lowered
    break_flags: list = field(default_factory=list)  # per loop: the flag `break` sets, or None
    bound_at: dict[str, Origin] = field(default_factory=dict)  # `h = x`: where h was bound
    iterated: dict[str, int] = field(default_factory=dict)  # names enclosing loops iterate over


def normalize(parsed: ParsedFunction, ctx: PassContext, fn: Callable | None = None) -> CoreFunction:
    """Lower ``parsed`` to the core form."""
    return _Lowering(ctx).function(parsed, fn)


class _Lowering:
    def __init__(self, ctx: PassContext):
        self.ctx = ctx
        self.blocks: list[list[Node]] = [[]]
        self._parsed_cache: dict[int, ParsedFunction] = {}
        self._computed: dict[tuple, Var] = {}
        self._computed_reads: set[str] = set()  # the names the keys of _computed read
        self._targets: set[str] = set()
        self._owner: dict[str, tuple[int, str]] = {}  # core name -> (frame, user name) it versions
        self.lists: set[str] = set()   # core names of lists built at run time
        self.arrays: set[str] = set()  # core names of arrays assigned by index
        self._synthetic: dict[int, Origin] = {}  # statements made here -> the user's statement
        self._keep: list[cst.CSTNode] = []   # ... kept alive so that their ids stay theirs
        self._custom_names: dict[int, str] = {}  # id of a function with rules -> its primitive
        self._opaque_results: set[str] = set()  # variables an opaque call assigned

    @property
    def body(self) -> list[Node]:
        """The block statements are appended to."""
        return self.blocks[-1]

    # --- errors and origins --------------------------------------------------------------

    def error(self, frame: Frame, node: cst.CSTNode, message: str, hint: str | None = None):
        return SrcGradError(message, frame.parsed.loc(node), hint)

    def emit(self, frame: Frame, target: str, prim: str, args, params=(), omitted=()) -> Var:
        """Append ``target = prim(args, params)``; a temporary repeating an earlier pure
        statement is not computed again (``(x - mu)`` written twice is computed once)."""
        assert frame.origin is not None
        key = (prim, tuple(_atom_key(a) for a in args),
               tuple((k, _atom_key(v)) for k, v in params), frozenset(omitted))
        if prim != "call" and _TEMP.match(target) and key in self._computed:
            return self._computed[key]
        if target in self._targets or target in self._computed_reads:
            # an overwritten name (a holder, or an operand of a result: a loop's variable is
            # assigned under its own name): earlier results may be stale
            self._forget()
        self._targets.add(target)
        self.body.append(Stmt(target, prim, tuple(args), tuple(params), frame.origin,
                              frozenset(omitted)))
        reads = frozenset().union(*(_uses(a) for a in (*args, *(v for _, v in params))
                                    if isinstance(a, (Var, Lit))))
        if prim != "call" and target not in reads:  # a = np.tanh(a): a's new value is not
            self._computed[key] = Var(target)       # what np.tanh(a) computes from now on
            self._computed_reads |= reads
        return Var(target)

    def _forget(self) -> None:
        """No earlier result is reused from here on."""
        self._computed.clear()
        self._computed_reads.clear()

    # --- functions -------------------------------------------------------------------------

    def function(self, parsed: ParsedFunction, fn: Callable | None) -> CoreFunction:
        frame = Frame(parsed, {}, "", mutated=_subscript_targets(parsed.node.body))
        if parsed.node.asynchronous is not None:
            raise self.error(frame, parsed.node, "an `async def` function is not supported",
                             "differentiate a plain function; await outside it")
        params = self._param_names(frame, parsed.node.params)
        for p in params:
            frame.env[p] = Var(self.ctx.namer.claim(p))
            self._owner[frame.env[p].name] = (id(frame), p)
        if fn is not None:
            self.ctx.stack.append(fn)
        self._own_copies(frame, params)
        result, origin = self._suite(frame, parsed.node.body)
        kwonly = tuple(p.name.value for p in parsed.node.params.kwonly_params)
        return CoreFunction(parsed.name, tuple(params), tuple(self.blocks[0]), result, origin,
                            kwonly, frozenset(self.lists), frozenset(self.arrays))

    def _own_copies(self, frame: Frame, params) -> None:
        """Arguments the function assigns to by index are copied first: the caller's arrays
        never change."""
        for p in params:
            if p in frame.mutated:
                frame.origin = Origin(frame.parsed.loc(frame.parsed.node),
                                      f"{p}[...] = ... below: on a copy of the argument {p}",
                                      frame.where)
                self.assign(frame, cst.Name(p), frame.env[p])

    def _param_names(self, frame: Frame, params: cst.Parameters) -> list[str]:
        if isinstance(params.star_arg, cst.Param):  # a bare `*` (keyword-only) is fine
            raise self.error(frame, params.star_arg, "*args parameters are not supported",
                             "list the parameters explicitly")
        if params.star_kwarg is not None:
            raise self.error(frame, params.star_kwarg, "**kwargs parameters are not supported",
                             "list the parameters explicitly")
        every = (*params.posonly_params, *params.params, *params.kwonly_params)
        return [p.name.value for p in every]

    def _suite(self, frame: Frame, suite) -> tuple[Atom, Origin]:
        """Lower a function body; returns the returned atom and the return's origin."""
        ret = self._statements(frame, _statement_list(suite), top=True)
        if ret is not None:
            return ret
        if frame.result is not None:  # every path returned inside a branch
            return self._result_atoms(frame), frame.origin
        origin = frame.origin or Origin(frame.parsed.loc(frame.parsed.node), "return None",
                                        frame.where)
        return Lit(cst.Name("None")), origin

    def _statements(self, frame: Frame, statements: list, top: bool
                    ) -> tuple[Atom, Origin] | None:
        """Lower a list of statements into the current block; at the top level of a function,
        the returned atom and its origin when a ``return`` ends the list."""
        for i, stmt in enumerate(statements):
            last = top and i == len(statements) - 1
            if isinstance(stmt, cst.SimpleStatementLine):
                for j, small in enumerate(stmt.body):
                    frame.origin = self._synthetic.get(id(small)) or Origin(
                        frame.parsed.loc(small), frame.parsed.text(small), frame.where)
                    ret = self._small(frame, small, last and j == len(stmt.body) - 1)
                    if ret is not None:
                        return ret, frame.origin
                    if isinstance(small, (cst.Break, cst.Continue)):
                        return None  # the rest of the block never runs
            elif isinstance(stmt, cst.FunctionDef):
                frame.origin = Origin(frame.parsed.loc(stmt), f"def {stmt.name.value}(...)",
                                      frame.where)
                frame.env[stmt.name.value] = self._local(frame, stmt.name.value, stmt.params,
                                                         stmt.body)
            elif isinstance(stmt, (cst.If, cst.For, cst.While)):
                with self._control(frame, stmt):
                    if isinstance(stmt, cst.If):
                        self._if(frame, stmt)
                        if self._jump_rest(frame, stmt, statements[i + 1:]):
                            return None
                    else:
                        returns = frame.loop_returns
                        (self._for if isinstance(stmt, cst.For) else self._while)(frame, stmt)
                        if frame.loop_returns > returns and self._after_loop(
                                frame, frame.origin, statements[i + 1:]):
                            return None
            else:
                kw = _UNSUPPORTED_BLOCKS.get(type(stmt))
                what = f"`{kw}` statements are" if kw else f"{type(stmt).__name__} is"
                raise self.error(frame, stmt, f"{what} not supported in a differentiated "
                                 "function", "move it outside the function")
        return None

    # --- control flow ----------------------------------------------------------------------

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
                home = current.name
            else:
                home = self._target(frame, name)
                if current is not None and not isinstance(current, Local):
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

    def _origin(self, frame: Frame, node: cst.CSTNode) -> Origin:
        frame.origin = self._synthetic.get(id(node)) or Origin(
            frame.parsed.loc(node), _header(frame, node), frame.where)
        return frame.origin

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
            orelse = self._block_of(frame, lambda: self._if(frame, node.orelse))
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
        if several != (parts is not None) or (several and len(parts) != len(frame.result)):
            n = len(frame.result) if several else 1
            raise self.error(frame, node, f"this return gives {len(parts or [1])} value(s), an "
                             f"earlier one {n}", "return as many values on every path")
        for home, expr in zip(frame.result, parts, strict=True) if several else \
                [(frame.result, node.value)]:
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

    def _for(self, frame: Frame, node: cst.For) -> None:
        it = node.iter
        seqs = [a.value for a in it.args] if isinstance(it, cst.Call) and isinstance(
            it.func, cst.Name) and it.func.value in ("enumerate", "zip") else [it]
        line = self._origin(frame, node).loc.lineno
        outer = frame.iterated
        frame.iterated = {**{q.value: line for q in seqs if isinstance(q, cst.Name)}, **outer}
        try:
            self._with_else(frame, node, self._for_loop)
        finally:
            frame.iterated = outer

    def _while(self, frame: Frame, node: cst.While) -> None:
        self._with_else(frame, node, self._while_loop)

    def _for_loop(self, frame: Frame, node: cst.For) -> None:
        origin = self._origin(frame, node)
        if node.asynchronous is not None:
            raise self.error(frame, node, "`async for` is not supported")
        iterable, target = node.iter, node.target
        call = iterable if isinstance(iterable, cst.Call) else None
        builtin = self._builtin_callee(frame, call) if call is not None else None
        statements = _statement_list(node.body)
        counted = self._counted(frame, iterable)
        if counted is not None:
            if not isinstance(target, cst.Name):
                raise self.error(frame, target, "the target of a loop over range() must be a "
                                 "name")
            bounds, limit, backward = counted
            self._loop(frame, node, origin, frame.homes[target.value], bounds, [], statements,
                       target.value, limit=limit, backward=backward)
            return
        if builtin in (enumerate, zip):
            self._for_items(frame, node, origin, builtin, call, statements)
            return
        value = self.value(frame, iterable, None)
        if isinstance(value, Pack):  # a literal tuple or list: one copy of the body per item
            for item in value.items:
                self.assign(frame, target, item)
                self._statements(frame, statements, top=False)
            return
        seq = self._kept(frame, self.materialize(frame, value, iterable))
        index = self.ctx.namer.fresh("i")
        length = Lit(cst.Call(cst.Name("len"), [cst.Arg(_atom_node(seq))]), _uses(seq),
                     scalar=True)
        self._loop(frame, node, origin, index, (Lit(cst.Integer("0")), length,
                                                Lit(cst.Integer("1"))),
                   [(target, seq)], statements)

    def _for_items(self, frame, node, origin, builtin, call, statements) -> None:
        args = [a for a in call.args if a.keyword is None]
        if builtin is enumerate:
            target = node.target
            if not (isinstance(target, (cst.Tuple, cst.List)) and len(target.elements) == 2
                    and isinstance(target.elements[0].value, cst.Name)) or len(args) != 1 or \
                    len(call.args) != 1:
                raise self.error(frame, node, "write the loop as `for i, x in enumerate(xs):`")
            seq = self._kept(frame, self.atom(frame, args[0].value))
            index = frame.homes[target.elements[0].value.value]
            length = Lit(cst.Call(cst.Name("len"), [cst.Arg(_atom_node(seq))]), _uses(seq),
                         scalar=True)
            self._loop(frame, node, origin, index, (Lit(cst.Integer("0")), length,
                                                    Lit(cst.Integer("1"))),
                       [(target.elements[1].value, seq)], statements,
                       target.elements[0].value.value)
            return
        target = node.target
        if not (isinstance(target, (cst.Tuple, cst.List)) and len(target.elements) == len(args)
                == len(call.args)) or not args:
            raise self.error(frame, node, "write the loop as `for a, b in zip(xs, ys):`")
        seqs = [self._kept(frame, self.atom(frame, a.value)) for a in args]
        lengths = [cst.Call(cst.Name("len"), [cst.Arg(_atom_node(q))]) for q in seqs]
        length_node = lengths[0] if len(lengths) == 1 else cst.Call(
            cst.Name("min"), [cst.Arg(n) for n in lengths])
        length = Lit(length_node, frozenset().union(*(_uses(q) for q in seqs)), scalar=True)
        index = self.ctx.namer.fresh("i")
        self._loop(frame, node, origin, index, (Lit(cst.Integer("0")), length,
                                                Lit(cst.Integer("1"))),
                   [(e.value, q) for e, q in zip(target.elements, seqs, strict=True)],
                   statements)

    def _builtin_callee(self, frame: Frame, call: cst.Call):
        if isinstance(call.func, cst.Name) and call.func.value not in frame.env:
            found = self._lookup(frame, call.func.value)
            if found in (range, enumerate, zip, reversed):
                return found
        return None

    def _counted(self, frame: Frame, iterable: cst.BaseExpression):
        """``(bounds, limit, backward)`` of a loop over ``range(...)``, ``range(...)[:limit]``
        or ``reversed(`` either ``)``; None for a loop over anything else."""
        backward = False
        if isinstance(iterable, cst.Call) and self._builtin_callee(frame, iterable) is \
                reversed and len(iterable.args) == 1 and iterable.args[0].keyword is None:
            backward, iterable = True, iterable.args[0].value
        limit = None
        if isinstance(iterable, cst.Subscript) and len(iterable.slice) == 1 and isinstance(
                s := iterable.slice[0].slice, cst.Slice) and s.lower is None and \
                s.step is None and s.upper is not None:
            limit, iterable = s.upper, iterable.value
        if not (isinstance(iterable, cst.Call) and
                self._builtin_callee(frame, iterable) is range):
            return None
        bounds = self._range_bounds(frame, iterable)
        if limit is not None:
            limit = self._kept(frame, self.atom(frame, limit))
        return bounds, limit, backward

    def _range_bounds(self, frame: Frame, call: cst.Call):
        if any(a.keyword is not None for a in call.args) or not 1 <= len(call.args) <= 3:
            raise self.error(frame, call, "range() takes one to three positional arguments")
        atoms = [self.atom(frame, a.value) for a in call.args]
        if len(atoms) == 1:
            atoms = [Lit(cst.Integer("0")), atoms[0]]
        if len(atoms) == 2:
            atoms.append(Lit(cst.Integer("1")))
        return tuple(self._kept(frame, a) for a in atoms)

    def _kept(self, frame: Frame, bound: Atom) -> Atom:
        """A loop bound or sequence, bound to a temporary if the loop rebinds what it reads:
        Python evaluates it once, before the first trip (and the reverse sweep reads it again
        after the loop)."""
        if _uses(bound) & set(frame.homes.values()):
            return self.emit(frame, self.ctx.namer.temp(), "assign", (bound,))
        return bound

    def _loop(self, frame: Frame, node, origin: Origin, index: str | None, bounds,
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

    def _loop_body(self, frame: Frame, lower: Callable[[], None]) -> tuple[Node, ...]:
        if not frame.loops:
            frame.outer_block = len(self.blocks) - 1
        self.blocks.append([])
        self._forget()
        frame.loops += 1
        try:
            lower()
        finally:
            frame.loops -= 1
            self._forget()
        return tuple(self.blocks.pop())

    def _loop_return(self, frame: Frame, node: cst.Return) -> None:
        """``return v`` inside a loop: ``v`` goes to the result, a flag says so, and ``break``;
        after each loop the flag ends the enclosing loop or the function (``_after_loop``)."""
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

    def _passive_expr(self, frame: Frame, node: cst.BaseExpression) -> Lit:
        """``node`` kept as written, its names replaced by what they name here: a test, which
        carries no derivative (``np.sum(x) > 1 and i < n``)."""
        uses: set[str] = set()
        lowering = self

        class _Names:
            bound: list[set[str]] = []   # names of the comprehensions around (kept as written)

            def visit_Lambda(self, n):
                raise lowering.error(frame, n, "a lambda is not supported in a condition")

            def visit_ListComp(self, n):
                names: set[str] = set()
                clause = n.for_in
                while clause is not None:
                    names.update(_target_names(clause.target))
                    clause = clause.inner_for_in
                self.bound = [*self.bound, names]

            def leave_ListComp(self, original, updated):
                self.bound = self.bound[:-1]
                return updated

            visit_GeneratorExp = visit_SetComp = visit_DictComp = visit_ListComp
            leave_GeneratorExp = leave_SetComp = leave_DictComp = leave_ListComp

            def visit_NamedExpr(self, n):
                raise lowering.error(frame, n, "the walrus operator (:=) is not supported in "
                                     "a condition", "assign the value on its own line, "
                                     "before the test")

            def leave_Name(self, original: cst.Name, updated: cst.Name):
                if original.value in ("True", "False", "None") or any(
                        original.value in b for b in self.bound):
                    return updated
                value = lowering.value(frame, original, None)
                if isinstance(value, Ref):
                    if is_array_module(value.obj):
                        return cst.Name(lowering.ctx.alias)
                    return lowering._bind_object(value.obj, original).node
                atom = lowering.materialize(frame, value, original)
                uses.update(_uses(atom))
                return _atom_node(atom)

        new = visit(node, _Names())
        return Lit(new.with_changes(lpar=(), rpar=()) if hasattr(new, "lpar") else new,
                   frozenset(uses))

    def _expr_ListComp(self, frame, node, hint):
        """``[f(x) for x in xs if c]``: a list built by a loop (``items.append(f(x))``)."""
        return self._comprehension(frame, node, hint)

    def _expr_GeneratorExp(self, frame, node, hint):
        """A generator expression, read as the list of its items (``sum(f(x) for x in xs)``)."""
        return self._comprehension(frame, node, hint)

    def _comprehension(self, frame: Frame, node, hint):
        name = hint.name if isinstance(hint, Home) else self.ctx.namer.fresh(hint or "items")
        positions = frame.parsed.positions
        here = positions.get(node)
        statement: cst.BaseStatement = cst.SimpleStatementLine([cst.Expr(cst.Call(
            cst.Attribute(cst.Name(name), cst.Name("append")), [cst.Arg(node.elt)]))])
        loops = []
        clause = node.for_in
        while clause is not None:
            loops.append(clause)
            clause = clause.inner_for_in
        for clause in reversed(loops):
            for test in reversed(clause.ifs):
                statement = cst.If(test.test, cst.IndentedBlock([statement]))
                positions[statement] = positions.get(test, here)
            if clause.asynchronous is not None:
                raise self.error(frame, clause, "`async for` is not supported")
            statement = cst.For(clause.target, clause.iter, cst.IndentedBlock([statement]))
            positions[statement] = positions.get(clause, here)
        user = frame.origin  # comments quote the user's statement, not the loop made here
        for n in gens_of(statement):
            positions.setdefault(n, here)
            self._synthetic[id(n)] = user
        self._keep.append(statement)
        targets = [k for k in _assigned_names(statement) if k != name]
        # the loop variables of a comprehension are its own: names the function also uses
        # (`[r * 2 for r in r]` in a loop over r) are set aside, and get names of their own
        saved = {k: frame.env.pop(k) for k in targets if k in frame.env}
        homes = {k: frame.homes.pop(k) for k in targets if k in frame.homes}
        if saved or homes:
            outer = loops[0].iter   # evaluated where the comprehension is, before its loop
            seq = self.ctx.namer.fresh("seq")
            frame.env[seq] = self._outer_value(frame, outer, saved)
            old = statement
            statement = old.with_changes(iter=cst.Name(seq))
            positions[statement] = positions.get(old, here)
            self._synthetic[id(statement)] = user
            self._keep.append(statement)
        frame.env[name] = Pack("list", ())
        self._statements(frame, [statement], top=False)
        result = frame.env.pop(name)
        for k in targets:
            frame.env.pop(k, None)
            frame.homes.pop(k, None)
        if saved or homes:
            frame.env.pop(seq, None)
        frame.env.update(saved)
        frame.homes.update(homes)
        frame.origin = user
        if isinstance(result, Var):
            self.lists.add(result.name)
        return result

    def _outer_value(self, frame: Frame, node: cst.BaseExpression, saved: dict) -> Any:
        """``node`` evaluated with the names set aside in ``saved`` back in place."""
        current = {k: frame.env.get(k) for k in saved}
        frame.env.update(saved)
        try:
            return self.value(frame, node, None)
        finally:
            for k, v in current.items():
                if v is None:
                    frame.env.pop(k, None)
                else:
                    frame.env[k] = v

    def _expr_IfExp(self, frame, node: cst.IfExp, hint):
        """``a if c else b``: a branch assigning one variable."""
        target = self._target(frame, hint) if not isinstance(hint, Home) else hint.name
        with self._control(frame, node):
            test = self._test(frame, node.test)

            def branch(expr):
                def lower():
                    value = self.atom(frame, expr, Home(target))
                    if value != Var(target):
                        self.emit(frame, target, "assign", (value,))
                return self._block_of(frame, lower)

            self._forget()
            body = branch(node.body)
            self._forget()
            orelse = branch(node.orelse)
            self.body.append(If(test, body, orelse, frame.origin))
        return Var(target)

    def _small(self, frame: Frame, node: cst.BaseSmallStatement, last: bool) -> Atom | None:
        if isinstance(node, cst.Return) and frame.loops:
            return self._loop_return(frame, node)
        if isinstance(node, cst.Return) and frame.branches and not frame.loops:
            return self._early_return(frame, node)
        if isinstance(node, cst.Return) and not frame.loops and not frame.branches:
            last = True  # statements after it never run
        if isinstance(node, cst.Return) and frame.result and last:
            self._early_return(frame, node)
            return self._result_atoms(frame)
        if isinstance(node, cst.Return):
            if not last:
                if frame.loops:
                    raise self.error(frame, node, "a `return` inside a loop is not supported "
                                     "yet", "assign the value to a variable, `break`, and "
                                     "return it after the loop")
            if node.value is None:
                return Lit(cst.Name("None"))
            parts = self._outputs(frame, node)
            if parts is not None and frame.where:  # a called function returns a tuple
                return self.value(frame, node.value, None)
            if parts is not None and not frame.branches:
                # the differentiated function returns several values: one output each
                return tuple(self.atom(frame, e, hint=f"out{k}")  # type: ignore[return-value]
                             for k, e in enumerate(parts, 1))
            return self.atom(frame, node.value, hint=frame.return_hint)
        if isinstance(node, cst.Assign):
            hint = self._name_hint(node.targets[-1].target)
            if hint in frame.homes and len(node.targets) == 1:
                hint = Home(frame.homes[hint])  # straight into the overwritten variable
            value = self.value(frame, node.value, hint)
            for t in node.targets:
                self.assign(frame, t.target, value)
            return None
        if isinstance(node, cst.AnnAssign):
            if node.value is not None:
                self.assign(frame, node.target, self.value(frame, node.value,
                                                           self._name_hint(node.target)))
            return None
        if isinstance(node, cst.AugAssign):
            return self._augassign(frame, node)
        if isinstance(node, cst.Expr):
            if isinstance(node.value, (cst.SimpleString, cst.ConcatenatedString, cst.Ellipsis)):
                return None  # a docstring
            if isinstance(node.value, cst.Call):
                self._expr_Call(frame, node.value, None, effect=True)
            else:
                self.value(frame, node.value, None)
            return None
        if isinstance(node, cst.Pass):
            return None
        if isinstance(node, cst.Break) and frame.loops:
            self.body.extend(self._break(frame, frame.origin))
            return None
        if isinstance(node, cst.Continue) and frame.loops:
            self.body.append(Jump("continue", frame.origin))
            return None
        what = {cst.Global: "`global`", cst.Nonlocal: "`nonlocal`", cst.Del: "`del`",
                cst.Import: "`import`", cst.ImportFrom: "`import`", cst.Raise: "`raise`",
                cst.Assert: "`assert`", cst.Break: "`break` outside a loop",
                cst.Continue: "`continue` outside a loop"}
        name = what.get(type(node), type(node).__name__)
        raise self.error(frame, node, f"{name} is not supported in a differentiated function",
                         "move it outside the function")

    def _augassign(self, frame: Frame, node: cst.AugAssign) -> None:
        if isinstance(node.target, cst.Subscript) and isinstance(node.target.value, cst.Name) \
                and node.target.value.value in frame.mutated and type(node.operator) in _AUGOPS:
            current = self.atom(frame, node.target)
            right = self.atom(frame, node.value)
            prim = _BINOPS[_AUGOPS[type(node.operator)]]
            new = self.emit(frame, self.ctx.namer.temp(), prim, (current, right))
            self._setitem(frame, node.target, new)
            return None
        if not isinstance(node.target, cst.Name):
            raise self.error(frame, node.target, "augmented assignment to "
                             f"{type(node.target).__name__.lower()} targets is not supported yet",
                             "assign to a plain name: y = y + v")
        op = _AUGOPS.get(type(node.operator))
        if op is None:
            raise self.error(frame, node, "this augmented assignment operator is not supported")
        name = node.target.value
        if name in frame.iterated:  # Python's loop would see the new values, ours would not
            raise self.error(frame, node, f"`{name} {_op_text(node.operator)}` would change "
                             f"{name!r} while the loop on line {frame.iterated[name]} iterates "
                             "over it", f"srcgrad never modifies arrays in place; write {name} "
                             f"= {name} {_op_text(node.operator)[:-1]} ... to make a new one")
        left = self.atom(frame, node.target)
        aliases = [k for k, v in frame.env.items()
                   if k != node.target.value and isinstance(v, Var) and v == left]
        if aliases:
            raise self.error(frame, node, f"`{node.target.value} {_op_text(node.operator)}` "
                             f"would change {aliases[0]!r} too: both name the same array",
                             f"srcgrad never modifies arrays in place; write "
                             f"{node.target.value} = {node.target.value} "
                             f"{_op_text(node.operator)[:-1]} ... to make a new one")
        right = self.atom(frame, node.value)
        prim = _BINOPS[op]
        target = self._target(frame, node.target.value)
        frame.env[node.target.value] = self.emit(frame, target, prim, (left, right))
        return None

    @staticmethod
    def _name_hint(target: cst.BaseAssignTargetExpression) -> str | None:
        return target.value if isinstance(target, cst.Name) else None

    def version(self, name: str) -> str:
        """The core name for a new binding of the user name ``name`` (``h``, then ``h_2``)."""
        return self.ctx.namer.claim(name)

    # --- assignment ------------------------------------------------------------------------

    def assign(self, frame: Frame, target: cst.BaseAssignTargetExpression, value: Any) -> None:
        if isinstance(target, cst.Name):
            home = frame.homes.get(target.value)
            if target.value in frame.mutated:
                value = self._own_array(frame, target, value)
            elif home is not None and isinstance(value, Pack) and value.kind == "list":
                value = self._runtime_list(frame, home, value, target)
            elif home is not None and value != Var(home):
                value = self.emit(frame, home, "assign", (self.materialize(frame, value, target),))
            if frame.origin is not None:
                frame.bound_at[target.value] = frame.origin
            frame.env[target.value] = value
            return
        if isinstance(target, cst.Subscript) and isinstance(target.value, cst.Name) and \
                target.value.value in frame.mutated:
            self._setitem(frame, target, value)
            return
        if isinstance(target, (cst.Tuple, cst.List)):
            elements = target.elements
            if any(isinstance(e, cst.StarredElement) for e in elements):
                raise self.error(frame, target, "starred assignment targets are not supported",
                                 "unpack into a fixed number of names")
            if isinstance(value, Pack):
                if len(value.items) != len(elements):
                    raise self.error(frame, target, f"cannot unpack {len(value.items)} values "
                                     f"into {len(elements)} names")
                homes = set(frame.homes.values())
                items = [self.emit(frame, self.ctx.namer.temp(), "assign", (v,))
                         if isinstance(v, Var) and v.name in homes else v for v in value.items]
                for e, item in zip(elements, items, strict=True):
                    self.assign(frame, e.value, item)
                return
            base = self.materialize(frame, value, target)
            for i, e in enumerate(elements):
                hint = self._name_hint(e.value)
                name = self._target(frame, hint)
                item = self.emit(frame, name, "getitem", (base,),
                                 (("index", Lit(cst.Integer(str(i)))),))
                self.assign(frame, e.value, item)
            return
        kind = {cst.Subscript: "index", cst.Attribute: "attribute"}.get(type(target), "this")
        raise self.error(frame, target, f"assignment to {kind} targets is not supported yet",
                         "build a new value instead (e.g. with np.where or np.concatenate)")

    def _runtime_list(self, frame: Frame, home: str, pack: Pack, node: cst.CSTNode) -> Var:
        """A list variable of a loop or branch: built item by item in ``home`` at run time (the
        block may append to it)."""
        self.lists.add(home)
        self.emit(frame, home, "assign", (Lit(cst.List([])),))
        for item in pack.items:
            self.emit(frame, home, "append", (Var(home), self.materialize(frame, item, node)))
        return Var(home)

    def _own_array(self, frame: Frame, target: cst.Name, value: Any) -> Var:
        """The value of a variable later assigned by index: an array of the function's own in
        the variable's one name (a copy unless it was just computed into it)."""
        home = self._target(frame, target.value)
        last = self.body[-1] if self.body else None
        if value == Var(home) and isinstance(last, Stmt) and last.target == home and \
                last.prim == "call" and self._fresh(last):
            return value  # np.zeros(...): a new array (other results may be simplified away)
        return self.emit(frame, home, "copy", (self.materialize(frame, value, target),))

    def _fresh(self, stmt: Stmt) -> bool:
        """Whether ``stmt`` makes a new array (not a view of, or a name for, another one)."""
        if stmt.prim == "call":
            obj = self.ctx.bindings.get(_dotted(stmt.args[0].node)) if isinstance(
                stmt.args[0], Lit) else None
            return any(obj is getattr(np, n, None) for n in _CONSTRUCTORS)
        return stmt.prim not in VIEWS

    def _setitem(self, frame: Frame, target: cst.Subscript, value: Any) -> None:
        """``y[index] = v``: the array ``y`` changes in place (it is the function's own)."""
        name = target.value.value
        base = frame.env.get(name)
        if not isinstance(base, Var) or base.name != frame.pinned.get(name):
            raise self.error(frame, target, f"{name!r} must be an array assigned before its "
                             "items are", f"start it with {name} = np.zeros(...) or a copy")
        index = self._index(frame, target)
        item = self.materialize(frame, value, target)
        self.emit(frame, base.name, "setitem", (base, item), (("index", index),))

    # --- expressions -----------------------------------------------------------------------

    def value(self, frame: Frame, node: cst.BaseExpression, hint: str | None) -> Any:
        """Lower ``node``; the top-level statement (if any) is named after ``hint``."""
        method = getattr(self, f"_expr_{type(node).__name__}", None)
        if method is None:
            raise self.error(frame, node, f"{_describe(node)} is not supported in a "
                             "differentiated function", _HINTS.get(type(node).__name__,
                                                                   "rewrite it with numpy calls"))
        return method(frame, node, hint)

    def atom(self, frame: Frame, node: cst.BaseExpression, hint: str | None = None) -> Atom:
        return self.materialize(frame, self.value(frame, node, hint), node)

    def materialize(self, frame: Frame, value: Any, node: cst.CSTNode) -> Atom:
        """An atom for ``value``: literal containers of literals become literals; other packs
        become a container built at run time."""
        if isinstance(value, (Var, Lit)):
            return value
        if isinstance(value, Pack):
            atoms = [self.materialize(frame, v, node) for v in value.items]
            if all(isinstance(a, Lit) for a in atoms):
                return Lit(_container_node(value, [a.node for a in atoms]),
                           frozenset().union(*(a.uses for a in atoms)))
            raise self.error(frame, node, f"a {value.kind} of differentiable values can only be "
                             "indexed, unpacked or passed to np.array/np.stack/np.concatenate here",
                             "index or unpack it where it is used")
        if isinstance(value, Ref):
            return self._bind_object(value.obj, value.node)
        raise self.error(frame, node, "a function cannot be used as a value here",
                         "call it, or move it outside the differentiated function")

    def _target(self, frame: Frame, hint: str | Home | None) -> str:
        """The core name for a value the user names ``hint``: its home inside control flow,
        else a new version; a temporary for an unnamed value."""
        if isinstance(hint, Home):
            return hint.name
        if not hint:
            return self.ctx.namer.temp()
        if hint in frame.homes:
            return frame.homes[hint]
        if hint in frame.mutated:  # one array, written in place: one name
            if hint not in frame.pinned:
                frame.pinned[hint] = self.version(hint)
                self._owner[frame.pinned[hint]] = (id(frame), hint)
                self.arrays.add(frame.pinned[hint])
            return frame.pinned[hint]
        name = self.version(hint)
        self._owner[name] = (id(frame), hint)
        return name

    def _expr_Name(self, frame: Frame, node: cst.Name, hint):
        name = node.value
        if name in frame.env:
            return frame.env[name]
        found = self._lookup(frame, name)
        if found is _MISSING:
            raise self.error(frame, node, f"name {name!r} is not defined",
                             "define it before the function is first called")
        parsed = self._scope_of(frame)
        if _is_data(found) and name not in parsed.closure and parsed.globals.get(name) is found:
            return self._live_global(parsed.globals, name, found)
        return self._object(found, node)

    def _scope_of(self, frame: Frame) -> ParsedFunction:
        while "__parent__" in frame.env:
            frame = frame.env["__parent__"]
        return frame.parsed

    def _live_global(self, globs, name: str, value: Any) -> Lit:
        """A module-level value, read from the module at every call (never a stale copy)."""
        dict_name = next((k for k, v in self.ctx.bindings.items() if v is globs), None)
        if dict_name is None:
            dict_name = self.ctx.namer.fresh("module_globals")
            self.ctx.bindings[dict_name] = globs
        node = cst.Subscript(cst.Name(dict_name), [cst.SubscriptElement(cst.Index(
            cst.SimpleString(f'"{name}"')))])
        # Not marked scalar even if it is a number now: it may be rebound to an array later.
        return Lit(node)

    def _lookup(self, frame: Frame, name: str):
        f: Frame | None = frame
        while f is not None:
            if name in f.env:
                return f.env[name]
            parent = f.env.get("__parent__")
            if parent is None:
                return f.parsed.namespace.get(name, _MISSING)
            f = parent

    def _object(self, obj: Any, node: cst.BaseExpression) -> Any:
        if isinstance(obj, (Var, Lit, Pack, Local)):
            return obj
        if isinstance(obj, bool) or obj is None:
            return Lit(cst.Name(repr(obj)))
        if isinstance(obj, numbers.Number) and not isinstance(obj, np.ndarray):
            return Lit(_number_node(obj)) if type(obj) in (int, float) else \
                self._bind_object(obj, node)
        if callable(obj) or inspect.ismodule(obj):
            return Ref(obj, node)
        return self._bind_object(obj, node)

    def _bind_object(self, obj: Any, node: cst.CSTNode) -> Lit:
        """A name in the generated namespace for a constant the user's code refers to."""
        if isinstance(node, cst.Name) and getattr(builtins, node.value, None) is obj:
            return Lit(cst.Name(node.value))  # print, int, range: no binding needed
        for name, bound in self.ctx.bindings.items():
            if bound is obj:
                return Lit(cst.Name(name))
        base = node.value if isinstance(node, cst.Name) else \
            node.attr.value if isinstance(node, cst.Attribute) else "const"
        name = self.ctx.namer.fresh(base if base.isidentifier() else "const")
        self.ctx.bindings[name] = obj
        return Lit(cst.Name(name))

    def _expr_Attribute(self, frame: Frame, node: cst.Attribute, hint):
        base = self.value(frame, node.value, None)
        attr = node.attr.value
        if isinstance(base, Ref):
            try:
                obj = getattr(base.obj, attr)
            except AttributeError:
                raise self.error(frame, node, f"{_dotted(node)} does not exist") from None
            if is_array_module(base.obj) and not callable(obj) and not inspect.ismodule(obj):
                if isinstance(obj, (int, float, bool)) or obj is None:
                    return self._object(obj, node)
                return Lit(cst.Attribute(cst.Name(self.ctx.alias), cst.Name(attr)))
            return self._object(obj, node)
        if isinstance(base, (Var, Lit)):
            prim = PROPERTIES.get(attr)
            if attr in _PASSIVE_ATTRIBUTES:
                return Lit(cst.Attribute(_atom_node(base), cst.Name(attr)), _uses(base),
                           scalar=attr in _SCALAR_ATTRIBUTES)
            if prim is None:
                if attr in METHODS:
                    raise self.error(frame, node, f"the method .{attr} must be called here")
                raise self.error(frame, node, f"attribute .{attr} is not supported",
                                 "use the numpy function instead")
            return self.emit(frame, self._target(frame, hint), prim, (base,))
        raise self.error(frame, node, f"cannot take .{attr} of this value")

    def _expr_Integer(self, frame, node, hint):
        return Lit(node.with_changes(lpar=(), rpar=()))

    _expr_Float = _expr_Integer
    _expr_Imaginary = _expr_Integer
    _expr_SimpleString = _expr_Integer
    _expr_ConcatenatedString = _expr_Integer
    _expr_Ellipsis = _expr_Integer

    def _expr_FormattedString(self, frame, node, hint):
        return self._passive(frame, node)

    def _passive(self, frame: Frame, node: cst.BaseExpression) -> Lit:
        """A non-differentiable expression kept as written, its names lowered to atoms."""
        uses: set[str] = set()
        lowering = self

        class _Sub:
            def leave_Name(self, original, updated):
                return updated

            def leave_FormattedStringExpression(self, original, updated):
                a = lowering.atom(frame, updated.expression)
                uses.update({a.name} if isinstance(a, Var) else a.uses)
                return updated.with_changes(expression=_atom_node(a))

        new = visit(node, _Sub())
        return Lit(new, frozenset(uses))

    def _expr_Tuple(self, frame, node, hint):
        return Pack("tuple", tuple(self._elements(frame, node.elements)))

    def _expr_List(self, frame, node, hint):
        return Pack("list", tuple(self._elements(frame, node.elements)))

    def _elements(self, frame: Frame, elements):
        for e in elements:
            if isinstance(e, cst.StarredElement):
                raise self.error(frame, e, "starred elements are not supported")
            yield self.value(frame, e.value, None)

    def _expr_Dict(self, frame, node, hint):
        keys, items = [], []
        for e in node.elements:
            if not isinstance(e, cst.DictElement):
                raise self.error(frame, e, "** in dict literals is not supported")
            key = self.atom(frame, e.key)
            if not isinstance(key, Lit) or key.uses:
                raise self.error(frame, e.key, "dict keys must be constants here")
            keys.append(_literal_value(key.node))
            items.append(self.value(frame, e.value, None))
        return Pack("dict", tuple(items), tuple(keys))

    def _expr_UnaryOperation(self, frame, node, hint):
        if isinstance(node.operator, cst.Minus) and isinstance(node.expression,
                                                               (cst.Integer, cst.Float)):
            return Lit(node.with_changes(lpar=(), rpar=()))
        operand = self.atom(frame, node.expression)
        if isinstance(node.operator, cst.Not):
            return self.emit(frame, self._target(frame, hint), "logical_not", (operand,))
        return self.emit(frame, self._target(frame, hint), _UNARY[type(node.operator)], (operand,))

    def _expr_BinaryOperation(self, frame, node, hint):
        prim = _BINOPS.get(type(node.operator))
        if prim is None:
            raise self.error(frame, node, f"operator {_op_text(node.operator)} is not supported")
        left = self.atom(frame, node.left)
        right = self.atom(frame, node.right)
        if isinstance(left, Lit) and isinstance(right, Lit) and not isinstance(hint, Home):
            # constants of the computation (`T + 1` of `T = x.shape[0]`): kept as written
            return Lit(node.with_changes(left=grouped(left.node),
                                         right=grouped(right.node)),
                       left.uses | right.uses, scalar=left.scalar and right.scalar)
        return self.emit(frame, self._target(frame, hint), prim, (left, right))

    def _expr_Comparison(self, frame, node, hint):
        if len(node.comparisons) != 1:
            raise self.error(frame, node, "chained comparisons are not supported",
                             "write (a < b) & (b < c)")
        comp = node.comparisons[0]
        prim = _COMPARE.get(type(comp.operator))
        left = self.atom(frame, node.left)
        right = self.atom(frame, comp.comparator)
        if prim is None:  # is, is not, in, not in: evaluated as written, no derivative
            uses = _uses(left) | _uses(right)
            return Lit(node.with_changes(left=_atom_node(left), comparisons=[
                comp.with_changes(comparator=_atom_node(right))]), uses)
        return self.emit(frame, self._target(frame, hint), prim, (left, right))

    def _expr_Subscript(self, frame, node, hint):
        if self._is_s_(frame, node.value):  # an index written np.s_[...], as gradient code does
            return self._index(frame, node)
        base = self.value(frame, node.value, None)
        if isinstance(base, Pack):
            key = self._static_index(frame, node)
            try:
                return base.items[base.keys.index(key)] if base.keys is not None else \
                    base.items[key]
            except (ValueError, IndexError, TypeError):
                raise self.error(frame, node, f"index {key!r} is out of range for this "
                                 f"{base.kind}") from None
        base_atom = self.materialize(frame, base, node.value)
        index = self._index(frame, node)
        if isinstance(base_atom, Lit) and _is_shape_attribute(base_atom.node):
            # x.shape[0]: a constant of the computation, kept as written
            key = _single_key(node, int)
            return Lit(cst.Subscript(base_atom.node, node.slice if not index.uses else
                                     index.node.slice), base_atom.uses | index.uses,
                       scalar=isinstance(key, int))
        if hint is None and isinstance(base_atom, Var):
            key = _single_key(node)
            if isinstance(key, str) and key.isidentifier():
                hint = f"{base_atom.name}_{key}"
        return self.emit(frame, self._target(frame, hint), "getitem", (base_atom,),
                         (("index", index),))

    def _is_s_(self, frame: Frame, node: cst.BaseExpression) -> bool:
        if isinstance(node, cst.Name) and node.value not in frame.env:
            return self._lookup(frame, node.value) is np.s_
        if isinstance(node, cst.Attribute) and node.attr.value == "s_" and isinstance(
                node.value, cst.Name) and node.value.value not in frame.env:
            return getattr(self._lookup(frame, node.value.value), "s_", None) is np.s_
        return False

    def _static_index(self, frame: Frame, node: cst.Subscript):
        if len(node.slice) == 1 and isinstance(node.slice[0].slice, cst.Index):
            try:
                return self._constant(frame, node.slice[0].slice.value)
            except ValueError:
                pass
        raise self.error(frame, node, "a literal tuple, list or dict can only be indexed by a "
                         "constant here")

    def _constant(self, frame: Frame, node: cst.BaseExpression):
        """The value of ``node`` if it is a constant (``-1``, a module-level number); else
        ValueError."""
        key = self.atom(frame, node)
        if isinstance(key, Lit) and not key.uses:
            return _literal_value(key.node)
        raise ValueError("not a constant")

    def _index(self, frame: Frame, node: cst.Subscript) -> Lit:
        """The index of ``node`` as ``s_[...]`` with its expressions lowered to atoms."""
        uses: set[str] = set()

        def lower(e: cst.BaseExpression | None):
            if e is None:
                return None
            a = self.atom(frame, e)
            uses.update(_uses(a))
            return _atom_node(a)

        elements = []
        for el in node.slice:
            s = el.slice
            if isinstance(s, cst.Index):
                s = s.with_changes(value=lower(s.value))
            else:
                s = s.with_changes(lower=lower(s.lower), upper=lower(s.upper),
                                   step=lower(s.step))
            elements.append(el.with_changes(slice=s))
        return Lit(cst.Subscript(cst.Name("s_"), elements), frozenset(uses))

    def _expr_Lambda(self, frame, node, hint):
        return self._local(frame, "<lambda>", node.params, node.body)

    def _local(self, frame: Frame, name: str, params: cst.Parameters, body) -> Local:
        self._param_names(frame, params)
        defaults = {}
        for p in (*params.params, *params.kwonly_params):
            if p.default is not None:
                defaults[p.name.value] = self.value(frame, p.default, None)
        return Local(name, params, body, frame, defaults)

    def _expr_Call(self, frame, node, hint, effect=False):
        func = node.func
        for a in node.args:
            if a.star:
                raise self.error(frame, a, f"{a.star}-arguments are not supported",
                                 "pass the arguments one by one")
        if isinstance(func, cst.Attribute):
            base = self.value(frame, func.value, None)
            if isinstance(base, (Var, Lit)):
                return self._method(frame, node, base, func.attr.value, hint)
            if isinstance(base, Pack) and base.kind == "list" and func.attr.value == "append":
                return self._pack_append(frame, node, base)
            if isinstance(base, Pack) and base.kind == "list" and func.attr.value == "pop":
                return self._pack_pop(frame, node, base)
            callee = self._callee_attribute(frame, func, base)
        else:
            callee = self.value(frame, func, None)
        args = [self.value(frame, a.value, None) for a in node.args if a.keyword is None]
        kwargs = {a.keyword.value: self.value(frame, a.value, None)
                  for a in node.args if a.keyword is not None}
        if isinstance(callee, Local):
            return self._inline_local(frame, node, callee, args, kwargs, hint)
        if not isinstance(callee, Ref):
            raise self.error(frame, func, "this value is not callable")
        if callee.obj is custom.grad_hook:
            return self._grad_hook(frame, node, args, kwargs, hint)
        if isinstance(callee.obj, custom.checkpoint):
            return self._checkpoint(frame, node, callee.obj.fn, args, kwargs, hint)
        rules = custom.rules_for(callee.obj)
        if rules is not None:  # the user said how to differentiate it: @adjoint, @tangent
            return self._custom_call(frame, node, callee.obj, rules, args, kwargs, hint)
        if callee.obj in _CODE_RUNNERS:
            raise self.error(frame, node, f"{callee.obj.__name__}() is not supported in a "
                             "differentiated function: srcgrad cannot see the code it runs",
                             "write that code in the function itself")
        if callee.obj is builtins.sum and len(args) == 1 and not kwargs:
            return self._sum(frame, node, args[0], hint)
        spec = self.ctx.calls.lookup(callee.obj)
        if spec is not None:
            return self._primitive(frame, node, spec, args, kwargs, hint)
        inline = _srcgrad_hook(callee.obj, "__srcgrad_inline__")
        if inline is not None:  # jvp(f, ...), jvp(f)(...), hvp(f)(...): generated code
            try:
                generated, args, kwargs = inline([_opened(a) for a in args],
                                                 {k: _opened(v) for k, v in kwargs.items()})
            except SrcGradError as err:
                raise self.error(frame, node, err.message, err.hint) from None
            return self._inline_user(frame, node, generated, list(args), dict(kwargs), hint)
        code = getattr(type(callee.obj), "__srcgrad_code__", None)
        if code is not None:  # a derivative made by srcgrad (grad(f)): its generated code
            try:
                generated = code(callee.obj)
            except SrcGradError as err:
                raise self.error(frame, node, err.message, err.hint) from None
            return self._inline_user(frame, node, generated, args, kwargs, hint)
        if _is_user_function(callee.obj):
            return self._inline_user(frame, node, callee.obj, args, kwargs, hint)
        return self._opaque(frame, node, callee, args, kwargs, hint, effect)

    def _append(self, frame: Frame, node: cst.Call, base: Atom):
        if not isinstance(base, Var) or base.name not in self.lists:
            raise self.error(frame, node.func, "only a list made in the function (xs = []) "
                             "can be appended to", "make a new list: ys = list(xs), or ys = [] "
                             "and append to it; srcgrad never changes the caller's lists")
        if len(node.args) != 1 or node.args[0].keyword is not None:
            raise self.error(frame, node, "append takes one value")
        item = self.atom(frame, node.args[0].value)
        self.emit(frame, base.name, "append", (base, item))
        return Lit(cst.Name("None"))

    def _pop(self, frame: Frame, node: cst.Call, base: Atom, hint):
        """``v = xs.pop()``: the last item read, then taken off the list (``xs = pop(xs)``)."""
        if not isinstance(base, Var) or base.name not in self.lists:
            raise self.error(frame, node.func, "only a list made in the function (xs = []) "
                             "can be popped from", "read the item instead: v = xs[-1]")
        if node.args:
            raise self.error(frame, node, "only the last item can be popped: xs.pop()",
                             "read other items by index, v = xs[i], and build a new list")
        last = Lit(cst.Subscript(cst.Name("s_"), [cst.SubscriptElement(cst.Index(
            cst.UnaryOperation(cst.Minus(), cst.Integer("1"))))]))
        item = self.emit(frame, self._target(frame, hint), "getitem", (base,),
                         (("index", last),))
        self._forget()  # the list changes: xs[-1] is another item now
        self.emit(frame, base.name, "pop", (base,))
        return item

    def _pack_pop(self, frame: Frame, node: cst.Call, pack: Pack):
        """``xs.pop()`` or ``xs.pop(i)`` on a list that is still a literal: one item less."""
        index = None if len(node.args) > 1 else -1
        if len(node.args) == 1:
            try:
                index = self._constant(frame, node.args[0].value)
            except ValueError:
                index = None
        if not isinstance(node.func.value, cst.Name) or type(index) is not int or \
                not -len(pack.items) <= index < len(pack.items):
            raise self.error(frame, node, "write xs.pop() or xs.pop(i), i a number in range, "
                             "on a list variable")
        items = list(pack.items)
        item = items.pop(index)
        frame.env[node.func.value.value] = Pack("list", tuple(items))
        return item

    def _pack_append(self, frame: Frame, node: cst.Call, pack: Pack):
        """``xs.append(v)`` on a list that is still a literal: one more item."""
        if not isinstance(node.func.value, cst.Name) or len(node.args) != 1:
            raise self.error(frame, node, "write xs.append(value) on a list variable")
        item = self.value(frame, node.args[0].value, None)
        frame.env[node.func.value.value] = Pack("list", (*pack.items, item))
        return Lit(cst.Name("None"))

    def _callee_attribute(self, frame: Frame, node: cst.Attribute, base: Any):
        if isinstance(base, Ref):
            try:
                return Ref(getattr(base.obj, node.attr.value), node)
            except AttributeError:
                raise self.error(frame, node, f"{_dotted(node)} does not exist") from None
        raise self.error(frame, node, "cannot call an attribute of this value")

    def _method(self, frame: Frame, node: cst.Call, base: Atom, name: str, hint):
        if name == "append":
            return self._append(frame, node, base)
        if name == "pop":
            return self._pop(frame, node, base, hint)
        spec = METHODS.get(name)
        if spec is None:
            if isinstance(base, Var) and base.name in self._opaque_results:
                # a method of an object an opaque call made (rng.standard_normal(3)): itself
                # an opaque call, refused later only if a differentiated value reaches it
                method = Lit(cst.Attribute(cst.Name(base.name), cst.Name(name)),
                             frozenset({base.name}))
                args = [self.value(frame, a.value, None) for a in node.args
                        if a.keyword is None]
                kwargs = {a.keyword.value: self.value(frame, a.value, None)
                          for a in node.args if a.keyword is not None}
                return self._opaque_call(frame, method, args, kwargs, hint, node)
            raise self.error(frame, node.func, f"the array method .{name}() is not supported",
                             f"use the numpy function np.{name}(x, ...) if there is one")
        args = [self.value(frame, a.value, None) for a in node.args if a.keyword is None]
        kwargs = {a.keyword.value: self.value(frame, a.value, None)
                  for a in node.args if a.keyword is not None}
        if spec.form == "shape_args":
            if len(args) > 1:
                args = [Pack("tuple", tuple(args))]
            spec = CallSpec(spec.rule)
        return self._primitive(frame, node, spec, [base, *args], kwargs, hint)

    def _sum(self, frame: Frame, node: cst.Call, items, hint):
        """Python's ``sum`` of a list: the items added one by one (a literal list) or
        ``sum_list`` (a list built at run time)."""
        if isinstance(items, Pack):
            if not items.items:
                return Lit(cst.Integer("0"))
            total = self.materialize(frame, items.items[0], node)
            for k, item in enumerate(items.items[1:], 1):
                last = k == len(items.items) - 1
                total = self.emit(frame, self._target(frame, hint if last else None), "add",
                                  (total, self.materialize(frame, item, node)))
            return total
        if isinstance(items, Var) and items.name in self.lists:
            return self.emit(frame, self._target(frame, hint), "sum_list", (items,))
        raise self.error(frame, node, "sum() of this value is not supported",
                         "use np.sum(x, axis=0) for an array, or sum() of a list")

    def _primitive(self, frame: Frame, node: cst.Call, spec: CallSpec, args, kwargs, hint):
        rule = self.ctx.rules[spec.rule]
        if spec.form == "seq" and args and isinstance(args[0], Var) and \
                args[0].name in self.lists and spec.rule in ("stack", "array"):
            name = "stack_list" if spec.rule == "stack" else "array_list"
            return self._bind_primitive(frame, node, self.ctx.rules[name], None, args,
                                        kwargs, hint)
        if spec.form == "seq" and args and isinstance(args[0], Pack):
            operands = [self.materialize(frame, v, node) for v in args[0].items]
            args = args[1:]
        elif spec.form == "seq" and spec.rule == "array":
            rule = self.ctx.rules["copy"]
            operands, args = [self.materialize(frame, args[0], node)] if args else [], args[1:]
        elif spec.form == "seq":
            raise self.error(frame, node, f"{rule.name} needs a literal list of arrays here",
                             f"write np.{rule.name}([a, b, ...])")
        elif spec.form == "einsum":
            if not args:
                raise self.error(frame, node, "einsum needs subscripts")
            kwargs = {"subscripts": args[0], **kwargs}
            operands, args = [self.materialize(frame, v, node) for v in args[1:]], []
        elif spec.form == "einsum_grad":  # einsum_grad(g, i, subscripts, *operands)
            if len(args) < 4 or kwargs:
                raise self.error(frame, node, "einsum_grad takes g, i, subscripts, operands")
            kwargs = {"i": args[1], "subscripts": args[2]}
            operands = [self.materialize(frame, v, node) for v in (args[0], *args[3:])]
            args = []
        else:
            operands = None
        return self._bind_primitive(frame, node, rule, operands, args, kwargs, hint)

    def _bind_primitive(self, frame, node, rule, operands, args, kwargs, hint):
        params, rest_sig, all_sig = _signatures(rule.primal, rule.variadic, rule.nin)
        try:
            if operands is not None:
                bound = rest_sig.bind(*args, **kwargs)
                ops = operands
            else:
                bound = all_sig.bind(*args, **kwargs)
                ops = [bound.arguments.pop(p.name) if p.name in bound.arguments else
                       self._object(p.default, node) for p in params[: rule.nin]]
        except TypeError as exc:
            raise self.error(frame, node, f"unsupported arguments for {rule.name}: {exc}",
                             "see docs/rules.md for the supported signature") from None
        op_atoms = [self.materialize(frame, v, node) for v in ops]
        if rule.name not in _LIST_RULES and rule.name not in _HELPER_RULES:
            # a list where an array is expected: np.array(xs)
            op_atoms = [self.emit(frame, self.ctx.namer.temp(), "array_list", (a,))
                        if isinstance(a, Var) and a.name in self.lists else a
                        for a in op_atoms]
        param_atoms = [(k, self._parameter(frame, v, node)) for k, v in bound.arguments.items()]
        omitted = [p.name for p in params if p.name not in bound.arguments
                   and p.kind is not p.VAR_POSITIONAL and p.name not in
                   {q.name for q in params[: rule.nin]}]
        return self.emit(frame, self._target(frame, hint), rule.name, op_atoms, param_atoms,
                         omitted)

    def _parameter(self, frame: Frame, value: Any, node: cst.CSTNode) -> Atom:
        """A rule's parameter, never differentiated: a tuple or list of variables is one
        expression (``concat_grad(g, 0, (a, b))`` in gradient code, which reads a and b's
        shapes)."""
        if isinstance(value, Pack) and value.kind in ("tuple", "list"):
            atoms = [self._parameter(frame, v, node) for v in value.items]
            return Lit(_container_node(value, [_atom_node(a) for a in atoms]),
                       frozenset().union(*(_uses(a) for a in atoms)))
        return self.materialize(frame, value, node)

    def _opaque(self, frame, node, callee: Ref, args, kwargs, hint, effect):
        fn = self._bind_object(callee.obj, callee.node)
        var = self._opaque_call(frame, fn, args, kwargs, hint, node)
        if effect:
            self.body[-1] = replace(self.body[-1], effect=True)
        return var

    def _opaque_call(self, frame: Frame, fn: Atom, args, kwargs, hint, node) -> Var:
        atoms = [self.materialize(frame, v, node) for v in args]
        kw = [(k, self.materialize(frame, v, node)) for k, v in kwargs.items()]
        var = self.emit(frame, self._target(frame, hint), "call", (fn, *atoms), kw)
        self._opaque_results.add(var.name)
        return var

    # --- inlining calls to user functions ----------------------------------------------------

    def _inline_user(self, frame: Frame, node: cst.Call, fn: Callable, args, kwargs, hint,
                     rule: bool = False):
        if any(f is fn for f in self.ctx.stack):
            raise self.error(frame, node, f"recursive call to {fn.__name__!r} is not supported",
                             "rewrite the recursion as a loop")
        parsed = self._parsed_cache.get(id(fn))
        if parsed is None:
            parsed = parse_function(fn)
            self._parsed_cache[id(fn)] = parsed
        try:
            bound = inspect.signature(fn).bind(*args, **kwargs)
        except TypeError as exc:
            raise self.error(frame, node, f"cannot call {fn.__name__}: {exc}") from None
        env: dict[str, Any] = {}
        for name, param in inspect.signature(fn).parameters.items():
            if name in bound.arguments:
                env[name] = bound.arguments[name]
            elif param.default is not param.empty:
                env[name] = self._object(param.default, cst.Name(name))
            if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
                raise self.error(frame, node, f"cannot inline {fn.__name__}: *args/**kwargs "
                                 "parameters are not supported")
        names = names_in(parsed.node)
        if rule:  # a rule's parameters stand for names the transformer binds: not its own
            names -= set(inspect.signature(fn).parameters)
        self.ctx.namer.reserve_all(names)
        callee = Frame(parsed, env, fn.__name__, return_hint=hint,
                       mutated=_subscript_targets(parsed.node.body))
        self.ctx.stack.append(fn)
        try:
            self._own_copies(callee, [p for p in env if p in callee.mutated])
            result, _ = self._suite(callee, parsed.node.body)
        finally:
            self.ctx.stack.pop()
        return result

    # --- gradient surgery: h = grad_hook(h, lambda d_h: ...) ----------------------------------

    def _grad_hook(self, frame: Frame, node: cst.Call, args, kwargs, hint):
        """``grad_hook(x, fn)``: ``x`` itself, whose adjoint, where the backward sweep passes
        this point, becomes ``fn(d_x)``: an identity with ``fn``'s body as its adjoint rule
        (and the identity as its tangent)."""
        if len(args) != 2 or kwargs or not (isinstance(args[1], Local) or (
                isinstance(args[1], Ref) and _is_user_function(args[1].obj))):
            raise self.error(frame, node, "write grad_hook(x, fn), fn a lambda or a Python "
                             "function of the adjoint", "h = srcgrad.grad_hook(h, lambda d_h: "
                             "np.clip(d_h, -1.0, 1.0))")
        x = self.materialize(frame, args[0], node)
        g, out_, t = (self.ctx.namer.fresh(f"{p}__") for p in ("d_out", "out", "t"))
        fn = args[1]
        body, result = self._lowered(frame, node, lambda: self._inline_local(
            frame, node, fn, [Var(g)], {}, None) if isinstance(fn, Local) else
            self._inline_user(frame, node, fn.obj, [Var(g)], {}, None, rule=True))
        adjoint = Lowered("grad_hook", (g, out_), body, result[:1], like_adjoint=True)
        tangent = Lowered("grad_hook", (out_, t), (), (Var(t),), checked=False)
        rule = Rule("grad_hook", custom.value, (custom.lowered,), (custom.lowered,))
        return self._custom_stmt(frame, rule, [x], x, Custom("grad_hook", adjoint, tangent), hint)

    # --- calls with custom rules --------------------------------------------------------------

    def _custom_call(self, frame: Frame, node: cst.Call, fn: Callable, rules, args, kwargs,
                     hint):
        """A call of a function with custom rules. Its value is computed as usual (its code
        inlined, or an opaque call) but never differentiated through; its derivatives come
        from the rules, lowered here like inlined calls into blocks of their own."""
        adjoint_rule, tangent_rule = rules
        name = getattr(fn, "__name__", "f")
        operands = [self.materialize(frame, v, node) for v in self._arguments(frame, node, fn,
                                                                                args, kwargs)]
        if _is_user_function(fn):
            value = self._inline_user(frame, node, fn, list(operands), {}, None)
        else:
            value = self._opaque(frame, node, Ref(fn, node.func), list(operands), {}, None,
                                 False)
        value = self.materialize(frame, value, node)
        n = len(operands)
        adjoint = tangent = None
        if adjoint_rule is not None:
            adjoint = self._lower_rule(frame, node, adjoint_rule, 2, operands)
            if len(adjoint.results) != n:
                raise self.error(frame, node, f"the adjoint rule {adjoint_rule.__name__} of "
                                 f"{name} returns {len(adjoint.results)} adjoint(s); {name} "
                                 f"takes {n} argument(s)", "return one adjoint per argument, "
                                 "None for an argument without a derivative")
        if tangent_rule is not None:
            tangent = self._lower_rule(frame, node, tangent_rule, 1, operands)
            if len(tangent.results) != 1:
                raise self.error(frame, node, f"the tangent rule {tangent_rule.__name__} of "
                                 f"{name} must return one tangent, the output's")
        no_adjoint = custom.Undefined(f"{name} has a tangent rule but no adjoint rule: add one "
                                      f"with @srcgrad.adjoint({name})")
        no_tangent = custom.Undefined(f"{name} has an adjoint rule but no tangent rule: add "
                                      f"one with @srcgrad.tangent({name})")
        vjp = tuple(no_adjoint if adjoint is None else
                    None if _is_none(adjoint.results[i]) else custom.lowered for i in range(n))
        jvp = tuple(None if v is None else no_tangent if tangent is None else custom.lowered
                    for v in vjp)
        rule_name = self._custom_names.get(id(fn))
        if rule_name is None:  # one primitive per function, named after it
            base = name if name.isidentifier() else "custom"
            rule_name, k = base, 2
            while rule_name in self.ctx.rules:
                rule_name, k = f"{base}_{k}", k + 1
            self._custom_names[id(fn)] = rule_name
        return self._custom_stmt(frame, Rule(rule_name, custom.value, jvp, vjp), operands,
                                 value, Custom(name, adjoint, tangent), hint)

    def _checkpoint(self, frame: Frame, node: cst.Call, fn: Callable, args, kwargs, hint):
        """A call of a checkpointed ``fn``: its value as usual, never differentiated through
        (nothing of it saved); its adjoint the inlined vector-Jacobian product srcgrad
        generates for ``fn``, which computes ``fn`` again from its arguments; its tangent the
        inlined forward-mode code of ``fn``."""
        name = fn.__name__
        operands = [self.materialize(frame, v, node) for v in self._arguments(frame, node, fn,
                                                                                args, kwargs)]
        value = self.materialize(frame, self._inline_user(frame, node, fn, list(operands),
                                                          {}, None), node)
        try:
            vjp, jvp = self.ctx.derive(fn, "vjp"), self.ctx.derive(fn, "fwd")
        except SrcGradError as err:
            raise self.error(frame, node, err.message, err.hint) from None
        d_out, tangents = vjp.kwonly[0], jvp.kwonly[:len(jvp.positions)]
        g, out_ = (self.ctx.namer.fresh(f"{p}__") for p in ("d_out", "out"))
        dots = tuple(self.ctx.namer.fresh(f"{p}__") for p in tangents)
        body, results = self._lowered(frame, node, lambda: self._inline_user(
            frame, node, vjp.fn, list(operands), {d_out: Var(g)}, None))
        adjoint = Lowered(f"vjp_{name}", (g, out_), body, results, checked=False)
        body, results = self._lowered(frame, node, lambda: self._inline_user(
            frame, node, jvp.fn, list(operands),
            {p: Var(d) for p, d in zip(tangents, dots, strict=True)}, None))
        tangent = Lowered(f"jvp_{name}", (out_, *dots), body, results[1:2], checked=False)
        rule_name = f"checkpoint_{name}" if name.isidentifier() else "checkpoint"
        n = len(operands)
        rule = Rule(rule_name, custom.value, (custom.lowered,) * n, (custom.lowered,) * n)
        return self._custom_stmt(frame, rule, operands, value, Custom(name, adjoint, tangent),
                                 hint)

    def _custom_stmt(self, frame: Frame, rule: Rule, operands: list[Atom], value: Atom,
                     info: Custom, hint) -> Var:
        """``target = value``, a statement of ``rule`` (registered here) whose derivatives
        ``info`` gives."""
        self.ctx.rules = self.ctx.rules.with_rules(rule)
        target = self._target(frame, hint)
        if target in self._targets:
            self._forget()
        self._targets.add(target)
        self.body.append(Stmt(target, rule.name, tuple(operands), (("value", value),),
                              frame.origin, custom=info))
        return Var(target)

    def _lowered(self, frame: Frame, node: cst.Call, run: Callable[[], Any]
                 ) -> tuple[tuple[Node, ...], tuple[Atom, ...]]:
        """What ``run()`` lowers (a rule's body, an inlined derivative), in a block of its own
        that the transformer writes where it needs it, and the atoms of the value it returns
        (the items of a tuple or list)."""
        computed, reads = self._computed, self._computed_reads
        self._computed, self._computed_reads = {}, set()
        self.blocks.append([])
        try:
            result = run()
            items = result.items if isinstance(result, Pack) and result.kind in (
                "tuple", "list") else (result,)
            results = tuple(self.materialize(frame, v, node) for v in items)
        finally:
            body = tuple(self.blocks.pop())
            self._computed, self._computed_reads = computed, reads
        return body, results

    def _arguments(self, frame: Frame, node: cst.Call, fn: Callable, args, kwargs) -> list:
        """The arguments of a call of ``fn`` in the order of its parameters, defaults
        included."""
        nin = getattr(fn, "nin", None)
        try:
            if isinstance(nin, int):  # a NumPy ufunc: its inputs, positionally
                raise TypeError
            sig = inspect.signature(fn)
        except (TypeError, ValueError):  # a ufunc or builtin: positional arguments only
            if kwargs or (isinstance(nin, int) and len(args) != nin):
                raise self.error(frame, node, f"pass the {nin or ''} argument(s) of "
                                 f"{fn.__name__} positionally, nothing else") from None
            return list(args)
        try:
            bound = sig.bind(*args, **kwargs)
        except TypeError as exc:
            raise self.error(frame, node, f"cannot call {fn.__name__}: {exc}") from None
        return [bound.arguments[p] if p in bound.arguments else
                self._object(q.default, cst.Name(p)) for p, q in sig.parameters.items()]

    def _lower_rule(self, frame: Frame, node: cst.Call, rule: Callable, lead: int,
                    operands: list[Atom]) -> Lowered:
        """``rule``'s body in a block of its own, its first ``lead`` parameters (an adjoint's
        d_out and out, a tangent's out) and, for a tangent, the last ones standing for names
        the transformer binds when it writes the block."""
        params = list(inspect.signature(rule).parameters)
        free = params[:lead] + params[lead + len(operands):]
        inputs = tuple(self.ctx.namer.fresh(f"{p}__") for p in free)  # replaced when written
        bound = [Var(v) for v in inputs]
        args = [*bound[:lead], *operands, *bound[lead:]]
        body, results = self._lowered(frame, node, lambda: self._inline_user(
            frame, node, rule, args, {}, None, rule=True))
        return Lowered(rule.__name__, inputs, body, results)

    def _inline_local(self, frame: Frame, node: cst.Call, fn: Local, args, kwargs, hint):
        params = [*fn.params.posonly_params, *fn.params.params]
        env: dict[str, Any] = {"__parent__": fn.frame}
        if len(args) > len(params):
            raise self.error(frame, node, f"too many arguments for {fn.name}")
        for p, a in zip(params, args, strict=False):
            env[p.name.value] = a
        for p in (*params, *fn.params.kwonly_params):
            name = p.name.value
            if name in kwargs:
                env[name] = kwargs.pop(name)
            elif name not in env:
                if name not in fn.defaults:
                    raise self.error(frame, node, f"missing argument {name!r} for {fn.name}")
                env[name] = fn.defaults[name]
        if kwargs:
            raise self.error(frame, node, f"unexpected arguments for {fn.name}: {sorted(kwargs)}")
        callee = Frame(fn.frame.parsed, env, fn.name, frame.origin, return_hint=hint,
                       mutated=_subscript_targets(fn.body))
        if isinstance(fn.body, cst.BaseExpression):  # a lambda
            return self.value(callee, fn.body, hint)
        self._own_copies(callee, [p for p in env if p in callee.mutated])
        result, _ = self._suite(callee, fn.body)
        return result


def gens_of(node: cst.CSTNode):
    """``node`` and the statements and blocks srcgrad made around the user's expressions."""
    yield node
    if isinstance(node, (cst.For, cst.If)):
        for child in node.body.body:
            yield from gens_of(child)
    elif isinstance(node, cst.SimpleStatementLine):
        yield from node.body
        for small in node.body:
            if isinstance(small, cst.Expr):
                yield small.value
                if isinstance(small.value, cst.Call):
                    yield small.value.func


def _statement_list(suite) -> list:
    if isinstance(suite, cst.SimpleStatementSuite):  # def f(x): return x * x
        return [cst.SimpleStatementLine(suite.body)]
    return list(suite.body) if isinstance(suite, cst.IndentedBlock) else [suite]


def _header(frame: Frame, node: cst.CSTNode) -> str:
    """The first line of a compound statement, as the user wrote it (``for t in range(n):``)."""
    if isinstance(node, cst.If):
        return f"if {_dotted(node.test)}:"
    if isinstance(node, cst.For):
        return f"for {_dotted(node.target)} in {_dotted(node.iter)}:"
    if isinstance(node, cst.While):
        return f"while {_dotted(node.test)}:"
    return frame.parsed.text(node)


def _name_of(target) -> str | None:
    return target.value if isinstance(target, cst.Name) else None


def _own_jumps(block):
    """The jumps of ``block`` that belong to its loop (not to a nested one)."""
    for node in block:
        if isinstance(node, Jump):
            yield node
        elif isinstance(node, If):
            yield from _own_jumps(node.body)
            yield from _own_jumps(node.orelse)


def _subscript_targets(node: cst.CSTNode) -> frozenset[str]:
    """The names a function body assigns by index (``y[i] = v``, ``y[i] += v``)."""
    names: set[str] = set()

    def add(target) -> None:
        if isinstance(target, cst.Subscript) and isinstance(target.value, cst.Name):
            names.add(target.value.value)
        elif isinstance(target, (cst.Tuple, cst.List)):
            for e in target.elements:
                add(e.value)

    class _Targets:
        def visit_Assign(self, n: cst.Assign) -> None:
            for t in n.targets:
                add(t.target)

        def visit_AugAssign(self, n: cst.AugAssign) -> None:
            add(n.target)

        def visit_FunctionDef(self, n) -> bool:
            return False

    visit(node, _Targets())
    return frozenset(names)


def _target_names(target: cst.BaseExpression, names: list[str] | None = None) -> list[str]:
    """The names an assignment target binds (``a``, ``a, (b, *c)``), in order."""
    names = [] if names is None else names
    if isinstance(target, cst.Name):
        if target.value not in names:
            names.append(target.value)
    elif isinstance(target, (cst.Tuple, cst.List)):
        for e in target.elements:
            _target_names(e.value, names)
    elif isinstance(target, cst.StarredElement):
        _target_names(target.value, names)
    return names


def _assigned_names(node: cst.CSTNode) -> list[str]:
    """The names a statement assigns, nested blocks included (not nested functions), in order."""
    names: list[str] = []

    def add(target) -> None:
        _target_names(target, names)

    class _Targets:
        def visit_Assign(self, n: cst.Assign) -> None:
            for t in n.targets:
                add(t.target)

        def visit_AnnAssign(self, n: cst.AnnAssign) -> None:
            add(n.target)

        def visit_AugAssign(self, n: cst.AugAssign) -> None:
            add(n.target)

        def visit_For(self, n: cst.For) -> None:
            add(n.target)

        def visit_Call(self, n: cst.Call) -> None:
            f = n.func
            if isinstance(f, cst.Attribute) and f.attr.value == "append" and isinstance(
                    f.value, cst.Name):
                add(f.value)

        def visit_FunctionDef(self, n) -> bool:
            return False

        def visit_Lambda(self, n) -> bool:
            return False

        def visit_ListComp(self, n) -> bool:
            return False

        visit_GeneratorExp = visit_SetComp = visit_DictComp = visit_ListComp

    visit(node, _Targets())
    return names


def _single_key(node: cst.Subscript, kind: type = str):
    """The index of ``node`` if it is one literal string (or int) key, else None."""
    if len(node.slice) == 1 and isinstance(node.slice[0].slice, cst.Index):
        value = node.slice[0].slice.value
        if kind is str and isinstance(value, cst.SimpleString):
            return value.evaluated_value
        if kind is int and isinstance(value, cst.Integer):
            return int(value.value)
        if kind is int and isinstance(value, cst.UnaryOperation) and isinstance(
                value.expression, cst.Integer):
            return -int(value.expression.value)
    return None


def _is_shape_attribute(node: cst.BaseExpression) -> bool:
    return isinstance(node, cst.Attribute) and node.attr.value == "shape"


def _is_data(obj: Any) -> bool:
    """A value (array, number, tuple...) rather than a module, function, class or constant."""
    if obj is None or isinstance(obj, bool) or inspect.ismodule(obj) or callable(obj):
        return False
    return not isinstance(obj, (Var, Lit, Pack, Local))


class _Missing:
    pass


_MISSING = _Missing()


def _is_none(a: Atom) -> bool:
    return isinstance(a, Lit) and isinstance(a.node, cst.Name) and a.node.value == "None"


def _srcgrad_hook(obj: Any, name: str) -> Callable | None:
    """``obj.<name>`` for an object of srcgrad's own (a derivative, ``srcgrad.jvp``)."""
    owner = obj if inspect.isfunction(obj) else type(obj)
    if not (getattr(owner, "__module__", "") or "").startswith("srcgrad."):
        return None
    return getattr(obj, name, None)


def _opened(value: Any) -> Any:
    """A call's argument as an inline hook sees it: a literal tuple or list as a tuple of
    its items, a function or object as itself, any other value unchanged (opaque)."""
    if isinstance(value, Pack) and value.kind in ("tuple", "list"):
        return tuple(value.items)
    if isinstance(value, Ref):
        return value.obj
    return value


def _is_user_function(obj: Any) -> bool:
    fn_code = getattr(obj, "__code__", None)
    if fn_code is None or not inspect.isfunction(obj):
        return False
    module = getattr(obj, "__module__", "") or ""
    return module.split(".")[0] not in ("numpy", "jax", "srcgrad")


_TEMP = re.compile(r"^t\d+$")
_CONSTRUCTORS = ("zeros", "ones", "empty", "full", "arange", "eye", "identity", "linspace",
                 "zeros_like", "ones_like", "empty_like", "full_like")
_HELPER_RULES = frozenset(r.name for r in runtime.RULES)  # of generated code: lists stay lists
_LIST_RULES = {"append", "pop", "stack_list", "array_list", "sum_list", "getitem", "len", "assign"}


def _atom_key(a: Atom) -> tuple:
    return ("var", a.name) if isinstance(a, Var) else ("lit", code(a.node))


def _uses(a: Atom) -> frozenset[str]:
    return frozenset({a.name}) if isinstance(a, Var) else a.uses


def _atom_node(a: Atom) -> cst.BaseExpression:
    return cst.Name(a.name) if isinstance(a, Var) else a.node


def _number_node(v: int | float) -> cst.BaseExpression:
    text = repr(v)
    if text in ("inf", "-inf", "nan"):
        return cst.parse_expression(f"float('{text}')")
    node = cst.parse_expression(text)
    return node


def _container_node(pack: Pack, nodes) -> cst.BaseExpression:
    if pack.kind == "dict":
        return cst.Dict([cst.DictElement(_number_or_string(k), v)
                         for k, v in zip(pack.keys, nodes, strict=True)])
    elements = [cst.Element(n) for n in nodes]
    if pack.kind == "list":
        return cst.List(elements)
    if len(elements) == 1:
        elements = [cst.Element(nodes[0], comma=cst.Comma())]
    return cst.Tuple(elements)


def _number_or_string(v) -> cst.BaseExpression:
    return cst.parse_expression(repr(v))


def _literal_value(node: cst.BaseExpression):
    try:
        return ast.literal_eval(cst.Module([]).code_for_node(node))
    except Exception as exc:
        raise ValueError("not a literal") from exc


def _describe(node: cst.CSTNode) -> str:
    names = {
        "IfExp": "a conditional expression (a if c else b)",
        "BooleanOperation": "`and`/`or`",
        "ListComp": "a list comprehension", "GeneratorExp": "a generator expression",
        "DictComp": "a dict comprehension", "SetComp": "a set comprehension",
        "NamedExpr": "the walrus operator (:=)", "Await": "`await`", "Yield": "`yield`",
        "Set": "a set literal",
    }
    return names.get(type(node).__name__, type(node).__name__)


_CODE_RUNNERS = (builtins.exec, builtins.eval, builtins.compile, builtins.__import__)
_HINTS = {
    "IfExp": "use np.where(c, a, b) for an elementwise choice",
    "BooleanOperation": "use np.logical_and / np.logical_or (or & and |) on arrays",
    "ListComp": "write the loop's items out, or use a vectorized numpy expression",
    "GeneratorExp": "use a vectorized numpy expression (np.sum over an axis)",
    "DictComp": "build the dict with a literal {...}",
    "SetComp": "use a list or an array",
    "NamedExpr": "assign the value on its own line",
    "Set": "use a tuple or a list",
}


def _op_text(op) -> str:
    return getattr(op, "_get_token", lambda: type(op).__name__)()


def _dotted(node: cst.BaseExpression) -> str:
    return cst.Module([]).code_for_node(node)


@functools.cache
def _signatures(primal, variadic: bool, nin: int):
    """A rule's primal parameters after ``xp``, and the signatures that bind a call's
    arguments to them: those after the operands (or all of them)."""
    params = list(inspect.signature(primal).parameters.values())[1:]
    rest = [p for p in params if p.kind is not p.VAR_POSITIONAL] if variadic else params[nin:]
    return params, inspect.Signature(rest), inspect.Signature(params)
