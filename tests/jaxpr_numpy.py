"""jax's derivatives of a program, computed without compiling: the fuzzer's fast oracle.

``grad(f, args, argnums)`` traces ``jax.grad(f)`` to a jaxpr (jax's own differentiation: its
JVP and transpose rules) and evaluates that jaxpr primitive by primitive with NumPy. Eager
``jax.grad`` compiles every new (primitive, shapes, parameters) with XLA, 15-75 ms each, and
random programs keep meeting new ones: a profile of the fuzzer spent 40% of its time there.
Evaluating with NumPy costs microseconds a primitive. Each result is cast to the dtype of the
jaxpr's variable, so float32 programs are computed in float32 as under XLA.

A primitive without a NumPy evaluation here (``lu``, rare ones) is run by jax itself
(``primitive.bind``, compiled once per signature and process); ``fallbacks`` counts them.

A program whose control flow depends on values cannot be traced; ``tests/fuzz.py`` records
its branch decisions in NumPy first (``record_tests``, ``Decisions``) and replays them while
jax traces (``replayer``).
"""

from __future__ import annotations

import ast
import itertools
import string
from collections import Counter

import numpy as np

fallbacks: Counter = Counter()


# --- branch decisions: recorded in NumPy, replayed while jax traces -----------------------------

class _Tests(ast.NodeTransformer):
    """Wraps each test of ``if``, ``while`` and ``a if t else b`` (each operand of its
    ``and``/``or``/``not``) in ``_decide(...)``."""

    def _wrap(self, t):
        if isinstance(t, ast.BoolOp):
            return ast.BoolOp(t.op, [self._wrap(v) for v in t.values])
        if isinstance(t, ast.UnaryOp) and isinstance(t.op, ast.Not):
            return ast.UnaryOp(t.op, self._wrap(t.operand))
        return ast.Call(ast.Name("_decide", ast.Load()), [t], [])

    def visit_If(self, node):
        self.generic_visit(node)
        node.test = self._wrap(node.test)
        return node

    visit_While = visit_If
    visit_IfExp = visit_If


def record_tests(tree: ast.Module) -> ast.Module:
    """``tree`` (changed in place) with each branch test passed through ``_decide``, which the
    module's namespace binds: to record the decisions (in NumPy) or replay them (while jax
    traces)."""
    return ast.fix_missing_locations(_Tests().visit(tree))


class Decisions:
    """``record`` binds as ``_decide`` while NumPy runs; ``taken`` lists the outcomes."""

    def __init__(self):
        self.taken: list[bool] = []

    def record(self, value) -> bool:
        self.taken.append(bool(value))
        return self.taken[-1]


def replayer(taken: list[bool]):
    """A ``_decide`` for jax's trace: the outcomes ``taken``, in order, whatever it is given."""
    it = iter(taken)
    return lambda value: next(it)


# --- the oracle -------------------------------------------------------------------------------

def grad(f, args, argnums):
    """``jax.grad(f, argnums)(*args)`` as NumPy arrays, evaluated without XLA."""
    import jax

    closed = jax.make_jaxpr(jax.grad(f, argnums=argnums))(*args)
    flat = [np.asarray(a) for a in args]
    return [np.asarray(g) for g in evaluate(closed.jaxpr, closed.consts, flat)]


def evaluate(jaxpr, consts, args) -> list:
    """The outputs of ``jaxpr`` at ``args``, computed with NumPy."""
    env = {}

    def read(v):
        return v.val if _literal(v) else env[v]

    for v, x in zip(jaxpr.constvars, consts, strict=True):
        env[v] = np.asarray(x)
    for v, x in zip(jaxpr.invars, args, strict=True):
        env[v] = x
    with np.errstate(all="ignore"):
        for eqn in jaxpr.eqns:
            ins = [np.asarray(read(v)) for v in eqn.invars]
            outs = _apply(eqn, ins)
            if not eqn.primitive.multiple_results:
                outs = [outs]
            for v, x in zip(eqn.outvars, outs, strict=True):
                env[v] = _as(x, v.aval)
    return [np.asarray(read(v)) for v in jaxpr.outvars]


