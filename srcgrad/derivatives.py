"""Forward mode, vector-Jacobian products, Jacobians and second derivatives, built on
:func:`srcgrad.pipeline.transform`: ``jvp``, ``derivative``, ``vjp``, ``jacobian``, ``hvp``,
``hessian``. Each generates its code on first use and shows it as ``.source``."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from typing import Any, TypedDict, cast, overload

import numpy as np

from srcgrad import emit
from srcgrad.api import GradFunction, _structures, grad
from srcgrad.context import Transformed
from srcgrad.errors import Location, SrcGradError
from srcgrad.naming import function_name
from srcgrad.objects import is_object
from srcgrad.pipeline import Wrt, positional, transform


class _Backend(TypedDict):
    """Where a derivative's code runs."""

    backend: str
    jit: bool


class _Options(_Backend):
    """What a derivative passes to :func:`srcgrad.pipeline.transform`, besides what it asks."""

    source: str | None


class _Generated:
    """A derivative of a user function whose code is generated on first use (and cached)."""

    prefix = ""

    def __init__(self, fn: Callable, wrt: Wrt | None = None, *, backend: str = "numpy",
                 jit: bool = False, source: str | None = None):
        self.__wrapped__ = fn
        self.__name__ = f"{self.prefix}_{getattr(fn, '__name__', 'f')}"
        self._wrt = wrt
        self._options = _Options(backend=backend, jit=jit, source=source)
        self._built: tuple | None = None
        self._by_structure: dict[tuple, tuple] = {}  # code per structure of the objects

    def _positional(self) -> tuple[int, ...]:
        """Every positional parameter (what ``jax.jvp`` and ``jax.vjp`` differentiate)."""
        return positional(self.__wrapped__)

    def _transform(self, wrt: Wrt, **options: Any) -> Transformed:
        try:
            return transform(self.__wrapped__, wrt, **options, **self._options)
        except SrcGradError as err:  # the user's location is in the message
            raise err.with_traceback(None) from None

    def _build(self) -> tuple:
        raise NotImplementedError

    def __srcgrad_code__(self) -> Callable:
        """What differentiating this derivative again reads: its generated function, when
        it is called the way its generated function is."""
        raise SrcGradError(
            f"{self.__name__} is called differently from the code it generates: differentiate "
            "grad(f), derivative(f) or a function of your own that calls them instead",
            hint="jvp returns a (value, tangent) pair; hessian(f) gives second derivatives")

    def __srcgrad_inline__(self, args: list, kwargs: dict) -> tuple[Callable, list, dict]:
        """A call of this derivative inside a function srcgrad differentiates: the generated
        function it runs, and that function's arguments made from the call's. The items are
        opaque to this method; a literal tuple or list written in the call arrives as a
        tuple."""
        return self.__srcgrad_code__(), args, kwargs

    @property
    def source(self) -> str:
        """The generated Python source."""
        return self._build()[1]

    @property
    def fn(self) -> Callable:
        """The generated function itself (no argument checks)."""
        return self._build()[0]

    def __repr__(self) -> str:
        return f"<srcgrad.{type(self).__name__} {self.__name__}>"


# --- forward mode --------------------------------------------------------------------------------

