"""``Module`` and ``Parameter`` in PyTorch's shape, and the containers ``Sequential``,
``ModuleList`` and ``ModuleDict``.

A module keeps its parameters, buffers and children as plain attributes, in the order they
were set; ``forward`` is ordinary NumPy code, which srcgrad differentiates from its source
when a loss through the module is differentiated (there is no tape). ``srcgrad.grad(loss)(model,
x)`` gives the gradient as a dict keyed like :meth:`Module.state_dict` (``"0.weight"``), and
:func:`srcgrad.backward` puts each into its parameter's ``.grad``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, NamedTuple

import numpy as np

from srcgrad.errors import SrcGradError


class Parameter(np.ndarray):
    """A trainable array of a module: a NumPy array (a subclass) with a ``.grad`` that
    :func:`srcgrad.backward` fills. Results of operations on it are plain arrays; slices and
    in-place updates (``p -= lr * p.grad``) stay the parameter."""

    __srcgrad_parameter__ = True
    grad: np.ndarray | None
    requires_grad: bool

    def __new__(cls, data: Any, requires_grad: bool = True) -> Parameter:
        array = np.array(data, copy=True)
        if array.dtype.kind not in "fc":
            array = array.astype(np.float64)
        obj = array.view(cls)
        obj.grad = None
        obj.requires_grad = requires_grad
        return obj

    def __array_finalize__(self, obj: Any) -> None:
        self.grad = None
        self.requires_grad = getattr(obj, "requires_grad", True)

    def __array_wrap__(self, array, context=None, return_scalar=False):
        if return_scalar:
            return array[()]
        if array is self:  # an in-place update: the parameter itself
            return self
        return array.view(np.ndarray) if type(array) is not np.ndarray else array

    def __reduce__(self):  # pickled (copy.deepcopy) as a parameter, .grad included
        return (_rebuild, (np.asarray(self).copy(), self.requires_grad, self.grad))

    @property  # torch's Parameter.data: the values, not numpy's buffer (ndarray.data)
    def data(self) -> np.ndarray:  # type: ignore[override]
        """The values as a plain array sharing memory with the parameter."""
        return self.view(np.ndarray)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + repr(self.view(np.ndarray))


def _rebuild(values: np.ndarray, requires_grad: bool, grad: Any) -> Parameter:
    p = Parameter(values, requires_grad)
    p.grad = grad
    return p


class IncompatibleKeys(NamedTuple):
    """What :meth:`Module.load_state_dict` with ``strict=False`` did not match."""

    missing_keys: list[str]
    unexpected_keys: list[str]


def _is_module(value: Any) -> bool:
    return isinstance(value, Module)


_EPOCH = [0]   # how many times any module's structure changed (srcgrad.objects caches on it)


def _changed() -> None:
    _EPOCH[0] += 1


class _TrackedList(list):
    """A list a module holds: changing it in place counts as a change of structure."""

    @staticmethod  # (called in the class body: a function of the name; callable since 3.10)
    def _wrap(name: str) -> Callable[..., Any]:
        def method(self, *args, **kwargs):
            _changed()
            return getattr(list, name)(self, *args, **kwargs)
        method.__name__ = name
        return method

    for _name in ("append", "extend", "insert", "pop", "remove", "clear", "sort", "reverse",
                  "__setitem__", "__delitem__", "__iadd__", "__imul__"):
        locals()[_name] = _wrap(_name)
    del _name, _wrap


class _TrackedDict(dict):
    """A dict a module holds: changing it in place counts as a change of structure."""

    @staticmethod  # (called in the class body: a function of the name; callable since 3.10)
    def _wrap(name: str) -> Callable[..., Any]:
        def method(self, *args, **kwargs):
            _changed()
            return getattr(dict, name)(self, *args, **kwargs)
        method.__name__ = name
        return method

    for _name in ("__setitem__", "__delitem__", "pop", "popitem", "clear", "update",
                  "setdefault", "__ior__"):
        locals()[_name] = _wrap(_name)
    del _name, _wrap


class Module:
    """The base class of layers and models, as PyTorch's ``nn.Module``: subclasses set
    parameters and sub-modules as attributes in ``__init__`` and compute in ``forward``;
    calling the module calls ``forward``."""

    __srcgrad_module__ = True
    __srcgrad_hidden__ = ("_buffer_names", "_children")
    training: bool
    _buffer_names: list[str]  # (both set in __new__)

    @staticmethod
    def __srcgrad_epoch__() -> int:
        return _EPOCH[0]

    def __setattr__(self, name: str, value: Any) -> None:
        if type(value) is list:
            value = _TrackedList(value)
        elif type(value) is dict:
            value = _TrackedDict(value)
        _changed()
        object.__setattr__(self, name, value)

    def __delattr__(self, name: str) -> None:
        _changed()
        object.__delattr__(self, name)

    def __new__(cls, *args: Any, **kwargs: Any) -> Module:
        obj = super().__new__(cls)
        object.__setattr__(obj, "training", True)
        object.__setattr__(obj, "_buffer_names", [])
        return obj

    def __init__(self) -> None:
        pass

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} has no forward method")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.forward(*args, **kwargs)

    # --- structure -------------------------------------------------------------------------

    def register_buffer(self, name: str, value: Any, persistent: bool = True) -> None:
        """An array the module keeps and saves but does not train (BatchNorm's running
        mean)."""
        setattr(self, name, None if value is None else np.asarray(value))
        if persistent and name not in self._buffer_names:
            self._buffer_names.append(name)

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        setattr(self, name, param)

    def add_module(self, name: str, module: Module | None) -> None:
        setattr(self, name, module)

    def _own(self) -> Iterator[tuple[str, Any]]:
        for name, value in vars(self).items():
            if name not in ("training", "_buffer_names", "_children"):
                yield name, value

    def named_children(self) -> Iterator[tuple[str, Module]]:
        """The direct sub-modules, with their attribute names (a list of modules as
        ``name.0``, ``name.1``, ...)."""
        seen: set[int] = set()
        for name, value in self._own():
            for key, m in _modules_in(name, value):
                if id(m) not in seen:
                    seen.add(id(m))
                    yield key, m

    def children(self) -> Iterator[Module]:
        for _, m in self.named_children():
            yield m

    def named_modules(self, prefix: str = "") -> Iterator[tuple[str, Module]]:
        """This module and every module under it, first to last (its own name ``""``)."""
        seen: set[int] = set()

        def walk(m: Module, prefix: str) -> Iterator[tuple[str, Module]]:
            if id(m) in seen:
                return
            seen.add(id(m))
            yield prefix, m
            for name, child in m.named_children():
                yield from walk(child, f"{prefix}.{name}" if prefix else name)

        yield from walk(self, prefix)

    def modules(self) -> Iterator[Module]:
        for _, m in self.named_modules():
            yield m

    def named_parameters(self, prefix: str = "", recurse: bool = True
                         ) -> Iterator[tuple[str, Parameter]]:
        """Every parameter, named by its path (``"fc1.weight"``), each once."""
        seen: set[int] = set()
        for mname, m in self.named_modules(prefix) if recurse else [(prefix, self)]:
            for name, value in m._own():
                for key, p in _parameters_in(name, value):
                    if id(p) not in seen:
                        seen.add(id(p))
                        yield (f"{mname}.{key}" if mname else key), p

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(self, prefix: str = "") -> Iterator[tuple[str, np.ndarray]]:
        for mname, m in self.named_modules(prefix):
            for name in m._buffer_names:
                value = getattr(m, name, None)
                if value is not None:
                    yield (f"{mname}.{name}" if mname else name), value

    def buffers(self) -> Iterator[np.ndarray]:
        for _, b in self.named_buffers():
            yield b

    def state_dict(self) -> dict[str, np.ndarray]:
        """Parameters and buffers by name, as arrays sharing memory with the module's
        (copy them to keep a snapshot): per module its parameters, then its buffers, then
        its sub-modules', as PyTorch orders them."""
        out: dict[str, np.ndarray] = {}
        for mname, m in self.named_modules():
            dot = f"{mname}." if mname else ""
            for name, value in m._own():
                for key, p in _parameters_in(name, value):
                    out.setdefault(dot + key, p.data)
            for name in m._buffer_names:
                value = getattr(m, name, None)
                if value is not None:
                    out[dot + name] = value
        return out

    def load_state_dict(self, state: Mapping[str, Any], strict: bool = True) -> IncompatibleKeys:
        """Copy ``state``'s arrays into the module's parameters and buffers, in place. With
        ``strict``, a missing or unexpected key is an error naming it; a wrong shape always
        is."""
        own = self.state_dict()
        missing = [k for k in own if k not in state]
        unexpected = [k for k in state if k not in own]
        if strict and (missing or unexpected):
            parts = []
            if missing:
                parts.append(f"missing key(s) {', '.join(map(repr, missing))}")
            if unexpected:
                parts.append(f"unexpected key(s) {', '.join(map(repr, unexpected))}")
            raise SrcGradError(f"load_state_dict for {type(self).__name__}: "
                               + "; ".join(parts), hint="pass strict=False to load the keys "
                               "that match")
        for k, target in own.items():
            if k not in state:
                continue
            value = np.asarray(state[k])
            if value.shape != target.shape:
                raise SrcGradError(f"load_state_dict for {type(self).__name__}: {k!r} has "
                                   f"shape {value.shape}, the module's {target.shape}")
            target[...] = value
        return IncompatibleKeys(missing, unexpected)

    # --- modes and gradients -----------------------------------------------------------------

    def train(self, mode: bool = True) -> Module:
        """Training mode (Dropout drops, BatchNorm uses batch statistics) for this module and
        every module under it; ``train(False)`` is :meth:`eval`."""
        for m in self.modules():
            object.__setattr__(m, "training", bool(mode))
        _changed()
        return self

    def eval(self) -> Module:
        return self.train(False)

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Clear every parameter's ``.grad`` (to None, or to zeros)."""
        for p in self.parameters():
            p.grad = None if set_to_none or p.grad is None else np.zeros_like(p.data)

    def requires_grad_(self, requires_grad: bool = True) -> Module:
        for p in self.parameters():
            p.requires_grad = requires_grad
        return self

    def apply(self, fn: Callable[[Module], Any]) -> Module:
        for m in list(self.modules())[::-1]:
            fn(m)
        return self

    def to(self, dtype: Any) -> Module:
        """Parameters and float buffers converted to ``dtype`` (``np.float32``), in place of
        the old ones."""
        for m in self.modules():
            for name, value in list(m._own()):
                if isinstance(value, Parameter):
                    object.__setattr__(m, name, Parameter(value.astype(dtype),
                                                          value.requires_grad))
                elif name in m._buffer_names and isinstance(value, np.ndarray) and \
                        value.dtype.kind == "f":
                    object.__setattr__(m, name, value.astype(dtype))
        _changed()
        return self

    def float(self) -> Module:
        return self.to(np.float32)

    def double(self) -> Module:
        return self.to(np.float64)

    # --- printing ---------------------------------------------------------------------------

    def extra_repr(self) -> str:
        """The text inside this module's parentheses in its repr."""
        return ""

    def __repr__(self) -> str:
        children = list(self.named_children())
        extra = self.extra_repr()
        if not children:
            return f"{type(self).__name__}({extra})"
        lines = [f"{type(self).__name__}("]
        if extra:
            lines.append("  " + extra)
        for name, m in children:
            text = repr(m).replace("\n", "\n  ")
            lines.append(f"  ({name}): {text}")
        lines.append(")")
        return "\n".join(lines)