def _literal(v):
    return type(v).__name__ == "Literal"


def _as(x, aval):
    x = np.asarray(x)
    dtype = getattr(aval, "dtype", None)
    if dtype is not None and x.dtype != dtype:
        x = x.astype(dtype)
    return x


def _closed(c, args):
    """A closed jaxpr's outputs (or an open one's, which has no constants)."""
    if hasattr(c, "consts"):
        return evaluate(c.jaxpr, c.consts, args)
    return evaluate(c, [], args)


def _apply(eqn, ins):
    name, p = eqn.primitive.name, eqn.params
    fn = _UNARY.get(name) or _BINARY.get(name)
    if fn is not None:
        return fn(*ins)
    impl = _IMPL.get(name, _fallback)
    return impl(eqn, ins, p)


def _int_div(a, b):
    if np.issubdtype(a.dtype, np.integer):
        return np.trunc(a / b).astype(a.dtype)  # XLA: toward zero
    return a / b


_UNARY = {
    "neg": np.negative, "sin": np.sin, "cos": np.cos, "tan": np.tan, "tanh": np.tanh,
    "exp": np.exp, "exp2": np.exp2, "expm1": np.expm1, "log": np.log, "log1p": np.log1p,
    "sqrt": np.sqrt, "rsqrt": lambda x: 1 / np.sqrt(x), "cbrt": np.cbrt, "abs": np.abs,
    "sign": np.sign, "asin": np.arcsin, "acos": np.arccos, "atan": np.arctan, "sinh": np.sinh,
    "cosh": np.cosh, "asinh": np.arcsinh, "acosh": np.arccosh, "atanh": np.arctanh,
    "square": np.square, "logistic": lambda x: 1 / (1 + np.exp(-x)), "floor": np.floor,
    "ceil": np.ceil, "is_finite": np.isfinite, "not": np.invert, "copy": np.copy,
    "copy_p": np.copy, "stop_gradient": lambda x: x, "real": np.real, "imag": np.imag,
    "conj": np.conj,
}
_BINARY = {
    "add": np.add, "add_any": np.add, "sub": np.subtract, "mul": np.multiply, "div": _int_div,
    "max": np.maximum, "min": np.minimum, "pow": np.power, "atan2": np.arctan2,
    "rem": np.fmod, "eq": np.equal, "ne": np.not_equal, "lt": np.less, "le": np.less_equal,
    "gt": np.greater, "ge": np.greater_equal, "and": np.bitwise_and, "or": np.bitwise_or,
    "xor": np.bitwise_xor, "complex": lambda a, b: a + 1j * b,
}


def _broadcast_in_dim(eqn, ins, p):
    x, = ins[:1]
    shape = list(p["shape"])
    keep = [1] * len(shape)
    for src, dst in enumerate(p["broadcast_dimensions"]):
        keep[dst] = x.shape[src]
    return np.broadcast_to(x.reshape(keep), shape)


def _reshape(eqn, ins, p):
    x = ins[0]
    if p.get("dimensions"):
        x = np.transpose(x, p["dimensions"])
    return np.reshape(x, p["new_sizes"])


def _pad(eqn, ins, p):
    x, fill = ins
    for axis, (lo, hi, interior) in enumerate(p["padding_config"]):
        if interior:
            n = x.shape[axis]
            shape = list(x.shape)
            shape[axis] = n + (n - 1) * interior if n else 0
            spread = np.full(shape, fill, dtype=x.dtype)
            index = [slice(None)] * x.ndim
            index[axis] = slice(None, None, interior + 1)
            spread[tuple(index)] = x
            x = spread
        index = [slice(None)] * x.ndim
        index[axis] = slice(max(-lo, 0), x.shape[axis] - max(-hi, 0))
        x = x[tuple(index)]
        widths = [(0, 0)] * x.ndim
        widths[axis] = (max(lo, 0), max(hi, 0))
        x = np.pad(x, widths, constant_values=fill)
    return x


def _slice(eqn, ins, p):
    strides = p["strides"] or (1,) * len(p["start_indices"])
    return ins[0][tuple(slice(a, b, s) for a, b, s in
                        zip(p["start_indices"], p["limit_indices"], strides, strict=True))]