class JvpFunction(_Generated):
    """Forward mode for a user function: ``jvp_f(primals, tangents)`` gives
    ``(f(*primals), J @ tangents)``; ``.source`` is the generated code (each statement followed
    by its tangent ``h_dot``), ``jvp_f(x, w, *, x_dot, w_dot) -> (value, tangent)``."""

    prefix = "jvp"

    def _build(self, objects: tuple = ()) -> tuple[Callable, str, tuple[tuple[int, str], ...]]:
        if objects:  # primals holding objects: code for their structure
            found = self._by_structure.get(objects)
            if found is None or not found[3].holds():
                wrt = self._positional() if self._wrt is None else self._wrt
                made = self._transform(wrt, mode="fwd", with_value=True, objects=objects)
                names = made.kwonly[:len(made.positions)]
                found = (made.fn, made.source,
                         tuple(zip(made.positions, names, strict=True)), made)
                self._by_structure[objects] = found
            self._built = found[:3]
            return self._built
        if self._built is None:
            wrt = self._positional() if self._wrt is None else self._wrt
            made = self._transform(wrt, mode="fwd", with_value=True)
            names = made.kwonly[:len(made.positions)]
            self._built = (made.fn, made.source, tuple(zip(made.positions, names, strict=True)))
        return self._built

    def _given(self, count: int) -> tuple[Callable, tuple[tuple[int, str], ...]]:
        """The code differentiating the first ``count`` parameters only (the others keep
        their defaults)."""
        found = self._by_structure.get(("given", count))
        if found is None:
            made = self._transform(tuple(range(count)), mode="fwd", with_value=True)
            names = made.kwonly[:len(made.positions)]
            found = self._by_structure[("given", count)] = (
                made.fn, tuple(zip(made.positions, names, strict=True)))
        return found

    def __call__(self, primals: Sequence[Any], tangents: Sequence[Any]) -> tuple[Any, Any]:
        primals, tangents = tuple(primals), tuple(tangents)
        found = _structures(tuple(inspect.signature(self.__wrapped__).parameters), primals, {},
                            self.__wrapped__) if any(is_object(p) for p in primals) else ()
        fn, _, wrt = self._build(found) if found else self._build()
        if self._wrt is None and not found and len(tangents) == len(primals) < len(wrt):
            # defaulted parameters not passed: only the primals given are differentiated,
            # as with jax.jvp
            fn, wrt = self._given(len(primals))
        if len(tangents) != len(wrt):
            raise SrcGradError(
                f"{self.__name__[4:]} takes {len(wrt)} tangent(s) (one per differentiated "
                f"argument), got {len(tangents)}",
                hint="pass tangents with the structure of the differentiated primals")
        for (i, _), t in zip(wrt, tangents, strict=True):
            if i < len(primals):
                _check_tangent(primals[i], t, i)
        out = _ieee(fn, primals, {name: t for (_, name), t in zip(wrt, tangents, strict=True)})
        _check_real_tangent(self.__wrapped__, out)
        return out


    def __srcgrad_inline__(self, args: list, kwargs: dict) -> tuple[Callable, list, dict]:
        fn, _, wrt = self._build()
        if kwargs or len(args) != 2 or not all(isinstance(a, tuple) for a in args):
            raise SrcGradError(f"write {self.__name__[4:]}'s primals and tangents as two "
                               "tuples here", hint="jvp(f, (x, w), (x_dot, w_dot))")
        primals, tangents = args
        if len(tangents) != len(wrt):
            raise SrcGradError(f"{self.__name__[4:]} takes {len(wrt)} tangent(s), got "
                               f"{len(tangents)}", hint="one tangent per differentiated argument")
        return fn, list(primals), {name: t for (_, name), t in zip(wrt, tangents, strict=True)}


def _ieee(fn: Callable, args: Sequence[Any], kwargs: dict[str, Any]) -> Any:
    """``fn(*args, **kwargs)``; where every argument is a Python float and Python's arithmetic
    raised (``1.0 / 0.0``, ``0.0 ** -0.5``), the same on NumPy float64 scalars, which give inf
    and nan as NumPy and JAX do, with the results as floats again (as ``grad`` does)."""
    try:
        return fn(*args, **kwargs)
    except SrcGradError as err:  # a helper's refusal at run time: at the user's line
        raise emit.located(err) from None
    except (ZeroDivisionError, OverflowError, ValueError):
        if not all(type(a) is float for a in (*args, *kwargs.values())):
            raise
    out = fn(*(np.float64(a) for a in args), **{k: np.float64(v) for k, v in kwargs.items()})
    return tuple(float(v) for v in out) if isinstance(out, tuple) else float(out)


def _real_where_real(g: Any, arg: Any) -> Any:
    """The derivative ``g`` with respect to ``arg``: its real part where ``arg`` is a real
    array or number and ``g`` complex (JAX's convention for complex values: the adjoint of a
    real value may carry an imaginary part that means nothing, srcgrad/runtime/spectral.py)."""
    if isinstance(g, (tuple, list)) and isinstance(arg, (tuple, list)) and len(g) == len(arg):
        return type(g)(_real_where_real(gi, ai) for gi, ai in zip(g, arg, strict=True))
    if isinstance(g, dict) and isinstance(arg, dict):  # (a tuple, list or dict argument)
        return {k: _real_where_real(v, arg.get(k)) for k, v in g.items()}
    if isinstance(g, (tuple, list, dict)) or not np.iscomplexobj(g) or arg is None or \
            np.iscomplexobj(arg):
        return g
    if isinstance(arg, float):
        return float(np.real(g))
    return np.real(g) if getattr(arg, "dtype", None) is not None else g


