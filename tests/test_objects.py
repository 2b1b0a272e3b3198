"""Objects passed to differentiated functions (#18): attributes read by structure, methods
inlined, loops over layers unrolled, tests on fixed attributes decided when the code is
generated, gradients with the object's structure; objects reached from outside guarded."""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import pytest

import srcgrad
from srcgrad import nn

try:
    import jax
    import jax.numpy as jnp
    jax.config.update("jax_enable_x64", True)
except ImportError:  # pragma: no cover
    jax = None

R = np.random.default_rng(18)
W, B, X = R.standard_normal((3, 2)), R.standard_normal(2), R.standard_normal((4, 3))


def _fd(f, arrays, eps=1e-6):
    """Central differences of ``f()`` in each element of each array in ``arrays`` (changed in
    place and restored)."""
    out = []
    for a in arrays:
        g = np.zeros_like(a)
        for i in np.ndindex(a.shape):
            old = a[i]
            a[i] = old + eps
            up = f()
            a[i] = old - eps
            down = f()
            a[i] = old
            g[i] = (up - down) / (2 * eps)
        out.append(g)
    return out


class Lin:
    """The issue's example, as a new user writes it."""

    def __init__(self, w, b):
        self.w, self.b = w, b

    def forward(self, x):
        return x @ self.w + self.b


def loss(model, x):
    return np.sum(model.forward(x) ** 2)


def _jax_lin_grads(w, b, x):
    return jax.grad(lambda w, b: jnp.sum((x @ w + b) ** 2), argnums=(0, 1))(w, b)


def test_a_plain_object_gets_a_mapping_of_its_arrays():
    m = Lin(W.copy(), B.copy())
    g = srcgrad.grad(loss)(m, X)
    assert list(g) == ["w", "b"]
    want = _jax_lin_grads(W, B, X)
    np.testing.assert_allclose(g["w"], want[0], rtol=1e-12)
    np.testing.assert_allclose(g["b"], want[1], rtol=1e-12)
    fd = _fd(lambda: loss(m, X), [m.w, m.b])
    np.testing.assert_allclose(g["w"], fd[0], rtol=1e-6)


def test_a_bound_method_is_differentiated_with_its_object_fixed():
    m = Lin(W, B)
    g = srcgrad.grad(lambda x: np.sum(m.forward(x) ** 2))(X)
    np.testing.assert_allclose(g, 2 * (X @ W + B) @ W.T, rtol=1e-12)
    scalar = srcgrad.grad(Scaled(2.0).apply)(1.5)
    assert scalar == pytest.approx(2.0 * np.cos(1.5))


class Scaled:
    def __init__(self, k):
        self.k = k

    def apply(self, x):
        return self.k * np.sin(x)


def test_the_generated_code_reads_the_leaves_once_and_returns_a_dict():
    g = srcgrad.grad(loss)
    g(Lin(W, B), X)
    src = g.source
    assert "model_w = model.w" in src and "model_b = model.b" in src
    assert "return {'w': d_model_w, 'b': d_model_b}" in src
    assert "# Lin.forward() L" in src


class Params(NamedTuple):
    w: np.ndarray
    b: np.ndarray
    depth: int


def deep(p, x):
    h = x
    for _ in range(p.depth):
        h = np.tanh(h @ p.w + p.b)
    return np.sum(h)


@dataclass
class Affine:
    w: np.ndarray
    scale: float
    name: str = "affine"


def scaled(a, x):
    return np.sum(np.sin(x @ a.w) * a.scale)


def test_a_namedtuple_and_a_dataclass_get_gradients_of_their_own_type():
    w2 = R.standard_normal((2, 2))
    p = Params(w2, B.copy(), 3)
    g = srcgrad.grad(deep)(p, X[:, :2])
    assert type(g) is Params and g.depth == 3
    want = jax.grad(lambda w, b: _deep_jax(w, b, X[:, :2], 3), argnums=(0, 1))(w2, B)
    np.testing.assert_allclose(g.w, want[0], rtol=1e-10)
    np.testing.assert_allclose(g.b, want[1], rtol=1e-10)
    a = Affine(W.copy(), 2.0)
    ga = srcgrad.grad(scaled)(a, X)
    assert type(ga) is Affine and ga.name == "affine"
    np.testing.assert_allclose(ga.w, _fd(lambda: scaled(a, X), [a.w])[0], rtol=1e-6)
    assert float(ga.scale) == pytest.approx(np.sum(np.sin(X @ W)))


def _deep_jax(w, b, x, depth):
    h = jnp.asarray(x)
    for _ in range(depth):
        h = jnp.tanh(h @ w + b)
    return jnp.sum(h)


class Block(nn.Module):
    def __init__(self, n, residual):
        super().__init__()
        self.fc = nn.Linear(n, n)
        self.residual = residual

    def forward(self, x):
        h = np.tanh(self.fc(x))
        if self.residual:
            h = h + x
        return h


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.blocks = [Block(3, True), Block(3, False)]
        self.head = nn.Linear(3, 1, bias=False)

    @property
    def first(self):
        return self.blocks[0]

    def forward(self, x):
        x = self.first(x) * 0.5
        for block in self.blocks:
            x = block(x)
        return self.head(x)


def net_loss(model, x):
    return np.sum(model(x) ** 2)


