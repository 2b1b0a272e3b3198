"""Random small programs mixing branches and loops: srcgrad.grad against jax.grad (x64).

A hypothesis strategy writes the source text of ``def f(x, w):`` from a small grammar
(assignments, augmented assignments, ``if/elif/else``, conditional expressions, ``for`` over
``range``/an array/``enumerate``/``zip``, counter-bounded ``while``, ``break``/``continue`` as
the last statement of a branch, nested branches included), execs it once with ``np`` bound to
NumPy for srcgrad and once with ``np`` bound to ``jax.numpy`` for the oracle. Programs whose
branch path flips within a tiny perturbation of the inputs are skipped: there the derivative
is not defined.

Each variable has a declared shape, and most assignments keep it; one in four may change it
(a scalar becoming a vector in a branch or on a loop trip, or back). The fixed examples at the
end are bugs this generator found (a variable changing shape at a branch join or a loop back
edge, an overwritten scalar's adjoint, a saved value taken off its stack out of order); all
are fixed and kept as regression tests.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import jax

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
from hypothesis import assume, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import srcgrad  # noqa: E402

# --- the program grammar ---------------------------------------------------------------------
# Expressions carry their shape: True for a (3,) vector, False for a scalar. Each variable
# has a declared shape that most assignments keep (see the module docstring).

VAR_IS_VECTOR = {"a": True, "b": True, "c": False, "h": True}
VARS = tuple(VAR_IS_VECTOR)
MAX_DEPTH = 3        # nesting of compound statements
MAX_STATEMENTS = 12  # statements in the body, compound ones and their children included
CONSTS = ("0.5", "1.3", "-0.7", "0.25")
THRESHOLDS = ("-0.5", "0.0", "0.3", "1.0", "2.0")
RANGES = ("range(0)", "range(1)", "range(2)", "range(3)", "range(4)", "range(1, 4)",
          "range(0, 4, 2)", "range(3, 0, -1)")


@dataclass(frozen=True)
class _Scope:
    """What a statement may use: names with their shapes, loop variables, where it is."""

    names: tuple[tuple[str, bool], ...]   # (name, is a vector) of x, w and the variables
    ints: tuple[str, ...] = ()            # int loop variables
    loop_floats: tuple[str, ...] = ()     # float loop variables
    depth: int = 0                        # compound statements around
    jump_ok: bool = False                 # an if here may end a branch with break/continue

    def loop(self, ints=(), loop_floats=()):
        return replace(self, ints=self.ints + tuple(ints),
                       loop_floats=self.loop_floats + tuple(loop_floats),
                       depth=self.depth + 1, jump_ok=True)

    def branch(self):
        return replace(self, depth=self.depth + 1)


def _as(e, want_vector):
    """The expression ``e = (text, is_vector)`` made the wanted shape."""
    text, vec = e
    if vec == want_vector:
        return text
    return f"{text} * np.cos(x)" if want_vector else f"np.sum({text}) * 0.3"


def _leaf(draw, scope):
    options = [*scope.names, *((r, False) for r in scope.loop_floats),
               *((c, False) for c in CONSTS), ("x[0]", False), ("x[2]", False),
               ("np.sum(x[1:3])", False)]
    options += [(f"x[{i} % 3]", False) for i in scope.ints]
    options += [(f"{i} * 0.1", False) for i in scope.ints]
    return draw(st.sampled_from(options))


def _expr(draw, scope, depth, top=False):
    """``(text, is_vector)``; ``top``: never a bare name (no two variables share an array)."""
    if depth <= 0 or (not top and draw(st.integers(0, 3)) == 0):
        return _leaf(draw, scope)
    kind = draw(st.integers(0, 15))
    e, vec = _expr(draw, scope, depth - 1)
    unary = {0: "np.sin({})", 1: "np.cos({})", 2: "np.tanh({})", 3: "np.exp(np.tanh({}))",
             4: "{} * 0.5", 5: "np.sin({}) ** 2", 6: "np.log(1.5 + np.cos({}))",
             7: "np.sqrt(1.0 + np.sin({}) ** 2)"}
    if kind in unary:
        return unary[kind].format(e), vec
    if kind == 8:
        return f"np.sum({e}) * 0.3", False
    if kind == 9:
        return f"np.mean({e})", False
    if kind == 10:
        return f"x @ np.tanh({e} + x) * 0.3", False
    e2, vec2 = _expr(draw, scope, depth - 1)
    if kind == 11:
        return f"({e} + {e2})", vec or vec2
    if kind == 12:
        return f"({e} - {e2})", vec or vec2
    if kind == 13:
        squash = draw(st.sampled_from(("np.tanh", "np.cos", "np.sin")))
        return f"{e} * {squash}({e2})", vec or vec2
    if kind == 14:
        return f"{e} / (1.5 + np.sin({e2}))", vec or vec2
    choice = f"{e} if {_cond(draw, scope, simple=True)} else {e2}"
    if vec == vec2:
        return f"np.tanh({choice})", vec
    return f"np.sum(np.tanh({choice})) * 0.3", False   # the shape depends on the path


def _cond(draw, scope, simple=False):
    name = draw(st.sampled_from([*scope.names, ("np.sum(x[1:3])", False)]))[0]
    atoms = [f"np.sum({name}) > {draw(st.sampled_from(THRESHOLDS))}",
             f"np.mean({_expr(draw, scope, 1)[0]}) < {draw(st.sampled_from(THRESHOLDS))}"]
    atoms += [f"{i} % 2 == 0" for i in scope.ints] + [f"{i} >= 2" for i in scope.ints]
    atoms += [f"{r} > {draw(st.sampled_from(THRESHOLDS))}" for r in scope.loop_floats]
    atom = draw(st.sampled_from(atoms))
    if simple:
        return atom
    how = draw(st.integers(0, 5))
    if how == 0:
        return f"{atom} and {draw(st.sampled_from(atoms))}"
    if how == 1:
        return f"{atom} or {draw(st.sampled_from(atoms))}"
    if how == 2:
        return f"not {atom}"
    return atom


class _Budget:
    def __init__(self, n):
        self.left = n


def _block(draw, scope, budget, pad):
    """One to three statements (at least one), indented by ``pad``."""
    lines = []
    for k in range(draw(st.integers(1, 3))):
        if k and budget.left <= 0:
            break
        lines += _statement(draw, scope, budget, pad)
    return lines


def _shaped(draw, e, want_vector):
    """``e`` made the wanted shape, or one time in four left as it is."""
    return e[0] if draw(st.integers(0, 3)) == 0 else _as(e, want_vector)


SELF_UPDATES = ("{v} / (1.5 + np.sin({e}))", "{v} * np.tanh({e})", "np.tanh({v} + {e})",
                "{v} * 0.5 + {e}", "np.sin({v}) * {e}")


def _statement(draw, scope, budget, pad):
    budget.left -= 1
    compound = scope.depth < MAX_DEPTH and budget.left > 1
    kind = draw(st.integers(0, 11 if compound else 3))
    v = draw(st.sampled_from(VARS))
    vec = VAR_IS_VECTOR[v]
    if kind <= 1:
        return [f"{pad}{v} = {_shaped(draw, _expr(draw, scope, 2, top=True), vec)}"]
    if kind == 2:
        op, rhs = draw(st.sampled_from((("+=", "{}"), ("-=", "{} * 0.5"), ("*=", "np.cos({})"))))
        e = _expr(draw, scope, 2)
        return [f"{pad}{v} {op} {rhs.format(e[0] if vec else _shaped(draw, e, False))}"]
    if kind == 3:   # a variable updated from its own value: what loops carry
        e = _expr(draw, scope, 1)
        update = draw(st.sampled_from(SELF_UPDATES))
        return [f"{pad}{v} = {update.format(v=v, e=e[0] if vec else _shaped(draw, e, False))}"]
    inner = pad + "    "
    d = scope.depth
    if kind in (4, 5):
        return _if(draw, scope, budget, pad)
    if kind in (6, 7):
        i = f"i{d}"
        return [f"{pad}for {i} in {draw(st.sampled_from(RANGES))}:",
                *_block(draw, scope.loop(ints=[i]), budget, inner)]
    if kind == 8:
        r = f"r{d}"
        seq = draw(st.sampled_from(("x", f"np.sin({draw(st.sampled_from(VARS))} + x)")))
        return [f"{pad}for {r} in {seq}:",
                *_block(draw, scope.loop(loop_floats=[r]), budget, inner)]
    if kind == 9:
        i, r = f"i{d}", f"r{d}"
        return [f"{pad}for {i}, {r} in enumerate(x):",
                *_block(draw, scope.loop(ints=[i], loop_floats=[r]), budget, inner)]
    if kind == 10:
        r, q = f"r{d}", f"q{d}"
        other = f"np.cos({_expr(draw, scope, 1)[0]} + x)"
        return [f"{pad}for {r}, {q} in zip(x, {other}):",
                *_block(draw, scope.loop(loop_floats=[r, q]), budget, inner)]
    n = f"n{d}"
    cond = f"{n} < {draw(st.integers(0, 3))}"
    if draw(st.booleans()):
        cond += f" and {_cond(draw, scope, simple=True)}"
    return [f"{pad}{n} = 0", f"{pad}while {cond}:", f"{inner}{n} = {n} + 1",
            *_block(draw, scope.loop(), budget, inner)]


def _if(draw, scope, budget, pad):
    """if/elif/else; directly in a loop body the first branch, or the else branch when there
    is no elif, may end with break or continue (srcgrad refuses jumps in nested branches)."""
    has_elif, has_else = draw(st.booleans()), draw(st.booleans())
    jumps = ("", "", "break", "continue") if scope.jump_ok else ("",)
    lines = [f"{pad}if {_cond(draw, scope)}:",
             *_branch(draw, scope, budget, pad, draw(st.sampled_from(jumps)))]
    if has_elif:
        lines += [f"{pad}elif {_cond(draw, scope)}:", *_branch(draw, scope, budget, pad, "")]
    if has_else:
        jump = "" if has_elif else draw(st.sampled_from(jumps))
        lines += [f"{pad}else:", *_branch(draw, scope, budget, pad, jump)]
    return lines


def _branch(draw, scope, budget, pad, jump):
    inner = pad + "    "
    if jump and draw(st.booleans()):
        return [f"{inner}{jump}"]
    lines = _block(draw, scope.branch(), budget, inner)
    return lines + [f"{inner}{jump}"] if jump else lines


@st.composite
def programs(draw, w_is_vector):
    """The source text of a ``def f(x, w):`` mixing branches and loops."""
    lines = ["def f(x, w):"]
    scope = _Scope((("x", True), ("w", w_is_vector)))
    for v in VARS:
        lines.append(f"    {v} = {_as(_expr(draw, scope, 2, top=True), VAR_IS_VECTOR[v])}")
        scope = replace(scope, names=scope.names + ((v, VAR_IS_VECTOR[v]),))
    budget = _Budget(MAX_STATEMENTS)
    while budget.left > 0:
        lines += _block(draw, scope, budget, "    ")
        if draw(st.booleans()):
            break
    ret = draw(st.sampled_from(("np.sum(a * h)", "np.sum(b)", "np.sum(a * h) + np.sum(c)",
                                "np.sum(np.sin(a) * b) + np.mean(h * c) * 2.0")))
    lines.append(f"    return {ret}")
    return "\n".join(lines) + "\n"


@st.composite
def cases(draw):
    """A program and its arguments: x of shape (3,), w a float or of shape (3,)."""
    w_is_vector = draw(st.booleans())
    text = draw(programs(w_is_vector))
    rng = np.random.default_rng(draw(st.integers(0, 2 ** 32 - 1)))
    x = rng.uniform(-1.5, 1.5, 3)
    w = rng.uniform(-1.5, 1.5, 3) if w_is_vector else float(rng.uniform(-1.5, 1.5))
    return text, x, w


# --- the comparison ----------------------------------------------------------------------------

def _compile(text, xp):
    namespace = {"np": xp}
    exec(compile(text, "<random program>", "exec"), namespace)
    return namespace["f"]


def _path_is_stable(f, x, w, g):
    """Central differences of ``f`` (NumPy) agree with jax's directional derivative.

    No variable of a generated program shares its array with another or with an argument, so
    the in-place augmented assignments of NumPy compute what jax computes.
    """
    rng = np.random.default_rng(0)
    dx, dw = rng.standard_normal(3), rng.standard_normal(np.shape(w))
    eps = 1e-6

    def at(t):
        return float(f(x + t * dx, w + t * dw))

    fd = (at(eps) - at(-eps)) / (2 * eps)
    want = float(np.dot(np.asarray(g[0]), dx) + np.sum(np.asarray(g[1]) * dw))
    return abs(fd - want) <= 1e-5 * (1.0 + abs(want) + abs(at(0.0)))


def compare(text, x, w, skip_unstable=False):
    """srcgrad.grad of the program ``text`` equals jax.grad at (x, w), shapes included."""
    f_np, f_jax = _compile(text, np), _compile(text, jnp)
    w_jax = w if isinstance(w, float) else jnp.asarray(w)
    want = jax.grad(f_jax, argnums=(0, 1))(jnp.asarray(x), w_jax)
    if skip_unstable:
        finite = all(np.all(np.isfinite(np.asarray(v))) for v in want)
        assume(finite and max(np.max(np.abs(np.asarray(v))) for v in want) < 1e8)
        assume(_path_is_stable(f_np, x, w, want))
    try:
        got = srcgrad.grad(f_np, wrt=("x", "w"), source=text)(x, w)
    except Exception as exc:
        raise AssertionError(f"srcgrad failed on\n{text}\nwith x={x!r}, w={w!r}") from exc
    for name, g, ref, arg in zip("xw", got, want, (x, w), strict=True):
        assert np.shape(g) == np.shape(arg), f"d{name} has shape {np.shape(g)} in\n{text}"
        np.testing.assert_allclose(np.asarray(g), np.asarray(ref), rtol=1e-7, atol=1e-9,
                                   err_msg=f"d{name} of\n{text}\nwith x={x!r}, w={w!r}")


@settings(max_examples=60, deadline=None, derandomize=True)
@given(cases())
def test_random_programs_match_jax(case):
    """Random programs (shown on failure) get jax's gradients."""
    compare(*case, skip_unstable=True)


