"""The README's usage examples and every public docstring's examples run."""

import doctest
import os

import numpy as np
import pytest

import fastact

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
NUMPY_1 = int(np.__version__.split(".")[0]) < 2


def test_readme_examples():
    path = os.path.join(ROOT, "README.md")
    if not os.path.exists(path):
        pytest.skip("README.md is not next to the tests (installed elsewhere)")
    if NUMPY_1:
        pytest.skip("NumPy 1.x prints scalars without their type (4.2e-18, not "
                    "np.float32(4.2e-18)), as the README shows them")
    res = doctest.testfile(path, module_relative=False, optionflags=FLAGS)
    assert res.attempted > 5 and res.failed == 0


WITH_EXAMPLES = sorted(n for n in set(fastact.__all__) - {"reference"}
                       if ">>>" in (getattr(fastact, n).__doc__ or ""))


def test_every_activation_callable_has_examples():
    for act in fastact.ACTIVATIONS.values():
        for kind in ("forward", "grad", "backward"):
            assert act.callable_name(kind) in WITH_EXAMPLES


@pytest.mark.parametrize("name", WITH_EXAMPLES)
def test_docstring_examples(name):
    obj = getattr(fastact, name)
    finder = doctest.DocTestFinder()
    runner = doctest.DocTestRunner(optionflags=FLAGS)
    tests = finder.find(obj, name, globs={}) if not hasattr(obj, "nin") else [
        doctest.DocTestParser().get_doctest(obj.__doc__, {}, name, None, 0)]
    assert tests
    for t in tests:
        runner.run(t)
    assert runner.failures == 0, f"{name}: {runner.failures} failing example(s)"
