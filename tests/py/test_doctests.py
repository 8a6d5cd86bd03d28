"""The examples in the docstrings are true."""

import doctest
import importlib

import pytest

MODULES = ["_checks", "borders", "kernels", "imageio", "_tiles", "reference", "catalog", "chain", "compare",
           "verify", "cli", "display", "gpu.shaders", "gpu.plan"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(f"filterlab.{name}")
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
