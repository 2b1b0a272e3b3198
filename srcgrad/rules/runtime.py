"""Rules for the runtime helpers generated code calls, so that generated code can be
differentiated again: a Hessian-vector product is the tangent of gradient code (or the gradient
of tangent code), ``grad(grad(f))`` the gradient of gradient code.

Most helpers are the adjoint of a linear primitive, linear in their first operand ``g``: their
tangent is the helper applied to ``g``'s tangent, and their adjoint is the transpose, which is
the primitive they came from (the adjoint of ``getitem_grad`` is indexing). The others operands
only supply shapes and dtypes, and are parameters here. Adjoints of bilinear primitives
(``dot_grad_a(g, a, b)``) are linear in ``b`` too, and their mixed second derivatives are each
other's transposes. ``Undefined`` marks the few derivatives not available (third derivatives of
the list helpers): using one is a located error, never a silent zero.
"""

from __future__ import annotations

from srcgrad.rules.core import LinearJvp, Rule, Undefined, linear, nondiff, rule, variadic
from srcgrad.runtime.arrays import digamma, erf, gammaln, log_ndtr, polygamma
from srcgrad.runtime.broadcasting import (
    astype_grad,
    broadcast_like,
    keep,
    like,
    reduced_count,
    shaped_like,
    spread,
    unbroadcast,
    unreduce,
)
from srcgrad.runtime.indexing import (
    add_at,
    concat_grad,
    concat_grad_t,
    diff_grad,
    getitem_grad,
    hstack_grad,
    hstack_grad_t,
    median_grad,
    pad_grad,
    repeat_grad,
    set_at,
    sort_grad,
    split_indices,
    stack_grad,
    stack_grad_t,
    take_along_grad,
    take_at,
    take_grad,
    take_written,
    tile_grad,
    transpose_grad,
    vstack_grad,
    vstack_grad_t,
    windows,
    windows_grad,
    zero_at,
)
from srcgrad.runtime.linalg import (
    cofactor,
    cofactor_jvp,
    convolve_grad,
    diag_grad,
    dot_grad_a,
    dot_grad_b,
    eig_quotient,
    einsum_grad,
    einsum_grad_jvp,
    einsum_grad_vjp,
    from_triangle,
    inner_grad_a,
    inner_grad_b,
    matmul_grad_a,
    matmul_grad_b,
    matmul_grad_bt,
    mT,
    over,
    solve_grad_a,
    solve_grad_b,
    solve_jvp_a,
    tensordot_grad_a,
    tensordot_grad_b,
    trace_grad,
    triangle_grad,
    tril_half,
)
from srcgrad.runtime.reductions import (
    clip_share,
    cumsum_grad,
    extremum_grad,
    log_base,
    norm_grad,
    norm_grad_dout,
    norm_grad_dx,
    prod_grad,
    prod_grad_jvp,
    replace_zero,
    var_grad,
)
from srcgrad.runtime.spectral import (
    cast_like,
    fft2_axes,
    fft_axes,
    fft_fit,
    fft_len,
    fft_lens,
    half_weights,
    swap_norm,
    unit,
)
from srcgrad.runtime.structures import (
    densify,
    drop_grad,
    items_grad,
    pop_grad,
    seed,
    stop_gradient,
    sum_list_grad,
    unpop_grad,
    unstack_grad,
    values_grad,
    zero_grad,
)


def _helper(name, primal, transpose) -> Rule:  # pragma: no mutate block
    # linear in g; the shape operand x carries no derivative
    return Rule(name, primal, (LinearJvp(primal), None), (transpose, None))


_LISTS = Undefined("the adjoints of list helpers are not differentiated again")


# --- broadcasting and reductions ------------------------------------------------------------------

def _broadcast_like(xp, g, x): return broadcast_like(g, x)
def _broadcast_like_t(xp, h, out, g, x): return unbroadcast(h, g)    # sum back to g's shape
BROADCAST_LIKE = _helper("broadcast_like", _broadcast_like, _broadcast_like_t)

def _unbroadcast(xp, g, x): return unbroadcast(g, x)
def _unbroadcast_t(xp, h, out, g, x): return broadcast_like(h, g)     # spread over g's shape
UNBROADCAST = _helper("unbroadcast", _unbroadcast, _unbroadcast_t)

def _unreduce(xp, g, x, axis=None, keepdims=False): return unreduce(g, x, axis, keepdims)
def _unreduce_t(xp, h, out, g, x, axis=None, keepdims=False):         # the sum it undid
    return xp.reshape(xp.sum(h, axis=axis, keepdims=keepdims), xp.shape(g))
UNREDUCE = Rule("unreduce", _unreduce, (LinearJvp(_unreduce), None), (_unreduce_t, None))

def _keep(xp, g, x, axis=None, keepdims=False): return keep(g, x, axis, keepdims)
def _keep_t(xp, h, out, g, x, axis=None, keepdims=False): return xp.reshape(h, xp.shape(g))
KEEP = Rule("keep", _keep, (LinearJvp(_keep), None), (_keep_t, None))

def _stop_gradient(xp, x): return stop_gradient(x)         # srcgrad.stop_gradient: the value only
STOP_GRADIENT = nondiff("stop_gradient", _stop_gradient)

def _shaped_like(xp, d, x, rule): return shaped_like(d, x, rule)   # a custom rule's result
def _shaped_like_t(xp, h, y, d, x, rule): return unbroadcast(h, d)
SHAPED_LIKE = Rule("shaped_like", _shaped_like, (LinearJvp(_shaped_like), None),
                   (_shaped_like_t, None))

def _zero_grad(xp, x): return zero_grad(x)
ZERO_GRAD = nondiff("zero_grad", _zero_grad)

def _seed(xp, out): return seed(out)
SEED = nondiff("seed", _seed)

