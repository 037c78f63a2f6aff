"""Write output files whole or not at all: a temp file in the same folder, then a rename.
A failed run never leaves a half-written --out, --csv or --plot file behind."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Callable, IO

from allocator.errors import InputError


def atomic_write(path: str | Path, write: Callable[[IO], None], *, binary: bool = False,
                 option: str = "--out") -> Path:
    """Call ``write(fh)`` on a temp file beside ``path`` and rename it into place."""
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise InputError(f"{path}: folder {folder} does not exist; create it or choose another {option} path")
    if path.is_dir():
        raise InputError(f"{path}: is a folder; give a file name for {option}")
    try:
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=path.suffix or ".tmp")
    except OSError as e:
        raise InputError(f"{path}: cannot write in {folder} ({e.strerror}); choose another {option} path") from None
    try:
        with os.fdopen(fd, "wb" if binary else "w") as fh:
            write(fh)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    return path
