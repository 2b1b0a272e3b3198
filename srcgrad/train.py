"""Training on top of generated gradients. The PyTorch habit: :func:`backward` fills each
parameter's ``.grad`` from the gradient of a loss through a model (no tape: the loss's gradient
code is generated once, from the source of the loss and of the model's ``forward``). The JAX
habit: :func:`compile_step` compiles a whole step (loss, generated gradient, optimizer update)
with ``jax.jit``, on one device or data-parallel over a mesh."""

from __future__ import annotations

import inspect
import weakref
from collections.abc import Callable
from typing import Any

import numpy as np

from srcgrad import objects, pipeline
from srcgrad.api import GradFunction, _structures, value_and_grad
from srcgrad.errors import SrcGradError

_GRADIENTS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _gradient_of(loss_fn: Callable) -> GradFunction:
    try:
        found = _GRADIENTS.get(loss_fn)
    except TypeError:  # not weakly referenceable
        return value_and_grad(loss_fn)
    if found is None:
        found = _GRADIENTS[loss_fn] = value_and_grad(loss_fn)
    return found


def backward(loss_fn: Callable, model: Any, *args: Any, **kwargs: Any) -> Any:
    """``loss = backward(loss_fn, model, x, y)``: the value of ``loss_fn(model, x, y)``, with
    the gradient of each of ``model``'s parameters added to its ``.grad`` (as
    ``loss.backward()`` does in PyTorch: call ``optimizer.zero_grad()`` first)."""
    if not getattr(type(model), "__srcgrad_module__", False):
        raise SrcGradError(f"backward takes a loss function and a srcgrad.nn.Module, not a "
                           f"{type(model).__name__}", hint="for other objects use "
                           "srcgrad.value_and_grad(loss_fn)(obj, ...)")
    value, grads = _gradient_of(loss_fn)(model, *args, **kwargs)
    for name, p in model.named_parameters():
        g = grads.get(name)
        if g is None or not p.requires_grad:
            continue
        p.grad = g.copy() if p.grad is None else p.grad + g
    return value


