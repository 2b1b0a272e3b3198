"""Read a Python function's source into a libcst tree with positions and its namespace."""

from __future__ import annotations

import ast
import builtins
import functools
import inspect
import linecache
import textwrap
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import libcst as cst
from libcst.metadata import CodePosition, CodeRange, MetadataWrapper, PositionProvider

from srcgrad.errors import Location, SrcGradError


@dataclass(frozen=True, eq=False)
class ParsedFunction:
    """A user function as a libcst ``FunctionDef`` plus what is needed to resolve and locate it."""

    name: str
    node: cst.FunctionDef
    positions: Positions
    filename: str
    line_offset: int          # file line number of the first line of the parsed text, minus 1
    col_offset: int           # indentation removed by dedenting
    lines: tuple[str, ...]    # the file's lines of the parsed text, undedented
    namespace: Mapping[str, Any]   # closure cells, then globals, then builtins
    globals: Mapping[str, Any] = field(default_factory=dict)   # the function's live globals
    closure: frozenset[str] = frozenset()                       # names read from closure cells

    def loc(self, node: cst.CSTNode) -> Location:
        """Where ``node`` is in the user's file."""
        pos = self.positions.get(node)
        if pos is None:
            return Location(self.filename, self.line_offset + 1, self.col_offset, self.lines[0])
        line = pos.start.line
        text = self.lines[line - 1] if 0 < line <= len(self.lines) else ""
        return Location(self.filename, self.line_offset + line, pos.start.column + self.col_offset,
                        text)

    def text(self, node: cst.CSTNode) -> str:
        """The source of ``node`` on one line."""
        where = self.positions.statement(node)
        if where is not None:  # a statement: cut from the user's lines
            (l0, c0), (l1, c1) = where
            lines = [ln[self.col_offset:] for ln in self.lines[l0 - 1:l1]]
            lines[-1] = lines[-1][:c1]
            lines[0] = lines[0][c0:]
            code = " ".join(lines)
        else:
            code = cst.Module([]).code_for_node(node)
        return " ".join(code.split())


class Positions:
    """Where the nodes of a parsed module are. Statements (what comments and most errors point
    at) come from Python's own parser, which is fast; any other node, from libcst's
    ``PositionProvider`` on first need (an error at an expression, a comprehension)."""

    def __init__(self, module: cst.Module, source: str | None = None):
        self._module = module
        # (None: a node made here whose place is not known, as a comprehension's own loops)
        self._all: dict[cst.CSTNode, CodeRange | None] | None = None
        self._known: dict[cst.CSTNode, CodeRange | None] = {}
        self._statements = _statement_positions(module, source) if source is not None else {}
        self._known.update(self._statements)
        if not self._known:
            self._resolve()

    def statement(self, node: cst.CSTNode) -> tuple[tuple[int, int], tuple[int, int]] | None:
        """((line, column), (end line, end column)) of a statement read by Python's parser."""
        hit = self._statements.get(node)
        return None if hit is None else ((hit.start.line, hit.start.column),
                                         (hit.end.line, hit.end.column))

    def _resolve(self) -> dict[cst.CSTNode, CodeRange | None]:
        if self._all is None:
            wrapper = MetadataWrapper(self._module, unsafe_skip_copy=True)
            self._all = dict(wrapper.resolve(PositionProvider))
            self._all.update(self._known)
        return self._all

    def get(self, node: cst.CSTNode, default: CodeRange | None = None) -> CodeRange | None:
        hit = self._known.get(node)
        if hit is None:
            hit = self._resolve().get(node, default)
        return hit

    def __setitem__(self, node: cst.CSTNode, where: CodeRange | None) -> None:
        self._known[node] = where
        if self._all is not None:
            self._all[node] = where

    def setdefault(self, node: cst.CSTNode, where: CodeRange | None) -> CodeRange | None:
        hit = self.get(node)
        if hit is None and where is not None:
            self[node] = hit = where
        return hit


