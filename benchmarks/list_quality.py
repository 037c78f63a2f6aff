"""List quality: the optimizer against the heuristic lists advisers hand out.

For each example profile (``data/profiles/*.toml`` with an ``[applicant]`` section) and
several budgets, every method builds a list under the same constraints and the one
evaluator scores it (P(match) under the profile's model, P(match in LA), fees).  Also:
the budget each method needs for 80% and 90%, and the optimizer *at the guide's own fees*
(the budget set to what the guide's list costs), both maximizing P(match) and, as an
LA-first alternative, maximizing P(match in LA) while keeping at least the guide's
P(match).

Prints markdown and the headline numbers; writes ``benchmarks/results/list_quality.md``
and ``list_quality.png``.  Asserts nothing.

    python benchmarks/list_quality.py [--profiles A.toml B.toml] [--budgets 500,1000,...]
"""
from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from allocator import optimize
from allocator.inputs.ranges import parse_range
from allocator.studies.bench import (OPTIMIZER, bench, budget_to_reach, default_profiles, markdown,
                                     problems, with_budget)
from allocator.optim.evaluate import evaluate
from allocator.optim.feasibility import violations
from allocator.studies.heuristics import BUILDERS, GUIDE_METHODS, GUIDE_RULES
from allocator.output.report import SYNTHETIC_NOTE

RESULTS = Path(__file__).resolve().parent / "results"
TABLE_BUDGETS = "500,1000,1500,2500,4000"
CURVE_BUDGETS = "250,500,750,1000,1500,2000,2500,3000,4000"
TIME_LIMIT = 60.0  # seconds per optimizer solve; an unproven min-cost is shown as an upper bound
TARGETS = (0.8, 0.9)
# The guide rule that fits each example profile (FACTS.md, "The seed guide's rules"):
# strong = Step 2 about 245, LA USCE and family; moderate = Step 2 pass, an attempt, no LA
# ties; average / below average = LA a small handful; reapplicant after LA-only =
# nationwide, LA a small bonus.  Unknown profiles are compared with the best guide rule.
GUIDE_FOR = {
    "strong_la_ties": "guide_strong",
    "moderate_no_ties": "guide_moderate",
    "typical_us_img": "guide_moderate",
    "reapplicant_la_only": "guide_below_average",
}


def guide_of(profile: str, table: pd.DataFrame) -> str:
    if profile in GUIDE_FOR:
        return GUIDE_FOR[profile]
    sub = table[(table["profile"] == profile) & table["method"].isin(GUIDE_METHODS)]
    return str(sub.groupby("method")["p_match"].mean().idxmax())


def at_guide_fees(probs: dict, table: pd.DataFrame) -> pd.DataFrame:
    """For the profile's guide rule at each budget: the optimizer with the budget set to the
    guide list's fees; (a) max P(match); (b) max P(match in LA) subject to P(match) >= the
    guide's."""
    rows = []
    for name, base in probs.items():
        g_rows = table[(table["profile"] == name) & (table["method"] == guide_of(name, table))]
        for r in g_rows.itertuples():
            if not r.status == "ok":
                continue
            pr = with_budget(base, r.cost)
            a = optimize(pr, "p_match", time_limit=TIME_LIMIT)
            ma = evaluate(pr, a.plan, correlations=())
            assert not violations(pr, a.plan)
            b = optimize(pr, "la_given_target", target=float(r.p_match) - 1e-9, time_limit=TIME_LIMIT)
            mb = evaluate(pr, b.plan, correlations=()) if b.status.has_list and b.plan is not None else None
            if not b.status.has_list:
                print(f"note: optimize(la_given_target) for {name} at ${r.cost:,.0f} returned no list: "
                      f"{b.status.value} ({b.message})", file=sys.stderr)
            if b.status.has_list and b.plan is None:
                print(f"note: optimize(la_given_target) for {name} at ${r.cost:,.0f} returned status "
                      f"{b.status.value} without a list ({b.message})", file=sys.stderr)
            rows.append({"profile": name, "budget": r.budget, "method": r.method, "guide_cost": r.cost,
                         "guide_p": r.p_match, "guide_la": r.p_match_la, "opt_p": ma.p_match, "opt_la": ma.p_match_la,
                         "opt_cost": ma.cost, "la_first_p": mb.p_match if mb else math.nan,
                         "la_first_la": mb.p_match_la if mb else math.nan})
    return pd.DataFrame(rows)


