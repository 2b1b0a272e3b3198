"""Deterministic, readable names for generated code.

``t1, t2, …`` for temporaries, ``d_x`` for the adjoint of ``x``, ``x_dot`` for its tangent,
``x_2`` for a new version of a reassigned ``x``. The namer is seeded with every name the
user's code mentions, and a clash gets a numeric suffix; the same input always gives the same
names.
"""

from __future__ import annotations

import re

ADJOINT = "d_{}"
TANGENT = "{}_dot"


_TEMPORARY = re.compile(r"t\d+")
_TEMPORARY_OR_ADJOINT = re.compile(r"(d_)?t\d+")


def is_temporary(name: str, adjoint: bool = False) -> bool:
    """Whether ``name`` is spelled like a temporary the namer hands out (``t3``); with
    ``adjoint``, like one or its adjoint (``d_t3``)."""
    return (_TEMPORARY_OR_ADJOINT if adjoint else _TEMPORARY).fullmatch(name) is not None


def function_name(name: str) -> str:
    """``name`` where it can name a generated function (``grad_<name>``): a lambda's
    ``<lambda>`` becomes ``lambda``."""
    return name if name.isidentifier() else "lambda"


def leaf_name(root: str, path: tuple[str, ...]) -> str:
    """The variable for the leaf at ``path`` of the object ``root``: ``model_fc1_weight`` for
    ``model.fc1.weight``, ``self_`` dropped (``fc1_weight``)."""
    parts = [root] if root != "self" or not path else []
    parts += [re.sub(r"\W", "_", p) for p in path]
    name = "_".join(parts)
    return name if name.isidentifier() else f"v_{name}"


class Namer:
    """Hands out fresh names that never clash with each other or with the user's."""

    def __init__(self, taken: set[str] | frozenset[str] = frozenset()):
        self._taken: set[str] = set(taken)
        self._claimed: set[str] = set()
        self._issued: set[str] = set()  # temporaries and fresh names handed out
        self._next: dict[str, int] = {}  # the next version number to try, per base name
        self._temps = 0

    def reserve_all(self, names) -> None:
        self._taken.update(names)

    def claim(self, name: str) -> str:
        """The name for a binding of the user name ``name``: itself the first time, else a new
        version (``h_2``)."""
        if name not in self._claimed and name not in self._issued:
            self._claimed.add(name)
            self._taken.add(name)
            return name
        name = self.fresh(name)
        self._claimed.add(name)
        return name

    def fresh(self, base: str) -> str:
        """``base`` itself if free, else ``base_2``, ``base_3``, …"""
        if base not in self._taken:
            self._taken.add(base)
            self._issued.add(base)
            return base
        n = self._next.get(base, 2)  # versions are handed out in order: start after the last
        while f"{base}_{n}" in self._taken:
            n += 1
        self._next[base] = n + 1
        name = f"{base}_{n}"
        self._taken.add(name)
        self._issued.add(name)
        return name

    def temp(self) -> str:
        """The next ANF temporary: ``t1``, ``t2``, …"""
        while True:
            self._temps += 1
            name = f"t{self._temps}"
            if name not in self._taken:
                self._taken.add(name)
                self._issued.add(name)
                return name

    def adjoint(self, var: str) -> str:
        return self.fresh(ADJOINT.format(var))

    def tangent(self, var: str) -> str:
        return self.fresh(TANGENT.format(var))
