def grad_reassignment(x):
    # L39: h = x * 2.0
    h = x * 2.0
    # L40: h = np.sin(h)
    h_2 = np.sin(h)
    # L41: h = h * h
    h_3 = h_2 * h_2
    # L42: return np.sum(h)
    out = np.sum(h_3)
    # ---- backward: adjoints, last statement first ----
    # L42: return np.sum(h)
    d_out = seed(out)
    d_h_3 = unreduce(d_out, x)
    # L41: h = h * h
    d_h_2 = d_h_3 * h_2
    d_h_2 = d_h_2 + h_2 * d_h_3
    # L40: h = np.sin(h)
    d_h = d_h_2 * np.cos(h)
    # L39: h = x * 2.0
    d_x = d_h * 2.0
    return d_x
