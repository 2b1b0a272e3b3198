"""Primitives that move, copy or select elements: reshapes, transposes, joins, indexing."""

from __future__ import annotations

from srcgrad.rules.core import Rule, linear, nondiff, rule, variadic
from srcgrad.runtime.broadcasting import astype_grad, broadcast_like, unbroadcast
from srcgrad.runtime.indexing import (
    concat_grad,
    diff_grad,
    getitem_grad,
    hstack_grad,
    pad_grad,
    repeat_grad,
    set_at,
    sort_grad,
    stack_grad,
    take_along_grad,
    take_grad,
    take_written,
    tile_grad,
    transpose_grad,
    vstack_grad,
    zero_at,
)
from srcgrad.runtime.structures import (
    StructGrad,
    dict_items,
    dict_keys,
    dict_values,
    items_grad,
    list_append,
    list_pop,
    pop_grad,
    sum_list_grad,
    to_float,
    unpop_grad,
    unstack_grad,
    values_grad,
)


def _reshape(xp, x, shape): return xp.reshape(x, shape)
def _reshape_t(xp, g, out, x, shape): return xp.reshape(g, xp.shape(x))
RESHAPE = linear("reshape", _reshape, _reshape_t)

def _ravel(xp, x): return xp.ravel(x)
def _ravel_t(xp, g, out, x): return xp.reshape(g, xp.shape(x))
RAVEL = linear("ravel", _ravel, _ravel_t)

def _transpose(xp, x, axes=None): return xp.transpose(x, axes)
def _transpose_t(xp, g, out, x, axes=None): return transpose_grad(g, axes)  # undo the permutation
TRANSPOSE = linear("transpose", _transpose, _transpose_t)

def _swapaxes(xp, x, axis1, axis2): return xp.swapaxes(x, axis1, axis2)
def _swapaxes_t(xp, g, out, x, axis1, axis2): return xp.swapaxes(g, axis1, axis2)
SWAPAXES = linear("swapaxes", _swapaxes, _swapaxes_t)

def _moveaxis(xp, x, source, destination): return xp.moveaxis(x, source, destination)
def _moveaxis_t(xp, g, out, x, source, destination): return xp.moveaxis(g, destination, source)
MOVEAXIS = linear("moveaxis", _moveaxis, _moveaxis_t)

def _expand_dims(xp, x, axis): return xp.expand_dims(x, axis)
def _expand_dims_t(xp, g, out, x, axis): return xp.reshape(g, xp.shape(x))
EXPAND_DIMS = linear("expand_dims", _expand_dims, _expand_dims_t)

def _squeeze(xp, x, axis=None): return xp.squeeze(x, axis)
def _squeeze_t(xp, g, out, x, axis=None): return xp.reshape(g, xp.shape(x))
SQUEEZE = linear("squeeze", _squeeze, _squeeze_t)

def _broadcast_to(xp, x, shape): return xp.broadcast_to(x, shape)
def _broadcast_to_t(xp, g, out, x, shape): return unbroadcast(g, x)
BROADCAST_TO = linear("broadcast_to", _broadcast_to, _broadcast_to_t)

def _atleast_1d(xp, x): return xp.atleast_1d(x)
def _atleast_2d(xp, x): return xp.atleast_2d(x)
def _atleast_3d(xp, x): return xp.atleast_3d(x)
def _atleast_t(xp, g, out, x): return xp.reshape(g, xp.shape(x))
ATLEAST_1D = linear("atleast_1d", _atleast_1d, _atleast_t)
ATLEAST_2D = linear("atleast_2d", _atleast_2d, _atleast_t)
ATLEAST_3D = linear("atleast_3d", _atleast_3d, _atleast_t)

def _flip(xp, x, axis=None): return xp.flip(x, axis)
def _flip_t(xp, g, out, x, axis=None): return xp.flip(g, axis)
FLIP = linear("flip", _flip, _flip_t)

def _tile(xp, x, reps): return xp.tile(x, reps)
def _tile_t(xp, g, out, x, reps): return tile_grad(g, x, reps)   # sum of the tiles
TILE = linear("tile", _tile, _tile_t)

def _repeat(xp, x, repeats, axis=None): return xp.repeat(x, repeats, axis)
def _repeat_t(xp, g, out, x, repeats, axis=None): return repeat_grad(g, x, repeats, axis)
REPEAT = linear("repeat", _repeat, _repeat_t)

