"""Every construct of the reverse-mode engine against finite differences and jax.grad."""

from __future__ import annotations

import numpy as np
import pytest
from oracle import check

import srcgrad

rng = np.random.default_rng(42)
A = rng.standard_normal((3, 4))
B = rng.standard_normal((4, 2))
V = rng.standard_normal(4)


# --- assignment, reassignment, augmented assignment ----------------------------------------------

def reassign(x, y):
    z = x * y
    z = np.sin(z) + x
    x = x * 2.0
    z = z * x
    return np.sum(z)


def augmented(x, y):
    z = x * 1.0
    z += y
    z -= 0.5 * x
    z *= y
    z /= 1.0 + y * y
    z **= 2
    return np.sum(z)


def unpack(x, y):
    a, b = x * 2.0, y + 1.0
    (c, d), e = (a, b), a * b
    return np.sum(c * d + e)


def arg_tuple(t):
    a, b, c = t
    return a * b + np.sin(c)


def test_reassignment_and_overwriting_arguments():
    check(reassign, (A, A.T.copy().T), wrt=(0, 1))


def test_augmented_assignment_all_operators():
    check(augmented, (A, A + 2.0), wrt=(0, 1))


def test_tuple_unpacking():
    check(unpack, (A, A + 1.0), wrt=(0, 1))


def test_unpacking_a_tuple_argument_gives_a_tuple_gradient():
    g = check(arg_tuple, ((1.5, 2.0, 0.3),), fd=False)
    assert isinstance(g, tuple) and len(g) == 3
    np.testing.assert_allclose(g, (2.0, 1.5, np.cos(0.3)))


def test_augmented_assignment_never_mutates_the_callers_array():
    def f(x):
        x += 1.0
        x *= x
        return np.sum(x)

    x = np.array([1.0, 2.0])
    before = x.copy()
    srcgrad.grad(f)(x)
    np.testing.assert_array_equal(x, before)


# --- operators, scalars, broadcasting -------------------------------------------------------------

