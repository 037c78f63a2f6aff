"""`allocator batch`: results equal sequential solves, bad inputs, an external Dask cluster,
a killed worker.  Small on purpose: 3 applicants on the 40-program catalog with its own
p_match, few Monte Carlo draws, a 3-point budget curve."""
from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pandas as pd
import pytest

pytest.importorskip("distributed")

from allocator.batch.cohort import load_cohort  # noqa: E402
from allocator.cli import main  # noqa: E402
from allocator.errors import InputError  # noqa: E402
from allocator.paths import DATA_DIR  # noqa: E402

CATALOG = DATA_DIR / "catalogs" / "tiny_p_match.csv"
TINY = (DATA_DIR / "profiles" / "tiny_demo.toml").read_text()
FAST = ["--draws", "20000", "--sweep", "200:400:100", "--catalog", str(CATALOG)]
TIMING = re.compile(r'"(seconds|wall_seconds)": [-0-9.eE+]+')


def _cli(args, capsys) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as e:
        main(args)
    out, err = capsys.readouterr()
    return e.value.code, out, err


def _cohort(folder: Path, budgets=(300, 500), bad_middle: bool = True) -> Path:
    folder.mkdir()
    names = []
    for k, b in enumerate(budgets):
        name = f"a{k}"
        (folder / f"{name}.toml").write_text(TINY.replace("budget = 400", f"budget = {b}"))
        names.append(name)
    if bad_middle:  # sorts between a0 and a1
        (folder / "a0b.toml").write_text(TINY.replace("la_share_max = 0.30", "la_share_max = 1.5"))
    return folder


def _same_json(batch_text: str, seq_text: str) -> bool:
    return TIMING.sub('"T": 0', batch_text) == TIMING.sub('"T": 0', seq_text)


def _summary(out: Path) -> list[dict]:
    import csv

    with open(out / "summary.csv", newline="") as fh:
        return list(csv.DictReader(fh))


def test_csv_cohort_rows_and_errors(tmp_path):
    p = tmp_path / "c.csv"
    p.write_text("id,step2_score,la_ties,specialties,budget,must_apply,utility_la\n"
                 "ann,245,yes,Internal Medicine;Family Medicine,1800,IM-1;IM-2,1.2\n"
                 "bob,twelve,no,,,,\n"
                 "cy,,,,900,,\n"
                 "ann,240,no,,,,\n")
    m = load_cohort(p)
    assert [x.id for x in m] == ["ann", "bob", "cy", "ann@line5"]
    assert m[0].doc == {"applicant": {"step2_score": 245, "la_ties": True,
                                      "specialties": ["Internal Medicine", "Family Medicine"]},
                        "strategy": {"budget": 1800.0, "must_apply": ["IM-1", "IM-2"], "utility": {"la": 1.2}}}
    assert m[1].error == f"{p}:3: column step2_score = 'twelve': must be a whole number; change it"
    assert m[2].ok and m[2].doc == {"strategy": {"budget": 900.0}}
    short = tmp_path / "s.csv"  # a short row and a complete row for one applicant: the complete row keeps the id
    short.write_text("id,step2_score,budget\nalice,230\nbob,240,900\nalice,230,1000\n")
    got = load_cohort(short)
    assert [x.id for x in got] == ["alice@line2", "bob", "alice"] and got[2].ok and not got[0].ok
    q = tmp_path / "r.csv"
    q.write_text("id,la_ties,reapplicant\nrae,yes,yes\n")  # the guide's reapplicant case, as in a profile
    assert load_cohort(q)[0].doc == {"applicant": {"la_ties": True, "reapplicant": True}}
    assert "already used on line 2" in m[3].error
    p.write_text("id,step2_score,max_applications,exam_attempts\na,240,inf,0\nb,1e400,60,0\nc,240,60,nan\nd,240,60,0\n")
    m = load_cohort(p)  # non-finite whole numbers are one row's bad input, not a crash of the cohort
    assert [x.error.split(": ", 1)[1] for x in m[:3]] == [
        "column max_applications = 'inf': must be a whole number; change it",
        "column step2_score = '1e400': must be a whole number; change it",
        "column exam_attempts = 'nan': must be a whole number; change it"]
    assert m[3].ok
    p.write_text("id,step2,budgett\nx,pass,5\n")
    with pytest.raises(InputError, match="column 'budgett' is not a cohort column"):
        load_cohort(p)


def test_local_cluster_equals_sequential_with_bad_profile_in_middle(tmp_path, capsys):
    coh = _cohort(tmp_path / "coh")
    out = tmp_path / "out"
    code, _, err = _cli(["batch", str(coh), "--out", str(out), "--workers", "2", *FAST], capsys)
    assert code == 2, err
    assert "3 applicants: 2 solved (0 unchanged, skipped), 1 bad input, 0 infeasible, 0 failed" in err
    # one line per applicant as it finishes (the bad profile first: it never leaves this machine)
    progress = re.findall(r"^\[(\d)/3\] (\S+): (\w+)(.*)$", err, re.M)
    assert [(n, i) for n, i, _, _ in progress][0] == ("1", "a0b") and len(progress) == 3, err
    assert sorted(i for _, i, _, _ in progress) == ["a0", "a0b", "a1"] and [n for n, *_ in progress] == ["1", "2", "3"]
    assert all(re.search(r" in \d+\.\d s$", rest) for _, i, st, rest in progress if i != "a0b")
    rows = _summary(out)
    assert [r["id"] for r in rows] == ["a0", "a0b", "a1"]
    assert [r["status"] for r in rows] == ["ok", "bad_input", "ok"]
    assert rows[1]["reason"] == f"{coh / 'a0b.toml'}: [strategy] la_share_max = 1.5: must be <= 1.0; change it"
    for name, row in (("a0", rows[0]), ("a1", rows[2])):
        seq_code, seq, _ = _cli(["solve", str(coh / f"{name}.toml"), "--json", "--draws", "20000",
                                 "--catalog", str(CATALOG)], capsys)
        assert seq_code == 0
        text = (out / "applicants" / f"{name}.json").read_text()
        assert _same_json(text, seq)
        payload = json.loads(seq)
        assert float(row["p_match"]) == payload["p_match"]
        tiers = [s["tier"] for s in payload["selected"]]
        assert int(row["n_la"]) + int(row["n_west"]) + int(row["n_elsewhere"]) == payload["n_applications"]
        assert int(row["n_west"]) == tiers.count("west")
        assert float(row["fees"]) == payload["cost"]["total"]
        assert row["solve_status"] == payload["status"] and float(row["gap"]) == payload["solver"]["gap"]
        assert (out / "applicants" / f"{name}.pdf").read_bytes()[:5] == b"%PDF-"
        html = (out / "applicants" / f"{name}.html").read_text()
        assert "<svg" in html and payload["selected"][0]["program_id"] in html
    assert not (out / "applicants" / "a0b.json").exists()
    cohort = pd.read_csv(out / "cohort.csv", dtype=str)
    both = cohort[cohort["applicant_ids"] == "a0;a1"]  # on both lists: 2 of 2 applicants, crowded
    assert len(both) and (both[["applicants", "of", "share", "crowded"]] == ["2", "2", "1.0", "True"]).all().all()
    assert (cohort["synthetic"] == str(bool((payload.get("data") or {}).get("synthetic")))).all()
    assert "Cohort view" in (out / "cohort.html").read_text()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def dask_cluster(tmp_path_factory):
    """`dask scheduler` and two `dask worker` processes (no nanny: a killed worker stays dead)
    on 127.0.0.1; always stopped at the end."""
    port = _free_port()
    addr = f"tcp://127.0.0.1:{port}"
    logs = tmp_path_factory.mktemp("dask")
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    procs = []

    def start(args, name):
        fh = open(logs / f"{name}.log", "w")
        procs.append(subprocess.Popen([sys.executable, "-m", "dask", *args], stdout=fh, stderr=subprocess.STDOUT,
                                      env=env, start_new_session=True))

    try:
        start(["scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"], "scheduler")
        for k in range(2):
            start(["worker", addr, "--host", "127.0.0.1", "--nthreads", "1", "--no-dashboard", "--no-nanny",
                   "--name", f"w{k}"], f"worker{k}")
        from distributed import Client

        with Client(addr, timeout="30s") as c:
            c.wait_for_workers(2, timeout=60)
        yield addr, procs
    finally:
        for p in reversed(procs):
            if p.poll() is None:
                p.terminate()
        for p in reversed(procs):
            try:
                p.wait(timeout=3)  # a worker that ignores SIGTERM is killed rather than waited 15 s for
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(timeout=5)


def test_external_scheduler_rerun_skips_and_force(tmp_path, capsys, dask_cluster):
    addr, _ = dask_cluster
    coh = _cohort(tmp_path / "coh", bad_middle=False)
    out = tmp_path / "out"
    code, _, err = _cli(["batch", str(coh), "--out", str(out), "--scheduler", addr, *FAST], capsys)
    assert code == 0, err
    assert [r["status"] for r in _summary(out)] == ["ok", "ok"]
    seq_code, seq, _ = _cli(["solve", str(coh / "a1.toml"), "--json", "--draws", "20000", "--catalog", str(CATALOG)],
                            capsys)
    assert _same_json((out / "applicants" / "a1.json").read_text(), seq)
    before = {p.name: p.stat().st_mtime_ns for p in (out / "applicants").iterdir()}
    code, _, err = _cli(["batch", str(coh), "--out", str(out), "--scheduler", addr, *FAST], capsys)
    assert code == 0 and "2 solved (2 unchanged, skipped)" in err
    assert {p.name: p.stat().st_mtime_ns for p in (out / "applicants").iterdir()} == before
    assert [r["skipped"] for r in _summary(out)] == ["True", "True"]
    (coh / "a1.toml").write_text(TINY.replace("budget = 400", "budget = 350"))  # one input changed
    code, _, err = _cli(["batch", str(coh), "--out", str(out), "--scheduler", addr, *FAST], capsys)
    assert code == 0 and "2 solved (1 unchanged, skipped)" in err
    code, _, err = _cli(["batch", str(coh), "--out", str(out), "--scheduler", addr, "--force", *FAST], capsys)
    assert code == 0 and "2 solved (0 unchanged, skipped)" in err
    # a rerun that fails for one applicant leaves none of its older files to be read as current
    (coh / "a1.toml").write_text(TINY.replace("budget = 400", "budget = 60\nmin_applications = 20"))
    code, _, err = _cli(["batch", str(coh), "--out", str(out), "--scheduler", addr, *FAST], capsys)
    status = {r["id"]: r["status"] for r in _summary(out)}
    assert code == 3 and status == {"a0": "ok", "a1": "infeasible"}, (err, status)
    assert "infeasible: infeasible" not in err and re.search(r"^  a1: infeasible: \S", err, re.M), err
    assert re.search(r"^\[1/2\] a0: ok, unchanged", err, re.M), err
    assert not any((out / "applicants" / f"a1.{ext}").exists() for ext in ("json", "html", "pdf"))
    assert not (out / ".batch" / "a1.sha256").exists() and (out / "applicants" / "a0.json").exists()
    (coh / "a1.toml").write_text("[strategy\n")  # and one whose profile no longer reads
    code, _, err = _cli(["batch", str(coh), "--out", str(out), "--scheduler", addr, *FAST], capsys)
    assert code == 2 and not (out / "applicants" / "a1.json").exists()


