"""The cohort view: how many of the office's applicants each program receives.

Applicants from one school who are sent to the same programs compete with each other
there (each model's P(match) treats an applicant alone).  :func:`program_counts` counts,
for every program on at least one list, the applicants whose list includes it, and their
share of the office's solved applicants *in that program's specialty* (an office with
Internal Medicine and Pediatrics applicants would otherwise never see its Pediatrics
programs crowded); the programs above ``crowd_share`` are flagged, when at least
:data:`MIN_APPLICANTS` solved applicants are in their specialty (one applicant alone in a
specialty is "100% of it" on every program of their list, and competes with nobody from the
office).  An applicant is in a specialty when their list has applications in it.

``cohort.html`` also lists the applicants, sorted by the figure to plan on (lowest first;
the rows without a list before them, then the lists without that figure: no range over
plausible models), with where that figure comes from, the range, the average, budget and
fees, and the first warning (:func:`applicant_rows`).
``cohort.html`` shows the table and a bar chart of the most-shared programs (each
specialty's in turn: :func:`chart_rows`);
``cohort.csv`` has every program.  ``mean_p_success`` (the mean of the applicants' P(success)
there, in [0, 1]) comes with ``mean_p_success_p10`` and ``mean_p_success_p90``: the means of
their 10th and 90th percentiles over the plausible models, empty when a list has none (a
catalog with its own p_match).  These two go last in ``cohort.csv``, after ``synthetic``.
"""
from __future__ import annotations

import html
from pathlib import Path

import pandas as pd

from allocator.batch.outputs import SYNTHETIC_NOTE, png_data_uri
from allocator.output.files import atomic_write

COLUMNS = ["program_id", "name", "specialty", "city", "state", "tier", "applicants", "of", "share", "crowded",
           "mean_p_success", "applicant_ids"]
RANGE_COLUMNS = ["mean_p_success_p10", "mean_p_success_p90"]  # written after cohort.csv's synthetic column
CHART_TOP = 30
# A program can be flagged as crowded only when this many solved applicants are in its
# specialty (``of``): with one, every program on their list has share 1 and no competitor.
MIN_APPLICANTS = 2


def _specialties(payload: dict) -> set[str]:
    by = (payload.get("cost") or {}).get("by_specialty") or {}
    return {k for k, v in by.items() if v} | {x.get("specialty", "") for x in payload.get("selected") or []}


def program_counts(payloads: dict[str, dict], crowd_share: float) -> pd.DataFrame:
    """One row per program on any list: ``applicants`` sent there, ``of`` (the solved
    applicants in its specialty), ``share`` = applicants / of, and ``crowded``."""
    in_specialty: dict[str, int] = {}
    for p in payloads.values():
        for sp in _specialties(p):
            in_specialty[sp] = in_specialty.get(sp, 0) + 1
    seen: dict[str, dict] = {}
    for mid, p in sorted(payloads.items()):
        for s in p.get("selected") or []:
            r = seen.setdefault(s["program_id"], {"program_id": s["program_id"], "name": s.get("name", ""),
                                                  "specialty": s.get("specialty", ""), "city": s.get("city", ""),
                                                  "state": s.get("state", ""), "tier": s.get("tier", ""),
                                                  "ids": [], "p": [], "p10": [], "p90": []})
            r["ids"].append(mid)
            r["p"].append(float(s.get("p_match") or 0.0))
            r["p10"].append(s.get("p_match_p10"))
            r["p90"].append(s.get("p_match_p90"))
    rows = []
    for r in seen.values():
        of = max(in_specialty.get(r["specialty"], 0), len(r["ids"]))
        rows.append({k: v for k, v in r.items() if k not in ("ids", "p", "p10", "p90")}
                    | {"applicants": len(r["ids"]), "of": of, "share": len(r["ids"]) / of,
                       "mean_p_success": sum(r["p"]) / len(r["p"]), "applicant_ids": ";".join(r["ids"]),
                       "mean_p_success_p10": _mean(r["p10"]), "mean_p_success_p90": _mean(r["p90"])})
    df = pd.DataFrame(rows, columns=[c for c in COLUMNS if c != "crowded"] + RANGE_COLUMNS)
    df["crowded"] = (df["share"] > crowd_share) & (df["of"] >= MIN_APPLICANTS)
    df = df.sort_values(["share", "applicants", "program_id"], ascending=[False, False, True], kind="mergesort")
    return df[COLUMNS + RANGE_COLUMNS].reset_index(drop=True)


