"""The held-out figures ([calibration.holdout] of a card) under the central card and under every
card of its ensemble: the published figures the model was not fitted to or selected by.

    python benchmarks/holdout.py                      # the default card
    python benchmarks/holdout.py --card models/my_card.toml

For each held-out figure it prints the published value and tolerance, the central card's value,
and the ensemble cards' minimum, median and maximum, with how many cards fall within the
tolerance.  Each card is evaluated exactly on its own synthetic calibration cohort (built
with the card's drawn img_friendliness; one per distinct value), as `allocator calibrate`
evaluates the central one (about 30 s for 30 cards on 2 cores, most of it drawing cohorts).
Asserts nothing (tests/test_calibration.py checks the central card's values).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from allocator.model import calibration as cal  # noqa: E402
from allocator.model.ensemble import load_ensemble  # noqa: E402
from allocator.model.probability import load_card  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--card", default="default")
    args = ap.parse_args(argv)
    card = load_card(args.card)
    catalog = cal.cohort_catalog(card)
    cohorts: dict = {}  # one synthetic cohort per distinct set of cohort numbers
    central = cal.evaluate(card, catalog, cal.cohort_of(card, catalog, cohorts))
    cards = load_ensemble(card) or []
    per_card = [cal.evaluate(c, catalog, cal.cohort_of(c, catalog, cohorts)) for c in cards]
    print(f"card {card.name} {card.version}; SYNTHETIC calibration cohort of {central.n_applicants} applicants; "
          f"{len(cards)} ensemble cards")
    for name, t in card.calibration.holdout.items():
        v = central.value(name)
        line = f"{name}: published {t.target:g} +- {t.tolerance:g}; central card {v:.3f} " \
               f"({'within' if t.passes(v) else 'MISSED'})"
        if per_card:
            vals = np.array([r.value(name) for r in per_card])
            inside = sum(t.passes(x) for x in vals)
            line += (f"; ensemble min {vals.min():.3f}, median {np.median(vals):.3f}, max {vals.max():.3f}, "
                     f"{inside} of {len(vals)} cards within")
        print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
