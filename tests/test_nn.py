"""srcgrad.nn against PyTorch (#18): every layer and loss gives the value and the gradients
torch gives for the same weights and inputs (float64), and central differences agree; the
Module API (names, state_dict, load_state_dict, train/eval, repr) has torch's shape."""

from __future__ import annotations

import numpy as np
import pytest

import srcgrad
from srcgrad import nn

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.filterwarnings("ignore:reduction. 'mean' divides:UserWarning")

R = np.random.default_rng(1818)


@pytest.fixture(autouse=True)
def _float64_torch():
    """torch's layers made in float64, as srcgrad's, while each test runs."""
    saved = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(saved)


def _torch_twin(ours, theirs):
    theirs.load_state_dict({k: torch.tensor(np.array(v)) for k, v in ours.state_dict().items()})
    return theirs


def _probe(y):
    return np.sum(y * _PROBE[:np.size(y)].reshape(np.shape(y)))


def _one(m, x):
    return _probe(m(x))


def _two(m, x1, x2):
    return _probe(m(x1, x2))


def _compare(model, twin, inputs, rtol=1e-10, value=True):
    """srcgrad's gradients of a random projection of ``model(*inputs)``, with respect to the
    parameters and the inputs, against torch's."""
    f = _one if len(inputs) == 1 else _two
    grads = srcgrad.grad(f, wrt=tuple(range(len(inputs) + 1)))(model, *inputs)
    tx = [torch.tensor(x, requires_grad=True) for x in inputs]
    ty = twin(*tx)
    (ty * torch.tensor(_PROBE[:ty.numel()].reshape(tuple(ty.shape)))).sum().backward()
    if value:  # (a call of its own: a BatchNorm's would update its statistics again)
        np.testing.assert_allclose(np.asarray(model(*inputs)), ty.detach().numpy(), rtol=rtol,
                                   atol=1e-12)
    assert set(grads[0]) == {n for n, _ in twin.named_parameters()}
    for name, p in twin.named_parameters():
        np.testing.assert_allclose(grads[0][name], p.grad.numpy(), rtol=rtol, atol=1e-12,
                                   err_msg=name)
    for g, t in zip(grads[1:], tx, strict=True):
        np.testing.assert_allclose(g, t.grad.numpy(), rtol=rtol, atol=1e-12)


_PROBE = R.standard_normal(4096)


LAYERS = [
    ("linear", lambda: (nn.Linear(5, 3), torch.nn.Linear(5, 3)), [(4, 5)]),
    ("linear-nobias", lambda: (nn.Linear(5, 3, bias=False), torch.nn.Linear(5, 3, bias=False)),
     [(4, 5)]),
    ("linear-3d", lambda: (nn.Linear(5, 2), torch.nn.Linear(5, 2)), [(2, 4, 5)]),
    ("bilinear", lambda: (nn.Bilinear(3, 4, 2), torch.nn.Bilinear(3, 4, 2)), [(5, 3), (5, 4)]),
    ("relu", lambda: (nn.ReLU(), torch.nn.ReLU()), [(4, 5)]),
    ("leaky", lambda: (nn.LeakyReLU(0.2), torch.nn.LeakyReLU(0.2)), [(4, 5)]),
    ("elu", lambda: (nn.ELU(0.7), torch.nn.ELU(0.7)), [(4, 5)]),
    ("sigmoid", lambda: (nn.Sigmoid(), torch.nn.Sigmoid()), [(4, 5)]),
    ("tanh", lambda: (nn.Tanh(), torch.nn.Tanh()), [(4, 5)]),
    ("silu", lambda: (nn.SiLU(), torch.nn.SiLU()), [(4, 5)]),
    ("gelu", lambda: (nn.GELU(), torch.nn.GELU()), [(4, 5)]),
    ("gelu-tanh", lambda: (nn.GELU("tanh"), torch.nn.GELU("tanh")), [(4, 5)]),
    ("softplus", lambda: (nn.Softplus(), torch.nn.Softplus()), [(4, 5)]),
    ("softmax", lambda: (nn.Softmax(dim=1), torch.nn.Softmax(dim=1)), [(4, 5)]),
    ("logsoftmax", lambda: (nn.LogSoftmax(dim=-1), torch.nn.LogSoftmax(dim=-1)), [(4, 5)]),
    ("flatten", lambda: (nn.Flatten(), torch.nn.Flatten()), [(2, 3, 4)]),
    ("identity", lambda: (nn.Identity(), torch.nn.Identity()), [(4, 5)]),
    ("layernorm", lambda: (nn.LayerNorm(5), torch.nn.LayerNorm(5)), [(4, 5)]),
    ("layernorm-2d", lambda: (nn.LayerNorm((3, 4)), torch.nn.LayerNorm((3, 4))), [(2, 3, 4)]),
    ("sequential", lambda: (nn.Sequential(nn.Linear(5, 8), nn.Tanh(), nn.Linear(8, 2)),
                            torch.nn.Sequential(torch.nn.Linear(5, 8), torch.nn.Tanh(),
                                                torch.nn.Linear(8, 2))), [(4, 5)]),
    ("nested", lambda: (nn.Sequential(nn.Sequential(nn.Linear(5, 4), nn.ReLU()),
                                      nn.Linear(4, 1)),
                        torch.nn.Sequential(torch.nn.Sequential(torch.nn.Linear(5, 4),
                                                                torch.nn.ReLU()),
                                            torch.nn.Linear(4, 1))), [(3, 5)]),
]


