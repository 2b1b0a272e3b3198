"""Calls srcgrad transforms instead of running: user functions and local functions
inlined, gradient hooks, calls with custom rules and checkpointed calls."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import libcst as cst

from srcgrad import custom
from srcgrad.errors import SrcGradError
from srcgrad.ir import (
    Atom,
    Custom,
    Lowered,
    Node,
    Stmt,
    Var,
)
from srcgrad.normalize.base import _Base
from srcgrad.normalize.values import (
    Frame,
    Local,
    Obj,
    Pack,
    Ref,
    _is_none,
    _is_user_function,
    _subscript_targets,
)
from srcgrad.parse import parse_function
from srcgrad.rules import Rule
from srcgrad.template import names_in


class _Inline(_Base):
    def _inline_user(self, frame: Frame, node: cst.Call, fn: Callable, args, kwargs, hint,
                     rule: bool = False, owner: Obj | None = None, library: bool = False):
        """``fn``'s body lowered in place of the call, its parameters bound to the call's
        arguments; ``owner``: the object of a method call (a method calls the same method
        of another object, as nested ``Sequential`` modules do, without recursing)."""
        entry = fn if owner is None else (fn, owner.path)
        if any(f is fn or f == entry for f in self.ctx.stack):
            raise self.error(frame, node, f"recursive call to {fn.__name__!r} is not supported",
                             "rewrite the recursion as a loop")
        parsed = self._parsed_cache.get(id(fn))
        if parsed is None:
            parsed = parse_function(fn)
            self._parsed_cache[id(fn)] = parsed
        try:
            bound = inspect.signature(fn).bind(*args, **kwargs)
        except TypeError as exc:
            raise self.error(frame, node, f"cannot call {fn.__name__}: {exc}") from None
        env: dict[str, Any] = {}
        for name, param in inspect.signature(fn).parameters.items():
            if param.kind is param.VAR_POSITIONAL:  # *args: a tuple of the rest
                env[name] = Pack("tuple", tuple(bound.arguments.get(name, ())))
            elif param.kind is param.VAR_KEYWORD:   # **kwargs: a dict of the rest
                rest = bound.arguments.get(name, {})
                env[name] = Pack("dict", tuple(rest.values()), tuple(rest))
            elif name in bound.arguments:
                env[name] = bound.arguments[name]
            elif param.default is not param.empty:
                env[name] = self._object(param.default, cst.Name(name))
        names = names_in(parsed.node)
        if rule:  # a rule's parameters stand for names the transformer binds: not its own
            names -= set(inspect.signature(fn).parameters)
        self.ctx.namer.reserve_all(names)
        where = fn.__name__ if owner is None else fn.__qualname__
        call = frame.call or (self._origin(frame, node).loc if library else None)
        callee = Frame(parsed, env, where, call=call, return_hint=hint,
                       mutated=_subscript_targets(parsed.node.body))
        self.ctx.stack.append(entry)
        try:
            self._own_copies(callee, [p for p in env if p in callee.mutated])
            result, _ = self._suite(callee, parsed.node.body)
        finally:
            self.ctx.stack.pop()
        return result

    def _grad_hook(self, frame: Frame, node: cst.Call, args, kwargs, hint):
        """``grad_hook(x, fn)``: ``x`` itself, whose adjoint, where the backward sweep passes
        this point, becomes ``fn(d_x)``: an identity with ``fn``'s body as its adjoint rule
        (and the identity as its tangent)."""
        if len(args) != 2 or kwargs or not (isinstance(args[1], Local) or (
                isinstance(args[1], Ref) and _is_user_function(args[1].obj))):
            raise self.error(frame, node, "write grad_hook(x, fn), fn a lambda or a Python "
                             "function of the adjoint", "h = srcgrad.grad_hook(h, lambda d_h: "
                             "np.clip(d_h, -1.0, 1.0))")
        x = self.materialize(frame, args[0], node)
        g, out_, t = (self.ctx.namer.fresh(f"{p}__") for p in ("d_out", "out", "t"))
        fn = args[1]
        body, result = self._lowered(frame, node, lambda: self._inline_local(
            frame, node, fn, [Var(g)], {}, None) if isinstance(fn, Local) else
            self._inline_user(frame, node, fn.obj, [Var(g)], {}, None, rule=True))
        adjoint = Lowered("grad_hook", (g, out_), body, result[:1], like_adjoint=True)
        tangent = Lowered("grad_hook", (out_, t), (), (Var(t),), checked=False)
        rule = Rule("grad_hook", custom.value, (custom.lowered,), (custom.lowered,))
        return self._custom_stmt(frame, rule, [x], x, Custom("grad_hook", adjoint, tangent), hint)

    def _custom_call(self, frame: Frame, node: cst.Call, fn: Callable, rules, args, kwargs,
                     hint):
        """A call of a function with custom rules. Its value is computed as usual (its code
        inlined, or an opaque call) but never differentiated through; its derivatives come
        from the rules, lowered here like inlined calls into blocks of their own."""
        adjoint_rule, tangent_rule = rules
        name = getattr(fn, "__name__", "f")
        operands = [self.materialize(frame, v, node) for v in self._arguments(frame, node, fn,
                                                                                args, kwargs)]
        if _is_user_function(fn):
            value = self._inline_user(frame, node, fn, list(operands), {}, None)
        else:
            value = self._opaque(frame, node, Ref(fn, node.func), list(operands), {}, None,
                                 False)  # its derivatives are the user's rules: it only
            assert isinstance(self.body[-1], Stmt)  # the call _opaque appended
            self.body[-1] = replace(self.body[-1], reads_only=True)  # computes the value
        value = self.materialize(frame, value, node)
        n = len(operands)
        adjoint = tangent = None
        if adjoint_rule is not None:
            adjoint = self._lower_rule(frame, node, adjoint_rule, 2, operands)
            if len(adjoint.results) != n:
                raise self.error(frame, node, f"the adjoint rule {adjoint_rule.__name__} of "
                                 f"{name} returns {len(adjoint.results)} adjoint(s); {name} "
                                 f"takes {n} argument(s)", "return one adjoint per argument, "
                                 "None for an argument without a derivative")
        if tangent_rule is not None:
            tangent = self._lower_rule(frame, node, tangent_rule, 1, operands)
            if len(tangent.results) != 1:
                raise self.error(frame, node, f"the tangent rule {tangent_rule.__name__} of "
                                 f"{name} must return one tangent, the output's")
        no_adjoint = custom.Undefined(f"{name} has a tangent rule but no adjoint rule: add one "
                                      f"with @srcgrad.adjoint({name})")
        no_tangent = custom.Undefined(f"{name} has an adjoint rule but no tangent rule: add "
                                      f"one with @srcgrad.tangent({name})")
        vjp = tuple(no_adjoint if adjoint is None else
                    None if _is_none(adjoint.results[i]) else custom.lowered for i in range(n))
        jvp = tuple(None if v is None else no_tangent if tangent is None else custom.lowered
                    for v in vjp)
        rule_name = self._custom_names.get(id(fn))
        if rule_name is None:  # one primitive per function, named after it
            base = name if name.isidentifier() else "custom"
            rule_name, k = base, 2
            while rule_name in self.rules:
                rule_name, k = f"{base}_{k}", k + 1
            self._custom_names[id(fn)] = rule_name
        return self._custom_stmt(frame, Rule(rule_name, custom.value, jvp, vjp), operands,
                                 value, Custom(name, adjoint, tangent), hint)

    def _checkpoint(self, frame: Frame, node: cst.Call, fn: Callable, args, kwargs, hint):
        """A call of a checkpointed ``fn``: its value as usual, never differentiated through
        (nothing of it saved); its adjoint the inlined vector-Jacobian product srcgrad
        generates for ``fn``, which computes ``fn`` again from its arguments; its tangent the
        inlined forward-mode code of ``fn``."""
        name = fn.__name__
        operands = [self.materialize(frame, v, node) for v in self._arguments(frame, node, fn,
                                                                                args, kwargs)]
        value = self.materialize(frame, self._inline_user(frame, node, fn, list(operands),
                                                          {}, None), node)
        try:
            vjp, jvp = self.ctx.derive(fn, "vjp"), self.ctx.derive(fn, "fwd")
        except SrcGradError as err:
            raise self.error(frame, node, err.message, err.hint) from None
        d_out, tangents = vjp.kwonly[0], jvp.kwonly[:len(jvp.positions)]
        g, out_ = (self.ctx.namer.fresh(f"{p}__") for p in ("d_out", "out"))
        dots = tuple(self.ctx.namer.fresh(f"{p}__") for p in tangents)
        body, results = self._lowered(frame, node, lambda: self._inline_user(
            frame, node, vjp.fn, list(operands), {d_out: Var(g)}, None))
        adjoint = Lowered(f"vjp_{name}", (g, out_), body, results, checked=False)
        body, results = self._lowered(frame, node, lambda: self._inline_user(
            frame, node, jvp.fn, list(operands),
            {p: Var(d) for p, d in zip(tangents, dots, strict=True)}, None))
        tangent = Lowered(f"jvp_{name}", (out_, *dots), body, results[1:2], checked=False)
        rule_name = f"checkpoint_{name}" if name.isidentifier() else "checkpoint"
        n = len(operands)
        rule = Rule(rule_name, custom.value, (custom.lowered,) * n, (custom.lowered,) * n)
        return self._custom_stmt(frame, rule, operands, value, Custom(name, adjoint, tangent),
                                 hint)

    def _custom_stmt(self, frame: Frame, rule: Rule, operands: list[Atom], value: Atom,
                     info: Custom, hint) -> Var:
        """``target = value``, a statement of ``rule`` (registered here) whose derivatives
        ``info`` gives."""
        self.rules = self.rules.with_rules(rule)
        target = self._target(frame, hint)
        if target in self._targets:
            self._forget()
        self._targets.add(target)
        assert frame.origin is not None  # (as in emit)
        self.body.append(Stmt(target, rule.name, tuple(operands), (("value", value),),
                              frame.origin, custom=info))
        return Var(target)

    def _lowered(self, frame: Frame, node: cst.Call, run: Callable[[], Any]
                 ) -> tuple[tuple[Node, ...], tuple[Atom, ...]]:
        """What ``run()`` lowers (a rule's body, an inlined derivative), in a block of its own
        that the transformer writes where it needs it, and the atoms of the value it returns
        (the items of a tuple or list)."""
        computed, reads = self._computed, self._computed_reads
        self._computed, self._computed_reads = {}, set()
        self.blocks.append([])
        try:
            result = run()
            items = result.items if isinstance(result, Pack) and result.kind in (
                "tuple", "list") else (result,)
            results = tuple(self.materialize(frame, v, node) for v in items)
        finally:
            body = tuple(self.blocks.pop())
            self._computed, self._computed_reads = computed, reads
        return body, results

    def _arguments(self, frame: Frame, node: cst.Call, fn: Callable, args, kwargs) -> list:
        """The arguments of a call of ``fn`` in the order of its parameters, defaults
        included."""
        nin = getattr(fn, "nin", None)
        try:
            if isinstance(nin, int):  # a NumPy ufunc: its inputs, positionally
                raise TypeError
            sig = inspect.signature(fn)
        except (TypeError, ValueError):  # a ufunc or builtin: positional arguments only
            if kwargs or (isinstance(nin, int) and len(args) != nin):
                raise self.error(frame, node, f"pass the {nin or ''} argument(s) of "
                                 f"{fn.__name__} positionally, nothing else") from None
            return list(args)
        try:
            bound = sig.bind(*args, **kwargs)
        except TypeError as exc:
            raise self.error(frame, node, f"cannot call {fn.__name__}: {exc}") from None
        return [bound.arguments[p] if p in bound.arguments else
                self._object(q.default, cst.Name(p)) for p, q in sig.parameters.items()]

    def _lower_rule(self, frame: Frame, node: cst.Call, rule: Callable, lead: int,
                    operands: list[Atom]) -> Lowered:
        """``rule``'s body in a block of its own, its first ``lead`` parameters (an adjoint's
        d_out and out, a tangent's out) and, for a tangent, the last ones standing for names
        the transformer binds when it writes the block."""
        params = list(inspect.signature(rule).parameters)
        free = params[:lead] + params[lead + len(operands):]
        inputs = tuple(self.ctx.namer.fresh(f"{p}__") for p in free)  # replaced when written
        bound = [Var(v) for v in inputs]
        args = [*bound[:lead], *operands, *bound[lead:]]
        body, results = self._lowered(frame, node, lambda: self._inline_user(
            frame, node, rule, args, {}, None, rule=True))
        return Lowered(rule.__name__, inputs, body, results)

    def _inline_local(self, frame: Frame, node: cst.Call, fn: Local, args, kwargs, hint):
        params = [*fn.params.posonly_params, *fn.params.params]
        env: dict[str, Any] = {"__parent__": fn.frame}
        star, star_kw = (p if isinstance(p, cst.Param) else None
                         for p in (fn.params.star_arg, fn.params.star_kwarg))
        if len(args) > len(params) and star is None:
            raise self.error(frame, node, f"too many arguments for {fn.name}")
        for p, a in zip(params, args, strict=False):
            env[p.name.value] = a
        if star is not None:  # lambda *args: ...: a tuple of the rest
            env[star.name.value] = Pack("tuple", tuple(args[len(params):]))
        for p in (*params, *fn.params.kwonly_params):
            name = p.name.value
            if name in kwargs:
                env[name] = kwargs.pop(name)
            elif name not in env:
                if name not in fn.defaults:
                    raise self.error(frame, node, f"missing argument {name!r} for {fn.name}")
                env[name] = fn.defaults[name]
        if star_kw is not None:  # **kwargs: a dict of the rest
            env[star_kw.name.value] = Pack("dict", tuple(kwargs.values()), tuple(kwargs))
            kwargs = {}
        if kwargs:
            raise self.error(frame, node, f"unexpected arguments for {fn.name}: {sorted(kwargs)}")
        callee = Frame(fn.frame.parsed, env, fn.name, frame.origin, frame.call, return_hint=hint,
                       mutated=_subscript_targets(fn.body))
        if isinstance(fn.body, cst.BaseExpression):  # a lambda
            return self.value(callee, fn.body, hint)
        self._own_copies(callee, [p for p in env if p in callee.mutated])
        result, _ = self._suite(callee, fn.body)
        return result
