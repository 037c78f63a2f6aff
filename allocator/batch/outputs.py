"""The batch's files: a summary row per applicant, and each applicant's HTML and PDF report.

Everything here reads the ``solve --json`` payload (and the budget curve's rows); nothing
solves.  Keys that other parts of allocator may add to the payload (``p_match_interval``,
``p_match_la_interval``, ``p_match_pessimistic``, ``warnings``, ``alternatives``) are used
when present and left empty when not.

Summary columns (:data:`SUMMARY_COLUMNS`): ``id``, ``status`` (ok, bad_input, infeasible,
solver_error, failed), ``reason`` (the one-line error), ``p_match`` and its interval
(``p_match_lo``, ``p_match_hi``), ``p_match_la`` (and its interval), ``mc_p_match``,
``n_applications``, ``n_la``, ``n_west``, ``n_elsewhere`` (applications by tier), ``fees``
(USD, the list's fees and extras), ``fees_fixed``, ``budget``, ``objective``, ``warnings``
(joined by " | "), ``synthetic``, ``source``, ``input_hash``, ``seconds``, ``skipped``; then
``solve_status`` (the JSON's ``status``: ``optimal``, proven best, or ``feasible``, the best
list found with a proven gap left) and ``gap`` (the JSON's ``solver.gap``: how far below the
proven bound the list's objective may be, in the objective's units), ``worst_season`` and
``p_match_worst_season``, ``p_match_plan`` (the figure to plan on: the lowest of the 10th
percentile, the worst season, a published-curve check below the range, for a Step 2 CK
below the calibration cohort's mean the Step 2 CK score check, and for a list beyond the
cohort's share of programs at the IMG-share cap the IMG-share cap check; empty without a range),
``p_match_west`` and its interval (``p_match_west_lo``, ``p_match_west_hi``: P(match in the
West, LA included, the West ranked first)), ``p_match_plan_from`` (the JSON's
``p_match_plan.from``) and ``risk`` (:func:`risk_of`: high, moderate or low on the figure to
plan on; a row without a list gives its status), ``upper_estimate`` (:func:`upper_estimate`:
a warning says the figure may be overstated), ``n_crowded`` (filled by the run from the
cohort view: :func:`allocator.batch.cohortview.crowded_counts`) and ``season`` (the fee season
the fees come from: the JSON's ``cost.season``, "2026" or "none", or for a row without a list
the profile's).  ``warnings`` are joined in the JSON's order,
:func:`allocator.verification.warnorder.unsafe_first`'s, as on every surface.  New columns go at
the end, so scripts that read the columns by position keep working.  ``budget``, ``objective``,
``synthetic`` and ``season`` are filled for every row whose profile was read (:data:`INPUT_COLUMNS`).
"""
from __future__ import annotations

import base64
import html
import io
import textwrap
from typing import Any

from allocator.output.report import SYNTHETIC_NOTE, plan_cell, plan_column_note, span
from allocator.percent import plan_whole
from allocator.verification.domain import domain_note
from allocator.verification.warnorder import UNSAFE_PHRASES, UPPER_PHRASES, unsafe_first, upper_estimate  # noqa: F401

SUMMARY_COLUMNS = ["id", "status", "reason", "p_match", "p_match_lo", "p_match_hi", "p_match_la", "p_match_la_lo",
                   "p_match_la_hi", "p_match_pessimistic", "mc_p_match", "n_applications", "n_la", "n_west",
                   "n_elsewhere", "fees", "fees_fixed", "budget", "objective", "warnings", "synthetic", "source",
                   "input_hash", "seconds", "skipped", "solve_status", "gap", "worst_season", "p_match_worst_season",
                   "p_match_plan", "p_match_west", "p_match_west_lo", "p_match_west_hi", "p_match_plan_from", "risk",
                   "upper_estimate", "n_crowded", "season"]