@pytest.mark.parametrize(("make", "shapes"), [c[1:] for c in LAYERS], ids=[c[0] for c in LAYERS])
def test_layer_matches_torch(make, shapes):
    srcgrad.manual_seed(5)
    ours, theirs = make()
    theirs = _torch_twin(ours, theirs)
    inputs = [R.standard_normal(s) for s in shapes]
    _compare(ours, theirs, inputs)


def test_embedding_matches_torch():
    ours, theirs = nn.Embedding(6, 3), torch.nn.Embedding(6, 3)
    theirs = _torch_twin(ours, theirs)
    idx = np.array([[0, 2, 2], [5, 1, 0]])
    grads = srcgrad.grad(lambda m, i: np.sum(np.sin(m(i))))(ours, idx)
    torch.sin(theirs(torch.tensor(idx))).sum().backward()
    np.testing.assert_allclose(grads["weight"], theirs.weight.grad.numpy(), rtol=1e-12)


def _targets(kind, shape):
    if kind == "class":
        return R.integers(0, shape[1], shape[0])
    if kind == "prob":
        p = R.uniform(0.1, 1.0, shape)
        return p / p.sum(axis=1, keepdims=True)
    if kind == "binary":
        return R.uniform(0.0, 1.0, shape)
    return R.standard_normal(shape)


