"""Print the primitive table of docs/rules.md from the live rule table and call table.

Run from the repository root:  .venv/bin/python docs/gen_rules_table.py
Paste the output over the table in docs/rules.md. Nothing here is hand-written: families come
from the rule modules, spellings from srcgrad.rules.calls and srcgrad.normalize.

With ``--helpers`` it prints the table of helpers of docs/generated-code.md instead: every name
generated code can call besides the array module, with the first sentence of its docstring.
"""

from __future__ import annotations

import builtins
import inspect
import math
import re
import sys

import libcst as cst
import numpy as np

from srcgrad.backends import HELPERS
from srcgrad.normalize import values as normalize
from srcgrad.rules import (
    DEFAULT_RULES,
    compare,
    elementwise,
    linalg,
    reduce,
    runtime,
    shape,
    spectral,
)
from srcgrad.rules.calls import METHODS, PROPERTIES, CallTable
from srcgrad.rules.core import Undefined

FAMILIES = [
    ("Elementwise (`srcgrad/rules/elementwise.py`)", elementwise.RULES),
    ("Comparisons and logic (`srcgrad/rules/compare.py`)", compare.RULES),
    ("Reductions (`srcgrad/rules/reduce.py`)", reduce.RULES),
    ("Products and linear algebra (`srcgrad/rules/linalg.py`)", linalg.RULES),
    ("Shapes, joins and indexing (`srcgrad/rules/shape.py`)", shape.RULES),
    ("Complex values and the FFT (`srcgrad/rules/spectral.py`)", spectral.RULES),
    ("Runtime helpers (`srcgrad/rules/runtime.py`)", runtime.RULES),
]

_OP_TEXT = {
    cst.Add: "a + b", cst.Subtract: "a - b", cst.Multiply: "a * b", cst.Divide: "a / b",
    cst.FloorDivide: "a // b", cst.Modulo: "a % b", cst.Power: "a ** b",
    cst.MatrixMultiply: "a @ b", cst.BitAnd: "a & b", cst.BitOr: "a | b", cst.BitXor: "a ^ b",
    cst.Minus: "-x", cst.Plus: "+x", cst.BitInvert: "~x",
    cst.LessThan: "a < b", cst.LessThanEqual: "a <= b", cst.GreaterThan: "a > b",
    cst.GreaterThanEqual: "a >= b", cst.Equal: "a == b", cst.NotEqual: "a != b",
}


def _spellings() -> dict[str, list[str]]:
    names: dict[int, list[str]] = {}
    for mod, prefix in ((np, "np."), (np.linalg, "np.linalg."), (np.fft, "np.fft."),
                        (math, "math."),
                        (builtins, "")):
        for name in sorted(dir(mod)):
            if not name.startswith("_"):
                names.setdefault(id(getattr(mod, name)), []).append(prefix + name)
    out: dict[str, list[str]] = {}
    for obj, spec in CallTable(DEFAULT_RULES)._calls.values():
        for spelled in names.get(id(obj), []):
            if getattr(obj, "__module__", "") and obj.__module__.startswith("jax"):
                continue
            text = spelled + "()" if not spelled.startswith("np.") else spelled
            out.setdefault(spec.rule, []).append(text)
    for ops, in ((normalize._BINOPS,), (normalize._UNARY,), (normalize._COMPARE,)):
        for op, rule in ops.items():
            out.setdefault(rule, []).insert(0, f"`{_OP_TEXT[op]}`")
    out.setdefault("logical_not", []).insert(0, "`not x`")
    out.setdefault("getitem", []).insert(0, "`x[index]`")
    for view in ("keys", "values", "items"):  # normalize's own spellings of a dict's views
        out.setdefault(f"dict_{view}", []).append(f"d.{view}()")
    out["dict_keys"].append("`for k in d:` reading `d[k]`")
    out.setdefault("append", []).append("xs.append(v)")
    out.setdefault("to_float", []).append("float(x)")
    for name, spec in METHODS.items():
        out.setdefault(spec.rule, []).append(f"x.{name}()")
    for name, rule in PROPERTIES.items():
        if name not in normalize._PASSIVE_ATTRIBUTES:  # x.shape, x.ndim, x.size stay as written
            out.setdefault(rule, []).append(f"x.{name}")
    return out


def _code(s: str) -> str:
    s = s if s.startswith("`") else f"`{s}`"
    return s.replace("|", "\\|")  # a pipe inside a table cell


def _signature(rule) -> str:
    params = list(inspect.signature(rule.primal).parameters.values())[1:]
    return f"{rule.name}({', '.join(str(p) for p in params)})"


def _differentiable(rule) -> str:
    if rule.vjp is None:
        return "no"
    if all(isinstance(v, Undefined) for v in rule.vjp):
        forward = any(v is not None and not isinstance(v, Undefined) for v in rule.jvp)
        return "forward mode only" if forward else "no (derivatives not available)"
    if rule.variadic:
        return "yes (every operand)"
    params = list(inspect.signature(rule.primal).parameters.values())[1:1 + rule.nin]
    diff = [p.name for p, v in zip(params, rule.vjp, strict=True) if v is not None]
    undefined = [p.name for p, v in zip(params, rule.vjp, strict=True)
                 if isinstance(v, Undefined)]
    text = "yes" if len(diff) == len(params) else "in " + ", ".join(f"`{d}`" for d in diff)
    if undefined:
        text += "; forward mode only" if len(undefined) == len(diff) else \
            "; no adjoint in " + ", ".join(f"`{d}`" for d in undefined)
    return text


def main() -> None:
    spell = _spellings()
    seen = set()
    for title, rules in FAMILIES:
        print(f"### {title}\n")
        print("| primitive | signature | written as | differentiable |")
        print("|---|---|---|---|")
        for r in rules:
            rule = DEFAULT_RULES[r.name]
            seen.add(rule.name)
            written = ", ".join(dict.fromkeys(_code(s) for s in spell.get(rule.name, []))) or (
                f"`{rule.name}{inspect.signature(HELPERS[rule.name])}` in generated code"
                if rule.name in HELPERS else "—")
            print(f"| `{rule.name}` | `{_signature(rule)}` | {written} | "
                  f"{_differentiable(rule)} |")
        print()
    missing = set(DEFAULT_RULES) - seen
    assert not missing, missing
    n_diff = sum(DEFAULT_RULES[n].differentiable for n in DEFAULT_RULES)
    print(f"{len(DEFAULT_RULES)} primitives, {n_diff} differentiable, "
          f"{len(DEFAULT_RULES) - n_diff} not.")


def helpers() -> None:
    print("| helper | what it does |")
    print("|---|---|")
    for name, obj in HELPERS.items():
        doc = " ".join((obj.__doc__ or "").split())
        first = re.split(r"(?<=[^ ]\.)\s+(?=[A-Z`])", doc, maxsplit=1)[0].rstrip(".")
        first = re.sub(r":(func|class):`", "`", first.replace("``", "`").replace("|", "\\|"))
        if name == "s_":  # numpy's own object: its docstring is about numpy
            first = "`numpy.s_`: the index of a subscript as a value (`s_[1:, None]`)"
        print(f"| `{name}` | {first} |")


if __name__ == "__main__":
    helpers() if "--helpers" in sys.argv else main()