def operators(x, y):
    return np.sum(x + y - x * y / (1.0 + y ** 2) + (-x) ** 2 + x % 1.7 + x // 2.0) + np.sum(y @ y.T)


def scalars(x, y):
    return x * y + x / y - y ** x + 3 * x ** 2 - 1


def broadcasting(x, b, s):
    return np.sum(np.tanh(x * b + s) / (1.0 + b))


def test_arithmetic_operators():
    check(operators, (A, A + 0.1), wrt=(0, 1))


def test_python_float_arguments_give_float_gradients():
    gx, gy = check(scalars, (1.3, 0.7), wrt=(0, 1))
    assert isinstance(gx, float) and isinstance(gy, float)


def test_zero_d_arrays():
    check(scalars, (np.array(1.3), np.array(0.7)), wrt=(0, 1))


@pytest.mark.parametrize("xs, bs, ss", [
    ((3, 4), (4,), ()), ((3, 4), (3, 1), (1, 4)), ((2, 1, 4), (3, 1), (4,)),
])
def test_broadcasting_sums_adjoints_back_to_each_operand(xs, bs, ss, rng):
    x, b = rng.standard_normal(xs), rng.uniform(0.5, 1.5, bs)
    s = rng.standard_normal(ss) if ss else 0.3
    g = check(broadcasting, (x, b, s), wrt=(0, 1, 2))
    assert [np.shape(v) for v in g] == [xs, bs, ss]


def comparisons(x, y):
    return np.sum(np.where(x > y, x * y, x - y) + (x >= 0) * x)


def test_comparisons_are_not_differentiated_but_select():
    check(comparisons, (A, A[::-1] + 0.3), wrt=(0, 1))


# --- calls: user functions, defaults, keywords, nested defs, lambdas, closures --------------------

def layer(x, w, b=0.5, *, act=True):
    h = x @ w + b
    return np.tanh(h) * act


def calls_user_function(x, w1, w2):
    h = layer(x, w1)
    h = layer(h, w2, b=-0.25, act=1.0)
    return np.sum(h ** 2)


def nested_and_lambda(x, w):
    scale = 3.0

    def inner(u, k=2.0):
        return u * k + scale * np.sum(w)

    sq = lambda v: v ** 2  # noqa: E731
    return np.sum(inner(sq(x @ w)))


def make_closure(c):
    def f(x):
        return np.sum(np.sin(x) * c)
    return f


def test_calls_to_user_functions_with_defaults_and_keywords(rng):
    check(calls_user_function, (A, rng.standard_normal((4, 4)), rng.standard_normal((4, 2))),
          wrt=(0, 1, 2))


def test_nested_defs_lambdas_and_closures(rng):
    check(nested_and_lambda, (A, rng.standard_normal((4, 4))), wrt=(0, 1))
    check(make_closure(2.5), (A,))


def scaled_by_t3(h, x):
    t3 = x * 3.0  # named like srcgrad's temporaries
    return t3 * h


def passes_an_expression(x, w):
    return np.sum(scaled_by_t3(np.tanh(x * w) * 2.0, x) * w)


def test_a_callee_local_named_like_a_temporary_keeps_the_argument():
    # regression: the argument np.tanh(x * w) * 2.0 was the temporary t3, and the callee's own
    # t3 overwrote it before `t3 * h` read it (a silently wrong gradient, 2.2x off)
    check(passes_an_expression, (A[0], 0.7), wrt=(0, 1))
    assert "t3_2 = x * 3.0" in srcgrad.grad(passes_an_expression).source


def test_inlined_calls_are_commented_with_the_callee_line():
    src = srcgrad.grad(calls_user_function).source
    assert "# layer() L" in src and "h = x @ w + b" in src


# --- containers ----------------------------------------------------------------------------------

def dict_params(p, x):
    h = np.tanh(x @ p["w1"] + p["b1"])
    return np.sum((h @ p["out"]["w"]) ** 2)


def list_params(ws, x):
    h = x @ ws[0]
    h = np.tanh(h) @ ws[1]
    return np.sum(h)


def build_containers(x, y):
    t = (x, y * 2.0)
    d = {"a": x * y, "b": [y, x]}
    v = np.array([np.sum(x), np.sum(t[1]), np.sum(d["b"][1])])
    return np.sum(v * v) + np.sum(d["a"])


def test_dict_arguments_get_dict_gradients_with_zeros_for_unread_items(rng):
    p = {"w1": rng.standard_normal((4, 3)), "b1": rng.standard_normal(3),
         "out": {"w": rng.standard_normal((3, 2)), "unused": np.ones(5)}, "lr": 0.1}
    g = check(dict_params, (p, A), jax_oracle=False, fd=False)
    assert set(g) == {"w1", "b1", "out", "lr"}
    np.testing.assert_array_equal(g["out"]["unused"], np.zeros(5))
    assert g["lr"] == 0.0
    # compare with jax on the differentiable leaves
    import jax
    import jax.numpy as jnp
    from oracle import numpy_is
    with numpy_is(__name__, jnp):
        want = jax.grad(lambda w1, b1, w: dict_params(
            {"w1": w1, "b1": b1, "out": {"w": w}}, A), argnums=(0, 1, 2))(
            p["w1"], p["b1"], p["out"]["w"])
    for a, b in zip((g["w1"], g["b1"], g["out"]["w"]), want, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-10)


def test_list_arguments_get_list_gradients(rng):
    ws = [rng.standard_normal((4, 3)), rng.standard_normal((3, 2))]
    g = check(list_params, (ws, A))
    assert isinstance(g, list) and [w.shape for w in g] == [(4, 3), (3, 2)]


def test_building_tuples_lists_dicts_and_arrays_of_active_values():
    check(build_containers, (V, V + 1.0), wrt=(0, 1))


# --- indexing ------------------------------------------------------------------------------------

def indexing(x):
    a = x[0] * x[-1] + x[1:3:1] * 2.0
    b = x[::-2, None] * x[None, ..., 1:2]
    c = x[np.array([0, 0, 2])] + x[x[:, 0] > 0][0]
    return np.sum(a) + np.sum(b) + np.sum(c) + x[1, 2] * x[np.newaxis][0, 2, 3]


def test_indexing_reads(rng):
    check(indexing, (rng.standard_normal((3, 4)),))


# --- methods, attributes, constants --------------------------------------------------------------

def methods(x, y):
    n = x.shape[0] + len(y) + x.ndim
    z = x.T.dot(y).reshape(-1)
    return (z.sum() + x.sum(axis=0).mean() * n + x.max() + x.astype(x.dtype).min()
            + (x * x).mean(axis=1, keepdims=True).sum())


def test_array_methods_and_attributes():
    check(methods, (A, A + 0.5), wrt=(0, 1))


# --- API -----------------------------------------------------------------------------------------

def test_decorator_forms_and_value_and_grad():
    @srcgrad.grad
    def f(x):
        return np.sum(x ** 2)

    @srcgrad.grad(wrt=("x", "y"))
    def h(x, y):
        return np.sum(x * y)

    np.testing.assert_allclose(f(V), 2 * V)
    gx, gy = h(V, 2 * V)
    np.testing.assert_allclose(gx, 2 * V)
    value, grads = srcgrad.value_and_grad(lambda x, y: np.sum(x * y), wrt=(0, 1))(V, V)
    assert value == pytest.approx(np.sum(V * V))
    np.testing.assert_allclose(grads[0], V)


def test_float32_stays_float32():
    def f(w, x):
        return np.mean(np.tanh(x @ w) ** 2) * 0.5

    w, x = B.astype(np.float32), A.astype(np.float32)
    g = srcgrad.grad(f)(w, x)
    assert g.dtype == np.float32 and g.shape == w.shape


def test_jax_backend_runs_the_same_generated_code(rng):
    w1, w2 = rng.standard_normal((4, 3)), rng.standard_normal((3, 2))
    check(calls_user_function, (A, rng.standard_normal((4, 4)), rng.standard_normal((4, 2))),
          wrt=(1, 2), backend="jax", fd=False)
    g = srcgrad.grad(list_params, backend="jax", jit=True)([w1, w2], A)
    ref = srcgrad.grad(list_params)([w1, w2], A)
    for a, b in zip(g, ref, strict=True):
        np.testing.assert_allclose(np.asarray(a), b, rtol=1e-6)


def test_transformation_is_cached_and_thread_safe():
    from concurrent.futures import ThreadPoolExecutor

    def f(x):
        return np.sum(np.exp(x))

    with ThreadPoolExecutor(8) as pool:
        fns = list(pool.map(lambda _: srcgrad.grad(f).fn, range(16)))
    assert all(fn is fns[0] for fn in fns)


# --- module-level values ---------------------------------------------------------------------

SCALE = 2.0
WEIGHTS = np.ones(3)


def uses_globals(x):
    return np.sum(x * WEIGHTS) * SCALE


def test_module_level_values_are_read_at_call_time_not_captured():
    global SCALE, WEIGHTS
    g = srcgrad.grad(uses_globals)
    np.testing.assert_allclose(g(np.ones(3)), np.full(3, 2.0))
    saved = SCALE, WEIGHTS
    try:
        SCALE, WEIGHTS = 3.0, np.full(3, 5.0)
        np.testing.assert_allclose(g(np.ones(3)), np.full(3, 15.0))
    finally:
        SCALE, WEIGHTS = saved


@pytest.mark.parametrize("fn, args, wrt", [
    (reassign, (A, A + 0.3), (0, 1)),
    (augmented, (A, A + 2.0), (0, 1)),
    (calls_user_function, (A, rng.standard_normal((4, 4)), rng.standard_normal((4, 2))), (1, 2)),
    (indexing, (A,), 0),
    (methods, (A, A + 0.5), (0, 1)),
    (broadcasting, (A, np.full(4, 0.7), 0.3), (0, 1)),
])
def test_float32_inputs_give_float32_gradients_close_to_float64(fn, args, wrt, rng):
    g64 = srcgrad.grad(fn, wrt=wrt)(*args)
    args32 = tuple(a.astype(np.float32) if isinstance(a, np.ndarray) else a for a in args)
    g32 = srcgrad.grad(fn, wrt=wrt)(*args32)
    for a, b in zip(g32 if isinstance(wrt, tuple) else (g32,),
                    g64 if isinstance(wrt, tuple) else (g64,), strict=True):
        assert a.dtype == np.float32
        np.testing.assert_allclose(a, b, rtol=2e-3, atol=2e-3)


SHIFT = 2.0


def uses_numeric_global(x):
    return np.sum(np.sin(x) * SHIFT)


def test_numeric_global_rebound_to_an_array_still_gets_the_right_shape():
    global SHIFT
    g = srcgrad.grad(uses_numeric_global)
    x = np.linspace(0.0, 1.0, 3)
    np.testing.assert_allclose(g(x), 2.0 * np.cos(x))
    try:
        SHIFT = np.ones((2, 3))
        assert g(x).shape == (3,)
        np.testing.assert_allclose(g(x), 2.0 * np.cos(x))
    finally:
        SHIFT = 2.0


def optional_arguments(x, *, k=2.0):
    return np.sum(np.round(x) * x + np.clip(x, 0.2, None) * k + x.clip(None, 0.5)
                  + x[np.argmax(x)] + x.argmax() * x)


def test_keyword_only_parameters_and_optional_arguments_of_primitives():
    check(optional_arguments, (np.array([0.3, 1.7, -0.6, 0.9]),))


def unwrap_of(x, y):
    return np.sum(np.unwrap(x * y))


def test_functions_without_rules_are_refused_not_approximated():
    with pytest.raises(srcgrad.SrcGradError, match="unwrap"):
        srcgrad.grad(unwrap_of)(V, V)


# --- found by the differential fuzzer (tests/fuzz.py); each once gave a wrong result -------------

def loop_over_rebound_sequence(x, y):
    b = x * 1.0
    for r, q in zip(b, np.cos(b)):  # noqa: B905 - Python reads b once, before the first trip
        b = np.tanh(b * y) + r * q
    for r in b:
        b = b * r
    return np.sum(b)


def list_built_in_a_loop(x, y):
    for r in x:
        hs = [np.tanh(r * y[0])]       # a new list on each trip
        for i in range(2):
            hs.append(np.ones(3) * i)  # items with no derivative
        y = y + np.sum(np.stack(hs)[0]) * 0.1 + hs[-1] * len(hs)
    return np.sum(y)


def comprehension_named_like_a_variable(x, y):
    c = y * 1.0
    for r in x:
        c = c + np.stack([r * 2.0 for r in r])   # the comprehension's r is its own
        c = c * r
    return np.sum(c) + sum(np.sum(r) for r in x if np.sum(r) > -5.0)


def einsum_with_ellipsis(x, y):
    return np.sum(np.sin(np.einsum("...i,i->...", x, y[0])) + np.einsum("...i,...i", x, y))


def written_in_place_after_being_read(x, y):
    a = x[0] * 2.0
    b = a + 0.25                       # b's tangent is not a's: a changes in place below
    a[:1] += y[0, 0]
    return np.sum(a * np.tanh(b))


def assigned_into_itself(x, y):
    b = np.std(x * y, axis=0, keepdims=True)
    b[:1] = b                          # the value's adjoint read d_b after it was zeroed
    b[:1] = np.square(b)
    return np.sum(b * np.tanh(y))


def broadcast_then_written_in_place(x, y):
    b = np.sin(y[:1])
    a = np.broadcast_to(b, (3, 3)) + 0.25  # a's tangent was a view of b's: changed below
    b[..., 0] += np.mean(a)
    return np.sum(a * x[0]) + np.sum(b * np.tanh(b))


def loop_variable_reused_later(x, y):
    a = np.sin(x)
    for r0 in y[:, :1]:                # r0 of shape (1,)
        if np.sum(a) > 100.0:
            a = np.cos(np.minimum(r0, x))
        else:                          # r0's zero adjoint here read r0 of the loop below
            a = a * 0.5 + np.mean(y)
            break
    for r0 in x:                       # r0 of shape (3,)
        a = a + r0
    return np.sum(a * np.tanh(a))


def constant_appended_after_index_write(x, y):
    a = np.ones((3, 1)) * 1.5
    a[-1] = -0.7                       # one name for both of a's values: this one constant
    hs = [np.sin(x[0]).reshape(3, 1) * 1.5]
    for _ in range(3):
        hs.append(np.tanh(a))          # unread adjoint: its slot on d_hs was never taken off
    a = np.stack(hs)[0] * len(hs)
    return np.sum(a * np.tanh(y[0]))


def same_expression_after_reassignment(x, y):
    a = np.tanh(x)
    for _ in range(2):
        a = np.tanh(a)
        hs = [np.tanh(a)]              # was taken for the a just computed: the same text
        b = np.stack(hs)[0] * len(hs)
    return np.sum(a * np.tanh(a)) + np.sum(b * y)


FOUND = [loop_over_rebound_sequence, list_built_in_a_loop, comprehension_named_like_a_variable,
         einsum_with_ellipsis, written_in_place_after_being_read, assigned_into_itself,
         broadcast_then_written_in_place, loop_variable_reused_later,
         constant_appended_after_index_write, same_expression_after_reassignment]
IN_PLACE = {written_in_place_after_being_read, assigned_into_itself,
            broadcast_then_written_in_place, constant_appended_after_index_write}


@pytest.mark.parametrize("fn", FOUND, ids=lambda f: f.__name__)
def test_programs_the_fuzzer_found(fn, rng):
    x, y = rng.standard_normal((2, 3)), rng.standard_normal((2, 3))
    in_place = fn in IN_PLACE          # not jax code: finite differences
    check(fn, (x, y), wrt=(0, 1), jax_oracle=not in_place)
    srcgrad.check_grad(fn, x, y)        # forward mode too


def checked(x, limit):
    assert x.ndim == 1, "x must be 1-d"
    if x.shape[0] > limit:
        raise ValueError(f"too long: {x.shape}")
    return np.sum(np.sin(x) * x)


def test_assert_and_raise_run_in_the_forward_sweep(rng):
    x = rng.standard_normal(4)
    check(checked, (x, 10))
    g = srcgrad.grad(checked)
    assert 'check(x.ndim == 1, "x must be 1-d")' in g.source
    with pytest.raises(AssertionError, match="x must be 1-d"):
        g(np.ones((2, 2)), 10)
    with pytest.raises(ValueError, match=r"too long: \(4,\)"):
        g(x, 3)


# --- a dict made and filled in the function; np.append (#17's crashes) ---------------------------

def cached_forward(w1, w2, x):
    cache = {}
    z1 = x @ w1
    cache["z1"] = z1
    cache["a1"] = np.tanh(z1)
    cache["z1"] = z1 * 2.0            # a key set again
    cache[0] = cache["a1"] @ w2
    return np.sum(cache[0] ** 2) + np.sum(cache["z1"])


def test_a_dict_filled_with_literal_keys_is_differentiated():
    rng = np.random.default_rng(3)
    check(cached_forward, (rng.standard_normal((3, 4)), rng.standard_normal((4, 2)),
                           rng.standard_normal((5, 3))), wrt=(0, 1), jax_oracle=False)


def filled_in_a_loop(w, x):
    d = {}
    for i in range(2):
        d[i] = x @ w * i
    return np.sum(d[1])


def test_a_dict_filled_in_a_loop_is_refused_at_its_line():
    with pytest.raises(srcgrad.SrcGradError, match="filled only with literal keys") as err:
        srcgrad.grad(filled_in_a_loop)(np.ones((3, 2)), np.ones((4, 3)))
    assert err.value.line.strip() == "d[i] = x @ w * i"


def appended(x, y):
    return np.sum(np.append(x, y) ** 2) + np.sum(np.append(x[None], 2.0 * x[None], axis=0) ** 3)


def test_np_append_is_differentiated():
    """np.append shares its name with srcgrad's list append, and was lowered to it."""
    check(appended, (np.array([1.0, -2.0]), np.array([[3.0], [0.5]])), wrt=(0, 1))


# --- shapes are integers (#17): a tuple of them is no differentiable value ------------------------

def zeros_of_the_shape(x, w):
    n, d = x.shape
    z = np.zeros((n, d)) + np.ones((len(x), d))
    return np.sum((x + z) @ w) / n + x.size


def test_shapes_unpacked_and_rebuilt_are_constants():
    rng = np.random.default_rng(5)
    check(zeros_of_the_shape, (rng.standard_normal((4, 3)), rng.standard_normal((3, 2))),
          wrt=(0, 1))


# --- lists sliced and reversed (#17's crashes) ----------------------------------------------------

def mlp_of_pairs(params, x):
    for w, b in params[:-1]:
        x = np.tanh(x @ w + b)
    w, b = params[-1]
    return np.sum((x @ w + b) ** 2)


def sliced_and_reversed(xs, w):
    s = 0.0
    for v in xs[1:]:
        s = s + np.sum(v * w) ** 2
    for v in reversed(xs):
        s = np.sin(s + np.sum(v * w))
    for r in reversed(w):
        s = s * r
    return s + np.sum(xs[0] * xs[-1])


def test_a_list_sliced_and_reversed_is_differentiated():
    rng = np.random.default_rng(7)
    params = [(rng.standard_normal((3, 4)), rng.standard_normal(4)),
              (rng.standard_normal((4, 4)), rng.standard_normal(4)),
              (rng.standard_normal((4, 1)), rng.standard_normal(1))]
    check(mlp_of_pairs, (params, rng.standard_normal((5, 3))))
    g = srcgrad.grad(mlp_of_pairs)(params, np.ones((2, 3)))
    assert type(g) is list and all(type(p) is tuple for p in g)
    xs = [rng.standard_normal(2) for _ in range(3)]
    check(sliced_and_reversed, (xs, rng.standard_normal(2)), wrt=(0, 1))


def rbf(a, b, ell):
    return np.exp(-np.sum((a - b) ** 2) / ell)


def gram_sum(x, ell):
    k = np.array([[rbf(a, b, ell) for b in x] for a in x])   # a nested comprehension
    return np.sum(k * k)


def test_a_matrix_built_by_a_nested_comprehension_is_differentiated():
    """The adjoint of np.array of a list of lists (it crashed in the runtime)."""
    check(gram_sum, (np.random.default_rng(2).standard_normal((3, 2)), 1.5), wrt=(0, 1))
