"""Which user-visible callables are which primitives: ``np.sin`` → ``sin``, ``x.sum`` → ``sum``.

A call site is recognized by the *object* its callee resolves to, so ``import numpy as onp``,
``from numpy import sin`` and ``jax.numpy.sin`` all reach the same rule.
"""

from __future__ import annotations

import builtins
import math
import sys
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import numpy

from srcgrad.runtime import HELPERS


@dataclass(frozen=True)
class CallSpec:
    """How a call maps onto a rule. ``form``: ``plain`` (bind to the rule's signature), ``seq``
    (the first argument is a list of operands), ``einsum`` (subscripts, then operands),
    ``einsum_grad`` (``g``, an index, subscripts, then operands), ``shape_args`` (a method
    taking ``*shape`` or ``*axes``: ``x.reshape(2, 3)``)."""

    rule: str
    form: str = "plain"


_HELPER_FORMS = {"einsum_grad": "einsum_grad"}

# numpy names whose primitive has another name, or that take a sequence of operands
_RENAMED = {
    "abs": "absolute", "fabs": "absolute", "true_divide": "divide", "max": "amax",
    "min": "amin", "around": "round", "round_": "round", "pow": "power", "concat": "concatenate",
    "asarray": "copy", "negative": "negative",
    "remainder": "mod", "fix": "trunc", "permute_dims": "transpose", "acos": "arccos",
    "asin": "arcsin", "atan": "arctan", "atan2": "arctan2", "acosh": "arccosh",
    "asinh": "arcsinh", "atanh": "arctanh", "matrix_transpose": None, "deg2rad": "radians",
    "rad2deg": "degrees", "trapz": None, "conjugate": "conj",
}
_SEQ = {"concatenate", "stack", "hstack", "vstack", "array"}
# primitives of srcgrad's own that share a NumPy name (``append``: a list's; np.append is
# srcgrad.twins.append)
_OWN = {"append"}
# np.fft's functions, primitives of the same names (``np.fft`` itself is the module)
_FFT = {"fft", "ifft", "rfft", "irfft", "fftn", "ifftn", "rfftn", "irfftn", "fft2", "ifft2",
        "rfft2", "irfft2", "fftshift", "ifftshift"}
_LINALG = {"det": "det", "inv": "inv", "solve": "solve", "norm": "norm", "cholesky": "cholesky",
           "pinv": "pinv"}
_MATH = {
    "sin": "sin", "cos": "cos", "tan": "tan", "asin": "arcsin", "acos": "arccos",
    "atan": "arctan", "atan2": "arctan2", "sinh": "sinh", "cosh": "cosh", "tanh": "tanh",
    "asinh": "arcsinh", "acosh": "arccosh", "atanh": "arctanh", "exp": "exp", "expm1": "expm1",
    "log": "log", "log2": "log2", "log10": "log10", "log1p": "log1p", "sqrt": "sqrt",
    "hypot": "hypot", "fabs": "absolute", "pow": "power", "floor": "floor", "ceil": "ceil",
    "trunc": "trunc", "cbrt": "cbrt", "exp2": "exp2", "isnan": "isnan", "isinf": "isinf",
    "isfinite": "isfinite", "erf": "erf", "lgamma": "gammaln",
}

# special functions of optional libraries that are primitives here (the others: srcgrad.twins)
_SPECIAL_RULES = {"erf": "erf", "gammaln": "gammaln", "digamma": "digamma", "psi": "digamma",
                  "polygamma": "polygamma", "log_ndtr": "log_ndtr"}
_SPECIAL = {"scipy.special": _SPECIAL_RULES, "jax.scipy.special": _SPECIAL_RULES,
            "jax.lax": {"erf": "erf", "stop_gradient": "stop_gradient"},
            # scipy.fft's FFTs: NumPy's values (pocketfft both), their leading arguments
            "scipy.fft": {name: name for name in ("fft", "ifft", "rfft", "irfft", "fftn",
                                                  "ifftn", "rfftn", "irfftn", "fft2",
                                                  "ifft2", "rfft2", "irfft2", "fftshift",
                                                  "ifftshift")}}

