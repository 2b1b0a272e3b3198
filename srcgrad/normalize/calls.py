"""Calls: which callee a call reaches, in order (``CALL_RESOLVERS``), list methods, array
methods, primitives bound to their rule's signature, and opaque calls."""

from __future__ import annotations

import builtins
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import libcst as cst
import numpy as np

from srcgrad import custom, objects, twins
from srcgrad.errors import SrcGradError
from srcgrad.ir import (
    Atom,
    Lit,
    Stmt,
    Var,
    atom_uses,
)
from srcgrad.normalize.base import _Base
from srcgrad.normalize.builtins import (
    _builtin_container,
    _builtin_extremum,
    _builtin_float,
    _builtin_sum,
    _dict_view,
    _differentiated,
)
from srcgrad.normalize.values import (
    _CODE_RUNNERS,
    _HELPER_RULES,
    _LIST_RULES,
    _MISSING,
    CallSite,
    Frame,
    Local,
    Method,
    Obj,
    Pack,
    Ref,
    _atom_node,
    _container_node,
    _dotted,
    _is_service,
    _is_user_function,
    _literal_value,
    _opened,
    _reads_only,
    _signatures,
    _srcgrad_hook,
)
from srcgrad.rules.calls import METHODS, CallSpec


def _grad_hook(low: Any, c: CallSite) -> Any:
    """``h = grad_hook(h, lambda d_h: ...)``: gradient surgery."""
    if c.fn is not custom.grad_hook:
        return NotImplemented
    return low._grad_hook(c.frame, c.node, c.args, c.kwargs, c.hint)


def _checkpoint(low: Any, c: CallSite) -> Any:
    """A checkpointed function: computed again in the backward sweep."""
    if not isinstance(c.fn, custom.checkpoint):
        return NotImplemented
    return low._checkpoint(c.frame, c.node, c.fn.fn, c.args, c.kwargs, c.hint)


def _custom_rules(low: Any, c: CallSite) -> Any:
    """A function the user said how to differentiate (``@adjoint``, ``@tangent``)."""
    rules = custom.rules_for(c.fn)
    if rules is None:
        return NotImplemented
    return low._custom_call(c.frame, c.node, c.fn, rules, c.args, c.kwargs, c.hint)


def _code_runner(low: Any, c: CallSite) -> Any:
    """``exec``, ``eval``, ``compile``, ``__import__``: refused (the code they run is unseen)."""
    if c.fn not in _CODE_RUNNERS:
        return NotImplemented
    raise low.error(c.frame, c.node, f"{c.fn.__name__}() is not supported in a differentiated "
                    "function: srcgrad cannot see the code it runs",
                    "write that code in the function itself")


def _on_object(low: Any, c: CallSite) -> Any:
    """``getattr(self, f"weight_ih_l{k}")``, ``hasattr(obj, "bias")``, ``isinstance(layer,
    nn.Linear)``, ``len(self.layers)`` of objects: decided when the code is generated."""
    if c.fn not in (builtins.getattr, builtins.hasattr, builtins.isinstance, builtins.len):
        return NotImplemented
    first = low._items_of(c.frame, c.args[0]) if c.args else None
    if c.fn is builtins.len:
        if isinstance(first, Pack) and not c.kwargs and len(c.args) == 1:
            return Lit(cst.Integer(str(len(first.items))))
        return NotImplemented
    if c.fn is builtins.isinstance and c.args and isinstance(c.args[0], Pack):
        found = low._static(c.frame, c.node)
        return NotImplemented if found is _MISSING else Lit(cst.Name(repr(bool(found))))
    if not isinstance(c.args[0] if c.args else None, Obj):
        return NotImplemented
    obj = c.args[0]
    if c.fn is builtins.isinstance:
        found = low._static(c.frame, c.node)
        if found is _MISSING:
            raise low.error(c.frame, c.node, "isinstance() of an object needs a class known "
                            "here", "name the class (isinstance(layer, nn.Linear))")
        return Lit(cst.Name(repr(bool(found))))
    name = low._static(c.frame, c.node.args[1].value) if len(c.node.args) >= 2 else _MISSING
    if not isinstance(name, str):
        raise low.error(c.frame, c.node, f"{c.fn.__name__}() of an object needs a name known "
                        "when the code is generated", "write the name as a string, or an "
                        "f-string of fixed values")
    if c.fn is builtins.hasattr:
        return Lit(cst.Name(repr(obj.shape.field(name) is not None or
                                 objects.method(obj.shape, name) is not None)))
    if len(c.args) == 3 and obj.shape.field(name) is None and objects.method(
            obj.shape, name) is None:
        return c.args[2]  # the default
    return low._obj_attribute(c.frame, c.node, obj, name, c.hint)