def _check_real_tangent(fn: Callable, out: tuple[Any, Any]) -> None:
    """Refuse a complex tangent of a real output: every rule from a complex value to a real one
    (``np.real``, ``np.abs``, ``np.angle``) gives a real tangent, so a complex one means a
    primitive on the way that does not follow JAX's convention for complex values; its real
    part could be wrong, and its imaginary part is."""
    values, tangents = out
    if not isinstance(values, tuple):
        values, tangents = (values,), (tangents,)
    for v, t in zip(values, tangents, strict=False):
        if np.iscomplexobj(t) and not np.iscomplexobj(v):
            try:
                lines, first = inspect.getsourcelines(fn)
                where = Location(inspect.getsourcefile(fn) or "<unknown>", first, 0,
                                 lines[0].rstrip("\n"))
            except (OSError, TypeError):
                where = None
            raise SrcGradError(
                "the tangent of a real output came out complex: a primitive on the way is not "
                "differentiated for complex values", where, hint="take the real part where "
                "you mean it (np.real), or write the computation with real arrays (real and "
                "imaginary parts as two arrays)")


def _check_tangent(primal: Any, tangent: Any, i: int) -> None:
    """A tangent has its primal's structure and shapes (an object's: its gradient's)."""
    if is_object(primal):
        if hasattr(primal, "named_parameters"):
            keys = [k for k, _ in primal.named_parameters()]
            if not isinstance(tangent, dict) or set(tangent) != set(keys):
                raise SrcGradError(f"the tangent of argument {i} must be a dict with the keys "
                                   f"of its parameters: {keys}",
                                   hint="a tangent has its primal's gradient's structure")
            for k, p in primal.named_parameters():
                _check_tangent(p, tangent[k], i)
        return
    if isinstance(primal, dict):
        if not isinstance(tangent, dict) or tangent.keys() != primal.keys():
            raise SrcGradError(f"the tangent of argument {i} must be a dict with the keys "
                               f"{sorted(primal)}", hint="a tangent has its primal's structure")
        for k in primal:
            _check_tangent(primal[k], tangent[k], i)
    elif isinstance(primal, (tuple, list)):
        if not isinstance(tangent, (tuple, list)) or len(tangent) != len(primal):
            raise SrcGradError(f"the tangent of argument {i} must be a sequence of "
                               f"{len(primal)} items", hint="a tangent has its primal's structure")
        for p, t in zip(primal, tangent, strict=True):
            _check_tangent(p, t, i)
    elif np.shape(tangent) != np.shape(primal):
        raise SrcGradError(
            f"the tangent of argument {i} has shape {np.shape(tangent)}, its primal "
            f"{np.shape(primal)}", hint="a tangent has its primal's shape")


@overload
def jvp(fn: Callable, primals: None = None, tangents: None = None, *, backend: str = "numpy",
        jit: bool = False, source: str | None = None) -> JvpFunction: ...
@overload
def jvp(fn: Callable, primals: Sequence[Any], tangents: Sequence[Any], *,
        backend: str = "numpy", jit: bool = False, source: str | None = None
        ) -> tuple[Any, Any]: ...
def jvp(fn: Callable, primals: Sequence[Any] | None = None,
        tangents: Sequence[Any] | None = None, *, backend: str = "numpy", jit: bool = False,
        source: str | None = None) -> JvpFunction | tuple[Any, Any]:
    """Forward mode, as ``jax.jvp``: ``jvp(f, primals, tangents)`` returns
    ``(f(*primals), J @ tangents)``, one tangent per positional argument (a Python float or
    an array of the argument's shape). ``jvp(f)`` returns the :class:`JvpFunction` itself,
    whose ``.source`` is the generated code."""
    jf = JvpFunction(fn, backend=backend, jit=jit, source=source)
    if primals is None and tangents is None:
        return jf
    if primals is None or tangents is None:
        raise SrcGradError("jvp takes both primals and tangents (or neither)",
                           hint="jvp(f, (x,), (v,)), or jvp(f) for the function itself")
    return jf(primals, tangents)


def _jvp_inline(args: list, kwargs: dict) -> tuple[Callable, list, dict]:
    """``jvp(f, primals, tangents)`` called inside a function srcgrad differentiates."""
    if len(args) != 3 or kwargs or not callable(args[0]):
        raise SrcGradError("write jvp(f, primals, tangents) here, f a function",
                           hint="jvp(f, (x,), (v,))")
    return JvpFunction(args[0]).__srcgrad_inline__(list(args[1:]), {})


