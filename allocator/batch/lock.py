"""One run at a time in an --out folder: a lock file, ``.batch/lock``, held for the run.

Two runs into the same folder used to replace each other's summary.csv and cohort view
silently, both ending with exit code 0.  :func:`run_lock` creates the lock with
``O_CREAT | O_EXCL`` (atomic on a local file system: of two runs, one creates it) and writes
this process's pid, host and start time in it; it is removed when the run ends, interrupted or
not.  A second run finds it and stops at once (InputError, exit 2) with one line naming the other
run's pid and start time and what to do.  A lock left by a process that is gone (killed with
SIGKILL, a power cut) is stale: when its host is this machine and its pid is not alive, the run
takes it over and says nothing.  A lock from another host cannot be checked: it is refused, and
the message says to remove it if that run is over.
"""
from __future__ import annotations

import contextlib
import os
import socket
import time
from pathlib import Path

from allocator.errors import InputError

LOCK_NAME = "lock"


def lock_path(out: Path) -> Path:
    return out / ".batch" / LOCK_NAME


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's live process
        return True
    return True


def _read(path: Path) -> dict[str, str]:
    """The lock's fields (pid, host, started); {} when it cannot be read (being written, removed)."""
    try:
        text = path.read_text()
    except OSError:
        return {}
    return dict(line.split("=", 1) for line in text.splitlines() if "=" in line)


EMPTY_STALE_SECONDS = 60  # a lock still empty this long after it was made: its writer died in between


def _stale(info: dict[str, str], path: Path | None = None) -> bool:
    """True for a lock of this host whose process is gone, or an empty lock older than
    :data:`EMPTY_STALE_SECONDS` (a run writes its three lines at once, on creation)."""
    if not info and path is not None:
        try:
            return time.time() - path.stat().st_mtime > EMPTY_STALE_SECONDS
        except OSError:
            return False
    if info.get("host") != socket.gethostname():
        return False
    try:
        return not _alive(int(info.get("pid", "")))
    except ValueError:
        return False


def _refuse(path: Path, info: dict[str, str]) -> InputError:
    who = (f"pid {info.get('pid', '?')} on {info.get('host', '?')}, started {info.get('started', '?')}"
           if info else "a run that is starting")
    return InputError(f"{path.parent.parent}: another allocator batch is writing to this folder ({who}); wait for "
                      f"it to end or choose another --out (if that process is gone, remove {path})")


def _create(path: Path) -> bool:
    """Create the lock with this process's fields; False when it exists."""
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    except FileExistsError:
        return False
    started = time.strftime("%Y-%m-%d %H:%M:%S %Z", time.localtime())
    with os.fdopen(fd, "w") as fh:
        fh.write(f"pid={os.getpid()}\nhost={socket.gethostname()}\nstarted={started}\n")
    return True


def take(out: Path) -> Path:
    """Take the lock of ``out`` (whose .batch/ exists), taking over a stale one; InputError when
    another live run holds it."""
    path = lock_path(out)
    for _ in range(3):  # a stale lock removed here may be taken by another run in between
        if _create(path):
            return path
        info = _read(path)
        if not info:  # the other run is writing it: wait a moment, then read it again
            time.sleep(0.2)
            info = _read(path)
        if not _stale(info, path):
            raise _refuse(path, info)
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
    raise _refuse(path, _read(path))


@contextlib.contextmanager
def run_lock(out: Path):
    """Hold ``out``'s lock for the block (:func:`take`), removed at its end."""
    path = take(out)
    try:
        yield path
    finally:
        if _read(path).get("pid") == str(os.getpid()):  # never remove another run's
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
