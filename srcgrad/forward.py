"""Forward mode: each statement followed by its tangent, from the rule table.

Contract: for each active core statement ``z = prim(a, b)``, in program order, the tangent
``z_dot`` is the sum of ``jvp_i(a_dot, z, a, b)`` over its active operands (broadcast to
``z``'s shape where the operands' shapes may be smaller); a statement that gives an active
variable a value that does not depend on the inputs gives it a zero tangent. Control flow
needs nothing special: branches and loops run once, as written, tangents alongside values.
Index assignments and list appends update the tangent the way the value is updated.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from functools import cached_property
from typing import cast

import libcst as cst

from srcgrad.analyze import Activity, ShapeClasses, diff_operands
from srcgrad.build import (
    apply_rule_fn,
    atom_node,
    call_of,
    lowered_gens,
    method_call,
    parameters,
    primal_expr,
    primal_gens,
    renamed,
    structured,
)
from srcgrad.context import PassContext
from srcgrad.cstwalk import argument, call, ident
from srcgrad.errors import SrcGradError
from srcgrad.ir import (
    CoreFunction,
    Gen,
    GNode,
    Lit,
    Node,
    Program,
    Stmt,
    Var,
    atom_uses,
)
from srcgrad.naming import function_name
from srcgrad.rules.core import LinearJvp, Undefined, undefined
from srcgrad.rules.shape import VIEWS
from srcgrad.template import grouped, names_in, used_params


class _Forward:
    def __init__(self, fn: CoreFunction, act: Activity, shapes: ShapeClasses, ctx: PassContext):
        self.fn, self.act, self.shapes, self.ctx = fn, act, shapes, ctx
        self.tangents: dict[str, str] = {}
        self._views: set[str] = set()  # tangents that may be views of those written in place

    def dot(self, var: str) -> str:
        """The tangent's name: ``h_dot`` for ``h``."""
        if var not in self.tangents:
            self.tangents[var] = self.ctx.namer.tangent(var)
        return self.tangents[var]

    @cached_property
    def _mutable_dots(self) -> set[str]:
        """The tangents written in place (those of arrays assigned by index)."""
        return {self.dot(a) for a in self.fn.arrays if a in self.act.active}

    def block(self, block: tuple[Node, ...]) -> list[GNode]:
        out: list[GNode] = []
        for node in block:
            if isinstance(node, Stmt):
                out += self.stmt(node)
            else:
                made = structured(node, self.block)
                if made is not None:
                    out.append(made)
        return out

    def _active_ops(self, s: Stmt) -> list[int]:
        return [i for i in diff_operands(s, self.fn.rules)
                if isinstance(a := s.args[i], Var) and a.name in self.act.active]

    def stmt(self, s: Stmt) -> Sequence[GNode]:
        t, origin = s.target, s.origin
        active = t in self.act.active  # an active opaque call reads constants: zero tangent
        if s.prim == "append":  # xs.append(v): the tangent list grows alongside
            out = primal_gens(s, self.ctx)
            item = atom_node(s.args[1])
            if active:
                v = s.args[1]
                v_dot = ident(self.dot(v.name)) if isinstance(v, Var) and \
                    v.name in self.act.active else call_of("zero_grad", item)
                out.append(Gen(self.dot(t), call(cst.Attribute(ident(self.dot(t)),
                                                               ident("append")),
                                                 [argument(v_dot)]), origin, effect=True))
            return out
        if s.prim == "pop":  # xs.pop(): the tangent list shrinks alongside
            out = primal_gens(s, self.ctx)
            if active:
                out.append(Gen(self.dot(t), method_call(self.dot(t), "pop"), origin,
                               effect=True))
            return out
        if s.prim == "setitem":
            return self._setitem(s, active)
        ops = self._active_ops(s) if active and s.prim != "call" else []
        if s.custom is not None and ops:
            return self._custom(s, ops)
        reads_target = any(isinstance(a, Var) and a.name == t for a in s.args)
        out = []
        if active and ops and reads_target:  # t = t * x: the tangent reads the old t
            new = self.ctx.namer.temp()
            tangent = self._tangent(s, ops, new)
            if new not in names_in(tangent):  # t = t + x: the tangent first, then t
                return [Gen(self.dot(t), tangent, origin), *primal_gens(s, self.ctx)]
            out.append(Gen(new, primal_expr(s, self.ctx), origin))
            out.append(Gen(self.dot(t), tangent, origin))
            out.append(Gen(t, ident(new), origin))
            return out
        out += primal_gens(s, self.ctx)
        if active:
            tangent = self._tangent(s, ops, t) if ops else cst.List([]) if _empty_list(s) \
                else call_of("zero_grad", ident(t))
            if t in self.fn.arrays and ops and (s.prim in VIEWS or s.prim == "assign"
                                                or isinstance(tangent, cst.Name)):
                tangent = _fresh(tangent, self.ctx.alias)  # updated in place later
            elif _may_view(tangent, self._mutable_dots | self._views):
                if s.prim in VIEWS:  # a view of a view: the primal is one too
                    self._views.add(self.dot(t))
                else:  # b = a + 1, a updated in place later: b is an array of its own,
                    tangent = _fresh(tangent, self.ctx.alias)  # its tangent a_dot is not
            out.append(Gen(self.dot(t), tangent, origin))
        return out

    def _custom(self, s: Stmt, ops: list[int]) -> list[GNode]:
        """A call with a custom tangent rule: its value, then the rule's lowered body, its
        ``out`` bound to the output and one tangent per argument (zeros for an argument that
        carries none); what it returns is the output's tangent."""
        assert s.custom is not None  # (stmt's condition)
        low = s.custom.tangent
        if low is None:  # a custom call with an adjoint rule only: its jvp is Undefined
            raise undefined(cast(tuple, self.fn.rules[s.prim].jvp)[ops[0]], s, "tangent")
        t, origin = s.target, s.origin
        out: list[GNode] = []
        value = t
        if any(isinstance(a, Var) and a.name == t for a in s.args):  # h = f(h): old h read
            value = self.ctx.namer.temp()
        out.append(Gen(value, primal_expr(s, self.ctx), origin))
        names: dict[str, cst.BaseExpression] = {low.inputs[0]: ident(value)}
        for i, (a, name) in enumerate(zip(s.args, low.inputs[1:], strict=True)):
            names[name] = ident(self.dot(cast(Var, a).name)) if i in ops else call_of(
                "zero_grad", atom_node(a))
        out += lowered_gens(low.body, names, self.ctx)
        tangent = renamed(atom_node(low.results[0]), names)
        if low.checked:
            label = cst.SimpleString(repr(s.custom.label(low)))
            tangent = call_of("shaped_like", tangent, ident(value), label)
        out.append(Gen(self.dot(t), tangent, origin))
        if value != t:
            out.append(Gen(t, ident(value), origin))
        return out

    def _tangent(self, s: Stmt, ops: list[int], out: str) -> cst.BaseExpression:
        """The sum of the jvps of ``s``'s active operands, its output named ``out``."""
        rule = self.fn.rules[s.prim]
        if rule.joint:  # np.stack([a_dot, zero_grad(b)]): one call on the tangents
            tangents = tuple(Var(self.dot(cast(Var, a).name)) if i in ops else
                             Lit(call_of("zero_grad", atom_node(a)), atom_uses(a))
                             for i, a in enumerate(s.args))
            return apply_rule_fn(rule.primal, [ident(self.ctx.alias)],
                                 replace(s, args=tangents))
        terms = []
        full = False  # a term reads every operand (t * b for a * b): it has the output's shape
        jvp = cast(tuple, rule.jvp)  # (read for active operands only: a rule without has none)
        for i in ops:
            fn = jvp[0] if rule.variadic else jvp[i]
            if isinstance(fn, Undefined):
                raise undefined(fn, s, "tangent")
            tangent = self.dot(cast(Var, s.args[i]).name)  # (active: a variable)
            if isinstance(fn, LinearJvp):  # linear in its operand: the primitive of the tangent
                along = replace(s, args=(Var(tangent), *s.args[1:]))
                terms.append(apply_rule_fn(fn.primal, [ident(self.ctx.alias)], along))
                continue
            lead: list[cst.BaseExpression] = [ident(self.ctx.alias), ident(tangent), ident(out)]
            if rule.variadic:
                lead.append(cst.Integer(str(i)))
            terms.append(apply_rule_fn(fn, lead, s))
            full = full or (rule.elementwise and _reads_every_operand(fn, s, i))
        total = terms[0]
        for term in terms[1:]:
            total = cst.BinaryOperation(grouped(total), cst.Add(), grouped(term))
        every = all(i in ops or (isinstance(a, Lit) and a.is_scalar_number)
                    for i, a in enumerate(s.args))  # the terms broadcast to the output
        if rule.elementwise and not every and not full and not any(
                self.shapes.same(cast(Var, s.args[i]).name, s.target) for i in ops):
            # an operand smaller than the output (broadcast): its tangent is too
            total = call_of("broadcast_like", total, ident(out))
        return total

    def _setitem(self, s: Stmt, active: bool) -> list[Gen]:
        """``y[index] = v``: the tangent of ``y`` gets ``v``'s tangent (or zeros) at ``index``."""
        t, origin = s.target, s.origin
        index = atom_node(s.params[0][1])
        out: list[Gen] = primal_gens(s, self.ctx)
        if not active:
            return out
        v = s.args[1]
        # the array is the statement's target (normalize.writes `y = setitem(y, v)`): where the
        # statement is active, so is the array, whose tangent starts where the array is made
        y_dot = ident(self.dot(t))
        v_dot: cst.BaseExpression = ident(self.dot(v.name)) if isinstance(v, Var) and \
            v.name in self.act.active else cst.Float("0.0")
        if self.ctx.backend == "numpy":
            out.append(Gen(self.dot(t), v_dot, origin, index=index))
        else:
            out.append(Gen(self.dot(t), call_of("set_at", y_dot, index, v_dot), origin))
        return out


