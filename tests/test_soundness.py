"""No silently wrong gradient at srcgrad's boundary (#17): NumPy code that writes through views,
calls that write into their arguments, and the other spellings that once gave a wrong number
with no error. Each gives the right derivative (against finite differences and jax) or a
located SrcGradError, in both modes."""

from __future__ import annotations

import logging

import numpy as np
import pytest
from oracle import check

import srcgrad

R = np.random.default_rng(17)
X5 = R.standard_normal(5)
M34 = R.standard_normal((3, 4))


def _refused(fn, args, match):
    """``fn``'s gradient and its jvp are refused at a line of this file."""
    with pytest.raises(srcgrad.SrcGradError, match=match) as err:
        srcgrad.grad(fn)(*args)
    assert err.value.filename == __file__ and err.value.lineno is not None
    with pytest.raises(srcgrad.SrcGradError, match=match):
        srcgrad.jvp(fn, args, tuple(np.ones_like(a) for a in args))


# --- writes through views ------------------------------------------------------------------------

def interior_update(u):
    interior = u[1:-1]
    interior += 0.5 * u[2:]
    return np.sum(u ** 2)


def rows_normalized(x):
    x = x * 1.0
    for row in x:
        row /= np.linalg.norm(row)
    return np.sum(x * x.sum())


def transpose_written(x):
    y = x * 1.0
    yt = y.T
    yt[0] = 0.0
    return np.sum(y ** 2)


def reshape_written(x):
    y = x * 1.0
    z = y.reshape(5, 1)
    z[0, 0] = 3.0
    return np.sum(y ** 2)


def ravel_written(x):
    y = x * 2.0
    r = y.ravel()
    r[0] = 0.0
    return np.sum(y * x)


def alias_updated_in_loop(x):
    h = x
    for _ in range(2):
        h += 1.0
    return np.sum(h * x)


@pytest.mark.parametrize(("fn", "arg", "write"), [
    (interior_update, X5, r"`interior \+= \.\.\.` would change 'u' too"),
    (rows_normalized, M34, r"`row /= \.\.\.` would change 'x' too"),
    (transpose_written, M34, r"`yt\[\.\.\.\] = \.\.\.` would change 'y' too"),
    (reshape_written, X5, r"`z\[\.\.\.\] = \.\.\.` would change 'y' too"),
    (ravel_written, M34, r"`r\[\.\.\.\] = \.\.\.` would change 'y' too"),
    (alias_updated_in_loop, X5, r"`h \+= \.\.\.` would change 'x' too"),
], ids=lambda v: getattr(v, "__name__", ""))
def test_a_write_through_a_view_is_refused(fn, arg, write):
    _refused(fn, (arg.copy(),), write + ".*srcgrad does not write through views")


def interior_update_on_the_base(u):
    u = u * 1.0
    u[1:-1] = u[1:-1] + 0.5 * u[2:]
    return np.sum(u ** 2)


def rows_normalized_as_new_values(x):
    out = []
    for row in x:
        out.append(row / np.linalg.norm(row))
    x = np.stack(out)
    return np.sum(x * x.sum())


def copy_then_update(x):
    y = x[1:].copy()
    y += 2.0 * x[:-1]
    y[0] = y[0] * 3.0
    return np.sum(y * y)


@pytest.mark.parametrize(("fn", "arg"), [(interior_update_on_the_base, X5),
                                         (rows_normalized_as_new_values, M34),
                                         (copy_then_update, X5)],
                         ids=lambda v: getattr(v, "__name__", ""))
def test_the_hinted_rewrites_are_differentiated(fn, arg):
    check(fn, (arg.copy(),), jax_oracle=False)  # (index assignment: jax arrays are immutable)


# --- calls that write into their arguments ----------------------------------------------------

def add_at(x):
    a = np.zeros(3)
    np.add.at(a, [0, 1, 1], x[:3])
    return np.sum(a ** 2)


def fill_diagonal(x):
    y = x * 1.0
    np.fill_diagonal(y, x[0, 0] * 2)
    return np.sum(y ** 2)


