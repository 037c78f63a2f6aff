"""The files a batch writes in --out, checked before any work starts, and older reports there.

--out holds ``summary.csv``, ``cohort.csv`` and ``cohort.html``, and per applicant
``applicants/ID.json|html|pdf`` and ``.batch/ID.sha256`` (:func:`paths_for`).  Before a profile is
sent anywhere, :func:`check_out` refuses (InputError, exit 2, naming the path):

- a target that is not a regular file (a folder named ``summary.csv``, a FIFO named
  ``cohort.html``): it would fail only after all the solving;
- an input (the cohort CSV or a profile, the --catalog) that *is* one of the targets (same
  resolved path or same file): the run would overwrite it with its own results.

It creates nothing, so a refused run leaves --out as it was.  :func:`older_reports` lists
the applicants whose reports sit in ``applicants/`` from an earlier run but who are not in
this cohort; they are kept, and the run says so.
"""
from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Iterable

from allocator.errors import InputError

VIEW_FILES = {"summary.csv": "the summary", "cohort.csv": "the cohort table", "cohort.html": "the cohort view"}
SUBDIRS = {"applicants": "the applicants' reports", ".batch": "the rerun hashes"}
REPORT_SUFFIXES = (".json", ".html", ".pdf")


def paths_for(out: Path, mid: str) -> dict[str, Path]:
    d = out / "applicants"
    return {"json": d / f"{mid}.json", "html": d / f"{mid}.html", "pdf": d / f"{mid}.pdf",
            "hash": out / ".batch" / f"{mid}.sha256"}


def targets(out: Path, ids: Iterable[str]) -> dict[Path, str]:
    """Every file the run may write or remove in ``out``, with what it is for."""
    found = {out / name: what for name, what in VIEW_FILES.items()}
    for mid in ids:
        found |= {p: f"{mid}'s {k} file" for k, p in paths_for(out, mid).items()}
    return found


def _kind(st: os.stat_result) -> str | None:
    """None for a regular file, else what it is."""
    if stat.S_ISREG(st.st_mode):
        return None
    return "a folder" if stat.S_ISDIR(st.st_mode) else "not a regular file (a FIFO, socket or device)"


def _check_folders(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise InputError(f"--out {out}: is a file; give a folder for the batch's results")
    parent = out.absolute().parent
    if not parent.is_dir():  # as every other output: the folder it goes in must exist (no typo'd tree made)
        raise InputError(f"--out {out}: the folder {parent} does not exist; create it first or choose another --out")
    for sub, what in SUBDIRS.items():
        d = out / sub
        if d.exists() and not d.is_dir():
            raise InputError(f"{d}: is a file, but batch keeps {what} in this folder; move it away or choose "
                             "another --out")
    for d in (out, *(out / s for s in SUBDIRS)):
        if d.is_dir() and not os.access(d, os.W_OK | os.X_OK):
            raise InputError(f"{d}: cannot write in this folder (permission denied); choose another --out")


def _same(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve() or (a.exists() and b.exists() and os.path.samefile(a, b))
    except OSError:
        return False


def check_out(out: Path, ids: Iterable[str], inputs: Iterable[Path]) -> None:
    """Refuse, before any work, an --out whose targets cannot be written or would overwrite an input."""
    _check_folders(out)
    found = targets(out, ids)
    for p, what in found.items():
        try:
            kind = _kind(os.stat(p))
        except OSError:  # not there yet: written new
            continue
        if kind:
            raise InputError(f"{p}: is {kind}, where batch writes {what}; remove or rename it, or choose "
                             "another --out")
    for inp in inputs:
        hit = next((p for p in found if _same(Path(inp), p)), None)
        if hit is not None:
            where = "" if str(hit) == str(inp) else f" (as {hit})"
            raise InputError(f"{inp}: this run would overwrite this input with {found[hit]}{where}; move the "
                             "input out of --out or choose another --out")


def older_reports(out: Path, ids: Iterable[str]) -> list[str]:
    """The ids with a report in ``out/applicants`` that are not in this cohort (sorted)."""
    keep = set(ids)
    try:
        names = os.listdir(out / "applicants")
    except OSError:
        return []
    return sorted({n.rsplit(".", 1)[0] for n in names if n.endswith(REPORT_SUFFIXES) and not n.startswith(".")}
                  - keep)
