"""Deep UFM trained by full-batch gradient descent, hand-written forward/backward in numpy.

The straightforward d x N feature path: A_0 = H1, P_l = W_l A_{l-1}, A_l = s(P_l) (l < L),
Z = W_L A_{L-1}. Loss = mean_j CE(Z[:, j], y_j) + lam/2 (||H1||^2 + sum_l ||W_l||^2).
"""

import numpy as np


def labels(spec):
    K, n = spec["K"], spec["n"]
    return np.repeat(np.arange(K), n)  # class order


def _forward(params, spec):
    """Returns (Z, [A_0, ..., A_{L-1}], [relu masks for layers 1..L-1] or None)."""
    H1, Ws = params[0], params[1:]
    relu = spec["act"] == "relu"
    acts, masks = [H1], []
    A = H1
    for W in Ws[:-1]:
        P = W @ A
        if relu:
            m = P > 0.0
            A = np.where(m, P, 0.0)
            masks.append(m)
        else:
            A = P
        acts.append(A)
    Z = Ws[-1] @ A
    return Z, acts, masks


def _reg(params, lam):
    return 0.5 * lam * sum(float(np.vdot(X, X)) for X in params)


def _fit_and_dz(Z, y, want_dz):
    N = Z.shape[1]
    cols = np.arange(N)
    m = Z.max(axis=0)
    E = np.exp(Z - m)
    s = E.sum(axis=0)
    fit = float(np.mean(np.log(s) + m - Z[y, cols]))  # log-sum-exp form
    if not want_dz:
        return fit, None
    dZ = E / s
    dZ[y, cols] -= 1.0
    dZ /= N
    return fit, dZ


def loss(params, spec, y=None):
    """Full loss (fit + reg) at params."""
    if y is None:
        y = labels(spec)
    Z, _, _ = _forward(params, spec)
    fit, _ = _fit_and_dz(Z, y, False)
    return fit + _reg(params, spec["lam"])


def loss_and_grad(params, spec, y=None, with_loss=True):
    """(loss, [dLoss/dH1, dLoss/dW1, ...]); loss is None when with_loss is False."""
    if y is None:
        y = labels(spec)
    lam = spec["lam"]
    Z, acts, masks = _forward(params, spec)
    fit, G = _fit_and_dz(Z, y, True)
    Ws = params[1:]
    L = len(Ws)
    grads = [None] * (L + 1)
    # layer L
    grads[L] = G @ acts[L - 1].T + lam * Ws[L - 1]
    D = Ws[L - 1].T @ G  # dLoss/dA_{L-1}
    for l in range(L - 1, 0, -1):  # W_l, l = L-1..1
        if masks:
            D = D * masks[l - 1]  # dLoss/dP_l
        grads[l] = D @ acts[l - 1].T + lam * Ws[l - 1]
        D = Ws[l - 1].T @ D  # dLoss/dA_{l-1}
    grads[0] = D + lam * params[0]
    return (fit + _reg(params, lam) if with_loss else None), grads


def train(params, spec, steps):
    """`steps` GD updates on copies of params; returns the new parameter list."""
    params = [X.copy() for X in params]
    run(params, spec, steps)
    return params


def run(params, spec, steps):
    """`steps` GD updates in place: every X <- X - lr dLoss/dX from one gradient evaluation."""
    y = labels(spec)
    lr = spec["lr"]
    for _ in range(steps):
        _, grads = loss_and_grad(params, spec, y, with_loss=False)
        for X, g in zip(params, grads):
            X -= lr * g