def put(x):
    y = x * 1.0
    np.put(y, [0], x[1] * 3)
    return np.sum(y ** 2)


def copyto(x):
    y = np.zeros(5)
    np.copyto(y, x)
    return np.sum(y ** 2)


def place(x):
    y = x * 1.0
    np.place(y, y > 0, 0.0)
    return np.sum(y ** 2)


def putmask(x):
    y = np.zeros(5)
    np.putmask(y, x > 0, x)
    return np.sum(y ** 2)


def out_argument(x):
    y = np.zeros(5)
    np.exp(x, y)    # (out given positionally: a ufunc's third argument)
    return np.sum(y)


@pytest.mark.parametrize(("fn", "arg", "callee", "written"), [
    (add_at, X5, "at", "a"), (fill_diagonal, M34, "fill_diagonal", "y"),
    (put, X5, "put", "y"), (copyto, X5, "copyto", "y"), (place, X5, "place", "y"),
    (putmask, X5, "putmask", "y"),
], ids=lambda v: getattr(v, "__name__", ""))
def test_a_call_that_may_write_into_a_differentiated_argument_is_refused(fn, arg, callee,
                                                                         written):
    _refused(fn, (arg.copy(),), rf"{callee}(_\d+)?\(\) takes a differentiated value and may "
             rf"change its argument '{written}' in place")


def test_out_arguments_are_refused():
    with pytest.raises(srcgrad.SrcGradError) as err:
        srcgrad.grad(out_argument)(X5)
    assert err.value.lineno is not None


LOG = logging.getLogger("srcgrad-test")


def with_print_and_logging(x):
    y = np.tanh(x)
    print("y is", y)
    LOG.debug("y = %s", y)
    logging.debug("%s", y)
    return np.sum(y * x)


def test_calls_that_only_read_may_take_differentiated_values(capsys):
    check(with_print_and_logging, (X5,), jax_oracle=False)  # (jax would print tracers)
    assert "y is" in capsys.readouterr().out


# --- index builders and other spellings ---------------------------------------------------------

def r_join(x):
    return np.sum(np.r_[x, 2.0 * x, 3.0] ** 2)


def r_constant(x):
    return np.sum(x * np.r_[0:5])


def c_join(x):
    return np.sum(np.c_[x, x] ** 2)


def einsum_sublists(a, b):
    return np.sum(np.einsum(a, [0, 1], b, [1, 2], [0, 2]) ** 2)


def einsum_sublists_implicit(x):
    return np.einsum(x, [0], x, [0])


def test_r_joins_its_items():
    check(r_join, (X5,))
    check(r_constant, (X5,))


def test_c_of_variables_is_refused():
    _refused(c_join, (X5,), r"np.c_\[\.\.\.\] of variables is not supported")


def test_einsum_in_its_sublist_form():
    check(einsum_sublists, (M34, R.standard_normal((4, 2))), wrt=(0, 1))
    check(einsum_sublists_implicit, (X5,))
    value, tangent = srcgrad.jvp(einsum_sublists_implicit, (X5,), (np.ones(5),))
    np.testing.assert_allclose(tangent, 2 * np.sum(X5))


def einsum_computed_sublist(x, n):
    return np.einsum(x, list(range(n)))


def test_einsum_sublists_that_are_not_literal_are_refused():
    with pytest.raises(srcgrad.SrcGradError, match="sublists must be literal lists"):
        srcgrad.grad(einsum_computed_sublist)(X5, 1)


# --- the structure of gradients -------------------------------------------------------------------

def layers(params, x):
    h = x
    for w, b in params:
        h = np.tanh(h @ w + b)
    return np.sum(h ** 2)


def layers_indexed(params, x):
    h = x
    for p in params:
        h = np.tanh(h @ p[0] + p[1])
    return np.sum(h ** 2) + np.sum(params[0][1])


PARAMS = [(R.standard_normal((3, 4)), R.standard_normal(4)),
          (R.standard_normal((4, 2)), R.standard_normal(2))]


