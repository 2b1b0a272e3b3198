"""Backends: the array namespace generated code runs against, and how it is compiled."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy

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
            import jax
            import jax.numpy as jnp
        except ImportError:
            raise SrcGradError("backend='jax' needs jax installed",
                               hint="pip install 'srcgrad[jax]'") from None
        return Backend("jax", jnp, jax.jit if jit else None)
    raise SrcGradError(f"unknown backend {name!r}", hint="use 'numpy' or 'jax'")
