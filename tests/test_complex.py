"""Complex values end to end: real losses of real inputs through complex intermediate values
(power spectra, spectral filters), complex arguments (JAX's convention), both modes and
second order against jax, the conventions at 0, and the refusals. The rules one by one are in
test_rules.py and test_forward_rules.py."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.fft

import srcgrad
from srcgrad import SrcGradError

jax.config.update("jax_enable_x64", True)


def _jnp(fn):
    """``fn`` with its global ``np`` bound to jax.numpy."""
    import types
    return types.FunctionType(fn.__code__, {**fn.__globals__, "np": jnp}, fn.__name__)


def power_spectrum(x):
    return np.sum(np.abs(np.fft.rfft(x)) ** 2)


def spectral_filter(x, h):
    return np.sum(np.real(np.fft.ifft(np.fft.fft(x) * h)) ** 2)


def spectral_loss(x, target):
    """A spectral loss: log-magnitudes of an ortho rfft against a target, and a phase term."""
    y = np.fft.rfft(x, norm="ortho")
    return np.sum((np.log(np.abs(y) + 1e-3) - target) ** 2) + 0.1 * np.sum(np.cos(np.angle(y)))


def image_energy(x):
    y = np.fft.fft2(x)
    return np.sum(y.real ** 2 - y.imag * np.conj(y).imag) / x.size + np.sum(
        np.fft.irfftn(np.fft.rfftn(x, axes=(0, 1)) * 0.5j ** 0.5, s=x.shape, axes=(0, 1)) ** 3)


CASES = [
    (power_spectrum, lambda r: (r.standard_normal(8),)),
    (power_spectrum, lambda r: (r.standard_normal(7),)),
    (spectral_filter, lambda r: (r.standard_normal(6), r.standard_normal(6)
                                 + 1j * r.standard_normal(6))),
    (spectral_loss, lambda r: (r.standard_normal(9), r.standard_normal(5))),
    (image_energy, lambda r: (r.standard_normal((3, 4)),)),
]
IDS = [f"{f.__name__}-{k}" for k, (f, _) in enumerate(CASES)]


@pytest.mark.parametrize("k", range(len(CASES)), ids=IDS)
def test_real_loss_through_complex_values_matches_jax(k):
    """grad (real, as jax.grad's), jvp and the Hessian (forward over reverse and reverse over
    forward) against jax."""
    fn, make = CASES[k]
    r = np.random.default_rng(100 + k)
    args = make(r)
    x = args[0]
    jargs = [jnp.asarray(a) for a in args]
    g = srcgrad.grad(fn)(*args)
    assert g.dtype == np.float64
    np.testing.assert_allclose(g, jax.grad(_jnp(fn))(*jargs), rtol=1e-10, atol=1e-12)
    v = r.standard_normal(x.shape)
    _, t = srcgrad.jvp(fn, tuple(args), (v, *(np.zeros_like(a) for a in args[1:])))
    _, want = jax.jvp(_jnp(fn), tuple(jargs), (jnp.asarray(v), *(jnp.zeros_like(a)
                                                                 for a in jargs[1:])))
    assert not np.iscomplexobj(t)
    assert t == pytest.approx(float(want), rel=1e-10, abs=1e-12)
    h_want = np.asarray(jax.hessian(_jnp(fn))(*jargs)).reshape(x.size, x.size)
    for mode in ("forward-over-reverse", "reverse-over-forward"):
        h = np.asarray(srcgrad.hessian(fn, mode=mode)(*args)).reshape(x.size, x.size)
        assert not np.iscomplexobj(h)
        np.testing.assert_allclose(h, h_want, rtol=1e-9, atol=1e-10, err_msg=mode)


def test_grad_of_grad_through_an_fft():
    """The gradient's code, inlined and differentiated again (grad of a function calling
    grad): the directional second derivative, as jax's."""
    r = np.random.default_rng(7)
    x, v = r.standard_normal(6), r.standard_normal(6)
    inner = srcgrad.grad(power_spectrum)

    def along(x, v):
        return np.sum(inner(x) * v)

    got = srcgrad.grad(along)(x, v)
    want = jax.grad(lambda x: jnp.sum(jax.grad(_jnp(power_spectrum))(x) * v))(jnp.asarray(x))
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


