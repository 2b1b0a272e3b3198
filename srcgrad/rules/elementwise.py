"""Elementwise primitives: arithmetic, powers, exponentials, trigonometry, selection.

Each rule's comment states its math. ``unbroadcast`` sums an adjoint back to its operand's
shape; the transformer drops it where it knows both shapes are equal.
"""

from __future__ import annotations

from srcgrad.rules.core import Rule, linear, nondiff, rule
from srcgrad.runtime.broadcasting import unbroadcast
from srcgrad.runtime.reductions import clip_share, log_base
from srcgrad.runtime.spectral import cast_like, unit


def _unary(name, primal, jvp, vjp) -> Rule:  # pragma: no mutate block
    return rule(name, primal, (jvp,), (vjp,), elementwise=True)


# --- arithmetic -----------------------------------------------------------------------------

def _neg(xp, x): return -x
def _neg_t(xp, g, out, x): return -g                        # d(-x) = -dx
NEG = linear("negative", _neg, _neg_t, elementwise=True)

def _pos(xp, x): return +x
def _pos_t(xp, g, out, x): return g
POS = linear("positive", _pos, _pos_t, elementwise=True)

def _add(xp, a, b): return a + b
def _add_jvp_a(xp, t, out, a, b): return t                  # dz = da + db
def _add_jvp_b(xp, t, out, a, b): return t
def _add_vjp_a(xp, g, out, a, b): return unbroadcast(g, a)  # a_bar += g
def _add_vjp_b(xp, g, out, a, b): return unbroadcast(g, b)  # b_bar += g
ADD = rule("add", _add, (_add_jvp_a, _add_jvp_b), (_add_vjp_a, _add_vjp_b), elementwise=True)

def _sub(xp, a, b): return a - b
def _sub_jvp_b(xp, t, out, a, b): return -t                 # dz = da - db
def _sub_vjp_b(xp, g, out, a, b): return unbroadcast(-g, b)
SUB = rule("subtract", _sub, (_add_jvp_a, _sub_jvp_b), (_add_vjp_a, _sub_vjp_b), elementwise=True)

def _mul(xp, a, b): return a * b
def _mul_jvp_a(xp, t, out, a, b): return t * b              # dz = b da + a db
def _mul_jvp_b(xp, t, out, a, b): return a * t
def _mul_vjp_a(xp, g, out, a, b): return unbroadcast(g * b, a)
def _mul_vjp_b(xp, g, out, a, b): return unbroadcast(a * g, b)
MUL = rule("multiply", _mul, (_mul_jvp_a, _mul_jvp_b), (_mul_vjp_a, _mul_vjp_b), elementwise=True)

def _div(xp, a, b): return a / b
def _div_jvp_a(xp, t, out, a, b): return t / b              # dz = da / b - out db / b
def _div_jvp_b(xp, t, out, a, b): return -t * out / b
def _div_vjp_a(xp, g, out, a, b): return unbroadcast(g / b, a)
def _div_vjp_b(xp, g, out, a, b): return unbroadcast(-g * out / b, b)
DIV = rule("divide", _div, (_div_jvp_a, _div_jvp_b), (_div_vjp_a, _div_vjp_b), elementwise=True)

def _mod(xp, a, b): return a % b
def _mod_jvp_b(xp, t, out, a, b): return -t * xp.floor(a / b)   # a % b = a - b floor(a / b)
def _mod_vjp_b(xp, g, out, a, b): return unbroadcast(-g * xp.floor(a / b), b)
MOD = rule("mod", _mod, (_add_jvp_a, _mod_jvp_b), (_add_vjp_a, _mod_vjp_b), elementwise=True)

def _pow(xp, a, b): return a ** b
def _pow_jvp_a(xp, t, out, a, b): return t * b * a ** (b - 1)    # dz = b a^(b-1) da
def _pow_jvp_b(xp, t, out, a, b): return t * out * log_base(a)  # + log(a) a^b db
def _pow_vjp_a(xp, g, out, a, b): return unbroadcast(g * b * a ** (b - 1), a)
def _pow_vjp_b(xp, g, out, a, b): return unbroadcast(g * out * log_base(a), b)
POW = rule("power", _pow, (_pow_jvp_a, _pow_jvp_b), (_pow_vjp_a, _pow_vjp_b), elementwise=True)

