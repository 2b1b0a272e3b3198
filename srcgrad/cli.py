"""The ``srcgrad`` command: ``srcgrad show FILE.py:FUNCTION`` prints the code srcgrad generates
for a function, ``srcgrad check FILE.py:FUNCTION --shape x=3,4`` checks its gradient against
central differences at random inputs. Bad input gets a one-paragraph error and exit status 2."""

from __future__ import annotations

import argparse
import importlib.util
import inspect
import io
import keyword
import os
import sys
import tokenize
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from srcgrad.api import grad
from srcgrad.check import check_grad
from srcgrad.derivatives import hvp, jvp
from srcgrad.errors import SrcGradError

_MODES = ("reverse", "forward", "jvp", "hvp")


class UsageError(Exception):
    """A mistake in the command line, the file or the function named."""


def load(target: str) -> Callable:
    """The function ``FILE.py:NAME`` names (``NAME`` may be dotted: ``model.forward``),
    importing the file as a module (which runs it)."""
    path, sep, name = target.rpartition(":")
    if not sep or not path or not name:
        raise UsageError(f"expected FILE.py:FUNCTION, not {target!r}")
    if not os.path.isfile(path):
        raise UsageError(f"no such file: {path}")
    spec = importlib.util.spec_from_file_location(
        "__srcgrad_cli__" + os.path.splitext(os.path.basename(path))[0].replace("-", "_"), path)
    if spec is None or spec.loader is None:
        raise UsageError(f"cannot import {path}: not a Python file")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    sys.path.insert(0, os.path.dirname(os.path.abspath(path)))
    try:
        spec.loader.exec_module(module)
    except Exception as exc:  # the user's file itself fails: say where, briefly
        raise UsageError(f"importing {path} failed: {type(exc).__name__}: {exc}") from None
    obj: Any = module
    for part in name.split("."):
        if not hasattr(obj, part):
            raise UsageError(f"{path} has no {name!r} ({part!r} is missing)")
        obj = getattr(obj, part)
    if not callable(obj):
        raise UsageError(f"{name} in {path} is not a function")
    return obj


def _wrt(text: str | None) -> Any:
    if text is None:
        return 0
    names = [w.strip() for w in text.split(",") if w.strip()]
    items = [int(w) if w.lstrip("-").isdigit() else w for w in names]
    return items[0] if len(items) == 1 else tuple(items)


def source_of(fn: Callable, mode: str, wrt: Any, backend: str) -> str:
    """The generated source for ``fn`` in ``mode``."""
    if mode == "reverse":
        return grad(fn, wrt, backend=backend).source
    if mode in ("forward", "jvp"):
        return jvp(fn, backend=backend).source
    return hvp(fn, wrt if isinstance(wrt, (int, str)) else wrt[0], backend=backend).source


_COLORS = {"comment": "\033[2;32m", "keyword": "\033[1;34m", "string": "\033[33m",
           "number": "\033[36m", "def": "\033[1;35m"}
_RESET = "\033[0m"


def highlight(text: str) -> str:
    """``text`` (Python source) with ANSI colours for comments, keywords, strings, numbers."""
    out, last_row, last_col = [], 1, 0
    lines = text.splitlines(keepends=True)
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(text).readline))
    except (tokenize.TokenError, SyntaxError):
        return text
    previous = ""
    for tok in tokens:
        (srow, scol), (erow, ecol) = tok.start, tok.end
        if srow > last_row:
            out.append(lines[last_row - 1][last_col:])
            out.extend(lines[last_row:srow - 1])
            last_col = 0
        out.append(lines[srow - 1][last_col:scol] if srow <= len(lines) else "")
        kind = None
        if tok.type == tokenize.COMMENT:
            kind = "comment"
        elif tok.type == tokenize.STRING:
            kind = "string"
        elif tok.type == tokenize.NUMBER:
            kind = "number"
        elif tok.type == tokenize.NAME and keyword.iskeyword(tok.string):
            kind = "keyword"
        elif tok.type == tokenize.NAME and previous == "def":
            kind = "def"
        piece = tok.string
        out.append(f"{_COLORS[kind]}{piece}{_RESET}" if kind and piece else piece)
        if tok.type == tokenize.NAME:
            previous = tok.string
        last_row, last_col = erow, ecol
        if tok.type in (tokenize.NEWLINE, tokenize.NL):
            last_row, last_col = erow + 1, 0
    return "".join(out)


def _shapes(items: Sequence[str]) -> dict[str, tuple[int, ...]]:
    out = {}
    for item in items:
        name, sep, dims = item.partition("=")
        try:
            if not sep or not name.isidentifier():
                raise ValueError
            out[name] = tuple(int(d) for d in dims.split(",")) if dims.strip() else ()
        except ValueError:
            raise UsageError(f"--shape {item!r}: write NAME=D1,D2,... (NAME= for a "
                             "number)") from None
    return out


def check(fn: Callable, shapes: dict[str, tuple[int, ...]], seed: int) -> list[str]:
    """Lines reporting the worst relative error of srcgrad's gradient, per argument."""
    params = list(inspect.signature(fn).parameters)
    missing = [p for p in params if p not in shapes]
    if missing:
        raise UsageError(f"give a --shape for each argument: missing {', '.join(missing)}")
    extra = [s for s in shapes if s not in params]
    if extra:
        raise UsageError(f"{fn.__name__} has no argument {', '.join(extra)}")
    rng = np.random.default_rng(seed)
    args = tuple(rng.standard_normal(shapes[p]) if shapes[p] else float(rng.standard_normal())
                 for p in params)
    return str(check_grad(fn, *args, seed=seed, raise_error=False)).splitlines()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="srcgrad", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    show = sub.add_parser("show", help="print the code srcgrad generates for a function")
    show.add_argument("target", help="FILE.py:FUNCTION (or FILE.py:object.method)")
    show.add_argument("--wrt", help="the parameters differentiated, by name or position: a,b")
    show.add_argument("--mode", choices=_MODES, default="reverse")
    show.add_argument("--backend", choices=("numpy", "jax"), default="numpy")
    show.add_argument("--color", choices=("auto", "always", "never"), default="auto")
    chk = sub.add_parser("check", help="check a gradient against central differences")
    chk.add_argument("target", help="FILE.py:FUNCTION")
    chk.add_argument("--shape", action="append", default=[], metavar="NAME=D1,D2",
                     help="the shape of an argument's random input (NAME= for a number)")
    chk.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    try:
        fn = load(args.target)
        if args.command == "show":
            text = source_of(fn, args.mode, _wrt(args.wrt), args.backend)
            color = args.color == "always" or args.color == "auto" and sys.stdout.isatty()
            sys.stdout.write(highlight(text) if color else text)
        else:
            print("\n".join(check(fn, _shapes(args.shape), args.seed)))
    except (UsageError, SrcGradError) as err:
        print(f"srcgrad: {err}", file=sys.stderr)
        return 2
    return 0