LOSSES = [
    ("mse", lambda r: (nn.MSELoss(reduction=r), torch.nn.MSELoss(reduction=r)), "real", None),
    ("l1", lambda r: (nn.L1Loss(reduction=r), torch.nn.L1Loss(reduction=r)), "real", None),
    ("huber", lambda r: (nn.HuberLoss(r, delta=0.7), torch.nn.HuberLoss(r, delta=0.7)),
     "real", None),
    ("smoothl1", lambda r: (nn.SmoothL1Loss(r, beta=0.5), torch.nn.SmoothL1Loss(
        reduction=r, beta=0.5)), "real", None),
    ("bce", lambda r: (nn.BCELoss(reduction=r), torch.nn.BCELoss(reduction=r)), "binary",
     "sigmoid"),
    ("bcelogits", lambda r: (nn.BCEWithLogitsLoss(reduction=r),
                             torch.nn.BCEWithLogitsLoss(reduction=r)), "binary", None),
    ("bcelogits-pos", lambda r: (nn.BCEWithLogitsLoss(reduction=r, pos_weight=np.array(
        [1.0, 2.0, 0.5, 3.0])), torch.nn.BCEWithLogitsLoss(reduction=r, pos_weight=torch.tensor(
            [1.0, 2.0, 0.5, 3.0]))), "binary", None),
    ("ce", lambda r: (nn.CrossEntropyLoss(reduction=r), torch.nn.CrossEntropyLoss(
        reduction=r)), "class", None),
    ("ce-prob", lambda r: (nn.CrossEntropyLoss(reduction=r), torch.nn.CrossEntropyLoss(
        reduction=r)), "prob", None),
    ("ce-smooth", lambda r: (nn.CrossEntropyLoss(reduction=r, label_smoothing=0.1),
                             torch.nn.CrossEntropyLoss(reduction=r, label_smoothing=0.1)),
     "class", None),
    ("ce-weight", lambda r: (nn.CrossEntropyLoss(weight=np.array([1.0, 2.0, 0.5, 1.5]),
                                                 reduction=r),
                             torch.nn.CrossEntropyLoss(weight=torch.tensor(
                                 [1.0, 2.0, 0.5, 1.5]), reduction=r)), "class", None),
    ("ce-ignore", lambda r: (nn.CrossEntropyLoss(ignore_index=2, reduction=r),
                             torch.nn.CrossEntropyLoss(ignore_index=2, reduction=r)), "class",
     None),
    ("nll", lambda r: (nn.NLLLoss(reduction=r), torch.nn.NLLLoss(reduction=r)), "class",
     "logsoftmax"),
    ("kldiv", lambda r: (nn.KLDivLoss(reduction=r), torch.nn.KLDivLoss(reduction=r)), "prob",
     "logsoftmax"),
    ("kldiv-batchmean", lambda r: (nn.KLDivLoss(reduction="batchmean" if r == "mean" else r),
                                   torch.nn.KLDivLoss(reduction="batchmean" if r == "mean"
                                                      else r)), "prob", "logsoftmax"),
]


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize(("make", "targets", "squash"), [c[1:] for c in LOSSES],
                         ids=[c[0] for c in LOSSES])
def test_loss_matches_torch(make, targets, squash, reduction):
    ours, theirs = make(reduction)
    x = R.standard_normal((6, 4))
    y = _targets(targets, x.shape)

    def prepare(z, xp_sigmoid, xp_log_softmax):
        if squash == "sigmoid":
            return xp_sigmoid(z)
        if squash == "logsoftmax":
            return xp_log_softmax(z)
        return z

    probe = R.standard_normal(6 * 4)

    def f(x, y):
        out = ours(prepare(x, nn.functional.sigmoid, lambda z: nn.functional.log_softmax(z, 1)),
                   y)
        return np.sum(out * probe[:np.size(out)].reshape(np.shape(out)))

    g = srcgrad.grad(f)(x, y)
    tx = torch.tensor(x, requires_grad=True)
    tout = theirs(prepare(tx, torch.sigmoid, lambda z: torch.log_softmax(z, 1)),
                  torch.tensor(y))
    np.testing.assert_allclose(f(x, y), float((tout * torch.tensor(
        probe[:tout.numel()].reshape(tuple(tout.shape)))).sum().detach()), rtol=1e-10)
    (tout * torch.tensor(probe[:tout.numel()].reshape(tuple(tout.shape)))).sum().backward()
    np.testing.assert_allclose(g, tx.grad.numpy(), rtol=1e-9, atol=1e-12)


def test_gradients_agree_with_central_differences():
    srcgrad.manual_seed(2)
    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2))
    x, y = R.standard_normal((5, 3)), R.integers(0, 2, 5)
    crit = nn.CrossEntropyLoss()

    def loss(m, x, y):
        return crit(m(x), y)

    grads = srcgrad.grad(loss)(model, x, y)
    for name, p in model.named_parameters():
        fd = np.zeros_like(p)
        for i in np.ndindex(p.shape):
            old = p[i]
            p[i] = old + 1e-6
            up = loss(model, x, y)
            p[i] = old - 1e-6
            down = loss(model, x, y)
            p[i] = old
            fd[i] = (up - down) / 2e-6
        np.testing.assert_allclose(grads[name], fd, rtol=1e-6, atol=1e-9, err_msg=name)