def _mean(values: list) -> float | None:
    """The mean, or None when any applicant's value is missing."""
    if not values or any(v is None for v in values):
        return None
    return sum(float(v) for v in values) / len(values)


def _ranged_pct(mean: float, lo, hi) -> str:
    """"12.34% (9-16%)": the mean P(success) and the means of its 10th-90th percentiles."""
    from allocator.output.report import span

    rng = span([None if x is None else float(x) for x in (lo, hi)])
    return f"{100 * mean:.2f}%" + (f" ({rng})" if rng else "")


def chart_rows(df: pd.DataFrame, n: int = CHART_TOP) -> pd.DataFrame:
    """The chart's programs: the ``n`` most shared (``df``'s order: share, then applicants),
    with every specialty given its turn, so ties at 100% in one specialty cannot push another
    out: the k-th most shared program of each specialty comes before any specialty's (k+1)-th,
    and within a round the order is ``df``'s.  Shown in ``df``'s order."""
    if df.empty:
        return df
    turn = df.groupby("specialty", sort=False).cumcount()
    order = sorted(range(len(df)), key=lambda i: (int(turn.iloc[i]), i))[:n]
    return df.iloc[sorted(order)]


def _chart(df: pd.DataFrame, crowd_share: float) -> str:
    from matplotlib.figure import Figure
    from matplotlib.ticker import PercentFormatter

    top = chart_rows(df).iloc[::-1]
    fig = Figure(figsize=(9, 0.28 * max(len(top), 4) + 1.4), layout="constrained")
    ax = fig.add_subplot()
    colors = ["#c0392b" if c else "#5b8db8" for c in top["crowded"]]
    ax.barh(range(len(top)), 100 * top["share"], color=colors)
    ax.set_yticks(range(len(top)), [f"{p}  {c}, {s}" for p, c, s in zip(top["program_id"], top["city"], top["state"])],
                  fontsize=7)
    for y, (a, o) in enumerate(zip(top["applicants"], top["of"])):
        ax.text(1, y, f"{a} of {o}", va="center", fontsize=6.5, color="white")
    ax.axvline(100 * crowd_share, color="0.2", ls="--", lw=1, label=f"threshold {crowd_share:.0%}")
    ax.xaxis.set_major_formatter(PercentFormatter(100))
    ax.set_xlim(0, 100)
    ax.set_xlabel("share of the cohort's solved applicants in the program's specialty who are sent there")
    ax.set_title(f"The {len(top)} programs most shared by the cohort, each specialty's in turn,\nin specialties with "
                 f"at least {MIN_APPLICANTS} solved applicants (red: above {crowd_share:.0%})", fontsize=10)
    ax.legend(loc="lower right", fontsize=8)
    ax.grid(True, axis="x", alpha=0.3)
    return png_data_uri(fig)


UPPER_NOTE = "upper estimate"


def risk_label(row: dict) -> str:
    """The page's risk: the row's ``risk``, with ", upper estimate" when a warning says its
    figure to plan on may be overstated (``upper_estimate``): "low, upper estimate" is not a
    plain "low"."""
    risk = row.get("risk") or row["status"]
    return f"{risk}, {UPPER_NOTE}" if row.get("upper_estimate") is True else risk


NO_PLAN = "none"  # the "plan on" cell of a list without a figure to plan on (no range over plausible models)


def _no_plan_why(p: dict) -> str:
    """Why a list has no figure to plan on, in a few words, as the other surfaces say it ("no
    range over plausible models: the warning below says why")."""
    kind = (p.get("model") or {}).get("kind")
    why = {"catalog p_match": "the catalog's own p_match, taken as exact",
           "two-stage": "one card, no ensemble"}.get(kind, "the warning says why")
    return f"no figure to plan on: no range over plausible models ({why})"


