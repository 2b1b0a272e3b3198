"""srcgrad.optim against torch.optim (#18): fed the same gradient sequence, every optimizer
and schedule makes torch's updates (to 1e-10 in float64); both habits of getting gradients
into a step, and clip_grad_norm_."""

from __future__ import annotations

import numpy as np
import pytest

import srcgrad
from srcgrad import nn, optim

torch = pytest.importorskip("torch")

R = np.random.default_rng(2026)
SHAPES = [(3, 4), (4,)]
STEPS = 12


def _run(ours_cls, theirs_cls, kwargs, steps=STEPS, groups=None):
    values = [R.standard_normal(s) for s in SHAPES]
    grads = [[R.standard_normal(s) for s in SHAPES] for _ in range(steps)]
    ours = [nn.Parameter(v) for v in values]
    theirs = [torch.tensor(v, requires_grad=True) for v in values]
    if groups:
        opt = ours_cls([{"params": [ours[0]], **groups}, {"params": [ours[1]]}], **kwargs)
        topt = theirs_cls([{"params": [theirs[0]], **groups}, {"params": [theirs[1]]}],
                          **kwargs)
    else:
        opt, topt = ours_cls(ours, **kwargs), theirs_cls(theirs, **kwargs)
    for gs in grads:
        opt.step(gs)
        for t, g in zip(theirs, gs, strict=True):
            t.grad = torch.tensor(g)
        topt.step()
        for p, t in zip(ours, theirs, strict=True):
            np.testing.assert_allclose(p, t.detach().numpy(), rtol=1e-10, atol=1e-12)
    return opt, topt, ours


CASES = [
    ("sgd", optim.SGD, torch.optim.SGD, dict(lr=0.1)),
    ("sgd-momentum", optim.SGD, torch.optim.SGD, dict(lr=0.1, momentum=0.9, dampening=0.1)),
    ("sgd-nesterov", optim.SGD, torch.optim.SGD, dict(lr=0.05, momentum=0.9, nesterov=True,
                                                      weight_decay=1e-2)),
    ("sgd-maximize", optim.SGD, torch.optim.SGD, dict(lr=0.1, maximize=True)),
    ("adam", optim.Adam, torch.optim.Adam, dict(lr=1e-2)),
    ("adam-wd-amsgrad", optim.Adam, torch.optim.Adam, dict(lr=1e-2, betas=(0.8, 0.99),
                                                           weight_decay=0.1, amsgrad=True)),
    ("adamw", optim.AdamW, torch.optim.AdamW, dict(lr=1e-2)),
    ("adamw-amsgrad", optim.AdamW, torch.optim.AdamW, dict(lr=1e-2, weight_decay=0.3,
                                                           amsgrad=True)),
    ("rmsprop", optim.RMSprop, torch.optim.RMSprop, dict(lr=1e-2)),
    ("rmsprop-centered-momentum", optim.RMSprop, torch.optim.RMSprop,
     dict(lr=1e-2, momentum=0.5, centered=True, weight_decay=0.1)),
    ("adagrad", optim.Adagrad, torch.optim.Adagrad, dict(lr=0.1)),
    ("adagrad-decay", optim.Adagrad, torch.optim.Adagrad,
     dict(lr=0.1, lr_decay=0.01, weight_decay=0.1, initial_accumulator_value=0.5)),
]


