"""Complex values and the FFT: ``real``, ``imag``, ``conj``, ``angle`` and ``np.fft.*``.

JAX's convention (``srcgrad/runtime/spectral.py``): the adjoint ``g`` of ``z`` stands for
``dz -> Re(g dz)``, so the transpose of a linear map is its plain transpose, not its
conjugate transpose, and a rule from a complex operand to a real output reads ``Re(g)``
(the adjoint of a real value may carry a meaningless imaginary part). ``cast_like(v, x)``
is ``v`` as an adjoint of ``x``: its real part where ``x`` is real.

Each FFT is linear; its transpose is an FFT again. The DFT matrix is symmetric, so the
transpose of ``fft(x, n, norm=...)`` is ``fft(g, norm=...)`` (same scale) cut or padded back to
``x``'s length (``fft_fit``); ``ifft``'s is ``ifft``. ``rfft`` keeps the first ``n // 2 + 1``
bins of ``fft``: its transpose is the real part of ``fft`` of ``g`` padded with zeros to
length ``n``. ``irfft`` reads ``Re`` of the constant (and Nyquist) bin and counts every other
bin twice (it and its conjugate): its transpose is ``conj(rfft(g))`` in the inverse scale
(``swap_norm``), times those weights 1, 2, ..., 2, 1 (``half_weights``).
"""

from __future__ import annotations

from srcgrad.rules.core import linear, rule
from srcgrad.runtime.spectral import (
    cast_like,
    fft2_axes,
    fft_axes,
    fft_fit,
    fft_len,
    fft_lens,
    half_weights,
    swap_norm,
)

# --- complex parts --------------------------------------------------------------------------------

def _real(xp, x): return xp.real(x)
def _real_t(xp, g, out, x): return cast_like(xp.real(g), x)       # Re(g Re dz) = Re(Re(g) dz)
REAL = linear("real", _real, _real_t, elementwise=True)

def _imag(xp, x): return xp.imag(x)
def _imag_t(xp, g, out, x): return cast_like(-1j * xp.real(g), x)  # g Im dz = Re(-i g dz)
IMAG = linear("imag", _imag, _imag_t, elementwise=True)

def _conj(xp, x): return xp.conj(x)
def _conj_t(xp, g, out, x): return cast_like(xp.conj(g), x)       # Re(g conj dz) = Re(conj(g) dz)
CONJ = linear("conj", _conj, _conj_t, elementwise=True)

# angle z = atan2(Im z, Re z): d angle = Im(conj(z) dz) / |z|^2 = Re(-i conj(z) dz) / |z|^2
# (nan at 0, as JAX; 0 for a real z); in degrees times 180 / pi
def _angle(xp, x, deg=False): return xp.angle(x, deg)
def _angle_jvp(xp, t, out, x, deg=False):
    return xp.imag(xp.conj(x) * t) / xp.real(x * xp.conj(x)) * 57.29577951308232 ** deg
def _angle_vjp(xp, g, out, x, deg=False):
    return cast_like(-1j * xp.real(g) * xp.conj(x) / xp.real(x * xp.conj(x))
                     * 57.29577951308232 ** deg, x)
ANGLE = rule("angle", _angle, (_angle_jvp,), (_angle_vjp,), elementwise=True)

# --- the FFT: one dimension -----------------------------------------------------------------------

def _fft(xp, x, n=None, axis=-1, norm=None): return xp.fft.fft(x, n, axis, norm)
def _fft_t(xp, g, out, x, n=None, axis=-1, norm=None):   # the DFT matrix is symmetric
    return cast_like(fft_fit(xp.fft.fft(g, None, axis, norm), x, (axis,)), x)
FFT = linear("fft", _fft, _fft_t)

def _ifft(xp, x, n=None, axis=-1, norm=None): return xp.fft.ifft(x, n, axis, norm)
def _ifft_t(xp, g, out, x, n=None, axis=-1, norm=None):
    return cast_like(fft_fit(xp.fft.ifft(g, None, axis, norm), x, (axis,)), x)
IFFT = linear("ifft", _ifft, _ifft_t)

def _rfft(xp, x, n=None, axis=-1, norm=None): return xp.fft.rfft(x, n, axis, norm)
def _rfft_t(xp, g, out, x, n=None, axis=-1, norm=None):  # g padded to n bins: fft's transpose
    return fft_fit(xp.real(xp.fft.fft(g, fft_len(x, n, axis), axis, norm)), x, (axis,))
RFFT = linear("rfft", _rfft, _rfft_t)

def _irfft(xp, x, n=None, axis=-1, norm=None): return xp.fft.irfft(x, n, axis, norm)
def _irfft_t(xp, g, out, x, n=None, axis=-1, norm=None):  # each inner bin counted twice
    return cast_like(fft_fit(xp.conj(xp.fft.rfft(xp.real(g), None, axis, swap_norm(norm)))
                             * half_weights(g, axis), x, (axis,)), x)
IRFFT = linear("irfft", _irfft, _irfft_t)

# --- the FFT: several dimensions ------------------------------------------------------------------