def _reduced_count(xp, x, axis=None): return reduced_count(x, axis)
REDUCED_COUNT = nondiff("reduced_count", _reduced_count)

def _like(xp, x): return like(x)   # a saved value's shape and dtype, not the value
LIKE = nondiff("like", _like)

# max/min share g among the positions that attain the extremum: piecewise constant in x
def _ext(xp, g, out, x, axis=None, keepdims=False): return extremum_grad(g, out, x, axis, keepdims)
def _ext_t(xp, h, y, g, out, x, axis=None, keepdims=False):
    return xp.reshape(xp.sum(h * extremum_grad(1.0, out, x, axis, keepdims),
                      axis=axis, keepdims=keepdims), xp.shape(g))
EXTREMUM_GRAD = Rule("extremum_grad", _ext, (LinearJvp(_ext), None, None), (_ext_t, None, None))

# prod: g times the product of the other elements
def _prod_g(xp, g, x, axis=None, keepdims=False): return prod_grad(g, x, axis, keepdims)
def _prod_g_jvp_x(xp, t, y, g, x, axis=None, keepdims=False):
    return prod_grad_jvp(g, x, t, axis, keepdims)
def _prod_g_vjp_g(xp, h, y, g, x, axis=None, keepdims=False):
    return xp.reshape(xp.sum(h * prod_grad(1.0, x, axis, keepdims),
                      axis=axis, keepdims=keepdims), xp.shape(g))
def _prod_g_vjp_x(xp, h, y, g, x, axis=None, keepdims=False):   # a symmetric map
    return prod_grad_jvp(g, x, h, axis, keepdims)
PROD_GRAD = Rule("prod_grad", _prod_g, (LinearJvp(_prod_g), _prod_g_jvp_x),
                 (_prod_g_vjp_g, _prod_g_vjp_x))
_LEAVE_TWO_OUT = Undefined("the third derivative of np.prod is not available")
def _prod_g_jvp(xp, g, x, t, axis=None, keepdims=False):
    return prod_grad_jvp(g, x, t, axis, keepdims)
PROD_GRAD_JVP = Rule("prod_grad_jvp", _prod_g_jvp, (_LEAVE_TWO_OUT,) * 3, (_LEAVE_TWO_OUT,) * 3)

# var: keep(g) * 2 (x - mean(x)) / (n - ddof), bilinear in g and x
def _var_g(xp, g, x, axis=None, ddof=0, keepdims=False): return var_grad(g, x, axis, ddof, keepdims)
def _var_g_jvp_x(xp, t, y, g, x, axis=None, ddof=0, keepdims=False):
    return var_grad(g, t, axis, ddof, keepdims)
def _var_g_vjp_g(xp, h, y, g, x, axis=None, ddof=0, keepdims=False):
    return xp.reshape(xp.sum(h * var_grad(1.0, x, axis, ddof, keepdims),
                      axis=axis, keepdims=keepdims), xp.shape(g))
def _var_g_vjp_x(xp, h, y, g, x, axis=None, ddof=0, keepdims=False):  # centering is symmetric
    return var_grad(1.0, keep(g, x, axis, keepdims) * h, axis, ddof, keepdims)
VAR_GRAD = Rule("var_grad", _var_g, (LinearJvp(_var_g), _var_g_jvp_x),
                (_var_g_vjp_g, _var_g_vjp_x))

def _cumsum_g(xp, g, x, axis=None): return cumsum_grad(g, x, axis)
def _cumsum_g_t(xp, h, y, g, x, axis=None): return xp.cumsum(h, axis=axis)
CUMSUM_GRAD = _helper("cumsum_grad", _cumsum_g, _cumsum_g_t)

# norm: keep(g) x / keep(out) for the 2-norm; out is the norm's value, x its argument
def _norm_g(xp, g, out, x, ord=None, axis=None, keepdims=False):
    return norm_grad(g, out, x, ord, axis, keepdims)
def _norm_g_jvp_out(xp, t, y, g, out, x, ord=None, axis=None, keepdims=False):
    return norm_grad_dout(g, out, x, t, ord, axis, keepdims)
def _norm_g_jvp_x(xp, t, y, g, out, x, ord=None, axis=None, keepdims=False):
    return norm_grad_dx(g, out, x, t, ord, axis, keepdims)
def _norm_g_vjp_g(xp, h, y, g, out, x, ord=None, axis=None, keepdims=False):
    return xp.reshape(xp.sum(h * norm_grad(1.0, out, x, ord, axis, keepdims),
                      axis=axis, keepdims=keepdims), xp.shape(g))
def _norm_g_vjp_out(xp, h, y, g, out, x, ord=None, axis=None, keepdims=False):
    return xp.reshape(xp.sum(h * norm_grad_dout(g, out, x, 1.0, ord, axis, keepdims),
                      axis=axis, keepdims=keepdims), xp.shape(out))
def _norm_g_vjp_x(xp, h, y, g, out, x, ord=None, axis=None, keepdims=False):  # diagonal
    return norm_grad_dx(g, out, x, h, ord, axis, keepdims)
NORM_GRAD = Rule("norm_grad", _norm_g, (LinearJvp(_norm_g), _norm_g_jvp_out, _norm_g_jvp_x),
                 (_norm_g_vjp_g, _norm_g_vjp_out, _norm_g_vjp_x))
_NORM_THIRD = Undefined("the third derivative of np.linalg.norm is not available")
def _norm_g_dx(xp, g, out, x, t, ord=None, axis=None, keepdims=False):
    return norm_grad_dx(g, out, x, t, ord, axis, keepdims)
def _norm_g_dout(xp, g, out, x, t, ord=None, axis=None, keepdims=False):
    return norm_grad_dout(g, out, x, t, ord, axis, keepdims)
