"""The calibration cohort of a model card, and the card's targets evaluated on it.

Shared by ``benchmarks/calibrate.py`` (prints each target, the model's value, PASS/FAIL)
and ``tests/test_calibration.py`` (asserts each target within the card's tolerance).

The cohort (``[calibration.cohort]`` in the card) is a seeded synthetic set of US-IMG
applicants with realistic lists on a demo catalog.  For each applicant the outcomes use
the package's model: program i's latent assessment ``X_i = sqrt(rho) Z + sqrt(1-rho) E_i``
(one-factor Gaussian copula, :mod:`allocator.model.copula`); the program *interviews* when
``X_i < Phi^-1(p_interview_i)`` and *succeeds* (interview and match) when
``X_i < Phi^-1(p_match_i)``.  The thresholds are nested (p_match <= p_interview), so a
success is always an interview, P(success | interview) = p_match_given_interview, and the
success events are exactly the copula of DESIGN.md.

Everything is computed exactly (no simulation), by quadrature over Z on
:func:`allocator.model.copula.make_nodes`:
- P(match) = 1 - sum_k w_k prod_i (1 - p_match_i(z_k));
- interview counts: given z, the number of interviews N is Poisson-binomial in
  p_interview_i(z); P(N = n and no match | z) = prod_i (1 - p_match_i(z)) * PB_n(r_i(z)) with
  r_i = (p_interview_i - p_match_i) / (1 - p_match_i).  Summing over the cohort gives the
  count distributions of matched and unmatched applicants, hence their medians.

Units: probabilities in [0, 1]; ``interview_yield`` is expected interviews per application.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.polynomial.hermite_e import hermegauss
from scipy.special import log_ndtr, ndtri

from allocator.inputs.catalog import Catalog, load_catalog
from allocator.model.copula import LOG_FLOOR, conditional_p, make_nodes
from allocator.paths import DATA_DIR
from allocator.model.card import ModelCard
from allocator.model.probability import ApplicantArrays, eligibility, program_arrays, probabilities

N_MAX = 30  # interview counts above this are pooled (the medians are far below)
COUNT_NODES = 32


@dataclass(frozen=True)
class Cohort:
    """Applicants (arrays of length A) and their lists (A x P boolean matrix)."""

    applicants: ApplicantArrays
    lists: np.ndarray

    def __len__(self) -> int:
        return len(self.applicants)


def cohort_catalog(card: ModelCard) -> Catalog:
    return load_catalog(DATA_DIR / "catalogs" / card.calibration.cohort.catalog)


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
    return Cohort(app, lists)


def _poisson_binomial(p: np.ndarray, n_max: int) -> np.ndarray:
    """pmf of the number of successes of independent Bernoulli(p[j, m]) over j, for each
    column m; counts above ``n_max`` are pooled at ``n_max``.  ``p`` is (L, M); returns
    (n_max + 1, M)."""
    f = np.zeros((n_max + 1, p.shape[1]))
    f[0] = 1.0
    for j in range(p.shape[0]):
        m = min(j + 2, n_max + 1)                 # rows that can be non-zero after step j
        x = p[j]
        d = f[:m - 1].copy()
        if m <= n_max:
            d -= f[1:m]                           # f[n] += x (f[n-1] - f[n])
        else:
            d[:-1] -= f[1:m - 1]                  # the pooled last row only gains
        d *= x
        f[1:m] += d
        f[0] *= 1.0 - x
    return f


@dataclass(frozen=True)
class CohortResult:
    """What the card's targets are checked against (plus a few descriptive numbers)."""

    rho: float
    n_applicants: int
    match_rate: float
    match_rate_all: float
    share_no_interview: float
    match_rate_all_independent: float
    interview_yield: float
    mean_applications: float
    mean_interviews_matched: float
    mean_interviews_unmatched: float
    median_interviews_matched: int
    median_interviews_unmatched: int
    mean_interviews_unmatched_ranked: float

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def _median(pmf: np.ndarray) -> int:
    """Smallest n with P(N <= n) >= 1/2 (N_MAX means "N_MAX or more")."""
    cdf = np.cumsum(pmf) / pmf.sum()
    return int(min(np.searchsorted(cdf, 0.5 - 1e-12), len(pmf) - 1))


def _count_nodes(rho: float, k: int = COUNT_NODES) -> tuple[np.ndarray, np.ndarray]:
    """Gauss-Hermite nodes for E[g(Z)], Z ~ N(0, 1) (interview-count distributions)."""
    if rho <= 0:
        return np.zeros(1), np.ones(1)
    z, w = hermegauss(k)
    return z, w / w.sum()


def _p_none(ps: np.ndarray, rho: float, z: np.ndarray) -> np.ndarray:
    """P(no success | z_k) for each row of ``ps`` (B, L): (B, K).  The same formula as
    :func:`allocator.model.copula.log_fail`, via scipy.special directly (faster)."""
    if rho <= 0:
        return np.exp(np.log1p(-np.minimum(ps, 1 - 1e-15)).sum(axis=1))[:, None] * np.ones(len(z))
    with np.errstate(divide="ignore"):
        thr = ndtri(ps)                                               # -inf where p = 0
    arg = (np.sqrt(rho) * z[None, None, :] - thr[..., None]) / np.sqrt(1 - rho)
    lf = np.maximum(log_ndtr(arg), LOG_FLOOR)                         # ln(1 - p_i(z))
    return np.exp(lf.sum(axis=1))


