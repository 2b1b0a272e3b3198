"""srcgrad: automatic differentiation of NumPy code by source transformation.

``grad(f)`` reads ``f``'s source and writes a new Python function computing its gradient,
statement by statement; ``.source`` shows it.
"""

from srcgrad.api import GradFunction, grad, show, value_and_grad
from srcgrad.errors import SrcGradError

__all__ = ["GradFunction", "SrcGradError", "grad", "show", "value_and_grad"]
__version__ = "0.1.0"
