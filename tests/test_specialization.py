"""Code made for calls whose arguments are all Python numbers: no broadcasting to undo."""

from __future__ import annotations

import numpy as np
import pytest
from oracle import finite_difference

import srcgrad

RATE = 0.5  # a module-level number the functions below read


def scalar_f(x, y):
    return np.sin(x) * y + np.exp(x / y) - x ** 2


def stepped(x, k):
    t = x
    for _ in range(5):
        t = t + RATE * (k - t) * np.tanh(t)
        if t > 3.0:
            t = t * 0.5
    return t * t


def relaxed(x, k):
    t = x
    for _ in range(3):
        t = t + RATE * (k - t) * np.tanh(t)
    return np.sum(t * t)


def _fd(f, args, i):
    return finite_difference(f, list(args), i)


def test_floats_get_code_without_broadcasting_helpers():
    g = srcgrad.grad(scalar_f, wrt=("x", "y"))
    generic = g.source
    dx, dy = g(1.3, 0.7)
    assert "unbroadcast" in generic and "unbroadcast" not in g.source
    assert dx == pytest.approx(_fd(scalar_f, (1.3, 0.7), 0), rel=1e-7)
    assert dy == pytest.approx(_fd(scalar_f, (1.3, 0.7), 1), rel=1e-7)


def test_arrays_after_floats_take_the_general_code():
    g = srcgrad.grad(lambda x, y: np.sum(np.sin(x) * y), wrt=(0, 1),
                     source="lambda x, y: np.sum(np.sin(x) * y)")
    a = g(0.3, 2.0)
    b = g(np.array([0.3, 0.4]), 2.0)
    c = g(0.3, 2.0)
    assert a == c
    np.testing.assert_allclose(b[0], np.cos([0.3, 0.4]) * 2.0)
    assert b[1] == pytest.approx(np.sin(0.3) + np.sin(0.4))


def test_loops_and_branches_on_floats():
    g = srcgrad.grad(stepped, wrt=("x", "k"))
    for x in (0.2, 1.7, 2.9):
        got = g(x, 4.0)
        assert all(isinstance(v, float) for v in got)
        for i in range(2):
            assert got[i] == pytest.approx(_fd(stepped, (x, 4.0), i), rel=1e-6, abs=1e-9)
    assert "unbroadcast" not in g.source


def test_a_module_number_rebound_to_an_array_takes_the_general_code():
    global RATE
    g = srcgrad.grad(relaxed, wrt="k")
    before = g(0.5, 4.0)
    assert "unbroadcast" not in g.source
    try:
        RATE = np.array([0.5, 0.25])
        want = _fd(relaxed, (0.5, 4.0), 1)
        assert g(0.5, 4.0) == pytest.approx(want, rel=1e-6)
        assert "unbroadcast" in g.source
    finally:
        RATE = 0.5
    assert g(0.5, 4.0) == before


def test_an_int_is_never_differentiated():
    g = srcgrad.grad(scalar_f)
    g(1.3, 0.7)
    with pytest.raises(srcgrad.SrcGradError, match="integer"):
        g(1, 0.7)
