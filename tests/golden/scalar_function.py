def grad_scalar_function(x, y):
    # L25: return np.sin(x) * y + np.exp(x / y) - x ** 2
    t1 = np.sin(x)
    t2 = t1 * y
    t3 = x / y
    t4 = np.exp(t3)
    t5 = t2 + t4
    out = t5 - x ** 2
    # ---- backward: adjoints, last statement first ----
    # L25: return np.sin(x) * y + np.exp(x / y) - x ** 2
    d_out = seed(out)
    d_t5 = unbroadcast(d_out, t5)
    d_x = unbroadcast(-d_out, x) * 2 * x
    d_t2 = unbroadcast(d_t5, t2)
    d_t3 = unbroadcast(d_t5, t3) * t4
    d_x = d_x + unbroadcast(d_t3 / y, x)
    d_y = unbroadcast(-d_t3 * t3 / y, y)
    d_y = d_y + unbroadcast(t1 * d_t2, y)
    d_x = d_x + unbroadcast(d_t2 * y, x) * np.cos(x)
    return (d_x, d_y)
