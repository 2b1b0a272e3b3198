"""Products, contractions and ``numpy.linalg``."""

from __future__ import annotations

from srcgrad.rules.core import Rule, Undefined, linear, nondiff, rule, variadic
from srcgrad.runtime.linalg import (
    cofactor,
    convolve_grad,
    diag_grad,
    dot_grad_a,
    dot_grad_b,
    eig_quotient,
    eigh_packed,
    einsum_grad,
    from_triangle,
    inner_grad_a,
    inner_grad_b,
    logabsdet,
    lstsq_rank,
    lstsq_residuals,
    lstsq_solution,
    lstsq_sv,
    matmul_grad_a,
    matmul_grad_b,
    mT,
    over,
    pinv,
    qr_packed,
    slogdet_sign,
    solve_grad_a,
    solve_grad_b,
    solve_jvp_a,
    svd_packed,
    tensordot_grad_a,
    tensordot_grad_b,
    trace_grad,
    triangle_grad,
    tril_half,
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
# vdot conjugates a: Re(g <da, b>) = Re(conj(g b) . da), Re(g <a, db>) = Re(g conj(a) . db)
def _vdot_vjp_a(xp, g, out, a, b): return xp.reshape(xp.conj(g * b), a.shape)
def _vdot_vjp_b(xp, g, out, a, b): return xp.reshape(g * xp.conj(a), b.shape)
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

# d det A = <cof A, dA>, the cofactor matrix (det A A^-T where A is invertible, from an SVD where
# it is not): singular matrices have their derivative too (A^-T does not exist there)
def _det(xp, a): return xp.linalg.det(a)
def _det_jvp(xp, t, out, a): return xp.sum(cofactor(a) * t, axis=(-2, -1))
def _det_vjp(xp, g, out, a): return (g * xp.ones_like(out))[..., None, None] * cofactor(a)
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

# --- decompositions -----------------------------------------------------------------------------
# np.linalg.slogdet: its sign (slogdet_sign) has no derivative, log |det A| (logabsdet) does
def _logabsdet(xp, a): return logabsdet(a)
def _logabsdet_jvp(xp, t, out, a):      # d log|det A| = tr(A^-1 dA)
    return xp.trace(xp.linalg.solve(a, t), axis1=-2, axis2=-1)
def _logabsdet_vjp(xp, g, out, a):      # A_bar = g A^-T
    return (g * xp.ones_like(out))[..., None, None] * mT(xp.linalg.inv(a))
LOGABSDET = rule("logabsdet", _logabsdet, (_logabsdet_jvp,), (_logabsdet_vjp,))
def _slogdet_sign(xp, a): return slogdet_sign(a)

# np.linalg.cholesky and eigh read one triangle of A, as NumPy does (the lower; UPLO's for
# eigh): from_triangle(A) is the symmetric matrix they decompose, and the adjoint reaches that
# triangle only (triangle_grad). JAX symmetrizes instead; the two agree wherever A is built
# symmetric. With P the lower triangle with its diagonal halved (tril_half), S = from_triangle:
# dL = L P(L^-1 dS L^-T), S_bar = L^-T P(L^T L_bar) L^-1
def _cholesky(xp, a): return xp.linalg.cholesky(from_triangle(a))
def _cholesky_jvp(xp, t, out, a):
    return out @ tril_half(xp.linalg.solve(out, mT(xp.linalg.solve(out, from_triangle(t)))))
def _cholesky_vjp(xp, g, out, a):
    return triangle_grad(mT(xp.linalg.solve(mT(out), mT(xp.linalg.solve(mT(out), tril_half(
        mT(out) @ g))))))
CHOLESKY = rule("cholesky", _cholesky, (_cholesky_jvp,), (_cholesky_vjp,))

# np.linalg.eigh: the packed [w; V] of eigh_packed. With C = V^T dS V: dw = diag C,
# dV = V (F o C), F_ij = 1 / (w_j - w_i) off the diagonal (eig_quotient);
# S_bar = V (diag(w_bar) + F o (V^T V_bar - V_bar^T V) / 2) V^T. Equal eigenvalues give the
# eigenvectors an infinite derivative (nan, as JAX's), and nothing where they are not read.
def _eigh(xp, a, UPLO="L"): return eigh_packed(a, UPLO)
def _eigh_jvp(xp, t, out, a, UPLO="L"):
    return xp.concatenate([
        xp.sum(out[..., 1:, :] * (from_triangle(t, UPLO) @ out[..., 1:, :]), axis=-2)[
            ..., None, :],
        out[..., 1:, :] @ eig_quotient(mT(out[..., 1:, :]) @ from_triangle(t, UPLO)
                                       @ out[..., 1:, :], out[..., 0, :], t)], axis=-2)
def _eigh_vjp(xp, g, out, a, UPLO="L"):
    return triangle_grad(out[..., 1:, :] @ (eig_quotient(
        (mT(out[..., 1:, :]) @ g[..., 1:, :] - mT(g[..., 1:, :]) @ out[..., 1:, :]) / 2,
        out[..., 0, :], g[..., 1:, :]) @ mT(out[..., 1:, :])) + (
            out[..., 1:, :] * g[..., :1, :]) @ mT(out[..., 1:, :]), UPLO)
EIGH = rule("eigh_packed", _eigh, (_eigh_jvp,), (_eigh_vjp,))

# np.linalg.svd(A, full_matrices=False): the packed [s; U; V] of svd_packed (V = Vh^T), m, n the
# sizes of A. With dS = U^T dA V and F o X = eig_quotient(X, s**2), X_ij / (s_j^2 - s_i^2):
#   ds = diag dS, dU = U (F o (dS S + S dS^T)) + (I - U U^T) dA V S^-1      (the last if m > n)
#                 dV = V (F o (S dS + dS^T S)) + (I - V V^T) dA^T U S^-1    (the last if n > m)
# (JAX's), and the adjoint is its transpose. Equal singular values give the singular vectors an
# infinite derivative, and nothing where they are not read.
def _svd(xp, a, full_matrices=False, hermitian=False):
    return svd_packed(a, full_matrices, hermitian)
def _svd_jvp(xp, t, out, a, full_matrices=False, hermitian=False):
    return xp.concatenate([
        xp.sum(out[..., 1:xp.shape(a)[-2] + 1, :] * (t @ out[..., xp.shape(a)[-2] + 1:, :]),
               axis=-2)[..., None, :],
        out[..., 1:xp.shape(a)[-2] + 1, :] @ eig_quotient(
            (mT(out[..., 1:xp.shape(a)[-2] + 1, :]) @ t @ out[..., xp.shape(a)[-2] + 1:, :])
            * out[..., :1, :] + mT(mT(out[..., 1:xp.shape(a)[-2] + 1, :]) @ t
                                   @ out[..., xp.shape(a)[-2] + 1:, :]) * mT(out[..., :1, :]),
            out[..., 0, :] ** 2, t)
        + (over(t @ out[..., xp.shape(a)[-2] + 1:, :] - out[..., 1:xp.shape(a)[-2] + 1, :] @ (
            mT(out[..., 1:xp.shape(a)[-2] + 1, :]) @ (t @ out[..., xp.shape(a)[-2] + 1:, :])),
            out[..., :1, :], t) if xp.shape(a)[-2] > xp.shape(a)[-1] else 0.0),
        out[..., xp.shape(a)[-2] + 1:, :] @ eig_quotient(
            mT(out[..., :1, :]) * (mT(out[..., 1:xp.shape(a)[-2] + 1, :]) @ t
                                   @ out[..., xp.shape(a)[-2] + 1:, :])
            + mT(mT(out[..., 1:xp.shape(a)[-2] + 1, :]) @ t
                 @ out[..., xp.shape(a)[-2] + 1:, :]) * out[..., :1, :],
            out[..., 0, :] ** 2, t)
        + (over(mT(t) @ out[..., 1:xp.shape(a)[-2] + 1, :] - out[..., xp.shape(a)[-2] + 1:, :]
                @ (mT(out[..., xp.shape(a)[-2] + 1:, :]) @ (
                    mT(t) @ out[..., 1:xp.shape(a)[-2] + 1, :])),
                out[..., :1, :], t) if xp.shape(a)[-2] < xp.shape(a)[-1] else 0.0)], axis=-2)
def _svd_vjp(xp, g, out, a, full_matrices=False, hermitian=False):
    return out[..., 1:xp.shape(a)[-2] + 1, :] @ (
        (xp.where(xp.eye(xp.shape(out)[-1], dtype=bool), g[..., :1, :], 0.0)
         + eig_quotient(mT(out[..., 1:xp.shape(a)[-2] + 1, :]) @ g[..., 1:xp.shape(a)[-2] + 1, :]
                        - mT(g[..., 1:xp.shape(a)[-2] + 1, :]) @ out[..., 1:xp.shape(a)[-2] + 1, :],
                        out[..., 0, :] ** 2, g[..., 1:xp.shape(a)[-2] + 1, :]) * out[..., :1, :]
         + mT(out[..., :1, :]) * eig_quotient(
             mT(out[..., xp.shape(a)[-2] + 1:, :]) @ g[..., xp.shape(a)[-2] + 1:, :]
             - mT(g[..., xp.shape(a)[-2] + 1:, :]) @ out[..., xp.shape(a)[-2] + 1:, :],
             out[..., 0, :] ** 2, g[..., xp.shape(a)[-2] + 1:, :]))
        @ mT(out[..., xp.shape(a)[-2] + 1:, :])) + (
        over(g[..., 1:xp.shape(a)[-2] + 1, :] - out[..., 1:xp.shape(a)[-2] + 1, :] @ (
            mT(out[..., 1:xp.shape(a)[-2] + 1, :]) @ g[..., 1:xp.shape(a)[-2] + 1, :]),
            out[..., :1, :], g[..., 1:xp.shape(a)[-2] + 1, :])
        @ mT(out[..., xp.shape(a)[-2] + 1:, :])
        if xp.shape(a)[-2] > xp.shape(a)[-1] else 0.0) + (
        out[..., 1:xp.shape(a)[-2] + 1, :] @ mT(over(
            g[..., xp.shape(a)[-2] + 1:, :] - out[..., xp.shape(a)[-2] + 1:, :] @ (
                mT(out[..., xp.shape(a)[-2] + 1:, :]) @ g[..., xp.shape(a)[-2] + 1:, :]),
            out[..., :1, :], g[..., xp.shape(a)[-2] + 1:, :]))
        if xp.shape(a)[-2] < xp.shape(a)[-1] else 0.0)
SVD = rule("svd_packed", _svd, (_svd_jvp,), (_svd_vjp,))

# np.linalg.qr(A) (reduced) of a square or tall A: the packed [Q; R^T] of qr_packed, m the rows
# of A. With Y = dA R^-1, C = Q^T Y and Z = triu(C) + tril(C, -1)^T: dQ = Y - Q Z, dR = Z R
# (JAX's); A_bar = (Q_bar + Q copyltu(M)) R^-T, M = R R_bar^T - Q_bar^T Q, copyltu(M) the
# lower triangle of M mirrored onto the upper one
def _qr(xp, a, mode="reduced"): return qr_packed(a, mode)
def _qr_jvp(xp, t, out, a, mode="reduced"):
    return xp.concatenate([
        mT(xp.linalg.solve(out[..., xp.shape(a)[-2]:, :], mT(t))) - out[..., :xp.shape(a)[-2], :]
        @ (xp.triu(mT(out[..., :xp.shape(a)[-2], :]) @ mT(xp.linalg.solve(
            out[..., xp.shape(a)[-2]:, :], mT(t)))) + mT(xp.tril(
                mT(out[..., :xp.shape(a)[-2], :]) @ mT(xp.linalg.solve(
                    out[..., xp.shape(a)[-2]:, :], mT(t))), -1))),
        out[..., xp.shape(a)[-2]:, :] @ mT(
            xp.triu(mT(out[..., :xp.shape(a)[-2], :]) @ mT(xp.linalg.solve(
                out[..., xp.shape(a)[-2]:, :], mT(t)))) + mT(xp.tril(
                    mT(out[..., :xp.shape(a)[-2], :]) @ mT(xp.linalg.solve(
                        out[..., xp.shape(a)[-2]:, :], mT(t))), -1)))], axis=-2)
def _qr_vjp(xp, g, out, a, mode="reduced"):
    return mT(xp.linalg.solve(mT(out[..., xp.shape(a)[-2]:, :]), mT(
        g[..., :xp.shape(a)[-2], :] + out[..., :xp.shape(a)[-2], :] @ (
            xp.tril(mT(out[..., xp.shape(a)[-2]:, :]) @ g[..., xp.shape(a)[-2]:, :]
                    - mT(g[..., :xp.shape(a)[-2], :]) @ out[..., :xp.shape(a)[-2], :])
            + mT(xp.tril(mT(out[..., xp.shape(a)[-2]:, :]) @ g[..., xp.shape(a)[-2]:, :]
                         - mT(g[..., :xp.shape(a)[-2], :]) @ out[..., :xp.shape(a)[-2], :],
                         -1))))))
QR = rule("qr_packed", _qr, (_qr_jvp,), (_qr_vjp,))

# np.linalg.pinv, X = A^+, where the rank does not change (Golub and Pereyra; JAX's):
# dX = -X dA X + X X^T dA^T (I - A X) + (I - X A) dA^T X^T X, and its transpose
def _pinv(xp, a, rcond=None, hermitian=False): return pinv(a, rcond, hermitian)
def _pinv_jvp(xp, t, out, a, rcond=None, hermitian=False):
    return -(out @ t @ out) + out @ (mT(out) @ (mT(t) - (mT(t) @ a) @ out)) + (
        mT(t) @ (mT(out) @ out) - out @ (a @ (mT(t) @ (mT(out) @ out))))
def _pinv_vjp(xp, g, out, a, rcond=None, hermitian=False):
    return -(mT(out) @ g @ mT(out)) + (mT(g) @ (out @ mT(out)) - a @ (out @ (mT(g) @ (
        out @ mT(out))))) + ((mT(out) @ out) @ mT(g) - (mT(out) @ out) @ mT(g) @ out @ a)
PINV = rule("pinv", _pinv, (_pinv_jvp,), (_pinv_vjp,))

# the solution x of np.linalg.lstsq(A, b) is P b, P = A^+: dx = dP b + P db, dP as pinv's, with
# r = b - A x. P is an operand of its own, computed once in the forward sweep (the twin's
# np.linalg.pinv) and read by the derivatives, not by the value: no derivative flows through
# it (differentiated again, the derivatives' own use of it is followed through pinv's rule).
# The other outputs have no derivative rule (a located error where one is needed).
def _lstsq(xp, a, b, p, rcond=None): return lstsq_solution(a, b, p, rcond)
def _lstsq_jvp_a(xp, t, out, a, b, p, rcond=None):
    return -(p @ (t @ out)) + p @ (mT(p) @ (mT(t) @ (b - a @ out))) + (
        mT(t) @ (mT(p) @ out) - p @ (a @ (mT(t) @ (mT(p) @ out))))
def _lstsq_jvp_b(xp, t, out, a, b, p, rcond=None): return p @ t
def _lstsq_vjp_a(xp, g, out, a, b, p, rcond=None):
    return matmul_grad_a(-(mT(p) @ g), a, out) + matmul_grad_a(
        b - a @ out, a, p @ (mT(p) @ g)) + matmul_grad_a(
            mT(p) @ out, a, g - mT(a) @ (mT(p) @ g))
def _lstsq_vjp_b(xp, g, out, a, b, p, rcond=None): return mT(p) @ g
LSTSQ = rule("lstsq_solution", _lstsq, (_lstsq_jvp_a, _lstsq_jvp_b, None),
             (_lstsq_vjp_a, _lstsq_vjp_b, None))
_LSTSQ_REST = Undefined("of np.linalg.lstsq's outputs only the solution is differentiated",
                        hint="compute the residuals from the solution x, as np.sum((b - a @ x) "
                        "** 2, axis=0), and the singular values as np.linalg.svd(a, "
                        "compute_uv=False)")
def _lstsq_residuals(xp, a, b, rcond=None): return lstsq_residuals(a, b, rcond)
def _lstsq_sv(xp, a, b, rcond=None): return lstsq_sv(a, b, rcond)
def _lstsq_rank(xp, a, b, rcond=None): return lstsq_rank(a, b, rcond)
LSTSQ_RESIDUALS = Rule("lstsq_residuals", _lstsq_residuals, (_LSTSQ_REST,) * 2,
                       (_LSTSQ_REST,) * 2)
LSTSQ_SV = Rule("lstsq_sv", _lstsq_sv, (_LSTSQ_REST,) * 2, (_LSTSQ_REST,) * 2)

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
                     SOLVE, NORM, CONVOLVE, LOGABSDET, nondiff("slogdet_sign", _slogdet_sign),
                     CHOLESKY, EIGH, SVD, QR, PINV, LSTSQ, LSTSQ_RESIDUALS, LSTSQ_SV,
                     nondiff("lstsq_rank", _lstsq_rank)]
