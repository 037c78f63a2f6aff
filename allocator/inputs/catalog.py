"""Load and validate a program catalog (CSV, one row per program).

Columns (README, "Catalog CSV"): required ``program_id`` (unique), ``name``,
``specialty``, ``city``, ``state`` (2 letters); optional ``county``, ``la_area`` (derived
from county/city when absent), ``region``, ``division`` (derived from state), ``setting``
(university / community / county), ``positions``, ``img_share`` (0-1), ``min_step2``,
``max_attempts``, ``max_years_since_graduation``, ``signal_gold_ok``, ``fee_extra`` (USD,
default 0, at most 1,000,000), ``p_interview``, ``p_match`` (probabilities in [0, 1]), ``utility``, and
``synthetic`` (true for invented programs: every output then says so).

Reading uses the csv module and validation happens here, once (pydantic); the rest of the
package trusts the typed result (:class:`Catalog`: numpy columns, and a pandas DataFrame
only when asked for).  A bad value raises :class:`~allocator.errors.InputError` naming the
file, the CSV line and column, and what to change.
"""
from __future__ import annotations

import csv
import difflib
import io
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Optional

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from allocator.inputs import geography
from allocator.inputs.loader import refuse_semicolons
from allocator.inputs.specialties import table_name, variant_message
from allocator.errors import InputError, not_utf8

# A program's own fee on top of the ERAS fees is tens of dollars: one above a million is a typo,
# and an unbounded one (1e308) reached the budget messages as a dollar amount hundreds of digits long.
MAX_FEE_EXTRA = 1_000_000
REQUIRED = ("program_id", "name", "specialty", "city", "state")
OPTIONAL = ("county", "la_area", "region", "division", "setting", "positions", "img_share",
            "min_step2", "max_attempts", "max_years_since_graduation", "signal_gold_ok",
            "fee_extra", "p_interview", "p_match", "utility", "synthetic")
SETTINGS = ("university", "community", "county")

_TRUE = {"true", "1", "yes", "y", "t"}
_FALSE = {"false", "0", "no", "n", "f"}


def _to_bool(v):
    if v is None or isinstance(v, bool):
        return v
    s = str(v).strip().lower()
    if s in _TRUE:
        return True
    if s in _FALSE:
        return False
    raise ValueError("must be true or false")


