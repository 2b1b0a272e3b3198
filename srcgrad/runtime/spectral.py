"""Complex values and the FFT: the helpers their rules call.

srcgrad follows JAX's convention for complex values: the adjoint ``g`` of a value ``z`` is the
covector ``dz -> Re(g dz)`` (no conjugate), so a holomorphic primitive's adjoint is ``g f'(z)``,
a real argument's gradient is the real part of its adjoint, and a complex argument's is
``df/dx - i df/dy``, the conjugate of the gradient written as one complex number (what
``jax.grad`` returns). The adjoint of a real value may carry an imaginary part that means
nothing (``x * 1j``'s adjoint of ``x`` before its real part is taken); every rule from a
complex operand to a real output (``real``, ``abs``, ``angle``) reads only ``Re(g)``, and the
gradient of a real argument is its real part, so it never reaches a result.
"""

from __future__ import annotations

import numpy as np

from srcgrad.runtime.arrays import _xp


def _is_complex(x) -> bool:
    dtype = getattr(x, "dtype", None)
    if dtype is None:
        return isinstance(x, complex)
    return np.dtype(dtype).kind == "c"


def cast_like(v, x):
    """``v`` as an adjoint or tangent of ``x``: its real part where ``x`` is real, ``v`` (as a
    complex value) where ``x`` is complex. Linear (over the reals) and its own transpose."""
    if _is_complex(x):   # complex, as JAX's adjoints of complex values
        return v if _is_complex(v) else v + 0j
    return _xp(v).real(v) if _is_complex(v) else v


def unit(x):
    """The derivative of ``|x|``: ``sign(x)``, and 1 at 0, for a real ``x`` (JAX's convention);
    ``conj(x) / |x|``, and 0 at 0, for a complex one (JAX's too): ``d|x| = Re(unit(x) dx)``."""
    xp = _xp(x)
    if _is_complex(x):
        size = xp.abs(x)
        return xp.where(size == 0, 0, xp.conj(x) / xp.where(size == 0, 1, size))
    return xp.sign(x) + (x == 0)


def _axes(v, axes):
    nd = np.ndim(v)
    if axes is None:
        return tuple(range(nd))
    if isinstance(axes, (int, np.integer)):
        axes = (axes,)
    return tuple(int(a) % nd for a in axes)


def fft_fit(v, x, axes=None):
    """``v`` cut or padded with zeros along ``axes`` (one axis, a tuple, None: all) to the
    lengths ``x`` has there: the transpose of the padding or cutting that an FFT's ``n``/``s``
    does to its input. Linear in ``v``."""
    xp = _xp(v)
    ax = _axes(v, axes)
    vshape, xshape = np.shape(v), np.shape(x)
    if all(vshape[a] == xshape[a] for a in ax):
        return v
    index = [slice(None)] * len(vshape)
    widths = [(0, 0)] * len(vshape)
    for a in ax:
        index[a] = slice(0, min(vshape[a], xshape[a]))
        widths[a] = (0, max(xshape[a] - vshape[a], 0))
    return xp.pad(v[tuple(index)], widths)


def fft_len(x, n=None, axis=-1):
    """The FFT length along ``axis``: ``n``, or ``x``'s length there."""
    return np.shape(x)[axis] if n is None else int(n)


def fft_lens(x, s=None, axes=None):
    """The FFT lengths ``s`` along ``axes`` (``None``: all axes, or the last ``len(s)``), or
    ``x``'s lengths there."""
    if s is not None:
        return tuple(int(k) for k in s)
    shp = np.shape(x)
    if axes is None:
        return tuple(shp)
    return tuple(shp[a] for a in axes)


def fft_axes(x, s=None, axes=None):
    """The axes an n-dimensional FFT transforms: ``axes``, else the last ``len(s)``, else all."""
    if axes is not None:
        return tuple(axes)
    nd = np.ndim(x)
    return tuple(range(nd - len(s), nd)) if s is not None else tuple(range(nd))


def fft2_axes(x, s=None, axes=(-2, -1)):
    """:func:`fft_axes` with the two-dimensional FFTs' default ``axes=(-2, -1)``."""
    return fft_axes(x, s, axes)


def swap_norm(norm=None):
    """The ``norm`` of the FFT in the other direction with the same scale: an inverse FFT's
    ``1/n`` is the forward one's ``norm="forward"``."""
    return {None: "forward", "backward": "forward", "forward": "backward",
            "ortho": "ortho"}[norm]


def half_weights(g, axis=-1):
    """The weights of the bins ``rfft`` keeps of a real signal of ``g``'s length ``n`` along
    ``axis``: 1 for the constant bin (and the Nyquist bin where ``n`` is even), 2 for the
    others, each of which stands for itself and its conjugate; shaped to broadcast along
    ``axis``."""
    nd = np.ndim(g)
    n = np.shape(g)[axis]
    dtype = np.zeros(0, getattr(g, "dtype", np.float64)).real.dtype   # g's real precision
    w = np.full(n // 2 + 1, 2.0, dtype if dtype.kind == "f" else np.float64)
    w[0] = 1.0
    if n % 2 == 0:
        w[-1] = 1.0
    shp = [1] * nd
    shp[axis % nd] = n // 2 + 1
    return _xp(g).asarray(w.reshape(shp))