jvp.__srcgrad_inline__ = _jvp_inline  # type: ignore[attr-defined]


class DerivativeFunction(_Generated):
    """The derivative of a function of one scalar (forward mode): ``df(x, *rest)`` is
    ``d f(x, *rest) / dx``. Its code (``.source``) starts the tangent of ``x`` at 1.0 and
    returns the tangent of the output; it can be differentiated again."""

    prefix = "derivative"

    def _build(self) -> tuple[Callable, str, int]:
        if self._built is None:
            # (derivative() always gives wrt; None, given here, transform refuses as a wrt)
            made = self._transform(cast(Wrt, self._wrt), mode="fwd", seeded=True)
            self._built = (made.fn, made.source, made.positions[0])
        return self._built

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        fn, _, i = self._build()
        if i < len(args) and np.ndim(args[i]) != 0:
            raise SrcGradError(
                f"derivative takes a scalar argument; got shape {np.shape(args[i])}",
                hint="use jvp (a direction) or jacobian for array arguments")
        return _ieee(fn, args, kwargs)

    def __srcgrad_code__(self) -> Callable:
        return self._build()[0]


@overload
def derivative(fn: None = None, wrt: int | str = 0, *, mode: str = "forward",
               backend: str = "numpy", jit: bool = False, source: str | None = None
               ) -> Callable[[Callable], DerivativeFunction | GradFunction]: ...
@overload
def derivative(fn: Callable, wrt: int | str = 0, *, mode: str = "forward",
               backend: str = "numpy", jit: bool = False, source: str | None = None
               ) -> DerivativeFunction | GradFunction: ...
def derivative(fn: Callable | None = None, wrt: int | str = 0, *, mode: str = "forward",
               backend: str = "numpy", jit: bool = False, source: str | None = None
               ) -> DerivativeFunction | GradFunction | Callable[
                   [Callable], DerivativeFunction | GradFunction]:
    """``f'`` for a function of one scalar argument ``wrt`` (the others held fixed).
    ``mode="forward"`` (the default) propagates a tangent alongside the value; ``"reverse"``
    is :func:`grad`. Usable as ``@derivative``."""
    if fn is None:
        return lambda f: derivative(f, wrt, mode=mode, backend=backend, jit=jit, source=source)
    if mode == "reverse":
        return grad(fn, wrt, backend=backend, jit=jit, source=source)
    if mode != "forward":
        raise SrcGradError(f"mode must be 'forward' or 'reverse', not {mode!r}")
    return DerivativeFunction(fn, wrt, backend=backend, jit=jit, source=source)


# --- reverse mode for outputs of any shape -----------------------------------------------------

class VjpFunction(_Generated):
    """Reverse mode for a function with an output of any shape: ``vjp_f(*args, cotangent=c)``
    gives ``c @ J`` for every argument in ``wrt`` (a tuple); ``.source`` is the generated
    code, whose output adjoint ``d_out`` is a parameter instead of 1."""

    prefix = "vjp"

    def _build(self) -> tuple[Callable, str, str]:
        if self._built is None:
            wrt = self._positional() if self._wrt is None else self._wrt
            wrt = (wrt,) if isinstance(wrt, (int, str)) else wrt
            made = self._transform(wrt, mode="vjp")
            self._built = (made.fn, made.source, made.kwonly[0])
            self._positions = made.positions
        return self._built

    def __call__(self, *args: Any, cotangent: Any) -> tuple:
        fn, _, name = self._build()
        try:
            out = fn(*args, **{name: cotangent})
        except SrcGradError as err:  # a helper's refusal at run time: at the user's line
            raise emit.located(err) from None
        if isinstance(out, tuple) and len(out) == len(self._positions):
            return tuple(_real_where_real(g, args[i] if i < len(args) else None)
                         for g, i in zip(out, self._positions, strict=True))
        return out

    def __srcgrad_inline__(self, args: list, kwargs: dict) -> tuple[Callable, list, dict]:
        fn, _, name = self._build()
        if set(kwargs) != {"cotangent"}:
            raise SrcGradError(f"call {self.__name__} with the keyword cotangent= here")
        return fn, args, {name: kwargs["cotangent"]}


