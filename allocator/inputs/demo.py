"""The shipped synthetic demo catalogs: the catalog a command uses when none is given."""
from __future__ import annotations

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
        if not p.is_file():
            have = sorted(x.stem.removeprefix("demo_") for x in (DATA_DIR / "catalogs").glob("demo_*.csv"))
            raise InputError(f"{profile.path}: no demo catalog for specialty {s!r} (have {', '.join(have)}); "
                             "pass --catalog with your own CSV")
        names, rows, _ = read_csv_rows(p.read_text(encoding="utf-8-sig"), str(p))
        header += [h for h in names if h not in header]
        records += rows
    return catalog_from_records(records, header, " + ".join(str(demo_catalog_path(s)) for s in specs))