class ProgramRow(BaseModel):
    """One validated catalog row."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    program_id: str = Field(min_length=1)
    name: str = Field(min_length=1)
    specialty: str = Field(min_length=1)
    city: str = Field(min_length=1)
    state: str
    county: Optional[str] = None
    la_area: Optional[bool] = None
    region: Optional[str] = None
    division: Optional[str] = None
    setting: Optional[Literal["university", "community", "county"]] = None
    positions: Optional[int] = Field(default=None, ge=0)
    img_share: Optional[float] = Field(default=None, ge=0, le=1)
    min_step2: Optional[int] = Field(default=None, ge=0, le=300)
    max_attempts: Optional[int] = Field(default=None, ge=0)
    max_years_since_graduation: Optional[float] = Field(default=None, ge=0)
    signal_gold_ok: Optional[bool] = None
    fee_extra: float = Field(default=0.0, ge=0)
    p_interview: Optional[float] = Field(default=None, ge=0, le=1)
    p_match: Optional[float] = Field(default=None, ge=0, le=1)
    utility: Optional[float] = Field(default=None, ge=0, le=1_000_000)  # relative, as the profile's tier utilities
    synthetic: bool = False

    @field_validator("la_area", "signal_gold_ok", "synthetic", mode="before")
    @classmethod
    def _bool(cls, v):
        return _to_bool(v)

    @field_validator("setting", mode="before")
    @classmethod
    def _setting(cls, v):
        return v.strip().lower() if isinstance(v, str) else v

    @field_validator("state")
    @classmethod
    def _state(cls, v: str) -> str:
        v = v.upper()
        if len(v) != 2 or v not in geography.US_STATES:
            raise ValueError("must be a 2-letter US state code such as CA")
        return v

    @field_validator("division")
    @classmethod
    def _division(cls, v: Optional[str]) -> Optional[str]:
        if v and v not in geography.CENSUS_DIVISIONS:
            raise ValueError(f"{v!r} is not a Census division; use a name such as "
                             f"{', '.join(list(geography.CENSUS_DIVISIONS)[:3])}, or leave it empty (derived "
                             "from the state)")
        return v or None

    @field_validator("positions", "img_share", "min_step2", "max_attempts", "max_years_since_graduation",
                     "fee_extra", "p_interview", "p_match", "utility", mode="before")
    @classmethod
    def _strict(cls, v):
        if isinstance(v, bool):
            raise ValueError("is a boolean; write a number")
        return v

    @field_validator("fee_extra", "img_share", "p_interview", "p_match", "utility",
                     "max_years_since_graduation")
    @classmethod
    def _finite(cls, v):
        if v is not None and not math.isfinite(v):
            raise ValueError("must be a finite number")
        return v

    @field_validator("fee_extra")
    @classmethod
    def _fee(cls, v: float) -> float:
        if v > MAX_FEE_EXTRA:
            raise ValueError(f"must be at most {MAX_FEE_EXTRA:,} USD (a program's own fee beyond the ERAS "
                             "fees); fix the typo")
        return v


NUMERIC = ("positions", "img_share", "min_step2", "max_attempts", "max_years_since_graduation", "fee_extra",
           "p_interview", "p_match", "utility")  # as float arrays, NaN where a row gives none
COLUMNS = (*ProgramRow.model_fields, "tier")  # the columns of Catalog.df, in order


class _Table:
    """A catalog's validated rows and derived columns, as numpy arrays and as a DataFrame,
    each made once, when first asked for."""

    def __init__(self, rows: list[ProgramRow], la: list[bool], division: list, tier: list[str]):
        self.rows, self.la, self.division, self.tier = rows, la, division, tier
        self.columns: dict[str, np.ndarray] = {}
        self._frame = None

    def __len__(self) -> int:
        return len(self.rows)

    def column(self, name: str) -> np.ndarray:
        if name not in self.columns:
            if name not in COLUMNS:
                raise KeyError(name)
            if name in ("la_area", "division", "tier"):
                values = {"la_area": self.la, "division": self.division, "tier": self.tier}[name]
                arr = np.array(values, dtype=bool if name == "la_area" else object)
            elif name in NUMERIC:
                arr = np.array([np.nan if v is None else float(v) for v in (getattr(r, name) for r in self.rows)],
                               dtype=float)
            else:
                arr = np.array([getattr(r, name) for r in self.rows], dtype=bool if name == "synthetic" else object)
            arr.flags.writeable = False
            self.columns[name] = arr
        return self.columns[name]

    def frame(self):
        """Every row as a DataFrame (pandas is imported here, not before)."""
        if self._frame is None:
            import pandas as pd

            out = pd.DataFrame([r.model_dump() for r in self.rows])
            out["la_area"] = pd.Series(self.la, dtype=bool)
            out["division"] = self.division
            out["tier"] = self.tier
            out["synthetic"] = out["synthetic"].astype(bool)
            self._frame = out.reset_index(drop=True)
        return self._frame


@dataclass(frozen=True, eq=False)
class Catalog:
    """A validated catalog: one row per program, columns normalized.

    ``column(name)`` gives one column as a numpy array (strings as objects, None where
    missing; the numeric columns as floats, NaN where missing), which is what the model and
    the solver read; ``df`` gives every column as a pandas DataFrame, built on first use, so
    that a solve does not import pandas (about 0.15 s).  ``select`` keeps some rows (the
    candidates of a problem) without copying them.

    Derived columns: ``la_area`` (bool), ``division`` and ``tier`` ("la", "west",
    "elsewhere").  ``synthetic`` is True when any row is marked synthetic.
    """

    table: _Table
    path: str = "<catalog>"
    index: np.ndarray | None = None  # the table's rows this catalog holds, in order (None: all)
    changed: dict = field(default_factory=dict)  # column name -> values replacing the table's (with_column)
    _cache: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    def column(self, name: str) -> np.ndarray:
        """One column as a read-only numpy array, in this catalog's row order."""
        if name in self.changed:
            return self.changed[name]
        full = self.table.column(name)
        return full if self.index is None else full[self.index]

    @property
    def df(self):
        """The rows as a pandas DataFrame (columns: :data:`COLUMNS`), built on first use."""
        if "df" not in self._cache:
            full = self.table.frame()
            df = full if self.index is None else full.iloc[self.index].reset_index(drop=True)
            if self.changed:
                df = df.copy()
                for k, v in self.changed.items():
                    df[k] = v
            self._cache["df"] = df
        return self._cache["df"]

    def select(self, keep) -> "Catalog":
        """The rows ``keep`` (a boolean mask or positions, in the order given) of this catalog."""
        keep = np.asarray(keep)
        if keep.dtype == bool and len(keep) != len(self):
            raise ValueError(f"a mask of {len(keep)} for {len(self)} rows")
        pos = np.flatnonzero(keep) if keep.dtype == bool else keep.astype(int)
        base = np.arange(len(self)) if self.index is None else self.index
        changed = {k: _frozen(np.asarray(v)[pos]) for k, v in self.changed.items()}
        return Catalog(self.table, self.path, base[pos], changed)

    def with_column(self, name: str, values) -> "Catalog":
        """The same rows with column ``name`` replaced by ``values`` (one per row)."""
        if name not in COLUMNS:
            raise KeyError(name)
        values = np.asarray(values, dtype=float if name in NUMERIC else (bool if name == "la_area" else object))
        if len(values) != len(self):
            raise ValueError(f"{len(values)} values for {len(self)} rows")
        return Catalog(self.table, self.path, self.index, {**self.changed, name: _frozen(values.copy())})

    @property
    def synthetic(self) -> bool:
        return bool(self.column("synthetic").any())

    @property
    def has_own_p_match(self) -> bool:
        return not np.isnan(self.column("p_match")).any()

    @property
    def specialties(self) -> list[str]:
        return sorted(set(self.column("specialty")))

    def __len__(self) -> int:
        return len(self.table) if self.index is None else len(self.index)


