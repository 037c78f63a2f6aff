"""The calibration cohort of a model card, and the card's targets evaluated on it.

Shared by ``allocator calibrate``, ``benchmarks/calibrate.py``, the ensemble script
(``models/make_ensemble.py``) and ``tests/test_calibration.py``.

The cohort (``[calibration.cohort]`` in the card) is a seeded synthetic set of US-IMG
Internal Medicine applicants with realistic lists on the synthetic demo catalog; they send
their signals (IM: 3 gold + 12 silver, to IMG-friendly programs on their list) and state a
geographic preference (the divisions where most of their list lies), as applicants do now,
so the targets see the signal and preference effects.

Everything is exact under the two-stage model (:mod:`allocator.model.factors`): given a
node k, interviews are independent with pi_i(k) and, once interviewed, matches with mu_i(k).
Per applicant and node the number of interviews N is Poisson-binomial in pi_i, and
``P(N = n, unmatched | k) = prod_i (1 - pi_i mu_i) * PB_n(r_i)`` with
``r_i = pi_i (1 - mu_i) / (1 - pi_i mu_i)``.  Summing over applicants and nodes gives the
count distributions of matched and unmatched applicants, their quartiles and the
conversion curve P(match | N interviews).  Units: probabilities in [0, 1]; the yield is
expected interviews per application.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from allocator.inputs.catalog import Catalog, load_catalog
from allocator.model.factors import card_nodes
from allocator.model.logistic import expit
from allocator.model.probability import (ApplicantArrays, ModelCard, eligibility, interview_logit, match_logit,
                                         program_arrays)
from allocator.model.cohort import Cohort, cohort_of, make_cohort, spec_key  # noqa: F401  (re-exported)
from allocator.model.counts import poisson_binomial as _pb
from allocator.paths import DATA_DIR

N_MAX = 40  # interview counts above this are pooled
CONVERSION_N = tuple(range(1, 21))


def cohort_catalog(card: ModelCard) -> Catalog:
    return load_catalog(DATA_DIR / "catalogs" / card.calibration.cohort.catalog)


@dataclass
class Prepared:
    """A cohort's lists gathered into (A, L) arrays of log-odds (padding: ``on`` false)."""

    eta: np.ndarray
    zeta: np.ndarray
    on: np.ndarray
    n_apps: np.ndarray
    step2: np.ndarray
    S: np.ndarray
    T: np.ndarray
    w: np.ndarray
    signal_share: float = 0.0  # share of applications that carry a signal


def composition(catalog: Catalog, cohort: Cohort) -> dict[str, tuple[float, float]]:
    """5th-95th percentiles of what the cohort's lists are made of: the share of a list's
    programs at the model's IMG-share cap (``IMG_CLIP``: 85% IMGs or more, where the IMG-share
    effect is largest and stops growing) and the share in Greater LA.  An optimized list can
    sit far beyond both (``allocator.verification.domain.composition_warnings``)."""
    from allocator.model.probability import IMG_CLIP

    lists = cohort.lists
    n = np.maximum(lists.sum(axis=1), 1)
    at_cap = (lists & (catalog.column("img_share") >= IMG_CLIP[1])[None, :]).sum(axis=1) / n
    la = (lists & catalog.column("la_area").astype(bool)[None, :]).sum(axis=1) / n
    return {name: tuple(float(x) for x in np.percentile(v, [5, 95]))
            for name, v in (("share_at_img_cap", at_cap), ("la_share", la))}


def prepare(card: ModelCard, catalog: Catalog, cohort: Cohort) -> Prepared:
    if card.factors is None:
        raise ValueError(f"{card.path}: the calibration needs a card with a [factors] section")
    if cohort.spec_key is not None and cohort.spec_key != spec_key(card):
        raise ValueError(f"{card.path}: the cohort was drawn with other [calibration.cohort] numbers than this "
                         "card's (a drawn img_friendliness?); evaluate a card on its own cohort (cal.cohort_of)")
    prog = program_arrays(catalog, card)
    app = cohort.applicants
    eta_all = interview_logit(prog, app, card)
    ov = ~np.isnan(prog.p_interview)
    if ov.any():
        from allocator.model.logistic import logit

        eta_all[:, ov] = logit(np.clip(prog.p_interview[ov], 1e-9, 1 - 1e-9))[None, :]
    zeta_all = match_logit(prog, app, card)
    sig = card.signals
    lg = np.where(prog.gold_ok, np.log(sig.gold_odds_ratio.value), 0.0)
    eta_all = (eta_all + cohort.gold * lg[None, :] + cohort.silver * np.log(sig.silver_odds_ratio.value)
               + cohort.geo * np.log(sig.geographic_preference_odds_ratio.value))
    lists = cohort.lists
    n_apps = lists.sum(axis=1)
    A, L = len(lists), int(n_apps.max())
    eta = np.zeros((A, L))
    zeta = np.zeros((A, L))
    on = np.zeros((A, L), bool)
    for a in range(A):
        idx = np.flatnonzero(lists[a])
        eta[a, :len(idx)] = eta_all[a, idx]
        zeta[a, :len(idx)] = zeta_all[a, idx]
        on[a, :len(idx)] = True
    nd = card_nodes(card.factors)
    share = float((cohort.gold | cohort.silver).sum() / max(n_apps.sum(), 1))
    return Prepared(eta, zeta, on, n_apps, app.step2.copy(), nd.S, nd.T, nd.w, share)


