"""The README's usage examples and every public docstring's examples run."""

import doctest
import os

import pytest

import fastact

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


def test_readme_examples():
    path = os.path.join(ROOT, "README.md")
    if not os.path.exists(path):
        pytest.skip("README.md is not next to the tests (installed elsewhere)")
    res = doctest.testfile(path, module_relative=False, optionflags=FLAGS)
    assert res.attempted > 5 and res.failed == 0


@pytest.mark.parametrize("name", sorted(set(fastact.__all__) - {"reference"}))
def test_docstring_examples(name):
    obj = getattr(fastact, name)
    if not getattr(obj, "__doc__", None) or ">>>" not in obj.__doc__:
        pytest.skip("no examples")
    finder = doctest.DocTestFinder()
    runner = doctest.DocTestRunner(optionflags=FLAGS)
    tests = finder.find(obj, name, globs={}) if not hasattr(obj, "nin") else [
        doctest.DocTestParser().get_doctest(obj.__doc__, {}, name, None, 0)]
    assert tests
    for t in tests:
        runner.run(t)
    assert runner.failures == 0, f"{name}: {runner.failures} failing example(s)"
