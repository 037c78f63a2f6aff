"""Plots of sweep results (matplotlib).  Plot functions take data and never solve.

``plot_sweep(df)`` draws what :func:`allocator.studies.sweep.sweep` returned: P(match) against the
swept setting (solid), the same lists' P(match) if outcomes were independent (dashed),
P(match in Greater LA) (dotted), and the knees (circles; see :func:`allocator.studies.sweep.knees`:
vertices of the upper concave envelope where the return per dollar falls by more than
half).  Points without a list (infeasible, no solution) leave a gap and a grey "x" on the
axis.  Probabilities are drawn as percentages.

matplotlib is optional (the ``plot`` extra); it is imported only when a plot is asked for.
With ``ax=None`` a bare :class:`matplotlib.figure.Figure` is created (no pyplot, no global
state; safe headless), and :func:`save` writes it through the Agg renderer.

>>> ax = plot_sweep(df, synthetic=True)  # doctest: +SKIP
>>> save(ax, "sweep.png")  # doctest: +SKIP
"""
from __future__ import annotations

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


def plot_sweep(df: pd.DataFrame, ax=None, *, title: str | None = None, synthetic: bool = False,
               param: str | None = None):
    """Draw a sweep on ``ax`` (a new figure's axes when None) and return ``ax``."""
    Figure, PercentFormatter = _matplotlib()
    from allocator.studies.sweep import knees

    param = param or _param(df)
    if ax is None:
        fig = Figure(figsize=(7.5, 4.6), layout="constrained")
        ax = fig.add_subplot()
    x = df[param].to_numpy(float)
    y = df["p_match"].to_numpy(float)
    ax.plot(x, 100 * y, "-", color="C0", lw=2, label="P(match)")
    if "p_match_independent" in df:
        ax.plot(x, 100 * df["p_match_independent"].to_numpy(float), "--", color="C0", lw=1.2, alpha=0.8,
                label="same lists if outcomes were independent")
    if "p_match_la" in df:
        ax.plot(x, 100 * df["p_match_la"].to_numpy(float), ":", color="C2", lw=1.8,
                label="P(match in Greater LA)")
    mask = df["knee"].to_numpy(bool) if "knee" in df else knees(x, y)
    if mask.any():
        ax.plot(x[mask], 100 * y[mask], "o", ms=8, mfc="none", mec="C3", mew=1.8,
                label="knee: return per $ falls by half" if param == "budget" else "knee")
        for xi, yi in zip(x[mask], y[mask]):
            label = f"${xi:,.0f}" if param == "budget" else f"{xi:g}"
            ax.annotate(label, (xi, 100 * yi), textcoords="offset points", xytext=(4, -14), fontsize=8,
                        color="C3")
    none = ~np.isfinite(y)
    if none.any():
        ax.plot(x[none], np.zeros(none.sum()), "x", color="0.5", ms=6, label="no list (infeasible)")
    ax.set_xlabel(_X_LABELS.get(param, param))
    ax.set_ylabel("probability")
    ax.yaxis.set_major_formatter(PercentFormatter(100))
    ax.set_ylim(-1, 101)
    ax.grid(True, alpha=0.3)
    if title is None:
        title = "P(match) against " + _X_LABELS.get(param, param).split(" (")[0]
    ax.set_title(title + (" (synthetic data)" if synthetic else ""))
    if synthetic:
        ax.text(0.01, 0.02, SYNTHETIC_LABEL, transform=ax.transAxes, fontsize=8, color="0.25",
                bbox={"boxstyle": "round", "fc": "#fff3b0", "ec": "0.6"})
    ax.legend(loc="lower right", fontsize=8)
    return ax


def plot_frontier(df: pd.DataFrame, ax=None, *, title: str | None = None, synthetic: bool = False):
    """Draw the frontier from :func:`allocator.studies.frontier.frontier`: P(match in LA) against
    P(any match), one point per target; returns ``ax``."""
    Figure, PercentFormatter = _matplotlib()
    if ax is None:
        fig = Figure(figsize=(6.5, 4.6), layout="constrained")
        ax = fig.add_subplot()
    ok = df[df["status"].isin(["optimal", "feasible"])]
    ax.plot(100 * ok["p_match"], 100 * ok["p_match_la"], "-o", color="C2", lw=2, ms=5,
            label="best P(match in LA) for each P(any match) target")
    for r in ok.itertuples(index=False):
        ax.annotate(f"{r.n_la:.0f}/{r.n_applications:.0f} LA", (100 * r.p_match, 100 * r.p_match_la),
                    textcoords="offset points", xytext=(4, 4), fontsize=7, color="0.3")
    ax.set_xlabel("P(any match)")
    ax.set_ylabel("P(match in Greater LA)")
    ax.xaxis.set_major_formatter(PercentFormatter(100))
    ax.yaxis.set_major_formatter(PercentFormatter(100))
    ax.grid(True, alpha=0.3)
    ax.set_title((title or "LA chances against overall safety") + (" (synthetic data)" if synthetic else ""))
    if synthetic:
        ax.text(0.01, 0.02, SYNTHETIC_LABEL, transform=ax.transAxes, fontsize=8, color="0.25",
                bbox={"boxstyle": "round", "fc": "#fff3b0", "ec": "0.6"})
    ax.legend(loc="upper right", fontsize=8)
    return ax


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

    atomic_write(path, lambda fh: fig.savefig(fh, format=fmt, dpi=dpi), binary=True, option="--plot")
    return path
