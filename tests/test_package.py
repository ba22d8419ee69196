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


# each module imported first into a fresh acnotes (its modules dropped from sys.modules before each,
# so torch and the like load once): an import cycle fails whichever of its modules comes first
_EACH_FIRST = """
import importlib, pkgutil, sys
import acnotes
names = [m.name for m in pkgutil.walk_packages(acnotes.__path__, "acnotes.")]
for name in names:
    for k in [k for k in sys.modules if k == "acnotes" or k.startswith("acnotes.")]:
        del sys.modules[k]
    try:
        importlib.import_module(name)
    except Exception as e:
        print(f"{name}: {type(e).__name__}: {e}")
print(len(names), "modules")
"""


def test_every_module_can_be_imported_first():
    """``import acnotes.X`` works in a fresh interpreter for every module X, whatever was imported
    before (``acnotes.stored.sweeps`` first failed on its cycle with ``acnotes.sweep``)."""
    out = subprocess.run([sys.executable, "-c", _EACH_FIRST], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    *failed, count = out.stdout.strip().splitlines()
    assert failed == [] and int(count.split()[0]) > 100


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