TIERS = ("la", "west", "elsewhere")
# The summary's input columns: filled from the profile (and its catalog) for every row whose
# profile was read, with a list or without one (infeasible, failed, a must_apply id missing).
INPUT_COLUMNS = ("budget", "objective", "synthetic", "season")
# risk bands on the figure to plan on, in the whole percents the reports show (rounded down):
# below 50 "high" (in the bad case to plan for, more likely unmatched than matched), 50-79
# "moderate" (more likely to match, yet 1 in 5 or more unmatched in that case), 80 or more "low"
RISK_BANDS = ((50, "high"), (80, "moderate"))
RISK_TOP = "low"


def risk_of(status: str, plan: float | None, p_match: float | None = None) -> str:
    """The summary's ``risk``: for a row with a list, the band of its figure to plan on (of its
    P(match) when it has none: no range over plausible models); for a row without a list, its
    status (``infeasible``, ``failed``, ...)."""
    x = plan if plan is not None else p_match
    if status != "ok" or x is None:
        return status
    whole = plan_whole(x)
    return next((band for top, band in RISK_BANDS if whole < top), RISK_TOP)


def fixed_fee_names(season) -> list[tuple[str, float]]:
    """The season's fixed fees (name, USD) from its fee schedule (``data/fees``); [] when unknown."""
    if not season:
        return []
    from allocator.errors import AllocatorError
    from allocator.inputs.fees import load_schedule

    try:
        return [(str(n), float(v)) for n, v in load_schedule(str(season)).fixed]
    except (AllocatorError, OSError, ValueError):
        return []


def fixed_fee_text(payload: dict) -> str:
    """"+ $80 USMLE transcript fee, outside the budget": the fees paid whatever the list
    (``cost.fixed``), named from the season's fee schedule; "" when there are none."""
    cost = payload.get("cost") or {}
    fixed = cost.get("fixed")
    if not fixed:
        return ""
    named = [(n, v) for n, v in fixed_fee_names(cost.get("season")) if v]
    if named and abs(sum(v for _, v in named) - float(fixed)) < 0.005:
        what = " + ".join(f"{_usd(v)} {n}" + ("" if n.lower().endswith("fee") else " fee") for n, v in named)
    else:
        what = f"{_usd(fixed)} fixed fees"
    return f"+ {what}, outside the budget"


def fees_text(payload: dict) -> str:
    """The list's fees, then the fixed fees named ("$1,500 + $80 USMLE transcript fee, outside the budget")."""
    extra = fixed_fee_text(payload)
    return _usd((payload.get("cost") or {}).get("total")) + (f" {extra}" if extra else "")


def _worst_season(p: dict) -> list[str]:
    """[label, value] of P(match) in a season like the worst published one (solve's p_match_worst_season)."""
    from allocator.output.report import season_label

    w = p["p_match_worst_season"]
    return [f"two-stage model, {season_label(w)}", _pct(w["p_match"])]


def _interval(d: dict, key: str) -> tuple[Any, Any]:
    v = d.get(key)
    if isinstance(v, (list, tuple)) and len(v) == 2:
        return v[0], v[1]
    return None, None


def _ranged(d: dict, key: str, digits: int = 1, two_stage: bool = True) -> str:
    """``d[key]`` as a percentage with its interval (``key_interval``) when there is one: the
    range first, then the average; after the copula's number, named as the two-stage model's."""
    lo, hi = _interval(d, f"{key}_interval")
    if lo is None:
        return _pct(d.get(key), digits)
    if two_stage:  # the range first, as the command line and the web page lead with it
        return f"{_pct(lo)} to {_pct(hi)} (average {_pct(d.get(key), digits)})"
    return _pct(d.get(key), digits) + f" (the two-stage model's range: {_pct(lo)} to {_pct(hi)})"


def _curve_plan_note(curve: list[dict]) -> str:
    """What the budget curve's "plan on" column is (the sweep table's footnote)."""
    return plan_column_note([r.get("p_match_plan_from") for r in curve], None)


def plan_text(d: dict) -> str:
    """"71% (the 10th percentile of the plausible models: the lowest of ...)": the figure to plan
    on, rounded down, and where it comes from, as the command line says it."""
    from allocator.output.report import plan_pct, plan_source

    return f"{plan_pct(d['p_match_plan']['p_match'])} ({plan_source(d['p_match_plan'])})"


