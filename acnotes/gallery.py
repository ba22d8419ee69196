"""Every figure of the series on one page: the PNGs of executed notebooks, with where each
comes from, so the series' one visual language can be reviewed at a glance.

    python -m acnotes gallery gallery/                 # from the executed notebooks in notebooks/
    python -m acnotes gallery gallery/ --execute       # execute copies first (minutes)

A figure is every ``image/png`` output of a code cell, and every PNG that a panel's Output
widget showed when the notebook was executed (its default view, kept in the notebook's widget
state); a panel cell that also leaves a static image shows it once (the same PNG twice is kept
once). Nothing here imports matplotlib, torch or Jupyter; executing does (``nbclient``).
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Figure", "figures", "collect", "write_gallery", "execute_copies"]

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"


@dataclass(frozen=True)
class Figure:
    """One PNG of a notebook: where it is (cell index, its n-th image) and what drew it."""
    notebook: str        # file name, e.g. 04-td-actor-critic.ipynb
    cell: int            # index of the cell in the notebook (0-based, as nbformat counts)
    index: int           # n-th image of that cell
    png: bytes
    width: int | None    # displayed width in px (retina PNGs say so; else None: the PNG's own)
    source: str          # the line of the cell that drew it
    panel: bool          # shown by a panel (a widget), not as a plain output

    @property
    def name(self) -> str:
        return f"{Path(self.notebook).stem}-cell{self.cell:02d}-{self.index}.png"


def _drawing_line(source: str) -> str:
    """The line that draws: the last one that calls acn.plots / a panel / fig =, else the last line."""
    lines = [ln.strip() for ln in source.splitlines() if ln.strip() and not ln.strip().startswith("#")]
    for ln in reversed(lines):
        if "_panel(" in ln or "acn.plots." in ln or ln.startswith("fig"):
            return ln
    return lines[-1] if lines else ""


def _pngs(outputs) -> list[tuple[bytes, int | None]]:
    found = []
    for o in outputs or []:
        data = o.get("data", {})
        if "image/png" in data:
            b64 = data["image/png"]
            b64 = "".join(b64) if isinstance(b64, list) else b64
            width = (o.get("metadata", {}).get("image/png") or {}).get("width")
            found.append((base64.b64decode(b64), int(width) if width else None))
    return found


def _model_ids(value) -> list[str]:
    """Model ids a widget's state refers to (``"IPY_MODEL_<id>"``, in lists and dicts)."""
    if isinstance(value, str):
        return [value[len("IPY_MODEL_"):]] if value.startswith("IPY_MODEL_") else []
    if isinstance(value, list):
        return [m for v in value for m in _model_ids(v)]
    if isinstance(value, dict):
        return [m for v in value.values() for m in _model_ids(v)]
    return []


def _widget_pngs(state: dict, root: str) -> list[tuple[bytes, int | None]]:
    """The PNGs of every Output widget under the widget ``root``, depth first."""
    found, seen, todo = [], set(), [root]
    while todo:
        mid = todo.pop(0)
        if mid in seen or mid not in state:
            continue
        seen.add(mid)
        st = state[mid].get("state", {})
        found.extend(_pngs(st.get("outputs")))
        todo.extend(m for k, v in st.items() if k != "outputs" for m in _model_ids(v))
    return found


def figures(path: str | Path) -> list[Figure]:
    """Every PNG of one executed notebook, in cell order (see the module's docstring)."""
    path = Path(path)
    nb = json.loads(path.read_text())
    state = (nb.get("metadata", {}).get("widgets", {}).get(WIDGET_STATE) or {}).get("state", {})
    out = []
    for i, cell in enumerate(nb.get("cells", [])):
        if cell.get("cell_type") != "code":
            continue
        source = "".join(cell.get("source", ""))
        pngs = [(p, w, False) for p, w in _pngs(cell.get("outputs"))]
        for o in cell.get("outputs", []):
            view = o.get("data", {}).get(WIDGET_VIEW)
            if view and view.get("model_id"):
                pngs += [(p, w, True) for p, w in _widget_pngs(state, view["model_id"])]
        kept = set()
        for png, width, panel in pngs:
            digest = hashlib.sha1(png).hexdigest()
            if digest in kept:
                continue
            kept.add(digest)
            out.append(Figure(path.name, i, len(kept) - 1, png, width, _drawing_line(source),
                              panel or "_panel(" in source))
    return out


