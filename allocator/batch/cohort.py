"""Read a cohort: a folder of profile TOML files, or one CSV with a row per applicant.

Each applicant becomes a :class:`Member`: an id (a file stem or the CSV's ``id`` column),
where it came from (``file`` or ``file:line``), and either the parsed profile document
(a dict in the shape of a profile TOML) or the one-line reason it cannot be read.  A bad
applicant never stops the cohort: it becomes a summary row with its reason.  Only a
cohort that cannot be read at all (no such path, no profiles, a CSV header with an
unknown column) raises :class:`InputError`.

CSV columns (``id`` required; every other column optional, an empty cell = the default):

- ``id``: the applicant's name in the output files (letters, digits, ``.``, ``_``, ``-``)
- ``[applicant]``: ``specialties`` (separated by ``;``), ``step2_score``, ``step2``
  (``pass``), ``exam_attempts``, ``usce_months``, ``usce_california_months``, ``la_ties``
  (true/false, yes/no, y/n, t/f or 1/0, in any case), ``years_since_graduation``, ``reapplicant`` (as ``la_ties``).  A row with all of them empty has
  no ``[applicant]`` section (for catalogs that carry ``p_match``).
- ``[strategy]``: ``budget``, ``season``, ``max_applications``, ``min_applications``,
  ``la_share_max``, ``correlation``, ``target_p_match``, ``objective``, ``safety_margin``, ``signals``,
  ``geographic_preference`` (``optimize``, ``none`` or divisions separated by ``;``),
  ``max_divisions``, ``must_apply`` and ``never_apply`` (program ids separated by ``;``),
  ``utility_la``, ``utility_west``, ``utility_elsewhere``.
- ``specialty_limits`` has no CSV column: use a folder of TOML profiles for it.
- a column named ``note_...`` (``note_name``, ``note_email``) is the office's own: kept in the
  file, never read (an edit there re-solves no one).  Any other unknown column stops the cohort
  (it catches a typo such as ``budjet``).  Columns without a name and without a value in any row
  (Excel's trailing empty cells) are skipped; a semicolon-separated file is refused with how to
  save it comma-separated.
"""
from __future__ import annotations

import csv
import math
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from allocator.errors import InputError
from allocator.inputs.loader import refuse_semicolons
from allocator.inputs.profile import profile_from_dict

APPLICANT_COLS = {"specialties": "list", "step2_score": "int", "step2": "str", "exam_attempts": "int",
                  "usce_months": "float", "usce_california_months": "float", "la_ties": "bool",
                  "years_since_graduation": "float", "reapplicant": "bool"}
STRATEGY_COLS = {"budget": "float", "season": "str", "max_applications": "int", "min_applications": "int",
                 "la_share_max": "float", "correlation": "float", "target_p_match": "float", "objective": "str",
                 "safety_margin": "float",
                 "signals": "str", "geographic_preference": "divisions", "max_divisions": "int",
                 "must_apply": "list", "never_apply": "list"}
UTILITY_COLS = {"utility_la": "la", "utility_west": "west", "utility_elsewhere": "elsewhere"}
COLUMNS = ["id", *APPLICANT_COLS, *STRATEGY_COLS, *UTILITY_COLS]
# an office's own columns (a student's name or email): read as nothing, and not in the rerun hash
NOTE_PREFIX = "note_"
_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
# the spellings of a yes/no cell, in any case (docs/batch.md lists the same)
_TRUE = {"true", "yes", "1", "y", "t"}
_FALSE = {"false", "no", "0", "n", "f"}
BOOL_WORDS = "true/false, yes/no, y/n, t/f or 1/0 (any case)"


@dataclass(frozen=True)
class Member:
    """One applicant of the cohort: its profile document, or why it has none."""

    id: str
    source: str  # "folder/x.toml" or "cohort.csv:7"
    doc: dict | None = None
    error: str | None = None
    extra: dict = field(default_factory=dict)
    own_id: bool = True  # False: the id is made up (a bad or repeated id, a short row) and names no files
    # the summary's input columns (budget, objective, synthetic) for a profile that was read, filled by
    # :func:`allocator.batch.precheck.precheck` so that a row without a list still shows them
    inputs: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.error is None


def load_cohort(path: str | Path) -> list[Member]:
    """The applicants of a folder of ``*.toml`` profiles or of one CSV, in file order."""
    p = Path(path)
    if p.is_dir():
        return _from_folder(p)
    if p.is_file() and p.suffix.lower() == ".csv":
        return _from_csv(p)
    if p.is_file():
        raise InputError(f"{p}: a cohort is a folder of profile .toml files or one .csv with a row per "
                         "applicant; give one of those")
    raise InputError(f"{p}: no such folder or CSV file; give the cohort's folder of profiles or its CSV")