def test_a_comment_line_or_reordered_rows_skip_the_unchanged_and_a_row_without_a_list_keeps_its_inputs(
        tmp_path, capsys, dask_cluster):
    """The rerun hash covers what determines the answer (id, profile, catalog, options, code and
    data), not the row's line: a comment line added on top and rows reordered re-solve no one.
    An infeasible row (budget 100 for at least 40 applications) still shows its inputs."""
    addr, _ = dask_cluster
    coh = tmp_path / "cohort.csv"
    coh.write_text("id,budget,min_applications\na,300,\nb,500,\nc,100,40\n")
    out = tmp_path / "out"
    code, _, err = _cli(["batch", str(coh), "--out", str(out), "--scheduler", addr, *FAST], capsys)
    assert code == 3, err
    rows = {r["id"]: r for r in _summary(out)}
    assert [rows[i]["status"] for i in "abc"] == ["ok", "ok", "infeasible"]
    c = rows["c"]  # no list, but its inputs: the budget, the objective, the catalog's synthetic flag
    assert (c["budget"], c["objective"], c["synthetic"], c["risk"]) == ("100.0", "safety_first", "True", "infeasible")
    assert c["source"] == f"{coh}:4" and c["p_match"] == "" and c["fees"] == ""
    assert (rows["a"]["budget"], rows["b"]["budget"]) == ("300.0", "500.0")
    before = {p.name: p.stat().st_mtime_ns for p in (out / "applicants").iterdir()}
    hashes = {i: (out / ".batch" / f"{i}.sha256").read_text() for i in "ab"}
    coh.write_text("# SYNTHETIC: an office's note on top\nid,budget,min_applications\nc,100,40\nb,500,\na,300,\n")
    code, _, err = _cli(["batch", str(coh), "--out", str(out), "--scheduler", addr, *FAST], capsys)
    assert code == 3 and "2 solved (2 unchanged, skipped)" in err, err
    assert {p.name: p.stat().st_mtime_ns for p in (out / "applicants").iterdir()} == before
    assert {i: (out / ".batch" / f"{i}.sha256").read_text() for i in "ab"} == hashes
    rows = _summary(out)
    assert [(r["id"], r["skipped"], r["source"]) for r in rows] == [
        ("c", "False", f"{coh}:3"), ("b", "True", f"{coh}:4"), ("a", "True", f"{coh}:5")]  # this run's lines
    assert rows[0]["reason"].startswith(f"{coh}:3: ")  # a message names the row where it is now
    coh.write_text("id,budget,min_applications\nc,100,40\nb,500,\na,310,\n")  # a's answer can change
    code, _, err = _cli(["batch", str(coh), "--out", str(out), "--scheduler", addr, *FAST], capsys)
    assert code == 3 and "2 solved (1 unchanged, skipped)" in err, err
    assert [r["skipped"] for r in _summary(out)] == ["False", "True", "False"]


def test_the_input_hash_leaves_out_where_the_row_sits():
    from allocator.batch.cohort import Member
    from allocator.batch.run import Options, input_hash

    opts = Options(out=Path("o"))
    doc = {"strategy": {"budget": 300.0}}
    h = input_hash(Member("a", "c.csv:2", doc), None, opts, "code")
    assert input_hash(Member("a", "other.csv:9", doc), None, opts, "code") == h
    assert input_hash(Member("b", "c.csv:2", doc), None, opts, "code") != h  # the id names the files
    assert input_hash(Member("a", "c.csv:2", {"strategy": {"budget": 310.0}}), None, opts, "code") != h
    assert input_hash(Member("a", "c.csv:2", doc), None, Options(out=Path("o"), seed=1), "code") != h
    assert input_hash(Member("a", "c.csv:2", doc), None, opts, "other code") != h
    cat = {"text": "program_id\n", "label": "x.csv"}
    assert input_hash(Member("a", "c.csv:2", doc), cat, opts, "code") != h


def test_killed_worker_is_retried_not_lost_or_duplicated(tmp_path, dask_cluster):
    """SIGKILL the worker running a task: Dask reschedules it on the other worker; every
    applicant is in the summary once, with the result a sequential solve gives."""
    from distributed import Client

    from allocator.batch.run import Options, run_batch
    from allocator.cli.common import _json
    from allocator import api

    addr, procs = dask_cluster
    coh = _cohort(tmp_path / "coh", budgets=(300, 400, 500), bad_middle=False)
    out = tmp_path / "out"
    draws = 1_500_000  # a task of a second or more, so the kill lands while it runs
    opts = Options(out=out, scheduler=addr, budgets=[300.0, 400.0], catalog=CATALOG, draws=draws)
    box: dict = {}

    def run():
        try:
            box["report"] = run_batch(coh, opts)
        except BaseException as e:  # surfaced below
            box["error"] = e

    with Client(addr, timeout="30s") as watch:
        pids = watch.run(os.getpid)
        t = threading.Thread(target=run, daemon=True)
        t.start()
        victim, running, deadline = None, None, time.monotonic() + 60
        while victim is None and time.monotonic() < deadline:
            # the tasks each worker is executing now (not merely assigned): killed within a poll
            # (~0.05 s) of its start, a task of a second or more is certainly still running
            executing = watch.run(lambda dask_worker: [str(ts.key) for ts in dask_worker.state.executing])
            busy = [(w, k) for w, keys in executing.items() for k in keys if k.startswith("allocator-batch-")]
            if busy:
                victim, key = busy[0]
                os.kill(pids[victim], signal.SIGKILL)
                running = key.split("-")[2]  # allocator-batch-<id>-<hash>
            else:
                time.sleep(0.05)
        assert victim is not None, "no task started within 60 s"
        t.join(timeout=120)
        assert not t.is_alive(), "the batch did not finish within 120 s after the kill"
        assert list(watch.run(os.getpid).values()) == [p for w, p in pids.items() if w != victim]
    killed = next(p for p in procs if p.pid == pids[victim])
    assert killed.wait(timeout=10) == -signal.SIGKILL
    assert "error" not in box, box.get("error")
    rows = box["report"].rows
    assert sorted(r["id"] for r in rows) == ["a0", "a1", "a2"] and all(r["status"] == "ok" for r in rows)
    # the applicant that was running on the killed worker was re-run on the surviving one
    survivor = next(p for w, p in pids.items() if w != victim)
    assert running in ("a0", "a1", "a2") and box["report"].results[running]["pid"] == survivor
    assert sorted(p.name for p in (out / "applicants").glob("*.json")) == ["a0.json", "a1.json", "a2.json"]
    assert not [p for p in (out / "applicants").iterdir() if p.name.startswith(".")]  # no temp file left
    for name in ("a0", "a1", "a2"):
        ref = _json(api.solve(coh / f"{name}.toml", CATALOG, draws=draws).to_dict())
        assert _same_json((out / "applicants" / f"{name}.json").read_text(), ref)


def test_shipped_example_cohort_reads_whole_and_comment_lines_keep_line_numbers(tmp_path):
    m = load_cohort(DATA_DIR / "cohorts" / "example_cohort.csv")
    assert len(m) == 6 and all(x.ok for x in m), [x.error for x in m if not x.ok]
    assert m[1].doc["strategy"]["safety_margin"] == 0.02
    p = tmp_path / "c.csv"
    p.write_text("# a comment\nid,step2_score\n# another\nann,245\nbob,twelve\n")
    m = load_cohort(p)
    assert [x.id for x in m] == ["ann", "bob"] and m[1].error.startswith(f"{p}:5: column step2_score")


def test_applicant_report_gives_ranges_and_the_simulation_interval():
    """The per-applicant HTML and PDF text carry P(match in LA)'s range and the Monte Carlo
    check's 95% interval, and name the two-stage model instead of an unused correlation."""
    import numpy as np

    from allocator.api import solve
    from allocator.batch import outputs

    from .test_twostage import factor_problem

    d = json.loads(json.dumps(solve(None, problem=factor_problem(np.random.default_rng(5), n=8, cards=3),
                                    draws=20_000).to_dict()))
    view = {"id": "x", "source": "x.toml", "payload": d, "curve": None}
    html, text = outputs.applicant_html(view), "\n".join(outputs._text_lines(view))
    lo, hi = d["mc"]["ci95"]
    for out in (html, text):
        assert f"{100 * lo:.2f}%, {100 * hi:.2f}%]" in out and "two-stage model" in out and "correlation" not in out
    la_lo, la_hi = d["p_match_la_interval"]
    assert f"{100 * la_lo:.1f}% to {100 * la_hi:.1f}% (average {100 * d['p_match_la']:.1f}%)" in text
    # the figure to plan on (rounded down) and P(match in the West) with its range, in both and in the summary
    plan = d["p_match_plan"]["p_match"]
    assert plan <= d["p_match_interval"][0]
    w_lo, w_hi = d["p_match_west_interval"]
    west = f"{100 * w_lo:.1f}% to {100 * w_hi:.1f}% (average {100 * d['p_match_west']:.1f}%)"
    for out in (html, text):
        assert f"plan on{'</td><td class=n>' if out is html else ' '}{int(100 * plan)}% (" in out and west in out
    row = outputs.summary_row({"id": "x", "status": "ok", "seconds": 1.0, "hash": "h"}, d)
    assert (row["p_match_plan"], row["p_match_west"], row["p_match_west_lo"]) == (plan, d["p_match_west"], w_lo)


def test_a_rejected_id_never_names_files_to_remove(tmp_path):
    """A bad row's id is not a path: '../victim' must not clear files outside --out, and a
    short row's made-up id ('line3') must not clear a real applicant's files."""
    from allocator.batch.run import Options, run_batch

    out = tmp_path / "deep" / "out"
    victim = tmp_path / "deep" / "victim.json"  # where out/applicants/../../victim.json lands
    victim.parent.mkdir()
    victim.write_text("{}")
    (out / "applicants").mkdir(parents=True)
    keep = out / "applicants" / "line3.json"
    keep.write_text("{}")
    coh = tmp_path / "c.csv"
    coh.write_text("id,step2_score\n../../victim,240\nshort\n")
    run_batch(coh, Options(out=out), client=object())  # no job reaches the client: every row is bad input
    assert victim.exists() and keep.exists()


