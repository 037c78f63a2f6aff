"""Plots of sweep results (matplotlib).  Plot functions take data and never solve.

``plot_sweep(df)`` draws what :func:`allocator.studies.sweep.sweep` returned: P(match) against the
swept setting (solid blue, with the plausible models' 10th-90th percentile band), the figure to
plan on for each point's list (``p_match_plan``, solid orange: the most prominent line after
the average and its band), the same lists' P(match) if outcomes were independent (thin grey
dashes: the optimistic bound, not a figure to plan on), P(match in Greater LA) (dotted, right
axis), and the knees (circles, on the orange line when they were found on the figure to plan
on, as the sweep finds them wherever its rows have one; see :func:`allocator.studies.sweep.knees`:
vertices of the upper concave envelope where the return per dollar falls by more than half, i.e.
where extra dollars start buying less; not a recommended budget).  Points without a list (infeasible, no solution)
leave a gap and a grey "x" on the axis.  Probabilities are drawn as percentages.

matplotlib is optional (the ``plot`` extra); it is imported only when a plot is asked for.
With ``ax=None`` a bare :class:`matplotlib.figure.Figure` is created (no pyplot, no global
state; safe headless), and :func:`save` writes it through the Agg renderer.

>>> ax = plot_sweep(df, synthetic=True)  # doctest: +SKIP
>>> save(ax, "sweep.png")  # doctest: +SKIP
"""
from __future__ import annotations

import textwrap

from pathlib import Path

import numpy as np
import pandas as pd

from allocator.errors import InputError

SYNTHETIC_LABEL = "SYNTHETIC demo catalog: invented programs"
_X_LABELS = {
    "budget": "budget (USD)",
    "la_share_max": "largest share of LA programs",
    "correlation": "correlation rho",
    "max_applications": "most applications",
}


def _matplotlib():
    try:
        import matplotlib  # noqa: F401
        from matplotlib.figure import Figure
        from matplotlib.ticker import PercentFormatter
    except ImportError:
        raise InputError("plotting needs matplotlib, which is not installed: "
                         "pip install 'allocator[plot]' (or pip install matplotlib)") from None
    return Figure, PercentFormatter


def _param(df: pd.DataFrame) -> str:
    for name in _X_LABELS:
        if name in df.columns:
            return name
    raise InputError("plot_sweep: the frame has no swept column (budget, la_share_max, correlation or "
                     "max_applications); pass the DataFrame that sweep() returned")


def _zoom(ax, values, *, pad: float = 0.08, min_span: float = 2.0) -> None:
    """y-limits from the data (percent), with a margin: a 91-96% curve fills the axes
    instead of lying flat on a 0-100% scale.  Never beyond -0.5..100.5 (no negative
    probabilities on the scale)."""
    v = np.asarray([x for x in np.ravel(values) if np.isfinite(x)], float)
    if len(v) == 0:
        ax.set_ylim(-0.5, 100.5)
        return
    lo, hi = float(v.min()), float(v.max())
    span = max(hi - lo, min_span)
    mid = (lo + hi) / 2
    lo, hi = mid - span / 2 - pad * span, mid + span / 2 + pad * span
    ax.set_ylim(max(lo, -0.5), min(hi, 100.5))


