"""Atomic file writes (a reader sees the old file or the new one, never half of one), and
refusing to replace files that exist unless forced.

The data goes to a temporary file in the same directory, which is then renamed over the
target with ``os.replace`` (atomic on one file system). An interrupt or a full disk leaves
the old file as it was, plus at most a ``.tmp-*`` file that ``atomic_path`` removes.
"""

from __future__ import annotations

import json
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path

__all__ = ["atomic_path", "write_text", "read_json", "check_targets", "write_file", "write_notebook"]


@contextmanager
def atomic_path(path: str | Path):
    """Yield a temporary path beside ``path``; on success rename it to ``path``.

    Use it with writers that want a file name (``torch.save``, ``fig.savefig``)::

        with atomic_path(d / "weights.pt") as tmp:
            torch.save(state, tmp)
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".tmp-{path.name}-", suffix=path.suffix)
    os.close(fd)
    try:
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes it private; give it a normal file's mode
        yield Path(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _umask() -> int:
    old = os.umask(0)
    os.umask(old)
    return old


def write_text(path: str | Path, text: str) -> Path:
    """Write ``text`` to ``path`` atomically."""
    path = Path(path)
    with atomic_path(path) as tmp:
        tmp.write_text(text)
    return path


def read_json(path: str | Path):
    """The JSON value in ``path``. A ValueError carries the reason when the file is missing,
    unreadable, not text or not JSON; the caller says what it was reading it for."""
    try:
        return json.loads(Path(path).read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ValueError(str(e)) from None


def check_targets(paths, force: bool = False, under: str | Path | None = None) -> None:
    """Refuse (ValueError) to write any of ``paths`` if one exists and ``force`` is off. A
    symbolic link is never followed: without ``force`` it counts as existing; with ``force``
    the link itself is replaced (see :func:`write_file`), never the file it points to.

    ``under``: the folder the paths are in (a command's DIR). A folder between it and a path
    that is a symbolic link is refused, with or without ``force``: writing there would write
    into the folder it points to (a user's own notebooks, say)."""
    if under is not None:
        for p in paths:
            for link in _links_between(Path(under), Path(p)):
                raise ValueError(f"{link} is a symbolic link; refusing to write {p} through it "
                                 f"(remove the link, or choose another folder)")
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


def _links_between(top: Path, path: Path):
    """The folders strictly between ``top`` and ``path`` that are symbolic links."""
    try:
        rel = path.relative_to(top)
    except ValueError:
        return
    here = top
    for part in rel.parts[:-1]:
        here = here / part
        if here.is_symlink():
            yield here


def write_file(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically. The rename replaces a symbolic link itself, so
    the file a link points to is never written."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def write_notebook(nb, path: str | Path) -> Path:
    """Write the notebook ``nb`` (an nbformat node) to ``path`` atomically."""
    import nbformat

    return write_file(path, (nbformat.writes(nb) + "\n").encode())
