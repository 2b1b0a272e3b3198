"""The rule table: how each primitive is computed, differentiated forward and backward."""

from __future__ import annotations

from srcgrad.rules import compare, elementwise, linalg, reduce, runtime, shape, spectral
from srcgrad.rules.core import LinearJvp, Rule, RuleTable, linear, nondiff, rule, variadic

DEFAULT_RULES: RuleTable = RuleTable.of(
    elementwise.RULES, compare.RULES, reduce.RULES, linalg.RULES, shape.RULES, spectral.RULES,
    runtime.RULES
)

__all__ = ["DEFAULT_RULES", "LinearJvp", "Rule", "RuleTable", "linear", "nondiff", "rule",
           "variadic"]