def test_budget_curve_in_the_report_keeps_ranges_and_marks_points_outside_the_domain():
    """The worker's curve (task._curve) keeps each point's 10th-90th percentile range and its
    outside-domain reason, and the HTML and PDF text show them: a $380 budget buys 31
    applications for the typical profile, below the calibrated 46-109."""
    from allocator import api
    from allocator.batch import outputs, task
    from allocator.output.report import span

    problem = api.load(DATA_DIR / "profiles" / "typical_us_img.toml", None)
    curve, note = task._curve(problem, [380.0, 1500.0])
    assert note == "" and [r["budget"] for r in curve] == [380.0, 1500.0]
    low = curve[0]
    assert low["outside_domain"] and low["n_applications"] < 46
    lo, hi = low["p_match_interval"]
    assert lo <= low["p_match"] <= hi
    view = {"id": "x", "source": "x.toml", "payload": {"status": "optimal", "data": {"synthetic": True}},
            "curve": curve, "curve_note": note}
    html, text = outputs.applicant_html(view), "\n".join(outputs._text_lines(view))
    for r in curve:
        cell = f"{100 * r['p_match']:.1f}%" + ("^" if r["outside_domain"] else "")
        rng = span(r["p_match_interval"])
        plan = f"{int(100 * r['p_match_plan'])}%"  # the figure to plan on, rounded down, after the range
        assert r["p_match_plan"] <= r["p_match_interval"][0]
        assert rng and f"<td class=n>{cell}</td><td class=n>{rng}</td><td class=n>{plan}</td>" in html
        assert re.search(re.escape(cell) + r"\s+" + re.escape(rng) + r"\s+" + re.escape(plan), text)
        assert span(r["p_match_la_interval"]) in html
    assert f"^ $380: {low['outside_domain']}" in html and f"^ $380: {low['outside_domain']}" in text
    fresh = {k: v for k, v in view.items() if k != "_figure"}  # a rerun draws the figure anew
    again = outputs.applicant_html(fresh)
    assert again == html and "<dc:date>" not in html  # the same bytes: no date, the same SVG ids
    assert "outside the calibrated domain" in html
    assert "plan on: the one figure to plan on for each list" in html and "plan on: the one figure" in text


def test_console_lines_name_the_status_once_and_summary_keeps_the_solve_status(tmp_path):
    """The end-of-run line of an infeasible applicant reads "a1: infeasible: budget ..." (the
    reason, as `allocator solve` prints it, starts with "infeasible: " already); progress lines
    carry id, status, the solve's status and gap, seconds and n/total; summary.csv keeps the
    solve's status (optimal or feasible) and gap beside status "ok"."""
    from allocator.batch.console import end_lines, progress_line
    from allocator.batch.outputs import SUMMARY_COLUMNS, summary_row
    from allocator.batch.run import Report

    why = "infeasible: budget $60 is below the $220 needed for min_applications=20"
    rep = Report(rows=[{"id": "a0", "status": "ok", "reason": "", "skipped": False},
                       {"id": "a1", "status": "infeasible", "reason": why, "skipped": False}])
    lines = end_lines(rep, tmp_path)
    assert lines[0].startswith("2 applicants: 1 solved") and lines[1:] == [f"  a1: {why}"]
    assert progress_line(2, 6, {"id": "a1", "status": "infeasible", "reason": why, "seconds": 3.04, "hash": "h"}) \
        == f"[2/6] a1: infeasible in 3.0 s: {why.removeprefix('infeasible: ')}"
    assert progress_line(3, 6, {"id": "a2", "status": "ok", "seconds": 41.25, "solve_status": "feasible",
                                "gap": 0.00075, "hash": "h"}) == "[3/6] a2: ok (feasible, gap 0.00075) in 41.2 s"
    assert progress_line(1, 6, {"id": "a0", "status": "ok", "skipped": True, "seconds": None}).startswith(
        "[1/6] a0: ok, unchanged (skipped")
    payload = {"status": "feasible", "p_match": 0.8, "solver": {"gap": 0.00075}, "selected": []}
    row = summary_row({"id": "a2", "status": "ok", "seconds": 41.25, "hash": "h"}, payload)
    assert (row["status"], row["solve_status"], row["gap"]) == ("ok", "feasible", 0.00075)
    # columns added later come last, so a reader that indexes the earlier ones keeps working
    assert SUMMARY_COLUMNS[:33] == [  # every column scripts read, by name and position, as it was published
        "id", "status", "reason", "p_match", "p_match_lo", "p_match_hi", "p_match_la", "p_match_la_lo",
        "p_match_la_hi", "p_match_pessimistic", "mc_p_match", "n_applications", "n_la", "n_west", "n_elsewhere",
        "fees", "fees_fixed", "budget", "objective", "warnings", "synthetic", "source", "input_hash", "seconds",
        "skipped", "solve_status", "gap", "worst_season", "p_match_worst_season", "p_match_plan", "p_match_west",
        "p_match_west_lo", "p_match_west_hi"]
    assert SUMMARY_COLUMNS[33:] == ["p_match_plan_from", "risk", "upper_estimate", "n_crowded", "season"]
    row = summary_row({"id": "a2", "status": "ok", "seconds": 1.0, "hash": "h"},
                      payload | {"p_match_worst_season": {"season": "2022", "match_rate": 0.614, "p_match": 0.7,
                                                          "cards": 8}})
    assert (row["worst_season"], row["p_match_worst_season"]) == ("2022", 0.7)
    assert (summary_row({"id": "a2", "status": "ok", "seconds": 1.0, "hash": "h"}, payload)["worst_season"]
            is None)


def test_progress_reports_every_applicant_settled_before_the_cluster(tmp_path):
    """Rows that never reach a worker (bad input) still get their progress call, in cohort order."""
    from allocator.batch.run import Options, run_batch

    coh = tmp_path / "c.csv"
    coh.write_text("id,step2_score\nann,twelve\nbob,1e400\n")
    calls = []
    run_batch(coh, Options(out=tmp_path / "out"), progress=lambda d, t, r: calls.append((d, t, r.get("id"))),
              client=object())
    assert calls == [(1, 2, "ann"), (2, 2, "bob")]


def test_the_safest_list_comes_from_the_solve_not_a_second_solve(monkeypatch):
    """A safety-first payload carries the safest list (alternatives.safest, proven in its first
    step): the worker does not solve it again, and the trade table reads its tier counts and
    ranges from there."""
    from allocator import api
    from allocator.batch import outputs, task

    def no_solve(*a, **k):
        raise AssertionError("the safest list was solved a second time")

    monkeypatch.setattr(api, "solve", no_solve)
    safest = {"status": "optimal", "p_match": 0.85, "p_match_interval": [0.77, 0.91], "p_match_la": 0.0,
              "p_match_la_interval": [0.0, 0.0], "n_applications": 69, "n_la": 0,
              "tiers": {"la": 0, "west": 1, "elsewhere": 68}, "fees": 1500.0}
    payload = {"objective": "safety_first", "model": {"kind": "two-stage"}, "p_match": 0.84, "p_match_interval": [0.76, 0.9], "p_match_la": 0.05,
               "p_match_la_interval": [0.03, 0.07], "n_applications": 70, "cost": {"total": 1490.0},
               "selected": [{"tier": "la"}] * 5 + [{"tier": "elsewhere"}] * 65,
               "alternatives": {"safest": safest}}
    assert task._safest(None, None, payload, 1000, 0) is None
    rows = {r[0]: r[1:] for r in outputs.trade_rows({"payload": payload, "safest": None})}
    assert rows["P(any match)"] == ("76.0% to 90.0% (average 84.0%)", "77.0% to 91.0% (average 85.0%)")
    assert rows["  in LA"] == ("5", "0") and rows["  rest of the West"] == ("0", "1")
    assert rows["  elsewhere"] == ("65", "68") and rows["fees"] == ("$1,490", "$1,500")


def test_the_pdf_list_gives_each_program_its_range():
    """The PDF's list, as the HTML's, shows each program's 10th-90th percentile range beside
    its P(success)."""
    from allocator.batch import outputs

    sel = [{"program_id": "IM-0091", "name": "Synthetic IM Program 0091", "state": "CA", "tier": "west",
            "p_match": 0.2841, "p_match_p10": 0.21, "p_match_p90": 0.36, "signal": "gold"},
           {"program_id": "X-1", "name": "Own catalog program", "state": "NY", "tier": "elsewhere", "p_match": 0.1}]
    head, with_range, without = outputs.list_lines(sel)
    assert "10th-90th" in head
    assert re.search(r"28\.41% +21-36% gold$", with_range), with_range
    assert re.search(r"10\.00% +$", without), without


def test_cohort_view_gives_the_mean_p_success_its_range(tmp_path):
    """cohort.csv and cohort.html carry, beside each program's mean P(success), the means of
    the applicants' 10th and 90th percentiles; the new columns go after the existing ones."""
    from allocator.batch.cohortview import COLUMNS, write_cohort_view
    from allocator.batch.run import Report

    def prog(p, lo, hi):
        return {"program_id": "IM-1", "name": "Synthetic IM 1", "specialty": "Internal Medicine", "city": "Irvine",
                "state": "CA", "tier": "la", "p_match": p, "p_match_p10": lo, "p_match_p90": hi}

    payloads = {"a": {"selected": [prog(0.10, 0.06, 0.16)], "data": {"synthetic": True}},
                "b": {"selected": [prog(0.14, 0.08, 0.20)], "data": {"synthetic": True}}}
    write_cohort_view(tmp_path, Report(rows=[{"id": "a", "status": "ok"}, {"id": "b", "status": "ok"}],
                                            payloads=payloads), 0.5)
    df = pd.read_csv(tmp_path / "cohort.csv")
    assert list(df.columns) == [*COLUMNS, "synthetic", "mean_p_success_p10", "mean_p_success_p90"]
    row = df.iloc[0]
    assert row["mean_p_success"] == pytest.approx(0.12)
    assert (row["mean_p_success_p10"], row["mean_p_success_p90"]) == (pytest.approx(0.07), pytest.approx(0.18))
    assert "12.00% (7-18%)" in (tmp_path / "cohort.html").read_text()


def _plan_payload(p, plan, frm="the 10th percentile of the plausible models", warnings=(), budget=1500.0,
                  fees=1490.0, lo=None, hi=None, selected=()):
    return {"status": "optimal", "objective": "safety_first", "p_match": p,
            "p_match_interval": [lo if lo is not None else plan, hi if hi is not None else min(1.0, p + 0.1)],
            "p_match_plan": {"p_match": plan, "from": frm}, "warnings": list(warnings),
            "cost": {"total": fees, "fixed": 80.0, "season": "2026"}, "constraints": {"budget": budget},
            "data": {"synthetic": True}, "selected": list(selected), "n_applications": len(selected)}


@pytest.mark.parametrize("plan, risk", [(0.0, "high"), (0.4999, "high"), (0.4999999999999, "moderate"),
                                        (0.5, "moderate"), (0.7999, "moderate"), (0.8, "low"), (0.97, "low")])
def test_the_summary_says_the_risk_of_the_figure_to_plan_on_and_where_it_comes_from(plan, risk):
    """risk: high below 50%, moderate 50-79%, low 80% or more, on the figure to plan on in the
    whole percents the reports print (rounded down), so the band and the shown figure agree."""
    from allocator.batch.outputs import summary_row
    from allocator.percent import plan_whole

    row = summary_row({"id": "x", "status": "ok", "seconds": 1.0, "hash": "h"},
                      _plan_payload(0.99, plan, frm="the Step 2 CK score check"))
    assert (row["p_match_plan"], row["p_match_plan_from"], row["risk"]) == (plan, "the Step 2 CK score check", risk)
    shown = plan_whole(plan)
    assert risk == ("high" if shown < 50 else "moderate" if shown < 80 else "low")


