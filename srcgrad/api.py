"""The user's front end for reverse mode: ``grad``, ``value_and_grad`` and ``show``.

:class:`GradFunction` generates its code through :func:`srcgrad.pipeline.transform` on first
use, picks the code made for Python numbers when a call passes only floats, refuses integer
``wrt`` arguments, and turns JAX's tracer errors into located errors."""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable, Sequence
from typing import Any, TypedDict, cast, overload

import numpy as np

from srcgrad import emit, objects
from srcgrad.backends import Jitted
from srcgrad.context import GeneratedFunction, Transformed
from srcgrad.errors import SrcGradError
from srcgrad.pipeline import Wrt, transform


class _Options(TypedDict):
    """What a :class:`GradFunction` passes to :func:`srcgrad.pipeline.transform`."""

    wrt: Wrt
    with_value: bool
    backend: str
    jit: bool
    source: str | None
    has_aux: bool


class GradFunction:
    """The gradient of a user function: call it like the function; read ``.source``.

    The code is generated on the first call (or on the first read of ``.source``), then the
    generated function is called directly.
    """

    def __init__(self, fn: Callable, wrt: Wrt, *, with_value: bool, backend: str, jit: bool,
                 source: str | None, has_aux: bool = False,
                 static_argnums: int | Sequence[int] = (),
                 static_argnames: str | Sequence[str] = ()):
        fn, self._self = _unbound(fn)
        if self._self is not None:  # a method: its object is the first argument
            wrt = _shifted(wrt)
        self.__wrapped__ = fn
        self.__name__ = f"grad_{getattr(fn, '__name__', 'f')}"
        self.__doc__ = getattr(fn, "__doc__", None)
        self._options = _Options(wrt=wrt, with_value=with_value, backend=backend, jit=jit,
                                 source=source, has_aux=has_aux)
        self._fn: Callable | None = None
        self._source = ""
        self._generic: tuple[GeneratedFunction, str] | None = None
        self._scalar: tuple[GeneratedFunction, str] | None = None
        self._assumed: tuple = ()
        self._fast: Callable | None = None  # the code made for numbers, if it needs no check
        self._wrt_positions: tuple[int, ...] = ()
        self._wrt_names: tuple[tuple[str, int], ...] = ()
        self._params = _parameters(fn)
        self._static = _static_names(fn, self._params, static_argnums, static_argnames,
                                     self._self is not None, jit)
        # code per structure of the objects (what transform made, for jit: ("jit", structure))
        self._by_structure: dict[tuple, GeneratedFunction | Transformed] = {}
        self._guards: dict[Callable, Any] = {}  # code -> what it was made from (its guards)

    def _build(self, scalars: bool = False, objects: tuple = ()) -> GeneratedFunction:
        try:
            made = transform(self.__wrapped__, **self._options, scalars=scalars,
                             objects=objects)
            fn, source, self._wrt_positions, assumed = (made.fn, made.source, made.positions,
                                                        made.assumed)
            if self._static:
                fn = cast(GeneratedFunction, cast(Jitted, fn).with_static(self._static))
            self._guards[fn] = made
            params = list(inspect.signature(self.__wrapped__).parameters)
            self._wrt_names = tuple((params[i], i) for i in self._wrt_positions)
        except SrcGradError as err:  # the user's location is in the message: drop our frames
            raise err.with_traceback(None) from None
        if objects:
            self._by_structure[objects] = fn
        elif scalars:
            self._scalar, self._assumed = (fn, source), assumed
            self._fast = None if assumed or made.guards else fn
        else:
            self._generic = (fn, source)
        self._fn, self._source = fn, source
        return fn

    def _guarded(self, fn: Callable) -> bool:
        """Whether the objects ``fn`` reads from outside changed structure since it was made
        (then it must be made again)."""
        made = self._guards[fn]
        return bool(made.guards) and not made.holds()

    def _with_objects(self, args: tuple, kwargs: dict) -> Any:
        """A call passing objects (a model): the code generated for their structure."""
        found = _structures(self._params, args, kwargs, self.__wrapped__)
        if self._options["jit"]:
            return self._jitted(found, args, kwargs)
        fn = cast("GeneratedFunction | None", self._by_structure.get(found))
        if fn is None or self._guarded(fn):
            fn = self._build(objects=found)
        else:
            self._fn = fn
            self._source = fn.__srcgrad_source__
        try:
            return fn(*args, **kwargs)
        except SrcGradError as err:  # a helper's refusal at run time: at the user's line
            raise emit.located(err) from None
        except Exception as err:
            self._eager(args, kwargs, err)
            raise

    def _jitted(self, found: tuple, args: tuple, kwargs: dict) -> Any:
        """``jit=True`` with objects: code compiled by ``jax.jit`` over the objects' leaves
        (the objects themselves are not arrays), the gradients put back into each object's
        structure."""
        made = cast("Transformed | None", self._by_structure.get(("jit", found)))
        if made is None or not made.holds():
            try:
                made = transform(self.__wrapped__, **self._options, objects=found,
                                 leaf_params=True)
            except SrcGradError as err:
                raise err.with_traceback(None) from None
            if self._static:
                made = dataclasses.replace(made, fn=cast(GeneratedFunction, cast(
                    Jitted, made.fn).with_static(self._static)))
            self._by_structure[("jit", found)] = made
            self._wrt_positions = made.positions
        self._fn, self._source = made.fn, made.source
        bound = inspect.signature(self.__wrapped__).bind(*args, **kwargs).arguments
        leaves = [objects.walk(bound[name], how) for name, how in made.readers]
        out = made.fn(*leaves)
        shapes = dict(found)
        wrt = self._options["wrt"]
        single = isinstance(wrt, (int, str))
        with_value, has_aux = self._options["with_value"], self._options["has_aux"]
        grads = out[1] if with_value else out[0] if has_aux else out
        grads = [grads] if single else list(grads)
        params = self._params
        for k, i in enumerate(made.positions):
            shape = shapes.get(params[i])
            if shape is None:
                continue
            if shape.kind in ("namedtuple", "dataclass"):
                grads[k] = _restructured(bound[params[i]], shape, grads[k])
            else:  # in the object's order (jax returns a dict's keys sorted)
                grads[k] = {objects.key(path): grads[k][objects.key(path)]
                            for path, leaf in objects.leaves(shape) if leaf.diff}
        grads = grads[0] if single else tuple(grads)
        return (out[0], grads) if with_value else (grads, out[1]) if has_aux else grads

    def _eager(self, args: tuple, kwargs: dict, err: Exception) -> None:
        """Where generated code raised ``err``: the function run as it is, and its own error
        raised instead if it is another one (a layer's check of its input, which generated
        code leaves out), caused by ``err``; nothing if that run succeeds or raises the same
        (the traceback through the generated lines then stays)."""
        try:
            self.__wrapped__(*args, **kwargs)
        except Exception as own:
            if type(own) is not type(err) or str(own) != str(err):
                raise own from err

    def _numbers_only(self, args: tuple) -> bool:
        """Whether a call can take the code made for Python numbers: every argument a float
        (an int where it is not differentiated), and the module-level numbers still numbers."""
        for a in args:
            if type(a) is not float and (type(a) is not int or type(a) is bool):
                return False
        for i in self._wrt_positions:
            if i < len(args) and type(args[i]) is not float:
                return False
        return all(type(g.get(k)) in (int, float) for g, k in self._assumed)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if self._self is not None:
            args = (self._self, *args)
        fast = self._fast
        if fast is not None and not kwargs:
            for a in args:  # the fast path: floats only, no module-level numbers read
                if a.__class__ is not float:
                    break
            else:
                if self._fn is not fast:
                    self._fn, self._source = self._scalar  # type: ignore[misc]
                try:
                    return fast(*args)
                except (ZeroDivisionError, OverflowError, ValueError):
                    return self._ieee(args)
        for a in args:  # an object among the arguments (a model): code for its structure
            if a.__class__ not in _PLAIN and objects.is_object(a):
                return self._with_objects(args, kwargs)
        for a in kwargs.values():
            if a.__class__ not in _PLAIN and objects.is_object(a):
                return self._with_objects(args, kwargs)
        scalar = self._scalar
        if scalar is not None and not kwargs:
            if self._numbers_only(args) and not self._guarded(scalar[0]):
                self._fn, self._source = scalar
                try:
                    return scalar[0](*args)
                except (ZeroDivisionError, OverflowError, ValueError):
                    return self._ieee(args)
        if scalar is None and not kwargs and args and all(type(a) is float for a in args):
            try:
                return self._build(scalars=True)(*args)  # floats only: made for numbers
            except (ZeroDivisionError, OverflowError, ValueError):
                return self._ieee(args)
        if self._generic is None or self._guarded(self._generic[0]):
            self._build()
        assert self._generic is not None
        fn = self._generic[0]
        self._fn, self._source = self._generic
        for i in self._wrt_positions:
            if i < len(args) and not _is_float_like(args[i]):
                _reject_wrt(self.__wrapped__, i, args[i])
        if kwargs:
            for name, i in self._wrt_names:
                if name in kwargs and not _is_float_like(kwargs[name]):
                    _reject_wrt(self.__wrapped__, i, kwargs[name])
        if self._options["jit"]:
            return fn(*args, **kwargs)
        try:
            out = fn(*args, **kwargs)
        except SrcGradError as err:  # a helper's refusal at run time: at the user's line
            raise emit.located(err) from None
        except Exception as err:
            self._eager(args, kwargs, err)
            raise
        return _checked(self.__wrapped__, self._wrt_positions, args, out,
                        self._options["with_value"], isinstance(self._options["wrt"], (int, str)),
                        self._options["has_aux"])

    def _ieee(self, args: tuple) -> Any:
        """The derivative where Python number arithmetic raised (``1.0 / 0.0``, ``0.0 **
        -0.5``, ``math.log(0.0)``): the general code on NumPy float64 scalars, which give inf
        and nan as NumPy and JAX do; the results as floats again."""
        if self._generic is None:
            self._build()
        assert self._generic is not None
        out = self._generic[0](*(np.float64(a) if type(a) is float else a for a in args))
        return _as_floats(out)

    def source_for(self, *args: Any, **kwargs: Any) -> str:
        """The generated source a call with these arguments runs (for the structure of the
        objects among them, or for Python numbers), made without running it."""
        if self._self is not None:
            args = (self._self, *args)
        found = _structures(self._params, args, kwargs, self.__wrapped__)
        if found:
            fn = cast("GeneratedFunction | None", self._by_structure.get(found))
            if fn is None or self._guarded(fn):
                fn = self._build(objects=found)
            return fn.__srcgrad_source__
        if args and not kwargs and all(type(a) is float for a in args):
            return self._build(scalars=True).__srcgrad_source__
        return self.__srcgrad_code__().__srcgrad_source__

    def __srcgrad_code__(self) -> GeneratedFunction:
        """The generated function (for any arguments) that differentiating ``grad(f)`` again,
        or calling it from a differentiated function, reads."""
        if self._generic is None:
            self._build()
        assert self._generic is not None
        return self._generic[0]

    @property
    def source(self) -> str:
        """The generated Python source of the gradient function (the code the last call ran:
        after a call with Python numbers only, the code made for numbers)."""
        if self._fn is None:
            if self._self is not None:  # a method: the code for its object's structure
                return self.source_for()
            self._build()
        return self._source

    @property
    def fn(self) -> Callable:
        """The generated function itself (no argument checks): the one the last call ran."""
        return self._fn or self._build()

    def __repr__(self) -> str:
        return f"<srcgrad.GradFunction {self.__name__}>"


