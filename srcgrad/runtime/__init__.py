"""The run-time library of generated code: the helpers rules call where one expression of
``xp.*`` would not be clear or general enough, split by topic.

They run unchanged on NumPy arrays, jax arrays (also under ``jax.jit``) and Python scalars: the
backend is picked from the arguments, never from a global setting. Generated code calls them
by the names in :data:`HELPERS`, every public function of these modules.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from srcgrad.runtime import (
    arrays,
    broadcasting,
    indexing,
    linalg,
    reductions,
    spectral,
    structures,
)

MODULES = (arrays, broadcasting, reductions, linalg, indexing, structures, spectral)

#: Every helper generated code may call, by its name there.
HELPERS: dict[str, Callable[..., Any]] = {
    name: obj for module in MODULES for name, obj in vars(module).items()
    if callable(obj) and not name.startswith("_")
    and getattr(obj, "__module__", "") == module.__name__
}