def _square(xp, x): return xp.square(x)
def _square_d(xp, g, out, x): return g * 2 * x              # d(x^2) = 2 x dx
SQUARE = _unary("square", _square, _square_d, _square_d)

def _reciprocal(xp, x): return xp.reciprocal(x)
def _reciprocal_d(xp, g, out, x): return -g * out ** 2      # d(1/x) = -dx / x^2
RECIPROCAL = _unary("reciprocal", _reciprocal, _reciprocal_d, _reciprocal_d)

def _sqrt(xp, x): return xp.sqrt(x)
def _sqrt_d(xp, g, out, x): return g / (2 * out)            # d sqrt(x) = dx / (2 sqrt(x))
SQRT = _unary("sqrt", _sqrt, _sqrt_d, _sqrt_d)

def _cbrt(xp, x): return xp.cbrt(x)
def _cbrt_d(xp, g, out, x): return g / (3 * out ** 2)       # d x^(1/3) = dx / (3 x^(2/3))
CBRT = _unary("cbrt", _cbrt, _cbrt_d, _cbrt_d)

def _abs(xp, x): return xp.abs(x)
# d|x| = Re(unit(x) dx): sign(x) dx for a real x, 1 at 0 there; conj(x) / |x| for a complex x,
# 0 at 0 (JAX's conventions); the adjoint of the real |x| reads Re(g): cast_like(g, out)
def _abs_jvp(xp, t, out, x): return cast_like(unit(x) * t, out)
def _abs_vjp(xp, g, out, x): return cast_like(g, out) * unit(x)
ABS = _unary("absolute", _abs, _abs_jvp, _abs_vjp)

# --- exponentials and logarithms ------------------------------------------------------------

def _exp(xp, x): return xp.exp(x)
def _exp_d(xp, g, out, x): return g * out                   # d e^x = e^x dx
EXP = _unary("exp", _exp, _exp_d, _exp_d)

def _exp2(xp, x): return xp.exp2(x)
def _exp2_d(xp, g, out, x): return g * out * 0.6931471805599453   # d 2^x = ln2 2^x dx
EXP2 = _unary("exp2", _exp2, _exp2_d, _exp2_d)

def _expm1(xp, x): return xp.expm1(x)
def _expm1_d(xp, g, out, x): return g * (out + 1)           # d (e^x - 1) = e^x dx
EXPM1 = _unary("expm1", _expm1, _expm1_d, _expm1_d)

def _log(xp, x): return xp.log(x)
def _log_d(xp, g, out, x): return g / x                     # d ln x = dx / x
LOG = _unary("log", _log, _log_d, _log_d)

def _log2(xp, x): return xp.log2(x)
def _log2_d(xp, g, out, x): return g / (x * 0.6931471805599453)  # d log2 x = dx / (x ln2)
LOG2 = _unary("log2", _log2, _log2_d, _log2_d)

def _log10(xp, x): return xp.log10(x)
def _log10_d(xp, g, out, x): return g / (x * 2.302585092994046)  # d log10 x = dx / (x ln10)
LOG10 = _unary("log10", _log10, _log10_d, _log10_d)

def _log1p(xp, x): return xp.log1p(x)
def _log1p_d(xp, g, out, x): return g / (1 + x)             # d ln(1 + x) = dx / (1 + x)
LOG1P = _unary("log1p", _log1p, _log1p_d, _log1p_d)

def _logaddexp(xp, a, b): return xp.logaddexp(a, b)
def _lae_jvp_a(xp, t, out, a, b): return t * xp.exp(a - out)    # dz = e^(a-z) da + e^(b-z) db
def _lae_jvp_b(xp, t, out, a, b): return t * xp.exp(b - out)
def _lae_vjp_a(xp, g, out, a, b): return unbroadcast(g * xp.exp(a - out), a)
def _lae_vjp_b(xp, g, out, a, b): return unbroadcast(g * xp.exp(b - out), b)
LOGADDEXP = rule("logaddexp", _logaddexp, (_lae_jvp_a, _lae_jvp_b), (_lae_vjp_a, _lae_vjp_b),
                 elementwise=True)

# --- trigonometric and hyperbolic -----------------------------------------------------------

