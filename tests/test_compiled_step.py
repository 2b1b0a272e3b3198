"""srcgrad.compile_step (#20): a whole training step (loss through a Module, generated
gradient, optimizer update) compiled by jax.jit. Step for step it gives the parameters and the
optimizer state of the eager NumPy step (srcgrad.backward + optimizer.step) in float64; a
learning-rate schedule needs no new compilation; data-parallel over a mesh of 8 forced host
devices gives the parameters of one device, with the batch split."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import srcgrad
from srcgrad import nn, optim

jax = pytest.importorskip("jax")
jax.config.update("jax_enable_x64", True)

CE = nn.CrossEntropyLoss()


def loss_fn(model, x, y):
    return CE(model(x), y)


def _model(seed=0):
    srcgrad.manual_seed(seed)
    return nn.Sequential(nn.Linear(6, 12), nn.Tanh(), nn.Linear(12, 4))


def _batch(rng, n=16):
    return rng.standard_normal((n, 6)), rng.integers(0, 4, n)


OPTIMIZERS = [
    (optim.SGD, dict(lr=0.1)),
    (optim.SGD, dict(lr=0.1, momentum=0.9, weight_decay=1e-3)),
    (optim.SGD, dict(lr=0.1, momentum=0.9, nesterov=True)),
    (optim.Adam, dict(lr=1e-2)),
    (optim.Adam, dict(lr=1e-2, amsgrad=True, weight_decay=1e-2, maximize=False)),
    (optim.AdamW, dict(lr=1e-2)),
    (optim.RMSprop, dict(lr=1e-2)),
    (optim.RMSprop, dict(lr=1e-2, centered=True, momentum=0.5, weight_decay=1e-3)),
    (optim.Adagrad, dict(lr=0.1, lr_decay=0.01, initial_accumulator_value=0.1)),
]


@pytest.mark.parametrize("opt, kwargs", OPTIMIZERS,
                         ids=[f"{o.__name__}-{sorted(k)}" for o, k in OPTIMIZERS])
def test_the_compiled_step_is_the_eager_step(opt, kwargs, rng):
    batches = [_batch(rng) for _ in range(4)]
    eager, compiled = _model(), _model()
    eager_opt, compiled_opt = opt(eager.parameters(), **kwargs), opt(compiled.parameters(),
                                                                       **kwargs)
    step = srcgrad.compile_step(loss_fn, compiled, compiled_opt)
    for x, y in batches:
        eager_opt.zero_grad()
        want = srcgrad.backward(loss_fn, eager, x, y)
        eager_opt.step()
        got = step(x, y)
        np.testing.assert_allclose(float(got), want, rtol=1e-12)
    step.sync()
    for p, q in zip(eager.parameters(), compiled.parameters(), strict=True):
        np.testing.assert_allclose(q, p, rtol=1e-11, atol=1e-13)
        assert set(eager_opt.state[id(p)]) == set(compiled_opt.state[id(q)])
        for k, v in eager_opt.state[id(p)].items():
            np.testing.assert_allclose(compiled_opt.state[id(q)][k], v, rtol=1e-11, atol=1e-13)


def test_a_schedule_changes_the_rate_without_compiling_again(rng):
    eager, compiled = _model(), _model()
    eager_opt = optim.SGD(eager.parameters(), lr=0.5, momentum=0.5)
    compiled_opt = optim.SGD(compiled.parameters(), lr=0.5, momentum=0.5)
    schedules = [optim.lr_scheduler.StepLR(o, step_size=1, gamma=0.5)
                 for o in (eager_opt, compiled_opt)]
    step = srcgrad.compile_step(loss_fn, compiled, compiled_opt)
    for _ in range(4):
        x, y = _batch(rng)
        eager_opt.zero_grad()
        srcgrad.backward(loss_fn, eager, x, y)
        eager_opt.step()
        step(x, y)
        for s in schedules:
            s.step()
    assert len(step._compiled) == 1
    step.sync()
    for p, q in zip(eager.parameters(), compiled.parameters(), strict=True):
        np.testing.assert_allclose(q, p, rtol=1e-11)


def test_sync_and_reload_hand_the_parameters_back_and_forth(rng):
    model = _model()
    opt = optim.Adam(model.parameters(), lr=1e-2)
    step = srcgrad.compile_step(loss_fn, model, opt)
    x, y = _batch(rng)
    before = [np.array(p) for p in model.parameters()]
    step(x, y)
    assert all(np.array_equal(p, b) for p, b in zip(model.parameters(), before, strict=True))
    step.sync()
    assert not any(np.array_equal(p, b) for p, b in zip(model.parameters(), before, strict=True))
    model.load_state_dict({k: np.asarray(v) * 0 for k, v in model.state_dict().items()})
    step.reload()
    step(x, y)
    step.sync()
    assert opt.state[id(next(model.parameters()))]["step"] == 1 + 1


def test_float32_stays_float32(rng):
    model = _model().float()
    step = srcgrad.compile_step(loss_fn, model, optim.Adam(model.parameters(), lr=1e-3))
    x, y = _batch(rng)
    loss = step(x.astype(np.float32), y)
    assert loss.dtype == np.float32 and all(p.dtype == np.float32 for p in step._trained)


def test_what_a_compiled_step_cannot_do_is_refused(rng):
    model = nn.Sequential(nn.Linear(6, 12), nn.Dropout(0.5), nn.Linear(12, 4))
    with pytest.raises(srcgrad.SrcGradError, match="draws random numbers"):
        srcgrad.compile_step(loss_fn, model, optim.SGD(model.parameters(), lr=0.1))
    model.eval()
    srcgrad.compile_step(loss_fn, model, optim.SGD(model.parameters(), lr=0.1))
    other = _model(1)
    with pytest.raises(srcgrad.SrcGradError, match="not the model's"):
        srcgrad.compile_step(loss_fn, _model(), optim.SGD(other.parameters(), lr=0.1))

    def batch_first(x, model, y):
        return CE(model(x), y)

    m = _model()
    x, y = _batch(rng)
    with pytest.raises(srcgrad.SrcGradError):   # the model is passed first: x is the model
        srcgrad.compile_step(batch_first, m, optim.SGD(m.parameters(), lr=0.1))(x, y)
    with pytest.raises(srcgrad.SrcGradError, match="trains a srcgrad.nn.Module"):
        srcgrad.compile_step(loss_fn, {"w": np.ones(3)}, None)


DATA_PARALLEL = textwrap.dedent("""
    import os
    os.environ["XLA_FLAGS"] = "--xla_force_host_platform_device_count=8"
    import jax
    jax.config.update("jax_enable_x64", True)
    import numpy as np
    from jax.sharding import Mesh
    import srcgrad
    from srcgrad import nn, optim

    CE = nn.CrossEntropyLoss()

    def loss_fn(model, x, y):
        return CE(model(x), y)

    def train(mesh):
        srcgrad.manual_seed(0)
        model = nn.Sequential(nn.Linear(6, 12), nn.ReLU(), nn.Linear(12, 4))
        step = srcgrad.compile_step(loss_fn, model, optim.Adam(model.parameters(), lr=1e-2),
                                    mesh=mesh)
        rng = np.random.default_rng(0)
        for _ in range(20):
            step(rng.standard_normal((64, 6)), rng.integers(0, 4, 64))
        step.sync()
        return [np.array(p) for p in model.parameters()], step

    assert len(jax.devices()) == 8
    one, _ = train(None)
    mesh = Mesh(np.array(jax.devices()), ("batch",))
    eight, step = train(mesh)
    print(max(float(np.max(np.abs(a - b))) for a, b in zip(one, eight)))
    print(step.shard_shapes())
""")


def test_data_parallel_over_eight_devices_is_one_device(tmp_path):
    """20 steps with the batch split over 8 forced host devices give the parameters of 20
    steps on one (to rounding: the gradient is summed in another order)."""
    script = tmp_path / "data_parallel.py"
    script.write_text(DATA_PARALLEL)
    env = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    difference, shapes = done.stdout.strip().splitlines()
    assert float(difference) < 1e-12
    assert shapes == str([[(8, 6)] * 8, [(8,)] * 8])