NORM_GRAD_DX = Rule("norm_grad_dx", _norm_g_dx, (_NORM_THIRD,) * 4, (_NORM_THIRD,) * 4)
NORM_GRAD_DOUT = Rule("norm_grad_dout", _norm_g_dout, (_NORM_THIRD,) * 4, (_NORM_THIRD,) * 4)

# --- products -------------------------------------------------------------------------------------
# the adjoints of a @ b: bilinear in (g, b) and (g, a); the other matrix supplies a shape. As
# mixed second derivatives of <g, a @ b>, each one's transpose is the other's adjoint.
def _mga(xp, g, a, b): return matmul_grad_a(g, a, b)                  # g @ b^T, summed to a
def _mga_jvp_b(xp, t, out, g, a, b): return matmul_grad_a(g, a, t)
def _mga_vjp_g(xp, h, out, g, a, b): return unbroadcast(h @ b, g)     # the jvp of a @ b
def _mga_vjp_b(xp, h, out, g, a, b): return matmul_grad_b(g, h, b)
MATMUL_GRAD_A = Rule("matmul_grad_a", _mga, (LinearJvp(_mga), None, _mga_jvp_b),
                     (_mga_vjp_g, None, _mga_vjp_b))

def _mgb(xp, g, a, b): return matmul_grad_b(g, a, b)                  # a^T @ g, summed to b
def _mgb_jvp_a(xp, t, out, g, a, b): return matmul_grad_b(g, t, b)
def _mgb_vjp_g(xp, h, out, g, a, b): return unbroadcast(a @ h, g)
def _mgb_vjp_a(xp, h, out, g, a, b): return matmul_grad_a(g, a, h)
MATMUL_GRAD_B = Rule("matmul_grad_b", _mgb, (LinearJvp(_mgb), _mgb_jvp_a, None),
                     (_mgb_vjp_g, _mgb_vjp_a, None))

# transpose_grad(matmul_grad_b(g, a, b)) as one helper (w's adjoint in a @ w.T, in w's layout):
# linear in g and in a; the adjoints those of matmul_grad_b, transposed
def _mgbt(xp, g, a, b): return matmul_grad_bt(g, a, b)                 # g^T @ a
def _mgbt_jvp_a(xp, t, out, g, a, b): return matmul_grad_bt(g, t, b)
def _mgbt_vjp_g(xp, h, out, g, a, b): return unbroadcast(a @ xp.transpose(h), g)
def _mgbt_vjp_a(xp, h, out, g, a, b): return matmul_grad_a(g, a, xp.transpose(h))
MATMUL_GRAD_BT = Rule("matmul_grad_bt", _mgbt, (LinearJvp(_mgbt), _mgbt_jvp_a, None),
                      (_mgbt_vjp_g, _mgbt_vjp_a, None))

def _dga(xp, g, a, b): return dot_grad_a(g, a, b)
def _dga_jvp_b(xp, t, out, g, a, b): return dot_grad_a(g, a, t)
def _dga_vjp_g(xp, h, out, g, a, b): return xp.dot(h, b)
def _dga_vjp_b(xp, h, out, g, a, b): return dot_grad_b(g, h, b)
DOT_GRAD_A = Rule("dot_grad_a", _dga, (LinearJvp(_dga), None, _dga_jvp_b),
                  (_dga_vjp_g, None, _dga_vjp_b))

def _dgb(xp, g, a, b): return dot_grad_b(g, a, b)
def _dgb_jvp_a(xp, t, out, g, a, b): return dot_grad_b(g, t, b)
def _dgb_vjp_g(xp, h, out, g, a, b): return xp.dot(a, h)
def _dgb_vjp_a(xp, h, out, g, a, b): return dot_grad_a(g, a, h)
DOT_GRAD_B = Rule("dot_grad_b", _dgb, (LinearJvp(_dgb), _dgb_jvp_a, None),
                  (_dgb_vjp_g, _dgb_vjp_a, None))

def _iga(xp, g, a, b): return inner_grad_a(g, a, b)
def _iga_jvp_b(xp, t, out, g, a, b): return inner_grad_a(g, a, t)
def _iga_vjp_g(xp, h, out, g, a, b): return xp.inner(h, b)
def _iga_vjp_b(xp, h, out, g, a, b): return inner_grad_b(g, h, b)
INNER_GRAD_A = Rule("inner_grad_a", _iga, (LinearJvp(_iga), None, _iga_jvp_b),
                    (_iga_vjp_g, None, _iga_vjp_b))

def _igb(xp, g, a, b): return inner_grad_b(g, a, b)
def _igb_jvp_a(xp, t, out, g, a, b): return inner_grad_b(g, t, b)
def _igb_vjp_g(xp, h, out, g, a, b): return xp.inner(a, h)
def _igb_vjp_a(xp, h, out, g, a, b): return inner_grad_a(g, a, h)
INNER_GRAD_B = Rule("inner_grad_b", _igb, (LinearJvp(_igb), _igb_jvp_a, None),
                    (_igb_vjp_g, _igb_vjp_a, None))

def _tga(xp, g, a, b, axes=2): return tensordot_grad_a(g, a, b, axes)
def _tga_jvp_b(xp, t, out, g, a, b, axes=2): return tensordot_grad_a(g, a, t, axes)
def _tga_vjp_g(xp, h, out, g, a, b, axes=2): return xp.tensordot(h, b, axes)
def _tga_vjp_b(xp, h, out, g, a, b, axes=2): return tensordot_grad_b(g, h, b, axes)
TENSORDOT_GRAD_A = Rule("tensordot_grad_a", _tga, (LinearJvp(_tga), None, _tga_jvp_b),
                        (_tga_vjp_g, None, _tga_vjp_b))

