"""The optimizer base class: parameters in groups, per-parameter state, and the two ways a
step gets its gradients (``step(grads)`` with the mapping ``srcgrad.grad`` returns, or
``step()`` with the ``.grad`` that :func:`srcgrad.backward` filled)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from srcgrad.errors import SrcGradError


def _is_parameter(p: Any) -> bool:
    return getattr(type(p), "__srcgrad_parameter__", False)


class Optimizer:
    """What every optimizer shares, as ``torch.optim.Optimizer``: ``param_groups`` (each a
    dict of its ``params`` and hyperparameters), ``state`` per parameter, ``zero_grad``,
    ``state_dict``/``load_state_dict``. Parameters may come named (``model.named_parameters()``),
    so that ``step(grads)`` can look each gradient up by name."""

    counts_steps = True   # whether the state of each parameter holds its ``step`` count

    def __init__(self, params: Any, defaults: dict[str, Any]):
        self.defaults = dict(defaults)
        if getattr(type(params), "__srcgrad_module__", False):
            params = params.named_parameters()
        items = list(params)
        if not items:
            raise SrcGradError(f"{type(self).__name__} got an empty parameter list",
                               hint="pass model.parameters() or model.named_parameters()")
        groups = items if isinstance(items[0], Mapping) else [{"params": items}]
        self.param_groups: list[dict[str, Any]] = []
        self.state: dict[int, dict[str, Any]] = {}
        self._names: dict[int, str] = {}
        for group in groups:
            self.add_param_group(dict(group))

    def add_param_group(self, group: dict[str, Any]) -> None:
        """Another group of parameters, with hyperparameters of its own (the others from the
        defaults)."""
        params = group["params"]
        params = [params] if _is_parameter(params) else list(params)
        plain = []
        for p in params:
            if isinstance(p, tuple) and len(p) == 2 and isinstance(p[0], str):
                name, p = p
                self._names[id(p)] = name
            if not _is_parameter(p):
                raise SrcGradError(f"{type(self).__name__} optimizes Parameters; got a "
                                   f"{type(p).__name__}", hint="pass model.parameters(), or "
                                   "wrap arrays as srcgrad.nn.Parameter(array)")
            if any(p is q for g in self.param_groups for q in g["params"]):
                raise SrcGradError("a parameter appears in two parameter groups")
            plain.append(p)
        for key, value in self.defaults.items():
            group.setdefault(key, value)
        group["params"] = plain
        self.param_groups.append(group)

    def _params(self) -> list:
        return [p for g in self.param_groups for p in g["params"]]

    def zero_grad(self, set_to_none: bool = True) -> None:
        for p in self._params():
            p.grad = None if set_to_none or p.grad is None else np.zeros_like(p.data)

    def _gradients(self, grads: Any) -> list:
        """One gradient (or None) per parameter, in order."""
        params = self._params()
        if grads is None:
            return [p.grad for p in params]
        if isinstance(grads, Mapping):
            if all(id(p) in self._names for p in params):
                out = []
                for p in params:
                    name = self._names[id(p)]
                    if name not in grads:
                        raise SrcGradError(f"the gradients have no entry for the parameter "
                                           f"{name!r}", hint="pass the mapping srcgrad.grad "
                                           "returned for the whole model")
                    out.append(grads[name])
                return out
            grads = list(grads.values())  # named_parameters' order, as the parameters'
        grads = list(grads) if isinstance(grads, Sequence) or not isinstance(
            grads, np.ndarray) else [grads]
        if len(grads) != len(params):
            raise SrcGradError(f"{len(grads)} gradients for {len(params)} parameters",
                               hint="construct the optimizer with model.named_parameters() "
                               "to look gradients up by name")
        return grads

    def step(self, grads: Any = None) -> None:
        """One update of every parameter: from ``grads`` (a mapping by name, or a sequence in
        parameter order) or, without it, from each parameter's ``.grad`` (parameters whose
        ``.grad`` is None are left as they are)."""
        gradients = iter(self._gradients(grads))
        for group in self.param_groups:
            for p in group["params"]:
                g = next(gradients)
                if g is None:
                    continue
                g = np.asarray(g)
                if g.shape != p.shape:
                    name = self._names.get(id(p), "a parameter")
                    raise SrcGradError(f"the gradient of {name} has shape {g.shape}, the "
                                       f"parameter {p.shape}")
                if group.get("maximize", False):
                    g = -g
                # in the parameter's layout (a Linear weight's gradient comes transposed):
                # the update's elementwise operations run twice as fast on it
                g = np.asarray(g, dtype=p.dtype, order="C" if p.flags.c_contiguous else "K")
                self._update(p.view(np.ndarray), g, self.state.setdefault(id(p), {}), group)

    def _update(self, p: np.ndarray, g: np.ndarray, state: dict, group: dict) -> None:
        raise NotImplementedError

    def _functional(self, xp: Any, p: Any, g: Any, state: dict, group: dict
                    ) -> tuple[Any, dict]:
        """``_update`` as a pure function on arrays of namespace ``xp``: the new parameter
        and state. ``state`` holds arrays only, its ``step`` the number of steps taken."""
        raise NotImplementedError

    def _functional_state(self, xp: Any, p: Any, group: dict) -> dict:
        """The state ``_functional`` starts from (no step taken)."""
        raise NotImplementedError

    def state_dict(self) -> dict[str, Any]:
        """State and groups in torch's layout: parameters numbered in order."""
        index = {id(p): k for k, p in enumerate(self._params())}
        state = {index[i]: {k: (v.copy() if isinstance(v, np.ndarray) else v)
                            for k, v in s.items()}
                 for i, s in self.state.items() if i in index}
        groups = [{**{k: v for k, v in g.items() if k != "params"},
                   "params": [index[id(p)] for p in g["params"]]} for g in self.param_groups]
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> None:
        groups = state_dict["param_groups"]
        if len(groups) != len(self.param_groups) or any(
                len(g["params"]) != len(h["params"]) for g, h in zip(groups, self.param_groups,
                                                                      strict=True)):
            raise SrcGradError("the saved optimizer state has other parameter groups than "
                               "this optimizer")
        params = self._params()
        self.state = {id(params[int(k)]): {n: (np.array(v) if isinstance(v, np.ndarray) else v)
                                           for n, v in s.items()}
                      for k, s in state_dict["state"].items()}
        for saved, group in zip(groups, self.param_groups, strict=True):
            group.update({k: v for k, v in saved.items() if k != "params"})

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for k, g in enumerate(self.param_groups):
            lines.append(f"Parameter Group {k}")
            for key in sorted(g):
                if key != "params":
                    lines.append(f"    {key}: {g[key]}")
        lines.append(")")
        return "\n".join(lines)


def as_arrays(parameters: Any) -> Iterable[np.ndarray]:
    """The gradients ``clip_grad_norm_`` rescales: each parameter's ``.grad``, or the arrays
    of a gradient mapping or sequence."""
    if isinstance(parameters, Mapping):
        return list(parameters.values())
    if _is_parameter(parameters) or isinstance(parameters, np.ndarray):
        parameters = [parameters]
    items = list(parameters)
    return [p.grad for p in items if _is_parameter(p) and p.grad is not None] if items and \
        all(_is_parameter(p) for p in items) else items
