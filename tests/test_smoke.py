import numpy as np

import srcgrad


def test_two_layer_net_gradient_matches_hand_written():
    def loss(w1, w2, x, y):
        h = np.maximum(x @ w1, 0.0)
        y_pred = h @ w2
        return np.sum((y_pred - y) ** 2)

    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((8, 5)), rng.standard_normal((8, 3))
    w1, w2 = rng.standard_normal((5, 4)), rng.standard_normal((4, 3))
    d_w1, d_w2 = srcgrad.grad(loss, wrt=("w1", "w2"))(w1, w2, x, y)
    t1 = x @ w1
    h = np.maximum(t1, 0)
    d_pred = 2 * (h @ w2 - y)
    np.testing.assert_allclose(d_w2, h.T @ d_pred)
    np.testing.assert_allclose(d_w1, x.T @ ((d_pred @ w2.T) * (t1 > 0)))
