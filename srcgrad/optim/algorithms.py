"""SGD, Adam, AdamW, RMSprop and Adagrad, each the update ``torch.optim`` makes (its
single-tensor path), written out twice: on NumPy arrays in place (``_update``: no array is
allocated that need not be), and as a pure function of arrays of any namespace (``_functional``:
what a step compiled by ``jax.jit`` runs, :func:`srcgrad.compile_step`). The tests hold the two
to the same numbers, step for step."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from srcgrad.errors import SrcGradError
from srcgrad.optim.optimizer import Optimizer


def _on(value: Any) -> bool:
    """Whether a hyperparameter of a functional update is in use: a number that is not 0, or
    a traced one (which a compiled step passes only where it is not 0)."""
    return not isinstance(value, (int, float)) or value != 0


def _check(name: str, value: float, low: float = 0.0) -> None:
    if not value >= low:
        raise SrcGradError(f"invalid {name}: {value}")


class SGD(Optimizer):
    """``p -= lr * g``, with momentum (``buf = momentum * buf + (1 - dampening) * g``),
    Nesterov momentum and L2 ``weight_decay``."""

    counts_steps = False

    def __init__(self, params: Any, lr: float = 1e-3, momentum: float = 0.0,
                 dampening: float = 0.0, weight_decay: float = 0.0, nesterov: bool = False,
                 *, maximize: bool = False):
        _check("learning rate", lr)
        _check("momentum", momentum)
        _check("weight_decay", weight_decay)
        if nesterov and (momentum <= 0 or dampening != 0):
            raise SrcGradError("Nesterov momentum requires a momentum and zero dampening")
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening,
                                      weight_decay=weight_decay, nesterov=nesterov,
                                      maximize=maximize))

    def _update(self, p: np.ndarray, g: np.ndarray, state: dict, group: dict) -> None:
        if group["weight_decay"]:
            g = g + group["weight_decay"] * p
        momentum = group["momentum"]
        if momentum:
            buf = state.get("momentum_buffer")
            if buf is None:
                buf = state["momentum_buffer"] = g.copy()
            else:
                buf *= momentum
                buf += (1 - group["dampening"]) * g
            g = g + momentum * buf if group["nesterov"] else buf
        p -= group["lr"] * g

    def _functional(self, xp: Any, p: Any, g: Any, state: dict, group: dict
                    ) -> tuple[Any, dict]:
        if _on(group["weight_decay"]):
            g = g + group["weight_decay"] * p
        momentum = group["momentum"]
        if not _on(momentum):
            return p - group["lr"] * g, {"step": state["step"] + 1}
        first = state["step"] == 0   # torch starts the buffer at the first gradient
        buf = xp.where(first, g, momentum * state["momentum_buffer"]
                       + (1 - group["dampening"]) * g)
        g = g + momentum * buf if group["nesterov"] else buf
        return p - group["lr"] * g, {"step": state["step"] + 1, "momentum_buffer": buf}

    def _functional_state(self, xp: Any, p: Any, group: dict) -> dict:
        return {"step": xp.zeros((), xp.int32), "momentum_buffer": xp.zeros_like(p)} if \
            group["momentum"] else {"step": xp.zeros((), xp.int32)}


class Adam(Optimizer):
    """Adam: moving averages of the gradient and its square, bias-corrected; ``amsgrad``
    keeps the largest second moment; ``weight_decay`` is L2 (added to the gradient)."""

    decoupled = False

    def __init__(self, params: Any, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0, amsgrad: bool = False,
                 *, maximize: bool = False):
        _check("learning rate", lr)
        _check("epsilon", eps)
        if not (0.0 <= betas[0] < 1.0 and 0.0 <= betas[1] < 1.0):
            raise SrcGradError(f"invalid betas: {betas}")
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps,
                                      weight_decay=weight_decay, amsgrad=amsgrad,
                                      maximize=maximize))

    def _update(self, p: np.ndarray, g: np.ndarray, state: dict, group: dict) -> None:
        lr, (beta1, beta2), eps, wd = group["lr"], group["betas"], group["eps"], \
            group["weight_decay"]
        if not state:
            state["step"] = 0
            state["exp_avg"] = np.zeros_like(p)
            state["exp_avg_sq"] = np.zeros_like(p)
            if group["amsgrad"]:
                state["max_exp_avg_sq"] = np.zeros_like(p)
        state["step"] += 1
        step = state["step"]
        if wd and self.decoupled:
            p *= 1 - lr * wd
        elif wd:
            g = g + wd * p
        m, v = state["exp_avg"], state["exp_avg_sq"]
        m += (g - m) * (1 - beta1)
        v *= beta2
        v += (1 - beta2) * g * g
        bias1 = 1 - beta1 ** step
        bias2_sqrt = math.sqrt(1 - beta2 ** step)
        if group["amsgrad"]:
            np.maximum(state["max_exp_avg_sq"], v, out=state["max_exp_avg_sq"])
            denom = np.sqrt(state["max_exp_avg_sq"]) / bias2_sqrt + eps
        else:
            denom = np.sqrt(v) / bias2_sqrt + eps
        p -= (lr / bias1) * m / denom

    def _functional(self, xp: Any, p: Any, g: Any, state: dict, group: dict
                    ) -> tuple[Any, dict]:
        lr, (beta1, beta2), eps, wd = group["lr"], group["betas"], group["eps"], \
            group["weight_decay"]
        step = state["step"] + 1
        if _on(wd) and self.decoupled:
            p = p * (1 - lr * wd)
        elif _on(wd):
            g = g + wd * p
        m = state["exp_avg"] + (g - state["exp_avg"]) * (1 - beta1)
        v = state["exp_avg_sq"] * beta2 + (1 - beta2) * g * g
        bias1 = 1 - beta1 ** step
        bias2_sqrt = xp.sqrt(1 - beta2 ** step)
        out = {"step": step, "exp_avg": m, "exp_avg_sq": v}
        if group["amsgrad"]:
            v = out["max_exp_avg_sq"] = xp.maximum(state["max_exp_avg_sq"], v)
        return p - (lr / bias1) * m / (xp.sqrt(v) / bias2_sqrt + eps), out

    def _functional_state(self, xp: Any, p: Any, group: dict) -> dict:
        state = {"step": xp.zeros((), xp.int32), "exp_avg": xp.zeros_like(p),
                 "exp_avg_sq": xp.zeros_like(p)}
        if group["amsgrad"]:
            state["max_exp_avg_sq"] = xp.zeros_like(p)
        return state


class AdamW(Adam):
    """Adam with decoupled weight decay: ``p *= 1 - lr * weight_decay`` before the step."""

    decoupled = True

    def __init__(self, params: Any, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 1e-2, amsgrad: bool = False,
                 *, maximize: bool = False):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize=maximize)


class RMSprop(Optimizer):
    """Steps scaled by a moving root mean square of the gradient (``centered``: of its
    deviation from its moving mean), with optional momentum."""

    def __init__(self, params: Any, lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8,
                 weight_decay: float = 0.0, momentum: float = 0.0, centered: bool = False,
                 *, maximize: bool = False):
        _check("learning rate", lr)
        _check("epsilon", eps)
        _check("alpha", alpha)
        super().__init__(params, dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay,
                                      momentum=momentum, centered=centered, maximize=maximize))

    def _update(self, p: np.ndarray, g: np.ndarray, state: dict, group: dict) -> None:
        alpha, eps = group["alpha"], group["eps"]
        if not state:
            state["step"] = 0
            state["square_avg"] = np.zeros_like(p)
            if group["momentum"] > 0:
                state["momentum_buffer"] = np.zeros_like(p)
            if group["centered"]:
                state["grad_avg"] = np.zeros_like(p)
        state["step"] += 1
        if group["weight_decay"]:
            g = g + group["weight_decay"] * p
        sq = state["square_avg"]
        sq *= alpha
        sq += (1 - alpha) * g * g
        if group["centered"]:
            ga = state["grad_avg"]
            ga += (g - ga) * (1 - alpha)
            avg = np.sqrt(sq - ga * ga) + eps
        else:
            avg = np.sqrt(sq) + eps
        if group["momentum"] > 0:
            buf = state["momentum_buffer"]
            buf *= group["momentum"]
            buf += g / avg
            p -= group["lr"] * buf
        else:
            p -= group["lr"] * g / avg

    def _functional(self, xp: Any, p: Any, g: Any, state: dict, group: dict
                    ) -> tuple[Any, dict]:
        alpha, eps = group["alpha"], group["eps"]
        if _on(group["weight_decay"]):
            g = g + group["weight_decay"] * p
        sq = state["square_avg"] * alpha + (1 - alpha) * g * g
        out = {"step": state["step"] + 1, "square_avg": sq}
        if group["centered"]:
            ga = out["grad_avg"] = state["grad_avg"] + (g - state["grad_avg"]) * (1 - alpha)
            avg = xp.sqrt(sq - ga * ga) + eps
        else:
            avg = xp.sqrt(sq) + eps
        if _on(group["momentum"]):
            buf = out["momentum_buffer"] = state["momentum_buffer"] * group["momentum"] + g / avg
            return p - group["lr"] * buf, out
        return p - group["lr"] * g / avg, out

    def _functional_state(self, xp: Any, p: Any, group: dict) -> dict:
        state = {"step": xp.zeros((), xp.int32), "square_avg": xp.zeros_like(p)}
        if group["momentum"] > 0:
            state["momentum_buffer"] = xp.zeros_like(p)
        if group["centered"]:
            state["grad_avg"] = xp.zeros_like(p)
        return state


class Adagrad(Optimizer):
    """Steps scaled by the root of the sum of squared gradients so far."""

    def __init__(self, params: Any, lr: float = 1e-2, lr_decay: float = 0.0,
                 weight_decay: float = 0.0, initial_accumulator_value: float = 0.0,
                 eps: float = 1e-10, *, maximize: bool = False):
        _check("learning rate", lr)
        _check("lr_decay", lr_decay)
        _check("initial_accumulator_value", initial_accumulator_value)
        super().__init__(params, dict(lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
                                      initial_accumulator_value=initial_accumulator_value,
                                      eps=eps, maximize=maximize))

    def _update(self, p: np.ndarray, g: np.ndarray, state: dict, group: dict) -> None:
        if not state:
            state["step"] = 0
            state["sum"] = np.full_like(p, group["initial_accumulator_value"])
        state["step"] += 1
        if group["weight_decay"]:
            g = g + group["weight_decay"] * p
        clr = group["lr"] / (1 + (state["step"] - 1) * group["lr_decay"])
        state["sum"] += g * g
        p -= clr * g / (np.sqrt(state["sum"]) + group["eps"])

    def _functional(self, xp: Any, p: Any, g: Any, state: dict, group: dict
                    ) -> tuple[Any, dict]:
        step = state["step"] + 1
        if _on(group["weight_decay"]):
            g = g + group["weight_decay"] * p
        clr = group["lr"] / (1 + (step - 1) * group["lr_decay"])
        total = state["sum"] + g * g
        return p - clr * g / (xp.sqrt(total) + group["eps"]), {"step": step, "sum": total}

    def _functional_state(self, xp: Any, p: Any, group: dict) -> dict:
        return {"step": xp.zeros((), xp.int32),
                "sum": xp.full_like(p, group["initial_accumulator_value"])}
