def grad_mlp(params, x, y):
    # L33: h = layer(x, params["w1"], params["b1"])
    params_w1 = params["w1"]
    params_b1 = params["b1"]
    # layer() L29: return np.tanh(x @ w + b)
    t1 = x @ params_w1
    h = np.tanh(t1 + params_b1)
    # L34: out = h @ params["w2"]
    params_w2 = params["w2"]
    out = h @ params_w2
    # L35: return np.mean((out - y) ** 2)
    t3 = out - y
    # ---- backward: adjoints, last statement first ----
    # L35: return np.mean((out - y) ** 2)
    d_out = unbroadcast(1.0 / reduced_count(t3) * 2 * t3, out)
    # L34: out = h @ params["w2"]
    d_h = matmul_grad_a(d_out, h, params_w2)
    d_params_w2 = matmul_grad_b(d_out, h, params_w2)
    d_params = getitem_grad(d_params_w2, params, s_["w2"])
    # layer() L29: return np.tanh(x @ w + b)
    d_t2 = d_h * (1 - h ** 2)
    d_params_b1 = unbroadcast(d_t2, params_b1)
    d_params_w1 = matmul_grad_b(unbroadcast(d_t2, t1), x, params_w1)
    # L33: h = layer(x, params["w1"], params["b1"])
    d_params = add_at(d_params, s_["b1"], d_params_b1)
    d_params = add_at(d_params, s_["w1"], d_params_w1)
    return densify(d_params, params)