def test_risk_without_a_plan_figure_uses_p_match_and_a_row_without_a_list_gives_its_status():
    from allocator.batch.outputs import summary_row

    own = {"status": "optimal", "p_match": 0.45, "cost": {"total": 300.0, "fixed": 80.0}}  # catalog's own p_match
    row = summary_row({"id": "x", "status": "ok", "seconds": 1.0}, own)
    assert (row["p_match_plan"], row["p_match_plan_from"], row["risk"]) == (None, None, "high")
    for status in ("infeasible", "failed", "bad_input", "solver_error"):
        row = summary_row({"id": "y", "status": status, "reason": "r", "seconds": None}, None,
                          {"budget": 100.0, "objective": "p_match", "synthetic": True, "p_match": 0.9})
        assert (row["risk"], row["budget"], row["objective"], row["synthetic"]) == (status, 100.0, "p_match", True)
        assert row["p_match"] is None  # only the input columns are taken from ``inputs``


def test_the_fixed_fee_is_named_from_the_fee_schedule_and_said_to_be_outside_the_budget(monkeypatch):
    from allocator.batch import outputs
    from allocator.inputs import fees
    from allocator.inputs.fees import load_schedule

    p = _plan_payload(0.8, 0.7, budget=1500.0, fees=1500.0)
    name, usd = load_schedule("2026").fixed[0]
    assert (name, usd) == ("USMLE transcript", 80)  # the shipped data the text below reads
    want = "$1,500 + $80 USMLE transcript fee, outside the budget"
    assert outputs.fees_text(p) == want
    view = {"id": "x", "source": "c.csv:2", "payload": p, "curve": []}
    assert f"<td>fees</td><td class=n>{want}</td>" in outputs.applicant_html(view)
    assert ("fees $1,500 of budget $1,500 (+ $80 USMLE transcript fee, outside the budget)"
            in " ".join(outputs._text_lines(view)))
    # the name comes from the season's schedule, not from the code
    real = load_schedule("2026")
    monkeypatch.setattr(fees, "load_schedule",
                        lambda season: real.__class__(real.season, real.tiers, (("ECFMG token", 80.0),), ""))
    assert outputs.fees_text(p) == "$1,500 + $80 ECFMG token fee, outside the budget"
    monkeypatch.setattr(fees, "load_schedule", lambda season: real.__class__(real.season, real.tiers, (), ""))
    assert outputs.fees_text(p) == "$1,500 + $80 fixed fees, outside the budget"  # a name that does not add up
    assert outputs.fees_text({"cost": {"total": 300.0, "fixed": 0.0, "season": "none"}}) == "$300"


def test_cohort_page_lists_applicants_most_at_risk_first_and_flags_no_program_of_a_lone_applicant(tmp_path):
    """The applicant table: rows without a list first, then by the figure to plan on, lowest
    first, with where it comes from, the range, the average, budget, fees (the fixed fee named)
    and the first warning.  A program is crowded only with 2 or more solved applicants in its
    specialty: one Pediatrics applicant is "1 of 1" on every program of their list."""
    from allocator.batch.cohortview import applicant_rows, write_cohort_view
    from allocator.batch.outputs import summary_row
    from allocator.batch.run import Report

    def prog(pid, specialty):
        return {"program_id": pid, "name": f"Synthetic {pid}", "specialty": specialty, "city": "Irvine",
                "state": "CA", "tier": "la", "p_match": 0.1}

    im = [prog("IM-1", "Internal Medicine"), prog("IM-2", "Internal Medicine")]
    payloads = {"safe": _plan_payload(0.93, 0.86, selected=im),
                "risky": _plan_payload(0.52, 0.31, frm="the Step 2 CK score check", lo=0.35, hi=0.66,
                                       warnings=["Step 2 CK 221 is 15 points below ...", "second"], selected=im[:1]),
                "mid": _plan_payload(0.71, 0.64, selected=[prog("PED-1", "Pediatrics"), prog("PED-2", "Pediatrics")])}
    rows = [summary_row({"id": i, "status": "ok", "seconds": 1.0}, payloads[i]) for i in ("safe", "risky", "mid")]
    rows.insert(1, summary_row({"id": "broke", "status": "infeasible", "seconds": 1.0,
                                "reason": "c.csv:3: budget $100 is below the $440 needed for min_applications=40"},
                               None, {"budget": 100.0, "objective": "safety_first", "synthetic": True}))
    rep = Report(rows=rows, payloads=payloads)
    table = applicant_rows(rep)
    assert [a["id"] for a in table] == ["broke", "risky", "mid", "safe"]
    assert [a["risk"] for a in table] == ["infeasible", "high", "moderate", "low"]
    risky = table[1]
    assert (risky["plan"], risky["plan_from"], risky["range"], risky["average"], risky["budget"]) == \
        ("31%", "the Step 2 CK score check", "35-66%", "52.0%", "$1,500")
    assert risky["fees"] == "$1,490 + $80 USMLE transcript fee, outside the budget"
    assert risky["note"] == "Step 2 CK 221 is 15 points below ..."
    assert table[0]["note"].startswith("c.csv:3: budget $100") and table[0]["budget"] == "$100"
    df = write_cohort_view(tmp_path, rep, 0.5)
    page = (tmp_path / "cohort.html").read_text()
    at = [page.index(f"<td>{i}</td>") for i in ("broke", "risky", "mid", "safe")]
    assert at == sorted(at) and "<td>the Step 2 CK score check</td>" in page
    crowded = dict(zip(df["program_id"], df["crowded"]))
    assert crowded == {"IM-1": True, "IM-2": False, "PED-1": False, "PED-2": False}  # PED: 1 of 1, alone
    assert df.set_index("program_id").loc["PED-1", ["applicants", "of"]].tolist() == [1, 1]
    assert "<b>1</b> receive more than 50%" in page
    assert "flagged only when at least 2 solved applicants are in its specialty: the 2 programs of Pediatrics" in page
    assert (pd.read_csv(tmp_path / "cohort.csv")["crowded"].tolist() ==
            [crowded[p] for p in pd.read_csv(tmp_path / "cohort.csv")["program_id"]])


def test_cohort_booleans_accept_the_documented_spellings_and_name_them_when_wrong(tmp_path):
    from allocator.batch import cohort

    p = tmp_path / "c.csv"
    p.write_text("id,la_ties,reapplicant\na,Y,t\nb,N,F\nc,TRUE,no\nd,1,0\ne,maybe,\n")
    m = load_cohort(p)
    assert [(x.doc or {}).get("applicant") for x in m[:4]] == [
        {"la_ties": True, "reapplicant": True}, {"la_ties": False, "reapplicant": False},
        {"la_ties": True, "reapplicant": False}, {"la_ties": True, "reapplicant": False}]
    assert m[4].error == (f"{p}:6: column la_ties = 'maybe': must be true/false, yes/no, y/n, t/f or 1/0 "
                          "(any case); change it")
    docs = (Path(__file__).resolve().parent.parent / "docs" / "batch.md").read_text()
    row = next(line for line in docs.splitlines() if line.startswith("| `la_ties`"))
    assert all(f"`{w}`" in row for w in cohort._TRUE | cohort._FALSE), row  # every accepted spelling documented


def test_docs_name_every_summary_column():
    from allocator.batch.outputs import SUMMARY_COLUMNS

    docs = (Path(__file__).resolve().parent.parent / "docs" / "batch.md").read_text()
    assert [c for c in SUMMARY_COLUMNS if f"`{c}`" not in docs] == []
    assert "a fraction in [0, 1], not a percent" in docs and "**single\n  most pessimistic**" in docs


def test_docs_list_every_cohort_csv_column_in_order():
    from allocator.batch.cohortview import COLUMNS, RANGE_COLUMNS

    docs = (Path(__file__).resolve().parent.parent / "docs" / "batch.md").read_text()
    row = next(line for line in docs.splitlines() if line.startswith("| `cohort.csv`"))
    named = re.findall(r"`([a-z_0-9]+)`", row.split("|")[2])
    want = [*COLUMNS, "synthetic", *RANGE_COLUMNS]
    assert [c for c in named if c in want] == want, named


def test_report_probabilities_read_as_the_command_line_prints_them():
    """The batch HTML printed "if outcomes were independent 100.0%" where `solve` prints ">99.9%"."""
    from allocator.batch.outputs import _pct

    assert _pct(0.99996) == ">99.9%" and _pct(1.0) == "100.0%" and _pct(None) == "n/a" and _pct(0.5) == "50.0%"


def test_an_input_that_batch_would_write_is_refused_before_anything(tmp_path, capsys):
    """A cohort named cohort.csv or summary.csv inside --out (or linked to one), or a --catalog
    there, is refused up front: exit 2, one line, the input unchanged and nothing created."""
    out = tmp_path / "results"
    out.mkdir()
    text = "id,step2_score,budget\nann,abc,1500\nbob,240,-1\n"
    for name in ("cohort.csv", "summary.csv"):
        coh = out / name
        coh.write_text(text)
        code, _, err = _cli(["batch", str(coh), "--out", str(out)], capsys)
        assert code == 2 and "would overwrite this input" in err and str(coh) in err
        assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
        assert coh.read_text() == text and sorted(os.listdir(out)) == [name]
        coh.unlink()
    (out / "cohort.csv").write_text(text)
    link = tmp_path / "linked.csv"
    os.link(out / "cohort.csv", link)  # another name for the same file
    code, _, err = _cli(["batch", str(link), "--out", str(out)], capsys)
    assert code == 2 and f"(as {out / 'cohort.csv'})" in err
    (out / "cohort.csv").unlink()
    (out / "summary.csv").write_text(CATALOG.read_text())
    coh = tmp_path / "c.csv"
    coh.write_text(text)
    code, _, err = _cli(["batch", str(coh), "--out", str(out), "--catalog", str(out / "summary.csv")], capsys)
    assert code == 2 and f"{out / 'summary.csv'}: this run would overwrite" in err


def test_a_bad_output_target_is_refused_before_any_solve(tmp_path, capsys):
    """A folder where summary.csv goes, a FIFO where cohort.html goes, a folder where an
    applicant's PDF goes, a file where applicants/ goes: exit 2 naming the path, before any
    task (the client would fail if one were sent) and with nothing written."""
    from allocator.batch.run import Options, run_batch

    coh = tmp_path / "c.csv"
    coh.write_text("id,step2_score\nps1,240\n")
    out = tmp_path / "out"
    out.mkdir()
    cases = [(out / "summary.csv", os.mkdir, "is a folder"),
             (out / "cohort.html", os.mkfifo, "is not a regular file"),
             (out / "applicants" / "ps1.pdf", lambda p: os.makedirs(p), "is a folder"),
             (out / "applicants", lambda p: Path(p).write_text(""), "is a file")]
    for path, make, what in cases:
        make(path)
        before = sorted(str(p) for p in out.rglob("*"))
        with pytest.raises(InputError) as e:
            run_batch(coh, Options(out=out), client=object())
        assert str(e.value).startswith(f"{path}: {what}") and "choose another --out" in str(e.value)
        assert "give a file name" not in str(e.value)
        assert sorted(str(p) for p in out.rglob("*")) == before  # nothing created
        (os.rmdir if path.is_dir() else os.unlink)(path)
        if path.parent != out:
            os.rmdir(path.parent)


