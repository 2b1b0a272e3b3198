"""Generated statements from core statements, shared by reverse and forward mode: the primal
of a statement (a rule's primal inlined, ``xs.append(v)``, ``y[i] = v``), rule functions
instantiated at a statement, and the structured statements (``if``, ``for``, ``while``)."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from dataclasses import replace

import libcst as cst

from srcgrad.context import PassContext
from srcgrad.cstwalk import argument, call, ident, visit
from srcgrad.ir import Atom, Gen, GIf, GLoop, GNode, If, Jump, Loop, Node, Stmt, Var
from srcgrad.template import instantiate, names_in


def atom_node(a: Atom) -> cst.BaseExpression:
    return ident(a.name) if isinstance(a, Var) else a.node


def primal_expr(stmt: Stmt, ctx: PassContext) -> cst.BaseExpression:
    """The expression computing ``stmt`` in generated code."""
    if stmt.prim == "call":
        args = [argument(atom_node(a)) for a in stmt.args[1:]]
        args += [argument(atom_node(v), k) for k, v in stmt.params]
        return call(atom_node(stmt.args[0]), args)
    rule = ctx.rules[stmt.prim]
    return apply_rule_fn(rule.primal, [ident(ctx.alias)], stmt)


@functools.cache
def parameters(fn) -> tuple[inspect.Parameter, ...]:
    """The parameters of rule function ``fn`` (cached)."""
    return tuple(inspect.signature(fn).parameters.values())


def apply_rule_fn(fn, lead: list[cst.BaseExpression], stmt: Stmt) -> cst.BaseExpression:
    """Inline rule function ``fn``: its first parameters take ``lead`` (``xp``, ``g``, ``out``,
    ``i``), the next ones the operands of ``stmt`` in order, the rest its params by name."""
    all_params = parameters(fn)
    params = all_params[len(lead):]
    values: dict = {p.name: v for p, v in zip(all_params, lead,
                                              strict=False)}
    operands = [atom_node(a) for a in stmt.args]
    star = next((p for p in params if p.kind is p.VAR_POSITIONAL), None)
    if star is not None:
        values[star.name] = tuple(operands)
    else:
        positional = [p for p in params if p.kind is p.POSITIONAL_OR_KEYWORD]
        for p, node in zip(positional, operands, strict=False):
            values[p.name] = node
    for k, v in stmt.params:
        values[k] = atom_node(v)
    return instantiate(fn, values, stmt.omitted)


def call_name(expr: cst.BaseExpression) -> str | None:
    if isinstance(expr, cst.Call) and isinstance(expr.func, cst.Name):
        return expr.func.value
    return None


def call_receiver(expr: cst.BaseExpression) -> str | None:
    """``saved_h`` for ``saved_h.append(h)``: the name a method is called on."""
    if isinstance(expr, cst.Call) and isinstance(expr.func, cst.Attribute) and isinstance(
            expr.func.value, cst.Name):
        return expr.func.value.value
    return None


def call_of(name: str, *args: cst.BaseExpression) -> cst.Call:
    return call(ident(name), [argument(a) for a in args])


def method_call(obj: str, name: str, *args: cst.BaseExpression) -> cst.Call:
    return call(cst.Attribute(ident(obj), ident(name)), [argument(a) for a in args])


def range_of(bounds) -> cst.Call:
    start, stop, step = (atom_node(a) for a in bounds)
    args = [stop] if is_int(start, 0) and is_int(step, 1) else \
        [start, stop] if is_int(step, 1) else [start, stop, step]
    return call_of("range", *args)


def loop_range(node: Loop) -> cst.BaseExpression:
    """The integers a counted loop runs over, as the source writes them."""
    r = counted_range(node)
    return call_of("reversed", r) if node.backward else r


def counted_range(node: Loop) -> cst.BaseExpression:
    """The range of a counted loop, ``range(n)`` or ``range(n)[:limit]``, before any
    ``reversed``."""
    r: cst.BaseExpression = range_of(node.bounds)
    return r if node.limit is None else sliced(r, stop=atom_node(node.limit))


def sliced(r: cst.BaseExpression, stop: cst.BaseExpression | None = None,
           step: cst.BaseExpression | None = None) -> cst.Subscript:
    """``r[:stop]`` or ``r[::step]``."""
    return cst.Subscript(r, [cst.SubscriptElement(cst.Slice(None, stop, step))])


def is_int(node: cst.BaseExpression, value: int) -> bool:
    """Whether ``node`` is the integer literal ``value``."""
    return isinstance(node, cst.Integer) and int(node.value) == value




def primal_gens(s: Stmt, ctx: PassContext) -> list[Gen]:
    """The statements computing ``s``: ``xs.append(v)`` and ``y[index] = v`` in place (a new
    array on the jax backend), any other primitive its rule's primal."""
    if s.prim == "append":
        lst, item = (atom_node(a) for a in s.args)
        return [Gen(s.target, call(cst.Attribute(lst, ident("append")), [argument(item)]),
                    s.origin, effect=True)]
    if s.prim == "pop":
        return [Gen(s.target, method_call(s.target, "pop"), s.origin, effect=True)]
    if s.prim == "setitem":
        array, item = (atom_node(a) for a in s.args)
        index = atom_node(s.params[0][1])
        if ctx.backend == "numpy":
            return [Gen(s.target, item, s.origin, index=index)]
        return [Gen(s.target, call_of("set_at", array, index, item), s.origin)]
    return [Gen(s.target, primal_expr(s, ctx), s.origin, effect=s.effect)]


