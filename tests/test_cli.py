"""The CLI contract: JSON keys, exit codes, list files, --out."""
import json
from pathlib import Path

import pytest

from .helpers import mc_close, run

ROOT = Path(__file__).resolve().parents[1]
TINY = str(ROOT / "data" / "catalogs" / "tiny_p_match.csv")
PROFILE = str(ROOT / "data" / "profiles" / "tiny_demo.toml")


def test_solve_json_contract(capsys):
    code, out, err = run(capsys, "solve", PROFILE, "--catalog", TINY, "--json", "--draws", "20000")
    assert code == 0, err
    d = json.loads(out)
    assert d["status"] == "optimal" and d["objective"] == "safety_first"  # the default objective
    assert d["p_match_best"] - d["safety_margin"] - 1e-9 <= d["p_match"] <= d["p_match_best"] + 1e-12
    assert set(d["alternatives"]) == {"safest", "la_leaning"}
    assert set(d["mc"]) >= {"p_match", "ci95", "draws", "seed"}
    assert d["cost"]["total"] <= 400 and d["cost"]["fixed"] == 80
    assert d["n_la"] <= 0.3 * d["n_applications"]
    assert d["data"]["synthetic"] is True
    assert all({"program_id", "name", "p_match", "la_area", "signal"} <= set(s) for s in d["selected"])
    assert d["solver"]["gap"] is not None and d["solver"]["gap"] <= 1e-7


def test_table_says_synthetic(capsys):
    code, out, _ = run(capsys, "solve", PROFILE, "--catalog", TINY, "--draws", "1000")
    assert code == 0 and "SYNTHETIC" in out


def test_simulate_reads_solve_json(capsys, tmp_path):
    f = tmp_path / "best.json"
    code, _, err = run(capsys, "solve", PROFILE, "--catalog", TINY, "--json", "--out", str(f), "--draws", "1000")
    assert code == 0, err
    best = json.loads(f.read_text())
    code, out, err = run(capsys, "simulate", PROFILE, "--catalog", TINY, "--list", str(f), "--json",
                         "--draws", "50000", "--seed", "1")
    assert code == 0, err
    d = json.loads(out)
    assert d["p_match"] == pytest.approx(best["p_match"], abs=1e-12)
    assert mc_close(d["mc"]["p_match"], d["p_match"], 50_000)
    assert d["mc"]["std_error"] == pytest.approx((d["mc"]["p_match"] * (1 - d["mc"]["p_match"]) / 50_000) ** 0.5)
    assert d["violations"] == []


def test_simulate_says_what_it_scored_as_solve_does(capsys, tmp_path):
    """simulate echoes the signals and geographic preference it read from the list, the P(match)
    the signals add and the fixed fees, equal to solve's for solve's own list (a preference
    line moved P(match) by 5 points with no word of it)."""
    prof = str(ROOT / "data" / "profiles" / "typical_us_img.toml")
    f = tmp_path / "best.csv"
    code, out, err = run(capsys, "solve", prof, "--json", "--draws", "0")
    assert code == 0, err
    best = json.loads(out)
    code, _, err = run(capsys, "solve", prof, "--draws", "0", "--out", str(f))
    code, out, err = run(capsys, "simulate", prof, "--list", str(f), "--json", "--draws", "1000")
    assert code == 0, err
    d = json.loads(out)
    assert d["signal_gain"] == pytest.approx(best["signal_gain"], abs=1e-12)
    assert d["signals"] == {k: sum(s["signal"] == k for s in best["selected"]) for k in ("gold", "silver")}
    assert d["geographic_preference"] == best["geographic_preference"] and d["geographic_preference_source"] == "list"
    assert d["cost"] == best["cost"]
    code, out, err = run(capsys, "simulate", prof, "--list", str(f), "--draws", "1000")
    text = " ".join(out.split())
    assert (f"Scored with {d['signals']['gold']} gold and {d['signals']['silver']} silver signals "
            f"({100 * d['signal_gain']:+.2f} points of P(match)); geographic preference "
            f"{', '.join(d['geographic_preference'])} (from the list)") in text


