"""Layers in PyTorch's shape: their parameters laid out, named and initialised as torch's
(``Linear.weight`` is ``(out_features, in_features)``), their ``forward`` NumPy code that
srcgrad differentiates."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from srcgrad.nn import functional as F
from srcgrad.nn import init
from srcgrad.nn.module import Module, Parameter
from srcgrad.runtime.indexing import windows


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
            self.bias = Parameter(np.empty(out_features, dtype=dtype))
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
            self.bias = Parameter(np.empty(out_features, dtype))
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
            self.weight = Parameter(np.ones(shape, dtype))
            self.bias = Parameter(np.zeros(shape, dtype))
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


class _Recurrent(Module):
    """What RNN and LSTM share: torch's parameters per layer (``weight_ih_l0``,
    ``weight_hh_l0``, ``bias_ih_l0``, ``bias_hh_l0``, ...) drawn from U(-1/√hidden, 1/√hidden),
    and the input's layout (time first, or batch first)."""

    gates = 1

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, dtype: Any = np.float64) -> None:
        super().__init__()
        if bidirectional:
            raise NotImplementedError(f"{type(self).__name__}(bidirectional=True) is not "
                                      "supported yet")
        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, num_layers
        self.bias, self.batch_first, self.dropout = bias, batch_first, dropout
        self.bidirectional = False
        bound = 1.0 / math.sqrt(hidden_size)
        rows = self.gates * hidden_size
        for k in range(num_layers):
            width = input_size if k == 0 else hidden_size
            names = [(f"weight_ih_l{k}", (rows, width)), (f"weight_hh_l{k}", (rows, hidden_size))]
            if bias:
                names += [(f"bias_ih_l{k}", (rows,)), (f"bias_hh_l{k}", (rows,))]
            for name, shape in names:
                setattr(self, name, init.uniform_(Parameter(np.empty(shape, dtype)), -bound,
                                                  bound))
        self.generator = init.generator()

    def extra_repr(self) -> str:
        text = f"{self.input_size}, {self.hidden_size}"
        if self.num_layers != 1:
            text += f", num_layers={self.num_layers}"
        if not self.bias:
            text += ", bias=False"
        if self.batch_first:
            text += ", batch_first=True"
        if self.dropout:
            text += f", dropout={self.dropout}"
        return text