def _tgb(xp, g, a, b, axes=2): return tensordot_grad_b(g, a, b, axes)
def _tgb_jvp_a(xp, t, out, g, a, b, axes=2): return tensordot_grad_b(g, t, b, axes)
def _tgb_vjp_g(xp, h, out, g, a, b, axes=2): return xp.tensordot(a, h, axes)
def _tgb_vjp_a(xp, h, out, g, a, b, axes=2): return tensordot_grad_a(g, a, h, axes)
TENSORDOT_GRAD_B = Rule("tensordot_grad_b", _tgb, (LinearJvp(_tgb), _tgb_jvp_a, None),
                        (_tgb_vjp_g, _tgb_vjp_a, None))

def _mT(xp, a): return mT(a)
def _mT_t(xp, h, out, a): return mT(h)
MT = linear("mT", _mT, _mT_t)

# solve: y = solve_grad_b(g, ...) = a^-T g; solve_grad_a(g, x, ...) = -(a^-T g) x^T, x the solution;
# solve_jvp_a(t, x, ...) = -a^-1 (t x). Linear in g (t) and x; d(a^-1) = -a^-1 da a^-1.
def _sgb(xp, g, x, a, b): return solve_grad_b(g, x, a, b)
def _sgb_jvp_a(xp, t, y, g, x, a, b): return -solve_grad_b(mT(t) @ y, x, a, b)
def _sgb_vjp_g(xp, h, y, g, x, a, b): return xp.linalg.solve(a, h)
def _sgb_vjp_a(xp, h, y, g, x, a, b): return solve_grad_a(g, xp.linalg.solve(a, h), a, b)
SOLVE_GRAD_B = Rule("solve_grad_b", _sgb, (LinearJvp(_sgb), None, _sgb_jvp_a, None),
                    (_sgb_vjp_g, None, _sgb_vjp_a, None))

def _sga(xp, g, x, a, b): return solve_grad_a(g, x, a, b)
def _sga_jvp_x(xp, t, y, g, x, a, b): return solve_grad_a(g, t, a, b)
def _sga_jvp_a(xp, t, y, g, x, a, b):
    return -solve_grad_a(mT(t) @ solve_grad_b(g, x, a, b), x, a, b)
def _sga_vjp_g(xp, h, y, g, x, a, b): return -xp.linalg.solve(a, h @ x)
def _sga_vjp_x(xp, h, y, g, x, a, b): return -(mT(h) @ solve_grad_b(g, x, a, b))
def _sga_vjp_a(xp, h, y, g, x, a, b): return -solve_grad_a(g, xp.linalg.solve(a, h @ x), a, b)
SOLVE_GRAD_A = Rule("solve_grad_a", _sga, (LinearJvp(_sga), _sga_jvp_x, _sga_jvp_a, None),
                    (_sga_vjp_g, _sga_vjp_x, _sga_vjp_a, None))

def _sja(xp, t, x, a, b): return solve_jvp_a(t, x, a, b)
def _sja_jvp_x(xp, s, y, t, x, a, b): return solve_jvp_a(t, s, a, b)
def _sja_jvp_a(xp, s, y, t, x, a, b): return solve_jvp_a(s, y, a, b)
def _sja_vjp_t(xp, h, y, t, x, a, b): return solve_grad_a(h, x, a, b)
def _sja_vjp_x(xp, h, y, t, x, a, b): return -(mT(t) @ solve_grad_b(h, x, a, b))
def _sja_vjp_a(xp, h, y, t, x, a, b): return solve_grad_a(h, y, a, b)
SOLVE_JVP_A = Rule("solve_jvp_a", _sja, (LinearJvp(_sja), _sja_jvp_x, _sja_jvp_a, None),
                   (_sja_vjp_t, _sja_vjp_x, _sja_vjp_a, None))

# the decompositions' helpers (rules/linalg.py): from_triangle and triangle_grad are linear and
# each other's transposes, tril_half its own; eig_quotient(k, w, g) = k_ij / (w_j - w_i) is
# linear in k, with d/dw_j = -k_ij / (w_j - w_i)^2 (+ for w_i), eig_quotient applied twice;
# over(k, s, g) = k / s likewise; g only says whether the result is zero (it is not an operand)
def _from_triangle(xp, a, uplo="L"): return from_triangle(a, uplo)
def _from_triangle_t(xp, g, out, a, uplo="L"): return triangle_grad(g, uplo)
FROM_TRIANGLE = linear("from_triangle", _from_triangle, _from_triangle_t)
def _triangle_grad(xp, g, uplo="L"): return triangle_grad(g, uplo)
def _triangle_grad_t(xp, h, out, g, uplo="L"): return from_triangle(h, uplo)
TRIANGLE_GRAD = linear("triangle_grad", _triangle_grad, _triangle_grad_t)

def _tril_half(xp, x): return tril_half(x)
def _tril_half_t(xp, g, out, x): return tril_half(g)
TRIL_HALF = linear("tril_half", _tril_half, _tril_half_t)

def _eq(xp, k, w, g): return eig_quotient(k, w, g)
def _eq_jvp_w(xp, t, out, k, w, g):
    return -eig_quotient(out, w, g) * (t[..., None, :] - t[..., :, None])
def _eq_vjp_k(xp, h, out, k, w, g): return eig_quotient(h, w, g)
def _eq_vjp_w(xp, h, out, k, w, g):
    return xp.sum(-h * eig_quotient(out, w, g), axis=-2) - xp.sum(-h * eig_quotient(out, w, g),
                                                                  axis=-1)
EIG_QUOTIENT = Rule("eig_quotient", _eq, (LinearJvp(_eq), _eq_jvp_w, None),
                    (_eq_vjp_k, _eq_vjp_w, None))