def _place_labels(ax, points, *, fontsize: int = 8, color: str = "C3", gap: float = 2.0):
    """Annotate ``points`` [(x, y, text)] without overprinting: each label tries a few
    offsets around its point and is skipped when none is free of the labels already placed
    (boxes estimated in points from the axes' size and the current limits)."""
    fig = ax.figure
    w_in, h_in = fig.get_size_inches()
    pos = ax.get_position()
    W, H = 72 * w_in * pos.width, 72 * h_in * pos.height
    (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
    placed: list[tuple[float, float, float, float]] = []
    offsets = ((4, -14), (4, 6), (-8, 8), (-8, -16), (6, -26), (6, 16))
    shown = 0
    seen = set()
    for x, y, text in points:
        key = (round(float(x), 6), round(float(y), 6))
        if key in seen:  # the same list at several floors: one label
            continue
        seen.add(key)
        px = (x - x0) / ((x1 - x0) or 1) * W
        py = (y - y0) / ((y1 - y0) or 1) * H
        tw, th = 0.62 * fontsize * len(text), 1.2 * fontsize
        for dx, dy in offsets:
            bx = px + dx - (tw if dx < 0 else 0)
            box = (bx - gap, py + dy - gap, bx + tw + gap, py + dy + th + gap)
            inside = box[0] >= 0 and box[1] >= 0 and box[2] <= W and box[3] <= H  # not cut off at an edge
            if inside and all(box[2] <= b[0] or box[0] >= b[2] or box[3] <= b[1] or box[1] >= b[3] for b in placed):
                placed.append(box)
                ax.annotate(text, (x, y), textcoords="offset points", xytext=(dx, dy), fontsize=fontsize,
                            color=color, ha="right" if dx < 0 else "left")
                shown += 1
                break
    return shown


def _synthetic_note(ax) -> None:
    """The SYNTHETIC box, outside the axes (below them), so it never hides a curve."""
    ax.annotate(SYNTHETIC_LABEL, (0.0, 1.0), xycoords="axes fraction", xytext=(0, 6), textcoords="offset points",
                fontsize=8, color="0.25", ha="left", va="bottom", annotation_clip=False,
                bbox={"boxstyle": "round", "fc": "#fff3b0", "ec": "0.6"})


def plot_sweep(df: pd.DataFrame, ax=None, *, title: str | None = None, synthetic: bool = False,
               param: str | None = None, copula: bool | None = None):
    """Draw a sweep on ``ax`` (a new figure's axes when None) and return ``ax``.  P(match)
    (its band, the figure to plan on and the independent-outcomes line) on the left axis,
    zoomed to the data; P(match in Greater LA) on its own right axis, also zoomed, in green.
    ``copula``: the rows' P(match) is the one-factor copula's at a set correlation (always so
    for a correlation sweep), while their band and figure to plan on are the calibrated
    two-stage model's; the legend then names each."""
    Figure, PercentFormatter = _matplotlib()
    param = param or _param(df)
    if ax is None:
        fig = Figure(figsize=(7.5, 5.0), layout="constrained")
        ax = fig.add_subplot()
    x = df[param].to_numpy(float)
    y = df["p_match"].to_numpy(float)
    band = _band(df, "p_match_interval")
    copula = param == "correlation" if copula is None else copula or param == "correlation"
    if band is None:
        label = "P(match)"
    else:
        label = ("P(match) under the one-factor copula (not the figure to plan on)" if copula
                 else "P(match), average of the plausible models")
    lines = ax.plot(x, 100 * y, "-", color="C0", lw=2, zorder=3, label=label)
    shown = [100 * y]
    if band is not None:
        lines.append(ax.fill_between(x, 100 * band[0], 100 * band[1], color="C0", alpha=0.15, lw=0,
                                     label="10th-90th percentile, calibrated two-stage model" if copula
                                     else "10th-90th percentile of the plausible models"))
        shown += [100 * band[0], 100 * band[1]]
    plan = plan_values(df)
    if plan is not None:  # the figure to plan on: after the average and its band, the line to read
        lines += ax.plot(x, 100 * plan, "-", color="C1", lw=2.4, marker="o", ms=3.5, zorder=4, gid="plan",
                         label="plan on: the figure to plan on for each list")
        shown.append(100 * plan)
    out_dom = (df["outside_domain"].fillna("").astype(str) != "").to_numpy() if "outside_domain" in df else None
    if out_dom is not None and out_dom.any():
        lines += ax.plot(x[out_dom], 100 * y[out_dom], "o", ms=4, mfc="white", mec="0.35", mew=1,
                         label="outside the calibrated domain (an extrapolation)")
    if "p_match_independent" in df:  # the optimistic bound: thin and grey, below the figures to read
        yi = 100 * pd.to_numeric(df["p_match_independent"], errors="coerce").to_numpy(float)
        lines += ax.plot(x, yi, "--", color="0.6", lw=0.9, zorder=2, gid="independent",
                         label="if independent: optimistic bound, not the figure")
        shown.append(yi)
    mask, ky, on_plan = knee_points(df, x, y, plan)
    if mask.any():
        lines += ax.plot(x[mask], 100 * ky[mask], "o", ms=8, mfc="none", mec="C3", mew=1.8, zorder=5, gid="knee",
                         label=("knee" + (" of the plan-on line" if on_plan else "") + ": " +
                                ("extra dollars start buying less" if param == "budget" else
                                 "further increases start buying less")))
    none = ~np.isfinite(y)
    _zoom(ax, shown)
    if none.any():
        lines += ax.plot(x[none], np.full(none.sum(), ax.get_ylim()[0]), "x", color="0.5", ms=6, clip_on=False,
                         label="no list (infeasible)")
    if "p_match_la" in df:
        lines += _la_axis(ax, x, df, PercentFormatter)
    ax.set_xlabel(_X_LABELS.get(param, param))
    ax.set_ylabel("P(match)", color="C0")
    ax.yaxis.set_major_formatter(PercentFormatter(100))
    ax.grid(True, alpha=0.3)
    if mask.any():
        _place_labels(ax, [(xi, 100 * yi, f"${xi:,.0f}" if param == "budget" else f"{xi:g}")
                           for xi, yi in zip(x[mask], ky[mask])])
    if title is None:
        title = "P(match) against " + _X_LABELS.get(param, param).split(" (")[0]
    ax.set_title(title + (" (synthetic data)" if synthetic else ""), pad=22 if synthetic else 6)
    if synthetic:
        _synthetic_note(ax)
    notes = (([PLAN_NOTE] if plan is not None else []) + ([INDEPENDENT_NOTE] if "p_match_independent" in df else [])
             + ([KNEE_PLAN_NOTE if on_plan else KNEE_NOTE] if mask.any() and param == "budget" else []))
    _legend(ax, lines, " ".join(notes))
    return ax


def _la_axis(ax, x, df: pd.DataFrame, PercentFormatter) -> list:
    """P(match in Greater LA) on its own right axis, in green, zoomed to at least 10 points (a
    small LA change must not look like a cliff); its line, for the legend."""
    la = 100 * df["p_match_la"].to_numpy(float)
    ax2 = ax.twinx()
    lines = ax2.plot(x, la, ":", color="C2", lw=2, label="P(match in Greater LA) (right axis)")
    _zoom(ax2, [la], min_span=10.0)
    ax2.set_ylabel("P(match in Greater LA)", color="C2")
    ax2.tick_params(axis="y", colors="C2")
    ax2.yaxis.set_major_formatter(PercentFormatter(100))
    return lines


def _legend(ax, lines: list, note: str) -> None:
    """The legend under the axes and, under it, the caption saying what the plan-on line, the
    grey dashes and the knees are (and are not)."""
    leg = ax.legend(lines, [ln.get_label() for ln in lines], loc="upper center", bbox_to_anchor=(0.5, -0.13),
                    ncol=2, fontsize=8, frameon=False)
    if note:
        ax.annotate(textwrap.fill(note, 110), (0.5, 0), xycoords=leg, xytext=(0, -4), textcoords="offset points",
                    ha="center", va="top", fontsize=7, color="0.3", annotation_clip=False, gid="caption")


KNEE_NOTE = ("A knee (red circle) is where extra dollars start buying less: the gain per dollar falls by more than "
             "half after it. It is not a recommended budget.")
KNEE_PLAN_NOTE = ("A knee (red circle, on the orange line) is where extra dollars start buying less on the figure to "
                  "plan on: its gain per dollar falls by more than half after it. It is not a recommended budget.")


def knee_points(df: pd.DataFrame, x, y, plan):
    """(the knees' mask, the line they sit on, whether that is the figure to plan on): the rows'
    ``knee`` on the figure their ``knee_on`` names (a frame without ``knee_on``: P(match), as knees
    were found before); without a ``knee`` column, found here on the figure to plan on when there is
    one (:func:`allocator.studies.sweep.knees`)."""
    from allocator.studies.sweep import knees

    if "knee" not in df:
        on_plan = plan is not None
        mask = knees(x, plan if on_plan else y)
    else:
        mask = df["knee"].eq(True).to_numpy(bool)  # None (a batch curve's row without a list) is no knee
        on_plan = plan is not None and "knee_on" in df and bool((df["knee_on"] == "p_match_plan").any())
    return mask, (plan if on_plan else y), on_plan
PLAN_NOTE = ("The orange line is the figure to plan on for each point's list (the lowest of its 10th percentile, "
             "its worst season and its checks).")
INDEPENDENT_NOTE = ("The grey dashes are what the same list would give if outcomes were independent: an optimistic "
                    "bound, not a figure to plan on.")


def plan_values(df: pd.DataFrame):
    """The rows' figure to plan on (``p_match_plan``, :func:`allocator.verification.planfigure.plan_row`)
    as floats, NaN where a row has none (no range over plausible models, no list); None when no
    row has one (a sweep without the column, or without ranges)."""
    if "p_match_plan" not in df:
        return None
    v = pd.to_numeric(df["p_match_plan"], errors="coerce").to_numpy(float)
    return None if np.isnan(v).all() else v


def _band(df: pd.DataFrame, col: str):
    """(lower, upper) arrays of a column of [10th, 90th] percentile pairs (NaN where a row has
    none); None when no row has one."""
    if col not in df:
        return None
    pairs = [v if isinstance(v, (list, tuple)) and len(v) == 2 else (np.nan, np.nan) for v in df[col]]
    arr = np.asarray(pairs, float).reshape(-1, 2)
    return None if np.isnan(arr).all() else (arr[:, 0], arr[:, 1])


def _frontier_spread(ok: pd.DataFrame) -> str | None:
    """One line under the frontier: how wide the plausible models' ranges are, against the
    small differences along the curve (the curve compares lists under one model)."""
    b, b_la = _band(ok, "p_match_interval"), _band(ok, "p_match_la_interval")
    if b is None or b_la is None:
        return None
    w = float(np.nanmedian(b[1] - b[0]))
    lo_la, hi_la = float(np.nanmin(b_la[0])), float(np.nanmax(b_la[1]))
    return (f"Each point's P(any match) spans about {100 * w:.0f} points over the plausible models (10th-90th "
            f"percentile), P(match in LA) {100 * lo_la:.0f}-{100 * hi_la:.0f}% across these lists; "
            "the curve compares the lists under the same model.")


def plot_frontier(df: pd.DataFrame, ax=None, *, title: str | None = None, synthetic: bool = False,
                  la_share_max: float | None = None):
    """Draw the frontier from :mod:`allocator.studies.frontier`: P(match in LA) against
    P(any match), one point per floor (filled squares where the LA cap binds), the safest
    list (star) and the chosen list (diamond) when the frame has them; returns ``ax``."""
    Figure, PercentFormatter = _matplotlib()
    if ax is None:
        fig = Figure(figsize=(7.0, 5.0), layout="constrained")
        ax = fig.add_subplot()
    ok = df[df["status"].isin(["optimal", "feasible"])]
    kind = ok["kind"] if "kind" in ok else pd.Series("frontier", index=ok.index)
    cur = ok[kind == "frontier"].sort_values("p_match")
    ax.plot(100 * cur["p_match"], 100 * cur["p_match_la"], "-o", color="C2", lw=2, ms=5,
            label="best P(match in LA) at each P(any match) floor")
    if "la_cap_binds" in cur:
        bind = cur[cur["la_cap_binds"].fillna(False).astype(bool)]
        if len(bind):
            cap = f" ({la_share_max:.0%} of applications)" if la_share_max is not None else ""
            ax.plot(100 * bind["p_match"], 100 * bind["p_match_la"], "s", color="C2", ms=8,
                    label=f"LA cap binds{cap}")
    loose = cur[cur["status"] != "optimal"]
    if len(loose):
        ax.plot(100 * loose["p_match"], 100 * loose["p_match_la"], "o", ms=9, mfc="white", mec="C1", mew=1.8,
                label="best list found, not proven optimal")
    marks = {"safest": ("*", "C0", 15, "safest list (max P(any match))"),
             "chosen": ("D", "C3", 8, "chosen list (the profile's objective)")}
    for k, (mk, col, ms, lab) in marks.items():
        pt = ok[kind == k]
        if len(pt):
            ax.plot(100 * pt["p_match"], 100 * pt["p_match_la"], mk, color=col, ms=ms, mfc="none" if k == "chosen"
                    else col, mew=2, label=lab, zorder=5)
    if "outside_domain" in ok:  # as the sweep plot: a list outside the calibrated domain is an extrapolation
        out = ok[ok["outside_domain"].fillna("").astype(str) != ""]
        if len(out):
            ax.plot(100 * out["p_match"], 100 * out["p_match_la"], "o", ms=3, color="0.35", zorder=6,
                    label=("every point" if len(out) == len(ok) else "dot") +
                    ": outside the calibrated domain (an extrapolation)")
    xs = 100 * ok["p_match"].to_numpy(float)
    ys = 100 * ok["p_match_la"].to_numpy(float)
    _zoom(ax, ys, min_span=4.0)
    if len(xs):
        span = max(float(xs.max() - xs.min()), 0.5)
        ax.set_xlim(float(xs.min()) - 0.08 * span, float(xs.max()) + 0.12 * span)
    ax.set_xlabel("P(any match)")
    ax.set_ylabel("P(match in Greater LA)")
    for axis, (lo, hi) in ((ax.xaxis, ax.get_xlim()), (ax.yaxis, ax.get_ylim())):
        span = hi - lo  # as many decimals as the zoom needs, no more
        axis.set_major_formatter(PercentFormatter(100, decimals=2 if span < 1 else 1 if span < 10 else 0))
    ax.grid(True, alpha=0.3)
    _place_labels(ax, [(100 * r.p_match, 100 * r.p_match_la, f"{r.n_la:.0f}/{r.n_applications:.0f} LA")
                       for r in cur.sort_values("p_match", ascending=False).itertuples(index=False)],
                  fontsize=7, color="0.3")
    ax.set_title((title or "LA chances against overall safety") + (" (synthetic data)" if synthetic else ""),
                 pad=22 if synthetic else 6)
    if synthetic:
        _synthetic_note(ax)
    leg = ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=2, fontsize=8, frameon=False)
    spread = _frontier_spread(ok)
    if spread:
        ax.annotate(textwrap.fill(spread, 110), (0.5, 0), xycoords=leg, xytext=(0, -4), textcoords="offset points",
                    ha="center", va="top", fontsize=7, color="0.3", annotation_clip=False)
    return ax