def img_share_warning(cat: Catalog, card) -> str | None:
    """A warning when most of ``cat``'s rows (a problem's candidates) leave ``img_share`` empty:
    each then takes the model card's national share for its specialty (``card.defaults``; in
    California times its factor), and P(match) moves more with img_share than with any other
    column (docs/formats.md: 9% at 0.05 on every row, 85% at 0.9).  None otherwise."""
    n, miss = len(cat), np.isnan(cat.column("img_share"))
    empty = int(miss.sum())
    if card is None or not n or 2 * empty <= n:
        return None
    d, factor = card.defaults, card.defaults.california_img_share_factor.value
    specs = sorted(set(cat.column("specialty")[miss]))
    ca = miss & (cat.column("state") == "CA")

    def pct(x: float) -> str:
        return f"{100 * x:.1f}".rstrip("0").rstrip(".") + "%"

    shares = "; ".join(f"{s} {pct(d.img_share_national.get(s))}" + (
        f", {pct(d.img_share_national.get(s) * factor)} in California" if (ca & (cat.column("specialty") == s)).any()
        else "") for s in specs)
    return (f"img_share is empty on {empty} of {n} program{'s' if n != 1 else ''}: each is taken at its specialty's "
            f"national IMG share ({shares}), and P(match) depends strongly on img_share; give each program's share "
            "of IMGs among its residents (program website or FREIDA)")


def _frozen(a: np.ndarray) -> np.ndarray:
    a.flags.writeable = False
    return a


def _not_finite(v) -> bool:
    """A value that reads as nan or +-inf (the bounds' error then says so, not "must be <= 1.0")."""
    try:
        return not math.isfinite(float(v))
    except (TypeError, ValueError, OverflowError):
        return False


def _friendly(err: dict) -> str:
    t, msg = err.get("type", ""), err.get("msg", "")
    ctx = err.get("ctx") or {}
    if t == "missing":
        return "is empty; fill it in"
    if t in ("greater_than_equal", "less_than_equal"):
        if _not_finite(err.get("input")):  # nan fails every bound: say what is wrong with it
            return "must be a finite number"
        lo = ctx.get("ge")
        hi = ctx.get("le")
        if lo is not None and hi is not None:
            return f"must be between {lo} and {hi}"
        return f"must be >= {lo}" if lo is not None else f"must be <= {hi}"
    if t in ("int_parsing", "int_from_float"):
        return "must be a whole number"
    if t == "float_parsing":
        return "must be a number"
    if t == "literal_error":
        return f"must be one of {', '.join(SETTINGS)}"
    if t == "string_too_short":
        return "is empty; fill it in"
    return msg.removeprefix("Value error, ")


