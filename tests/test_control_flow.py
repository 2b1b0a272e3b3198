"""Control flow in reverse mode: every construct against finite differences and jax.grad."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
from oracle import check, jax

import srcgrad

if jax is not None:
    import jax.numpy as jnp

RNG = np.random.default_rng(7)
V = RNG.normal(size=4)
W = RNG.normal(size=4)
M = RNG.normal(size=(5, 4)) * 0.5
A = RNG.normal(size=(4, 4)) * 0.4


# --- branches ------------------------------------------------------------------------------------

def if_else(x, y):
    if np.sum(x) > 0:
        z = x * y
    else:
        z = np.sin(x) + y
    return np.sum(z * z)


def elif_chain(x, y):
    s = np.sum(x * y)
    if s > 1.0:
        z = np.tanh(x)
    elif s > -1.0:
        z = x * s
    else:
        z = -x
    return np.sum(z) + s


def nested_if(x, y):
    z = x
    if np.sum(x) > -5:
        if np.max(y) > 0:
            z = z * y
        else:
            z = np.exp(z)
        z = z + 1.0
    return np.sum(z ** 2)


def if_without_else(x, y):
    z = x * 2.0
    if np.sum(y) < 100:
        z = z * y
    return np.sum(np.sin(z))


def ternary(x, y):
    z = x * y if np.sum(x) > 0 else np.cos(x)
    return np.sum(z)


def nested_ternary(x, y):
    s = np.sum(x)
    z = x * 2.0 if s > 1 else (y * x if s > -1 else -y)
    return np.sum(z * x)


def bool_ops(x, y):
    z = x
    if np.sum(x) > -10 and not np.sum(y) > 10:
        z = z * y
    if np.sum(x) > 10 or np.max(y) > -10:
        z = np.tanh(z)
    return np.sum(z)


def early_returns(x, y):
    if np.sum(x) > 0:
        return np.sum(x * y)
    z = np.sin(x) * y
    if np.sum(z) > 1:
        return np.sum(z * z)
    return np.sum(z)


def returns_in_both(x, y):
    if np.sum(x * y) > 0:
        return np.sum(np.exp(x) * y)
    else:
        return np.sum(x ** 2)


def sign_or_scale(a, s):
    if np.sum(a) > 0:
        return a * s
    return -a


def calls_with_returns(x, y):
    h = x
    for _ in range(3):
        h = sign_or_scale(h * y, 0.9)
    return np.sum(h)


def layer_and_cache(x, y):
    pre = x * y
    return np.tanh(pre), pre


def split_or_swap(a, b):
    if np.sum(a) > np.sum(b):
        return a * 2.0, b
    return b, np.sin(a)


def calls_returning_tuples(x, y):
    h, pre = layer_and_cache(x, y)
    p, q = split_or_swap(h, pre)
    pair = split_or_swap(q, x)
    return np.sum(p * q + pre) + np.sum(pair[0] * pair[1])


@pytest.mark.parametrize("fn", [if_else, elif_chain, nested_if, if_without_else, ternary,
                                nested_ternary, bool_ops, early_returns, returns_in_both,
                                calls_with_returns, calls_returning_tuples])
@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_branches(fn, sign):
    check(fn, (sign * np.abs(V), W), wrt=("x", "y"))


# --- loops ---------------------------------------------------------------------------------------

def for_range(x, w):
    h = x
    for _ in range(3):
        h = np.tanh(h * w)
    return np.sum(h)


def range_bounds(x, w):
    s = 0.0
    for i in range(1, len(x), 2):
        s = s + x[i] * w[i - 1]
    return s


def range_from_data(xs, w):
    h = w
    for t in range(xs.shape[0]):
        h = np.sin(h + xs[t])
    return np.sum(h)


def zero_trips(x, w):
    h = x * w
    for _ in range(0):
        h = h * 2.0
    return np.sum(h)


def over_rows(xs, w):
    s = 0.0
    for row in xs:
        s = s + np.sum(np.tanh(row * w))
    return s


def with_enumerate(xs, w):
    s = 0.0
    for i, row in enumerate(xs):
        s = s + (i + 1) * np.sum(row * w)
    return s


def with_zip(xs, w):
    s = 0.0
    for row, wi in zip(xs, w):  # noqa: B905
        s = s + np.sum(row) * wi
    return s


def rnn(xs, w):
    h = np.tanh(w)
    for t in range(xs.shape[0]):
        h = np.tanh(xs[t] * 0.5 + h @ A)
    return np.sum(h * h)


def while_loop(x, w):
    h = x * w
    while np.sum(h * h) < 50.0:
        h = h * 1.5 + w
    return np.sum(h)


def while_counter(x, w):
    n = 0
    h = x
    while n < 4:
        h = np.sin(h) * w
        n = n + 1
    return np.sum(h)


def with_break(x, w):
    h = x
    for _ in range(10):
        if np.sum(h * h) > 20:
            break
        h = h * 1.3 + w
    return np.sum(h)


def with_continue(xs, w):
    s = 0.0
    for i in range(xs.shape[0]):
        if i % 2 == 1:
            continue
        s = s + np.sum(xs[i] * w)
    return s


def while_break(x, w):
    h = x
    n = 0
    while True:
        n = n + 1
        h = np.tanh(h + w)
        if n >= 3:
            break
    return np.sum(h)


def nested_loops(xs, w):
    s = 0.0
    for i in range(xs.shape[0]):
        for j in range(i):
            s = s + np.sum(xs[i] * xs[j] * w)
    return s


def branch_in_loop(xs, w):
    h = w
    for t in range(xs.shape[0]):
        if np.sum(xs[t]) > 0:
            h = h * xs[t]
        else:
            h = np.sin(h) + xs[t]
    return np.sum(h)


def loop_in_branch(xs, w):
    h = w
    if np.sum(w) > -100:
        for t in range(xs.shape[0]):
            h = np.cos(h) * xs[t]
    return np.sum(h)


def live_out(xs, w):
    out = 0.0
    for t in range(xs.shape[0]):
        out = np.sum(xs[t] * w)  # only the last value is used
    return out * 2.0


def self_updates(x, w):
    for _ in range(2):
        x = x * x      # reads the old x twice
        x = np.exp(x * 0.1)   # its adjoint reads the new x
        x = (x + 1.0) ** w    # and this one both
    return np.sum(x)


def cell(h, xt, w):
    return np.tanh(h * w + xt)


def calls_in_loop(xs, w):
    h = w
    for t in range(xs.shape[0]):
        h = cell(h, xs[t], w)
    return np.sum(h)


def python_floats(a, b):
    s = a
    for _ in range(3):
        s = s * b + np.sin(s)
    return s


def inactive_loop(xs, w):
    total = 0
    for t in range(xs.shape[0]):
        total = total + t
    return np.sum(w * xs[0]) * total


def returns_from_loop(x, w):
    h = x
    for i in range(6):
        h = np.tanh(h * w + 0.3)
        if np.sum(h) > 1.5:
            return np.sum(h * w) * (i + 1)
    return np.sum(h)


def returns_from_nested_loops(x, w):
    h = x
    for _ in range(3):
        for _ in range(3):
            h = h * w + 0.1
            if np.sum(h) > 2.0:
                return np.sum(h)
        h = np.sin(h)
    return -np.sum(h)


def returns_from_while(x, w):
    h = x
    n = 0
    while n < 10:
        h = h * w
        n = n + 1
        if np.max(h) > 3.0:
            return np.sum(h)
    return 0.5 * np.sum(h)


def for_else(x, w):
    h = x
    for _ in range(5):
        h = h * w
        if np.sum(h) > 4.0:
            break
    else:
        h = -h
    return np.sum(h)


def while_else(x, w):
    h = x
    n = 0
    while n < 5:
        h = np.tanh(h + w)
        n = n + 1
        if np.max(h) > 0.9:
            break
    else:
        h = h * 3.0
    return np.sum(h)


def partial_jumps(x, w):
    h = x
    for i in range(6):
        if i > 0:
            if np.sum(h) > 3.0:
                break
            h = h * w
        elif np.sum(w) < -100:
            continue
        h = np.sin(h) + 1.0
    return np.sum(h)


def reversed_range(x, w):
    h = x
    for i in reversed(range(1, 5)):
        h = np.sin(h * w) + i * x
    return np.sum(h)


def first_iterations(x, w):
    n = 2
    h = x
    for i in range(6)[:n + 1]:
        h = np.cos(h) * w + i
        n = n + 1  # the slice was taken before the loop
    return np.sum(h)


def reversed_with_break(x, w):
    h = x
    for i in reversed(range(7)[:5]):
        if np.sum(h) > 4.0:
            break
        h = h * w + i * 0.1
    return np.sum(h)


def repeats_after_reassignment(x, w):
    s = 0.0
    for _ in range(3):
        a = np.tanh(x) * w
        x = x * w + 0.1        # the loop's variable, assigned under its own name
        b = np.tanh(x) * w     # the same text as a's: another value
        s = s + np.sum(a * b)
    return s


LOOPS = [reversed_range, first_iterations, reversed_with_break, partial_jumps, for_else,
         while_else, for_range, range_bounds, zero_trips, while_loop,
         while_counter, with_break, while_break, self_updates, returns_from_loop,
         returns_from_nested_loops, returns_from_while, repeats_after_reassignment]
SEQUENCES = [range_from_data, over_rows, with_enumerate, with_zip, rnn, with_continue,
             nested_loops, branch_in_loop, loop_in_branch, live_out, calls_in_loop,
             inactive_loop]


@pytest.mark.parametrize("fn", LOOPS)
@pytest.mark.parametrize("scale", [0.5, 2.0])
def test_loops_over_vectors(fn, scale):
    check(fn, (np.abs(V) * scale, np.abs(W) * 0.5 + 0.6), wrt=("x", "w"))


@pytest.mark.parametrize("fn", SEQUENCES)
def test_loops_over_sequences(fn):
    check(fn, (M, W), wrt=("xs", "w"))


def test_python_floats_in_loops():
    got = check(python_floats, (0.3, 0.8), wrt=("a", "b"))
    assert all(isinstance(g, float) for g in got)


def test_loops_on_the_jax_backend():
    check(rnn, (M, W), wrt=("xs", "w"), backend="jax")
    check(with_break, (np.abs(V) * 0.5, np.abs(W) * 0.5 + 0.2), wrt=("x", "w"), backend="jax")
    check(returns_from_loop, (np.abs(V) * 2.0, np.abs(W) * 0.5 + 0.6), wrt=("x", "w"),
          backend="jax")


def loop_may_not_run(x, n):
    t = x * 3.0
    for i in range(n):
        t = x * x + i
    return np.sum(t)


def sliced_loop_may_not_run(x, n, k):
    t = x * 3.0
    for i in range(n)[:k]:
        t = x * x + i
    return np.sum(t)


@pytest.mark.parametrize(("n", "k"), [(3, 0), (3, 2), (0, 2)])
def test_a_loop_that_may_run_no_trip(n, k):
    """``t``'s first value counts only where the loop runs no trip: also where the range has
    items and its slice none (``range(3)[:0]``)."""
    check(loop_may_not_run, (V, min(n, k)), wrt="x")
    check(sliced_loop_may_not_run, (V, n, k), wrt="x")


# --- generated code ------------------------------------------------------------------------------

def test_straight_line_code_saves_nothing():
    def f(x, w):
        h = np.tanh(x * w)
        h = np.sin(h) * w
        return np.sum(h)

    assert "saved_" not in srcgrad.grad(f).source


def test_stacks_are_named_and_visible():
    src = srcgrad.grad(rnn, wrt="w").source
    assert "saved_h = []" in src and "saved_h.append(h)" in src and "h = saved_h.pop()" in src
    assert "for t in reversed(range(xs.shape[0])):" in src


def test_branch_record_and_trip_count_are_visible():
    src = srcgrad.grad(with_break, wrt="x").source
    assert "cond = np.sum(h * h) > 20" in src
    assert "trips += 1" in src and "reversed(range(10)[:trips])" in src
    src = srcgrad.grad(while_loop, wrt="x").source
    assert "for _ in range(trips):" in src


def test_whether_a_loop_ran_is_tested_on_its_range():
    assert "if n <= 0:" in srcgrad.grad(loop_may_not_run).source
    assert "if not range(n)[:k]:" in srcgrad.grad(sliced_loop_may_not_run).source


def test_an_output_no_adjoint_reads_is_not_saved():
    """The adjoints of ``np.sum(h * w) * (i + 1)`` never read the product itself: the loop
    saves no ``out``."""
    assert "saved_out" not in srcgrad.grad(returns_from_loop).source


def test_only_needed_values_are_saved():
    # the loop index restores itself; `w` never changes; `xs` is never overwritten
    src = srcgrad.grad(range_from_data, wrt="w").source
    assert "saved_w" not in src and "saved_xs" not in src and "saved_t " not in src


def _peak_bytes(fn, *args):
    g = srcgrad.grad(fn, wrt="w")
    g(*args)  # transform outside the measurement
    tracemalloc.start()
    try:
        g(*args)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_saved_memory_grows_linearly_with_trips():
    def deep(xs, w):
        h = w
        for t in range(xs.shape[0]):
            h = np.tanh(h * xs[t])
        return np.sum(h)

    small = _peak_bytes(deep, np.ones((40, 200)) * 0.5, np.ones(200))
    large = _peak_bytes(deep, np.ones((400, 200)) * 0.5, np.ones(200))
    assert 5 < large / small < 15


def test_recursion_is_refused_with_a_location():
    def fact(x, n):
        return x if n <= 1 else x * fact(x, n - 1)

    with pytest.raises(srcgrad.SrcGradError, match="recursive call"):
        srcgrad.grad(fact)(1.5, 3)


def zeros_before_loop(xs, w):
    h = np.zeros(4)
    for t in range(xs.shape[0]):
        h = np.tanh(h * w + xs[t])
    return np.sum(h)


def test_a_constant_made_by_a_call_can_start_a_loop():
    check(zeros_before_loop, (M, W), wrt=("xs", "w"))


def last_and_second(p, x):
    return np.sum(p[-1] * x) + np.sum(p[1] * x * x)


def test_negative_and_positive_indices_of_one_item_add_up():
    got = check(last_and_second, ((V, W), V), wrt="p")
    np.testing.assert_allclose(got[1], V + V * V)


# --- lists built in loops, comprehensions --------------------------------------------------------

def appended_then_stacked(xs, w):
    hs = []
    h = w
    for t in range(xs.shape[0]):
        h = np.tanh(h * w + xs[t])
        hs.append(h)
    return np.sum(np.stack(hs) ** 2)


def appended_then_summed(xs, w):
    terms = []
    for row in xs:
        terms.append(np.sum(row * w))
    return sum(terms) + np.sum(np.array(terms) ** 2)


def reads_the_list_while_growing(xs, w):
    hs = [w]
    for t in range(xs.shape[0]):
        hs.append(np.sin(hs[-1] * xs[t]))
    return np.sum(hs[-1] + hs[1] * hs[2])


def literal_appends(xs, w):
    items = []
    items.append(w * 2.0)
    items.append(xs[0])
    return np.sum(np.stack(items) ** 2)


def list_comprehension(xs, w):
    return np.sum(np.stack([np.tanh(r * w) for r in xs]) ** 2)


def generator_in_sum(xs, w):
    return sum(np.sum(np.sin(r * w)) for r in xs if np.sum(r) > -100)


def nested_comprehension(xs, w):
    pairs = [np.sum(xs[i] * xs[j] * w) for i in range(xs.shape[0]) for j in range(i)]
    return sum(pairs)


def numpy_of_comprehensions(xs, w):
    return np.sum([np.tanh(r * w) for r in xs]) + np.mean(np.array([np.sum(r * w) for r in xs]))


def comprehension_over_range(xs, w):
    ys = np.array([np.sum(xs[i] * w) for i in range(xs.shape[0])])
    return np.sum(ys ** 2)


def used_as_a_stack(xs, w):
    stack = []
    for row in xs:
        stack.append(np.sin(row * w))
    top = stack.pop()
    below = stack.pop()
    return np.sum(top * below + stack[0] * len(stack))


def popped_in_a_loop(xs, w):
    stack = [w]
    for row in xs:
        stack.append(np.tanh(stack[-1] * row))
    total = 0.0
    for k in range(xs.shape[0]):
        total = total + np.sum(stack.pop() * (k + 1))
    stack.pop()  # for its effect only
    return total + len(stack)


LISTS = [appended_then_stacked, appended_then_summed, reads_the_list_while_growing,
         literal_appends, list_comprehension, generator_in_sum, nested_comprehension,
         comprehension_over_range, numpy_of_comprehensions, used_as_a_stack, popped_in_a_loop]


@pytest.mark.parametrize("fn", LISTS)
def test_lists_and_comprehensions(fn):
    # jax.numpy refuses a Python list where numpy takes it (np.sum([...])): no jax oracle there
    check(fn, (M, W), wrt=("xs", "w"), jax_oracle=fn is not numpy_of_comprehensions)


@pytest.mark.parametrize("fn", [appended_then_stacked, generator_in_sum, list_comprehension])
def test_lists_on_the_jax_backend(fn):
    check(fn, (M, W), wrt=("xs", "w"), backend="jax")


def literal_list_in_a_branch(x, k, c):
    if c > 0:
        xs = [x, x ** 2, x ** 3]   # items computed first, then appended: the backward sweep
    else:                           # takes their adjoints off d_xs last item first
        xs = [x, x, 2.0 * x]
    return np.sum(xs[k] * xs[0])


@pytest.mark.parametrize("k, c", [(0, 1.0), (1, 1.0), (2, 1.0), (-2, 1.0), (2, -1.0)])
def test_the_adjoints_of_a_list_come_off_it_in_order(k, c):
    # the optimizer moved pop_grad(d_xs, t2) past pop_grad(d_xs, x) (it inlined a call that
    # changes d_xs as if it were pure): each item got another's adjoint, without an error
    x = np.random.default_rng(31).normal(size=3)
    check(literal_list_in_a_branch, (x, k, c), wrt=0, rtol=1e-10, atol=1e-12)


def overwritten_after_a_list(x, c):
    a = x * 2.0
    if c > 0.0:
        a = np.copy(np.broadcast_to(np.var(-0.7), (3,)))  # a's adjoint dies here...
        if np.sum(a) > 0.3:
            ts = [a, np.sin(x), a * x]
        else:
            ts = [x, a, np.cos(a)]    # ... with the adjoint of np.cos(a): its item still goes
        x = ts[0] * 0.75
    return np.sum(x * np.tanh(x)) + np.sum(a)


def test_an_unread_adjoint_of_a_list_item_still_takes_its_item_off():
    x = np.random.default_rng(32).normal(size=3)
    check(overwritten_after_a_list, (x, 1.0), wrt=0, rtol=1e-10, atol=1e-12)


def test_list_rules_appear_in_generated_code():
    src = srcgrad.grad(appended_then_stacked, wrt="w").source
    assert "hs.append(h)" in src and "unstack_grad(" in src and "pop_grad(d_hs" in src
    assert "sum_list_grad(" in srcgrad.grad(appended_then_summed, wrt="w").source


def test_pop_reads_like_the_source():
    src = srcgrad.grad(used_as_a_stack, wrt="w").source
    assert "top = stack.pop()" in src and "unpop_grad(d_stack)" in src


def test_only_the_last_item_of_a_list_made_here_is_popped():
    def pops_the_callers(xs, w):
        return np.sum(xs.pop() * w)

    def pops_the_first(w):
        ys = []
        for k in range(3):
            ys.append(w * k)
        return np.sum(ys.pop(0))

    with pytest.raises(srcgrad.SrcGradError, match="only a list made in the function"):
        srcgrad.grad(pops_the_callers, wrt="w")([np.ones(2)], np.ones(2))
    with pytest.raises(srcgrad.SrcGradError, match="only the last item") as err:
        srcgrad.grad(pops_the_first)(np.ones(2))
    assert "ys.pop(0)" in str(err.value)


def literal_list_pops(xs, w):
    ys = [w, xs[0] * w, np.sin(w)]
    ys.append(xs[1])
    first = ys.pop(0)
    last = ys.pop()
    return np.sum(first * last + ys[-1] * ys.pop(-2))


def test_a_literal_list_pops_any_item():
    check(literal_list_pops, (M, W), wrt=("xs", "w"))


def test_the_callers_list_is_never_appended_to():
    def grows(xs, w):
        xs.append(w)
        return np.sum(w)

    with pytest.raises(srcgrad.SrcGradError, match="only a list made in the function"):
        srcgrad.grad(grows, wrt="w")([np.ones(2)], np.ones(2))


# --- index and slice assignment ------------------------------------------------------------------
# The jax oracle cannot run `y[i] = v` (its arrays are immutable): each function has a twin written
# with `.at[].set()` that jax.grad differentiates.

def _twin_check(fn, twin, args, wrt):
    # finite differences call fn itself, which may change its arguments: not for those
    got = check(fn, args, wrt=wrt, jax_oracle=False, fd=fn is not writes_argument)
    if jax is None:
        return
    import inspect
    names = list(inspect.signature(fn).parameters)
    idx = tuple(names.index(w) for w in wrt)
    want = jax.grad(twin, argnums=idx)(*[jnp.asarray(a) if isinstance(a, np.ndarray) else a
                                           for a in args])
    for g, e in zip(got, want, strict=True):
        np.testing.assert_allclose(np.asarray(g), np.asarray(e), rtol=1e-7, atol=1e-9)


def preallocated_rnn(xs, w):
    h = np.zeros((xs.shape[0] + 1, xs.shape[1]))
    for t in range(xs.shape[0]):
        h[t + 1] = np.tanh(h[t] * w + xs[t])
    return np.sum(h ** 2)


def preallocated_rnn_twin(xs, w):
    h = jnp.zeros((xs.shape[0] + 1, xs.shape[1]))
    for t in range(xs.shape[0]):
        h = h.at[t + 1].set(jnp.tanh(h[t] * w + xs[t]))
    return jnp.sum(h ** 2)


def copy_rows(xs, w):
    y = np.zeros(xs.shape)
    for i in range(xs.shape[0]):
        y[i] = xs[i] * w
    y[1:3] = w * 2.0
    return np.sum(np.sin(y))


def copy_rows_twin(xs, w):
    y = jnp.zeros(xs.shape)
    for i in range(xs.shape[0]):
        y = y.at[i].set(xs[i] * w)
    y = y.at[1:3].set(w * 2.0)
    return jnp.sum(jnp.sin(y))


def writes_argument(xs, w):
    xs[0] = w * w
    xs[2, 1:3] += w[:2]
    return np.sum(xs ** 2)


def writes_argument_twin(xs, w):
    xs = xs.at[0].set(w * w)
    xs = xs.at[2, 1:3].add(w[:2])
    return jnp.sum(xs ** 2)


def reads_before_write(xs, w):
    y = xs * 2.0
    z = y[0] * w            # y[0] before it changes
    y[0] = np.tanh(w)
    for i in range(1, 3):
        if np.sum(y[i]) > 0:
            y[i] = y[i] * w
    return np.sum(z * y)


def reads_before_write_twin(xs, w):
    y = xs * 2.0
    z = y[0] * w
    y = y.at[0].set(jnp.tanh(w))
    for i in range(1, 3):
        if jnp.sum(y[i]) > 0:
            y = y.at[i].set(y[i] * w)
    return jnp.sum(z * y)


def writes_constants(xs, w):
    y = xs * w
    y[1] = 3.0                  # a constant into an active array: no derivative there
    y[2, :2] = -0.5
    for i in range(3, xs.shape[0]):
        y[i, 0] = 1.0
    return np.sum(y * y * w)


def writes_constants_twin(xs, w):
    y = xs * w
    y = y.at[1].set(3.0)
    y = y.at[2, :2].set(-0.5)
    for i in range(3, xs.shape[0]):
        y = y.at[i, 0].set(1.0)
    return jnp.sum(y * y * w)


INDEX_ASSIGNMENTS = [preallocated_rnn, copy_rows, writes_argument, reads_before_write,
                     writes_constants]


@pytest.mark.parametrize("fn, twin", [(preallocated_rnn, preallocated_rnn_twin),
                                      (copy_rows, copy_rows_twin),
                                      (writes_argument, writes_argument_twin),
                                      (reads_before_write, reads_before_write_twin),
                                      (writes_constants, writes_constants_twin)])
def test_index_assignment(fn, twin):
    xs = M.copy()
    _twin_check(fn, twin, (xs, W), ("xs", "w"))
    np.testing.assert_array_equal(xs, M)  # the caller's array is never changed


def test_index_assignment_on_the_jax_backend():
    got = srcgrad.grad(preallocated_rnn, wrt="w", backend="jax")(M, W)
    want = srcgrad.grad(preallocated_rnn, wrt="w")(M, W)
    np.testing.assert_allclose(np.asarray(got), want, rtol=1e-9)


def test_index_assignment_reads_like_the_user_wrote_it():
    src = srcgrad.grad(preallocated_rnn, wrt="w").source
    assert "h[t + 1] = " in src and "zero_at(d_h, s_[t + 1])" in src


def test_jit_with_a_branch_on_array_values_points_at_the_branch():
    pytest.importorskip("jax")
    g = srcgrad.grad(if_else, wrt="x", backend="jax", jit=True)
    with pytest.raises(srcgrad.SrcGradError,
                       match="cannot depend on the values of traced arrays") as info:
        g(V, W)
    assert info.value.line.strip() == "if np.sum(x) > 0:"
    assert info.value.filename.endswith("test_control_flow.py")


def grows_in_a_branch(x, w):
    a = np.sin(w)           # a scalar
    if np.sum(x) > 0.0:
        a = a * x           # now a vector
    return np.sum(a)


def grows_in_a_loop(x, w):
    a = np.sin(w)
    for _ in range(2):
        a = a * x
    return np.sum(a)


@pytest.mark.parametrize("fn", [grows_in_a_branch, grows_in_a_loop])
def test_a_variable_may_change_shape_in_a_branch_or_loop(fn):
    got = check(fn, (np.abs(V), 0.5), wrt=("x", "w"))
    assert np.shape(got[1]) == ()


def overwritten_by_a_vector(x, w):
    a = np.sin(w)           # a scalar, overwritten (not read) by a vector on one path
    if np.sum(x) > 0.0:
        a = np.sin(x)
    return np.sum(a)


def overwritten_in_a_loop(x, w):
    a = np.sin(w)
    for i in range(3):
        if i == 1:
            a = np.cos(x)   # the scalar's adjoint is zero from here back, with its shape
    return np.sum(a)


@pytest.mark.parametrize("fn", [overwritten_by_a_vector, overwritten_in_a_loop])
@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_an_overwritten_value_keeps_its_own_shape(fn, sign):
    got = check(fn, (sign * np.abs(V), 0.5), wrt=("x", "w"))
    assert np.shape(got[1]) == ()


def loop_variable_read_on_one_side_and_reused_later(x, y):
    a = np.sin(x)
    for r0 in y[:, :1]:                # r0 of shape (1,), read before the branch too
        b = a * r0
        if np.sum(a) > 100.0:
            a = np.cos(np.minimum(r0, x)) + b
        else:                          # r0's zero adjoint: of this r0, not the later one
            a = a * 0.5 + b
    for r0 in x:                       # r0 of shape (3,)
        a = a + r0
    return np.sum(a * np.tanh(a))


def test_a_zero_adjoint_on_the_else_side_has_the_shape_of_its_own_value():
    rng = np.random.default_rng(41)
    x, y = rng.standard_normal((2, 3)), rng.standard_normal((2, 3))
    got = check(loop_variable_read_on_one_side_and_reused_later, (x, y), wrt=(0, 1),
                rtol=1e-10)
    assert np.shape(got[1]) == (2, 3)


def shape_varies_by_iteration(x, w):
    a = np.sin(x)
    h = np.sin(w)               # a scalar on the first trip, a vector on the second
    for _ in range(2):
        a = a / (1.5 + np.sin(h))
        h = np.sin(x)
    return np.sum(a * h)


def test_a_shape_reference_is_never_another_iterations_value():
    got = check(shape_varies_by_iteration, (np.abs(V), 0.5), wrt=("x", "w"))
    assert np.shape(got[1]) == ()


def test_jit_with_a_branch_in_a_helper_from_another_file_points_at_the_helper(tmp_path):
    """The line shown is the helper's, in the helper's own file (the generated code inlines
    it), not the line of that number in the differentiated function's file."""
    pytest.importorskip("jax")
    import importlib.util
    path = tmp_path / "helpers_elsewhere.py"
    path.write_text("import numpy as np\n\n\n\ndef relu_sum(x):\n"
                    "    if np.sum(x) > 0:\n        return np.sum(x * x)\n"
                    "    return 0.0 * np.sum(x)\n")
    spec = importlib.util.spec_from_file_location("helpers_elsewhere", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    relu_sum = module.relu_sum

    def f(x):
        return relu_sum(np.sin(x))

    g = srcgrad.grad(f, backend="jax", jit=True)
    with pytest.raises(srcgrad.SrcGradError,
                       match="cannot depend on the values of traced arrays") as info:
        g(V)
    assert info.value.line.strip() == "if np.sum(x) > 0:"
    assert info.value.filename == str(path) and info.value.lineno == 6


def dot_rnn(wx, wh, b, xs, h0):
    h = h0
    for t in range(xs.shape[0]):
        h = np.tanh(np.dot(xs[t], wx) + np.dot(h, wh) + b)
    return np.sum(h * h)


def _bptt(wx, wh, b, xs, h0):
    """The textbook backpropagation through time: the states are all it keeps."""
    hs = [h0]
    for t in range(xs.shape[0]):
        hs.append(np.tanh(np.dot(xs[t], wx) + np.dot(hs[-1], wh) + b))
    d_h = 2 * hs[-1]
    d_wx, d_wh, d_b = np.zeros_like(wx), np.zeros_like(wh), np.zeros_like(b)
    for t in reversed(range(xs.shape[0])):
        d_a = d_h * (1 - hs[t + 1] ** 2)
        d_b += d_a.sum(0)
        d_wx += xs[t].T @ d_a
        d_wh += hs[t].T @ d_a
        d_h = d_a @ wh.T
    return d_wx, d_wh, d_b


def test_values_read_only_for_their_shape_are_saved_as_their_shape():
    """#21: t2 = np.dot(t1, Wx) is read by the backward sweep only in unbroadcast(d, t2):
    saved as like(t2), and the memory a loop keeps grows with its states only (the slope of
    peak memory over the trip count within 1.3x of the textbook BPTT's; it was 3.7x)."""
    import tracemalloc

    src = srcgrad.grad(dot_rnn, wrt=(0, 1, 2)).source
    assert "saved_t2.append(like(t2))" in src and "saved_h.append(h)" in src
    rng = np.random.default_rng(11)
    wx, wh, b = rng.standard_normal((16, 32)) * 0.1, rng.standard_normal((32, 32)) * 0.1, \
        np.zeros(32)

    def peak(fn, steps):
        args = (wx, wh, b, rng.standard_normal((steps, 8, 16)), np.zeros((8, 32)))
        fn(*args)
        tracemalloc.start()
        out = fn(*args)
        top = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        for got, want in zip(srcgrad.grad(dot_rnn, wrt=(0, 1, 2))(*args), _bptt(*args),
                             strict=True):
            np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)
        return top, out

    gradient = srcgrad.grad(dot_rnn, wrt=(0, 1, 2))
    ours = peak(gradient, 400)[0] - peak(gradient, 200)[0]
    theirs = peak(_bptt, 400)[0] - peak(_bptt, 200)[0]
    assert ours < 1.3 * theirs, (ours, theirs)