def _sin(xp, x): return xp.sin(x)
def _sin_d(xp, g, out, x): return g * xp.cos(x)             # d sin x = cos x dx
SIN = _unary("sin", _sin, _sin_d, _sin_d)

def _cos(xp, x): return xp.cos(x)
def _cos_d(xp, g, out, x): return -g * xp.sin(x)            # d cos x = -sin x dx
COS = _unary("cos", _cos, _cos_d, _cos_d)

def _tan(xp, x): return xp.tan(x)
def _tan_d(xp, g, out, x): return g * (1 + out ** 2)        # d tan x = (1 + tan^2 x) dx
TAN = _unary("tan", _tan, _tan_d, _tan_d)

def _arcsin(xp, x): return xp.arcsin(x)
def _arcsin_d(xp, g, out, x): return g / xp.sqrt(1 - x ** 2)    # dx / sqrt(1 - x^2)
ARCSIN = _unary("arcsin", _arcsin, _arcsin_d, _arcsin_d)

def _arccos(xp, x): return xp.arccos(x)
def _arccos_d(xp, g, out, x): return -g / xp.sqrt(1 - x ** 2)   # -dx / sqrt(1 - x^2)
ARCCOS = _unary("arccos", _arccos, _arccos_d, _arccos_d)

def _arctan(xp, x): return xp.arctan(x)
def _arctan_d(xp, g, out, x): return g / (1 + x ** 2)       # dx / (1 + x^2)
ARCTAN = _unary("arctan", _arctan, _arctan_d, _arctan_d)

def _arctan2(xp, a, b): return xp.arctan2(a, b)
# dz = (b da - a db) / (a^2 + b^2)
def _at2_jvp_a(xp, t, out, a, b): return t * b / (a ** 2 + b ** 2)
def _at2_jvp_b(xp, t, out, a, b): return -t * a / (a ** 2 + b ** 2)
def _at2_vjp_a(xp, g, out, a, b): return unbroadcast(g * b / (a ** 2 + b ** 2), a)
def _at2_vjp_b(xp, g, out, a, b): return unbroadcast(-g * a / (a ** 2 + b ** 2), b)
ARCTAN2 = rule("arctan2", _arctan2, (_at2_jvp_a, _at2_jvp_b), (_at2_vjp_a, _at2_vjp_b),
               elementwise=True)

def _hypot(xp, a, b): return xp.hypot(a, b)
def _hypot_jvp_a(xp, t, out, a, b): return t * a / out      # dz = (a da + b db) / z
def _hypot_jvp_b(xp, t, out, a, b): return t * b / out
def _hypot_vjp_a(xp, g, out, a, b): return unbroadcast(g * a / out, a)
def _hypot_vjp_b(xp, g, out, a, b): return unbroadcast(g * b / out, b)
HYPOT = rule("hypot", _hypot, (_hypot_jvp_a, _hypot_jvp_b), (_hypot_vjp_a, _hypot_vjp_b),
             elementwise=True)

def _sinh(xp, x): return xp.sinh(x)
def _sinh_d(xp, g, out, x): return g * xp.cosh(x)           # d sinh x = cosh x dx
SINH = _unary("sinh", _sinh, _sinh_d, _sinh_d)

def _cosh(xp, x): return xp.cosh(x)
def _cosh_d(xp, g, out, x): return g * xp.sinh(x)           # d cosh x = sinh x dx
COSH = _unary("cosh", _cosh, _cosh_d, _cosh_d)

def _tanh(xp, x): return xp.tanh(x)
def _tanh_d(xp, g, out, x): return g * (1 - out ** 2)       # d tanh x = (1 - tanh^2 x) dx
TANH = _unary("tanh", _tanh, _tanh_d, _tanh_d)

def _arcsinh(xp, x): return xp.arcsinh(x)
def _arcsinh_d(xp, g, out, x): return g / xp.sqrt(x ** 2 + 1)   # dx / sqrt(x^2 + 1)
ARCSINH = _unary("arcsinh", _arcsinh, _arcsinh_d, _arcsinh_d)

def _arccosh(xp, x): return xp.arccosh(x)
def _arccosh_d(xp, g, out, x): return g / xp.sqrt(x ** 2 - 1)   # dx / sqrt(x^2 - 1)
ARCCOSH = _unary("arccosh", _arccosh, _arccosh_d, _arccosh_d)

