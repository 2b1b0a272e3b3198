"""Custom derivative rules (``@srcgrad.adjoint``, ``@srcgrad.tangent``) and ``stop_gradient``:
against finite differences and jax, their bodies visible in the generated code, and the errors
for rules that do not fit their function."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.special
from oracle import check, finite_difference

import srcgrad

jax.config.update("jax_enable_x64", True)
R = np.random.default_rng(7)


# --- the seed's MyReLU: a forward, and a backward written by hand ---------------------------------

def my_relu(x):
    return np.maximum(x, 0.0)


@srcgrad.adjoint(my_relu)
def my_relu_adjoint(d_out, out, x):
    d_x = d_out.copy()
    d_x[x < 0] = 0
    return d_x


def two_layer(w1, w2, x, y):
    h = my_relu(x @ w1)
    return np.sum((h @ w2 - y) ** 2)


NET = (R.standard_normal((4, 3)), R.standard_normal((3, 2)), R.standard_normal((5, 4)),
       R.standard_normal((5, 2)))


def test_the_seed_relu_rule_gives_the_relu_gradient():
    check(two_layer, NET, wrt=(0, 1))


def test_the_rule_body_is_in_the_generated_code():
    src = srcgrad.grad(two_layer).source
    assert "# my_relu_adjoint() L" in src
    assert "d_x = np.array(d_h, copy=True)" in src  # d_out bound to the output's adjoint
    assert "shaped_like(d_x, t1, 'my_relu_adjoint of my_relu')" in src


def test_the_rule_runs_on_the_jax_backend():
    check(two_layer, NET, wrt=(0, 1), backend="jax")


def rnn(xs, w):
    h = xs[0]
    for t in range(1, xs.shape[0]):
        h = my_relu(h * w + xs[t])
    return np.sum(h ** 2)


def test_a_rule_inside_a_loop(rng):
    check(rnn, (rng.standard_normal((6, 3)), rng.standard_normal(3) * 0.8 + 0.5), wrt=(0, 1))


# --- a rule that differs from the function's own derivative -------------------------------------

def round_through(x):
    return np.round(x)


@srcgrad.adjoint(round_through)
def round_through_adjoint(d_out, out, x):
    return d_out  # a straight-through estimator: round's derivative taken to be 1


def quantized(x, w):
    return np.sum(round_through(x * w) * x)


def test_a_straight_through_estimator():
    x, w = np.array([0.3, 1.7, -2.2]), 1.6
    d_x, d_w = srcgrad.grad(quantized, wrt=(0, 1))(x, w)
    np.testing.assert_allclose(d_x, np.round(x * w) + x * w)
    np.testing.assert_allclose(d_w, np.sum(x * x))


def scaled(x, k):
    return x * k


@srcgrad.adjoint(scaled)
def scaled_adjoint(d_out, out, x, k):
    return d_out * k, None  # no derivative with respect to k


def uses_scaled(x, k):
    return np.sum(scaled(np.sin(x), k) ** 2)


def test_none_marks_an_argument_without_a_derivative():
    x, k = np.array([0.3, -0.7]), 2.5
    d_x, d_k = srcgrad.grad(uses_scaled, wrt=(0, 1))(x, k)
    np.testing.assert_allclose(d_x, 2 * np.sin(x) * k * k * np.cos(x))
    assert d_k == 0.0


# --- a function without Python source: scipy.special.erf ----------------------------------------

erf = scipy.special.erf


@srcgrad.adjoint(erf)
def erf_adjoint(d_out, out, x):
    return d_out * 2.0 / np.sqrt(np.pi) * np.exp(-x * x)


@srcgrad.tangent(erf)
def erf_tangent(out, x, x_dot):
    return x_dot * 2.0 / np.sqrt(np.pi) * np.exp(-x * x)


def with_erf(x, w):
    return np.sum(erf(x * w) ** 2 + np.tanh(x))


def with_erf_jax(x, w):
    return jnp.sum(jax.scipy.special.erf(x * w) ** 2 + jnp.tanh(x))


X, W = np.array([0.3, -0.8, 1.2]), 0.7


def test_a_function_without_source_gets_its_gradient_from_its_rule():
    got = srcgrad.grad(with_erf, wrt=(0, 1))(X, W)
    want = jax.grad(with_erf_jax, argnums=(0, 1))(X, W)
    for g, e in zip(got, want, strict=True):
        np.testing.assert_allclose(g, np.asarray(e), rtol=1e-12)
    np.testing.assert_allclose(got[0], finite_difference(with_erf, (X, W), 0), rtol=1e-6)


def test_forward_mode_uses_the_tangent_rule():
    (value, tangent) = srcgrad.jvp(with_erf, (X, W), (np.array([1.0, 0.5, -1.0]), 0.3))
    want = jax.jvp(with_erf_jax, (X, W), (np.array([1.0, 0.5, -1.0]), 0.3))
    np.testing.assert_allclose([value, tangent], [float(w) for w in want], rtol=1e-12)
    assert "# erf_tangent() L" in srcgrad.jvp(with_erf).source


def test_second_derivatives_through_rules():
    for mode in ("forward-over-reverse", "reverse-over-forward"):
        got = srcgrad.hessian(with_erf, mode=mode)(X, W)
        np.testing.assert_allclose(got, np.asarray(jax.hessian(with_erf_jax)(X, W)),
                                   rtol=1e-10, atol=1e-12)


# --- stop_gradient -------------------------------------------------------------------------------

def stopped(x, w):
    scale = srcgrad.stop_gradient(np.sum(x * w))
    return np.sum(np.sin(x * w) * scale)


def stopped_jax(x, w):
    scale = jax.lax.stop_gradient(jnp.sum(x * w))
    return jnp.sum(jnp.sin(x * w) * scale)


def test_stop_gradient_passes_the_value_and_stops_the_derivative():
    x, w = np.array([0.3, -0.8, 1.2]), np.array([1.5, 0.5, -0.4])
    assert srcgrad.stop_gradient(x) is x
    got = srcgrad.grad(stopped, wrt=(0, 1))(x, w)
    want = jax.grad(stopped_jax, argnums=(0, 1))(x, w)
    for g, e in zip(got, want, strict=True):
        np.testing.assert_allclose(g, np.asarray(e), rtol=1e-12)
    _, t = srcgrad.jvp(stopped, (x, w), (np.ones(3), np.zeros(3)))
    _, want_t = jax.jvp(stopped_jax, (x, w), (np.ones(3), np.zeros(3)))
    np.testing.assert_allclose(t, float(want_t), rtol=1e-12)
    assert "scale = stop_gradient(" in srcgrad.grad(stopped).source


# --- errors ---------------------------------------------------------------------------------------

def test_a_rule_whose_signature_does_not_fit_is_refused_naming_both():
    def f(x, y):
        return x * y

    with pytest.raises(srcgrad.SrcGradError, match="rule f_adjoint for f takes 3") as err:
        @srcgrad.adjoint(f)
        def f_adjoint(d_out, out, x):
            return d_out
    assert "must take 4" in str(err.value)
    with pytest.raises(srcgrad.SrcGradError, match="rule f_tangent for f takes 3"):
        @srcgrad.tangent(f)
        def f_tangent(out, x, y):
            return x


def pair(x, y):
    return x * y


@srcgrad.adjoint(pair)
def pair_adjoint(d_out, out, x, y):
    return d_out * y  # one adjoint where two are due


def uses_pair(x, y):
    return np.sum(pair(x, y))


def test_a_rule_returning_the_wrong_number_of_adjoints_is_refused_at_the_call():
    with pytest.raises(srcgrad.SrcGradError, match="pair_adjoint of pair returns 1") as err:
        srcgrad.grad(uses_pair)(np.ones(2), np.ones(2))
    assert err.value.lineno is not None and "pair(x, y)" in str(err.value)


def shrink(x):
    return x * 2.0


@srcgrad.adjoint(shrink)
def shrink_adjoint(d_out, out, x):
    return d_out[:1]  # the wrong shape


def uses_shrink(x):
    return np.sum(shrink(x))


def test_an_adjoint_of_the_wrong_shape_is_refused_naming_the_rule():
    with pytest.raises(srcgrad.SrcGradError,
                       match="shrink_adjoint of shrink returned a value of shape"):
        srcgrad.grad(uses_shrink)(np.ones(3))


def test_forward_mode_without_a_tangent_rule_says_which_rule_to_add():
    with pytest.raises(srcgrad.SrcGradError, match=r"srcgrad.tangent\(my_relu\)") as err:
        srcgrad.jvp(two_layer, NET, tuple(np.ones_like(a) for a in NET))
    assert err.value.lineno is not None


def test_a_rule_registered_later_replaces_the_generated_code():
    def later(x):
        return np.sin(x)

    def uses_later(x):
        return np.sum(later(x))

    x = np.array([0.1, 0.2])
    np.testing.assert_allclose(srcgrad.grad(uses_later)(x), np.cos(x))

    @srcgrad.adjoint(later)
    def later_adjoint(d_out, out, x):
        return d_out * 2.0

    np.testing.assert_allclose(srcgrad.grad(uses_later)(x), [2.0, 2.0])


# --- gradient surgery: grad_hook ------------------------------------------------------------------

def clipped_rnn(xs, w):
    h = xs[0]
    for t in range(1, xs.shape[0]):
        h = np.tanh(h * w + xs[t])
        h = srcgrad.grad_hook(h, lambda d_h: np.clip(d_h, -0.5, 0.5))
    return np.sum(h ** 2) * 3.0


def halve(d):
    return d * 0.5


def halved(x):
    y = srcgrad.grad_hook(np.sin(x), halve)
    return np.sum(y * x)


@jax.custom_vjp
def _clip_adjoint(h):
    return h


_clip_adjoint.defvjp(lambda h: (h, None), lambda _, g: (jnp.clip(g, -0.5, 0.5),))


def clipped_rnn_jax(xs, w):
    h = xs[0]
    for t in range(1, xs.shape[0]):
        h = _clip_adjoint(jnp.tanh(h * w + xs[t]))
    return jnp.sum(h ** 2) * 3.0


def test_grad_hook_clips_the_adjoint_inside_a_loop(rng):
    xs, w = rng.standard_normal((6, 3)), np.array([1.5, -2.0, 0.8])
    got = srcgrad.grad(clipped_rnn, wrt=(0, 1))(xs, w)
    want = jax.grad(clipped_rnn_jax, argnums=(0, 1))(xs, w)
    for g, e in zip(got, want, strict=True):
        np.testing.assert_allclose(g, np.asarray(e), rtol=1e-12)
    assert clipped_rnn(xs, w) == pytest.approx(float(clipped_rnn_jax(xs, w)))
    src = srcgrad.grad(clipped_rnn).source
    assert "np.clip(d_h" in src and "h = h\n" not in src


def test_grad_hook_with_a_function_and_in_forward_mode():
    x = np.array([0.3, -1.1, 2.0])
    np.testing.assert_allclose(srcgrad.grad(halved)(x), 0.5 * np.cos(x) * x + np.sin(x))
    _, t = srcgrad.jvp(halved, (x,), (np.ones(3),))  # the hook does not change tangents
    np.testing.assert_allclose(t, np.sum(np.cos(x) * x + np.sin(x)))
    np.testing.assert_allclose(halved(x), np.sum(np.sin(x) * x))  # plain Python: x itself


def test_grad_hook_needs_a_function():
    def bad(x):
        return np.sum(srcgrad.grad_hook(x, 2.0))

    with pytest.raises(srcgrad.SrcGradError, match="grad_hook") as err:
        srcgrad.grad(bad)(np.ones(2))
    assert err.value.lineno is not None


# --- checkpointing --------------------------------------------------------------------------------

def cell(h, x, w1, w2):
    a = np.tanh(h * w1 + x)
    b = np.sin(a * w2)
    return np.tanh(a * b + h) * 0.9


checkpointed_cell = srcgrad.checkpoint(cell)


def recurrence(xs, w1, w2, h0):
    h = h0
    for t in range(xs.shape[0]):
        h = checkpointed_cell(h, xs[t], w1, w2)
    return np.sum(h ** 2)


def recurrence_unmarked(xs, w1, w2, h0):
    h = h0
    for t in range(xs.shape[0]):
        h = cell(h, xs[t], w1, w2)
    return np.sum(h ** 2)


ARGS = (R.standard_normal((7, 4)), R.standard_normal(4), R.standard_normal(4),
        R.standard_normal(4))


def test_a_checkpointed_call_gives_the_same_gradient_saving_only_its_arguments():
    check(recurrence, ARGS, wrt=(0, 1, 2, 3))
    for got, want in zip(srcgrad.grad(recurrence, wrt=(0, 1, 2, 3))(*ARGS),
                         srcgrad.grad(recurrence_unmarked, wrt=(0, 1, 2, 3))(*ARGS),
                         strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-12)
    src = srcgrad.grad(recurrence, wrt=1).source
    saved = {line.split("=")[0].strip() for line in src.splitlines()
             if line.strip().startswith("saved_") and "= []" in line}
    assert saved == {"saved_h"}  # the cell's intermediates are computed again
    assert "# vjp_cell() L" in src
    unmarked = srcgrad.grad(recurrence_unmarked, wrt=1).source
    assert len([ln for ln in unmarked.splitlines() if "= []" in ln]) > 1


def test_a_checkpointed_call_in_forward_mode_and_called_directly():
    tangents = tuple(np.ones_like(a) for a in ARGS)
    got = srcgrad.jvp(recurrence, ARGS, tangents)
    want = srcgrad.jvp(recurrence_unmarked, ARGS, tangents)
    np.testing.assert_allclose(got, want, rtol=1e-12)
    np.testing.assert_allclose(checkpointed_cell(*ARGS[1:], ARGS[0][0]),
                               cell(*ARGS[1:], ARGS[0][0]))


def test_checkpoint_takes_a_python_function():
    with pytest.raises(srcgrad.SrcGradError, match="checkpoint takes a Python function"):
        srcgrad.checkpoint(np.sin)


# --- custom rules under control flow -------------------------------------------------------------
# A call with a custom rule whose output a later branch or loop may overwrite: its adjoint code
# runs only where that output's adjoint holds a value (a guard on the branch's flag or the
# loop's trip count), its stack of saved values stays in step, and forward mode follows.

def softplus(x):
    return np.log1p(np.exp(x))


@srcgrad.adjoint(softplus)
def softplus_adjoint(d_out, out, x):
    return d_out / (1.0 + np.exp(-x))


@srcgrad.tangent(softplus)
def softplus_tangent(out, x, x_dot):
    return x_dot / (1.0 + np.exp(-x))


def overwritten_in_branch(x, w, flag):
    h = softplus(x * w)
    if flag:
        h = np.sin(x)
    return np.sum(h * w)


def overwritten_in_loop(x, w, n):
    h = softplus(x * w)
    for _ in range(n):
        h = np.tanh(h * w)
    return np.sum(h)


def custom_in_loop_and_branch(x, w, n, flag):
    h = x
    for _ in range(n):
        h = softplus(h * w) - 0.5
        if flag:
            h = softplus(h) * w
    return np.sum(h * h)


def custom_reads_its_output(x, w, flag):
    h = softplus(x)
    if flag:
        h = softplus(h * w)
    h = softplus(h) + h
    return np.sum(h)


def logistic(x):
    return 1.0 / (1.0 + np.exp(-x))


@srcgrad.adjoint(logistic)
def logistic_adjoint(d_out, out, x):
    return d_out * out * (1.0 - out)   # reads the output: saved in a loop


@srcgrad.tangent(logistic)
def logistic_tangent(out, x, x_dot):
    return x_dot * out * (1.0 - out)


def custom_output_overwritten_each_trip(x, w, n, flag):
    h = x
    for _ in range(n):
        h = logistic(h * w)
        if flag:
            h = logistic(h) - 0.5
    return np.sum(h)


def tanh_scaled(x, s):
    return x * np.tanh(s)


@srcgrad.adjoint(tanh_scaled)
def tanh_scaled_adjoint(d_out, out, x, s):
    return d_out * np.tanh(s), d_out * x * (1.0 - np.tanh(s) ** 2)


@srcgrad.tangent(tanh_scaled)
def tanh_scaled_tangent(out, x, s, x_dot, s_dot):
    return x_dot * np.tanh(s) + s_dot * x * (1.0 - np.tanh(s) ** 2)


SCALE = np.linspace(-0.5, 0.7, 4)


def custom_of_its_own_target(x, w, n):
    h = x * w
    for _ in range(n):
        h = softplus(h)          # the tangent rule reads the old h
        h = tanh_scaled(h, SCALE)     # s carries no tangent: zeros for s_dot
        h = tanh_scaled(SCALE, h)
    return np.sum(h * w)


GUARDED = [(custom_of_its_own_target, (2,)), (custom_output_overwritten_each_trip, (3, True)),
           (custom_output_overwritten_each_trip, (2, False)),
           (overwritten_in_branch, (True,)), (overwritten_in_branch, (False,)),
           (overwritten_in_loop, (0,)), (overwritten_in_loop, (2,)),
           (custom_in_loop_and_branch, (0, True)), (custom_in_loop_and_branch, (3, True)),
           (custom_in_loop_and_branch, (3, False)), (custom_reads_its_output, (True,)),
           (custom_reads_its_output, (False,))]


@pytest.mark.parametrize(("fn", "rest"), GUARDED,
                         ids=[f"{f.__name__}-{'-'.join(map(str, r))}" for f, r in GUARDED])
def test_a_custom_rule_under_branches_and_loops(fn, rest):
    x, w = R.standard_normal(4), R.standard_normal(4)
    args = (x, w, *rest)
    check(fn, args, wrt=(0, 1))
    tangents = (R.standard_normal(4), R.standard_normal(4))
    value, tangent = srcgrad.JvpFunction(fn, (0, 1))(args, tangents)
    want = jax.jvp(lambda a, b: _on_jax(fn)(a, b, *rest), (jnp.asarray(x), jnp.asarray(w)),
                   tuple(jnp.asarray(t) for t in tangents))
    np.testing.assert_allclose(value, want[0], rtol=1e-12)
    np.testing.assert_allclose(tangent, want[1], rtol=1e-10)


def _on_jax(fn):
    """``fn`` run on jax.numpy (the custom rule's primal included)."""
    from oracle import numpy_is

    def run(*args):
        with numpy_is(fn.__module__, jnp):
            return fn(*args)
    return run


def test_a_custom_adjoint_runs_only_where_its_output_has_an_adjoint():
    """After ``if flag: h = np.sin(x)``, the adjoint of the ``h`` that ``softplus`` made is
    zero where the branch ran: the rule's code runs under ``if not cond``, with no zeros made
    for it and nothing saved for it."""
    src = srcgrad.grad(overwritten_in_branch, wrt=(0, 1)).source
    code = [ln.strip() for ln in src.splitlines() if not ln.strip().startswith("#")]
    guard = code.index("if not cond:")
    assert "softplus_adjoint of softplus" in code[guard + 1]
    assert code[guard + 2:guard + 4] == ["d_x = d_x + unbroadcast(d_t1 * w, x)",
                                         "d_w = d_w + unbroadcast(x * d_t1, w)"]
    assert not any("zero_grad(h)" in ln or "saved_" in ln for ln in code)


def test_forward_mode_through_a_function_with_only_an_adjoint_rule_is_refused():
    with pytest.raises(srcgrad.SrcGradError, match=r"no tangent rule for my_relu\(\) here: "
                       r"my_relu has an adjoint rule but no tangent rule") as err:
        srcgrad.jvp(two_layer, NET, tuple(np.ones_like(a) for a in NET))
    assert err.value.lineno is not None
