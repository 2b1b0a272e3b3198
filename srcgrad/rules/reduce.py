"""Reductions over ``axis`` (an int, a tuple, or ``None``) with ``keepdims``."""

from __future__ import annotations

from srcgrad.rules.core import Rule, linear, rule
from srcgrad.runtime.broadcasting import keep, reduced_count, spread, unreduce
from srcgrad.runtime.indexing import median_grad
from srcgrad.runtime.reductions import cumsum_grad, extremum_grad, prod_grad, var_grad


def _sum(xp, x, axis=None, keepdims=False): return xp.sum(x, axis=axis, keepdims=keepdims)
def _sum_t(xp, g, out, x, axis=None, keepdims=False): return unreduce(g, x, axis, keepdims)
SUM = linear("sum", _sum, _sum_t)                 # x_bar = g broadcast back over axis

def _mean(xp, x, axis=None, keepdims=False): return xp.mean(x, axis=axis, keepdims=keepdims)
def _mean_t(xp, g, out, x, axis=None, keepdims=False):   # x_bar = g / n broadcast back
    return unreduce(g, x, axis, keepdims) / reduced_count(x, axis)
MEAN = linear("mean", _mean, _mean_t)

def _prod(xp, x, axis=None, keepdims=False): return xp.prod(x, axis=axis, keepdims=keepdims)
def _prod_jvp(xp, t, out, x, axis=None, keepdims=False):  # dz = sum(prod of others * dx)
    return xp.sum(prod_grad(xp.ones_like(out), x, axis, keepdims) * t, axis=axis,
                  keepdims=keepdims)
def _prod_vjp(xp, g, out, x, axis=None, keepdims=False):
    return prod_grad(g, x, axis, keepdims)
PROD = rule("prod", _prod, (_prod_jvp,), (_prod_vjp,))

def _amax(xp, x, axis=None, keepdims=False): return xp.max(x, axis=axis, keepdims=keepdims)
def _amin(xp, x, axis=None, keepdims=False): return xp.min(x, axis=axis, keepdims=keepdims)
def _ext_jvp(xp, t, out, x, axis=None, keepdims=False):   # dz = mean of dx over the argmax set
    return xp.sum(extremum_grad(xp.ones_like(out), out, x, axis, keepdims) * t, axis=axis,
                  keepdims=keepdims)
def _ext_vjp(xp, g, out, x, axis=None, keepdims=False):   # x_bar = g shared among ties
    return extremum_grad(g, out, x, axis, keepdims)
AMAX = rule("amax", _amax, (_ext_jvp,), (_ext_vjp,))
AMIN = rule("amin", _amin, (_ext_jvp,), (_ext_vjp,))

def _var(xp, x, axis=None, ddof=0, keepdims=False):
    return xp.var(x, axis=axis, ddof=ddof, keepdims=keepdims)
# dz = 2 sum((x - m) dx) / (n - ddof)
def _var_jvp(xp, t, out, x, axis=None, ddof=0, keepdims=False):
    return xp.sum(var_grad(xp.ones_like(out), x, axis, ddof, keepdims) * t, axis=axis,
                  keepdims=keepdims)
def _var_vjp(xp, g, out, x, axis=None, ddof=0, keepdims=False):
    return var_grad(g, x, axis, ddof, keepdims)
VAR = rule("var", _var, (_var_jvp,), (_var_vjp,))

def _std(xp, x, axis=None, ddof=0, keepdims=False):
    return xp.std(x, axis=axis, ddof=ddof, keepdims=keepdims)
# d sqrt(v) = dv / (2 sqrt(v)); where all values are equal, to within rounding, the derivative
# is 0, the smallest subgradient (as norm's at 0), not 0/0: spread(out, ...) is then inf
def _std_jvp(xp, t, out, x, axis=None, ddof=0, keepdims=False):
    return xp.sum(var_grad(xp.ones_like(out), x, axis, ddof, keepdims) * t, axis=axis,
                  keepdims=keepdims) / (2 * spread(out, x, axis, keepdims))
def _std_vjp(xp, g, out, x, axis=None, ddof=0, keepdims=False):
    return var_grad(g / (2 * spread(out, x, axis, keepdims)), x, axis, ddof, keepdims)
STD = rule("std", _std, (_std_jvp,), (_std_vjp,))

def _cumsum(xp, x, axis=None): return xp.cumsum(x, axis=axis)
def _cumsum_t(xp, g, out, x, axis=None): return cumsum_grad(g, x, axis)  # reversed cumsum of g
CUMSUM = linear("cumsum", _cumsum, _cumsum_t)

__all__ = ["RULES", "keep"]
def _median(xp, x, axis=None, keepdims=False): return xp.median(x, axis=axis, keepdims=keepdims)
def _median_jvp(xp, t, out, x, axis=None, keepdims=False):   # <median_grad of 1s, t>, per line
    return xp.sum(median_grad(xp.ones_like(out), x, axis, keepdims) * t, axis=axis,
                  keepdims=keepdims)
def _median_vjp(xp, g, out, x, axis=None, keepdims=False): return median_grad(g, x, axis, keepdims)
MEDIAN = rule("median", _median, [_median_jvp], [_median_vjp])

RULES: list[Rule] = [SUM, MEAN, PROD, AMAX, AMIN, VAR, STD, CUMSUM, MEDIAN]
