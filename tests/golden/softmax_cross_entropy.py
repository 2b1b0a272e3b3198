def grad_softmax_cross_entropy(logits, labels):
    # L19: shifted = logits - np.max(logits, axis=1, keepdims=True)
    t1 = np.max(logits, axis=1, keepdims=True)
    shifted = logits - t1
    # L20: log_probs = shifted - np.log(np.sum(np.exp(shifted), axis=1, keepdims=True))
    t2 = np.exp(shifted)
    t3 = np.sum(t2, axis=1, keepdims=True)
    log_probs = shifted - np.log(t3)
    # L21: return -np.sum(labels * log_probs) / logits.shape[0]
    t5 = labels * log_probs
    # ---- backward: adjoints, last statement first ----
    # L21: return -np.sum(labels * log_probs) / logits.shape[0]
    d_log_probs = unbroadcast(labels * unreduce(-(1.0 / logits.shape[0]), t5), log_probs)
    # L20: log_probs = shifted - np.log(np.sum(np.exp(shifted), axis=1, keepdims=True))
    d_shifted = unbroadcast(d_log_probs, shifted)
    d_t2 = unreduce(unbroadcast(-d_log_probs, t3) / t3, shifted, 1, True)
    d_shifted = d_shifted + d_t2 * t2
    # L19: shifted = logits - np.max(logits, axis=1, keepdims=True)
    d_logits = unbroadcast(d_shifted, logits)
    d_logits = d_logits + extremum_grad(unbroadcast(-d_shifted, t1), t1, logits, 1, True)
    return d_logits
