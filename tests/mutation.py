"""The suite under mutation testing (``make mutate``, mutmut): what srcgrad needs to show each
mutant to the tests that run it.

mutmut copies srcgrad into ``mutants/`` and replaces each function by a *trampoline* that calls
the original or the active mutant. Two things in srcgrad would hide a mutant from the tests:

* srcgrad inlines a rule function into generated code by reading its source
  (``srcgrad.template``), and a trampoline's source is the original's: the inlined code must be
  the active mutant's instead;
* srcgrad caches what it generates (per user function, per rule template); a cache filled
  while another mutant (or none) was active must not serve this one.

``install()`` is called once, where the suite runs on the copy in ``mutants/`` (the conftest
checks), and ``reset()`` at the start of each test session, that is once per mutant, and
before each test while mutmut collects which tests run which functions: a test whose code
another test generated would not be seen running the functions that generate it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path


def under_mutmut() -> bool:
    """Whether the srcgrad being tested is mutmut's copy (``mutants/srcgrad``)."""
    import srcgrad

    return Path(srcgrad.__file__).resolve().parent.parent.name == "mutants"


def _mutants_of(fn: Callable) -> dict | None:
    """The table of mutants behind the trampoline ``fn`` (None: ``fn`` is no trampoline)."""
    if getattr(fn, "__wrapped__", None) is None:
        return None
    for cell in getattr(fn, "__closure__", None) or ():
        for inner in getattr(cell.cell_contents, "__closure__", None) or ():
            mutants = inner.cell_contents
            if isinstance(mutants, dict) and "_mutmut_orig" in mutants:
                return mutants
    return None


def collecting_stats() -> bool:
    """Whether mutmut is finding out which tests run which functions (its first run)."""
    from mutmut.mutation.trampoline import get_mutant_under_test

    return get_mutant_under_test() == "stats"


def active_function(fn: Callable) -> Callable:
    """The function a mutmut trampoline ``fn`` runs now: the active mutant of it, or the
    original (``fn`` itself where it is no trampoline). While mutmut collects its stats,
    reading a rule's template counts as running it: the test runs the rule's code, inlined."""
    mutants = _mutants_of(fn)
    if mutants is None:
        return fn
    from mutmut.core import MutmutCallStack
    from mutmut.mutation.trampoline import get_mutant_under_test
    from mutmut.stats import record_trampoline_hit
    from mutmut.utils.format_utils import mangled_name_from_mutant_name

    orig = mutants["_mutmut_orig"]
    active = get_mutant_under_test()
    if active == "stats":
        record_trampoline_hit(f"{orig.__module__}.{mangled_name_from_mutant_name(orig.__name__)}",
                              caller=MutmutCallStack.get()[0])
    module, _, name = active.rpartition(".")
    if module == orig.__module__ and name in mutants:
        return mutants[name]
    return orig


def install() -> None:
    """Rule templates are read from the active mutant's source."""
    from srcgrad import template

    if hasattr(template._template, "reads_mutants"):
        return   # the conftest is imported again in each of mutmut's test runs
    plain = functools.cache(template._template.__wrapped__)

    def _template(fn):
        return plain(active_function(fn))   # cached by the function it resolves to

    _template.reads_mutants = True
    template._template = _template


def reset() -> None:
    """Forget everything srcgrad generated or parsed so far."""
    from srcgrad import build, parse, pipeline, template
    from srcgrad.normalize import values as normalize

    pipeline._CACHE.clear()
    pipeline._STRONG.clear()
    for module in (template, parse, build, normalize):
        for value in vars(module).values():
            clear = getattr(value, "cache_clear", None)
            if callable(clear):
                clear()


# --- a random sample of the mutants: all of them take more than a session (docs/testing.md) -----
AREAS = ("rules", "runtime", "optimize", "reverse", "forward")


def area_of(mutant: str) -> str:
    """The area of a mutant's name (``srcgrad.rules.shape.x_stack__mutmut_3``: rules)."""
    part = mutant.split(".")[1]
    return part if part in AREAS else "forward" if part.startswith("forward") else part


def draw_sample(per_area: int = 80, seed: int = 20261204, root: str = "mutants") -> list[str]:
    """``per_area`` mutants of each area, drawn at random from all the names mutmut generated
    (``root/srcgrad/**/*.py.meta``, after a first ``mutmut run``), in sorted order."""
    import json
    import random

    names: dict[str, list[str]] = {area: [] for area in AREAS}
    for meta in sorted(Path(root, "srcgrad").rglob("*.py.meta")):
        for name in json.loads(meta.read_text())["exit_code_by_key"]:
            names[area_of(name)].append(name)
    rnd = random.Random(seed)
    return [name for area in AREAS for name in sorted(rnd.sample(sorted(names[area]), per_area))]


if __name__ == "__main__":   # python tests/mutation.py > tests/mutation_sample.txt
    print("\n".join(draw_sample()))
