"""Robustness: arrays of more than 2**31 elements, memory that stays flat over
many calls, bad input that fails cleanly, and a bounded hypothesis fuzz over
shapes, strides, dtypes, parameters and masks against ``fastact.reference``.
"""

import gc
import os
import re
import time

import numpy as np
import pytest

import fastact
from fastact import ACTIVATIONS
from helpers import KINDS, NAMES, all_callables, call, public, reference, ulp_error


# ============================================================ huge arrays
# float16 keeps these at 4 GiB per operand; the machine running the slow tests
# needs about 14 GiB free.

HUGE = 2**31 + 4099   # more elements than a signed 32-bit index can count
TILE = 4099            # a pattern period that does not divide any chunk size


def _tile(dtype=np.float16):
    # distinct values over the interesting range, including 0, kinks and ±8
    return np.linspace(-8, 8, TILE).astype(dtype)


def _fill_periodic(x, tile):
    """x[i] = tile[i % len(tile)] without a second full-size temporary."""
    p = len(tile)
    m = len(x) // p
    x[: m * p].reshape(m, p)[...] = tile
    x[m * p:] = tile[: len(x) - m * p]


def _check_periodic(y, want_tile, block_rows=1 << 16):
    """Every element of y against want_tile[i % len], in blocks (no big temp)."""
    p = len(want_tile)
    m = len(y) // p
    rows = y[: m * p].reshape(m, p)
    for lo in range(0, m, block_rows):
        blk = rows[lo: lo + block_rows]
        bad = np.flatnonzero((blk != want_tile).any(axis=1))
        assert bad.size == 0, f"row {lo + bad[0]} (element {(lo + bad[0]) * p}) differs"
    np.testing.assert_array_equal(y[m * p:], want_tile[: len(y) - m * p])
    # the very end, explicitly
    for i in (len(y) - 1, len(y) - 2, 2**31 - 1, 2**31, 2**31 + 1):
        assert y[i] == want_tile[i % p], i


def _huge_or_skip(nbytes):
    try:
        with open("/proc/meminfo") as f:
            info = dict(line.split(":", 1) for line in f)
        avail = int(info["MemAvailable"].split()[0]) * 1024
    except (OSError, KeyError, ValueError):
        return
    if avail < nbytes * 1.1:
        pytest.skip(f"needs {nbytes / 2**30:.0f} GiB free, {avail / 2**30:.1f} GiB available")


@pytest.mark.slow
@pytest.mark.parametrize("name", ["gelu", "relu"])
def test_huge_contiguous_float16(name):
    _huge_or_skip(2 * HUGE * 2)
    f = getattr(fastact, name)
    tile = _tile()
    want_tile = f(tile)
    x = np.empty(HUGE, np.float16)
    _fill_periodic(x, tile)
    t0 = time.perf_counter()
    y = f(x)
    dt = time.perf_counter() - t0
    print(f"\n{name} on {HUGE} float16 (contiguous): {dt:.2f}s "
          f"with {fastact.get_num_threads()} threads")
    assert y.shape == (HUGE,) and y.dtype == np.float16
    _check_periodic(y, want_tile)
    # input untouched
    _check_periodic(x, tile)
    del x, y
    gc.collect()


@pytest.mark.slow
def test_huge_strided_view_float16():
    """2**31 + 4099 elements read with stride 2 and written backwards (stride
    -2 bytes): the strided branch of the loop with 64-bit offsets."""
    _huge_or_skip(3 * HUGE * 2)
    tile = _tile()
    want_tile = fastact.gelu(tile)
    base = np.empty(2 * HUGE, np.float16)
    x = base[::2]
    _fill_periodic(x, tile)
    out_base = np.empty(HUGE, np.float16)
    out = out_base[::-1]
    t0 = time.perf_counter()
    y = fastact.gelu(x, out=out)
    dt = time.perf_counter() - t0
    print(f"\ngelu on a stride-2 view of {HUGE} float16 into a reversed out: {dt:.2f}s")
    assert y is out
    _check_periodic(out, want_tile)
    del base, x, out, out_base, y
    gc.collect()


