"""A corpus of functions outside the supported subset, or written to break the transformer.
Each is either differentiated correctly (against finite differences, and srcgrad.check_grad in
both modes) or refused with a SrcGradError at its own file, line and column, never a traceback
from inside srcgrad, never a hang."""

from __future__ import annotations

import functools
import inspect
import signal
import textwrap

import numpy as np
import pytest
from oracle import finite_difference

import srcgrad

X = np.linspace(0.1, 1.0, 3)
CORPUS: list[tuple] = []


def refused(text: str, match: str):
    """Expect a SrcGradError matching ``match`` at the first line containing ``text``."""
    def register(fn):
        CORPUS.append((fn, text, match))
        return fn
    return register


def correct(fn):
    CORPUS.append((fn, None, None))
    return fn


# --- statements and expressions outside the subset ------------------------------------------------

@refused("try:", "`try` statements are not supported")
def uses_try(x):
    try:
        y = x * 2.0
    except ValueError:
        y = x
    return np.sum(y)


@refused("with open", "`with` statements are not supported")
def uses_with(x):
    with open("data.txt") as fh:
        fh.read()
    return np.sum(x)


@refused("yield", "`yield` is not supported")
def generator(x):
    yield np.sum(x)


@refused("async def", "`async def` function is not supported")
async def coroutine(x):
    return np.sum(x)


@refused("global SCALE", "`global` is not supported")
def writes_a_global(x):
    global SCALE
    SCALE = 2.0
    return np.sum(x)


SCALE = 1.0


@refused("nonlocal total", "`nonlocal` is not supported")
def writes_nonlocal(x):
    total = 0.0

    def add(v):
        nonlocal total
        total = total + v
    add(np.sum(x))
    return total


@refused("del y", "`del` is not supported")
def deletes(x):
    y = x * 2.0
    del y
    return np.sum(x)


@refused('exec("y = 1")', "exec\\(\\) is not supported")
def runs_exec(x):
    exec("y = 1")
    return np.sum(x)


@refused('eval("x * 2")', "eval\\(\\) is not supported")
def runs_eval(x):
    return np.sum(eval("x * 2"))


@refused("*[x, x]", "\\*-arguments are not supported")
def star_args(x):
    return np.sum(np.stack(*[x, x]))


@refused("(y := np.sum(x))", "walrus operator")
def walrus_in_a_test(x):
    if (y := np.sum(x)) > 0:
        return y * 2.0
    return y


@refused("match 1:", "`match` statements are not supported")
def uses_match(x):
    match 1:
        case 1:
            y = x
    return np.sum(y)


@refused("class Inner:", "`class` statements are not supported")
def defines_a_class(x):
    class Inner:
        pass
    return np.sum(x)


@refused("return forever(x) + 1.0", "recursive call")
def forever(x):
    return forever(x) + 1.0


@refused("box.value = x", "assignment to attribute targets")
def writes_an_attribute(x, box=None):
    box.value = x
    return np.sum(x)


@refused("xs.append(x)", "only a list made in the function")
def appends_to_its_argument(x, xs=[]):  # noqa: B006 - the point of the case
    xs.append(x)
    return np.sum(x)


@correct  # checked in the forward sweep
def asserts(x):
    assert np.all(x > 0)
    return np.sum(x)


@correct  # raised in the forward sweep, where it would be
def raises(x):
    if np.sum(x) < -1e9:
        raise ValueError("too small")
    return np.sum(x)


@refused("import math", "`import` is not supported")
def imports(x):
    import math
    return np.sum(x) * math.pi


@refused("{1, 2}", "a set literal is not supported")
def set_literal(x):
    return np.sum(x) * len({1, 2})


@refused("np.fft.hfft(x)", r"cannot differentiate through np\.fft\.hfft\(\)")
def no_rule(x):
    return np.sum(np.abs(np.fft.hfft(x)))


@correct
def spectrum_magnitudes(x):   # np.fft.fft has a rule (it had none: refused above until #17)
    return np.sum(np.abs(np.fft.fft(x, axis=0)))


@refused("x.tolist()", r"the array method \.tolist\(\) is not supported")
def leaves_numpy(x):
    return sum(x.tolist())


def doubled(fn):
    @functools.wraps(fn)
    def wrapper(*args):
        return 2.0 * fn(*args)
    return wrapper


@refused("def wrapper(*args):", "\\*args parameters are not supported")
@doubled
def decorated_by_a_wrapper(x):  # its wrapper runs, not this: refused, never unwrapped
    return np.sum(x ** 2)


# --- written to confuse the transformer, and differentiated correctly -----------------------------

@correct
def shadows_numpy_names(x):
    sin = np.cos  # a local named like a numpy function
    sum = np.prod  # noqa: A001 - and like a builtin
    return sum(sin(x)) + np.sum(x)


@correct
def unicode_identifiers(x):
    α = x * 2.0
    β_2 = np.sin(α)
    return np.sum(β_2 * α)


@correct
def array_default_argument(x, w=np.array([1.0, -2.0, 0.5])):  # noqa: B008
    return np.sum(np.tanh(x * w))


def registered(fn):  # a decorator that returns the function itself
    registered.seen = fn.__name__
    return fn


