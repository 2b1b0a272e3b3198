"""The source text of libcst expressions, as ``cst.Module([]).code_for_node`` writes it.

libcst's code generator runs a context manager and a position hook per token; srcgrad prints a
few hundred small expressions per transformation, and this printer, which writes the node
kinds generated code is made of directly (anything else goes to libcst), is several times
faster. It prints every token and whitespace the node holds, so the text is the same.
"""

from __future__ import annotations

from collections.abc import Callable

import libcst as cst

_DEFAULT = cst.MaybeSentinel.DEFAULT


def code(node: cst.CSTNode) -> str:
    """The source text of ``node``."""
    write = _WRITERS.get(type(node))
    if write is None:
        return cst.Module([]).code_for_node(node)
    return write(node)


def _ws(w: cst.CSTNode) -> str:
    return w.value if type(w) is cst.SimpleWhitespace else code(w)


def _parens(node, text: str) -> str:
    if not node.lpar:
        return text
    return "".join("(" + _ws(p.whitespace_after) for p in node.lpar) + text + "".join(
        _ws(p.whitespace_before) + ")" for p in node.rpar)


def _comma(comma, default: bool, spaced: bool = True) -> str:
    if comma is _DEFAULT:
        return (", " if spaced else ",") if default else ""
    return _ws(comma.whitespace_before) + "," + _ws(comma.whitespace_after)


def _leaf(node) -> str:
    return _parens(node, node.value)


def _attribute(node: cst.Attribute) -> str:
    dot = node.dot
    return _parens(node, code(node.value) + _ws(dot.whitespace_before) + "."
                   + _ws(dot.whitespace_after) + node.attr.value)


def _arg(arg: cst.Arg, default_comma: bool) -> str:
    text = arg.star + _ws(arg.whitespace_after_star)
    if arg.keyword is not None:
        equal = arg.equal
        text += arg.keyword.value + (" = " if equal is _DEFAULT else _ws(equal.whitespace_before)
                                     + "=" + _ws(equal.whitespace_after))
    return text + code(arg.value) + _comma(arg.comma, default_comma) + _ws(
        arg.whitespace_after_arg)


def _call(node: cst.Call) -> str:
    last = len(node.args) - 1
    args = "".join(_arg(a, i != last) for i, a in enumerate(node.args))
    return _parens(node, code(node.func) + _ws(node.whitespace_after_func) + "("
                   + _ws(node.whitespace_before_args) + args + ")")


def _operator(op) -> str:
    between = getattr(op, "whitespace_between", None)
    if between is not None:  # `is not`, `not in`
        return code(op)
    before = getattr(op, "whitespace_before", None)
    return (_ws(before) if before is not None else "") + op._get_token() + _ws(
        op.whitespace_after)


def _binary(node: cst.BinaryOperation) -> str:
    return _parens(node, code(node.left) + _operator(node.operator) + code(node.right))


def _unary(node: cst.UnaryOperation) -> str:
    return _parens(node, _operator(node.operator) + code(node.expression))


def _comparison(node: cst.Comparison) -> str:
    return _parens(node, code(node.left) + "".join(
        _operator(c.operator) + code(c.comparator) for c in node.comparisons))


def _boolean(node: cst.BooleanOperation) -> str:
    return _parens(node, code(node.left) + _operator(node.operator) + code(node.right))


def _slice(node: cst.Slice) -> str:
    text = (code(node.lower) if node.lower is not None else "") + _colon(node.first_colon)
    text += code(node.upper) if node.upper is not None else ""
    second = node.second_colon
    if second is _DEFAULT:
        text += ":" if node.step is not None else ""
    else:
        text += _colon(second)
    return text + (code(node.step) if node.step is not None else "")


def _colon(colon) -> str:
    if colon is _DEFAULT:
        return ":"
    return _ws(colon.whitespace_before) + ":" + _ws(colon.whitespace_after)


def _index(node: cst.Index) -> str:
    text: str = node.star or ""
    if node.whitespace_after_star is not None:
        text += _ws(node.whitespace_after_star)
    return text + code(node.value)


def _subscript(node: cst.Subscript) -> str:
    last = len(node.slice) - 1
    inner = "".join(code(e.slice) + _comma(e.comma, i != last)
                    for i, e in enumerate(node.slice))
    return _parens(node, code(node.value) + _ws(node.whitespace_after_value) + "["
                   + _ws(node.lbracket.whitespace_after) + inner
                   + _ws(node.rbracket.whitespace_before) + "]")


def _tuple(node: cst.Tuple) -> str:
    elements = node.elements
    if any(type(e) is not cst.Element for e in elements):  # *rest
        return cst.Module([]).code_for_node(node)
    if len(elements) == 1:
        inner = code(elements[0].value) + _comma(elements[0].comma, True, spaced=False)
    else:
        last = len(elements) - 1
        inner = "".join(code(e.value) + _comma(e.comma, i != last)
                        for i, e in enumerate(elements))
    return _parens(node, inner)


def _list(node: cst.List) -> str:
    if any(type(e) is not cst.Element for e in node.elements):
        return cst.Module([]).code_for_node(node)
    last = len(node.elements) - 1
    inner = "".join(code(e.value) + _comma(e.comma, i != last)
                    for i, e in enumerate(node.elements))
    return _parens(node, "[" + _ws(node.lbracket.whitespace_after) + inner
                   + _ws(node.rbracket.whitespace_before) + "]")


def _ellipsis(node: cst.Ellipsis) -> str:
    return _parens(node, "...")


_WRITERS: dict[type, Callable] = {
    cst.Name: _leaf, cst.Integer: _leaf, cst.Float: _leaf, cst.SimpleString: _leaf,
    cst.Attribute: _attribute, cst.Call: _call, cst.BinaryOperation: _binary,
    cst.UnaryOperation: _unary, cst.Comparison: _comparison, cst.BooleanOperation: _boolean,
    cst.Subscript: _subscript, cst.Index: _index, cst.Slice: _slice, cst.Tuple: _tuple,
    cst.List: _list, cst.Ellipsis: _ellipsis,
}
