"""Write output files whole or not at all: a temp file in the same folder, then a rename.

A failed run never leaves a half-written --out, --csv or --plot file behind, and a command
with several outputs writes every temp file first and renames them only when all are
written (:func:`atomic_write_many`).  Only a regular file or a new path is a valid target:
a device (``/dev/full``), FIFO, socket or folder is refused, never replaced.  A new file
follows the umask; an overwritten file keeps its mode.  OS errors (name too long, no
space, permission) are :class:`~allocator.errors.InputError` (exit 2) naming the path.
"""
from __future__ import annotations

import errno
import os
import stat
import tempfile
from pathlib import Path
from typing import IO, Callable, Iterable

from allocator.errors import InputError


def _os_error(path: Path, e: OSError, option: str) -> InputError:
    why = e.strerror or str(e) or type(e).__name__
    if e.errno == errno.ENAMETOOLONG:
        why = "file name too long"
    return InputError(f"{path}: cannot write ({why}); choose another {option} path")


def check_output(path: str | Path, option: str = "--out") -> Path:
    """Refuse a path that cannot take a whole new file, before any work starts."""
    path = Path(path)
    if str(path) in ("", ".") or path.name in ("", ".", ".."):
        raise InputError(f"{path}: not a file name; give a file name for {option}")
    folder = path.parent if str(path.parent) else Path(".")
    try:
        st = os.stat(path)
    except FileNotFoundError:
        st = None
    except OSError as e:
        if e.errno not in (errno.ENOENT, errno.ENOTDIR):
            raise _os_error(path, e, option) from None
        st = None
    if st is not None:
        if stat.S_ISDIR(st.st_mode):
            raise InputError(f"{path}: is a folder; give a file name for {option}")
        if not stat.S_ISREG(st.st_mode):
            raise InputError(f"{path}: is not a regular file (a device, FIFO or socket); allocator writes only "
                             f"regular files: choose another {option} path")
    if not folder.is_dir():
        raise InputError(f"{path}: folder {folder} does not exist; create it or choose another {option} path")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise InputError(f"{path}: cannot write in {folder} (permission denied); choose another {option} path")
    if st is not None and not os.access(path, os.W_OK) and os.geteuid() != 0:
        raise InputError(f"{path}: the file is read-only (permission denied); choose another {option} path")
    try:
        limit = os.pathconf(folder, "PC_NAME_MAX")
    except (OSError, ValueError):
        limit = 255
    if len(os.fsencode(path.name)) + 16 > limit:  # the temp file's name adds a prefix and suffix
        raise InputError(f"{path}: file name too long ({len(os.fsencode(path.name))} bytes; at most "
                         f"{limit - 16} here); choose a shorter {option} name")
    return path


def _umask() -> int:
    m = os.umask(0)
    os.umask(m)
    return m


def _stage(path: Path, write: Callable[[IO], None], binary: bool, option: str) -> str:
    """Write a temp file beside ``path`` with the mode the final file must have; return its name."""
    check_output(path, option)
    folder = path.parent if str(path.parent) else Path(".")
    try:
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{path.name[:40]}.", suffix=".tmp")
    except OSError as e:
        raise _os_error(path, e, option) from None
    try:
        try:
            mode = stat.S_IMODE(os.stat(path).st_mode)
        except FileNotFoundError:
            mode = 0o666 & ~_umask()
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb" if binary else "w", encoding=None if binary else "utf-8") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
    except BaseException as e:
        _unlink(tmp)
        if isinstance(e, OSError):
            raise _os_error(path, e, option) from None
        raise
    return tmp


def _unlink(tmp: str) -> None:
    try:
        os.unlink(tmp)
    except OSError:
        pass


def atomic_write_many(items: Iterable[tuple[str | Path, Callable[[IO], None], bool, str]]) -> list[Path]:
    """Write several files all or none: every temp file first, then the renames.
    ``items``: (path, write(fh), binary, option)."""
    staged: list[tuple[str, Path, str]] = []
    try:
        for path, write, binary, option in items:
            staged.append((_stage(Path(path), write, binary, option), Path(path), option))
        for k, (tmp, path, option) in enumerate(staged):
            try:
                os.replace(tmp, path)
            except OSError as e:
                raise _os_error(path, e, option) from None
            staged[k] = ("", path, option)
    finally:
        for tmp, _, _ in staged:
            if tmp:
                _unlink(tmp)
    return [p for _, p, _ in staged]


def atomic_write(path: str | Path, write: Callable[[IO], None], *, binary: bool = False,
                 option: str = "--out") -> Path:
    """Call ``write(fh)`` on a temp file beside ``path`` and rename it into place."""
    return atomic_write_many([(path, write, binary, option)])[0]
