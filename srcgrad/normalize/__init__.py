"""Lower a user function to the core form: one primitive per statement.

before: any supported Python function body (nested expressions, method calls, tuple unpacking,
augmented assignment, calls to other user functions, lambdas, literal containers, ``if``,
``for``, ``while``, ``break``, ``continue``, conditional expressions).
after:  a :class:`~srcgrad.ir.CoreFunction` whose statements are ``target = prim(atoms)``;
reassigned names are versioned (``h``, ``h_2``) outside control flow and keep one name (their
*home*) inside it; calls to user functions are inlined; loops count down from ``range``
bounds or count their trips; the statements after an ``if`` whose branch always breaks or
continues move into the other branch; every node knows the user statement it came from.

The lowering is one object, :class:`_Lowering`, whose methods live by topic in this package:
``base`` (state, blocks, reuse of results, errors, values), ``statements``, ``decided``
(what is known when the code is generated: an ``if`` on a fixed attribute, loops over
layers, ``with np.errstate``), ``control``
(branches, loops and jumps), ``iteration`` (what a ``for`` loop runs over),
``writes`` (index assignments, and the names they make stale), ``expressions``, ``names``
(names, attributes, objects from outside, static values), ``calls``
(the ordered call resolvers) and ``inline`` (user functions, hooks,
custom rules and checkpoints); ``values`` holds the values they pass around.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from srcgrad.context import PassContext
from srcgrad.ir import CoreFunction
from srcgrad.normalize.calls import _Calls
from srcgrad.normalize.control import _Control
from srcgrad.normalize.decided import _Decided
from srcgrad.normalize.expressions import _Expressions
from srcgrad.normalize.inline import _Inline
from srcgrad.normalize.iteration import _Iteration
from srcgrad.normalize.names import _Names
from srcgrad.normalize.statements import _Statements
from srcgrad.normalize.writes import _Writes
from srcgrad.objects import Shape
from srcgrad.parse import ParsedFunction


class _Lowering(_Statements, _Decided, _Writes, _Control, _Iteration, _Expressions, _Names,
                _Calls, _Inline):
    """One function's lowering: the methods of every part, over the state of ``_Base``."""


def normalize(parsed: ParsedFunction, ctx: PassContext, fn: Callable | None = None,
              objects: Mapping[str, Shape] | None = None) -> CoreFunction:
    """Lower ``parsed`` to the core form; ``objects`` gives the structure of the objects some
    parameters receive (a model), whose leaves then stand in their place."""
    return _Lowering(ctx).function(parsed, fn, objects or {})
