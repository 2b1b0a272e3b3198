"""Turn a :class:`~srcgrad.ir.Program` into Python source, and the source into a function.

Each block of statements is headed by a comment quoting the user statement it comes from
(``# L12: y = np.sin(x @ w)``); the backward sweep quotes them again, in reverse order. The
source is registered with :mod:`linecache`, so tracebacks and pdb show generated lines, and
each generated line knows the user statement it computes (:func:`origin_of`, for errors raised
while the generated code runs).
"""

from __future__ import annotations

import itertools
import linecache
import os
from collections.abc import Callable, Mapping
from typing import Any

import libcst as cst

from srcgrad.errors import Location, SrcGradError
from srcgrad.ir import Gen, GIf, GLoop, GNode, Jump, Origin, Program
from srcgrad.printer import code

BACKWARD_BANNER = "# ---- backward: adjoints, last statement first ----"


def _comment(origin: Origin, filename: str = "") -> str:
    """``# L12: text`` for a line of the differentiated function's file, ``# forward()
    layers.py L43: text`` for one inlined from another file."""
    where = f"{origin.where}() " if origin.where else ""
    if filename and origin.loc.filename and origin.loc.filename != filename and \
            not origin.loc.filename.startswith("<"):  # (not generated code's own)
        where += f"{os.path.basename(origin.loc.filename)} "
    text = origin.text if len(origin.text) <= 80 else origin.text[:77] + "..."
    return f"# {where}L{origin.loc.lineno}: {text}"


class _Lines(list):
    """Lines of generated source, with the user statement each block of them computes:
    ``heads[k]`` for the block whose heading comment is line ``k`` (from 1)."""

    def __init__(self, first: str):
        super().__init__([first])
        self.heads: dict[int, Location] = {}


def _statement(g: GNode, comments: list[str], indent: str, out: _Lines,
               filename: str = "") -> None:
    out += [indent + c for c in comments]
    if comments and not comments[-1].startswith("# ----"):
        out.heads[len(out)] = g.origin.at
    if isinstance(g, Jump):
        out.append(indent + g.kind)
    elif isinstance(g, GIf):
        if not g.body and g.orelse:  # if not cond: ...
            test = cst.UnaryOperation(cst.Not(), g.test)
            out.append(f"{indent}if {code(test)}:")
            _block(g.orelse, indent + _INDENT, out, previous=g.origin, filename=filename)
            return
        out.append(f"{indent}if {code(g.test)}:")
        _block(g.body, indent + _INDENT, out, previous=g.origin, filename=filename)
        if g.orelse:
            out.append(f"{indent}else:")
            _block(g.orelse, indent + _INDENT, out, previous=g.origin, filename=filename)
    elif isinstance(g, GLoop):
        head = f"while {code(g.expr)}:" if g.target is None else \
            f"for {g.target} in {code(g.expr)}:"
        out.append(indent + head)
        _block(g.body, indent + _INDENT, out, previous=g.origin, filename=filename)
    elif g.target is None or g.effect:
        out.append(indent + code(g.expr))
    elif g.index is not None:  # y[i] = v
        index = g.index
        if isinstance(index, cst.Subscript) and isinstance(index.value, cst.Name) and \
                index.value.value == "s_":
            target = code(cst.Subscript(cst.Name(g.target), index.slice))
        else:
            target = f"{g.target}[{code(index)}]"
        out.append(f"{indent}{target} = {code(g.expr)}")
    elif _is_count(g):  # trips += 1
        assert isinstance(g.expr, cst.BinaryOperation)  # (_is_count)
        out.append(f"{indent}{g.target} += {code(g.expr.right)}")
    else:
        out.append(f"{indent}{g.target} = {code(g.expr)}")


def _is_count(g: Gen) -> bool:
    e = g.expr
    return bool(g.target and g.target.startswith("trips")) and isinstance(
        e, cst.BinaryOperation) and isinstance(e.operator, cst.Add) and isinstance(
        e.left, cst.Name) and e.left.value == g.target and isinstance(e.right, cst.Integer)


_INDENT = "    "