def _arctanh(xp, x): return xp.arctanh(x)
def _arctanh_d(xp, g, out, x): return g / (1 - x ** 2)      # dx / (1 - x^2)
ARCTANH = _unary("arctanh", _arctanh, _arctanh_d, _arctanh_d)

# --- selection ------------------------------------------------------------------------------
# At ties, maximum/minimum split the derivative evenly between the operands, as JAX does (and
# central differences see): np.maximum(x, 0.0) and np.maximum(0.0, x) both have 1/2 at x == 0.

def _maximum(xp, a, b): return xp.maximum(a, b)
def _max_jvp_a(xp, t, out, a, b): return t * (a > b) + 0.5 * t * (a == b)  # dz = [a > b] da
def _max_jvp_b(xp, t, out, a, b): return t * (b > a) + 0.5 * t * (a == b)  #  + [b > a] db
def _max_vjp_a(xp, g, out, a, b): return unbroadcast(g * (a > b) + 0.5 * g * (a == b), a)
def _max_vjp_b(xp, g, out, a, b): return unbroadcast(g * (b > a) + 0.5 * g * (a == b), b)
MAXIMUM = rule("maximum", _maximum, (_max_jvp_a, _max_jvp_b), (_max_vjp_a, _max_vjp_b),
               elementwise=True)

def _minimum(xp, a, b): return xp.minimum(a, b)
def _min_jvp_a(xp, t, out, a, b): return t * (a < b) + 0.5 * t * (a == b)  # dz = [a < b] da
def _min_jvp_b(xp, t, out, a, b): return t * (b < a) + 0.5 * t * (a == b)  #  + [b < a] db
def _min_vjp_a(xp, g, out, a, b): return unbroadcast(g * (a < b) + 0.5 * g * (a == b), a)
def _min_vjp_b(xp, g, out, a, b): return unbroadcast(g * (b < a) + 0.5 * g * (a == b), b)
MINIMUM = rule("minimum", _minimum, (_min_jvp_a, _min_jvp_b), (_min_vjp_a, _min_vjp_b),
               elementwise=True)

# np.clip(x, lo, hi) as np.minimum(np.maximum(x, lo), hi): 1/2 at a bound, as JAX's
def _clip(xp, x, a_min=None, a_max=None): return xp.clip(x, a_min, a_max)
def _clip_jvp_x(xp, t, out, x, lo, hi): return t * clip_share(x, lo, hi)   # dz = [lo < x < hi] dx
def _clip_jvp_lo(xp, t, out, x, lo, hi): return t * clip_share(x, lo, hi, "lo")  # + [x < lo] dlo
def _clip_jvp_hi(xp, t, out, x, lo, hi): return t * clip_share(x, lo, hi, "hi")  # + [x > hi] dhi
def _clip_vjp_x(xp, g, out, x, lo, hi): return unbroadcast(g * clip_share(x, lo, hi), x)
def _clip_vjp_lo(xp, g, out, x, lo, hi): return unbroadcast(g * clip_share(x, lo, hi, "lo"), lo)
def _clip_vjp_hi(xp, g, out, x, lo, hi): return unbroadcast(g * clip_share(x, lo, hi, "hi"), hi)
CLIP = rule("clip", _clip, (_clip_jvp_x, _clip_jvp_lo, _clip_jvp_hi),
            (_clip_vjp_x, _clip_vjp_lo, _clip_vjp_hi), elementwise=True)

def _where(xp, c, a, b): return xp.where(c, a, b)
def _where_jvp_a(xp, t, out, c, a, b): return xp.where(c, t, 0)   # dz = [c] da + [not c] db
def _where_jvp_b(xp, t, out, c, a, b): return xp.where(c, 0, t)
def _where_vjp_a(xp, g, out, c, a, b): return unbroadcast(xp.where(c, g, 0), a)
def _where_vjp_b(xp, g, out, c, a, b): return unbroadcast(xp.where(c, 0, g), b)
WHERE = rule("where", _where, (None, _where_jvp_a, _where_jvp_b),
             (None, _where_vjp_a, _where_vjp_b), elementwise=True)

# --- piecewise constant: no derivative ------------------------------------------------------

