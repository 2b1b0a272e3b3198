"""The generated source is the user interface: golden files and readability properties.

Regenerate the golden files after an intended change with
``SRCGRAD_UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/test_generated.py`` and review the diff.
"""

from __future__ import annotations

import linecache
import os
import re
import traceback
from pathlib import Path

import numpy as np
import pytest

import srcgrad
from tests.canonical import CASES, two_layer_net

GOLDEN = Path(__file__).parent / "golden"


@pytest.mark.parametrize("name", sorted(CASES))
def test_golden_source(name):
    fn, wrt = CASES[name]
    source = srcgrad.grad(fn, wrt=wrt).source
    path = GOLDEN / f"{name}.py"
    if os.environ.get("SRCGRAD_UPDATE_GOLDEN"):
        path.write_text(source)
    assert source == path.read_text(), f"generated source of {name} changed; see {path}"


def test_only_active_values_get_adjoints():
    src = srcgrad.grad(two_layer_net, wrt="w1").source
    assert "d_w1" in src
    for absent in ("d_w2", "d_x", "d_y ", "d_y =", "zeros"):
        assert absent not in src, absent


def test_blocks_are_headed_by_the_user_statement():
    src = srcgrad.grad(two_layer_net, wrt=("w1", "w2")).source
    assert "# L" in src and "h = np.maximum(x @ w1, 0.0)" in src
    assert src.count("# L") == 6  # three statements, forward and backward


@pytest.mark.parametrize("name", sorted(CASES))
def test_first_write_of_an_adjoint_is_an_assignment_and_no_value_is_dead(name):
    fn, wrt = CASES[name]
    src = srcgrad.grad(fn, wrt=wrt).source
    lines = [ln.strip() for ln in src.splitlines()[1:] if not ln.strip().startswith("#")]
    assigned: set[str] = set()
    for k, line in enumerate(lines):
        m = re.match(r"(\w+) = (.*)", line)
        if not m:
            continue
        target, rhs = m.groups()
        if target.startswith("d_"):
            assert (target in assigned) == bool(re.search(rf"\b{target}\b", rhs)), line
        rest = " ".join(lines[k + 1:])
        assert re.search(rf"\b{target}\b", rest), f"dead value {target} in {name}"
        assigned.add(target)


def test_tracebacks_show_generated_lines():
    def f(a, b):
        return np.sum(a @ b)

    g = srcgrad.grad(f)
    with pytest.raises(ValueError) as info:
        g(np.ones((2, 3)), np.ones((4, 2)))
    frames = traceback.extract_tb(info.tb)
    generated = [fr for fr in frames if fr.filename.startswith("<srcgrad")]
    assert generated and generated[-1].line == "t1 = a @ b"
    assert linecache.getline(generated[-1].filename, generated[-1].lineno).strip() == "t1 = a @ b"


def test_generated_source_is_deterministic():
    import srcgrad.api

    first = srcgrad.grad(two_layer_net, wrt=("w1", "w2")).source
    srcgrad.api._CACHE.clear()
    assert srcgrad.grad(two_layer_net, wrt=("w1", "w2")).source == first