def _starts(x, starts, sizes):
    return [int(np.clip(int(s), 0, d - n)) for s, d, n in zip(starts, x.shape, sizes, strict=True)]


def _dynamic_slice(eqn, ins, p):
    x, starts = ins[0], ins[1:1 + ins[0].ndim]
    at = _starts(x, starts, p["slice_sizes"])
    return x[tuple(slice(a, a + n) for a, n in zip(at, p["slice_sizes"], strict=True))]


def _dynamic_update_slice(eqn, ins, p):
    x, u, starts = ins[0], ins[1], ins[2:]
    at = _starts(x, starts, u.shape)
    out = x.copy()
    out[tuple(slice(a, a + n) for a, n in zip(at, u.shape, strict=True))] = u
    return out


def _iota(eqn, ins, p):
    shape, dim = p["shape"], p["dimension"]
    n = shape[dim]
    keep = [1] * len(shape)
    keep[dim] = n
    return np.broadcast_to(np.arange(n, dtype=p["dtype"]).reshape(keep), shape)


def _reduce(fn):
    return lambda eqn, ins, p: fn(ins[0], axis=tuple(p["axes"]))


def _arg(fn):
    return lambda eqn, ins, p: fn(ins[0], axis=p["axes"][0]).astype(p["index_dtype"])


def _cumulative(fn):
    def impl(eqn, ins, p):
        x = ins[0]
        if p.get("reverse"):
            return np.flip(fn(np.flip(x, p["axis"]), axis=p["axis"]), p["axis"])
        return fn(x, axis=p["axis"])
    return impl


def _dot_general(eqn, ins, p):
    a, b = ins
    (ca, cb), (ba, bb) = p["dimension_numbers"]
    letters = iter(string.ascii_letters)
    sa = [next(letters) for _ in range(a.ndim)]
    sb = [next(letters) for _ in range(b.ndim)]
    for i, j in zip(ca, cb, strict=True):
        sb[j] = sa[i]
    for i, j in zip(ba, bb, strict=True):
        sb[j] = sa[i]
    out = [sa[i] for i in ba] + [sa[i] for i in range(a.ndim) if i not in ca and i not in ba]
    out += [sb[j] for j in range(b.ndim) if j not in cb and j not in bb]
    return np.einsum(f"{''.join(sa)},{''.join(sb)}->{''.join(out)}", a, b)


def _select_n(eqn, ins, p):
    which, cases = ins[0], ins[1:]
    if which.dtype == np.bool_:
        return np.where(which, cases[1], cases[0]) if len(cases) > 1 else cases[0]
    return np.choose(which, cases)


def _clamp(eqn, ins, p):
    lo, x, hi = ins
    return np.minimum(np.maximum(x, lo), hi)


def _sort(eqn, ins, p):
    dim, k = p["dimension"], p["num_keys"]
    keys = ins[:k]
    if k == 1:
        order = np.argsort(keys[0], axis=dim, kind="stable")
    else:  # lexicographic, the first key most significant
        moved = [np.moveaxis(key, dim, -1) for key in keys]
        flat = [m.reshape(-1, m.shape[-1]) for m in moved]
        rows = [np.lexsort(tuple(f[r] for f in reversed(flat))) for r in range(flat[0].shape[0])]
        order = np.moveaxis(np.array(rows).reshape(moved[0].shape), -1, dim)
    return [np.take_along_axis(x, order, axis=dim) for x in ins]


def _triangular_solve(eqn, ins, p):
    a, b = ins
    t = np.tril(a) if p["lower"] else np.triu(a)
    if p["unit_diagonal"]:
        n = a.shape[-1]
        t = t.copy()
        t[..., np.arange(n), np.arange(n)] = 1
    if p["conjugate_a"]:
        t = np.conj(t)
    if p["transpose_a"]:
        t = np.swapaxes(t, -1, -2)
    if p["left_side"]:
        return np.linalg.solve(t, b)
    return np.swapaxes(np.linalg.solve(np.swapaxes(t, -1, -2), np.swapaxes(b, -1, -2)), -1, -2)