@pytest.mark.parametrize(("ours", "theirs", "kwargs"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_optimizer_matches_torch(ours, theirs, kwargs):
    _run(ours, theirs, kwargs)


def test_parameter_groups_have_their_own_lr():
    _run(optim.Adam, torch.optim.Adam, dict(lr=1e-2), groups=dict(lr=0.1))


def test_state_dict_round_trip_continues_the_same_steps():
    opt, _, params = _run(optim.Adam, torch.optim.Adam, dict(lr=1e-2), steps=3)
    saved = opt.state_dict()
    assert set(saved["state"]) == {0, 1} and saved["param_groups"][0]["params"] == [0, 1]
    clone_params = [nn.Parameter(p.copy()) for p in params]
    clone = optim.Adam(clone_params, lr=1.0)
    clone.load_state_dict(saved)
    g = [R.standard_normal(s) for s in SHAPES]
    opt.step(g)
    clone.step(g)
    for a, b in zip(params, clone_params, strict=True):
        np.testing.assert_array_equal(a, b)


SCHEDULES = [
    ("step", lambda o, m: m.StepLR(o, step_size=3, gamma=0.5)),
    ("multistep", lambda o, m: m.MultiStepLR(o, milestones=[2, 5, 6], gamma=0.3)),
    ("exponential", lambda o, m: m.ExponentialLR(o, gamma=0.9)),
    ("cosine", lambda o, m: m.CosineAnnealingLR(o, T_max=7, eta_min=0.01)),
    ("lambda", lambda o, m: m.LambdaLR(o, lambda e: 1.0 / (1 + e))),
]


@pytest.mark.parametrize("make", [s[1] for s in SCHEDULES], ids=[s[0] for s in SCHEDULES])
def test_schedule_matches_torch(make):
    p = nn.Parameter(np.ones(2))
    t = torch.ones(2, dtype=torch.float64, requires_grad=True)
    opt, topt = optim.SGD([p], lr=0.5), torch.optim.SGD([t], lr=0.5)
    sched, tsched = make(opt, optim.lr_scheduler), make(topt, torch.optim.lr_scheduler)
    for _ in range(10):
        opt.step([np.ones(2)])
        t.grad = torch.ones(2, dtype=torch.float64)
        topt.step()
        sched.step()
        tsched.step()
        assert sched.get_last_lr() == pytest.approx(tsched.get_last_lr(), rel=1e-12)
    np.testing.assert_allclose(p, t.detach().numpy(), rtol=1e-12)


def test_clip_grad_norm_matches_torch():
    grads = [R.standard_normal(s) * 3 for s in SHAPES]
    ours = [nn.Parameter(np.zeros(s)) for s in SHAPES]
    for p, g in zip(ours, grads, strict=True):
        p.grad = g.copy()
    theirs = [torch.zeros(s, dtype=torch.float64, requires_grad=True) for s in SHAPES]
    for t, g in zip(theirs, grads, strict=True):
        t.grad = torch.tensor(g)
    total = optim.clip_grad_norm_(ours, 1.5)
    ttotal = torch.nn.utils.clip_grad_norm_(theirs, 1.5)
    assert total == pytest.approx(float(ttotal), rel=1e-12)
    for p, t in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(p.grad, t.grad.numpy(), rtol=1e-12)
    mapping = {"a": grads[0].copy(), "b": grads[1].copy()}
    optim.clip_grad_norm_(mapping, 1.5)
    np.testing.assert_allclose(mapping["a"], ours[0].grad, rtol=1e-12)


def _loss(model, x, y):
    return CRITERION(model(x), y)


CRITERION = nn.MSELoss()


def test_both_habits_make_the_same_steps_as_torch():
    srcgrad.manual_seed(4)
    a = nn.Sequential(nn.Linear(3, 5), nn.Tanh(), nn.Linear(5, 2))
    b = nn.Sequential(nn.Linear(3, 5), nn.Tanh(), nn.Linear(5, 2))
    b.load_state_dict(a.state_dict())
    t = torch.nn.Sequential(torch.nn.Linear(3, 5), torch.nn.Tanh(), torch.nn.Linear(5, 2))
    t = t.double()
    t.load_state_dict({k: torch.tensor(np.array(v)) for k, v in a.state_dict().items()})
    opt_a = optim.Adam(a.parameters(), lr=0.01)           # functional: step(grads)
    opt_b = optim.Adam(b.named_parameters(), lr=0.01)     # torch habit: backward, step()
    opt_t = torch.optim.Adam(t.parameters(), lr=0.01)
    x, y = R.standard_normal((8, 3)), R.standard_normal((8, 2))
    vg = srcgrad.value_and_grad(_loss)
    for _ in range(5):
        loss_a, grads = vg(a, x, y)
        opt_a.step(grads)
        opt_b.zero_grad()
        loss_b = srcgrad.backward(_loss, b, x, y)
        opt_b.step()
        opt_t.zero_grad()
        loss_t = torch.nn.functional.mse_loss(t(torch.tensor(x)), torch.tensor(y))
        loss_t.backward()
        opt_t.step()
        assert loss_a == pytest.approx(loss_t.item(), rel=1e-10)
        assert loss_b == pytest.approx(loss_t.item(), rel=1e-10)
    for (name, p), q in zip(a.named_parameters(), b.parameters(), strict=True):
        np.testing.assert_allclose(p, q, rtol=1e-12)
        np.testing.assert_allclose(p, dict(t.named_parameters())[name].detach().numpy(),
                                   rtol=1e-9)


def test_backward_accumulates_like_torch():
    model = nn.Linear(2, 1)
    x, y = R.standard_normal((4, 2)), R.standard_normal((4, 1))
    srcgrad.backward(_loss, model, x, y)
    once = model.weight.grad.copy()
    srcgrad.backward(_loss, model, x, y)
    np.testing.assert_allclose(model.weight.grad, 2 * once)
    model.zero_grad()
    assert model.weight.grad is None


def test_bad_input_gets_a_clear_error():
    model = nn.Linear(2, 1)
    with pytest.raises(srcgrad.SrcGradError, match="optimizes Parameters; got a ndarray"):
        optim.SGD([np.zeros(3)], lr=0.1)
    named = optim.SGD(model.named_parameters(), lr=0.1)
    with pytest.raises(srcgrad.SrcGradError, match="no entry for the parameter 'bias'"):
        named.step({"weight": np.zeros((1, 2))})
    with pytest.raises(srcgrad.SrcGradError, match="the gradient of weight has shape"):
        named.step({"weight": np.zeros((2, 2)), "bias": np.zeros(1)})
    with pytest.raises(srcgrad.SrcGradError, match="1 gradients for 2 parameters"):
        optim.SGD(model.parameters(), lr=0.1).step([np.zeros((1, 2))])
    with pytest.raises(srcgrad.SrcGradError, match="takes a loss function and a"):
        srcgrad.backward(_loss, np.zeros(3), 1.0, 2.0)
