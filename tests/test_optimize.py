"""The optimizer passes (srcgrad/optimize.py) one by one, on programs written as the generated
code they stand for: each pass keeps every value (the program runs to the same results before
and after, on random inputs), and does the rewriting it exists for.

``program(text)`` reads generated code: a ``# ---- backward`` line splits the sweeps, the
``return`` line gives what the function returns, ``# pair N`` ties a push to its pop."""

from __future__ import annotations

import textwrap

import libcst as cst
import numpy as np
import pytest

from srcgrad import optimize as opt
from srcgrad.backends import get_backend
from srcgrad.emit import compile_function, emit
from srcgrad.errors import Location
from srcgrad.ir import Gen, GIf, GLoop, Origin, Program
from srcgrad.printer import code

ORIGIN = Origin(Location("<test>", 1, 0, ""), "the user's statement")
BANNER = "# ---- backward"


def _pair(line: cst.SimpleStatementLine) -> int:
    comment = line.trailing_whitespace.comment
    if comment is not None and comment.value.startswith("# pair "):
        return int(comment.value.split()[2])
    return 0


def _block(statements) -> tuple:
    out = []
    for s in statements:
        if isinstance(s, cst.If):
            orelse = s.orelse.body.body if isinstance(s.orelse, cst.Else) else ()
            out.append(GIf(s.test, _block(s.body.body), _block(orelse), ORIGIN))
        elif isinstance(s, cst.For):
            out.append(GLoop(s.target.value, s.iter, _block(s.body.body), ORIGIN))
        elif isinstance(s, cst.While):
            out.append(GLoop(None, s.test, _block(s.body.body), ORIGIN))
        else:
            small, pair = s.body[0], _pair(s)
            if isinstance(small, cst.Assign):
                t = small.targets[0].target
                if isinstance(t, cst.Subscript):   # y[i] = v
                    index = cst.Subscript(cst.Name("s_"), t.slice)
                    out.append(Gen(t.value.value, small.value, ORIGIN, index=index))
                else:
                    out.append(Gen(t.value, small.value, ORIGIN, pair=pair))
            elif isinstance(small, cst.AugAssign):   # trips += 1
                name = small.target.value
                out.append(Gen(name, cst.BinaryOperation(cst.Name(name), cst.Add(),
                                                         small.value), ORIGIN))
            else:
                out.append(Gen(None, small.value, ORIGIN, effect=True, pair=pair))
    return tuple(out)


def program(params: str, text: str) -> Program:
    """The generated function ``def f(params)`` whose body is ``text``."""
    text = textwrap.dedent(text).strip("\n")
    body, ret = text.rsplit("\nreturn ", 1)
    forward, _, backward = body.partition(BANNER)
    backward = backward.split("\n", 1)[1] if backward else ""
    sweep = [_block(cst.parse_module(part + "\n").body) if part.strip() else ()
             for part in (forward, backward)]
    return Program("f", tuple(p.strip() for p in params.split(",")), sweep[0], sweep[1],
                   (cst.parse_expression(ret),))


def lines(p: Program) -> list[str]:
    """The code of ``p``'s body, comments left out."""
    return [ln.strip() for ln in emit(p).splitlines()[1:] if not ln.strip().startswith("#")]


def run(p: Program, args):
    fn = compile_function(emit(p), p.name, get_backend("numpy").namespace("np"))
    return fn(*[a.copy() if isinstance(a, np.ndarray) else a for a in args])


def same_values(before: Program, after: Program, args) -> None:
    want, got = run(before, args), run(after, args)
    for w, g in zip(np.atleast_1d(want) if not isinstance(want, tuple) else want,
                    np.atleast_1d(got) if not isinstance(got, tuple) else got, strict=True):
        np.testing.assert_allclose(g, w, rtol=1e-13, atol=1e-15)


X = np.linspace(-0.9, 1.3, 4)
W = np.linspace(0.4, 1.6, 4)


# --- common subexpressions -----------------------------------------------------------------------

def test_a_repeated_pure_expression_is_computed_once():
    p = program("x, w", """
        t1 = np.tanh(x) * w
        t2 = np.tanh(x) * w
        return t1 + t2
    """)
    q = opt.common_subexpressions(p)
    assert lines(q) == ["t1 = np.tanh(x) * w", "return t1 + t1"]
    same_values(p, q, (X, W))


@pytest.mark.parametrize("between", ["x = x * w + 0.1", "w = np.sin(w)", "t1 = x"])
def test_a_result_is_not_reused_after_what_it_reads_or_holds_is_assigned(between):
    """``np.tanh(x) * w`` after ``x`` (or ``w``, or the first result's holder) is assigned
    is another value: it is computed again."""
    p = program("x, w", f"""
        s = 0.0
        for i in range(3):
            t1 = np.tanh(x) * w
            {between}
            t2 = np.tanh(x) * w
            s = s + np.sum(t1 * t2)
        return s
    """)
    q = opt.common_subexpressions(p)
    assert "t2 = t1" not in lines(q)
    same_values(p, q, (X, W))


