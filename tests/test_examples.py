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