class CompiledStep:
    """One training step compiled whole by ``jax.jit``: the loss through the model, its
    gradient (the code srcgrad generates for the loss and the model's ``forward``), and the
    optimizer's update. Made by :func:`compile_step`.

    ``loss = step(x, y)`` runs it. Between calls the trained parameters and the optimizer's
    state stay jax arrays (on the device), donated to each call, so the model and optimizer
    are not touched: :meth:`sync` writes them back (before evaluating the model with NumPy,
    saving it, or reading ``optimizer.state_dict()``). Hyperparameters are read from
    ``optimizer.param_groups`` at every call, so a learning-rate schedule applies without
    compiling again; a change of a flag (``amsgrad``, ``nesterov``) compiles again. With a
    ``mesh``, the batch arguments are split along their first axis over the mesh's devices and
    the parameters and state replicated: data-parallel training, the gradient's reduction left
    to XLA; :meth:`shard_shapes` tells how the last batch was split."""

    def __init__(self, loss_fn: Callable, model: Any, optimizer: Any, *, mesh: Any = None,
                 batch_axis: str | None = None, donate: bool = True):
        import jax  # noqa: F401 - jax is needed: an ImportError here says so

        if not getattr(type(model), "__srcgrad_module__", False):
            raise SrcGradError(f"compile_step trains a srcgrad.nn.Module, not a "
                               f"{type(model).__name__}")
        self.loss_fn, self.model, self.optimizer = loss_fn, model, optimizer
        self.mesh, self.donate = mesh, donate
        self.batch_axis = batch_axis if batch_axis is not None or mesh is None else \
            mesh.axis_names[0]
        _refuse_random_layers(model)
        names = {id(p): n for n, p in model.named_parameters()}
        self._slots = [(names[id(p)], p, gi) for gi, g in enumerate(optimizer.param_groups)
                       for p in g["params"] if id(p) in names]
        if len(self._slots) != sum(len(g["params"]) for g in optimizer.param_groups):
            raise SrcGradError("the optimizer holds parameters that are not the model's",
                               hint="build it from model.parameters() of the same model")
        self._trained: tuple | None = None   # the parameters, as jax arrays
        self._state: tuple | None = None     # the optimizer's state per parameter
        self._compiled: dict[tuple, tuple[Callable, tuple]] = {}
        self._batch: list = []   # the last call's batch arguments, as placed on the devices

    def __call__(self, *args: Any) -> Any:
        import jax
        import jax.numpy as jnp

        key, hyper = self._hyperparameters()
        found = self._compiled.get(key)
        if found is None:
            found = self._compiled[key] = self._compile(args)
        run, readers = found
        if self._trained is None:
            self._load(jnp)
        bound = [self.model, *args]
        fixed = [objects.walk(bound[i], how) for i, how in readers]
        if self.mesh is not None:
            fixed = [jax.device_put(v, self._batch_sharding(v)) if i > 0 else v
                     for v, (i, _) in zip(fixed, readers, strict=True)]
            self._batch = [v for v, (i, _) in zip(fixed, readers, strict=True) if i > 0]
        loss, self._trained, self._state = run(self._trained, self._state, hyper, tuple(fixed))
        return loss

    def shard_shapes(self) -> list[list[tuple[int, ...]]]:
        """For each batch argument of the last call, the shape of its part on each device of
        the mesh (none without a mesh)."""
        return [[tuple(s.data.shape) for s in v.addressable_shards] for v in self._batch]

    def _hyperparameters(self) -> tuple[tuple, tuple]:
        """The groups' numbers (traced: a schedule changes them without compiling again) and
        their other settings (the key of the compiled code)."""
        import jax.numpy as jnp

        key, hyper = [], []
        for g in self.optimizer.param_groups:
            # numbers are traced, but a zero (weight decay, momentum) leaves a term out of the
            # update: it is part of the key, as the flags are
            numbers = {k: (tuple(jnp.asarray(float(x)) for x in v) if isinstance(v, tuple)
                           else jnp.asarray(float(v)))
                       for k, v in g.items() if k != "params" and not isinstance(v, bool)
                       and (isinstance(v, tuple) or isinstance(v, (int, float)) and v != 0)}
            key.append(tuple(sorted((k, v) for k, v in g.items() if k != "params"
                                    and k not in numbers)))
            hyper.append(numbers)
        return tuple(key), tuple(hyper)

    def _compile(self, args: tuple) -> tuple[Callable, tuple]:
        import jax
        import jax.numpy as jnp

        params = tuple(inspect.signature(self.loss_fn).parameters)
        found = _structures(params, (self.model, *args), {}, self.loss_fn)
        if not found or found[0][0] != params[0]:
            raise SrcGradError("compile_step needs loss_fn(model, *batch): the model first")
        try:
            made = pipeline.transform(self.loss_fn, 0, with_value=True, backend="jax",
                                      objects=found, leaf_params=True)
        except SrcGradError as err:
            raise err.with_traceback(None) from None
        position = {name: i for i, name in enumerate(params)}
        readers = tuple((position[name], how) for name, how in made.readers)
        leaves = [objects.walk([self.model, *args][i], how) for i, how in readers]
        slot_of = {id(p): k for k, (_, p, _) in enumerate(self._slots)}
        where = [slot_of.get(id(v)) if i == 0 else None
                 for v, (i, _) in zip(leaves, readers, strict=True)]
        opt, slots, generated = self.optimizer, self._slots, made.fn
        groups = [{k: v for k, v in g.items() if k != "params"} for g in opt.param_groups]
        # (the numbers among them are replaced by the call's, traced, but for the zeros)

        def step(trained: tuple, state: tuple, hyper: tuple, fixed: tuple) -> tuple:
            leaves = [trained[k] if k is not None else v
                      for k, v in zip(where, fixed, strict=True)]
            loss, grads = generated(*leaves)
            new_trained, new_state = [], []
            for k, (name, _, gi) in enumerate(slots):
                g = grads.get(name)
                if g is None:  # a parameter that takes no part in the loss
                    new_trained.append(trained[k])
                    new_state.append(state[k])
                    continue
                group = {**groups[gi], **hyper[gi]}
                g = (-g if group.get("maximize") else g).astype(trained[k].dtype)
                p, s = opt._functional(jnp, trained[k], g, state[k], group)
                new_trained.append(p.astype(trained[k].dtype))
                new_state.append(s)
            return loss, tuple(new_trained), tuple(new_state)

        options: dict[str, Any] = {"donate_argnums": (0, 1)} if self.donate else {}
        if self.mesh is not None:
            replicated = self._replicated()
            options["out_shardings"] = (replicated, replicated, replicated)
        return jax.jit(step, **options), readers

    def _load(self, jnp: Any) -> None:
        """The parameters and the optimizer's state as jax arrays (replicated over a mesh)."""
        import jax

        trained, state = [], []
        for _, p, gi in self._slots:
            group = self.optimizer.param_groups[gi]
            trained.append(jnp.asarray(np.asarray(p)))
            saved = self.optimizer.state.get(id(p))
            fresh = self.optimizer._functional_state(jnp, trained[-1], group)
            if saved:
                fresh = {k: jnp.asarray(saved[k]) if k in saved else v for k, v in fresh.items()}
                if "step" not in saved:   # SGD keeps no count: its buffer exists after one
                    fresh["step"] = jnp.asarray(1, jnp.int32)
            state.append(fresh)
        self._trained, self._state = tuple(trained), tuple(state)
        if self.mesh is not None:
            replicated = self._replicated()
            self._trained, self._state = jax.device_put((self._trained, self._state),
                                                        replicated)

    def sync(self) -> None:
        """Write the trained parameters and the optimizer's state back into the model and the
        optimizer (as NumPy arrays, in place)."""
        if self._trained is None or self._state is None:
            return
        for (_, p, _), value, state in zip(self._slots, self._trained, self._state,
                                           strict=True):
            p[...] = np.asarray(value)
            steps = int(state["step"])
            if steps == 0:
                continue
            saved: dict[str, Any] = {k: np.array(v) for k, v in state.items() if k != "step"}
            if self.optimizer.counts_steps:
                saved["step"] = steps
            self.optimizer.state[id(p)] = saved

    def reload(self) -> None:
        """Read the model's parameters and the optimizer's state again at the next call (after
        changing them outside the step: ``load_state_dict``)."""
        self._trained = self._state = None

    def _replicated(self) -> Any:
        from jax.sharding import NamedSharding, PartitionSpec

        return NamedSharding(self.mesh, PartitionSpec())

    def _batch_sharding(self, value: Any) -> Any:
        from jax.sharding import NamedSharding, PartitionSpec

        if np.ndim(value) == 0:
            return self._replicated()
        return NamedSharding(self.mesh, PartitionSpec(self.batch_axis))


