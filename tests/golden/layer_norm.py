def grad_layer_norm(x, gamma, beta):
    # L46: mu = x.mean(axis=-1, keepdims=True)
    mu = np.mean(x, axis=-1, keepdims=True)
    # L47: var = ((x - mu) ** 2).mean(axis=-1, keepdims=True)
    t1 = x - mu
    var = np.mean(t1 ** 2, axis=-1, keepdims=True)
    # L48: return np.sum(gamma * (x - mu) / np.sqrt(var + 1e-5) + beta)
    t4 = gamma * t1
    t6 = np.sqrt(var + 1e-5)
    t7 = t4 / t6
    t8 = t7 + beta
    # ---- backward: adjoints, last statement first ----
    # L48: return np.sum(gamma * (x - mu) / np.sqrt(var + 1e-5) + beta)
    d_t8 = unreduce(1.0, t8)
    d_t7 = unbroadcast(d_t8, t7)
    d_beta = unbroadcast(d_t8, beta)
    d_t4 = unbroadcast(d_t7 / t6, t4)
    d_var = unbroadcast(-d_t7 * t7 / t6, var) / (2 * t6)
    d_gamma = unbroadcast(d_t4 * t1, gamma)
    d_t1 = unbroadcast(gamma * d_t4, t1)
    # L47: var = ((x - mu) ** 2).mean(axis=-1, keepdims=True)
    d_t1 = d_t1 + unreduce(d_var, t1, -1, True) / reduced_count(t1, -1) * 2 * t1
    d_x = unbroadcast(d_t1, x)
    d_mu = unbroadcast(-d_t1, mu)
    # L46: mu = x.mean(axis=-1, keepdims=True)
    d_x = d_x + unreduce(d_mu, x, -1, True) / reduced_count(x, -1)
    return (d_x, d_gamma, d_beta)
