"""Constant folding: arithmetic with literal 0 and 1 and between literals (``fold``), and
a scalar seed's ``unreduce`` written as the scalar itself (``_ScalarBroadcast``)."""

from __future__ import annotations

import libcst as cst

from srcgrad.cstwalk import changed, visit
from srcgrad.optimize.walk import Facts


class _ScalarBroadcast:
    """``unreduce(s, v) * 2 * v`` -> ``s * 2 * v`` for a scalar ``s``: the product already has
    ``v``'s shape, so broadcasting ``s`` first is wasted work."""

    def __init__(self, facts: Facts):
        super().__init__()
        self.facts = facts

    def leave_BinaryOperation(self, original, updated: cst.BinaryOperation):
        if not isinstance(updated.operator, cst.Multiply):
            return updated
        factors = _factors(updated.left) + _factors(updated.right)
        for k, f in enumerate(factors):
            target = self._scalar_unreduce(f)
            if target is None:
                continue
            assert isinstance(f, cst.Call)  # unreduce(s, v)
            cls = self.facts.shape_class(target)
            others = [g for j, g in enumerate(factors) if j != k]
            alike = [g for g in others if isinstance(g, cst.Name)
                     and self.facts.shape_class(g.value) == cls]
            if alike and all(g in alike or _number(g) is not None or _is_count(g)
                             for g in others):
                return _rebuild(updated, f, f.args[0].value)
        return updated

    def _scalar_unreduce(self, node) -> str | None:
        if (isinstance(node, cst.Call) and isinstance(node.func, cst.Name)
                and node.func.value == "unreduce" and len(node.args) == 2
                and isinstance(node.args[1].value, cst.Name)):
            s = node.args[0].value
            if (isinstance(s, cst.Name) and s.value in self.facts.scalars) or \
                    _number(s) is not None:
                return node.args[1].value.value
        return None


def _factors(node: cst.BaseExpression) -> list[cst.BaseExpression]:
    """The factors of a product; a divisor counts as a factor (its shape matters the same).
    Parentheses do not matter here: only which shapes are broadcast together does."""
    if isinstance(node, cst.BinaryOperation):
        if isinstance(node.operator, cst.Multiply):
            return _factors(node.left) + _factors(node.right)
        if isinstance(node.operator, cst.Divide):
            return _factors(node.left) + [node.right]
    return [node]


def _is_count(node: cst.BaseExpression) -> bool:
    """``reduced_count(...)``: a Python int."""
    return isinstance(node, cst.Call) and isinstance(node.func, cst.Name) and \
        node.func.value == "reduced_count"


def _rebuild(node: cst.BaseExpression, old: cst.BaseExpression, new: cst.BaseExpression):
    """``node`` with its first occurrence of the subtree ``old`` (the same object: nodes may
    be shared) replaced by ``new``."""
    return visit(node, _Swap(old, new))


class _Swap:
    def __init__(self, old: cst.CSTNode, new: cst.CSTNode):
        self.old, self.new = old, new

    def visit_node(self, node: cst.CSTNode) -> bool:
        return self.old is not None  # once swapped, nothing more to look at

    def leave_node(self, original, updated):
        if original is self.old:
            self.old = None
            return self.new
        return updated


def _number(node: cst.BaseExpression) -> float | None:
    """The value of a number literal, else None."""
    if isinstance(node, (cst.Integer, cst.Float)):
        try:
            return float(node.value)  # "2", "1e-5", "1_000"
        except ValueError:
            return float(node.evaluated_value)  # "0x10"
    return None


def _literal(v: float, like_int: bool) -> cst.BaseExpression:
    if like_int and float(v).is_integer():
        text = str(int(v))
    else:
        text = repr(float(v))
    if text.startswith("-"):
        return cst.UnaryOperation(cst.Minus(), _number_node(text[1:]))
    return _number_node(text)


def _number_node(text: str) -> cst.BaseExpression:
    if text.isdigit():
        return cst.Integer(text)
    if text[0].isdigit():  # 2.5, 1e-05
        return cst.Float(text)
    return cst.parse_expression(text)  # inf, nan: names (the backend defines neither)


_MASKS = frozenset({"isnan", "isinf", "isfinite", "logical_and", "logical_or",
                    "logical_not", "logical_xor", "signbit"})


