"""Lowering names and attributes: what a name or an attribute refers to (a local value, a
parameter, a value from outside the function, an object's field), objects reached from outside
(bound and guarded), and what can be evaluated while the code is generated (static values:
fixed attributes, literals, comparisons, ``isinstance``)."""

from __future__ import annotations

import builtins
import inspect
import logging
import numbers
from typing import Any, cast

import libcst as cst
import numpy as np

from srcgrad import naming, objects
from srcgrad.ir import (
    Lit,
    Var,
    atom_uses,
)
from srcgrad.normalize.base import _Base
from srcgrad.normalize.values import (
    _MISSING,
    _NOT_NONE,
    _PASSIVE_ATTRIBUTES,
    _SCALAR_ATTRIBUTES,
    Frame,
    Local,
    Method,
    Obj,
    Pack,
    Ref,
    _atom_node,
    _dotted,
    _is_data,
    _is_index_builder,
    _literal_value,
    _number_node,
)
from srcgrad.objects import Guard
from srcgrad.parse import ParsedFunction
from srcgrad.printer import code
from srcgrad.rules.calls import METHODS, PROPERTIES, is_array_module


def _is_literal(value: Any) -> bool:
    """Whether ``repr(value)`` spells ``value`` (strings, numbers, None, tuples of them)."""
    if isinstance(value, tuple):
        return all(_is_literal(v) for v in value)
    return value is None or type(value) in (str, bool, int) or type(value) is float and \
        np.isfinite(value)


