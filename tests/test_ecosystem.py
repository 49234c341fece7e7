"""fastact where users run it: pandas, xarray, Dask and dask.distributed.

fastact's callables are NumPy ufuncs (or thin wrappers over ufuncs), so every
container that implements ``__array_ufunc__`` should get its own type back with
its labels intact, and Dask should stay lazy.  Each library is optional: its
tests are skipped when it is not installed (they are in the ``test`` extra).
"""

import os
import pickle
import time

import numpy as np
import pytest

import fastact
from helpers import run_python

RNG = np.random.default_rng(20240611)
X = RNG.standard_normal(64) * 3
G = RNG.standard_normal(64)


# ---------------------------------------------------------------- pickling
# dask.distributed ships the ufunc inside the task graph: it must pickle to the
# very same object (by reference), including the parameterized ufuncs that sit
# behind the Python wrappers.

def _all_ufuncs():
    out = {}
    for act in fastact.ACTIVATIONS.values():
        for kind in ("forward", "grad", "backward"):
            f = getattr(act, kind)
            out[act.callable_name(kind)] = getattr(f, "ufunc", f)
    return out


@pytest.mark.parametrize("name", sorted(_all_ufuncs()))
def test_ufuncs_and_wrappers_pickle_by_reference(name):
    uf = _all_ufuncs()[name]
    assert isinstance(uf, np.ufunc)
    assert pickle.loads(pickle.dumps(uf)) is uf
    public = getattr(fastact, name)
    assert pickle.loads(pickle.dumps(public)) is public


# ---------------------------------------------------------------- pandas

def test_pandas_series_forward_grad_keep_index_and_name():
    pd = pytest.importorskip("pandas")
    s = pd.Series(X, index=pd.RangeIndex(100, 164), name="pre")
    for f in (fastact.gelu, fastact.gelu_grad, fastact.silu, fastact.relu):
        r = f(s)
        assert isinstance(r, pd.Series), f
        assert r.index.equals(s.index)
        assert r.name == "pre"
        np.testing.assert_array_equal(r.to_numpy(), f(X))
    # a non-default, non-monotonic index survives too
    s2 = pd.Series(X[:5], index=list("edcba"))
    r2 = fastact.tanh(s2)
    assert list(r2.index) == list("edcba")
    np.testing.assert_array_equal(r2.to_numpy(), fastact.tanh(X[:5]))


def test_pandas_series_float32_keeps_dtype():
    pd = pytest.importorskip("pandas")
    s = pd.Series(X.astype(np.float32))
    r = fastact.gelu(s)
    assert r.dtype == np.float32
    np.testing.assert_array_equal(r.to_numpy(), fastact.gelu(X.astype(np.float32)))


def test_pandas_parameterized_wrappers():
    pd = pytest.importorskip("pandas")
    s = pd.Series(X, index=np.arange(64)[::-1])
    cases = [
        (fastact.elu(s, alpha=0.5), fastact.elu(X, alpha=0.5)),
        (fastact.elu(s, 0.5), fastact.elu(X, 0.5)),
        (fastact.leaky_relu(s), fastact.leaky_relu(X)),
        (fastact.celu_grad(s, alpha=2.0), fastact.celu_grad(X, alpha=2.0)),
        (fastact.softplus(s, beta=2.0), fastact.softplus(X, beta=2.0)),
        (fastact.prelu(s, 0.25), fastact.prelu(X, 0.25)),
        # the weight as a Series aligned on the same index
        (fastact.prelu(s, pd.Series(np.full(64, 0.25), index=s.index)),
         fastact.prelu(X, 0.25)),
    ]
    for got, want in cases:
        assert isinstance(got, pd.Series)
        assert got.index.equals(s.index)
        np.testing.assert_array_equal(got.to_numpy(), want)