def headline(table: pd.DataFrame, reach: pd.DataFrame, same: pd.DataFrame) -> dict:
    out: dict = {"profiles": {}}
    gains, gains_best, la_gains = [], [], []
    savings: dict[float, list[float]] = {t: [] for t in TARGETS}
    for prof in dict.fromkeys(table["profile"]):
        g = guide_of(prof, table)
        s = same[(same["profile"] == prof) & (same["method"] == g)]
        d = (s["opt_p"] - s["guide_p"]).to_numpy()
        gains.extend(d)
        la = (s["la_first_la"] - s["guide_la"]).to_numpy()
        la_gains.extend(la[~np.isnan(la)])
        # against the best guide rule at each budget (the most generous comparison)
        t = table[table["profile"] == prof]
        for b, tb in t.groupby("budget"):
            best = tb[tb["method"].isin(GUIDE_METHODS)]["p_match"].max()
            gains_best.append(tb[tb["method"] == OPTIMIZER]["p_match"].iloc[0] - best)
        per = {"guide": g, "gain_pp_mean": 100 * float(np.mean(d)) if len(d) else math.nan,
               "gain_pp_max": 100 * float(np.max(d)) if len(d) else math.nan}
        for tgt in TARGETS:
            r = reach[(reach["profile"] == prof) & (reach["target"] == tgt)]
            o = r[r["method"] == OPTIMIZER]["cost"]
            h = r[r["method"] == g]["cost"]
            oc = float(o.iloc[0]) if len(o) else math.nan
            hc = float(h.iloc[0]) if len(h) else math.nan
            per[f"opt_cost_{tgt:g}"], per[f"guide_cost_{tgt:g}"] = oc, hc
            if not math.isnan(oc) and not math.isnan(hc) and hc > 0:
                per[f"saving_{tgt:g}"] = 1 - oc / hc
                savings[tgt].append(1 - oc / hc)
        out["profiles"][prof] = per
    out["gain_pp_mean"] = 100 * float(np.mean(gains)) if gains else math.nan
    out["gain_pp_max"] = 100 * float(np.max(gains)) if gains else math.nan
    out["gain_best_pp_mean"] = 100 * float(np.mean(gains_best)) if gains_best else math.nan
    out["la_gain_pp_mean"] = 100 * float(np.mean(la_gains)) if la_gains else math.nan
    for tgt, v in savings.items():
        out[f"saving_{tgt:g}_mean"] = float(np.mean(v)) if v else math.nan
        out[f"saving_{tgt:g}_n"] = len(v)
    return out


def same_fees_markdown(same: pd.DataFrame, table: pd.DataFrame) -> str:
    lines = ["## The optimizer at the guide's own fees", "",
             "Budget = what the guide's list costs. *max P* maximizes P(match); *LA-first* maximizes "
             "P(match in LA) while keeping at least the guide's P(match).", "",
             "| profile | guide rule | budget | guide fees | guide P (LA) | optimizer max P (LA) | LA-first P (LA) |",
             "|---|---|---:|---:|---:|---:|---:|"]
    for r in same.itertuples():
        lines.append(f"| {r.profile} | {r.method} | ${r.budget:,.0f} | ${r.guide_cost:,.0f} | "
                     f"{100 * r.guide_p:.1f}% ({100 * r.guide_la:.1f}%) | {100 * r.opt_p:.1f}% ({100 * r.opt_la:.1f}%) | "
                     + (f"{100 * r.la_first_p:.1f}% ({100 * r.la_first_la:.1f}%) |" if not math.isnan(r.la_first_p)
                        else f"no list returned ({TIME_LIMIT:.0f} s limit) |"))
    return "\n".join(lines) + "\n"


