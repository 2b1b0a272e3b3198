"""Test-session settings: faster XLA compiles, determinism, and mutation testing.

The rule tests trace hundreds of small jax computations, and XLA's CPU compiler spends most of
the suite's time optimizing them. Compiling them plainly changes no result and roughly halves
the time of tests/test_rules.py. XLA aborts the process on a flag it does not know, so the
flags are tried once in a subprocess first (about a second) and dropped if this jaxlib rejects
them. Flags already in the environment are kept, after ours, so they win.
"""

from __future__ import annotations

import os
import subprocess
import sys
import zlib

import numpy as np
import pytest
from hypothesis import settings

_FAST_COMPILE = (
    "--xla_backend_optimization_level=0 --xla_llvm_disable_expensive_passes=true "
    "--xla_cpu_use_fusion_emitters=false",
    "--xla_backend_optimization_level=0 --xla_llvm_disable_expensive_passes=true",
)


def _accepted(flags: str) -> bool:
    env = {**os.environ, "XLA_FLAGS": flags, "JAX_PLATFORMS": "cpu"}
    try:
        return subprocess.run(
            [sys.executable, "-c", "import jax.numpy as jnp; jnp.zeros(1).block_until_ready()"],
            env=env, capture_output=True, timeout=120,
        ).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


def _speed_up_xla() -> None:
    if "jax" in sys.modules or os.environ.get("SRCGRAD_TEST_XLA_DEFAULTS"):
        return  # too late to take effect, or asked not to
    for flags in _FAST_COMPILE:
        combined = f"{flags} {os.environ.get('XLA_FLAGS', '')}".strip()
        if _accepted(combined):
            os.environ["XLA_FLAGS"] = combined
            return


_speed_up_xla()


# --- determinism: a test sees the same inputs alone (-k) as in a full run ------------------------
# hypothesis draws its examples from the test's name, and keeps no database between runs
settings.register_profile("srcgrad", derandomize=True, database=None, deadline=None)
settings.load_profile("srcgrad")


@pytest.fixture
def rng(request) -> np.random.Generator:
    """A generator of the test's own, seeded from its id (never shared in test order)."""
    return np.random.default_rng(zlib.crc32(request.node.nodeid.encode()))


# --- under mutation testing (make mutate): each mutant is seen, never a cache of another ---------
import mutation  # noqa: E402

if mutation.under_mutmut():
    mutation.install()

    def pytest_sessionstart(session):
        mutation.reset()

    def pytest_runtest_setup(item):
        if mutation.collecting_stats():
            mutation.reset()