def _two_stage(d: dict) -> bool:
    return (d.get("model") or {}).get("kind") == "two-stage"


def _mc_text(d: dict) -> str:
    mc = d.get("mc") or {}
    lo, hi = _interval(mc, "ci95")
    return _pct(mc.get("p_match"), 2) + (f" [{_pct(lo, 2)}, {_pct(hi, 2)}]" if lo is not None else "")


def _model_label(d: dict) -> str:
    if _two_stage(d) and d.get("p_match_interval") is None:  # one card: the warnings say why there is no range
        return "P(match), two-stage model (one card: no range over plausible models)"
    if _two_stage(d):
        return "P(match), two-stage model (range: 10th-90th percentile over the plausible models)"
    return f"P(match), correlation {d.get('correlation')}"


def tier_counts(payload: dict) -> dict[str, int]:
    """Applications by tier (LA, rest of the West, elsewhere), from the selected programs."""
    counts = {t: 0 for t in TIERS}
    for s in payload.get("selected") or []:
        t = s.get("tier") or ("la" if s.get("la_area") else "elsewhere")
        counts[t] = counts.get(t, 0) + 1
    return counts


def summary_row(result: dict, payload: dict | None, inputs: dict | None = None) -> dict:
    """One summary.csv row from a task's result (status, reason, ...) and its payload.
    ``inputs``: the profile's :data:`INPUT_COLUMNS` (budget, objective, synthetic, season), written
    for a row without a list too; a payload's own values take precedence."""
    row = {c: None for c in SUMMARY_COLUMNS}
    row |= {"id": result["id"], "status": result["status"], "reason": result.get("reason") or "",
            "source": result.get("source"), "input_hash": result.get("hash"),
            "seconds": round(float(result["seconds"]), 3) if result.get("seconds") is not None else None,
            "skipped": bool(result.get("skipped", False))}
    row |= {k: v for k, v in (inputs or {}).items() if k in INPUT_COLUMNS}
    row["risk"] = result["status"]
    if not payload:
        return row
    lo, hi = _interval(payload, "p_match_interval")
    la_lo, la_hi = _interval(payload, "p_match_la_interval")
    west_lo, west_hi = _interval(payload, "p_match_west_interval")
    tiers = tier_counts(payload)
    warnings = unsafe_first(payload.get("warnings") or [])
    row |= {"p_match": payload.get("p_match"), "p_match_lo": lo, "p_match_hi": hi,
            "p_match_la": payload.get("p_match_la"), "p_match_la_lo": la_lo, "p_match_la_hi": la_hi,
            "p_match_pessimistic": payload.get("p_match_pessimistic"),
            "worst_season": (payload.get("p_match_worst_season") or {}).get("season"),
            "p_match_worst_season": (payload.get("p_match_worst_season") or {}).get("p_match"),
            "mc_p_match": (payload.get("mc") or {}).get("p_match"),
            "n_applications": payload.get("n_applications"), "n_la": payload.get("n_la"),
            "n_west": tiers["west"], "n_elsewhere": tiers["elsewhere"],
            "fees": (payload.get("cost") or {}).get("total"), "fees_fixed": (payload.get("cost") or {}).get("fixed"),
            "budget": (payload.get("constraints") or {}).get("budget"), "objective": payload.get("objective"),
            "warnings": " | ".join(warnings), "upper_estimate": upper_estimate(warnings),
            "synthetic": (payload.get("data") or {}).get("synthetic"),
            "solve_status": payload.get("status"), "gap": (payload.get("solver") or {}).get("gap"),
            "p_match_plan": (payload.get("p_match_plan") or {}).get("p_match"),
            "p_match_west": payload.get("p_match_west"), "p_match_west_lo": west_lo, "p_match_west_hi": west_hi,
            "p_match_plan_from": (payload.get("p_match_plan") or {}).get("from"),
            "season": (payload.get("cost") or {}).get("season")}
    row["risk"] = risk_of(row["status"], row["p_match_plan"], row["p_match"])
    return row


