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

__all__ = ["atomic_path", "write_text", "read_json", "check_targets", "write_file", "write_notebook",
           "out_dir", "out_file", "named_path", "write_all", "oserror_text", "notebook_bytes"]


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


def _probe(folder: Path, what: str) -> None:
    """Write and remove a small file in ``folder``: the one sure test that files can be written
    there (permissions alone miss read-only file systems)."""
    try:
        fd, probe = tempfile.mkstemp(dir=folder, prefix=".tmp-probe-")
        os.close(fd)
        os.unlink(probe)
    except OSError as e:
        raise ValueError(f"{what} is not writable ({e.strerror}); choose another directory") from None


def named_path(option: str, text, what: str, hint: str = "") -> Path:
    """The path an option gives; an empty one is refused."""
    text = "" if text is None else str(text)
    if not text.strip():
        raise ValueError(f"{option} must name {what}, got {text!r}{hint}")
    return Path(text)


def out_dir(option: str, text, create: bool = True) -> Path:
    """The folder an option names, checked before any work: not empty, not a file, created
    (with ``create``) and writable. A ValueError names the option and says what to do."""
    out = named_path(option, text, "a directory", f"; to write here, say {option} .")
    if out.exists() and not out.is_dir():
        raise ValueError(f"{option} {out} is a file, not a directory; choose a directory")
    if not out.exists() and not create:
        raise ValueError(f"{option} {out}: the folder does not exist")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise ValueError(f"{option} {out}: a part of that path is a file, not a directory") from None
    except OSError as e:
        raise ValueError(f"{option} {out} cannot be created ({e.strerror}); choose another directory") from None
    _probe(out, f"{option} {out}")
    return out


def out_file(option: str, text) -> Path:
    """The file an option names, checked before any work: a name that is not a folder, in a
    folder that exists and is writable. (Whether the file may be replaced is
    :func:`check_targets`'s question.)"""
    out = named_path(option, text, "a file")
    if out.is_dir() and not out.is_symlink():
        raise ValueError(f"{option} {out} is a folder; give a file name in it")
    if not out.parent.is_dir():
        what = "is a file, not a folder" if out.parent.exists() else "does not exist"
        raise ValueError(f"{option} {out}: the folder {out.parent} {what}")
    _probe(out.parent, f"{option} {out}: the folder {out.parent}")
    return out


def write_all(files: dict) -> list[Path]:
    """Write several files ({path: bytes}) all or none: each goes to a temporary file beside
    its target first, and only when every one is complete are they renamed into place. A full
    disk or an interrupt while writing leaves no target changed or created (only renames,
    which need no space, happen after that). The renames replace symbolic links themselves."""
    tmps: list[tuple[Path, Path]] = []
    try:
        for path, data in files.items():
            path = Path(path)
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".tmp-{path.name}-", suffix=path.suffix)
            tmps.append((Path(tmp), path))
            _fill(fd, data)
            os.chmod(tmp, 0o666 & ~_umask())
        from .cli._common import interrupts_deferred

        with interrupts_deferred():   # a signal between two renames waits: all or none, still
            for tmp, path in tmps:
                os.replace(tmp, path)
    except BaseException:
        for tmp, _ in tmps:
            tmp.unlink(missing_ok=True)
        raise
    return [p for _, p in tmps]


def _fill(fd: int, data: bytes) -> None:
    """Write ``data`` to the open file ``fd`` and close it (one place a full disk shows up)."""
    with os.fdopen(fd, "wb") as f:
        f.write(data)


def oserror_text(e: OSError) -> str:
    """A one-line description of an OSError met while writing results, with what to do."""
    import errno

    where = f" ({e.filename})" if getattr(e, "filename", None) else ""
    text = f"{e.strerror or e}{where}"
    if e.errno in (errno.ENOSPC, errno.EDQUOT):
        return (f"the disk is full{where}: nothing half-written was left (complete files are kept); "
                f"free some space and run the same command again")
    return f"{text}: files already complete were kept; fix this and run the same command again"


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


def notebook_bytes(nb) -> bytes:
    """The notebook ``nb`` (an nbformat node) as the bytes of an .ipynb file."""
    import nbformat

    return (nbformat.writes(nb) + "\n").encode()


def write_notebook(nb, path: str | Path) -> Path:
    """Write the notebook ``nb`` (an nbformat node) to ``path`` atomically."""
    return write_file(path, notebook_bytes(nb))