def _modules_in(name: str, value: Any) -> Iterator[tuple[str, Module]]:
    if _is_module(value):
        yield name, value
    elif isinstance(value, (list, tuple)):
        for k, v in enumerate(value):
            yield from _modules_in(f"{name}.{k}", v)
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _modules_in(f"{name}.{k}", v)


def _parameters_in(name: str, value: Any) -> Iterator[tuple[str, Parameter]]:
    if isinstance(value, Parameter):
        yield name, value
    elif isinstance(value, (list, tuple)) and not _is_module(value):
        for k, v in enumerate(value):
            if not _is_module(v):
                yield from _parameters_in(f"{name}.{k}", v)
    elif isinstance(value, dict):
        for k, v in value.items():
            if not _is_module(v):
                yield from _parameters_in(f"{name}.{k}", v)


class _Sequence(Module):
    """Children named ``"0"``, ``"1"``, ...: iterable, indexable, sized."""

    __srcgrad_sequence__ = True

    def _names(self) -> list[str]:
        known = self.__dict__.get("_children")
        if known is None:  # kept until an attribute changes
            known = [k for k, v in self._own() if _is_module(v)]
            object.__setattr__(self, "_children", known)
        return known

    def __setattr__(self, name: str, value: Any) -> None:
        self.__dict__.pop("_children", None)
        super().__setattr__(name, value)

    def __delattr__(self, name: str) -> None:
        self.__dict__.pop("_children", None)
        super().__delattr__(name)

    def __srcgrad_children__(self) -> list[str]:
        return self._names()

    def __iter__(self) -> Iterator[Module]:
        return iter(getattr(self, k) for k in self._names())

    def __len__(self) -> int:
        return len(self._names())

    def __getitem__(self, index: int | slice) -> Any:
        names = self._names()
        if isinstance(index, slice):
            return type(self)(*(getattr(self, k) for k in names[index]))
        return getattr(self, names[index])

    def append(self, module: Module) -> _Sequence:
        setattr(self, str(len(self)), module)
        return self

    def extend(self, modules: Iterable[Module]) -> _Sequence:
        for m in modules:
            self.append(m)
        return self