def _statement_positions(module: cst.Module, source: str) -> dict[cst.CSTNode, CodeRange]:
    """The positions of the module's statements, from ``ast`` (both parsers list statements
    in the same order); empty if the two lists do not match statement for statement."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return {}
    ours = list(_cst_statements(module.body))
    theirs = list(_ast_statements(tree.body))
    if len(ours) != len(theirs) or any(type(a).__name__ != type(b).__name__
                                       for a, b in zip(ours, theirs, strict=True)):
        return {}
    lines = source.splitlines()

    def column(line: int, offset: int) -> int:  # ast counts UTF-8 bytes, libcst characters
        text = lines[line - 1] if 0 < line <= len(lines) else ""
        return offset if text.isascii() else len(text.encode()[:offset].decode(errors="ignore"))

    return {a: CodeRange(CodePosition(b.lineno, column(b.lineno, b.col_offset)),
                         CodePosition(b.end_lineno or b.lineno,
                                      column(b.end_lineno or b.lineno, b.end_col_offset or 0)))
            for a, b in zip(ours, theirs, strict=True)}


def _cst_statements(body) -> Iterator[cst.CSTNode]:
    for stmt in body:
        if isinstance(stmt, cst.SimpleStatementLine):
            yield from stmt.body
        elif isinstance(stmt, cst.BaseCompoundStatement):
            yield stmt
            body = getattr(stmt, "body", None)  # a `match` has cases only
            if body is not None:
                yield from _cst_block(body)
            for handler in getattr(stmt, "handlers", ()):
                yield from _cst_block(handler.body)
            for case in getattr(stmt, "cases", ()):
                yield from _cst_block(case.body)
            orelse = getattr(stmt, "orelse", None)
            if isinstance(orelse, cst.If):
                yield from _cst_statements([orelse])
            elif orelse is not None:
                yield from _cst_block(orelse.body)
            final = getattr(stmt, "finalbody", None)
            if final is not None:
                yield from _cst_block(final.body)
        else:
            yield stmt


def _cst_block(block) -> Iterator[cst.CSTNode]:
    if isinstance(block, cst.SimpleStatementSuite):
        yield from block.body
    else:
        yield from _cst_statements(block.body)


def _ast_statements(body: list[ast.stmt]) -> Iterator[ast.stmt]:
    for stmt in body:
        yield stmt
        yield from _ast_statements(getattr(stmt, "body", []))
        for handler in getattr(stmt, "handlers", ()):
            yield from _ast_statements(handler.body)
        for case in getattr(stmt, "cases", ()):
            yield from _ast_statements(case.body)
        yield from _ast_statements(getattr(stmt, "orelse", []))
        yield from _ast_statements(getattr(stmt, "finalbody", []))


def namespace_of(fn: Callable) -> dict[str, Any]:
    """The names ``fn`` can see: its closure cells over its globals over builtins."""
    ns: dict[str, Any] = dict(vars(builtins))
    ns.update(getattr(fn, "__globals__", {}))
    code = getattr(fn, "__code__", None)
    if code is not None and fn.__closure__:
        for name, cell in zip(code.co_freevars, fn.__closure__, strict=True):
            try:
                ns[name] = cell.cell_contents
            except ValueError:  # an empty cell: a name assigned later in the enclosing scope
                pass
    return ns


def _scopes(fn: Callable) -> tuple[Mapping[str, Any], frozenset[str]]:
    code = getattr(fn, "__code__", None)
    return getattr(fn, "__globals__", {}), frozenset(code.co_freevars if code else ())


def parse_function(fn: Callable, source: str | None = None) -> ParsedFunction:
    """Parse ``fn`` (a ``def`` or a ``lambda``); ``source`` stands in for unreadable source."""
    if not inspect.isfunction(fn):  # a callable object wrapping a function (lru_cache)
        fn = inspect.unwrap(fn)
    # A Python function runs its own code, also when a decorator copied another's name onto
    # it (functools.wraps): that code is what is differentiated, never the function it wraps.
    code = getattr(fn, "__code__", None)
    name = code.co_name if code is not None and code.co_name != "<lambda>" else getattr(
        fn, "__name__", "f")
    filename = getattr(getattr(fn, "__code__", None), "co_filename", "<unknown>")
    generated = None
    if source is None:  # code srcgrad generated: differentiated again, under its own file name
        source = generated = getattr(fn, "__srcgrad_source__", None)
    if source is not None:
        raw_lines, first = source.splitlines(keepends=True), 1
        if generated is None:
            filename = f"<source of {name}>"
    else:
        found = _def_lines(fn)
        if found is not None:
            raw_lines, first = found
            try:
                return _parsed(fn, name, raw_lines, first, filename)
            except SrcGradError:
                pass  # cut inside a bracket or a string: ask inspect
        try:
            raw_lines, first = inspect.getsourcelines(fn)
        except (OSError, TypeError) as exc:
            raise SrcGradError(
                f"cannot read the source of {name!r} ({exc})",
                hint="functions defined in a REPL or by exec have no source file: pass it "
                "explicitly, e.g. grad(f, source='''def f(x): ...''')",
            ) from None
    return _parsed(fn, name, raw_lines, first, filename)


def _parsed(fn: Callable, name: str, raw_lines: list[str], first: int,
            filename: str) -> ParsedFunction:
    text = "".join(raw_lines)
    dedented = textwrap.dedent(text)
    col_offset = _indent_removed(text, dedented)
    try:
        module, positions = _module(dedented)
    except cst.ParserSyntaxError as exc:
        if name == "<lambda>":
            return _parse_lambda(fn, raw_lines, first, filename)
        raise SrcGradError(f"cannot parse the source of {name!r}: {exc.message}") from None
    node = _find_def(module, name, fn)
    if node is None:
        if name == "<lambda>":
            return _lambda_from_module(fn, module, positions, raw_lines, first, filename,
                                       col_offset)
        raise SrcGradError(f"cannot find the definition of {name!r} in its source")
    return ParsedFunction(name, node, positions,
                          filename, first - 1, col_offset, tuple(raw_lines), namespace_of(fn),
                          *_scopes(fn))


@functools.lru_cache(maxsize=64)
def _module(text: str) -> tuple[cst.Module, Positions]:
    """The parsed module of ``text`` and its positions, shared by the transformations of one
    function (``grad`` and ``jvp`` of it parse it once; libcst trees are immutable)."""
    module = cst.parse_module(text)
    return module, Positions(module, text)


def _def_lines(fn: Callable) -> tuple[list[str], int] | None:
    """The lines of ``def fn`` (decorators included) and its first line number, found by
    indentation: the block ends before the next line of code indented no deeper than the
    ``def``. Cheaper than ``inspect.getsourcelines`` (which tokenizes); a cut inside a
    bracket or a string does not parse, and the caller then asks ``inspect``. None for a
    lambda or where the file's lines are not at hand."""
    code = getattr(fn, "__code__", None)
    if code is None or fn.__name__ == "<lambda>":
        return None
    lines = linecache.getlines(code.co_filename, getattr(fn, "__globals__", None))
    first = code.co_firstlineno
    if not lines or first > len(lines):
        return None
    head = lines[first - 1]
    indent = len(head) - len(head.lstrip())
    k = first - 1
    while k < len(lines) and lines[k].lstrip().startswith("@"):
        k += 1
    if k >= len(lines) or not lines[k].lstrip().startswith(("def ", "async def ")):
        return None
    end = k + 1
    while end < len(lines):
        text = lines[end].strip()
        if text and not text.startswith("#") and \
                len(lines[end]) - len(lines[end].lstrip()) <= indent:
            break
        end += 1
    while end > k + 1 and (not lines[end - 1].strip()
                           or lines[end - 1].lstrip().startswith("#")):
        end -= 1  # trailing blank lines and comments belong to what follows
    return lines[first - 1:end], first


