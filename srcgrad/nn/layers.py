"""The basic layers in PyTorch's shape: Linear, Bilinear, activations, Flatten, Dropout, Embedding,
LayerNorm, BatchNorm1d; their parameters laid out, named and initialised as torch's
(``Linear.weight`` is ``(out_features, in_features)``), their ``forward`` NumPy code that
srcgrad differentiates (convolutions: ``conv``; recurrent layers: ``recurrent``; attention:
``attention``)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from srcgrad.nn import functional as F
from srcgrad.nn import init
from srcgrad.nn.module import Module, Parameter


def _eager_only(fn):
    """A check that runs when a module is called as it is, and is left out of generated code
    (where the computation it guards would fail anyway; srcgrad then runs the forward as it is
    to raise the check's error)."""
    fn.__srcgrad_eager_only__ = True
    return fn


@_eager_only
def _expect_features(x: Any, n: int, layer: Module) -> None:
    if np.shape(x)[-1:] != (n,):
        raise ValueError(f"{layer!r} got input of shape {np.shape(x)}: its last dimension "
                         f"must be {n}")


def _writes_first(fn):
    """A function that writes into its first argument, a buffer of a module (never a
    differentiated value), and returns nothing: generated code runs it once per forward call,
    as written, and the backward sweep never does."""
    fn.__srcgrad_writes_first__ = True
    return fn


@_writes_first
def _track(buffer: np.ndarray, value: Any) -> None:
    """``buffer[...] = value``: a running statistic, updated in place."""
    buffer[...] = value


class Identity(Module):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__()

    def forward(self, x):
        return x


class Linear(Module):
    """``y = x @ weight.T + bias``; weight and bias drawn from U(-1/√in, 1/√in), as torch."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True,
                 dtype: Any = np.float64) -> None:
        super().__init__()
        self.in_features = in_features
        self.out_features = out_features
        bound = 1.0 / math.sqrt(in_features) if in_features else 0.0
        self.weight = Parameter(np.empty((out_features, in_features), dtype=dtype))
        init.uniform_(self.weight, -bound, bound)
        if bias:
            self.bias: Parameter | None = Parameter(np.empty(out_features, dtype=dtype))
            init.uniform_(self.bias, -bound, bound)
        else:
            self.bias = None

    def forward(self, x):
        _expect_features(x, self.in_features, self)
        y = x @ self.weight.T
        if self.bias is not None:
            y = y + self.bias
        return y

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")


class Bilinear(Module):
    """``y[b, o] = x1[b] @ weight[o] @ x2[b] + bias[o]``."""

    def __init__(self, in1_features: int, in2_features: int, out_features: int,
                 bias: bool = True, dtype: Any = np.float64) -> None:
        super().__init__()
        self.in1_features, self.in2_features = in1_features, in2_features
        self.out_features = out_features
        bound = 1.0 / math.sqrt(in1_features)
        self.weight = Parameter(np.empty((out_features, in1_features, in2_features), dtype))
        init.uniform_(self.weight, -bound, bound)
        if bias:
            self.bias: Parameter | None = Parameter(np.empty(out_features, dtype))
            init.uniform_(self.bias, -bound, bound)
        else:
            self.bias = None

    def forward(self, x1, x2):
        y = np.einsum("bi,oij,bj->bo", x1, self.weight, x2)
        if self.bias is not None:
            y = y + self.bias
        return y

    def extra_repr(self) -> str:
        return (f"in1_features={self.in1_features}, in2_features={self.in2_features}, "
                f"out_features={self.out_features}, bias={self.bias is not None}")


class ReLU(Module):
    def forward(self, x):
        return F.relu(x)


class LeakyReLU(Module):
    def __init__(self, negative_slope: float = 0.01) -> None:
        super().__init__()
        self.negative_slope = negative_slope

    def forward(self, x):
        return F.leaky_relu(x, self.negative_slope)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}"


class ELU(Module):
    def __init__(self, alpha: float = 1.0) -> None:
        super().__init__()
        self.alpha = alpha

    def forward(self, x):
        return F.elu(x, self.alpha)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}"


class Sigmoid(Module):
    def forward(self, x):
        return F.sigmoid(x)


class Tanh(Module):
    def forward(self, x):
        return np.tanh(x)


class GELU(Module):
    """``x Φ(x)`` (``approximate="none"``, through erf) or its tanh approximation."""

    def __init__(self, approximate: str = "none") -> None:
        super().__init__()
        if approximate not in ("none", "tanh"):
            raise ValueError(f"approximate must be 'none' or 'tanh', not {approximate!r}")
        self.approximate = approximate

    def forward(self, x):
        return F.gelu(x, self.approximate)

    def extra_repr(self) -> str:
        return f"approximate={self.approximate!r}"


class SiLU(Module):
    def forward(self, x):
        return F.silu(x)


class Softplus(Module):
    def forward(self, x):
        return F.softplus(x)


class Softmax(Module):
    def __init__(self, dim: int = -1) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, x):
        return F.softmax(x, self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class LogSoftmax(Softmax):
    def forward(self, x):
        return F.log_softmax(x, self.dim)


class Flatten(Module):
    """All dimensions from ``start_dim`` on as one."""

    def __init__(self, start_dim: int = 1) -> None:
        super().__init__()
        self.start_dim = start_dim

    def forward(self, x):
        return np.reshape(x, x.shape[:self.start_dim] + (-1,))

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}"


class Dropout(Module):
    """In training, each element zeroed with probability ``p`` and the rest scaled by
    ``1 / (1 - p)``; the identity in eval mode. The mask is drawn once per forward call (from
    ``generator``, else srcgrad's: :func:`srcgrad.manual_seed`), and the backward sweep reuses
    it."""

    def __init__(self, p: float = 0.5, generator: np.random.Generator | None = None) -> None:
        super().__init__()
        if not 0.0 <= p < 1.0:
            raise ValueError(f"dropout probability must be in [0, 1), not {p}")
        self.p = p
        self.generator = init.generator() if generator is None else generator

    def forward(self, x):
        if not self.training:
            return x
        keep = self.generator.random(x.shape) >= self.p
        return x * keep / (1.0 - self.p)

    def extra_repr(self) -> str:
        return f"p={self.p}"


class Embedding(Module):
    """Rows of ``weight`` (drawn from N(0, 1), as torch) picked by integer indices."""

    def __init__(self, num_embeddings: int, embedding_dim: int, dtype: Any = np.float64
                 ) -> None:
        super().__init__()
        self.num_embeddings, self.embedding_dim = num_embeddings, embedding_dim
        self.weight = Parameter(np.empty((num_embeddings, embedding_dim), dtype))
        init.normal_(self.weight)

    def forward(self, indices):
        return self.weight[indices]

    def extra_repr(self) -> str:
        return f"{self.num_embeddings}, {self.embedding_dim}"


class LayerNorm(Module):
    """Normalised over the last ``len(normalized_shape)`` dimensions, then scaled by
    ``weight`` and shifted by ``bias`` (ones and zeros at first)."""

    def __init__(self, normalized_shape: int | tuple[int, ...], eps: float = 1e-5,
                 elementwise_affine: bool = True, dtype: Any = np.float64) -> None:
        super().__init__()
        shape = (normalized_shape,) if isinstance(normalized_shape, int) else \
            tuple(normalized_shape)
        self.normalized_shape = shape
        self.eps = eps
        self.axes = tuple(range(-len(shape), 0))
        if elementwise_affine:
            self.weight: Parameter | None = Parameter(np.ones(shape, dtype))
            self.bias: Parameter | None = Parameter(np.zeros(shape, dtype))
        else:
            self.weight = None
            self.bias = None

    def forward(self, x):
        mean = np.mean(x, axis=self.axes, keepdims=True)
        centered = x - mean
        var = np.mean(centered * centered, axis=self.axes, keepdims=True)
        y = centered / np.sqrt(var + self.eps)
        if self.weight is not None:
            y = y * self.weight + self.bias
        return y

    def extra_repr(self) -> str:
        return (f"{self.normalized_shape}, eps={self.eps}, "
                f"elementwise_affine={self.weight is not None}")


class BatchNorm1d(Module):
    """Normalised per feature (dimension 1 of an (N, C) or (N, C, L) input) over the batch,
    then scaled by ``weight`` and shifted by ``bias``. In training the batch's statistics are
    used and the running ones updated (once per forward call: ``momentum``, or the cumulative
    average when it is None; the variance unbiased, as torch's); in eval mode the running
    ones are used."""

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1,
                 affine: bool = True, track_running_stats: bool = True, bias: bool = True,
                 dtype: Any = np.float64) -> None:
        super().__init__()
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.track_running_stats = track_running_stats
        self.weight = Parameter(np.ones(num_features, dtype)) if affine else None
        self.bias = Parameter(np.zeros(num_features, dtype)) if affine and bias else None
        if track_running_stats:
            self.register_buffer("running_mean", np.zeros(num_features, dtype))
            self.register_buffer("running_var", np.ones(num_features, dtype))
            self.register_buffer("num_batches_tracked", np.array(0, dtype=np.int64))

    def forward(self, x):
        xt = np.moveaxis(x, 1, -1)
        if self.training or not self.track_running_stats:
            flat = np.reshape(xt, (-1, self.num_features))
            mean = np.mean(flat, axis=0)
            centered = xt - mean
            var = np.mean((flat - mean) ** 2, axis=0)
            if self.training and self.track_running_stats:
                n = flat.shape[0]
                if self.momentum is None:
                    m = 1.0 / (self.num_batches_tracked + 1)
                else:
                    m = self.momentum
                _track(self.num_batches_tracked, self.num_batches_tracked + 1)
                _track(self.running_mean, (1 - m) * self.running_mean + m * mean)
                _track(self.running_var, (1 - m) * self.running_var + m * var * n / (n - 1))
        else:
            centered = xt - self.running_mean
            var = self.running_var
        y = centered / np.sqrt(var + self.eps)
        if self.weight is not None:
            y = y * self.weight
        if self.bias is not None:
            y = y + self.bias
        return np.moveaxis(y, -1, 1)

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.weight is not None}, bias={self.bias is not None}, "
                f"track_running_stats={self.track_running_stats}")
