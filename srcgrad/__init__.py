"""srcgrad: automatic differentiation of NumPy code by source transformation.

``grad(f)`` reads ``f``'s source and writes a new Python function computing its gradient,
statement by statement (reverse mode); ``jvp(f)`` and ``derivative(f)`` write its forward-mode
derivative; ``.source`` shows the code. ``@adjoint(fn)`` and ``@tangent(fn)`` give a function
rules of its own; ``stop_gradient(x)`` passes a value without its derivative; ``check_grad``
checks derivatives against finite differences. ``srcgrad.nn``, ``srcgrad.optim`` and
``srcgrad.data`` train models in PyTorch's shape through the generated gradients
(``backward(loss_fn, model, x, y)`` fills each parameter's ``.grad``).
"""

from srcgrad import data, nn, optim
from srcgrad.api import GradFunction, grad, show, value_and_grad
from srcgrad.check import GradCheck, GradCheckError, check_grad
from srcgrad.custom import adjoint, checkpoint, grad_hook, tangent
from srcgrad.derivatives import (
    DerivativeFunction,
    HvpFunction,
    JvpFunction,
    VjpFunction,
    derivative,
    hessian,
    hvp,
    jacfwd,
    jacobian,
    jacrev,
    jvp,
    vjp,
)
from srcgrad.errors import SrcGradError
from srcgrad.nn.init import manual_seed
from srcgrad.runtime.structures import stop_gradient
from srcgrad.saving import load, save
from srcgrad.train import CompiledStep, backward, compile_step

__all__ = ["CompiledStep", "DerivativeFunction", "GradCheck", "GradCheckError", "GradFunction",
           "HvpFunction", "JvpFunction", "SrcGradError", "VjpFunction", "adjoint", "backward",
           "check_grad", "checkpoint", "compile_step", "data", "derivative", "grad", "grad_hook",
           "hessian", "hvp", "jacfwd", "jacobian", "jacrev", "jvp", "load", "manual_seed", "nn",
           "optim", "save", "show", "stop_gradient", "tangent", "value_and_grad", "vjp"]
__version__ = "0.1.0"
