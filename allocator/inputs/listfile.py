"""List files for `simulate --list`, validated once (pydantic), in three formats:

* plain text: one program_id per line; ``#`` starts a comment (a whole line or the rest of one);
* CSV with a header whose first column is ``program_id`` and optional ``signal`` (gold, silver
  or empty), ``status`` and ``date`` columns (the file `solve --out X.csv` writes, which is also
  a season file); a comment line ``# geographic_preference: Pacific; Mountain`` gives the
  divisions of the list;
* the JSON that `solve --json` wrote (``selected`` and ``geographic_preference``).

A UTF-8 byte-order mark is ignored.  A program listed twice is refused in every format.
What the problem models (signal kinds, divisions) is checked where the list meets the
problem: :func:`allocator.api.score`.
"""
from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Literal, Optional

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from allocator.errors import InputError, not_utf8
from allocator.inputs.loader import refuse_semicolons

DIVISIONS_PREFIX = "# geographic_preference:"


def no_divisions_warning(what: str, verb: str = "named") -> str:
    """The warning for a list or season file (``what``) without its divisions line."""
    return (f"{what} does not say which Census divisions you {verb} as your geographic preference, so none is "
            f"assumed; add the line '{DIVISIONS_PREFIX} Pacific; Mountain' (your divisions) at the top, as the "
            "list file saved with your list has it")
HINT = ("give one program_id per line, a CSV whose header starts with program_id (optional signal, status, date), "
        "or the JSON of `solve --json`")


class ListRow(BaseModel):
    """One program on a list."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    program_id: str = Field(min_length=1)
    signal: Optional[Literal["gold", "silver"]] = None
    status: Optional[str] = None  # a season file's columns, validated as `update` does (not used by simulate)
    date: Optional[str] = None

    @field_validator("status", mode="before")
    @classmethod
    def _status(cls, v):
        from allocator.inputs.statuses import canonical

        if v is None:
            return None
        if not isinstance(v, str) or canonical(v) is None:
            raise ValueError(f"{v!r} is not a status; use applied, no answer yet, invited, interviewed, rejected, "
                             "withdrawn or declined")
        return v

    @field_validator("date", mode="before")
    @classmethod
    def _date(cls, v):
        import datetime as dt

        if v is None or (isinstance(v, str) and not v.strip()):
            return None
        try:
            dt.date.fromisoformat(str(v).strip())
        except ValueError:
            raise ValueError(f"{v!r} is not a date; write YYYY-MM-DD or leave it empty") from None
        return str(v).strip()

    @field_validator("program_id", mode="before")
    @classmethod
    def _pid(cls, v):
        if not isinstance(v, str):
            raise ValueError("must be a text program_id such as \"IM-0412\"")
        return v

    @field_validator("signal", mode="before")
    @classmethod
    def _sig(cls, v):
        if v is None or (isinstance(v, str) and v.strip().lower() in ("", "none", "null")):
            return None
        if not isinstance(v, str):
            raise ValueError("must be \"gold\", \"silver\" or empty")
        v = v.strip().lower()
        if v not in ("gold", "silver"):
            raise ValueError(f"{v!r} is not a signal; use gold, silver or leave it empty")
        return v


class ListFile(BaseModel):
    """A whole list: rows and the geographic preference (Census divisions)."""

    model_config = ConfigDict(extra="ignore")

    rows: list[ListRow]
    divisions: list[str] = Field(default_factory=list)
    where: dict[str, str] = Field(default_factory=dict)  # program_id -> "line 5" / "selected[3]", for messages

    @field_validator("divisions", mode="before")
    @classmethod
    def _divs(cls, v):
        if v is None:
            return []
        if isinstance(v, str) or not isinstance(v, list) or not all(isinstance(x, str) for x in v):
            raise ValueError("must be a list of Census division names such as [\"Pacific\", \"Mountain\"]")
        from allocator.inputs.geography import CENSUS_DIVISIONS

        v = [x.strip() for x in v if x.strip()]
        bad = [x for x in v if x not in CENSUS_DIVISIONS]
        if bad:
            raise ValueError(f"{bad[0]!r} is not a Census division; use names such as "
                             f"{', '.join(list(CENSUS_DIVISIONS)[:3])}")
        if len(set(v)) != len(v):
            raise ValueError("a division is listed twice; list each once")
        if len(v) > 3:
            raise ValueError(f"{len(v)} divisions given; ERAS allows at most 3")
        return v


def _row_error(p: Path, where: str, e: ValidationError) -> InputError:
    err = e.errors()[0]
    field = ".".join(str(x) for x in err["loc"]) or "?"
    msg = err["msg"].removeprefix("Value error, ")
    if err.get("type") == "string_too_short":
        msg = "is empty; give a program_id"
    elif err.get("type") == "missing":
        msg = "is missing; give a program_id"
    return InputError(f"{p}: {where}, {field}: {msg}")


def _rows(p: Path, raw: list[tuple[str, dict]]) -> list[ListRow]:
    rows, seen = [], {}
    for where, rec in raw:
        try:
            r = ListRow.model_validate(rec)
        except ValidationError as e:
            raise _row_error(p, where, e) from None
        if r.program_id in seen:
            raise InputError(f"{p}: {where}: program {r.program_id!r} is listed twice (first at {seen[r.program_id]}); "
                             "list each program once")
        seen[r.program_id] = where
        rows.append(r)
    return rows


def _where(raw: list[tuple[str, dict]]) -> dict[str, str]:
    """Where each (validated) row's program_id stands in the file."""
    return {str(rec.get("program_id", "")).strip(): where for where, rec in raw}


