"""Which ERAS fee seasons allocator has (the files in ``data/fees``), without reading them: the
command line's --season help needs the list at import, before pydantic is loaded."""
from __future__ import annotations

from allocator.paths import DATA_DIR


def available_seasons() -> list[str]:
    """The seasons with a fee schedule file (a folder of that name is none)."""
    return sorted(p.stem.removeprefix("eras_") for p in (DATA_DIR / "fees").glob("eras_*.toml") if p.is_file())


def season_help() -> str:
    """The --season help: the seasons with a fee file, named as the AAMC names them."""
    years = [s for s in available_seasons() if s != "none"]
    return (f"ERAS fee season, by its Match year as the AAMC names it (ERAS N: applications from September N-1, "
            f"Match in March N): {', '.join(years)} (the files in data/fees), none (no ERAS fees: each program "
            "costs its catalog fee_extra), or the path of a fee file of your own ending in .toml")
