"""Initialisations in place, as ``torch.nn.init``, drawn from srcgrad's generator
(:func:`srcgrad.manual_seed` makes them reproducible)."""

from __future__ import annotations

import math

import numpy as np

_GENERATOR = np.random.default_rng()


def manual_seed(seed: int) -> np.random.Generator:
    """Seed the generator that initialisations (and Dropout without a generator of its own)
    draw from."""
    _GENERATOR.bit_generator.state = np.random.default_rng(seed).bit_generator.state
    return _GENERATOR


def generator() -> np.random.Generator:
    """The generator initialisations draw from."""
    return _GENERATOR


def _fans(a: np.ndarray) -> tuple[int, int]:
    if a.ndim < 2:
        raise ValueError("fan in and fan out need an array of at least 2 dimensions")
    receptive = int(np.prod(a.shape[2:])) if a.ndim > 2 else 1
    return a.shape[1] * receptive, a.shape[0] * receptive


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """The recommended scale for ``nonlinearity``, as torch's."""
    if nonlinearity in ("linear", "conv1d", "conv2d", "sigmoid", "identity"):
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        slope = 0.01 if param is None else param
        return math.sqrt(2.0 / (1 + slope ** 2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"unsupported nonlinearity {nonlinearity!r}")


def uniform_(tensor: np.ndarray, low: float = 0.0, high: float = 1.0) -> np.ndarray:
    tensor[...] = _GENERATOR.uniform(low, high, tensor.shape)
    return tensor


def normal_(tensor: np.ndarray, mean: float = 0.0, std: float = 1.0) -> np.ndarray:
    tensor[...] = _GENERATOR.normal(mean, std, tensor.shape)
    return tensor


def zeros_(tensor: np.ndarray) -> np.ndarray:
    tensor[...] = 0
    return tensor


def ones_(tensor: np.ndarray) -> np.ndarray:
    tensor[...] = 1
    return tensor


def constant_(tensor: np.ndarray, value: float) -> np.ndarray:
    tensor[...] = value
    return tensor


def xavier_uniform_(tensor: np.ndarray, gain: float = 1.0) -> np.ndarray:
    fan_in, fan_out = _fans(tensor)
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return uniform_(tensor, -bound, bound)


def xavier_normal_(tensor: np.ndarray, gain: float = 1.0) -> np.ndarray:
    fan_in, fan_out = _fans(tensor)
    return normal_(tensor, 0.0, gain * math.sqrt(2.0 / (fan_in + fan_out)))


def kaiming_uniform_(tensor: np.ndarray, a: float = 0.0, mode: str = "fan_in",
                     nonlinearity: str = "leaky_relu") -> np.ndarray:
    fan = _fans(tensor)[0 if mode == "fan_in" else 1]
    bound = math.sqrt(3.0) * calculate_gain(nonlinearity, a) / math.sqrt(fan)
    return uniform_(tensor, -bound, bound)


def kaiming_normal_(tensor: np.ndarray, a: float = 0.0, mode: str = "fan_in",
                    nonlinearity: str = "leaky_relu") -> np.ndarray:
    fan = _fans(tensor)[0 if mode == "fan_in" else 1]
    return normal_(tensor, 0.0, calculate_gain(nonlinearity, a) / math.sqrt(fan))