def _over(xp, k, s, g): return over(k, s, g)
def _over_jvp_s(xp, t, out, k, s, g): return -over(out, s, g) * t
def _over_vjp_k(xp, h, out, k, s, g): return over(h, s, g)
def _over_vjp_s(xp, h, out, k, s, g): return unbroadcast(-h * over(out, s, g), s)
OVER = Rule("over", _over, (LinearJvp(_over), _over_jvp_s, None),
            (_over_vjp_k, _over_vjp_s, None))

# the cofactor matrix of np.linalg.det's derivative: its tangent cofactor_jvp(t, a) is
# self-adjoint in t (the Hessian of det is symmetric); no third derivative
_DET_THIRD = Undefined("the third derivative of np.linalg.det is not available")
def _cof(xp, a): return cofactor(a)
def _cof_jvp(xp, t, out, a): return cofactor_jvp(t, a)
def _cof_vjp(xp, g, out, a): return cofactor_jvp(g, a)
COFACTOR = Rule("cofactor", _cof, (_cof_jvp,), (_cof_vjp,))
def _cof_t(xp, t, a): return cofactor_jvp(t, a)
def _cof_t_t(xp, g, out, t, a): return cofactor_jvp(g, a)
COFACTOR_JVP = Rule("cofactor_jvp", _cof_t, (LinearJvp(_cof_t), _DET_THIRD),
                    (_cof_t_t, _DET_THIRD))

# einsum: linear in g and in every operand but the i-th, which supplies a shape
def _einsum_g(xp, *operands, i, subscripts):
    return einsum_grad(operands[0], i, subscripts, *operands[1:])
def _einsum_g_jvp(xp, t, y, k, *operands, i, subscripts):
    return einsum_grad_jvp(t, k, i, subscripts, *operands)
def _einsum_g_vjp(xp, h, y, k, *operands, i, subscripts):
    return einsum_grad_vjp(h, k, i, subscripts, *operands)
EINSUM_GRAD = variadic("einsum_grad", _einsum_g, _einsum_g_jvp, _einsum_g_vjp)

def _trace_g(xp, g, x, offset=0, axis1=0, axis2=1): return trace_grad(g, x, offset, axis1, axis2)
def _trace_g_t(xp, h, y, g, x, offset=0, axis1=0, axis2=1): return xp.trace(h, offset, axis1, axis2)
TRACE_GRAD = _helper("trace_grad", _trace_g, _trace_g_t)

def _diag_g(xp, g, x, k=0): return diag_grad(g, x, k)
def _diag_g_t(xp, h, y, g, x, k=0): return xp.diag(h, k)    # extracts, or places, back
DIAG_GRAD = _helper("diag_grad", _diag_g, _diag_g_t)

# --- shapes and indexing --------------------------------------------------------------------------

def _getitem_g(xp, g, x, index): return getitem_grad(g, x, index)
def _getitem_g_t(xp, h, y, g, x, index): return h[index]        # a scatter's transpose: a gather
GETITEM_GRAD = _helper("getitem_grad", _getitem_g, _getitem_g_t)

def _take_at(xp, g, index): return take_at(g, index)
def _take_at_t(xp, h, y, g, index): return getitem_grad(h, g, index)
TAKE_AT = linear("take_at", _take_at, _take_at_t)

# the values x[index] = v wrote, a repeat's but the last zeroed: its transpose writes the
# cotangent at index, NumPy keeping the last repeat's
def _take_written(xp, g, index): return take_written(g, index)
def _take_written_t(xp, h, y, g, index): return set_at(xp.zeros_like(g), index, h)
TAKE_WRITTEN = linear("take_written", _take_written, _take_written_t)

def _zero_at(xp, g, index, copy=False): return zero_at(g, index, copy)
def _zero_at_t(xp, h, y, g, index, copy=False): return zero_at(h, index, copy=True)  # a projection
ZERO_AT = linear("zero_at", _zero_at, _zero_at_t)

# add_at(a, index, g) adds g at index into a (in place); set_at(x, index, v) sets it
def _add_at(xp, a, index, g): return add_at(a, index, g)
def _add_at_jvp_a(xp, t, out, a, index, g): return t
def _add_at_jvp_g(xp, t, out, a, index, g): return getitem_grad(t, a, index)
def _add_at_vjp_a(xp, h, out, a, index, g): return h
def _add_at_vjp_g(xp, h, out, a, index, g): return unbroadcast(take_at(h, index), g)
ADD_AT = Rule("add_at", _add_at, (_add_at_jvp_a, None, _add_at_jvp_g),
              (_add_at_vjp_a, None, _add_at_vjp_g))

def _set_at(xp, x, index, v): return set_at(x, index, v)
def _set_at_jvp_x(xp, t, out, x, index, v): return zero_at(t, index, copy=True)
def _set_at_jvp_v(xp, t, out, x, index, v): return set_at(xp.zeros_like(out), index, t)
def _set_at_vjp_x(xp, h, out, x, index, v): return zero_at(h, index, copy=True)
def _set_at_vjp_v(xp, h, out, x, index, v): return unbroadcast(take_written(h, index), v)
SET_AT = Rule("set_at", _set_at, (_set_at_jvp_x, None, _set_at_jvp_v),
              (_set_at_vjp_x, None, _set_at_vjp_v))

def _concat_g(xp, g, i, xs, axis=0): return concat_grad(g, i, xs, axis)
def _concat_g_t(xp, h, y, g, i, xs, axis=0): return concat_grad_t(h, g, i, xs, axis)
CONCAT_GRAD = linear("concat_grad", _concat_g, _concat_g_t)

def _concat_g_t_p(xp, h, g, i, xs, axis=0): return concat_grad_t(h, g, i, xs, axis)
def _concat_g_t_t(xp, k, y, h, g, i, xs, axis=0): return concat_grad(k, i, xs, axis)
CONCAT_GRAD_T = linear("concat_grad_t", _concat_g_t_p, _concat_g_t_t)