def _getitem(xp, x, index): return x[index]
def _getitem_t(xp, g, out, x, index): return getitem_grad(g, x, index)  # scatter-add into zeros
GETITEM = linear("getitem", _getitem, _getitem_t)

def _astype(xp, x, dtype): return x.astype(dtype)
def _astype_jvp(xp, t, out, x, dtype): return astype_grad(t, out, dtype)  # 0 if dtype is discrete
def _astype_t(xp, g, out, x, dtype): return astype_grad(g, x, dtype)      # back to x's dtype
ASTYPE = rule("astype", _astype, [_astype_jvp], [_astype_t])

# np.pad: the added values carry no derivative in constant mode (the adjoint: the slice of g
# over x), copies of x's elements in edge, wrap, reflect and symmetric mode (the adjoint adds
# each back); constant_values is a constant
def _pad(xp, x, pad_width, mode="constant", constant_values=0):
    return xp.pad(x, pad_width, mode=mode, constant_values=constant_values)
def _pad_jvp(xp, t, out, x, pad_width, mode="constant", constant_values=0):
    return xp.pad(t, pad_width, mode=mode)
def _pad_t(xp, g, out, x, pad_width, mode="constant", constant_values=0):
    return pad_grad(g, x, pad_width, mode)
PAD = rule("pad", _pad, [_pad_jvp], [_pad_t])

def _roll(xp, x, shift, axis=None): return xp.roll(x, shift, axis)
def _roll_t(xp, g, out, x, shift, axis=None): return xp.roll(g, -xp.asarray(shift), axis)
ROLL = linear("roll", _roll, _roll_t)                   # rolled back

def _triu(xp, x, k=0): return xp.triu(x, k)
def _triu_t(xp, g, out, x, k=0): return xp.triu(g, k)    # a mask: its own transpose
TRIU = linear("triu", _triu, _triu_t)
def _tril(xp, x, k=0): return xp.tril(x, k)
def _tril_t(xp, g, out, x, k=0): return xp.tril(g, k)
TRIL = linear("tril", _tril, _tril_t)

def _diff(xp, x, n=1, axis=-1): return xp.diff(x, n, axis)
def _diff_t(xp, g, out, x, n=1, axis=-1): return diff_grad(g, x, n, axis)
DIFF = linear("diff", _diff, _diff_t)                    # -diff of g padded with zeros, n times

def _sort(xp, x, axis=-1): return xp.sort(x, axis=axis)
def _sort_jvp(xp, t, out, x, axis=-1):                   # the tangent, permuted as x is
    return xp.take_along_axis(t, xp.argsort(x, axis=axis), axis=axis)
def _sort_vjp(xp, g, out, x, axis=-1): return sort_grad(g, x, axis)  # g put back in place
SORT = rule("sort", _sort, [_sort_jvp], [_sort_vjp])

def _take(xp, x, indices, axis=None): return xp.take(x, indices, axis=axis)
def _take_t(xp, g, out, x, indices, axis=None): return take_grad(g, x, indices, axis)
TAKE = linear("take", _take, _take_t)                    # scatter-add back at the indices

def _take_along_axis(xp, x, indices, axis=-1): return xp.take_along_axis(x, indices, axis=axis)
def _take_along_axis_t(xp, g, out, x, indices, axis=-1):
    return take_along_grad(g, x, indices, axis)             # scatter-add back along axis
TAKE_ALONG_AXIS = linear("take_along_axis", _take_along_axis, _take_along_axis_t)

def _cross(xp, a, b): return xp.cross(a, b)
def _cross_jvp_a(xp, t, out, a, b): return xp.cross(t, b)         # d(a x b) = da x b + a x db
def _cross_jvp_b(xp, t, out, a, b): return xp.cross(a, t)
def _cross_vjp_a(xp, g, out, a, b): return unbroadcast(xp.cross(b, g), a)
def _cross_vjp_b(xp, g, out, a, b): return unbroadcast(xp.cross(g, a), b)
CROSS = rule("cross", _cross, [_cross_jvp_a, _cross_jvp_b], [_cross_vjp_a, _cross_vjp_b])

def _assign(xp, x): return x   # a name bound to a value: `h = x` before a loop reassigns h
def _assign_t(xp, g, out, x): return g
ASSIGN = linear("assign", _assign, _assign_t)