def test_calls_of_anything_but_array_functions_are_never_merged():
    p = program("xs, x", """
        t1 = xs.pop()
        t2 = xs.pop()
        t3 = np.random.rand()
        return t1 + t2
    """)
    q = opt.common_subexpressions(p)
    assert lines(q) == lines(p)


@pytest.mark.parametrize("expr", ["xs.pop() * 2.0", "x + xs.pop()", "-xs.pop() * x"])
def test_an_operation_on_a_call_of_anything_but_array_functions_is_never_merged(expr):
    """An operation is pure only where both its operands are: ``xs.pop() * 2.0`` twice takes
    two items."""
    p = program("xs, x", f"""
        t1 = {expr}
        t2 = {expr}
        return t1 + t2
    """)
    q = opt.common_subexpressions(p)
    assert lines(q) == lines(p)


def test_an_array_updated_in_place_is_never_merged():
    p = program("x, w", """
        y = x * w
        y[0] = 2.0
        z = x * w
        return y + z
    """)
    q = opt.common_subexpressions(p)
    assert "z = y" not in lines(q)
    same_values(p, q, (X, W))


# --- dead code, copies, inlining -----------------------------------------------------------------

def test_eliminate_drops_what_nothing_reads_and_keeps_effects():
    p = program("x", """
        t1 = np.sin(x)
        t2 = np.cos(x)
        print(t2)
        t3 = np.exp(x)
        return t1
    """)
    q = opt.eliminate(p)
    assert lines(q) == ["t1 = np.sin(x)", "t2 = np.cos(x)", "print(t2)", "return t1"]


def test_eliminate_keeps_what_the_next_iteration_reads():
    p = program("x", """
        h = x
        for i in range(3):
            g = h * 2.0
            h = np.sin(h)
            u = g
        return h
    """)
    q = opt.eliminate(p)
    assert "h = np.sin(h)" in lines(q) and "g = h * 2.0" not in lines(q)
    same_values(p, q, (X,))


def test_inline_substitutes_a_temporary_read_once():
    p = program("x", """
        t1 = np.sin(x)
        t2 = t1 * 2.0
        return t2
    """)
    q = opt.inline(p, frozenset())
    assert lines(q) == ["t2 = np.sin(x) * 2.0", "return t2"] or \
        lines(q) == ["return np.sin(x) * 2.0"]
    same_values(p, q, (X,))


def test_inline_leaves_a_temporary_read_twice():
    p = program("x", """
        t1 = np.sin(x)
        t2 = t1 * t1
        return t2
    """)
    q = opt.inline(p, frozenset())
    assert "t1 = np.sin(x)" in lines(q)
    same_values(p, q, (X,))


def test_inline_does_not_move_a_read_past_a_write_of_what_it_reads():
    p = program("x", """
        t1 = x * 2.0
        x = np.sin(x)
        t2 = t1 + x
        return t2
    """)
    q = opt.optimize(p, frozenset({"x"}))
    same_values(p, q, (X,))


def test_coalesce_removes_copies():
    p = program("x", """
        t1 = np.sin(x)
        a = t1
        return a * 2.0
    """)
    q = opt.coalesce(p)
    assert len(lines(q)) == 2
    same_values(p, q, (X,))


def test_coalesce_keeps_the_sweeps_apart_and_removes_a_chain_of_copies_at_once():
    """Copies dropped from the forward sweep leave the backward sweep where it starts."""
    p = program("x", """
        t1 = np.sin(x)
        t2 = t1
        t3 = t2
        t4 = t3 * 2.0
        # ---- backward
        d_t4 = np.ones_like(t4)
        d_x = d_t4 * 2.0 * np.cos(x)
        return d_x
    """)
    q = opt.coalesce(p)
    assert [code(g.expr) for g in q.forward] == ["np.sin(x)", "t1 * 2.0"]
    assert [g.target for g in q.backward] == ["d_t4", "d_x"]
    same_values(p, q, (X,))


# --- stacks of saved values ----------------------------------------------------------------------

SAVES_H = """
    saved_h = []
    h = x
    for i in range(2):
        saved_h.append(h)  # pair 1
        h = np.sin(h)
    # ---- backward
    d_h = np.ones_like(h)
"""


