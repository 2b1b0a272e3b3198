"""Reverse mode: the forward sweep, then adjoint statements from the rule table, in reverse.

Contract: for each active core statement ``z = prim(a, b)``, visited from last to first, the
adjoint of every active operand receives ``vjp_i(d_z, z, a, b)``; the first contribution is an
assignment (``d_a = …``), later ones add (``d_a = d_a + …``). Inactive operands get no code at
all. Data flows through arguments and return values only.
"""

from __future__ import annotations

import functools
import inspect

import libcst as cst

from srcgrad.analyze import Activity, ShapeClasses, diff_operands
from srcgrad.errors import SrcGradError
from srcgrad.ir import Atom, CoreFunction, Gen, Lit, Origin, Program, Stmt, Var
from srcgrad.normalize import PassContext
from srcgrad.template import instantiate


def atom_node(a: Atom) -> cst.BaseExpression:
    return cst.Name(a.name) if isinstance(a, Var) else a.node


def primal_expr(stmt: Stmt, ctx: PassContext) -> cst.BaseExpression:
    """The expression computing ``stmt`` in generated code."""
    if stmt.prim == "call":
        args = [cst.Arg(atom_node(a)) for a in stmt.args[1:]]
        args += [cst.Arg(atom_node(v), keyword=cst.Name(k)) for k, v in stmt.params]
        return cst.Call(atom_node(stmt.args[0]), args)
    rule = ctx.rules[stmt.prim]
    return apply_rule_fn(rule.primal, [cst.Name(ctx.alias)], stmt)


@functools.cache
def _parameters(fn) -> tuple[inspect.Parameter, ...]:
    return tuple(inspect.signature(fn).parameters.values())


def apply_rule_fn(fn, lead: list[cst.BaseExpression], stmt: Stmt) -> cst.BaseExpression:
    """Inline rule function ``fn``: its first parameters take ``lead`` (``xp``, ``g``, ``out``,
    ``i``), the next ones the operands of ``stmt`` in order, the rest its params by name."""
    all_params = _parameters(fn)
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


def _strip_unbroadcast(expr: cst.BaseExpression) -> cst.BaseExpression:
    if (isinstance(expr, cst.Call) and isinstance(expr.func, cst.Name)
            and expr.func.value == "unbroadcast"):
        inner = expr.args[0].value
        return inner.with_changes(lpar=(), rpar=()) if isinstance(
            inner, (cst.BinaryOperation, cst.UnaryOperation)) else inner
    return expr


class _Adjoints:
    """Names of adjoint variables and which have been written, for first-write assignment."""

    def __init__(self, ctx: PassContext):
        self.ctx = ctx
        self.names: dict[str, str] = {}
        self.written: set[str] = set()

    def name(self, var: str) -> str:
        if var not in self.names:
            self.names[var] = self.ctx.namer.adjoint(var)
        return self.names[var]

    def add(self, var: str, contrib: cst.BaseExpression, origin: Origin) -> Gen:
        name = self.name(var)
        if var not in self.written:
            self.written.add(var)
            return Gen(name, contrib, origin)
        right = contrib if not isinstance(contrib, cst.BinaryOperation) or not isinstance(
            contrib.operator, (cst.Add, cst.Subtract)) else contrib.with_changes(
            lpar=[cst.LeftParen()], rpar=[cst.RightParen()])
        return Gen(name, cst.BinaryOperation(cst.Name(name), cst.Add(), right), origin)


def _indexed_params(fn: CoreFunction) -> set[str]:
    """Parameters read by index: they may be tuples, lists or dicts, whose adjoints are put
    back into the argument's structure at the end (``densify``)."""
    return {s.args[0].name for s in fn.body
            if s.prim == "getitem" and isinstance(s.args[0], Var) and s.args[0].name in fn.params}


