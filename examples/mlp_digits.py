"""
An MLP in pure NumPy
====================

A real pipeline: a multilayer perceptron (64 → 1024 → 10, GELU) trained with
minibatch SGD on scikit-learn's bundled digits (no download), written in pure
NumPy with fastact's forward and fused backward ufuncs, and again with the
NumPy/SciPy formulas. Both start from the same weights and see the same
batches.

The output and the figure on this page come from a run made when these pages
were built. Run it yourself with ``python examples/mlp_digits.py``.
"""

import time

import matplotlib.pyplot as plt
import numpy as np
from scipy.special import erf
from sklearn.datasets import load_digits

import fastact

# %%
# The two GELUs
# -------------
#
# fastact's ``gelu`` and its fused ``gelu_backward`` (``grad_output *
# GELU'(x)`` in one pass), and the formulas written with NumPy and SciPy.

SQRT2 = np.sqrt(2.0)


def gelu_numpy(z):
    return 0.5 * z * (1.0 + erf(z / SQRT2))


def gelu_backward_numpy(g, z):
    cdf = 0.5 * (1.0 + erf(z / SQRT2))
    return g * (cdf + z * np.exp(-0.5 * z * z) / np.sqrt(2 * np.pi))


ACTIVATIONS = {
    "fastact": (fastact.gelu, fastact.gelu_backward),
    "numpy formula": (gelu_numpy, gelu_backward_numpy),
}

# %%
# The training loop
# -----------------
#
# One hidden layer, softmax and cross-entropy, plain SGD; ``act`` and
# ``backward`` are the only calls that differ between the runs. It returns the
# test accuracy, and the time and the mean training loss of every epoch.


def train(act, backward, x_train, y_train, x_test, y_test, epochs=30,
          hidden=1024, batch=128, lr=0.05, seed=0):
    rng = np.random.default_rng(seed)
    dtype = x_train.dtype
    n_in = x_train.shape[1]
    w1 = (rng.standard_normal((n_in, hidden)) / np.sqrt(n_in)).astype(dtype)
    b1 = np.zeros(hidden, dtype)
    w2 = (rng.standard_normal((hidden, 10)) / np.sqrt(hidden)).astype(dtype)
    b2 = np.zeros(10, dtype)
    onehot = np.eye(10, dtype=dtype)[y_train]
    times, losses = [], []
    for _ in range(epochs):
        order = rng.permutation(len(x_train))
        loss = 0.0
        t0 = time.perf_counter()
        for i in range(0, len(order), batch):
            idx = order[i:i + batch]
            x, t = x_train[idx], onehot[idx]
            z1 = x @ w1 + b1
            h = act(z1)
            logits = h @ w2 + b2
            logits -= logits.max(axis=1, keepdims=True)
            p = np.exp(logits)
            s = p.sum(axis=1, keepdims=True)
            true = logits[np.arange(len(idx)), y_train[idx]]
            loss += float(np.sum(np.log(s[:, 0]) - true))
            p /= s
            d2 = (p - t) / len(idx)
            dh = d2 @ w2.T
            dz1 = backward(dh, z1)
            w2 -= lr * (h.T @ d2)
            b2 -= lr * d2.sum(axis=0)
            w1 -= lr * (x.T @ dz1)
            b1 -= lr * dz1.sum(axis=0)
        times.append(time.perf_counter() - t0)
        losses.append(loss / len(x_train))
    pred = np.argmax(act(x_test @ w1 + b1) @ w2 + b2, axis=1)
    return float(np.mean(pred == y_test)), times, losses


# %%
# The two runs
# ------------
#
# The digits are 8x8 images of 16 grey levels, scaled to [0, 1] in float32 and
# shuffled once; the first 1400 train, the rest test.

digits = load_digits()
x = (digits.data / 16.0).astype(np.float32)
y = digits.target
perm = np.random.default_rng(1).permutation(len(x))
x, y = x[perm], y[perm]
n_train = 1400
print(f"digits: {len(x)} images of 8x8, {n_train} to train, "
      f"{len(x) - n_train} to test")
print("MLP 64 -> 1024 (GELU) -> 10, float32, 30 epochs of minibatch SGD\n")
print(f"{'activation':<24}{'test accuracy':>15}{'best epoch (ms)':>18}")
runs = {}
for name, (f, b) in ACTIVATIONS.items():
    acc, times, losses = runs[name] = train(f, b, x[:n_train], y[:n_train],
                                            x[n_train:], y[n_train:])
    print(f"{name:<24}{acc:>15.4f}{min(times) * 1e3:>18.1f}")

gap = max(abs(a - b) for a, b in zip(runs["fastact"][2],
                                     runs["numpy formula"][2]))
print(f"\nlargest difference between the runs' training losses: {gap:.2g}")

# %%
# The runs reach the same test accuracy: the activations differ only in the
# last bits. The time per epoch includes the matrix products, which run on
# the BLAS library's own threads; the difference between the rows is what the
# activation and its backward cost. fastact runs with its defaults: between
# the products, whose threads keep spinning for a while, its calls run on the
# calling thread alone until its own workers can run beside it again (see
# :doc:`../guides/threads`).
#
# Epoch by epoch
# --------------
#
# The training losses of the two runs lie on top of each other; the time of
# each epoch shows the cost of the activation on every one of them.

fig, (ax_loss, ax_time) = plt.subplots(1, 2, figsize=(9, 3.6),
                                       layout="constrained")
for (name, (_, times, losses)), style in zip(runs.items(), ("-", "--")):
    epochs = np.arange(1, len(losses) + 1)
    ax_loss.plot(epochs, losses, style, label=name)
    ax_time.plot(epochs, np.array(times) * 1e3, style, marker=".", label=name)
ax_loss.set_yscale("log")
ax_loss.set_xlabel("epoch")
ax_loss.set_ylabel("mean training loss (cross-entropy)")
ax_time.set_xlabel("epoch")
ax_time.set_ylabel("time of the epoch (ms)")
ax_time.set_ylim(bottom=0)
for ax in (ax_loss, ax_time):
    ax.grid(True, alpha=0.3)
    ax.legend(frameon=False)
plt.show()
