"""Run the examples of README.md and docs/*.md and compare their output with the text shown.

Run from the repository root:  .venv/bin/python docs/check_examples.py [FILE.md ...]

An example is a fenced block preceded by the line ``<!-- check -->``:

* a ``python`` block is written to ``example.py`` in a fresh temporary folder and run there
  with this interpreter (so ``L7`` in generated comments is line 7 of the block as shown);
* a ``sh`` block is run with bash from the repository root.

The next ``text`` block is the expected output (stdout and stderr together). The temporary
folder's path is removed from the output, so files read ``example.py``. A line that is exactly
``...`` in the expected text matches any number of lines. Exit status 1 if any example differs.

``--update`` writes the actual output into the text blocks instead (blocks holding ``...`` are
left alone); review the diff as you would a golden file.
"""

from __future__ import annotations

import difflib
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FENCE = re.compile(r"^```(\w*)\s*$")


def examples(path: Path):
    """(line number, language, code, expected output) for each checked example of ``path``."""
    lines = path.read_text().splitlines()
    i = 0
    while i < len(lines):
        if lines[i].strip() != "<!-- check -->":
            i += 1
            continue
        start = i + 1
        code_lang, code, i = _next_block(lines, i + 1)
        out_lang, expected, i = _next_block(lines, i)
        if code_lang not in ("python", "sh") or out_lang != "text":
            raise SystemExit(f"{path}:{start}: a check needs a python/sh block, then a text block")
        yield start, code_lang, code, expected, i


def _next_block(lines, i):
    while i < len(lines) and not FENCE.match(lines[i]):
        i += 1
    if i == len(lines):
        return None, [], i
    lang = FENCE.match(lines[i]).group(1)
    body = []
    i += 1
    while i < len(lines) and lines[i].strip() != "```":
        body.append(lines[i])
        i += 1
    return lang, body, i + 1


def run(lang: str, code: list[str]) -> list[str]:
    with tempfile.TemporaryDirectory() as tmp:
        if lang == "python":
            (Path(tmp) / "example.py").write_text("\n".join(code) + "\n")
            cmd, cwd = [sys.executable, "example.py"], tmp
        else:
            cmd, cwd = ["bash", "-c", "\n".join(code)], str(ROOT)
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}  # stdout and stderr in the order written
        proc = subprocess.run(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True, timeout=600, env=env)
        text = proc.stdout
        text = text.replace(str(Path(tmp).resolve()) + "/", "").replace(tmp + "/", "")
    out = [line.rstrip() for line in text.splitlines()]
    while out and not out[-1]:
        out.pop()
    return out


def matches(expected: list[str], actual: list[str]) -> bool:
    expected = [line.rstrip() for line in expected]
    if not expected:
        return not actual
    if expected[0] == "...":
        return any(matches(expected[1:], actual[k:]) for k in range(len(actual) + 1))
    return bool(actual) and expected[0] == actual[0] and matches(expected[1:], actual[1:])


def main(argv: list[str]) -> int:
    update = "--update" in argv
    argv = [a for a in argv if a != "--update"]
    files = [Path(a).resolve() for a in argv] or [ROOT / "README.md",
                                                  *sorted((ROOT / "docs").glob("*.md"))]
    failed = total = 0
    for path in files:
        replacements = []
        for lineno, lang, code, expected, end in examples(path):
            total += 1
            actual = run(lang, code)
            if matches(expected, actual):
                continue
            if update and "..." not in expected:
                replacements.append((end, expected, actual))
                continue
            failed += 1
            print(f"FAIL {path.relative_to(ROOT)}:{lineno}")
            diff = difflib.unified_diff(expected, actual, "shown", "actual", lineterm="")
            print("\n".join(diff))
        if replacements:
            lines = path.read_text().splitlines()
            for end, expected, actual in reversed(replacements):
                first = end - 1 - len(expected)  # the first line inside the text block
                lines[first:end - 1] = actual
            path.write_text("\n".join(lines) + "\n")
            print(f"updated {len(replacements)} example(s) in {path.relative_to(ROOT)}")
    print(f"{total - failed} of {total} examples match")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
