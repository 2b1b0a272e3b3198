"""The srcgrad command (#19): show prints generated code (coloured only on a terminal or when
asked), check reports the worst error per argument, bad input exits 2 with one line."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

USER = textwrap.dedent("""
    import numpy as np

    def loss(w, x):
        h = np.tanh(x @ w)
        return np.sum(h ** 2)

    class Scaled:
        def __init__(self, k):
            self.k = k

        def apply(self, x):
            return np.sum(np.sin(x) * self.k)

    scaled = Scaled(2.0)

    def refused(x):
        with open("f") as f:
            return np.sum(x)
""")


@pytest.fixture
def user_file(tmp_path):
    path = tmp_path / "user_code.py"
    path.write_text(USER)
    return path


def srcgrad_cli(*args):
    return subprocess.run([sys.executable, "-m", "srcgrad", *map(str, args)],
                          capture_output=True, text=True)


def test_show_prints_the_gradient_plain_when_piped(user_file):
    done = srcgrad_cli("show", f"{user_file}:loss", "--wrt", "w")
    assert done.returncode == 0
    assert done.stdout.startswith("def grad_loss(w, x):") and "\033[" not in done.stdout
    assert "d_w = matmul_grad_b(d_h * (1 - h ** 2), x, w)" in done.stdout


def test_show_modes_colours_and_methods(user_file):
    coloured = srcgrad_cli("show", f"{user_file}:loss", "--color", "always").stdout
    assert "\033[1;34mdef\033[0m" in coloured and "\033[2;32m# L5:" in coloured
    assert srcgrad_cli("show", f"{user_file}:loss", "--mode", "jvp").stdout.startswith(
        "def jvp_loss(w, x, *, w_dot, x_dot):")
    assert srcgrad_cli("show", f"{user_file}:loss", "--mode", "hvp").stdout.startswith(
        "def hvp_loss(")
    method = srcgrad_cli("show", f"{user_file}:scaled.apply")
    assert method.returncode == 0 and "k = self.k" in method.stdout and "read from self" in \
        method.stdout


def test_check_reports_the_worst_error_per_argument(user_file):
    done = srcgrad_cli("check", f"{user_file}:loss", "--shape", "w=3,2", "--shape", "x=4,3")
    assert done.returncode == 0 and "OK" in done.stdout
    assert [line.split()[0] for line in done.stdout.splitlines()[1:]] == ["w", "x"]


@pytest.mark.parametrize(("args", "message"), [
    (("show", "missing.py:loss"), "no such file: missing.py"),
    (("show", "{file}:nope"), "has no 'nope'"),
    (("show", "{file}"), "expected FILE.py:FUNCTION"),
    (("show", "{file}:refused"), "`with` statements are not supported"),
    (("check", "{file}:loss", "--shape", "w=3,x"), "--shape 'w=3,x': write NAME=D1,D2"),
    (("check", "{file}:loss", "--shape", "w=3,2"), "missing x"),
])
def test_bad_input_is_one_located_paragraph_and_exit_status_2(user_file, args, message):
    done = srcgrad_cli(*(a.format(file=user_file) for a in args))
    assert done.returncode == 2 and message in done.stderr
    assert "Traceback" not in done.stderr and done.stdout == ""
