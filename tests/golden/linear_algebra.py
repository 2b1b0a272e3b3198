def grad_linear_algebra(a, b):
    # L56: return np.linalg.det(a) + np.sum(np.linalg.solve(a, b)) + np.trace(a.T @ a)
    t1 = np.linalg.det(a)
    t2 = np.linalg.solve(a, b)
    t3 = np.sum(t2)
    t4 = t1 + t3
    t5 = np.transpose(a)
    t6 = t5 @ a
    t7 = np.trace(t6)
    out = t4 + t7
    # ---- backward: adjoints, last statement first ----
    # L56: return np.linalg.det(a) + np.sum(np.linalg.solve(a, b)) + np.trace(a.T @ a)
    d_out = seed(out)
    d_t4 = unbroadcast(d_out, t4)
    d_t6 = trace_grad(unbroadcast(d_out, t7), t6)
    d_a = matmul_grad_b(d_t6, t5, a)
    d_a = d_a + transpose_grad(matmul_grad_a(d_t6, t5, a))
    d_t2 = unreduce(unbroadcast(d_t4, t3), t2)
    d_a = d_a + solve_grad_a(d_t2, t2, a, b)
    d_b = solve_grad_b(d_t2, t2, a, b)
    d_a = d_a + (unbroadcast(d_t4, t1) * np.ones_like(t1))[..., None, None] * cofactor(a)
    return (d_a, d_b)