def test_module_api_has_torchs_shape():
    srcgrad.manual_seed(0)
    ours = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Sequential(nn.Linear(3, 2)))
    theirs = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.ReLU(),
                                 torch.nn.Sequential(torch.nn.Linear(3, 2)))
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    assert [n for n, _ in ours.named_modules()] == [n for n, _ in theirs.named_modules()]
    assert repr(ours) == repr(theirs)
    assert ours[0].weight.shape == (3, 4) and isinstance(ours[0].weight, nn.Parameter)
    bound = 1 / np.sqrt(4)
    assert np.all(np.abs(ours[0].weight) <= bound)
    ours.eval()
    assert not any(m.training for m in ours.modules())
    ours.train()
    assert all(m.training for m in ours.modules())


def test_load_state_dict_names_what_does_not_match():
    model = nn.Linear(3, 2)
    state = {k: np.ones_like(v) for k, v in model.state_dict().items()}
    model.load_state_dict(state)
    assert np.all(model.weight == 1) and isinstance(model.weight, nn.Parameter)
    with pytest.raises(srcgrad.SrcGradError, match="missing key.*'bias'"):
        model.load_state_dict({"weight": state["weight"]})
    with pytest.raises(srcgrad.SrcGradError, match="unexpected key.*'extra'"):
        model.load_state_dict({**state, "extra": np.zeros(1)})
    with pytest.raises(srcgrad.SrcGradError, match="'weight' has shape \\(2, 2\\)"):
        model.load_state_dict({**state, "weight": np.zeros((2, 2))})
    missing, unexpected = model.load_state_dict({"weight": state["weight"]}, strict=False)
    assert missing == ["bias"] and unexpected == []


def test_parameters_stay_parameters_and_results_are_plain_arrays():
    p = nn.Parameter(np.ones(3))
    q = p
    p -= 0.5
    assert p is q and isinstance(p, nn.Parameter)
    assert type(p * 2) is np.ndarray and type(np.tanh(p)) is np.ndarray
    assert nn.Parameter(np.arange(3)).dtype == np.float64


def test_dropout_reuses_its_mask_in_the_backward_sweep():
    srcgrad.manual_seed(7)
    drop = nn.Dropout(0.5, generator=np.random.default_rng(3))
    x = R.standard_normal((4, 6))
    g = srcgrad.grad(lambda m, x: np.sum(m(x) * x), wrt=1)(drop, x)
    mask = np.random.default_rng(3).random(x.shape) >= 0.5
    np.testing.assert_allclose(g, 2 * x * mask / 0.5)
    drop.eval()
    np.testing.assert_allclose(srcgrad.grad(lambda m, x: np.sum(m(x) * x), wrt=1)(drop, x),
                               2 * x)


class MyLinear(nn.Module):
    """The tutorial's module, as written there."""

    def __init__(self, input_size, output_size):
        super().__init__()
        self.weights = nn.Parameter(R.standard_normal((input_size, output_size)))
        self.bias = nn.Parameter(R.standard_normal(output_size))

    def forward(self, x):
        return x @ self.weights + self.bias


class LinearRegression(nn.Module):
    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(1, 1)

    def forward(self, x):
        return self.linear(x)


def test_a_module_made_inside_the_function_is_refused():
    with pytest.raises(srcgrad.SrcGradError, match="a MSELoss is created inside"):
        srcgrad.grad(lambda m, x: nn.MSELoss()(m(x), x))(nn.Identity(), np.ones(3))