def _fftn(xp, x, s=None, axes=None, norm=None): return xp.fft.fftn(x, s, axes, norm)
def _fftn_t(xp, g, out, x, s=None, axes=None, norm=None):
    return cast_like(fft_fit(xp.fft.fftn(g, None, fft_axes(x, s, axes), norm), x,
                             fft_axes(x, s, axes)), x)
FFTN = linear("fftn", _fftn, _fftn_t)

def _ifftn(xp, x, s=None, axes=None, norm=None): return xp.fft.ifftn(x, s, axes, norm)
def _ifftn_t(xp, g, out, x, s=None, axes=None, norm=None):
    return cast_like(fft_fit(xp.fft.ifftn(g, None, fft_axes(x, s, axes), norm), x,
                             fft_axes(x, s, axes)), x)
IFFTN = linear("ifftn", _ifftn, _ifftn_t)

def _rfftn(xp, x, s=None, axes=None, norm=None): return xp.fft.rfftn(x, s, axes, norm)
def _rfftn_t(xp, g, out, x, s=None, axes=None, norm=None):
    return fft_fit(xp.real(xp.fft.fftn(g, fft_lens(x, s, fft_axes(x, s, axes)),
                                       fft_axes(x, s, axes), norm)), x, fft_axes(x, s, axes))
RFFTN = linear("rfftn", _rfftn, _rfftn_t)

def _irfftn(xp, x, s=None, axes=None, norm=None): return xp.fft.irfftn(x, s, axes, norm)
def _irfftn_t(xp, g, out, x, s=None, axes=None, norm=None):
    return cast_like(fft_fit(xp.conj(xp.fft.rfftn(xp.real(g), None, fft_axes(x, s, axes),
                                                  swap_norm(norm)))
                             * half_weights(g, fft_axes(x, s, axes)[-1]), x,
                             fft_axes(x, s, axes)), x)
IRFFTN = linear("irfftn", _irfftn, _irfftn_t)

# the two-dimensional ones: the n-dimensional ones over axes=(-2, -1) by default
def _fft2(xp, x, s=None, axes=(-2, -1), norm=None): return xp.fft.fft2(x, s, axes, norm)
def _fft2_t(xp, g, out, x, s=None, axes=(-2, -1), norm=None):
    return cast_like(fft_fit(xp.fft.fftn(g, None, fft2_axes(x, s, axes), norm), x,
                             fft2_axes(x, s, axes)), x)
FFT2 = linear("fft2", _fft2, _fft2_t)

def _ifft2(xp, x, s=None, axes=(-2, -1), norm=None): return xp.fft.ifft2(x, s, axes, norm)
def _ifft2_t(xp, g, out, x, s=None, axes=(-2, -1), norm=None):
    return cast_like(fft_fit(xp.fft.ifftn(g, None, fft2_axes(x, s, axes), norm), x,
                             fft2_axes(x, s, axes)), x)
IFFT2 = linear("ifft2", _ifft2, _ifft2_t)

def _rfft2(xp, x, s=None, axes=(-2, -1), norm=None): return xp.fft.rfft2(x, s, axes, norm)
def _rfft2_t(xp, g, out, x, s=None, axes=(-2, -1), norm=None):
    return fft_fit(xp.real(xp.fft.fftn(g, fft_lens(x, s, fft2_axes(x, s, axes)),
                                       fft2_axes(x, s, axes), norm)), x, fft2_axes(x, s, axes))
RFFT2 = linear("rfft2", _rfft2, _rfft2_t)

def _irfft2(xp, x, s=None, axes=(-2, -1), norm=None): return xp.fft.irfft2(x, s, axes, norm)
def _irfft2_t(xp, g, out, x, s=None, axes=(-2, -1), norm=None):
    return cast_like(fft_fit(xp.conj(xp.fft.rfftn(xp.real(g), None, fft2_axes(x, s, axes),
                                                  swap_norm(norm)))
                             * half_weights(g, fft2_axes(x, s, axes)[-1]), x,
                             fft2_axes(x, s, axes)), x)
IRFFT2 = linear("irfft2", _irfft2, _irfft2_t)

# fftshift rolls each axis by n // 2, ifftshift back: each the other's transpose
def _fftshift(xp, x, axes=None): return xp.fft.fftshift(x, axes)
def _fftshift_t(xp, g, out, x, axes=None): return xp.fft.ifftshift(g, axes)
FFTSHIFT = linear("fftshift", _fftshift, _fftshift_t)

def _ifftshift(xp, x, axes=None): return xp.fft.ifftshift(x, axes)
def _ifftshift_t(xp, g, out, x, axes=None): return xp.fft.fftshift(g, axes)
IFFTSHIFT = linear("ifftshift", _ifftshift, _ifftshift_t)

FFT_NAMES = ("fft", "ifft", "rfft", "irfft", "fftn", "ifftn", "rfftn", "irfftn", "fft2", "ifft2",
             "rfft2", "irfft2", "fftshift", "ifftshift")

RULES = [REAL, IMAG, CONJ, ANGLE, FFT, IFFT, RFFT, IRFFT, FFTN, IFFTN, RFFTN, IRFFTN, FFT2, IFFT2,
         RFFT2, IRFFT2, FFTSHIFT, IFFTSHIFT]
