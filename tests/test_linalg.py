"""np.linalg's decompositions through srcgrad (#17): cholesky, slogdet, eigh, eigvalsh, svd,
qr, pinv, lstsq and det of singular matrices, written as users write them (tuple unpacking,
indexing the result), against jax.grad / jax.jvp / jax.hessian of the same source with ``np``
bound to jax.numpy, and against central differences of the NumPy function itself.

Eigenvectors and singular vectors are defined up to sign: the losses read them through
sign-invariant expressions (``v ** 2``, ``u @ diag(s) @ vh``), or where NumPy's and JAX's
LAPACK give the same vectors (they do, bit for bit, on these inputs: both call it).
"""

from __future__ import annotations

import inspect

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from oracle import numpy_is

import srcgrad
from srcgrad import SrcGradError

jax.config.update("jax_enable_x64", True)

R = np.random.default_rng(17)
W3 = R.standard_normal((3, 3))
W4 = R.standard_normal((4, 4))
W43 = R.standard_normal((4, 3))
W34 = R.standard_normal((3, 4))
B4 = R.standard_normal(4)


# --- the functions, module-global np (jax runs them with np bound to jax.numpy) ----------------

def eigh_unpacked(x):
    w, v = np.linalg.eigh(x + x.T)
    return np.sum(w * np.arange(1.0, 4.0)) + np.sum(v ** 2 * W3)


def eigh_indexed(x):
    res = np.linalg.eigh(x @ x.T + np.eye(3))
    return np.sum(np.log(res[0])) + np.sum(res[1] ** 2 * W3) + np.linalg.eigh(x + x.T)[0][0]


def eigh_upper(x):
    w, v = np.linalg.eigh(x + x.T, UPLO="U")
    return np.sum(w ** 2) + np.sum((v * w) @ v.T * W3)


def eigvalsh_cubed(x):
    return np.sum(np.linalg.eigvalsh(x + x.T) ** 3)


def eigh_batched(x):   # x: (2, 3, 3)
    w, v = np.linalg.eigh(x + np.swapaxes(x, -1, -2))
    return np.sum(w ** 3) + np.sum(v ** 2 * W3)


def svd_tall(x):       # x: (4, 3)
    u, s, vh = np.linalg.svd(x, full_matrices=False)
    return (np.sum((u * s ** 2) @ vh * W43) + np.sum(u ** 2 * W43) + np.sum(vh ** 2 * W3)
            + np.sum(s ** 3))


def svd_wide(x):       # x: (4, 3), decomposed as its (3, 4) transpose
    u, s, vh = np.linalg.svd(x.T, full_matrices=False)
    return np.sum(u @ np.diag(s) @ vh * W34) + np.sum(u ** 2 * W3) + np.sum(vh ** 2 * W34)


def svd_square(x):     # x: (3, 3): full_matrices=True, the default, is the same there
    u, s, vh = np.linalg.svd(x)
    return np.sum((u * s) @ vh * W3) + np.sum(u ** 2 * W3) + np.sum(vh ** 2 * W3.T)


def svd_values(x):
    return np.sum(np.linalg.svd(x, compute_uv=False)) + np.sum(
        np.linalg.svd(x, compute_uv=False) ** 3)


def svd_batched(x):    # x: (2, 4, 3)
    u, s, vh = np.linalg.svd(x, full_matrices=False)
    return np.sum(u @ (s[..., :, None] * vh) * W43) + np.sum(u ** 2 * W43) + np.sum(s ** 3)


def qr_tall(x):        # x: (4, 3)
    q, r = np.linalg.qr(x)
    return np.sum(q * W43) + np.sum(r ** 2 * W3) + np.sum(np.diag(r) ** 3)


def qr_square(x):      # x: (3, 3)
    q, r = np.linalg.qr(x + 3.0 * np.eye(3))
    return np.sum(q @ W3 * q) + np.sum(r * W3)


def cholesky_logdet(x):
    chol = np.linalg.cholesky(x @ x.T + np.eye(x.shape[0]))
    return 2.0 * np.sum(np.log(np.diag(chol))) + np.sum(chol * W3)


