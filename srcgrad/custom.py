"""Custom derivative rules: ``@adjoint(fn)`` and ``@tangent(fn)`` say how calls of ``fn`` are
differentiated, for a function srcgrad should not read (a hand-tuned backward, a function with
no Python source such as ``scipy.special.erf``), and ``stop_gradient``.

A rule is ordinary Python. ``normalize`` lowers its body like an inlined call, into the
backward sweep (an adjoint) or beside the tangents (a tangent), so the generated code shows it,
each statement headed by a comment naming the rule. The registry is global: register rules at
import time, next to the function.
"""

from __future__ import annotations

import inspect
import threading
from collections.abc import Callable
from typing import Any

from srcgrad.errors import SrcGradError
from srcgrad.rules.core import Undefined

__all__ = ["Undefined", "adjoint", "checkpoint", "grad_hook", "lowered", "rules_for",
           "tangent", "value", "version"]

_LOCK = threading.Lock()
_ADJOINTS: dict[int, tuple[Callable, Callable]] = {}   # id(fn) -> (fn, rule)
_TANGENTS: dict[int, tuple[Callable, Callable]] = {}
_version = 0  # bumped by every registration: part of the transformation cache's key


def version() -> int:
    """How many rules have been registered (generated code made before may be stale)."""
    return _version


def _arity(fn: Callable, rule: Callable, extra: int, per_arg: int) -> int:
    """The number of arguments of ``fn``, checked against the parameters of ``rule``:
    ``extra + per_arg * n`` positional parameters."""
    name = getattr(rule, "__name__", "rule")
    fname = getattr(fn, "__name__", repr(fn))
    try:
        rule_params = list(inspect.signature(rule).parameters.values())
    except (TypeError, ValueError):
        raise SrcGradError(f"the rule {name} for {fname} must be a Python function") from None
    if any(p.kind not in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) for p in rule_params):
        raise SrcGradError(f"the rule {name} for {fname} takes plain positional parameters only",
                           hint="no *args, **kwargs or keyword-only parameters")
    nin = getattr(fn, "nin", None)  # a NumPy ufunc: its inputs (out= and the like aside)
    try:
        if isinstance(nin, int):
            raise TypeError
        fn_params = list(inspect.signature(fn).parameters.values())
        n: int | None = sum(p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
                            for p in fn_params)
        if any(p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) for p in fn_params):
            raise SrcGradError(f"{fname} takes *args or **kwargs: a rule needs fixed arguments")
    except (TypeError, ValueError):  # a ufunc, or a builtin without a signature
        n = nin if isinstance(nin, int) else None
        if n is None:
            if (len(rule_params) - extra) % per_arg:
                raise SrcGradError(f"cannot tell how many arguments {fname} takes for the "
                                   f"rule {name}") from None
            n = (len(rule_params) - extra) // per_arg
    assert n is not None  # (a number on every path here)
    if len(rule_params) != extra + per_arg * n:
        raise SrcGradError(
            f"the rule {name} for {fname} takes {len(rule_params)} parameter(s); "
            f"{fname} takes {n} argument(s), so it must take {extra + per_arg * n}",
            hint="adjoint rules take (d_out, out, *args); tangent rules take "
                 "(out, *args, *tangents), one tangent per argument")
    return n


def adjoint(fn: Callable) -> Callable[[Callable], Callable]:
    """Register the decorated ``rule(d_out, out, *args)`` as how calls of ``fn`` are
    differentiated in reverse mode: it returns one adjoint per argument of ``fn`` (a tuple when
    there are several; ``None`` for an argument with no derivative), each shaped like its
    argument. ``d_out`` is the adjoint of the output ``out``."""
    def register(rule: Callable) -> Callable:
        _arity(fn, rule, 2, 1)
        _register(_ADJOINTS, fn, rule)
        return rule
    return register


def tangent(fn: Callable) -> Callable[[Callable], Callable]:
    """Register the decorated ``rule(out, *args, *tangents)`` as how calls of ``fn`` are
    differentiated in forward mode: it returns the tangent of ``out`` given one tangent per
    argument (zeros for an argument that carries none), in the order of the arguments."""
    def register(rule: Callable) -> Callable:
        _arity(fn, rule, 1, 2)
        _register(_TANGENTS, fn, rule)
        return rule
    return register


def _register(table: dict, fn: Callable, rule: Callable) -> None:
    global _version
    with _LOCK:
        table[id(fn)] = (fn, rule)
        _version += 1


def rules_for(obj: Any) -> tuple[Callable | None, Callable | None] | None:
    """``(adjoint rule, tangent rule)`` registered for ``obj``, or None if neither is."""
    entry_a, entry_t = _ADJOINTS.get(id(obj)), _TANGENTS.get(id(obj))
    a = entry_a[1] if entry_a is not None and entry_a[0] is obj else None
    t = entry_t[1] if entry_t is not None and entry_t[0] is obj else None
    return None if a is None and t is None else (a, t)


class checkpoint:  # noqa: N801 - a decorator, spelled like one
    """``checkpoint(fn)``, or ``@checkpoint`` on ``fn``: in a function srcgrad differentiates,
    a call of ``fn`` saves only its arguments for the backward sweep, which computes ``fn``
    again (its generated vector-Jacobian product) instead of reading stored intermediates.
    Called directly, it is ``fn``."""

    def __init__(self, fn: Callable):
        if not inspect.isfunction(fn):
            raise SrcGradError(f"checkpoint takes a Python function, not {fn!r}",
                               hint="a function with source that srcgrad can differentiate")
        self.fn = fn
        self.__wrapped__ = fn
        self.__name__ = getattr(fn, "__name__", "f")
        self.__doc__ = getattr(fn, "__doc__", None)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.fn(*args, **kwargs)

    def __repr__(self) -> str:
        return f"<srcgrad.checkpoint {self.__name__}>"


def grad_hook(x: Any, fn: Callable) -> Any:
    """``x`` itself. In a function srcgrad differentiates, the adjoint of the result passes
    through ``fn`` on its way back to ``x``: ``h = grad_hook(h, lambda d_h: np.clip(d_h, -1.0,
    1.0))`` clips the adjoint of ``h`` at that point of the backward sweep (PyTorch's
    ``register_hook``). ``fn`` is a lambda or a Python function of the adjoint."""
    return x


def value(xp, *operands, value):
    """The primal of a call with custom rules: its value, computed by the statements before."""
    return value


def lowered(*args):
    """Marks an operand whose derivative comes from a lowered rule (never called)."""
    raise AssertionError("a custom rule is written from its lowered body")