def _from_json(p: Path, text: str) -> ListFile:
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as e:
        raise InputError(f"{p}: not the JSON of `solve --json` (line {e.lineno}: {e.msg}); fix it, or give one "
                         "program_id per line or a CSV whose header starts with program_id") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("selected"), list):
        raise InputError(f"{p}: not the JSON of `solve --json` (no \"selected\" list); {HINT}")
    raw = []
    for k, r in enumerate(doc["selected"]):
        if not isinstance(r, dict):
            raise InputError(f"{p}: selected[{k}] is not an object with program_id; {HINT}")
        raw.append((f"selected[{k}]", r))
    rows = _rows(p, raw)
    try:
        return ListFile(rows=rows, divisions=doc.get("geographic_preference"), where=_where(raw))
    except ValidationError as e:
        raise InputError(f"{p}: geographic_preference: {e.errors()[0]['msg'].removeprefix('Value error, ')}") from None


def split_divisions(line: str) -> list[str]:
    """The division names of a ``# geographic_preference: A; B`` line (``;`` or ``,`` between)."""
    body = line.strip()[len(DIVISIONS_PREFIX):].strip()
    return [x.strip() for x in body.replace(",", ";").split(";") if x.strip()]


def _from_text(p: Path, text: str) -> ListFile:
    lines = text.splitlines()
    divisions: list[str] = []
    body: list[tuple[int, str]] = []
    for n, ln in enumerate(lines, 1):
        s = ln.strip()
        if s.lower().startswith(DIVISIONS_PREFIX):
            if divisions:
                raise InputError(f"{p}: line {n}: a second geographic_preference line; keep one")
            divisions = split_divisions(s) or ["<empty>"]
            if divisions == ["<empty>"]:
                divisions = []
        elif s and not s.startswith("#"):
            body.append((n, ln))
    first = body[0][1].strip().lower() if body else ""
    if first.startswith(("program_id;", "program_id\t")) and "," not in first:
        refuse_semicolons([first], f"{p}: line {body[0][0]}")
    if first.split(",")[0].strip() == "program_id":  # a CSV with a header
        reader = csv.DictReader(io.StringIO("\n".join(ln for _, ln in body)), skipinitialspace=True)
        names = [str(h).strip() for h in (reader.fieldnames or [])]
        if len(set(names)) != len(names):
            dup = next(h for h in names if names.count(h) > 1)
            raise InputError(f"{p}: line {body[0][0]}: column {dup!r} appears twice in the header; keep one")
        reader.fieldnames = names
        raw = []
        for (n, _), rec in zip(body[1:], reader):
            if None in rec:
                raise InputError(f"{p}: line {n}: more fields than the header's {len(names)}; "
                                 "quote values that contain commas")
            raw.append((f"line {n}", {k: v for k, v in rec.items() if v is not None}))
    else:
        raw = []
        for n, ln in body:
            ln = ln.split("#", 1)[0]  # "IM-0412  # my note": the rest of the line is a comment
            if "," in ln:
                raise InputError(f"{p}: line {n}: {ln.strip()[:40]!r} has a comma but the file has no header; "
                                 "start a CSV with the header program_id,signal or give one program_id per line")
            raw.append((f"line {n}", {"program_id": ln.strip()}))
    rows = _rows(p, raw)
    try:
        return ListFile(rows=rows, divisions=divisions, where=_where(raw))
    except ValidationError as e:
        raise InputError(f"{p}: geographic_preference line: "
                         f"{e.errors()[0]['msg'].removeprefix('Value error, ')}") from None


