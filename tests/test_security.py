"""docs/security.md, enforced: srcgrad compiles only the code it generates, in one place, and
never evaluates strings, unpickles, imports by name or reads the environment."""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np

import srcgrad

PACKAGE = Path(srcgrad.__file__).parent
FORBIDDEN_CALLS = {"eval", "__import__", "getenv", "compile_command"}
FORBIDDEN_MODULES = {"pickle", "marshal", "shelve", "dill", "cloudpickle"}


def _modules():
    for path in sorted(PACKAGE.rglob("*.py")):
        yield path.relative_to(PACKAGE).as_posix(), ast.parse(path.read_text())


def _called(node: ast.Call) -> str:
    f = node.func
    return f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else ""


def test_exec_is_called_once_on_generated_code():
    sites = [(name, node.lineno) for name, tree in _modules() for node in ast.walk(tree)
             if isinstance(node, ast.Call) and _called(node) == "exec"]
    assert [name for name, _ in sites] == ["emit.py"]


def test_no_eval_no_pickle_no_import_by_name_no_environment():
    for name, tree in _modules():
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                assert _called(node) not in FORBIDDEN_CALLS, (name, node.lineno)
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                mods = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                    [node.module or ""]
                assert not {m.split(".")[0] for m in mods} & FORBIDDEN_MODULES, (name, mods)
            elif isinstance(node, ast.Attribute):
                assert node.attr != "environ", (name, node.lineno)


def test_data_never_becomes_code():
    # a module-level string that looks like code is data: read through the module's globals,
    # never pasted into the generated source
    global SCALE_NAME
    SCALE_NAME = "__import__('os').system('echo pwned')"

    def f(x):
        return np.sum(x * len(SCALE_NAME))

    src = srcgrad.grad(f).source
    assert "__import__" not in src and "system" not in src
    np.testing.assert_allclose(srcgrad.grad(f)(np.ones(2)), [len(SCALE_NAME)] * 2)


SCALE_NAME = ""