def _boolish(e: cst.BaseExpression) -> bool:
    """Whether ``e`` may be a boolean (a comparison, a mask): ``1.0 * e`` is then a number, ``e``
    is not."""
    if isinstance(e, (cst.Comparison, cst.BooleanOperation)):
        return True
    if isinstance(e, cst.UnaryOperation) and isinstance(e.operator, (cst.Not, cst.BitInvert)):
        return True
    if isinstance(e, cst.BinaryOperation) and isinstance(e.operator, (cst.BitAnd, cst.BitOr,
                                                                      cst.BitXor)):
        return True
    if isinstance(e, cst.Call):
        f = e.func
        name = f.value if isinstance(f, cst.Name) else f.attr.value if isinstance(
            f, cst.Attribute) else ""
        return name in _MASKS
    return False


class _Fold:
    def leave_BinaryOperation(self, original, updated: cst.BinaryOperation):
        op = updated.operator
        left, right = _number(updated.left), _number(updated.right)
        keep = {"lpar": updated.lpar, "rpar": updated.rpar}
        ints = isinstance(updated.left, cst.Integer) and isinstance(updated.right, cst.Integer)
        if left is not None and right is not None and not isinstance(op, cst.Power):
            result = {cst.Add: left + right, cst.Subtract: left - right,
                      cst.Multiply: left * right}.get(type(op))
            if result is not None:
                return _literal(result, ints)
        if isinstance(op, cst.Multiply):  # x * 1 is x, unless x is a mask (1.0 * (x > 0))
            if right == 1 and not _boolish(updated.left):
                return _strip(updated.left, keep)
            if left == 1 and not _boolish(updated.right):
                return _strip(updated.right, keep)
        if isinstance(op, cst.Divide) and right == 1:
            return _strip(updated.left, keep)
        if isinstance(op, cst.Power) and right == 1:
            return _strip(updated.left, keep)
        if isinstance(op, (cst.Add, cst.Subtract)) and right == 0 and \
                _is_int_literal(updated.right):
            return _strip(updated.left, keep)
        return updated

    def leave_Call(self, original, updated: cst.Call):
        # transpose_grad(matmul_grad_b(g, a, b)) -> matmul_grad_bt(g, a, b): a Linear weight's
        # adjoint computed in the weight's layout (g.T @ a), not as a transposed view
        if _called(updated) == "transpose_grad" and len(updated.args) == 1 and \
                updated.args[0].keyword is None and _called(updated.args[0].value) == \
                "matmul_grad_b":
            inner = updated.args[0].value
            return inner.with_changes(func=cst.Name("matmul_grad_bt"))
        return updated

    def leave_UnaryOperation(self, original, updated: cst.UnaryOperation):
        inner = updated.expression
        if isinstance(updated.operator, cst.Minus) and isinstance(inner, cst.BinaryOperation) \
                and isinstance(inner.operator, (cst.Multiply, cst.Divide)):
            first = _leftmost(inner)
            if isinstance(first, cst.UnaryOperation) and isinstance(first.operator, cst.Minus):
                # -(-a * b / c) -> a * b / c
                return changed(_rebuild(inner, first, first.expression),
                               lpar=updated.lpar, rpar=updated.rpar)
        if isinstance(updated.operator, cst.Minus) and isinstance(inner, cst.UnaryOperation) \
                and isinstance(inner.operator, cst.Minus):
            return changed(inner.expression, lpar=updated.lpar, rpar=updated.rpar) \
                if updated.lpar else inner.expression
        return updated


def _called(node: cst.BaseExpression) -> str | None:
    """The name a call calls (``f(...)``), else None."""
    if isinstance(node, cst.Call) and isinstance(node.func, cst.Name):
        return node.func.value
    return None


def _leftmost(node: cst.BaseExpression) -> cst.BaseExpression:
    # (a * b) / c: the left operand of * and / may be a parenthesized product too
    while isinstance(node, cst.BinaryOperation) and isinstance(
            node.operator, (cst.Multiply, cst.Divide)):
        node = node.left
    return node


def _is_int_literal(node) -> bool:
    return isinstance(node, cst.Integer)


def _strip(node: cst.BaseExpression, keep) -> cst.BaseExpression:
    if keep["lpar"] and hasattr(node, "lpar"):
        return changed(node, **keep)
    return node


def fold(expr: cst.BaseExpression) -> cst.BaseExpression:
    return visit(expr, _Fold())
