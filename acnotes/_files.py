"""Writing files without clobbering: refuse existing targets unless forced, never write
through a symbolic link, write to a temporary name and rename."""

from __future__ import annotations

import os
from pathlib import Path

import nbformat

def check_targets(paths, force: bool = False) -> None:
    """Refuse (ValueError) to write any of ``paths`` if one exists and ``force`` is off. A
    symbolic link is never followed: without ``force`` it counts as existing; with ``force``
    the link itself is replaced (see :func:`write_file`), never the file it points to."""
    taken = [Path(p) for p in paths if Path(p).is_symlink() or Path(p).exists()]
    if taken and not force:
        links = [p for p in taken if p.is_symlink()]
        more = f" ({len(links)} of them symbolic links)" if links else ""
        raise ValueError(f"{len(taken)} file(s) exist already{more}: "
                         f"{', '.join(str(p) for p in taken[:5])}{' ...' if len(taken) > 5 else ''}; "
                         f"choose another folder, or pass --force to replace them")
    for p in taken:
        if p.is_dir() and not p.is_symlink():
            raise ValueError(f"{p} is a folder; it cannot be replaced by a file")


def write_file(path: str | Path, data: bytes) -> None:
    """Write ``data`` to a temporary file beside ``path``, then rename it onto ``path``. The
    rename replaces a symbolic link itself, so the file a link points to is never written."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def write_notebook(nb, path: str | Path) -> None:
    write_file(path, (nbformat.writes(nb) + "\n").encode())
