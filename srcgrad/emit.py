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

from srcgrad.ir import Gen, GIf, GLoop, GNode, Jump, Origin, Program

BACKWARD_BANNER = "# ---- backward: adjoints, last statement first ----"


def _comment(origin: Origin) -> str:
    where = f"{origin.where}() " if origin.where else ""
    text = origin.text if len(origin.text) <= 80 else origin.text[:77] + "..."
    return f"# {where}L{origin.loc.lineno}: {text}"


def _leading(comments: list[str]) -> list[cst.EmptyLine]:
    return [cst.EmptyLine(comment=cst.Comment(c)) for c in comments]


def _statement(g: GNode, comments: list[str]) -> cst.BaseStatement:
    lines = _leading(comments)
    if isinstance(g, Jump):
        small: cst.BaseSmallStatement = cst.Break() if g.kind == "break" else cst.Continue()
    elif isinstance(g, GIf) and not g.body and g.orelse:  # if not cond: ...
        test = cst.UnaryOperation(cst.Not(), g.test)
        return cst.If(test, cst.IndentedBlock(_block(g.orelse, previous=g.origin)),
                      leading_lines=lines)
    elif isinstance(g, GIf):
        orelse = cst.Else(cst.IndentedBlock(_block(g.orelse, previous=g.origin))) \
            if g.orelse else None
        return cst.If(g.test, cst.IndentedBlock(_block(g.body, previous=g.origin)
                                                or [_pass()]), orelse, leading_lines=lines)
    elif isinstance(g, GLoop):
        body = cst.IndentedBlock(_block(g.body, previous=g.origin) or [_pass()])
        if g.target is None:
            return cst.While(g.expr, body, leading_lines=lines)
        return cst.For(cst.Name(g.target), g.expr, body, leading_lines=lines)
    elif g.target is None or g.effect:
        small = cst.Expr(g.expr)
    elif g.index is not None:  # y[i] = v
        index = g.index
        elements = index.slice if isinstance(index, cst.Subscript) and isinstance(
            index.value, cst.Name) and index.value.value == "s_" else [
            cst.SubscriptElement(cst.Index(index))]
        small = cst.Assign([cst.AssignTarget(cst.Subscript(cst.Name(g.target), elements))],
                           g.expr)
    elif _is_count(g):  # trips = trips + 1
        small = cst.AugAssign(cst.Name(g.target), cst.AddAssign(), g.expr.right)
    else:
        small = cst.Assign([cst.AssignTarget(cst.Name(g.target))], g.expr)
    return cst.SimpleStatementLine([small], leading_lines=lines)


def _is_count(g: Gen) -> bool:
    e = g.expr
    return bool(g.target and g.target.startswith("trips")) and isinstance(
        e, cst.BinaryOperation) and isinstance(e.operator, cst.Add) and isinstance(
        e.left, cst.Name) and e.left.value == g.target and isinstance(e.right, cst.Integer)


def _pass() -> cst.SimpleStatementLine:
    return cst.SimpleStatementLine([cst.Pass()])


def _block(gens: tuple[GNode, ...], banner: str | None = None,
           previous: Origin | None = None) -> list[cst.BaseStatement]:
    """Statements of one block; a comment quotes the user statement of each group of them
    (once per group: a branch or loop is quoted unless the statements just before it come
    from its own line, e.g. ``cond = x > 0`` before ``if cond:``)."""
    out: list[cst.BaseStatement] = []
    first = True
    for g in gens:
        comments = [] if g.origin == previous else [_comment(g.origin)]
        if first and banner:
            comments.insert(0, banner)
        first = False
        out.append(_statement(g, comments))
        previous = g.origin if isinstance(g, Gen) else None
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