@pytest.mark.parametrize("fn", [layers, layers_indexed], ids=lambda f: f.__name__)
def test_a_list_of_tuples_gets_a_list_of_tuples_of_arrays(fn):
    x = R.standard_normal((5, 3))
    grads = check(fn, (PARAMS, x), wrt=0)
    assert type(grads) is list and len(grads) == 2
    for g, p in zip(grads, PARAMS, strict=True):
        assert type(g) is tuple and len(g) == 2
        for gi, pi in zip(g, p, strict=True):
            assert type(gi) is np.ndarray and gi.shape == pi.shape and gi.dtype == pi.dtype


def test_a_float32_argument_gets_a_float32_gradient():
    w, x = np.ones((3, 2), np.float32), np.ones((4, 3), np.float32)
    gw, gx = srcgrad.grad(lambda w, x: np.sum(np.tanh(x @ w) * 0.5) / x.size, wrt=(0, 1))(w, x)
    assert gw.dtype == np.float32 and gx.dtype == np.float32


def power_of_a_complex_product(x):
    z = x * (1 + 2j)
    return np.sum(np.abs(z) ** 2)


def test_a_real_argument_gets_a_real_gradient_through_complex_values():
    """jax.grad gives 10 x here (|x (1 + 2i)|^2 = 5 x^2): the real part of the adjoint, in
    each API, never a complex number."""
    for g in (srcgrad.grad(power_of_a_complex_product)(X5),
              srcgrad.value_and_grad(power_of_a_complex_product)(X5)[1],
              srcgrad.vjp(power_of_a_complex_product, X5)[1](1.0),
              srcgrad.jacobian(power_of_a_complex_product)(X5)):
        g = g[0] if isinstance(g, tuple) else g
        assert not np.iscomplexobj(g)
        np.testing.assert_allclose(np.real(g), 10 * X5, rtol=1e-12)


def holomorphic(z):
    return np.sum(z * z).real


def test_a_complex_argument_may_have_a_complex_gradient():
    z = X5 + 1j * X5[::-1]
    assert np.iscomplexobj(srcgrad.grad(lambda z: np.sum(np.abs(z * 2.0)))(z))


# --- casts and fills: what carries a derivative ---------------------------------------------------

def times_its_integer_part(x):
    return np.sum(x * x.astype(int))


def times_its_truth(x):
    return np.sum(x * x.astype(bool) + x.astype("int32") ** 2)


def through_float32(x):
    return np.sum(x.astype(np.float32).astype(np.float64) ** 2)


def filled_with_an_element(x):
    return np.sum(np.full_like(x, x[0]) * x)


def filled_into_integers(x):
    return np.sum(np.full_like(np.arange(5), x[1]) * x)


@pytest.mark.parametrize("fn", [times_its_integer_part, times_its_truth, through_float32,
                                filled_with_an_element, filled_into_integers],
                         ids=lambda f: f.__name__)
def test_casts_and_fills_carry_the_derivative_they_have(fn):
    """A cast to integers or bools is piecewise constant: no derivative passes it (it once
    passed unchanged). A fill value reaches every element it fills (it once carried none)."""
    x = X5 * 3.0
    grad = check(fn, (x,), fd=fn is not through_float32)
    assert grad.dtype == x.dtype
    direction = R.standard_normal(5)
    _, tangent = srcgrad.jvp(fn, (x,), (direction,))
    np.testing.assert_allclose(tangent, grad @ direction, rtol=1e-6)


def padded_with_an_element(x):
    return np.sum(np.pad(x, 2, constant_values=x[0]) ** 2)


def padded_with_a_constant(x):
    return np.sum(np.pad(x, (1, 2), constant_values=0.5) ** 2)


def test_a_value_parameter_that_is_differentiated_is_refused():
    """np.pad's constant_values carries no derivative: a differentiated value there would
    have been taken as a constant."""
    _refused(padded_with_an_element, (X5,), "constant_values= of pad\\(\\) depends on a "
             "differentiated value")
    check(padded_with_a_constant, (X5,))


RNG = np.random.default_rng(5)


def noisy(x):
    noise = RNG.normal(size=x.shape)
    return np.sum((x + 0.1 * noise) ** 2)


