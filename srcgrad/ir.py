"""The core form that ``normalize`` produces: one primitive per statement.

Every statement is ``target = prim(*args, **params)`` over *atoms*: a variable, or a
non-differentiable expression (a literal, a bound constant, an index) that may read variables.
Each statement remembers the user statement it came from, for comments and errors.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import libcst as cst

from srcgrad.errors import Location


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

    @property
    def is_scalar_number(self) -> bool:
        if self.scalar:
            return True
        node = self.node
        if isinstance(node, cst.UnaryOperation):
            node = node.expression
        return isinstance(node, (cst.Integer, cst.Float))


Atom = Var | Lit


@dataclass(frozen=True)
class Origin:
    """The user statement a core statement comes from."""

    loc: Location
    text: str           # the statement, on one line
    where: str = ""     # "" for the differentiated function, else the inlined callee's name


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

    def reads(self) -> set[str]:
        names: set[str] = set()
        for a in (*self.args, *(v for _, v in self.params)):
            names |= {a.name} if isinstance(a, Var) else set(a.uses)
        return names


@dataclass(frozen=True)
class CoreFunction:
    """A normalized function: parameters, statements, and the atom it returns."""

    name: str
    params: tuple[str, ...]
    body: tuple[Stmt, ...]
    result: Atom
    result_origin: Origin
    kwonly: tuple[str, ...] = ()   # the parameters (among ``params``) that are keyword-only


@dataclass(frozen=True)
class Gen:
    """One statement of generated code: ``target = expr`` (``target`` None: an expression
    statement kept for its effect, e.g. ``print``)."""

    target: str | None
    expr: cst.BaseExpression
    origin: Origin
    effect: bool = False


@dataclass(frozen=True)
class Program:
    """A generated function before emission: parameters, the forward and backward sweeps, and
    the expressions it returns."""

    name: str
    params: tuple[str, ...]
    forward: tuple[Gen, ...]
    backward: tuple[Gen, ...]
    returns: tuple[cst.BaseExpression, ...]
    docstring: str = ""
    kwonly: tuple[str, ...] = ()
