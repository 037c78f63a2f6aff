"""What the front ends import: `allocator --help`, `--version` and the CLI module load no
numerical or validation library, and a solve loads only what it uses (never scipy.optimize,
scipy.stats or matplotlib).  Checked in fresh interpreters (sys.modules), not timed."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("numpy", "pandas", "scipy", "matplotlib", "pydantic", "pulp", "highspy", "uvicorn", "fastapi")
REPORT = ("import atexit, json, sys\n"
          "atexit.register(lambda: sys.stderr.write('\\nMODULES ' + json.dumps(sorted(sys.modules)) + '\\n'))\n")


def modules_after(code: str) -> tuple[set[str], subprocess.CompletedProcess]:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    cp = subprocess.run([sys.executable, "-c", REPORT + code], capture_output=True, text=True, env=env, cwd=ROOT)
    line = [x for x in cp.stderr.splitlines() if x.startswith("MODULES ")][-1]
    return set(json.loads(line.removeprefix("MODULES "))), cp


def roots(mods: set[str]) -> set[str]:
    return {m.split(".")[0] for m in mods}


def test_cli_module_imports_no_heavy_library():
    mods, _ = modules_after("import allocator, allocator.cli")
    assert roots(mods) & set(HEAVY) == set()


def test_api_imports_no_solver_until_it_optimizes():
    """`allocator simulate` and `estimate` use the API without optimizing: no PuLP or HiGHS."""
    mods, _ = modules_after("import allocator.api, allocator.output.result")
    assert roots(mods) & {"pulp", "highspy", "matplotlib"} == set()
    assert {"scipy.optimize", "scipy.special"} & mods == set()


@pytest.mark.parametrize("flag", ["--help", "--version"])
def test_help_and_version_import_no_heavy_library(flag):
    mods, cp = modules_after(f"from allocator._entry import main\nmain([{flag!r}])")
    assert "allocator" in cp.stdout.lower() or "0." in cp.stdout
    assert roots(mods) & set(HEAVY) == set()


def test_solve_imports_only_what_it_uses(tmp_path):
    """A solve on the dynamic-program path (own p_match, correlation 0, season "none")
    loads neither scipy.optimize (the calibration's root finder), scipy.stats nor matplotlib."""
    cat = tmp_path / "c.csv"
    cat.write_text("program_id,name,specialty,city,state,p_match,fee_extra,utility\n"
                   + "".join(f"P{i},Program {i},Internal Medicine,Columbus,OH,0.{i + 1},{5 + i},{i + 1}\n"
                             for i in range(8)))
    prof = tmp_path / "p.toml"
    prof.write_text('[strategy]\nbudget = 20\nseason = "none"\ncorrelation = 0\nla_share_max = 1.0\nobjective = "p_match"\n')
    code = f"from allocator._entry import main\nmain(['solve', {str(prof)!r}, '--catalog', {str(cat)!r}, '--json', '--draws', '2000'])"
    mods, cp = modules_after(code)
    d = json.loads(cp.stdout)
    assert d["solver"]["path"] == "dp" and d["status"] == "optimal"
    assert {"scipy.optimize", "scipy.stats", "matplotlib"} & mods == set()


def test_model_problem_does_not_import_the_calibration():
    """The shipped typical profile (two-stage model, its ensemble of cards), loaded as a solve
    loads it: the ensemble comes without the calibration or scipy.optimize (used only to
    re-tune cards), and without scipy.special (about 0.1 s; the copula's normal functions,
    loaded when a correlation is used)."""
    prof = ROOT / "data" / "profiles" / "typical_us_img.toml"
    mods, cp = modules_after(f"from allocator.api import load\nprint(load({str(prof)!r}).fm_ensemble is not None)")
    assert cp.stdout.strip() == "True", cp.stderr
    assert "allocator.model.ensemble" in mods
    assert {"scipy.optimize", "allocator.model.calibration", "scipy.stats", "matplotlib", "scipy.special"} & mods == set()


def test_default_solve_and_its_report_import_neither_pandas_nor_scipy_special(tmp_path):
    """`allocator solve` on the shipped typical profile (two-stage model, signals, divisions),
    with its Monte Carlo check, text report (P(match) at other correlations too) and CSV
    list, runs without pandas or scipy.special (about 0.15 s and 0.1 s of every command)."""
    prof = ROOT / "data" / "profiles" / "typical_us_img.toml"
    out = tmp_path / "list.csv"
    code = f"from allocator._entry import main\nmain(['solve', {str(prof)!r}, '--draws', '2000', '--out', {str(out)!r}])"
    mods, cp = modules_after(code)
    head = out.read_text().splitlines()[:2]
    assert "P(match)" in cp.stdout and head[0].startswith("# SYNTHETIC") and head[1].startswith(
        "# geographic_preference:"), cp.stderr
    assert "pandas" not in roots(mods) and "scipy.special" not in mods
