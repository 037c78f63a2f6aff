"""The shipped data's generator scripts still run and rebuild the shipped files byte for byte
(the READMEs under data/ point users to them)."""
from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CATALOGS = ROOT / "data" / "catalogs"


def test_demo_catalogs_rebuild_identically(tmp_path):
    subprocess.run([sys.executable, str(ROOT / "data" / "make_demo_catalogs.py"), "--out", str(tmp_path)],
                   check=True, capture_output=True, cwd=tmp_path)
    made = sorted(p.name for p in tmp_path.glob("*.csv"))
    assert made == ["demo_family_medicine.csv", "demo_internal_medicine.csv", "demo_pediatrics.csv",
                    "demo_psychiatry.csv"]
    for name in made:
        assert (tmp_path / name).read_bytes() == (CATALOGS / name).read_bytes(), name


def test_tiny_catalog_rebuilds_identically(tmp_path):
    spec = importlib.util.spec_from_file_location("make_tiny_catalog", ROOT / "data" / "make_tiny_catalog.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    mod.main(out=tmp_path / "tiny.csv")
    assert (tmp_path / "tiny.csv").read_bytes() == (CATALOGS / "tiny_p_match.csv").read_bytes()