def headline_text(h: dict) -> str:
    lines = ["## Headline", ""]
    lines.append(f"- At the guide's own fees, the optimizer's list has **{h['gain_pp_mean']:.1f} percentage points** "
                 f"higher P(match) on average than the guide rule for that profile (up to {h['gain_pp_max']:.1f}); "
                 f"against the best of the three guide rules at each budget, {h['gain_best_pp_mean']:.1f} points.")
    if not math.isnan(h["la_gain_pp_mean"]):
        lines.append(f"- Or, keeping the guide's P(match) and fees, the LA-first optimum raises P(match in LA) by "
                     f"{h['la_gain_pp_mean']:.1f} points on average.")
    for t in TARGETS:
        if h[f"saving_{t:g}_n"]:
            lines.append(f"- {t:.0%} P(match) is reached for **{100 * h[f'saving_{t:g}_mean']:.0f}% less** in fees "
                         f"than with the guide rule (mean over the {h[f'saving_{t:g}_n']} profile(s) where both "
                         f"reach {t:.0%}).")
    for prof, per in h["profiles"].items():
        bits = [f"vs {per['guide']}: +{per['gain_pp_mean']:.1f} pp (max +{per['gain_pp_max']:.1f})"]
        for t in TARGETS:
            oc, gc = per[f"opt_cost_{t:g}"], per[f"guide_cost_{t:g}"]
            fo = "not reachable" if math.isnan(oc) else f"${oc:,.0f}"
            fg = "never" if math.isnan(gc) else f"${gc:,.0f}"
            bits.append(f"{t:.0%}: optimizer {fo}, guide {fg}")
        lines.append(f"- {prof}: " + "; ".join(bits))
    return "\n".join(lines) + "\n"