# array methods and properties
METHODS: dict[str, CallSpec] = {
    "sum": CallSpec("sum"), "mean": CallSpec("mean"), "prod": CallSpec("prod"),
    "max": CallSpec("amax"), "min": CallSpec("amin"), "var": CallSpec("var"),
    "std": CallSpec("std"), "cumsum": CallSpec("cumsum"), "dot": CallSpec("dot"),
    "reshape": CallSpec("reshape", "shape_args"), "transpose": CallSpec("transpose", "shape_args"),
    "ravel": CallSpec("ravel"), "flatten": CallSpec("ravel"), "squeeze": CallSpec("squeeze"),
    "swapaxes": CallSpec("swapaxes"), "astype": CallSpec("astype"), "copy": CallSpec("copy"),
    "clip": CallSpec("clip"), "repeat": CallSpec("repeat"), "argmax": CallSpec("argmax"),
    "argmin": CallSpec("argmin"), "trace": CallSpec("trace"), "round": CallSpec("round"),
    "conj": CallSpec("conj"), "conjugate": CallSpec("conj"),
}
PROPERTIES: dict[str, str] = {"T": "transpose", "shape": "shape", "ndim": "ndim", "size": "size",
                              "real": "real", "imag": "imag"}


def _module_calls(mod: ModuleType, rule_names) -> dict[int, tuple[Any, CallSpec]]:
    calls: dict[int, tuple[Any, CallSpec]] = {}

    def add(obj, spec):
        if obj is not None and spec.rule is not None:
            calls[id(obj)] = (obj, spec)

    for name in rule_names:
        if name not in _OWN and name not in _FFT:
            add(getattr(mod, name, None), CallSpec(name, "seq" if name in _SEQ else "plain"))
    for name, target in _RENAMED.items():
        if target is not None:
            add(getattr(mod, name, None), CallSpec(target, "seq" if target in _SEQ else "plain"))
    add(getattr(mod, "einsum", None), CallSpec("einsum", "einsum"))
    linalg = getattr(mod, "linalg", None)
    for name, target in _LINALG.items():
        add(getattr(linalg, name, None), CallSpec(target))
    fft = getattr(mod, "fft", None)
    for name in _FFT:
        if name in rule_names:
            add(getattr(fft, name, None), CallSpec(name))
    return calls


class CallTable:
    """Recognizes callables of numpy, jax.numpy (if importable), ``math`` and builtins."""

    def __init__(self, rule_names):
        self._rule_names = tuple(rule_names)
        self._calls = _module_calls(numpy, self._rule_names)
        self._with_jax = False
        self._special_read: set[str] = set()
        for name, target in _MATH.items():
            self._calls[id(getattr(math, name))] = (getattr(math, name), CallSpec(target))
        for name in self._rule_names:  # runtime helpers in generated code being differentiated
            helper = HELPERS.get(name)
            if helper is not None:
                self._calls[id(helper)] = (helper, CallSpec(name, _HELPER_FORMS.get(name,
                                                                                "plain")))
        for obj, spec in ((builtins.abs, CallSpec("absolute")), (builtins.len, CallSpec("len")),
                          (builtins.pow, CallSpec("power")), (builtins.round, CallSpec("round"))):
            self._calls[id(obj)] = (obj, spec)

    def lookup(self, obj: Any) -> CallSpec | None:
        if not self._with_jax and "jax.numpy" in sys.modules:
            # jax is an optional extra: its functions are recognized once the user imported it
            self._calls.update(_module_calls(sys.modules["jax.numpy"], self._rule_names))
            self._with_jax = True
        for name in _SPECIAL:  # the same for scipy (and jax.scipy): their erf is the rule's
            if name not in self._special_read and name in sys.modules:
                self._special_read.add(name)
                for attr, rule in _SPECIAL[name].items():
                    fn = getattr(sys.modules[name], attr, None)
                    if fn is not None:
                        self._calls[id(fn)] = (fn, CallSpec(rule))
        hit = self._calls.get(id(obj))
        return hit[1] if hit is not None and hit[0] is obj else None


def is_array_module(obj: Any) -> bool:
    """Whether ``obj`` is numpy or jax.numpy (or one of their submodules)."""
    return isinstance(obj, ModuleType) and obj.__name__.split(".")[0] in ("numpy", "jax")