def test_simulate_plain_list_and_violations(capsys, tmp_path):
    f = tmp_path / "list.txt"
    f.write_text("# my adviser's list\nTINY-01\nTINY-02\nTINY-03\n")
    code, out, _ = run(capsys, "simulate", PROFILE, "--catalog", TINY, "--list", str(f), "--json", "--draws", "1000")
    assert code == 0
    d = json.loads(out)
    assert d["n_applications"] == 3 and d["n_la"] == 3
    assert [v["group"] for v in d["violations"]] == ["la_share"]


def test_unknown_program_in_list(capsys, tmp_path):
    f = tmp_path / "list.txt"
    f.write_text("TINY-01\nNOPE-9\n")
    code, _, err = run(capsys, "simulate", PROFILE, "--catalog", TINY, "--list", str(f))
    assert code == 2 and "NOPE-9" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_infeasible_exit_3(capsys, tmp_path):
    prof = tmp_path / "p.toml"
    prof.write_text("[strategy]\nbudget = 100\nmin_applications = 20\ncorrelation = 0.35\n")
    code, _, err = run(capsys, "solve", str(prof), "--catalog", TINY)
    assert code == 3
    assert "budget $100 is below the $220 needed for min_applications=20" in err


def test_bad_catalog_exit_2(capsys, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("program_id,name\nX1,No specialty\n")
    code, _, err = run(capsys, "solve", PROFILE, "--catalog", str(bad))
    assert code == 2 and "missing required column(s) specialty, city, state" in err


def test_version(capsys):
    import allocator

    code, out, _ = run(capsys, "--version")
    assert code == 0 and out.strip() == f"allocator {allocator.__version__}"


@pytest.mark.parametrize("command", ["solve", "estimate", "simulate", "sweep", "bench"])
def test_help_texts_keep_brackets_and_name_the_engine(capsys, monkeypatch, command):
    """rich reads [word] as markup: the help must still show [applicant] / [strategy], and
    --method must not name CBC as the engine (HiGHS is the default)."""
    monkeypatch.setenv("COLUMNS", "250")
    code, out, _ = run(capsys, command, "--help")
    assert code == 0
    text = " ".join(out.split())
    assert "( and )" not in text and "with )" not in text and "(CBC)" not in text
    if command != "bench":
        assert "profile TOML ([applicant] and [strategy])" in text
    else:
        assert "with [applicant])" in text
    if command in ("solve", "sweep"):
        assert "HiGHS" in text
    if command == "simulate":  # every option says what it does
        assert "Monte Carlo seed" in text and "correlation rho" in text


def test_simulate_says_when_a_list_names_no_signals_or_preference(capsys, tmp_path):
    """Solve's own list as bare ids scores lower (no signals, no preferred divisions): simulate says
    why, and the CSV that solve --out wrote, which carries both, gets no such warning."""
    prof = str(ROOT / "data" / "profiles" / "typical_us_img.toml")
    full = tmp_path / "list.csv"
    code, _, err = run(capsys, "solve", prof, "--draws", "0", "--out", str(full))
    assert code == 0, err
    ids = [ln.split(",")[0] for ln in full.read_text().splitlines()[1:] if ln and not ln.startswith("#")]
    bare = tmp_path / "ids.txt"
    bare.write_text("\n".join(i for i in ids if i != "program_id") + "\n")
    got = {}
    for name, path in (("bare", bare), ("full", full)):
        code, out, err = run(capsys, "simulate", prof, "--list", str(path), "--draws", "1000", "--json")
        assert code == 0, err
        got[name] = json.loads(out)
    words = " ".join(got["bare"]["warnings"])
    assert "gives no signals" in words and "geographic preference" in words
    assert got["bare"]["p_match"] < got["full"]["p_match"]
    assert not any("gives no signals" in w or "none is assumed" in w for w in got["full"]["warnings"])


def test_own_p_match_has_no_interview_stage_and_says_so(capsys, tmp_path):
    """A catalog's own p_match (no p_interview): the simulator's counts are successes, so the
    report does not call them interviews and the JSON says so; with p_interview they are."""
    code, out, err = run(capsys, "solve", PROFILE, "--catalog", TINY, "--draws", "2000", "--show", "1")
    assert code == 0, err
    text = " ".join(out.split())
    assert "interviews per simulated season" not in text
    assert "programs that would match (simulated mean; no interview stage)" in text
    code, out, err = run(capsys, "solve", PROFILE, "--catalog", TINY, "--draws", "2000", "--json")
    mc = json.loads(out)["mc"]
    assert mc["interviews_modelled"] is False and mc["note"].startswith("no interview stage")
    assert mc["mean_interviews"] == mc["mean_successes"]  # the keys stay (contract), the note explains
    cat = tmp_path / "with_interviews.csv"
    rows = (ROOT / "data" / "catalogs" / "tiny_p_match.csv").read_text().splitlines()
    cat.write_text("\n".join([rows[0] + ",p_interview"] + [r + ",0.5" for r in rows[1:]]) + "\n")
    code, out, err = run(capsys, "solve", PROFILE, "--catalog", str(cat), "--draws", "2000", "--json")
    assert code == 0, err
    mc = json.loads(out)["mc"]
    assert mc["interviews_modelled"] is True and "note" not in mc and mc["mean_interviews"] > mc["mean_successes"]


def test_draws_0_says_the_check_was_skipped(capsys):
    code, out, err = run(capsys, "solve", PROFILE, "--catalog", TINY, "--draws", "0", "--show", "1")
    assert code == 0, err
    assert "Monte Carlo check skipped (--draws 0)" in " ".join(out.split())
    code, out, _ = run(capsys, "solve", PROFILE, "--catalog", TINY, "--draws", "1000", "--show", "1")
    assert "skipped" not in out and "Monte Carlo check (1,000 draws), with its 95% simulation error" in out


def test_bad_method_is_one_line_on_stderr():
    """`--method dp` on a problem the dynamic program cannot take: exit 2 and the one error line,
    nothing logged before it (the command runs in a fresh process, as a user runs it)."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    pr = subprocess.run([sys.executable, "-m", "allocator", "solve", str(ROOT / "data" / "profiles" / "typical_us_img.toml"),
                         "--method", "dp"], capture_output=True, text=True, env=env, cwd=ROOT, timeout=120)
    assert pr.returncode == 2
    lines = pr.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("allocator: error: --method dp needs"), pr.stderr


def test_bad_input_on_both_threads_logs_nothing(caplog):
    """When both threads of beside.both fail on the same bad input, the caller's InputError is the
    answer and the second thread's copy is not logged (it was a second stderr line); any other
    error on the second thread still is."""
    from allocator.errors import InputError
    from allocator.optim.beside import both

    def bad():
        raise InputError("--method dp needs something")

    with caplog.at_level("DEBUG", logger="allocator.optim.beside"):
        with pytest.raises(InputError):
            both(bad, bad)
    assert caplog.records == []

    def broken():
        raise RuntimeError("solver crashed")

    with caplog.at_level("DEBUG", logger="allocator.optim.beside"):
        with pytest.raises(InputError):
            both(bad, broken)
    assert [r.getMessage() for r in caplog.records] == ["the solve on the second thread failed too: "
                                                        "RuntimeError('solver crashed')"]


def _out_help(capsys, monkeypatch, command: str) -> str:
    import re

    monkeypatch.setenv("COLUMNS", "400")  # the option's help on one line of the table
    code, out, _ = run(capsys, command, "--help")
    assert code == 0
    line = next(ln for ln in out.splitlines() if re.search(r"--out\s+<path>", ln))
    return line.split("<path>", 1)[1].strip(" │")


@pytest.mark.parametrize("command", ["solve", "estimate", "simulate", "update"])
def test_out_help_names_only_the_formats_the_command_writes(capsys, monkeypatch, tmp_path, command):
    """--out's help lists the suffixes a command writes (and any it refuses, after "not"): every
    suffix it names as written is written, every one it says "not" to is refused with exit 2."""
    import re

    text = _out_help(capsys, monkeypatch, command)
    named = re.findall(r"(not )?\.(json|csv|txt)\b", text)
    written = {s for neg, s in named if not neg}
    refused = {s for neg, s in named if neg}
    assert {"json", "txt"} <= written, text
    assert written | refused >= {"json", "csv", "txt"}, text  # every format is either offered or refused
    lst = tmp_path / "list.csv"
    assert run(capsys, "solve", PROFILE, "--catalog", TINY, "--draws", "1000", "--out", str(lst))[0] == 0
    args = {"solve": ["--draws", "1000"], "estimate": [], "simulate": ["--list", str(lst), "--draws", "1000"],
            "update": ["--season", str(lst), "--draws", "1000"]}[command]
    inputs = ([str(ROOT / "data" / "profiles" / "typical_us_img.toml")] if command == "estimate"  # needs [applicant]
              else [PROFILE, "--catalog", TINY])
    for suffix in sorted(written | refused):
        out = tmp_path / f"out.{suffix}"
        code, _, err = run(capsys, command, *inputs, *args, "--out", str(out))
        if suffix in written:
            assert code == 0 and out.stat().st_size > 0, (suffix, err)
        else:
            assert code == 2 and len(err.strip().splitlines()) == 1 and not out.exists(), (suffix, err)


def test_command_summaries_have_no_hard_line_break():
    """`allocator --help` prints each command's docstring summary as written: a line break inside
    it showed as a break mid-sentence ("tier utility" / "(LA > ..."), so each summary is one line."""
    import allocator.cli  # noqa: F401  (registers every command)
    from allocator.cli.common import app

    summaries = {c.callback.__name__: (c.callback.__doc__ or "").split("\n\n")[0] for c in app.registered_commands}
    assert {"solve", "sweep", "simulate", "update"} <= set(summaries)
    assert [name for name, text in summaries.items() if "\n" in text.strip()] == []


def test_estimate_says_how_many_excluded_rows_a_short_table_leaves_out(capsys):
    import json

    from allocator.paths import DATA_DIR
    from tests.helpers import run

    prof = str(DATA_DIR / "profiles" / "typical_us_img.toml")
    code, out, err = run(capsys, "estimate", prof, "--json")
    assert code == 0, err
    n_bad = sum(1 for r in json.loads(out)["programs"] if not r["eligible"])
    assert n_bad > 5
    code, out, err = run(capsys, "estimate", prof, "--show", "5")
    assert code == 0, err
    assert f"{n_bad} excluded" in out and f"... and {n_bad - 5} more excluded" in out


@pytest.mark.parametrize("command", ["solve", "sweep"])
def test_season_help_lists_the_fee_files(capsys, monkeypatch, command):
    """--season's help names the seasons that have a fee file in data/fees, not a list typed once."""
    import re

    from allocator.inputs.feefiles import available_seasons, season_help
    from allocator.paths import DATA_DIR

    files = sorted(p.stem.removeprefix("eras_") for p in (DATA_DIR / "fees").glob("eras_*.toml"))
    assert files == available_seasons() and "2026" in files and "none" in files
    monkeypatch.setenv("COLUMNS", "600")
    code, out, _ = run(capsys, command, "--help")
    line = next(ln for ln in out.splitlines() if re.search(r"--season\s+<str>", ln))
    years = re.search(r"Match in March N\): ([\d, ]+) \(the files in data/fees\), none", line).group(1)
    assert "or the path of a fee file of your own ending in .toml" in line
    assert years.split(", ") == [s for s in files if s != "none"]
    assert season_help() in line
