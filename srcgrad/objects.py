"""The structure of the objects a differentiated function receives: a model, its layers, a
NamedTuple or dataclass of parameters, a plain object holding arrays.

Code is generated for one structure at a time, as JAX traces one pytree structure at a time:
:func:`describe` gives an object's structure as a hashable :class:`Shape` (its class, and for
each attribute a leaf, a fixed value, a nested object or a sequence), which is part of the key
the generated code is cached under. Its *leaves*, the arrays and numbers read at every call,
are the variables the function is differentiated in; everything else (ints, bools, None,
strings, functions, the training flag, and a module's Python floats: its hyperparameters) is
fixed in the generated code, so ``if self.bias is not None:`` is decided once, when the code
is generated, as ``torch.compile`` specializes on them.

Which leaves are differentiated: in a :class:`srcgrad.nn.Module`, its parameters (an attribute
holding a ``Parameter``); in any other object, every float array and float. Objects of
srcgrad's own layer mark themselves with class attributes (``__srcgrad_module__``,
``__srcgrad_parameter__``, ``__srcgrad_sequence__``), so this module needs no import of it.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import numbers
import sys
import types
import weakref
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, NamedTuple, cast

import numpy as np

#: Python values fixed in the generated code (an attribute holding one steers control flow).
_FIXED = (bool, int, str, bytes, type(None), type, types.FunctionType, types.BuiltinFunctionType,
          types.ModuleType, np.dtype, np.ufunc, slice, type(Ellipsis))


@dataclass(frozen=True)
class Leaf:
    """An attribute read at every call (an array, a number, an opaque object): ``diff``, a
    variable the function is differentiated in when its object is."""

    diff: bool
    opaque: bool = False   # not data: an object whose methods are called as written (an rng)


@dataclass(frozen=True)
class Fixed:
    """An attribute whose value is part of the generated code (``self.training``, an int)."""

    value: Any


@dataclass(frozen=True)
class Items:
    """A list, tuple or dict attribute (``self.layers = [...]``), or the children of a
    sequence module: one field per item, ``keys`` its indices (as strings) or keys."""

    kind: str                          # "list" | "tuple" | "dict"
    keys: tuple[Any, ...]
    fields: tuple[Field, ...]


@dataclass(frozen=True)
class Shape:
    """An object's structure: its class and, in order, its attributes' fields."""

    cls: type
    names: tuple[str, ...]
    fields: tuple[Field, ...]
    kind: str = "object"   # "module" | "object" | "namedtuple" | "dataclass"
    sequence: tuple[str, ...] | None = None   # a sequence module's children, in order

    def __hash__(self) -> int:  # computed once: a structure is hashed at every call
        h = self.__dict__.get("_hash")
        if h is None:
            h = hash((self.cls, self.names, self.fields, self.kind, self.sequence))
            object.__setattr__(self, "_hash", h)
        return h

    def field(self, name: str) -> Field | None:
        try:
            return self.fields[self.names.index(name)]
        except ValueError:
            return None


Field = Leaf | Fixed | Items | Shape


class StructureError(Exception):
    """An object whose structure cannot be described (a cycle, too deep)."""


def is_object(value: Any) -> bool:
    """Whether ``value`` is an object srcgrad reads by structure (not an array, a number, a
    container or a function)."""
    cls = type(value)
    known = _READ_BY_STRUCTURE.get(cls)
    if known is None:
        known = _READ_BY_STRUCTURE[cls] = _by_structure(value)
    return known


#: Whether objects of a class are read by structure (it depends on the class alone).
_READ_BY_STRUCTURE: dict[type, bool] = {}


def _by_structure(value: Any) -> bool:
    if isinstance(value, (np.ndarray, np.generic, numbers.Number, str, bytes, list, dict,
                          type(None))) or callable(value) and not _has_call(value):
        return False
    if isinstance(value, tuple):
        return hasattr(type(value), "_fields")  # a NamedTuple; other tuples stay tuples
    if _is_array(value) or not _readable(type(value)):
        return False
    return bool(getattr(type(value), "__srcgrad_module__", False) or dataclasses.is_dataclass(
        value) or hasattr(value, "__dict__") and not inspect.ismodule(value) and
        not isinstance(value, type))


#: Libraries whose objects are services (a logger, an rng, an estimator), not models: used as
#: they are, never read by structure.
_LIBRARIES = frozenset({"numpy", "jax", "jaxlib", "scipy", "sklearn", "torch", "pandas",
                        "matplotlib", "srcgrad", "libcst", "tqdm", "_pytest", "pytest"})


def _readable(cls: type) -> bool:
    """Whether objects of ``cls`` are read by structure: a class of the user's code (or of
    ``srcgrad.nn``), not of the standard library or a library's."""
    module = getattr(cls, "__module__", "") or ""
    if module.startswith("srcgrad.nn"):
        return True
    root = module.split(".")[0]
    return root not in _LIBRARIES and root not in sys.stdlib_module_names


