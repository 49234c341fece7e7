"""Streaming stores, which a call takes when it moves more than 32 MiB: the
threshold, and every call down that path giving the ordinary path's values.
(The bench's roofline loops, which stream as well, are in test_bench.py.)"""

import numpy as np
import pytest

import fastact
from helpers import call


def test_streaming_threshold():
    u = fastact._ufuncs
    old = u._stream_threshold()
    if old == 0:
        pytest.skip("no streaming stores on this platform")
    assert old == 32 << 20
    with pytest.raises(ValueError):
        u._set_stream_threshold(-1)
    assert u._stream_threshold() == old


# sizes: shorter than the 16-byte alignment head, one partial block, several
# blocks with a tail, and a threaded run (above the cheap functions' 65,536)
@pytest.mark.parametrize("n", [3, 333, 5003, 70001])
def test_streaming_stores_give_the_same_values(act, kind, dtype, n, stream_threshold):
    """Every call down the streaming-store path (normally only calls that move
    more than 32 MiB take it) gives the ordinary path's values, bit for bit."""
    stream_threshold(0)
    rng = np.random.default_rng(n)
    x = (rng.standard_normal(n) * 4).astype(dtype)
    g = rng.standard_normal(n).astype(dtype) if kind == "backward" else None
    before = x.copy()
    streamed = [call(act, kind, x, g)]
    for offset in (1, 3):        # outputs off the 16-byte alignment
        buf = np.full(n + offset, 7, dtype=dtype)
        call(act, kind, x, g, out=buf[offset:])
        streamed.append(buf[offset:])
    inplace = x.copy()
    call(act, kind, inplace, g, out=inplace)
    streamed.append(inplace)
    np.testing.assert_array_equal(x, before)    # input untouched
    stream_threshold(None)
    plain = call(act, kind, x, g)
    for y in streamed:
        np.testing.assert_array_equal(y, plain, err_msg=f"{act.name} {kind} n={n}")