def applicant_rows(report) -> list[dict]:
    """The cohort's applicants for the page's table, the most at risk first: the rows without a
    list (bad input, infeasible, failed, not run), then the lists without a figure to plan on (no
    range over plausible models: a catalog's own p_match, one card), by P(match), then the others
    by the figure to plan on, lowest first; ties in cohort order.  Each: id, status (the solve's
    ``optimal`` or ``feasible`` for a list, as its report says, else why there is none), risk,
    plan (whole percents rounded down; "none" without the figure), plan_from (or why there is no
    figure), range (10th-90th), average, budget, fees (with the fixed fees named) and note (the
    first warning, in the order of every surface, or why there is no list); risk is
    :func:`risk_label`'s."""
    from allocator.batch.outputs import _pct, _usd, fees_text, unsafe_first
    from allocator.output.report import span
    from allocator.percent import plan_pct

    out = []
    for k, r in enumerate(report.rows):
        p = report.payloads.get(r["id"]) if r["status"] == "ok" else None
        plan = r.get("p_match_plan")
        group = 0 if p is None else (1 if plan is None else 2)
        warnings = unsafe_first((p or {}).get("warnings"))
        note = warnings[0] if p and warnings else ("" if p else str(r.get("reason") or ""))
        out.append({"id": r["id"], "status": (r.get("solve_status") or p.get("status") or r["status"]) if p
                    else r["status"], "risk": risk_label(r), "figure": plan,
                    "plan": "" if p is None else (NO_PLAN if plan is None else plan_pct(plan)),
                    "plan_from": "" if p is None else (_no_plan_why(p) if plan is None else
                                                       r.get("p_match_plan_from") or ""),
                    "range": span([r.get("p_match_lo"), r.get("p_match_hi")]) if p else "",
                    "average": _pct(r.get("p_match")) if p else "",
                    "budget": _usd(r.get("budget")) if r.get("budget") is not None else "",
                    "fees": fees_text(p) if p else "", "note": note,
                    "_key": (group, plan if plan is not None else (r.get("p_match") or 0.0) if p else 0.0, k)})
    out.sort(key=lambda a: a["_key"])
    return out


def _applicant_table(report) -> str:
    esc = html.escape
    rows = applicant_rows(report)
    head = ["applicant", "status", "risk", "plan on", "where it comes from", "10th-90th pct", "average", "budget",
            "fees", "first warning (or why there is no list)"]
    body = "".join("<tr>" + "".join(f"<td{' class=n' if i in (3, 5, 6, 7) else ''}>{esc(str(v))}</td>" for i, v in enumerate(
        (a["id"], a["status"], a["risk"], a["plan"], a["plan_from"], a["range"], a["average"], a["budget"], a["fees"],
         a["note"]))) + "</tr>" for a in rows)
    return ("<h2 id=applicants>Applicants, the most at risk first</h2><p>Sorted by the figure to plan on (P(match), "
            "in whole percents rounded down: the lowest of the 10th percentile over the plausible models, the worst "
            "season and the checks; the column after it says which), lowest first; applicants without a list come "
            "before them, then the lists without a figure to plan on (<b>none</b>: no range over plausible models, "
            "such as a catalog's own p_match), by P(match), whose risk is read on that P(match). Status: "
            "<b>optimal</b> (the list is proven the best), <b>feasible</b> (the best list found, not proven the best: "
            "its report says by how much at most), or why there is no list. Risk: <b>high</b> below 50%, <b>moderate</b> 50-79%, <b>low</b> 80% or more; a row without "
            "a list gives its status; <b>, upper estimate</b> after the band: a warning of that applicant's says "
            "P(match) may be overstated (outside the calibrated domain, or a Step 2 CK far below the "
            "calibration cohort's), so read the figure to plan on as an upper estimate and the band as possibly "
            "too good (a \"low, upper estimate\" is not plainly low). The warning column shows such a warning "
            "first. Fees are the list's ERAS fees and extras, counted against the budget; the fixed "
            "fees are paid whatever the list and are outside the budget.</p>"
            f"<table><tr>{''.join(f'<th>{esc(h)}</th>' for h in head)}</tr>{body}</table>")