def slogdet_parts(x):
    sign, logdet = np.linalg.slogdet(x + 3.0 * np.eye(3))
    parts = np.linalg.slogdet(x)
    return sign * logdet + parts[1] ** 2 + parts[0]


def pinv_tall(x):      # x: (4, 3)
    return np.sum(np.linalg.pinv(x) * W34) + np.sum(np.linalg.pinv(x.T) ** 2)


def lstsq_solution(x):  # x: (4, 3)
    sol, residuals, rank, sv = np.linalg.lstsq(x, B4, rcond=None)
    wide = np.linalg.lstsq(x.T, x[0], rcond=None)[0]
    return np.sum(sol ** 2 * np.arange(3.0)) + np.sum(wide * B4) + rank


def det_squared(x):
    return np.linalg.det(x) ** 2 + np.linalg.det(np.sin(x))


FUNCTIONS = {
    eigh_unpacked: (3, 3), eigh_indexed: (3, 3), eigh_upper: (3, 3), eigvalsh_cubed: (3, 3),
    eigh_batched: (2, 3, 3), svd_tall: (4, 3), svd_wide: (4, 3), svd_square: (3, 3),
    svd_values: (4, 3), svd_batched: (2, 4, 3), qr_tall: (4, 3), qr_square: (3, 3),
    cholesky_logdet: (3, 3), slogdet_parts: (3, 3), pinv_tall: (4, 3), lstsq_solution: (4, 3),
    det_squared: (3, 3),
}
IDS = [f.__name__ for f in FUNCTIONS]


def _point(fn):
    return np.random.default_rng(sum(map(ord, fn.__name__))).standard_normal(FUNCTIONS[fn])


def _twin(fn):
    def twin(x):
        with numpy_is(__name__, jnp):
            return fn(x)
    return twin


def _central(fn, x, v, eps=1e-6):
    return (fn(x + eps * v) - fn(x - eps * v)) / (2 * eps)


@pytest.mark.parametrize("fn", FUNCTIONS, ids=IDS)
def test_gradient_against_jax_and_central_differences(fn):
    x = _point(fn)
    value, got = srcgrad.value_and_grad(fn)(x)
    assert value == pytest.approx(fn(x), rel=1e-13)
    want = jax.grad(_twin(fn))(jnp.asarray(x))
    np.testing.assert_allclose(got, np.asarray(want), rtol=1e-9, atol=1e-11)
    v = np.random.default_rng(1).standard_normal(x.shape)
    # central differences: error ~ eps^2 f''' + rounding/eps, 1e-7 relative here
    assert np.sum(got * v) == pytest.approx(_central(fn, x, v), rel=1e-6, abs=1e-7)


@pytest.mark.parametrize("fn", FUNCTIONS, ids=IDS)
def test_jvp_against_jax(fn):
    x = _point(fn)
    v = np.random.default_rng(2).standard_normal(x.shape)
    value, tangent = srcgrad.jvp(fn, (x,), (v,))
    want_value, want = jax.jvp(_twin(fn), (jnp.asarray(x),), (jnp.asarray(v),))
    assert value == pytest.approx(float(want_value), rel=1e-12)
    assert tangent == pytest.approx(float(want), rel=1e-9, abs=1e-11)


SECOND = [eigh_unpacked, eigvalsh_cubed, eigh_batched, svd_tall, svd_wide, svd_values, qr_tall,
          cholesky_logdet, slogdet_parts, pinv_tall, lstsq_solution, det_squared]


@pytest.mark.parametrize("fn", SECOND, ids=[f.__name__ for f in SECOND])
def test_hessian_against_jax(fn):
    """Forward over reverse (every vjp above is written in primitives with rules of their
    own); reverse over forward for a few."""
    x = _point(fn)
    # rtol 1e-8, as in test_higher_order: second derivatives through solves and
    # decompositions (1 / (w_j - w_i), 1 / s) lose a few more digits than the first
    want = np.asarray(jax.hessian(_twin(fn))(jnp.asarray(x))).reshape(x.size, x.size)
    got = srcgrad.hessian(fn)(x).reshape(x.size, x.size)
    np.testing.assert_allclose(got, want, rtol=1e-8, atol=1e-10)
    if fn in (eigh_unpacked, svd_tall, qr_tall, det_squared):
        got = srcgrad.hessian(fn, mode="reverse-over-forward")(x).reshape(x.size, x.size)
        np.testing.assert_allclose(got, want, rtol=1e-8, atol=1e-10)


