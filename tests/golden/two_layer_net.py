def grad_two_layer_net(w1, w2, x, y):
    # L7: h = np.maximum(x @ w1, 0.0)
    t1 = x @ w1
    h = np.maximum(t1, 0.0)
    # L8: y_pred = h @ w2
    y_pred = h @ w2
    # L9: return np.sum((y_pred - y) ** 2)
    t2 = y_pred - y
    # ---- backward: adjoints, last statement first ----
    # L9: return np.sum((y_pred - y) ** 2)
    d_y_pred = unbroadcast(2.0 * t2, y_pred)
    # L8: y_pred = h @ w2
    d_h = matmul_grad_a(d_y_pred, h, w2)
    d_w2 = matmul_grad_b(d_y_pred, h, w2)
    # L7: h = np.maximum(x @ w1, 0.0)
    d_w1 = matmul_grad_b(d_h * (t1 > 0.0) + 0.5 * d_h * (t1 == 0.0), x, w1)
    return (d_w1, d_w2)