def vjp(fn: Callable, *primals: Any, backend: str = "numpy", jit: bool = False,
        source: str | None = None) -> tuple[Any, Callable]:
    """Reverse mode, as ``jax.vjp``: ``out, pullback = vjp(f, *primals)``; ``pullback(c)`` is
    the tuple of ``c @ J`` for each argument, ``c`` a cotangent of ``out``'s shape. (The
    pullback runs the generated code, forward sweep included, at each call.)"""
    vf = VjpFunction(fn, backend=backend, jit=jit, source=source)
    vf._build()
    out = fn(*primals)

    def pullback(cotangent: Any) -> tuple:
        outs, cts = (out, cotangent) if isinstance(out, tuple) else ((out,), (cotangent,))
        if not isinstance(cts, tuple) or len(cts) != len(outs):
            raise SrcGradError(f"the function returns {len(outs)} values: the cotangent is a "
                               f"tuple of {len(outs)}", hint="one cotangent per output")
        for o, c in zip(outs, cts, strict=True):
            if np.shape(c) != np.shape(o):
                raise SrcGradError(f"the cotangent has shape {np.shape(c)}, the output "
                                   f"{np.shape(o)}", hint="a cotangent has the output's shape")
        return vf(*primals, cotangent=cotangent)

    return out, pullback


def jacobian(fn: Callable, wrt: int | str | Sequence[int | str] = 0, *, mode: str = "rev",
             backend: str = "numpy", jit: bool = False, source: str | None = None) -> Callable:
    """``jacobian(f)(*args)``: the Jacobian of array-valued ``f`` with respect to argument
    ``wrt``, of shape ``out.shape + x.shape``: one vector-Jacobian product per output element
    (``mode="rev"``) or one Jacobian-vector product per input element (``mode="fwd"``). With a
    tuple ``wrt``, a tuple of Jacobians, one per argument; with several outputs, a tuple per
    output. On the jax backend the products are one ``jax.vmap`` over the basis, so the
    Jacobian is a jax array and ``jacobian(f)`` can itself be jitted and vmapped."""
    if mode not in ("rev", "fwd"):
        raise SrcGradError(f"mode must be 'rev' or 'fwd', not {mode!r}")
    name = f"jacobian_{getattr(fn, '__name__', 'f')}"
    if isinstance(wrt, (tuple, list)):
        each = [jacobian(fn, w, mode=mode, backend=backend, jit=jit, source=source) for w in wrt]

        def jacobians_f(*args: Any) -> Any:
            return tuple(j(*args) for j in each)

        jacobians_f.__name__ = name
        return jacobians_f
    options = _Options(backend=backend, jit=jit, source=source)
    assert isinstance(wrt, (int, str))
    params = list(inspect.signature(fn).parameters)
    if isinstance(wrt, str) and wrt not in params:
        raise SrcGradError(f"{getattr(fn, '__name__', 'f')} has no parameter {wrt!r}",
                           hint=f"its parameters: {', '.join(params)}")
    index = wrt if isinstance(wrt, int) else params.index(wrt)
    if not -len(params) <= index < len(params):
        raise SrcGradError(f"{getattr(fn, '__name__', 'f')} has no parameter {wrt}",
                           hint=f"it has {len(params)} parameters")
    tangents = JvpFunction(fn, (index,), **options)
    if backend == "jax":
        cotangents = VjpFunction(fn, (index,), **options) if mode == "rev" else None
        on_jax = _jax_jacobian(tangents, cotangents, index)
        on_jax.__name__ = name
        return on_jax
    products: Any = VjpFunction(fn, (index,), **options) if mode == "rev" else tangents

    def jacobian_f(*args: Any) -> Any:
        x = args[index]
        if mode == "fwd":
            xs = np.asarray(x, dtype=float)
            basis = np.eye(xs.size).reshape((xs.size, *xs.shape))
            columns = [products(args, (e if np.ndim(x) else float(e),))[1] for e in basis]
            if isinstance(columns[0], tuple):  # several outputs: one Jacobian each
                return tuple(_stack_columns([np.asarray(c[k]) for c in columns], x)
                             for k in range(len(columns[0])))
            return _stack_columns([np.asarray(c) for c in columns], x)
        out = fn(*args)
        if isinstance(out, tuple):
            zeros = tuple(np.zeros(np.shape(o)) if np.ndim(o) else 0.0 for o in out)
            jacs = []
            for k, o in enumerate(out):
                rows = []
                for c in np.eye(np.size(o)).reshape((np.size(o), *np.shape(o))):
                    ct = list(zeros)
                    ct[k] = c if np.ndim(o) else float(c)
                    rows.append(np.asarray(products(*args, cotangent=tuple(ct))[0]))
                jacs.append(np.stack(rows).reshape(np.shape(o) + np.shape(x)))
            return tuple(jacs)
        out = np.asarray(out)
        basis = np.eye(out.size).reshape((out.size, *out.shape))
        rows = [np.asarray(products(*args, cotangent=c if out.ndim else float(c))[0])
                for c in basis]
        return np.stack(rows).reshape(out.shape + np.shape(x))

    jacobian_f.__name__ = name
    return jacobian_f