def noise_around(x):
    return np.sum(RNG.normal(loc=x))


def test_a_module_level_rng_draws_as_written_and_a_differentiated_draw_is_refused():
    """``rng.normal(size=x.shape)`` draws in the forward sweep (it was refused as an "array
    method"); a draw whose parameters are differentiated has no derivative: refused."""
    state = RNG.bit_generator.state
    g = srcgrad.grad(noisy)(X5)
    RNG.bit_generator.state = state
    np.testing.assert_allclose(g, 2 * (X5 + 0.1 * RNG.normal(size=X5.shape)))
    _refused(noise_around, (X5,), r"cannot differentiate through RNG.normal\(\)")


# --- the value a derivative returns is the function's ---------------------------------------------

def loop_carried(w):
    s = 0.0
    for _ in range(3):
        s = np.sin(s * w + 1.0)
    return s


def test_value_and_grad_returns_the_value_of_a_loop_carried_result():
    """The result is the loop's last value, which the backward sweep restores trip by trip:
    value_and_grad returned the first value (0.0 where the function gives 0.9917), silently."""
    for w in (0.7, np.float64(0.7), np.array(0.7)):
        value, g = srcgrad.value_and_grad(loop_carried)(w)
        assert value == pytest.approx(loop_carried(0.7), rel=1e-14)
        assert g == pytest.approx(srcgrad.grad(loop_carried)(0.7), rel=1e-14)


# --- dtypes at the boundary -----------------------------------------------------------------------

def scaled_by_a_numpy_float(x):
    return np.sum(x / np.sqrt(2 * np.pi))   # NumPy promotes: float64 inside


def times_a_float64_matrix(x, w):
    return np.sum(np.tanh(x @ w))


def test_a_float32_argument_s_gradient_is_float32_where_numpy_promotes():
    """As JAX: the gradient has the argument's dtype (it came out float64)."""
    x32 = np.linspace(0.1, 1.0, 3).astype(np.float32)
    g = srcgrad.grad(scaled_by_a_numpy_float)(x32)
    assert g.dtype == np.float32
    np.testing.assert_allclose(g, 1 / np.sqrt(2 * np.pi), rtol=1e-6)
    w = np.ones((3, 2))
    gx, gw = srcgrad.grad(times_a_float64_matrix, wrt=(0, 1))(x32, w)
    assert gx.dtype == np.float32 and gw.dtype == np.float64
    value, gx = srcgrad.value_and_grad(times_a_float64_matrix)(x32, w)
    assert gx.dtype == np.float32 and np.asarray(value).dtype == np.float64


def abs_of_complex(x):
    return np.sum(np.abs(x * (1 + 1j)))


def test_the_tangent_of_a_real_output_through_complex_values_is_real():
    """jvp through np.abs of a complex value gave 1.414j where the tangent is 1.414."""
    x = np.array([1.0, 2.0])
    _, t = srcgrad.jvp(abs_of_complex, (x,), (np.array([1.0, 0.0]),))
    assert not np.iscomplexobj(t) and t == pytest.approx(np.sqrt(2.0), rel=1e-12)
    np.testing.assert_allclose(srcgrad.grad(abs_of_complex)(x), np.sqrt(2.0), rtol=1e-12)


# --- an index that repeats an element: NumPy keeps the last write --------------------------------

WEIGHTS = np.arange(1.0, 6.0)
REPEATS = np.array([0, 0, 2])


def set_with_repeats(x, v):
    y = x * 1.0
    y[REPEATS] = v
    return np.sum(y ** 2 * WEIGHTS)


def add_with_repeats(x, v):
    y = x * 1.0
    y[REPEATS] += v           # y[0] = x[0] + v[1]: NumPy does not add twice
    return np.sum(y ** 2 * WEIGHTS)


def set_with_repeats_in_a_loop(x, v):
    y = x * 1.0
    for k in range(2):
        y[np.array([k, k, 4])] = v * (k + 1.0)
    return np.sum(y ** 2 * WEIGHTS)


