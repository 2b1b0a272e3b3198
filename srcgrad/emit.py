"""Turn a :class:`~srcgrad.ir.Program` into Python source, and the source into a function.

Each block of statements is headed by a comment quoting the user statement it comes from
(``# L12: y = np.sin(x @ w)``); the backward sweep quotes them again, in reverse order. The
source is registered with :mod:`linecache`, so tracebacks and pdb show generated lines.
"""

from __future__ import annotations

import itertools
import linecache
from collections.abc import Callable, Mapping
from typing import Any

import libcst as cst

from srcgrad.ir import Gen, Origin, Program

BACKWARD_BANNER = "# ---- backward: adjoints, last statement first ----"


def _comment(origin: Origin) -> str:
    where = f"{origin.where}() " if origin.where else ""
    text = origin.text if len(origin.text) <= 80 else origin.text[:77] + "..."
    return f"# {where}L{origin.loc.lineno}: {text}"


def _statement(g: Gen, comments: list[str]) -> cst.SimpleStatementLine:
    lines = [cst.EmptyLine(comment=cst.Comment(c)) for c in comments]
    if g.target is None or g.effect:
        small: cst.BaseSmallStatement = cst.Expr(g.expr)
    else:
        small = cst.Assign([cst.AssignTarget(cst.Name(g.target))], g.expr)
    return cst.SimpleStatementLine([small], leading_lines=lines)


def _block(gens: tuple[Gen, ...], banner: str | None = None) -> list[cst.SimpleStatementLine]:
    out: list[cst.SimpleStatementLine] = []
    first = True
    for _, group in itertools.groupby(gens, key=lambda g: g.origin):
        group = list(group)
        comments = [_comment(group[0].origin)]
        if first and banner:
            comments.insert(0, banner)
        first = False
        for k, g in enumerate(group):
            out.append(_statement(g, comments if k == 0 else []))
    return out


def emit(program: Program) -> str:
    """The source text of ``program`` as a ``def``."""
    body: list[cst.BaseStatement] = []
    if program.docstring:
        body.append(cst.SimpleStatementLine([cst.Expr(cst.SimpleString(
            '"""' + program.docstring + '"""'))]))
    body += _block(program.forward)
    body += _block(program.backward, BACKWARD_BANNER)
    rets = program.returns
    value = rets[0] if len(rets) == 1 else cst.Tuple([cst.Element(r) for r in rets],
                                                       lpar=[], rpar=[])
    body.append(cst.SimpleStatementLine([cst.Return(value)]))
    params = cst.Parameters(
        [cst.Param(cst.Name(p)) for p in program.params if p not in program.kwonly],
        star_arg=cst.ParamStar() if program.kwonly else cst.MaybeSentinel.DEFAULT,
        kwonly_params=[cst.Param(cst.Name(p)) for p in program.kwonly])
    fn = cst.FunctionDef(cst.Name(program.name), params, cst.IndentedBlock(body))
    return cst.Module([fn]).code


_counter = itertools.count(1)


def compile_function(source: str, name: str, namespace: Mapping[str, Any]) -> Callable:
    """Compile generated ``source`` defining ``name`` into a function whose globals are
    ``namespace``; its lines show up in tracebacks and debuggers."""
    filename = f"<srcgrad {name} #{next(_counter)}>"
    code = compile(source, filename, "exec")
    globs = dict(namespace)
    exec(code, globs)  # noqa: S102 - code generated from the user's own source only
    lines = source.splitlines(keepends=True)
    linecache.cache[filename] = (len(source), None, lines, filename)
    return globs[name]
