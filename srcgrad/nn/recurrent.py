"""Recurrent layers in PyTorch's shape: RNN (tanh or ReLU) and LSTM over time, layer by layer,
their parameters named and laid out as torch's."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from srcgrad.nn import functional as F
from srcgrad.nn import init
from srcgrad.nn.module import Module, Parameter


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
            names: list[tuple[str, tuple[int, ...]]] = [(f"weight_ih_l{k}", (rows, width)),
                                                         (f"weight_hh_l{k}", (rows, hidden_size))]
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
