"""Multi-head attention in PyTorch's shape: ``in_proj_weight`` (3E, E), ``out_proj``, masks of
bools, weights averaged over heads."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from srcgrad.nn import functional as F
from srcgrad.nn import init
from srcgrad.nn.layers import Linear
from srcgrad.nn.module import Module, Parameter


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
            assert self.out_proj.bias is not None  # (made with a bias)
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