def test_pandas_backward_with_two_series():
    pd = pytest.importorskip("pandas")
    idx = pd.Index([f"r{i}" for i in range(64)])
    g = pd.Series(G, index=idx, name="g")
    x = pd.Series(X, index=idx, name="x")
    for got, want in [
        (fastact.gelu_backward(g, x), fastact.gelu_backward(G, X)),
        (fastact.elu_backward(g, x, alpha=0.5), fastact.elu_backward(G, X, alpha=0.5)),
        (fastact.prelu_backward(g, x, 0.1), fastact.prelu_backward(G, X, 0.1)),
    ]:
        assert isinstance(got, pd.Series)
        assert got.index.equals(idx)
        np.testing.assert_array_equal(got.to_numpy(), want)
    # like any binary ufunc, pandas aligns the two Series on their index
    x_shuffled = x.iloc[::-1]
    got = fastact.gelu_backward(g, x_shuffled)
    np.testing.assert_array_equal(got.reindex(idx).to_numpy(), fastact.gelu_backward(G, X))
    # and names follow NumPy ufunc semantics (compare with np.multiply)
    assert got.name == np.multiply(g, x_shuffled).name


def test_pandas_dataframe():
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame({"a": X[:32], "b": X[32:]}, index=np.arange(32) * 2)
    r = fastact.gelu(df)
    assert isinstance(r, pd.DataFrame)
    assert list(r.columns) == ["a", "b"] and r.index.equals(df.index)
    np.testing.assert_array_equal(r.to_numpy(), fastact.gelu(df.to_numpy()))
    r2 = fastact.elu(df, alpha=0.5)
    assert isinstance(r2, pd.DataFrame)
    np.testing.assert_array_equal(r2.to_numpy(), fastact.elu(df.to_numpy(), alpha=0.5))


# ---------------------------------------------------------------- xarray

def _data_array(xr, values=None):
    values = X[:60].reshape(3, 4, 5) if values is None else values
    return xr.DataArray(
        values, dims=("batch", "chan", "t"),
        coords={"batch": [10, 20, 30], "chan": list("abcd"),
                "t": np.linspace(0, 1, 5), "label": ("batch", ["p", "q", "r"])},
        attrs={"units": "V", "note": "pre-activation"}, name="z")


def _assert_like_numpy_ufunc(xr, got, want_values, template):
    """Same dims/coords/name/attrs as NumPy's own ufunc np.sin gives."""
    ref = np.sin(template)
    assert isinstance(got, xr.DataArray)
    assert got.dims == template.dims
    assert got.coords.to_dataset().identical(template.coords.to_dataset())
    assert got.name == ref.name
    assert got.attrs == ref.attrs
    np.testing.assert_array_equal(got.values, want_values)


def test_xarray_dataarray_forward_and_grad():
    xr = pytest.importorskip("xarray")
    a = _data_array(xr)
    for f in (fastact.gelu, fastact.gelu_grad, fastact.mish, fastact.hard_swish):
        _assert_like_numpy_ufunc(xr, f(a), f(a.values), a)
    # attrs handling follows xarray's option exactly as for np.sin
    for keep in (True, False):
        with xr.set_options(keep_attrs=keep):
            assert fastact.gelu(a).attrs == np.sin(a).attrs


def test_xarray_parameterized_and_per_channel_weight():
    xr = pytest.importorskip("xarray")
    a = _data_array(xr)
    _assert_like_numpy_ufunc(xr, fastact.elu(a, alpha=0.5),
                             fastact.elu(a.values, alpha=0.5), a)
    _assert_like_numpy_ufunc(xr, fastact.softplus_grad(a, beta=2.0),
                             fastact.softplus_grad(a.values, beta=2.0), a)
    # a per-channel PReLU weight broadcasts by dimension name, not position
    w = xr.DataArray([0.1, 0.2, 0.3, 0.4], dims="chan",
                     coords={"chan": list("abcd")})
    got = fastact.prelu(a, w)
    want = fastact.prelu(a.values, w.values[None, :, None])
    assert got.dims == a.dims
    np.testing.assert_array_equal(got.transpose(*a.dims).values, want)
    # weight with its dims in another order than x: still aligned by name
    w2 = xr.DataArray(np.linspace(0.1, 0.9, 20).reshape(5, 4), dims=("t", "chan"),
                      coords={"chan": list("abcd")})
    got2 = fastact.prelu(a, w2).transpose(*a.dims)
    np.testing.assert_array_equal(
        got2.values, fastact.prelu(a.values, w2.values.T[None, :, :]))