_PLAIN = frozenset({float, int, bool, complex, np.ndarray, np.float64, np.float32, list, tuple,
                    dict, type(None), str})


def _unbound(fn: Callable) -> tuple[Callable, Any]:
    """A function and the object it is a method of (None for a plain function): a bound
    method's function, or a module's ``forward``."""
    if getattr(type(fn), "__srcgrad_module__", False):  # a Module: its forward
        shape = objects.describe(fn)
        method = objects.call_method(shape)
        if method is not None:
            return method, fn
    if inspect.ismethod(fn) and objects.is_object(fn.__self__):
        return fn.__func__, fn.__self__
    return fn, None


@overload
def _shifted(wrt: int) -> int: ...
@overload
def _shifted(wrt: Wrt) -> Wrt: ...
def _shifted(wrt: Wrt) -> Wrt:
    """``wrt`` of a method, counted from its first parameter after ``self``."""
    if isinstance(wrt, bool) or not isinstance(wrt, (int, tuple, list)):
        return wrt
    if isinstance(wrt, int):
        return wrt + 1 if wrt >= 0 else wrt
    return tuple(_shifted(w) if isinstance(w, int) else w for w in wrt)


def _restructured(obj: Any, shape: objects.Shape, grads: dict) -> Any:
    """The gradient of a NamedTuple or dataclass from the dict keyed by path that compiled
    code returns: an object of its type, its other fields as they are."""
    changes = {name: grads[name] for name in shape.names if name in grads}
    if shape.kind == "namedtuple":
        return obj._replace(**changes)
    return dataclasses.replace(obj, **changes)


