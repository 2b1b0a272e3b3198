"""The core form that ``normalize`` produces: one primitive per statement.

Every statement is ``target = prim(*args, **params)`` over *atoms*: a variable, or a
non-differentiable expression (a literal, a bound constant, an index) that may read variables.
Control flow stays structured: :class:`If` and :class:`Loop` hold blocks of statements, and
``break``/``continue`` (:class:`Jump`) end a branch. Each node remembers the user statement it
came from, for comments and errors.

Outside control flow every name is assigned once (``h``, ``h_2``); a name assigned inside a
branch or loop keeps one name there (it is overwritten), and the reverse sweep saves what it
needs of it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import libcst as cst

from srcgrad.errors import Location
from srcgrad.objects import Guard, Shape
from srcgrad.rules import DEFAULT_RULES, RuleTable


@dataclass(frozen=True)
class Var:
    """A variable of the core form (user names are versioned on reassignment: ``h``, ``h_2``)."""

    name: str


@dataclass(frozen=True, eq=False)
class Lit:
    """A non-differentiable expression: a literal, a bound constant, an index; ``uses`` lists the
    variables it reads."""

    node: cst.BaseExpression
    uses: frozenset[str] = frozenset()
    scalar: bool = False   # known to be a Python or NumPy scalar (``x.shape[0]``, ``x.ndim``)
    # variables whose values it holds as they are (a container of outputs, ``{"h": h}``): a
    # derivative would flow through it, so it is no output of a derivative's function
    holds: frozenset[str] = frozenset()

    @property
    def is_scalar_number(self) -> bool:
        if self.scalar:
            return True
        node = self.node
        if isinstance(node, cst.UnaryOperation):
            node = node.expression
        return isinstance(node, (cst.Integer, cst.Float))


def atom_uses(a: Var | Lit) -> frozenset[str]:
    """The variables atom ``a`` reads: itself, or those its expression names."""
    return frozenset({a.name}) if isinstance(a, Var) else a.uses


Atom = Var | Lit


@dataclass(frozen=True)
class Origin:
    """The user statement a core statement comes from."""

    loc: Location
    text: str           # the statement, on one line
    where: str = ""     # "" for the differentiated function, else the inlined callee's name
    call: Location | None = None  # inlined from a library's twin: the user's call of it

    @property
    def at(self) -> Location:
        """Where an error here is reported: the user's own line (a twin's statement is
        shown in comments, but its errors are the user's call's)."""
        return self.loc if self.call is None else self.call


@dataclass(frozen=True, eq=False)
class Lowered:
    """A custom rule's body, lowered like an inlined call: statements in which the names
    ``inputs`` stand for what the transformer binds when it writes them (an adjoint rule: the
    output's adjoint, then the output; a tangent rule: the output, then one tangent per
    argument), and what it returns (an adjoint rule: one atom per argument, the literal
    ``None`` for no derivative; a tangent rule: the output's tangent)."""

    name: str   # the rule's
    inputs: tuple[str, ...]
    body: tuple[Node, ...]
    results: tuple[Atom, ...]
    checked: bool = True  # results pass through shaped_like (a user rule's may be misshapen)
    like_adjoint: bool = False  # ... shaped like the output's adjoint, not like the argument


@dataclass(frozen=True, eq=False)
class Custom:
    """The rules of a call of ``fn`` (its name): its value comes from the statement's parameter
    ``value``; its derivatives from the lowered rules (None: no rule of that kind)."""

    fn: str
    adjoint: Lowered | None
    tangent: Lowered | None

    def label(self, rule: Lowered) -> str:
        """How messages name ``rule``: ``my_relu_adjoint of my_relu``."""
        return rule.name if rule.name == self.fn else f"{rule.name} of {self.fn}"


@dataclass(frozen=True)
class Stmt:
    """``target = prim(*args, **params)``; ``prim`` names a rule, or ``call`` for an opaque
    call (``args[0]`` the callee) that must not touch differentiable values."""

    target: str
    prim: str
    args: tuple[Atom, ...]
    params: tuple[tuple[str, Atom], ...]
    origin: Origin
    omitted: frozenset[str] = field(default_factory=frozenset)  # params left at their default
    effect: bool = False   # an opaque call kept for its effect (``print(x)``) even if unused
    custom: Custom | None = None  # a call differentiated by the user's rules
    reads_only: bool = False  # an opaque call known to leave its arguments alone (``print``)
    label: str = ""  # an opaque call's callee as the user wrote it (``np.add.at``), for messages

    def reads(self) -> set[str]:
        names: set[str] = set()
        for a in (*self.args, *(v for _, v in self.params)):
            names |= atom_uses(a)
        return names


@dataclass(frozen=True, eq=False)
class If:
    """``if test: body else: orelse``; ``test`` is a variable holding the branch taken."""

    test: Atom
    body: tuple[Node, ...]
    orelse: tuple[Node, ...]
    origin: Origin


@dataclass(frozen=True, eq=False)
class Loop:
    """``for index in range(*bounds)`` (``bounds`` set) or ``while test`` (``test`` set, a
    non-differentiable expression evaluated before every iteration). ``trips`` names the
    counter of iterations run, kept where the trip count is not known from the bounds.
    A counted loop may run over the first ``limit`` integers of the range only
    (``range(n)[:limit]``), and over them last first (``backward``: ``reversed(range(n))``,
    as gradient code loops)."""

    body: tuple[Node, ...]
    origin: Origin
    index: str | None = None
    bounds: tuple[Atom, Atom, Atom] | None = None
    test: Lit | None = None
    trips: str | None = None
    limit: Atom | None = None
    backward: bool = False

    def reads(self) -> set[str]:
        """The names the range of a counted loop reads (its bounds and limit)."""
        names: set[str] = set()
        for a in (*(self.bounds or ()), *([self.limit] if self.limit is not None else [])):
            names |= atom_uses(a)
        return names


@dataclass(frozen=True, eq=False)
class Jump:
    """``break``, ``continue`` or ``return`` (from the function lowered as ``scope``): always
    the last node of a branch; the statements it skips are in the other branch."""

    kind: str
    origin: Origin
    scope: int = 0


Node = Stmt | If | Loop | Jump


def walk(block: tuple[Node, ...]):
    """Every node of ``block``, nested ones included, in program order."""
    for node in block:
        yield node
        if isinstance(node, If):
            yield from walk(node.body)
            yield from walk(node.orelse)
        elif isinstance(node, Loop):
            yield from walk(node.body)


def assigned(block: tuple[Node, ...]) -> set[str]:
    """The names ``block`` may assign (loop indices and trip counters included)."""
    names: set[str] = set()
    for node in walk(block):
        if isinstance(node, Stmt):
            names.add(node.target)
        elif isinstance(node, Loop):
            names.update(n for n in (node.index, node.trips) if n)
    return names


def free_reads(block: tuple[Node, ...], results: tuple[Atom, ...] = ()) -> set[str]:
    """The names ``block`` (then ``results``) reads that it does not assign first."""
    names: set[str] = set()
    for node in walk(block):
        if isinstance(node, Stmt):
            names |= node.reads()
        elif isinstance(node, If):
            names |= atom_uses(node.test)
        elif isinstance(node, Loop):
            names |= node.reads() | (set(node.test.uses) if node.test is not None else set())
    for a in results:
        names |= atom_uses(a)
    return names - assigned(block)


def _exits(node: Node, scope: int) -> bool:
    return isinstance(node, Jump) and (node.kind != "return" or node.scope == scope)


def always_exits(block: tuple[Node, ...], scope: int = 0) -> bool:
    """Whether every path through ``block`` ends in ``break``, ``continue`` or a ``return``
    of the function lowered as ``scope``."""
    if not block:
        return False
    last = block[-1]
    if _exits(last, scope):
        return True
    return isinstance(last, If) and always_exits(last.body, scope) and \
        always_exits(last.orelse, scope)


def may_exit(block: tuple[Node, ...], scope: int = 0) -> bool:
    """Whether some path through ``block`` reaches such a jump."""
    for node in block:
        if _exits(node, scope):
            return True
        if isinstance(node, If) and (may_exit(node.body, scope) or may_exit(node.orelse, scope)):
            return True
    return False


@dataclass(frozen=True)
class ObjectParam:
    """A parameter that receives an object (a model): in the core form, the variables its
    leaves are read into stand in its place among the parameters."""

    name: str
    shape: Shape
    leaves: tuple[tuple[tuple[str, ...], str, bool], ...]   # (path, variable, differentiated)


@dataclass(frozen=True)
class CoreFunction:
    """A normalized function: parameters, statements, and the atom it returns, with all that
    the later passes need to read them: ``rules``, the table its primitives are found in (the
    default table and the rules normalize made for generated functions it inlined);
    ``bindings``, the values from outside the function that its atoms name (the generated code
    is compiled with them); ``guards``, the objects it reaches from outside, whose structure it
    assumes."""

    name: str
    params: tuple[str, ...]
    body: tuple[Node, ...]
    result: Atom | tuple[Atom, ...]   # a tuple for ``return a, b`` (several outputs)
    result_origin: Origin
    kwonly: tuple[str, ...] = ()   # the parameters (among ``params``) that are keyword-only
    lists: frozenset[str] = frozenset()   # variables holding lists built with ``append``
    arrays: frozenset[str] = frozenset()  # variables assigned by index (``y[i] = v``)
    objects: tuple[ObjectParam, ...] = ()  # parameters that receive objects, by their leaves
    rules: RuleTable = field(default_factory=lambda: DEFAULT_RULES, compare=False)
    bindings: Mapping[str, Any] = field(default_factory=dict, compare=False)
    guards: tuple[Guard, ...] = ()


@dataclass(frozen=True)
class Gen:
    """One statement of generated code: ``target = expr`` (``target`` None: an expression
    statement kept for its effect, e.g. ``print``). ``pair`` links a push onto a stack of saved
    values with the pop that takes it back (same number), so that both go together."""

    target: str | None
    expr: cst.BaseExpression
    origin: Origin
    effect: bool = False
    pair: int = 0
    index: cst.BaseExpression | None = None   # set: ``target[index] = expr``


@dataclass(frozen=True)
class GIf:
    """``if test: body else: orelse`` in generated code."""

    test: cst.BaseExpression
    body: tuple[GNode, ...]
    orelse: tuple[GNode, ...]
    origin: Origin


@dataclass(frozen=True)
class GLoop:
    """``for target in expr: body`` (``target`` set) or ``while expr: body``."""

    target: str | None
    expr: cst.BaseExpression
    body: tuple[GNode, ...]
    origin: Origin


GNode = Gen | GIf | GLoop | Jump


def gens(block: tuple[GNode, ...]):
    """Every :class:`Gen` of ``block``, nested ones included, in program order."""
    for node in block:
        if isinstance(node, Gen):
            yield node
        elif isinstance(node, GIf):
            yield from gens(node.body)
            yield from gens(node.orelse)
        elif isinstance(node, GLoop):
            yield from gens(node.body)


@dataclass(frozen=True)
class Program:
    """A generated function before emission: parameters, the forward and backward sweeps, and
    the expressions it returns."""

    name: str
    params: tuple[str, ...]
    forward: tuple[GNode, ...]
    backward: tuple[GNode, ...]
    returns: tuple[cst.BaseExpression, ...]
    docstring: str = ""
    kwonly: tuple[str, ...] = ()
    filename: str = ""   # the differentiated function's file (comments name any other)
