"""Rules for the runtime helpers generated code calls, so that generated code can be
differentiated again (a Hessian-vector product is the gradient of a forward-mode derivative;
``derivative(derivative(f))``). Each helper is linear in its first operand; the second only
supplies a shape and dtype."""

from __future__ import annotations

from srcgrad.rules._util import (
    broadcast_like,
    matmul_grad_a,
    matmul_grad_b,
    seed,
    unbroadcast,
    unreduce,
    zero_grad,
)
from srcgrad.rules.core import LinearJvp, Rule, nondiff


def _helper(name, primal, transpose) -> Rule:
    # linear in g; the shape operand x carries no derivative
    return Rule(name, primal, (LinearJvp(primal), None), (transpose, None))


def _broadcast_like(xp, g, x): return broadcast_like(g, x)
def _broadcast_like_t(xp, h, out, g, x): return unbroadcast(h, g)    # sum back to g's shape
BROADCAST_LIKE = _helper("broadcast_like", _broadcast_like, _broadcast_like_t)

def _unbroadcast(xp, g, x): return unbroadcast(g, x)
def _unbroadcast_t(xp, h, out, g, x): return broadcast_like(h, g)     # spread over g's shape
UNBROADCAST = _helper("unbroadcast", _unbroadcast, _unbroadcast_t)

def _unreduce(xp, g, x, axis=None, keepdims=False): return unreduce(g, x, axis, keepdims)
def _unreduce_t(xp, h, out, g, x, axis=None, keepdims=False):         # the sum it undid
    return xp.reshape(xp.sum(h, axis=axis, keepdims=keepdims), xp.shape(g))
UNREDUCE = Rule("unreduce", _unreduce, (LinearJvp(_unreduce), None), (_unreduce_t, None))

def _zero_grad(xp, x): return zero_grad(x)
ZERO_GRAD = nondiff("zero_grad", _zero_grad)

def _seed(xp, out): return seed(out)
SEED = nondiff("seed", _seed)

# the adjoints of a @ b: bilinear in (g, b) and (g, a); the other matrix supplies a shape. As
# mixed second derivatives of <g, a @ b>, each one's transpose is the other's adjoint.
def _mga(xp, g, a, b): return matmul_grad_a(g, a, b)                  # g @ b^T, summed to a
def _mga_jvp_b(xp, t, out, g, a, b): return matmul_grad_a(g, a, t)
def _mga_vjp_g(xp, h, out, g, a, b): return unbroadcast(h @ b, g)     # the jvp of a @ b
def _mga_vjp_b(xp, h, out, g, a, b): return matmul_grad_b(g, h, b)
MATMUL_GRAD_A = Rule("matmul_grad_a", _mga, (LinearJvp(_mga), None, _mga_jvp_b),
                     (_mga_vjp_g, None, _mga_vjp_b))

def _mgb(xp, g, a, b): return matmul_grad_b(g, a, b)                  # a^T @ g, summed to b
def _mgb_jvp_a(xp, t, out, g, a, b): return matmul_grad_b(g, t, b)
def _mgb_vjp_g(xp, h, out, g, a, b): return unbroadcast(a @ h, g)
def _mgb_vjp_a(xp, h, out, g, a, b): return matmul_grad_a(g, a, h)
MATMUL_GRAD_B = Rule("matmul_grad_b", _mgb, (LinearJvp(_mgb), _mgb_jvp_a, None),
                     (_mgb_vjp_g, _mgb_vjp_a, None))

RULES = [BROADCAST_LIKE, UNBROADCAST, UNREDUCE, ZERO_GRAD, SEED, MATMUL_GRAD_A, MATMUL_GRAD_B]
