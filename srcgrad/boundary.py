"""Objects at the boundary of generated code: the parameters that receive a model.

In the core form an object parameter is replaced by its leaves (``model_fc1_weight``, ...),
so the passes differentiate plain variables. This module maps between the two views: the
function's own signature, the leaves a ``wrt`` of an object differentiates, the gradient of an
object built from its leaves' adjoints (a mapping keyed like a ``state_dict``, or a NamedTuple
or dataclass of the same type), and the reads of the leaves at the top of the generated code
(``model_fc1_weight = model.fc1.weight``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import libcst as cst

from srcgrad import objects
from srcgrad.ir import CoreFunction, Gen, ObjectParam, Origin, Program
from srcgrad.optimize.walk import _node_reads, reads


def _leaves(fn: CoreFunction) -> set[str]:
    return {v for o in fn.objects for _, v, _ in o.leaves}


def signature(fn: CoreFunction) -> tuple[str, ...]:
    """``fn``'s parameters as the user wrote them (in the core form, each object parameter
    is followed by its leaves)."""
    leaves = _leaves(fn)
    return tuple(p for p in fn.params if p not in leaves)


def _object(fn: CoreFunction, name: str) -> ObjectParam | None:
    return next((o for o in fn.objects if o.name == name), None)


def expand(fn: CoreFunction, names: Sequence[str], mode: str, loc) -> tuple[str, ...]:
    """The core variables a ``wrt`` of ``names`` differentiates: an object's differentiated
    leaves in its place."""
    out: list[str] = []
    for n in names:
        o = _object(fn, n)
        if o is None:
            out.append(n)
            continue
        out += [v for _, v, d in o.leaves if d]   # none: an empty gradient (a ReLU's)
    return tuple(out)


def _split(fn: CoreFunction, names: Sequence[str], items: Sequence):
    """Per name of ``names``: the name, its object (None for an array) with the paths of its
    differentiated leaves, and its part of ``items`` (laid out as :func:`expand` lays out
    the variables: one per differentiated leaf of an object, else one)."""
    k = 0
    for n in names:
        o = _object(fn, n)
        paths = [path for path, _, d in o.leaves if d] if o is not None else [()]
        yield n, o, paths, items[k:k + len(paths)]
        k += len(paths)


def gather(fn: CoreFunction, names: Sequence[str], grads: list[cst.BaseExpression],
           flat: bool = False) -> list[cst.BaseExpression]:
    """The gradients of ``names`` from those of their leaves (``grads``, in the order of
    :func:`expand`); ``flat``: every object's as a dict keyed by path (code that does not
    receive the objects themselves, compiled by ``jax.jit``)."""
    out: list[cst.BaseExpression] = []
    for n, o, paths, part in _split(fn, names, grads):
        if o is None:
            out.append(part[0])
        else:
            mine = dict(zip(paths, part, strict=True))
            out.append(_mapping(mine) if flat else _structured(o.shape, (), mine, cst.Name(n)))
    return out


def leaf_parameters(program: Program, fn: CoreFunction) -> tuple[Program, tuple]:
    """``program`` taking each object's leaves as parameters in place of the object (for
    ``jax.jit``, which takes arrays), and how a call's objects give them: per parameter,
    ``(argument name, steps)`` (no steps: the argument itself)."""
    names = {o.name for o in fn.objects}
    params = tuple(p for p in program.params if p not in names)
    where = {v: (o.name, objects.steps(o.shape, path)) for o in fn.objects
             for path, v, _ in o.leaves}
    readers = tuple(where.get(p, (p, ())) for p in params if p not in program.kwonly)
    return replace(program, params=params), readers


def _structured(shape: objects.Shape, path: tuple[str, ...], grads: dict,
                value: cst.BaseExpression) -> cst.BaseExpression:
    """The gradient of the object at ``path``: a NamedTuple or dataclass of its type (its
    other fields as they are), else a dict keyed by the leaves' dotted paths."""
    if shape.kind in ("namedtuple", "dataclass") and path == ():
        changes = []
        for name, field in zip(shape.names, shape.fields, strict=True):
            sub = (name,)
            if isinstance(field, objects.Leaf) and sub in grads:
                changes.append(cst.Arg(grads[sub], keyword=cst.Name(name)))
            elif any(p[:1] == sub for p in grads):
                inner = {p[1:]: g for p, g in grads.items() if p[:1] == sub}
                changes.append(cst.Arg(_nested(field, inner), keyword=cst.Name(name)))
        if shape.kind == "namedtuple":
            return cst.Call(cst.Attribute(value, cst.Name("_replace")), changes)
        return cst.Call(cst.Name("replace_fields"), [cst.Arg(value), *changes])  # runtime
    return _mapping(grads)


def _nested(field: objects.Field, grads: dict) -> cst.BaseExpression:
    if isinstance(field, objects.Items) and field.kind in ("list", "tuple") and all(
            isinstance(f, objects.Leaf) for f in field.fields):
        items = [cst.Element(grads[(k,)] if (k,) in grads else cst.Name("None"))
                 for k in field.keys]
        return cst.List(items) if field.kind == "list" else cst.Tuple(items)
    return _mapping(grads)


def _mapping(grads: dict) -> cst.BaseExpression:
    return cst.Dict([cst.DictElement(cst.SimpleString(repr(objects.key(p))), g)
                     for p, g in grads.items()])


def read_tangents(program: Program, fn: CoreFunction, names: Sequence[str], namer,
                  origin: Origin) -> Program:
    """A forward-mode ``program`` taking one tangent per object in ``names`` (shaped like
    its gradient: ``model_dot["fc1.weight"]``) in place of one per leaf, read at the top."""
    if not any(_object(fn, n) for n in names):
        return program
    new: list[str] = []
    prologue = []
    used = 0
    for n, o, paths, part in _split(fn, names, program.kwonly):
        used += len(part)
        if o is None:
            new.append(part[0])
            continue
        whole = namer.fresh(f"{n}_dot")
        new.append(whole)
        for path, tangent in zip(paths, part, strict=True):
            if o.shape.kind in ("namedtuple", "dataclass"):
                text = objects.reader(whole, o.shape, path)
            else:
                text = f"{whole}[{objects.key(path)!r}]"
            prologue.append(Gen(tangent, cst.parse_expression(text),
                             replace(origin, text=f"the tangent of {n}")))
    kwonly = [*new, *program.kwonly[used:]]
    params = tuple(p for p in program.params if p not in program.kwonly) + tuple(kwonly)
    return replace(program, params=params, kwonly=tuple(kwonly),
                   forward=(*prologue, *program.forward))


def read_leaves(program: Program, fn: CoreFunction, origin: Origin) -> Program:
    """``program`` with the user's signature, reading the leaves it uses from the objects
    first (``model_fc1_weight = model.fc1.weight``)."""
    if not fn.objects:
        return program
    used = _names_used(program)
    prologue = []
    for o in fn.objects:
        for path, var, _ in o.leaves:
            if var in used:
                text = objects.reader(o.name, o.shape, path)
                prologue.append(Gen(var, cst.parse_expression(text),
                                 replace(origin, text=f"read from {o.name}")))
    leaves = _leaves(fn)
    params = tuple(p for p in program.params if p not in leaves)
    return replace(program, params=params, forward=(*prologue, *program.forward))


def _names_used(program: Program) -> set[str]:
    """The names ``program`` reads (its tests, loops and returns included)."""
    names: set[str] = set()
    for node in (*program.forward, *program.backward):
        names.update(_node_reads(node))
    for r in program.returns:
        names.update(reads(r))
    return names
