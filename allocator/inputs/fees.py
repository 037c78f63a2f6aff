"""ERAS fee schedules (USD), read from ``data/fees/eras_<season>.toml``.

A schedule is a list of tiers that restart in each specialty: tier t covers programs
``prev_upto+1 .. upto`` and charges either ``per_program`` USD each or one ``flat`` amount
as soon as the tier is entered (only the first tier may be flat: 2024's "$99 for up to 10").
Per-program rates must not fall from one tier to the next: that makes the fee convex after
the flat block, so the integer program models it exactly with one continuous variable per
tier (plus one binary per specialty for a flat first block).

The files are read and checked through :mod:`allocator.inputs.loader` (pydantic models
below), then the tiers' order is checked here.

``fixed`` costs (the USMLE transcript) do not depend on the list: they are reported beside
the list's cost and not counted against the budget.
"""
from __future__ import annotations

import math
from pathlib import Path
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal, Optional, Union

from pydantic import BaseModel, ConfigDict, Field, field_validator

from allocator.errors import InputError
from allocator.inputs.loader import read_toml, validate
from allocator.inputs.feefiles import available_seasons
from allocator.paths import DATA_DIR


# A list may cost up to this much above the budget (USD): floating-point rounding of fee sums,
# and the integer program's row tolerance (HiGHS 1e-7 relative) on budgets in the thousands.
# One figure for every path (count scans, dynamic program, integer program, re-checks), so the
# same budget admits the same lists whichever path solves it.
BUDGET_TOL = 1e-6
MAX_COUNT = 100_000  # max_count's answer when the budget buys any number of programs


@dataclass(frozen=True)
class Tier:
    lo: int  # programs already covered by earlier tiers
    hi: float  # last program covered by this tier (math.inf for the last tier)
    per_program: float = 0.0
    flat: float = 0.0

    @property
    def width(self) -> float:
        return self.hi - self.lo


@dataclass(frozen=True)
class FeeSchedule:
    season: str
    tiers: tuple[Tier, ...]
    fixed: tuple[tuple[str, float], ...] = ()
    source: str = ""

    def fee(self, n: int) -> float:
        """ERAS fee for ``n`` programs of one specialty.

        >>> load_schedule("2026").fee(43)
        720.0
        """
        if n <= 0:
            return 0.0
        total = 0.0
        for t in self.tiers:
            if n <= t.lo:
                break
            k = min(n, t.hi) - t.lo
            total += t.flat + t.per_program * k
        return float(total)

    def fees(self, n_max: int) -> list[float]:
        """``[fee(0), fee(1), ..., fee(n_max)]``."""
        return list(_fee_table(self, n_max))

    @property
    def fixed_total(self) -> float:
        return float(sum(v for _, v in self.fixed))

    def max_count(self, budget: float) -> int:
        """Largest n with fee(n) <= budget (for one specialty), capped at MAX_COUNT.

        Walks the tiers (fee(n) is non-decreasing), so an infinite budget costs no more
        than a small one."""
        if budget < -1e-9:
            return 0
        n, spent = 0, 0.0
        for t in self.tiers:
            if t.flat and spent + t.flat + t.per_program > budget + BUDGET_TOL:
                break
            spent += t.flat
            room = budget + BUDGET_TOL - spent
            k = t.width if (t.per_program <= 0 or math.isinf(room)) else math.floor(room / t.per_program + 1e-12)
            k = max(0.0, min(k, t.width))
            n_here = n + k
            if k < t.width or math.isinf(n_here):
                n = n_here
                break
            n, spent = int(n_here), spent + t.per_program * k
        n = int(min(n, MAX_COUNT))
        while n > 0 and self.fee(n) > budget + BUDGET_TOL:  # floating-point edge: step back
            n -= 1
        while n < MAX_COUNT and self.fee(n + 1) <= budget + BUDGET_TOL:
            n += 1
        return n


class _TierSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)  # 30, not "30" or true

    upto: Optional[int] = Field(default=None, gt=0)
    per_program: float = Field(default=0.0, ge=0, allow_inf_nan=False)
    flat: float = Field(default=0.0, ge=0, allow_inf_nan=False)


class _FixedCost(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)  # 30, not "30" or true

    name: str
    usd: float = Field(ge=0, allow_inf_nan=False)
    source: Optional[str] = None


class _FeeFile(BaseModel):
    """``data/fees/eras_<season>.toml`` as written; :func:`_parse` checks the tiers' order."""

    model_config = ConfigDict(extra="forbid")

    season: Union[str, int] = ""
    source: str = ""
    tiers: list[_TierSpec] = Field(default_factory=list)
    fixed: list[_FixedCost] = Field(default_factory=list)


class _SignalsFile(BaseModel):
    """``data/signals/eras_signals.toml``: ``[seasons."2026"] "Internal Medicine" = {gold = 3, silver = 12}``."""

    model_config = ConfigDict(extra="forbid", strict=True)  # counts as numbers: 3, not "3" or true

    source: str
    seasons: dict[str, dict[str, dict[Literal["gold", "silver"], int]]] = Field(default_factory=dict)

    @field_validator("seasons")
    @classmethod
    def _counts(cls, v):
        for season, specs in v.items():
            for spec, kinds in specs.items():
                if any(n < 0 for n in kinds.values()):
                    raise ValueError(f"{season} {spec}: signal counts must be >= 0")
        return v