def reverse(fn: CoreFunction, wrt: tuple[str, ...], act: Activity, shapes: ShapeClasses,
            ctx: PassContext, *, with_value: bool = False) -> Program:
    """The program computing ``fn``'s value (if ``with_value``) and its gradient wrt ``wrt``."""
    forward = [Gen(s.target, primal_expr(s, ctx), s.origin,
                   effect=s.effect) for s in fn.body]
    containers = _indexed_params(fn)
    adj = _Adjoints(ctx)
    backward: list[Gen] = []
    result = fn.result
    if isinstance(result, Lit) and isinstance(result.node, cst.Name) and \
            result.node.value == "None":
        raise SrcGradError(f"{fn.name} returns None: there is no output to differentiate",
                           fn.result_origin.loc, hint="return the scalar to differentiate")
    if isinstance(result, Var) and result.name in act.active:
        if shapes.find(result.name) == shapes.SCALAR:  # a full reduction: surely a scalar
            seed: cst.BaseExpression = cst.Float("1.0")
        else:  # checked at run time: grad needs a scalar output
            seed = cst.Call(cst.Name("seed"), [cst.Arg(cst.Name(result.name))])
        backward.append(adj.add(result.name, seed, fn.result_origin))
    for s in reversed(fn.body):
        if s.target not in act.active:
            continue
        backward.extend(_adjoint_stmts(s, act, shapes, adj, ctx))
    returns = []
    for p in wrt:
        if p in adj.written:
            g: cst.BaseExpression = cst.Name(adj.name(p))
            if p in containers:
                g = cst.Call(cst.Name("densify"), [cst.Arg(g), cst.Arg(cst.Name(p))])
        else:
            g = cst.Call(cst.Name("zero_grad"), [cst.Arg(cst.Name(p))])
        returns.append(g)
    if with_value:
        value = atom_node(result)
        grads = returns[0] if len(returns) == 1 else cst.Tuple([cst.Element(r) for r in returns])
        returns = [value, grads]
    return Program(f"grad_{_ident(fn.name)}", fn.params, tuple(forward), tuple(backward),
                   tuple(returns), kwonly=fn.kwonly)


def _adjoint_stmts(s: Stmt, act: Activity, shapes: ShapeClasses, adj: _Adjoints,
                   ctx: PassContext) -> list[Gen]:
    rule = ctx.rules[s.prim]
    out: list[Gen] = []
    g = cst.Name(adj.name(s.target))
    for i in diff_operands(s, ctx.rules):
        a = s.args[i]
        if not isinstance(a, Var) or a.name not in act.active:
            continue
        lead = [cst.Name(ctx.alias), g, cst.Name(s.target)]
        if rule.variadic:
            contrib = apply_rule_fn(rule.vjp[0], [*lead, cst.Integer(str(i))], s)
        else:
            contrib = apply_rule_fn(rule.vjp[i], lead, s)
        if rule.elementwise and shapes.same(a.name, s.target):
            contrib = _strip_unbroadcast(contrib)
        contrib = contrib.visit(_ShapeOnly(shapes, act))
        out.append(adj.add(a.name, contrib, s.origin))
    return out


class _ShapeOnly(cst.CSTTransformer):
    """In helper arguments that only supply a shape and dtype (``unreduce(g, t3)``), read an
    active variable of the same shape class instead (``unreduce(g, t2)`` for ``t3 = t2 ** 2``),
    so that the forward temporary need not be kept."""

    POSITIONS = {"unbroadcast": 1, "unreduce": 1, "broadcast_like": 1, "reduced_count": 0}

    def __init__(self, shapes: ShapeClasses, act: Activity):
        super().__init__()
        self.shapes, self.act = shapes, act

    def leave_Call(self, original: cst.Call, updated: cst.Call) -> cst.Call:
        if not isinstance(updated.func, cst.Name) or updated.func.value not in self.POSITIONS:
            return updated
        k = self.POSITIONS[updated.func.value]
        if k >= len(updated.args) or not isinstance(updated.args[k].value, cst.Name):
            return updated
        root = self.shapes.find(updated.args[k].value.value)
        if root not in self.act.active:
            return updated
        args = list(updated.args)
        args[k] = args[k].with_changes(value=cst.Name(root))
        return updated.with_changes(args=args)


def scalar_adjoints(program: Program, fn: CoreFunction, shapes: ShapeClasses,
                    act: Activity) -> frozenset[str]:
    """Adjoint names known to hold scalars: the seed and adjoints of full reductions."""
    names = {g.target for g in program.backward
             if isinstance(g.expr, cst.Call) and isinstance(g.expr.func, cst.Name)
             and g.expr.func.value == "seed"}
    scalar_vars = {v for v in act.active if shapes.find(v) == shapes.SCALAR}
    return frozenset(names | {f"d_{v}" for v in scalar_vars})


def _ident(name: str) -> str:
    return name if name.isidentifier() else "lambda"
