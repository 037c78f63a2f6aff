"""Make the IMG-share cap check of a model card: the central card with its IMG-share effect
stopping at a lower IMG share, its two intercepts re-fitted to the same calibration targets.

    python models/make_cap_check.py            # models/default.toml -> models/default_cap_check.json

The model's IMG-share effect is clipped at 85% IMGs (``IMG_CLIP`` in
``allocator/model/probability.py``): every card of the ensemble shares that form, and an
optimized list concentrates on the programs at the cap (77% of a typical one, against at most
28% of the calibration cohort's lists).  The calibration targets cannot pin the cap down: with
it lower and the two intercepts re-fitted by ``allocator.model.ensemble.retune`` (the interview
yield back at 0.081 and the match rate on the card's target, on the card's own synthetic
calibration cohort), every target the card passes still passes, down to a cap of 0.50 on the
default card (the scan in the file).  So the cap is a judgement, and this script writes the
list's figure under a lower one as a SENSITIVITY model, not an accepted card.

Rule: the cap is the median IMG share of the programs the calibration cohort applied to (each
application counted once; 0.66 on the default card), to the nearest step of ``--grid`` (0.65),
provided every calibration target the card passes still passes there (otherwise the next higher
grid cap at which they all do), and never below 0.50.  Reasoning: the targets are checked on the
cohort's applications, and the IMG-share effect is seen through how they differ; a cap at their
median leaves the effect as it is across the lower half of them and flat across the upper half
(the half an optimized list draws from), the largest change the targets cannot see that still
leaves the effect working where half the calibrated applications lie.  A cap further down
flattens it across most of what the targets were checked on (0.50: 70% of the applications);
the targets pass there too (scan), so lower caps are not ruled out, only not taken.

The file records the cap, the re-fitted intercepts, every calibration target's status (and
the card's own), the scan of every grid cap, and the card values it is valid for (``base``: a
card with other values refuses the file; ``allocator.verification.capcheck``).  Refuses to write
when a target the card passes fails under the chosen cap.  Deterministic (the cohort is seeded);
about 1 s per cap, under 10 s in all.  The demo catalog and the cohort are synthetic.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from allocator.model import calibration as cal  # noqa: E402
from allocator.model import ensemble as ens  # noqa: E402
from allocator.model.probability import IMG_CLIP, load_card  # noqa: E402
from make_score_check import targets  # noqa: E402  (the same per-target record as the score check's)

#: the card values the file is valid for: the intercepts it re-fits and the IMG-share effect it stops
BASE = ens.INTERCEPTS + ("interview.img_share_slope", "match_given_interview.img_share_slope",
                         "interview.img_share_reference")
GRID = (0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8)
FLOOR = 0.5


def _value(doc: dict, dotted: str) -> float:
    sec, name = dotted.split(".")
    return float(doc[sec][name]["value"])


def scan(card, grid=GRID) -> tuple[dict, list[dict], dict]:
    """(the card's own targets' table, one record per grid cap, cohort facts)."""
    doc = ens.card_doc(card)
    catalog = cal.cohort_catalog(card)
    cohort = cal.cohort_of(card, catalog)
    own = cal.check(card, cal.evaluate(card, prep=cal.prepare(card, catalog, cohort)))
    img = np.asarray(catalog.column("img_share"), float)[np.nonzero(cohort.lists)[1]]
    img = img[~np.isnan(img)]
    rows = []
    for cap in grid:
        out = ens.retune(doc, {}, catalog, cohort, path=str(card.path), img_cap=cap)
        if out is None:
            rows.append({"cap": cap, "params": None})
            continue
        c, params = out
        table = cal.check(c, cal.evaluate(c, prep=cal.prepare(c, catalog, cohort)))
        rows.append({"cap": cap, "params": params, "table": table,
                     "applications_at_or_beyond": round(float(np.mean(img >= cap)), 4),
                     "failed": list(table.loc[~table["passed"], "target_name"]),
                     "failed_intended": list(table.loc[~table["passed_intended"], "target_name"])})
    facts = {"median_img_share_of_applications": round(float(np.median(img)), 4), "applications": int(img.size)}
    return own, rows, facts


def choose(own, rows: list[dict], median: float) -> dict:
    """The grid cap nearest ``median`` (not below FLOOR) at which every target the card passes
    still passes, else the next higher one that does; SystemExit when none does."""
    passes = set(own.loc[own["passed"], "target_name"])
    ok = [r for r in rows if r["params"] is not None and not passes & set(r["failed"]) and r["cap"] >= FLOOR]
    start = min((r["cap"] for r in rows if r["cap"] >= FLOOR), key=lambda c: (abs(c - median), c))
    for r in sorted(ok, key=lambda r: r["cap"]):
        if r["cap"] >= start - 1e-9:
            return r
    raise SystemExit(f"no cap from {start:g} up passes every calibration target the card passes; not written")


def document(card, own, rows, facts, best) -> dict:
    doc = ens.card_doc(card)
    return {
        "card": card.name, "card_version": card.version, "script": "models/make_cap_check.py",
        "synthetic": "cohort and catalog are SYNTHETIC",
        "what": ("a sensitivity model, not an accepted card: the central card with its IMG-share effect stopping at "
                 f"cap (the share is clipped to [{IMG_CLIP[0]:g}, cap] instead of [{IMG_CLIP[0]:g}, {IMG_CLIP[1]:g}]) and "
                 "its two intercepts re-fitted (allocator.model.ensemble.retune: interview yield at the ensemble's aim "
                 f"{ens.YIELD_AIM}, match rate on the card's target); every calibration target the card passes still "
                 "passes (targets), so the targets cannot tell this model from the card's"),
        "rule": ("cap: the median IMG share of the programs the calibration cohort applied to "
                 "(median_img_share_of_applications), to the nearest grid cap, provided every calibration target the "
                 "card passes still passes there (else the next higher grid cap at which they do), never below "
                 f"{FLOOR:g}: the effect left as it is across the lower half of the calibrated applications and flat "
                 "across the upper half; lower caps also pass (scan) and are not ruled out, only not taken"),
        "base": {p: _value(doc, p) for p in BASE}, "shipped_cap": IMG_CLIP[1],
        "cap": best["cap"], "params": best["params"],
        "median_img_share_of_applications": facts["median_img_share_of_applications"],
        "applications_at_or_beyond_cap": best["applications_at_or_beyond"],
        "targets": targets(best["table"]), "card_targets": targets(own),
        "failed": best["failed"], "failed_intended": best["failed_intended"],
        "scan": [{k: r.get(k) for k in ("cap", "params", "applications_at_or_beyond", "failed", "failed_intended")}
                 for r in rows],
        "reasoning": {
            "base": "the card's own values of the two intercepts and the IMG-share effect (the file is valid for these)",
            "cap": "computed by this script (rule above); no published figure gives it: a judgement within 0.50-0.85, "
                   "the range the scan found every target passing across",
            "params": "the two intercepts re-fitted at cap by retune (4 decimals)",
            "median_img_share_of_applications": f"over the cohort's {facts['applications']} applications (synthetic)",
            "applications_at_or_beyond_cap": "the share of the cohort's applications to programs at or beyond cap",
            "targets": "the card's [calibration.targets] evaluated on its cohort under cap and params (achieved) and "
                       "whether each passes the card's tolerance and its intended tolerance; card_targets: the same "
                       "for the card itself; failed and failed_intended list those that do not",
            "scan": "every grid cap evaluated: its re-fitted intercepts and the targets it fails",
        },
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--card", default="default")
    ap.add_argument("--out", default=None, help="default: the card's `cap_check` file")
    args = ap.parse_args(argv)
    card = load_card(args.card)
    own, rows, facts = scan(card)
    best = choose(own, rows, facts["median_img_share_of_applications"])
    data = document(card, own, rows, facts, best)
    name = card.cap_check or f"{card.name}_cap_check.json"
    path = Path(args.out) if args.out else Path(card.path).parent / name
    path.write_text(json.dumps(data, indent=1) + "\n")
    print(f"cap {data['cap']:g} (median IMG share of the cohort's applications "
          f"{data['median_img_share_of_applications']:g}): intercepts {data['params']}; failed targets: "
          f"{', '.join(data['failed']) or 'none'}; caps scanned {', '.join(str(r['cap']) for r in rows)}, "
          f"failing a target at: {', '.join(str(r['cap']) for r in rows if r.get('failed')) or 'none'}; wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
