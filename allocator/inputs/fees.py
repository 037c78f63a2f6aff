"""ERAS fee schedules (USD), read from ``data/fees/eras_<season>.toml``.

A schedule is a list of tiers that restart in each specialty: tier t covers programs
``prev_upto+1 .. upto`` and charges either ``per_program`` USD each or one ``flat`` amount
as soon as the tier is entered (only the first tier may be flat: 2024's "$99 for up to 10").
Per-program rates must not fall from one tier to the next: that makes the fee convex after
the flat block, so the integer program models it exactly with one continuous variable per
tier (plus one binary per specialty for a flat first block).

``fixed`` costs (the USMLE transcript) do not depend on the list: they are reported beside
the list's cost and not counted against the budget.
"""
from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass
from functools import lru_cache

from allocator.errors import InputError
from allocator.paths import DATA_DIR


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
        return [self.fee(k) for k in range(n_max + 1)]

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
            if t.flat and spent + t.flat + t.per_program > budget + 1e-9:
                break
            spent += t.flat
            room = budget + 1e-9 - spent
            k = t.width if (t.per_program <= 0 or math.isinf(room)) else math.floor(room / t.per_program + 1e-12)
            k = max(0.0, min(k, t.width))
            n_here = n + k
            if k < t.width or math.isinf(n_here):
                n = n_here
                break
            n, spent = int(n_here), spent + t.per_program * k
        n = int(min(n, MAX_COUNT))
        while n > 0 and self.fee(n) > budget + 1e-9:  # floating-point edge: step back
            n -= 1
        while n < MAX_COUNT and self.fee(n + 1) <= budget + 1e-9:
            n += 1
        return n


def _parse(doc: dict, where: str) -> FeeSchedule:
    tiers: list[Tier] = []
    lo = 0
    raw = doc.get("tiers")
    if not isinstance(raw, list) or not raw:
        raise InputError(f"{where}: no [[tiers]]: add at least one tier with per_program or flat")
    for j, t in enumerate(raw):
        hi = t.get("upto", math.inf)
        if j < len(raw) - 1 and hi == math.inf:
            raise InputError(f"{where}: tier {j + 1} has no 'upto' but is not the last tier")
        if hi <= lo:
            raise InputError(f"{where}: tier {j + 1} upto={hi} must exceed the previous tier's {lo}")
        flat, per = float(t.get("flat", 0.0)), float(t.get("per_program", 0.0))
        if flat and j > 0:
            raise InputError(f"{where}: tier {j + 1} is flat; only the first tier may be flat")
        if flat < 0 or per < 0:
            raise InputError(f"{where}: tier {j + 1} has a negative fee")
        tiers.append(Tier(lo=lo, hi=hi, per_program=per, flat=flat))
        lo = hi
    rates = [t.per_program for t in tiers if not t.flat]
    if any(b < a for a, b in zip(rates, rates[1:])):
        raise InputError(f"{where}: per-program rates fall from one tier to the next; "
                         "the optimizer needs non-decreasing rates after a flat first block")
    fixed = tuple((str(f["name"]), float(f["usd"])) for f in doc.get("fixed", []))
    return FeeSchedule(str(doc.get("season", "")), tuple(tiers), fixed, str(doc.get("source", "")))


def available_seasons() -> list[str]:
    return sorted(p.stem.removeprefix("eras_") for p in (DATA_DIR / "fees").glob("eras_*.toml"))


@lru_cache(maxsize=None)
def load_schedule(season: str) -> FeeSchedule:
    """The ERAS fee schedule of a season ("2024", "2025", "2026")."""
    season = str(season)
    path = DATA_DIR / "fees" / f"eras_{season}.toml"
    if not path.is_file():
        raise InputError(f"season '{season}' has no fee schedule; use one of "
                         f"{', '.join(available_seasons())} (or add data/fees/eras_{season}.toml)")
    try:
        with open(path, "rb") as f:
            doc = tomllib.load(f)
    except tomllib.TOMLDecodeError as e:
        raise InputError(f"{path}: {e}") from None
    return _parse(doc, str(path))


@lru_cache(maxsize=None)
def signals_available(season: str) -> dict[str, dict[str, int]]:
    """ERAS program signals per specialty for a season: ``{specialty: {"gold": n, "silver": m}}``
    (empty when the season has no signal data; single-tier signals are listed as gold).
    Read from ``data/signals/eras_signals.toml``."""
    path = DATA_DIR / "signals" / "eras_signals.toml"
    with open(path, "rb") as f:
        doc = tomllib.load(f)
    raw = doc.get("seasons", {}).get(str(season), {})
    return {spec: {k: int(v) for k, v in kinds.items() if k in ("gold", "silver")} for spec, kinds in raw.items()}
