"""The one exception users see, located at their own source line."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Location:
    """A position in the user's source: file, 1-based line, 0-based column, and that line's text."""

    filename: str
    lineno: int
    col: int
    line: str


class SrcGradError(Exception):
    """Raised for code srcgrad cannot differentiate, at the user's file, line and column.

    The message shows the offending line with a caret under the column and a hint of what to
    do instead.
    """

    def __init__(self, message: str, loc: Location | None = None, hint: str | None = None):
        self.message = message
        self.hint = hint
        self.filename = loc.filename if loc else None
        self.lineno = loc.lineno if loc else None
        self.col = loc.col if loc else None
        self.line = loc.line if loc else None
        super().__init__(self._render())

    def _render(self) -> str:
        parts = []
        if self.filename is not None:
            assert self.col is not None and self.line is not None  # (all from one location)
            parts.append(f'File "{self.filename}", line {self.lineno}, column {self.col + 1}:')
            text = self.line.rstrip("\n")
            stripped = text.lstrip()
            indent = len(text) - len(stripped)
            parts.append("    " + stripped)
            parts.append("    " + " " * max(self.col - indent, 0) + "^")
        parts.append(self.message)
        if self.hint:
            parts.append(f"hint: {self.hint}")
        return "\n".join(parts)
