"""Functions and statements: parameters, suites, simple statements, assignment
(tuple unpacking, index assignment, lists built at run time), augmented assignment."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any, cast

import libcst as cst

from srcgrad import naming, objects
from srcgrad.ir import (
    Atom,
    CoreFunction,
    Jump,
    Lit,
    ObjectParam,
    Origin,
    Stmt,
    Var,
)
from srcgrad.normalize.base import _Base
from srcgrad.normalize.decided import _ends_in_jump
from srcgrad.normalize.values import (
    _AUGOPS,
    _BINOPS,
    _UNSUPPORTED_BLOCKS,
    Frame,
    Home,
    Local,
    Method,
    Obj,
    Pack,
    _container_node,
    _op_text,
    _statement_list,
    _subscript_targets,
)
from srcgrad.parse import ParsedFunction


class _Statements(_Base):
    def function(self, parsed: ParsedFunction, fn: Callable | None,
                 shapes: Mapping[str, objects.Shape]) -> CoreFunction:
        frame = Frame(parsed, {}, "", mutated=_subscript_targets(parsed.node.body))
        if parsed.node.asynchronous is not None:
            raise self.error(frame, parsed.node, "an `async def` function is not supported",
                             "differentiate a plain function; await outside it")
        params = self._param_names(frame, parsed.node.params)
        core_params: list[str] = []
        received: list[ObjectParam] = []
        for p in params:
            if p in shapes:
                obj = self._object_param(p, shapes[p])
                frame.env[p] = obj
                received.append(ObjectParam(p, obj.shape, tuple(
                    (path, cast(str, obj.leaves[path]), leaf.diff)  # a parameter's: variables
                    for path, leaf in objects.leaves(obj.shape))))
                core_params += [p, *(v for _, v, _ in received[-1].leaves)]
                continue
            frame.env[p] = Var(self.ctx.namer.claim(p))
            self._owner[frame.env[p].name] = (id(frame), p)
            self.arguments.add(frame.env[p].name)
            core_params.append(p)
        if fn is not None:
            self.ctx.stack.append(fn)
        self._own_copies(frame, [p for p in params if p not in shapes])
        result, origin = self._suite(frame, parsed.node.body)
        kwonly = tuple(p.name.value for p in parsed.node.params.kwonly_params
                       if p.name.value not in shapes)
        return CoreFunction(parsed.name, tuple(core_params), tuple(self.blocks[0]), result,
                            origin, kwonly, frozenset(self.lists), frozenset(self.arrays),
                            tuple(received), self.rules, dict(self.bindings), tuple(self.guards))

    def _object_param(self, name: str, shape: objects.Shape) -> Obj:
        """The object parameter ``name``: one variable per leaf, named after its path
        (``model_fc1_weight``); the name itself stays a (passive) parameter."""
        self.ctx.namer.claim(name)
        leaves = {}
        for path, leaf in objects.leaves(shape):
            var = self.ctx.namer.claim(naming.leaf_name(name, path))
            leaves[path] = var
            if leaf.opaque:  # an rng: its methods run as written
                self._opaque_results.add(var)
            if not leaf.diff and not leaf.opaque:  # a buffer: a module may update it
                self._buffers.add(var)
        return Obj(shape, (), leaves, name)

    def _own_copies(self, frame: Frame, params) -> None:
        """Arguments the function assigns to by index are copied first: the caller's arrays
        never change."""
        for p in params:
            if p in frame.mutated:
                frame.origin = Origin(frame.parsed.loc(frame.parsed.node),
                                      f"{p}[...] = ... below: on a copy of the argument {p}",
                                      frame.where, frame.call)
                self.assign(frame, cst.Name(p), frame.env[p])

    def _param_names(self, frame: Frame, params: cst.Parameters, inlined: bool = False
                     ) -> list[str]:
        """The parameters' names; ``*args`` and ``**kwargs`` only for a function inlined
        (bound to a tuple and a dict of the call's arguments)."""
        if inlined:
            every = (*params.posonly_params, *params.params, *params.kwonly_params)
            stars = [p for p in (params.star_arg, params.star_kwarg) if isinstance(p, cst.Param)]
            return [p.name.value for p in (*every, *stars)]
        if isinstance(params.star_arg, cst.Param):  # a bare `*` (keyword-only) is fine
            raise self.error(frame, params.star_arg, "*args parameters are not supported",
                             "list the parameters explicitly")
        if params.star_kwarg is not None:
            raise self.error(frame, params.star_kwarg, "**kwargs parameters are not supported",
                             "list the parameters explicitly")
        every = (*params.posonly_params, *params.params, *params.kwonly_params)
        return [p.name.value for p in every]

    def _suite(self, frame: Frame, suite) -> tuple[Atom, Origin]:
        """Lower a function body; returns the returned atom and the return's origin."""
        ret = self._statements(frame, _statement_list(suite), top=True)
        if ret is not None:
            return ret
        if frame.result is not None:  # every path returned inside a branch
            assert frame.origin is not None  # set by the returns
            return self._result_atoms(frame), frame.origin
        origin = frame.origin or Origin(frame.parsed.loc(frame.parsed.node), "return None",
                                        frame.where, frame.call)
        return Lit(cst.Name("None")), origin

    def _statements(self, frame: Frame, statements: list, top: bool
                    ) -> tuple[Atom, Origin] | None:
        """Lower a list of statements into the current block; at the top level of a function,
        the returned atom and its origin when a ``return`` ends the list."""
        for i, stmt in enumerate(statements):
            last = top and i == len(statements) - 1
            if isinstance(stmt, cst.SimpleStatementLine):
                for j, small in enumerate(stmt.body):
                    frame.origin = self._synthetic.get(id(small)) or Origin(
                        frame.parsed.loc(small), frame.parsed.text(small), frame.where,
                        frame.call)
                    ret = self._small(frame, small, last and j == len(stmt.body) - 1)
                    if ret is not None:
                        return ret, frame.origin
                    if isinstance(small, (cst.Break, cst.Continue, cst.Raise)):
                        return None  # the rest of the block never runs
            elif isinstance(stmt, cst.FunctionDef):
                frame.origin = Origin(frame.parsed.loc(stmt), f"def {stmt.name.value}(...)",
                                      frame.where, frame.call)
                frame.env[stmt.name.value] = self._local(frame, stmt.name.value, stmt.params,
                                                         stmt.body)
            elif isinstance(stmt, cst.If) and (chosen := self._decided(frame, stmt)) is not None:
                # decided when the code is generated (`if self.bias is not None:`): the branch
                # in its place (the rest dropped after a branch ending in a jump)
                rest = [] if _ends_in_jump(chosen) else statements[i + 1:]
                return self._statements(frame, [*chosen, *rest], top)
            elif isinstance(stmt, cst.For) and (rows := self._static_rows(frame, stmt)):
                # over the layers of a model: one copy of the body per layer, straight-line
                for row in rows:
                    for target, item in row:
                        self.assign(frame, target, item)
                    self._statements(frame, _statement_list(stmt.body), top=False)
            elif isinstance(stmt, cst.With) and self._quiet_with(frame, stmt):
                # with np.errstate(divide="ignore"): the body in its place (errstate only
                # silences warnings; the generated code runs under the caller's settings)
                return self._statements(frame, [*_statement_list(stmt.body),
                                                 *statements[i + 1:]], top)
            elif isinstance(stmt, (cst.If, cst.For, cst.While)):
                with self._control(frame, stmt):
                    if isinstance(stmt, cst.If):
                        self._if(frame, stmt)
                        if self._jump_rest(frame, stmt, statements[i + 1:]):
                            return None
                    else:
                        returns = frame.loop_returns
                        (self._for if isinstance(stmt, cst.For) else self._while)(frame, stmt)
                        if frame.loop_returns > returns and self._after_loop(
                                frame, frame.origin, statements[i + 1:]):
                            return None
            else:
                kw = _UNSUPPORTED_BLOCKS.get(type(stmt))
                what = f"`{kw}` statements are" if kw else f"{type(stmt).__name__} is"
                raise self.error(frame, stmt, f"{what} not supported in a differentiated "
                                 "function", "move it outside the function")
        return None

    def _output(self, frame: Frame, node: cst.BaseExpression, hint: str) -> Atom:
        """One of several outputs (``return loss, {"acc": acc}``): a tuple, list or dict of
        values becomes an expression building it, which carries no derivative (an auxiliary
        output; the sweeps refuse one through which a derivative would have to flow)."""
        value = self.value(frame, node, hint)
        if not isinstance(value, Pack):
            return self.materialize(frame, value, node)

        def built(v: Any) -> Lit:
            if isinstance(v, Pack):
                items = [built(i) for i in v.items]
                return Lit(_container_node(v, [i.node for i in items]),
                           frozenset().union(*(i.uses for i in items)),
                           holds=frozenset().union(*(i.holds for i in items)))
            atom = self.materialize(frame, v, node)
            if isinstance(atom, Var):
                return Lit(cst.Name(atom.name), frozenset({atom.name}),
                           holds=frozenset({atom.name}))
            return atom

        return built(value)

    def _small(self, frame: Frame, node: cst.BaseSmallStatement, last: bool) -> Any:
        """What a ``return`` returns (an atom, a tuple of atoms, an object or method, or the
        value of a function inlined), else None."""
        if isinstance(node, cst.Return) and frame.loops:
            self._loop_return(frame, node)
            return None
        if isinstance(node, cst.Return) and frame.branches and not frame.loops:
            self._early_return(frame, node)
            return None
        if isinstance(node, cst.Return) and not frame.loops and not frame.branches:
            last = True  # statements after it never run
        if isinstance(node, cst.Return) and frame.result and last:
            self._early_return(frame, node)
            return self._result_atoms(frame)
        if isinstance(node, cst.Return):
            if not last:
                if frame.loops:
                    raise self.error(frame, node, "a `return` inside a loop is not supported "
                                     "yet", "assign the value to a variable, `break`, and "
                                     "return it after the loop")
            if node.value is None:
                return Lit(cst.Name("None"))
            parts = self._outputs(frame, node)
            if parts is not None and frame.where:  # a called function returns a tuple
                return self.value(frame, node.value, None)
            if frame.where and not frame.branches:
                value = self.value(frame, node.value, frame.return_hint)
                if isinstance(value, (Obj, Method, Pack, Local)):  # a property or method
                    return value   # returning a layer; a container (a rule's 1-tuple of
                    # adjoints); a closure (make_loss(scale) returning its inner function)
                return self.materialize(frame, value, node.value)
            if parts is not None and not frame.branches:
                # the differentiated function returns several values: one output each
                return tuple(self._output(frame, e, f"out{k}")
                             for k, e in enumerate(parts, 1))
            return self.atom(frame, node.value, hint=frame.return_hint)
        if isinstance(node, cst.Assign):
            hint: str | Home | None = self._name_hint(node.targets[-1].target)
            if hint in frame.homes and len(node.targets) == 1:
                hint = Home(frame.homes[hint])  # straight into the overwritten variable
            value = self.value(frame, node.value, hint)
            for t in node.targets:
                self.assign(frame, t.target, value)
            return None
        if isinstance(node, cst.AnnAssign):
            if node.value is not None:
                self.assign(frame, node.target, self.value(frame, node.value,
                                                           self._name_hint(node.target)))
            return None
        if isinstance(node, cst.AugAssign):
            self._augassign(frame, node)
            return None
        if isinstance(node, cst.Expr):
            if isinstance(node.value, (cst.SimpleString, cst.ConcatenatedString, cst.Ellipsis)):
                return None  # a docstring
            if isinstance(node.value, cst.Call):
                self._expr_Call(frame, node.value, None, effect=True)
            else:
                self.value(frame, node.value, None)
            return None
        if isinstance(node, cst.Pass):
            return None
        if isinstance(node, cst.Assert):  # checked in the forward sweep, as written
            args = [self._passive_expr(frame, node.test)]
            if node.msg is not None:
                args.append(self._passive_expr(frame, node.msg))
            self._effect(frame, "check", args)
            return None
        if isinstance(node, cst.Raise) and node.exc is not None:
            exc = node.exc if node.cause is None else node.exc  # (the cause is not kept)
            self._effect(frame, "throw", [self._passive_expr(frame, exc)])
            return None
        if isinstance(node, cst.Break) and frame.loops:
            assert frame.origin is not None  # _statements sets it before each statement
            self.body.extend(self._break(frame, frame.origin))
            return None
        if isinstance(node, cst.Continue) and frame.loops:
            assert frame.origin is not None
            self.body.append(Jump("continue", frame.origin))
            return None
        what = {cst.Global: "`global`", cst.Nonlocal: "`nonlocal`", cst.Del: "`del`",
                cst.Import: "`import`", cst.ImportFrom: "`import`", cst.Raise: "`raise`",
                cst.Assert: "`assert`", cst.Break: "`break` outside a loop",
                cst.Continue: "`continue` outside a loop"}
        name = what.get(type(node), type(node).__name__)
        raise self.error(frame, node, f"{name} is not supported in a differentiated function",
                         "move it outside the function")

    def _effect(self, frame: Frame, helper: str, args: list) -> None:
        """A call of a runtime helper kept for its effect (``check``, ``throw``): it reads
        its arguments, which carry no derivative."""
        self.emit(frame, self.ctx.namer.temp(), "call", (Lit(cst.Name(helper)), *args))
        stmt = self.body[-1]
        assert isinstance(stmt, Stmt)  # the one just emitted
        self.body[-1] = replace(stmt, effect=True, reads_only=True, label=helper)

    def _augassign(self, frame: Frame, node: cst.AugAssign) -> None:
        if isinstance(node.target, cst.Subscript) and isinstance(node.target.value, cst.Name) \
                and node.target.value.value in frame.mutated and type(node.operator) in _AUGOPS:
            current = self.atom(frame, node.target)
            right = self.atom(frame, node.value)
            prim = _BINOPS[_AUGOPS[type(node.operator)]]
            new = self.emit(frame, self.ctx.namer.temp(), prim, (current, right))
            self._setitem(frame, node.target, new)
            return None
        if not isinstance(node.target, cst.Name):
            raise self.error(frame, node.target, "augmented assignment to "
                             f"{type(node.target).__name__.lower()} targets is not supported yet",
                             "assign to a plain name: y = y + v")
        op = _AUGOPS.get(type(node.operator))
        if op is None:
            raise self.error(frame, node, "this augmented assignment operator is not supported")
        name = node.target.value
        if name in frame.iterated:  # Python's loop would see the new values, ours would not
            raise self.error(frame, node, f"`{name} {_op_text(node.operator)}` would change "
                             f"{name!r} while the loop on line {frame.iterated[name]} iterates "
                             "over it", f"srcgrad never modifies arrays in place; write {name} "
                             f"= {name} {_op_text(node.operator)[:-1]} ... to make a new one")
        left = self.atom(frame, node.target)
        if isinstance(left, Var):
            self._refuse_write_through(frame, node, name, left,
                                       f"{name} {_op_text(node.operator)} ...")
        aliases = [k for k, v in frame.env.items()
                   if k != node.target.value and isinstance(v, Var) and v == left]
        if aliases:
            raise self.error(frame, node, f"`{node.target.value} {_op_text(node.operator)}` "
                             f"would change {aliases[0]!r} too: both name the same array",
                             f"srcgrad never modifies arrays in place; write "
                             f"{node.target.value} = {node.target.value} "
                             f"{_op_text(node.operator)[:-1]} ... to make a new one")
        right = self.atom(frame, node.value)
        prim = _BINOPS[op]
        target = self._target(frame, node.target.value)
        frame.env[node.target.value] = self.emit(frame, target, prim, (left, right))
        return None

    @staticmethod
    def _name_hint(target: cst.BaseExpression) -> str | None:
        return target.value if isinstance(target, cst.Name) else None

    def version(self, name: str) -> str:
        """The core name for a new binding of the user name ``name`` (``h``, then ``h_2``)."""
        return self.ctx.namer.claim(name)

    def assign(self, frame: Frame, target: cst.BaseExpression, value: Any) -> None:
        if isinstance(target, cst.Name):
            home = frame.homes.get(target.value)
            if isinstance(value, (Obj, Method)):  # known when the code is generated
                frame.env[target.value] = value
                return
            if target.value in frame.mutated and not (isinstance(value, Pack) and
                                                      value.kind == "dict"):
                value = self._own_array(frame, target, value)
            elif home is not None and isinstance(value, Pack) and value.kind in ("list",
                                                                                "tuple"):
                # (a tuple as a list: read by index and unpacked the same)
                value = self._runtime_list(frame, home, value, target)
            elif home is not None and value != Var(home):
                value = self.emit(frame, home, "assign", (self.materialize(frame, value, target),))
            if frame.origin is not None:
                frame.bound_at[target.value] = frame.origin
            frame.env[target.value] = value
            return
        if isinstance(target, cst.Subscript) and isinstance(target.value, cst.Name) and \
                target.value.value in frame.mutated:
            self._setitem(frame, target, value)
            return
        if isinstance(target, (cst.Tuple, cst.List)):
            elements = target.elements
            if any(isinstance(e, cst.StarredElement) for e in elements):
                raise self.error(frame, target, "starred assignment targets are not supported",
                                 "unpack into a fixed number of names")
            if isinstance(value, Pack):
                if len(value.items) != len(elements):
                    raise self.error(frame, target, f"cannot unpack {len(value.items)} values "
                                     f"into {len(elements)} names")
                homes = set(frame.homes.values())
                items = [self.emit(frame, self.ctx.namer.temp(), "assign", (v,))
                         if isinstance(v, Var) and v.name in homes else v for v in value.items]
                for e, item in zip(elements, items, strict=True):
                    self.assign(frame, e.value, item)
                return
            base = self.materialize(frame, value, target)
            for i, e in enumerate(elements):
                hint = self._name_hint(e.value)
                name = self._target(frame, hint)
                item = self.emit(frame, name, "getitem", (base,),
                                 (("index", Lit(cst.Integer(str(i)))),))
                self.assign(frame, e.value, item)
            return
        kind = {cst.Subscript: "index", cst.Attribute: "attribute"}.get(type(target), "this")
        raise self.error(frame, target, f"assignment to {kind} targets is not supported yet",
                         "build a new value instead (e.g. with np.where or np.concatenate)")

    def _runtime_list(self, frame: Frame, home: str, pack: Pack, node: cst.CSTNode) -> Var:
        """A list variable of a loop or branch: built item by item in ``home`` at run time (the
        block may append to it)."""
        self.lists.add(home)
        self.emit(frame, home, "assign", (Lit(cst.List([])),))
        for item in pack.items:
            self.emit(frame, home, "append", (Var(home), self.materialize(frame, item, node)))
        return Var(home)
