"""Safe file writes and reads for reports and evidence (issue 21, classes 5 and 6).

Writes: a new regular file is created beside the target (``O_CREAT | O_EXCL | O_NOFOLLOW``),
written, synced and renamed over the target. A target that exists and is not a regular file
(a symbolic link, a device such as ``/dev/stdout``, a FIFO, a directory) is refused: the user
meant standard output (``-``) or made a mistake, and replacing ``/dev/null`` or a link's target
as root does harm. A partial result never replaces an existing file: it goes to
``NAME.partial.EXT`` beside it (:func:`partial_path`).

Reads: a file that is not regular (``/dev/zero``, a FIFO, a socket) is refused before it is
read, so ``report /dev/zero`` cannot read forever and a FIFO cannot hang the command.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import BinaryIO

from sovaudit.errors import UserError

__all__ = [
    "check_regular",
    "create_beside",
    "open_regular",
    "partial_path",
    "refuse_special_target",
]

_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_NONBLOCK = getattr(os, "O_NONBLOCK", 0)


def _kind(mode: int) -> str:
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def refuse_special_target(path: Path, what: str = "report") -> None:
    """UserError when ``path`` exists and is not a regular file (a link is not followed)."""
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return
    except OSError as exc:
        raise UserError(f"cannot write {what}: {exc.strerror or exc}", path=str(path)) from None
    if not stat.S_ISREG(mode):
        raise UserError(
            f"cannot write {what}: refusing to write over {_kind(mode)}; "
            "give a regular file, or '-' for stdout",
            path=str(path),
        )


def create_beside(
    path: Path, name: str, mode: int = 0o644, what: str = "report"
) -> tuple[int, Path]:
    """Create ``name`` in the directory of ``path`` as a new regular file; (fd, its path).

    ``O_EXCL | O_NOFOLLOW``: never an existing file, never through a link. When ``name`` is
    taken, ``name`` with ``.1``, ``.2``... before its extension is tried.
    """
    directory = path.parent
    stem, dot, ext = name.rpartition(".") if "." in name.lstrip(".") else (name, "", "")
    for n in range(100):
        candidate = directory / (name if n == 0 else f"{stem}.{n}{dot}{ext}")
        try:
            fd = os.open(
                candidate, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _CLOEXEC, mode
            )
        except FileExistsError:
            continue
        except OSError as exc:
            raise UserError(
                f"cannot write {what}: {exc.strerror or exc}", path=str(candidate)
            ) from None
        return fd, candidate
    raise UserError(
        f"cannot write {what}: {name} and 99 numbered variants exist", path=str(directory)
    )


def partial_path(path: Path) -> Path:
    """``good.json`` -> ``good.partial.json``: where a partial result goes beside a file."""
    return path.with_name(f"{path.stem}.partial{path.suffix}")


def open_regular(path: Path, what: str, error: type[UserError] = UserError) -> BinaryIO:
    """Open ``path`` for reading only if it is a regular file (binary; the caller closes it).

    Opened non-blocking first so a FIFO cannot hang the command, then checked with fstat.
    """
    try:
        fd = os.open(path, os.O_RDONLY | _NONBLOCK | _CLOEXEC)
    except FileNotFoundError:
        raise error(f"cannot read {what}: no such file", path=str(path)) from None
    except OSError as exc:
        raise error(f"cannot read {what}: {exc.strerror or exc}", path=str(path)) from None
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise error(f"cannot read {what}: {_kind(mode)}, not a regular file", path=str(path))
        if _NONBLOCK:
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def check_regular(path: Path, what: str, error: type[UserError] = UserError) -> os.stat_result:
    """``os.stat`` of ``path`` (links followed) if it is a regular file, else ``error``.

    Nothing is opened: a FIFO is refused without blocking, a device without being read.
    """
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise error(f"cannot read {what}: no such file", path=str(path)) from None
    except OSError as exc:
        raise error(f"cannot read {what}: {exc.strerror or exc}", path=str(path)) from None
    if not stat.S_ISREG(st.st_mode):
        raise error(f"cannot read {what}: {_kind(st.st_mode)}, not a regular file", path=str(path))
    return st