def _has_call(value: Any) -> bool:
    """A callable object srcgrad may read by structure: a module, or a Python class with a
    ``__call__`` of its own (not a function, a method or a class)."""
    if isinstance(value, (types.FunctionType, types.MethodType, types.BuiltinFunctionType,
                          type, np.ufunc, functools.partial)):
        return False
    return getattr(type(value), "__srcgrad_module__", False) or inspect.isfunction(
        inspect.getattr_static(type(value), "__call__", None))


def _is_array(value: Any) -> bool:
    t = type(value)
    return t.__module__.split(".")[0] in ("jax", "jaxlib") and hasattr(value, "dtype")


def _kind(obj: Any) -> str:
    if getattr(type(obj), "__srcgrad_module__", False):
        return "module"
    if isinstance(obj, tuple):
        return "namedtuple"
    if dataclasses.is_dataclass(obj):
        return "dataclass"
    return "object"


def _attributes(obj: Any) -> list[tuple[str, Any]]:
    if isinstance(obj, tuple):
        return list(zip(cast("type[NamedTuple]", type(obj))._fields, obj, strict=True))
    hidden = getattr(type(obj), "__srcgrad_hidden__", ())
    found = [(k, v) for k, v in vars(obj).items() if k not in hidden] if hasattr(
        obj, "__dict__") else []
    for cls in type(obj).__mro__:  # __slots__ (a dataclass(slots=True))
        for k in getattr(cls, "__slots__", ()):
            if hasattr(obj, k) and k not in ("__dict__", "__weakref__"):
                found.append((k, getattr(obj, k)))
    return found


#: A module's structure, while no module has changed its structure since (a module counts
#: its changes: ``__srcgrad_epoch__``): what a training step reads instead of walking the
#: model again.
_KNOWN: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def describe(obj: Any, _seen: tuple[int, ...] = ()) -> Shape:
    """The structure of ``obj`` (raises :class:`StructureError` for a cycle)."""
    epoch = getattr(type(obj), "__srcgrad_epoch__", None)
    if epoch is not None and not _seen:
        now = epoch()
        known = _KNOWN.get(obj)
        if known is not None and known[0] == now:
            return known[1]
        shape = _describe(obj, ())
        _KNOWN[obj] = (now, shape)
        return shape
    return _describe(obj, _seen)


def _describe(obj: Any, _seen: tuple[int, ...]) -> Shape:
    if id(obj) in _seen:
        raise StructureError(f"a {type(obj).__name__} that contains itself")
    if len(_seen) > 64:
        raise StructureError("objects nested more than 64 deep")
    seen = (*_seen, id(obj))
    kind = _kind(obj)
    items = _attributes(obj)
    names = tuple(k for k, _ in items)
    fields = tuple(_field(v, kind == "module", seen) for _, v in items)
    sequence = None
    if getattr(type(obj), "__srcgrad_sequence__", False):
        sequence = tuple(obj.__srcgrad_children__())
    return Shape(type(obj), names, fields, kind, sequence)


def _field(value: Any, in_module: bool, seen: tuple[int, ...]) -> Field:
    if getattr(type(value), "__srcgrad_parameter__", False):
        return Leaf(True)
    if isinstance(value, (np.ndarray, np.generic)) or _is_array(value):
        return Leaf(not in_module and np.dtype(value.dtype).kind in "fc")
    if isinstance(value, _FIXED) or isinstance(value, tuple) and not hasattr(
            type(value), "_fields") and _all_fixed(value):
        return Fixed(value)
    if isinstance(value, (float, complex)):  # a module's: a hyperparameter (eps, p), fixed
        return Fixed(value) if in_module else Leaf(True)
    if isinstance(value, (list, tuple)) and not is_object(value):
        return Items("list" if isinstance(value, list) else "tuple",
                     tuple(str(k) for k in range(len(value))),
                     tuple(_field(v, in_module, seen) for v in value))
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return Items("dict", tuple(value), tuple(_field(v, in_module, seen)
                                                 for v in value.values()))
    if is_object(value):
        return describe(value, seen)
    return Leaf(False, opaque=True)