def _jax_jacobian(tangents: JvpFunction, cotangents: VjpFunction | None,
                  index: int) -> Callable:
    """The Jacobian on the jax backend: the products mapped over the basis with ``jax.vmap``
    (reverse mode with ``cotangents``, else forward), the output's shape read by
    ``jax.eval_shape`` of the tangent code (nothing computed)."""
    import jax
    import jax.numpy as jnp

    def jacobian_f(*args: Any) -> Any:
        x = jnp.asarray(args[index])
        dtype = x.dtype if jnp.issubdtype(x.dtype, jnp.inexact) else jnp.result_type(float)
        x = x.astype(dtype)
        args = (*args[:index], x, *args[index + 1:])
        if cotangents is None:
            basis = jnp.eye(x.size, dtype=dtype).reshape((x.size, *x.shape))
            columns = jax.vmap(lambda e: tangents(args, (e,))[1])(basis)
            return jax.tree_util.tree_map(
                lambda c: jnp.moveaxis(c.reshape((x.size, -1)), 0, -1).reshape(
                    c.shape[1:] + x.shape), columns)
        out = jax.eval_shape(lambda *a: tangents(a, (jnp.zeros_like(a[index]),))[0], *args)
        several = isinstance(out, tuple)
        outs = out if several else (out,)
        zeros = tuple(jnp.zeros(o.shape, o.dtype) for o in outs)
        jacs = []
        for k, o in enumerate(outs):
            basis = jnp.eye(o.size, dtype=o.dtype).reshape((o.size, *o.shape))

            def pull(c: Any, k: int = k) -> Any:
                cts = (*zeros[:k], c, *zeros[k + 1:])
                return cotangents(*args, cotangent=cts if several else c)[0]

            jacs.append(jax.vmap(pull)(basis).reshape(o.shape + x.shape))
        return tuple(jacs) if several else jacs[0]

    return jacobian_f


def jacrev(fn: Callable, argnums: int | Sequence[int] = 0, *, backend: str = "numpy",
           jit: bool = False, source: str | None = None) -> Callable:
    """JAX's ``jacrev``: :func:`jacobian` in reverse mode, ``argnums`` an index or a tuple."""
    return jacobian(fn, argnums, mode="rev", backend=backend, jit=jit, source=source)


def jacfwd(fn: Callable, argnums: int | Sequence[int] = 0, *, backend: str = "numpy",
           jit: bool = False, source: str | None = None) -> Callable:
    """JAX's ``jacfwd``: :func:`jacobian` in forward mode, ``argnums`` an index or a tuple."""
    return jacobian(fn, argnums, mode="fwd", backend=backend, jit=jit, source=source)


def _stack_columns(columns: list[np.ndarray], x: Any) -> np.ndarray:
    """One Jacobian from its columns (the tangents along each element of ``x``)."""
    return np.stack(columns, axis=-1).reshape(columns[0].shape + np.shape(x))


# --- second derivatives ---------------------------------------------------------------------------

_FOR, _ROF = "forward-over-reverse", "reverse-over-forward"

