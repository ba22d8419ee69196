"""The gallery (``python -m acnotes gallery DIR``): every PNG of the executed notebooks, panels'
default views (kept in the widget state) included, with where each comes from."""

import base64
import json
import subprocess
import sys
from pathlib import Path

import pytest

from acnotes import gallery
from acnotes.__main__ import main

NOTEBOOKS = sorted((Path(__file__).parent.parent / "notebooks").glob("*.ipynb"))
PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==")
PNG2 = PNG + b"\0"   # another image (its bytes differ)


def _b64(b: bytes) -> str:
    return base64.b64encode(b).decode()


def _notebook(tmp_path: Path) -> Path:
    """Cells: markdown; a figure (retina: width in metadata); text only; a panel whose view's
    Output widget (two levels down) holds a PNG, and which also left the same PNG as a static image."""
    view = {"application/vnd.jupyter.widget-view+json": {"model_id": "box", "version_major": 2, "version_minor": 0},
            "text/plain": "Panel(...)"}
    nb = {"nbformat": 4, "nbformat_minor": 5, "metadata": {"widgets": {gallery.WIDGET_STATE: {"state": {
        "box": {"model_name": "VBoxModel", "state": {"children": ["IPY_MODEL_controls", "IPY_MODEL_out"]}},
        "controls": {"model_name": "HBoxModel", "state": {"children": []}},
        "out": {"model_name": "OutputModel", "state": {"outputs": [
            {"output_type": "display_data", "data": {"image/png": _b64(PNG2)}, "metadata": {}}]}},
        "elsewhere": {"model_name": "OutputModel", "state": {"outputs": [
            {"output_type": "display_data", "data": {"image/png": _b64(PNG)}, "metadata": {}}]}}}}}},
        "cells": [
            {"cell_type": "markdown", "metadata": {}, "source": ["# title"]},
            {"cell_type": "code", "metadata": {}, "execution_count": 1, "source": ["x = 1\n", "fig = acn.plots.learning_curves(runs)"],
             "outputs": [{"output_type": "display_data", "data": {"image/png": _b64(PNG), "text/plain": "<Figure>"},
                          "metadata": {"image/png": {"width": 900, "height": 400}}}]},
            {"cell_type": "code", "metadata": {}, "execution_count": 2, "source": "print(1)",
             "outputs": [{"output_type": "stream", "name": "stdout", "text": "1\n"}]},
            {"cell_type": "code", "metadata": {}, "execution_count": 3, "source": "acn.widgets.learning_panel(['a2c'])",
             "outputs": [{"output_type": "display_data", "data": view, "metadata": {}},
                         {"output_type": "display_data", "data": {"image/png": _b64(PNG2)}, "metadata": {}}]},
        ]}
    path = tmp_path / "nbs" / "03-example.ipynb"
    path.parent.mkdir()
    path.write_text(json.dumps(nb))
    return path


def test_figures_of_a_notebook_outputs_and_panel_views(tmp_path):
    figs = gallery.figures(_notebook(tmp_path))
    assert [(f.cell, f.index, f.panel) for f in figs] == [(1, 0, False), (3, 0, True)]
    assert figs[0].png == PNG and figs[0].width == 900 and figs[0].source == "fig = acn.plots.learning_curves(runs)"
    assert figs[1].png == PNG2 and figs[1].source == "acn.widgets.learning_panel(['a2c'])"  # once, not twice
    assert figs[0].name == "03-example-cell01-0.png"


def test_the_command_writes_pngs_and_an_index_and_never_overwrites(tmp_path, capsys):
    nb = _notebook(tmp_path)
    out = tmp_path / "gallery"
    assert main(["gallery", str(out), "--notebooks", str(nb.parent)]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["03-example-cell01-0.png", "03-example-cell03-0.png", "index.html"]
    assert (out / "03-example-cell01-0.png").read_bytes() == PNG
    page = (out / "index.html").read_text()
    assert "03-example.ipynb, cell 1 (figure)" in page and "cell 3 (panel, default view)" in page
    assert 'width="900"' in page and "learning_panel" in page
    assert "2 figures (1 from panels) from 1 notebooks" in capsys.readouterr().out
    with pytest.raises(SystemExit) as e:
        main(["gallery", str(out), "--notebooks", str(nb.parent)])
    assert e.value.code == 2 and "--force" in capsys.readouterr().err
    assert main(["gallery", str(out), "--notebooks", str(nb.parent), "--force"]) == 0


def test_the_users_own_pngs_are_neither_replaced_nor_removed(tmp_path, capsys):
    """A review found a PNG of the user's named like a gallery figure replaced without --force
    (only index.html was checked), and any *-cell*.png of the user's removed with --force."""
    nb = _notebook(tmp_path)
    out = tmp_path / "gallery"
    out.mkdir()
    (out / "03-example-cell01-0.png").write_bytes(b"mine")
    with pytest.raises(SystemExit) as e:
        main(["gallery", str(out), "--notebooks", str(nb.parent)])
    assert e.value.code == 2 and "--force" in capsys.readouterr().err
    assert (out / "03-example-cell01-0.png").read_bytes() == b"mine"
    (out / "03-example-cell01-0.png").unlink()
    (out / "my-cellphone.png").write_bytes(b"mine")
    assert main(["gallery", str(out), "--notebooks", str(nb.parent)]) == 0
    (out / "03-example-cell99-0.png").write_bytes(b"mine too")   # named like a figure, never listed
    assert main(["gallery", str(out), "--notebooks", str(nb.parent), "--force"]) == 0
    assert (out / "my-cellphone.png").read_bytes() == b"mine" and (out / "03-example-cell99-0.png").exists()


def test_no_figures_is_an_error(tmp_path, capsys):
    empty = tmp_path / "e.ipynb"
    empty.write_text(json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": []}))
    with pytest.raises(SystemExit) as e:
        main(["gallery", str(tmp_path / "g"), "--notebooks", str(empty)])
    assert e.value.code == 2 and "no figures found" in capsys.readouterr().err


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=lambda p: p.name[:2])
def test_every_committed_notebook_has_figures(nb):
    """The committed notebooks are executed: each shows at least one figure."""
    assert gallery.figures(nb), f"{nb.name}: no PNG outputs (not executed?)"


def test_the_command_module_imports_no_plotting_or_jupyter():
    code = ("import sys, acnotes.cli.gallery, acnotes.gallery; "
            "print(sorted(m for m in ('matplotlib', 'nbformat', 'nbclient', 'ipywidgets') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).parent.parent).stdout
    assert out.strip() == "[]"