def _checked(member_id: str, source: str, doc: dict, target_field: str) -> Member:
    """Validate the document now (on the client) so a bad profile is reported as early as possible.
    ``target_field`` names where this cohort sets target_p_match (batch has no --target)."""
    try:
        profile = profile_from_dict(doc, source)
    except InputError as e:
        return Member(member_id, source, None, _one_line(e))
    if profile.strategy.objective == "p_match_la" and profile.strategy.target_p_match is None:
        # the profile was read: its document stays (for the summary's input columns), the error makes it bad input
        return Member(member_id, source, doc, f"{source}: objective p_match_la needs a P(match) target: set "
                                              f"{target_field} (0 < P < 1)")
    return Member(member_id, source, doc)


def _one_line(e: Exception) -> str:
    return " ".join(str(e).split())


def _from_folder(folder: Path) -> list[Member]:
    files = sorted(f for f in folder.glob("*.toml") if f.is_file())
    if not files:
        raise InputError(f"{folder}: no .toml profiles in this folder; put one profile per applicant there "
                         "(see data/profiles/) or give a CSV")
    out = []
    for f in files:
        mid = f.stem
        if not _ID_RE.match(mid):
            out.append(Member(mid, str(f), None, f"{f}: file name {f.name!r} is not usable as an id; rename it to "
                                                 "letters, digits, '.', '_' or '-'", own_id=False))
            continue
        try:
            with open(f, "rb") as fh:
                doc = tomllib.load(fh)
        except tomllib.TOMLDecodeError as e:
            out.append(Member(mid, str(f), None, f"{f}: not valid TOML ({_one_line(e)}); fix the syntax there"))
            continue
        except (UnicodeDecodeError, OSError) as e:
            out.append(Member(mid, str(f), None, f"{f}: cannot be read ({type(e).__name__}); save it as UTF-8 TOML"))
            continue
        if "path" in doc:
            out.append(Member(mid, str(f), None, f"{f}: path: unknown key; remove it"))
            continue
        out.append(_checked(mid, str(f), doc, "[strategy] target_p_match"))
    return out


def _from_csv(path: Path) -> list[Member]:
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            rows = list(csv.reader(fh))
    except (UnicodeDecodeError, OSError) as e:
        raise InputError(f"{path}: cannot be read ({type(e).__name__}); save the cohort as UTF-8 CSV") from None
    except csv.Error as e:
        raise InputError(f"{path}: not a readable CSV ({e}); save it as comma-separated UTF-8") from None
    numbered = [(n, r) for n, r in enumerate(rows, start=1) if not (r and r[0].lstrip().startswith("#"))]
    if not numbered:
        raise InputError(f"{path}: the file is empty; it needs a header line (id, step2_score, budget, ...) "
                         "and one row per applicant")
    first, header = numbered[0][0], [h.strip() for h in numbered[0][1]]
    refuse_semicolons(header, f"{path}: line {first}")
    header, numbered = _without_empty_columns(header, numbered, f"{path}: line {first}")
    unknown = [h for h in header if h not in COLUMNS and not h.startswith(NOTE_PREFIX)]
    if unknown:
        raise InputError(f"{path}: line {first}, column {unknown[0]!r} is not a cohort column; use id and profile "
                         f"fields ({', '.join(COLUMNS[1:6])}, ..., see docs/batch.md), or name a column of your own "
                         f"with the prefix {NOTE_PREFIX} ({NOTE_PREFIX}{unknown[0]}) to keep it in the file unread")
    if "id" not in header:
        raise InputError(f"{path}: line {first} has no 'id' column; add one (the applicant's name in the output "
                         "files)")
    dup = sorted({h for h in header if header.count(h) > 1})
    if dup:
        raise InputError(f"{path}: line {first}, column {dup[0]!r} appears twice; keep one")
    out, seen = [], {}
    # ids of the complete rows: a short row never takes one, so the complete row keeps it
    whole = {r[header.index("id")].strip() for _, r in numbered[1:] if len(r) == len(header)}
    for line, row in numbered[1:]:
        if not any(c.strip() for c in row):
            continue
        src = f"{path}:{line}"
        if len(row) != len(header):
            out.append(_short_row(row, header, src, line, seen, whole))
            continue
        cells = {h: c.strip() for h, c in zip(header, row)}
        mid = cells["id"]
        if not _ID_RE.match(mid):
            out.append(Member(made_up_id(mid, line), src, None, f"{src}: id = {mid!r}: use letters, digits, '.', "
                                                                "'_' or '-' (it names the output files)", own_id=False))
            continue
        if mid in seen:
            out.append(Member(made_up_id(mid, line), src, None, f"{src}: id {mid!r} is already used on line "
                                                                f"{seen[mid]}; ids must be unique", own_id=False))
            continue
        seen[mid] = line
        try:
            doc = _row_doc(cells, src)
        except InputError as e:
            out.append(Member(mid, src, None, _one_line(e)))
            continue
        out.append(_checked(mid, src, doc, "the row's target_p_match column"))
    if not out:
        raise InputError(f"{path}: no applicant rows under the header; add one row per applicant")
    return out