def test_the_jax_backend_and_float32():
    r = np.random.default_rng(8)
    x = r.standard_normal(10)
    want = jax.grad(_jnp(power_spectrum))(jnp.asarray(x))
    for backend, jit in (("jax", False), ("jax", True)):
        got = srcgrad.grad(power_spectrum, backend=backend, jit=jit)(x)
        np.testing.assert_allclose(np.asarray(got), want, rtol=1e-10)
    g32 = srcgrad.grad(power_spectrum)(x.astype(np.float32))
    assert g32.dtype == np.float32
    np.testing.assert_allclose(g32, want, rtol=1e-5)  # float32's FFT: rounding of 1e-7 per bin


# --- complex arguments: JAX's convention -----------------------------------------------------

def abs_squared(z):
    return np.sum(np.abs(z) ** 2)


def test_a_complex_argument_gets_jaxs_gradient():
    """jax.grad of a real function of z = x + iy is df/dx - i df/dy, the conjugate of the
    gradient as one complex number: 2 conj(z) for |z|^2; srcgrad returns the same."""
    z = np.array([1.0 + 2.0j, -0.5j, 3.0])
    g = srcgrad.grad(abs_squared)(z)
    assert g.dtype == np.complex128
    np.testing.assert_allclose(g, 2 * np.conj(z), rtol=1e-12)
    np.testing.assert_allclose(g, jax.grad(_jnp(abs_squared))(jnp.asarray(z)), rtol=1e-12)


def filtered_energy(z, h):
    return np.sum(np.abs(np.fft.ifft(np.fft.fft(z, n=8) * h, norm="ortho")) ** 2) + np.sum(
        np.angle(z + 2.0) * np.imag(z))


def test_complex_arguments_through_ffts_match_jax():
    r = np.random.default_rng(9)
    z = r.standard_normal(5) + 1j * r.standard_normal(5)
    h = r.standard_normal(8)
    got = srcgrad.grad(filtered_energy, wrt=(0, 1))(z, h)
    want = jax.grad(_jnp(filtered_energy), argnums=(0, 1))(jnp.asarray(z), jnp.asarray(h))
    assert got[0].dtype == np.complex128 and got[1].dtype == np.float64
    for a, b in zip(got, want, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)
    jitted = srcgrad.grad(filtered_energy, wrt=(0, 1), backend="jax", jit=True)(z, h)
    for a, b in zip(jitted, want, strict=True):
        np.testing.assert_allclose(np.asarray(a), b, rtol=1e-10, atol=1e-12)
    tz = r.standard_normal(5) + 1j * r.standard_normal(5)
    _, t = srcgrad.jvp(filtered_energy, (z, h), (tz, np.zeros(8)))
    _, tj = jax.jvp(_jnp(filtered_energy), (jnp.asarray(z), jnp.asarray(h)),
                    (jnp.asarray(tz), jnp.zeros(8)))
    assert t == pytest.approx(float(tj), rel=1e-10)


# --- conventions at 0 -------------------------------------------------------------------------

def sum_abs(z):
    return np.sum(np.abs(z))


def sum_angle(z):
    return np.sum(np.angle(z))


def test_abs_at_zero_follows_jax():
    """abs at a complex 0: derivative 0; at a real 0: 1 (both JAX's)."""
    z = np.array([0j, 3.0 + 4.0j])
    g = srcgrad.grad(sum_abs)(z)
    np.testing.assert_allclose(g, [0.0, 0.6 - 0.8j], rtol=1e-12)
    np.testing.assert_allclose(g, jax.grad(_jnp(sum_abs))(jnp.asarray(z)), rtol=1e-12)
    assert srcgrad.jvp(sum_abs, (z,), (np.array([1.0 + 1.0j, 0.0]),))[1] == 0.0
    np.testing.assert_allclose(srcgrad.grad(sum_abs)(np.array([0.0, -2.0])), [1.0, -1.0])


def test_angle_follows_jax():
    """angle: -i conj(z) / |z|^2, nan at 0 (atan2's 0/0, as jax), 0 along a real axis."""
    z = np.array([1.0 + 2.0j, 0j])
    with np.errstate(invalid="ignore"):   # 0 / 0 at 0
        g = srcgrad.grad(sum_angle)(z)
    np.testing.assert_allclose(g[0], -1j * np.conj(z[0]) / 5, rtol=1e-12)
    assert np.isnan(g[1])
    want = jax.grad(_jnp(sum_angle))(jnp.asarray(z))
    np.testing.assert_allclose(g, want, rtol=1e-12)
    np.testing.assert_allclose(srcgrad.grad(sum_angle)(np.array([2.0, -1.0])), [0.0, 0.0])


