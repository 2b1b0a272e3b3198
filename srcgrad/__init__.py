"""srcgrad: automatic differentiation of NumPy code by source transformation.

``grad(f)`` reads ``f``'s source and writes a new Python function computing its gradient,
statement by statement (reverse mode); ``jvp(f)`` and ``derivative(f)`` write its forward-mode
derivative; ``.source`` shows the code.
"""

from srcgrad.api import (
    DerivativeFunction,
    GradFunction,
    HvpFunction,
    JvpFunction,
    derivative,
    grad,
    hessian,
    hvp,
    jvp,
    show,
    value_and_grad,
)
from srcgrad.errors import SrcGradError

__all__ = ["DerivativeFunction", "GradFunction", "HvpFunction", "JvpFunction", "SrcGradError",
           "derivative", "grad", "hessian", "hvp", "jvp", "show", "value_and_grad"]
__version__ = "0.1.0"