def test_the_rerun_hash_covers_every_file_under_models(tmp_path, monkeypatch):
    """The ensemble behind the ranges (models/default_ensemble.json) is part of the hash, as
    every other file under models/ and the data tables."""
    import shutil

    from allocator.batch import run
    from allocator.paths import MODELS_DIR

    models = tmp_path / "models"
    shutil.copytree(MODELS_DIR, models, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(run, "MODELS_DIR", models)
    base = run.code_hash()
    assert run.code_hash() == base  # stable
    ens = models / "default_ensemble.json"
    ens.write_text(ens.read_text() + " ")
    changed = run.code_hash()
    assert changed != base
    (models / "notes").mkdir()
    (models / "notes" / "x.txt").write_text("x")  # any file, in any subfolder
    assert run.code_hash() != changed


def test_made_up_ids_never_collide_with_real_ones(tmp_path, capsys):
    """A short row on line 3 (no usable id) beside a real applicant named line3, and two rows
    with the same invalid id: every row keeps its own summary row, the counts are right and
    the exit code is 2 (bad input)."""
    coh = tmp_path / "c.csv"
    tiny = "id,budget,max_applications\n"
    coh.write_text(tiny + "ps1,300,20\n,300\nline3,400,20\n")
    out = tmp_path / "out"
    code, _, err = _cli(["batch", str(coh), "--out", str(out), "--workers", "1", *FAST], capsys)
    assert code == 2, err
    rows = _summary(out)
    assert [r["id"] for r in rows] == ["ps1", "@line3", "line3"]
    assert [r["status"] for r in rows] == ["ok", "bad_input", "ok"]
    assert "3 applicants: 2 solved (0 unchanged, skipped), 1 bad input" in err
    assert (out / "applicants" / "line3.json").is_file()
    coh.write_text(tiny + "a b,300,20\na b,300,20\nx,1\nx,300,20\nx,300,20\n")
    m = load_cohort(coh)
    assert len({x.id for x in m}) == len(m) == 5
    assert [x.id for x in m] == ["a b@line2", "a b@line3", "x@line4", "x", "x@line6"]  # the complete row keeps x
    assert [x.own_id for x in m] == [False, False, False, True, False]
    assert m[2].error == f"{coh}:4: 2 fields, the header has 3; add the 1 missing field(s) (an empty cell keeps " \
                        "the default)"


def test_a_solved_applicant_whose_row_loses_a_field_has_its_old_files_removed(tmp_path, capsys):
    """The short row keeps its usable first-cell id, so ps1's earlier files go, as the docs
    promise for a failed rerun; reports of applicants no longer in the cohort are kept and
    listed."""
    coh = tmp_path / "c.csv"
    coh.write_text("id,budget,max_applications\nps1,300,20\nold,300,20\n")
    out = tmp_path / "out"
    assert _cli(["batch", str(coh), "--out", str(out), "--workers", "1", *FAST], capsys)[0] == 0
    assert (out / "applicants" / "ps1.json").is_file()
    coh.write_text("id,budget,max_applications\nps1,300\n")
    code, _, err = _cli(["batch", str(coh), "--out", str(out), "--workers", "1", *FAST], capsys)
    assert code == 2
    assert [(r["id"], r["status"]) for r in _summary(out)] == [("ps1", "bad_input")]
    assert sorted(os.listdir(out / "applicants")) == ["old.html", "old.json", "old.pdf"]
    assert not (out / ".batch" / "ps1.sha256").exists()
    line = "1 older report in applicants/ is for an applicant not in this cohort (kept): old"
    assert line in err and line in (out / "cohort.html").read_text()


def test_profiles_are_checked_against_their_catalog_before_dask(tmp_path):
    """An unknown specialty, a must_apply id not in the catalog and p_match_la without a
    target are bad input found here (never sent: the client would fail if a task were)."""
    from allocator.batch.run import Options, run_batch

    coh = tmp_path / "c.csv"
    coh.write_text("id,specialties,must_apply,objective\nsp,Dermatology,,\nma,Psychiatry,XX-1,\n"
                   "la,Psychiatry,,p_match_la\n")
    rep = run_batch(coh, Options(out=tmp_path / "out"), client=object())
    assert [r["status"] for r in rep.rows] == ["bad_input"] * 3 and rep.exit_code == 2
    reasons = [r["reason"] for r in rep.rows]
    assert reasons[0].startswith(f"{coh}:2: no demo catalog for specialty 'Dermatology'")
    assert reasons[1].startswith(f"{coh}:3: [strategy] must_apply names 'XX-1', which is not in")
    assert reasons[2] == f"{coh}:4: objective p_match_la needs a P(match) target: set the row's target_p_match " \
                         "column (0 < P < 1)"
    assert all(r["seconds"] == 0 for r in rep.rows)
    # a profile that was read keeps its input columns (the catalog's synthetic flag when there is one)
    assert [(r["budget"], r["objective"], r["synthetic"]) for r in rep.rows] == [
        (2500.0, "safety_first", None), (2500.0, "safety_first", True), (2500.0, "p_match_la", True)]
    assert [r["risk"] for r in rep.rows] == ["bad_input"] * 3


def test_the_budget_curve_says_what_it_shows_for_each_objective():
    from allocator.batch.outputs import curve_title

    assert curve_title({"objective": "utility"}) == "P(match) of the best-utility list by budget"
    for o in ("safety_first", "p_match", "p_match_la"):
        assert curve_title({"objective": o}) == "best P(match) by budget"


def test_the_pdf_text_wraps_long_warnings_and_outside_domain_lines_instead_of_cutting_them():
    """The PDF text cut every warning at 110 characters: "...expects 1.2-12." lost its number
    and its advice.  Wrapped, every word reaches the page and no line is wider than 110."""
    from allocator.batch import outputs

    warning = ("the list's expected interviews lie outside the calibrated domain of the model, which "
               "expects 1.2-12.6; plan below the range shown and apply to more programs if you can")
    reason = "31 applications (calibrated 46-109) " + "and a budget far below what the cohort spent " * 3
    curve = [{"budget": 380.0, "status": "optimal", "p_match": 0.5, "p_match_interval": [0.4, 0.6],
              "p_match_la": 0.1, "p_match_la_interval": [0.05, 0.15], "n_applications": 31,
              "outside_domain": reason.strip()}]
    view = {"id": "x", "source": "x.toml", "payload": {"status": "optimal", "warnings": [warning]},
            "curve": curve, "curve_note": ""}
    lines = outputs._text_lines(view)
    assert max(len(line) for line in lines) <= 110
    words = " ".join(line.strip() for line in lines).split()
    text = " ".join(words)
    assert "warning: " + " ".join(warning.split()) in text
    assert "^ $380: " + " ".join(reason.split()) in text


@pytest.mark.parametrize("workers, want", [
    ("0", "--workers 0: must be at least 1"),
    ("9", "--workers 9: at most 8 on this machine (4 per core, 2 cores)"),
    ("1000", "--workers 1000: at most 8 on this machine"),
])
def test_worker_count_is_bounded_before_any_work(tmp_path, capsys, monkeypatch, workers, want):
    """--workers 1000 on two cores kept starting Dask workers for minutes: refused at once, with
    the bound and the way to a larger cluster; nothing is written."""
    from allocator.batch import run as batch_run

    monkeypatch.setattr(batch_run.os, "cpu_count", lambda: 2)
    coh = _cohort(tmp_path / "coh")
    out = tmp_path / "out"
    code, stdout, err = _cli(["batch", str(coh), "--out", str(out), "--workers", workers, *FAST], capsys)
    assert code == 2 and stdout == "" and len(err.strip().splitlines()) == 1, err
    assert want in err and "Traceback" not in err
    assert not out.exists()
    with pytest.raises(InputError, match="at most 8 on this machine"):  # the library refuses it too
        with batch_run.open_client(None, 9):
            pass


def test_an_infeasible_applicants_reason_names_its_source_as_a_bad_rows_does():
    """summary.csv's reason for a bad row starts "cohort.csv:3: ..."; an infeasible one started
    "infeasible: budget ..." without saying whose profile (the status column says infeasible)."""
    import tomllib

    from allocator.batch.task import run_applicant

    doc = tomllib.loads(TINY.replace("budget = 400", "budget = 60\nmin_applications = 20"))
    job = {"id": "a1", "source": "cohort.csv:3", "doc": doc, "hash": "h", "budgets": [100.0], "draws": 0,
           "catalog": {"text": CATALOG.read_text(), "label": "tiny_p_match.csv"}}
    res = run_applicant(job)
    assert res["status"] == "infeasible"
    assert res["reason"].startswith("cohort.csv:3: ") and not res["reason"].startswith("cohort.csv:3: infeasible")
    assert "min_applications" in res["reason"] and "\n" not in res["reason"]


@pytest.mark.parametrize("statuses, code", [
    (["ok", "ok"], 0),
    (["ok", "failed"], 4),  # a lost task (worker died past its retries)
    (["ok", "solver_error"], 4),
    (["infeasible", "failed"], 3),
    (["infeasible", "solver_error", "ok"], 3),
    (["bad_input", "infeasible"], 2),
    (["bad_input", "solver_error", "infeasible", "failed"], 2),
])
def test_batch_exit_code_and_its_precedence(statuses, code):
    """README (batch, Faults): 0 every applicant solved, 2 some inputs bad, 3 some infeasible, 4 solver
    failures, in that order of precedence (Report.exit_code: bad input before infeasible before
    failures)."""
    from allocator.batch.run import Report

    rep = Report(rows=[{"id": f"a{i}", "status": s, "reason": "", "skipped": False} for i, s in enumerate(statuses)])
    assert rep.exit_code == code


def test_pdf_pages_print_dollar_amounts_as_text_and_wrap_every_line():
    """matplotlib read "fees $3,990 of budget $4,000" as mathtext between two dollar signs and
    printed "fees 3,990ofbudget4,000"; and the header lines ran past the page's 110 columns."""
    from allocator.batch import outputs

    figures = []

    class Pdf:
        def savefig(self, fig):
            figures.append(fig)

    outputs._mono_page(Pdf(), "a $1 title", ["fees $3,990 of budget $4,000"], note="costs $80 and $99")
    texts = figures[0].texts
    assert len(texts) == 3 and not any(t.get_parse_math() for t in texts)
    assert "fees $3,990 of budget $4,000" in texts[-1].get_text()
    payload = {"status": "optimal", "objective": "safety_first", "model": {"kind": "two-stage"},
               "p_match": 0.812, "p_match_interval": [0.731, 0.887], "p_match_pessimistic": 0.658,
               "p_match_la": 0.048, "p_match_la_interval": [0.027, 0.074],
               "p_match_published_curve": [0.7123456, 0.8123456], "warnings": [],
               "cost": {"total": 3990.0}, "constraints": {"budget": 4000.0}}
    lines = outputs._text_lines({"id": "x", "source": "cohorts/" + "long-folder-name/" * 8 + "x.toml",
                                 "payload": payload, "curve": None})
    assert max(len(line) for line in lines) <= 110
    assert "of budget $4,000" in " ".join(lines)


def _sigint_blocked_in_every_thread(pid: int) -> bool:
    """SIGINT (bit 2 of SigBlk) blocked in every thread of process ``pid`` (Linux /proc)."""
    tasks = list(Path(f"/proc/{pid}/task").iterdir())
    masks = [int(re.search(r"^SigBlk:\s*([0-9a-f]+)$", (t / "status").read_text(), re.M).group(1), 16)
             for t in tasks]
    return bool(masks) and all(m & (1 << (signal.SIGINT - 1)) for m in masks)


def test_local_workers_never_see_sigint_and_the_client_keeps_its_handler():
    """Ctrl-C is the client's: every local worker process starts with SIGINT blocked in all its
    threads and ignores it (its preload), a worker the nanny restarts too; this process gets
    its own handler and mask back."""
    from allocator.batch import run as batch_run

    before = signal.getsignal(signal.SIGINT)
    with batch_run.open_client(None, 2) as client:
        assert signal.getsignal(signal.SIGINT) is before
        assert signal.SIGINT not in signal.pthread_sigmask(signal.SIG_BLOCK, [])
        for _ in range(2):  # as started, then after a restart (new worker processes)
            pids = client.run(os.getpid)
            assert len(pids) == 2
            assert set(client.run(lambda: signal.getsignal(signal.SIGINT) == signal.SIG_IGN).values()) == {True}
            if Path("/proc/self/task").is_dir():
                assert all(_sigint_blocked_in_every_thread(p) for p in pids.values()), pids
            client.restart()
        assert set(client.run(os.getpid).values()).isdisjoint(pids.values())


def test_a_ctrl_c_while_the_cluster_starts_is_raised_when_it_has_started():
    from allocator.batch.run import workers_ignore_sigint

    before = signal.getsignal(signal.SIGINT)
    steps = []
    with pytest.raises(KeyboardInterrupt):
        with workers_ignore_sigint():
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.05)
            steps.append("the cluster started")  # not cut short: it can be closed
    assert steps == ["the cluster started"]
    assert signal.getsignal(signal.SIGINT) is before
    assert signal.SIGINT not in signal.pthread_sigmask(signal.SIG_BLOCK, [])