def _stack_g(xp, g, i, axis=0): return stack_grad(g, i, axis)
def _stack_g_t(xp, h, y, g, i, axis=0): return stack_grad_t(h, g, i, axis)
STACK_GRAD = linear("stack_grad", _stack_g, _stack_g_t)

def _stack_g_t_p(xp, h, g, i, axis=0): return stack_grad_t(h, g, i, axis)
def _stack_g_t_t(xp, k, y, h, g, i, axis=0): return stack_grad(k, i, axis)
STACK_GRAD_T = linear("stack_grad_t", _stack_g_t_p, _stack_g_t_t)

def _hstack_g(xp, g, i, xs): return hstack_grad(g, i, xs)
def _hstack_g_t(xp, h, y, g, i, xs): return hstack_grad_t(h, g, i, xs)
HSTACK_GRAD = linear("hstack_grad", _hstack_g, _hstack_g_t)

def _hstack_g_t_p(xp, h, g, i, xs): return hstack_grad_t(h, g, i, xs)
def _hstack_g_t_t(xp, k, y, h, g, i, xs): return hstack_grad(k, i, xs)
HSTACK_GRAD_T = linear("hstack_grad_t", _hstack_g_t_p, _hstack_g_t_t)

def _vstack_g(xp, g, i, xs): return vstack_grad(g, i, xs)
def _vstack_g_t(xp, h, y, g, i, xs): return vstack_grad_t(h, g, i, xs)
VSTACK_GRAD = linear("vstack_grad", _vstack_g, _vstack_g_t)

def _vstack_g_t_p(xp, h, g, i, xs): return vstack_grad_t(h, g, i, xs)
def _vstack_g_t_t(xp, k, y, h, g, i, xs): return vstack_grad(k, i, xs)
VSTACK_GRAD_T = linear("vstack_grad_t", _vstack_g_t_p, _vstack_g_t_t)

def _tile_g(xp, g, x, reps): return tile_grad(g, x, reps)
def _tile_g_t(xp, h, y, g, x, reps): return xp.tile(h, reps)
TILE_GRAD = _helper("tile_grad", _tile_g, _tile_g_t)

def _repeat_g(xp, g, x, repeats, axis=None): return repeat_grad(g, x, repeats, axis)
def _repeat_g_t(xp, h, y, g, x, repeats, axis=None): return xp.repeat(h, repeats, axis)
REPEAT_GRAD = _helper("repeat_grad", _repeat_g, _repeat_g_t)

def _transpose_g(xp, g, axes=None): return transpose_grad(g, axes)
def _transpose_g_t(xp, h, y, g, axes=None): return xp.transpose(h, axes)
TRANSPOSE_GRAD = linear("transpose_grad", _transpose_g, _transpose_g_t)

def _astype_g(xp, g, x, dtype=None): return astype_grad(g, x, dtype)
def _astype_g_t(xp, h, y, g, x, dtype=None): return astype_grad(h, g, dtype)  # to g's dtype
ASTYPE_GRAD = _helper("astype_grad", _astype_g, _astype_g_t)

# sliding windows (convolution, pooling) and padding: linear, each the other's transpose
def _windows(xp, x, size, stride=1, dilation=1): return windows(x, size, stride, dilation)
def _windows_t(xp, g, out, x, size, stride=1, dilation=1):
    return windows_grad(g, x, size, stride, dilation)        # each window added back
WINDOWS = linear("windows", _windows, _windows_t)

def _windows_g(xp, g, x, size, stride=1, dilation=1): return windows_grad(g, x, size, stride,
                                                                         dilation)
def _windows_g_t(xp, h, y, g, x, size, stride=1, dilation=1):
    return windows(h, size, stride, dilation)
WINDOWS_GRAD = _helper("windows_grad", _windows_g, _windows_g_t)

def _pad_g(xp, g, x, pad_width, mode="constant"): return pad_grad(g, x, pad_width, mode)
def _pad_g_t(xp, h, y, g, x, pad_width, mode="constant"): return xp.pad(h, pad_width, mode=mode)
PAD_GRAD = _helper("pad_grad", _pad_g, _pad_g_t)

def _diff_g(xp, g, x, n=1, axis=-1): return diff_grad(g, x, n, axis)
def _diff_g_t(xp, h, y, g, x, n=1, axis=-1): return xp.diff(h, n, axis)
DIFF_GRAD = _helper("diff_grad", _diff_g, _diff_g_t)

def _take_g(xp, g, x, indices, axis=None): return take_grad(g, x, indices, axis)
def _take_g_t(xp, h, y, g, x, indices, axis=None): return xp.take(h, indices, axis=axis)
TAKE_GRAD = _helper("take_grad", _take_g, _take_g_t)

def _median_g(xp, g, x, axis=None, keepdims=False): return median_grad(g, x, axis, keepdims)
def _median_g_t(xp, h, y, g, x, axis=None, keepdims=False):  # the picks of h, averaged
    return xp.sum(median_grad(xp.ones_like(g), x, axis, keepdims) * h, axis=axis,
                  keepdims=keepdims)
MEDIAN_GRAD = _helper("median_grad", _median_g, _median_g_t)

def _sort_g(xp, g, x, axis=-1): return sort_grad(g, x, axis)
def _sort_g_t(xp, h, y, g, x, axis=-1):
    return xp.take_along_axis(h, xp.argsort(x, axis=axis), axis=axis)
SORT_GRAD = _helper("sort_grad", _sort_g, _sort_g_t)

def _take_along_g(xp, g, x, indices, axis=-1): return take_along_grad(g, x, indices, axis)
def _take_along_g_t(xp, h, y, g, x, indices, axis=-1):
    return xp.take_along_axis(h, indices, axis=axis)
TAKE_ALONG_GRAD = _helper("take_along_grad", _take_along_g, _take_along_g_t)

