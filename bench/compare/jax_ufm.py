"""Deep UFM trained by full-batch GD in JAX: gradient by jax.grad (autograd) of the loss,
the whole loop of `steps` GD steps jit-compiled as one lax.fori_loop. float64 throughout."""

import jax

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402


def make(spec):
    """Returns (train, loss): jitted train(params, steps) -> params and loss(params) -> scalar.

    `steps` is a traced int64 argument, so one compilation serves every step count."""
    K, n, lam, lr = spec["K"], spec["n"], spec["lam"], spec["lr"]
    relu = spec["act"] == "relu"
    N = K * n
    Y = jnp.asarray(np.kron(np.eye(K), np.ones((1, n))))  # one-hot, K x N, class order

    def loss_fn(params):
        H1, Ws = params[0], params[1:]
        A = H1
        for W in Ws[:-1]:
            A = W @ A
            if relu:
                A = jnp.maximum(A, 0.0)
        Z = Ws[-1] @ A
        fit = jnp.sum(jax.nn.logsumexp(Z, axis=0) - jnp.sum(Y * Z, axis=0)) / N
        reg = 0.5 * lam * sum(jnp.sum(X * X) for X in params)
        return fit + reg

    grad_fn = jax.grad(loss_fn)

    def train(params, steps):
        def body(_, p):
            g = grad_fn(p)
            return [X - lr * gX for X, gX in zip(p, g)]

        return jax.lax.fori_loop(0, steps, body, params)

    return jax.jit(train), jax.jit(loss_fn)


def to_device(params):
    return [jax.device_put(jnp.asarray(X, dtype=jnp.float64)) for X in params]


def block(params):
    for X in params:
        X.block_until_ready()
    return params
