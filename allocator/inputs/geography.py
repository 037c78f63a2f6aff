"""Geography: Greater Los Angeles, Census divisions, and the seed guide's three tiers.

Facts, not estimates:
- Greater LA = the Los Angeles-Long Beach Combined Statistical Area: Los Angeles, Orange,
  Riverside, San Bernardino and Ventura counties (OMB 2020).
- Census divisions by state (US Census Bureau regions and divisions).
- California cities -> county from ``data/geography/ca_cities_regions.csv`` (city
  coordinates from the MIT-licensed kelvins/US-Cities-Database).

Tiers (seed guide): 1 = Greater LA; 2 = the rest of California and NV, AZ, OR, WA ("West");
3 = everywhere else.
"""
from __future__ import annotations

import csv
import io
from functools import lru_cache

from allocator.errors import InputError
from allocator.paths import DATA_DIR

GREATER_LA_COUNTIES = frozenset({"Los Angeles", "Orange", "Riverside", "San Bernardino", "Ventura"})
WEST_STATES = frozenset({"CA", "NV", "AZ", "OR", "WA"})

CENSUS_DIVISIONS: dict[str, tuple[str, ...]] = {
    "New England": ("CT", "ME", "MA", "NH", "RI", "VT"),
    "Middle Atlantic": ("NJ", "NY", "PA"),
    "East North Central": ("IL", "IN", "MI", "OH", "WI"),
    "West North Central": ("IA", "KS", "MN", "MO", "NE", "ND", "SD"),
    "South Atlantic": ("DE", "DC", "FL", "GA", "MD", "NC", "SC", "VA", "WV"),
    "East South Central": ("AL", "KY", "MS", "TN"),
    "West South Central": ("AR", "LA", "OK", "TX"),
    "Mountain": ("AZ", "CO", "ID", "MT", "NV", "NM", "UT", "WY"),
    "Pacific": ("AK", "CA", "HI", "OR", "WA"),
}
STATE_TO_DIVISION = {st: div for div, states in CENSUS_DIVISIONS.items() for st in states}
DIVISION_TO_REGION = {
    "New England": "Northeast", "Middle Atlantic": "Northeast",
    "East North Central": "Midwest", "West North Central": "Midwest",
    "South Atlantic": "South", "East South Central": "South", "West South Central": "South",
    "Mountain": "West", "Pacific": "West",
}
US_STATES = frozenset(STATE_TO_DIVISION) | {"PR", "GU", "VI"}


def _norm(s: str) -> str:
    return " ".join(str(s).strip().lower().split())


def read_table(name: str, columns: tuple[str, ...]) -> list[dict]:
    """The rows of the shipped table ``data/geography/<name>``; a missing, unreadable, empty or
    damaged table is one :class:`InputError` line naming it (never an empty table, which would
    put every California city outside Greater LA without a word)."""
    path = DATA_DIR / "geography" / name
    fix = "restore it from the allocator release (or reinstall allocator)"
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise InputError(f"{path}: the shipped geography table is missing; {fix}") from None
    except UnicodeDecodeError:
        raise InputError(f"{path}: the shipped geography table is not UTF-8 text; {fix}") from None
    except OSError as e:
        raise InputError(f"{path}: the shipped geography table cannot be read ({e.strerror or type(e).__name__}); "
                         f"{fix}") from None
    if not text.strip():
        raise InputError(f"{path}: the shipped geography table is empty; {fix}")
    reader = csv.DictReader(io.StringIO(text, newline=""))
    rows = list(reader)
    missing = [c for c in columns if c not in (reader.fieldnames or ())]
    if missing:
        raise InputError(f"{path}: the shipped geography table has no column {missing[0]!r} (its header must "
                         f"include {', '.join(columns)}); {fix}")
    if not rows:
        raise InputError(f"{path}: the shipped geography table has no rows; {fix}")
    for k, r in enumerate(rows):
        empty = next((c for c in columns if not (r.get(c) or "").strip()), None)
        if empty:
            raise InputError(f"{path}: line {k + 2}: column {empty} is empty in the shipped geography table; {fix}")
    return rows


@lru_cache(maxsize=1)
def _ca_city_county() -> dict[str, str]:
    return {_norm(r["city"]): r["county"].strip() for r in read_table("ca_cities_regions.csv", ("city", "county"))}


@lru_cache(maxsize=1)
def _ca_counties() -> frozenset[str]:
    return frozenset(_norm(r["county"]) for r in read_table("ca_counties_regions.csv", ("county",)))


def _county_name(county: str) -> str:
    c = county.strip()
    return c[: -len(" County")] if c.lower().endswith(" county") else c


def ca_county_of(city: str) -> str | None:
    """County of a California city, or None when the city is not in the table."""
    return _ca_city_county().get(_norm(city))


def is_ca_county(county: str) -> bool:
    """True when ``county`` ("Los Angeles" or "Los Angeles County") is one of the 58 California counties."""
    return _norm(_county_name(county)) in _ca_counties()


def is_la_area(state: str, county: str | None = None, city: str | None = None) -> bool:
    """True when the place is in one of the five Greater-LA counties.

    The county wins when given; otherwise a California city is looked up.
    >>> is_la_area("CA", city="Torrance"), is_la_area("CA", county="San Diego")
    (True, False)
    """
    if state.upper() != "CA":
        return False
    if county:
        return _norm(_county_name(county)) in {_norm(x) for x in GREATER_LA_COUNTIES}
    if city:
        cty = ca_county_of(city)
        return cty in GREATER_LA_COUNTIES if cty else False
    return False


def division_of(state: str) -> str | None:
    return STATE_TO_DIVISION.get(state.upper())


def tier_of(state: str, la_area: bool) -> str:
    """The seed guide's geographic tier: "la", "west" or "elsewhere"."""
    if la_area:
        return "la"
    return "west" if state.upper() in WEST_STATES else "elsewhere"
