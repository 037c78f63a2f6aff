"""The season file: one row per application sent, with the answer so far.

CSV columns (header required; extra columns are ignored, so the CSV that ``solve --out
X.csv`` writes is a valid starting point):

- ``program_id`` (required, unique);
- ``status``: ``applied`` / ``no answer yet`` (also spelled ``pending``, ``no_answer``,
  ``no answer``, or empty: the program has not answered), ``invited`` (an interview
  invitation), ``interviewed`` (the interview took place), ``rejected``, ``withdrawn`` (withdrawn
  before any answer: no evidence), ``declined`` (also ``declined interview`` or ``withdrawn after
  invitation``: invited, then the interview declined or cancelled; the invitation still counts as
  evidence, with no chance of a match there).
  Case and surrounding spaces do not matter.  Without a ``status`` column every row is
  ``applied``, unless the header has the catalog's columns (name, specialty, city, state): a
  catalog chosen by mistake is refused;
- ``signal`` (optional): ``gold``, ``silver``, or empty / ``none`` (the signal sent with
  the application);
- ``date`` (optional): the date of the answer, ``YYYY-MM-DD``; it must not be after
  ``--today``, and the dated answers and ``--today`` must lie in one application season
  (1 July to 30 June);
- ``rank`` (optional): the applicant's rank-order position (1 = first choice) of an
  invited or interviewed program; some may be left unranked (they follow the ranked ones).

Lines starting with ``#`` are comments, except ``# geographic_preference: Pacific; Mountain``
(the line ``solve --out`` writes first): the Census divisions named as the geographic
preference in ERAS, which raise the interview chances of those divisions' programs.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import re
from dataclasses import dataclass
from pathlib import Path

from allocator.errors import InputError, not_utf8
from allocator.inputs.loader import refuse_semicolons

from allocator.inputs.statuses import SPELLINGS as _SPELLINGS, STATUSES
_SIGNALS = {"": None, "none": None, "null": None, "gold": "gold", "silver": "silver"}


@dataclass(frozen=True)
class Season:
    """Validated season: one dict per application (program_id, status, signal, date, rank, and
    the file's line), in the file's order."""

    path: str
    rows: tuple[dict, ...]
    divisions: tuple[str, ...] = ()  # the geographic preference declared in ERAS (the comment line)
    divisions_line: int | None = None  # where the file names them (None: it does not)

    def ids(self, *statuses: str) -> list[str]:
        return [r["program_id"] for r in self.rows if not statuses or r["status"] in statuses]

    def counts(self) -> dict[str, int]:
        return {s: sum(r["status"] == s for r in self.rows) for s in STATUSES}

    def by_id(self) -> dict[str, dict]:
        return {r["program_id"]: r for r in self.rows}


def _divisions(path: Path, text: str) -> tuple[tuple[str, ...], int | None]:
    """The ``# geographic_preference:`` line's divisions (validated) and its line number."""
    from pydantic import ValidationError

    from allocator.inputs.listfile import DIVISIONS_PREFIX, ListFile, split_divisions

    found = [(n, ln.strip()) for n, ln in enumerate(text.splitlines(), start=1)
             if ln.strip().lower().startswith(DIVISIONS_PREFIX)]
    if not found:
        return (), None
    if len(found) > 1:
        raise InputError(f"{path}: line {found[1][0]}: a second geographic_preference line; keep one")
    n, ln = found[0]
    try:
        return tuple(ListFile(rows=[], divisions=split_divisions(ln)).divisions), n
    except ValidationError as e:
        raise InputError(f"{path}: line {n}, geographic_preference: "
                         f"{e.errors()[0]['msg'].removeprefix('Value error, ')}") from None


def _read(path: Path) -> tuple[list[str], list[tuple[int, list[str]]], str]:
    if path.is_dir():
        raise InputError(f"{path}: is a folder; give the season file (a CSV: program_id,status[,signal,date,rank])")
    if not path.is_file():
        raise InputError(f"{path}: no such season file; write one (program_id,status[,signal,date,rank]) or "
                         "start from `allocator solve PROFILE --out season.csv`")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as e:
        raise not_utf8(path, e, "save the season file as UTF-8 CSV") from None
    return _parse(path, text)


def _parse(path, text: str) -> tuple[list[str], list[tuple[int, list[str]]], str]:
    """(header, numbered rows, text) of a season file's text; ``path`` names it in messages."""
    lines = [(n, ln) for n, ln in enumerate(text.splitlines(), start=1) if ln.strip() and not ln.lstrip().startswith("#")]
    if not lines:
        raise InputError(f"{path}: empty season file; give a header row (program_id,status,...) and one row per application")
    try:
        rows = list(csv.reader(io.StringIO("\n".join(ln for _, ln in lines))))
    except csv.Error as e:
        raise InputError(f"{path}: not valid CSV ({e}); fix the quoting") from None
    for (n, _), r in zip(lines, rows):  # a row runs on past its line only inside an open quote
        if any("\n" in f for f in r):
            raise InputError(f"{path}: line {n}: a quoted value is not closed on its line; close the quote (or "
                             "remove it)")
    refuse_semicolons(rows[0], f"{path}: line {lines[0][0]}")
    header = [h.strip().lower() for h in rows[0]]
    return header, [(n, r) for (n, _), r in zip(lines[1:], rows[1:])], text


def iso_date(text: str) -> dt.date:
    """The date of ``text`` written YYYY-MM-DD (a date given by hand: ``--today``, the web
    form's); ValueError with the fix in words otherwise (20261104 is refused, as 2026-02-30)."""
    t = text.strip()
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", t):
        raise ValueError("write the date as YYYY-MM-DD, e.g. 2026-11-04")
    try:
        return dt.date.fromisoformat(t)
    except ValueError:
        raise ValueError("no such day in the calendar; check the month and day") from None


def _date(path, line, value: str, today: dt.date | None) -> dt.date | None:
    v = value.strip()
    if not v:
        return None
    try:
        d = dt.date.fromisoformat(v)
    except ValueError:
        raise InputError(f"{path}: line {line}, field date: {v!r} is not a date; write YYYY-MM-DD or leave it empty") from None
    if today is not None and d > today:
        raise InputError(f"{path}: line {line}, field date: {v} is after today ({today}); fix the date or pass --today")
    return d


def load_season(path: str | Path, today: dt.date | None = None) -> Season:
    """Read and validate a season file; :class:`InputError` names the file, line and field."""
    path = Path(path)
    return _season(path, *_read(path), today)


def season_from_text(text: str, name: str = "season.csv", today: dt.date | None = None) -> Season:
    """A season file given as text (an upload: nothing is written to disk), validated as
    :func:`load_season` does; messages name ``name``."""
    return _season(name, *_parse(name, text.lstrip("\ufeff")), today)


def _header_line(text: str) -> int:
    """The file line of the header: the first line that is neither blank nor a # comment."""
    return next((n for n, ln in enumerate(text.splitlines(), start=1)
                 if ln.strip() and not ln.lstrip().startswith("#")), 1)


def _season(path, header, body, text: str, today: dt.date | None) -> Season:
    if "program_id" not in header:
        raise InputError(f"{path}: line {_header_line(text)}: no program_id column (have {', '.join(header) or 'none'}); "
                         "the header needs program_id (status, signal, date and rank are optional)")
    _refuse_a_catalog(path, header, text)
    dup_cols = {h for h in header if header.count(h) > 1 and h}
    if dup_cols:
        raise InputError(f"{path}: line {_header_line(text)}: column {sorted(dup_cols)[0]!r} appears twice; keep one")
    col = {h: k for k, h in enumerate(header)}
    out, seen = [], {}
    for line, r in body:
        if len(r) > len(header):
            raise InputError(f"{path}: line {line}: {len(r)} fields but the header has {len(header)}; "
                             "quote fields that contain commas")
        r = r + [""] * (len(header) - len(r))
        get = (lambda name: r[col[name]].strip() if name in col else "")
        pid = get("program_id")
        if not pid:
            raise InputError(f"{path}: line {line}, field program_id: empty; give the program's id from the catalog")
        if pid in seen:
            raise InputError(f"{path}: line {line}, field program_id: {pid!r} already on line {seen[pid]}; "
                             "list each application once")
        seen[pid] = line
        raw = " ".join(get("status").lower().split())
        if raw not in _SPELLINGS:
            raise InputError(f"{path}: line {line}, field status: {get('status')!r} is not a status; use applied, "
                             "no answer yet (or pending), invited, interviewed, rejected, withdrawn (before any answer) "
                             "or declined (invited, then withdrawn)")
        sig_raw = get("signal").lower()
        if sig_raw not in _SIGNALS:
            raise InputError(f"{path}: line {line}, field signal: {get('signal')!r}; use gold, silver or leave it empty")
        rank_raw = get("rank")
        rank = None
        if rank_raw:
            try:
                rank = int(rank_raw)
            except ValueError:
                rank = 0
            if rank < 1:
                raise InputError(f"{path}: line {line}, field rank: {rank_raw!r}; give a whole number from 1 "
                                 "(first choice) or leave it empty")
        status = _SPELLINGS[raw]
        if rank is not None and status not in ("invited", "interviewed"):
            raise InputError(f"{path}: line {line}, field rank: a rank is for invited or interviewed programs "
                             f"(this one is {status}); remove it")
        out.append({"program_id": pid, "status": status, "signal": _SIGNALS[sig_raw],
                    "date": _date(path, line, get("date"), today), "rank": rank, "line": line})
    if not out:
        raise InputError(f"{path}: no application rows under the header; add one row per application")
    ranks = [r["rank"] for r in out if r["rank"] is not None]
    dup = {x for x in ranks if ranks.count(x) > 1}
    if dup:
        line = [r["line"] for r in out if r["rank"] == min(dup)][1]
        raise InputError(f"{path}: line {line}, field rank: rank {min(dup)} is given twice; give each "
                         "program its own position")
    _one_season(path, out, today)
    return Season(str(path), tuple(out), *_divisions(path, text))


def _refuse_a_catalog(path, header: list[str], text: str) -> None:
    """A catalog chosen by mistake as the season file: the catalog's columns (name, specialty,
    city, state) and no ``status`` column.  Without ``status`` every row would count as applied,
    so it read as a season of hundreds of applications without an answer.  (A list of ids, or
    the CSV ``solve --out`` writes, which has ``status``, is read as before.)"""
    from allocator.inputs.catalog import REQUIRED

    if "status" not in header and set(REQUIRED) <= set(header):
        raise InputError(f"{path}: line {_header_line(text)}: this looks like a catalog, not a season file (it has "
                         f"the catalog's columns {', '.join(c for c in REQUIRED if c != 'program_id')} and no status "
                         "column); give the season file instead: program_id,status[,signal,date,rank], one row per "
                         "application sent (the season file saved with your list is a start)")


def _one_season(path, rows: list[dict], today: dt.date | None) -> None:
    """The dated answers all in one application season (1 July to 30 June, as the timing curves
    count it), and the date of the update in that season too: the curves read only the month and
    day, so a date a year off would silently give the same answer.  Undated files cannot be checked."""
    from allocator.model.timing import application_season, season_name

    dated = [r for r in rows if r["date"] is not None]
    if not dated:
        return
    first = dated[0]
    year = application_season(first["date"])
    for r in dated[1:]:
        if application_season(r["date"]) != year:
            raise InputError(f"{path}: line {r['line']}, field date: {r['date']} is in the "
                             f"{season_name(application_season(r['date']))} application season, but line "
                             f"{first['line']} is dated {first['date']}, in the {season_name(year)} season; "
                             "a season file holds one season's answers: fix the date")
    if today is not None and application_season(today) != year:
        latest = max(dated, key=lambda r: r["date"])
        raise InputError(f"--today {today} is in the {season_name(application_season(today))} application season, "
                         f"but the answers in {path} are dated in the {season_name(year)} season (latest "
                         f"{latest['date']}, line {latest['line']}); give the date of this update in that season")