class Sequential(_Sequence):
    """Modules applied one after the other: ``Sequential(Linear(2, 8), ReLU(), Linear(8,
    1))``; their parameters are named ``"0.weight"``, ``"2.bias"``..."""

    def __init__(self, *modules: Module) -> None:
        super().__init__()
        if len(modules) == 1 and isinstance(modules[0], dict):
            for name, m in modules[0].items():
                setattr(self, name, m)
            return
        for k, m in enumerate(modules):
            setattr(self, str(k), m)

    def forward(self, x):
        for module in self:
            x = module(x)
        return x


class ModuleList(_Sequence):
    """A list of modules whose parameters belong to the module holding it; iterate over it
    in ``forward``."""

    def __init__(self, modules: Iterable[Module] = ()) -> None:
        super().__init__()
        self.extend(modules)


class ModuleDict(_Sequence):
    """Modules by name; read one in ``forward`` as ``self.blocks["name"]``."""

    __srcgrad_mapping__ = True

    def __init__(self, modules: Mapping[str, Module] | None = None) -> None:
        super().__init__()
        for name, m in (modules or {}).items():
            setattr(self, name, m)

    def __getitem__(self, name: str) -> Module:  # type: ignore[override]  # by name, not index
        return getattr(self, name)

    def __iter__(self) -> Iterator[str]:  # type: ignore[override]
        return iter(self.keys())

    def __setitem__(self, name: str, module: Module) -> None:
        setattr(self, name, module)

    def __len__(self) -> int:
        return len([k for k, v in self._own() if _is_module(v)])

    def keys(self) -> list[str]:
        return [k for k, v in self._own() if _is_module(v)]

    def items(self) -> list[tuple[str, Module]]:
        return [(k, getattr(self, k)) for k in self.keys()]

    def values(self) -> list[Module]:
        return [getattr(self, k) for k in self.keys()]
