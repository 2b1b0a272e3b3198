"""Random NumPy programs for differential fuzzing: srcgrad against jax.grad.

``generate(seed)`` writes a module, reproducible from the seed alone: one to two helper
functions and ``def f(x, y[, z])`` returning a scalar. Its arguments have random shapes that
broadcast together (each one broadcasts to the program's *full* shape: ``(3,)``, ``(2, 3)``,
``(3, 3)`` or ``(2, 2, 3)``); a quarter of the programs run in float32. The body mixes
straight-line code over the rule table (elementwise functions with their domains guarded,
broadcasting arithmetic, reductions over an axis with or without ``keepdims``, products and
``linalg``, shapes, joins, indexing) with assignments by index and augmented assignments,
``if/elif/else``, conditional expressions, ``for`` over ``range``/an array/``enumerate``/
``zip``, counter-bounded ``while``, ``break``/``continue``, lists filled in a loop, list
comprehensions, and calls to the helpers. A fifth of the reductions are spelled as NumPy's
nan-functions (``np.nanmean``), which srcgrad differentiates through their twins, and some
unary expressions go through complex values and an FFT and back (``np.fft.irfft(np.fft.rfft(e)
* (0.8 + 0.3j), n=...)``, ``np.real``, ``np.abs``, ``np.angle``, ``.conj()``), each drawn from a
stream of its own. About one statement in seven is followed by an idiom of code written by
others, from a stream of its own too (``Generator._idiom``: builtins, ``operator``, literal
lists in branches and tuples read at run-time indices, dicts and their views, lists handed to
NumPy, ``with np.errstate``, the ordering and scan twins).

Every expression carries its shape, and every shape broadcasts to the full one, so any two
values combine. A value assigned to a variable is always a fresh array (never a view of
another variable or an argument), so NumPy's in-place updates compute what jax computes.

The module is written for NumPy; ``jax_twin`` rewrites it for jax (``np`` bound to
``jax.numpy``, index assignments as ``v = v.at[i].set(e)``). ``tests/fuzz.py`` runs the
comparison. The generator draws from ``random.Random(seed)``, not from hypothesis: a fuzzing
run must go on past a mismatch (hypothesis stops and shrinks at the first), and a seed alone
must name a program, on any machine, for the case files and ``make fuzz START=``.
"""

from __future__ import annotations

import ast
import itertools
import random
from dataclasses import dataclass

import numpy as np

FULL_SHAPES = ((3,), (2, 3), (3, 3), (2, 2, 3))
CONSTS = ("0.5", "1.3", "-0.7", "0.25", "2.0")
THRESHOLDS = ("-0.5", "0.0", "0.3", "1.0")
RANGES = ("range(0)", "range(1)", "range(2)", "range(3)", "range(1, 4)", "range(0, 4, 2)",
          "range(3, 0, -1)", "reversed(range(3))")
MAX_DEPTH = 2          # nesting of compound statements
MAX_STATEMENTS = 10    # statements in f's body after the first assignments

# Elementwise functions of one value: domains are guarded where the function has edges.
UNARY = (
    "np.sin({})", "np.cos({})", "np.tanh({})", "np.arctan({})", "np.arcsinh({})", "-{}",
    "np.square({})", "np.exp(np.tanh({}))", "np.expm1(np.tanh({}))",
    "np.exp2(np.sin({}))", "np.sinh(np.tanh({}))", "np.cosh(np.sin({}))",
    "np.log(1.5 + np.cos({}))", "np.log1p(np.square({}))", "np.log2(2.0 + np.sin({}))",
    "np.log10(1.5 + np.tanh({}))", "np.sqrt(1.0 + ({}) ** 2)", "np.cbrt(2.0 + np.sin({}))",
    "np.reciprocal(1.5 + np.cos({}))", "np.arcsin(0.9 * np.tanh({}))",
    "np.arccos(0.9 * np.sin({}))", "np.arctanh(0.8 * np.tanh({}))",
    "np.arccosh(1.5 + ({}) ** 2)", "np.tan(0.5 * np.tanh({}))", "{} ** 3", "{} * 0.5",
    "(1.2 + np.cos({})) ** 1.5", "np.abs({})", "np.clip({}, -0.5, 0.7)",
    "np.maximum({}, 0.0)", "np.minimum(0.2, {})", "np.positive({})",
    "np.exp(-np.square({}))", "1.0 / (1.0 + np.exp(-{}))",
)
# Elementwise functions of two values (broadcasting).
BINARY = (
    "({} + {})", "({} - {})", "{} * {}", "{} / (1.5 + np.cos({}))", "np.maximum({}, {})",
    "np.minimum({}, {})", "np.hypot({}, 0.5 + np.square({}))", "np.logaddexp({}, {})",
    "np.arctan2({}, 1.5 + np.cos({}))", "(1.5 + np.sin({})) ** np.cos({})",
    "np.multiply({}, np.tanh({}))", "np.add({}, {})", "np.subtract({}, {})",
    "np.divide({}, np.exp(np.cos({})))",
)
REDUCTIONS = ("sum", "mean", "max", "min", "prod", "var", "std")
IDIOM_RATE = 0.15      # statements followed by an idiom of code written by others
SPECTRAL_RATE = 0.08   # unary expressions taken through complex values and an FFT and back
# The same reductions through the twins of NumPy's nan-functions (srcgrad/twins.py; the same
# values where nothing is nan), drawn from a stream of their own: a program keeps the shapes,
# values and branches it had before they were added, and so its skip reasons.
NAN_TWINS = {"sum": "nansum", "mean": "nanmean", "max": "nanmax", "min": "nanmin",
             "prod": "nanprod", "var": "nanvar", "std": "nanstd"}