# lists built at run time (`hs = []`, `hs.append(h)`, comprehensions); their adjoints are
# StructGrads, and the adjoint of an append takes the last item back off the list's adjoint
def _append(xp, xs, v): return list_append(xs, v)            # written `xs.append(v)`
def _append_jvp_xs(xp, t, out, xs, v): return StructGrad.of(t)
def _append_jvp_v(xp, t, out, xs, v): return StructGrad({len(xs) - 1: t}, len(xs))
def _append_vjp_xs(xp, g, out, xs, v): return g               # what is left once v's is off
def _append_vjp_v(xp, g, out, xs, v): return pop_grad(g, v)
APPEND = rule("append", _append, (_append_jvp_xs, _append_jvp_v),
              (_append_vjp_xs, _append_vjp_v))

def _pop(xp, xs): return list_pop(xs)                       # written `xs.pop()`
def _pop_t(xp, g, out, xs): return unpop_grad(g)              # the item's slot comes back
POP = linear("pop", _pop, _pop_t)

def _stack_list(xp, xs, axis=0): return xp.stack(xs, axis=axis)
def _stack_list_t(xp, g, out, xs, axis=0): return unstack_grad(g, xs, axis)
STACK_LIST = linear("stack_list", _stack_list, _stack_list_t)

def _array_list(xp, xs): return xp.array(xs)
def _array_list_t(xp, g, out, xs): return unstack_grad(g, xs)
ARRAY_LIST = linear("array_list", _array_list, _array_list_t)

def _sum_list(xp, xs): return sum(xs)
def _sum_list_t(xp, g, out, xs): return sum_list_grad(g, xs)
SUM_LIST = linear("sum_list", _sum_list, _sum_list_t)

# the views of a dict built at run time (an argument): lists, their adjoints keyed by the keys
def _dict_values(xp, d): return dict_values(d)                  # written `d.values()`
def _dict_values_t(xp, g, out, d): return values_grad(g, d)
DICT_VALUES = linear("dict_values", _dict_values, _dict_values_t)

def _dict_items(xp, d): return dict_items(d)                    # written `d.items()`
def _dict_items_t(xp, g, out, d): return items_grad(g, d)
DICT_ITEMS = linear("dict_items", _dict_items, _dict_items_t)

def _to_float(xp, x): return to_float(x)                        # written `float(x)`
def _to_float_t(xp, g, out, x): return broadcast_like(g, x)
TO_FLOAT = linear("to_float", _to_float, _to_float_t)

def _dict_keys(xp, d): return dict_keys(d)                      # written `d.keys()`, `for k in d`

# `x[index] = v` on an array of the function's own (srcgrad copies the caller's arrays first)
def _setitem(xp, x, v, index): return set_at(x, index, v)   # written `x[index] = v`
def _setitem_jvp_x(xp, t, out, x, v, index): return zero_at(t, index, copy=True)
def _setitem_jvp_v(xp, t, out, x, v, index): return set_at(xp.zeros_like(out), index, t)
def _setitem_vjp_x(xp, g, out, x, v, index): return zero_at(g, index, copy=True)
def _setitem_vjp_v(xp, g, out, x, v, index): return unbroadcast(take_written(g, index), v)
SETITEM = rule("setitem", _setitem, (_setitem_jvp_x, _setitem_jvp_v),
               (_setitem_vjp_x, _setitem_vjp_v))

def _copy(xp, x): return xp.array(x, copy=True)
def _copy_t(xp, g, out, x): return g
COPY = linear("copy", _copy, _copy_t)

def _concatenate(xp, *xs, axis=0): return xp.concatenate(xs, axis=axis)
def _concatenate_jvp(xp, t, out, i, *xs, axis=0):
    return xp.concatenate([t if j == i else xp.zeros_like(x) for j, x in enumerate(xs)], axis=axis)
def _concatenate_vjp(xp, g, out, i, *xs, axis=0): return concat_grad(g, i, xs, axis)
CONCATENATE = variadic("concatenate", _concatenate, _concatenate_jvp, _concatenate_vjp, joint=True)

def _stack(xp, *xs, axis=0): return xp.stack(xs, axis=axis)
def _stack_jvp(xp, t, out, i, *xs, axis=0):
    return xp.stack([t if j == i else xp.zeros_like(x) for j, x in enumerate(xs)], axis=axis)
def _stack_vjp(xp, g, out, i, *xs, axis=0): return stack_grad(g, i, axis)
STACK = variadic("stack", _stack, _stack_jvp, _stack_vjp, joint=True)

def _hstack(xp, *xs): return xp.hstack(xs)
def _hstack_jvp(xp, t, out, i, *xs):
    return xp.hstack([t if j == i else xp.zeros_like(x) for j, x in enumerate(xs)])
