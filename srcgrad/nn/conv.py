"""Convolutions and pooling in PyTorch's shape: Conv1d, Conv2d (zero padding, stride, dilation,
groups), MaxPool2d, AvgPool2d; windows of the input gathered once (``runtime.windows``), then
one matrix product."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from srcgrad.nn import init
from srcgrad.nn.module import Module, Parameter
from srcgrad.runtime.indexing import windows


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
