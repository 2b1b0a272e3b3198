"""The examples users copy from must run and do what they say."""

import runpy
import subprocess
import sys
from pathlib import Path

EXAMPLES = Path(__file__).parent.parent / "examples"


def test_two_layer_net_demo_trains_to_near_zero_loss():
    out = subprocess.run([sys.executable, str(EXAMPLES / "two_layer_net.py")],
                         capture_output=True, text=True, check=True).stdout
    assert "def grad_loss(w1, w2, x, y):" in out
    losses = [float(line.split()[-1]) for line in out.splitlines()
              if line.startswith("iteration")]
    assert len(losses) == 5
    assert losses == sorted(losses, reverse=True)
    assert losses[-1] < 1e-3


def test_custom_relu_trains_with_its_own_backward():
    out = subprocess.run([sys.executable, str(EXAMPLES / "custom_relu.py")],
                         capture_output=True, text=True, check=True).stdout
    assert "# my_relu_backward() L" in out and "] = 0" in out
    losses = [float(line.split()[-1]) for line in out.splitlines()
              if line.startswith("iteration")]
    assert len(losses) == 5 and losses == sorted(losses, reverse=True) and losses[-1] < 1e-3


def test_examples_import_cleanly():
    for path in EXAMPLES.glob("*.py"):
        runpy.run_path(str(path), run_name="not_main")


def _run(name, *args):
    return subprocess.run([sys.executable, str(EXAMPLES / name), *args], capture_output=True,
                          text=True, check=True).stdout


def test_linear_regression_recovers_the_line():
    out = _run("linear_regression.py")
    pairs = [line.replace("[", "").replace("]", "").split() for line in out.splitlines()
             if line.startswith("[")]
    assert len(pairs) == 11
    for target, prediction in pairs:
        assert abs(float(target) - float(prediction)) < 0.15


def test_two_layer_module_prints_the_losses_of_two_layer_net():
    net = _run("two_layer_net.py")
    module = _run("two_layer_module.py")
    losses = [line for line in net.splitlines() if line.startswith("iteration")]
    assert losses and losses == [line for line in module.splitlines()
                                 if line.startswith("iteration")]
    assert "model_0_weight = model[0].weight" in module
    assert "# Linear.forward() layers.py L" in module


def test_scalar_weight_prints_the_tutorials_numbers():
    out = _run("scalar_weight.py").splitlines()
    assert out[0] == "Prediction (before training) 4 4.0"
    grads = [float(line.split()[-1]) for line in out if "grad:" in line]
    assert grads[:3] == [-2.0, -7.840000152587891, -16.228801727294922]
    assert out[-1] == "Prediction (after training) 4 7.804864406585693"


def test_bce_with_logits_rows_equal_the_bias_gradient():
    assert "every row of dL/dw equals dL/db: True" in _run("bce_with_logits.py")


def test_logistic_regression_separates_the_clusters():
    out = _run("logistic_regression.py")
    accuracy = float(out.split("accuracy ")[1].split("%")[0])
    assert accuracy >= 95.0


def test_digits_classifier_reaches_95_percent(tmp_path):
    out = _run("digits_classifier.py", "--epochs", "12", "--out", str(tmp_path / "c.png"))
    assert float(out.split("test accuracy ")[1].split("%")[0]) >= 95.0
    assert (tmp_path / "c.png").read_bytes()[:4] == b"\x89PNG"


def test_forward_mode_newton_converges():
    out = _run("forward_mode.py")
    norms = [float(line.split()[-1]) for line in out.splitlines() if "Newton step" in line]
    assert norms[-1] < 1e-10 and len(norms) <= 8


def test_dynamic_control_flow_agrees_with_central_differences():
    out = _run("dynamic_control_flow.py")
    assert "agree: True" in out and "while np.linalg.norm(h) < 10.0" in out


def test_jax_backend_prints_the_losses_of_two_layer_net():
    import os
    out = subprocess.run([sys.executable, str(EXAMPLES / "jax_backend.py")], capture_output=True,
                         text=True, check=True, env={**os.environ, "JAX_PLATFORMS": "cpu"}).stdout
    assert out.startswith("running on cpu")
    net = _run("two_layer_net.py")
    assert [line for line in out.splitlines() if line.startswith("iteration")] == \
        [line for line in net.splitlines() if line.startswith("iteration")]


def test_data_parallel_trains_on_eight_devices():
    out = _run("data_parallel.py", "--epochs", "5")
    assert "mesh: {'batch': 8}" in out
    assert "[[(16, 64), (16, 64), (16, 64), (16, 64), (16, 64), (16, 64), (16, 64), " \
           "(16, 64)], [(16,)" in out
    assert float(out.split("test accuracy")[1]) > 0.9
