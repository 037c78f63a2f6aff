"""Draw the ensemble of plausible cards for a model card and keep those that pass every
calibration target.

    python models/make_ensemble.py                          # models/default.toml -> models/default_ensemble.json
    python models/make_ensemble.py --draws 160 --seed 13    # the command that made the shipped default_ensemble.json

The shipped ``models/default_ensemble.json`` was made with ``--draws 160 --seed 13`` (the
first 30 accepted sets shipped); that command rebuilds it byte for byte.  The default
``--draws 400`` draws more sets (slower) and gives a different file.

Seasons: the card's ``[calibration.seasons]`` lists the published match rate of recent
seasons.  The draws take them in turn (the next accepted set's season is the next one in the
list), so each season holds an equal share of the accepted sets: a season whose draws are
rarely accepted simply takes more draws.

Every judged parameter of the card (each one with a ``range``, and the synthetic cohort's
``img_friendliness``, with its ``img_friendliness_range``) is drawn across its range
(uniformly; odds ratios log-uniformly; a silver signal never above a gold one); each draw
builds its own synthetic cohort with its img_friendliness (about 0.6 s); the interview
and match intercepts are then re-tuned so that the interview yield sits at 0.081
(allocator.model.ensemble.YIELD_AIM) and the match rate on its season's
(allocator.model.ensemble.retune), and the card is kept when every target of
``[calibration.targets]`` (the match rate: its season's) passes on the draw's synthetic cohort.  The first
``--keep`` accepted sets (30: each shipped card adds its nodes to the optimizer's objective),
the acceptance rate over all draws, the seed and the ranges are written as JSON beside the card (the
card's ``ensemble`` key names the file).  Seeded: the same card and seed give the same file.
Takes about 1-2 s per draw.  The demo catalog and the cohort are synthetic.
"""
from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from allocator.model import calibration as cal  # noqa: E402
from allocator.model import ensemble as ens  # noqa: E402
from allocator.model.probability import load_card  # noqa: E402


def draw(rng: np.random.Generator, ranges: dict[str, tuple[float, float]]) -> dict[str, float]:
    while True:
        out = {}
        for k, (lo, hi) in ranges.items():
            if k.endswith("_odds_ratio") and lo > 0:
                out[k] = float(math.exp(rng.uniform(math.log(lo), math.log(hi))))
            else:
                out[k] = float(rng.uniform(lo, hi))
        g, s = out.get("signals.gold_odds_ratio"), out.get("signals.silver_odds_ratio")
        if g is None or s is None or s <= g:
            return {k: round(v, 4) for k, v in out.items()}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--card", default="default")
    ap.add_argument("--draws", type=int, default=400)
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--out", default=None, help="default: the card's `ensemble` file")
    ap.add_argument("--keep", type=int, default=30, help="ship the first KEEP accepted sets (draw order): each "
                    "shipped card adds 6 nodes to the optimizer's objective")
    args = ap.parse_args(argv)
    card = load_card(args.card)
    doc = ens.card_doc(card)
    ranges = {k: v for k, v in ens.judged(doc).items() if k not in ens.INTERCEPTS}
    catalog = cal.cohort_catalog(card)
    cohorts: dict = {}  # one synthetic cohort per drawn set of cohort numbers (img_friendliness)
    rng = np.random.default_rng(args.seed)
    seasons = list(ens.seasons(doc)) or [None]
    accepted, t0 = [], time.perf_counter()
    fails: dict[str, int] = {}
    for j in range(args.draws):
        season = seasons[len(accepted) % len(seasons)]
        params = draw(rng, ranges)
        if len(cohorts) >= 4:  # a drawn img_friendliness rarely repeats: keep memory bounded (~4 MB a cohort)
            cohorts.clear()
        cohort = cal.cohort_of(ens.apply(doc, params, str(card.path)), catalog, cohorts)  # the draw's own cohort
        out = ens.retune(doc, params, catalog, cohort, season=season)
        if out is None:
            fails["intercepts"] = fails.get("intercepts", 0) + 1
            continue
        c, full = out
        res = cal.evaluate(c, prep=cal.prepare(c, catalog, cohort))
        table = cal.check(c, res)
        if bool(table["passed"].all()):
            accepted.append({"draw": j, **({} if season is None else {"season": season}), "params": full,
                             "targets": {r.target_name: round(float(r.achieved), 4) for r in table.itertuples()}})
        else:
            for r in table[~table["passed"]].itertuples():
                key = r.target_name if season is None else f"{r.target_name} ({season})"
                fails[key] = fails.get(key, 0) + 1
        if (j + 1) % 20 == 0:
            print(f"{j + 1} draws, {len(accepted)} accepted, {time.perf_counter() - t0:.0f} s; failures {fails}", flush=True)
    rate = len(accepted) / args.draws
    path = Path(args.out) if args.out else (ens.ensemble_path(card) or Path(card.path).with_name(f"{card.name}_ensemble.json"))
    data = {"card": card.name, "card_version": card.version, "script": "models/make_ensemble.py",
            "seed": args.seed, "draws": args.draws, "accepted_count": len(accepted), "acceptance_rate": rate,
            "accepted_total": len(accepted), "shipped": min(args.keep, len(accepted)),
            "yield_aim": ens.YIELD_AIM, "seasons": ens.seasons(doc), "ranges": {k: list(v) for k, v in ranges.items()},
            "failures_by_target": fails, "synthetic": "cohort and catalog are SYNTHETIC",
            "accepted": accepted[:args.keep]}
    path.write_text(json.dumps(data, indent=1) + "\n")
    print(f"{len(accepted)} of {args.draws} draws accepted ({rate:.1%}); failures by target: {fails}; wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