def _parameters(fn: Callable) -> tuple[str, ...]:
    try:
        return tuple(inspect.signature(fn).parameters)
    except (TypeError, ValueError):
        return ()


def _structures(params: tuple[str, ...], args: tuple, kwargs: dict, fn: Callable
                ) -> tuple[tuple[str, objects.Shape], ...]:
    """The parameters that receive objects in this call, with the objects' structures."""
    found = []
    for name, value in (*zip(params, args, strict=False), *kwargs.items()):
        if objects.is_object(value):
            try:
                found.append((name, objects.describe(value)))
            except objects.StructureError as err:
                raise SrcGradError(f"cannot read the argument {name!r} of {fn.__name__}: "
                                   f"{err}", hint="pass an object whose attributes hold "
                                   "arrays, numbers and other such objects") from None
    return tuple(sorted(found, key=lambda item: params.index(item[0])))


def _as_floats(out: Any) -> Any:
    """``out`` with its NumPy scalars as Python floats, in the tuples that hold them."""
    if isinstance(out, tuple):
        return tuple(_as_floats(v) for v in out)
    return float(out) if isinstance(out, np.floating) else out


def _checked(fn: Callable, positions: tuple[int, ...], args: tuple, out: Any,
             with_value: bool, single: bool, has_aux: bool = False) -> Any:
    """``out`` with the gradient of each float32 (or float16) array argument in its dtype, as
    JAX's (NumPy's promotion, ``x32 / np.sqrt(2 * np.pi)``, gives float64 inside), and that of
    each real argument real: the real part of its adjoint (JAX's convention for complex
    values, srcgrad/runtime/spectral.py: the adjoint of a real value may carry an imaginary
    part that means nothing, where a complex argument's makes it complex)."""
    grads = out[1] if with_value else out[0] if has_aux else out
    grads = (grads,) if single else grads
    narrowed = None
    for k, (i, g) in enumerate(zip(positions, grads, strict=False)):
        arg = args[i] if i < len(args) else None
        if _is_complex(g) and arg is not None and not _is_complex(arg) and (
                getattr(arg, "dtype", None) is not None or isinstance(arg, float)):
            narrowed = list(grads) if narrowed is None else narrowed
            g = narrowed[k] = float(np.real(g)) if isinstance(arg, float) else np.real(g)
        dtype = getattr(arg, "dtype", None)
        if dtype is not None and dtype.kind == "f" and dtype.itemsize < 8 and getattr(
                g, "dtype", dtype) != dtype and getattr(g, "dtype", dtype).kind == "f":
            narrowed = list(grads) if narrowed is None else narrowed
            narrowed[k] = g.astype(dtype)
    if narrowed is None:
        return out
    grads = narrowed[0] if single else tuple(narrowed)
    if with_value:
        return out[0], grads
    return (grads, out[1]) if has_aux else grads