def fits(shape, full):
    """``shape`` broadcasts to ``full``."""
    if len(shape) > len(full):
        return False
    return all(s in (1, f) for s, f in zip(reversed(shape), reversed(full), strict=False))


def broadcast(a, b):
    return np.broadcast_shapes(a, b)


def widens_to(a, b):
    """A value of shape ``a`` can be added in place to one of shape ``b``."""
    return fits(a, b) and broadcast(a, b) == b


@dataclass(frozen=True)
class E:
    """An expression: its text, its shape, and whether it is a fresh array (not a view of a
    variable or argument, so that it may be assigned and then updated in place)."""

    text: str
    shape: tuple
    fresh: bool = True


@dataclass
class Program:
    """A generated module (``text``, defining ``f``) and the point to differentiate it at."""

    seed: int
    text: str
    dtype: str                    # "float64" or "float32"
    values: dict                  # argument name -> float64 value, in f's parameter order
    python_floats: tuple = ()     # arguments passed as Python floats

    def arguments(self, dtype: str | None = None) -> list:
        """f's arguments in the program's dtype (or ``dtype``)."""
        dt = np.dtype(dtype or self.dtype)
        return [float(v) if n in self.python_floats else np.asarray(v, dtype=dt)
                for n, v in self.values.items()]

    @property
    def jax_text(self) -> str:
        """The module for jax: ``jax.numpy`` as ``np``; ``v[i] = e`` as ``v = v.at[i].set(e)``."""
        return jax_twin(self.text)

    def case_file(self, why: str) -> str:
        """A regression test file: the module, with the point and what went wrong."""
        values = ", ".join(f"{n!r}: {np.asarray(v).tolist()!r}" for n, v in self.values.items())
        return (f'"""Fuzz seed {self.seed}: {why}"""\n\n'
                f"DTYPE = {self.dtype!r}\nVALUES = {{{values}}}\n"
                f"PYTHON_FLOATS = {self.python_floats!r}\n{self.text}")

    @classmethod
    def from_case_file(cls, text: str, seed: int = -1) -> Program:
        tree = ast.parse(text)
        consts = {}
        for node in tree.body:
            if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
                name = node.targets[0].id
                if name in ("DTYPE", "VALUES", "PYTHON_FLOATS"):
                    consts[name] = ast.literal_eval(node.value)
        values = {n: np.asarray(v, dtype=np.float64) for n, v in consts["VALUES"].items()}
        module = text[text.index("import numpy as np"):]
        return cls(seed, module, consts["DTYPE"], values, tuple(consts["PYTHON_FLOATS"]))


class _AtUpdates(ast.NodeTransformer):
    """``v[i] = e`` -> ``v = v.at[i].set(e)`` and ``v[i] += e`` -> ``v = v.at[i].add(e)``."""

    def _at(self, target, method, value):
        at = ast.Subscript(ast.Attribute(ast.Name(target.value.id, ast.Load()), "at",
                                         ast.Load()), target.slice, ast.Load())
        call = ast.Call(ast.Attribute(at, method, ast.Load()), [value], [])
        return ast.Assign([ast.Name(target.value.id, ast.Store())], call)

    def visit_Assign(self, node):
        t = node.targets[0]
        if isinstance(t, ast.Subscript):
            return self._at(t, "set", node.value)
        return node

    def visit_AugAssign(self, node):
        if isinstance(node.target, ast.Subscript):
            return self._at(node.target, "add", node.value)
        return node


class _JaxIdioms(ast.NodeTransformer):
    """What NumPy takes and jax does not, written for jax with the same values: Python's
    ``max(a, b, c)`` as the chain of ``np.where`` it is (a traced value has no truth
    value), ``float(e)`` as ``e``, a list handed to a NumPy function as ``np.array`` of it,
    ``with np.errstate(...)`` as its body."""

    def visit_Call(self, node):
        self.generic_visit(node)
        f = node.func
        if isinstance(f, ast.Name) and f.id in ("max", "min") and len(node.args) >= 2:
            best = node.args[0]
            for item in node.args[1:]:
                test = ast.Compare(item, [ast.Gt() if f.id == "max" else ast.Lt()], [best])
                best = ast.Call(ast.Attribute(ast.Name("np", ast.Load()), "where", ast.Load()),
                                [test, item, best], [])
            return best
        if isinstance(f, ast.Name) and f.id == "float" and len(node.args) == 1:
            return node.args[0]
        if isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name) and \
                f.value.id == "np" and f.attr in ("sum", "mean", "max") and node.args and \
                isinstance(node.args[0], ast.List):
            node.args[0] = ast.Call(ast.Attribute(ast.Name("np", ast.Load()), "array",
                                                  ast.Load()), [node.args[0]], [])
        return node

    def visit_With(self, node):
        self.generic_visit(node)
        return node.body


