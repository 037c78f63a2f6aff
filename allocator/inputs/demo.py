"""The shipped synthetic demo catalogs: the catalog a command uses when none is given."""
from __future__ import annotations

import csv
import difflib
import functools
import re
from pathlib import Path

from allocator.errors import InputError
from allocator.inputs.catalog import Catalog, catalog_from_records, load_catalog, read_csv_rows
from allocator.inputs.profile import Profile
from allocator.paths import DATA_DIR


def _slug(specialty: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", specialty.lower()).strip("_")


def demo_catalog_path(specialty: str) -> Path:
    return DATA_DIR / "catalogs" / f"demo_{_slug(specialty)}.csv"


@functools.lru_cache(maxsize=1)
def demo_specialties() -> tuple[str, ...]:
    """The specialties of the shipped demo catalogs, as a profile must write them (the
    catalogs' own ``specialty`` values, e.g. "Family Medicine")."""
    names = []
    for p in sorted((DATA_DIR / "catalogs").glob("demo_*.csv")):
        with open(p, encoding="utf-8-sig", newline="") as fh:
            row = next(csv.DictReader(fh), None)
        if row and (row.get("specialty") or "").strip():
            names.append(row["specialty"].strip())
    return tuple(sorted(names))


def _no_demo(where: str, specialty: str) -> str:
    """The error for a specialty with no demo catalog: the names as written, and the closest one."""
    have = demo_specialties()
    by_key = {_slug(x): x for x in have} | {x.lower(): x for x in have}
    close = by_key.get(_slug(specialty)) or next(
        (by_key[k] for k in difflib.get_close_matches(specialty.lower(), list(by_key), n=1, cutoff=0.6)), None)
    guess = f"did you mean {close!r}? " if close else ""
    return (f"{where}: no demo catalog for specialty {specialty!r}; {guess}the demo catalogs are for "
            f"{', '.join(map(repr, have))} (write the specialties as shown), or pass --catalog with your "
            "own CSV")


def resolve_catalog(profile: Profile, catalog: str | Path | Catalog | None) -> Catalog:
    """The given catalog, or the shipped demo catalog(s) for the profile's specialties."""
    if isinstance(catalog, Catalog):
        return catalog
    if catalog is not None:
        return load_catalog(catalog)
    specs = profile.specialties or ["Internal Medicine"]
    header, records = [], []
    for s in specs:
        p = demo_catalog_path(s)
        if not p.is_file() or s not in demo_specialties():
            raise InputError(_no_demo(profile.path, s))
        names, rows, _ = read_csv_rows(p.read_text(encoding="utf-8-sig"), str(p))
        header += [h for h in names if h not in header]
        records += rows
    return catalog_from_records(records, header, " + ".join(str(demo_catalog_path(s)) for s in specs))