def _is_complex(a: Any) -> bool:
    dtype = getattr(a, "dtype", None)
    return isinstance(a, complex) or (dtype is not None and np.dtype(dtype).kind == "c")


def _is_float_like(a: Any) -> bool:
    t = type(a)
    if t is float or t is np.ndarray and a.dtype.kind in "fc":
        return True
    if t is int or t is bool:
        return False
    dtype = getattr(a, "dtype", None)
    if dtype is not None:
        return np.dtype(dtype).kind in "fcV"
    return True  # containers and other scalars: checked where they are used


def _reject_wrt(fn: Callable, i: int, value: Any) -> None:
    params = list(inspect.signature(fn).parameters)
    raise SrcGradError(
        f"cannot differentiate with respect to {params[i]!r}: it is an integer "
        f"({type(value).__name__}{' ' + str(value.dtype) if hasattr(value, 'dtype') else ''})",
        hint=f"pass a float (e.g. float({params[i]}) or {params[i]}.astype(float)), or "
        "choose another wrt",
    )


@overload
def grad(fn: None = None, wrt: Wrt = 0, *, argnums: int | Sequence[int] | None = None,
         has_aux: bool = False, backend: str = "numpy", jit: bool = False,
         static_argnums: int | Sequence[int] = (), static_argnames: str | Sequence[str] = (),
         source: str | None = None) -> Callable[[Callable], GradFunction]: ...
