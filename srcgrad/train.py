"""The PyTorch habit on top of generated gradients: :func:`backward` fills each parameter's
``.grad`` from the gradient of a loss through a model (no tape: the loss's gradient code is
generated once, from the source of the loss and of the model's ``forward``)."""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Any

from srcgrad.api import GradFunction, value_and_grad
from srcgrad.errors import SrcGradError

_GRADIENTS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _gradient_of(loss_fn: Callable) -> GradFunction:
    try:
        found = _GRADIENTS.get(loss_fn)
    except TypeError:  # not weakly referenceable
        return value_and_grad(loss_fn)
    if found is None:
        found = _GRADIENTS[loss_fn] = value_and_grad(loss_fn)
    return found


def backward(loss_fn: Callable, model: Any, *args: Any, **kwargs: Any) -> Any:
    """``loss = backward(loss_fn, model, x, y)``: the value of ``loss_fn(model, x, y)``, with
    the gradient of each of ``model``'s parameters added to its ``.grad`` (as
    ``loss.backward()`` does in PyTorch: call ``optimizer.zero_grad()`` first)."""
    if not getattr(type(model), "__srcgrad_module__", False):
        raise SrcGradError(f"backward takes a loss function and a srcgrad.nn.Module, not a "
                           f"{type(model).__name__}", hint="for other objects use "
                           "srcgrad.value_and_grad(loss_fn)(obj, ...)")
    value, grads = _gradient_of(loss_fn)(model, *args, **kwargs)
    for name, p in model.named_parameters():
        g = grads.get(name)
        if g is None or not p.requires_grad:
            continue
        p.grad = g.copy() if p.grad is None else p.grad + g
    return value
