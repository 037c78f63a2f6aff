"""The page's text for a drawn figure (budget curve, LA frontier): its alt text, its key in words
and its points as a table, from the same rows and legend that drew the PNG.

A blind applicant, or one on a phone where the figure's small print cannot be read, gets from
these what the figure shows: the alt text says what is drawn and the range it spans (and that the
data are SYNTHETIC when they are), the key names each line or mark by its look ("solid orange
line with dots: plan on ...", taken from the figure's own legend, so it cannot drift from it),
and the table gives every point as the figure draws it.  Nothing here solves or recomputes: the
knees, the ranges and the figure to plan on are the rows' own (``allocator.studies.sweep`` and
``allocator.studies.frontier``).  Probabilities in [0, 1], shown as the command line prints them
(:func:`allocator.percent.pct`; the figure to plan on in whole percents rounded down); fees in USD.

>>> view = describe("budget", drawn)  # doctest: +SKIP
>>> view.alt, view.header, view.cells[0]  # doctest: +SKIP
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

from allocator.percent import pct, plan_pct

TABLE_SUMMARY = "The figure's points as a table"
PALETTE = {"blue": "#1f77b4", "orange": "#ff7f0e", "green": "#2ca02c", "red": "#d62728", "purple": "#9467bd",
           "brown": "#8c564b", "pink": "#e377c2", "grey": "#8c8c8c", "light grey": "#c8c8c8",
           "dark grey": "#4d4d4d", "black": "#000000", "olive": "#bcbd22", "cyan": "#17becf"}
LINES = {"-": "solid", "--": "dashed", ":": "dotted", "-.": "dash-dot"}
MARKS = {"o": ("dots", "circles"), "s": ("squares", "squares"), "*": ("star", "star"),
         "D": ("diamond", "diamond"), "x": ("crosses", "crosses"), "^": ("triangles", "triangles")}


class Drawn(NamedTuple):
    """A figure as service draws it: the PNG, its rows (the sweep's or frontier's records) and
    its legend as (look in words, label) pairs (:func:`legend_key`)."""
    png: bytes
    rows: list[dict]
    key: list[tuple[str, str]]


@dataclass(frozen=True)
class FigureView:
    """What the page shows for a drawn figure: the PNG, its alt text, its key, whether the data are
    synthetic, and its points as a table (``header``; ``cells``: one list of strings per point, in
    the order of ``rows``, the records they were read from)."""
    png: bytes
    alt: str
    key: list[tuple[str, str]]
    synthetic: bool
    header: list[str] = field(default_factory=list)
    cells: list[list[str]] = field(default_factory=list)
    rows: list[dict] = field(default_factory=list)


def colour_name(colour) -> str:
    """The nearest of a few plain colour names (matplotlib's C0..C9 and greys by their own names)."""
    from matplotlib.colors import to_rgb

    r, g, b = to_rgb(colour)
    near = min(PALETTE.items(), key=lambda kv: sum((x - y) ** 2 for x, y in zip((r, g, b), to_rgb(kv[1]))))
    return near[0]


def look(handle) -> str:
    """A legend handle in words: "solid orange line with dots", "open red circles", "shaded blue band"."""
    from matplotlib.colors import to_rgb

    if not hasattr(handle, "get_linestyle") or not hasattr(handle, "get_marker"):  # a patch: the band
        return f"shaded {colour_name(handle.get_facecolor())} band"
    line, marker = LINES.get(handle.get_linestyle()), handle.get_marker()
    filled, hollow = MARKS.get(marker, ("marks", "marks")) if marker not in (None, "None", "", " ") else (None, None)
    if line:
        return f"{line} {colour_name(handle.get_color())} line" + (f" with {filled}" if filled else "")
    face = handle.get_markerfacecolor()
    if (isinstance(face, str) and face.lower() == "none") or to_rgb(face) == (1.0, 1.0, 1.0):  # hollow or white
        return f"open {colour_name(handle.get_markeredgecolor())} {hollow}"
    return f"{colour_name(face)} {filled}"


def legend_key(ax) -> list[tuple[str, str]]:
    """The axes' legend as (look, label) pairs, in the legend's order ([] without a legend)."""
    leg = ax.get_legend()
    if leg is None:
        return []
    return [(look(h), t.get_text()) for h, t in zip(leg.legend_handles, leg.get_texts())]


def describe(kind: str, drawn: Drawn, *, copula: bool = False) -> FigureView:
    """The page's view of a drawn budget curve (``kind`` "budget") or LA frontier ("frontier")."""
    synthetic = any(bool(r.get("synthetic")) for r in drawn.rows)
    if kind == "budget":
        rows = list(drawn.rows)
        header, cells = budget_table(rows, copula=copula)
        alt = budget_alt(rows, synthetic)
    else:
        rows = frontier_rows(drawn.rows)
        header, cells = frontier_table(rows)
        alt = frontier_alt(rows, synthetic)
    return FigureView(drawn.png, alt, list(drawn.key), synthetic, header, cells, rows)


def _has_list(r: dict) -> bool:
    return r.get("status") in ("optimal", "feasible") and r.get("p_match") is not None


def _range(iv) -> str:
    return f"{pct(iv[0])} – {pct(iv[1])}" if isinstance(iv, (list, tuple)) and len(iv) == 2 else ""


def _usd(x) -> str:
    return "" if x is None else f"${x:,.0f}"


def _note(r: dict) -> str:
    """A point's note as the figure marks it: no list (a grey x), or outside the calibrated domain."""
    if not _has_list(r):
        return f"no list ({r.get('status') or 'no solution'})"
    return "outside the calibrated domain (an extrapolation)" if r.get("outside_domain") else ""


def budget_table(rows: list[dict], *, copula: bool = False) -> tuple[list[str], list[list[str]]]:
    """The budget curve's points: budget, P(match) (the average, or the copula's), the plausible
    models' 10th-90th percentile, the figure to plan on, the figure if outcomes were independent,
    P(match in Greater LA), applications (LA), fees, the knee mark and a note; a column only when
    some row has it, as the figure draws a line only then."""
    cols = [("budget", lambda r: _usd(r.get("budget"))),
            ("P(match) under the one-factor copula" if copula else "P(match), average of the plausible models",
             lambda r: pct(r["p_match"]) if _has_list(r) else ""),
            ("10th–90th percentile", lambda r: _range(r.get("p_match_interval")) if _has_list(r) else ""),
            ("plan on", lambda r: plan_pct(r["p_match_plan"]) if r.get("p_match_plan") is not None else ""),
            ("if outcomes were independent", lambda r: pct(r["p_match_independent"])
             if _has_list(r) and r.get("p_match_independent") is not None else ""),
            ("P(match in Greater LA)", lambda r: pct(r["p_match_la"]) if _has_list(r) else ""),
            ("applications (in LA)", lambda r: f"{r['n_applications']} ({r.get('n_la') or 0})" if _has_list(r) else ""),
            ("fees", lambda r: _usd(r.get("cost")) if _has_list(r) else ""),
            ("knee", lambda r: "knee" if r.get("knee") else ""),
            ("note", _note)]
    return _table(rows, cols)


def _table(rows: list[dict], cols) -> tuple[list[str], list[list[str]]]:
    """Header and cells of the columns that have a value in some row (the first column always)."""
    cells = [[f(r) for _, f in cols] for r in rows]
    keep = [k for k in range(len(cols)) if k == 0 or any(c[k] for c in cells)]
    return [cols[k][0] for k in keep], [[c[k] for k in keep] for c in cells]


def _with_range(r: dict, key: str) -> str:
    """A row's figure with its plausible models' range in brackets, when it has one."""
    if not _has_list(r):
        return ""
    iv = _range(r.get(f"{key}_interval"))
    return pct(r[key]) + (f" ({iv})" if iv else "")


def _frontier_list(r: dict, short: bool = False) -> str:
    """A frontier point by what it is: the safest list, or the margin of P(any match) given up."""
    if r.get("kind") == "safest":
        return "the safest list" + ("" if short else " (the best P(any match), the star)")
    m = r.get("margin")
    if m is None:
        return str(r.get("kind") or "")
    return f"giving up {100 * m:g} point{'' if abs(100 * m - 1) < 1e-9 else 's'} of P(any match)"


def frontier_rows(rows: list[dict]) -> list[dict]:
    """The frontier's rows in the figure's order: the safest list, then the margins from 0 up."""
    return sorted(rows, key=lambda r: (r.get("kind") != "safest", r.get("margin") or 0.0))


def frontier_table(rows: list[dict]) -> tuple[list[str], list[list[str]]]:
    """The LA frontier's points: the list (the safest, or the margin given up), P(any match) and
    P(match in Greater LA) with their ranges, LA programs of all, fees, whether the LA cap binds
    (a filled square), whether the list is proven best (an open orange circle when not), and a note."""
    cols = [("list", _frontier_list),
            ("P(any match) (10th–90th percentile)", lambda r: _with_range(r, "p_match")),
            ("P(match in Greater LA) (10th–90th percentile)", lambda r: _with_range(r, "p_match_la")),
            ("LA programs / applications", lambda r: f"{r.get('n_la') or 0} / {r['n_applications']}"
             if _has_list(r) else ""),
            ("fees", lambda r: _usd(r.get("cost")) if _has_list(r) else ""),
            ("LA cap binds", lambda r: "yes" if r.get("la_cap_binds") else ""),
            ("proven best", lambda r: "best found, not proven" if r.get("status") == "feasible" else ""),
            ("note", _note)]
    return _table(frontier_rows(rows), cols)


def _synthetic(synthetic: bool) -> str:
    return " (SYNTHETIC data: the demo catalog's invented programs)" if synthetic else ""


def budget_alt(rows: list[dict], synthetic: bool) -> str:
    """The budget curve's alt text: what it shows, over which budgets, from what to what."""
    ok = [r for r in rows if _has_list(r)]
    head = f"Budget curve{_synthetic(synthetic)}: P(match) of each budget's list at {len(rows)} budgets"
    if not ok:
        return head + "; no budget has a list."
    first, last = ok[0], ok[-1]
    text = (f"{head}, from {pct(first['p_match'])} at {_usd(first['budget'])} to {pct(last['p_match'])} at "
            f"{_usd(last['budget'])}")
    if first.get("p_match_plan") is not None and last.get("p_match_plan") is not None:
        text += f" (the figure to plan on from {plan_pct(first['p_match_plan'])} to {plan_pct(last['p_match_plan'])})"
    la = (pct(first["p_match_la"]), pct(last["p_match_la"]))
    text += "; P(match in Greater LA) " + (f"{la[0]} at both ends" if la[0] == la[1] else f"from {la[0]} to {la[1]}")
    knees = [_usd(r["budget"]) for r in ok if r.get("knee")]
    if knees:
        text += f"; knees, where extra dollars start buying less, at {', '.join(knees)}"
    return text + ". Its points follow as a table."


def frontier_alt(rows: list[dict], synthetic: bool) -> str:
    """The LA frontier's alt text: what it shows, from the safest list to the largest margin."""
    ok = [r for r in frontier_rows(rows) if _has_list(r)]
    head = f"LA frontier{_synthetic(synthetic)}: P(match in Greater LA) against P(any match)"
    if not ok:
        return head + "; no list."
    first, last = ok[0], ok[-1]
    return (f"{head} for {len(ok)} lists, from {_frontier_list(first, True)} (P(any match) "
            f"{pct(first['p_match'])}, P(match in LA) {pct(first['p_match_la'])}) to {_frontier_list(last, True)} "
            f"({pct(last['p_match'])}, {pct(last['p_match_la'])}). Its points follow as a table.")
