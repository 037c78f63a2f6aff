"""Generate data/catalogs/tiny_p_match.csv: 40 SYNTHETIC Internal Medicine programs that
carry their own p_match (so the probability model is not consulted).

Places are real cities; programs and probabilities are invented (seeded).  The
probabilities follow the seed guide's picture, not data: Greater-LA programs are crowded
(lower p), community programs in IMG-friendly regions higher.  They are UNCALIBRATED: no
published figure or model card was fitted to them, and they are not outputs of
models/default.toml.  Run:
    python data/make_tiny_catalog.py
"""
from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

PLACES = [  # (city, state, county or "", la_area, setting)
    ("Los Angeles", "CA", "Los Angeles", True, "university"), ("Los Angeles", "CA", "Los Angeles", True, "county"),
    ("Torrance", "CA", "Los Angeles", True, "county"), ("Pasadena", "CA", "Los Angeles", True, "community"),
    ("Glendale", "CA", "Los Angeles", True, "community"), ("Orange", "CA", "Orange", True, "university"),
    ("Riverside", "CA", "Riverside", True, "community"), ("Loma Linda", "CA", "San Bernardino", True, "university"),
    ("Colton", "CA", "San Bernardino", True, "county"), ("Ventura", "CA", "Ventura", True, "county"),
    ("San Diego", "CA", "San Diego", False, "university"), ("Fresno", "CA", "Fresno", False, "university"),
    ("Sacramento", "CA", "Sacramento", False, "university"), ("Oakland", "CA", "Alameda", False, "community"),
    ("Las Vegas", "NV", "", False, "university"), ("Phoenix", "AZ", "", False, "community"),
    ("Tucson", "AZ", "", False, "university"), ("Portland", "OR", "", False, "university"),
    ("Chicago", "IL", "", False, "community"), ("Detroit", "MI", "", False, "community"),
    ("Flint", "MI", "", False, "community"), ("Cleveland", "OH", "", False, "community"),
    ("Toledo", "OH", "", False, "community"), ("Youngstown", "OH", "", False, "community"),
    ("Pittsburgh", "PA", "", False, "community"), ("Scranton", "PA", "", False, "community"),
    ("Brooklyn", "NY", "", False, "community"), ("Bronx", "NY", "", False, "community"),
    ("Newark", "NJ", "", False, "community"), ("Paterson", "NJ", "", False, "community"),
    ("Atlanta", "GA", "", False, "university"), ("Macon", "GA", "", False, "community"),
    ("Memphis", "TN", "", False, "university"), ("Jackson", "MS", "", False, "university"),
    ("Houston", "TX", "", False, "community"), ("Lubbock", "TX", "", False, "university"),
    ("Odessa", "TX", "", False, "community"), ("Omaha", "NE", "", False, "community"),
    ("Wichita", "KS", "", False, "community"), ("Springfield", "IL", "", False, "university"),
]


def main(out: Path = Path(__file__).parent / "catalogs" / "tiny_p_match.csv", seed: int = 20261126) -> None:
    rng = np.random.default_rng(seed)
    rows = []
    for k, (city, st, county, la, setting) in enumerate(PLACES, start=1):
        # All INVENTED, illustrative numbers: a base p_match by setting (community programs
        # friendliest to IMGs, as in the APDIM 2017 survey's direction; the levels are made
        # up), times a crowding factor (Greater LA 0.45, as the card's la_crowding_odds_ratio;
        # rest of California 0.7, a judgement), times lognormal noise (sd 0.35), clipped to
        # [0.003, 0.25].  Nothing here is calibrated.
        base = {"university": 0.03, "community": 0.08, "county": 0.05}[setting]
        crowd = 0.45 if la else (0.7 if st == "CA" else 1.0)
        p = float(np.clip(base * crowd * rng.lognormal(0, 0.35), 0.003, 0.25))
        rows.append({
            "program_id": f"TINY-{k:02d}", "name": f"Synthetic IM Program {k:02d} ({city}, {st})",
            "specialty": "Internal Medicine", "city": city, "state": st, "county": county,
            "la_area": str(la).lower(), "setting": setting, "p_match": f"{p:.4f}", "synthetic": "true",
        })
    with open(out, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)


if __name__ == "__main__":
    main()