def _tuple(items: list[cst.BaseExpression]) -> cst.Tuple:
    return cst.Tuple([cst.Element(e) for e in items])


def _may_view(e: cst.BaseExpression, names: set[str]) -> bool:
    """Whether ``e`` may be one of ``names`` or a view of one: the name, an index into it or
    a view primitive of it (``np.broadcast_to(a_dot, s)``, ``a_dot.T``)."""
    while True:
        if isinstance(e, cst.Name):
            return e.value in names
        if isinstance(e, (cst.Subscript, cst.Attribute)):
            e = e.value
        elif isinstance(e, cst.Call) and isinstance(e.func, cst.Attribute) and \
                e.func.attr.value in VIEWS and e.args:
            e = e.args[0].value
        else:
            return False


def _fresh(e: cst.BaseExpression, alias: str) -> cst.BaseExpression:
    """``e`` as an array of its own (it is assigned by index later)."""
    return call(cst.Attribute(ident(alias), ident("array")),
                [argument(e), argument(ident("True"), "copy")])


def forward(fn: CoreFunction, wrt: tuple[str, ...], act: Activity, shapes: ShapeClasses,
            ctx: PassContext, *, with_value: bool = True, seeded: bool = False) -> Program:
    """The program computing ``fn``'s value and its tangent along the tangents of ``wrt``
    (keyword-only parameters ``x_dot`` after the function's own): ``jvp_f``. Without
    ``with_value`` only the tangent is returned; ``seeded`` starts each tangent of ``wrt`` at
    1.0 instead of taking it as a parameter: ``derivative_f``, the derivative of a function of
    one scalar."""
    result = fn.result
    if isinstance(result, Lit) and isinstance(result.node, cst.Name) and \
            result.node.value == "None":
        raise SrcGradError(f"{fn.name} returns None: there is no output to differentiate",
                           fn.result_origin.loc, hint="return the value to differentiate")
    fwd = _Forward(fn, act, shapes, ctx)
    tangent_params = tuple(fwd.dot(p) for p in wrt)
    body = fwd.block(fn.body)

    def output(a) -> tuple[cst.BaseExpression, cst.BaseExpression]:
        node = atom_node(a)
        if isinstance(a, Var) and a.name in act.active:
            return node, ident(fwd.dot(a.name))
        return node, call_of("zero_grad", node)  # the output does not depend on the inputs

    if isinstance(result, tuple):  # return r, theta: a tuple of values, a tuple of tangents
        pairs = [output(a) for a in result]
        value: cst.BaseExpression = _tuple([v for v, _ in pairs])
        tangent: cst.BaseExpression = _tuple([t for _, t in pairs])
    else:
        value, tangent = output(result)
    returns = (value, tangent) if with_value else (tangent,)
    if seeded:  # d/dx: the tangent of x is 1
        seeds = [Gen(t, cst.Float("1.0"), fn.result_origin) for t in tangent_params]
        return Program(f"derivative_{function_name(fn.name)}", fn.params, (*seeds, *body), (),
                       returns, kwonly=fn.kwonly)
    kwonly = (*tangent_params, *fn.kwonly)  # jvp_f(x, w, *, x_dot, w_dot)
    params = (*(p for p in fn.params if p not in fn.kwonly), *kwonly)
    return Program(f"jvp_{function_name(fn.name)}", params, tuple(body), (), returns, kwonly=kwonly)


def _empty_list(s: Stmt) -> bool:
    """``xs = []``: its tangent is a list of its own (``xs_dot = []``)."""
    return s.prim == "assign" and isinstance(s.args[0], Lit) and isinstance(
        s.args[0].node, cst.List) and not s.args[0].node.elements


def _reads_every_operand(fn, s: Stmt, i: int) -> bool:
    """Whether elementwise jvp ``fn`` of operand ``i`` reads the output, or every other operand
    that is not a number: its term (the tangent of ``i`` times those) then broadcasts to the
    output's shape."""
    names = [p.name for p in parameters(fn)]
    params, read = names[3:3 + len(s.args)], used_params(fn)
    return names[2] in read or all(
        p in read for k, (p, a) in enumerate(zip(params, s.args, strict=False))
        if k != i and not (isinstance(a, Lit) and a.is_scalar_number))