def _pi_mu(prep: Prepared, d_int: float = 0.0, d_match: float = 0.0, rows=slice(None)):
    pi = expit(prep.eta[rows, :, None] + d_int + prep.S) * prep.on[rows, :, None]  # (B, L, K)
    mu = expit(prep.zeta[rows, :, None] + d_match + prep.T)
    return pi, mu


def pi_nodes(prep: Prepared, d_int: float = 0.0) -> np.ndarray:
    """P(interview | node) of every list entry, (A, L, K) (0 on padding)."""
    return expit(prep.eta[:, :, None] + d_int + prep.S) * prep.on[:, :, None]


def interview_yield(prep: Prepared, d_int: float = 0.0) -> float:
    return float((pi_nodes(prep, d_int).sum(axis=1) @ prep.w).sum() / prep.n_apps.sum())


def match_rate(prep: Prepared, pi: np.ndarray, d_match: float = 0.0) -> float:
    """Match rate among applicants with >= 1 interview, given ``pi`` = pi_nodes(prep, d_int)."""
    mu = expit(prep.zeta[:, :, None] + d_match + prep.T)
    none = np.exp(np.log1p(-pi * mu).sum(axis=1)) @ prep.w
    no_int = np.exp(np.log1p(-pi).sum(axis=1)) @ prep.w
    return float((1 - none).sum() / (len(none) - no_int.sum()))


@dataclass(frozen=True)
class CohortResult:
    """What the card's targets are checked against, plus descriptive numbers."""

    n_applicants: int
    match_rate: float
    match_rate_all: float
    share_no_interview: float
    interview_yield: float
    mean_applications: float
    mean_interviews_matched: float
    mean_interviews_unmatched_ranked: float
    interviews_matched: tuple[int, int, int]       # Q1, median, Q3
    interviews_unmatched: tuple[int, int, int]     # among applicants with >= 1 interview
    conversion: dict[int, float]                   # N -> P(match | N interviews)
    step2_median: dict[str, float]
    step2_median_interpolated: dict[str, float]    # the same, read continuously (_grouped_median)
    signal_share: float
    applications_range: tuple[int, int]            # 5th-95th percentile of list lengths
    interviews_range: tuple[float, float]          # 5th-95th percentile of expected interviews
    yield_range: tuple[float, float] = (0.0, 1.0)  # 5th-95th percentile of expected interviews per application
    targets: dict = field(default_factory=dict)    # target name -> model value
    # share of cohort applicants with N = 0..N_MAX interviews who matched / did not (N_MAX pooled)
    pmf_matched: tuple = ()
    pmf_unmatched: tuple = ()

    def value(self, name: str) -> float:
        return float(self.targets[name])


def _quantile(pmf: np.ndarray, q: float) -> int:
    c = np.cumsum(pmf) / pmf.sum()
    return int(min(np.searchsorted(c, q - 1e-12), len(pmf) - 1))


def _grouped_median(x: np.ndarray, w: np.ndarray) -> float:
    """The weighted median of whole-point scores ``x``, read continuously: each score stands for
    the interval [x - 0.5, x + 0.5), and the median is interpolated within the one holding half
    the weight (the grouped-data median), so it moves smoothly where :func:`_weighted_median`
    jumps a whole point."""
    u, inv = np.unique(np.round(x), return_inverse=True)
    wu = np.bincount(inv, weights=w)
    c = np.cumsum(wu) / wu.sum()
    i = int(np.searchsorted(c, 0.5))
    below = c[i - 1] if i else 0.0
    return float(u[i] - 0.5 + (0.5 - below) / (wu[i] / wu.sum()))


def _weighted_median(x: np.ndarray, w: np.ndarray) -> float:
    o = np.argsort(x, kind="stable")
    c = np.cumsum(w[o]) / w.sum()
    return float(x[o][np.searchsorted(c, 0.5)])


