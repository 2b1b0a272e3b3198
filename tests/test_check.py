"""``srcgrad.check_grad``: it passes on correct derivatives (the end-to-end functions of the rule
tests, the control-flow functions), and it catches a wrong one in either mode, naming the
argument."""

from __future__ import annotations

import numpy as np
import pytest
import test_control_flow as cf
import test_rules as tr

import srcgrad

R = np.random.default_rng(3)


@pytest.mark.parametrize("index", range(len(tr.E2E)), ids=tr.E2E_IDS)
def test_the_end_to_end_functions_pass(index):
    fn, makers, wrt = tr.E2E[index]
    args = tr._e2e_args(fn, makers)
    report = srcgrad.check_grad(fn, *args, wrt=wrt, directions=2)
    assert report.ok and len(report.rows) == (1 if isinstance(wrt, (int, str)) else len(wrt))


@pytest.mark.parametrize("fn", [cf.partial_jumps, cf.with_break, cf.reversed_range,
                                cf.returns_from_loop, cf.self_updates])
def test_control_flow_passes(fn):
    srcgrad.check_grad(fn, np.abs(cf.V) * 0.5, np.abs(cf.W) * 0.5 + 0.6)


def test_an_output_of_any_shape_and_float_arguments(rng):
    def f(x, s, n):
        return np.tanh(x * s) * n

    report = srcgrad.check_grad(f, rng.standard_normal((2, 3)), 0.7, 3)
    assert [name for name, _, _ in report.rows] == ["x", "s"]  # n is an int: not checked
    assert "OK" in str(report)


def tripled(x):
    return x * 3.0


@srcgrad.adjoint(tripled)
def tripled_adjoint(d_out, out, x):
    return d_out * 2.0  # wrong: should be 3


@srcgrad.tangent(tripled)
def tripled_tangent(out, x, x_dot):
    return x_dot * 3.0


def uses_tripled(x, w):
    return np.sum(tripled(x) * w)


def test_a_wrong_adjoint_is_caught_naming_the_argument_and_the_mode(rng):
    x, w = rng.standard_normal(3), rng.standard_normal(3)
    with pytest.raises(srcgrad.GradCheckError) as err:
        srcgrad.check_grad(uses_tripled, x, w)
    report = err.value.report
    assert not report.ok
    (name, rev, fwd), (other, rev_w, fwd_w) = report.rows
    assert (name, other) == ("x", "w") and rev > 0.1 and fwd < 1e-8 and rev_w < 1e-8
    assert "x" in str(err.value) and "<- wrong" in str(err.value)
    assert not srcgrad.check_grad(uses_tripled, x, w, raise_error=False).ok
    assert srcgrad.check_grad(uses_tripled, x, w, wrt="w").ok  # the rule only touches x


def test_float32_gets_looser_defaults(rng):
    def f(x):
        return np.sum(np.exp(x) * x)

    report = srcgrad.check_grad(f, rng.standard_normal(5).astype(np.float32))
    assert report.ok and report.rtol == 1e-2


def test_wrt_must_name_float_arguments():
    def f(x, n):
        return np.sum(x) * n

    with pytest.raises(srcgrad.SrcGradError, match="not a float argument"):
        srcgrad.check_grad(f, np.ones(2), 3, wrt="n")
    with pytest.raises(srcgrad.SrcGradError, match="no float argument"):
        srcgrad.check_grad(f, [1, 2], 3)
