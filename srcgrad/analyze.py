"""Read-only analyses of the core form: which values are active, which shapes are equal, and
which names are assigned before and after each node (what the backward sweep must save)."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import libcst as cst

from srcgrad.errors import SrcGradError
from srcgrad.ir import CoreFunction, If, Lit, Loop, Node, Stmt, Var, assigned, walk
from srcgrad.rules import RuleTable


@dataclass(frozen=True)
class Activity:
    """``varied``: depends on a differentiated input; ``useful``: reaches the output through
    differentiable operations. Only ``active`` values (both) get adjoints."""

    varied: frozenset[str]
    useful: frozenset[str]

    @functools.cached_property
    def active(self) -> frozenset[str]:
        return self.varied & self.useful


def diff_operands(stmt: Stmt, rules: RuleTable) -> list[int]:
    """Indices of the operands of ``stmt`` through which derivatives flow.

    For an opaque call every argument counts, so that a call standing between a differentiated
    input and the output is found (and refused) rather than silently treated as constant.
    """
    if stmt.prim == "call":
        return list(range(1, len(stmt.args)))
    rule = rules[stmt.prim]
    if rule.vjp is None:
        return []
    if rule.variadic:
        return list(range(len(stmt.args)))
    if stmt.prim == "power" and _is_int_zero(stmt.args[1]):
        return []  # x ** 0 is 1 for every x: derivative 0, also at x == 0 (JAX's integer_pow)
    return [i for i, v in enumerate(rule.vjp) if v is not None]


def _is_int_zero(a) -> bool:
    return isinstance(a, Lit) and isinstance(a.node, cst.Integer) and a.node.evaluated_value == 0


def activity(fn: CoreFunction, wrt: Iterable[str], rules: RuleTable) -> Activity:
    """Forward varied-ness from ``wrt``, backward usefulness from the result (by name: a
    variable overwritten in a loop is varied or useful if any of its values is)."""
    stmts = [s for s in walk(fn.body) if isinstance(s, Stmt)]
    varied = set(wrt)
    while True:  # loops carry values from later statements to earlier ones: to a fixed point
        size = len(varied)
        for s in stmts:
            if any(isinstance(a, Var) and a.name in varied
                   for a in (s.args[i] for i in diff_operands(s, rules))) or (
                    s.prim == "call" and any(isinstance(v, Var) and v.name in varied
                                             for _, v in s.params)):
                varied.add(s.target)
        if len(varied) == size:
            break
    outputs = fn.result if isinstance(fn.result, tuple) else (fn.result,)
    useful: set[str] = {a.name for a in outputs if isinstance(a, Var)}
    while True:
        size = len(useful)
        for s in reversed(stmts):
            if s.target in useful:
                useful.update(a.name for a in (s.args[i] for i in diff_operands(s, rules))
                              if isinstance(a, Var))
        if len(useful) == size:
            break
    for a in outputs:
        if isinstance(a, Lit) and a.holds & varied:
            raise SrcGradError(
                f"{fn.name} returns a container of values that carry a derivative as one of "
                "its outputs; srcgrad differentiates outputs that are arrays or numbers",
                fn.result_origin.loc, hint="return its arrays as separate outputs; if it only "
                "reports on the computation, pass has_aux=True to grad (then it is returned "
                "undifferentiated)")
    result = Activity(frozenset(varied), frozenset(useful))
    for s in stmts:
        if s.prim == "call" and _reads_varied(s, varied):
            _refuse_opaque(s, result)
        elif s.target in result.active:
            _refuse_value_parameters(s, varied)
    return result


#: Parameters of rules that take a value, not an index, a shape or an option: no derivative
#: flows through them, so a differentiated value there is refused (not silently a constant).
_VALUE_PARAMETERS = frozenset({"constant_values"})


def _refuse_value_parameters(s: Stmt, varied: set[str]) -> None:
    for name, atom in s.params:
        if name in _VALUE_PARAMETERS and isinstance(atom, Var) and atom.name in varied:
            raise SrcGradError(
                f"the argument {name}= of {s.label or s.prim}() depends on a differentiated "
                "value, and no derivative flows through it", s.origin.at,
                hint=f"pass a constant as {name}=, or build the value another way (for "
                "padding: np.concatenate of the array and the pads)")


def _refuse_opaque(s: Stmt, act: Activity) -> None:
    """An opaque call that takes a differentiated value is refused where its result reaches
    the output, and where it may write into an argument that does (``np.add.at(a, i, x)``,
    ``np.copyto(y, x)``, ``out=``): srcgrad can neither see nor differentiate that write.
    Calls known to leave their arguments alone (``print``) may read anything."""
    callee = s.label or cst_name(s.args[0])
    if s.target in act.active:
        raise SrcGradError(
            f"cannot differentiate through {callee}(): it has no derivative rule and no "
            "Python source to transform",
            s.origin.at,
            hint="give it rules with @srcgrad.adjoint (and @srcgrad.tangent), or use numpy "
            "functions srcgrad has rules for (docs/rules.md), or a Python function of them",
        )
    written = [a.name for a in (*s.args[1:], *(v for _, v in s.params))
               if isinstance(a, Var) and a.name in act.useful]
    if written and not s.reads_only:
        raise SrcGradError(
            f"{callee}() takes a differentiated value and may change its argument "
            f"{written[0]!r} in place, which the output depends on: srcgrad cannot see or "
            "differentiate that write",
            s.origin.at,
            hint="write the update as an expression or an index assignment srcgrad "
            "differentiates (y[i] = v, y = y + ..., np.where), or give a function of your "
            "own rules with @srcgrad.adjoint",
        )


def _reads_varied(s: Stmt, varied: set[str]) -> bool:
    """Whether a call takes a value that depends on a differentiated input (a call of
    constants, ``np.zeros(3)``, is a constant even where its variable is active later)."""
    return any(isinstance(a, Var) and a.name in varied for a in s.args[1:]) or any(
        isinstance(v, Var) and v.name in varied for _, v in s.params)


def cst_name(atom) -> str:
    """The source text of a callee atom, for messages."""
    node = atom.node if isinstance(atom, Lit) else None
    return cst.Module([]).code_for_node(node) if node is not None else "this function"


_FULL_REDUCTIONS = {"sum", "mean", "prod", "amax", "amin", "var", "std"}


class ShapeClasses:
    """Which variables provably have the same shape and dtype (a union-find).

    An elementwise primitive whose non-scalar operands all share a class puts its output in
    that class: ``np.sin(x)``, ``x * 2.0``, ``a + b`` with ``a``, ``b`` alike. A name assigned
    more than once (in a loop or branch) may change shape: it stays alone in its class.
    """

    SCALAR = "()"   # the class of values known to be scalars

    def __init__(self, fn: CoreFunction, rules: RuleTable, scalars: frozenset[str] = frozenset()):
        self._parent: dict[str, str] = {}
        self.scalars = scalars  # names that hold scalars (every argument being a scalar)
        stmts = [s for s in walk(fn.body) if isinstance(s, Stmt)]
        counts: dict[str, int] = {}
        for s in stmts:
            counts[s.target] = counts.get(s.target, 0) + 1
        self.reassigned = frozenset(n for n, c in counts.items() if c > 1) | frozenset(
            n for n in fn.params if n in counts)
        # names a loop assigns hold another iteration's value when the backward sweep reads
        # them elsewhere: they never stand in for another variable's shape
        self.changing = self.reassigned | frozenset().union(
            *(assigned(n.body) for n in walk(fn.body) if isinstance(n, Loop)))
        for s in stmts:
            if s.target in self.reassigned:
                continue
            if s.prim in _FULL_REDUCTIONS and "axis" in s.omitted and "keepdims" in s.omitted:
                self._parent[s.target] = self.SCALAR
                continue
            if s.prim == "call" or not rules[s.prim].elementwise:
                continue
            arrays = [a for a in s.args if not (isinstance(a, Lit) and a.is_scalar_number)]
            if arrays and all(isinstance(a, Var) and a.name not in self.reassigned
                              for a in arrays):
                roots = {self.find(a.name) for a in arrays if isinstance(a, Var)}  # (all)
                if len(roots) == 1:
                    self._parent[s.target] = roots.pop()

    def find(self, name: str) -> str:
        if name in self.scalars:
            return self.SCALAR
        while name in self._parent:
            name = self._parent[name]
        return name

    def same(self, a: str, b: str) -> bool:
        return self.find(a) == self.find(b)


def scalar_values(fn: CoreFunction, rules: RuleTable, scalar_lit: Callable[[Lit], bool]
                  ) -> frozenset[str]:
    """The variables that hold scalars when every argument is a Python number: the arguments,
    and what elementwise primitives and full reductions make of scalars (to a fixed point: a
    variable of a loop is a scalar if all its assignments are)."""
    stmts = [s for s in walk(fn.body) if isinstance(s, Stmt)]
    scalars = set(fn.params) | {s.target for s in stmts}

    def scalar(a) -> bool:
        return a.name in scalars if isinstance(a, Var) else (a.is_scalar_number or scalar_lit(a))

    changed = True
    while changed:
        changed = False
        for s in stmts:
            if s.target not in scalars:
                continue
            full = s.prim in _FULL_REDUCTIONS and "axis" in s.omitted and \
                "keepdims" in s.omitted
            elementwise = s.prim != "call" and (rules[s.prim].elementwise or s.prim in (
                "assign", "copy")) and all(scalar(a) for a in s.args)
            if not (full or elementwise):
                scalars.discard(s.target)
                changed = True
    return frozenset(scalars)


# --- names assigned before and after each node -------------------------------------------------

class Names:
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
        at = self.positions.get(name)  # type: ignore[call-overload]  # any object: None
        if at is not None and (at > self.index if self.later else at < self.index):
            return True
        return name in self.extra or any(name in o for o in self.outer)

    def __and__(self, other) -> set[str]:
        return {n for n in other if n in self}

    __rand__ = __and__


def bound_before(block: tuple[Node, ...], outer: tuple, out: dict[int, Names]) -> None:
    """For each node, the names surely assigned before it runs."""
    first: dict[str, int] = {}
    for k, node in enumerate(block):
        if isinstance(node, Stmt):
            first.setdefault(node.target, k)
        elif isinstance(node, If):
            for n in assigned(node.body) & assigned(node.orelse):
                first.setdefault(n, k)
    for k, node in enumerate(block):
        here = Names(first, k, outer, later=False)
        out[id(node)] = here
        if isinstance(node, If):
            bound_before(node.body, (here,), out)
            bound_before(node.orelse, (here,), out)
        elif isinstance(node, Loop):
            bound_before(node.body, (here,), out)


def kill_after(block: tuple[Node, ...], outer: tuple, out: dict[int, Names]) -> None:
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
        here = Names(last, k, outer)
        out[id(node)] = here
        if isinstance(node, If):
            kill_after(node.body, (here,), out)
            kill_after(node.orelse, (here,), out)
        elif isinstance(node, Loop):
            body = bodies[k]
            extra = frozenset(body | {n for n in (node.trips,) if n})
            exclude = frozenset({node.index}) if node.index and node.index not in body else \
                frozenset()  # the reverse loop sets it again
            kill_after(node.body, (Names({}, 0, (here,), extra, exclude),), out)