# --- fixed programs, reproducible without hypothesis ------------------------------------------

X = np.array([0.3, -0.8, 1.1])
W = np.array([0.7, -0.4, 0.9])

LOOP_IN_BRANCH_IN_LOOP = """\
def f(x, w):
    a = x * w
    h = np.sin(x)
    for i0 in range(3):
        if np.sum(h) > 0.3:
            for r1 in x:
                a = a + r1 * np.tanh(h)
        else:
            h = np.cos(h * w) + x[i0 % 3]
        a = a * 0.5
    return np.sum(a * h)
"""

WHILE_WITH_BREAK_AND_CONTINUE = """\
def f(x, w):
    a = np.tanh(x * w)
    h = np.cos(x)
    n0 = 0
    while n0 < 4:
        n0 = n0 + 1
        for i1, r1 in enumerate(x):
            if i1 % 2 == 1:
                h = h * np.sin(a)
                continue
            a = a + r1 * h
            if np.sum(a) > 1.0:
                break
        h = h - a * 0.5
    return np.sum(a * h)
"""

ELIF_ZIP_AND_CONDITIONAL_EXPRESSION = """\
def f(x, w):
    a = np.exp(np.tanh(x))
    b = np.sum(x * w) * 0.3
    h = x * 0.5
    for r0, q0 in zip(x, np.cos(w + x)):
        if np.sum(h) < -0.5:
            b = b * 0.5
            break
        elif r0 > 0.5 and q0 < 1.0:
            b = b + r0 * q0
        else:
            h = np.tanh(h if np.sum(h) > 0.0 else a) * b
        if np.mean(a) < 0.3:
            a = a * np.cos(b)
        else:
            continue
    return np.sum(a * h) + np.sum(b)
"""