def _hstack_vjp(xp, g, out, i, *xs): return hstack_grad(g, i, xs)
HSTACK = variadic("hstack", _hstack, _hstack_jvp, _hstack_vjp, joint=True)

def _vstack(xp, *xs): return xp.vstack(xs)
def _vstack_jvp(xp, t, out, i, *xs):
    return xp.vstack([t if j == i else xp.zeros_like(x) for j, x in enumerate(xs)])
def _vstack_vjp(xp, g, out, i, *xs): return vstack_grad(g, i, xs)
VSTACK = variadic("vstack", _vstack, _vstack_jvp, _vstack_vjp, joint=True)

def _array(xp, *xs): return xp.array(xs)                     # np.array([a, b, c])
def _array_jvp(xp, t, out, i, *xs):
    return xp.array([t if j == i else xp.zeros_like(x) for j, x in enumerate(xs)])
def _array_vjp(xp, g, out, i, *xs): return g[i]
ARRAY = variadic("array", _array, _array_jvp, _array_vjp, joint=True)

# --- no derivative: shapes, indices and fresh arrays -----------------------------------------

def _argmax(xp, x, axis=None): return xp.argmax(x, axis)
def _argmin(xp, x, axis=None): return xp.argmin(x, axis)
def _argsort(xp, x, axis=-1): return xp.argsort(x, axis=axis)
def _argpartition(xp, x, kth, axis=-1): return xp.argpartition(x, kth, axis=axis)
def _searchsorted(xp, a, v, side="left"): return xp.searchsorted(a, v, side=side)
def _iscomplexobj(xp, x): return xp.iscomplexobj(x)
def _zeros_like(xp, x): return xp.zeros_like(x)
def _ones_like(xp, x): return xp.ones_like(x)
def _empty_like(xp, x): return xp.empty_like(x)
def _shape(xp, x): return xp.shape(x)
def _ndim(xp, x): return xp.ndim(x)
def _size(xp, x): return xp.size(x)
def _len(xp, x): return len(x)

# `np.full_like(x, v)`: x gives the shape and dtype, v the values (none if the dtype is discrete)
def _full_like(xp, x, fill_value): return xp.full_like(x, fill_value)
def _full_like_jvp(xp, t, out, x, fill_value):
    return astype_grad(xp.broadcast_to(t, xp.shape(x)), x, xp.result_type(x))
def _full_like_vjp(xp, g, out, x, fill_value):
    return unbroadcast(astype_grad(g, fill_value, xp.result_type(x)), fill_value)
FULL_LIKE = rule("full_like", _full_like, [None, _full_like_jvp], [None, _full_like_vjp])

# primitives whose result may share memory with their first operand (NumPy views), and names
VIEWS = frozenset({"getitem", "reshape", "ravel", "transpose", "swapaxes", "moveaxis",
                   "expand_dims", "squeeze", "broadcast_to", "atleast_1d", "atleast_2d",
                   "atleast_3d", "flip", "assign", "diag"})

RULES: list[Rule] = [
    RESHAPE, RAVEL, TRANSPOSE, SWAPAXES, MOVEAXIS, EXPAND_DIMS, SQUEEZE, BROADCAST_TO,
    ATLEAST_1D, ATLEAST_2D, ATLEAST_3D, FLIP, TILE, REPEAT, GETITEM, ASTYPE, COPY, ASSIGN,
    APPEND, POP, STACK_LIST, ARRAY_LIST, SUM_LIST, SETITEM, PAD, ROLL, TRIU, TRIL, DIFF,
    SORT, CROSS, TAKE, TAKE_ALONG_AXIS,
    CONCATENATE, STACK, HSTACK, VSTACK, ARRAY,
    nondiff("argmax", _argmax), nondiff("argmin", _argmin), nondiff("argsort", _argsort),
    nondiff("argpartition", _argpartition), nondiff("searchsorted", _searchsorted),
    nondiff("iscomplexobj", _iscomplexobj),
    nondiff("zeros_like", _zeros_like),
    nondiff("ones_like", _ones_like), nondiff("empty_like", _empty_like),
    FULL_LIKE, nondiff("shape", _shape), nondiff("ndim", _ndim),
    nondiff("size", _size), nondiff("len", _len),
    DICT_VALUES, DICT_ITEMS, nondiff("dict_keys", _dict_keys), TO_FLOAT,
]
