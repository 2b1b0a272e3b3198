"""The lowering's state and what every part of it shares: the blocks statements go into,
reuse of repeated pure results, errors and origins, values and atoms."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import libcst as cst

from srcgrad.context import PassContext
from srcgrad.errors import SrcGradError
from srcgrad.ir import (
    Atom,
    Lit,
    Node,
    Origin,
    Stmt,
    Var,
    atom_uses,
)
from srcgrad.naming import is_temporary
from srcgrad.normalize.values import (
    _HINTS,
    Frame,
    Home,
    Local,
    Pack,
    Ref,
    _atom_key,
    _container_node,
    _describe,
    _header,
)
from srcgrad.objects import Guard
from srcgrad.parse import ParsedFunction
from srcgrad.rules.shape import VIEWS


class _Base:
    if TYPE_CHECKING:
        # what one part of the lowering calls on another: _Lowering (srcgrad/normalize/__init__.py)
        # is every part at once; each is defined, with its signature, in the part named
        version: Callable[[str], str]  # statements
        assign: Callable[..., None]
        _own_copies: Callable[..., None]
        _param_names: Callable[..., list[str]]
        _suite: Callable[..., tuple[Atom, Origin]]
        _statements: Callable[..., tuple[Atom, Origin] | None]
        _runtime_list: Callable[..., Var]
        _decided: Callable[..., list | None]  # decided
        _static_rows: Callable[..., list | None]
        _quiet_with: Callable[..., bool]
        _array_of_pack: Callable[..., Any]  # calls
        _own_array: Callable[..., Var]  # writes
        _setitem: Callable[..., None]
        _refuse_stale_reads: Callable[..., None]
        _control: Callable[..., Any]  # control
        _test: Callable[..., Var]
        _if: Callable[..., None]
        _jump_rest: Callable[..., bool]
        _while: Callable[..., None]
        _after_loop: Callable[..., bool]
        _break: Callable[..., list[Node]]
        _early_return: Callable[..., None]
        _loop_return: Callable[..., None]
        _with_else: Callable[..., None]
        _kept: Callable[..., Atom]
        _loop: Callable[..., None]
        _outputs: Callable[..., list[cst.BaseExpression] | None]
        _result_atoms: Callable[..., Any]
        _for: Callable[..., None]  # iteration
        _passive_expr: Callable[..., Lit]  # expressions
        _constant: Callable[..., Any]
        _index: Callable[..., Lit]
        _local: Callable[..., Local]
        _lookup: Callable[..., Any]  # names
        _object: Callable[..., Any]
        _bind_object: Callable[..., Lit]
        _on_object: Callable[..., bool]
        _static: Callable[..., Any]
        _items_of: Callable[..., Any]
        _expr_Call: Callable[..., Any]  # calls
        _primitive: Callable[..., Any]
        _opaque: Callable[..., Any]
        _inline_user: Callable[..., Any]  # inline
        _inline_local: Callable[..., Any]

    def __init__(self, ctx: PassContext):
        self.ctx = ctx
        self.rules = ctx.rules   # and the rules made for inlined generated functions
        self.bindings: dict[str, Any] = {}   # values from outside that atoms name
        self.guards: list[Guard] = []   # objects reached from outside, with their structure
        self.blocks: list[list[Node]] = [[]]
        self._parsed_cache: dict[int, ParsedFunction] = {}
        self._computed: dict[tuple, Var] = {}
        self._computed_reads: set[str] = set()  # the names the keys of _computed read
        self._targets: set[str] = set()
        self._owner: dict[str, tuple[int, str]] = {}  # core name -> (frame, user name) it versions
        self.lists: set[str] = set()   # core names of lists built at run time
        self.arguments: set[str] = set()   # the function's parameters (arrays, or containers)
        self.arrays: set[str] = set()  # core names of arrays assigned by index
        self._synthetic: dict[int, Origin] = {}  # statements made here -> the user's statement
        self._keep: list[cst.CSTNode] = []   # ... kept alive so that their ids stay theirs
        self._custom_names: dict[int, str] = {}  # id of a function with rules -> its primitive
        self._opaque_results: set[str] = set()  # variables an opaque call assigned
        self._buffers: set[str] = set()  # leaves of objects that are not differentiated
        # core name -> the core name of the array it may share memory with (a view, NumPy's
        # basic indexing, reshape, .T, ...; or another name for it): NumPy writes through
        self._views: dict[str, str] = {}
        # the array of the function's own a variable assigned by index was copied from
        # (``c = b``: in NumPy one array under two names): core name -> the source's
        self._aliases: dict[str, str] = {}
        # core names whose memory an index assignment changed through another name (a view of
        # the array written, or the array ``c = b`` named): reading one is refused, with why
        self._stale: dict[str, tuple[str, str]] = {}
        # core names that never carry a derivative (``x.shape``, ``len(x)``, ``N, D = x.shape``):
        # a tuple of them is a constant expression (``np.zeros((N, D))``)
        self._inert: set[str] = set()

    @property
    def body(self) -> list[Node]:
        """The block statements are appended to."""
        return self.blocks[-1]

    def error(self, frame: Frame, node: cst.CSTNode, message: str, hint: str | None = None):
        return SrcGradError(message, frame.call or frame.parsed.loc(node), hint)

    def emit(self, frame: Frame, target: str, prim: str, args, params=(), omitted=()) -> Var:
        """Append ``target = prim(args, params)``; a temporary repeating an earlier pure
        statement is not computed again (``(x - mu)`` written twice is computed once)."""
        assert frame.origin is not None
        key = (prim, tuple(_atom_key(a) for a in args),
               tuple((k, _atom_key(v)) for k, v in params), frozenset(omitted))
        if prim != "call" and is_temporary(target) and key in self._computed:
            return self._computed[key]
        if target in self._targets or target in self._computed_reads:
            # an overwritten name (a holder, or an operand of a result: a loop's variable is
            # assigned under its own name): earlier results may be stale
            self._forget()
        self._targets.add(target)
        self._stale.pop(target, None)
        rule = self.rules[prim] if prim in self.rules else None
        if rule is not None and (rule.jvp is None or prim in ("getitem", "assign", "copy") and
                                 args and (isinstance(args[0], Lit) or isinstance(args[0], Var)
                                           and args[0].name in self._inert)):
            self._inert.add(target)
        else:
            self._inert.discard(target)
        self.body.append(Stmt(target, prim, tuple(args), tuple(params), frame.origin,
                              frozenset(omitted)))
        if prim != "setitem":  # target names a new array: the views of its old one stay old
            for view in [v for v, base in self._views.items() if base == target]:
                del self._views[view]
            for copy in [c for c, source in self._aliases.items() if source == target]:
                del self._aliases[copy]
        if prim in VIEWS and args and isinstance(args[0], Var) and args[0].name != target:
            self._views[target] = self._views.get(args[0].name, args[0].name)
        elif prim == "append" and len(args) == 2 and isinstance(args[1], Var) and (
                args[1].name in self._views):
            # a list holding a view (np.split's pieces): what is taken out of it may be a
            # view of that view's base
            self._views[target] = self._views[args[1].name]
        elif prim != "append":
            self._views.pop(target, None)
        reads = frozenset().union(*(atom_uses(a) for a in (*args, *(v for _, v in params))
                                    if isinstance(a, (Var, Lit))))
        if prim != "call" and target not in reads:  # a = np.tanh(a): a's new value is not
            self._computed[key] = Var(target)       # what np.tanh(a) computes from now on
            self._computed_reads |= reads
        return Var(target)

    def _refuse_write_through(self, frame: Frame, node: cst.CSTNode, name: str, var: Var,
                              write: str) -> None:
        """Raise where ``write`` (``row /= ...``, ``z[0] = ...``) would change, in NumPy, the
        array ``var`` may share memory with: srcgrad never writes through a view."""
        base = self._views.get(var.name)
        if base is None:
            return
        owner = next((k for k, v in frame.env.items() if isinstance(v, Var) and v.name == base
                      and k != name), None)
        if owner is None:  # a view of a temporary: nothing else sees the write
            return
        shared = repr(owner)
        raise self.error(
            frame, node, f"`{write}` would change {shared} too: {name!r} may be a view of it "
            "(basic indexing, iteration over rows, .T, reshape, ravel and the like share "
            "memory in NumPy), and srcgrad does not write through views",
            f"update the base array itself ({owner}[...] = ...), or make {name} an "
            f"array of its own first ({name} = {name}.copy()), or write {name} = "
            f"{name} <op> ... for a new value")

    def _forget(self) -> None:
        """No earlier result is reused from here on."""
        self._computed.clear()
        self._computed_reads.clear()

    def _origin(self, frame: Frame, node: cst.CSTNode) -> Origin:
        frame.origin = self._synthetic.get(id(node)) or Origin(
            frame.parsed.loc(node), _header(frame, node), frame.where, frame.call)
        return frame.origin

    def value(self, frame: Frame, node: cst.BaseExpression, hint: str | Home | None) -> Any:
        """Lower ``node``; the top-level statement (if any) is named after ``hint``."""
        method = getattr(self, f"_expr_{type(node).__name__}", None)
        if method is None:
            raise self.error(frame, node, f"{_describe(node)} is not supported in a "
                             "differentiated function", _HINTS.get(type(node).__name__,
                                                                   "rewrite it with numpy calls"))
        return method(frame, node, hint)

    def atom(self, frame: Frame, node: cst.BaseExpression, hint: str | Home | None = None
             ) -> Atom:
        return self.materialize(frame, self.value(frame, node, hint), node)

    def materialize(self, frame: Frame, value: Any, node: cst.CSTNode) -> Atom:
        """An atom for ``value``: literal containers of literals become literals; other packs
        become a container built at run time."""
        if isinstance(value, (Var, Lit)):
            return value
        if isinstance(value, Pack):
            atoms = [self.materialize(frame, v, node) for v in value.items]
            atoms = [Lit(cst.Name(a.name), frozenset({a.name})) if isinstance(
                a, Var) and a.name in self._inert else a for a in atoms]
            if all(isinstance(a, Lit) for a in atoms):
                lits = [a for a in atoms if isinstance(a, Lit)]  # (all of them)
                return Lit(_container_node(value, [a.node for a in lits]),
                           frozenset().union(*(a.uses for a in lits)))
            raise self.error(frame, node, f"a {value.kind} of differentiable values can only be "
                             "indexed, unpacked or passed to np.array/np.stack/np.concatenate here",
                             "index or unpack it where it is used")
        if isinstance(value, Ref):
            return self._bind_object(value.obj, value.node)
        raise self.error(frame, node, "a function cannot be used as a value here",
                         "call it, or move it outside the differentiated function")

    def _target(self, frame: Frame, hint: str | Home | None) -> str:
        """The core name for a value the user names ``hint``: its home inside control flow,
        else a new version; a temporary for an unnamed value."""
        if isinstance(hint, Home):
            return hint.name
        if not hint:
            return self.ctx.namer.temp()
        if hint in frame.homes:
            return frame.homes[hint]
        if hint in frame.mutated:  # one array, written in place: one name
            if hint not in frame.pinned:
                frame.pinned[hint] = self.version(hint)
                self._owner[frame.pinned[hint]] = (id(frame), hint)
                self.arrays.add(frame.pinned[hint])
            return frame.pinned[hint]
        name = self.version(hint)
        self._owner[name] = (id(frame), hint)
        return name