def collect(notebooks: list[Path]) -> list[Figure]:
    return [f for nb in notebooks for f in figures(nb)]


def execute_copies(notebooks: list[Path], into: Path, timeout: int = 1800) -> list[Path]:
    """Execute copies of ``notebooks`` in ``into`` (each in its notebook's folder as working
    directory); returns the executed copies. The originals are never touched."""
    import nbformat
    from nbclient import NotebookClient

    done = []
    for src in notebooks:
        nb = nbformat.read(src, as_version=4)
        print(f"executing a copy of {src} ...", flush=True)
        NotebookClient(nb, timeout=timeout, kernel_name="python3",
                       resources={"metadata": {"path": str(src.parent.resolve())}}).execute()
        dst = into / src.name
        nbformat.write(nb, dst)
        done.append(dst)
    return done


_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 1320px; margin: 2em auto; color: #222; }}
h2 {{ margin-top: 2.2em; border-bottom: 1px solid #ccc; }}
figure {{ margin: 1.5em 0; }}
figcaption {{ font-size: 14px; color: #444; margin-top: .3em; }}
code {{ font-size: 13px; background: #f4f4f4; padding: 0 .2em; }}
img {{ max-width: 100%; height: auto; }}
</style></head><body>
<h1>{title}</h1>
<p>{count} figures from {n} notebooks, shown at the width a notebook shows them (JupyterLab's column is
about 1300 px). Each caption says where the figure comes from: notebook, cell (0-based index), and the line
that draws it.</p>
{body}
</body></html>
"""


def _page(figs: list[Figure], title: str) -> str:
    parts, current = [], None
    for f in figs:
        if f.notebook != current:
            current = f.notebook
            parts.append(f"<h2>{html.escape(current)}</h2>")
        width = f' width="{f.width}"' if f.width else ""
        kind = "panel, default view" if f.panel else "figure"
        parts.append(f'<figure id="{html.escape(f.name)}"><img src="{html.escape(f.name)}"{width} alt="{kind}">'
                     f"<figcaption>{html.escape(f.notebook)}, cell {f.cell} ({kind}): "
                     f"<code>{html.escape(f.source[:160])}</code></figcaption></figure>")
    return _PAGE.format(title=html.escape(title), count=len(figs), n=len({f.notebook for f in figs}),
                        body="\n".join(parts))


def write_gallery(notebooks: list[Path], out: str | Path, force: bool = False,
                  title: str = "acnotes: every figure of the series") -> list[Figure]:
    """Write each figure of ``notebooks`` (executed) as a PNG into ``out``, with ``index.html``.
    An ``out`` that holds a gallery already is replaced only with ``force``. The files are
    written all or none (a full disk or an interrupt leaves the old gallery whole)."""
    from ._files import check_targets, out_dir, write_all

    out = out_dir("DIR", out)      # not a file, writable: before any work
    check_targets([out / "index.html"], force)
    figs = collect(notebooks)
    if not figs:
        raise ValueError("no figures found: are the notebooks executed? (or pass --execute)")
    files = {out / f.name: f.png for f in figs}
    files[out / "index.html"] = _page(figs, title).encode()
    check_targets(list(files), force)   # a PNG of the user's own with a gallery's name, too
    old = _listed(out / "index.html") if force else set()
    write_all(files)
    for p in old - set(files):   # the PNGs the earlier gallery listed that the new one has not
        if p.is_file() and not p.is_symlink():
            p.unlink()
    return figs


def _listed(index: Path) -> set[Path]:
    """The PNGs an earlier gallery's ``index.html`` shows (only those are its own to remove)."""
    import re

    try:
        text = index.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return set()
    return {index.parent / html.unescape(name) for name in re.findall(r'<img src="([^"/]+\.png)"', text)}