def test_lists_of_modules_properties_and_fixed_flags():
    srcgrad.manual_seed(3)
    net = Net()
    g = srcgrad.grad(net_loss)
    grads = g(net, X)
    assert list(grads) == [k for k, _ in net.named_parameters()]
    params = [p for _, p in net.named_parameters()]
    fd = _fd(lambda: float(net_loss(net, X)), params)
    for got, want in zip(grads.values(), fd, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-8)
    src = g.source
    assert "cond" not in src, "if self.residual: is decided when the code is generated"
    assert "saved_" not in src, "a loop over layers is unrolled: nothing to save"


def test_a_module_level_loss_and_its_structure_guard():
    m = Lin(W.copy(), B.copy())
    g = srcgrad.grad(global_loss)
    first = g(m, X)
    np.testing.assert_allclose(first["w"], _jax_lin_grads(W, B, X)[0] * 2.0, rtol=1e-12)
    CRITERION.weight = 3.0      # a Python float of a module: fixed in the code, guarded
    second = g(m, X)
    np.testing.assert_allclose(second["w"], first["w"] * 1.5, rtol=1e-12)
    assert "3.0" in g.source
    CRITERION.weight = 2.0


class Weighted(nn.Module):
    def __init__(self, weight):
        super().__init__()
        self.weight = weight

    def forward(self, y):
        return self.weight * np.sum(y ** 2)


CRITERION = Weighted(2.0)


def global_loss(model, x):
    return CRITERION(model.forward(x))


def test_eval_mode_is_a_new_specialization():
    srcgrad.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.Dropout(0.5))
    g = srcgrad.grad(net_loss)
    model.eval()
    evald = g(model, X)
    assert "random" not in g.source
    model.train()
    trained = g(model, X)
    assert "random" in g.source
    assert not np.allclose(evald["0.weight"], trained["0.weight"])


def test_objects_are_refused_where_they_cannot_be_used():
    with pytest.raises(srcgrad.SrcGradError, match="has no attribute 'missing'"):
        srcgrad.grad(lambda m, x: np.sum(m.missing * x), wrt=1)(Lin(W, B), X)


def assigns_an_attribute(m, x):
    m.w = m.w * 2
    return np.sum(m.w * x)


def test_attribute_assignment_stays_refused_at_its_line():
    with pytest.raises(srcgrad.SrcGradError, match="assignment to attribute") as err:
        srcgrad.grad(assigns_an_attribute)(Lin(W[:, 0].copy(), B), X[0])
    assert err.value.lineno is not None


def test_forward_mode_takes_a_tangent_shaped_like_the_gradient():
    srcgrad.manual_seed(8)
    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 1))
    grads = srcgrad.grad(net_loss)(model, X)
    rng = np.random.default_rng(3)
    t = {k: rng.standard_normal(v.shape) for k, v in grads.items()}
    value, tangent = srcgrad.jvp(net_loss, (model, X), (t, np.zeros_like(X)))
    assert value == pytest.approx(net_loss(model, X))
    assert tangent == pytest.approx(sum(np.sum(grads[k] * t[k]) for k in grads), rel=1e-12)
    p = Params(R.standard_normal((2, 2)), B.copy(), 2)
    tp = Params(R.standard_normal((2, 2)), R.standard_normal(2), 0)
    g = srcgrad.grad(deep)(p, X[:, :2])
    _, tangent = srcgrad.jvp(deep, (p, X[:, :2]), (tp, np.zeros((4, 2))))
    assert tangent == pytest.approx(np.sum(g.w * tp.w) + np.sum(g.b * tp.b), rel=1e-12)
    with pytest.raises(srcgrad.SrcGradError, match="must be a dict with the keys"):
        srcgrad.jvp(net_loss, (model, X), ({"0.weight": t["0.weight"]}, np.zeros_like(X)))


@pytest.mark.skipif(jax is None, reason="jax")
def test_objects_under_jit_are_passed_as_their_leaves():
    srcgrad.manual_seed(6)
    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 1))
    want = srcgrad.grad(net_loss)(model, X)
    g = srcgrad.value_and_grad(net_loss, backend="jax", jit=True)
    value, got = g(model, X)
    assert float(value) == pytest.approx(net_loss(model, X))
    assert list(got) == list(want)
    for k in want:
        np.testing.assert_allclose(np.asarray(got[k]), want[k], rtol=1e-12)
    assert g.source.startswith("def grad_net_loss(model_0_weight, model_0_bias,")
    optimizer = srcgrad.optim.SGD(model.parameters(), lr=0.1)   # jax gradients step numpy
    optimizer.step(got)
    p = Params(R.standard_normal((2, 2)), B.copy(), 2)
    gp = srcgrad.grad(deep, backend="jax", jit=True)(p, X[:, :2])
    assert type(gp) is Params and gp.depth == 2
    np.testing.assert_allclose(np.asarray(gp.w), srcgrad.grad(deep)(p, X[:, :2]).w, rtol=1e-10)


@pytest.mark.skipif(jax is None, reason="jax")
def test_an_outer_object_with_arrays_is_refused_under_jit():
    with pytest.raises(srcgrad.SrcGradError, match="would be read once, when jax traces"):
        srcgrad.grad(lambda x: np.sum(OUTER.forward(x)), backend="jax", jit=True)(X)


OUTER = Lin(W, B)