# No date in the file and fixed SVG ids: the same figure gives the same bytes on every run
METADATA = {"svg": {"Date": None}, "pdf": {"CreationDate": None}, "png": {}}


def savefig_fixed(fig, fh, fmt: str, dpi: int = 150) -> None:
    """``fig.savefig`` as the same bytes for the same figure (no date, fixed SVG ids)."""
    import matplotlib

    with matplotlib.rc_context({"svg.hashsalt": "allocator"}):
        fig.savefig(fh, format=fmt, dpi=dpi, metadata=METADATA.get(fmt, {}))


def save(fig_or_ax, path: str | Path, *, dpi: int = 150) -> Path:
    """Write the figure (or an axes' figure) to ``path`` atomically: a temp file in the same
    folder, then a rename.  The format follows the suffix (.png, .svg, .pdf)."""
    path = Path(path)
    fig = getattr(fig_or_ax, "figure", None) or fig_or_ax
    if not hasattr(fig, "savefig"):
        raise InputError("save: give a matplotlib Figure or Axes")
    fmt = path.suffix.lower().lstrip(".")
    if fmt not in ("png", "svg", "pdf"):
        raise InputError(f"{path}: unknown image type {path.suffix or '(none)'}; use .png, .svg or .pdf")
    from allocator.output.files import atomic_write

    atomic_write(path, lambda fh: savefig_fixed(fig, fh, fmt, dpi), binary=True, option="--plot")
    return path