def _parse(doc: dict, where: str) -> FeeSchedule:
    spec = validate(_FeeFile, doc, where)
    if not spec.tiers:
        raise InputError(f"{where}: no [[tiers]]: add at least one tier with per_program or flat")
    tiers: list[Tier] = []
    lo = 0
    for j, t in enumerate(spec.tiers):
        hi = math.inf if t.upto is None else t.upto
        if j < len(spec.tiers) - 1 and hi == math.inf:
            raise InputError(f"{where}: tier {j + 1} has no 'upto' but is not the last tier")
        if hi <= lo:
            raise InputError(f"{where}: tier {j + 1} upto={hi} must exceed the previous tier's {lo}")
        if t.flat and j > 0:
            raise InputError(f"{where}: tier {j + 1} is flat; only the first tier may be flat")
        tiers.append(Tier(lo=lo, hi=hi, per_program=t.per_program, flat=t.flat))
        lo = hi
    rates = [t.per_program for t in tiers if not t.flat]
    if any(b < a for a, b in zip(rates, rates[1:])):
        raise InputError(f"{where}: per-program rates fall from one tier to the next; "
                         "the optimizer needs non-decreasing rates after a flat first block")
    fixed = tuple((f.name, f.usd) for f in spec.fixed)
    return FeeSchedule(str(spec.season), tuple(tiers), fixed, spec.source)


def folder_in_place(season: str) -> bool:
    """True when ``data/fees/eras_<season>.toml`` is a folder (found by listing: a name too long
    for the file system is no error here)."""
    return any(p.name == f"eras_{season}.toml" and p.is_dir() for p in (DATA_DIR / "fees").glob("eras_*.toml"))


def unknown_season(season: str) -> str:
    """Why ``season`` has no fee schedule, and what to do: one line."""
    path = DATA_DIR / "fees" / f"eras_{season}.toml"
    if folder_in_place(season):
        return (f"{path}: is a folder, not the fee schedule of season '{season}'; restore the TOML file from the "
                "allocator release (or reinstall allocator)")
    return (f"season '{season}' has no fee schedule; use one of {', '.join(available_seasons())}{own_file_hint(season)} "
            f"{add_hint(season)}").rstrip()


def own_file_hint(season: str) -> str:
    """" (a fee file of your own must be named ending in .toml)" for a season that looks like a
    path but is not one (:func:`is_fee_file`); "" otherwise."""
    return " (a fee file of your own must be named ending in .toml)" if "/" in season or "\\" in season else ""


def add_hint(season: str) -> str:
    """How to add a season allocator has no fee file for (the refusals' last words); "" for a name
    that is no year (a typo, not a season to add).  The words name no form field (the web page
    places a message under the field it names)."""
    if not (season.isdigit() and len(season) == 4):
        return ""
    return f"(or add data/fees/eras_{season}.toml and that season's ERAS signal counts: docs/maintaining.md)"


@lru_cache(maxsize=64)
def _fee_table(schedule: FeeSchedule, n_max: int) -> tuple[float, ...]:
    """FeeSchedule.fees, kept: the local search and the builders ask for it hundreds of times."""
    return tuple(schedule.fee(k) for k in range(n_max + 1))


def is_fee_file(season: str) -> bool:
    """A season given as the path of a fee schedule file of your own (``eras_2027.toml``: a new
    cycle's fees on an installed allocator), not a season name."""
    return str(season).lower().endswith(".toml")


def own_fee_file(season: str) -> Path:
    """The path of a fee schedule file given as the season; InputError when it is no file."""
    path = Path(str(season)).expanduser()
    if not path.is_file():
        where = "" if path.is_absolute() else f", read from the folder you run allocator in, {Path.cwd()}"
        raise InputError(f"{path}: no such fee schedule file (a season given as a path must name a TOML file "
                         f"laid out as the shipped {DATA_DIR / 'fees' / 'eras_2026.toml'}{where}); fix the path")
    return path


@lru_cache(maxsize=None)
def load_schedule(season: str) -> FeeSchedule:
    """The ERAS fee schedule of a season: a season with a fee file in data/fees (e.g. "2026"),
    "none", or the path of a fee file of your own (its ``season`` key names the season; see
    :func:`is_fee_file`); see :func:`available_seasons`."""
    season = str(season)
    path = own_fee_file(season) if is_fee_file(season) else DATA_DIR / "fees" / f"eras_{season}.toml"
    if not path.is_file():
        raise InputError(unknown_season(season))
    schedule = _parse(read_toml(path, what="fee schedule"), str(path))
    if is_fee_file(season) and not str(schedule.season).strip():
        raise InputError(f'{path}: no season key; add season = "2027" (the ERAS season\'s Match year) above the tiers')
    return schedule


def _signals_file() -> _SignalsFile:
    path = DATA_DIR / "signals" / "eras_signals.toml"
    return validate(_SignalsFile, read_toml(path, what="signal table"), str(path))


def signal_seasons() -> list[str]:
    """The seasons ``data/signals/eras_signals.toml`` has counts for, sorted."""
    return sorted(_signals_file().seasons)


@lru_cache(maxsize=None)
def signals_available(season: str) -> dict[str, dict[str, int]]:
    """ERAS program signals per specialty for a season: ``{specialty: {"gold": n, "silver": m}}``
    (empty when the season has no signal data; single-tier signals are listed as gold).
    Read from ``data/signals/eras_signals.toml``."""
    raw = _signals_file().seasons.get(str(season), {})
    return {spec: dict(kinds) for spec, kinds in raw.items()}