def _by_specialty(crowded: pd.DataFrame) -> str:
    """" (Internal Medicine 58, Family Medicine 17)": the crowded programs by specialty, most first."""
    if crowded.empty:
        return ""
    n = crowded.groupby("specialty").size().sort_values(ascending=False, kind="mergesort")
    return " (" + ", ".join(f"{html.escape(str(k))} {v}" for k, v in n.items()) + ")"


def cohort_html(df: pd.DataFrame, report, crowd_share: float) -> str:
    esc = html.escape
    synthetic = any((p.get("data") or {}).get("synthetic") for p in report.payloads.values())
    crowded = df[df["crowded"]]
    alone = df[(df["share"] > crowd_share) & (df["of"] < MIN_APPLICANTS)]
    counts = {s: report.count(s) for s in ("ok", "bad_input", "infeasible", "solver_error", "failed", "not_run")}
    parts = ["<!doctype html><html><head><meta charset='utf-8'><title>allocator: cohort view</title><style>"
             "body{font-family:system-ui,sans-serif;margin:2em;max-width:1100px}table{border-collapse:collapse}"
             "td,th{border:1px solid #ccc;padding:3px 8px}td.n{text-align:right}.warn{background:#fff3b0;"
             "padding:.5em;border:1px solid #d9c200}</style></head><body><h1>Cohort view</h1>"]
    if synthetic:
        parts.append(f"<p class=warn>{esc(SYNTHETIC_NOTE)}</p>")
    not_run = f", {counts['not_run']} not run" if counts["not_run"] else ""
    single = sorted(set(alone["specialty"]))
    parts.append(f"<p>{len(report.rows)} applicants: {counts['ok']} solved, {counts['bad_input']} bad input, "
                 f"{counts['infeasible']} infeasible, {counts['solver_error'] + counts['failed']} failed{not_run}. "
                 f"{len(df)} programs are on at least one list; <b>{len(crowded)}</b> receive more than "
                 f"{crowd_share:.0%} of the solved applicants in their specialty{_by_specialty(crowded)}. "
                 "Applicants from one school sent to the same "
                 "programs compete with each other there; each P(match) treats the applicant alone. A program is "
                 f"flagged only when at least {MIN_APPLICANTS} solved applicants are in its specialty"
                 + (f": the {len(alone)} programs of {esc(', '.join(single))}, where one solved applicant is alone, "
                    "are not (that applicant competes with no one from the office there)" if len(alone) else "")
                 + ".</p>")
    if getattr(report, "older", None):
        from allocator.batch.console import older_line

        parts.append(f"<p class=warn>{esc(older_line(report.older))}; not counted here.</p>")
    parts.append(_applicant_table(report))
    shared = df[df["of"] >= MIN_APPLICANTS]
    if len(shared):
        parts.append(f"<img alt='programs by applicants of this cohort' src='{_chart(shared, crowd_share)}'>")
    parts.append(f"<h2>Programs above {crowd_share:.0%} of the cohort</h2>")
    if len(crowded):
        parts.append("<table><tr><th>program</th><th>name</th><th>city</th><th>tier</th><th>applicants</th>"
                     "<th>of (in its specialty)</th><th>share</th><th>mean P(success) (10th-90th pct)</th></tr>")
        for r in crowded.itertuples():
            parts.append(f"<tr><td>{esc(r.program_id)}</td><td>{esc(r.name)}</td><td>{esc(r.city)}, "
                         f"{esc(r.state)}</td><td>{esc(r.tier)}</td><td class=n>{r.applicants}</td><td class=n>{r.of}</td>"
                         f"<td class=n>{r.share:.0%}</td><td class=n>"
                         f"{_ranged_pct(r.mean_p_success, r.mean_p_success_p10, r.mean_p_success_p90)}</td></tr>")
        parts.append("</table>")
    else:
        parts.append("<p>none</p>")
    parts.append("<p>Every program with its applicants: <code>cohort.csv</code>; per applicant: "
                 "<code>summary.csv</code> and <code>applicants/</code>.</p></body></html>\n")
    return "".join(parts)


def crowded_counts(payloads: dict[str, dict], df: pd.DataFrame) -> dict[str, int]:
    """Per applicant with a list: how many of its programs are ``crowded`` in ``df``
    (:func:`program_counts`), summary.csv's ``n_crowded``."""
    crowded = set(df.loc[df["crowded"], "program_id"]) if len(df) else set()
    return {mid: sum(s["program_id"] in crowded for s in p.get("selected") or []) for mid, p in payloads.items()}


