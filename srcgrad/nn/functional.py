"""Activations and losses as functions, as ``torch.nn.functional``.

Each is ordinary NumPy code that srcgrad differentiates from its source, as it does the user's
own functions (no derivative here is written by hand). Where the textbook formula loses
precision or overflows, the stable one is written instead: ``sigmoid`` through ``tanh``,
softplus through ``np.logaddexp``, softmax with its row maximum subtracted (that shift carries
no derivative: ``stop_gradient``).
"""

from __future__ import annotations

import numpy as np

from srcgrad.nn import init
from srcgrad.runtime.arrays import erf
from srcgrad.runtime.indexing import windows  # noqa: F401 - the windows of a convolution
from srcgrad.runtime.structures import stop_gradient


def _reduce(loss, reduction):
    if reduction == "mean":
        return np.mean(loss)
    if reduction == "sum":
        return np.sum(loss)
    return loss


# --- activations ----------------------------------------------------------------------------------

def relu(x):
    return np.where(x > 0, x, 0.0)


def leaky_relu(x, negative_slope=0.01):
    return np.where(x > 0, x, negative_slope * x)


def elu(x, alpha=1.0):
    return np.where(x > 0, x, alpha * np.expm1(np.where(x > 0, 0.0, x)))


def sigmoid(x):
    return 0.5 * (1.0 + np.tanh(0.5 * x))   # 1 / (1 + exp(-x)), without overflow


def silu(x):
    return x * (0.5 * (1.0 + np.tanh(0.5 * x)))


def gelu(x, approximate="none"):
    """``x Φ(x)``, Φ the standard normal's distribution function (through ``erf``), or its tanh
    approximation with ``approximate="tanh"``, as torch's."""
    if approximate == "tanh":
        return 0.5 * x * (1.0 + np.tanh(0.7978845608028654 * (x + 0.044715 * x * x * x)))
    return 0.5 * x * (1.0 + erf(x * 0.7071067811865476))


def tanh(x):
    return np.tanh(x)


def softplus(x):
    return np.logaddexp(0.0, x)


def softmax(x, dim=-1):
    e = np.exp(x - stop_gradient(np.max(x, axis=dim, keepdims=True)))
    return e / np.sum(e, axis=dim, keepdims=True)


def log_softmax(x, dim=-1):
    z = x - stop_gradient(np.max(x, axis=dim, keepdims=True))
    return z - np.log(np.sum(np.exp(z), axis=dim, keepdims=True))


# --- losses -------------------------------------------------------------------------------------

def mse_loss(input, target, reduction="mean"):
    return _reduce((input - target) ** 2, reduction)


def l1_loss(input, target, reduction="mean"):
    return _reduce(np.abs(input - target), reduction)


def huber_loss(input, target, reduction="mean", delta=1.0):
    d = input - target
    a = np.abs(d)
    return _reduce(np.where(a < delta, 0.5 * d * d, delta * (a - 0.5 * delta)), reduction)


def smooth_l1_loss(input, target, reduction="mean", beta=1.0):
    d = input - target
    a = np.abs(d)
    return _reduce(np.where(a < beta, 0.5 * d * d / beta, a - 0.5 * beta), reduction)


def binary_cross_entropy(input, target, weight=None, reduction="mean"):
    """The logs clamped at -100, as torch's."""
    loss = -(target * np.maximum(np.log(input), -100.0)
             + (1.0 - target) * np.maximum(np.log(1.0 - input), -100.0))
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction)


def binary_cross_entropy_with_logits(input, target, weight=None, reduction="mean",
                                     pos_weight=None):
    """``-[y log σ(x) + (1 - y) log(1 - σ(x))]`` computed as ``(1 - y) x + softplus(-x)``:
    no log of 0, no overflow."""
    if pos_weight is None:
        loss = (1.0 - target) * input + np.logaddexp(0.0, -input)
    else:
        loss = (1.0 - target) * input + (1.0 + (pos_weight - 1.0) * target) * np.logaddexp(
            0.0, -input)
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction)


def nll_loss(input, target, weight=None, ignore_index=-100, reduction="mean"):
    """``-input[n, target[n]]`` per sample (``input`` holds log-probabilities, ``target``
    class indices); samples whose target is ``ignore_index`` count for nothing."""
    keep = target != ignore_index
    safe = np.where(keep, target, 0)
    picked = input[np.arange(input.shape[0]), safe]
    if weight is None:
        w = keep * 1.0
    else:
        w = weight[safe] * keep
    loss = -picked * w
    if reduction == "mean":
        return np.sum(loss) / np.sum(w)
    if reduction == "sum":
        return np.sum(loss)
    return loss


def cross_entropy(input, target, weight=None, ignore_index=-100, reduction="mean",
                  label_smoothing=0.0):
    """Cross-entropy of logits ``input`` (N, C) against class indices ``target`` (N,), or
    against class probabilities of ``input``'s shape, as torch's."""
    logp = log_softmax(input, 1)
    if target.ndim == input.ndim:  # probabilities
        if label_smoothing > 0.0:
            target = target * (1.0 - label_smoothing) + label_smoothing / input.shape[1]
        if weight is not None:
            logp = logp * weight
        loss = -np.sum(target * logp, axis=1)
        if reduction == "mean":
            return np.sum(loss) / input.shape[0]
        return _reduce(loss, reduction)
    nll = nll_loss(logp, target, weight, ignore_index, reduction)
    if label_smoothing == 0.0:
        return nll
    keep = target != ignore_index
    if weight is None:
        smooth = -np.sum(logp, axis=1) * keep
        norm = np.sum(keep * 1.0)
    else:
        smooth = -np.sum(logp * weight, axis=1) * keep
        norm = np.sum(weight[np.where(keep, target, 0)] * keep)
    if reduction == "mean":
        smooth = np.sum(smooth) / norm
    elif reduction == "sum":
        smooth = np.sum(smooth)
    return (1.0 - label_smoothing) * nll + label_smoothing / input.shape[1] * smooth


def kl_div(input, target, reduction="mean", log_target=False):
    """``target * (log target - input)``, ``input`` log-probabilities; 0 where the target
    is 0. ``reduction="batchmean"`` divides the sum by the batch size."""
    if log_target:
        loss = np.exp(target) * (target - input)
    else:
        positive = target > 0
        loss = np.where(positive, target * np.log(np.where(positive, target, 1.0)), 0.0) \
            - target * input
    if reduction == "batchmean":
        return np.sum(loss) / input.shape[0]
    return _reduce(loss, reduction)


def linear(input, weight, bias=None):
    y = input @ weight.T
    if bias is not None:
        y = y + bias
    return y


def dropout(input, p=0.5, training=True, inplace=False, generator=None):
    """As torch's (``inplace`` changes nothing: a new array either way); the mask drawn from
    ``generator``, else srcgrad's (:func:`srcgrad.manual_seed`)."""
    if not training or p == 0.0:
        return input
    rng = init.generator() if generator is None else generator
    keep = rng.random(input.shape) >= p
    return input * keep / (1.0 - p)