# ---------------------------------------------------------------------- shared pieces
def _pct(x, digits: int = 1) -> str:
    """As the command line prints a probability (never "100.0%" for one below 1)."""
    from allocator.output.report import pct

    return pct(None if x is None else float(x), digits)


def _usd(x) -> str:
    return "n/a" if x is None else f"${float(x):,.0f}"


def _curve_check(p: dict) -> str:
    """The published-curve check of the payload, "n/a" without one."""
    iv = p.get("p_match_published_curve")
    if not span(iv):
        return "n/a"
    shown = _pct(iv[0], 0) if _pct(iv[0], 0) == _pct(iv[1], 0) else span(iv)  # "17%", not "17-17%"
    return f"{shown} (if the published P(match | interviews) curve held)"


def trade_rows(view: dict) -> list[tuple[str, ...]]:
    """(what, this list, the safest list[, the LA-most list]) rows: the trade against the list
    with the best P(any match) under the same limits and, for a safety-first answer, against the
    list with the best P(match in Greater LA) at the same P(match) floor (``alternatives``)."""
    p, s = view["payload"], view.get("safest")
    alt = p.get("alternatives")
    if s is None and isinstance(alt, dict) and isinstance(alt.get("safest"), dict):
        s = alt["safest"]
    if s is None:
        s = p  # the objective is P(any match): this list is the safest list
    lists = [p, s] + ([alt["la_leaning"]] if isinstance(alt, dict) and isinstance(alt.get("la_leaning"), dict) else [])

    def fees(d):
        c = d.get("cost")
        return c.get("total") if isinstance(c, dict) else (c if c is not None else d.get("fees"))
    tiers = [tier_counts(d) if d.get("selected") else dict(d.get("tiers") or {}) for d in lists]  # alternatives carry counts
    two = _two_stage(p)
    rows = [(label, *(_ranged(d, key, two_stage=two) for d in lists))
            for label, key in (("P(any match)", "p_match"), ("P(match in Greater LA)", "p_match_la"),
                               ("P(match in the West)", "p_match_west"))]
    rows.append(("applications", *(str(d.get("n_applications")) for d in lists)))
    for t, name in zip(TIERS, ("  in LA", "  rest of the West", "  elsewhere")):
        rows.append((name, *(str(c.get(t, "n/a")) for c in tiers)))
    rows.append(("fees", *(_usd(fees(d)) for d in lists)))
    return rows


def trade_head(view: dict) -> list[str]:
    """The trade table's column names: "", "this list", "safest list"[, "LA-most list"]."""
    alt = view["payload"].get("alternatives")
    la = isinstance(alt, dict) and isinstance(alt.get("la_leaning"), dict)
    return ["", "this list", "safest list"] + (["LA-most list"] if la else [])


def trade_sentences(payload: dict) -> list[str]:
    """"Against the safest list, this list gives up ...", one per list set against a
    safety-first answer, in the words of the command line and the web page
    (:func:`allocator.output.trade.payload_trades`)."""
    from allocator.output.trade import payload_trades

    return [sentence for _, _, sentence in payload_trades(payload)]


def unproven_sentence(payload: dict) -> str:
    """"Best list found, not proven the best: no list at the floor has an expected tier utility
    more than 0.0005 above this one. It meets the P(match) floor." for a safety-first answer
    that is ``feasible``, as the command line and the web page say it; "" otherwise."""
    from allocator.output.report import unproven_text

    if payload.get("status") != "feasible" or payload.get("objective") != "safety_first":
        return ""
    return unproven_text((payload.get("solver") or {}).get("gap")) + "."


def preference_row(payload: dict) -> list[str]:
    """[label, value] of the geographic preference the list's P(match) assumes, as the command
    line names it: "geographic preference" (or "... (fixed in the profile)"), the divisions
    ("East North Central, Middle Atlantic, Pacific"), or "none"."""
    geo = payload.get("geographic_preference") or []
    fixed = payload.get("geographic_preference_source") == "profile"
    return ["geographic preference" + (" (fixed in the profile)" if fixed and geo else ""),
            ", ".join(str(g) for g in geo) if geo else "none"]


