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
from functools import lru_cache

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


@lru_cache(maxsize=1)
def _ca_city_county() -> dict[str, str]:
    path = DATA_DIR / "geography" / "ca_cities_regions.csv"
    with open(path, newline="") as f:
        return {_norm(r["city"]): r["county"] for r in csv.DictReader(f)}


def ca_county_of(city: str) -> str | None:
    """County of a California city, or None when the city is not in the table."""
    return _ca_city_county().get(_norm(city))


def is_la_area(state: str, county: str | None = None, city: str | None = None) -> bool:
    """True when the place is in one of the five Greater-LA counties.

    The county wins when given; otherwise a California city is looked up.
    >>> is_la_area("CA", city="Torrance"), is_la_area("CA", county="San Diego")
    (True, False)
    """
    if state.upper() != "CA":
        return False
    if county:
        c = county.strip()
        c = c[: -len(" County")] if c.lower().endswith(" county") else c
        return _norm(c) in {_norm(x) for x in GREATER_LA_COUNTIES}
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