def _block(gens: tuple[GNode, ...], indent: str, out: _Lines, banner: str | None = None,
           previous: Origin | None = None, filename: str = "") -> None:
    """Statements of one block; a comment quotes the user statement of each group of them
    (once per group: a branch or loop is quoted unless the statements just before it come
    from its own line, e.g. ``cond = x > 0`` before ``if cond:``)."""
    start = len(out)
    first = True
    for g in gens:
        comments = [] if g.origin == previous else [_comment(g.origin, filename)]
        if first and banner:
            comments.insert(0, banner)
        first = False
        _statement(g, comments, indent, out, filename)
        previous = g.origin if isinstance(g, Gen) else None
    if len(out) == start:
        out.append(indent + "pass")


def emit(program: Program) -> str:
    """The source text of ``program`` as a ``def``."""
    return emit_with_origins(program)[0]


def emit_with_origins(program: Program) -> tuple[str, dict[int, Location]]:
    """The source text of ``program`` as a ``def``, and the user statement behind each block of
    its lines: ``{line of the block's heading comment: location}`` (lines from 1)."""
    params = [p for p in program.params if p not in program.kwonly]
    if program.kwonly:
        params += ["*", *program.kwonly]
    out = _Lines(f"def {program.name}({', '.join(params)}):")
    if program.docstring:
        out.append(f'{_INDENT}"""{program.docstring}"""')
    if program.forward:
        _block(program.forward, _INDENT, out, filename=program.filename)
    if program.backward:
        _block(program.backward, _INDENT, out, BACKWARD_BANNER, filename=program.filename)
    rets = program.returns
    value = code(rets[0]) if len(rets) == 1 else ", ".join(code(r) for r in rets)
    out.append(f"{_INDENT}return {value}")
    return "\n".join(out) + "\n", out.heads


_counter = itertools.count(1)


_ORIGINS = "__srcgrad_origins__"   # generated code's global: where its lines come from
#: the same per file name of generated code (as linecache keeps its lines): code generated from
#: generated code (a Hessian) is traced back through it to the user's statement
_HEADS: dict[str, dict[int, Location]] = {}


def compile_function(source: str, name: str, namespace: Mapping[str, Any],
                     origins: Mapping[int, Location] | None = None) -> Callable:
    """Compile generated ``source`` defining ``name`` into a function whose globals are
    ``namespace``; its lines show up in tracebacks and debuggers, and ``origins`` (from
    :func:`emit_with_origins`) tells :func:`origin_of` the user statement behind each."""
    filename = f"<srcgrad {name} #{next(_counter)}>"
    compiled = compile(source, filename, "exec")
    globs = dict(namespace)
    globs[_ORIGINS] = _HEADS[filename] = dict(origins or {})
    exec(compiled, globs)  # noqa: S102 - code generated from the user's own source only
    lines = source.splitlines(keepends=True)
    linecache.cache[filename] = (len(source), None, lines, filename)
    return globs[name]


def origin_of(exc: BaseException) -> Location | None:
    """The user statement behind the innermost line of generated code in ``exc``'s traceback
    (None: it was raised outside generated code, or from a line no statement heads)."""
    tb, found = exc.__traceback__, None
    while tb is not None:
        heads = tb.tb_frame.f_globals.get(_ORIGINS)
        if heads is not None and tb.tb_frame.f_code.co_filename.startswith("<srcgrad"):
            found = heads, tb.tb_lineno
        tb = tb.tb_next
    if found is None:
        return None
    heads, line = found
    where = _head(heads, line)
    while where is not None and where.filename in _HEADS:  # generated from generated code
        inner = _head(_HEADS[where.filename], where.lineno)
        if inner is None:
            break
        where = inner
    return where


def located(err: SrcGradError) -> SrcGradError:
    """``err`` raised at run time by generated code (a helper's refusal, which knows no
    line), located at the user statement behind the generated line; ``err`` itself if it has
    a location or none can be found."""
    if err.filename is not None:
        return err
    where = origin_of(err)
    return err if where is None else SrcGradError(err.message, where, err.hint)


def _head(heads: Mapping[int, Location], line: int) -> Location | None:
    """The location heading the block of generated code that ``line`` is in."""
    return next((heads[k] for k in range(line, 0, -1) if k in heads), None)
