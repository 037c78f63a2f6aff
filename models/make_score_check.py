"""Make the Step 2 CK score check of a model card: the central card with both Step 2 CK slopes
scaled as steeply as every calibration target allows, up to the published score gap.

    python models/make_score_check.py            # models/default.toml -> models/default_score_check.json

The card's held-out figure ``[calibration.holdout.step2_median_gap]`` (median Step 2 CK of
matched minus unmatched applicants; published 6, tolerance 2) is missed by the central card
(3): the model lets the score move P(match) too little.  This script scales both slopes,
``interview.step2_per_10`` and ``match_given_interview.step2_per_10``, by one factor k,
re-fits the two intercepts at each k with ``allocator.model.ensemble.retune`` (the interview
yield back at 0.081 and the match rate on the card's target, on the card's own synthetic
calibration cohort: ``allocator.model.calibration``), and evaluates the cohort's gap exactly
(``allocator.model.calibration.evaluate``).  The held-out figure is a difference of two
weighted medians of whole-point scores, so it moves in steps of one point (3 up to k = 1.5, 5
from 1.75 to 3.08, 6 from 3.09 on this cohort): a search on it would put k wherever a median
happens to cross a whole point.  So k is found on the same gap read continuously (each median
interpolated within its whole-point interval: ``step2_median_interpolated``): the smallest
factor (to 0.01, by bisection after a scan of ``--grid``) at which that gap reaches the
published target, unless a calibration target fails before it: then the largest factor at
which every target still passes (the steepest score effect, up to the published gap, that
fits everything the model is calibrated to).  The file records both gaps at k.

The result is a SENSITIVITY model, not an accepted card: nothing says the score effect is
this large (the published gap is for non-US IMGs), and the file records honestly which of the
card's calibration targets still pass under it.  ``allocator solve`` and ``simulate`` evaluate a
list under it when the applicant's Step 2 CK is one cohort standard deviation or more below the
cohort's mean (``allocator.verification.scorecheck``).  Written beside the card as the file its
``score_check`` key names.  Deterministic (the cohort is seeded); about 1 s per evaluation,
about 30 s in all.  The demo catalog and the cohort are synthetic.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from allocator.model import calibration as cal  # noqa: E402
from allocator.model import ensemble as ens  # noqa: E402
from allocator.model.probability import load_card  # noqa: E402

SLOPES = ("interview.step2_per_10", "match_given_interview.step2_per_10")
GAP = "step2_median_gap"
GRID = (1.0, 1.25, 1.5, 1.75, 2.0, 2.5, 3.0, 3.5, 4.0, 5.0, 6.0)


class Checker:
    """The card's cohort evaluated with both slopes scaled by k (intercepts re-fitted)."""

    def __init__(self, card):
        self.card, self.doc = card, ens.card_doc(card)
        self.base = {p: float(self.doc[p.split(".")[0]][p.split(".")[1]]["value"]) for p in SLOPES + ens.INTERCEPTS}
        self.catalog = cal.cohort_catalog(card)
        self.cohort = cal.cohort_of(card, self.catalog)
        self.seen: dict[float, dict] = {}

    def at(self, k: float) -> dict:
        """{"k", "params", "gap", "result", "table"} at factor ``k`` (None params: no intercepts fit)."""
        k = round(float(k), 2)
        if k not in self.seen:
            params = {p: round(self.base[p] * k, 4) for p in SLOPES}
            out = ens.retune(self.doc, params, self.catalog, self.cohort, path=str(self.card.path))
            if out is None:
                self.seen[k] = {"k": k, "params": None, "gap": float("nan")}
            else:
                c, full = out
                res = cal.evaluate(c, prep=cal.prepare(c, self.catalog, self.cohort))
                mi = res.step2_median_interpolated
                self.seen[k] = {"k": k, "params": full, "gap": mi["matched"] - mi["unmatched"],
                                "gap_whole": res.value(GAP), "result": res, "table": cal.check(c, res), "card": c}
        return self.seen[k]


def find_k(ch: Checker, target: float, grid=GRID) -> dict:
    """The smallest k (to 0.01) at which the cohort's interpolated gap reaches ``target``: the first grid
    point that reaches it, then bisection down from it to the grid point before."""
    lo = None
    for k in grid:
        if ch.at(k)["gap"] >= target:
            break
        lo = k
    else:
        raise SystemExit(f"the gap never reaches {target:g} up to k = {grid[-1]:g}; extend --grid")
    hi = k
    if lo is None:
        return ch.at(hi)
    while hi - lo > 0.01 + 1e-9:
        mid = round((lo + hi) / 2, 2)
        if mid in (lo, hi):
            break
        if ch.at(mid)["gap"] >= target:
            hi = mid
        else:
            lo = mid
    return ch.at(hi)


def fitting(ch: Checker, k_hi: float, grid=GRID) -> dict:
    """The largest k <= ``k_hi`` (to 0.01) at which every calibration target passes (the card's
    tolerance): ``k_hi`` itself when it passes, else bisection between the last grid point that
    passes and the first that does not."""
    ok = lambda k: ch.at(k)["params"] is not None and bool(ch.at(k)["table"]["passed"].all())  # noqa: E731
    if ok(k_hi):
        return ch.at(k_hi)
    below = [k for k in grid if k < k_hi]
    lo = next((k for k in reversed(below) if ok(k)), None)
    if lo is None:
        raise SystemExit("no k from the grid's start passes every calibration target")
    hi = min(next((k for k in grid if k > lo and not ok(k)), k_hi), k_hi)
    while hi - lo > 0.01 + 1e-9:
        mid = round((lo + hi) / 2, 2)
        if mid in (lo, hi):
            break
        lo, hi = (mid, hi) if ok(mid) else (lo, mid)
    return ch.at(lo)