SHARES = ("img_share", "p_interview", "p_match")  # in [0, 1]
RULES = ("min_step2", "max_attempts", "max_years_since_graduation")  # empty: no rule


def _value_hint(name: str, val, err: dict) -> str:
    """What to write instead, for a share given as a percentage (53 or 53%: write 0.53) and for
    text where an optional number goes (N/A: leave it empty); "" otherwise."""
    text = str(val).strip()
    pct = text.removesuffix("%").strip()
    try:
        x = float(pct)
    except ValueError:
        x = None
    if name in SHARES and x is not None and (text.endswith("%") or 2 <= x <= 100):  # 1.5 is as likely a slip
        return f" (a share between 0 and 1: for {x:g}%, write {x / 100:g})"
    if err.get("type") in ("int_parsing", "int_from_float", "float_parsing") and x is None:
        if name in RULES:
            return "; or leave it empty for no rule"
        if name == "img_share":
            return "; or leave it empty for the specialty's national figure"
    return ""


def catalog_from_frame(df, path: str = "<catalog>") -> Catalog:
    """Validate a pandas DataFrame of catalog rows (strings or typed values)."""
    cols = [c for c in (*REQUIRED, *OPTIONAL) if c in df.columns]
    return catalog_from_records(df[cols].to_dict("records"), [str(c) for c in df.columns], path)


def catalog_from_records(records: list[dict], header: list[str], path: str = "<catalog>",
                         lines: list[int] | None = None) -> Catalog:
    """Validate catalog rows given as dicts (column -> value; None, NaN or blank = missing);
    ``header``: the column names the source gave; ``lines``: the file line of each record for
    messages (default: the header is line 1 and each record one line)."""
    where = path
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        near = [f"{h!r} for {c!r}" for c in missing for h in header
                if h not in (*REQUIRED, *OPTIONAL) and _resembles(h, (c,)) == c]
        hint = f" (did you mean {', '.join(near)}?)" if near else ""
        raise InputError(f"{where}: missing required column(s) {', '.join(missing)}{hint}; the header "
                         f"must include {', '.join(REQUIRED)}")
    _refuse_misspelled(header, where)
    if len(records) == 0:
        raise InputError(f"{where}: the catalog has no programs; add at least one row")
    lines = lines or [i + 2 for i in range(len(records))]
    rows = [_validate_row(rec, line, where) for rec, line in zip(records, lines)]
    seen: set[str] = set()
    for r in rows:
        if r.program_id in seen:
            on = [line for line, x in zip(lines, rows) if x.program_id == r.program_id]
            raise InputError(f"{where}: program_id {r.program_id!r} appears on lines "
                             f"{', '.join(map(str, on))}; program ids must be unique")
        seen.add(r.program_id)
    _refuse_specialty_variants(rows, lines, where)
    given = [r.p_match is not None for r in rows]
    if any(given) and not all(given):
        raise InputError(f"{where}: line {lines[given.index(False)]}, column p_match is empty while other rows "
                         "give one; give p_match for every row or for none")
    la = [_la_of(r, line, where) for r, line in zip(rows, lines)]
    division = [r.division or geography.division_of(r.state) for r in rows]
    tier = [geography.tier_of(r.state, x) for r, x in zip(rows, la)]
    return Catalog(_Table(rows, la, division, tier), path)


def _refuse_specialty_variants(rows: list[ProgramRow], lines: list[int], where: str) -> None:
    """A specialty written otherwise than allocator's tables write it ("Internal medicine", "IM",
    "Internal Medicine - Categorical": :mod:`allocator.inputs.specialties`) is refused, naming
    its first row, how many rows say it and the name to write."""
    for r, line in zip(rows, lines):
        canon = table_name(r.specialty)
        if canon is not None:
            n = sum(x.specialty == r.specialty for x in rows)
            rows_ = f" (and {n - 1} more row{'s' if n > 2 else ''})" if n > 1 else ""
            raise InputError(f"{where}: line {line} ({r.program_id}){rows_}, column specialty = {r.specialty!r}: "
                             + variant_message(canon, repr(canon)))


