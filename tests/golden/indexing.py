def grad_indexing(x):
    # L52: return np.sum(x[:, 0] * x[:, 1]) + x[-1, ::2].sum()
    t1 = x[:, 0]
    t2 = x[:, 1]
    t3 = t1 * t2
    t5 = x[-1, ::2]
    # ---- backward: adjoints, last statement first ----
    # L52: return np.sum(x[:, 0] * x[:, 1]) + x[-1, ::2].sum()
    d_x = getitem_grad(unreduce(1.0, t5), x, s_[-1, ::2])
    d_t3 = unreduce(1.0, t3)
    d_x = add_at(d_x, s_[:, 1], unbroadcast(t1 * d_t3, t2))
    d_x = add_at(d_x, s_[:, 0], unbroadcast(d_t3 * t2, t1))
    return densify(d_x, x)