def test_gradient_of_a_gradient_by_reverse_over_reverse():
    x = _point(svd_tall)
    v = np.random.default_rng(3).standard_normal(x.shape)
    gradient = srcgrad.grad(svd_tall)

    def along_v(x):
        return np.sum(gradient(x) * v)

    want = jax.hessian(_twin(svd_tall))(jnp.asarray(x)).reshape(x.size, x.size) @ v.ravel()
    np.testing.assert_allclose(srcgrad.grad(along_v)(x).ravel(), np.asarray(want), rtol=1e-8,
                               atol=1e-10)


@pytest.mark.parametrize("fn", [eigh_unpacked, svd_tall, qr_tall, det_squared],
                         ids=lambda f: f.__name__)
def test_jax_backend_eager_and_jitted(fn):
    x = _point(fn)
    want = np.asarray(jax.grad(_twin(fn))(jnp.asarray(x)))
    for jit in (False, True):
        got = srcgrad.grad(fn, backend="jax", jit=jit)(jnp.asarray(x))
        np.testing.assert_allclose(np.asarray(got), want, rtol=1e-9, atol=1e-11)


# --- one triangle, as NumPy reads it --------------------------------------------------------

def eigvalsh_raw(x):
    return np.sum(np.linalg.eigvalsh(x) ** 3)


def cholesky_raw(x):
    return np.sum(np.linalg.cholesky(x) * W3)


@pytest.mark.parametrize("fn", [eigvalsh_raw, cholesky_raw], ids=lambda f: f.__name__)
def test_a_matrix_that_is_not_symmetric_is_read_by_its_lower_triangle(fn):
    """The value and derivative of NumPy's function, which reads the lower triangle: central
    differences along any direction agree, and the upper triangle gets no adjoint. (JAX's
    twin reads the symmetric part; the two agree along symmetric directions.)"""
    r = np.random.default_rng(4)
    b = r.standard_normal((3, 3))
    x = np.tril(b @ b.T + np.eye(3)) + np.triu(r.standard_normal((3, 3)), 1)  # upper: noise
    value, got = srcgrad.value_and_grad(fn)(x)
    assert value == pytest.approx(fn(x), rel=1e-13)
    assert np.all(np.triu(got, 1) == 0.0)
    v = r.standard_normal((3, 3))
    assert np.sum(got * v) == pytest.approx(_central(fn, x, v), rel=1e-6)
    sym = (v + v.T) / 2
    want = jax.jvp(_twin(fn), (jnp.asarray(np.tril(x) + np.tril(x, -1).T),),
                   (jnp.asarray(sym),))[1]
    assert np.sum(got * sym) == pytest.approx(float(want), rel=1e-9)


# --- equal eigenvalues and singular values ---------------------------------------------------

def eigenvectors_read(x):
    w, v = np.linalg.eigh(x)
    return np.sum(v @ np.diag(w ** 2) @ v.T)


def singular_vectors_read(x):
    u, s, vh = np.linalg.svd(x, full_matrices=False)
    return np.sum((u * s) @ vh)


def test_equal_eigenvalues_give_values_their_derivative_and_vectors_nan():
    """At the identity every eigenvalue is equal: a loss of the eigenvalues alone has its
    gradient (the eigenvectors' adjoint is zero, and adds nothing), a loss that reads the
    eigenvectors gets nan, as from JAX: the eigenvectors have no derivative there, and a
    finite number would be wrong (this loss is sum(x @ x), whose gradient is 2 * ones)."""
    eye = np.eye(3)
    got = srcgrad.grad(eigvalsh_cubed)(eye / 2)
    np.testing.assert_allclose(got, np.asarray(jax.grad(_twin(eigvalsh_cubed))(eye / 2)),
                               rtol=1e-12)
    with np.errstate(divide="ignore", invalid="ignore"):
        vectors = srcgrad.grad(eigenvectors_read)(eye)
        jax_vectors = np.asarray(jax.grad(_twin(eigenvectors_read))(jnp.asarray(eye)))
        lower = np.tril_indices(3)   # (the upper triangle is not read: no adjoint)
        assert np.all(np.isnan(vectors[lower])) and np.all(np.isnan(jax_vectors))
        singular = srcgrad.grad(singular_vectors_read)(np.eye(4, 3))
        assert np.all(np.isnan(singular))
    np.testing.assert_allclose(srcgrad.grad(svd_values)(np.eye(4, 3)),
                               np.asarray(jax.grad(_twin(svd_values))(jnp.eye(4, 3))),
                               rtol=1e-12)