# --- refusals -----------------------------------------------------------------------------------

def norm_of_complex(x):
    return np.linalg.norm(x * 1j)


def std_of_complex(x):
    return np.std(np.fft.fft(x))


def hfft_of(x):
    return np.sum(np.fft.hfft(x))


@pytest.mark.parametrize(("fn", "message"), [
    (norm_of_complex, "np.linalg.norm of a complex array is not differentiated"),
    (std_of_complex, "np.var or np.std of a complex array is not differentiated"),
    (hfft_of, r"np.fft.hfft\(\): it has no derivative rule"),
])
def test_complex_corners_not_differentiated_are_refused_at_the_users_line(fn, message):
    x = np.random.default_rng(10).standard_normal(4)
    with pytest.raises(SrcGradError, match=message) as err:
        srcgrad.grad(fn)(x)
    assert err.value.filename == __file__
    assert err.value.lineno == fn.__code__.co_firstlineno + 1


def beside_a_complex_argument(z, x):
    return np.sum(np.abs(z + x) ** 3)


def test_every_api_gives_a_real_argument_a_real_derivative_beside_a_complex_one():
    """The adjoint of x here carries an imaginary part that means nothing (Im of the unit
    complex number of z + x: no complex primitive in sight, so not cast in the generated code):
    grad, vjp, jacobian, hvp and hessian all give its real part, as jax."""
    r = np.random.default_rng(11)
    z, x = r.standard_normal(3) + 1j * r.standard_normal(3), r.standard_normal(3)
    jz, jx = jnp.asarray(z), jnp.asarray(x)
    fj = _jnp(beside_a_complex_argument)
    want = np.asarray(jax.grad(fj, argnums=1)(jz, jx))
    got = [srcgrad.grad(beside_a_complex_argument, wrt=1)(z, x),
           srcgrad.vjp(beside_a_complex_argument, z, x)[1](1.0)[1],
           srcgrad.jacobian(beside_a_complex_argument, wrt=1)(z, x)]
    for g in got:
        assert g.dtype == np.float64
        np.testing.assert_allclose(g, want, rtol=1e-12)
    h = srcgrad.hessian(beside_a_complex_argument, wrt=1)(z, x)
    assert h.dtype == np.float64
    np.testing.assert_allclose(h, jax.hessian(fj, argnums=1)(jz, jx), rtol=1e-10)


def scipy_spectrum(x):
    freqs = np.fft.rfftfreq(x.shape[0])   # of an int: no derivative, a call kept as it is
    return np.sum(np.abs(scipy.fft.rfft(x, norm="ortho")) ** 2 * freqs) + np.sum(
        scipy.fft.irfftn(scipy.fft.fftshift(scipy.fft.fftn(x[:8].reshape(2, 4))).real * 1j,
                         s=(2, 4), axes=(0, 1)) ** 2)


def scipy_workers(x):
    return np.sum(np.abs(scipy.fft.fft(x, workers=2)))


def test_scipy_fft_is_numpys():
    """scipy.fft's FFTs are the same primitives (the same values: pocketfft both); an
    argument NumPy's do not take (workers=) is refused at the user's line."""
    x = np.random.default_rng(12).standard_normal(9)

    def twin(x):
        freqs = jnp.fft.rfftfreq(x.shape[0])
        return jnp.sum(jnp.abs(jnp.fft.rfft(x, norm="ortho")) ** 2 * freqs) + jnp.sum(
            jnp.fft.irfftn(jnp.fft.fftshift(jnp.fft.fftn(x[:8].reshape(2, 4))).real * 1j,
                           s=(2, 4), axes=(0, 1)) ** 2)

    np.testing.assert_allclose(srcgrad.grad(scipy_spectrum)(x), jax.grad(twin)(jnp.asarray(x)),
                               rtol=1e-10, atol=1e-12)
    with pytest.raises(SrcGradError, match="unsupported arguments for fft") as err:
        srcgrad.grad(scipy_workers)(x)
    assert err.value.filename == __file__
    assert err.value.lineno == scipy_workers.__code__.co_firstlineno + 1
