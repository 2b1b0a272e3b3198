"""Threads and memory: eight threads transforming and calling different functions at once get
correct results; the cache holds functions weakly (their generated code goes with them); a
gradient changes neither its arguments nor the module's globals."""

from __future__ import annotations

import gc
import threading
import weakref

import numpy as np

import srcgrad

SCALE = 2.0


def _make(k: int):
    """A distinct function per k (its own code object, so its own transformation)."""
    namespace = {"np": np}
    exec(f"def f_{k}(x, w):\n    return np.sum(np.tanh(x * w + {k}.0) ** 2) * {k + 1}\n",
         namespace)  # the test's own code
    text = f"def f_{k}(x, w):\n    return np.sum(np.tanh(x * w + {k}.0) ** 2) * {k + 1}\n"
    return namespace[f"f_{k}"], text


def _expected(k, x, w):
    t = np.tanh(x * w + k)
    g = 2 * t * (1 - t * t) * (k + 1)
    return g * w, g * x


def test_eight_threads_transform_and_call_different_functions_at_once():
    x, w = np.linspace(-1.0, 1.0, 5), np.linspace(0.5, 1.5, 5)
    errors: list[BaseException] = []
    barrier = threading.Barrier(8)

    def work(k: int) -> None:
        try:
            fn, text = _make(k)
            barrier.wait(timeout=60)   # a thread that never arrives breaks it
            for _ in range(5):
                g = srcgrad.grad(fn, wrt=(0, 1), source=text)
                got = g(x, w)
                want = _expected(k, x, w)
                for a, b in zip(got, want, strict=True):
                    np.testing.assert_allclose(a, b, rtol=1e-12)
                _, t = srcgrad.jvp(fn, (x, w), (np.ones(5), np.zeros(5)), source=text)
                np.testing.assert_allclose(t, np.sum(want[0]), rtol=1e-12)
        except BaseException as exc:  # reported below, from the main thread
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors[0]
    assert not any(t.is_alive() for t in threads)


def test_the_cache_lets_functions_go():
    fn, text = _make(99)
    g = srcgrad.grad(fn, source=text)
    g(np.ones(3), np.ones(3))
    ref = weakref.ref(fn)
    del fn, g
    gc.collect()
    assert ref() is None


def test_a_gradient_changes_neither_arguments_nor_globals():
    def f(x, w, ws):
        y = x * 1.0
        y[0] = w[0] * SCALE
        x = x * 2.0
        return np.sum(y * x) + np.sum(ws[0] * w)

    x, w, ws = np.array([0.5, 1.5]), np.array([2.0, -1.0]), [np.array([1.0, 3.0])]
    copies = (x.copy(), w.copy(), [a.copy() for a in ws])
    srcgrad.grad(f, wrt=(0, 1, 2))(x, w, ws)
    srcgrad.jvp(f, (x, w, ws), (np.ones(2), np.ones(2), [np.ones(2)]))
    np.testing.assert_array_equal(x, copies[0])
    np.testing.assert_array_equal(w, copies[1])
    np.testing.assert_array_equal(ws[0], copies[2][0])
    assert SCALE == 2.0
