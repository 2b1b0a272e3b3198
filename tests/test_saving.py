"""Checkpoints (#18): model and optimizer state round-trip through one .npz, loads never
unpickle, mismatches name their key, and a save killed midway leaves the previous
checkpoint loadable."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import srcgrad
from srcgrad import nn, optim


def _model():
    srcgrad.manual_seed(0)
    return nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))


def test_model_and_optimizer_round_trip(tmp_path):
    model = _model()
    opt = optim.Adam(model.parameters(), lr=0.01, betas=(0.8, 0.9))
    opt.step([np.ones(p.shape) for p in model.parameters()])
    path = tmp_path / "ckpt.npz"
    srcgrad.save({"model": model, "optimizer": opt, "epoch": 3, "note": None}, path)
    state = srcgrad.load(path)
    assert state["epoch"] == 3 and state["note"] is None
    fresh = _model()
    for p in fresh.parameters():
        p[...] = 0
    fresh.load_state_dict(state["model"])
    for a, b in zip(model.parameters(), fresh.parameters(), strict=True):
        np.testing.assert_array_equal(a, b)
    opt2 = optim.Adam(fresh.parameters(), lr=1.0)
    opt2.load_state_dict(state["optimizer"])
    assert opt2.param_groups[0]["betas"] == (0.8, 0.9) and opt2.param_groups[0]["lr"] == 0.01
    g = [np.ones(p.shape) for p in model.parameters()]
    opt.step(g)
    opt2.step(g)
    for a, b in zip(model.parameters(), fresh.parameters(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_loading_into_a_module_checks_keys_shapes_and_dtypes(tmp_path):
    path = tmp_path / "m.npz"
    srcgrad.save(_model(), path)
    srcgrad.load(path, into=_model())
    with pytest.raises(srcgrad.SrcGradError,
                       match="missing '3.weight', '3.bias'; unexpected '2.weight'"):
        srcgrad.load(path, into=nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Identity(),
                                              nn.Linear(4, 2)))
    with pytest.raises(srcgrad.SrcGradError, match="'0.weight' has shape \\(4, 3\\) in the"):
        srcgrad.load(path, into=nn.Sequential(nn.Linear(2, 4), nn.ReLU(), nn.Linear(4, 2)))
    with pytest.raises(srcgrad.SrcGradError, match="'0.weight' is float64 in the checkpoint"):
        srcgrad.load(path, into=_model().float())


def test_a_load_never_unpickles(tmp_path):
    path = tmp_path / "evil.npz"
    np.savez(path, __srcgrad__=np.array('{"array": "a0"}'), a0=np.array([object()],
                                                                          dtype=object))
    with pytest.raises(ValueError, match="allow_pickle"):
        srcgrad.load(path)
    np.savez(tmp_path / "other.npz", x=np.ones(2))
    with pytest.raises(srcgrad.SrcGradError, match="not a srcgrad checkpoint"):
        srcgrad.load(tmp_path / "other.npz")


_CHILD = """
import sys, numpy as np, srcgrad
path = sys.argv[1]
srcgrad.save({"version": 1, "w": np.ones(3)}, path)
print("saved", flush=True)
big = {"version": 2, "w": np.zeros(3), **{f"b{i}": np.random.default_rng(i).random(4_000_000)
                                           for i in range(10)}}
print("saving", flush=True)
srcgrad.save(big, path)
print("done", flush=True)
"""


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL")
def test_a_save_killed_midway_leaves_the_previous_checkpoint(tmp_path):
    path = tmp_path / "ckpt.npz"
    child = subprocess.Popen([sys.executable, "-c", _CHILD, str(path)], stdout=subprocess.PIPE,
                             text=True)
    assert child.stdout.readline().strip() == "saved"
    assert child.stdout.readline().strip() == "saving"
    deadline = time.monotonic() + 20
    while not any(n.endswith(".tmp") for n in os.listdir(tmp_path)):
        assert time.monotonic() < deadline, "the big save never started writing"
        time.sleep(0.005)
    time.sleep(0.05)
    child.send_signal(signal.SIGKILL)
    child.wait()
    assert child.returncode == -signal.SIGKILL
    assert any(n.endswith(".tmp") for n in os.listdir(tmp_path)), "killed after the rename"
    state = srcgrad.load(path)
    assert state["version"] == 1
    np.testing.assert_array_equal(state["w"], np.ones(3))