def _all_fixed(value: tuple) -> bool:
    return all(isinstance(v, _FIXED) or isinstance(v, tuple) and _all_fixed(v) for v in value)


Path = tuple[str, ...]


def leaves(field: Field, path: Path = ()) -> Iterator[tuple[Path, Leaf]]:
    """Every leaf under ``field``, with its attribute path, in order."""
    if isinstance(field, Leaf):
        yield path, field
    elif isinstance(field, Items):
        for k, f in zip(field.keys, field.fields, strict=True):
            yield from leaves(f, (*path, str(k)))
    elif isinstance(field, Shape):
        for k, f in zip(field.names, field.fields, strict=True):
            yield from leaves(f, (*path, k))


def reader(root: str, shape: Shape, path: Path) -> str:
    """The Python expression that reads the leaf at ``path`` of ``root`` (``model.fc1.weight``,
    ``model[0].bias``, ``model.blocks["a"].bias``): the :func:`steps` spelled out."""
    text = root
    for kind, step in steps(shape, path):
        if kind == "item":
            text += f"[{step!r}]"
        elif step.isidentifier():
            text += f".{step}"
        else:
            text = f"getattr({text}, {step!r})"
    return text


def steps(shape: Shape, path: Path) -> tuple[tuple[str, Any], ...]:
    """How to reach the leaf at ``path`` of an object of ``shape``: ``("attr", name)`` and
    ``("item", index or key)`` steps, the reads :func:`reader` spells."""
    out: list[tuple[str, Any]] = []
    field: Any = shape
    for part in path:
        if isinstance(field, Shape):
            if part.isidentifier() or field.sequence is None or part not in field.sequence:
                out.append(("attr", part))
            elif getattr(field.cls, "__srcgrad_mapping__", False):
                out.append(("item", part))
            else:   # a Sequential's child, by position
                out.append(("item", field.sequence.index(part)))
            field = field.field(part)
        else:
            index = field.keys.index(part) if field.kind == "dict" else int(part)
            out.append(("item", part if field.kind == "dict" else index))
            field = field.fields[index]
    return tuple(out)


def walk(obj: Any, how: tuple[tuple[str, Any], ...]) -> Any:
    """The value :func:`steps` leads to from ``obj``."""
    for kind, step in how:
        obj = getattr(obj, step) if kind == "attr" else obj[step]
    return obj


def key(path: Path) -> str:
    """A leaf's key in a gradient mapping, as in a ``state_dict``: ``"fc1.weight"``."""
    return ".".join(path)


def method(shape: Shape, name: str) -> Any:
    """The class attribute ``name`` of ``shape``'s class (a function, a property, a
    staticmethod...), or None."""
    try:
        return inspect.getattr_static(shape.cls, name)
    except AttributeError:
        return None


def call_method(shape: Shape) -> Callable | None:
    """The function a call of the object runs: a module's ``forward``, else its class's
    ``__call__`` (a Python function), else None."""
    if shape.kind == "module":
        found = method(shape, "forward")
    else:
        found = method(shape, "__call__")
    return found if inspect.isfunction(found) else None


@dataclass(frozen=True, eq=False)
class Guard:
    """An object the generated code reaches by name from outside (a module-level model or
    loss): the code is good while it has ``shape``. ``holder[key]`` for a module global (it
    may be rebound), else ``key`` itself."""

    holder: dict | None
    key: Any
    shape: Shape

    def holds(self) -> bool:
        now = describe_or_none(self.key if self.holder is None else self.holder.get(self.key))
        return now is self.shape or now == self.shape  # (a module's is cached: the same)


def describe_or_none(obj: Any) -> Shape | None:
    try:
        return describe(obj) if is_object(obj) else None
    except StructureError:
        return None