class HvpFunction(_Generated):
    """Hessian-vector products of a scalar function without forming the Hessian:
    ``hvp_f(*args, v)`` is ``H @ v``, ``H`` the Hessian with respect to argument ``wrt``.
    Forward over reverse (the default): the forward-mode derivative of the gradient code along
    ``v``. Reverse over forward: the gradient of the forward-mode derivative along ``v``.
    Either way one sweep each way; ``.source`` is the code that runs."""

    prefix = "hvp"

    def __init__(self, fn: Callable, wrt: Wrt | None = 0, *, mode: str = _FOR,
                 backend: str = "numpy", jit: bool = False, source: str | None = None):
        if mode not in (_FOR, _ROF):
            raise SrcGradError(f"mode must be {_FOR!r} or {_ROF!r}, not {mode!r}")
        super().__init__(fn, wrt, backend=backend, jit=jit, source=source)
        self.mode = mode

    def _build(self) -> tuple[Callable, str, str]:
        if self._built is None:
            options = _Backend(backend=self._options["backend"], jit=self._options["jit"])
            wrt = cast(Wrt, self._wrt)  # (as for DerivativeFunction: None is refused)
            if self.mode == _FOR:
                gradient = GradFunction(self.__wrapped__, wrt, with_value=False,
                                        **self._options)
                name = f"hvp_{function_name(self.__name__[4:])}"
                try:
                    made = transform(gradient, wrt, mode="fwd", with_value=False,
                                     name=name, **options)
                except SrcGradError as err:
                    raise err.with_traceback(None) from None
            else:
                tangent = self._transform(wrt, mode="fwd", with_value=False)
                try:
                    made = transform(tangent.fn, tangent.positions[0], **options)
                except SrcGradError as err:
                    raise err.with_traceback(None) from None
            self._built = (made.fn, made.source, made.kwonly[0])
        return self._built

    def __call__(self, *args: Any) -> Any:
        if len(args) < 2:
            raise SrcGradError("hvp_f takes the function's arguments, then the vector v",
                               hint="hvp(f)(x, v)")
        *primals, v = args
        fn, _, name = self._build()
        try:
            return _real_where_real(fn(*primals, **{name: v}), self._argument(primals))
        except SrcGradError as err:  # a helper's refusal at run time: at the user's line
            raise emit.located(err) from None

    def _argument(self, primals: list) -> Any:
        """The argument differentiated, among ``primals`` (None if not passed there)."""
        wrt = self._wrt
        if isinstance(wrt, str):
            params = list(inspect.signature(self.__wrapped__).parameters)
            wrt = params.index(wrt) if wrt in params else None
        return primals[wrt] if isinstance(wrt, int) and wrt < len(primals) else None

    def __srcgrad_inline__(self, args: list, kwargs: dict) -> tuple[Callable, list, dict]:
        fn, _, name = self._build()
        if len(args) < 2 or kwargs:
            raise SrcGradError(f"{self.__name__} takes the function's arguments, then the "
                               "vector v", hint="hvp(f)(x, v)")
        return fn, args[:-1], {name: args[-1]}


def hvp(fn: Callable, wrt: int | str = 0, *, mode: str = _FOR, backend: str = "numpy",
        jit: bool = False, source: str | None = None) -> HvpFunction:
    """``hvp(f)(x, v)``: the Hessian of scalar ``f`` (with respect to argument ``wrt``) times
    ``v``, without forming the Hessian; ``mode`` ``"forward-over-reverse"`` (the default) or
    ``"reverse-over-forward"``."""
    return HvpFunction(fn, wrt, mode=mode, backend=backend, jit=jit, source=source)


def hessian(fn: Callable, wrt: int | str = 0, *, mode: str = _FOR, backend: str = "numpy",
            jit: bool = False, source: str | None = None) -> Callable:
    """``hessian(f)(*args)``: the Hessian of scalar ``f`` with respect to argument ``wrt``,
    of shape ``x.shape + x.shape``: one Hessian-vector product (``mode`` as for :func:`hvp`)
    per element of ``x``."""
    products = HvpFunction(fn, wrt, mode=mode, backend=backend, jit=jit, source=source)
    params = list(inspect.signature(fn).parameters)

    def hessian_f(*args: Any) -> Any:
        i = wrt if isinstance(wrt, int) else params.index(wrt)
        x = args[i]
        if np.ndim(x) == 0:
            return products(*args, 1.0)
        if backend == "jax":  # one vmap over the basis: a jax array, traceable
            import jax
            import jax.numpy as jnp

            xj = jnp.asarray(x)
            units = jnp.eye(xj.size, dtype=xj.dtype).reshape((xj.size, *xj.shape))
            return jax.vmap(lambda e: products(*args, e))(units).reshape(xj.shape + xj.shape)
        x = np.asarray(x)
        basis = np.eye(x.size, dtype=x.dtype)
        rows = [np.asarray(products(*args, e.reshape(x.shape))) for e in basis]
        return np.stack(rows).reshape(x.shape + x.shape)

    hessian_f.__name__ = f"hessian_{getattr(fn, '__name__', 'f')}"
    return hessian_f