@pytest.mark.parametrize("fn", [set_with_repeats, add_with_repeats, set_with_repeats_in_a_loop])
def test_a_write_through_a_repeated_index_keeps_the_last_write(fn):
    """The value each repeat wrote but the last had the adjoint of the element (d/dv came out
    [40, 40, 180] for [0, 40, 180], and d/dx doubled under +=)."""
    x, v = np.array([1.0, 2.0, 3.0, 4.0, 5.0]), np.array([10.0, 20.0, 30.0])
    check(fn, (x, v), wrt=(0, 1), jax_oracle=False)
    direction = (np.cos(np.arange(5.0)), np.sin(np.arange(3.0) + 1))
    _, tangent = srcgrad.jvp(fn, (x, v), direction)
    gx, gv = srcgrad.grad(fn, wrt=(0, 1))(x, v)
    assert tangent == pytest.approx(gx @ direction[0] + gv @ direction[1], rel=1e-12)


# --- a write into an array that another name shares -----------------------------------------------

def view_read_after_its_base_is_written(a):
    b = a * 1.0
    row = b[0]
    b[0] = 0.0                 # NumPy: row is zeros now
    return np.sum(row * a[1])


def alias_read_after_the_other_name_is_written(a):
    b = a * 1.0
    c = b                      # one array, two names
    c[1] = c[1] * 3.0
    return np.sum(b ** 2)


def view_read_in_a_loop_that_writes_its_base(a):
    b = a * 1.0
    row = b[0]
    s = 0.0
    for _ in range(3):
        s = s + np.sum(row)    # the second trip reads the doubled row
        b[0] = b[0] * 2.0
    return s


@pytest.mark.parametrize("fn, match", [
    (view_read_after_its_base_is_written, "'row' may be a view of the array"),
    (alias_read_after_the_other_name_is_written, "'b' is the array 'c' was made from"),
    (view_read_in_a_loop_that_writes_its_base, "in this loop, 'row' may be a view"),
])
def test_a_name_that_shares_a_written_array_is_refused_where_it_is_read(fn, match):
    """NumPy changes what such a name holds; srcgrad's value stayed (0.54 for 0.0, 7.44 for
    25.84): refused at the read."""
    _refused(fn, (M34[:3, :3] + np.eye(3),), match)


def copy_taken_before_the_write(a):
    b = a * 1.0
    row = b[0].copy()
    b[0] = 0.0
    return np.sum(row * a[1]) + np.sum(b)


def copy_of_the_other_name(a):
    b = a * 1.0
    c = b.copy()
    c[1] = c[1] * 3.0
    return np.sum(b ** 2) + np.sum(c)


def view_read_before_the_write(a):
    b = a * 1.0
    row = b[0]
    s = np.sum(row)
    b[0] = 0.0
    return s + np.sum(b)


def view_taken_again_at_every_trip(a):
    b = a * 1.0
    for i in range(3):
        row = b[i]
        b[i] = row * 2.0
    return np.sum(b ** 2)


def rebound_then_written(a):
    b = a * 1.0
    row = b[0]
    b = b * 2.0                # a new array: row is a view of the old one
    b[0] = 0.0
    return np.sum(row) + np.sum(b)


@pytest.mark.parametrize("fn", [copy_taken_before_the_write, copy_of_the_other_name,
                                view_read_before_the_write, view_taken_again_at_every_trip,
                                rebound_then_written])
def test_what_numpy_does_not_share_is_differentiated(fn):
    check(fn, (M34[:3, :3] + np.eye(3),), jax_oracle=False)   # (jax has no x[i] = v)


# --- np.pad's modes that copy elements ------------------------------------------------------------

@pytest.mark.parametrize("mode", ["edge", "wrap", "reflect", "symmetric"])
def test_pad_modes_that_copy_elements_are_differentiated(mode):
    """Each padded element's adjoint goes back to the element it copies (these modes raised at
    run time in reverse mode, with no line)."""
    def f(x):
        return np.sum(np.pad(x, ((2, 1), (1, 3)), mode=mode) * np.arange(42.0).reshape(6, 7))

    check(f, (M34[:3, :3] + 0.0,))
