"""Special values and side effects: NaN propagates, infinities give the
limits, no spurious floating-point exceptions, and the process's
floating-point environment is left alone."""

import textwrap

import numpy as np
import pytest

import fastact
from helpers import call, param_sets, reference, run_code


def _finite_extremes(dtype):
    fi = np.finfo(dtype)
    with np.errstate(over="ignore"):  # geomspace's own power() near max
        mags = _mags(fi)
    with np.errstate(over="ignore"):
        x = np.concatenate([mags, -mags, [0.0, -0.0]]).astype(dtype)
    return x[np.isfinite(x)]


def _mags(fi):
    return np.concatenate([
        np.geomspace(float(fi.smallest_subnormal), float(fi.max), 3000),
        [float(fi.smallest_subnormal), float(fi.smallest_normal), 1.0,
         float(fi.max)],
        np.linspace(0, 50, 501),
        np.linspace(700, 760, 121),
    ]).astype(np.float64)


def _genuine_overflow(act, params):
    """Inputs where the true result overflows the dtype (not spurious)."""
    scale = None
    if act.name == "selu":
        scale = 1.0507009873554805
    slope = params.get("negative_slope", params.get("weight"))
    if slope is not None and abs(slope) > 1:
        scale = abs(slope)
    if scale is None:
        return None
    # |x| > max/scale, written so the test itself does not overflow
    return lambda x: np.abs(x.astype(np.float64)) > float(np.finfo(x.dtype).max) / scale


@pytest.mark.parametrize("size", ["serial", "threaded"])
def test_no_spurious_fp_exceptions(act, kind, dtype, size):
    x = _finite_extremes(dtype)
    for params in param_sets(act):
        genuine = _genuine_overflow(act, params)
        xs = x[~genuine(x)] if genuine else x
        if size == "threaded":
            xs = np.resize(xs, 2**18 + 5)  # above every threading threshold
        g = np.full_like(xs, 0.75)
        with np.errstate(over="raise", invalid="raise", divide="raise"):
            call(act, kind, xs, g, **params)


def _overflow_cases():
    cases = [(act, p) for act in fastact.ACTIVATIONS.values() for p in param_sets(act)
             if _genuine_overflow(act, p) is not None]
    assert cases, "no activation scales x past the largest float any more?"
    return cases


@pytest.mark.parametrize("size", ["serial", "threaded"])
@pytest.mark.parametrize("act,params", _overflow_cases(),
                         ids=lambda v: getattr(v, "name", None) or str(v))
def test_genuine_overflow_is_reported(act, params, dtype, size):
    """A finite input whose true result overflows the dtype (the forwards that
    scale x by more than 1) gives inf and the overflow flag, as NumPy's own
    arithmetic does, in every dtype: float16 results are rounded in software,
    which raises no flag by itself."""
    x = np.ones(2**18 + 5 if size == "threaded" else 2, dtype=dtype)
    x[-1] = np.finfo(dtype).max   # in the last chunk of a threaded run
    with np.errstate(over="raise"):
        with pytest.raises(FloatingPointError, match="overflow"):
            call(act, "forward", x, **params)
    with np.errstate(over="ignore"):
        y = call(act, "forward", x, **params)
    assert np.isposinf(y[-1]) and np.all(np.isfinite(y[:-1]))


def test_nan_propagates(act, kind, dtype):
    x = np.array([np.nan, 1.0, np.nan, -1.0], dtype=dtype)
    for params in param_sets(act):
        y = call(act, kind, x, **params)
        assert np.isnan(y[0]) and np.isnan(y[2]), (act.name, kind, params, y)
        assert not np.isnan(y[1]) and not np.isnan(y[3])
    if kind == "backward":
        g = np.array([np.nan, 1.0], dtype=dtype)
        y = call(act, kind, np.array([1.0, 2.0], dtype=dtype), g)
        assert np.isnan(y[0]) and not np.isnan(y[1])