class _Names(_Base):
    def _expr_Name(self, frame: Frame, node: cst.Name, hint):
        name = node.value
        if name in frame.env:
            value = frame.env[name]
            if isinstance(value, Var) and value.name in self._stale:
                raise self.error(frame, node, *self._stale[value.name])
            return value
        found = self._lookup(frame, name)
        if found is _MISSING:
            raise self.error(frame, node, f"name {name!r} is not defined",
                             "define it before the function is first called")
        parsed = self._scope_of(frame)
        if isinstance(found, (Var, Lit, Pack, Local, Ref, Obj, Method)):
            return found  # a value of the lowering (a name of an enclosing function's)
        if objects.is_object(found):
            return self._outer_object(frame, node, found, parsed)
        if _is_data(found) and name not in parsed.closure and parsed.globals.get(name) is found:
            return self._live_global(parsed.globals, name, found)
        return self._object(found, node)

    def _outer_object(self, frame: Frame, node: cst.Name, found: Any, parsed) -> Obj:
        """An object reached by name from outside the function (a module-level loss or
        model): its leaves read where they are used, never differentiated; the code holds
        while the object keeps its structure (a guard checked at every call)."""
        name = node.value
        try:
            shape = objects.describe(found)
        except objects.StructureError as err:
            raise self.error(frame, node, f"cannot read {name}: {err}") from None
        if name not in parsed.closure and parsed.globals.get(name) is found:
            root = self._live_global(parsed.globals, name, found)
            self.guards.append(Guard(parsed.globals, name, shape))
        else:
            root = self._bind_object(found, node)
            self.guards.append(Guard(None, found, shape))
        text = code(root.node)
        leaves = {path: Lit(cst.parse_expression(objects.reader(text, shape, path)))
                  for path, _ in objects.leaves(shape)}
        return Obj(shape, (), leaves, name)

    def _scope_of(self, frame: Frame) -> ParsedFunction:
        while "__parent__" in frame.env:
            frame = frame.env["__parent__"]
        return frame.parsed

    def _live_global(self, globs, name: str, value: Any) -> Lit:
        """A module-level value, read from the module at every call (never a stale copy)."""
        dict_name = next((k for k, v in self.bindings.items() if v is globs), None)
        if dict_name is None:
            dict_name = self.ctx.namer.fresh("module_globals")
            self.bindings[dict_name] = globs
        node = cst.Subscript(cst.Name(dict_name), [cst.SubscriptElement(cst.Index(
            cst.SimpleString(f'"{name}"')))])
        # Not marked scalar even if it is a number now: it may be rebound to an array later.
        return Lit(node)

    def _lookup(self, frame: Frame, name: str):
        f: Frame | None = frame
        while f is not None:
            if name in f.env:
                return f.env[name]
            parent = f.env.get("__parent__")
            if parent is None:
                return f.parsed.namespace.get(name, _MISSING)
            f = parent

    def _object(self, obj: Any, node: cst.BaseExpression | None) -> Any:
        if isinstance(obj, (Var, Lit, Pack, Local)):
            return obj
        if isinstance(obj, bool) or obj is None:
            return Lit(cst.Name(repr(obj)))
        if isinstance(obj, (str, tuple)) and _is_literal(obj):  # "mean", (0, 2): as written
            return Lit(cst.parse_expression(repr(obj)))
        if isinstance(obj, numbers.Number) and not isinstance(obj, np.ndarray):
            return Lit(_number_node(cast("int | float", obj))) if type(obj) in (int, float) else \
                self._bind_object(obj, node)
        if callable(obj) or inspect.ismodule(obj) or _is_index_builder(obj) or isinstance(
                obj, logging.Logger):  # (logger.debug(...): a method resolved here)
            return Ref(obj, node)
        return self._bind_object(obj, node)

    def _bind_object(self, obj: Any, node: cst.CSTNode | None) -> Lit:
        """A name in the generated namespace for a constant the user's code refers to."""
        if isinstance(node, cst.Name) and getattr(builtins, node.value, None) is obj:
            return Lit(cst.Name(node.value))  # print, int, range: no binding needed
        for name, bound in self.bindings.items():
            if bound is obj:
                return Lit(cst.Name(name))
        base = node.value if isinstance(node, cst.Name) else \
            node.attr.value if isinstance(node, cst.Attribute) else "const"
        name = self.ctx.namer.fresh(base if base.isidentifier() else "const")
        self.bindings[name] = obj
        return Lit(cst.Name(name))

    def _expr_Attribute(self, frame: Frame, node: cst.Attribute, hint):
        base = self.value(frame, node.value, None)
        attr = node.attr.value
        if isinstance(base, Obj):
            return self._obj_attribute(frame, node, base, attr, hint)
        if isinstance(base, Ref):
            try:
                obj = getattr(base.obj, attr)
            except AttributeError:
                raise self.error(frame, node, f"{_dotted(node)} does not exist") from None
            if is_array_module(base.obj) and not callable(obj) and not inspect.ismodule(obj) \
                    and not _is_index_builder(obj):
                if isinstance(obj, (int, float, bool)) or obj is None:
                    return self._object(obj, node)
                return Lit(cst.Attribute(cst.Name(self.ctx.alias), cst.Name(attr)))
            return self._object(obj, node)
        if isinstance(base, (Var, Lit)):
            prim = PROPERTIES.get(attr)
            if attr in _PASSIVE_ATTRIBUTES:
                return Lit(cst.Attribute(_atom_node(base), cst.Name(attr)), atom_uses(base),
                           scalar=attr in _SCALAR_ATTRIBUTES)
            if prim is None:
                if attr in METHODS:
                    raise self.error(frame, node, f"the method .{attr} must be called here")
                raise self.error(frame, node, f"attribute .{attr} is not supported",
                                 "use the numpy function instead")
            return self.emit(frame, self._target(frame, hint), prim, (base,))
        raise self.error(frame, node, f"cannot take .{attr} of this value")

    def _obj_attribute(self, frame: Frame, node: cst.BaseExpression, base: Obj, attr: str,
                       hint):
        """``model.fc1``, ``self.weight``, ``self.training``: a nested object, the variable a
        leaf is read into, or a value fixed in the generated code; ``self.forward``: a method;
        a property: its getter, inlined."""
        field = base.shape.field(attr)
        label = f"{base.label}.{attr}"
        if field is not None:
            return self._field_value(frame, node, base, (*base.path, attr), field, label)
        found = objects.method(base.shape, attr)
        if isinstance(found, property) and inspect.isfunction(found.fget):
            return self._inline_user(frame, node, found.fget, [base], {}, hint, owner=base)
        if inspect.isfunction(found):
            return Method(found, base)
        if isinstance(found, (staticmethod, classmethod)):
            return Ref(getattr(base.shape.cls, attr), node)
        if found is not None and not callable(found):
            return self._object(found, node)  # a class attribute: a constant
        raise self.error(frame, node, f"{base.label} ({base.shape.cls.__name__}) has no "
                         f"attribute {attr!r} srcgrad can read here",
                         "read attributes set in __init__, or call methods written in Python")

    def _field_value(self, frame: Frame, node: cst.BaseExpression | None, base: Obj, path, field,
                     label: str) -> Any:
        if isinstance(field, objects.Leaf):
            leaf = base.leaves[path]
            if isinstance(leaf, str):
                return Var(leaf)
            if field.opaque:  # an rng held by an object from outside: its methods run as written
                var = self.emit(frame, self.ctx.namer.fresh(naming.leaf_name(
                    base.label.split(".")[0], path)), "assign", (leaf,))
                self._opaque_results.add(var.name)
                return var
            return leaf
        if isinstance(field, objects.Fixed):
            return self._object(field.value, node)
        if isinstance(field, objects.Shape):
            return Obj(field, path, base.leaves, label)
        items = tuple(self._field_value(frame, node, base, (*path, str(k)), f,
                                        f"{label}[{k!r}]")
                      for k, f in zip(field.keys, field.fields, strict=True))
        if field.kind == "dict":
            return Pack("dict", items, field.keys)
        return Pack(field.kind, items)

    def _on_object(self, frame: Frame, node: cst.Attribute) -> bool:
        """Whether ``node`` reads an attribute of an object (``self.max_len``)."""
        root: cst.BaseExpression = node
        while isinstance(root, cst.Attribute):
            root = root.value
        return isinstance(root, cst.Name) and isinstance(self._lookup(frame, root.value), Obj)

    def _static(self, frame: Frame, node: cst.BaseExpression) -> Any:
        """The value of ``node`` where it is known when the code is generated (an object's
        fixed attribute, a literal; ``_NOT_NONE`` for an array an object holds), else
        ``_MISSING``."""
        if isinstance(node, cst.Name):
            if node.value in ("True", "False", "None"):
                return {"True": True, "False": False, "None": None}[node.value]
            found = self._lookup(frame, node.value)
            if isinstance(found, Lit) and not found.uses:  # a literal bound to a parameter
                try:
                    return _literal_value(found.node)
                except ValueError:
                    return _MISSING
            return found if isinstance(found, Obj) else _MISSING
        if isinstance(node, (cst.Integer, cst.Float, cst.SimpleString)):
            return _literal_value(node)
        if isinstance(node, cst.FormattedString):  # f"weight_ih_l{k}" of a fixed k
            parts = []
            for part in node.parts:
                if isinstance(part, cst.FormattedStringText):
                    parts.append(part.value)
                    continue
                assert isinstance(part, cst.FormattedStringExpression)  # the other kind
                value = self._static(frame, part.expression)
                if value is _MISSING or value is _NOT_NONE or isinstance(value, Obj) or \
                        part.conversion is not None or part.format_spec is not None:
                    return _MISSING
                parts.append(str(value))
            return "".join(parts)
        if isinstance(node, cst.Attribute):
            base = self._static(frame, node.value)
            if not isinstance(base, Obj):
                return _MISSING
            field = base.shape.field(node.attr.value)
            if isinstance(field, objects.Fixed):
                return field.value
            if isinstance(field, objects.Shape):
                return Obj(field, (*base.path, node.attr.value), base.leaves,
                           f"{base.label}.{node.attr.value}")
            return _NOT_NONE if field is not None else _MISSING
        if isinstance(node, cst.UnaryOperation) and isinstance(node.operator, cst.Not):
            value = self._static(frame, node.expression)
            return _MISSING if value is _MISSING or value is _NOT_NONE or isinstance(
                value, Obj) else not value
        if isinstance(node, cst.BooleanOperation):
            left, right = self._static(frame, node.left), self._static(frame, node.right)
            if any(v is _MISSING or v is _NOT_NONE or isinstance(v, Obj)
                   for v in (left, right)):
                return _MISSING
            return (left and right) if isinstance(node.operator, cst.And) else (left or right)
        if isinstance(node, cst.Comparison) and len(node.comparisons) == 1:
            return self._static_comparison(frame, node)
        if isinstance(node, cst.Call) and isinstance(node.func, cst.Name) and len(
                node.args) == 2 and self._lookup(frame, node.func.value) is isinstance:
            first = node.args[0].value
            obj = self._static(frame, first)
            if obj is _MISSING and isinstance(first, cst.Name):  # a literal tuple, list, dict
                pack = self._lookup(frame, first.value)
                if isinstance(pack, Pack):
                    obj = {"tuple": (), "list": [], "dict": {}}[pack.kind]
            cls = self._lookup(frame, node.args[1].value.value) if isinstance(
                node.args[1].value, cst.Name) else _MISSING
            if isinstance(cls, (type, tuple)) and isinstance(obj, Obj):
                return issubclass(obj.shape.cls, cls)
            if isinstance(cls, (type, tuple)) and isinstance(obj, (tuple, list, dict)):
                return isinstance(obj, cls)
        return _MISSING

    def _static_comparison(self, frame: Frame, node: cst.Comparison) -> Any:
        comp = node.comparisons[0]
        left, right = self._static(frame, node.left), self._static(frame, comp.comparator)
        if left is _MISSING or right is _MISSING:
            return _MISSING
        op = type(comp.operator)
        if op in (cst.Is, cst.IsNot) and (left is None or right is None):
            same = left is right
            return same if op is cst.Is else not same
        if _NOT_NONE in (left, right) or isinstance(left, Obj) or isinstance(right, Obj):
            return _MISSING
        if op is cst.Equal:
            return left == right
        if op is cst.NotEqual:
            return left != right
        order = {cst.LessThan: lambda a, b: a < b, cst.LessThanEqual: lambda a, b: a <= b,
                 cst.GreaterThan: lambda a, b: a > b, cst.GreaterThanEqual: lambda a, b: a >= b}
        if op in order and all(isinstance(v, (int, float)) and not isinstance(v, bool)
                               for v in (left, right)):
            return order[op](left, right)
        if op is cst.In:
            return left in right
        if op is cst.NotIn:
            return left not in right
        return _MISSING

    def _items_of(self, frame: Frame, value: Any) -> Any:
        """A sequence module (``nn.Sequential``, ``nn.ModuleList``) as the list of its
        children; any other value as it is."""
        if isinstance(value, Obj) and value.shape.sequence is not None:
            items = tuple(self._field_value(frame, None, value, (*value.path, k),
                                            value.shape.field(k), f"{value.label}[{k}]")
                          for k in value.shape.sequence)
            if getattr(value.shape.cls, "__srcgrad_mapping__", False):
                return Pack("dict", items, value.shape.sequence)
            return Pack("list", items)
        return value