def _la_of(r: ProgramRow, line: int, where: str) -> bool:
    """Whether the row is in Greater LA: its own la_area, else derived from its county or, in
    California, its city.  Refused: la_area = true outside California, and a California row
    whose county or city the tables do not know (it would count outside LA without a word)."""
    at = f"{where}: line {line} ({r.program_id})"
    if r.la_area is not None:
        if r.la_area and r.state != "CA":
            raise InputError(f"{at}, column la_area = true: the state is {r.state}, but Greater Los Angeles is five "
                             "California counties (Los Angeles, Orange, Riverside, San Bernardino, Ventura); set "
                             "la_area to false or fix the state")
        return bool(r.la_area)
    if r.state == "CA" and r.county and not geography.is_ca_county(r.county):
        raise InputError(f"{at}, column county = {r.county!r}: not a California county, so whether the program is in "
                         "Greater Los Angeles cannot be told; fix the spelling (e.g. Los Angeles, Orange) or give "
                         "la_area (true or false) for it")
    if r.state == "CA" and not r.county and geography.ca_county_of(r.city) is None:
        raise InputError(f"{at}, column city = {r.city!r}: not in allocator's table of California cities, so whether "
                         "the program is in Greater Los Angeles cannot be told; give a county (e.g. Los Angeles) or "
                         "la_area (true or false) value for it, or fix the city's spelling")
    return geography.is_la_area(r.state, r.county, r.city)


def _refuse_misspelled(header: list[str], where: str) -> None:
    """Columns allocator does not read are allowed (a catalog may carry notes or links), but one
    that looks like a misspelling of a column it reads ("fee_extr", "Utility") is refused: its
    values would be ignored without a word, and the list priced or valued without them."""
    known = (*REQUIRED, *OPTIONAL)
    for col in header:
        near = _resembles(col, known) if col and col not in known else None
        if near is not None and near not in header:
            raise InputError(f"{where}: header: column {col!r} is not one allocator reads, and its values would be "
                             f"ignored; did you mean {near!r}? Rename it (other unknown columns are allowed)"
                             f"{_WHAT.get(near, '')}")


# Other names users give the two columns that move a list most without a word when ignored:
# each header is read as its set of words ("IMG %" and "pct_img" both as {img, pct}).
_OTHER_NAMES = {
    "img_share": [{"img", "pct"}, {"img", "fraction"}, {"img", "rate"}, {"img", "proportion"},
                  {"img", "share", "pct"}, {"pct", "of", "img"}, {"international", "graduates", "pct"},
                  {"international", "graduate", "pct"}, {"pct", "international", "graduates"}],
    "fee_extra": [{"fee"}, {"fees"}, {"cost"}, {"costs"}, {"extra", "fee"}, {"extra", "fees"}, {"extra", "cost"},
                  {"fee", "usd"}, {"cost", "usd"}, {"application", "fee"}, {"application", "fees"},
                  {"application", "cost"}, {"program", "fee"}, {"program", "fees"}],
}
_WHAT = {"img_share": "; img_share is a share between 0 and 1: write 53% as 0.53",
         "fee_extra": "; fee_extra is each program's cost beyond the ERAS fees, in USD"}
_WORDS = {"imgs": "img", "percent": "pct", "percentage": "pct", "%": "pct"}


def _other_name(col: str) -> str | None:
    """The column ``col`` is another common name for (:data:`_OTHER_NAMES`), or None."""
    words = {_WORDS.get(w, w) for w in re.findall(r"[a-z0-9]+|%", col.lower())}
    return next((name for name, forms in _OTHER_NAMES.items() if words in forms), None)


def _resembles(col: str, names) -> str | None:
    """The name in ``names`` that ``col`` looks like a misspelling of (case, a space for "_", or
    a close edit) or another name for (``IMG %`` for img_share, ``cost`` for fee_extra), or None."""
    key = col.lower().replace(" ", "_")
    if key in names:
        return key
    near = difflib.get_close_matches(col.lower(), names, n=1, cutoff=0.8)
    other = _other_name(col)
    return near[0] if near else (other if other in names else None)


def _validate_row(rec: dict, line: int, where: str) -> ProgramRow:
    clean = {k: v for k, v in rec.items()
             if not (v is None or (isinstance(v, float) and math.isnan(v)) or (isinstance(v, str) and v.strip() == ""))}
    try:
        row = ProgramRow.model_validate(clean)
    except ValidationError as e:
        err = e.errors()[0]
        name = ".".join(str(x) for x in err["loc"]) or "?"
        pid = rec.get("program_id", "")
        val = rec.get(name, "")
        ident = f" ({pid})" if pid and name != "program_id" else ""
        raise InputError(f"{where}: line {line}{ident}, column {name} = {val!r}: {_friendly(err)}"
                         f"{_value_hint(name, val, err)}") from None
    if row.p_match is not None and row.p_interview is not None and row.p_match > row.p_interview + 1e-9:
        raise InputError(f"{where}: line {line} ({row.program_id}): p_match {row.p_match:g} exceeds p_interview "
                         f"{row.p_interview:g} (a match needs an interview); fix one of them")
    return row


