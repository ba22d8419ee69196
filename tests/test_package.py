"""The package's top level: light to import, every submodule reachable as ``acn.<name>``."""
import subprocess
import sys

import pytest


def test_import_is_light_and_submodules_load_on_first_use():
    code = ("import sys, acnotes as acn\n"
            "print('matplotlib' in sys.modules, 'ipywidgets' in sys.modules)\n"
            "print(callable(acn.plots.learning_curves), callable(acn.checks.claim),\n"
            "      callable(acn.widgets.learning_panel), callable(acn.variance.measure))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False", "True", "True", "True", "True"]


def test_unknown_attribute_is_an_attribute_error():
    import acnotes

    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        acnotes.nope  # noqa: B018