def fee_season_text(payload: dict) -> str:
    """"2026 ERAS schedule": the fee season the fees come from (the JSON's ``cost.season``), as
    the web page names it; "no ERAS fees: your own costs" for season none; "" when unknown."""
    season = (payload.get("cost") or {}).get("season")
    if not season:
        return ""
    return "no ERAS fees: your own costs" if season == "none" else f"{season} ERAS schedule"


def curve_words(payload: dict) -> str:
    """What the budget curve shows, and, when its points are not the answer's list (a
    safety-first answer: the curve is the best P(match) at each budget), that at the budget its
    P(match) need not be the answer's, in the web page's words
    (:func:`allocator.output.report.curve_caveat`)."""
    from allocator.output.report import curve_caveat

    mode = "utility" if payload.get("objective") == "utility" else "p_match"  # the worker's sweep (task._curve)
    return curve_title(payload) + curve_caveat(mode, payload.get("objective"))


def _curve_figure(view: dict):
    """The budget curve (allocator.output.plot.plot_sweep), drawn once per view."""
    if "_figure" in view:
        return view["_figure"]
    import pandas as pd

    from allocator.output.plot import plot_sweep

    df = pd.DataFrame(view["curve"])
    for c in ("p_match", "p_match_independent", "p_match_la"):
        if c in df:
            df[c] = pd.to_numeric(df[c], errors="coerce")
    synthetic = bool((view["payload"].get("data") or {}).get("synthetic"))
    ax = plot_sweep(df, title=f"{view['id']}: {curve_title(view['payload'])}", synthetic=synthetic,
                    copula=not _two_stage(view["payload"]))
    view["_figure"] = ax.figure
    return ax.figure


def curve_title(payload: dict) -> str:
    """What the budget curve shows: the worker sweeps the best-utility list for the utility
    objective (its P(match) is not the best P(match) at that budget) and the best P(match) list
    for every other objective (:func:`allocator.batch.task._curve`)."""
    if payload.get("objective") == "utility":
        return "P(match) of the best-utility list by budget"
    return "best P(match) by budget"


def _outside_lines(curve: list[dict]) -> list[str]:
    """Why each marked budget point lies outside the calibrated domain ("$380: 31 applications
    (calibrated 46-109)")."""
    return [f"{_usd(r['budget'])}: {r['outside_domain']}" for r in curve if r.get("outside_domain")]


# ---------------------------------------------------------------------- HTML
_CSS = ("body{font-family:system-ui,sans-serif;margin:2em;max-width:1100px}table{border-collapse:collapse;"
        "margin:1em 0}td,th{border:1px solid #ccc;padding:3px 8px;text-align:left}td.n{text-align:right}"
        ".warn{background:#fff3b0;padding:.5em;border:1px solid #d9c200}.bad{background:#fde2e2;padding:.5em}")


def _table(head: list[str], rows: list[list[str]], numeric: set[int] = frozenset()) -> str:
    h = "".join(f"<th>{html.escape(x)}</th>" for x in head)
    body = "".join("<tr>" + "".join(f"<td{' class=n' if i in numeric else ''}>{html.escape(str(v))}</td>"
                                    for i, v in enumerate(r)) + "</tr>" for r in rows)
    return f"<table><tr>{h}</tr>{body}</table>"