def load_catalog(path: str | Path) -> Catalog:
    """Read and validate a catalog CSV.

    >>> cat = load_catalog(DATA_DIR / "catalogs" / "demo_tiny.csv")  # doctest: +SKIP
    """
    p = Path(path)
    if p.is_dir():
        raise InputError(f"{p}: is a folder; give the catalog CSV file itself (columns {', '.join(REQUIRED)})")
    if not p.is_file():
        raise InputError(f"{p}: no such catalog file; give the path to a CSV with columns "
                         f"{', '.join(REQUIRED)}")
    try:
        text = p.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as e:
        raise not_utf8(p, e, "save the file as comma-separated UTF-8") from None
    return catalog_from_text(text, str(p))


def catalog_from_text(text: str, label: str) -> Catalog:
    """A catalog CSV given as text (a file's, an upload's), validated as one; ``label`` names
    it in every message and in the JSON."""
    header, records, lines = read_csv_rows(text, label)
    return catalog_from_records(records, header, label, lines)


def read_csv_rows(text: str, label: str) -> tuple[list[str], list[dict], list[int]]:
    """(the header's names, stripped; one dict per row: name -> text; the file line each row
    starts on).  Blank lines and rows whose every cell is empty (",,,,", as spreadsheets save
    formatted empty rows) are skipped.  Refused: a header that names a column twice, a quoted
    value still open at the end of the file (a truncated file), a row with more fields than the
    header (a value with an unquoted comma) and one with fewer (its missing cells would take the
    defaults without a word)."""
    body = text.lstrip("\ufeff")
    try:
        rows = _parse(body, strict=True)
    except csv.Error as e:
        if "unexpected end of data" in str(e):
            raise InputError(f"{label}: not a readable CSV (a quoted value is not closed before the end of the "
                             "file); close the quote or save the file again as comma-separated UTF-8") from None
        try:  # text after a closing quote ("b"c) reads as pandas read it
            rows = _parse(body, strict=False)
        except csv.Error as e2:
            raise InputError(f"{label}: not a readable CSV ({e2}); save it as comma-separated UTF-8") from None
    if not rows:
        raise InputError(f"{label}: the file is empty; it needs a header line and one row per "
                         "program") from None
    header = [h.strip() for h in rows[0][1]]
    refuse_semicolons(header, f"{label}: line {rows[0][0]}")
    dup = next((h for h in header if h and header.count(h) > 1), None)
    if dup:  # one of the two would be read, the other ignored
        raise InputError(f"{label}: line {rows[0][0]}: column {dup!r} appears twice in the header; keep one")
    records, lines = [], []
    for line, row in rows[1:]:
        if not any(cell.strip() for cell in row):  # ",,,,": a spreadsheet's empty row, skipped as a blank line
            continue
        if len(row) > len(header):
            raise InputError(f"{label}: line {line}: more fields than the header's {len(header)}; quote "
                             "values that contain commas, or add the missing column names")
        if len(row) < len(header):  # its last cells would be read as empty, the defaults used without a word
            raise InputError(f"{label}: line {line}: {len(row)} field{'s' if len(row) != 1 else ''}, the header "
                             f"has {len(header)}; add the missing values (an empty cell is written ,,)")
        records.append(dict(zip(header, row)))
        lines.append(line)
    return header, records, lines


def _parse(body: str, strict: bool) -> list[tuple[int, list[str]]]:
    """(the line each row starts on, its fields), blank and whitespace-only lines left out."""
    physical = io.StringIO(body, newline="").readlines()  # the lines as the reader counts them
    reader = csv.reader(io.StringIO(body, newline=""), skipinitialspace=True, strict=strict)
    out, start = [], 1
    for row in reader:
        blank = not row or (row == [""] and not physical[start - 1].strip())
        if not blank:
            out.append((start, row))
        start = reader.line_num + 1
    return out
