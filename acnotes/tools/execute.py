"""Re-execute notebooks in place, top to bottom, in a fresh kernel each.

    python -m acnotes.tools.execute notebooks            # every notebook, in reading order
    python -m acnotes.tools.execute notebooks/03-*.ipynb  # some of them

Run it after a change to the package, then commit the notebooks: nbval compares what they
show with what the code produces. A cell that raises stops that notebook, unless the cell
is tagged ``raises-exception``; the notebook is then left unchanged on disk.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError


def notebooks_in(paths: list[str]) -> list[Path]:
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            out.extend(sorted(q for q in p.glob("*.ipynb") if not q.name.startswith(".")))
        elif p.suffix == ".ipynb" and p.exists():
            out.append(p)
        else:
            raise SystemExit(f"error: {p} is neither a notebook nor a folder of notebooks")
    return out


def execute(path: Path, timeout: int = 900) -> float:
    """Execute ``path`` in place; returns the seconds it took."""
    nb = nbformat.read(path, as_version=4)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
    t0 = time.perf_counter()
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    client.execute()
    nb.metadata.pop("widgets", None) if not _has_widgets(nb) else None
    nbformat.write(nb, path)
    return time.perf_counter() - t0


def _has_widgets(nb) -> bool:
    return any("application/vnd.jupyter.widget-view+json" in o.get("data", {})
               for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m acnotes.tools.execute", description=__doc__.split("\n\n")[0])
    ap.add_argument("paths", nargs="+", help="notebooks or folders of notebooks")
    ap.add_argument("--timeout", type=int, default=900, help="seconds allowed per cell (default: 900)")
    args = ap.parse_args(argv)
    total = 0.0
    failed = []
    for path in notebooks_in(args.paths):
        print(f"executing {path} ...", flush=True)
        try:
            secs = execute(path, args.timeout)
        except CellExecutionError as e:
            print(f"  FAILED, left unchanged:\n{e}", file=sys.stderr)
            failed.append(path)
            continue
        total += secs
        print(f"  {secs:.1f} s, {path.stat().st_size / 1e3:.0f} kB", flush=True)
    print(f"total {total:.1f} s")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
