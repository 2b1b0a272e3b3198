def grad_reassignment(x):
    # L39: h = x * 2.0
    h = x * 2.0
    # L40: h = np.sin(h)
    h_2 = np.sin(h)
    # ---- backward: adjoints, last statement first ----
    # L42: return np.sum(h)
    d_h_3 = unreduce(1.0, x)
    # L41: h = h * h
    d_h_2 = d_h_3 * h_2
    d_h_2 = d_h_2 + h_2 * d_h_3
    # L40: h = np.sin(h)
    d_h = d_h_2 * np.cos(h)
    # L39: h = x * 2.0
    d_x = d_h * 2.0
    return d_x