def lowered_gens(body: tuple[Node, ...], names: dict[str, cst.BaseExpression],
                 ctx: PassContext) -> list[GNode]:
    """The statements of a custom rule's lowered body, with the names standing for what the
    transformer binds replaced by ``names`` (``d_out`` by the output's adjoint)."""
    def block(nodes: tuple[Node, ...]) -> list[GNode]:
        out: list[GNode] = []
        for node in nodes:
            if isinstance(node, Stmt):
                out += [_renamed_gen(g, names) for g in primal_gens(node, ctx)]
            else:
                made = structured(node, block)
                if isinstance(made, GIf):
                    made = replace(made, test=renamed(made.test, names))
                elif isinstance(made, GLoop):
                    made = replace(made, expr=renamed(made.expr, names))
                if made is not None:
                    out.append(made)
        return out
    return block(body)


def _renamed_gen(g: Gen, names: dict[str, cst.BaseExpression]) -> Gen:
    index = None if g.index is None else renamed(g.index, names)
    return replace(g, expr=renamed(g.expr, names), index=index)


class _Renamer:
    def __init__(self, names: dict[str, cst.BaseExpression]):
        self.names = names

    def leave_Name(self, original: cst.Name, updated: cst.Name) -> cst.BaseExpression:
        return self.names.get(updated.value, updated)


def renamed(expr: cst.BaseExpression, names: dict[str, cst.BaseExpression]
            ) -> cst.BaseExpression:
    """``expr`` with the variables in ``names`` replaced (by names or atomic expressions)."""
    if not names_in(expr) & names.keys():
        return expr
    return visit(expr, _Renamer(names))


def structured(node: Node, block: Callable[[tuple[Node, ...]], list[GNode]]) -> GNode | None:
    """``node`` (a branch, a loop or a jump) as generated code, its blocks made by
    ``block``; None for a ``return`` (it only skips the other branch: nothing to write)."""
    if isinstance(node, If):
        return GIf(atom_node(node.test), tuple(block(node.body)), tuple(block(node.orelse)),
                   node.origin)
    if isinstance(node, Loop):
        if node.bounds is not None:
            return GLoop(node.index, loop_range(node), tuple(block(node.body)), node.origin)
        assert node.test is not None
        return GLoop(None, node.test.node, tuple(block(node.body)), node.origin)
    if isinstance(node, Jump) and node.kind != "return":
        return node
    return None