def head_rows(p: dict) -> list[list[str]]:
    """The report's headline rows [what, value]: status, the model's P(match) and its range, the
    figure to plan on, the checks, the regional figures, the fees and their season, the budget
    and the geographic preference the figures assume."""
    two = _two_stage(p)
    return [["status", p.get("status")], ["objective", p.get("objective")],
            [_model_label(p), _ranged(p, "p_match", two_stage=two)],
            *([["plan on", plan_text(p)]] if p.get("p_match_plan") else []),
            *([["under the most pessimistic plausible model", _pct(p["p_match_pessimistic"])]]
              if p.get("p_match_pessimistic") is not None else []),
            *([_worst_season(p)] if p.get("p_match_worst_season") else []),
            ["published-curve check", _curve_check(p)],
            ["if outcomes were independent", _pct(p.get("p_match_independent"))],
            ["P(match in Greater LA)", _ranged(p, "p_match_la", two_stage=two)],
            ["P(match in the West, LA included)", _ranged(p, "p_match_west", two_stage=two)],
            ["Monte Carlo check (95% interval)", _mc_text(p)],
            ["applications (LA)", f"{p.get('n_applications')} ({p.get('n_la')})"],
            ["fees", fees_text(p)],
            *([["fee schedule", fee_season_text(p)]] if fee_season_text(p) else []),
            ["budget", _usd((p.get("constraints") or {}).get("budget"))],
            preference_row(p)]


def _trade_html(view: dict) -> str:
    esc = html.escape
    la = len(trade_head(view)) > 3
    what = ("<h2>Against the safest list" + (" and the LA-most list" if la else "") + "</h2><p>The safest list has "
            "the best P(any match) under the same limits" + ("; the LA-most list the best P(match in Greater LA) "
                                                             "at the same P(match) floor" if la else "") + ".</p>")
    table = _table(trade_head(view), [list(r) for r in trade_rows(view)], set(range(1, len(trade_head(view)))))
    return what + table + "".join(f"<p>{esc(t)}</p>" for t in trade_sentences(view["payload"]))


def _curve_html(view: dict) -> str:
    esc = html.escape
    parts = [f"<h2>Budget curve</h2><p>{esc(curve_words(view['payload']))}</p>"]
    if not view["curve"]:
        return parts[0] + f"<p>{esc(view.get('curve_note') or 'no budget curve')}</p>"
    from allocator.output.plot import savefig_fixed

    buf = io.StringIO()
    savefig_fixed(_curve_figure(view), buf, "svg")  # the same ids and no date: reruns compare equal
    svg = buf.getvalue()
    parts.append(svg[svg.find("<svg"):])
    parts.append(_table(["budget", "status", "P(match)", "10th-90th pct", "plan on", "P(LA)",
                         "P(LA) 10th-90th pct", "applications", "fees"],
                        [[_usd(r["budget"]), r["status"],
                          _pct(r.get("p_match")) + ("^" if r.get("outside_domain") else ""),
                          span(r.get("p_match_interval")), plan_cell(r.get("p_match_plan")),
                          _pct(r.get("p_match_la")),
                          span(r.get("p_match_la_interval")),
                          r.get("n_applications") if r.get("n_applications") is not None else "",
                          _usd(r.get("cost")) if r.get("cost") is not None else ""] for r in view["curve"]],
                        {0, 2, 3, 4, 5, 6, 7, 8}))
    if any(r.get("p_match_plan") is not None for r in view["curve"]):
        parts.append(f"<p>{esc(_curve_plan_note(view['curve']))}</p>")
    if any(r.get("outside_domain") for r in view["curve"]):
        parts.append(f"<p>{esc(domain_note(None))}</p><ul>" + "".join(
            f"<li>^ {esc(line)}</li>" for line in _outside_lines(view["curve"])) + "</ul>")
    return "".join(parts)


def applicant_html(view: dict) -> str:
    """A self-contained HTML report: headline numbers, the trade against the safest list (and
    the LA-most list), the budget curve (inline SVG) and the list."""
    p = view["payload"]
    esc = html.escape
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>{esc(view['id'])}: allocator list</title>"
             f"<style>{_CSS}</style></head><body><h1>{esc(view['id'])}</h1><p>{esc(source_line(view))}</p>"]
    if (p.get("data") or {}).get("synthetic"):
        parts.append(f"<p class=warn>{esc(SYNTHETIC_NOTE)}</p>")
    for w in unsafe_first(p.get("warnings")):
        parts.append(f"<p class=warn>warning: {esc(str(w))}</p>")
    parts.append(_table(["what", "value"], head_rows(p), {1}))
    if unproven_sentence(p):
        parts.append(f"<p id=unproven>{esc(unproven_sentence(p))}</p>")
    parts.append(_trade_html(view))
    parts.append(_curve_html(view))
    parts.append(f"<h2>The list ({len(p.get('selected') or [])} programs)</h2>")
    parts.append(_table(["id", "program", "city", "st", "tier", "P(success)", "10th-90th pct", "signal"],
                        [[s["program_id"], s["name"], s["city"], s["state"], s.get("tier", ""), _pct(s["p_match"], 2),
                          span([s["p_match_p10"], s["p_match_p90"]]) if "p_match_p10" in s else "",
                          s.get("signal") or ""] for s in p.get("selected") or []], {5, 6}))
    parts.append("</body></html>\n")
    return "".join(parts)