NESTED_WHILE_DATA_DEPENDENT = """\
def f(x, w):
    a = x * 1.3
    h = np.sin(w * x)
    n0 = 0
    while n0 < 3 and np.sum(a) < 3.0:
        n0 = n0 + 1
        for i1 in range(3, 0, -1):
            n2 = 0
            while n2 < 2:
                n2 = n2 + 1
                if np.sum(h) > 0.0:
                    h = h * np.cos(a) + x[i1 % 3]
                    continue
                a += np.tanh(h)
            a *= np.cos(h)
        a = a + 0.25
    return np.sum(a * h)
"""

LOOP_CARRIED_DIVISION = """\
def f(x, w):
    c = x[0] * w
    for r in x:
        c = c / (1.5 + np.sin(r))
    for i in range(2):
        c = c / (1.5 + x)
    return np.sum(c)
"""


def test_loop_in_branch_in_loop():
    """A loop over an array inside an if inside a range loop."""
    compare(LOOP_IN_BRANCH_IN_LOOP, X, W)
    compare(LOOP_IN_BRANCH_IN_LOOP, -X, 0.6)


def test_while_with_break_and_continue():
    """continue and break as the last statements of if-branches in a for inside a while."""
    compare(WHILE_WITH_BREAK_AND_CONTINUE, X, W)
    compare(WHILE_WITH_BREAK_AND_CONTINUE, X * 0.2, -0.6)


