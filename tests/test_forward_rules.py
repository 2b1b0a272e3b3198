"""Every rule of the rule table through the forward-mode transformer: for each case of the rule
tests, a one-line user function calling the numpy function (``np.clip(a0, a1, a2)``) is
differentiated with ``srcgrad.jvp`` along random tangents of its float operands, against
``jax.jvp`` of the same source with ``np`` bound to ``jax.numpy`` and central differences."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import test_rules as tr

import srcgrad
from srcgrad.backends import HELPERS
from srcgrad.rules import DEFAULT_RULES, runtime

jax.config.update("jax_enable_x64", True)

# Rules written by the language rather than a numpy call, or only made by srcgrad itself (the
# runtime helpers of generated code): covered by test_forward.py (lists, loops, index
# assignment), test_higher_order.py, test_idioms.py (the views of dict arguments) and, for
# the helpers, test_rules.py; those whose derivatives are all refused (lstsq_residuals) in
# test_linalg.py.
ELSEWHERE = {"append", "pop", "stack_list", "array_list", "sum_list", "assign", "dict_items",
             "dict_values"} | {r.name for r in runtime.RULES} | tr.UNDEFINED
OPERATORS = {"add": "+", "subtract": "-", "multiply": "*", "divide": "/", "power": "**",
             "mod": "%", "matmul": "@"}
LINALG = {"det", "inv", "solve", "norm", "cholesky", "pinv"}
FFT = {"fft", "ifft", "rfft", "irfft", "fftn", "ifftn", "rfftn", "irfftn", "fft2", "ifft2",
       "rfft2", "irfft2", "fftshift", "ifftshift"}
# primitives NumPy spells as one output of a function (np.linalg.eigh's packed [w; v]): called
# by their helper's name, as the twins of srcgrad/twins.py call them
HELPER_CALLS = {"logabsdet", "eigh_packed", "svd_packed", "qr_packed", "lstsq_solution"}
# NumPy's cholesky reads the lower triangle (so do srcgrad's value and derivative), JAX's the
# symmetric part: their tangents agree along symmetric directions, which these cases take
SYMMETRIC_TANGENTS = {"cholesky"}
SEQUENCE = {"concatenate", "stack", "hstack", "vstack", "array"}


def _index(i, consts: dict) -> str:
    if isinstance(i, tuple):
        return ", ".join(_index(k, consts) for k in i) if i else "()"
    if isinstance(i, slice):
        parts = ["" if v is None else repr(v) for v in (i.start, i.stop, i.step)]
        return ":".join(parts[:2]) + (f":{parts[2]}" if i.step is not None else "")
    if i is Ellipsis:
        return "..."
    if i is None or isinstance(i, int):
        return repr(i)
    return _constant(i, consts)   # an index array (fancy indexing, a mask)


def _constant(v, consts: dict) -> str:
    """The name of a module-level constant holding ``v`` (an array the function reads, as a
    user's function reads a global index or repeats array)."""
    name = f"C{len(consts)}"
    consts[name] = v
    return name


def _literal(v, consts: dict) -> str:
    if v is np.float64:
        return "np.float64"
    if isinstance(v, float) and np.isinf(v):
        return "np.inf" if v > 0 else "-np.inf"
    if isinstance(v, (np.ndarray, np.generic)) and not isinstance(v, np.bool_):
        return _constant(v, consts)
    return repr(v)


def source_of(name: str, case, n: int, consts: dict | None = None) -> str:
    """The text of ``def f(a0, a1, ...)`` (``n`` operands) calling rule ``name`` as a user
    would; array parameters (index arrays, repeats) are read from globals put in
    ``consts``."""
    consts = {} if consts is None else consts
    args = [f"a{k}" for k in range(n)]
    params = dict(case.params)
    if name == "setitem":
        return f"def f(a0, a1):\n    a0[{_index(params['index'], consts)}] = a1\n    return a0\n"
    if name in OPERATORS:
        body = f"a0 {OPERATORS[name]} a1"
    elif name == "negative":
        body = "-a0"
    elif name == "getitem":
        body = f"a0[{_index(params['index'], consts)}]"
    elif name == "astype":
        body = f"a0.astype({_literal(params['dtype'], consts)})"
    elif name == "to_float":
        body = "float(a0)"
    else:
        keywords = [f"{k}={_literal(v, consts)}" for k, v in params.items()
                    if k != "subscripts"]
        if name == "einsum":
            inner = [repr(params["subscripts"]), *args]
        elif name in SEQUENCE:
            inner = [f"[{', '.join(args)}]"]
        else:
            inner = list(args)
        prefix = "np.linalg." if name in LINALG else "np.fft." if name in FFT else \
            "" if name in HELPER_CALLS else "np."
        body = f"{prefix}{name}({', '.join(inner + keywords)})"
    return f"def f({', '.join(args)}):\n    return {body}\n"


CASES = [(name, case) for name, case in tr.RULE_CASES if name not in ELSEWHERE]


def test_every_differentiable_rule_is_covered():
    covered = {name for name, _ in CASES} | ELSEWHERE
    missing = {n for n, r in DEFAULT_RULES.items() if r.differentiable} - covered
    assert not missing


@pytest.mark.parametrize(("name", "case"), CASES, ids=[f"{n}-{c.label}" for n, c in CASES])
def test_rule_in_forward_mode(name, case):
    setup = tr._setup(name, case)
    consts: dict = {}
    text = source_of(name, case, len(setup.ops), consts)
    ops = list(setup.ops)
    active = [k for k in setup.active if not isinstance(ops[k], (list, tuple))]
    assert active, "no float operand"
    namespace = {"np": np, **consts, **{n: HELPERS[n] for n in HELPER_CALLS}}
    exec(compile(text, "<rule case>", "exec"), namespace)  # noqa: S102 - the test's own text
    f_np = namespace["f"]
    rng = np.random.default_rng(7)
    tangents = [float(rng.standard_normal()) if isinstance(ops[k], float)
                else rng.standard_normal(np.shape(ops[k])) for k in active]
    tangents = [t + 1j * rng.standard_normal(np.shape(t)) if np.iscomplexobj(ops[k]) else t
                for k, t in zip(active, tangents, strict=True)]   # complex operands: complex
    if name in SYMMETRIC_TANGENTS:
        tangents = [t + np.swapaxes(t, -1, -2) for t in tangents]
    jf = srcgrad.JvpFunction(f_np, tuple(active), source=text)
    value, tangent = jf([o.copy() if isinstance(o, np.ndarray) else o for o in ops], tangents)
    np.testing.assert_allclose(np.asarray(value), np.asarray(setup.out), rtol=1e-12,
                               atol=1e-14)
    assert np.shape(tangent) == np.shape(value)

    def moved(s):
        a = [o.copy() if isinstance(o, np.ndarray) else o for o in ops]
        for k, t in zip(active, tangents, strict=True):
            a[k] = a[k] + s * t
        out = f_np(*a)
        return np.asarray(out, dtype=np.complex128 if np.iscomplexobj(out) else np.float64)

    if case.fd:
        eps = 1e-6
        fd = (moved(eps) - moved(-eps)) / (2 * eps)
        np.testing.assert_allclose(np.asarray(tangent, dtype=fd.dtype), fd,
                                   rtol=max(case.rtol, 1e-5), atol=1e-6)
    if name in ("setitem", "to_float"):
        return  # jax arrays are not assigned by index; a traced value has no float()
    jnamespace = {"np": jnp, **{k: jnp.asarray(v) if isinstance(v, np.ndarray) else v
                                for k, v in consts.items()},
                  **{n: HELPERS[n] for n in HELPER_CALLS}}
    exec(compile(text, "<rule case>", "exec"), jnamespace)  # noqa: S102
    jops = [jnp.asarray(o) if isinstance(o, np.ndarray) else o for o in ops]

    def along(*xs):
        a = list(jops)
        for k, x in zip(active, xs, strict=True):
            a[k] = x
        return jnamespace["f"](*a)

    _, want = jax.jvp(along, [jops[k] for k in active],
                      [t if isinstance(t, float) else jnp.asarray(t) for t in tangents])
    if want.dtype == jax.dtypes.float0:  # an integer output: jax's tangent carries no values
        want = np.zeros(want.shape)
    np.testing.assert_allclose(np.asarray(tangent), np.asarray(want), rtol=1e-9, atol=1e-12)
