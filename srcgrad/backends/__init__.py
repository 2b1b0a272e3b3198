"""Backends: the array namespace generated code runs against, and how it is compiled."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import numpy

from srcgrad import emit
from srcgrad.errors import SrcGradError
from srcgrad.runtime import HELPERS as RUNTIME

#: Helpers the rules call; every generated function sees them under these names.
HELPERS: dict[str, Any] = {**RUNTIME, "s_": numpy.s_}


@dataclass(frozen=True)
class Backend:
    """An array namespace (``numpy`` or ``jax.numpy``) and an optional compiler (``jax.jit``)."""

    name: str
    xp: Any
    compile: Callable[[Callable], Callable] | None = None

    def namespace(self, alias: str) -> dict[str, Any]:
        return {alias: self.xp, **HELPERS}


def get_backend(name: str, jit: bool = False) -> Backend:
    """The backend called ``name`` (``"numpy"`` or ``"jax"``)."""
    if name == "numpy":
        if jit:
            raise SrcGradError("jit=True needs backend='jax'")
        return Backend("numpy", numpy)
    if name == "jax":
        try:
            import jax.numpy as jnp
        except ImportError:
            raise SrcGradError("backend='jax' needs jax installed",
                               hint="pip install 'srcgrad[jax]'") from None
        return Backend("jax", jnp, Jitted if jit else None)
    raise SrcGradError(f"unknown backend {name!r}", hint="use 'numpy' or 'jax'")


#: Python values that steer generated code rather than flow through it: static under jax.jit.
_STATIC_TYPES = (int, bool, str, type(None))

#: JAX's errors for a Python decision taken on a traced value.
_TRACER_ERRORS = frozenset({"TracerBoolConversionError", "ConcretizationTypeError",
                            "TracerIntegerConversionError", "TracerArrayConversionError",
                            "NonConcreteBooleanIndexError"})


class Jitted:
    """Generated code compiled with ``jax.jit``. Python ints, bools, strings and None among
    the arguments are static (a loop bound ``range(n)``, a flag, a mode): each new value
    compiles again, as with ``static_argnums``; so are the parameters named in
    ``static_argnames``. A Python decision taken on a traced value raises a
    :class:`SrcGradError` at the user's line, not JAX's error."""

    def __init__(self, fn: Callable, static_argnames: Iterable[str] = ()):
        functools.update_wrapper(self, fn)
        self._fn = fn
        self._params = tuple(inspect.signature(fn).parameters)
        self._named = frozenset(static_argnames)
        self._compiled: dict[tuple, Callable] = {}

    def with_static(self, names: Iterable[str]) -> Jitted:
        """The same code with the parameters ``names`` static too."""
        return Jitted(self._fn, self._named | set(names))

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        params, named = self._params, self._named
        positions = tuple(i for i, a in enumerate(args)
                          if a.__class__ in _STATIC_TYPES or i < len(params) and params[i] in named)
        names = tuple(k for k, v in kwargs.items()
                      if v.__class__ in _STATIC_TYPES or k in named) if kwargs else ()
        compiled = self._compiled.get((positions, names))
        if compiled is None:
            import jax

            compiled = self._compiled[positions, names] = jax.jit(
                self._fn, static_argnums=positions, static_argnames=names)
        try:
            return compiled(*args, **kwargs)
        except Exception as exc:
            if type(exc).__name__ not in _TRACER_ERRORS:
                raise
            where = emit.origin_of(exc)
        raise SrcGradError(
            "with jit=True, a condition, a loop bound or a boolean index cannot depend on "
            "the values of traced arrays", where,
            hint="use np.where for an elementwise choice; pass a Python int or bool (static "
            "automatically) or name the argument in static_argnames; or call without jit=True "
            "(jax then runs the branches and loops as Python)")