def _gather(eqn, ins, p):
    x, idx = ins
    dn = p["dimension_numbers"]
    if dn.operand_batching_dims:
        return _fallback(eqn, ins, p)
    sizes = p["slice_sizes"]
    out_shape = eqn.outvars[0].aval.shape
    offset = set(dn.offset_dims)
    batch_dims = [d for d in range(len(out_shape)) if d not in offset]
    out = np.empty(out_shape, dtype=x.dtype)
    fill = _gather_fill(p, x.dtype)
    kept = [d for d in range(x.ndim) if d not in dn.collapsed_slice_dims]
    for pos in itertools.product(*(range(n) for n in idx.shape[:-1])):
        start = [0] * x.ndim
        for k, d in enumerate(dn.start_index_map):
            start[d] = int(idx[pos][k])
        where = [slice(None)] * len(out_shape)
        for d, i in zip(batch_dims, pos, strict=True):
            where[d] = i
        if fill is not None and any(s < 0 or s + n > m for s, n, m in
                                    zip(start, sizes, x.shape, strict=True)):
            out[tuple(where)] = fill
            continue
        start = [min(max(s, 0), m - n) for s, n, m in zip(start, sizes, x.shape, strict=True)]
        window = x[tuple(slice(s, s + n) for s, n in zip(start, sizes, strict=True))]
        out[tuple(where)] = window.reshape([sizes[d] for d in kept])
    return out


def _gather_fill(p, dtype):
    if "FILL" not in str(p["mode"]):
        return None
    if p.get("fill_value") is not None:
        return p["fill_value"]
    return np.nan if np.issubdtype(dtype, np.inexact) else 0


def _scatter(combine):
    def impl(eqn, ins, p):
        x, idx, upd = ins
        dn = p["dimension_numbers"]
        if dn.operand_batching_dims:
            return _fallback(eqn, ins, p)
        out = x.copy()
        window = set(dn.update_window_dims)
        scatter_dims = [d for d in range(upd.ndim) if d not in window]
        kept = [d for d in range(x.ndim) if d not in dn.inserted_window_dims]
        size = [1] * x.ndim
        for d, w in zip(kept, dn.update_window_dims, strict=True):
            size[d] = upd.shape[w]
        drop = "FILL" in str(p["mode"])
        for pos in itertools.product(*(range(n) for n in idx.shape[:-1])):
            start = [0] * x.ndim
            for k, d in enumerate(dn.scatter_dims_to_operand_dims):
                start[d] = int(idx[pos][k])
            if any(s < 0 or s + n > m for s, n, m in zip(start, size, x.shape, strict=True)):
                if drop:
                    continue
                start = [min(max(s, 0), m - n) for s, n, m in
                         zip(start, size, x.shape, strict=True)]
            where = [slice(None)] * upd.ndim
            for d, i in zip(scatter_dims, pos, strict=True):
                where[d] = i
            region = tuple(slice(s, s + n) for s, n in zip(start, size, strict=True))
            out[region] = combine(out[region], upd[tuple(where)].reshape(size))
        return out
    return impl


def _split(eqn, ins, p):
    cuts = np.cumsum(p["sizes"])[:-1]
    return np.split(ins[0], cuts, axis=p["axis"])


def _unstack(eqn, ins, p):
    return [np.take(ins[0], i, axis=p["axis"]) for i in range(ins[0].shape[p["axis"]])]


def _platform_index(eqn, ins, p):
    for i, names in enumerate(p["platforms"]):
        if names is None or "cpu" in names:
            return np.int32(i)
    return np.int32(len(p["platforms"]) - 1)


def _cond(eqn, ins, p):
    branches = p["branches"]
    k = int(np.clip(int(ins[0]), 0, len(branches) - 1))
    return _closed(branches[k], ins[1:])


def _while(eqn, ins, p):
    nc, nb = p["cond_nconsts"], p["body_nconsts"]
    cc, bc, carry = ins[:nc], ins[nc:nc + nb], ins[nc + nb:]
    while bool(_closed(p["cond_jaxpr"], cc + carry)[0]):
        carry = _closed(p["body_jaxpr"], bc + carry)
    return carry


