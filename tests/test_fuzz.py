"""The differential fuzzer (tests/fuzz.py) in the suite: a fixed-seed slice of random programs,
and every program it has found wrong, kept in tests/fuzz_cases/ (one file each, written by
``python tests/fuzz.py --save tests/fuzz_cases``, with what went wrong in its docstring).
Each must now agree with jax.grad (or be skipped where its derivative is not defined)."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest
from fuzz import check
from fuzzgen import Program, generate

CASES = sorted(Path(__file__).parent.joinpath("fuzz_cases").glob("seed_*.py"),
               key=lambda p: int(p.stem.split("_")[1]))
SLICE = range(30)   # seeds; `make fuzz` runs thousands


def _agrees(program: Program) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        outcome = check(program)
    assert outcome.status != "mismatch", f"{outcome.detail}\n{program.text}"


@pytest.mark.parametrize("path", CASES, ids=lambda p: p.stem)
def test_found_programs(path):
    """A program the fuzzer once found wrong (its docstring says how) is right."""
    _agrees(Program.from_case_file(path.read_text(), int(path.stem.split("_")[1])))


@pytest.mark.parametrize("seed", SLICE)
def test_random_program(seed):
    """The seed's random program: srcgrad's grad and jvp agree with jax.grad."""
    _agrees(generate(seed))


def test_generator_is_reproducible():
    """A seed names one program and one point, on every machine (no hash or clock)."""
    a, b = generate(7), generate(7)
    assert a.text == b.text and a.dtype == b.dtype
    assert all((a.values[n] == b.values[n]).all() for n in a.values)


def test_case_files_round_trip():
    """A saved case reads back as the same program at the same point."""
    p = generate(11)
    q = Program.from_case_file(p.case_file("why"), 11)
    assert q.text == p.text and q.dtype == p.dtype and q.python_floats == p.python_floats
    assert all((q.values[n] == p.values[n]).all() for n in p.values)