def test_elif_zip_and_conditional_expression():
    """if/elif/else over zip, a conditional expression, break and continue."""
    compare(ELIF_ZIP_AND_CONDITIONAL_EXPRESSION, X, W)
    compare(ELIF_ZIP_AND_CONDITIONAL_EXPRESSION, -X, 1.2)


def test_nested_while_with_data_dependent_condition():
    """A while inside a for inside a while whose condition reads the data; augmented updates."""
    compare(NESTED_WHILE_DATA_DEPENDENT, X, W)
    compare(NESTED_WHILE_DATA_DEPENDENT, -X, 0.4)


def test_loop_carried_division():
    """A variable divided by a loop-dependent value on every trip (the quotient reads it)."""
    compare(LOOP_CARRIED_DIVISION, X, 0.5)
    compare(LOOP_CARRIED_DIVISION, -X, W)


# --- variables changing shape at a branch join or a loop back edge -----------------------------

GROWS_IN_A_BRANCH = """\
def f(x, w):
    a = np.sin(w)
    if np.sum(x) > 0.0:
        a = a * x
    return np.sum(a)
"""

GROWS_IN_A_LOOP = """\
def f(x, w):
    a = np.sin(w)
    for i in range(2):
        a = a * x
    return np.sum(a)
"""


OVERWRITTEN_IN_A_BRANCH = """\
def f(x, w):
    a = np.sin(w)
    if np.sum(x) > 0.0:
        a = np.sin(x)
    return np.sum(a)
"""


