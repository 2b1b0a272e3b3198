"""Optimizers and learning-rate schedules in ``torch.optim``'s shape, on NumPy arrays:
``SGD``, ``Adam``, ``AdamW``, ``RMSprop``, ``Adagrad``; ``lr_scheduler``; and
``clip_grad_norm_``. Fed the same gradients, each makes torch's updates."""

from __future__ import annotations

from typing import Any

import numpy as np

from srcgrad.optim import lr_scheduler
from srcgrad.optim.algorithms import SGD, Adagrad, Adam, AdamW, RMSprop
from srcgrad.optim.optimizer import Optimizer, as_arrays


def clip_grad_norm_(parameters: Any, max_norm: float, norm_type: float = 2.0) -> float:
    """Scale the gradients (parameters' ``.grad``, or the arrays of a gradient mapping) in
    place so that their joint norm is at most ``max_norm``; returns the norm before."""
    grads = [g for g in as_arrays(parameters) if g is not None]
    if not grads:
        return 0.0
    if norm_type == np.inf:
        total = max(float(np.max(np.abs(g))) for g in grads)
    else:
        total = float(np.sum([np.sum(np.abs(g) ** norm_type) for g in grads])) ** (
            1.0 / norm_type)
    coef = min(max_norm / (total + 1e-6), 1.0)
    for g in grads:
        g *= coef
    return total


__all__ = ["SGD", "Adagrad", "Adam", "AdamW", "Optimizer", "RMSprop", "clip_grad_norm_",
           "lr_scheduler"]