def test_an_interrupted_run_writes_the_summary_of_the_applicants_settled_so_far(tmp_path, monkeypatch):
    """On Ctrl-C, summary.csv has the finished applicants' rows and the others as not_run (with
    their inputs); the cohort view of a part of the cohort is not written."""
    from allocator.batch import run as batch_run

    coh = tmp_path / "c.csv"
    coh.write_text("id,budget\na,300\nb,bad\nc,500\nd,600\n")
    payload = {"status": "optimal", "objective": "safety_first", "p_match": 0.42, "constraints": {"budget": 300.0},
               "cost": {"total": 290.0, "fixed": 80.0, "season": "2026"}, "data": {"synthetic": True}}

    def compute(client, jobs, retries):
        assert [j["id"] for j in jobs] == ["a", "c", "d"]
        yield {"id": "a", "source": f"{coh}:2", "hash": jobs[0]["hash"], "status": "ok", "reason": "", "seconds": 2.0,
               "json": json.dumps(payload), "html": b"<html></html>", "pdf": b"%PDF-", "solve_status": "optimal"}
        raise KeyboardInterrupt

    monkeypatch.setattr(batch_run, "_compute", compute)
    out = tmp_path / "out"
    with pytest.raises(KeyboardInterrupt):
        batch_run.run_batch(coh, batch_run.Options(out=out, catalog=CATALOG), client=object())
    rows = _summary(out)
    assert [(r["id"], r["status"], r["risk"]) for r in rows] == [
        ("a", "ok", "high"), ("b", "bad_input", "bad_input"), ("c", "not_run", "not_run"), ("d", "not_run", "not_run")]
    assert rows[2]["reason"].startswith("the run was interrupted before this applicant was solved")
    assert (rows[2]["budget"], rows[3]["budget"], rows[2]["source"]) == ("500.0", "600.0", f"{coh}:4")
    assert (out / "applicants" / "a.json").exists() and (out / ".batch" / "a.sha256").exists()
    assert not (out / "cohort.csv").exists()
    page = (out / "cohort.html").read_text()
    assert "the last run was interrupted" in page and "<b>2 not run</b>, 1 solved, 1 bad input" in page
    assert not [p.name for p in out.rglob(".*") if p.is_file()]  # no temp file left
    assert not (out / ".batch" / "lock").exists()  # the run's lock is released on the interrupt


def test_an_interrupted_rerun_with_changed_inputs_removes_the_outdated_reports_of_those_not_run(tmp_path, monkeypatch):
    """A rerun whose inputs changed (every budget raised) and that is interrupted: the applicants
    not run lose the reports made from their older inputs (no "budget $300" report beside a
    not_run row for 800); one whose inputs did not change keeps its files; the old cohort.csv
    goes and cohort.html says the run was interrupted and how many were not run."""
    from allocator.batch import run as batch_run

    coh = tmp_path / "c.csv"
    out = tmp_path / "out"
    payload = {"status": "optimal", "objective": "safety_first", "p_match": 0.42, "constraints": {"budget": 300.0},
               "cost": {"total": 290.0, "fixed": 80.0, "season": "2026"}, "data": {"synthetic": True}}

    def solved(jobs):
        for j in jobs:
            yield {"id": j["id"], "source": j["source"], "hash": j["hash"], "status": "ok", "reason": "",
                   "seconds": 1.0, "json": json.dumps(payload), "html": b"<html>old</html>", "pdf": b"%PDF-"}

    monkeypatch.setattr(batch_run, "_compute", lambda client, jobs, retries: solved(jobs))
    coh.write_text("id,budget\na,300\nb,400\nc,500\n")
    batch_run.run_batch(coh, batch_run.Options(out=out, catalog=CATALOG), client=object())
    assert (out / "cohort.csv").exists() and (out / "applicants" / "c.pdf").exists()

    def interrupted(client, jobs, retries):
        assert [j["id"] for j in jobs] == ["a", "b"]  # c is unchanged, skipped
        yield next(solved(jobs[:1]))
        raise KeyboardInterrupt

    monkeypatch.setattr(batch_run, "_compute", interrupted)
    coh.write_text("id,budget\na,800\nb,900\nc,500\n")
    with pytest.raises(KeyboardInterrupt):
        batch_run.run_batch(coh, batch_run.Options(out=out, catalog=CATALOG), client=object())
    rows = {r["id"]: r for r in _summary(out)}
    assert [rows[i]["status"] for i in "abc"] == ["ok", "not_run", "ok"]
    left = sorted(p.name for p in (out / "applicants").iterdir())
    assert left == ["a.html", "a.json", "a.pdf", "c.html", "c.json", "c.pdf"]  # b's budget-400 report is gone
    assert not (out / ".batch" / "b.sha256").exists() and (out / ".batch" / "c.sha256").exists()
    assert not (out / "cohort.csv").exists()
    assert "<b>1 not run</b>, 2 solved" in (out / "cohort.html").read_text()


def test_ctrl_c_on_the_process_group_prints_one_line_and_leaves_no_worker(tmp_path):
    """SIGINT to the whole process group, as a terminal sends it, once the first applicant is
    done: one line ("allocator: interrupted"), no worker traceback, exit 130, the summary of
    the applicants done so far, and no process of the run left."""
    coh = tmp_path / "c.csv"
    coh.write_text("id,budget\n" + "".join(f"a{k},{300 + 50 * k}\n" for k in range(6)))
    out = tmp_path / "out"
    args = [sys.executable, "-m", "allocator", "batch", str(coh), "--out", str(out), "--workers", "2",
            "--draws", "20000", "--sweep", "100:2000:100", "--catalog", str(CATALOG)]
    proc = subprocess.Popen(args, cwd=Path(__file__).resolve().parent.parent, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)  # its own process group, as a terminal's job
    lines: list[str] = []
    try:
        reader = threading.Thread(target=lambda: lines.extend(proc.stderr), daemon=True)
        reader.start()
        deadline = time.monotonic() + 90
        while not any(re.match(r"\[\d/6\] a\d: ok", x) for x in lines) and time.monotonic() < deadline:
            if proc.poll() is not None:
                break
            time.sleep(0.05)
        if proc.poll() is not None or not any(re.match(r"\[\d/6\] a\d: ok", x) for x in lines):
            pytest.skip("the batch ended, or solved no applicant within 90 s, before the signal could be sent")
        os.killpg(proc.pid, signal.SIGINT)
        proc.wait(timeout=60)
        reader.join(timeout=10)
        rows = _summary(out)
        if "not_run" not in {r["status"] for r in rows}:
            pytest.skip("every applicant was done before the signal arrived (machine too fast for this cohort)")
        gone = time.monotonic() + 20
        while time.monotonic() < gone:
            try:
                os.killpg(proc.pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.1)
        else:
            pytest.fail("processes of the interrupted run were still alive 20 s after it ended")
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
    err = "".join(lines)
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err
    assert [x for x in lines if not re.match(r"\[\d/6\] a\d: ok", x)] == ["allocator: interrupted\n"], err
    done = {m.group(1) for m in re.finditer(r"^\[\d/6\] (a\d): ok", err, re.M)}
    assert {r["id"] for r in rows if r["status"] == "ok"} == done and len(rows) == 6
    assert {r["status"] for r in rows} == {"ok", "not_run"}


SAFE_WARNING = ("Step 2 CK 259 is 23 points above the calibration cohort's mean of 236, and ...: for a score this "
                "high P(match) may be understated, so the range may be cautious (the safe direction)")
UPPER_WARNING = ("outside the calibrated domain: 45 of this list's 45 programs (100%) have 85% IMGs or more ...: "
                 "nothing checked the model on a list like this, so its P(match) may be overstated beyond the range "
                 "shown: read the figure to plan on as an upper estimate, and apply more widely if you can")


def test_a_warning_that_the_figure_may_be_overstated_comes_first_and_marks_the_risk(tmp_path):
    """The review's six "low" rows: their first warning was the safe-direction Step 2 CK note and
    the "upper estimate" one was never shown.  Now it comes first in summary.csv's warnings, the
    page's warning column and the reports; upper_estimate is true; the page's risk reads
    "low, upper estimate"."""
    from allocator.batch import outputs
    from allocator.batch.cohortview import applicant_rows, write_cohort_view
    from allocator.batch.run import Report

    flagged = _plan_payload(0.9, 0.8035, warnings=[SAFE_WARNING, "another note", UPPER_WARNING])
    plain = _plan_payload(0.95, 0.85, warnings=[SAFE_WARNING])
    rows = [outputs.summary_row({"id": i, "status": "ok", "seconds": 1.0}, p)
            for i, p in (("s003", flagged), ("s010", plain))]
    assert [r["risk"] for r in rows] == ["low", "low"]  # the column keeps its documented values
    assert [r["upper_estimate"] for r in rows] == [True, False]
    assert rows[0]["warnings"].split(" | ") == [UPPER_WARNING, SAFE_WARNING, "another note"]
    table = {a["id"]: a for a in applicant_rows(Report(rows=rows, payloads={"s003": flagged, "s010": plain}))}
    assert (table["s003"]["risk"], table["s003"]["note"]) == ("low, upper estimate", UPPER_WARNING)
    assert (table["s010"]["risk"], table["s010"]["note"]) == ("low", SAFE_WARNING)
    write_cohort_view(tmp_path, Report(rows=rows, payloads={"s003": flagged, "s010": plain}), 0.5)
    assert "<td>low, upper estimate</td>" in (tmp_path / "cohort.html").read_text()
    view = {"id": "s003", "source": "c.csv:4", "payload": flagged, "curve": []}
    page = outputs.applicant_html(view)
    assert page.index("upper estimate") < page.index("the safe direction")
    text = " ".join(outputs._text_lines(view))
    assert text.index("upper estimate") < text.index("the safe direction")
    low_score = "Step 2 CK 221 is 15 points below ...: for a score this low P(match) may be overstated, beyond ..."
    assert outputs.upper_estimate([low_score]) and not outputs.upper_estimate([SAFE_WARNING, "no list"])
    assert outputs.unsafe_first([SAFE_WARNING, "x; plan below the range"]) == ["x; plan below the range", SAFE_WARNING]
    one_card = "no range over plausible models: ... may be well off either way; plan below it, or use a card ..."
    assert outputs.unsafe_first([SAFE_WARNING, one_card]) == [one_card, SAFE_WARNING]
    assert not outputs.upper_estimate([one_card])  # either way: not said to be an upper estimate
    from allocator.verification.published_curve import below_range_warning  # its upper end is an "at most"

    curve = below_range_warning((0.40, 0.643), (0.70, 0.85))
    assert curve and outputs.upper_estimate(curve) and outputs.unsafe_first([SAFE_WARNING, *curve])[0] == curve[0]