@overload
def grad(fn: Callable, wrt: Wrt = 0, *, argnums: int | Sequence[int] | None = None,
         has_aux: bool = False, backend: str = "numpy", jit: bool = False,
         static_argnums: int | Sequence[int] = (), static_argnames: str | Sequence[str] = (),
         source: str | None = None) -> GradFunction: ...
def grad(fn: Callable | None = None, wrt: Wrt = 0, *, argnums: int | Sequence[int] | None = None,
         has_aux: bool = False, backend: str = "numpy", jit: bool = False,
         static_argnums: int | Sequence[int] = (), static_argnames: str | Sequence[str] = (),
         source: str | None = None) -> GradFunction | Callable[[Callable], GradFunction]:
    """The gradient of scalar-valued ``fn`` with respect to the parameter(s) ``wrt``.

    ``wrt`` is a parameter index or name, or a tuple of them (then a tuple of gradients is
    returned); ``argnums`` is JAX's spelling of it, with indices only. Each gradient has the
    structure of its argument. With ``has_aux``, ``fn`` returns ``(output, aux)``, and the
    gradient function returns ``(gradient, aux)``, ``aux`` undifferentiated. With ``jit=True``
    (``backend="jax"``), Python ints, bools, strings and None passed in are static (each new
    value compiles again), and so are the parameters ``static_argnums`` and
    ``static_argnames`` name. Usable as ``@grad`` and ``@grad(wrt=("w1", "w2"))``. ``source``
    supplies the text of a function defined where its source cannot be read (a REPL,
    ``exec``).
    """
    wrt = _argnums(wrt, argnums)

    def make(f: Callable) -> GradFunction:
        return GradFunction(f, wrt, with_value=False, has_aux=has_aux, backend=backend,
                            jit=jit, static_argnums=static_argnums,
                            static_argnames=static_argnames, source=source)

    return make if fn is None else make(fn)


@overload
def value_and_grad(fn: None = None, wrt: Wrt = 0, *,
                   argnums: int | Sequence[int] | None = None, has_aux: bool = False,
                   backend: str = "numpy", jit: bool = False,
                   static_argnums: int | Sequence[int] = (),
                   static_argnames: str | Sequence[str] = (), source: str | None = None
                   ) -> Callable[[Callable], GradFunction]: ...