def _primitive(low: Any, c: CallSite) -> Any:
    """A callable of the rule table (``np.sin``, ``math.exp``, a runtime helper)."""
    spec = low.ctx.calls.lookup(c.fn)
    if spec is None:
        return NotImplemented
    return low._primitive(c.frame, c.node, spec, c.args, c.kwargs, c.hint)


def _twin(low: Any, c: CallSite) -> Any:
    """A library function with a NumPy twin (``jax.nn.relu``, ``scipy.special.expit``): the
    twin inlined, never the library's own source (:mod:`srcgrad.twins`)."""
    twin = twins.twin_of(c.fn)
    if twin is None:
        return NotImplemented
    refused = twins.refusal(twin, [_known(a) for a in c.args],
                            {k: _known(v) for k, v in c.kwargs.items()})
    if refused is not None:  # a parameter the twin does not differentiate: at the user's line
        raise low.error(c.frame, c.node, *refused)
    return low._inline_user(c.frame, c.node, twin, c.args, c.kwargs, c.hint,
                            library=True)


def _known(value: Any) -> Any:
    """A call's argument as a Python value where it is a literal, else ``twins.UNKNOWN``."""
    if isinstance(value, Lit) and not value.uses:
        try:
            return _literal_value(value.node)
        except ValueError:
            pass
    if isinstance(value, Pack) and value.kind in ("tuple", "list"):  # axis=(0, 1)
        return (tuple if value.kind == "tuple" else list)(_known(v) for v in value.items)
    return twins.UNKNOWN


def _inline_hook(low: Any, c: CallSite) -> Any:
    """``jvp(f, ...)``, ``jvp(f)(...)``, ``hvp(f)(...)``: the generated code they run, with
    the arguments they give it."""
    inline = _srcgrad_hook(c.fn, "__srcgrad_inline__")
    if inline is None:
        return NotImplemented
    try:
        generated, args, kwargs = inline([_opened(a) for a in c.args],
                                         {k: _opened(v) for k, v in c.kwargs.items()})
    except SrcGradError as err:
        raise low.error(c.frame, c.node, err.message, err.hint) from None
    return low._inline_user(c.frame, c.node, generated, list(args), dict(kwargs), c.hint)


def _generated_code(low: Any, c: CallSite) -> Any:
    """A derivative made by srcgrad (``grad(f)``): its generated code, inlined."""
    code = getattr(type(c.fn), "__srcgrad_code__", None)
    if code is None:
        return NotImplemented
    try:
        generated = code(c.fn)
    except SrcGradError as err:
        raise low.error(c.frame, c.node, err.message, err.hint) from None
    return low._inline_user(c.frame, c.node, generated, c.args, c.kwargs, c.hint)


def _read_only(low: Any, c: CallSite) -> Any:
    """``print``, logging, ``warnings.warn``: run as written, even where they take
    differentiated values (they leave their arguments alone), never inlined."""
    if not _reads_only(c.fn):
        return NotImplemented
    return low._opaque(c.frame, c.node, Ref(c.fn, c.node.func), c.args, c.kwargs, c.hint,
                       c.effect)


def _module_class(low: Any, c: CallSite) -> Any:
    """``nn.MSELoss()`` inside a differentiated function: refused (a module made at every
    call would be made afresh, its parameters too)."""
    if not (isinstance(c.fn, type) and getattr(c.fn, "__srcgrad_module__", False)):
        return NotImplemented
    raise low.error(c.frame, c.node, f"a {c.fn.__name__} is created inside the differentiated "
                    "function", f"create it once, outside (criterion = {_dotted(c.node)}), "
                    "and call it here")


