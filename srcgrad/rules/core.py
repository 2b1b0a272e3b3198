"""The rule type: one entry per primitive, its tangent beside its adjoint.

Contract for every rule function, whether primal, tangent (jvp) or adjoint (vjp):

* signature ``primal(xp, *operands, **params)``, ``jvp(xp, t, out, *operands, **params)``,
  ``vjp(xp, g, out, *operands, **params)``: ``xp`` is the backend namespace (numpy or
  jax.numpy), ``t``/``g`` the tangent/cotangent, ``out`` the primal output;
* the body is a single ``return`` expression over ``xp.*`` and the helpers of
  :mod:`srcgrad.runtime`, so it is runnable as-is in tests *and* inlined by the code
  generator by pure substitution of names;
* a vjp returns the contribution to its operand's adjoint, already summed back to that
  operand's shape; the transformer adds contributions up;
* ``None`` in place of a jvp/vjp marks an operand as non-differentiable (an index, a condition).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from srcgrad.errors import SrcGradError

RuleFn = Callable[..., object]


class LinearJvp:
    """The jvp of a linear primitive: the primitive applied to the tangent (JAX's deflinear)."""

    def __init__(self, primal: RuleFn):
        self.primal = primal

    def __call__(self, xp, t, out, *operands, **params):  # dz = f(dx)
        return self.primal(xp, t, *operands[1:], **params)


class Undefined:
    """In a jvp/vjp table: the operand is differentiable, but this derivative is not available
    (a third derivative of a runtime helper); using it is a located error, never a zero."""

    def __init__(self, reason: str, hint: str | None = None):
        self.reason = reason
        self.hint = hint

    def __call__(self, *args, **kwargs):
        raise NotImplementedError(self.reason)


def undefined(fn: Undefined, stmt, kind: str):
    """The located error for a statement whose ``kind`` ("tangent" or "adjoint") is
    :class:`Undefined`."""
    return SrcGradError(f"no {kind} rule for {stmt.prim}() here: {fn.reason}", stmt.origin.at,
                        hint=fn.hint or "differentiate the function once less, or by the "
                        "other mode (hvp and hessian take mode=)")


@dataclass(frozen=True)
class Rule:
    """How to compute, differentiate forward and differentiate backward one primitive.

    ``jvp``/``vjp`` hold one entry per operand (``None``: not differentiable in that operand);
    both are ``None`` for a primitive whose output is never differentiable (``sign``, ``argmax``).
    ``variadic`` rules take any number of operands (``concatenate``, ``einsum``); their single
    jvp/vjp function receives the operand index ``i`` right after ``out``.
    ``elementwise`` declares that the output has the broadcast shape of the operands, which
    lets the transformer skip summing adjoints back when operand shapes are known equal.
    ``joint`` declares a primitive linear in all its operands at once (``np.stack``): forward
    mode then applies it to the operands' tangents in one call.
    """

    name: str
    primal: RuleFn
    jvp: tuple[RuleFn | None, ...] | None = None
    vjp: tuple[RuleFn | None, ...] | None = None
    variadic: bool = False
    elementwise: bool = False
    joint: bool = False   # linear in all operands together: the jvp is the primal of tangents
    nin: int = field(init=False)

    def __post_init__(self) -> None:
        sig = inspect.signature(self.primal)
        positional = [
            p for p in list(sig.parameters.values())[1:]
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
        ]
        if self.vjp is not None and not self.variadic:
            n = len(self.vjp)
        else:  # non-differentiable: the operands are the positional parameters without defaults
            n = len([p for p in positional if p.default is p.empty])
        object.__setattr__(self, "nin", n)
        for table in (self.jvp, self.vjp):
            if table is not None and not self.variadic and len(table) != n:
                raise ValueError(f"rule {self.name!r}: one jvp/vjp entry per operand expected")

    @property
    def differentiable(self) -> bool:
        return self.vjp is not None


def rule(name: str, primal: RuleFn, jvp=None, vjp=None, *,
         elementwise: bool = False) -> Rule:  # pragma: no mutate block
    """Declare a differentiable primitive with one jvp and one vjp per operand."""
    return Rule(name, primal, tuple(jvp), tuple(vjp), elementwise=elementwise)


def linear(name: str, primal: RuleFn, transpose: RuleFn, *,
           elementwise: bool = False) -> Rule:  # pragma: no mutate block
    """Declare a primitive linear in its first operand; its jvp is the primitive itself."""
    return Rule(name, primal, (LinearJvp(primal),), (transpose,), elementwise=elementwise)


def variadic(name: str, primal: RuleFn, jvp: RuleFn, vjp: RuleFn, *,
             joint: bool = False) -> Rule:  # pragma: no mutate block
    """Declare a primitive over a sequence of operands (``np.concatenate([a, b])``);
    ``joint``: linear in all of them together."""
    return Rule(name, primal, (jvp,), (vjp,), variadic=True, joint=joint)


def nondiff(name: str, primal: RuleFn) -> Rule:  # pragma: no mutate block
    """Declare a primitive whose output carries no derivative (``sign``, ``argmax``, ``<``)."""
    return Rule(name, primal)


class RuleTable(Mapping[str, Rule]):
    """An immutable mapping from primitive name to :class:`Rule`."""

    def __init__(self, rules: Mapping[str, Rule] | None = None):
        self._rules = MappingProxyType(dict(rules or {}))

    @classmethod
    def of(cls, *groups: Mapping[str, Rule] | list[Rule]
           ) -> RuleTable:  # pragma: no mutate block
        merged: dict[str, Rule] = {}
        for group in groups:
            for r in group.values() if isinstance(group, Mapping) else group:
                if r.name in merged:
                    raise ValueError(f"rule {r.name!r} declared twice")
                merged[r.name] = r
        return cls(merged)

    def __getitem__(self, name: str) -> Rule:
        return self._rules[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._rules)

    def __len__(self) -> int:
        return len(self._rules)

    def with_rules(self, *extra: Rule) -> RuleTable:
        """A new table with ``extra`` added or replacing rules of the same name."""
        merged = dict(self._rules)
        merged.update({r.name: r for r in extra})
        return RuleTable(merged)
