"""The synthetic calibration cohort of a model card (``[calibration.cohort]``).

Seeded: the same card, catalog and seed give the same cohort.  Applicants' Step 2 CK,
attempts, US clinical experience, LA ties and years since graduation are drawn from the
card's distributions; each sends a list of realistic length (a share in Greater LA, some
elsewhere in California, the rest national, IMG-friendly programs more likely), then its
signals (``signals_gold`` gold and ``signals_silver`` silver, to programs on the list,
IMG-friendly ones more likely: weight img_share ** signal_friendliness; gold only where the
program accepts gold) and a geographic preference (0-3 Census divisions with the card's
``preferred_divisions_probs``: the divisions where most of the list lies).  The signals and
preference use their own random stream (seed + 1), so the lists are those of a cohort
without signals.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from allocator.inputs.catalog import Catalog
from allocator.model.probability import ApplicantArrays, ModelCard, eligibility, program_arrays


@dataclass(frozen=True)
class Cohort:
    """Applicants (arrays of length A), their lists and signals (A x P boolean matrices)."""

    applicants: ApplicantArrays
    lists: np.ndarray
    gold: np.ndarray
    silver: np.ndarray
    geo: np.ndarray  # applied there and the program's division is among the preferred ones
    # the card's [calibration.cohort] it was drawn for (spec_key; a cohort drawn for one card is
    # no card's with other cohort numbers, e.g. a drawn img_friendliness); None: unknown
    spec_key: str | None = None

    def __len__(self) -> int:
        return len(self.applicants)


def spec_key(card: ModelCard) -> str:
    """The card's cohort numbers that make its cohort (size and seed included), as a key."""
    return card.calibration.cohort.model_dump_json(exclude={"reasoning",
                                                            "img_friendliness_range",
                                                            "img_friendliness_range_reasoning"})


def cohort_of(card: ModelCard, catalog: Catalog, cache: dict | None = None) -> Cohort:
    """The card's own calibration cohort; ``cache`` (a dict, for one catalog) keeps one per
    distinct set of cohort numbers (about 0.6 s each to draw): the central card's is drawn once
    for all its uses; each ensemble card draws its own img_friendliness, so has its own."""
    if cache is None:
        return make_cohort(card, catalog)
    key = spec_key(card)
    if key not in cache:
        cache[key] = make_cohort(card, catalog)
    return cache[key]


def make_cohort(card: ModelCard, catalog: Catalog, size: int | None = None,
                seed: int | None = None) -> Cohort:
    """Draw the card's calibration cohort (seeded; same card, catalog and seed give the same
    cohort)."""
    spec = card.calibration.cohort
    n = spec.size if size is None else size
    rng = np.random.default_rng(spec.seed if seed is None else seed)
    step2 = np.clip(np.round(rng.normal(spec.step2_mean, spec.step2_sd, n)), spec.step2_min, spec.step2_max)
    attempts = rng.choice(len(spec.failed_attempts_probs), size=n, p=spec.failed_attempts_probs).astype(float)
    usce = np.where(rng.random(n) < spec.usce_none_share, 0.0,
                    rng.integers(1, spec.usce_months_max + 1, n).astype(float))
    has_ca = (rng.random(n) < spec.california_usce_share) & (usce > 0)
    usce_ca = np.where(has_ca, np.ceil(rng.random(n) * usce), 0.0)
    la_ties = rng.random(n) < spec.la_ties_share
    years = rng.choice(np.asarray(spec.years_since_graduation, float), size=n,
                       p=spec.years_since_graduation_probs)
    app = ApplicantArrays(step2=step2, step2_is_pass=np.zeros(n, bool), attempts=attempts, usce=usce,
                          usce_ca=usce_ca, la_ties=la_ties, years=years)

    prog = program_arrays(catalog, card)
    df = catalog.df
    img = pd.to_numeric(df["img_share"], errors="coerce").fillna(0.3).to_numpy()
    weight = np.maximum(img, 0.01) ** spec.img_friendliness
    la = prog.la
    ca_other = prog.ca & ~la
    national = ~prog.ca
    low, att, yrs = eligibility(prog, app)
    eligible = ~(low | att | yrs)
    n_apps = np.clip(np.round(rng.normal(spec.applications_mean, spec.applications_sd, n)),
                     spec.applications_min, spec.applications_max).astype(int)
    lists = np.zeros((n, len(prog)), bool)
    for a in range(n):
        la_share = spec.la_share_with_ties if la_ties[a] else spec.la_share_without_ties
        k_la = int(round(la_share * n_apps[a]))
        k_ca = int(round(spec.california_share * n_apps[a]))
        k_nat = n_apps[a] - k_la - k_ca
        for mask, k in ((la, k_la), (ca_other, k_ca), (national, k_nat)):
            idx = np.flatnonzero(mask & eligible[a])
            k = min(k, len(idx))
            if k <= 0:
                continue
            p = weight[idx] / weight[idx].sum()
            lists[a, rng.choice(idx, size=k, replace=False, p=p)] = True
    gold, silver, geo = _signals(spec, catalog, prog, lists, spec.seed + 1 if seed is None else seed + 1)
    return Cohort(app, lists, gold, silver, geo, spec_key(card))


def _signals(spec, catalog: Catalog, prog, lists: np.ndarray, seed: int):
    rng = np.random.default_rng(seed)
    A, P = lists.shape
    img = pd.to_numeric(catalog.df["img_share"], errors="coerce").fillna(0.3).to_numpy()
    wt = np.maximum(img, 0.02) ** spec.signal_friendliness
    div = np.array([str(x) for x in catalog.df["division"]], dtype=object)
    gold = np.zeros((A, P), bool)
    silver = np.zeros((A, P), bool)
    geo = np.zeros((A, P), bool)
    probs = np.asarray(spec.preferred_divisions_probs, float)
    for a in range(A):
        idx = np.flatnonzero(lists[a])
        ok = idx[prog.gold_ok[idx]]
        if spec.signals_gold and len(ok):
            g = rng.choice(ok, size=min(spec.signals_gold, len(ok)), replace=False, p=wt[ok] / wt[ok].sum())
            gold[a, g] = True
        rest = idx[~gold[a, idx]]
        if spec.signals_silver and len(rest):
            s = rng.choice(rest, size=min(spec.signals_silver, len(rest)), replace=False, p=wt[rest] / wt[rest].sum())
            silver[a, s] = True
        k = int(rng.choice(len(probs), p=probs))
        if k:
            d, c = np.unique(div[idx].astype(str), return_counts=True)
            top = d[np.argsort(-c, kind="stable")[:k]]
            geo[a] = np.isin(div, top) & lists[a]
    return gold, silver, geo