def jax_tree(tree: ast.Module) -> ast.Module:
    """The module ``tree`` (changed in place) for jax: index assignments as ``.at[...]``,
    ``import numpy as np`` as ``import jax.numpy as np``, NumPy's idioms as jax takes them."""
    tree = ast.fix_missing_locations(_JaxIdioms().visit(_AtUpdates().visit(tree)))
    for node in tree.body:
        if isinstance(node, ast.Import) and node.names[0].name == "numpy":
            node.names[0].name = "jax.numpy"
    return tree


def jax_twin(text: str) -> str:
    return ast.unparse(jax_tree(ast.parse(text)))


class _Scope:
    def __init__(self, names, ints=(), depth=0, in_loop=False, iterated=frozenset()):
        self.names = list(names)          # [(name, shape)]
        self.ints = list(ints)
        self.depth = depth
        self.in_loop = in_loop
        self.iterated = iterated          # arrays enclosing loops iterate over

    def child(self, names=(), ints=(), loop=False, over=None):
        return _Scope(self.names + list(names), self.ints + list(ints), self.depth + 1,
                      self.in_loop or loop, self.iterated | ({over} if over else set()))


class Generator:
    """Writes one program from a ``random.Random``."""

    def __init__(self, rnd: random.Random, spelling: random.Random | None = None,
                 idioms: random.Random | None = None, spectral: random.Random | None = None):
        self.r = rnd
        self.spectral = spectral   # complex values and FFTs around some unary expressions
        self.spelling = spelling or random.Random(0)   # other spellings of the same values
        self.idioms = idioms   # statements of real code added after some statements (or None)
        self.idiom_names = itertools.count()
        self.uses_operator = False
        self.full = rnd.choice(FULL_SHAPES)
        self.sub = self._sub_shapes()
        self.helpers: list[tuple[str, list, tuple]] = []   # (name, param shapes, result)
        self.lines: list[str] = []
        self.vars: dict[str, tuple] = {}
        self.counter = itertools.count()

    # --- shapes --------------------------------------------------------------------------

    def _sub_shapes(self):
        out = set()
        for k in range(len(self.full) + 1):
            tail = self.full[k:]
            for keep in itertools.product((True, False), repeat=len(tail)):
                out.add(tuple(d if kp else 1 for d, kp in zip(tail, keep, strict=False)))
        return sorted(out, key=lambda s: (len(s), s))

    def fits(self, shape):
        return fits(shape, self.full)

    def as_shape(self, e: E, shape) -> E:
        """``e`` made the given shape: broadcast up, or its mean broadcast."""
        if e.shape == shape:
            return e
        if widens_to(e.shape, shape):
            return E(f"np.broadcast_to({e.text}, {shape})", shape, False)
        mean = f"np.mean({e.text})"
        if shape == ():
            return E(mean, ())
        return E(f"np.broadcast_to({mean}, {shape})", shape, False)

    # --- expressions ---------------------------------------------------------------------

    def leaf(self, scope):
        r = self.r
        if r.random() < 0.15:
            if scope.ints and r.random() < 0.5:
                return E(f"{r.choice(scope.ints)} * 0.1", ())
            return E(r.choice(CONSTS), ())
        n, s = r.choice(scope.names)
        return E(n, s, False)

    def expr(self, scope, depth) -> E:
        r = self.r
        if depth <= 0 or r.random() < 0.2:
            return self.leaf(scope)
        kind = r.choices(
            ("unary", "binary", "reduce", "shape", "index", "linalg", "cond", "helper",
             "comprehension", "join", "cumsum", "norm"),
            (8, 10, 5, 3, 3, 3, 1, 1 if self.helpers else 0, 1, 1, 1, 1))[0]
        return getattr(self, f"_{kind}")(scope, depth)

    def _unary(self, scope, depth):
        e = self.expr(scope, depth - 1)
        out = E(self.r.choice(UNARY).format(e.text), e.shape)
        if self.spectral is not None and self.spectral.random() < SPECTRAL_RATE:
            return self._spectral(out)
        return out

    def _spectral(self, e):
        """``e`` through complex values and back to a real value of its shape, smooth (no
        modulus near 0, no phase near its cut), from the spectral stream alone."""
        r, text, shape = self.spectral, e.text, e.shape
        if not shape:
            return E(f"np.real(({text}) * (1 + 1j) * np.conj(1 - 0.5j * ({text})))", shape)
        axis = r.randrange(-len(shape), 0)
        n = shape[axis]
        norm = r.choice(("None", "'ortho'", "'forward'", "'backward'"))
        form = r.randrange(5)
        if form == 0:
            return E(f"np.fft.irfft(np.fft.rfft({text}, axis={axis}, norm={norm}) * (0.8 + 0.3j),"
                     f" n={n}, axis={axis}, norm={norm})", shape)
        if form == 1:
            return E(f"np.real(np.fft.ifft(np.fft.fft({text}, axis={axis}) * 1.2j ** 0.5, "
                     f"axis={axis}, norm={norm}))", shape)
        if form == 2:
            return E(f"np.sqrt(np.abs(np.fft.fft({text}, norm={norm})) ** 2 + 0.1)", shape)
        if form == 3:
            return E(f"np.imag(np.fft.fftn({text}) * (0.5 - 1j)).conj()", shape)
        return E(f"np.cos(np.angle(np.fft.fft({text}, axis={axis}) + 2.0)) * ({text})", shape)

    def _binary(self, scope, depth):
        a, b = self.expr(scope, depth - 1), self.expr(scope, depth - 1)
        return E(self.r.choice(BINARY).format(a.text, b.text), broadcast(a.shape, b.shape))

    def _reduce(self, scope, depth):
        r = self.r
        e = self.expr(scope, depth - 1)
        op = r.choice(REDUCTIONS)
        inner = e.text
        if op == "prod":
            inner = f"(1.2 + np.sin({inner}))"
        nd = len(e.shape)
        form = r.random()
        if nd == 0 or form < 0.3:
            return E(self._call(op, inner, "", nd > 0), ())
        axis = r.randrange(-nd, nd)
        keep = r.random() < 0.5 or axis not in (0, -nd)
        shape = list(e.shape)
        if keep:
            shape[axis] = 1
        else:
            del shape[axis]
        args = f"axis={axis}" + (", keepdims=True" if keep else "")
        return E(self._call(op, inner, args, True), tuple(shape))

    def _call(self, op, inner, args, array):
        sep = ", " if args else ""
        method = array and self.r.random() < 0.3
        if op in NAN_TWINS and self.spelling.random() < 0.2:
            return f"np.{NAN_TWINS[op]}({inner}{sep}{args})"
        if method:
            return f"({inner}).{op}({args})"
        name = {"max": "np.max", "min": "np.min"}.get(op, f"np.{op}")
        return f"{name}({inner}{sep}{args})"

    def _shape(self, scope, depth):
        r = self.r
        e = self.expr(scope, depth - 1)
        s, nd = e.shape, len(e.shape)
        options = []
        if nd:
            options += [E(f"np.flip({e.text}, axis={r.randrange(nd)})", s, False),
                        E(f"np.ravel({e.text}).reshape({s})", s, False),
                        E(f"np.expand_dims({e.text}, 0)[0]", s, False)]
        if nd == 2 and self.fits(s[::-1]):
            options.append(E(f"({e.text}).T", s[::-1], False))
        if nd >= 2 and self.fits((s[1], s[0], *s[2:])):
            options.append(E(f"np.swapaxes({e.text}, 0, 1)", (s[1], s[0], *s[2:]), False))
        if nd < len(self.full):
            options.append(E(f"np.expand_dims({e.text}, 0)", (1, *s), False))
        if 1 in s:
            k = s.index(1)
            squeezed = s[:k] + s[k + 1:]
            if self.fits(squeezed):
                options.append(E(f"np.squeeze({e.text}, axis={k})", squeezed, False))
        options.append(E(f"np.broadcast_to({e.text}, {self.full})", self.full, False))
        options.append(E(f"np.sum(np.tile({e.text}, 2)) * 0.5", ()))
        if nd:
            options.append(E(f"np.mean(np.repeat({e.text}, 2, axis={nd - 1}))", ()))
        options.append(E(f"np.copy({e.text})", s))
        return r.choice(options)

    def _index(self, scope, depth):
        r = self.r
        e = self.expr(scope, depth - 1)
        s, nd = e.shape, len(e.shape)
        if nd == 0:
            return e
        options = ["0", "-1", ":1", "..., :1", "..., -1", "..., [2, 0, 1]"]
        if nd >= 2:
            options += [":, 1", "1:2, ...", "None, 0"]
        if s[0] > 1:
            options.append("1")
        idx, shape = r.choice(_valid(options, s))
        text = f"({e.text})[{idx}]" if not _is_name(e.text) else f"{e.text}[{idx}]"
        if not self.fits(shape):
            return E(f"np.sum({text})", ())
        return E(text, shape, False)

    def _linalg(self, scope, depth):
        r = self.r
        n = self.full[-1]
        a, b = self.expr(scope, depth - 1), self.expr(scope, depth - 1)
        kind = r.randrange(9)
        vec = self.as_shape(b, (n,)).text
        if kind == 0:     # (..., n) @ (n,), the dropped axis put back
            s = a.shape if a.shape and a.shape[-1] == n else self.full
            m = self.as_shape(a, s).text
            return E(f"(({m}) @ {vec})[..., None]", (*s[:-1], 1))
        if kind == 1:
            return E(f"np.dot({self.as_shape(a, (n,)).text}, {vec})", ())
        if kind == 2:
            return E(f"np.sum(np.outer({self.as_shape(a, (n,)).text}, {vec}), axis=0)", (n,))
        if kind == 3:
            m = self.as_shape(a, self.full).text
            o = self.as_shape(b, self.full).text
            return E(f"np.tensordot({m}, {o}, axes={len(self.full)})", ())
        if kind == 4:
            return E(f"np.einsum('...i,i->...', {self.as_shape(a, self.full).text}, {vec})"
                     f"[..., None]", (*self.full[:-1], 1))
        mat = f"(np.eye({n}) * 2.0 + 0.3 * np.tanh({self.as_shape(a, (n, n)).text}))"
        if kind == 5:
            return E(f"np.linalg.det({mat})", ())
        if kind == 6:
            return E(f"np.sum(np.linalg.inv({mat}), axis=0)", (n,))
        if kind == 7:
            return E(f"np.linalg.solve({mat}, {vec})", (n,))
        return E(f"np.diag({mat}) * {vec} + np.trace({mat})", (n,))

    def _cond(self, scope, depth):
        a, b = self.expr(scope, depth - 1), self.expr(scope, depth - 1)
        shape = broadcast(a.shape, b.shape)
        a, b = self.as_shape(a, shape), self.as_shape(b, shape)
        if self.r.random() < 0.5:
            c = self.expr(scope, 1)
            test = f"{c.text} > {self.r.choice(THRESHOLDS)}"
            return E(f"np.where({test}, {a.text}, {b.text})", broadcast(shape, c.shape))
        return E(f"np.tanh({a.text} if {self.test(scope)} else {b.text})", shape)

    def _helper(self, scope, depth):
        name, shapes, result = self.r.choice(self.helpers)
        args = [self.as_shape(self.expr(scope, depth - 1), s).text for s in shapes]
        return E(f"{name}({', '.join(args)})", result)

    def _comprehension(self, scope, depth):
        r = self.r
        arrays = [(n, s) for n, s in scope.names if s]
        if not arrays:
            return self._unary(scope, depth)
        name, s = r.choice(arrays)
        item = f"r{next(self.counter)}"
        inner = self.expr(scope.child(names=[(item, s[1:])]), depth - 1)
        body = self.as_shape(inner, s[1:]).text
        if r.random() < 0.5:
            return E(f"np.stack([{body} for {item} in {name}])", s)
        return E(f"np.sum(np.array([np.sum({body}) for {item} in {name}]))", ())

    def _join(self, scope, depth):
        a, b = self.expr(scope, depth - 1), self.expr(scope, depth - 1)
        full = self.full
        a, b = self.as_shape(a, full).text, self.as_shape(b, full).text
        if self.r.random() < 0.5:
            return E(f"np.concatenate([({a})[..., :1], ({b})[..., 1:]], axis=-1)", full)
        return E(f"np.stack([{a}, {b}])[{self.r.randrange(2)}]", full, False)

    def _cumsum(self, scope, depth):
        e = self.expr(scope, depth - 1)
        if not e.shape:
            return e
        return E(f"np.cumsum({e.text}, axis={self.r.randrange(len(e.shape))})", e.shape)

    def _norm(self, scope, depth):
        e = self.expr(scope, depth - 1)
        guarded = f"(0.5 + np.square({e.text}))"     # never zero: no kink
        if e.shape and self.r.random() < 0.5:
            return E(f"np.linalg.norm({guarded}, axis=-1, keepdims=True)",
                     (*e.shape[:-1], 1))
        return E(f"np.linalg.norm({guarded})", ())

    # --- tests ---------------------------------------------------------------------------

    def test(self, scope):
        """A condition on a value: a Python bool."""
        r = self.r
        e = self.expr(scope, 1)
        t = r.choice(THRESHOLDS)
        atoms = [f"np.sum({e.text}) > {t}", f"np.mean({e.text}) < {t}"]
        atoms += [f"{i} % 2 == 0" for i in scope.ints] + [f"{i} >= 2" for i in scope.ints]
        atom = r.choice(atoms)
        how = r.randrange(6)
        if how == 0:
            return f"{atom} and {r.choice(atoms)}"
        if how == 1:
            return f"{atom} or {r.choice(atoms)}"
        if how == 2:
            return f"not {atom}"
        return atom

    # --- statements ----------------------------------------------------------------------

    def emit(self, pad, line):
        self.lines.append(pad + line)

    def fresh(self, e: E) -> str:
        """The text of ``e`` as a fresh array (a view or a name is computed into a new one)."""
        if e.fresh:
            return e.text
        return self.r.choice(("np.copy({})", "np.tanh({})", "{} * 1.5", "{} + 0.25")).format(
            e.text)

    def block(self, scope, budget, pad):
        for k in range(self.r.randint(1, 3)):
            if k and budget[0] <= 0:
                break
            self.statement(scope, budget, pad)

    def statement(self, scope, budget, pad):
        self._statement(scope, budget, pad)
        if self.idioms is not None and self.idioms.random() < IDIOM_RATE:
            self._idiom(scope, pad)

    def _statement(self, scope, budget, pad):
        r = self.r
        budget[0] -= 1
        compound = scope.depth < MAX_DEPTH and budget[0] > 1
        names = [n for n, _ in scope.names if n in self.vars]
        kind = r.choices(("assign", "augment", "index", "repeat", "if", "for", "while", "list"),
                         (5, 3, 2, 1, *((2, 3, 1, 1) if compound else (0, 0, 0, 0))))[0]
        if kind in ("augment", "index"):  # never in place on an array a loop iterates over:
            names = [n for n in names if n not in scope.iterated]  # NumPy's loop would see it
            if not names:
                return self._statement(scope, budget, pad)
        v = r.choice(names)
        vs = self.vars[v]
        if kind == "assign":
            e = self.as_shape(self.expr(scope, 2), vs)
            self.emit(pad, f"{v} = {self.fresh(e)}")
        elif kind == "augment":
            e = self.expr(scope, 2)
            if not widens_to(e.shape, vs):
                e = self.as_shape(e, vs)
            op, rhs = r.choice((("+=", "{}"), ("-=", "{} * 0.5"), ("*=", "np.cos({})"),
                                ("/=", "(1.5 + np.sin({}))")))
            self.emit(pad, f"{v} {op} {rhs.format(e.text)}")
        elif kind == "index":
            arrays = [n for n in names if self.vars[n]]
            if not arrays:
                return self._statement(scope, budget, pad)
            v = r.choice(arrays)
            vs = self.vars[v]
            options = ["0", "-1", ":1", "..., 0", "..., 1:"]
            if len(vs) >= 2:
                options += [":, 1", "0, 0"]
            idx, slot = r.choice(_valid(options, vs))
            if r.random() < 0.25:   # a constant into an active array: its tangent is 0 there
                self.emit(pad, f"{v}[{idx}] = {r.choice(CONSTS)}")
                return
            e = self.expr(scope, 2)
            if not widens_to(e.shape, slot):
                e = self.as_shape(e, slot)
            if r.random() < 0.3:
                self.emit(pad, f"{v}[{idx}] += {e.text}")
            else:
                self.emit(pad, f"{v}[{idx}] = {e.text}")
        elif kind == "repeat":
            self._repeat(scope, names, pad)
        elif kind == "if":
            self._if(scope, budget, pad)
        elif kind == "for":
            self._for(scope, budget, pad)
        elif kind == "while":
            n = f"n{scope.depth}"
            cond = f"{n} < {r.randint(0, 3)}"
            if r.random() < 0.5:
                cond += f" and ({self.test(scope)})"   # bounded: n < k and (...)
            self.emit(pad, f"{n} = 0")
            self.emit(pad, f"while {cond}:")
            self.emit(pad + "    ", f"{n} = {n} + 1")
            self.block(scope.child(loop=True), budget, pad + "    ")
        else:   # a list filled in a loop, then read
            hs = f"hs{next(self.counter)}"
            self.emit(pad, f"{hs} = [{self.fresh(self.as_shape(self.leaf(scope), vs))}]")
            i = f"i{scope.depth}"
            self.emit(pad, f"for {i} in {r.choice(RANGES)}:")
            inner = scope.child(ints=[i], loop=True)
            e = self.as_shape(self.expr(inner, 2), vs)
            self.emit(pad + "    ", f"{hs}.append({self.fresh(e)})")
            read = r.choice((f"np.mean(np.stack({hs}), axis=0)", f"{hs}[-1] * 0.5",
                             f"sum({hs}) * 0.3", f"np.stack({hs})[0] * len({hs})"))
            self.emit(pad, f"{v} = {read}")

    def _idiom(self, scope, pad):
        """One statement as code written by others writes it, from the idiom stream alone (the
        program's other statements stay what they were): builtins (``max``, ``min``, ``sum``
        of an array's rows, ``float``), the ``operator`` module, literal lists and tuples
        assigned in a branch and read by a run-time index, dicts and their views, lists
        handed to NumPy, ``with np.errstate``."""
        q = self.idioms
        assert q is not None
        names = [n for n, _ in scope.names if n in self.vars]
        if not names:
            return
        v = q.choice(names)
        vs = self.vars[v]
        pick = [(n, sh) for n, sh in scope.names]
        a, b = (E(n, sh, False) for n, sh in (q.choice(pick), q.choice(pick)))
        av, bv = self.as_shape(a, vs).text, self.as_shape(b, vs).text
        k = next(self.idiom_names)
        kind = q.choice(("branch_list", "tuple_index", "extremum", "operator", "rows_sum",
                         "float", "dict", "np_list", "errstate", "ordering", "ordering"))
        if kind in ("branch_list", "tuple_index"):
            ts = f"ts{k}"
            if scope.ints and q.random() < 0.7:
                idx = f"{q.choice(scope.ints)} % 3"
            else:
                idx = q.choice(("0", "1", "2", "-1"))
            if kind == "branch_list":
                self.emit(pad, f"if np.sum({a.text}) > {q.choice(THRESHOLDS)}:")
                self.emit(pad + "    ", f"{ts} = [{av}, np.sin({bv}), {av} * {bv}]")
                self.emit(pad, "else:")
                self.emit(pad + "    ", f"{ts} = [{bv}, {av}, np.cos({av})]")
            else:
                self.emit(pad, f"{ts} = ({av}, np.tanh({bv}), {bv} ** 2)")
            self.emit(pad, f"{v} = {ts}[{idx}] * 0.5 + {ts}[0] * 0.25")
        elif kind == "extremum":
            fn = q.choice(("max", "min"))
            self.emit(pad, f"{v} = {v} * 0.5 + {fn}(np.sum({a.text}), np.mean({b.text}), "
                           f"{q.choice(CONSTS)})")
        elif kind == "operator":
            self.uses_operator = True
            op = q.choice(("mul", "add", "sub"))
            self.emit(pad, f"{v} = operator.{op}({v}, operator.mul({av}, 0.5))")
        elif kind == "rows_sum":
            rows = [(n, sh) for n, sh in scope.names if sh and widens_to(sh[1:], vs)]
            if not rows:
                return
            n, _ = q.choice(rows)
            self.emit(pad, f"{v} = {v} + sum({n}) * 0.3")
        elif kind == "float":
            self.emit(pad, f"{v} = {v} * float(np.mean({a.text}) * 0.2 + 1.0)")
        elif kind == "dict":
            if scope.depth:  # (a dict of differentiated values assigned in a branch or loop
                return       # is refused: srcgrad keeps dicts symbolic)
            d = f"d{k}"
            self.emit(pad, q.choice((f'{d} = {{"p": {av}, "q": np.cos({bv})}}',
                                     f"{d} = dict(p={av}, q=np.cos({bv}))")))
            if q.random() < 0.5:
                self.emit(pad, f"for key{k}, val{k} in {d}.items():")
                self.emit(pad + "    ", f"{v} = {v} + val{k} * (0.25 if key{k} == 'p' else "
                                         "0.5)")
            else:
                self.emit(pad, f"{v} = {v} + sum({d}.values()) * 0.2")
        elif kind == "np_list":
            fn = q.choice(("sum", "mean", "max"))
            self.emit(pad, f"{v} = {v} + np.{fn}([{av}, {bv} * 0.5], axis=0)")
        elif kind == "ordering":  # twins of NumPy's ordering functions and scans
            if not vs:
                return
            self.emit(pad, q.choice((
                f"{v} = {v} + np.cumprod(np.tanh({av}), axis=-1)",
                f"{v} = {v} + np.quantile({av}, 0.3, axis=-1, keepdims=True)",
                f"{v} = {v} + np.sort({av}, axis=-1) * 0.5",
                f"{v} = {v} + np.interp({av}, np.array([-1.0, 0.0, 1.0]), "
                f"np.array([0.5, -0.2, 0.9]))",
                f"{v} = {v} + np.sum(np.array_split(np.ravel({av}), 2)[0]) * 0.3",
                f"{v} = {v} + np.maximum.accumulate({av}, axis=-1) * 0.5")))
        else:
            self.emit(pad, 'with np.errstate(divide="ignore", invalid="ignore"):')
            self.emit(pad + "    ", f"{v} = {v} + np.log(1.5 + np.cos({av}))")

    def _repeat(self, scope, names, pad):
        """An expression written again after one of its operands is reassigned: the same
        text, another value (``a = np.tanh(u) * x; u = ...; b = np.tanh(u) * x``)."""
        r = self.r
        u = r.choice(names)
        e = E(r.choice(UNARY).format(u), self.vars[u])
        if r.random() < 0.5:
            other = self.expr(scope, 1)
            e = E(r.choice(BINARY).format(e.text, other.text), broadcast(e.shape, other.shape))
        v, w = r.choice(names), r.choice(names)
        self.emit(pad, f"{v} = {self.fresh(self.as_shape(e, self.vars[v]))}")
        if u in scope.iterated or r.random() < 0.5:
            new = self.as_shape(self.expr(scope, 2), self.vars[u])
            self.emit(pad, f"{u} = {self.fresh(new)}")
        else:
            factor = self.as_shape(self.expr(scope, 1), self.vars[u])
            self.emit(pad, f"{u} *= np.cos({factor.text})")
        self.emit(pad, f"{w} = {self.fresh(self.as_shape(e, self.vars[w]))}")

    def _if(self, scope, budget, pad):
        r = self.r
        jumps = ("", "", "break", "continue") if scope.in_loop else ("",)
        has_elif, has_else = r.random() < 0.4, r.random() < 0.5
        self.emit(pad, f"if {self.test(scope)}:")
        self._branch(scope, budget, pad, r.choice(jumps))
        if has_elif:
            self.emit(pad, f"elif {self.test(scope)}:")
            self._branch(scope, budget, pad, "")
        if has_else:
            self.emit(pad, "else:")
            self._branch(scope, budget, pad, "" if has_elif else r.choice(jumps))

    def _branch(self, scope, budget, pad, jump):
        inner = pad + "    "
        if jump and self.r.random() < 0.5:
            self.emit(inner, jump)
            return
        self.block(scope.child(), budget, inner)
        if jump:
            self.emit(inner, jump)

    def _for(self, scope, budget, pad):
        r = self.r
        d = scope.depth
        arrays = [(n, s) for n, s in scope.names if s]
        kind = r.randrange(4) if arrays else 0
        inner = pad + "    "
        if kind == 0:
            i = f"i{d}"
            self.emit(pad, f"for {i} in {r.choice(RANGES)}:")
            child = scope.child(ints=[i], loop=True)
        elif kind == 1:
            name, s = r.choice(arrays)
            item = f"r{d}"
            self.emit(pad, f"for {item} in {name}:")
            child = scope.child(names=[(item, s[1:])], loop=True, over=name)
        elif kind == 2:
            name, s = r.choice(arrays)
            i, item = f"i{d}", f"r{d}"
            self.emit(pad, f"for {i}, {item} in enumerate({name}):")
            child = scope.child(names=[(item, s[1:])], ints=[i], loop=True, over=name)
        else:
            name, s = r.choice(arrays)
            other = self.as_shape(self.expr(scope, 1), s).text
            p, q = f"r{d}", f"q{d}"
            self.emit(pad, f"for {p}, {q} in zip({name}, np.cos({other})):")
            child = scope.child(names=[(p, s[1:]), (q, s[1:])], loop=True, over=name)
        self.block(child, budget, inner)

    # --- the module ----------------------------------------------------------------------

    def helper(self, k):
        r = self.r
        shapes = [r.choice(self.sub) for _ in range(2)]
        name = f"g{k}"
        scope = _Scope(list(zip(("p", "q"), shapes, strict=False)))
        self.emit("", f"def {name}(p, q):")
        u = self.expr(scope, 2)
        self.emit("    ", f"u = {self.fresh(u)}")
        scope.names.append(("u", u.shape))
        if r.random() < 0.5:
            self.emit("    ", f"if {self.test(scope)}:")
            e = self.as_shape(self.expr(scope, 2), u.shape)
            self.emit("        ", f"u = {self.fresh(e)}")
        out = self.expr(scope, 2)
        out = E(f"u * {out.text}", broadcast(u.shape, out.shape))
        self.emit("    ", f"return {out.text}")
        self.emit("", "")
        self.emit("", "")
        self.helpers.append((name, shapes, out.shape))

    def function(self):
        r = self.r
        names = ["x", "y", "z"][: r.randint(2, 3)]
        params = []
        for k, n in enumerate(names):
            shape = self.full if k == 0 else r.choice(self.sub)
            params.append((n, shape, shape == () and r.random() < 0.5))
        self.emit("", f"def f({', '.join(names)}):")
        scope = _Scope([(n, s) for n, s, _ in params])
        for v in ("a", "b", "c")[: r.randint(2, 3)]:
            e = self.expr(scope, 2)
            if e.shape == () and r.random() < 0.5:
                e = self.as_shape(e, r.choice(self.sub))
            self.emit("    ", f"{v} = {self.fresh(e)}")
            self.vars[v] = e.shape
            scope.names.append((v, e.shape))
        budget = [r.randint(2, MAX_STATEMENTS)]
        while budget[0] > 0:
            self.block(scope, budget, "    ")
        terms = [f"np.sum({v} * np.tanh({r.choice(list(self.vars))}))" for v in self.vars]
        self.emit("    ", f"return {' + '.join(terms)}")
        return params


def _valid(indices, shape):
    """``(index, shape of x[index])`` for each index text valid on an array of ``shape``."""
    out = []
    for idx in indices:
        try:
            out.append((idx, np.empty(shape)[eval(f"np.s_[{idx}]")].shape))  # noqa: S307
        except IndexError:
            pass
    return out


def _is_name(text):
    return text.isidentifier()


def generate(seed: int) -> Program:
    """The program of ``seed``: the same text and point on every machine."""
    r = random.Random(seed)
    g = Generator(r, random.Random(seed + 0x5EED), random.Random(seed + 0x1D105),
                  random.Random(seed + 0xFF7))
    float32 = r.random() < 0.25
    for k in range(r.randint(0, 2)):
        g.helper(k)
    params = g.function()
    vr = np.random.default_rng(seed)
    values = {name: vr.uniform(-1.5, 1.5, shape) for name, shape, _ in params}
    header = "import numpy as np\n" + ("import operator\n" if g.uses_operator else "")
    text = header + "\n\n" + "\n".join(g.lines) + "\n"
    return Program(seed, text, "float32" if float32 else "float64", values,
                   tuple(name for name, _, pyfloat in params if pyfloat))