def _refuse_random_layers(model: Any) -> None:
    """A layer that draws random numbers in training (dropout) draws them with NumPy: under
    jax.jit they would be drawn once, when jax traces the step, and reused at every step."""
    for name, m in model.named_modules():
        rate = getattr(m, "p", None) if hasattr(m, "generator") else None
        rate = getattr(m, "dropout", rate) if hasattr(m, "generator") else rate
        if m.training and isinstance(rate, float) and rate > 0:
            raise SrcGradError(
                f"{name or 'the model'} ({type(m).__name__}) draws random numbers in training "
                "with NumPy, which a step compiled by jax.jit would draw once and reuse",
                hint="train it with srcgrad.backward or value_and_grad (eager), or set its "
                "rate to 0 (or call .eval()) for the compiled step")


def compile_step(loss_fn: Callable, model: Any, optimizer: Any, *, mesh: Any = None,
                 batch_axis: str | None = None, donate: bool = True) -> CompiledStep:
    """``step = compile_step(loss_fn, model, optimizer)``; ``loss = step(x, y)``: a training
    step (``loss_fn(model, x, y)``, its gradient, ``optimizer``'s update) compiled whole by
    ``jax.jit``; ``step.sync()`` writes the trained parameters back into ``model``. With a
    ``jax.sharding.Mesh``, data-parallel over its devices (see :class:`CompiledStep`)."""
    return CompiledStep(loss_fn, model, optimizer, mesh=mesh, batch_axis=batch_axis,
                        donate=donate)
