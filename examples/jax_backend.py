"""The two-layer net of two_layer_net.py trained on JAX: the same generated gradient code, run
on jax.numpy arrays and compiled with jax.jit (backend="jax", jit=True). It reports the device
it ran on (a GPU where JAX has one) and the losses, which match two_layer_net.py's.

    python examples/jax_backend.py [iterations]
"""

import sys

import numpy as np

import srcgrad


def loss(w1, w2, x, y):
    h = np.maximum(x @ w1, 0.0)
    y_pred = h @ w2
    return np.sum((y_pred - y) ** 2)


def main(iterations: int = 500) -> None:
    try:
        import jax
        import jax.numpy as jnp
    except ImportError:
        print("this example needs jax: pip install 'srcgrad[jax]'")
        return
    jax.config.update("jax_enable_x64", True)  # float64, as two_layer_net.py
    loss_and_grads = srcgrad.value_and_grad(loss, wrt=("w1", "w2"), backend="jax", jit=True)
    rng = np.random.default_rng(0)  # the draws of two_layer_net.py, in its order
    n, d_in, hidden, d_out = 64, 1000, 100, 10
    x, y = jnp.asarray(rng.standard_normal((n, d_in))), jnp.asarray(rng.standard_normal((n, d_out)))
    w1 = jnp.asarray(rng.standard_normal((d_in, hidden)))
    w2 = jnp.asarray(rng.standard_normal((hidden, d_out)))
    print(f"running on {jax.devices()[0].platform}: {jax.devices()[0]}")
    for t in range(1, iterations + 1):
        value, (d_w1, d_w2) = loss_and_grads(w1, w2, x, y)
        if t % 100 == 0:
            print(f"iteration {t:3d}   loss {float(value):.8f}")
        w1 = w1 - 1e-6 * d_w1
        w2 = w2 - 1e-6 * d_w2


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 500)
