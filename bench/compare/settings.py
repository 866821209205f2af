"""The four benchmark settings of the deep-UFM comparison (see bench/compare/README.md).

All use softmax cross-entropy, the same lambda on H1 and every W_l, plain full-batch GD.
"""

SETTINGS = {
    "figure1": dict(K=10, n=5, d=70, L=2, act="linear", lam=2.0**-10, lr=0.5),
    "figure6": dict(K=10, n=5, d=70, L=3, act="relu", lam=2.0**-9, lr=0.5),
    "large": dict(K=20, n=20, d=256, L=4, act="linear", lam=2.0**-10, lr=0.5),
    "big": dict(K=100, n=10, d=1024, L=3, act="linear", lam=2.0**-10, lr=0.5),
}


def shapes(spec):
    """Shapes of [H1, W1, ..., WL] in that order."""
    K, n, d, L = spec["K"], spec["n"], spec["d"], spec["L"]
    return [(d, K * n)] + [(d, d)] * (L - 1) + [(K, d)]


def names(spec):
    return ["H1"] + [f"W{l}" for l in range(1, spec["L"] + 1)]


def make_init(spec, directory, seed=0):
    """Write H1.npy, W1.npy, ..., WL.npy: i.i.d. N(0, 1/d) float64, generated in that order."""
    import os

    import numpy as np

    rng = np.random.default_rng(seed)
    std = 1.0 / np.sqrt(spec["d"])
    for name, shape in zip(names(spec), shapes(spec)):
        x = rng.normal(0.0, std, size=shape).astype(np.float64)
        np.save(os.path.join(directory, name + ".npy"), x)


def load_init(spec, directory):
    import os

    import numpy as np

    out = []
    for name, shape in zip(names(spec), shapes(spec)):
        x = np.load(os.path.join(directory, name + ".npy"))
        assert x.shape == shape and x.dtype == np.float64, (name, x.shape, x.dtype)
        out.append(np.ascontiguousarray(x))
    return out
