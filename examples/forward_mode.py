"""Forward mode: a Jacobian-vector product, a Hessian, and Newton's method driven by
Hessian-vector products (conjugate gradients: the Hessian is never formed).

The function is the loss of an L2-regularised logistic regression on 200 points in 5
dimensions (strictly convex): Newton's method reaches its minimum in a handful of steps, the
gradient's norm falling quadratically.
"""

import numpy as np

import srcgrad

RNG = np.random.default_rng(0)
X = RNG.standard_normal((200, 5))
Y = np.sign(X @ np.array([1.0, -2.0, 0.5, 0.0, 3.0]) + 0.5 * RNG.standard_normal(200))


def loss(w):
    margins = Y * (X @ w)
    return np.mean(np.logaddexp(0.0, -margins)) + 0.05 * np.sum(w ** 2)


def solve_cg(hvp, b, steps=50, tol=1e-20):
    """x with H x = b, H symmetric positive definite, given by its products hvp(v) = H @ v."""
    x, r = np.zeros_like(b), b.copy()
    p, rr = r.copy(), r @ r
    for _ in range(steps):
        hp = hvp(p)
        alpha = rr / (p @ hp)
        x, r = x + alpha * p, r - alpha * hp
        new = r @ r
        if new < tol:
            break
        p, rr = r + new / rr * p, new
    return x


def main() -> None:
    w = np.zeros(5)
    value, tangent = srcgrad.jvp(loss, (w,), (np.ones(5),))
    print(f"loss(0) = {value:.6f}; its derivative along (1, ..., 1) = {tangent:.6f}")
    print("Hessian at 0 (forward over reverse):")
    print(np.round(srcgrad.hessian(loss)(w), 4))

    grad, hvp = srcgrad.grad(loss), srcgrad.hvp(loss)
    for step in range(1, 20):
        g = grad(w)
        print(f"Newton step {step}: loss {loss(w):.10f}, |gradient| {np.linalg.norm(g):.2e}")
        if np.linalg.norm(g) < 1e-10:
            break
        w = w - solve_cg(lambda v, w=w: hvp(w, v), g)
    print("minimum at", np.round(w, 6))


if __name__ == "__main__":
    main()
