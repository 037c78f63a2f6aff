"""The cohort view: how many of the office's applicants each program receives.

Applicants from one school who are sent to the same programs compete with each other
there (each model's P(match) treats an applicant alone).  :func:`program_counts` counts,
for every program on at least one list, the applicants whose list includes it and their
share of the solved cohort; the programs above ``crowd_share`` are flagged.
``cohort.html`` shows the table and a bar chart of the most-shared programs;
``cohort.csv`` has every program.
"""
from __future__ import annotations

import html
from pathlib import Path

import pandas as pd

from allocator.batch.outputs import SYNTHETIC_NOTE, png_data_uri
from allocator.output.files import atomic_write

COLUMNS = ["program_id", "name", "specialty", "city", "state", "tier", "applicants", "share", "crowded",
           "mean_p_success", "applicant_ids"]
CHART_TOP = 30


def program_counts(payloads: dict[str, dict], crowd_share: float) -> pd.DataFrame:
    """One row per program on any list: applicants, share of the solved cohort, crowded flag."""
    n = len(payloads)
    seen: dict[str, dict] = {}
    for mid, p in sorted(payloads.items()):
        for s in p.get("selected") or []:
            r = seen.setdefault(s["program_id"], {"program_id": s["program_id"], "name": s.get("name", ""),
                                                  "specialty": s.get("specialty", ""), "city": s.get("city", ""),
                                                  "state": s.get("state", ""), "tier": s.get("tier", ""),
                                                  "ids": [], "p": []})
            r["ids"].append(mid)
            r["p"].append(float(s.get("p_match") or 0.0))
    rows = [{k: v for k, v in r.items() if k not in ("ids", "p")}
            | {"applicants": len(r["ids"]), "share": len(r["ids"]) / n if n else 0.0,
               "mean_p_success": sum(r["p"]) / len(r["p"]), "applicant_ids": ";".join(r["ids"])}
            for r in seen.values()]
    df = pd.DataFrame(rows, columns=[c for c in COLUMNS if c != "crowded"])
    df["crowded"] = df["share"] > crowd_share
    df = df.sort_values(["applicants", "program_id"], ascending=[False, True], kind="mergesort")
    return df[COLUMNS].reset_index(drop=True)


def _chart(df: pd.DataFrame, n: int, crowd_share: float) -> str:
    from matplotlib.figure import Figure

    top = df.head(CHART_TOP).iloc[::-1]
    fig = Figure(figsize=(9, 0.28 * max(len(top), 4) + 1.4), layout="constrained")
    ax = fig.add_subplot()
    colors = ["#c0392b" if c else "#5b8db8" for c in top["crowded"]]
    labels = [f"{pid}  {name[:38]}" for pid, name in zip(top["program_id"], top["name"])]
    ax.barh(range(len(top)), top["applicants"], color=colors)
    ax.set_yticks(range(len(top)), labels, fontsize=7)
    ax.axvline(crowd_share * n, color="0.2", ls="--", lw=1, label=f"{crowd_share:.0%} of the cohort")
    ax.set_xlabel(f"applicants of this cohort sent there (of {n} solved)")
    ax.set_title(f"The {len(top)} programs most shared by the cohort (red: above {crowd_share:.0%})", fontsize=10)
    ax.legend(loc="lower right", fontsize=8)
    ax.grid(True, axis="x", alpha=0.3)
    return png_data_uri(fig)


def cohort_html(df: pd.DataFrame, report, crowd_share: float) -> str:
    esc = html.escape
    n = len(report.payloads)
    synthetic = any((p.get("data") or {}).get("synthetic") for p in report.payloads.values())
    crowded = df[df["crowded"]]
    counts = {s: report.count(s) for s in ("ok", "bad_input", "infeasible", "solver_error", "failed")}
    parts = ["<!doctype html><html><head><meta charset='utf-8'><title>allocator: cohort view</title><style>"
             "body{font-family:system-ui,sans-serif;margin:2em;max-width:1100px}table{border-collapse:collapse}"
             "td,th{border:1px solid #ccc;padding:3px 8px}td.n{text-align:right}.warn{background:#fff3b0;"
             "padding:.5em;border:1px solid #d9c200}</style></head><body><h1>Cohort view</h1>"]
    if synthetic:
        parts.append(f"<p class=warn>{esc(SYNTHETIC_NOTE)}</p>")
    parts.append(f"<p>{len(report.rows)} applicants: {counts['ok']} solved, {counts['bad_input']} bad input, "
                 f"{counts['infeasible']} infeasible, {counts['solver_error'] + counts['failed']} failed. "
                 f"{len(df)} programs are on at least one list; <b>{len(crowded)}</b> receive more than "
                 f"{crowd_share:.0%} of the solved applicants. Applicants from one school sent to the same "
                 "programs compete with each other there; each P(match) treats the applicant alone.</p>")
    if len(df):
        parts.append(f"<img alt='programs by applicants of this cohort' src='{_chart(df, n, crowd_share)}'>")
    parts.append(f"<h2>Programs above {crowd_share:.0%} of the cohort</h2>")
    if len(crowded):
        parts.append("<table><tr><th>program</th><th>name</th><th>city</th><th>tier</th><th>applicants</th>"
                     "<th>share</th><th>mean P(success)</th></tr>")
        for r in crowded.itertuples():
            parts.append(f"<tr><td>{esc(r.program_id)}</td><td>{esc(r.name)}</td><td>{esc(r.city)}, "
                         f"{esc(r.state)}</td><td>{esc(r.tier)}</td><td class=n>{r.applicants}</td>"
                         f"<td class=n>{r.share:.0%}</td><td class=n>{100 * r.mean_p_success:.2f}%</td></tr>")
        parts.append("</table>")
    else:
        parts.append("<p>none</p>")
    parts.append("<p>Every program with its applicants: <code>cohort.csv</code>; per applicant: "
                 "<code>summary.csv</code> and <code>applicants/</code>.</p></body></html>\n")
    return "".join(parts)


def write_cohort_view(out: Path, report, crowd_share: float) -> pd.DataFrame:
    df = program_counts(report.payloads, crowd_share)
    atomic_write(out / "cohort.csv", lambda fh: fh.write(df.to_csv(index=False)))
    text = cohort_html(df, report, crowd_share)
    atomic_write(out / "cohort.html", lambda fh: fh.write(text))
    return df