def _custom_linear_solve(eqn, ins, p):
    lengths = p["const_lengths"]
    n = sum(lengths)
    before = lengths.matvec + lengths.vecmat
    consts = ins[before:before + lengths.solve]
    return _closed(p["jaxprs"].solve, consts + ins[n:])


def _fft(eqn, ins, p):
    """lax.fft over the last ``len(fft_lengths)`` axes: FFT, IFFT, RFFT, IRFFT (types 0-3)."""
    x, lengths = ins[0], tuple(p["fft_lengths"])
    axes = tuple(range(x.ndim - len(lengths), x.ndim))
    kind = int(getattr(p["fft_type"], "value", p["fft_type"]))
    fn = (np.fft.fftn, np.fft.ifftn, np.fft.rfftn, np.fft.irfftn)[kind]
    return fn(x, lengths, axes).astype(eqn.outvars[0].aval.dtype)


def _call(key):
    return lambda eqn, ins, p: _closed(p[key], ins)


def _fallback(eqn, ins, p):
    """A primitive without a NumPy evaluation here: run by jax (compiled once a signature)."""
    fallbacks[eqn.primitive.name] += 1
    out = eqn.primitive.bind(*ins, **p)
    return [np.asarray(o) for o in out] if eqn.primitive.multiple_results else np.asarray(out)


_IMPL = {
    "broadcast_in_dim": _broadcast_in_dim, "reshape": _reshape, "pad": _pad, "slice": _slice,
    "squeeze": lambda eqn, ins, p: np.squeeze(ins[0], axis=tuple(p["dimensions"])),
    "expand_dims": lambda eqn, ins, p: np.expand_dims(ins[0], tuple(p["dimensions"])),
    "transpose": lambda eqn, ins, p: np.transpose(ins[0], p["permutation"]),
    "rev": lambda eqn, ins, p: np.flip(ins[0], tuple(p["dimensions"])),
    "concatenate": lambda eqn, ins, p: np.concatenate(ins, axis=p["dimension"]),
    "convert_element_type": lambda eqn, ins, p: ins[0].astype(p["new_dtype"]),
    "integer_pow": lambda eqn, ins, p: ins[0] ** p["y"],
    "iota": _iota, "dynamic_slice": _dynamic_slice,
    "dynamic_update_slice": _dynamic_update_slice,
    "reduce_sum": _reduce(np.sum), "reduce_max": _reduce(np.max), "reduce_min": _reduce(np.min),
    "reduce_prod": _reduce(np.prod), "reduce_and": _reduce(np.all), "reduce_or": _reduce(np.any),
    "argmax": _arg(np.argmax), "argmin": _arg(np.argmin),
    "cumsum": _cumulative(np.cumsum), "cumprod": _cumulative(np.cumprod),
    "cummax": _cumulative(np.maximum.accumulate), "cummin": _cumulative(np.minimum.accumulate),
    "dot_general": _dot_general, "select_n": _select_n, "clamp": _clamp, "sort": _sort,
    "triangular_solve": _triangular_solve, "gather": _gather,
    "scatter": _scatter(lambda old, new: new), "scatter-add": _scatter(np.add),
    "scatter_add": _scatter(np.add), "stack": lambda eqn, ins, p: np.stack(ins, p["axis"]),
    "unstack": _unstack, "split": _split, "tile": lambda eqn, ins, p: np.tile(ins[0], p["reps"]),
    "empty2": lambda eqn, ins, p: np.zeros((), p["dtype"]), "platform_index": _platform_index,
    "cond": _cond, "while": _while, "fft": _fft, "custom_linear_solve": _custom_linear_solve,
    "jit": _call("jaxpr"), "pjit": _call("jaxpr"), "closed_call": _call("call_jaxpr"),
    "custom_jvp_call": _call("call_jaxpr"), "custom_vjp_call": _call("call_jaxpr"),
    "remat": _call("jaxpr"), "checkpoint": _call("jaxpr"),
}