def _eager_only(low: Any, c: CallSite) -> Any:
    """A check of srcgrad.nn's that only the module called as it is runs (``Linear``'s of its
    input's width): nothing in generated code."""
    if not getattr(c.fn, "__srcgrad_eager_only__", False):
        return NotImplemented
    return Lit(cst.Name("None"))


def _writes_first(low: Any, c: CallSite) -> Any:
    """A function of srcgrad.nn that writes into a module's buffer (BatchNorm's running
    statistics): run as written, once per forward call, never in the backward sweep; its
    first argument must be an array an object holds that is not differentiated."""
    if not getattr(c.fn, "__srcgrad_writes_first__", False):
        return NotImplemented
    first = c.args[0] if c.args else None
    if not (isinstance(first, Var) and first.name in low._buffers or isinstance(first, Lit)
            and first.uses == frozenset() and not isinstance(first.node, cst.Name)):
        raise low.error(c.frame, c.node, f"{c.fn.__name__} writes into its first argument, "
                        "which must be a buffer of a module (not a differentiated value)")
    fn = low._bind_object(c.fn, c.node.func)
    low._opaque_call(c.frame, fn, c.args, c.kwargs, None, c.node)
    low.body[-1] = replace(low.body[-1], effect=True, reads_only=True,
                           label=_dotted(c.node.func))
    return Lit(cst.Name("None"))


def _user_function(low: Any, c: CallSite) -> Any:
    """A Python function with source: inlined."""
    if not _is_user_function(c.fn):
        return NotImplemented
    return low._inline_user(c.frame, c.node, c.fn, c.args, c.kwargs, c.hint)


#: How a call is lowered, tried in order: each takes the lowering and the :class:`CallSite`
#: and returns the call's value, or ``NotImplemented`` for a call it does not take. A call
#: none takes is an opaque call (run as written, differentiated through by no one). A new
#: kind of callee (a method of a user's object) goes before ``_user_function``.
CALL_RESOLVERS: list[Callable[[Any, CallSite], Any]] = [
    _grad_hook, _checkpoint, _custom_rules, _code_runner, _builtin_sum, _builtin_extremum,
    _builtin_float, _builtin_container, _on_object, _primitive, _twin, _inline_hook,
    _generated_code, _read_only, _module_class, _eager_only, _writes_first, _user_function,
]


