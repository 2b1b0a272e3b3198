"""Reverse mode: the forward sweep, then adjoint statements from the rule table, in reverse.

Contract: for each active core statement ``z = prim(a, b)``, visited from last to first, the
adjoint of every active operand receives ``vjp_i(d_z, z, a, b)``; the first contribution is an
assignment (``d_a = …``), later ones add (``d_a = d_a + …``). Inactive operands get no code at
all. Data flows through arguments and return values only.

Control flow is replayed in reverse: a branch reads the condition the forward sweep recorded, a
loop runs its iterations backwards (``for t in reversed(range(n))``, or as many times as the
forward sweep counted). A value the backward sweep reads is saved on a stack (``saved_h``) only
where the forward sweep overwrites it later: pushed where it is read, popped just before the
adjoint that reads it.

The package: ``statements`` (the sweep statement by statement: adjoints, their guards, saved
values), ``control`` (branches and loops), ``state`` (which adjoints hold values, and the tests
outside which they are zeros); the liveness facts (what is assigned later, what was bound
before) come from :mod:`srcgrad.analyze`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import libcst as cst

from srcgrad.analyze import Activity, ShapeClasses
from srcgrad.build import atom_node, call_name, call_of, call_receiver
from srcgrad.context import PassContext
from srcgrad.cstwalk import ident
from srcgrad.errors import SrcGradError
from srcgrad.ir import (
    Atom,
    CoreFunction,
    Gen,
    GIf,
    GLoop,
    GNode,
    Lit,
    Program,
    Stmt,
    Var,
    atom_uses,
    gens,
    walk,
)
from srcgrad.naming import function_name
from srcgrad.reverse.control import _Control
from srcgrad.reverse.state import _State


class _Reverse(_Control):
    """Builds the backward sweep, then the forward sweep with the pushes it asked for."""


def _indexed_params(fn: CoreFunction) -> set[str]:
    """Parameters read by index or through a dict's views: they may be tuples, lists or
    dicts, whose adjoints are put back into the argument's structure at the end
    (``densify``)."""
    return {s.args[0].name for s in walk(fn.body) if isinstance(s, Stmt)
            and s.prim in _CONTAINER_READS and isinstance(s.args[0], Var)
            and s.args[0].name in fn.params}


_CONTAINER_READS = frozenset({"getitem", "dict_values", "dict_items", "sum_list", "array_list",
                              "stack_list"})


def _written(block: tuple[GNode, ...]) -> set[str]:
    """The names ``block`` of generated code assigns (loop variables included)."""
    names: set[str] = set()
    for node in block:
        if isinstance(node, Gen):
            if node.target:
                names.add(node.target)
        elif isinstance(node, GIf):
            names |= _written(node.body) | _written(node.orelse)
        elif isinstance(node, GLoop):
            names |= _written(node.body)
            if node.target:
                names.add(node.target)
    return names


# primitives whose values are complex, or whose adjoints are where their operands are real
_COMPLEX_PRIMS = frozenset({"real", "imag", "conj", "angle", "fft", "ifft", "rfft", "irfft",
                            "fftn", "ifftn", "rfftn", "irfftn", "fft2", "ifft2", "rfft2",
                            "irfft2"})   # (not fftshift: real in, real out)


def may_be_complex(fn: CoreFunction) -> bool:
    """Whether ``fn`` may compute complex values from real arguments: a complex primitive, a
    complex literal (``1j``) or a complex value it reads from outside. Its gradients are then
    passed through ``cast_like`` (the real part, for a real argument): the adjoint of a real
    value may carry a meaningless imaginary part (srcgrad/runtime/spectral.py)."""
    for node in walk(fn.body):
        if not isinstance(node, Stmt):
            continue
        if node.prim in _COMPLEX_PRIMS:
            return True
        for a in (*node.args, *(v for _, v in node.params)):
            if isinstance(a, Lit) and _has_imaginary(a.node):
                return True
    return any(isinstance(v, complex) or getattr(getattr(v, "dtype", None), "kind", "") == "c"
               for v in fn.bindings.values())


def _has_imaginary(node: cst.CSTNode) -> bool:
    if isinstance(node, cst.Imaginary):
        return True
    return any(_has_imaginary(child) for child in node.children)


def split_aux(fn: CoreFunction) -> tuple[CoreFunction, Atom]:
    """``fn``, which returns ``(output, aux)`` (``has_aux=True``), as the function of its
    output alone, and the atom of ``aux``."""
    result = fn.result
    if not isinstance(result, tuple) or len(result) != 2:
        count = f"{len(result)} values" if isinstance(result, tuple) else "one value"
        raise SrcGradError(f"has_aux=True needs {fn.name} to return a pair (output, aux); it "
                           f"returns {count}", fn.result_origin.loc,
                           hint="return output, aux (several auxiliary values: a tuple or "
                           "dict of them as aux)")
    return replace(fn, result=result[0]), result[1]


def reverse(fn: CoreFunction, wrt: tuple[str, ...], act: Activity, shapes: ShapeClasses,
            ctx: PassContext, *, with_value: bool = False, cotangent: bool = False,
            gather: Callable[[list[cst.BaseExpression]], list[cst.BaseExpression]] | None = None,
            aux: Atom | None = None) -> Program:
    """The program computing ``fn``'s value (if ``with_value``) and its gradient wrt ``wrt``.
    With ``cotangent``, the output's adjoint is a keyword-only parameter (``d_out``) instead
    of 1: a vector-Jacobian product, for outputs of any shape. ``gather`` makes the
    gradients returned of those of ``wrt`` (an object's, of its leaves'). ``aux`` (from
    :func:`split_aux`) is returned undifferentiated beside the value (``((value, aux),
    grads)``) or, without it, last (``(*grads, aux)``)."""
    result = fn.result
    if isinstance(result, Lit) and isinstance(result.node, cst.Name) and \
            result.node.value == "None":
        raise SrcGradError(f"{fn.name} returns None: there is no output to differentiate",
                           fn.result_origin.loc, hint="return the scalar to differentiate")
    if isinstance(result, tuple) and not cotangent:
        raise SrcGradError(f"grad needs a function with one scalar output; {fn.name} returns "
                           f"{len(result)} values", fn.result_origin.loc,
                           hint="differentiate a scalar made of them, or use srcgrad.jacobian "
                           "or srcgrad.vjp for several outputs")
    rev = _Reverse(fn, act, shapes, ctx)
    st = _State()
    backward: list[GNode] = []
    seed_param: tuple[str, ...] = ()
    if cotangent and isinstance(result, tuple):  # d_out = (d_r, d_theta): one per output
        seed_param = (ctx.namer.adjoint("out"),)
        for k, a in enumerate(result):
            if isinstance(a, Var) and a.name in act.active:
                item = cst.Subscript(ident(seed_param[0]),
                                     [cst.SubscriptElement(cst.Index(cst.Integer(str(k))))])
                gen = rev.add(a.name, item, st, fn.result_origin)
                if gen is not None:
                    backward.append(gen)
    elif cotangent:  # the caller's array: never updated in place (not owned)
        name = result.name if isinstance(result, Var) else "out"
        seed_param = (rev.adj(name),)
        if isinstance(result, Var) and result.name in act.active:
            st.defined.add(result.name)
    elif isinstance(result, Var) and result.name in act.active:
        if shapes.find(result.name) == shapes.SCALAR:  # a full reduction: surely a scalar
            seed: cst.BaseExpression = cst.Float("1.0")
        else:  # checked at run time: grad needs a scalar output
            seed = call_of("seed", ident(result.name))
        seeded = rev.add(result.name, seed, st, fn.result_origin)
        assert seeded is not None  # (None only for an adjoint passed on as it is)
        backward.append(seeded)
    backward += rev.block(fn.body, st)
    forward: list[GNode] = []
    started: set[str] = set()
    for node in fn.body:  # each stack starts empty before the statement that first pushes
        part = rev.forward((node,))
        for made in gens(tuple(part)):
            stack = call_receiver(made.expr) if made.pair and not made.target else None
            if stack and stack not in started:
                started.add(stack)
                forward.append(Gen(stack, cst.List([]), node.origin))
        forward += part
    containers = _indexed_params(fn)
    complex_code = may_be_complex(fn)
    returns = []
    for p in wrt:
        if p in st.defined:
            g: cst.BaseExpression = ident(rev.adj(p))
            if p in containers:
                g = call_of("densify", g, ident(p))
            elif complex_code:  # a real argument's gradient: the real part of its adjoint
                g = call_of("cast_like", g, ident(p))
        else:
            g = call_of("zero_grad", ident(p))
        returns.append(g)
    if gather is not None:
        returns = gather(returns)
    written = _written(tuple(backward))

    def at_end(a: Atom, name: str) -> cst.BaseExpression:
        """``a`` as the forward sweep left it: kept under ``name`` where the backward sweep
        overwrites what it reads (a loop's variable, restored trip by trip)."""
        if not atom_uses(a) & written:
            return atom_node(a)
        kept = ctx.namer.fresh(name)
        forward.append(Gen(kept, atom_node(a), fn.result_origin))
        return ident(kept)

    if with_value:
        assert not isinstance(result, tuple)  # (several outputs: only a vjp, without a value)
        value = at_end(result, "value")
        if aux is not None:
            value = cst.Tuple([cst.Element(value), cst.Element(at_end(aux, "aux"))])
        grads = returns[0] if len(returns) == 1 else cst.Tuple([cst.Element(r) for r in returns])
        returns = [value, grads]
    elif aux is not None:
        returns.append(at_end(aux, "aux"))
    if cotangent:
        kwonly = (*seed_param, *fn.kwonly)
        params = (*(p for p in fn.params if p not in fn.kwonly), *kwonly)
        return Program(f"vjp_{function_name(fn.name)}", params, tuple(forward), tuple(backward),
                       tuple(returns), kwonly=kwonly)
    return Program(f"grad_{function_name(fn.name)}", fn.params, tuple(forward), tuple(backward),
                   tuple(returns), kwonly=fn.kwonly)


def scalar_adjoints(program: Program, fn: CoreFunction, shapes: ShapeClasses,
                    act: Activity) -> frozenset[str]:
    """Adjoint names known to hold scalars: the seed and adjoints of full reductions."""
    names = {g.target for g in gens(program.backward) if call_name(g.expr) == "seed"}
    scalar_vars = {v for v in act.active if shapes.find(v) == shapes.SCALAR}
    return frozenset(names | {f"d_{v}" for v in scalar_vars})