class RNN(_Recurrent):
    """``h_t = tanh(x_t @ W_ih.T + b_ih + h_{t-1} @ W_hh.T + b_hh)`` (or ReLU), a Python loop
    over time that srcgrad differentiates as written; returns ``(output, h_n)``."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 nonlinearity: str = "tanh", bias: bool = True, batch_first: bool = False,
                 dropout: float = 0.0, bidirectional: bool = False,
                 dtype: Any = np.float64) -> None:
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"unknown nonlinearity {nonlinearity!r}")
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, dtype)
        self.nonlinearity = nonlinearity

    def forward(self, input, hx=None):
        x = np.swapaxes(input, 0, 1) if self.batch_first else input
        last = []
        for k in range(self.num_layers):
            w_ih = getattr(self, f"weight_ih_l{k}")
            w_hh = getattr(self, f"weight_hh_l{k}")
            if hx is None:
                h = np.zeros((x.shape[1], self.hidden_size), dtype=x.dtype)
            else:
                h = hx[k]
            xw = x @ w_ih.T
            if self.bias:
                xw = xw + (getattr(self, f"bias_ih_l{k}") + getattr(self, f"bias_hh_l{k}"))
            w_hh_t = w_hh.T
            outs = []
            for t in range(x.shape[0]):
                z = xw[t] + h @ w_hh_t
                if self.nonlinearity == "tanh":
                    h = np.tanh(z)
                else:
                    h = F.relu(z)
                outs.append(h)
            x = np.stack(outs)
            last.append(h)
            if self.training and self.dropout > 0.0 and k < self.num_layers - 1:
                x = x * (self.generator.random(x.shape) >= self.dropout) / (1.0 - self.dropout)
        output = np.swapaxes(x, 0, 1) if self.batch_first else x
        return output, np.stack(last)


class LSTM(_Recurrent):
    """torch's LSTM: gates i, f, g, o in that order in ``weight_ih_l0`` and the others;
    returns ``(output, (h_n, c_n))``."""

    gates = 4

    def forward(self, input, hx=None):
        x = np.swapaxes(input, 0, 1) if self.batch_first else input
        n = self.hidden_size
        hs = []
        cs = []
        for k in range(self.num_layers):
            w_ih = getattr(self, f"weight_ih_l{k}")
            w_hh = getattr(self, f"weight_hh_l{k}")
            if hx is None:
                h = np.zeros((x.shape[1], n), dtype=x.dtype)
                c = np.zeros((x.shape[1], n), dtype=x.dtype)
            else:
                h = hx[0][k]
                c = hx[1][k]
            xw = x @ w_ih.T
            if self.bias:
                xw = xw + (getattr(self, f"bias_ih_l{k}") + getattr(self, f"bias_hh_l{k}"))
            w_hh_t = w_hh.T
            outs = []
            for t in range(x.shape[0]):
                gates = xw[t] + h @ w_hh_t
                i = F.sigmoid(gates[:, :n])
                f = F.sigmoid(gates[:, n:2 * n])
                g = np.tanh(gates[:, 2 * n:3 * n])
                o = F.sigmoid(gates[:, 3 * n:])
                c = f * c + i * g
                h = o * np.tanh(c)
                outs.append(h)
            x = np.stack(outs)
            hs.append(h)
            cs.append(c)
            if self.training and self.dropout > 0.0 and k < self.num_layers - 1:
                x = x * (self.generator.random(x.shape) >= self.dropout) / (1.0 - self.dropout)
        output = np.swapaxes(x, 0, 1) if self.batch_first else x
        return output, (np.stack(hs), np.stack(cs))


def _tuple(value: Any, k: int) -> tuple[int, ...]:
    return tuple(int(v) for v in value) if isinstance(value, (tuple, list)) else (int(value),) * k


class _ConvNd(Module):
    """What Conv1d and Conv2d share: torch's weight ``(out_channels, in_channels // groups,
    *kernel_size)`` and bias, drawn from U(-1/√fan_in, 1/√fan_in); zero padding."""

    dims = 2

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Any, stride: Any = 1,
                 padding: Any = 0, dilation: Any = 1, groups: int = 1, bias: bool = True,
                 padding_mode: str = "zeros", dtype: Any = np.float64) -> None:
        super().__init__()
        k = self.dims
        if in_channels % groups or out_channels % groups:
            raise ValueError("in_channels and out_channels must be divisible by groups")
        if padding_mode != "zeros":
            raise NotImplementedError(f"padding_mode={padding_mode!r} is not supported yet")
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
        self.kernel_size, self.stride = _tuple(kernel_size, k), _tuple(stride, k)
        self.dilation = _tuple(dilation, k)
        if padding == "same":
            total = [d * (s - 1) for d, s in zip(self.dilation, self.kernel_size, strict=True)]
            self.padding = padding
            self._pads = ((0, 0), (0, 0), *((t // 2, t - t // 2) for t in total))
        elif padding == "valid":
            self.padding = padding
            self._pads = ((0, 0),) * (k + 2)
        else:
            self.padding = _tuple(padding, k)
            self._pads = ((0, 0), (0, 0), *((p, p) for p in self.padding))
        self._padded = any(p != (0, 0) for p in self._pads)
        # the axes a tensordot of the windows (n, c, *out, *k) with the weight (o, c, *k)
        # contracts, and the einsum of grouped channels
        self._contracted = ((1, *range(2 + k, 2 + 2 * k)), (1, *range(2, 2 + k)))
        space, kern = "hw"[:k], "kl"[:k]
        self._grouped = f"ngc{space}{kern},goc{kern}->ngo{space}"
        shape = (out_channels, in_channels // groups, *self.kernel_size)
        bound = 1.0 / math.sqrt(in_channels // groups * math.prod(self.kernel_size))
        self.weight = init.uniform_(Parameter(np.empty(shape, dtype)), -bound, bound)
        self.bias = init.uniform_(Parameter(np.empty(out_channels, dtype)), -bound, bound) \
            if bias else None

    def forward(self, x):
        if self._padded:
            x = np.pad(x, self._pads)
        cols = windows(x, self.kernel_size, self.stride, self.dilation)
        if self.groups == 1:   # (n, c, *out, *k) . (o, c, *k) -> (n, *out, o)
            y = np.moveaxis(np.tensordot(cols, self.weight, axes=self._contracted), -1, 1)
        else:
            y = np.einsum(self._grouped, np.reshape(cols, (cols.shape[0], self.groups, -1)
                                                    + cols.shape[2:]),
                          np.reshape(self.weight, (self.groups, -1) + self.weight.shape[1:]))
            y = np.reshape(y, (y.shape[0], -1) + y.shape[3:])
        if self.bias is not None:
            y = y + np.reshape(self.bias, (-1,) + (1,) * self.dims)
        return y

    def extra_repr(self) -> str:
        k = self.dims
        text = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}")
        if self.padding != (0,) * k and self.padding != "valid":
            text += f", padding={self.padding}"
        if self.dilation != (1,) * k:
            text += f", dilation={self.dilation}"
        if self.groups != 1:
            text += f", groups={self.groups}"
        if self.bias is None:
            text += ", bias=False"
        return text


class Conv1d(_ConvNd):
    """A 1-D convolution (cross-correlation, as torch) of (N, C, L) inputs."""

    dims = 1


class Conv2d(_ConvNd):
    """A 2-D convolution (cross-correlation, as torch) of (N, C, H, W) inputs: the input's
    windows (im2col) contracted with the weight, whose adjoint adds each window back."""

    dims = 2


class _Pool2d(Module):
    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0,
                 dilation: Any = 1, ceil_mode: bool = False) -> None:
        super().__init__()
        if ceil_mode:
            raise NotImplementedError(f"{type(self).__name__}(ceil_mode=True) is not supported "
                                      "yet")
        self.kernel_size, self.padding, self.ceil_mode = kernel_size, padding, ceil_mode
        self.stride = kernel_size if stride is None else stride
        self._size, self._stride = _tuple(kernel_size, 2), _tuple(self.stride, 2)
        self._dilation = _tuple(dilation, 2)
        self._pads = ((0, 0), (0, 0), *((p, p) for p in _tuple(padding, 2)))
        self._padded = _tuple(padding, 2) != (0, 0)


class MaxPool2d(_Pool2d):
    """The maximum of each window (padding counts as -inf)."""

    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0,
                 dilation: Any = 1, ceil_mode: bool = False) -> None:
        super().__init__(kernel_size, stride, padding, dilation, ceil_mode)
        self.dilation = dilation

    def forward(self, x):
        if self._padded:
            x = np.pad(x, self._pads, constant_values=-np.inf)
        return np.max(windows(x, self._size, self._stride, self._dilation), axis=(-2, -1))

    def extra_repr(self) -> str:
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"dilation={self.dilation}, ceil_mode={self.ceil_mode}")


class AvgPool2d(_Pool2d):
    """The mean of each window (padding counts as zeros, as torch's count_include_pad)."""

    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0,
                 ceil_mode: bool = False) -> None:
        super().__init__(kernel_size, stride, padding, 1, ceil_mode)

    def forward(self, x):
        if self._padded:
            x = np.pad(x, self._pads)
        return np.mean(windows(x, self._size, self._stride), axis=(-2, -1))

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class NonDynamicallyQuantizableLinear(Linear):
    """A Linear under the name torch gives the output projection of MultiheadAttention."""