def evaluate(card: ModelCard, catalog: Catalog | None = None, cohort: Cohort | None = None,
             prep: Prepared | None = None, batch: int = 200) -> CohortResult:
    """Evaluate the card's calibration cohort under the card (exact; no simulation)."""
    if prep is None:
        catalog = catalog or cohort_catalog(card)
        cohort = cohort or make_cohort(card, catalog)
        prep = prepare(card, catalog, cohort)
    A, L = prep.eta.shape
    K = len(prep.w)
    pmf_all = np.zeros(N_MAX + 1)
    pmf_unm = np.zeros(N_MAX + 1)
    p_match = np.empty(A)
    p_noint = np.empty(A)
    e_int = np.empty(A)
    for s in range(0, A, batch):
        rows = slice(s, min(s + batch, A))
        pi, mu = _pi_mu(prep, rows=rows)
        ps = pi * mu
        none = np.exp(np.log1p(-ps).sum(axis=1))                   # (B, K)
        p_match[rows] = 1 - none @ prep.w
        p_noint[rows] = np.exp(np.log1p(-pi).sum(axis=1)) @ prep.w
        e_int[rows] = pi.sum(axis=1) @ prep.w
        B = pi.shape[0]
        ci = pi.transpose(1, 0, 2).reshape(L, B * K)
        cs = ps.transpose(1, 0, 2).reshape(L, B * K)
        r = np.where(cs < 1, (ci - cs) / np.where(cs < 1, 1 - cs, 1), 0.0)
        wcol = np.tile(prep.w, B)
        pmf_all += _pb(ci, N_MAX) @ wcol
        pmf_unm += (_pb(r, N_MAX) * none.reshape(-1)) @ wcol
    pmf_m = np.maximum(pmf_all - pmf_unm, 0.0)
    unm_ranked = pmf_unm.copy()
    unm_ranked[0] = 0.0
    ranked = A - p_noint.sum()
    conv = {n: float(1 - pmf_unm[n] / pmf_all[n]) if pmf_all[n] > 0 else float("nan") for n in CONVERSION_N}
    n = np.arange(N_MAX + 1)
    qm = tuple(_quantile(pmf_m, q) for q in (0.25, 0.5, 0.75))
    qu = tuple(_quantile(unm_ranked, q) for q in (0.25, 0.5, 0.75))
    res = dict(
        n_applicants=A,
        match_rate=float(p_match.sum() / ranked),
        match_rate_all=float(p_match.mean()),
        share_no_interview=float(p_noint.mean()),
        interview_yield=float(e_int.sum() / prep.n_apps.sum()),
        mean_applications=float(prep.n_apps.mean()),
        mean_interviews_matched=float((pmf_m * n).sum() / pmf_m.sum()),
        mean_interviews_unmatched_ranked=float((unm_ranked * n).sum() / unm_ranked.sum()),
        interviews_matched=qm, interviews_unmatched=qu, conversion=conv,
        step2_median={"matched": _weighted_median(prep.step2, p_match),
                      "unmatched": _weighted_median(prep.step2, np.maximum(1 - p_noint - p_match, 0))},
        step2_median_interpolated={"matched": _grouped_median(prep.step2, p_match),
                                   "unmatched": _grouped_median(prep.step2, np.maximum(1 - p_noint - p_match, 0))},
        signal_share=prep.signal_share,
        applications_range=(int(np.percentile(prep.n_apps, 5)), int(np.percentile(prep.n_apps, 95))),
        interviews_range=(float(np.percentile(e_int, 5)), float(np.percentile(e_int, 95))),
        yield_range=tuple(float(x) for x in np.percentile(e_int / prep.n_apps, [5, 95])),
    )
    t = {"match_rate": res["match_rate"], "interview_yield": res["interview_yield"]}
    for q, a, b in zip(("q1", "median", "q3"), qm, qu):
        t[f"interviews_matched_{q}"] = a
        t[f"interviews_unmatched_{q}"] = b
    for k in (1, 3, 5, 10):
        t[f"conversion_{k}"] = conv[k]
    t["step2_median_gap"] = res["step2_median"]["matched"] - res["step2_median"]["unmatched"]  # a held-out figure
    return CohortResult(**res, targets=t, pmf_matched=tuple(pmf_m / A), pmf_unmatched=tuple(pmf_unm / A))


def check(card: ModelCard, result: CohortResult, held_out: bool = False) -> pd.DataFrame:
    """One row per calibration target (``held_out``: per held-out figure, ``[calibration.holdout]``):
    name, target, tolerance, intended tolerance, achieved, passed (within the recorded
    tolerance), passed_intended (within the intended one)."""
    rows = []
    for name, t in (card.calibration.holdout if held_out else card.calibration.targets).items():
        if name not in result.targets:
            raise KeyError(f"calibration target {name!r} is not computed by allocator.model.calibration; "
                           f"known: {', '.join(sorted(result.targets))}")
        v = result.value(name)
        rows.append({"target_name": name, "target": t.target, "tolerance": t.tolerance,
                     "intended_tolerance": t.intended_tolerance or t.tolerance, "achieved": v,
                     "passed": t.passes(v), "passed_intended": t.passes_intended(v), "card_achieved": t.achieved})
    return pd.DataFrame(rows)


__all__ = ["Cohort", "CohortResult", "Prepared", "check", "cohort_catalog", "cohort_of", "evaluate", "make_cohort",
           "prepare", "ApplicantArrays", "eligibility"]