def test_singular_values_of_a_rank_deficient_tall_matrix():
    """A zero singular value: the gradient of the nonzero ones (the singular vectors not
    read: no 0 / 0 from the term divided by s)."""
    r = np.random.default_rng(5)
    x = r.standard_normal((5, 2)) @ r.standard_normal((2, 3))

    def top(x):
        return np.sum(np.linalg.svd(x, compute_uv=False)[:2] ** 2)

    got = srcgrad.grad(top)(x)
    np.testing.assert_allclose(got, np.asarray(jax.grad(_twin(top))(jnp.asarray(x))),
                               rtol=1e-9, atol=1e-12)
    assert np.all(np.isfinite(got))


# --- det of singular matrices ---------------------------------------------------------------

def det(x):
    return np.linalg.det(x)


def _cofactors(a):
    n = a.shape[0]
    return np.array([[(-1) ** (i + j) * np.linalg.det(np.delete(np.delete(a, i, 0), j, 1))
                      for j in range(n)] for i in range(n)])


SINGULAR = {
    "rank2": np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [7.0, 8.0, 9.0]]),
    "rank1": np.outer([1.0, -2.0, 0.5], [3.0, 1.0, 2.0]),
    "zero": np.zeros((3, 3)),
    "zero-column": np.array([[0.0, 1.0], [0.0, 3.0]]),   # a zero pivot first, not last
    "diagonal": np.diag([1.0, 2.0, 0.0]),
    "batched": np.stack([np.outer([1.0, 2.0, 3.0], [1.0, 0.0, 1.0]), np.eye(3)]),
}


@pytest.mark.parametrize("name", SINGULAR)
def test_det_of_a_singular_matrix(name):
    """The derivative of det is the cofactor matrix, also where the inverse does not exist
    (it was nan, or numpy's LinAlgError, through inv(a)); against jax, the cofactors computed
    from minors, and jax's Hessian."""
    a = SINGULAR[name]
    got = srcgrad.grad(lambda x: np.sum(np.linalg.det(x)))(a)
    want = np.asarray(jax.grad(lambda x: jnp.sum(jnp.linalg.det(x)))(jnp.asarray(a)))
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12)
    if a.ndim == 2:
        np.testing.assert_allclose(got, _cofactors(a), rtol=1e-9, atol=1e-12)
        v = np.random.default_rng(6).standard_normal(a.shape)
        _, tangent = srcgrad.jvp(det, (a,), (v,))
        assert tangent == pytest.approx(float(np.sum(_cofactors(a) * v)), rel=1e-9, abs=1e-12)
        hess = srcgrad.hessian(det)(a).reshape(a.size, a.size)
        want = np.asarray(jax.hessian(jnp.linalg.det)(jnp.asarray(a))).reshape(a.size, a.size)
        np.testing.assert_allclose(hess, want, rtol=1e-9, atol=1e-12)


DET_GRAD = srcgrad.grad(det)


def det_gradient_weighted(x):
    return np.sum(DET_GRAD(x) * W3)


def test_the_third_derivative_of_det_is_refused_where_it_is_needed():
    with pytest.raises(SrcGradError, match="third derivative of np.linalg.det"):
        srcgrad.hessian(det_gradient_weighted)(np.eye(3) + W3 / 4)


# --- what is refused, at the user's line ----------------------------------------------------

def svd_full_wide(x):
    u, s, vh = np.linalg.svd(x)
    return np.sum(u) + np.sum(s)


def svd_hermitian(x):
    return np.sum(np.linalg.svd(x.T @ x, hermitian=True)[1])