def test_variable_growing_in_a_branch():
    """A scalar variable that becomes a vector in one branch."""
    compare(GROWS_IN_A_BRANCH, X, 0.5)


def test_variable_growing_in_a_loop():
    """A scalar variable that becomes a vector on the first trip of a loop."""
    compare(GROWS_IN_A_LOOP, X, 0.5)


def test_variable_overwritten_with_a_vector_in_a_branch():
    """A scalar variable overwritten (not read) by a vector in a branch: d/dw is a float."""
    compare(OVERWRITTEN_IN_A_BRANCH, X, 0.5)


SCALAR_THEN_VECTOR_IN_A_LOOP = """\
def f(x, w):
    for r0 in x:
        b = w * 0.3
        for r2 in x:
            h = np.sin(b)
        b = np.sin(x)
    return np.sum(h)
"""


def test_scalar_overwritten_by_a_vector_later_in_the_same_loop():
    """Found by a 400-program run: the adjoint of b, zeroed before the inner backward loop,
    took the shape of the vector b holds later (d/dw came out 3x); b's value at the end of
    the inner loop now comes back from the stack first."""
    compare(SCALAR_THEN_VECTOR_IN_A_LOOP, X, 0.5)
    compare(SCALAR_THEN_VECTOR_IN_A_LOOP, X, W)
