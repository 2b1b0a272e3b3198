"""Make generated code as tight as hand-written backprop.

Passes over a :class:`~srcgrad.ir.Program`, each exact (no change in values), one module each:

- ``fold`` (fold.py): arithmetic with literal 0 and 1 and between literals, and a scalar
  seed's ``unreduce`` written as the scalar;
- ``eliminate`` (dead.py): statements whose value nothing reads;
- ``inline`` (inline.py): single-use temporaries (``t3``, ``d_t3``) substituted into their one
  use within the same sweep;
- ``propagate_constants``, ``coalesce``, ``drop_fresh_copies`` (copies.py): names bound to
  literals, copies ``a = b``, copies of values that are new already;
- ``prune_pushes``, ``merge_saves``, ``drop_unread_lists``, ``fuse_pops`` (stacks.py): the
  stacks of saved values;
- ``common_subexpressions`` (cse.py): a repeated pure expression computed once;
- ``tidy`` (tidy.py): indices as the user wrote them, no redundant parentheses.

:func:`optimize` runs them to a fixed point. What they compute per expression (the names it
reads, its length, its key for common subexpressions) is memoized for the one call
(:func:`srcgrad.optimize.walk.memoized`), never across calls.
"""

from __future__ import annotations

import libcst as cst

from srcgrad.cstwalk import visit
from srcgrad.ir import Program
from srcgrad.optimize.copies import coalesce, drop_fresh_copies, propagate_constants
from srcgrad.optimize.cse import common_subexpressions
from srcgrad.optimize.dead import eliminate
from srcgrad.optimize.fold import _ScalarBroadcast, fold
from srcgrad.optimize.inline import inline
from srcgrad.optimize.stacks import (
    drop_unread_lists,
    fuse_pops,
    merge_saves,
    prune_pushes,
    save_shapes,
)
from srcgrad.optimize.tidy import tidy
from srcgrad.optimize.walk import _FOLDABLE, Facts, _map_exprs, _signature, memoized, reads

__all__ = ["Facts", "coalesce", "common_subexpressions", "drop_fresh_copies",
           "drop_unread_lists", "eliminate", "fold", "fuse_pops", "inline", "merge_saves",
           "optimize", "propagate_constants", "prune_pushes", "reads", "tidy"]


_NO_FACTS = Facts()


def optimize(program: Program, user_names: frozenset[str], facts: Facts = _NO_FACTS) -> Program:
    """All passes, to a fixed point."""
    with memoized() as memo:
        return _optimize(program, user_names, facts, memo.keep)


def _optimize(program: Program, user_names: frozenset[str], facts: Facts, keep: list
              ) -> Program:
    simplified: dict[int, cst.BaseExpression] = {}

    def simplify(e: cst.BaseExpression) -> cst.BaseExpression:
        # Expressions are immutable: simplify each one once, and its result never again.
        hit = simplified.get(id(e))
        if hit is None:
            if "unreduce" in reads(e):  # the only pattern _ScalarBroadcast rewrites
                e_b = visit(e, _ScalarBroadcast(facts))
            else:
                e_b = e
            names = reads(e_b)
            foldable = _FOLDABLE in names or "transpose_grad" in names and \
                "matmul_grad_b" in names
            hit = fold(e_b) if foldable else e_b
            simplified[id(e)] = simplified[id(hit)] = hit
            keep.extend((e, hit))  # alive while the memo lives: their ids stay theirs
        return hit

    def fixed_point(program: Program) -> Program:
        for _ in range(8):
            before = _signature(program)
            program = _map_exprs(program, simplify)
            program = eliminate(program)
            program = inline(program, user_names)
            program = propagate_constants(program)
            program = coalesce(program)
            program = prune_pushes(program)
            program = merge_saves(program)
            program = drop_unread_lists(program)
            if _signature(program) == before:
                break
        return program

    program = fixed_point(program)
    for _ in range(8):
        # values computed twice (derivatives of derivatives repeat terms): to a fixed point
        # again after each merge; most code has none, and pays one pass
        merged = common_subexpressions(program, facts.alias)
        if _signature(merged) == _signature(program):
            break
        program = fixed_point(merged)
    return save_shapes(fuse_pops(_map_exprs(drop_fresh_copies(program), tidy)))