def _split_indices(xp, shape_, indices_or_sections, axis=0, strict=True):
    return split_indices(shape_, indices_or_sections, axis, strict)
SPLIT_INDICES = nondiff("split_indices", _split_indices)

# convolve_grad(g, a, v): linear in g and in v (a supplies a length); g's transpose is the
# convolution with v, v's the same helper with a's and v's places exchanged
def _conv_g(xp, g, a, v, mode="full"): return convolve_grad(g, a, v, mode)
def _conv_g_jvp_v(xp, t, y, g, a, v, mode="full"): return convolve_grad(g, a, t, mode)
def _conv_g_vjp_g(xp, h, y, g, a, v, mode="full"): return xp.convolve(h, v, mode)
def _conv_g_vjp_v(xp, h, y, g, a, v, mode="full"): return convolve_grad(g, v, h, mode)
CONVOLVE_GRAD = Rule("convolve_grad", _conv_g, (LinearJvp(_conv_g), None, _conv_g_jvp_v),
                     (_conv_g_vjp_g, None, _conv_g_vjp_v))

# --- elementwise ----------------------------------------------------------------------------------

def _erf(xp, x): return erf(x)              # d erf(x) = 2 / sqrt(pi) exp(-x^2) dx
def _erf_jvp(xp, t, out, x): return t * 1.1283791670955126 * xp.exp(-x * x)   # 2 / sqrt(pi)
def _erf_vjp(xp, g, out, x): return g * 1.1283791670955126 * xp.exp(-x * x)
ERF = rule("erf", _erf, [_erf_jvp], [_erf_vjp], elementwise=True)

def _gammaln(xp, x): return gammaln(x)                 # d log Γ(x) = ψ(x) dx
def _gammaln_jvp(xp, t, out, x): return t * digamma(x)
def _gammaln_vjp(xp, g, out, x): return g * digamma(x)
GAMMALN = rule("gammaln", _gammaln, [_gammaln_jvp], [_gammaln_vjp], elementwise=True)

def _digamma(xp, x): return digamma(x)                 # d ψ(x) = ψ'(x) dx
def _digamma_jvp(xp, t, out, x): return t * polygamma(1, x)
def _digamma_vjp(xp, g, out, x): return g * polygamma(1, x)
DIGAMMA = rule("digamma", _digamma, [_digamma_jvp], [_digamma_vjp], elementwise=True)

def _polygamma(xp, n, x): return polygamma(n, x)       # d ψ⁽ⁿ⁾(x) = ψ⁽ⁿ⁺¹⁾(x) dx; n an order
def _polygamma_jvp(xp, t, out, n, x): return t * polygamma(n + 1, x)
def _polygamma_vjp(xp, g, out, n, x): return g * polygamma(n + 1, x)
POLYGAMMA = rule("polygamma", _polygamma, [None, _polygamma_jvp], [None, _polygamma_vjp],
                 elementwise=True)

# d log Φ(x) = φ(x) / Φ(x) dx, as exp(log φ(x) - log Φ(x)): finite far in the lower tail
def _log_ndtr(xp, x): return log_ndtr(x)
def _log_ndtr_jvp(xp, t, out, x): return t * xp.exp(-0.5 * x * x - 0.9189385332046727 - out)
def _log_ndtr_vjp(xp, g, out, x): return g * xp.exp(-0.5 * x * x - 0.9189385332046727 - out)
LOG_NDTR = rule("log_ndtr", _log_ndtr, [_log_ndtr_jvp], [_log_ndtr_vjp], elementwise=True)


def _clip_share(xp, x, lo, hi, of="x"): return clip_share(x, lo, hi, of)  # piecewise constant
CLIP_SHARE = nondiff("clip_share", _clip_share)

def _log_base(xp, a): return log_base(a)                      # log(a), 0 where a == 0
def _log_base_jvp(xp, t, out, a): return t * (a != 0) / replace_zero(a)
def _log_base_vjp(xp, g, out, a): return g * (a != 0) / replace_zero(a)
LOG_BASE = rule("log_base", _log_base, (_log_base_jvp,), (_log_base_vjp,), elementwise=True)

def _replace_zero(xp, x): return replace_zero(x)              # x, 1 where x == 0
def _replace_zero_jvp(xp, t, out, x): return t * (x != 0)
def _replace_zero_vjp(xp, g, out, x): return g * (x != 0)
REPLACE_ZERO = rule("replace_zero", _replace_zero, (_replace_zero_jvp,), (_replace_zero_vjp,),
                    elementwise=True)

def _spread(xp, s, x, axis=None, keepdims=False): return spread(s, x, axis, keepdims)
def _spread_jvp(xp, t, out, s, x, axis=None, keepdims=False): return t * (out == s)  # s, or inf
def _spread_vjp(xp, g, out, s, x, axis=None, keepdims=False): return g * (out == s)
SPREAD = Rule("spread", _spread, (_spread_jvp, None), (_spread_vjp, None))

# --- complex values and the FFT (srcgrad/rules/spectral.py) ------------------------------------
# cast_like: v as an adjoint or tangent of x (Re v where x is real); the transpose the same,
# in v's dtype
def _cast_like(xp, v, x): return cast_like(v, x)
def _cast_like_t(xp, h, out, v, x): return cast_like(cast_like(h, x), v)   # Re, then to v's
CAST_LIKE = _helper("cast_like", _cast_like, _cast_like_t)

# fft_fit: v cut or padded with zeros to x's lengths on axes; the transpose fits back to v's
def _fft_fit(xp, v, x, axes=None): return fft_fit(v, x, axes)
def _fft_fit_t(xp, h, out, v, x, axes=None): return fft_fit(h, v, axes)
FFT_FIT = Rule("fft_fit", _fft_fit, (LinearJvp(_fft_fit), None), (_fft_fit_t, None))

