"""``python -m fastact profile``: the callgrind counts, read back and turned
into instructions an element; and once for real where valgrind is installed."""

import os
import shutil

import pytest

from fastact.tools import profile
from helpers import run_python


def _dump(directory, i, label, total):
    with open(os.path.join(directory, f"callgrind.out.{i}"), "w") as f:
        f.write("version: 1\ncreator: callgrind-3.19.0\n")
        trigger = "Client Request: " + label if label else "Program termination"
        f.write(f"desc: Trigger: {trigger}\n")
        f.write("events: Ir\nsummary: 0\n\nfn=(1) x\n0 0\n")
        f.write(f"totals: {total}\n")


def test_counts_become_instructions_an_element(tmp_path):
    _dump(tmp_path, 1, "gelu|forward|float32|fastact|1000", 34_000)
    _dump(tmp_path, 2, "gelu|forward|float32|fastact|101000", 2_434_000)
    _dump(tmp_path, 3, "relu|forward|float32|numpy|1000", 10_500)
    _dump(tmp_path, 4, "relu|forward|float32|numpy|101000", 60_500)
    _dump(tmp_path, 5, "relu|forward|float32|fastact|1000", 12_000)
    _dump(tmp_path, 6, "relu|forward|float32|torch|1000", 9_000)   # no second size
    _dump(tmp_path, 7, "relu|forward|float32|fastact|101000", 102_000)
    _dump(tmp_path, 8, None, 0)
    _dump(tmp_path, 9, "gelu|forward|float32|torch|1000", 8_000)
    _dump(tmp_path, 10, "gelu|forward|float32|torch|101000", 678_000)
    # the harness alone: the least of its counts comes off every call's cost
    _dump(tmp_path, 11, "harness|0", 2_500)
    _dump(tmp_path, 12, "harness|1", 2_000)
    _dump(tmp_path, 13, "something else", 7)
    with open(os.path.join(tmp_path, "helper.c"), "w") as f:
        f.write("totals: 5\n")
    counts = profile.read_counts(tmp_path)
    assert len(counts) == 12 and counts["gelu|forward|float32|fastact|1000"] == 34_000
    rows = profile.per_element(counts, (101_000, 1000))
    # registry order: relu before gelu
    assert [r["name"] for r in rows] == ["relu", "gelu"]
    relu, gelu = rows
    assert gelu["fastact"] == pytest.approx(24.0)
    assert gelu["fastact_call"] == pytest.approx(8_000)
    assert relu["fastact"] == pytest.approx(0.9) and relu["numpy"] == pytest.approx(0.5)
    assert relu["numpy_call"] == pytest.approx(8_000)
    assert "torch" not in relu
    table = profile.format_table(rows, ["fastact", "torch", "numpy"])
    head = table.splitlines()[0].split()
    assert head == ["function", "kind", "dtype", "fastact", "fastact/call", "torch",
                    "numpy", "numpy/call", "torch/fastact"]
    assert "24.0" in table and "8,000" in table
    # torch over fastact: 6.7 / 24; relu has no torch count at both sizes
    assert table.splitlines()[3].split()[-1] == "0.28"
    assert table.splitlines()[2].split()[5] == "-"


@pytest.mark.parametrize("args", [["--only", "nope"], ["--sizes", "1000"],
                                  ["--compare", "mx"], ["--dtypes", "float16"],
                                  ["--kinds", "forwards"]])
def test_cli_rejects_what_it_cannot_count(args, tmp_path):
    res = run_python("-m", "fastact", "profile", *args, cwd=tmp_path)
    assert res.returncode == 2 and "error" in res.stderr


def _can_profile(tmp):
    if not shutil.which("valgrind"):
        return False
    try:
        profile.compile_helper(str(tmp))
    except profile.ProfileError:
        return False
    return True


def test_callgrind_counts_the_kernels(tmp_path):
    if not _can_profile(tmp_path):
        pytest.skip("needs valgrind, valgrind/callgrind.h and a C compiler")
    rows = profile.profile(["relu", "gelu", "leaky_relu"], ["forward", "backward"],
                           ["float32"], ["fastact", "numpy"], sizes=(1_000, 20_000),
                           timeout=300)
    by = {(r["name"], r["kind"]): r for r in rows}
    assert set(by) == {(a, k) for a in ("relu", "gelu", "leaky_relu")
                       for k in ("forward", "backward")}
    relu, gelu = by["relu", "forward"], by["gelu", "forward"]
    # relu is a compare and a select on eight lanes; GELU an exponential and a
    # rational function on four
    assert 0.1 < relu["fastact"] < 4
    assert gelu["fastact"] > 4 * relu["fastact"]
    # beyond its elements, a fastact ufunc call costs about what a NumPy ufunc
    # call costs; a parameterized function adds its Python front end
    for r in rows:
        bound = 2.5 if r["name"] == "leaky_relu" else 1.5
        assert 0 < r["fastact_call"] < bound * r["numpy_call"], r
