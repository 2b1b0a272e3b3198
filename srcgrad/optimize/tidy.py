"""Tidy: indices written as the user did (``x[1:3]``, not ``x[s_[1:3]]``) and no redundant
parentheses."""

from __future__ import annotations

import libcst as cst

from srcgrad.cstwalk import N, changed, visit

_PREC: dict[type, int] = {
    cst.BooleanOperation: 2, cst.Comparison: 4, cst.BitOr: 5, cst.BitXor: 6, cst.BitAnd: 7,
    cst.LeftShift: 8, cst.RightShift: 8, cst.Add: 9, cst.Subtract: 9, cst.Multiply: 10,
    cst.Divide: 10, cst.FloorDivide: 10, cst.Modulo: 10, cst.MatrixMultiply: 10,
    cst.UnaryOperation: 11, cst.Power: 12,
}


def _prec(node: cst.BaseExpression) -> int:
    if isinstance(node, cst.BinaryOperation):
        return _PREC[type(node.operator)]
    if isinstance(node, (cst.UnaryOperation, cst.BooleanOperation, cst.Comparison)):
        return _PREC[type(node)]
    if isinstance(node, (cst.IfExp, cst.Lambda)):
        return 0
    return 100


class _Tidy:
    def leave_Subscript(self, original, updated: cst.Subscript):
        # x[s_[1:3, None]] -> x[1:3, None]
        if len(updated.slice) == 1 and isinstance(updated.slice[0].slice, cst.Index):
            inner = updated.slice[0].slice.value
            if (isinstance(inner, cst.Subscript) and isinstance(inner.value, cst.Name)
                    and inner.value.value == "s_"):
                return changed(updated, slice=inner.slice)
        return updated

    def leave_BinaryOperation(self, original, updated: cst.BinaryOperation):
        p = _PREC[type(updated.operator)]
        power = isinstance(updated.operator, cst.Power)
        left = updated.left
        right = updated.right
        if left.lpar and (_prec(left) > p or (_prec(left) == p and not power)) \
                and _prec(left) != 100:
            left = changed(left, lpar=[], rpar=[])
        if right.lpar and (_prec(right) > p or (power and _prec(right) == p)) \
                and _prec(right) != 100 and not (power and isinstance(right, cst.UnaryOperation)):
            right = changed(right, lpar=[], rpar=[])
        if right.lpar and _prec(right) == 100 and isinstance(right, (cst.Name, cst.Call,
                                                                    cst.Attribute, cst.Subscript)):
            right = changed(right, lpar=[], rpar=[])
        if left.lpar and _prec(left) == 100 and isinstance(left, (cst.Name, cst.Call,
                                                                 cst.Attribute, cst.Subscript)):
            left = changed(left, lpar=[], rpar=[])
        return changed(updated, left=left, right=right)

    def leave_Element(self, original, updated: cst.Element):
        v = updated.value
        if v.lpar and not isinstance(v, (cst.Tuple, cst.GeneratorExp)):
            return changed(updated, value=changed(v, lpar=[], rpar=[]))
        return updated

    def leave_Arg(self, original, updated: cst.Arg):
        v = updated.value
        if v.lpar and not isinstance(v, (cst.Tuple, cst.GeneratorExp)):
            return changed(updated, value=changed(v, lpar=[], rpar=[]))
        return updated


def tidy(expr: N) -> N:
    expr = visit(expr, _Tidy())
    if getattr(expr, "lpar", None) and not isinstance(expr, cst.Tuple):
        expr = changed(expr, lpar=[], rpar=[])
    return expr
