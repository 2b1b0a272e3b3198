"""Products, contractions and ``numpy.linalg``."""

from __future__ import annotations

from srcgrad.rules.core import Rule, linear, rule, variadic
from srcgrad.runtime.linalg import (
    convolve_grad,
    diag_grad,
    dot_grad_a,
    dot_grad_b,
    einsum_grad,
    inner_grad_a,
    inner_grad_b,
    matmul_grad_a,
    matmul_grad_b,
    mT,
    solve_grad_a,
    solve_grad_b,
    solve_jvp_a,
    tensordot_grad_a,
    tensordot_grad_b,
    trace_grad,
)
from srcgrad.runtime.reductions import norm_grad


def _matmul(xp, a, b): return a @ b
def _matmul_jvp_a(xp, t, out, a, b): return t @ b           # dz = da @ b + a @ db
def _matmul_jvp_b(xp, t, out, a, b): return a @ t
def _matmul_vjp_a(xp, g, out, a, b): return matmul_grad_a(g, a, b)   # a_bar = g @ b^T
def _matmul_vjp_b(xp, g, out, a, b): return matmul_grad_b(g, a, b)   # b_bar = a^T @ g
MATMUL = rule("matmul", _matmul, (_matmul_jvp_a, _matmul_jvp_b), (_matmul_vjp_a, _matmul_vjp_b))

def _dot(xp, a, b): return xp.dot(a, b)
def _dot_jvp_a(xp, t, out, a, b): return xp.dot(t, b)
def _dot_jvp_b(xp, t, out, a, b): return xp.dot(a, t)
def _dot_vjp_a(xp, g, out, a, b): return dot_grad_a(g, a, b)
def _dot_vjp_b(xp, g, out, a, b): return dot_grad_b(g, a, b)
DOT = rule("dot", _dot, (_dot_jvp_a, _dot_jvp_b), (_dot_vjp_a, _dot_vjp_b))

def _vdot(xp, a, b): return xp.vdot(a, b)
def _vdot_jvp_a(xp, t, out, a, b): return xp.vdot(t, b)    # dz = <da, b> + <a, db>
def _vdot_jvp_b(xp, t, out, a, b): return xp.vdot(a, t)
def _vdot_vjp_a(xp, g, out, a, b): return xp.reshape(g * b, a.shape)
def _vdot_vjp_b(xp, g, out, a, b): return xp.reshape(g * a, b.shape)
VDOT = rule("vdot", _vdot, (_vdot_jvp_a, _vdot_jvp_b), (_vdot_vjp_a, _vdot_vjp_b))

def _inner(xp, a, b): return xp.inner(a, b)
def _inner_jvp_a(xp, t, out, a, b): return xp.inner(t, b)
def _inner_jvp_b(xp, t, out, a, b): return xp.inner(a, t)
def _inner_vjp_a(xp, g, out, a, b):       # inner(a, b) = tensordot(a, b, ([-1], [-1]))
    return inner_grad_a(g, a, b)
def _inner_vjp_b(xp, g, out, a, b):
    return inner_grad_b(g, a, b)
INNER = rule("inner", _inner, (_inner_jvp_a, _inner_jvp_b), (_inner_vjp_a, _inner_vjp_b))

def _outer(xp, a, b): return xp.outer(a, b)
def _outer_jvp_a(xp, t, out, a, b): return xp.outer(t, b)
def _outer_jvp_b(xp, t, out, a, b): return xp.outer(a, t)
def _outer_vjp_a(xp, g, out, a, b): return xp.reshape(g @ xp.ravel(b), xp.shape(a))
def _outer_vjp_b(xp, g, out, a, b): return xp.reshape(xp.ravel(a) @ g, xp.shape(b))
OUTER = rule("outer", _outer, (_outer_jvp_a, _outer_jvp_b), (_outer_vjp_a, _outer_vjp_b))

def _tensordot(xp, a, b, axes=2): return xp.tensordot(a, b, axes)
def _td_jvp_a(xp, t, out, a, b, axes=2): return xp.tensordot(t, b, axes)
def _td_jvp_b(xp, t, out, a, b, axes=2): return xp.tensordot(a, t, axes)
def _td_vjp_a(xp, g, out, a, b, axes=2): return tensordot_grad_a(g, a, b, axes)
def _td_vjp_b(xp, g, out, a, b, axes=2): return tensordot_grad_b(g, a, b, axes)
TENSORDOT = rule("tensordot", _tensordot, (_td_jvp_a, _td_jvp_b), (_td_vjp_a, _td_vjp_b))