class Counted:
    """A decorator object around a function (like functools.lru_cache): it adds no math."""

    def __init__(self, fn):
        self.__wrapped__ = fn
        self.__name__ = fn.__name__
        self.calls = 0

    def __call__(self, *args):
        self.calls += 1
        return self.__wrapped__(*args)


@correct
@registered
@Counted
def decorator_stack(x):
    return np.sum(x ** 3)


def twice_explicit(fn):
    @functools.wraps(fn)
    def wrapper(x):
        return 2.0 * fn(x)
    return wrapper


@correct
@twice_explicit
def wrapped_with_explicit_parameters(x):  # the wrapper is differentiated: 2 * sum(sin)
    return np.sum(np.sin(x))


@correct
def names_like_temporaries(x):
    t1 = x * 2.0
    d_t1 = t1 + 1.0
    saved_t1 = np.sin(d_t1)
    t1_dot = saved_t1 * t1
    return np.sum(t1_dot * d_t1)


@correct
def names_like_helpers(x):
    unbroadcast = x * 2.0
    seed = np.sum(unbroadcast)
    zero_grad = np.tanh(seed)
    return zero_grad * np.sum(x)


@refused("return np.sum(np.exp(x))", "the array method .exp\\(\\) is not supported")
def shadows_np_itself(x, np=np):  # np is a parameter here: a value, not the module
    return np.sum(np.exp(x))


@correct
def tuple_swaps_and_chains(x):
    a, b = x, x * 2.0
    a, b = b, a
    c = d = a * b
    if 0 < np.sum(x) < 100:  # a chained comparison in a test
        c = c * 2.0
    return np.sum(c + d)


@correct
def while_true_with_break(x):
    n = 0
    while True:
        x = x * 0.5 + 0.1
        n += 1
        if n > 3:
            break
    return np.sum(x)


@correct
def noise_from_a_generator(x):
    noise = np.random.default_rng(0).standard_normal(3)  # a method of an opaque object
    return np.sum(x * noise)


@correct
def prints_and_formats(x):
    label = f"{np.sum(x):.2f}"
    print("loss", label, end="")
    return np.sum(x ** 2) * len(label)


@correct
def augmented_everything(x):
    y = x * 1.0
    y += 1.0
    y *= x
    y -= 0.5
    y /= 2.0
    y **= 2
    y = np.outer(y, x)
    y @= np.eye(3)
    return np.sum(y)


@correct
def keyword_only_and_defaults(x, *, scale=2.0, power=3):
    return np.sum((x * scale) ** power)


@correct
def docstring_and_annotations(x: np.ndarray) -> float:
    """A docstring, annotations, a pass and an ellipsis."""
    y: np.ndarray = np.sin(x)
    pass
    ...
    return np.sum(y)


def _long_function(lines: int) -> str:
    body = "".join(f"    x = np.sin(x) * 0.5 + x * {1 + k % 7 / 100:.2f}\n" for k in range(lines))
    return f"def very_long(x):\n{body}    return np.sum(x)\n"


# --- the tests ------------------------------------------------------------------------------------

def _line(fn, text):
    """The first line of ``fn``'s own code (after its decorators) that contains ``text``."""
    target = fn if inspect.isfunction(fn) else inspect.unwrap(fn)
    lines, first = inspect.getsourcelines(target.__code__)
    started = False
    for k, line in enumerate(lines):
        started = started or line.lstrip().startswith(("def ", "async def "))
        if started and text in line:
            return first + k
    raise AssertionError(f"{text!r} not in the source of {fn.__name__}")


class _Timeout(Exception):
    pass


def _alarm(signum, frame):
    raise _Timeout


@pytest.fixture()
def no_hang():
    old = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(60)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def test_the_corpus_is_large_enough():
    assert len(CORPUS) >= 30


@pytest.mark.parametrize(("fn", "text", "match"), [c for c in CORPUS if c[1] is not None],
                         ids=[c[0].__name__ for c in CORPUS if c[1] is not None])
def test_refused_at_the_users_line(fn, text, match, no_hang):
    with pytest.raises(srcgrad.SrcGradError, match=match) as info:
        srcgrad.grad(fn)(X)
    err = info.value
    assert err.filename == __file__
    assert err.lineno == _line(fn, text)
    assert err.col is not None and "^" in str(err) and "hint:" in str(err)
    assert info.traceback[-1].path.name != "normalize.py"  # raised at the API, not deep inside


@pytest.mark.parametrize("fn", [c[0] for c in CORPUS if c[1] is None],
                         ids=[c[0].__name__ for c in CORPUS if c[1] is None])
def test_differentiated_correctly(fn, no_hang, capsys):
    got = srcgrad.grad(fn)(X)
    np.testing.assert_allclose(got, finite_difference(fn, (X,), 0), rtol=1e-6, atol=1e-8)
    srcgrad.check_grad(fn, X)


def test_a_function_of_5000_lines(no_hang):
    namespace = {"np": np}
    text = _long_function(5000)
    exec(compile(text, "<very_long>", "exec"), namespace)  # the test's own code
    fn = namespace["very_long"]
    g = srcgrad.grad(fn, source=textwrap.dedent(text))
    got = g(X)
    np.testing.assert_allclose(got, finite_difference(fn, (X,), 0), rtol=1e-5, atol=1e-7)
    assert len(g.source.splitlines()) > 5000
