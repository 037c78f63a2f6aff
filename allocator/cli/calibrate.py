"""`allocator calibrate`: a model card's calibration targets on its synthetic cohort."""
from __future__ import annotations

from typing import Optional

import typer

from allocator.errors import InputError
from allocator.cli.common import JsonOpt, _emit, app


def payload(card_name: str) -> dict:
    from allocator.model import calibration as cal
    from allocator.model.probability import load_card

    card = load_card(card_name)
    if card.factors is None:
        raise InputError(f"{card.path}: no [factors] section; `allocator calibrate` evaluates the two-stage "
                         "model (see models/README.md)")
    catalog = cal.cohort_catalog(card)
    cohort = cal.cohort_of(card, catalog)
    res = cal.evaluate(card, catalog, cohort)
    mix = cal.composition(catalog, cohort)
    table = cal.check(card, res)
    spec = card.calibration.cohort
    return {
        "card": card.name, "version": card.version, "path": str(card.path),
        "cohort": {"size": res.n_applicants, "seed": spec.seed, "catalog": spec.catalog, "synthetic": True,
                   "mean_applications": res.mean_applications, "signal_share": res.signal_share},
        "targets": [{"name": r.target_name, "target": r.target, "tolerance": r.tolerance, "model": r.achieved,
                     "passed": bool(r.passed), "intended_tolerance": r.intended_tolerance,
                     "passed_intended": bool(r.passed_intended)} for r in table.itertuples()],
        "held_out": [{"name": r.target_name, "target": r.target, "tolerance": r.tolerance, "model": r.achieved,
                      "passed": bool(r.passed)} for r in cal.check(card, res, held_out=True).itertuples()],
        "passed": bool(table["passed"].all()),
        "missed_intended": [r.target_name for r in table.itertuples() if not r.passed_intended],
        "conversion": [{"interviews": n, "p_match": p} for n, p in res.conversion.items()],
        "interviews_quartiles": {"matched": list(res.interviews_matched),
                                 "unmatched": list(res.interviews_unmatched)},
        "step2_median": res.step2_median,
        "descriptive": {"match_rate_all": res.match_rate_all, "share_no_interview": res.share_no_interview,
                        "mean_interviews_matched": res.mean_interviews_matched,
                        "mean_interviews_unmatched_ranked": res.mean_interviews_unmatched_ranked},
        "domain": {"applications": list(res.applications_range),
                   "expected_interviews": [round(x, 1) for x in res.interviews_range],
                   "interviews_per_application": [round(x, 3) for x in res.yield_range],
                   **{k: [round(x, 2) for x in v] for k, v in mix.items()}},
        "seasons": dict(card.calibration.seasons.match_rate) if card.calibration.seasons else None,
    }


@app.command()
def calibrate(
    card: Optional[str] = typer.Option("default", "--card", help="model card: a name in models/ or a path"),
    as_json: bool = JsonOpt,
) -> int:
    """Each calibration target of a model card: the model's value, tolerance and PASS/MISS/FAIL."""
    d = payload(card or "default")

    def render(c):
        from rich import box
        from rich.table import Table

        c.print(f"card {d['path']} (version {d['version']}); SYNTHETIC cohort of {d['cohort']['size']} US-IMG "
                f"applicants on {d['cohort']['catalog']}, seed {d['cohort']['seed']}, "
                f"{d['cohort']['mean_applications']:.1f} applications each, "
                f"{100 * d['cohort']['signal_share']:.0f}% of the applications carrying a signal")
        t = Table(box=box.SIMPLE_HEAD)
        for h in ("target", "published", "tolerance", "model", "result"):
            t.add_column(h, justify="left" if h == "target" else "right")
        for r in d["targets"]:
            res = "PASS" if r["passed"] else "[bold red]FAIL[/]"
            if r["passed"] and not r["passed_intended"]:  # the miss leads: PASS would read as a fit
                res = f"[bold]MISS ±{r['intended_tolerance']:g}[/] (within widened ±{r['tolerance']:g})"
            t.add_row(r["name"], f"{r['target']:g}", f"{r['tolerance']:g}", f"{r['model']:.3f}", res)
        c.print(t)
        if d["missed_intended"]:
            c.print(f"{len(d['missed_intended'])} targets MISS the tolerance they were set with and fall only within "
                    "a widened one (models/README.md, \"Where the published figures disagree\"); the exit status "
                    "counts them as passed (a FAIL exits with status 2)")
        c.print("The intercepts are solved for the match rate and for an interview yield of 0.081 (inside the "
                "published figure's tolerance); the other targets selected the plausible models, so passing them is "
                "no independent test.")
        if d["seasons"]:
            rates = ", ".join(f"{k} {100 * v:.1f}%" for k, v in d["seasons"].items())
            own = next(r["target"] for r in d["targets"] if r["name"] == "match_rate")
            c.print(f"Seasons: this card's match rate is {100 * own:.1f}%; the plausible "
                    f"models take the published seasons in turn ({rates}), each as likely to recur.")
        if d["held_out"]:
            h = Table(box=box.SIMPLE_HEAD, title="held out: published figures no model was fitted to or selected by "
                      "(the Step 2 gap did inform one parameter's judged range: models/README.md)")
            for col in ("figure", "published", "tolerance", "model", "result"):
                h.add_column(col, justify="left" if col == "figure" else "right")
            for r in d["held_out"]:
                h.add_row(r["name"], f"{r['target']:g}", f"{r['tolerance']:g}", f"{r['model']:.3f}",
                          "within tolerance" if r["passed"] else "[bold red]MISSED[/]")
            c.print(h)
        conv = " ".join(f"{x['interviews']}:{100 * x['p_match']:.0f}%" for x in d["conversion"])
        c.print(f"P(match | N interviews): {conv}")
        q = d["interviews_quartiles"]
        c.print(f"interviews Q1/median/Q3: matched {'/'.join(map(str, q['matched']))}, "
                f"unmatched (>= 1 interview) {'/'.join(map(str, q['unmatched']))}")
        c.print(f"Step 2 CK median: matched {d['step2_median']['matched']:g}, "
                f"unmatched {d['step2_median']['unmatched']:g}")
        c.print(f"calibrated domain (5th-95th percentile): {d['domain']['applications'][0]}-"
                f"{d['domain']['applications'][1]} applications, {d['domain']['expected_interviews'][0]}-"
                f"{d['domain']['expected_interviews'][1]} expected interviews, "
                f"{'-'.join(map(str, d['domain']['interviews_per_application']))} per application; "
                f"a list's share at the IMG-share cap {'-'.join(map(str, d['domain']['share_at_img_cap']))}, "
                f"in Greater LA {'-'.join(map(str, d['domain']['la_share']))}")

    _emit(d, as_json, None, render)
    failed = fail_line(d)
    if failed:  # the card is the bad input: a gate for whoever refreshes it
        raise InputError(failed)
    return 0


def fail_line(d: dict) -> str:
    """One line naming the card file and each target it FAILs ("" when none fails); a MISS within
    the widened tolerance passes."""
    bad = [f"[calibration.targets.{r['name']}]: the model gives {r['model']:.3f} against {r['target']:g} "
           f"± {r['tolerance']:g}" for r in d["targets"] if not r["passed"]]
    if not bad:
        return ""
    return f"{d['path']}: {'; '.join(bad)}; re-fit the card or fix the target"