class MultiheadAttention(Module):
    """Scaled dot-product attention over ``num_heads`` heads, as torch's: parameters
    ``in_proj_weight`` (3E, E), ``in_proj_bias``, ``out_proj``; inputs (L, N, E), or (N, L, E)
    with ``batch_first``; ``key_padding_mask`` (N, S) and ``attn_mask`` (L, S) of bools (True:
    not attended) or floats (added). Returns ``(output, weights)``, the weights averaged over
    the heads unless ``average_attn_weights=False`` (None with ``need_weights=False``)."""

    def __init__(self, embed_dim: int, num_heads: int, dropout: float = 0.0, bias: bool = True,
                 batch_first: bool = False, dtype: Any = np.float64) -> None:
        super().__init__()
        if embed_dim % num_heads:
            raise ValueError("embed_dim must be divisible by num_heads")
        self.embed_dim, self.num_heads, self.dropout = embed_dim, num_heads, dropout
        self.batch_first = batch_first
        self.head_dim = embed_dim // num_heads
        self.in_proj_weight = init.xavier_uniform_(Parameter(np.empty((3 * embed_dim,
                                                                        embed_dim), dtype)))
        self.in_proj_bias = Parameter(np.zeros(3 * embed_dim, dtype)) if bias else None
        self.out_proj = NonDynamicallyQuantizableLinear(embed_dim, embed_dim, bias, dtype)
        if bias:
            init.zeros_(self.out_proj.bias)
        self.generator = init.generator()

    def forward(self, query, key, value, key_padding_mask=None, need_weights=True,
                attn_mask=None, average_attn_weights=True):
        if self.batch_first:
            query = np.swapaxes(query, 0, 1)
            key = np.swapaxes(key, 0, 1)
            value = np.swapaxes(value, 0, 1)
        e, h, d = self.embed_dim, self.num_heads, self.head_dim
        w = self.in_proj_weight
        q = query @ w[:e].T
        k = key @ w[e:2 * e].T
        v = value @ w[2 * e:].T
        if self.in_proj_bias is not None:
            q = q + self.in_proj_bias[:e]
            k = k + self.in_proj_bias[e:2 * e]
            v = v + self.in_proj_bias[2 * e:]
        length, n, source = query.shape[0], query.shape[1], key.shape[0]
        q = np.transpose(np.reshape(q, (length, n, h, d)), (1, 2, 0, 3))   # (N, H, L, d)
        k = np.transpose(np.reshape(k, (source, n, h, d)), (1, 2, 3, 0))  # (N, H, d, S)
        v = np.transpose(np.reshape(v, (source, n, h, d)), (1, 2, 0, 3))  # (N, H, S, d)
        scores = (q @ k) / math.sqrt(d)
        if attn_mask is not None:
            if attn_mask.dtype == bool:
                scores = np.where(attn_mask, -np.inf, scores)
            else:
                scores = scores + attn_mask
        if key_padding_mask is not None:
            scores = np.where(key_padding_mask[:, None, None, :], -np.inf, scores)
        weights = F.softmax(scores, -1)
        attended = weights
        if self.training and self.dropout > 0.0:
            keep = self.generator.random(weights.shape) >= self.dropout
            attended = weights * keep / (1.0 - self.dropout)
        out = np.reshape(np.transpose(attended @ v, (2, 0, 1, 3)), (length, n, e))
        out = self.out_proj(out)
        if self.batch_first:
            out = np.swapaxes(out, 0, 1)
        if not need_weights:
            return out, None
        if average_attn_weights:
            return out, np.mean(weights, axis=1)
        return out, weights
