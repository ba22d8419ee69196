"""The package's top level: light to import, every submodule reachable as ``acn.<name>``."""
import subprocess
import sys

import pytest


def test_import_is_light_and_submodules_load_on_first_use():
    code = ("import sys, acnotes as acn\n"
            "print('matplotlib' in sys.modules, 'ipywidgets' in sys.modules, 'torch' in sys.modules)\n"
            "print(callable(acn.plots.learning_curves), callable(acn.checks.claim),\n"
            "      callable(acn.widgets.learning_panel), callable(acn.variance.measure))\n"
            "print(callable(acn.train.train), acn.Config is acn.config.Config, acn.Agent is acn.agent.Agent,\n"
            "      acn.History is acn.history.History, {'train', 'envs', 'plots', 'Config'} <= set(dir(acn)))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False"] * 3 + ["True"] * 9


def test_unknown_attribute_is_an_attribute_error():
    import acnotes

    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        acnotes.nope  # noqa: B018


def test_readme_python_example_runs(tmp_path):
    """The README's Python example runs as printed (in a scratch folder)."""
    from pathlib import Path

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    blocks = readme.split("```python\n")[1:]
    assert blocks, "README.md has no ```python example"
    code = blocks[0].split("```")[0].replace("total_steps=50_000", "total_steps=2_000")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=tmp_path, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert (tmp_path / "runs" / "a2c").is_dir()
    assert "tensor([" in out.stdout