def _without_empty_columns(header: list[str], numbered: list[tuple[int, list[str]]],
                           where: str) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """The header and rows without the columns that have no name and no value in any row (the
    empty cells Excel writes after formatted columns: ``id,budget,,``); InputError for a column
    without a name that holds a value."""
    blank = [k for k, h in enumerate(header) if not h]
    if not blank:
        return header, numbered
    for k in blank:
        line = next((n for n, r in numbered[1:] if k < len(r) and r[k].strip()), None)
        if line is not None:
            raise InputError(f"{where}: column {k + 1} has no name, and line {line} has a value in it; name the "
                             "column in the header, or delete it")
    keep = [k for k in range(len(header)) if k not in blank]
    width = len(header)
    rows = [(n, [r[k] for k in keep] if len(r) == width else r) for n, r in numbered]  # a short row stays short
    return [header[k] for k in keep], rows


def made_up_id(text: str, line: int) -> str:
    """The summary's id for a row without a usable id of its own: ``TEXT@lineN``.  No valid id
    contains ``@``, and N is the row's own line, so it never equals a real applicant's id nor
    another row's (``line3`` in the id column stays a real applicant)."""
    return f"{' '.join(text.split())}@line{line}"


def _short_row(row: list[str], header: list[str], src: str, line: int, seen: dict[str, int],
               whole: set[str]) -> Member:
    """A row with too few or too many fields: bad input.  When ``id`` is the first column and
    the row's first cell is a usable id that no other row uses (above, or a complete row below:
    ``whole``), the row keeps it (its older files are removed as any bad applicant's); a
    missing field cannot shift the first cell."""
    n, m = len(row), len(header)
    fix = (f"add the {m - n} missing field(s) (an empty cell keeps the default)" if n < m
           else "quote values that contain commas")
    why = f"{src}: {n} fields, the header has {m}; {fix}"
    mid = row[0].strip() if header[0] == "id" and row else ""
    if _ID_RE.match(mid) and mid not in seen and mid not in whole:
        seen[mid] = int(line)
        return Member(mid, src, None, why)
    return Member(made_up_id(mid, line), src, None, why, own_id=False)


def _cell(kind: str, text: str, col: str, src: str):
    try:
        if kind == "int":
            v = float(text)
            if not math.isfinite(v) or v != int(v):
                raise ValueError
            return int(v)
        if kind == "float":
            return float(text)
        if kind == "bool":
            low = text.lower()
            if low in _TRUE | _FALSE:
                return low in _TRUE
            raise ValueError
        if kind == "list":
            return [x.strip() for x in text.split(";") if x.strip()]
        if kind == "divisions":
            return text if text in ("optimize", "none") else [x.strip() for x in text.split(";") if x.strip()]
        return text
    except ValueError:
        what = {"int": "a whole number", "float": "a number", "bool": BOOL_WORDS}[kind]
        raise InputError(f"{src}: column {col} = {text!r}: must be {what}; change it") from None


def _row_doc(cells: dict[str, str], src: str) -> dict:
    """A CSV row as a profile document ({"applicant": ..., "strategy": ...})."""
    app = {c: _cell(k, cells[c], c, src) for c, k in APPLICANT_COLS.items() if cells.get(c)}
    strat = {c: _cell(k, cells[c], c, src) for c, k in STRATEGY_COLS.items() if cells.get(c)}
    util = {tier: _cell("float", cells[c], c, src) for c, tier in UTILITY_COLS.items() if cells.get(c)}
    if util:
        strat["utility"] = util
    doc: dict = {}
    if app:
        doc["applicant"] = app
    if strat:
        doc["strategy"] = strat
    return doc