# ---------------------------------------------------------------------- PDF
def _mono_page(pdf, title: str, lines: list[str], note: str | None = None) -> None:
    """One letter-size page: a title, an optional note, and monospace lines (one Text object:
    matplotlib draws it far faster than a table of cells)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(8.5, 11))
    plain = {"parse_math": False}  # "$3,990 of budget $4,000" is text, not mathtext between two dollars
    fig.text(0.06, 0.955, title, fontsize=14, weight="bold", **plain)
    y = 0.93
    if note:
        fig.text(0.06, y, note, fontsize=8, color="0.2", bbox={"boxstyle": "round", "fc": "#fff3b0", "ec": "0.6"},
                 **plain)
        y -= 0.03
    fig.text(0.06, y, "\n".join(lines), fontsize=7.5, family="monospace", va="top", linespacing=1.5, **plain)
    pdf.savefig(fig)


def _wrapped(items: list[str], width: int = 110) -> list[str]:
    """Each item wrapped to the page's width, continuation lines indented (never cut: a
    warning's last words are its number and its advice)."""
    return [line for item in items
            for line in textwrap.wrap(item, width, subsequent_indent="    ", break_on_hyphens=False) or [""]]


def source_line(view: dict) -> str:
    """Where the profile was read for this report.  The rerun hash leaves out where a row sits
    (a comment line above it, reordered rows), so a report kept on a rerun names the row it
    was made from; summary.csv's ``source`` is this run's."""
    return f"profile: {view['source']} (when this report was made)"


def _text_lines(view: dict) -> list[str]:
    p = view["payload"]
    two = _two_stage(p)
    season = fee_season_text(p)
    lines = _wrapped([source_line(view), "", f"status {p.get('status')}, objective {p.get('objective')}, "
             + ("two-stage model" if two else f"correlation {p.get('correlation')}"),
             *([unproven_sentence(p)] if unproven_sentence(p) else []),
             f"P(match) {_ranged(p, 'p_match', two_stage=two)}; "
             + ("no range over plausible models (one card)" if p.get("p_match_interval") is None and two else
                f"most pessimistic model {_pct(p.get('p_match_pessimistic'))}")
             + f"; if independent {_pct(p.get('p_match_independent'))}",
             *([" ".join(_worst_season(p))] if p.get("p_match_worst_season") else []),
             *([f"plan on {plan_text(p)}"] if p.get("p_match_plan") else []),
             f"P(match in Greater LA) {_ranged(p, 'p_match_la', two_stage=two)}; "
             f"P(match in the West, LA included) {_ranged(p, 'p_match_west', two_stage=two)}; "
             f"published-curve check {_curve_check(p)}",
             f"Monte Carlo check {_mc_text(p)}; fees "
             f"{_usd((p.get('cost') or {}).get('total'))} of budget {_usd((p.get('constraints') or {}).get('budget'))}"
             + (f" ({fixed_fee_text(p)})" if fixed_fee_text(p) else "") + (f"; fee schedule: {season}" if season else ""),
             "{} {}".format(*preference_row(p)),
             ""])
    lines += _wrapped([f"warning: {w}" for w in unsafe_first(p.get("warnings"))])
    head = trade_head(view)
    lines += ["", *_wrapped(["Against the safest list (best P(any match) under the same limits)"
                             + ("; the LA-most list: the best P(match in Greater LA) at the same P(match) floor"
                                if len(head) > 3 else "")]), ""]
    rows = trade_rows(view)  # columns as wide as their cells (a range is 30 characters): 117 for four
    widths = [max(len(str(r[k])) for r in rows + [tuple(head)]) + (0 if k == 0 else 1) for k in range(len(head))]
    lines += ["".join(f"{c:<{w}}" if k == 0 else f"{c:>{w}}" for k, (c, w) in enumerate(zip(r, widths)))
              for r in [tuple(head)] + rows]
    lines += _wrapped(["", *trade_sentences(p)]) if trade_sentences(p) else []
    return lines + _curve_lines(view)