def test_the_tutorials_modules():
    m = MyLinear(3, 2)
    x = R.standard_normal((5, 3))
    g = srcgrad.grad(lambda m, x: np.sum(m(x) ** 2))(m, x)
    np.testing.assert_allclose(g["weights"], 2 * x.T @ (x @ m.weights + m.bias))
    np.testing.assert_allclose(g["bias"], 2 * np.sum(x @ m.weights + m.bias, axis=0))
    lr = LinearRegression()
    xs = np.arange(11.0).reshape(-1, 1)
    ys = 2 * xs + 1
    criterion = nn.MSELoss()
    grads = srcgrad.grad(lambda m, x, y: criterion(m(x), y))(lr, xs, ys)
    assert list(grads) == ["linear.weight", "linear.bias"]
    assert grads["linear.weight"].shape == (1, 1)


def test_a_model_called_with_the_wrong_shape_names_the_layer():
    model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 10))
    criterion = nn.CrossEntropyLoss()
    g = srcgrad.grad(lambda m, x, y: criterion(m(x), y))
    with pytest.raises(ValueError, match=r"Linear\(in_features=784, out_features=256, bias=True\)"
                       r" got input of shape \(128, 100\): its last dimension must be 784"):
        g(model, np.ones((128, 100)), np.zeros(128, dtype=int))
    assert "throw" not in g.source  # the check runs only where the generated code fails


@pytest.mark.parametrize(("kwargs", "shape"), [({}, (6, 3)), ({"momentum": None}, (6, 3)),
                                               ({}, (4, 3, 5)), ({"affine": False}, (6, 3)),
                                               ({"track_running_stats": False}, (6, 3))],
                         ids=["2d", "cumulative", "3d", "no-affine", "no-running"])
