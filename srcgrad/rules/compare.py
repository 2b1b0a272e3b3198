"""Comparisons and logic: their outputs are booleans and carry no derivative."""

from __future__ import annotations

from srcgrad.rules.core import Rule, nondiff


def _less(xp, a, b): return a < b
def _less_equal(xp, a, b): return a <= b
def _greater(xp, a, b): return a > b
def _greater_equal(xp, a, b): return a >= b
def _equal(xp, a, b): return a == b
def _not_equal(xp, a, b): return a != b
def _logical_and(xp, a, b): return xp.logical_and(a, b)
def _logical_or(xp, a, b): return xp.logical_or(a, b)
def _logical_not(xp, a): return xp.logical_not(a)
def _invert(xp, a): return ~a
def _bitwise_and(xp, a, b): return a & b
def _bitwise_or(xp, a, b): return a | b
def _bitwise_xor(xp, a, b): return a ^ b

RULES: list[Rule] = [
    nondiff("less", _less), nondiff("less_equal", _less_equal), nondiff("greater", _greater),
    nondiff("greater_equal", _greater_equal), nondiff("equal", _equal),
    nondiff("not_equal", _not_equal), nondiff("logical_and", _logical_and),
    nondiff("logical_or", _logical_or), nondiff("logical_not", _logical_not),
    nondiff("invert", _invert), nondiff("bitwise_and", _bitwise_and),
    nondiff("bitwise_or", _bitwise_or), nondiff("bitwise_xor", _bitwise_xor),
]
