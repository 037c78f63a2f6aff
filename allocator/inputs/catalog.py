"""Load and validate a program catalog (CSV, one row per program).

Columns (README, "Catalog CSV"): required ``program_id`` (unique), ``name``,
``specialty``, ``city``, ``state`` (2 letters); optional ``county``, ``la_area`` (derived
from county/city when absent), ``region``, ``division`` (derived from state), ``setting``
(university / community / county), ``positions``, ``img_share`` (0-1), ``min_step2``,
``max_attempts``, ``max_years_since_graduation``, ``signal_gold_ok``, ``fee_extra`` (USD,
default 0), ``p_interview``, ``p_match`` (probabilities in [0, 1]), ``utility``, and
``synthetic`` (true for invented programs: every output then says so).

Validation happens here, once (pydantic); the rest of the package trusts the typed
result.  A bad value raises :class:`~allocator.errors.InputError` naming the file, the
CSV line and column, and what to change.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Optional

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from allocator.inputs import geography
from allocator.errors import InputError

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
    utility: Optional[float] = Field(default=None, ge=0)
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


@dataclass(frozen=True)
class Catalog:
    """A validated catalog: ``df`` has one row per program, columns normalized.

    Derived columns: ``la_area`` (bool), ``division`` and ``tier`` ("la", "west",
    "elsewhere").  ``synthetic`` is True when any row is marked synthetic.
    """

    df: pd.DataFrame
    path: str = "<catalog>"

    @property
    def synthetic(self) -> bool:
        return bool(self.df["synthetic"].any())

    @property
    def has_own_p_match(self) -> bool:
        return bool(self.df["p_match"].notna().all())

    @property
    def specialties(self) -> list[str]:
        return sorted(self.df["specialty"].unique())

    def __len__(self) -> int:
        return len(self.df)


def _friendly(err: dict) -> str:
    t, msg = err.get("type", ""), err.get("msg", "")
    ctx = err.get("ctx") or {}
    if t == "missing":
        return "is empty; fill it in"
    if t in ("greater_than_equal", "less_than_equal"):
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


def catalog_from_frame(df: pd.DataFrame, path: str = "<catalog>") -> Catalog:
    """Validate a DataFrame of catalog rows (strings or typed values)."""
    where = path
    missing = [c for c in REQUIRED if c not in df.columns]
    if missing:
        raise InputError(f"{where}: missing required column(s) {', '.join(missing)}; the header "
                         f"must include {', '.join(REQUIRED)}")
    if len(df) == 0:
        raise InputError(f"{where}: the catalog has no programs; add at least one row")
    rows = []
    cols = [c for c in (*REQUIRED, *OPTIONAL) if c in df.columns]
    records = df[cols].to_dict("records")
    for i, rec in enumerate(records):
        clean = {k: (None if (v is None or (isinstance(v, float) and math.isnan(v))
                              or (isinstance(v, str) and v.strip() == "")) else v)
                 for k, v in rec.items()}
        clean = {k: v for k, v in clean.items() if v is not None}
        try:
            rows.append(ProgramRow.model_validate(clean))
        except ValidationError as e:
            err = e.errors()[0]
            field = ".".join(str(x) for x in err["loc"]) or "?"
            pid = rec.get("program_id", "")
            val = rec.get(field, "")
            ident = f" ({pid})" if pid and field != "program_id" else ""
            raise InputError(f"{where}: line {i + 2}{ident}, column {field} = {val!r}: "
                             f"{_friendly(err)}") from None
    out = pd.DataFrame([r.model_dump() for r in rows])
    dup = out["program_id"][out["program_id"].duplicated()]
    if len(dup):
        first = dup.iloc[0]
        lines = [i + 2 for i, v in enumerate(out["program_id"]) if v == first]
        raise InputError(f"{where}: program_id {first!r} appears on lines "
                         f"{', '.join(map(str, lines))}; program ids must be unique")
    la = [r.la_area if r.la_area is not None else geography.is_la_area(r.state, r.county, r.city)
          for r in rows]
    out["la_area"] = pd.Series(la, dtype=bool)
    out["division"] = [r.division or geography.division_of(r.state) for r in rows]
    out["tier"] = [geography.tier_of(s, l) for s, l in zip(out["state"], out["la_area"])]
    out["synthetic"] = out["synthetic"].astype(bool)
    pm = out["p_match"]
    if pm.notna().any() and not pm.notna().all():
        line = int(pm.isna().to_numpy().nonzero()[0][0]) + 2
        raise InputError(f"{where}: line {line}, column p_match is empty while other rows give "
                         "one; give p_match for every row or for none")
    return Catalog(out.reset_index(drop=True), path)


def load_catalog(path: str | Path) -> Catalog:
    """Read and validate a catalog CSV.

    >>> cat = load_catalog(DATA_DIR / "catalogs" / "demo_tiny.csv")  # doctest: +SKIP
    """
    p = Path(path)
    if not p.is_file():
        raise InputError(f"{p}: no such catalog file; give the path to a CSV with columns "
                         f"{', '.join(REQUIRED)}")
    try:
        text = p.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as e:
        raise InputError(f"{p}: not a readable CSV ({e.reason}); save it as comma-separated UTF-8") from None
    return catalog_from_text(text, str(p))


def catalog_from_text(text: str, label: str) -> Catalog:
    """A catalog CSV given as text (a file's, an upload's), validated as one; ``label`` names
    it in every message and in the JSON."""
    import io

    _check_header(text, label)
    try:
        df = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, skipinitialspace=True)
    except pd.errors.EmptyDataError:
        raise InputError(f"{label}: the file is empty; it needs a header line and one row per "
                         "program") from None
    except (pd.errors.ParserError, ValueError) as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise InputError(f"{label}: not a readable CSV ({first}); save it as comma-separated UTF-8") from None
    if not isinstance(df.index, pd.RangeIndex):  # pandas turned extra leading fields into an index
        raise InputError(f"{label}: the first row has more fields than the header's {len(df.columns)}; quote "
                         "values that contain commas, or add the missing column names")
    df.columns = [str(c).strip() for c in df.columns]
    return catalog_from_frame(df, label)


def _check_header(text: str, label: str) -> None:
    """Refuse a header that names a column twice (pandas would rename the second p_match.1)."""
    import csv

    try:
        header = next(csv.reader(text.lstrip("\ufeff").splitlines()[:1]), [])
    except csv.Error:
        return  # read_csv reports it
    names = [h.strip() for h in header]
    dup = next((h for h in names if h and names.count(h) > 1), None)
    if dup:
        raise InputError(f"{label}: line 1: column {dup!r} appears twice in the header; keep one")