def evaluate(card: ModelCard, catalog: Catalog | None = None, cohort: Cohort | None = None,
             rho: float | None = None, batch: int = 250) -> CohortResult:
    """Evaluate the card's calibration cohort under the card (and ``rho``, default the
    card's correlation).  P(match) uses :func:`allocator.model.copula.make_nodes` (error
    below 1e-9); the interview-count distributions use COUNT_NODES Gauss-Hermite nodes
    (error below 1e-4 on each probability: ample for integer medians)."""
    catalog = catalog or cohort_catalog(card)
    cohort = cohort or make_cohort(card, catalog)
    rho = card.correlation if rho is None else float(rho)
    prog = program_arrays(catalog, card)
    pi_all, q_all, _ = probabilities(prog, cohort.applicants, card)
    ps_all = pi_all * q_all
    lists = cohort.lists
    n_apps = lists.sum(axis=1)
    nodes = make_nodes(rho, np.concatenate([ps_all[lists], pi_all[lists]]))
    zc, wc = _count_nodes(rho)
    A = len(cohort)
    order = np.argsort(n_apps, kind="stable")     # batches of similar list length: less padding
    p_match = np.empty(A)
    p_match_ind = np.empty(A)
    p_no_interview = np.empty(A)
    pmf_all = np.zeros(N_MAX + 1)
    pmf_unm = np.zeros(N_MAX + 1)
    n_unm = 0.0                                   # E[N * 1{unmatched}] summed over the cohort
    for s in range(0, A, batch):
        rows = order[s:s + batch]
        lmax = int(n_apps[rows].max())
        B = len(rows)
        pi = np.zeros((B, lmax))
        ps = np.zeros((B, lmax))
        for b, a in enumerate(rows):
            idx = np.flatnonzero(lists[a])
            pi[b, :len(idx)] = pi_all[a, idx]
            ps[b, :len(idx)] = ps_all[a, idx]
        p_match_ind[rows] = -np.expm1(np.log1p(-np.minimum(ps, 1 - 1e-15)).sum(axis=1))
        p_match[rows] = 1.0 - _p_none(ps, rho, nodes.z) @ nodes.w
        p_no_interview[rows] = _p_none(pi, rho, nodes.z) @ nodes.w
        # interview counts on the count nodes; arrays (L, Kc * B), column = (node, applicant)
        ci = conditional_p(pi.ravel(), rho, zc).reshape(len(zc), B, lmax).transpose(2, 0, 1).reshape(lmax, -1)
        cs = conditional_p(ps.ravel(), rho, zc).reshape(len(zc), B, lmax).transpose(2, 0, 1).reshape(lmax, -1)
        none = np.exp(np.log1p(-np.minimum(cs, 1 - 1e-15)).sum(axis=0))     # (Kc * B,)
        with np.errstate(invalid="ignore", divide="ignore"):
            r = np.where(cs < 1.0, (ci - cs) / (1.0 - cs), 0.0)
        r = np.clip(r, 0.0, 1.0)
        wcol = np.repeat(wc, B)
        n_unm += float((none * r.sum(axis=0)) @ wcol)
        pmf_all += _poisson_binomial(ci, N_MAX) @ wcol
        pmf_unm += (_poisson_binomial(r, N_MAX) * none) @ wcol
    pmf_mat = np.maximum(pmf_all - pmf_unm, 0.0)
    n_all = float(pi_all[lists].sum())
    mass_unm = float(pmf_unm.sum())
    ranked = A - float(p_no_interview.sum())      # expected number with >= 1 interview
    pmf_unm_ranked = pmf_unm.copy()
    pmf_unm_ranked[0] = 0.0
    return CohortResult(
        rho=rho,
        n_applicants=A,
        match_rate=float(p_match.sum() / ranked),
        match_rate_all=float(p_match.mean()),
        share_no_interview=float(p_no_interview.mean()),
        match_rate_all_independent=float(p_match_ind.mean()),
        interview_yield=float(pi_all[lists].sum() / n_apps.sum()),
        mean_applications=float(n_apps.mean()),
        mean_interviews_matched=(n_all - n_unm) / (A - mass_unm),
        mean_interviews_unmatched=n_unm / mass_unm,
        median_interviews_matched=_median(pmf_mat),
        median_interviews_unmatched=_median(pmf_unm_ranked),
        mean_interviews_unmatched_ranked=(n_unm / (mass_unm - pmf_unm[0])),
    )


def check(card: ModelCard, result: CohortResult) -> pd.DataFrame:
    """One row per calibration target: name, target, tolerance, achieved, passed."""
    values = result.as_dict()
    rows = []
    for name, t in card.calibration.targets.items():
        if name not in values:
            raise KeyError(f"calibration target {name!r} is not computed by allocator.model.calibration; "
                           f"known: {', '.join(sorted(values))}")
        v = float(values[name])
        rows.append({"target_name": name, "target": t.target, "tolerance": t.tolerance,
                     "achieved": v, "passed": t.passes(v), "card_achieved": t.achieved})
    return pd.DataFrame(rows)
