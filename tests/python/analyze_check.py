"""Independent numpy check of `ufm analyze`: writes an export folder (shuffled labels, float32
and float64 layers, nn.Linear-layout weights, logits), runs `ufm analyze --json`, recomputes every
measurement with plain numpy and compares.

Usage: python3 analyze_check.py UFM_BINARY WORK_DIR   (exit status 0 = all agree)
"""
import json
import os
import subprocess
import sys

import numpy as np

ufm, work = sys.argv[1], sys.argv[2]
rng = np.random.default_rng(7)
K, n, d0, d1 = 4, 15, 9, 6
N = K * n
labels = rng.permutation(np.repeat(np.arange(K), n))
centres = rng.normal(size=(K, d0)) * 3.0
h0 = (centres[labels] + rng.normal(size=(N, d0))).astype(np.float32)
W1 = rng.normal(size=(d1, d0)) / 3.0
h1 = np.maximum(h0.astype(np.float64) @ W1.T, 0.0)
W2 = rng.normal(size=(K, d1))
logits = h1 @ W2.T
# Make the argmax correct on most samples: add a class bonus.
logits[np.arange(N), labels] += 2.0

os.makedirs(os.path.join(work, "layers"), exist_ok=True)
os.makedirs(os.path.join(work, "weights"), exist_ok=True)
np.save(os.path.join(work, "labels.npy"), labels.astype(np.int64))
np.save(os.path.join(work, "layers", "layer1_h.npy"), h0)
np.save(os.path.join(work, "layers", "layer2_relu.npy"), np.asfortranarray(h1))
np.save(os.path.join(work, "weights", "fc1.npy"), W1)
np.save(os.path.join(work, "weights", "fc2.npy"), W2)
np.save(os.path.join(work, "logits.npy"), logits)

lh, lw = 1e-3, 5e-3
out = subprocess.run(
    [ufm, "analyze", work, "--json", "--no-plots", "--lambda-h", str(lh), "--lambda-w", str(lw)],
    check=True, capture_output=True, text=True,
).stdout
r = json.loads(out)

failures = []


def close(what, got, want, rtol=1e-9, atol=1e-12):
    got, want = np.asarray(got, dtype=float), np.asarray(want, dtype=float)
    if got.shape != want.shape or not np.allclose(got, want, rtol=rtol, atol=atol):
        failures.append(f"{what}: ufm {got} numpy {want}")


S = np.eye(K) - np.ones((K, K)) / K


def measures(H):  # H: N x d, any order
    H = H.astype(np.float64)
    M = np.stack([H[labels == c].mean(axis=0) for c in range(K)], axis=1)  # d x K
    mu = M.mean(axis=1, keepdims=True)
    Mc = M - mu
    D = H.T - M[:, labels]
    Sw = D @ D.T / N
    Sb = Mc @ Mc.T / K
    nc1 = np.trace(Sw @ np.linalg.pinv(Sb, rcond=1e-10)) / K
    quot = np.trace(Sw) / np.trace(Sb)
    G = Mc.T @ Mc
    nc2 = np.linalg.norm(G / np.linalg.norm(G) - S / np.sqrt(K - 1))
    return M, Mc, nc1, quot, nc2


# Singular values: ufm reports min(d, N) values of the d x N matrix; rank counts s > 1e-6 s_max.
for i, H in enumerate([h0, h1]):
    rep = r["layers"][i]
    M, Mc, nc1, quot, nc2 = measures(H)
    s = np.linalg.svd(H.astype(np.float64), compute_uv=False)
    close(f"layer {i} singular values", rep["singular_values"], s)
    close(f"layer {i} rank", rep["rank"], int((s > 1e-6 * s[0]).sum()))
    close(f"layer {i} nc1", rep["nc1"], nc1, rtol=1e-7)
    close(f"layer {i} nc1_quotient", rep["nc1_quotient"], quot)
    close(f"layer {i} nc2", rep["nc2"], nc2)

for i, (W, H) in enumerate([(W1, h0), (W2, h1)]):
    rep = r["weights"][i]
    _, Mc, _, _, _ = measures(H)
    U, s, _ = np.linalg.svd(Mc, full_matrices=False)
    Ur = U[:, s > 1e-10 * s[0]]
    nc3 = np.linalg.norm(W - W @ Ur @ Ur.T) / np.linalg.norm(W)
    close(f"weight {i} nc3", rep["nc3"], nc3, rtol=1e-8)
    close(f"weight {i} singular values", rep["singular_values"], np.linalg.svd(W, compute_uv=False))

Zm = np.stack([logits[labels == c].mean(axis=0) for c in range(K)], axis=1)  # K x K, column c
close("class-mean logits", np.array(r["logits"]["class_means"]).T, Zm)
C = Zm - Zm.mean(axis=0, keepdims=True)
cos = np.sum(C * S) / (np.linalg.norm(C) * np.linalg.norm(S))
close("simplex cosine", r["logits"]["simplex_cosine"], cos)
own = logits[np.arange(N), labels]
others = np.where(np.eye(K, dtype=bool)[labels], -np.inf, logits).max(axis=1)
close("train accuracy", r["train_accuracy"], np.mean(own > others))
m = logits.max(axis=1)
ce = np.mean(m + np.log(np.exp(logits - m[:, None]).sum(axis=1)) - own)
reg = 0.5 * lh * np.sum(h0.astype(np.float64) ** 2) + 0.5 * lw * (np.sum(W1**2) + np.sum(W2**2))
close("head fit", r["head_loss"]["fit"], ce)
close("head loss", r["head_loss"]["loss"], ce + reg)
close("class sizes", r["class_sizes"], [n] * K)

# DNC bound at lambda_eff: min over alpha of log(1 + (K-1) e^-alpha)
# + (L+1)/2 lambda_eff (K-1) (alpha^2 n)^(1/(L+1)) (paper Eq. (1) at a DNC point), by dense grid.
L = 2
lam = (lh * lw**L) ** (1.0 / (L + 1))
alpha = np.linspace(1e-6, 60.0, 2_000_001)
dnc = np.log1p((K - 1) * np.exp(-alpha)) + (L + 1) / 2 * lam * (K - 1) * (alpha**2 * n) ** (1 / (L + 1))
close("DNC bound", r["reference"]["dnc_loss"], dnc.min(), rtol=1e-8)

if failures:
    print("\n".join(failures))
    sys.exit(1)
print("ufm analyze agrees with numpy on", len(r["layers"]), "layers,", len(r["weights"]), "weights")