@pytest.mark.slow
def test_huge_two_dimensional_with_parameter_array():
    """(2**16 + 1) x 2**15 float16 with a per-column weight: more than 2**31
    elements through the outer (non-inner) dimension of the iterator."""
    rows, cols = 2**16 + 1, 2**15
    _huge_or_skip(2 * rows * cols * 2)
    col = np.linspace(-8, 8, cols).astype(np.float16)
    w = np.linspace(0.1, 0.9, cols)
    x = np.empty((rows, cols), np.float16)
    x[...] = col
    t0 = time.perf_counter()
    y = fastact.prelu(x, w)
    dt = time.perf_counter() - t0
    print(f"\nprelu on {rows}x{cols} float16 with a weight row: {dt:.2f}s")
    want = fastact.prelu(col, w)
    for lo in range(0, rows, 4096):
        assert (y[lo: lo + 4096] == want).all(), lo
    assert (y[-1] == want).all()


# ============================================================ memory

def _rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


pytestmark_linux = pytest.mark.skipif(not os.path.exists("/proc/self/statm"),
                                      reason="needs /proc")


@pytestmark_linux
def test_rss_flat_over_many_small_calls():
    x = np.linspace(-4, 4, 33)
    x32 = x.astype(np.float32)
    w = np.full(33, 0.25)
    out = np.empty_like(x)

    def burst(n):
        for _ in range(n):
            fastact.gelu(x)
            fastact.gelu_grad(x32)
            fastact.elu(x, 0.5)
            fastact.prelu_backward(x, x, w, out=out)
            fastact.silu(0.5)
        for _ in range(n // 10):
            try:
                fastact.gelu(np.ones(3, complex))
            except TypeError:
                pass
            try:
                fastact.celu(x, alpha=0.0)
            except ValueError:
                pass

    burst(5_000)  # warm up caches and allocator
    gc.collect()
    before = _rss()
    t0 = time.perf_counter()
    burst(20_000)  # 10**5 calls + 4 * 10**3 errors
    gc.collect()
    after = _rss()
    print(f"\n10^5 small calls in {time.perf_counter() - t0:.2f}s: RSS "
          f"{before / 2**20:.1f} MiB -> {after / 2**20:.1f} MiB "
          f"({(after - before) / 2**10:+.0f} KiB)")
    assert after - before < 4 * 2**20


@pytestmark_linux
def test_rss_flat_over_large_calls():
    x = np.random.default_rng(0).standard_normal(10**7)
    fastact.gelu(x)
    fastact.relu(x)
    gc.collect()
    before = _rss()
    t0 = time.perf_counter()
    for i in range(100):
        if i % 4 == 0:
            y = fastact.gelu(x)
        elif i % 4 == 1:
            y = fastact.relu(x)
        elif i % 4 == 2:
            y = fastact.elu(x, alpha=0.5)
        else:
            y = fastact.silu_backward(x, x)
        del y
    gc.collect()
    after = _rss()
    print(f"\n100 calls on 10^7 float64 in {time.perf_counter() - t0:.2f}s: RSS "
          f"{before / 2**20:.1f} MiB -> {after / 2**20:.1f} MiB "
          f"({(after - before) / 2**20:+.1f} MiB; one output is 76 MiB)")
    assert after - before < 16 * 2**20


# ============================================================ bad input

BAD = [
    (np.array([1 + 2j], np.complex128), "complex128"),
    (np.array([1 + 2j], np.complex64), "complex64"),
    (np.array([1.0], dtype=object), "object"),
    (np.array(["a"]), "<U1"),
    (np.array([b"a"]), "S1"),
    (np.array(["2020-01-01"], dtype="M8[D]"), "datetime64"),
    (np.array([1], dtype="m8[s]"), "timedelta64"),
    (None, "object"),
    ("1.5", "<U3"),
    ([1.0, None], "object"),
]
BAD_IDS = ["complex128", "complex64", "object", "str", "bytes", "datetime",
           "timedelta", "None", "pystr", "list_with_None"]


@pytest.mark.parametrize("with_out", [False, True], ids=["no_out", "out"])
@pytest.mark.parametrize("bad,label", BAD, ids=BAD_IDS)
@pytest.mark.parametrize("fname,act,kind", all_callables(),
                         ids=[c[0] for c in all_callables()])
def test_bad_dtype_type_error(fname, act, kind, bad, label, with_out):
    """An input of a type no loop takes is a TypeError naming the public
    function and the type, with or without out= (then left as it was)."""
    out = np.full(1, 7.0)
    kw = {"out": out} if with_out else {}
    with pytest.raises(TypeError, match=rf"fastact\.{fname}\b.*{re.escape(label)}"):
        call(act, kind, bad, np.ones(np.shape(bad)), **kw)
    if kind == "backward":  # a bad grad_output is named as well
        with pytest.raises(TypeError, match=rf"fastact\.{fname}\b.*{re.escape(label)}"):
            public(act, kind)(bad, np.ones(1), **act.typical_params, **kw)
    assert out[0] == 7.0  # nothing written


@pytest.mark.parametrize("name", [a.name for a in ACTIVATIONS.values() if a.params])
def test_bad_parameter_dtype(name):
    act = ACTIVATIONS[name]
    p = act.params[0].name
    for kind in KINDS:
        fname = act.callable_name(kind)
        with pytest.raises(TypeError, match=rf"fastact\.{fname}\b.*complex128"):
            call(act, kind, np.ones(3), **{p: np.array([0.5 + 1j])})
        with pytest.raises(TypeError, match=rf"fastact\.{fname}\b.*object"):
            call(act, kind, np.ones(3), **{p: None})


def test_longdouble_input_is_rejected_not_truncated():
    x = np.ones(3, np.longdouble)
    if x.dtype.itemsize <= 8:
        pytest.skip("longdouble is double here")
    with pytest.raises(TypeError, match="gelu"):
        fastact.gelu(x)


def _broadcast_error(*shapes):
    """Regex for NumPy's broadcasting ValueError naming these shapes in order
    (NumPy lists every operand, so other shapes may stand between them)."""
    def fmt(s):
        return re.escape("(" + ",".join(map(str, s)) + ("," if len(s) == 1 else "") + ")")
    return "could not be broadcast together with shapes .*" + ".*".join(map(fmt, shapes))


@pytest.mark.parametrize("fname,act,kind", all_callables(),
                         ids=[c[0] for c in all_callables()])
def test_wrong_shape_out_and_read_only_out(fname, act, kind):
    """An out= of the wrong shape, read-only, or of a type the result does not
    cast to is NumPy's own error, and nothing is written: with the parameters
    given, and without them (the ufunc with the defaults built in)."""
    x = np.linspace(-3, 3, 12).reshape(3, 4)
    x0 = x.copy()
    for own_defaults in ((False, True) if act.has_defaults else (False,)):
        # wrong-shaped out: NumPy's own ValueError, nothing written
        out = np.full((4, 3), 7.0)
        # (NumPy lists every operand's shape: "... with shapes (3,4) (4,3)", with
        # () for a scalar parameter; np.sin(x, out=out) gives the same message)
        with pytest.raises(ValueError, match=_broadcast_error((3, 4), (4, 3))):
            call(act, kind, x, out=out, own_defaults=own_defaults)
        assert (out == 7.0).all()
        # a read-only out
        ro = np.full((3, 4), 7.0)
        ro.flags.writeable = False
        with pytest.raises(ValueError, match="read-only"):
            call(act, kind, x, out=ro, own_defaults=own_defaults)
        assert (ro == 7.0).all()
        # out of a lower-precision dtype than the result: casting error, untouched
        o16 = np.full((3, 4), 7, np.int64)
        with pytest.raises(TypeError):
            call(act, kind, x, out=o16, own_defaults=own_defaults)
        assert (o16 == 7).all()
    if kind == "backward":  # grad_output that does not broadcast
        with pytest.raises(ValueError, match=_broadcast_error((3,), (3, 4))):
            call(act, kind, x, np.ones(3))
    np.testing.assert_array_equal(x, x0)  # the input is never written


@pytest.mark.parametrize("name", [a.name for a in ACTIVATIONS.values() if a.params])
def test_wrong_shape_parameter(name):
    """A parameter array that does not broadcast against x is NumPy's
    ValueError naming both shapes, with or without out= (left untouched)."""
    act = ACTIVATIONS[name]
    p = act.params[0].name
    x = np.linspace(-3, 3, 12).reshape(3, 4)
    msg = _broadcast_error((3, 4), (3,))
    for kind in KINDS:
        with pytest.raises(ValueError, match=msg):
            call(act, kind, x, **{p: np.full(3, 0.5)})
        out = np.full((3, 4), 7.0)
        with pytest.raises(ValueError, match=msg):
            call(act, kind, x, out=out, **{p: np.full(3, 0.5)})
        assert (out == 7.0).all()


@pytest.mark.parametrize("name,pname", [("celu", "alpha"), ("softplus", "beta")])
@pytest.mark.parametrize("zero", [0, 0.0, np.float32(0), np.array(0.0)])
def test_scalar_parameter_that_makes_function_undefined(name, pname, zero):
    """A scalar zero where the function divides by the parameter is a
    ValueError naming the function and the parameter, in every kind, with or
    without out= (left untouched)."""
    act = ACTIVATIONS[name]
    for kind in KINDS:
        with pytest.raises(ValueError, match=f"{name}.*{pname}"):
            call(act, kind, np.ones(5), **{pname: zero})
        out = np.full(5, 7.0)
        with pytest.raises(ValueError, match=f"{name}.*{pname}"):
            call(act, kind, np.ones(5), out=out, **{pname: zero})
        assert (out == 7.0).all()


def test_errors_return_nothing_partial_in_threaded_path():
    """A bad out on an array big enough for the threaded path still fails
    before anything is written."""
    x = np.linspace(-3, 3, 2**18)
    out = np.full(2**18 - 1, 7.0)
    with pytest.raises(ValueError):
        fastact.gelu(x, out=out)
    assert (out == 7.0).all()


# ============================================================ hypothesis fuzz

try:
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st
    from hypothesis.extra import numpy as hnp
except ImportError:  # pragma: no cover - hypothesis is in the test extra
    HAVE_HYPOTHESIS = False
else:
    HAVE_HYPOTHESIS = True

if not HAVE_HYPOTHESIS:
    def test_fuzz_against_reference():
        pytest.skip("hypothesis is not installed")
else:
    DTYPES = ["float16", "float32", "float64", ">f2", ">f4", ">f8",
              "int8", "uint8", "int16", "int32", "bool"]
    STEPS = [1, 1, 2, 3, -1, -2]
    # float16/32 are computed in double and rounded once: a few ULP against the
    # float64 reference.  float64 is the reference's own precision, and a
    # composition of library calls loses up to a few hundred ULP in the far
    # tails: here (a check of layouts, dtypes, broadcasting and masks, where a
    # mistake is an O(1) error) float64 gets 2**12 ULP (1e-12 relative); its
    # accuracy is checked against mpmath elsewhere.
    BOUND = {np.dtype(np.float16): 2.0, np.dtype(np.float32): 4.0,
             np.dtype(np.float64): 4096.0}


    @st.composite
    def cases(draw, name):
        act = ACTIVATIONS[name]
        ndim = draw(st.integers(0, 3))
        shape = tuple(draw(st.lists(st.sampled_from([0, 1, 2, 3, 4, 5, 6, 7]),
                                    min_size=ndim, max_size=ndim)))
        steps = [draw(st.sampled_from(STEPS)) for _ in shape]
        dtype = np.dtype(draw(st.sampled_from(DTYPES)))
        special = list(act.kinks) + [0.0, -0.0, 1.0, -1.0]
        lo, hi = act.span
        elements = st.one_of(
            st.floats(3 * lo, 3 * hi, allow_nan=False, allow_infinity=False),
            st.floats(-40, 40, allow_nan=False, allow_infinity=False),
            st.floats(-6e4, 6e4, allow_nan=False, allow_infinity=False),
            st.sampled_from(special))
        base_shape = tuple(s * abs(k) for s, k in zip(shape, steps))
        base = draw(hnp.arrays(np.float64, base_shape, elements=elements))
        if np.sin(np.zeros(0, dtype)).dtype == np.float64:
            # where a float64 reference is still accurate (as in test_values)
            base = np.clip(base, -30, 30)
        if dtype.kind == "b":
            base_t = base > 0
        elif dtype.kind in "iu":
            info = np.iinfo(dtype)
            base_t = np.clip(np.rint(base), info.min, info.max).astype(dtype)
        else:
            base_t = base.astype(dtype)
        x = base_t[tuple(slice(None, None, k) for k in steps)]
        assert x.shape == shape
        if ndim >= 2 and draw(st.booleans()):
            x = x.transpose(draw(st.permutations(range(ndim))))
        shape = x.shape

        def bshape():
            """A shape that broadcasts against `shape` (right-aligned)."""
            keep = draw(st.integers(0, len(shape)))
            tail = shape[len(shape) - keep:]
            return tuple(d if draw(st.booleans()) else 1 for d in tail)

        params = {}
        for p in act.params:
            values = [v for v in (p.default, *p.samples) if v is not None]
            if p.name == "weight":
                scalar = st.one_of(st.sampled_from(values),
                                   st.floats(-2, 2, allow_nan=False))
            else:
                scalar = st.sampled_from(values)
            form = draw(st.sampled_from(["float", "0d", "array", "array32"]))
            if form == "float":
                params[p.name] = draw(scalar)
            elif form == "0d":
                params[p.name] = np.array(draw(scalar))
            else:
                arr = draw(hnp.arrays(np.float64, bshape(), elements=scalar))
                params[p.name] = arr.astype(np.float32) if form == "array32" else arr
        g = draw(hnp.arrays(np.float64, bshape(),
                            elements=st.floats(-3, 3, allow_nan=False)))
        g = g.astype(x.dtype if x.dtype.kind == "f" else np.float16)
        where = draw(st.one_of(st.none(), hnp.arrays(np.bool_, bshape())))
        use_out = where is not None or draw(st.booleans())
        return act, x, g, params, where, use_out

    def _floor_for(act, kind, loop, g):
        """Absolute floor (in value units) below which errors are measured in ULP
        of the floor: around 0 for float16/32, at derivative roots 2**-6."""
        floor = 0.0
        if loop != np.float64:
            floor = float(np.finfo(loop).smallest_normal)
        if act.grad_has_root and kind != "forward":
            floor = max(floor, 2.0**-6)
        if kind == "backward" and g is not None:
            return floor * np.abs(np.asarray(g, np.float64))
        return floor


    # 20 activations x 10 examples x 3 kinds: 600 checked calls, a few seconds
    @pytest.mark.parametrize("name", NAMES)
    @settings(max_examples=10, deadline=None, derandomize=True,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                     HealthCheck.filter_too_much])
    @given(data=st.data())
    def test_fuzz_against_reference(name, data):
        act, x, g, params, where, use_out = data.draw(cases(name))
        for kind in KINDS:
            _check_case(act, kind, x, g if kind == "backward" else None,
                        params, where, use_out)

    def _check_case(act, kind, x, g, params, where, use_out):
        args = (g, x) if kind == "backward" else (x,)
        loop = np.sin(x.astype(x.dtype.newbyteorder("="))).dtype  # NumPy's float loop rule
        shapes = [a.shape for a in args] + [np.shape(v) for v in params.values()]
        if where is not None:
            shapes.append(where.shape)
        oshape = np.broadcast_shapes(*shapes)
        x_before = x.copy()
        params_before = {k: np.array(v, copy=True) for k, v in params.items()}
        kwargs = {}
        if use_out:
            out = np.full(oshape, 7, loop)
            kwargs["out"] = out
        if where is not None:
            kwargs["where"] = where
        with np.errstate(all="ignore"):
            y = call(act, kind, x, g, **params, **kwargs)
        if use_out:
            assert y is out
        y = np.asarray(y)
        assert y.shape == oshape
        assert y.dtype == loop, (y.dtype, loop)
        # what the reference sees: the inputs cast to the loop dtype, in float64
        x64 = x.astype(loop).astype(np.float64)
        p64 = {k: np.asarray(v, np.float64) for k, v in params.items()}
        with np.errstate(all="ignore"):
            r = reference(act, kind, x64, None if g is None else g.astype(loop), **p64)
        r = np.broadcast_to(np.asarray(r, np.float64), oshape)
        gb = None if g is None else np.broadcast_to(g.astype(loop), oshape)
        bound = BOUND[loop] + (0.5 if kind == "backward" else 0.0)
        err = ulp_error(y, r, loop, floor=_floor_for(act, kind, loop, gb))
        with np.errstate(over="ignore"):
            rounded = r.astype(loop)
        err = np.where(np.isinf(rounded) & (y == rounded), 0.0, err)  # overflow in dtype
        sel = np.ones(oshape, bool) if where is None else np.broadcast_to(where, oshape)
        if sel.any():
            worst = np.unravel_index(np.argmax(np.where(sel, err, 0)), oshape)
            assert not sel[worst] or err[worst] <= bound, (
                f"{act.callable_name(kind)} {x.dtype} {params}: {err[worst]:.3g} ULP at "
                f"{worst}: x={np.broadcast_to(x, oshape)[worst]!r} got {y[worst]!r} "
                f"want {r[worst]!r}")
        if where is not None:
            assert (y[~sel] == 7).all()  # masked-off elements untouched
        np.testing.assert_array_equal(x, x_before)  # inputs never written
        for k, v in params.items():
            np.testing.assert_array_equal(np.asarray(v), params_before[k])
