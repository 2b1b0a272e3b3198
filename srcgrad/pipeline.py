"""The pass order, and the cache of what it generated: the one module that knows the passes.

``transform(fn, wrt, ...)`` parses ``fn``'s source, lowers it to the core form (normalize),
finds what is active and which shapes are equal (analyze), writes the reverse or forward sweep,
simplifies the result (optimize), prints it (emit) and compiles it on the chosen backend. A
function is transformed once per set of options; the code is cached with it.
"""

from __future__ import annotations

import functools
import inspect
import threading
import weakref
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any, cast

import libcst as cst

from srcgrad import analyze, boundary, custom, emit, forward, optimize, reverse
from srcgrad.backends import get_backend
from srcgrad.context import GeneratedFunction, PassContext, Transformed
from srcgrad.errors import SrcGradError
from srcgrad.ir import Origin, Program
from srcgrad.naming import Namer
from srcgrad.normalize import normalize
from srcgrad.objects import Shape
from srcgrad.objects import leaves as leaves_of
from srcgrad.parse import parse_function
from srcgrad.rules import DEFAULT_RULES
from srcgrad.rules.calls import CallTable, is_array_module
from srcgrad.template import names_in

Wrt = int | str | Sequence[int | str]

_CALLS = CallTable(DEFAULT_RULES)
_LOCK = threading.RLock()
# function -> {options: generated code}; weak on the function, so that the code generated
# for it goes with it (a function defined in a loop or a test is not kept alive by srcgrad)
_CACHE: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_STRONG: dict[tuple, tuple] = {}  # the same, for the rare callable that takes no weak reference


def _alias(namespace) -> str:
    np_obj = namespace.get("np")
    return "np" if np_obj is None or is_array_module(np_obj) else "xp"


def _resolve_wrt(fn: Callable, params: Sequence[str], wrt: Wrt,
                 loc) -> tuple[tuple[str, ...], bool]:
    """Parameter names for ``wrt``, and whether a single gradient (not a tuple) is returned."""
    single = isinstance(wrt, (int, str))
    if not single and not isinstance(wrt, (tuple, list)):
        raise SrcGradError(f"wrt must be a parameter index or name, or a tuple of them, not "
                           f"{wrt!r}", loc, hint=f"parameters are {', '.join(params)}")
    items = (wrt,) if isinstance(wrt, (int, str)) else tuple(wrt)  # (single)
    names = []
    for w in items:
        if isinstance(w, int) and not isinstance(w, bool):
            if not -len(params) <= w < len(params):
                raise SrcGradError(f"wrt={w} but {fn.__name__} has {len(params)} parameters",
                                   loc, hint=f"parameters are {', '.join(params)}")
            names.append(params[w])
        elif isinstance(w, str):
            if w not in params:
                raise SrcGradError(f"wrt={w!r} names no parameter of {fn.__name__}", loc,
                                   hint=f"parameters are {', '.join(params)}")
            names.append(w)
        else:
            raise SrcGradError(f"wrt must be a parameter index or name, not {w!r}", loc,
                               hint=f"parameters are {', '.join(params)}")
    if not names:
        raise SrcGradError("wrt is empty", loc,
                           hint=f"name at least one parameter: {', '.join(params)}")
    return tuple(names), single


