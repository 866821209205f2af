"""Finite-difference check of numpy_ufm's hand-written gradient (central differences on random
entries of every matrix), on small copies of the settings' shapes and on the real figure settings.

Usage: python fd_check.py    (exits non-zero when an entry's error exceeds 1e-5 of
the larger of |gradient entry| and 1% of the matrix's largest entry, or the directional one 1e-6)"""

import sys

import numpy as np

import numpy_ufm
from settings import SETTINGS, shapes


def check(spec, seed=0, probes=6, h=1e-5):
    rng = np.random.default_rng(seed)
    params = [rng.normal(0, 1 / np.sqrt(spec["d"]), size=s) for s in shapes(spec)]
    _, grads = numpy_ufm.loss_and_grad(params, spec)
    worst = 0.0
    for k, X in enumerate(params):
        for _ in range(probes):
            i = tuple(rng.integers(0, s) for s in X.shape)
            old = X[i]
            X[i] = old + h
            lp = numpy_ufm.loss(params, spec)
            X[i] = old - h
            lm = numpy_ufm.loss(params, spec)
            X[i] = old
            fd = (lp - lm) / (2 * h)
            scale = max(abs(fd), abs(grads[k][i]), 1e-2 * np.abs(grads[k]).max())
            worst = max(worst, abs(fd - grads[k][i]) / scale)
    # directional derivative along a random direction through all matrices at once
    V = [rng.normal(size=X.shape) for X in params]
    plus = numpy_ufm.loss([X + h * v for X, v in zip(params, V)], spec)
    minus = numpy_ufm.loss([X - h * v for X, v in zip(params, V)], spec)
    fd = (plus - minus) / (2 * h)
    an = sum(float(np.vdot(g, v)) for g, v in zip(grads, V))
    return worst, abs(fd - an) / max(abs(fd), abs(an))


def main():
    bad = False
    cases = dict(SETTINGS)
    del cases["big"]  # same code path as "large", only slower
    cases["tiny_relu_L4"] = dict(K=3, n=2, d=5, L=4, act="relu", lam=0.1, lr=0.5)
    cases["tiny_linear_L1"] = dict(K=3, n=2, d=5, L=1, act="linear", lam=0.1, lr=0.5)
    for name, spec in cases.items():
        w, dirn = check(spec)
        print(f"fd-check {name:15s} entries: max rel. error {w:.2e}   direction: rel. error {dirn:.2e}")
        bad |= w > 1e-5 or dirn > 1e-6
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