# unit(x), abs's derivative: constant for a real x; for a complex one, with u = conj(z) / |z|,
# du = (conj(dz) - u Re(u dz)) / |z| (0 at 0), and the adjoint (conj(g) - Re(g u) u) / |z|
def _unit(xp, x): return unit(x)
def _unit_jvp(xp, t, out, x):
    return (xp.conj(t) - out * xp.real(out * t)) / replace_zero(xp.abs(x)) * (out != 0)
def _unit_vjp(xp, g, out, x):
    return cast_like((xp.conj(g) - xp.real(g * out) * out) / replace_zero(xp.abs(x))
                     * (out != 0), x)
UNIT = rule("unit", _unit, (_unit_jvp,), (_unit_vjp,), elementwise=True)

def _fft_len(xp, x, n=None, axis=-1): return fft_len(x, n, axis)           # lengths and axes
def _fft_lens(xp, x, s=None, axes=None): return fft_lens(x, s, axes)
def _fft_axes(xp, x, s=None, axes=None): return fft_axes(x, s, axes)
def _fft2_axes(xp, x, s=None, axes=(-2, -1)): return fft2_axes(x, s, axes)
def _swap_norm(xp, norm=None): return swap_norm(norm)
def _half_weights(xp, g, axis=-1): return half_weights(g, axis)            # of g's shape only
SPECTRAL = [CAST_LIKE, FFT_FIT, UNIT,
            nondiff("fft_len", _fft_len), nondiff("fft_lens", _fft_lens),
            nondiff("fft_axes", _fft_axes), nondiff("fft2_axes", _fft2_axes),
            nondiff("swap_norm", _swap_norm), nondiff("half_weights", _half_weights)]

# --- lists (the adjoints of lists built at run time): forward mode only ---------------------------

def _pop_grad(xp, g, v): return pop_grad(g, v)
POP_GRAD = Rule("pop_grad", _pop_grad, (LinearJvp(_pop_grad), None), (_LISTS, None))

def _drop_grad(xp, g): return drop_grad(g)
DROP_GRAD = Rule("drop_grad", _drop_grad, (LinearJvp(_drop_grad),), (_LISTS,))

def _unpop_grad(xp, g): return unpop_grad(g)
UNPOP_GRAD = Rule("unpop_grad", _unpop_grad, (LinearJvp(_unpop_grad),), (_LISTS,))

def _unstack_grad(xp, g, xs, axis=0): return unstack_grad(g, xs, axis)
def _unstack_grad_t(xp, h, y, g, xs, axis=0): return xp.stack(densify(h, xs), axis=axis)
UNSTACK_GRAD = linear("unstack_grad", _unstack_grad, _unstack_grad_t)

def _sum_list_grad(xp, g, xs): return sum_list_grad(g, xs)
SUM_LIST_GRAD = Rule("sum_list_grad", _sum_list_grad, (LinearJvp(_sum_list_grad),), (_LISTS,))

def _values_grad(xp, g, d): return values_grad(g, d)
VALUES_GRAD = Rule("values_grad", _values_grad, (LinearJvp(_values_grad), None), (_LISTS, None))

def _items_grad(xp, g, d): return items_grad(g, d)
ITEMS_GRAD = Rule("items_grad", _items_grad, (LinearJvp(_items_grad), None), (_LISTS, None))

def _densify(xp, g, x): return densify(g, x)
def _densify_t(xp, h, y, g, x): return h      # added to a StructGrad item by item
DENSIFY = Rule("densify", _densify, (LinearJvp(_densify), None), (_densify_t, None))


RULES = [STOP_GRADIENT, SHAPED_LIKE, BROADCAST_LIKE, UNBROADCAST, UNREDUCE, KEEP, ZERO_GRAD, SEED,
         REDUCED_COUNT, EXTREMUM_GRAD, PROD_GRAD, PROD_GRAD_JVP, VAR_GRAD, CUMSUM_GRAD, NORM_GRAD,
         NORM_GRAD_DX, NORM_GRAD_DOUT, MATMUL_GRAD_A, MATMUL_GRAD_B, MATMUL_GRAD_BT,
         DOT_GRAD_A, DOT_GRAD_B,
         INNER_GRAD_A, INNER_GRAD_B, TENSORDOT_GRAD_A, TENSORDOT_GRAD_B, EINSUM_GRAD, MT,
         SOLVE_GRAD_B, SOLVE_GRAD_A, SOLVE_JVP_A, FROM_TRIANGLE, TRIANGLE_GRAD, TRIL_HALF,
         EIG_QUOTIENT, OVER, COFACTOR, COFACTOR_JVP, TRACE_GRAD, DIAG_GRAD, GETITEM_GRAD, TAKE_AT,
         TAKE_WRITTEN,
         ZERO_AT, ADD_AT, SET_AT, CONCAT_GRAD, CONCAT_GRAD_T, STACK_GRAD, STACK_GRAD_T,
         HSTACK_GRAD, HSTACK_GRAD_T, VSTACK_GRAD, VSTACK_GRAD_T, TILE_GRAD, REPEAT_GRAD,
         TRANSPOSE_GRAD, ASTYPE_GRAD, WINDOWS, WINDOWS_GRAD, PAD_GRAD, DIFF_GRAD, SORT_GRAD,
         CLIP_SHARE, LOG_BASE, REPLACE_ZERO, SPREAD, POP_GRAD, ERF, GAMMALN, DIGAMMA, POLYGAMMA,
         LOG_NDTR, TAKE_GRAD,
         MEDIAN_GRAD, TAKE_ALONG_GRAD, SPLIT_INDICES, CONVOLVE_GRAD,
         DROP_GRAD, UNPOP_GRAD, UNSTACK_GRAD, SUM_LIST_GRAD, VALUES_GRAD, ITEMS_GRAD, DENSIFY,
         LIKE, *SPECTRAL]