def plot(curve: pd.DataFrame, path: Path, synthetic: bool) -> None:
    """Top row: P(match) by budget per profile; bottom row: points below the optimizer
    (zoomed on the close methods)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    profs = list(dict.fromkeys(curve["profile"]))
    fig, axes = plt.subplots(2, len(profs), figsize=(4.2 * len(profs), 7.2), squeeze=False, sharex=True)
    style = {OPTIMIZER: dict(color="black", lw=2.6, zorder=5)}
    palette = plt.get_cmap("tab10")
    for k, m in enumerate(BUILDERS):
        style[m] = dict(color=palette(k % 10), lw=1.4, ls="--" if m in GUIDE_METHODS else "-")
    for col, prof in enumerate(profs):
        sub = curve[curve["profile"] == prof]
        opt = sub[sub["method"] == OPTIMIZER].set_index("budget")["p_match"]
        top, gap = axes[0, col], axes[1, col]
        worst_close = 0.0
        for m in [OPTIMIZER, *BUILDERS]:
            s = sub[sub["method"] == m].sort_values("budget")
            if not len(s):
                continue
            top.plot(s["budget"], 100 * s["p_match"], label=m, **style[m])
            d = 100 * (opt.reindex(s["budget"]).to_numpy() - s["p_match"].to_numpy())
            gap.plot(s["budget"], d, label=m, **style[m])
            if np.nanmax(d) < 15:
                worst_close = max(worst_close, float(np.nanmax(d)))
        top.set_title(prof)
        top.set_ylim(0, 101)
        top.set_ylabel("P(at least one match), %")
        gap.set_ylim(-0.2, max(1.0, 1.25 * worst_close))
        gap.set_ylabel("points below the optimizer")
        gap.set_xlabel("budget for applications (USD)")
        for ax in (top, gap):
            ax.grid(alpha=0.3)
    axes[0, 0].legend(fontsize=7, loc="lower right")
    title = "List quality: optimizer vs heuristic lists (same budget, counts, LA cap; one evaluator)"
    if synthetic:
        title += "\nSYNTHETIC demo catalog (invented programs at real places)"
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--profiles", nargs="*", type=Path, default=None)
    ap.add_argument("--budgets", default=TABLE_BUDGETS, help="table budgets (LO:HI:STEP or comma list)")
    ap.add_argument("--curve", default=CURVE_BUDGETS, help="chart budgets (LO:HI:STEP or comma list)")
    ap.add_argument("--out-dir", type=Path, default=RESULTS)
    args = ap.parse_args(argv)
    paths = args.profiles or default_profiles()
    if not paths:
        print("no example profiles with [applicant] in data/profiles/", file=sys.stderr)
        return 2
    t0 = time.perf_counter()
    probs = dict(problems(paths))
    table_b, curve_b = (parse_range(t, name=o, lo_min=0, lists=True).tolist()
                        for t, o in ((args.budgets, "--budgets"), (args.curve, "--curve")))
    everything = bench(probs, sorted(set(table_b) | set(curve_b)), time_limit=TIME_LIMIT)
    synthetic = bool(everything.attrs.get("synthetic"))
    table = everything[everything["budget"].isin(table_b)].reset_index(drop=True)
    reach = budget_to_reach(probs, TARGETS, time_limit=TIME_LIMIT)
    same = at_guide_fees(probs, table)
    h = headline(table, reach, same)
    secs = time.perf_counter() - t0

    info = []
    for name, pr in probs.items():
        model = (f"two-stage model, ensemble of {pr.fm.n_cards} cards" if pr.fm is not None
                 else f"one-factor copula, correlation {pr.rho:g}")
        info.append(f"- **{name}**: {pr.n} eligible programs ({int(pr.la.sum())} in Greater LA), {model}, "
                    f"max {pr.max_apps} applications, LA share <= {pr.la_share_max:.0%}, fees {pr.schedule.season}"
                    f"{', signals' if pr.has_signals else ''}{', geographic preference' if pr.has_geo else ''}; "
                    f"probabilities: {pr.source}")
    rules = "\n".join(f"- `guide_{k}`: {r.note}" for k, r in GUIDE_RULES.items())
    md = "\n".join([
        "# List quality: the optimizer against heuristic lists", "",
        f"**{SYNTHETIC_NOTE}**" if synthetic else "", "",
        "Generated by `python benchmarks/list_quality.py` (the same rows: `allocator bench --json`). "
        "Every list meets the same budget, application count, LA cap and must/never lists, and every list is "
        "scored by the one evaluator (`allocator.optim.evaluate`): P(at least one match) under the profile's "
        "model (the two-stage ensemble's average for these profiles), and in parentheses P(match in Greater LA) with LA programs ranked first. The last "
        "columns give the fees of the cheapest list each method builds that reaches 80% / 90% (optimizer: exact "
        f"minimum cost; ≤ marks a minimum not proven within the {TIME_LIMIT:g} s time limit, an upper bound).", "",
        "Profiles:", *info, "",
        "Heuristics (`allocator/studies/heuristics.py`): the seed guide's tier rules pick programs within a tier as an "
        "adviser would without a model (highest IMG share first, then community, county, university), never by "
        "the model's p:", rules,
        "- `la_only`: Greater-LA programs only, plus the fewest non-LA programs the LA cap requires; `top_n`: "
        "highest model p first; `cheapest`: lowest marginal fee first; `prestige`: university programs first, "
        "most selective first; `random`: seeded random order; `greedy`: largest gain in P(match) per marginal "
        "dollar. When signals / geographic preference are modelled, every heuristic also uses them (the guide's "
        "signal rule; the divisions holding most of its list).", "",
        "## P(match) by budget", "",
        markdown(table, reach),
        same_fees_markdown(same, table),
        headline_text(h),
        "![P(match) by budget](list_quality.png)", "",
        f"Run time {secs:.0f} s.", ""])
    args.out_dir.mkdir(parents=True, exist_ok=True)
    (args.out_dir / "list_quality.md").write_text(md)
    plot(everything, args.out_dir / "list_quality.png", synthetic)
    print(md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