def test_a_push_whose_pop_is_gone_is_dropped():
    p = program("x", SAVES_H + """
    return d_h
    """)
    q = opt.prune_pushes(p)
    assert "saved_h.append(h)" not in lines(q)
    kept = program("x", SAVES_H + """
    for i in reversed(range(2)):
        h = saved_h.pop()  # pair 1
        d_h = d_h * np.cos(h)
    return d_h
    """)
    assert "saved_h.append(h)" in lines(opt.prune_pushes(kept))
    same_values(kept, opt.optimize(kept, frozenset({"x", "h"})), (X,))


# --- the whole pipeline --------------------------------------------------------------------------

def test_the_pipeline_keeps_values_through_branches_and_loops():
    p = program("x, w", """
        s = 0.0
        h = x
        for i in range(3):
            t1 = h * w
            t2 = np.tanh(t1)
            if np.sum(t2) > 0:
                h = t2 + 0.0
            else:
                h = t2 * 1.0
            t3 = np.tanh(t1)
            s = s + np.sum(t3 * h)
        return s
    """)
    q = opt.optimize(p, frozenset({"x", "w", "h", "s"}))
    assert "h = t2" in lines(q)                                # t2 * 1.0, folded
    assert "s = s + np.sum(np.tanh(t1) * h)" in lines(q)       # t3, read once, inlined
    same_values(p, q, (X, W))
    same_values(p, q, (-X, W))


# --- folding ------------------------------------------------------------------------------------

MASKS = ["x > 0", "(x > 0) & (x < 1)", "(x > 0) | (x < -0.5)", "(x > 0) ^ (w > 1)", "~(x > 0)",
         "np.isfinite(x)", "np.isnan(x)", "np.isinf(x)", "np.signbit(x)",
         "np.logical_and(x > 0, w > 1)", "np.logical_or(x > 0, w > 1)",
         "np.logical_not(x > 0)", "np.logical_xor(x > 0, w > 1)", "not (x[0] > 0)",
         "x[0] > 0 and w[0] > 1", "isnan(x)"]


@pytest.mark.parametrize("mask", MASKS)
@pytest.mark.parametrize("product", ["1.0 * ({})", "({}) * 1.0", "1 * ({})"])
def test_a_mask_times_one_stays_a_number(mask, product):
    """``1.0 * (x > 0)`` is an array of numbers, ``x > 0`` one of booleans: fold keeps the
    product (a boolean adjoint would be wrong under ``-`` and in-place ``+=``)."""
    expr = cst.parse_expression(product.format(mask))
    assert cst.Module([]).code_for_node(opt.fold(expr)) == product.format(mask)


@pytest.mark.parametrize(("expr", "folded"), [("c - (x + w) * 1.0", "c - (x + w)"),
                                              ("c - 1.0 * (x - w)", "c - (x - w)"),
                                              ("c / (x * w) ** 1", "c / (x * w)"),
                                              ("c * (x + w) + 0", "c * (x + w)")],
                         ids=["times-one", "one-times", "power-one", "plus-zero"])
def test_folding_keeps_the_parentheses_an_operand_needs(expr, folded):
    """``c - (x + w) * 1.0`` is ``c - (x + w)``, not ``c - x + w``."""
    assert cst.Module([]).code_for_node(opt.fold(cst.parse_expression(expr))) == folded


@pytest.mark.parametrize(("expr", "tidied"), [("x * (-w)", "x * -w"), ("x - (-w)", "x - -w"),
                                              ("x - (w * 2)", "x - w * 2"),
                                              ("x ** (-w)", "x ** (-w)"),
                                              ("x - (w - 1)", "x - (w - 1)")],
                         ids=["unary", "minus-unary", "product", "negative-exponent", "sum"])
def test_tidy_drops_only_the_parentheses_precedence_makes_redundant(expr, tidied):
    """``x * (-w)`` reads ``x * -w``; a negative exponent keeps its parentheses, and so does
    ``x - (w - 1)``, another sum."""
    assert code(opt.tidy(cst.parse_expression(expr))) == tidied


@pytest.mark.parametrize(("expr", "tidied"), [("f((x + 1), (w))", "f(x + 1, w)"),
                                              ("g((x * w), axis=(0))", "g(x * w, axis=0)"),
                                              ("f((x, w))", "f((x, w))")],
                         ids=["positional", "keyword", "tuple"])
def test_tidy_drops_the_parentheses_of_an_argument(expr, tidied):
    """An argument needs no parentheses of its own, but a tuple does."""
    assert code(opt.tidy(cst.parse_expression(expr))) == tidied


@pytest.mark.parametrize("operand", ["x", "x + w", "np.tanh(x)", "-x", "np.maximum(x, 0)",
                                     "x[0]"])
@pytest.mark.parametrize("product", ["1.0 * ({})", "({}) * 1.0", "({}) / 1", "({}) ** 1"])
def test_a_number_times_one_is_the_number(operand, product):
    expr = cst.parse_expression(product.format(operand))
    assert code(opt.tidy(opt.fold(expr))) == operand
