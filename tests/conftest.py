"""Test-session settings.

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
