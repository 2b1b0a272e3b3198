"""Property-based tests: random broadcasting shapes and values through generated gradients."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from oracle import check


def mixed(a, b, c):
    return np.sum(np.tanh(a * b + c) / (1.0 + b ** 2) - np.exp(-c * c) * a)


def reduce_mixed(a, b):
    return np.mean((a - b.mean(axis=-1, keepdims=True)) ** 2) + np.max(a * b)


@settings(max_examples=25, deadline=None)
@given(hnp.mutually_broadcastable_shapes(num_shapes=3, min_dims=0, max_dims=3, max_side=3),
       st.integers(0, 2 ** 32 - 1))
def test_broadcasting_operands_get_adjoints_of_their_own_shape(shapes, seed):
    rng = np.random.default_rng(seed)
    args = tuple(rng.uniform(-1.5, 1.5, s) for s in shapes.input_shapes)
    grads = check(mixed, args, wrt=(0, 1, 2), fd=False)
    assert [g.shape for g in grads] == [s for s in shapes.input_shapes]


@settings(max_examples=25, deadline=None)
@given(hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=1, max_dims=3, max_side=4),
       st.integers(0, 2 ** 32 - 1))
def test_reductions_over_broadcast_operands(shapes, seed):
    rng = np.random.default_rng(seed)
    args = tuple(rng.uniform(-1.0, 1.0, s) for s in shapes.input_shapes)
    check(reduce_mixed, args, wrt=(0, 1), fd=False)


@settings(max_examples=25, deadline=None)
@given(st.floats(-3, 3), st.floats(0.2, 3))
def test_python_float_values(x, y):
    def f(x, y):
        return np.sin(x) * y + np.exp(x / y) - x ** 2 + np.arctan2(x, y)

    gx, gy = check(f, (x, y), wrt=(0, 1), rtol=1e-7, atol=1e-9, jax_oracle=False)
    assert isinstance(gx, float) and isinstance(gy, float)