def qr_wide(x):
    q, r = np.linalg.qr(x.T)
    return np.sum(r)


def qr_complete(x):
    q, r = np.linalg.qr(x, mode="complete")
    return np.sum(r)


def lstsq_residuals(x):
    sol, residuals, rank, sv = np.linalg.lstsq(x, B4, rcond=None)
    return np.sum(sol) + np.sum(residuals)


def lstsq_singular_values(x):
    return np.sum(np.linalg.lstsq(x, B4, rcond=None)[3])


REFUSED = [
    (svd_full_wide, "with full_matrices=False only", "pass full_matrices=False"),
    (svd_hermitian, r"hermitian=True\) is not differentiated", "leave hermitian=False"),
    (qr_wide, "qr of a wide matrix", "transpose"),
    (qr_complete, r"mode='complete'\) is not differentiated", "mode='reduced'"),
    (lstsq_residuals, "only the solution is differentiated", "np.sum"),
    (lstsq_singular_values, "only the solution is differentiated", "compute_uv=False"),
]


@pytest.mark.parametrize(("fn", "message", "hint"), REFUSED, ids=[f.__name__ for f, *_ in REFUSED])
def test_refused_at_the_users_line(fn, message, hint):
    """A located SrcGradError pointing at the user's call (not at srcgrad/twins.py), in
    reverse and forward mode; the run-time refusals (shapes) too."""
    x = np.random.default_rng(7).standard_normal((4, 3))
    lines, first = inspect.getsourcelines(fn)
    call = first + next(i for i, line in enumerate(lines) if "np.linalg." in line)
    for run in (lambda: srcgrad.grad(fn)(x), lambda: srcgrad.jvp(fn, (x,), (x,))):
        with pytest.raises(SrcGradError, match=message) as err:
            run()
        assert err.value.filename == __file__ and err.value.lineno == call, str(err.value)
        assert hint in (err.value.hint or "")


# --- complex matrices -------------------------------------------------------------------------

def test_det_of_a_complex_matrix_is_holomorphic_as_jax():
    """det's tangent (the cofactor matrix, conjugates of the SVD's factors), also singular."""
    r = np.random.default_rng(8)
    for a in (r.standard_normal((3, 3)) + 1j * r.standard_normal((3, 3)),
              np.outer([1.0, 1j, 2.0], [1.0, -1.0, 1j])):
        t = r.standard_normal((3, 3)) + 1j * r.standard_normal((3, 3))
        _, got = srcgrad.jvp(det, (a,), (t,))
        want = jax.jvp(jnp.linalg.det, (jnp.asarray(a),), (jnp.asarray(t),))[1]
        assert got == pytest.approx(complex(want), rel=1e-9, abs=1e-12)


def complex_eigh(x):
    return np.sum(np.linalg.eigvalsh(x + 1j * x.T))


def complex_svd(x):
    return np.sum(np.linalg.svd(x * 1j, compute_uv=False))


def complex_qr(x):
    return np.sum(np.abs(np.linalg.qr(x * 1j)[1]))


def complex_cholesky(x):
    return np.sum(np.abs(np.linalg.cholesky(x @ x.T + 4.0 * np.eye(4) + 0j)))


def complex_pinv(x):
    return np.sum(np.abs(np.linalg.pinv(x * 1j)))


def complex_lstsq(x):
    return np.sum(np.abs(np.linalg.lstsq(x * 1j, B4, rcond=None)[0]))


def complex_slogdet(x):
    return np.linalg.slogdet(x[:3] * 1j)[1]


COMPLEX = [complex_eigh, complex_svd, complex_qr, complex_cholesky, complex_pinv, complex_lstsq,
           complex_slogdet]


@pytest.mark.parametrize("fn", COMPLEX, ids=[f.__name__ for f in COMPLEX])
def test_decompositions_of_complex_matrices_are_refused(fn):
    """Their derivatives are written for real matrices (a complex one's involve conjugates):
    refused at the user's line, never a wrong number."""
    x = np.random.default_rng(9).standard_normal((4, 4))
    with pytest.raises(SrcGradError, match="of a complex matrix is not differentiated") as err:
        srcgrad.grad(fn)(x)
    assert err.value.filename == __file__