def _einsum(xp, *operands, subscripts): return xp.einsum(subscripts, *operands)
def _einsum_jvp(xp, t, out, i, *operands, subscripts):   # the product rule, one operand at a time
    return xp.einsum(subscripts, *operands[:i], t, *operands[i + 1:])
def _einsum_vjp(xp, g, out, i, *operands, subscripts):
    return einsum_grad(g, i, subscripts, *operands)
EINSUM = variadic("einsum", _einsum, _einsum_jvp, _einsum_vjp)

def _trace(xp, x, offset=0, axis1=0, axis2=1): return xp.trace(x, offset, axis1, axis2)
def _trace_t(xp, g, out, x, offset=0, axis1=0, axis2=1):  # g on the diagonal
    return trace_grad(g, x, offset, axis1, axis2)
TRACE = linear("trace", _trace, _trace_t)

def _diag(xp, x, k=0): return xp.diag(x, k)
def _diag_t(xp, g, out, x, k=0): return diag_grad(g, x, k)
DIAG = linear("diag", _diag, _diag_t)

def _det(xp, a): return xp.linalg.det(a)
def _det_jvp(xp, t, out, a):            # d det A = det A tr(A^-1 dA)
    return out * xp.trace(xp.linalg.solve(a, t), axis1=-2, axis2=-1)
def _det_vjp(xp, g, out, a):            # A_bar = g det A A^-T
    return (g * out)[..., None, None] * mT(xp.linalg.inv(a))
DET = rule("det", _det, (_det_jvp,), (_det_vjp,))

def _inv(xp, a): return xp.linalg.inv(a)
def _inv_jvp(xp, t, out, a): return -(out @ t @ out)    # d A^-1 = -A^-1 dA A^-1
def _inv_vjp(xp, g, out, a): return -(mT(out) @ g @ mT(out))
INV = rule("inv", _inv, (_inv_jvp,), (_inv_vjp,))

def _solve(xp, a, b): return xp.linalg.solve(a, b)
def _solve_jvp_a(xp, t, out, a, b):     # dx = A^-1 (db - dA x)
    return solve_jvp_a(t, out, a, b)
def _solve_jvp_b(xp, t, out, a, b): return xp.linalg.solve(a, t)
def _solve_vjp_a(xp, g, out, a, b): return solve_grad_a(g, out, a, b)   # A_bar = -b_bar x^T
def _solve_vjp_b(xp, g, out, a, b): return solve_grad_b(g, out, a, b)   # b_bar = A^-T g
SOLVE = rule("solve", _solve, (_solve_jvp_a, _solve_jvp_b), (_solve_vjp_a, _solve_vjp_b))

def _norm(xp, x, ord=None, axis=None, keepdims=False):
    return xp.linalg.norm(x, ord=ord, axis=axis, keepdims=keepdims)
def _norm_jvp(xp, t, out, x, ord=None, axis=None, keepdims=False):
    return xp.sum(norm_grad(xp.ones_like(out), out, x, ord, axis, keepdims) * t, axis=axis,
                  keepdims=keepdims)
def _norm_vjp(xp, g, out, x, ord=None, axis=None, keepdims=False):   # 2-norm: g x / |x|
    return norm_grad(g, out, x, ord, axis, keepdims)
NORM = rule("norm", _norm, (_norm_jvp,), (_norm_vjp,))

# np.convolve: bilinear, and symmetric in a and v in every mode (np.correlate is its twin)
def _convolve(xp, a, v, mode="full"): return xp.convolve(a, v, mode)
def _convolve_jvp_a(xp, t, out, a, v, mode="full"): return xp.convolve(t, v, mode)
def _convolve_jvp_v(xp, t, out, a, v, mode="full"): return xp.convolve(a, t, mode)
def _convolve_vjp_a(xp, g, out, a, v, mode="full"):   # g correlated with v
    return convolve_grad(g, a, v, mode)
def _convolve_vjp_v(xp, g, out, a, v, mode="full"): return convolve_grad(g, v, a, mode)
CONVOLVE = rule("convolve", _convolve, (_convolve_jvp_a, _convolve_jvp_v),
                (_convolve_vjp_a, _convolve_vjp_v))

RULES: list[Rule] = [MATMUL, DOT, VDOT, INNER, OUTER, TENSORDOT, EINSUM, TRACE, DIAG, DET, INV,
                     SOLVE, NORM, CONVOLVE]
