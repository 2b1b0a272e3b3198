def grad_logistic_regression(w, b, x, y):
    # L13: z = x @ w + b
    t1 = x @ w
    z = t1 + b
    # L14: p = 1.0 / (1.0 + np.exp(-z))
    t3 = np.exp(-z)
    t4 = 1.0 + t3
    p = 1.0 / t4
    # L15: return -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))
    t6 = y * np.log(p)
    t7 = 1 - y
    t8 = 1 - p
    t10 = t7 * np.log(t8)
    t11 = t6 + t10
    # ---- backward: adjoints, last statement first ----
    # L15: return -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))
    d_t11 = unreduce(-1.0, t11) / reduced_count(t11)
    d_p = -(unbroadcast(t7 * unbroadcast(d_t11, t10), z) / t8)
    d_p = d_p + unbroadcast(y * unbroadcast(d_t11, t6), z) / p
    # L14: p = 1.0 / (1.0 + np.exp(-z))
    d_z = d_p * p / t4 * t3
    # L13: z = x @ w + b
    d_b = unbroadcast(d_z, b)
    d_w = matmul_grad_b(unbroadcast(d_z, t1), x, w)
    return (d_w, d_b)
