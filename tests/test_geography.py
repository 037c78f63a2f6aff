"""Which places count as Greater Los Angeles: the five counties of the Los Angeles-Long Beach
Combined Statistical Area (Los Angeles, Orange, Riverside, San Bernardino, Ventura; OMB 2020),
California cities through their county, the county winning over the city, nothing outside CA.
(Cities missing from the table are left to the loader's own tests.)"""
from __future__ import annotations

import csv

import pytest

from allocator.inputs.geography import ca_county_of, is_la_area
from allocator.paths import DATA_DIR


@pytest.mark.parametrize("city, county, la", [
    ("Los Angeles", "Los Angeles", True),
    ("Torrance", "Los Angeles", True),
    ("Anaheim", "Orange", True),
    ("Riverside", "Riverside", True),
    ("San Bernardino", "San Bernardino", True),
    ("Oxnard", "Ventura", True),
    ("San Diego", "San Diego", False),
    ("Fresno", "Fresno", False),
    ("Bakersfield", "Kern", False),
])
def test_california_city_counts_through_its_county(city, county, la):
    assert ca_county_of(city) == county
    assert is_la_area("CA", city=city) is la
    assert is_la_area("CA", county=county) is la
    # spelling: case, surrounding and repeated spaces, "County" after the name
    assert ca_county_of(f"  {city.upper()} ") == county
    assert is_la_area("ca", county=f"{county} County") is la


@pytest.mark.parametrize("county", ["Santa Barbara", "Kern", "San Diego", "Imperial", "San Luis Obispo"])
def test_neighbouring_counties_are_not_greater_la(county):
    assert is_la_area("CA", county=county) is False


def test_the_county_wins_over_the_city():
    assert is_la_area("CA", county="San Diego", city="Los Angeles") is False
    assert is_la_area("CA", county="Kern", city="Oxnard") is False
    assert is_la_area("CA", county="Ventura", city="Fresno") is True
    assert is_la_area("CA", county="Orange County", city="Bakersfield") is True


@pytest.mark.parametrize("state", ["NV", "AZ", "TX", "OR", "NY"])
def test_outside_california_is_never_la(state):
    assert is_la_area(state, county="Los Angeles") is False
    assert is_la_area(state, city="Los Angeles") is False
    assert is_la_area(state, county="Orange", city="Anaheim") is False


def test_every_table_city_agrees_with_the_tables_csa_column():
    """The city table's greater_la_csa column (from the CSA definition, independently of the
    code's county set) agrees with is_la_area for each of its 1 200-odd cities."""
    with open(DATA_DIR / "geography" / "ca_cities_regions.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) > 1000 and sum(r["greater_la_csa"] == "1" for r in rows) > 200
    wrong = [r["city"] for r in rows if is_la_area("CA", city=r["city"]) is not (r["greater_la_csa"] == "1")]
    assert wrong == []
    la_counties = {r["county"] for r in rows if r["greater_la_csa"] == "1"}
    assert la_counties == {"Los Angeles", "Orange", "Riverside", "San Bernardino", "Ventura"}