def test_infinities_give_the_limits(act, kind, dtype):
    """f(+-inf) is the limit: the float64 reference at +-1e300 (where every
    function has reached its limit to double precision, or is beyond every
    dtype's range) cast to the dtype; a zero of either sign is fine."""
    for params in param_sets(act):
        x = np.array([np.inf, -np.inf], dtype=dtype)
        y = call(act, kind, x, **params)
        far = np.array([1e300, -1e300])
        with np.errstate(all="ignore"):
            # backward's grad_output is 1 (call's default)
            r = reference(act, kind, far, np.ones(2), **params)
            r = np.asarray(r, dtype=np.float64)
            # an unbounded function: +-inf
            r = np.where(np.abs(r) > 1e200, np.sign(r) * np.inf, r)
            want = r.astype(dtype)
        for yi, wi, xi in zip(y, want, x):
            ok = (yi == wi) or (np.isfinite(wi) and abs(float(yi) - float(wi))
                                <= 1e-6 * abs(float(wi)))
            assert ok, (act.name, kind, params, xi, yi, wi)


def test_negative_zero_consistent(act, kind, dtype):
    for params in param_sets(act):
        y = call(act, kind, np.array([0.0, -0.0], dtype=dtype), **params)
        assert y[0] == y[1] or (act.kinks and 0.0 in act.kinks and kind != "forward"), (
            act.name, kind, y)
        assert not np.isnan(y).any()


FP_ENV_SCRIPT = textwrap.dedent("""
    import numpy as np
    def subnormal_ok():
        return np.float32(1e-40) * np.float32(1) != 0
    assert subnormal_ok()
    import fastact
    from fastact import _ufuncs
    FTZ, DAZ = 1 << 15, 1 << 6          # MXCSR bits (x86-64)
    before = _ufuncs._fp_control()
    rng = np.random.default_rng(0)
    x = rng.standard_normal(2**18) * 10
    for act in fastact.ACTIVATIONS.values():
        p = act.typical_params
        act.forward(x, **p); act.grad(x, **p); act.backward(x, x, **p)
        act.forward(x[:100], **p)
    after = _ufuncs._fp_control()
    assert subnormal_ok(), "subnormals flushed after calling fastact"
    if before != -1:
        import platform
        if platform.machine() in ("x86_64", "AMD64"):
            assert not after & (FTZ | DAZ), hex(after)
        else:  # aarch64 FPCR.FZ is bit 24
            assert not after & (1 << 24), hex(after)
        mask = 0xffc0 if platform.machine() in ("x86_64", "AMD64") else ~0x9f
        assert before & mask == after & mask, (hex(before), hex(after))
    print("ok", hex(before), hex(after))
""")


def test_floating_point_environment_untouched():
    r = run_code(FP_ENV_SCRIPT, timeout=300)
    assert r.returncode == 0 and r.stdout.startswith("ok"), r.stdout + r.stderr


def test_not_linked_with_fast_math():
    import fastact._ufuncs as u
    with open(u.__file__, "rb") as f:
        blob = f.read()
    assert b"crtfastmath" not in blob
    assert b"set_fast_math" not in blob


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_gelu_grad_is_one_half_at_zero_and_increasing_across_it(dtype):
    # Phi(0) + 0 phi(0) = 1/2 exactly, as SciPy, PyTorch and JAX give; gelu''
    # = phi(x) (2 - x^2) > 0 for |x| < sqrt(2), so no rounding may reverse it
    zero = np.array([0.0, -0.0], dtype)
    assert fastact.gelu_grad(zero).tolist() == [0.5, 0.5]
    tiny = np.finfo(dtype).smallest_subnormal
    x = np.concatenate([np.linspace(-1e-2, 1e-2, 100_001),
                        [-tiny, tiny, -1e-300, 1e-300]]).astype(dtype)
    x = np.unique(x)
    y = fastact.gelu_grad(x)
    assert np.all(np.diff(y) >= 0)
    assert np.all(y[x < 0] <= 0.5) and np.all(y[x > 0] >= 0.5)
