"""Where the backward sweep stands: which adjoints hold values, which arrays it owns, and the
tests (:class:`_Cond`) outside which an adjoint holds zeros."""

from __future__ import annotations

from dataclasses import dataclass

import libcst as cst

from srcgrad.cstwalk import changed
from srcgrad.ir import (
    GIf,
    GNode,
    gens,
)
from srcgrad.printer import code


@dataclass(frozen=True, eq=False)
class _Cond:
    """A test, in generated code, outside which an adjoint holds zeros: the adjoint of a value
    that a branch or loop may overwrite (``not cond``, ``not trips``). ``deps``: the names it
    reads, which must keep their values from where it is made to where it is tested."""

    test: cst.BaseExpression
    deps: frozenset[str]

    @property
    def key(self) -> str:
        return code(self.test)


@dataclass(frozen=True)
class _Guard(GIf):
    """An ``if`` around a statement's adjoint code (no primal value changes in it)."""


def _negated(test: cst.BaseExpression) -> cst.BaseExpression:
    return cst.UnaryOperation(cst.Not(), test)


def _either(a: _Cond, b: _Cond, both: bool = False) -> _Cond:
    """``a or b`` (``a and b`` with ``both``): ``b`` is read only where ``a`` does not decide,
    so that ``b`` may read names that hold a value only there."""
    def part(c: _Cond) -> cst.BaseExpression:
        t = c.test
        return changed(t, lpar=[cst.LeftParen()], rpar=[cst.RightParen()]) if isinstance(
            t, cst.BooleanOperation) else t
    op = cst.And() if both else cst.Or()
    return _Cond(cst.BooleanOperation(part(a), op, part(b)), a.deps | b.deps)


class _State:
    """Where the backward sweep stands: which adjoints hold a value (the others are zero), and
    which of those are arrays made here and nowhere else referenced, safe to update in place.
    Of the adjoints holding a value, ``zero`` are zeros made by ``zero_grad`` (a value the
    forward sweep overwrote on every path here), and ``when`` maps others to a test outside
    which they are zeros: the adjoint code of the statements that made those values is skipped
    there, as JAX's symbolic zeros skip it, so that ``0 * inf`` never turns a derivative nan."""

    def __init__(self, defined=(), owned=(), keep=frozenset(), zero=(), when=None):
        self.defined: set[str] = set(defined)
        self.owned: set[str] = set(owned)
        self.keep: frozenset[str] = keep  # adjoints that must still hold a value at the end
        self.zero: set[str] = set(zero)
        self.when: dict[str, _Cond] = dict(when or {})

    def copy(self, keep: frozenset[str] | None = None) -> _State:
        return _State(self.defined, self.owned, self.keep if keep is None else keep, self.zero,
                      self.when)

    def drop(self, var: str) -> None:
        """``var`` is overwritten: whatever its adjoint held no longer matters."""
        self.defined.discard(var)
        self.owned.discard(var)
        self.zero.discard(var)
        self.when.pop(var, None)

    def forget(self, names: set[str], among: dict[str, _Cond]) -> None:
        """The tests of ``among`` reading ``names`` no longer hold: backward code changed
        them."""
        olds = {id(c) for c in among.values()}
        self.when = {v: c for v, c in self.when.items()
                     if id(c) not in olds or not c.deps & names}


def _targets(block: list[GNode]) -> set[str]:
    """The names ``block`` assigns."""
    return {g.target for g in gens(tuple(block)) if g.target}
