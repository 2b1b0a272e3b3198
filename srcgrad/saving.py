"""Checkpoints: :func:`save` and :func:`load` of model and optimizer state in one ``.npz``.

Arrays are stored as the file's members and everything else (the nesting of dicts and lists,
numbers, strings, tuples, None) as one JSON member, so a load never unpickles
(``allow_pickle=False``). A save is atomic: written to a temporary file in the same
directory, flushed to disk, then renamed over the old file; a save killed midway leaves the
previous checkpoint as it was.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping
from typing import Any

import numpy as np

from srcgrad.errors import SrcGradError

_META = "__srcgrad__"


def _flatten(obj: Any, arrays: dict[str, np.ndarray], path: str) -> Any:
    """``obj`` as JSON, its arrays moved into ``arrays`` (``{"array": key}`` in their
    place)."""
    if hasattr(obj, "state_dict") and callable(obj.state_dict):  # a module, an optimizer
        obj = obj.state_dict()
    if isinstance(obj, np.ndarray) or isinstance(obj, np.generic) and not isinstance(
            obj, (np.bool_,)):
        key = f"a{len(arrays)}"
        arrays[key] = np.asarray(obj)
        return {"array": key}
    if isinstance(obj, Mapping):
        return {"dict": [[_key(k, path), _flatten(v, arrays, f"{path}/{k}")]
                         for k, v in obj.items()]}
    if isinstance(obj, (list, tuple)):
        return {"list" if isinstance(obj, list) else "tuple":
                [_flatten(v, arrays, f"{path}/{i}") for i, v in enumerate(obj)]}
    if isinstance(obj, (bool, np.bool_)):
        return {"bool": bool(obj)}
    if obj is None or isinstance(obj, (int, float, str)):
        return {"value": obj}
    raise SrcGradError(f"cannot save the {type(obj).__name__} at {path or '/'}",
                       hint="a checkpoint holds arrays, numbers, strings and dicts, lists "
                       "and tuples of them (a module or optimizer: its state_dict)")


def _key(k: Any, path: str) -> Any:
    if isinstance(k, bool) or not isinstance(k, (str, int)):
        raise SrcGradError(f"cannot save the key {k!r} at {path or '/'}: keys are strings or "
                           "ints")
    return k


def _unflatten(tree: Any, files: Any) -> Any:
    (kind, value), = tree.items()
    if kind == "array":
        return files[value]
    if kind == "dict":
        return {k: _unflatten(v, files) for k, v in value}
    if kind == "list":
        return [_unflatten(v, files) for v in value]
    if kind == "tuple":
        return tuple(_unflatten(v, files) for v in value)
    return value


def save(obj: Any, path: str | os.PathLike) -> None:
    """Write ``obj`` (a module, an optimizer, or a dict of them, arrays and numbers:
    ``{"model": model, "optimizer": opt, "epoch": 3}``) to ``path``, atomically."""
    arrays: dict[str, np.ndarray] = {}
    meta = json.dumps(_flatten(obj, arrays, ""))
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp",
                               dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            # (mypy matches the unpacked names against savez's own allow_pickle: bool)
            np.savez(f, **{_META: np.array(meta)}, **arrays)  # type: ignore[arg-type]
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    try:  # the rename itself on disk
        dir_fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
    finally:
        os.close(dir_fd)


def load(path: str | os.PathLike, into: Any = None) -> Any:
    """What :func:`save` wrote, as dicts, lists and arrays (a module's or optimizer's
    state_dict for one); with ``into`` (a module), also copied into it, every key, shape and
    dtype checked."""
    with np.load(os.fspath(path), allow_pickle=False) as files:
        if _META not in files:
            raise SrcGradError(f"{os.fspath(path)} is not a srcgrad checkpoint",
                               hint="write it with srcgrad.save")
        tree = json.loads(str(files[_META]))
        state = _unflatten(tree, {k: files[k] for k in files.files if k != _META})
    if into is not None:
        _check_into(into, state)
        into.load_state_dict(state)
    return state


def _check_into(module: Any, state: Any) -> None:
    if not isinstance(state, Mapping):
        raise SrcGradError("the checkpoint holds no state_dict to load into a module")
    own = module.state_dict()
    missing = [k for k in own if k not in state]
    extra = [k for k in state if k not in own]
    if missing or extra:
        parts = ([f"missing {', '.join(map(repr, missing))}"] if missing else []) + (
            [f"unexpected {', '.join(map(repr, extra))}"] if extra else [])
        raise SrcGradError(f"the checkpoint does not fit this {type(module).__name__}: "
                           + "; ".join(parts))
    for k, v in own.items():
        got = np.asarray(state[k])
        if got.shape != v.shape:
            raise SrcGradError(f"{k!r} has shape {got.shape} in the checkpoint, {v.shape} in "
                               "the module")
        if got.dtype != v.dtype:
            raise SrcGradError(f"{k!r} is {got.dtype} in the checkpoint, {v.dtype} in the "
                               "module", hint="convert the module first (model.to(dtype))")