def test_batchnorm_trains_and_evaluates_as_torchs(kwargs, shape):
    ours, theirs = nn.BatchNorm1d(3, **kwargs), torch.nn.BatchNorm1d(3, **kwargs)
    assert repr(ours) == repr(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    for mode in ("train", "train", "train", "eval", "train", "eval"):
        ours.train(mode == "train")
        theirs.train(mode == "train")
        _compare(ours, theirs, [R.standard_normal(shape)], value=False)
        for p in theirs.parameters():
            p.grad = None
        for name, value in theirs.state_dict().items():
            np.testing.assert_allclose(ours.state_dict()[name], value.numpy(), rtol=1e-12,
                                       err_msg=name)


def test_a_buffer_is_updated_once_per_forward_call():
    bn = nn.BatchNorm1d(2)
    g = srcgrad.grad(lambda m, x: np.sum(m(x) ** 3))
    g(bn, R.standard_normal((4, 2)))
    assert int(bn.num_batches_tracked) == 1
    assert "_track" in g.source.split("# ---- backward")[0]
    assert "_track" not in g.source.split("# ---- backward")[1]


RECURRENT = [
    ("rnn", nn.RNN, "RNN", {}),
    ("rnn-relu-2-layers-batch-first", nn.RNN, "RNN",
     dict(num_layers=2, nonlinearity="relu", batch_first=True)),
    ("rnn-nobias", nn.RNN, "RNN", dict(bias=False)),
    ("lstm", nn.LSTM, "LSTM", {}),
    ("lstm-2-layers", nn.LSTM, "LSTM", dict(num_layers=2)),
]


def _output(m, x):
    out, _ = m(x)
    return _probe(out)


def _last_state(m, x):
    _, state = m(x)
    return _probe(state[0] if isinstance(state, tuple) else state)


@pytest.mark.parametrize("probe", [_output, _last_state], ids=["output", "state"])
@pytest.mark.parametrize(("ours", "name", "kwargs"), [c[1:] for c in RECURRENT],
                         ids=[c[0] for c in RECURRENT])
def test_recurrent_layers_match_torch(ours, name, kwargs, probe):
    srcgrad.manual_seed(9)
    model, twin = ours(3, 4, **kwargs), getattr(torch.nn, name)(3, 4, **kwargs)
    assert list(model.state_dict()) == list(twin.state_dict())
    assert repr(model) == repr(twin)
    twin = _torch_twin(model, twin)
    x = R.standard_normal((5, 2, 3))
    grads = srcgrad.grad(probe, wrt=(0, 1))(model, x)
    tx = torch.tensor(x, requires_grad=True)
    out, state = twin(tx)
    picked = out if probe is _output else state[0] if isinstance(state, tuple) else state
    (picked * torch.tensor(_PROBE[:picked.numel()].reshape(tuple(picked.shape)))).sum().backward()
    np.testing.assert_allclose(grads[1], tx.grad.numpy(), rtol=1e-10, atol=1e-12)
    for n, p in twin.named_parameters():
        np.testing.assert_allclose(grads[0][n], p.grad.numpy(), rtol=1e-10, atol=1e-12,
                                   err_msg=n)


def test_initialisations_have_torchs_bounds():
    w = np.zeros((300, 200))
    nn.init.xavier_uniform_(w)
    assert np.abs(w).max() <= np.sqrt(6 / 500) and np.abs(w).max() > 0.9 * np.sqrt(6 / 500)
    nn.init.kaiming_normal_(w, nonlinearity="relu")
    assert np.std(w) == pytest.approx(np.sqrt(2 / 200), rel=0.05)
    nn.init.constant_(w, 0.5)
    assert np.all(w == 0.5)
    srcgrad.manual_seed(3)
    first = nn.Linear(4, 2).weight.copy()
    srcgrad.manual_seed(3)
    np.testing.assert_array_equal(nn.Linear(4, 2).weight, first)


CONV = [
    ("conv2d", lambda m: m.Conv2d(3, 4, 3), (2, 3, 7, 6)),
    ("conv2d-stride-pad-dilation", lambda m: m.Conv2d(3, 4, (3, 2), stride=2, padding=1,
                                                      dilation=(1, 2)), (2, 3, 9, 8)),
    ("conv2d-groups-same-nobias", lambda m: m.Conv2d(4, 6, 3, groups=2, padding="same",
                                                     bias=False), (2, 4, 6, 6)),
    ("conv1d", lambda m: m.Conv1d(3, 5, 4, stride=2, padding=2), (2, 3, 11)),
    ("maxpool", lambda m: m.MaxPool2d(2), (2, 3, 6, 8)),
    ("maxpool-stride-pad", lambda m: m.MaxPool2d(3, stride=2, padding=1), (2, 3, 7, 7)),
    ("avgpool", lambda m: m.AvgPool2d(2), (2, 3, 6, 8)),
    ("avgpool-stride-pad", lambda m: m.AvgPool2d(3, stride=2, padding=1), (2, 3, 7, 7)),
]


@pytest.mark.parametrize(("make", "shape"), [c[1:] for c in CONV], ids=[c[0] for c in CONV])
def test_convolution_and_pooling_match_torch(make, shape):
    srcgrad.manual_seed(11)
    ours, theirs = make(nn), make(torch.nn)
    assert repr(ours) == repr(theirs)
    _compare(ours, _torch_twin(ours, theirs), [R.standard_normal(shape)])


def test_a_small_cnn_trains_end_to_end():
    srcgrad.manual_seed(12)
    model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Flatten(), nn.Linear(4 * 4 * 4, 3))
    twin = torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3, padding=1), torch.nn.ReLU(),
                               torch.nn.MaxPool2d(2), torch.nn.Flatten(),
                               torch.nn.Linear(4 * 4 * 4, 3))
    _compare(model, _torch_twin(model, twin), [R.standard_normal((5, 1, 8, 8))])


def _attention(m, q, k, padding, mask):
    out, weights = m(q, k, k, key_padding_mask=padding, attn_mask=mask)
    return _probe(out) + np.sum(weights * _PROBE[-weights.size:].reshape(weights.shape))