def transform(fn: Callable, wrt: Wrt = 0, *, with_value: bool = False, backend: str = "numpy",
              jit: bool = False, source: str | None = None, scalars: bool = False,
              mode: str = "rev", seeded: bool = False, name: str | None = None,
              objects: tuple[tuple[str, Shape], ...] = (), leaf_params: bool = False,
              has_aux: bool = False) -> Transformed:
    """Generate (or fetch from the cache) the gradient function of ``fn`` (``mode="rev"``) or
    its forward-mode derivative, value and tangent (``mode="fwd"``); ``name`` names the
    generated function (``grad_f``, ``jvp_f`` unless given).

    With ``mode="vjp"``, the output's adjoint is a keyword-only parameter; with ``seeded``
    (forward mode), the tangent seeds are. With ``scalars``, the code is specialized for calls
    whose arguments are all Python numbers (no broadcasting to undo), and
    :attr:`Transformed.assumed` lists the module-level numbers it assumes stay numbers.
    ``objects`` names the parameters that receive objects (a model), with their structure:
    the code is generated for that structure (:mod:`srcgrad.objects`). With ``has_aux``
    (reverse mode), ``fn`` returns ``(output, aux)`` and the code returns ``aux`` as JAX's
    ``has_aux`` does: ``(grads, aux)``, or ``((value, aux), grads)`` with the value.
    """
    fn = _generated_code(fn)  # a derivative made by srcgrad: its generated function
    options = (tuple(wrt) if isinstance(wrt, list) else wrt, with_value, backend, jit,
               source, scalars, mode, seeded, name, objects, leaf_params, has_aux,
               custom.version())
    with _LOCK:
        cache, key = _cached(fn, options)
        for hit in cache.get(key, ()):  # one per structure of the objects read from outside
            if hit.holds():
                return hit
        parsed = parse_function(fn, source)
        user = names_in(parsed.node)
        ctx = PassContext(DEFAULT_RULES, _CALLS, Namer(user), alias=_alias(parsed.namespace),
                          backend=backend, derive=functools.partial(_derive, backend=backend))
        core = normalize(parsed, ctx, fn, dict(objects))
        ctx = replace(ctx, rules=core.rules)   # the later passes look primitives up there
        signature = boundary.signature(core)
        where = parsed.loc(parsed.node)
        names, single = _resolve_wrt(fn, signature, wrt, where)
        if seeded and any(n in dict(objects) for n in names):
            raise SrcGradError("derivative() takes a scalar argument, not an object",
                               where, hint="use jvp with a tangent shaped like the object's "
                               "gradient")
        leaves = boundary.expand(core, names, mode, where)
        aux = None
        if has_aux:
            core, aux = reverse.split_aux(core)
        act = analyze.activity(core, leaves, core.rules)
        assumed: list[tuple[dict, str]] = []
        scalar_names: frozenset[str] = frozenset()
        if scalars:
            scalar_names = analyze.scalar_values(
                core, core.rules, lambda lit: _global_number(lit, core.bindings, assumed))
        shapes = analyze.ShapeClasses(core, core.rules, scalar_names)
        if mode == "fwd":
            program = forward.forward(core, leaves, act, shapes, ctx, with_value=with_value,
                                      seeded=seeded)
            facts = optimize.Facts(frozenset(), shapes.find, ctx.alias)
        else:
            program = reverse.reverse(core, leaves, act, shapes, ctx, with_value=with_value,
                                      cotangent=mode == "vjp", gather=functools.partial(
                                          boundary.gather, core, names, flat=leaf_params),
                                      aux=aux)
            if not single:
                program = _tuple_returns(program, with_value, aux is not None)
            facts = optimize.Facts(reverse.scalar_adjoints(program, core, shapes, act),
                                   shapes.find, ctx.alias)
        program = replace(program, filename=where.filename)
        if name is not None:
            program = replace(program, name=name)
        program = optimize.optimize(program, frozenset(user), facts)
        if mode == "fwd" and not seeded:
            program = boundary.read_tangents(program, core, names, ctx.namer,
                                             Origin(where, "tangents"))
        readers: tuple = ()
        if jit and any(any(True for _ in leaves_of(g.shape)) for g in core.guards):
            raise SrcGradError(
                "with jit=True, the arrays of an object reached from outside the function "
                "would be read once, when jax traces the code", where,
                hint="pass that object as an argument")
        if leaf_params:  # for jax.jit: the leaves are the parameters
            program, readers = boundary.leaf_parameters(program, core)
        else:
            program = boundary.read_leaves(program, core, Origin(where, "the arrays the "
                                                                        "objects passed in hold"))
        text, origins = emit.emit_with_origins(program)
        be = get_backend(backend, jit)
        namespace = {**be.namespace(ctx.alias), **core.bindings}
        generated = emit.compile_function(text, program.name, namespace, origins)
        generated.__defaults__ = getattr(fn, "__defaults__", None)
        generated.__kwdefaults__ = getattr(fn, "__kwdefaults__", None)
        generated.__srcgrad_source__ = text  # type: ignore[attr-defined]  # (set here)
        compiled = cast(GeneratedFunction, be.compile(generated) if be.compile else generated)
        result = Transformed(compiled, text, tuple(signature.index(n) for n in names),
                             program.kwonly,
                             tuple({(id(g), k): (g, k) for g, k in assumed}.values()),
                             core.guards, readers)
        cache[key] = [result, *(t for t in cache.get(key, ()) if t.guards)][:8]
        return result


def _cached(fn: Callable, options: tuple) -> tuple[dict, tuple]:
    """Where the code generated for ``fn`` with ``options`` is cached, and its key there (the
    options alone: the cache holds ``fn`` weakly, and its entries must not hold it)."""
    try:
        per_fn = _CACHE.get(fn)
        if per_fn is None:
            per_fn = _CACHE[fn] = {}
        return per_fn, options
    except TypeError:  # not weakly referenceable
        return _STRONG, (fn, *options)


def _generated_code(fn: Callable) -> Callable:
    """The generated function behind a srcgrad derivative (``grad(f)``, ``derivative(f)``):
    what differentiating it again reads (never the user's function it wraps)."""
    code = getattr(type(fn), "__srcgrad_code__", None)
    return code(fn) if code is not None else fn


def _global_number(lit, bindings: Mapping[str, Any], assumed: list) -> bool:
    """Whether ``lit`` reads a module-level number (``module_globals["DT"]``); noted in
    ``assumed`` when it does, since the module could rebind it."""
    node = lit.node
    if not (isinstance(node, cst.Subscript) and isinstance(node.value, cst.Name)
            and len(node.slice) == 1 and isinstance(node.slice[0].slice, cst.Index)
            and isinstance(node.slice[0].slice.value, cst.SimpleString)):
        return False
    globs = bindings.get(node.value.value)
    key = node.slice[0].slice.value.evaluated_value
    if not isinstance(globs, dict) or type(globs.get(key)) not in (int, float):
        return False
    assumed.append((globs, key))
    return True


def _tuple_returns(program: Program, with_value: bool, aux: bool = False) -> Program:
    """``program`` returning its gradients as one tuple (``with_value``: already a pair;
    ``aux``: the last return is the auxiliary value, after that tuple)."""
    if with_value:
        return program
    grads, rest = (program.returns[:-1], program.returns[-1:]) if aux else \
        (program.returns, ())
    return replace(program, returns=(cst.Tuple([cst.Element(r) for r in grads]), *rest))


def _derive(fn: Callable, mode: str, *, backend: str) -> Transformed:
    """The code for ``fn`` a transformation on ``backend`` inlines (a checkpointed call's
    vector-Jacobian product, ``mode="vjp"``, or its tangent, ``"fwd"``): every positional
    parameter differentiated."""
    return transform(fn, positional(fn), mode=mode, with_value=mode == "fwd", backend=backend)


def positional(fn: Callable) -> tuple[int, ...]:
    """The positions of ``fn``'s positional parameters (what ``jax.jvp`` and ``jax.vjp``
    differentiate)."""
    params = list(inspect.signature(fn).parameters.values())
    return tuple(i for i, p in enumerate(params)
                 if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD))
