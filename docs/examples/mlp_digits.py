"""A small MLP trained in pure NumPy on scikit-learn's digits, twice: with
fastact's GELU forward and fused backward, and with the NumPy/SciPy formulas.

Same initial weights, same batches: the two runs reach the same accuracy
(their activations differ only in the last bits), and the time per epoch
shows what the activation costs.  Run: python docs/examples/mlp_digits.py
"""

import time

import numpy as np
from scipy.special import erf
from sklearn.datasets import load_digits

import fastact

SQRT2 = np.sqrt(2.0)


def gelu_numpy(z):
    return 0.5 * z * (1.0 + erf(z / SQRT2))


def gelu_backward_numpy(g, z):
    return g * (0.5 * (1.0 + erf(z / SQRT2)) + z * np.exp(-0.5 * z * z) / np.sqrt(2 * np.pi))


ACTIVATIONS = {
    "fastact": (fastact.gelu, fastact.gelu_backward),
    "numpy formula": (gelu_numpy, gelu_backward_numpy),
}


def train(act, backward, x_train, y_train, x_test, y_test, epochs=30, hidden=1024,
          batch=128, lr=0.05, seed=0):
    rng = np.random.default_rng(seed)
    dtype = x_train.dtype
    w1 = (rng.standard_normal((x_train.shape[1], hidden)) / np.sqrt(x_train.shape[1])).astype(dtype)
    b1 = np.zeros(hidden, dtype)
    w2 = (rng.standard_normal((hidden, 10)) / np.sqrt(hidden)).astype(dtype)
    b2 = np.zeros(10, dtype)
    onehot = np.eye(10, dtype=dtype)[y_train]
    times = []
    for _ in range(epochs):
        order = rng.permutation(len(x_train))
        t0 = time.perf_counter()
        for i in range(0, len(order), batch):
            idx = order[i:i + batch]
            x, t = x_train[idx], onehot[idx]
            z1 = x @ w1 + b1
            h = act(z1)
            logits = h @ w2 + b2
            logits -= logits.max(axis=1, keepdims=True)
            p = np.exp(logits)
            p /= p.sum(axis=1, keepdims=True)
            d2 = (p - t) / len(idx)
            dh = d2 @ w2.T
            dz1 = backward(dh, z1)
            w2 -= lr * (h.T @ d2)
            b2 -= lr * d2.sum(axis=0)
            w1 -= lr * (x.T @ dz1)
            b1 -= lr * dz1.sum(axis=0)
        times.append(time.perf_counter() - t0)
    pred = np.argmax(act(x_test @ w1 + b1) @ w2 + b2, axis=1)
    return float(np.mean(pred == y_test)), min(times)


def main():
    digits = load_digits()
    x = (digits.data / 16.0).astype(np.float32)
    y = digits.target
    perm = np.random.default_rng(1).permutation(len(x))
    x, y = x[perm], y[perm]
    n_train = 1400
    print(f"digits: {len(x)} images of 8x8, {n_train} to train, {len(x) - n_train} to test")
    print(f"MLP 64 -> 1024 (GELU) -> 10, float32, 30 epochs of minibatch SGD\n")
    print(f"{'activation':<24}{'test accuracy':>15}{'best epoch (ms)':>18}")
    for name, (f, b) in ACTIVATIONS.items():
        acc, t = train(f, b, x[:n_train], y[:n_train], x[n_train:], y[n_train:])
        print(f"{name:<24}{acc:>15.4f}{t * 1e3:>18.1f}")


if __name__ == "__main__":
    main()