def load_list(path: str | Path) -> ListFile:
    """Read and validate a list file in any of the three formats."""
    p = Path(path)
    if p.is_dir():
        raise InputError(f"{p}: is a folder, not a list file; {HINT}")
    if not p.is_file():
        raise InputError(f"{p}: no such list file; {HINT}")
    try:
        text = p.read_bytes().decode("utf-8")
    except UnicodeDecodeError as e:
        raise not_utf8(p, e, f"save the list as UTF-8 and {HINT}") from None
    except OSError as e:
        raise InputError(f"{p}: cannot read the list file ({e.strerror}); check the path") from None
    text = text.lstrip("\ufeff")
    if "\x00" in text:
        raise InputError(f"{p}: contains NUL bytes (a binary file?); {HINT}")
    lf = _from_json(p, text) if text.lstrip().startswith(("{", "[")) else _from_text(p, text)
    if not lf.rows:
        raise InputError(f"{p}: the list names no program; {HINT}")
    return lf


def read_list_file(path: Path) -> tuple[list[str], dict[str, str], list[str]]:
    """(program ids, signals by id, divisions) of a validated list file."""
    lf = load_list(path)
    return ([r.program_id for r in lf.rows], {r.program_id: r.signal for r in lf.rows if r.signal},
            list(lf.divisions))


def list_csv(rows: list[dict], divisions=(), status: str = "applied", columns=None, note: str | None = None) -> str:
    """The CSV that `solve --out X.csv` writes: program_id, signal, status (and name, ... for
    reading), with the divisions as a ``# geographic_preference:`` comment line first.  It is
    both a list for `simulate --list` and a season file (program_id, signal, status, date).
    ``rows``: one dict per program (at least program_id and signal); ``columns``: their keys
    in order (default: the first row's).  Values as pandas' ``to_csv`` writes them.  ``note``: a
    ``#`` comment line put first (e.g. that the catalog is SYNTHETIC); readers skip it."""
    keys = list(columns if columns is not None else (rows[0] if rows else ("program_id", "signal")))
    cols = ["program_id", "signal", "status", "date"] + [c for c in keys
                                                         if c not in ("program_id", "signal", "status", "date")]
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(cols)
    for r in rows:
        fixed = {"signal": r.get("signal") if isinstance(r.get("signal"), str) else "", "status": status, "date": ""}
        w.writerow([_cell(fixed[c] if c in fixed else r.get(c)) for c in cols])
    head = f"{DIVISIONS_PREFIX} {'; '.join(divisions)}\n" if divisions else ""
    return (f"# {note}\n" if note else "") + head + buf.getvalue()


def _cell(v) -> str:
    """A value as pandas' to_csv writes it: empty for None and NaN, repr for floats."""
    if v is None or (isinstance(v, float) and v != v):
        return ""
    return repr(float(v)) if isinstance(v, float) else str(v)