def _sign(xp, x): return xp.sign(x)
def _floor(xp, x): return xp.floor(x)
def _ceil(xp, x): return xp.ceil(x)
def _round(xp, x, decimals=0): return xp.round(x, decimals)
def _rint(xp, x): return xp.rint(x)
def _trunc(xp, x): return xp.trunc(x)
def _floordiv(xp, a, b): return a // b
def _isnan(xp, x): return xp.isnan(x)
def _isinf(xp, x): return xp.isinf(x)
def _isfinite(xp, x): return xp.isfinite(x)

# --- more of NumPy's elementwise functions ------------------------------------------------------

def _fmod(xp, a, b): return xp.fmod(a, b)
def _fmod_jvp_b(xp, t, out, a, b): return -t * xp.trunc(a / b)  # fmod(a, b) = a - b trunc(a/b)
def _fmod_vjp_b(xp, g, out, a, b): return unbroadcast(-g * xp.trunc(a / b), b)
FMOD = rule("fmod", _fmod, (_add_jvp_a, _fmod_jvp_b), (_add_vjp_a, _fmod_vjp_b),
            elementwise=True)

def _deg(xp, x): return xp.degrees(x)
def _deg_t(xp, g, out, x): return g * (180.0 / xp.pi)     # d degrees(x) = 180 / pi dx
DEGREES = linear("degrees", _deg, _deg_t, elementwise=True)
def _rad(xp, x): return xp.radians(x)
def _rad_t(xp, g, out, x): return g * (xp.pi / 180.0)
RADIANS = linear("radians", _rad, _rad_t, elementwise=True)

def _sinc(xp, x): return xp.sinc(x)    # sin(pi x) / (pi x), 1 at 0; d: (cos(pi x) - out) / x
def _sinc_jvp(xp, t, out, x):
    return t * xp.where(x == 0, 0.0, (xp.cos(xp.pi * x) - out) / xp.where(x == 0, 1.0, x))
def _sinc_vjp(xp, g, out, x):
    return g * xp.where(x == 0, 0.0, (xp.cos(xp.pi * x) - out) / xp.where(x == 0, 1.0, x))
SINC = _unary("sinc", _sinc, _sinc_jvp, _sinc_vjp)

def _nan_to_num(xp, x, nan=0.0, posinf=None, neginf=None):
    return xp.nan_to_num(x, nan=nan, posinf=posinf, neginf=neginf)
def _nan_to_num_jvp(xp, t, out, x, nan=0.0, posinf=None, neginf=None):
    return xp.where(xp.isfinite(x), t, 0.0)                  # 1 where x is kept, else 0
def _nan_to_num_vjp(xp, g, out, x, nan=0.0, posinf=None, neginf=None):
    return xp.where(xp.isfinite(x), g, 0.0)
NAN_TO_NUM = _unary("nan_to_num", _nan_to_num, _nan_to_num_jvp, _nan_to_num_vjp)

def _isclose(xp, a, b, rtol=1e-05, atol=1e-08): return xp.isclose(a, b, rtol=rtol, atol=atol)
def _heaviside(xp, x, h0): return xp.heaviside(x, h0)


RULES = [
    FMOD, DEGREES, RADIANS, SINC, NAN_TO_NUM,
    nondiff("isclose", _isclose), nondiff("heaviside", _heaviside),
    NEG, POS, ADD, SUB, MUL, DIV, MOD, POW, SQUARE, RECIPROCAL, SQRT, CBRT, ABS,
    EXP, EXP2, EXPM1, LOG, LOG2, LOG10, LOG1P, LOGADDEXP,
    SIN, COS, TAN, ARCSIN, ARCCOS, ARCTAN, ARCTAN2, HYPOT,
    SINH, COSH, TANH, ARCSINH, ARCCOSH, ARCTANH,
    MAXIMUM, MINIMUM, CLIP, WHERE,
    nondiff("sign", _sign), nondiff("floor", _floor), nondiff("ceil", _ceil),
    nondiff("round", _round), nondiff("rint", _rint), nondiff("trunc", _trunc),
    nondiff("floor_divide", _floordiv), nondiff("isnan", _isnan), nondiff("isinf", _isinf),
    nondiff("isfinite", _isfinite),
]
