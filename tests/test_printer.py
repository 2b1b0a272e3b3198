"""srcgrad's expression printer writes exactly what libcst's code generator writes."""

from __future__ import annotations

import inspect

import libcst as cst
import pytest

from srcgrad import rules
from srcgrad.printer import code
from srcgrad.template import _template

WRITTEN = [
    "x", "1", "1.5e-3", "'s'", "x.T", "np.sum(x, axis=0)", "f(a, *b, k=1)", "f( a ,b )",
    "f(x,)", "f(k = 1)", "a + b * c", "a+b", "-x", "- x", "not x", "~x", "+x", "(a + b) * c",
    "((a))", "( a + b )", "x[1:3]", "x[::2]", "x[1:]", "x[:, None]", "x[..., 0]", "x[i, j]",
    "x[ i ]", "x[1:3:2]", "x[a:b, ::-1]", "(1,)", "(a, b)", "()", "a, b", "[1, 2]", "[]",
    "[a,]", "a < b <= c", "a is not b", "a not in b", "a and b or c", "x.shape[0] + 1",
    "(xs.shape[0] + 1, xs.shape[1])", "np.zeros((n, m))", "f(*args)", "f(**kw)",
    "x ** -1", "a if c else b", "lambda v: v + 1", "(*a, b)", "{'a': 1}", "x @ w1 + b1",
    "f(a,\n  b)", "(a +\n b)", "x[\n1]", "np.maximum(h, 0.0)", "d[\"k\"][0]",
]


def _expressions():
    yield from (cst.parse_expression(t) for t in WRITTEN)
    for table in rules.__dict__.values():
        for fn in getattr(table, "__dict__", {}).values():
            if inspect.isfunction(fn):
                try:
                    yield _template(fn)[0]
                except (TypeError, OSError):
                    continue


@pytest.mark.parametrize("expr", list(_expressions()), ids=lambda e: code(e)[:40])
def test_printer_matches_libcst(expr):
    want = cst.Module([]).code_for_node(expr)
    assert code(expr) == want


def test_printer_subtrees_match_libcst():
    for expr in _expressions():
        for node in _subnodes(expr):
            if isinstance(node, cst.BaseExpression):
                assert code(node) == cst.Module([]).code_for_node(node)


def _subnodes(node):
    yield node
    for child in node.children:
        yield from _subnodes(child)
