"""
fastact in a Dask pipeline
==========================

A two-layer MLP forward and backward pass over a large batch on a local Dask
cluster, chunked along the batch axis: every fastact call on a Dask array
stays lazy and runs chunk by chunk on the workers.

.. note::

   This page shows the script without running it: it starts a cluster of
   worker processes and needs ``dask[distributed]``, neither of which the
   documentation build should depend on. The test suite runs it
   (``tests/test_ecosystem.py``).

Threads: each worker process runs ``threads_per_worker`` tasks at once, and
each fastact call on a large chunk may itself start OpenMP threads.  To avoid
oversubscribing the machine, give every worker
``cores // (n_workers * threads_per_worker)`` fastact threads, either with
``client.run(fastact.set_num_threads, n)`` (done here) or by starting the
workers with ``FASTACT_NUM_THREADS=n`` in their environment, e.g.
``LocalCluster(..., env={"FASTACT_NUM_THREADS": str(n)})`` or
``FASTACT_NUM_THREADS=1 dask worker ...``.

Run::

    python examples/dask_pipeline.py [--workers 2] [--rows 200000]
"""

import argparse
import os
import time

import numpy as np

import dask.array as da
from dask.distributed import Client, LocalCluster

import fastact


def worker_settings():
    """What a worker reports about itself (runs on the worker)."""
    import fastact as fa

    return {"pid": os.getpid(), "fastact_threads": fa.get_num_threads()}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads-per-worker", type=int, default=1)
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--chunk-rows", type=int, default=25_000)
    args = parser.parse_args(argv)

    cores = os.cpu_count() or 1
    fa_threads = max(1, cores // (args.workers * args.threads_per_worker))

    with LocalCluster(n_workers=args.workers, threads_per_worker=args.threads_per_worker,
                      processes=True, host="127.0.0.1", dashboard_address=None) as cluster, \
            Client(cluster) as client:
        # one fastact thread budget per task slot: workers x tasks x threads <= cores
        client.run(fastact.set_num_threads, fa_threads)
        for addr, s in sorted(client.run(worker_settings).items()):
            print(f"worker {addr}: pid {s['pid']}, fastact threads {s['fastact_threads']}")

        rng = da.random.default_rng(0)
        d_in, d_hidden, d_out = 64, 128, 10
        x = rng.standard_normal((args.rows, d_in), chunks=(args.chunk_rows, d_in),
                                dtype=np.float32)
        w1 = (np.random.default_rng(1).standard_normal((d_in, d_hidden)) / 8).astype(np.float32)
        w2 = (np.random.default_rng(2).standard_normal((d_hidden, d_out)) / 11).astype(np.float32)

        # forward: all lazy
        z1 = x @ w1
        h1 = fastact.gelu(z1)
        z2 = h1 @ w2
        y = fastact.elu(z2, alpha=0.5)            # a parameterized activation
        loss = (y ** 2).mean()

        # backward of loss through both activations (still lazy)
        dy = 2 * y / y.size
        dz2 = fastact.elu_backward(dy, z2, alpha=0.5)
        dh1 = dz2 @ w2.T
        dz1 = fastact.gelu_backward(dh1, z1)
        grad_w1 = x.T @ dz1

        assert isinstance(h1, da.Array) and isinstance(dz1, da.Array)
        t0 = time.perf_counter()
        loss_v, grad_w1_v, z1_head, h1_head = da.compute(loss, grad_w1, z1[:1000], h1[:1000])
        elapsed = time.perf_counter() - t0

    # what the workers computed is what fastact gives in this process
    assert h1_head.dtype == np.float32
    assert np.array_equal(h1_head, fastact.gelu(z1_head))
    print(f"rows {args.rows}, chunks of {args.chunk_rows}: computed in {elapsed:.2f}s")
    print(f"loss = {float(loss_v):.6f}, |grad W1| = {float(np.linalg.norm(grad_w1_v)):.6f}")
    print("gelu(z1)[:3, :4] =\n", h1_head[:3, :4])
    return float(loss_v), grad_w1_v


if __name__ == "__main__":
    main()