CROWD_MARK = "<p class=warn id=crowding>"


def crowding_sentence(n: int, total: int, crowd_share: float) -> str:
    """The applicant report's sentence on the cohort's crowding of its list."""
    return (f"crowding: {n} of this list's {total} programs are also on the lists of more than {crowd_share:.0%} of "
            "this cohort's solved applicants in their specialty (cohort.html). Classmates there compete for the same "
            "interviews and positions, which this report's P(match) does not count (it treats the applicant alone), "
            "so it may be overstated; the office may spread the lists.")


def mark_crowding(out: Path, payloads: dict[str, dict], crowded: dict[str, int], crowd_share: float) -> None:
    """Put the crowding sentence (:func:`crowding_sentence`) in each solved applicant's HTML
    report, replacing an earlier run's, or remove it when none of the list's programs is crowded.
    Only the HTML: the JSON is solve's contract and the PDF is left as the worker made it."""
    import re

    from allocator.batch.targets import paths_for

    old = re.compile(re.escape(CROWD_MARK) + r".*?</p>", re.S)
    for mid, p in payloads.items():
        path = paths_for(out, mid)["html"]
        try:
            text = path.read_text(encoding="utf-8")
        except OSError:
            continue
        new = old.sub("", text)
        n, total = crowded.get(mid, 0), len(p.get("selected") or [])
        if n and "<table>" in new:
            at = new.index("<table>")
            new = new[:at] + CROWD_MARK + html.escape(crowding_sentence(n, total, crowd_share)) + "</p>" + new[at:]
        if new != text:
            atomic_write(path, lambda fh, t=new: fh.write(t))


def interrupted_page(report) -> str:
    """cohort.html after an interrupted run: what was settled, what was not run, and what to do."""
    counts = {s: report.count(s) for s in ("ok", "bad_input", "infeasible", "solver_error", "failed", "not_run")}
    return ("<!doctype html><html><head><meta charset='utf-8'><title>allocator: cohort view (interrupted run)</title>"
            "</head><body style='font-family:system-ui,sans-serif;margin:2em;max-width:1100px'><h1>Cohort view: the "
            f"last run was interrupted</h1><p style='background:#fde2e2;padding:.5em'>{len(report.rows)} applicants: "
            f"<b>{counts['not_run']} not run</b>, {counts['ok']} solved, {counts['bad_input']} bad input, "
            f"{counts['infeasible']} infeasible, {counts['solver_error'] + counts['failed']} failed. The run was "
            "interrupted before every applicant was solved, so there is no cohort view: counted over part of the "
            "cohort it would undercount every program. Run the same command again to finish (the applicants solved "
            "so far are skipped); <code>summary.csv</code> lists every applicant and why it was not run. The "
            "reports in <code>applicants/</code> of the applicants not run whose inputs changed were removed.</p>"
            "</body></html>\n")


def write_interrupted_view(out: Path, report) -> None:
    """After an interrupt: cohort.csv (of an earlier run) removed, cohort.html saying so."""
    text = interrupted_page(report)
    try:
        (out / "cohort.csv").unlink()
    except FileNotFoundError:
        pass
    atomic_write(out / "cohort.html", lambda fh: fh.write(text))


def write_cohort_view(out: Path, report, crowd_share: float, df: pd.DataFrame | None = None) -> pd.DataFrame:
    """cohort.csv and cohort.html; ``df``: :func:`program_counts`'s, when computed already."""
    if df is None:
        df = program_counts(report.payloads, crowd_share)
    synthetic = any((p.get("data") or {}).get("synthetic") for p in report.payloads.values())
    table = df[COLUMNS].assign(synthetic=synthetic)  # the CSV says it too, as summary.csv does
    table = pd.concat([table, df[RANGE_COLUMNS]], axis=1)  # added columns go last
    atomic_write(out / "cohort.csv", lambda fh: fh.write(table.to_csv(index=False)))
    text = cohort_html(df, report, crowd_share)
    atomic_write(out / "cohort.html", lambda fh: fh.write(text))
    return df