class _Calls(_Base):
    def _expr_Call(self, frame, node, hint, effect=False):
        func = node.func
        for a in node.args:
            if a.star:
                raise self.error(frame, a, f"{a.star}-arguments are not supported",
                                 "pass the arguments one by one")
        if isinstance(func, cst.Attribute):
            base = self.value(frame, func.value, None)
            if isinstance(base, Obj):
                return self._call_object(frame, node, self._obj_attribute(
                    frame, func, base, func.attr.value, None), hint)
            if isinstance(base, (Var, Lit)):
                return self._method(frame, node, base, func.attr.value, hint)
            if isinstance(base, Pack) and base.kind == "list" and func.attr.value == "append":
                return self._pack_append(frame, node, base)
            if isinstance(base, Pack) and base.kind == "list" and func.attr.value == "pop":
                return self._pack_pop(frame, node, base)
            if isinstance(base, Pack) and base.kind == "dict" and func.attr.value in (
                    "keys", "values", "items") and not node.args:
                return _dict_view(base, func.attr.value)
            callee = self._callee_attribute(frame, func, base)
        else:
            callee = self.value(frame, func, None)
            if isinstance(callee, (Obj, Method)):
                return self._call_object(frame, node, callee, hint)
        args = [self.value(frame, a.value, None) for a in node.args if a.keyword is None]
        kwargs = {a.keyword.value: self.value(frame, a.value, None)
                  for a in node.args if a.keyword is not None}
        if isinstance(callee, Local):
            return self._inline_local(frame, node, callee, args, kwargs, hint)
        if not isinstance(callee, Ref):
            raise self.error(frame, func, "this value is not callable")
        site = CallSite(frame, node, callee.obj, args, kwargs, hint, effect)
        for resolve in CALL_RESOLVERS:
            value = resolve(self, site)
            if value is not NotImplemented:
                return value
        return self._opaque(frame, node, callee, args, kwargs, hint, effect)

    def _call_object(self, frame: Frame, node: cst.Call, callee: Any, hint):
        """``model(x)`` (a module's ``forward``, another object's ``__call__``) and
        ``model.predict(x)``: the method inlined, ``self`` the object; a value an object
        holds (``self.activation = np.tanh``) called as any other callee."""
        args = [self.value(frame, a.value, None) for a in node.args if a.keyword is None]
        kwargs = {a.keyword.value: self.value(frame, a.value, None)
                  for a in node.args if a.keyword is not None}
        if isinstance(callee, Obj):
            fn = objects.call_method(callee.shape)
            if fn is None:
                raise self.error(frame, node.func, f"{callee.label} "
                                 f"({callee.shape.cls.__name__}) cannot be called here",
                                 "give its class a forward (a Module) or __call__ method "
                                 "written in Python")
            return self._inline_user(frame, node, fn, [callee, *args], kwargs, hint,
                                     owner=callee)
        if isinstance(callee, Method) and not args and not kwargs and callee.fn.__name__ in (
                "items", "keys", "values") and getattr(callee.owner.shape.cls,
                                                       "__srcgrad_mapping__", False):
            return self._mapping_view(frame, callee.owner, callee.fn.__name__)
        if isinstance(callee, Method):
            return self._inline_user(frame, node, callee.fn, [callee.owner, *args], kwargs,
                                     hint, owner=callee.owner)
        if isinstance(callee, Local):
            return self._inline_local(frame, node, callee, args, kwargs, hint)
        if isinstance(callee, Var) and callee.name in self._opaque_results:
            return self._opaque_call(frame, callee, args, kwargs, hint, node)
        if not isinstance(callee, Ref):
            raise self.error(frame, node.func, "this value is not callable")
        site = CallSite(frame, node, callee.obj, args, kwargs, hint)
        for resolve in CALL_RESOLVERS:
            value = resolve(self, site)
            if value is not NotImplemented:
                return value
        return self._opaque(frame, node, callee, args, kwargs, hint, False)

    def _mapping_view(self, frame: Frame, owner: Obj, view: str) -> Pack:
        """``self.blocks.items()`` (``keys()``, ``values()``) of a ModuleDict: a literal list,
        known when the code is generated."""
        return _dict_view(self._items_of(frame, owner), view)

    def _append(self, frame: Frame, node: cst.Call, base: Atom):
        if not isinstance(base, Var) or base.name not in self.lists:
            raise self.error(frame, node.func, "only a list made in the function (xs = []) "
                             "can be appended to", "make a new list: ys = list(xs), or ys = [] "
                             "and append to it; srcgrad never changes the caller's lists")
        if len(node.args) != 1 or node.args[0].keyword is not None:
            raise self.error(frame, node, "append takes one value")
        item = self.atom(frame, node.args[0].value)
        self.emit(frame, base.name, "append", (base, item))
        return Lit(cst.Name("None"))

    def _pop(self, frame: Frame, node: cst.Call, base: Atom, hint):
        """``v = xs.pop()``: the last item read, then taken off the list (``xs = pop(xs)``)."""
        if not isinstance(base, Var) or base.name not in self.lists:
            raise self.error(frame, node.func, "only a list made in the function (xs = []) "
                             "can be popped from", "read the item instead: v = xs[-1]")
        if node.args:
            raise self.error(frame, node, "only the last item can be popped: xs.pop()",
                             "read other items by index, v = xs[i], and build a new list")
        last = Lit(cst.Subscript(cst.Name("s_"), [cst.SubscriptElement(cst.Index(
            cst.UnaryOperation(cst.Minus(), cst.Integer("1"))))]))
        item = self.emit(frame, self._target(frame, hint), "getitem", (base,),
                         (("index", last),))
        self._forget()  # the list changes: xs[-1] is another item now
        self.emit(frame, base.name, "pop", (base,))
        return item

    def _pack_pop(self, frame: Frame, node: cst.Call, pack: Pack):
        """``xs.pop()`` or ``xs.pop(i)`` on a list that is still a literal: one item less."""
        assert isinstance(node.func, cst.Attribute)  # a method call
        index = None if len(node.args) > 1 else -1
        if len(node.args) == 1:
            try:
                index = self._constant(frame, node.args[0].value)
            except ValueError:
                index = None
        if not isinstance(node.func.value, cst.Name) or type(index) is not int or \
                not -len(pack.items) <= index < len(pack.items):
            raise self.error(frame, node, "write xs.pop() or xs.pop(i), i a number in range, "
                             "on a list variable")
        items = list(pack.items)
        item = items.pop(index)
        frame.env[node.func.value.value] = Pack("list", tuple(items))
        return item

    def _pack_append(self, frame: Frame, node: cst.Call, pack: Pack):
        """``xs.append(v)`` on a list that is still a literal: one more item."""
        assert isinstance(node.func, cst.Attribute)  # a method call
        if not isinstance(node.func.value, cst.Name) or len(node.args) != 1:
            raise self.error(frame, node, "write xs.append(value) on a list variable")
        item = self.value(frame, node.args[0].value, None)
        frame.env[node.func.value.value] = Pack("list", (*pack.items, item))
        return Lit(cst.Name("None"))

    def _callee_attribute(self, frame: Frame, node: cst.Attribute, base: Any):
        if isinstance(base, Ref):
            try:
                return Ref(getattr(base.obj, node.attr.value), node)
            except AttributeError:
                raise self.error(frame, node, f"{_dotted(node)} does not exist") from None
        raise self.error(frame, node, "cannot call an attribute of this value")

    def _numpy_has_rule(self, name: str) -> bool:
        """Whether ``np.<name>`` is differentiated (a rule or a twin)."""
        fn = getattr(np, name, None)
        return fn is not None and (self.ctx.calls.lookup(fn) is not None or
                                   twins.twin_of(fn) is not None)

    def _method(self, frame: Frame, node: cst.Call, base: Atom, name: str, hint):
        if name == "append":
            return self._append(frame, node, base)
        if name == "pop":
            return self._pop(frame, node, base, hint)
        if name == "item" and not node.args and isinstance(base, Var) and _differentiated(
                self, base):  # loss.item(): float (an index's .item() is an int: not this)
            return self.emit(frame, self._target(frame, hint), "to_float", (base,))
        if name in ("keys", "values", "items") and not node.args:
            # a dict built at run time (an argument): the view as a list, read by index
            view = self.emit(frame, self._target(frame, hint), f"dict_{name}", (base,))
            self.lists.add(view.name)
            return view
        spec = METHODS.get(name)
        if spec is None:
            service = isinstance(base, Lit) and isinstance(base.node, cst.Name) and \
                _is_service(self.bindings.get(base.node.value))
            if isinstance(base, Var) and base.name in self._opaque_results or service:
                # a method of an object an opaque call made (rng.standard_normal(3)): itself
                # an opaque call, refused later only if a differentiated value reaches it
                method = Lit(cst.Attribute(cst.Name(base.name), cst.Name(name)),
                             frozenset({base.name})) if isinstance(base, Var) else \
                    Lit(cst.Attribute(base.node, cst.Name(name)))  # rng.normal(...)
                args = [self.value(frame, a.value, None) for a in node.args
                        if a.keyword is None]
                kwargs = {a.keyword.value: self.value(frame, a.value, None)
                          for a in node.args if a.keyword is not None}
                var = self._opaque_call(frame, method, args, kwargs, hint, node)
                assert isinstance(self.body[-1], Stmt)  # the call just appended
                self.body[-1] = replace(self.body[-1], label=_dotted(node.func))
                return var
            raise self.error(frame, node.func, f"the array method .{name}() is not supported",
                             f"use np.{name}(x, ...), which srcgrad differentiates"
                             if self._numpy_has_rule(name) else "see docs/rules.md for the "
                             "array methods and functions srcgrad differentiates")
        args = [self.value(frame, a.value, None) for a in node.args if a.keyword is None]
        kwargs = {a.keyword.value: self.value(frame, a.value, None)
                  for a in node.args if a.keyword is not None}
        if spec.form == "shape_args":
            if len(args) > 1:
                args = [Pack("tuple", tuple(args))]
            spec = CallSpec(spec.rule)
        return self._primitive(frame, node, spec, [base, *args], kwargs, hint)

    def _primitive(self, frame: Frame, node: cst.Call, spec: CallSpec, args, kwargs, hint):
        if spec.rule in ("copy", "array") and "dtype" in kwargs:
            # np.asarray(x, dtype=np.float64), np.array([a, b], dtype=float): the array, then
            # its dtype (x.astype(dtype))
            kwargs = dict(kwargs)
            dtype = kwargs.pop("dtype")
            made = self._primitive(frame, node, spec, args, kwargs, None)
            return self.emit(frame, self._target(frame, hint), "astype", (made,), (
                ("dtype", self.materialize(frame, dtype, node)),))
        rule = self.rules[spec.rule]
        if spec.form == "seq" and args and isinstance(args[0], Var) and \
                args[0].name in self.lists and spec.rule in ("stack", "array"):
            name = "stack_list" if spec.rule == "stack" else "array_list"
            return self._bind_primitive(frame, node, self.rules[name], None, args,
                                        kwargs, hint)
        if spec.form == "seq" and args and isinstance(args[0], Pack):
            operands = [self.materialize(frame, self._array_of_pack(frame, node, v), node)
                        for v in args[0].items]
            args = args[1:]
        elif spec.form == "seq" and spec.rule == "array":
            rule = self.rules["copy"]
            operands, args = [self.materialize(frame, args[0], node)] if args else [], args[1:]
        elif spec.form == "seq":
            raise self.error(frame, node, f"{rule.name} needs a literal list of arrays here",
                             f"write np.{rule.name}([a, b, ...])")
        elif spec.form == "einsum":
            if not args:
                raise self.error(frame, node, "einsum needs subscripts")
            if isinstance(args[0], (Var, Pack)):  # einsum(a, [0, 1], b, [1, 2]): sublists
                args = self._einsum_sublists(frame, node, args)
            kwargs = {"subscripts": args[0], **kwargs}
            operands, args = [self.materialize(frame, v, node) for v in args[1:]], []
        elif spec.form == "einsum_grad":  # einsum_grad(g, i, subscripts, *operands)
            if len(args) < 4 or kwargs:
                raise self.error(frame, node, "einsum_grad takes g, i, subscripts, operands")
            kwargs = {"i": args[1], "subscripts": args[2]}
            operands = [self.materialize(frame, v, node) for v in (args[0], *args[3:])]
            args = []
        else:
            operands = None
            if rule.name not in _LIST_RULES and rule.name not in _HELPER_RULES:
                args = [self._array_of_pack(frame, node, a) for a in args]
        return self._bind_primitive(frame, node, rule, operands, args, kwargs, hint)

    def _array_of_pack(self, frame: Frame, node: cst.Call, value: Any) -> Any:
        """An operand written as a list or tuple of differentiated values (``np.sum([a, b])``),
        as NumPy reads it: ``np.array([a, b])``. Lists of literals stay literals."""
        if not isinstance(value, Pack) or value.kind not in ("list", "tuple") or \
                not _differentiated(self, value):
            return value
        items = [self._array_of_pack(frame, node, v) for v in value.items]
        return self.emit(frame, self.ctx.namer.temp(), "array", tuple(
            self.materialize(frame, v, node) for v in items))

    def _einsum_sublists(self, frame: Frame, node: cst.Call, args: list) -> list:
        """``np.einsum(a, [0, 1], b, [1, 2], [0, 2])`` as ``np.einsum("ab,bc->ac", a, b)``:
        the subscripts string the sublists spell (literal lists of ints and ``...``)."""
        def letters(sub: Any) -> str:
            if not isinstance(sub, Pack) or sub.kind not in ("list", "tuple"):
                raise self.error(frame, node, "np.einsum's sublists must be literal lists "
                                 "here", 'write the subscripts as a string: np.einsum("ij,jk'
                                 '->ik", a, b)')
            out = ""
            for item in sub.items:
                n = item.node if isinstance(item, Lit) else None
                if isinstance(n, cst.Ellipsis):
                    out += "..."
                elif isinstance(n, cst.Integer) and 0 <= int(n.value) < 52:
                    out += "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"[int(n.value)]
                else:
                    raise self.error(frame, node, "np.einsum's sublists hold ints from 0 to "
                                     "51 (and ...) here", 'write the subscripts as a string: '
                                     'np.einsum("ij,jk->ik", a, b)')
            return out
        pairs, rest = args[:len(args) // 2 * 2], args[len(args) // 2 * 2:]
        inputs = ",".join(letters(s) for s in pairs[1::2])
        spec = inputs + ("->" + letters(rest[0]) if rest else "")
        return [Lit(cst.SimpleString(repr(spec))), *pairs[0::2]]

    def _bind_primitive(self, frame, node, rule, operands, args, kwargs, hint):
        params, rest_sig, all_sig = _signatures(rule.primal, rule.variadic, rule.nin)
        try:
            if operands is not None:
                bound = rest_sig.bind(*args, **kwargs)
                ops = operands
            else:
                bound = all_sig.bind(*args, **kwargs)
                ops = [bound.arguments.pop(p.name) if p.name in bound.arguments else
                       self._object(p.default, node) for p in params[: rule.nin]]
        except TypeError as exc:
            raise self.error(frame, node, f"unsupported arguments for {rule.name}: {exc}",
                             "see docs/rules.md for the supported signature") from None
        op_atoms = [self.materialize(frame, v, node) for v in ops]
        if rule.name not in _LIST_RULES and rule.name not in _HELPER_RULES:
            # a list where an array is expected: np.array(xs)
            op_atoms = [self.emit(frame, self.ctx.namer.temp(), "array_list", (a,))
                        if isinstance(a, Var) and a.name in self.lists else a
                        for a in op_atoms]
        param_atoms = [(k, self._parameter(frame, v, node)) for k, v in bound.arguments.items()]
        omitted = [p.name for p in params if p.name not in bound.arguments
                   and p.kind is not p.VAR_POSITIONAL and p.name not in
                   {q.name for q in params[: rule.nin]}]
        return self.emit(frame, self._target(frame, hint), rule.name, op_atoms, param_atoms,
                         omitted)

    def _parameter(self, frame: Frame, value: Any, node: cst.CSTNode) -> Atom:
        """A rule's parameter, never differentiated: a tuple or list of variables is one
        expression (``concat_grad(g, 0, (a, b))`` in gradient code, which reads a and b's
        shapes)."""
        if isinstance(value, Pack) and value.kind in ("tuple", "list"):
            atoms = [self._parameter(frame, v, node) for v in value.items]
            return Lit(_container_node(value, [_atom_node(a) for a in atoms]),
                       frozenset().union(*(atom_uses(a) for a in atoms)))
        return self.materialize(frame, value, node)

    def _opaque(self, frame, node, callee: Ref, args, kwargs, hint, effect):
        fn = self._bind_object(callee.obj, callee.node)
        var = self._opaque_call(frame, fn, args, kwargs, hint, node)
        assert isinstance(self.body[-1], Stmt)  # the call just appended
        self.body[-1] = replace(self.body[-1], effect=self.body[-1].effect or effect,
                                reads_only=_reads_only(callee.obj), label=_dotted(node.func))
        return var

    def _opaque_call(self, frame: Frame, fn: Atom, args, kwargs, hint, node) -> Var:
        atoms = [self.materialize(frame, v, node) for v in args]
        kw = [(k, self.materialize(frame, v, node)) for k, v in kwargs.items()]
        var = self.emit(frame, self._target(frame, hint), "call", (fn, *atoms), kw)
        self._opaque_results.add(var.name)
        return var