@pytest.mark.parametrize("masks", ["none", "padding", "bool", "float"])
@pytest.mark.parametrize("batch_first", [False, True])
def test_multihead_attention_matches_torch(masks, batch_first):
    srcgrad.manual_seed(13)
    ours = nn.MultiheadAttention(8, 2, batch_first=batch_first)
    theirs = torch.nn.MultiheadAttention(8, 2, batch_first=batch_first)
    assert repr(ours) == repr(theirs) and list(ours.state_dict()) == list(theirs.state_dict())
    theirs = _torch_twin(ours, theirs)
    length, n, source = 3, 2, 4
    q = R.standard_normal((n, length, 8) if batch_first else (length, n, 8))
    k = R.standard_normal((n, source, 8) if batch_first else (source, n, 8))
    padding = np.array([[False, False, True, False], [False, True, False, False]]) \
        if masks == "padding" else None
    mask = {"bool": np.triu(np.ones((length, source), bool), 2),
            "float": R.standard_normal((length, source))}.get(masks)
    grads = srcgrad.grad(_attention, wrt=(0, 1, 2))(ours, q, k, padding, mask)
    tq, tk = torch.tensor(q, requires_grad=True), torch.tensor(k, requires_grad=True)
    out, weights = theirs(tq, tk, tk, key_padding_mask=None if padding is None else
                          torch.tensor(padding), attn_mask=None if mask is None else
                          torch.tensor(mask))
    probe_w = torch.tensor(_PROBE[-weights.numel():].reshape(tuple(weights.shape)))
    ((out * torch.tensor(_PROBE[:out.numel()].reshape(tuple(out.shape)))).sum()
     + (weights * probe_w).sum()).backward()
    np.testing.assert_allclose(grads[1], tq.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(grads[2], tk.grad.numpy(), rtol=1e-10, atol=1e-12)
    for name, p in theirs.named_parameters():
        np.testing.assert_allclose(grads[0][name], p.grad.numpy(), rtol=1e-10, atol=1e-12,
                                   err_msg=name)


class _FunctionalDropout(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 3)

    def forward(self, x):
        return nn.functional.dropout(nn.functional.relu(self.fc(x)), p=0.3,
                                     training=self.training)


def test_functional_dropout_has_torchs_signature_and_srcgrads_generator():
    srcgrad.manual_seed(21)
    net = _FunctionalDropout()
    x = R.standard_normal((6, 4))
    state = nn.init.generator().bit_generator.state
    g = srcgrad.grad(lambda m, x: np.sum(m(x)))(net, x)
    nn.init.generator().bit_generator.state = state
    keep = nn.init.generator().random((6, 3)) >= 0.3
    h = x @ net.fc.weight.T + net.fc.bias
    np.testing.assert_allclose(g["fc.bias"], np.sum((h > 0) * keep / 0.7, axis=0))
    net.eval()
    g = srcgrad.grad(lambda m, x: np.sum(m(x)))(net, x)
    np.testing.assert_allclose(g["fc.bias"], np.sum(h > 0, axis=0))


class _Blocks:
    """A module whose forward iterates over a ModuleDict's items and values, in both
    libraries."""

    @staticmethod
    def make(m, tanh):
        class Net(m.Module):
            def __init__(self):
                super().__init__()
                self.blocks = m.ModuleDict({"a": m.Linear(3, 3), "b": m.Linear(3, 3)})

            def forward(self, x):
                for name, layer in self.blocks.items():
                    x = tanh(layer(x)) if name == "a" else layer(x)
                for layer in self.blocks.values():
                    x = x + layer(x)
                return x

        return Net()


def test_iterating_over_a_moduledict_matches_torch():
    ours, theirs = _Blocks.make(nn, np.tanh), _Blocks.make(torch.nn, torch.tanh)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    _compare(ours, _torch_twin(ours, theirs), [R.standard_normal((4, 3))])
    g = srcgrad.grad(_one)
    g(ours, R.standard_normal((4, 3)))
    assert "saved_" not in g.source and "cond" not in g.source  # unrolled, decided
