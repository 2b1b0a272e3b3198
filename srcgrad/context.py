"""What the passes share while one function is transformed, and what they may ask of the
driver.

:class:`PassContext` carries the rule table, the recognized calls, the namer and the backend.
A pass never calls the driver itself: where normalize needs code generated for another function
(a checkpointed call's vector-Jacobian product and tangent), it asks ``ctx.derive``, which the
pipeline fills in with the context's own backend. :class:`Transformed` is what the pipeline
hands back for one function.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from srcgrad.naming import Namer
from srcgrad.objects import Guard
from srcgrad.rules import RuleTable
from srcgrad.rules.calls import CallTable


class GeneratedFunction(Protocol):
    """A function srcgrad generated: called as any function, its source text attached."""

    __srcgrad_source__: str

    def __call__(self, *args: Any, **kwargs: Any) -> Any: ...


@dataclass(frozen=True)
class Transformed:
    """The code generated for one function: the compiled function, its source, the positions of
    the differentiated parameters, its keyword-only parameters (first the output adjoint of a
    vector-Jacobian product, or the tangents of a jvp, one per differentiated parameter), the
    module-level numbers code made for Python numbers assumes stay numbers, as
    ``(globals dict, name)`` pairs, and the objects from outside whose structure it assumes."""

    fn: GeneratedFunction
    source: str
    positions: tuple[int, ...]
    kwonly: tuple[str, ...] = ()
    assumed: tuple[tuple[dict, str], ...] = ()
    guards: tuple[Guard, ...] = ()
    readers: tuple = ()   # code taking objects' leaves: per parameter, (argument, steps)

    def holds(self) -> bool:
        """Whether the objects the code reads from outside still have the structure it was
        generated for."""
        return all(g.holds() for g in self.guards)


#: ``derive(fn, mode)``: the code generated for ``fn`` (``mode`` ``"vjp"`` or ``"fwd"``, every
#: positional parameter differentiated) on the backend of the transformation asking.
Derive = Callable[[Callable, str], Transformed]


def _no_derive(fn: Callable, mode: str) -> Transformed:
    raise NotImplementedError("this PassContext generates no code for other functions")


@dataclass
class PassContext:
    """What the passes share: the rule table normalize starts from, the recognized calls, the
    namer, the backend, and ``derive`` for code generated for another function. Nothing is
    handed on through it: what normalize finds out (rules it adds, values to bind, objects
    reached from outside) goes into the :class:`~srcgrad.ir.CoreFunction` it returns."""

    rules: RuleTable
    calls: CallTable
    namer: Namer
    alias: str = "np"
    stack: list[Any] = field(default_factory=list)
    backend: str = "numpy"
    derive: Derive = _no_derive
