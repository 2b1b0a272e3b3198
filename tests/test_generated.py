"""The generated source is the user interface: golden files and readability properties.

Regenerate the golden files after an intended change with
``SRCGRAD_UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/test_generated.py`` (each rewritten
file fails its test), review the diff, and run again without it. Each golden file is also
compiled and run against jax.grad and central differences.
"""

from __future__ import annotations

import inspect
import linecache
import os
import re
import traceback
from pathlib import Path

import numpy as np
import pytest
from canonical import CASES, arguments, two_layer_net
from oracle import finite_difference, numpy_is

import srcgrad
from srcgrad.backends import get_backend
from srcgrad.emit import compile_function

jax = pytest.importorskip("jax")
jnp = jax.numpy
jax.config.update("jax_enable_x64", True)

GOLDEN = Path(__file__).parent / "golden"


@pytest.mark.parametrize("name", sorted(CASES))
def test_golden_source(name):
    fn, wrt = CASES[name]
    source = srcgrad.grad(fn, wrt=wrt).source
    path = GOLDEN / f"{name}.py"
    if os.environ.get("SRCGRAD_UPDATE_GOLDEN") and source != path.read_text():
        path.write_text(source)
        pytest.fail(f"rewrote {path}: review the diff, then run without SRCGRAD_UPDATE_GOLDEN")
    assert source == path.read_text(), f"generated source of {name} changed; see {path}"


@pytest.mark.parametrize("name", sorted(CASES))
def test_golden_file_computes_the_gradient(name):
    """The golden file itself, compiled and run, gives jax.grad's gradient and central
    differences': a wrong derivative regenerated into a golden does not pass as text."""
    fn, wrt = CASES[name]
    wrt = (wrt,) if isinstance(wrt, str) else wrt
    text = (GOLDEN / f"{name}.py").read_text()
    golden = compile_function(text, f"grad_{fn.__name__}", get_backend("numpy").namespace("np"))
    args = arguments(name)
    got = golden(*args)
    got = (got,) if len(wrt) == 1 else got
    params = list(inspect.signature(fn).parameters)
    jargs = jax.tree.map(lambda v: jnp.asarray(v) if isinstance(v, np.ndarray) else v,
                         list(args))
    for w, g in zip(wrt, got, strict=True):
        i = params.index(w)
        with numpy_is(fn.__module__, jnp):
            want = jax.grad(fn, argnums=i)(*jargs)
        assert jax.tree.structure(g) == jax.tree.structure(want)
        for a, b in zip(jax.tree.leaves(g), jax.tree.leaves(want), strict=True):
            np.testing.assert_allclose(a, np.asarray(b), rtol=1e-9, atol=1e-12)
        if not isinstance(args[i], dict):
            np.testing.assert_allclose(g, finite_difference(fn, args, i), rtol=1e-5,
                                       atol=1e-6)


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
    srcgrad.pipeline._CACHE.clear()
    assert srcgrad.grad(two_layer_net, wrt=("w1", "w2")).source == first