def _indent_removed(text: str, dedented: str) -> int:
    first = next((ln for ln in text.splitlines() if ln.strip()), "")
    first_d = next((ln for ln in dedented.splitlines() if ln.strip()), "")
    return len(first) - len(first_d)


def _find_def(module: cst.Module, name: str, fn: Callable) -> cst.FunctionDef | None:
    for stmt in module.body:
        if isinstance(stmt, cst.FunctionDef) and stmt.name.value == name:
            return stmt
    found: list[cst.FunctionDef] = []

    class _Finder(cst.CSTVisitor):
        def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
            if node.name.value == name:
                found.append(node)

    module.visit(_Finder())
    return found[0] if found else None


def _lambda_from_module(fn, module, positions, raw_lines, first, filename, col_offset):
    params = fn.__code__.co_varnames[: fn.__code__.co_argcount]
    found: list[cst.Lambda] = []

    class _Finder(cst.CSTVisitor):
        def visit_Lambda(self, node: cst.Lambda) -> None:
            names = tuple(p.name.value for p in node.params.params)
            if names == params:
                found.append(node)

    module.visit(_Finder())
    if len(found) != 1:
        raise SrcGradError(
            "cannot tell which lambda on this line to differentiate",
            Location(filename, first, 0, raw_lines[0]),
            hint="define the function with def",
        )
    lam = found[0]
    body = cst.IndentedBlock([cst.SimpleStatementLine([cst.Return(lam.body)])])
    node = cst.FunctionDef(cst.Name("_lambda"), lam.params, body)
    # Positions of the body expression carry over: it is the same node.
    return ParsedFunction("<lambda>", node, positions, filename, first - 1, col_offset,
                          tuple(raw_lines), namespace_of(fn), *_scopes(fn))


def _parse_lambda(fn, raw_lines, first, filename):
    # A lambda inside a larger, unparseable fragment (e.g. a call's argument list continuing on
    # the next lines): parse from the 'lambda' keyword to the end of its line.
    line = raw_lines[0]
    start = line.find("lambda")
    if start < 0:
        raise SrcGradError("cannot parse the source of this lambda",
                           Location(filename, first, 0, line), hint="define it with def")
    for end in range(len(line), start, -1):
        try:
            module = cst.parse_module("_ = " + line[start:end].rstrip())
        except cst.ParserSyntaxError:
            continue
        return _lambda_from_module(fn, module, Positions(module), [line], first, filename,
                                   start - 4)
    raise SrcGradError("cannot parse the source of this lambda",
                       Location(filename, first, start, line), hint="define it with def")