def targets(table, intended: bool = False) -> dict:
    return {r.target_name: {"target": r.target, "tolerance": r.tolerance, "intended_tolerance": r.intended_tolerance,
                            "achieved": round(float(r.achieved), 4), "passed": bool(r.passed),
                            "passed_intended": bool(r.passed_intended)} for r in table.itertuples()}


def document(ch: Checker, best: dict, gap_target) -> dict:
    card, res = ch.card, best["result"]
    table, held = best["table"], cal.check(best["card"], res, held_out=True)
    scan = [{"k": s["k"], GAP: s.get("gap_whole"), "interpolated_gap": s["gap"], "failed": [] if s["params"] is None else
             list(s["table"].loc[~s["table"]["passed"], "target_name"])} for s in sorted(ch.seen.values(), key=lambda s: s["k"])]
    return {
        "card": card.name, "card_version": card.version, "script": "models/make_score_check.py",
        "synthetic": "cohort and catalog are SYNTHETIC",
        "what": ("a sensitivity model, not an accepted card: the central card with both Step 2 CK slopes scaled by k "
                 "and its two intercepts re-fitted (allocator.model.ensemble.retune: interview yield at the "
                 f"ensemble's aim {ens.YIELD_AIM}, match rate on the card's target), so that the synthetic calibration "
                 "cohort's median Step 2 CK gap between matched and unmatched applicants comes as close to the "
                 "published one as every calibration target allows (rule)"),
        "rule": (f"k: the smallest factor (to 0.01) at which the cohort's {GAP}, read continuously (each median "
                 "interpolated within its whole-point interval), reaches its published target "
                 f"({gap_target.target:g}) (k_reaching_target), unless a calibration target fails before it: then the "
                 "largest factor at which every target still passes; the held-out figure itself moves in whole "
                 "points (scan below)"),
        "held_out_target": {"name": GAP, "target": gap_target.target, "tolerance": gap_target.tolerance,
                            "source": gap_target.source},
        "base": ch.base, "k": best["k"], "params": best["params"],
        "achieved": {GAP: best["gap_whole"], "interpolated_gap": round(best["gap"], 4),
                     "step2_median": res.step2_median,
                     "step2_median_interpolated": {k: round(v, 4) for k, v in res.step2_median_interpolated.items()}},
        "targets": targets(table), "held_out": targets(held),
        "failed": list(table.loc[~table["passed"], "target_name"]),
        "failed_intended": list(table.loc[~table["passed_intended"], "target_name"]),
        "outside_range": {p: list(card_range(ch.doc, p)) for p in SLOPES
                          if not card_range(ch.doc, p)[0] <= best["params"][p] <= card_range(ch.doc, p)[1]},
        "scan": scan,
        "reasoning": {
            "base": "the card's own values of the two slopes and the two intercepts (the file is valid for these)",
            "k": "computed by this script (rule above); no published figure gives it",
            "params": "base slopes x k (rounded to 4 decimals); the intercepts re-fitted at that k by retune",
            "achieved": "the cohort's median Step 2 CK of matched and unmatched applicants under params "
                        "(allocator.model.calibration.evaluate; weighted by P(match) and P(ranked, unmatched))",
            "targets": "the card's [calibration.targets] evaluated on its cohort under params: the model value "
                       "(achieved) and whether it passes the card's tolerance and its intended tolerance; "
                       "failed and failed_intended list those that do not",
            "outside_range": "slopes under params beyond the range the card's ensemble draws them from",
            "scan": "the cohort's gap (and the failed targets) at every k the search evaluated",
        },
    }


def card_range(doc: dict, dotted: str) -> tuple[float, float]:
    sec, name = dotted.split(".")
    lo, hi = doc[sec][name].get("range", [float("-inf"), float("inf")])
    return float(lo), float(hi)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--card", default="default")
    ap.add_argument("--out", default=None, help="default: the card's `score_check` file")
    args = ap.parse_args(argv)
    card = load_card(args.card)
    gap_target = card.calibration.holdout.get(GAP)
    if gap_target is None:
        raise SystemExit(f"{card.path}: no [calibration.holdout.{GAP}]: nothing to check the score effect against")
    ch = Checker(card)
    reach = find_k(ch, gap_target.target)
    best = fitting(ch, reach["k"])
    data = document(ch, best, gap_target) | {"k_reaching_target": reach["k"]}
    name = card.score_check or f"{card.name}_score_check.json"
    path = Path(args.out) if args.out else Path(card.path).parent / name
    path.write_text(json.dumps(data, indent=1) + "\n")
    print(f"k = {data['k']:g}: {GAP} {data['achieved'][GAP]:g}, read continuously "
          f"{data['achieved']['interpolated_gap']:.2f} (target {gap_target.target:g}); params {data['params']}; "
          f"failed targets: {', '.join(data['failed']) or 'none'}; wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