@overload
def value_and_grad(fn: Callable, wrt: Wrt = 0, *,
                   argnums: int | Sequence[int] | None = None, has_aux: bool = False,
                   backend: str = "numpy", jit: bool = False,
                   static_argnums: int | Sequence[int] = (),
                   static_argnames: str | Sequence[str] = (), source: str | None = None
                   ) -> GradFunction: ...
def value_and_grad(fn: Callable | None = None, wrt: Wrt = 0, *,
                   argnums: int | Sequence[int] | None = None, has_aux: bool = False,
                   backend: str = "numpy", jit: bool = False,
                   static_argnums: int | Sequence[int] = (),
                   static_argnames: str | Sequence[str] = (), source: str | None = None
                   ) -> GradFunction | Callable[[Callable], GradFunction]:
    """Like :func:`grad`, but the generated function returns ``(value, gradient)`` (with
    ``has_aux``: ``((value, aux), gradient)``, as JAX's)."""
    wrt = _argnums(wrt, argnums)

    def make(f: Callable) -> GradFunction:
        return GradFunction(f, wrt, with_value=True, has_aux=has_aux, backend=backend,
                            jit=jit, static_argnums=static_argnums,
                            static_argnames=static_argnames, source=source)

    return make if fn is None else make(fn)


def _argnums(wrt: Wrt, argnums: int | Sequence[int] | None) -> Wrt:
    """``wrt`` given as JAX's ``argnums``: parameter indices."""
    if argnums is None:
        return wrt
    if wrt != 0:
        raise SrcGradError("give wrt or argnums, not both", hint="argnums=(0, 1) is "
                           "wrt=(0, 1): parameter indices; wrt also takes names")
    if isinstance(argnums, bool) or not (isinstance(argnums, int) or isinstance(
            argnums, (tuple, list)) and all(isinstance(i, int) and not isinstance(i, bool)
                                            for i in argnums)):
        raise SrcGradError(f"argnums must be an int or a tuple of ints, not {argnums!r}",
                           hint="use wrt= to name parameters")
    return tuple(argnums) if isinstance(argnums, list) else argnums


def _static_names(fn: Callable, params: tuple[str, ...], argnums: int | Sequence[int],
                  argnames: str | Sequence[str], method: bool, jit: bool) -> tuple[str, ...]:
    """The parameters ``static_argnums`` and ``static_argnames`` name (for ``jax.jit``)."""
    nums = (argnums,) if isinstance(argnums, int) else tuple(argnums)
    names = (argnames,) if isinstance(argnames, str) else tuple(argnames)
    if not (nums or names):
        return ()
    if not jit:
        raise SrcGradError("static_argnums and static_argnames are for jit=True",
                           hint="pass jit=True (with backend='jax'), or leave them out: "
                           "without jit every argument is a value")
    found = []
    for i in nums:
        k = i + 1 if method and i >= 0 else i
        if not -len(params) <= k < len(params):
            raise SrcGradError(f"static_argnums: {fn.__name__} has no parameter {i}")
        found.append(params[k])
    for name in names:
        if name not in params:
            raise SrcGradError(f"static_argnames: {fn.__name__} has no parameter {name!r}")
        found.append(name)
    return tuple(dict.fromkeys(found))


def show(f: Any, *args: Any, **kwargs: Any) -> None:
    """Print the generated source of a gradient function (of ``grad(f)`` for a plain
    function), with line numbers; given arguments, the code generated for them (a loss
    through a model: ``show(loss_fn, model, x, y)``)."""
    if not hasattr(type(f), "source"):  # (on the type: reading it would generate code)
        f = grad(f)
    text = f.source_for(*args, **kwargs) if (args or kwargs) and hasattr(
        f, "source_for") else f.source
    for i, line in enumerate(text.splitlines(), 1):
        print(f"{i:4d}  {line}")