def _curve_lines(view: dict) -> list[str]:
    """The PDF's budget curve: what it shows, then its table and notes."""
    lines = ["", *_wrapped([f"Budget curve: {curve_words(view['payload'])}"]), ""]
    if not view["curve"]:
        return lines + [view.get("curve_note") or "no budget curve"]
    lines += [f"{'budget':>10}  {'status':12}{'P(match)':>10}{'10th-90th':>11}{'plan on':>9}{'P(LA)':>10}"
              f"{'10th-90th':>11}{'apps':>6}"]
    lines += [f"{_usd(r['budget']):>10}  {str(r['status']):12}"
              f"{_pct(r.get('p_match')) + ('^' if r.get('outside_domain') else ''):>10}"
              f"{span(r.get('p_match_interval')):>11}{plan_cell(r.get('p_match_plan')):>9}"
              f"{_pct(r.get('p_match_la')):>10}{span(r.get('p_match_la_interval')):>11}"
              f"{'' if r.get('n_applications') is None else r['n_applications']:>6}"
              for r in view["curve"]]
    if any(r.get("p_match_plan") is not None for r in view["curve"]):
        lines += ["", *textwrap.wrap(_curve_plan_note(view["curve"]), 110)]
    if any(r.get("outside_domain") for r in view["curve"]):
        lines += ["", *textwrap.wrap(domain_note(None), 110)]
        lines += _wrapped([f"^ {line}" for line in _outside_lines(view["curve"])])
    return lines


def list_lines(selected: list[dict]) -> list[str]:
    """The PDF's list table: a header, then a line per program with its P(success) and, when
    the model has an ensemble, its 10th-90th percentile range (as the HTML's list)."""
    head = f"{'id':12} {'program':52} {'st':3} {'tier':10}{'P(succ.)':>8} {'10th-90th':>9} signal"
    return [head] + [f"{s['program_id']:12} {s['name'][:52]:52} {s['state']:3} {s.get('tier', ''):10}"
                     f"{_pct(s['p_match'], 2):>8} "
                     f"{span([s['p_match_p10'], s['p_match_p90']]) if 'p_match_p10' in s else '':>9} "
                     f"{s.get('signal') or ''}" for s in selected]


def applicant_pdf(view: dict) -> bytes:
    """The same report as a PDF (matplotlib PdfPages): summary and trade, curve, the list."""
    from matplotlib.backends.backend_pdf import PdfPages

    p = view["payload"]
    note = SYNTHETIC_NOTE if (p.get("data") or {}).get("synthetic") else None
    import matplotlib

    buf = io.BytesIO()
    # TrueType embedding (fonttype 42) writes faster than matplotlib's default Type 3 glyph procedures
    rc = {"pdf.fonttype": 42}
    with matplotlib.rc_context(rc), PdfPages(buf, metadata={"Title": f"{view['id']}: allocator list",
                                                            "CreationDate": None}) as pdf:
        _mono_page(pdf, view["id"], _text_lines(view), note)
        if view["curve"]:
            pdf.savefig(_curve_figure(view))
        sel = p.get("selected") or []
        per = 80
        for k in range(0, max(len(sel), 1), per):
            _mono_page(pdf, f"The list ({len(sel)} programs), {k + 1}-{min(k + per, len(sel))}",
                       list_lines(sel[k:k + per]), note)  # each page of a synthetic list says so, as the first
    return buf.getvalue()

def png_data_uri(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()