def _prog(pid, specialty):
    return {"program_id": pid, "name": f"Synthetic {pid}", "specialty": specialty, "city": "Irvine", "state": "CA",
            "tier": "la", "p_match": 0.1}


def test_the_chart_gives_every_specialty_bars_when_another_fills_the_top_with_ties_at_100_percent():
    """40 Family Medicine programs shared by both FM applicants (100%) used to fill all 30 bars;
    Internal Medicine, the biggest group, at 2 of 3 (67%), was left out."""
    from allocator.batch.cohortview import CHART_TOP, chart_rows, program_counts

    fm = [_prog(f"FM-{k:02d}", "Family Medicine") for k in range(40)]
    im = [_prog(f"IM-{k:02d}", "Internal Medicine") for k in range(20)]
    payloads = {"f1": {"selected": fm}, "f2": {"selected": fm},
                "i1": {"selected": im}, "i2": {"selected": im},
                "i3": {"selected": [_prog("IM-XX", "Internal Medicine")]}}
    df = program_counts(payloads, 0.5)
    assert df.head(CHART_TOP)["specialty"].unique().tolist() == ["Family Medicine"]  # the old chart's rows
    top = chart_rows(df)
    assert len(top) == CHART_TOP
    assert top["specialty"].value_counts().to_dict() == {"Family Medicine": 15, "Internal Medicine": 15}
    assert top["share"].is_monotonic_decreasing  # shown in the table's order, the most shared first
    assert top[top["specialty"] == "Internal Medicine"]["program_id"].tolist()[:10] == [f"IM-{k:02d}"
                                                                                         for k in range(10)]
    assert chart_rows(df.iloc[:0]).empty


def test_summary_counts_each_lists_crowded_programs(tmp_path, monkeypatch):
    """n_crowded: the programs on the applicant's list that cohort.csv flags as crowded."""
    from allocator.batch import run as batch_run

    lists = {"a": ["IM-1", "IM-2", "IM-3"], "b": ["IM-1", "IM-2"], "c": ["IM-1"]}

    def compute(client, jobs, retries):
        for j in jobs:
            p = {"status": "optimal", "objective": "p_match", "p_match": 0.5, "cost": {"total": 100.0},
                 "p_match_worst_season": {"season": 2022, "p_match": 0.4},
                 "selected": [_prog(x, "Internal Medicine") for x in lists[j["id"]]]}
            yield {"id": j["id"], "source": j["source"], "hash": j["hash"], "status": "ok", "reason": "",
                   "seconds": 1.0, "json": json.dumps(p), "html": b"<html><table></table></html>", "pdf": b"%PDF-"}

    monkeypatch.setattr(batch_run, "_compute", compute)
    coh = tmp_path / "c.csv"
    coh.write_text("id,budget\na,300\nb,400\nc,500\nd,bad\n")
    out = tmp_path / "out"
    batch_run.run_batch(coh, batch_run.Options(out=out, catalog=CATALOG), client=object())
    rows = _summary(out)
    assert [(r["id"], r["n_crowded"]) for r in rows] == [("a", "2"), ("b", "2"), ("c", "1"), ("d", "")]
    crowded = pd.read_csv(out / "cohort.csv").set_index("program_id")["crowded"].to_dict()
    assert crowded == {"IM-1": True, "IM-2": True, "IM-3": False}
    assert [r["worst_season"] for r in rows] == ["2022", "2022", "2022", ""]  # not 2022.0
    assert "(Internal Medicine 2)" in (out / "cohort.html").read_text()
    # the applicant's HTML report says it, once, before its first table; a list with none crowded says nothing
    a = (out / "applicants" / "a.html").read_text()
    assert a == ("<html>" + "<p class=warn id=crowding>crowding: 2 of this list&#x27;s 3 programs are also on the "
                 "lists of more than 50% of this cohort&#x27;s solved applicants in their specialty (cohort.html). "
                 "Classmates there compete for the same interviews and positions, which this report&#x27;s P(match) "
                 "does not count (it treats the applicant alone), so it may be overstated; the office may spread the "
                 "lists.</p><table></table></html>")
    # a rerun on another cohort (c alone on IM-1 with b; a left out): the sentence follows the new cohort
    coh.write_text("id,budget\nb,400\nc,500\n")
    batch_run.run_batch(coh, batch_run.Options(out=out, catalog=CATALOG), client=object())
    b = (out / "applicants" / "b.html").read_text()
    assert b.count("id=crowding") == 1 and "crowding: 1 of this list&#x27;s 2 programs" in b
    assert (out / "applicants" / "a.html").read_text() == a  # not in this cohort: left as it was


def test_a_second_run_into_the_same_out_is_refused_and_a_stale_lock_is_taken_over(tmp_path, monkeypatch, capsys):
    """The lock in .batch/: a live run's lock refuses the second run at once (exit 2, one line
    with the other run's pid and start time, nothing written); a lock whose process is gone is
    taken over; the lock is removed when the run ends."""
    from allocator.batch import lock

    coh = tmp_path / "c.csv"
    coh.write_text("id,budget\na,bad\n")
    out = tmp_path / "out"
    (out / ".batch").mkdir(parents=True)
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        lock.lock_path(out).write_text(f"pid={other.pid}\nhost={socket.gethostname()}\n"
                                       "started=2026-12-07 23:10:00 UTC\n")
        code, _, err = _cli(["batch", str(coh), "--out", str(out)], capsys)
        assert code == 2 and len(err.strip().splitlines()) == 1, err
        assert f"another allocator batch is writing to this folder (pid {other.pid} on " in err
        assert "started 2026-12-07 23:10:00 UTC); wait for it to end or choose another --out" in err
        assert f"remove {lock.lock_path(out)}" in err
        assert not (out / "summary.csv").exists()
    finally:
        other.kill()
        other.wait()
    # the same lock once its process is gone: stale, taken over, and removed at the end
    code, _, err = _cli(["batch", str(coh), "--out", str(out)], capsys)
    assert code == 2 and (out / "summary.csv").exists(), err
    assert not lock.lock_path(out).exists()
    # another host's lock cannot be checked: refused, and the message says how to clear it
    lock.lock_path(out).write_text("pid=1\nhost=elsewhere.example\nstarted=2026-12-07 23:10:00 UTC\n")
    with pytest.raises(InputError, match="pid 1 on elsewhere.example"):
        lock.take(out)
    lock.lock_path(out).unlink()
    with lock.run_lock(out) as held:
        assert held.read_text().startswith(f"pid={os.getpid()}\n")
        with pytest.raises(InputError, match=f"pid {os.getpid()} "):
            lock.take(out)
    assert not held.exists()
    # an empty lock: a run that is starting, unless it has stayed empty a minute (its writer died)
    lock.lock_path(out).write_text("")
    with pytest.raises(InputError, match="a run that is starting"):
        lock.take(out)
    old = time.time() - lock.EMPTY_STALE_SECONDS - 5
    os.utime(lock.lock_path(out), (old, old))
    assert lock.take(out) == lock.lock_path(out) and lock.lock_path(out).read_text().startswith("pid=")


def test_cohort_csv_semicolons_excel_empty_columns_and_the_offices_own_note_columns(tmp_path):
    """A semicolon-separated file says so and how to save it; Excel's trailing empty header cells
    are skipped when their columns are empty, and refused (naming the column and a line) when
    not; note_ columns (a student's name, email) are kept unread and out of the rerun hash;
    another unknown column is refused and the message names the note_ prefix."""
    from allocator.batch.run import Options, input_hash

    semi = tmp_path / "semi.csv"
    semi.write_bytes("\ufeffid;specialties;budget\r\na;Internal Medicine;1500\r\n".encode())
    with pytest.raises(InputError) as e:
        load_cohort(semi)
    assert str(e.value).startswith(f"{semi}: line 1: the file looks separated by semicolons (;), not commas")
    assert "save it as comma-separated CSV" in str(e.value)

    excel = tmp_path / "excel.csv"
    excel.write_text("id,budget,,\na,1500,,\nb,,,\n")
    assert [(m.id, m.error, m.doc) for m in load_cohort(excel)] == [
        ("a", None, {"strategy": {"budget": 1500.0}}), ("b", None, {})]
    excel.write_text("id,budget,,\na,1500,,\nb,900,x,\n")
    with pytest.raises(InputError, match=r"line 1: column 3 has no name, and line 3 has a value in it; name the "
                                         r"column in the header, or delete it"):
        load_cohort(excel)

    named = tmp_path / "named.csv"
    named.write_text("id,note_name,budget,note_email\na,Ana Diaz,1500,ana@example.edu\n")
    plain = tmp_path / "plain.csv"
    plain.write_text("id,budget\na,1500\n")
    (m,), (p,) = load_cohort(named), load_cohort(plain)
    assert m.ok and m.doc == p.doc == {"strategy": {"budget": 1500.0}}
    opts = Options(out=tmp_path / "out")
    assert input_hash(m, None, opts, "code") == input_hash(p, None, opts, "code")  # a name edit re-solves no one
    named.write_text("id,name,budget\na,Ana Diaz,1500\n")
    with pytest.raises(InputError, match=r"column 'name' is not a cohort column; .* or name a column of your own "
                                         r"with the prefix note_ \(note_name\) to keep it in the file unread"):
        load_cohort(named)


def test_a_lower_case_specialty_is_refused_with_the_spelling_to_write(tmp_path):
    p = tmp_path / "c.csv"
    p.write_text("id,specialties\na,internal medicine\n")
    err = load_cohort(p)[0].error
    assert err.endswith("'internal medicine': not accepted: allocator's tables (ERAS signals, the model card) spell "
                        "this specialty 'Internal Medicine', and another spelling would lose its programs' signals and "
                        "the model's figures for it; write \"Internal Medicine\""), err


