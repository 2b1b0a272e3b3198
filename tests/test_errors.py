"""Bad input raises SrcGradError located at the user's line, with a caret and a hint."""

from __future__ import annotations

import inspect

import numpy as np
import pytest

import srcgrad
from srcgrad import SrcGradError

X = np.linspace(0.1, 1.0, 6).reshape(2, 3)


def line_of(fn, text):
    lines, start = inspect.getsourcelines(fn)
    for k, line in enumerate(lines):
        if text in line:
            return start + k, line.index(text)
    raise AssertionError(text)


def raises_at(fn, text, *args, match, wrt=0):
    with pytest.raises(SrcGradError, match=match) as info:
        srcgrad.grad(fn, wrt=wrt)(*args)
    err = info.value
    lineno, col = line_of(fn, text)
    assert err.filename == __file__
    assert err.lineno == lineno
    assert err.col == col
    rendered = str(err)
    assert f'line {lineno}' in rendered and "^" in rendered and "hint:" in rendered
    return err


def early_return(x):
    try:
        y = x * 2.0
    except ValueError:
        y = x
    return np.sum(y)


def for_else(x):
    for _ in range(3):
        for _ in range(2):
            x = x * 2
        else:
            break
    return np.sum(x)


def yields(x):
    yield np.sum(x)


def uses_comprehension(x):
    d = {i: x[i] for i in range(2)}
    return np.sum(d[0])


def uses_with(x):
    with open("f") as fh:
        fh.read()
    return np.sum(x)


def uses_global(x):
    global X
    return np.sum(x)


def index_assign(x):
    y = x * 1.0
    y.shape = (6,)
    return np.sum(y)


def starred(x):
    return np.sum(np.stack(*[x, x]))


@pytest.mark.parametrize("fn, text, match", [
    (early_return, "try:", r"`try` statements are not supported"),
    (for_else, "else:", r"in the `else:` block of a loop is not supported"),
    (yields, "yield np.sum(x)", r"`yield` is not supported"),
    (uses_comprehension, "{i: x[i] for i in range(2)}", r"dict comprehension"),
    (uses_with, "with open", r"`with` statements"),
    (uses_global, "global X", r"`global` is not supported"),
    (index_assign, "y.shape", r"assignment to attribute targets"),
    (starred, "*[x, x]", r"\*-arguments are not supported"),
])
def test_unsupported_syntax_is_named_and_located(fn, text, match):
    raises_at(fn, text, X, match=match)


def calls_hfft(x):
    y = np.abs(np.fft.hfft(x))
    return np.sum(y)


def test_call_without_rule_or_source_names_the_function():
    err = raises_at(calls_hfft, "y = np.abs", X,
                    match=r"cannot differentiate through np\.fft\.hfft\(\)")
    assert "rule" in err.hint


def passive_call_is_fine(x):
    n = int(np.prod(x.shape))
    return np.sum(x) / n


def test_calls_without_rules_on_constants_are_allowed():
    np.testing.assert_allclose(srcgrad.grad(passive_call_is_fine)(X), np.full_like(X, 1 / 6))


def vector_out(x):
    return x * 2.0


def test_non_scalar_output_is_refused_with_a_hint():
    with pytest.raises(SrcGradError, match="scalar output") as info:
        srcgrad.grad(vector_out)(X)
    assert "np.sum" in info.value.hint


def two_args(x, y):
    return np.sum(x * y)


def test_wrt_that_names_no_parameter():
    with pytest.raises(SrcGradError, match="names no parameter") as info:
        srcgrad.grad(two_args, wrt="z")(X, X)
    assert info.value.lineno == line_of(two_args, "def two_args")[0]
    with pytest.raises(SrcGradError, match="has 2 parameters"):
        srcgrad.grad(two_args, wrt=5)(X, X)


def test_differentiating_with_respect_to_an_integer_is_refused():
    with pytest.raises(SrcGradError, match="integer"):
        srcgrad.grad(two_args)(3, 2.0)
    with pytest.raises(SrcGradError, match="integer"):
        srcgrad.grad(two_args)(np.arange(3), np.ones(3))


def test_function_without_source_gets_a_source_escape_hatch():
    namespace = {"np": np}
    exec("def f(x):\n    return np.sum(x ** 3)\n", namespace)
    f = namespace["f"]
    with pytest.raises(SrcGradError, match="cannot read the source") as info:
        srcgrad.grad(f)(X)
    assert "source=" in info.value.hint
    g = srcgrad.grad(f, source="def f(x):\n    return np.sum(x ** 3)\n")
    np.testing.assert_allclose(g(X), 3 * X ** 2)


def recursive(x):
    return recursive(x) * 1.0


def test_recursion_is_refused_with_a_location():
    raises_at(recursive, "recursive(x) * 1.0", X, match="recursive call")


def aliasing(x):
    y = x
    y += 1.0
    return np.sum(y * x)


def test_in_place_update_of_an_alias_is_refused():
    raises_at(aliasing, "y += 1.0", X, match="would change 'x' too")


def updated_while_iterated(x):
    b = x + 0.25
    c = 0.0
    for r in b:
        b *= np.cos(x)                 # NumPy's loop sees the new rows: r is a view of b
        if np.sum(r) > 0.3:
            c = c + np.mean(b ** 3)
    return c


def test_in_place_update_of_an_iterated_array_is_refused():
    """The fuzzer's seed 106468: srcgrad's b *= makes a new array, Python's changes the rows
    the loop still reads; refused (it was a silently different gradient)."""
    raises_at(updated_while_iterated, "b *= np.cos(x)", X,
              match="would change 'b' while the loop on line")


def undefined(x):
    return np.sum(x * not_defined_anywhere)  # noqa: F821


def test_undefined_name():
    raises_at(undefined, "not_defined_anywhere", X, match="not defined")


def test_errors_come_from_srcgrad_not_from_deep_inside():
    with pytest.raises(SrcGradError) as info:
        srcgrad.grad(for_else)(X)
    # The exception is raised with its cause suppressed: no chained internal traceback.
    assert info.value.__cause__ is None


def returns_none(x):
    y = x * 2.0  # noqa: F841


def test_a_function_returning_none_is_refused():
    with pytest.raises(SrcGradError, match="returns None") as info:
        srcgrad.grad(returns_none)(X)
    assert info.value.lineno is not None   # the error points into the function


def test_malformed_wrt_is_a_srcgrad_error():
    with pytest.raises(SrcGradError, match="wrt must be"):
        srcgrad.grad(two_args, wrt=1.5)(X, X)
    with pytest.raises(SrcGradError, match="wrt is empty") as info:
        srcgrad.grad(two_args, wrt=())(X, X)
    assert "x, y" in info.value.hint


def test_integer_passed_by_keyword_is_refused():
    with pytest.raises(SrcGradError, match="integer"):
        srcgrad.grad(two_args)(x=3, y=2.0)


def test_unknown_callee_is_named_as_the_user_wrote_it():
    with pytest.raises(SrcGradError) as info:
        srcgrad.grad(calls_hfft)(X)
    assert "hfft_2" not in str(info.value) and "np.fft.hfft()" in str(info.value)