def test_xarray_backward_and_dataset():
    xr = pytest.importorskip("xarray")
    a = _data_array(xr)
    g = a.copy(data=G[:60].reshape(3, 4, 5))
    got = fastact.gelu_backward(g, a)
    assert isinstance(got, xr.DataArray) and got.dims == a.dims
    np.testing.assert_array_equal(got.values, fastact.gelu_backward(g.values, a.values))
    ds = xr.Dataset({"z": a, "w": a * 2})
    r = fastact.silu(ds)
    assert isinstance(r, xr.Dataset) and set(r.data_vars) == {"z", "w"}
    np.testing.assert_array_equal(r["w"].values, fastact.silu(a.values * 2))


def test_xarray_backed_by_dask_stays_lazy():
    xr = pytest.importorskip("xarray")
    da = pytest.importorskip("dask.array")
    a = _data_array(xr).chunk({"batch": 1})
    r = fastact.gelu(a)
    assert isinstance(r.data, da.Array)
    np.testing.assert_array_equal(r.compute().values, fastact.gelu(a.values))


# ---------------------------------------------------------------- Dask

class _Forbidden(Exception):
    pass


def _forbid_scheduler(*args, **kwargs):
    raise _Forbidden("a Dask graph was computed")


def _counting_source(da, n=100_000, chunks=25_000, seed=7):
    """A dask array whose chunks are produced by a function that counts its
    calls, so any execution of the graph is visible."""
    calls = []

    def block(block_info=None):
        calls.append(1)
        loc = block_info[None]["array-location"][0]
        return np.random.default_rng(seed + loc[0]).standard_normal(loc[1] - loc[0]) * 4

    arr = da.map_blocks(block, chunks=((chunks,) * (n // chunks),), dtype=np.float64,
                        meta=np.empty((0,), np.float64))
    return arr, calls


LAZY_CALLS = [
    ("gelu", lambda x, g: fastact.gelu(x)),
    ("gelu_grad", lambda x, g: fastact.gelu_grad(x)),
    ("gelu_backward", lambda x, g: fastact.gelu_backward(g, x)),
    ("elu", lambda x, g: fastact.elu(x, alpha=0.5)),
    ("leaky_relu", lambda x, g: fastact.leaky_relu(x, 0.2)),
    ("softplus_grad", lambda x, g: fastact.softplus_grad(x, beta=2.0)),
    ("prelu", lambda x, g: fastact.prelu(x, 0.25)),
    ("celu_backward", lambda x, g: fastact.celu_backward(g, x, alpha=2.0)),
]


@pytest.mark.parametrize("name,fn", LAZY_CALLS, ids=[c[0] for c in LAZY_CALLS])
def test_dask_is_lazy_and_matches_eager(name, fn):
    dask = pytest.importorskip("dask")
    da = pytest.importorskip("dask.array")
    x, calls = _counting_source(da)
    g, gcalls = _counting_source(da, seed=99)
    with dask.config.set(scheduler=_forbid_scheduler):
        r = fn(x, g)
        assert isinstance(r, da.Array)
        assert r.shape == x.shape and r.chunks == x.chunks
        assert r.dtype == np.float64
    assert calls == [] and gcalls == [], "building the graph executed it"
    with pytest.raises(_Forbidden):  # the forbidding scheduler is really used
        with dask.config.set(scheduler=_forbid_scheduler):
            r.compute()
    got = r.compute(scheduler="sync")
    assert len(calls) == 4  # now, and only now, the source chunks ran
    xe = x.compute(scheduler="sync")
    ge = g.compute(scheduler="sync")
    np.testing.assert_array_equal(got, fn(xe, ge))


def test_dask_float32_and_array_parameter():
    pytest.importorskip("dask")
    da = pytest.importorskip("dask.array")
    x = da.from_array(X.reshape(8, 8).astype(np.float32), chunks=(4, 8))
    r = fastact.gelu(x)
    assert r.dtype == np.float32
    np.testing.assert_array_equal(r.compute(), fastact.gelu(X.reshape(8, 8).astype(np.float32)))
    # a per-column weight as a dask array broadcasts
    w = da.from_array(np.linspace(0.1, 0.8, 8), chunks=4)
    x64 = da.from_array(X.reshape(8, 8), chunks=(4, 4))
    r2 = fastact.prelu(x64, w)
    assert isinstance(r2, da.Array)
    np.testing.assert_array_equal(r2.compute(),
                                  fastact.prelu(X.reshape(8, 8), np.linspace(0.1, 0.8, 8)))


def test_dask_threaded_scheduler_identical_bytes():
    pytest.importorskip("dask")
    da = pytest.importorskip("dask.array")
    xe = np.random.default_rng(3).standard_normal(400_000) * 4
    x = da.from_array(xe, chunks=50_000)  # chunks above the threading threshold
    got = fastact.gelu(x).compute(scheduler="threads", num_workers=4)
    assert got.tobytes() == fastact.gelu(xe).tobytes()


# ---------------------------------------------------------------- dask.distributed

def _worker_threads():
    import fastact as fa

    return fa.get_num_threads(), os.getpid(), fa.__file__


def _seeded_block(seed, block_info=None):
    """Chunk of a reproducible random array, made where it is computed (on the
    worker), so the graph stays small."""
    lo, hi = block_info[None]["array-location"][0]
    return np.random.default_rng([seed, lo]).standard_normal(hi - lo) * 4


def _seeded(da, seed, n, chunk):
    lazy = da.map_blocks(_seeded_block, seed, chunks=((chunk,) * (n // chunk),),
                         dtype=np.float64, meta=np.empty((0,), np.float64))
    eager = np.concatenate([_seeded_block(seed, {None: {"array-location": [(lo, lo + chunk)]}})
                            for lo in range(0, n, chunk)])
    return lazy, eager


def test_distributed_local_cluster_identical_bytes():
    pytest.importorskip("dask")
    da = pytest.importorskip("dask.array")
    distributed = pytest.importorskip("distributed")
    n, chunk = 1_000_000, 125_000  # chunks above the threading threshold
    x, xe = _seeded(da, 11, n, chunk)
    g, ge = _seeded(da, 12, n, chunk)
    want = {
        "gelu": fastact.gelu(xe),
        "elu": fastact.elu(xe, alpha=0.5),
        "prelu_backward": fastact.prelu_backward(ge, xe, 0.25),
        "silu32": fastact.silu(xe.astype(np.float32)),
        "gelu_grad": fastact.gelu_grad(xe),
    }
    t0 = time.perf_counter()
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  host="127.0.0.1", dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        t_up = time.perf_counter() - t0
        client.run(fastact.set_num_threads, 1)  # 2 workers x 1 thread: no oversubscription
        info = client.run(_worker_threads)
        assert len(info) == 2 and all(v[0] == 1 for v in info.values())
        assert {v[1] for v in info.values()}.isdisjoint({os.getpid()})
        # the workers use the same fastact as this process
        assert {v[2] for v in info.values()} == {fastact.__file__}
        lazy = {
            "gelu": fastact.gelu(x),
            "elu": fastact.elu(x, alpha=0.5),
            "prelu_backward": fastact.prelu_backward(g, x, 0.25),
            "silu32": fastact.silu(x.astype(np.float32)),
            "gelu_grad": fastact.gelu_grad(x),
        }
        got = dict(zip(lazy, client.compute(list(lazy.values()), sync=True)))
    elapsed = time.perf_counter() - t0
    print(f"\nLocalCluster(2 procs x 1 thread): start {t_up:.1f}s, total {elapsed:.1f}s")
    for k in want:
        assert got[k].dtype == want[k].dtype, k
        assert got[k].tobytes() == want[k].tobytes(), k


# ---------------------------------------------------------------- the example

def test_dask_pipeline_example_runs():
    pytest.importorskip("distributed")
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    script = os.path.join(root, "examples", "dask_pipeline.py")
    # the script imports the same fastact as this test process
    r = run_python(script, "--rows", "40000", "--chunk-rows", "10000", timeout=300,
                   cwd=os.path.dirname(script))
    print(f"\nexamples/dask_pipeline.py: {r.seconds:.1f}s")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "loss =" in r.stdout and "fastact threads" in r.stdout