def test_the_answers_proof_window_is_not_called_a_time_limit_when_none_was_given(monkeypatch):
    """Without --time-limit, step 2's integer program gets PROOF_SECONDS of wall-clock time to prove
    a list whose gap is already small; stopping there said "time limit reached" (10 of the
    review's 92 JSONs), as if the user's limit ran out.  With --time-limit the message stays."""
    import dataclasses as dc
    import types

    import numpy as np

    from allocator.optim import safety
    from allocator.optim.outer import Outcome
    from allocator.status import Status

    stopped = Outcome(Status.FEASIBLE, None, 0.5, 0.51, 0.01, 10.0, 10.0, 3, 40, "milp", "time limit reached")
    seen = []

    def traded(*args, **kw):
        seen.append(args[6])  # the window it was given
        return stopped

    monkeypatch.setattr(safety, "_traded", traded)
    monkeypatch.setattr(safety, "evaluate", lambda *a, **k: types.SimpleNamespace(expected_utility=0.4))
    problem = types.SimpleNamespace(utility=np.array([1.0, 0.5]), n=2, with_limits=lambda **k: problem)
    safest = dc.replace(stopped, message="")
    out, solved = safety._best_utility(problem, safest, 0.4, None, None, "auto", "highs", True)
    assert solved and out.message == safety.PROOF_WINDOW_MESSAGE and "time limit" not in out.message
    assert out.message.startswith(f"proof window reached: the integer program that proves the list gets "
                                  f"{safety.PROOF_SECONDS:g} s of wall-clock time when no --time-limit is given")
    out, _ = safety._best_utility(problem, safest, 0.4, None, 30.0, "auto", "highs", True)
    assert out.message == "time limit reached" and seen == [safety.PROOF_SECONDS, safety.PROOF_SECONDS]


@pytest.fixture(scope="module")
def typical_answer():
    """The typical profile's safety-first answer, as the JSON batch reads (with its safest and
    LA-most lists), and the command line's text of the same Result."""
    import io

    from rich.console import Console

    from allocator.api import solve
    from allocator.output.report import render_solve

    res = solve(str(DATA_DIR / "profiles" / "typical_us_img.toml"), draws=0)
    buf = io.StringIO()
    render_solve(res, Console(file=buf, width=10_000, color_system=None), limit=0)
    return json.loads(json.dumps(res.to_dict())), buf.getvalue()


def test_the_report_names_the_preference_and_the_fee_season_and_the_summary_the_season(typical_answer, tmp_path):
    """Review 22: the HTML and PDF never named the geographic preference (worth about 6 points of
    the report's P(match)) nor the fee season; summary.csv had no season.  Now both reports give
    the preference as the command line does and the season as the web page does; summary.csv's
    ``season`` is the JSON's cost.season, or the profile's for a row without a list."""
    import html as html_lib

    from allocator.batch import outputs
    from allocator.batch.cohort import load_cohort
    from allocator.batch.precheck import precheck

    d, cli = typical_answer
    geo = ", ".join(d["geographic_preference"])
    assert d["geographic_preference_source"] == "optimized" and f"geographic preference {geo}" in " ".join(cli.split())
    view = {"id": "typical", "source": "typical.toml", "payload": d, "curve": []}
    page = html_lib.unescape(outputs.applicant_html(view))
    assert f"<td>geographic preference</td><td class=n>{geo}</td>" in page
    assert "<td>fee schedule</td><td class=n>2026 ERAS schedule</td>" in page
    text = "\n".join(outputs._text_lines(view))
    assert f"\ngeographic preference {geo}\n" in text and "; fee schedule: 2026 ERAS schedule" in " ".join(text.split())
    assert outputs.preference_row({"geographic_preference": ["Pacific"], "geographic_preference_source": "profile"}) \
        == ["geographic preference (fixed in the profile)", "Pacific"]
    assert outputs.preference_row({}) == ["geographic preference", "none"]
    assert outputs.fee_season_text({"cost": {"season": "none"}}) == "no ERAS fees: your own costs"
    row = outputs.summary_row({"id": "typical", "status": "ok", "seconds": 1.0}, d, {"season": "2025"})
    assert outputs.SUMMARY_COLUMNS[-1] == "season" and row["season"] == "2026"  # the payload's, the fees used
    cohort = tmp_path / "c.csv"
    cohort.write_text("id,season,budget\nold,2025,100\nnew,2026,100\nnofees,none,100\n")
    members = precheck(load_cohort(cohort))
    assert [m.inputs["season"] for m in members] == ["2025", "2026", "none"]
    row = outputs.summary_row({"id": "old", "status": "infeasible", "seconds": 1.0}, None, members[0].inputs)
    assert row["season"] == "2025"


def test_the_report_says_what_the_command_line_and_web_page_say_of_the_same_answer(typical_answer, monkeypatch):
    """Review 22: the batch report left out the trade against the LA-most list, that a feasible
    list is not proven the best, and that the budget curve's points are not the safety-first
    answer.  Now it gives them in the same words, from the same functions."""
    import html as html_lib
    import re as re_

    from allocator.batch import outputs
    from allocator.output.report import curve_caveat, unproven_text

    d, cli = typical_answer
    assert set(d["alternatives"]) == {"safest", "la_leaning"}
    view = {"id": "typical", "source": "typical.toml", "payload": d, "curve": []}
    page = html_lib.unescape(outputs.applicant_html(view))
    text = " ".join(" ".join(outputs._text_lines(view)).split())
    flat = " ".join(cli.split())
    for label in ("the safest list", "the LA-most list at the same floor"):
        said = re_.search(rf"Against {re_.escape(label)} \(.*?\): this list (.*?)\. ", flat)
        if said is None:  # a list set against itself: the command line says so instead
            assert f"This list is also {label}" in flat or "which is also the LA-most list" in flat
            continue
        sentence = f"Against {label}, this list {said.group(1)}."
        assert f"<p>{sentence}</p>" in page and sentence in text
    assert "<th>LA-most list</th>" in page and "LA-most list" in text
    caveat = curve_caveat("p_match", "safety_first")
    assert caveat.startswith(", not the safety-first answer above") and "need not be the answer's" in caveat
    assert f"<p>best P(match) by budget{caveat}</p>" in page and f"Budget curve: best P(match) by budget{caveat}" in text
    feasible = d | {"status": "feasible", "solver": {**d["solver"], "gap": 0.0005}}
    want = ("Best list found, not proven the best: no list at the floor has an expected tier utility more than "
            "0.0005 above this one. It meets the P(match) floor.")
    assert unproven_text(0.0005) + "." == want
    fview = view | {"payload": feasible}
    assert f"<p id=unproven>{want}</p>" in outputs.applicant_html(fview)
    assert want in " ".join(" ".join(outputs._text_lines(fview)).split())
    assert "not proven" not in outputs.applicant_html(view | {"payload": d | {"status": "optimal"}})


def test_cohort_page_gives_no_figure_to_plan_on_where_no_surface_does_and_the_reports_status_word(tmp_path):
    """Review 22: for a catalog with its own p_match (no range, so no figure to plan on anywhere
    else) cohort.html showed "plan on 60%", its P(match) rounded down, and sorted it among the
    figures to plan on.  Now its cell says none and why, and such rows come after the rows without
    a list and before the others.  The status column says what the report says ("feasible", not
    "ok")."""
    from allocator.api import solve
    from allocator.batch.cohortview import applicant_rows, write_cohort_view
    from allocator.batch.outputs import summary_row
    from allocator.batch.run import Report

    own = json.loads(json.dumps(solve(str(DATA_DIR / "profiles" / "tiny_demo.toml"), str(CATALOG),
                                      draws=0).to_dict()))
    assert own["p_match_plan"] is None and own["p_match_interval"] is None
    payloads = {"own": own, "low": _plan_payload(0.5, 0.3, lo=0.35, hi=0.6) | {"status": "feasible"}}
    rows = [summary_row({"id": i, "status": "ok", "seconds": 1.0}, payloads[i]) for i in ("low", "own")]
    rows.insert(0, summary_row({"id": "broke", "status": "infeasible", "seconds": 1.0, "reason": "c.csv:2: ..."}, None))
    rep = Report(rows=rows, payloads=payloads)
    table = applicant_rows(rep)
    assert [a["id"] for a in table] == ["broke", "own", "low"]
    mine = table[1]
    assert (mine["plan"], mine["status"]) == ("none", "optimal")
    assert mine["plan_from"] == "no figure to plan on: no range over plausible models (the catalog's own p_match, " \
                                "taken as exact)"
    assert table[2]["status"] == "feasible" and table[0]["status"] == "infeasible"
    write_cohort_view(tmp_path, rep, 0.5)
    mine = re.search(r"<tr><td>own</td>.*?</tr>", (tmp_path / "cohort.html").read_text()).group(0)
    assert mine.startswith("<tr><td>own</td><td>optimal</td>") and "<td class=n>none</td>" in mine
    assert "60%" not in mine and f"{100 * own['p_match']:.1f}%" in mine  # its P(match), in the average column


def test_every_pdf_page_of_a_synthetic_list_carries_the_label(monkeypatch):
    """Review 22: only the PDF's first two pages said SYNTHETIC; its list pages did not."""
    from allocator.batch import outputs

    pages = []
    monkeypatch.setattr(outputs, "_mono_page", lambda pdf, title, lines, note=None: pages.append((title, note)))
    sel = [{"program_id": f"IM-{k}", "name": f"Synthetic IM Program {k}", "state": "CA", "tier": "west",
            "p_match": 0.1} for k in range(100)]
    payload = _plan_payload(0.8, 0.7, selected=sel)
    outputs.applicant_pdf({"id": "x", "source": "x.toml", "payload": payload, "curve": []})
    assert [t for t, _ in pages][1:] == ["The list (100 programs), 1-80", "The list (100 programs), 81-100"]
    assert all(n == outputs.SYNTHETIC_NOTE for _, n in pages)
    pages.clear()
    outputs.applicant_pdf({"id": "x", "source": "x.toml", "payload": payload | {"data": {"synthetic": False}},
                           "curve": []})
    assert all(n is None for _, n in pages)


def test_the_docs_say_which_step2_column_takes_a_score_and_which_pass(tmp_path):
    """Review 22: docs/batch.md's one row "`step2_score`, `step2` | a whole number 180-300, or
    `pass`" read as if either column took either value; the reader takes a score in step2_score
    and only pass in step2, one of them per row.  The docs now give each column its own row."""
    docs = (Path(__file__).resolve().parent.parent / "docs" / "batch.md").read_text().splitlines()
    score = next(line for line in docs if line.startswith("| `step2_score` |"))
    passed = next(line for line in docs if line.startswith("| `step2` |"))
    assert "whole number 180-300" in score and "`pass` here is bad input" in score
    assert "`pass` (passed" in passed and "not both" in passed
    p = tmp_path / "c.csv"
    p.write_text("id,step2_score,step2\nscore,237,\npassed,,pass\nwrong1,pass,\nwrong2,,237\nboth,237,pass\n")
    m = {x.id: x for x in load_cohort(p)}
    assert m["score"].doc["applicant"] == {"step2_score": 237} and m["passed"].doc["applicant"] == {"step2": "pass"}
    assert "step2_score = 'pass': must be a whole number" in m["wrong1"].error
    assert "step2 = '237': use 'pass'" in m["wrong2"].error and "not both" in m["both"].error
