"""Per-program probabilities from an applicant profile, defined by a model card
(the card's schema and loader: :mod:`allocator.model.card`).

Units and conventions
---------------------
- Every probability is in [0, 1]; a program the applicant is not eligible for has
  ``p_interview = p_match = 0`` and a human-readable ``excluded_reason`` ("" when eligible).
- ``p_match = p_interview * p_match_given_interview``: the probability that the program,
  if applied to, *succeeds* (invites the applicant, then ranks them high enough to match).
  Under applicant-proposing deferred acceptance the applicant matches iff at least one
  program on the list succeeds (README, "How it works").
- Effects are additive on the log-odds (logit) scale.  In a card, a coefficient whose
  name ends in ``_odds_ratio`` multiplies the odds (its log is added); every other
  coefficient is added to the log-odds per unit of its input (``step2_per_10`` per 10
  points of Step 2 CK, ``failed_attempt`` per failed attempt, ...).
- IMG share enters as ``slope * (logit(img_share) - logit(reference))`` with the share
  clipped to [0.05, cap] (beyond the cap a program is not treated as ever friendlier;
  unclipped, logit(0.99) gave 99%-IMG programs odds x220).  The cap is the card's
  ``[interview.img_share_cap]`` (0.85 on the central card, IMG_CLIP's upper end when a card has
  none; each plausible model draws its own from 0.50 to 0.85), and the IMG-share cap check's
  card stops it at 65% (:func:`img_cap`).  A missing ``img_share`` is filled from the card's national
  default for the specialty, times the card's California factor for programs in CA.
- A missing ``setting`` contributes 0 (as a community program would).
- Step 2 CK reported as ``"pass"`` (or not reported) counts as the card's
  ``step2_pass_score`` for both the effect and the ``min_step2`` eligibility rule.
- Eligibility (catalog columns ``min_step2``, ``max_attempts``,
  ``max_years_since_graduation``; empty = no rule) is applied even when the catalog gives
  its own ``p_interview``.
- ``p_interview`` in the catalog overrides the model's P(interview) for that row (rows
  where it is empty use the model); P(match | interview) still comes from the model.  A
  catalog giving ``p_match`` for every row does not need this module at all.

Signals and geographic preference
---------------------------------
Both act on the interview odds only (Romanoski et al., JGME 2024 measured interview
offers).  ``p_signal_gold`` / ``p_signal_silver`` are p_match if that program were
signalled; ``p_geo`` is p_match if the applicant's geographic preference includes the
program's Census division; ``p_signal_gold_geo`` / ``p_signal_silver_geo`` are both
together (odds ratios multiply).  Any other combination: :func:`adjust`.  A program whose
catalog row says ``signal_gold_ok = false`` gets no benefit from a gold signal
(``p_signal_gold = p_match``).

>>> from allocator.inputs.catalog import load_catalog                     # doctest: +SKIP
>>> est = estimate(load_catalog("data/catalogs/demo_internal_medicine.csv"),
...                load_profile("data/profiles/typical_us_img.toml").applicant)  # doctest: +SKIP
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Sequence

import numpy as np

from allocator.errors import InputError
from allocator.inputs.catalog import Catalog
from allocator.inputs.profile import EXAMPLES, Applicant
from allocator.model.card import ModelCard, load_card
from allocator.model.logistic import expit, logit

if TYPE_CHECKING:  # annotations only: the model reads a Catalog without pandas
    import pandas as pd

IMG_CLIP = (0.05, 0.85)


def img_cap(card) -> float:
    """The IMG share at which ``card``'s IMG-share effect stops growing: the card's
    ``[interview.img_share_cap]`` (a judged parameter: each card of the ensemble draws its own),
    IMG_CLIP's upper end when the card has none, and the ``img_share_cap`` attribute over both
    (set only on the IMG-share cap check's card, :mod:`allocator.verification.capcheck`)."""
    cap = getattr(card, "img_share_cap", None)
    if cap is not None:
        return float(cap)
    judged = getattr(getattr(card, "interview", None), "img_share_cap", None)
    return IMG_CLIP[1] if judged is None else judged.value

# --------------------------------------------------------------------------- features


@dataclass(frozen=True)
class ProgramArrays:
    """Program-side inputs as numpy arrays (length P), missing values filled per the card."""

    program_id: np.ndarray
    img_x: np.ndarray          # logit(img_share) - logit(reference)
    setting: np.ndarray        # additive interview log-odds of the setting
    la: np.ndarray             # bool
    ca: np.ndarray             # bool: state == CA
    min_step2: np.ndarray      # float, nan = no rule
    max_attempts: np.ndarray
    max_years: np.ndarray
    p_interview: np.ndarray    # catalog override, nan = use the model
    gold_ok: np.ndarray        # bool

    def __len__(self) -> int:
        return len(self.program_id)


@dataclass(frozen=True)
class ApplicantArrays:
    """Applicant-side inputs as numpy arrays (length A)."""

    step2: np.ndarray
    step2_is_pass: np.ndarray
    attempts: np.ndarray
    usce: np.ndarray
    usce_ca: np.ndarray
    la_ties: np.ndarray
    years: np.ndarray

    def __len__(self) -> int:
        return len(self.step2)


@dataclass(frozen=True)
class ProgramColumns:
    """The catalog columns the model reads, as arrays, before any card fills a gap: read once
    per catalog and shared by every card of an ensemble (:func:`program_columns`)."""

    program_id: np.ndarray
    specialty: np.ndarray      # str
    ca: np.ndarray             # bool: state == CA
    img_share: np.ndarray      # float, nan = missing (the card's default fills it)
    setting: np.ndarray        # object: "university", "community", "county" or anything else
    la: np.ndarray
    gold_ok: np.ndarray
    min_step2: np.ndarray
    max_attempts: np.ndarray
    max_years: np.ndarray
    p_interview: np.ndarray


def program_columns(catalog: Catalog) -> ProgramColumns:
    """The catalog's model inputs as arrays (card-free; see :func:`program_arrays`)."""
    c = catalog.column
    return ProgramColumns(
        program_id=c("program_id"), specialty=c("specialty"), ca=c("state") == "CA", img_share=c("img_share"),
        setting=c("setting"), la=c("la_area"), gold_ok=np.array([v is not False for v in c("signal_gold_ok")], bool),
        min_step2=c("min_step2"), max_attempts=c("max_attempts"), max_years=c("max_years_since_graduation"),
        p_interview=c("p_interview"))


def program_arrays(catalog: Catalog, card: ModelCard,
                   columns: ProgramColumns | None = None) -> ProgramArrays:
    """Program-side inputs under ``card`` (its IMG-share defaults and setting effects);
    ``columns``: the catalog's :func:`program_columns`, when already read."""
    cols = program_columns(catalog) if columns is None else columns
    ca, img = cols.ca, cols.img_share
    miss = np.isnan(img)
    if miss.any():
        nat = np.array([card.defaults.img_share_national.get(s) for s in cols.specialty])
        fill = np.where(ca, nat * card.defaults.california_img_share_factor.value, nat)
        img = np.where(miss, fill, img)
    iv = card.interview
    img_x = logit(np.clip(img, IMG_CLIP[0], img_cap(card))) - logit(iv.img_share_reference.value)
    set_eff = {"university": iv.setting_university.value, "community": iv.setting_community.value,
               "county": iv.setting_county.value}
    setting = np.array([set_eff.get(s, 0.0) if isinstance(s, str) else 0.0 for s in cols.setting], float)
    return ProgramArrays(
        program_id=cols.program_id, img_x=img_x, setting=setting, la=cols.la, ca=ca,
        min_step2=cols.min_step2, max_attempts=cols.max_attempts, max_years=cols.max_years,
        p_interview=cols.p_interview, gold_ok=cols.gold_ok,
    )


def applicant_arrays(applicants: Applicant | Sequence[Applicant], card: ModelCard) -> ApplicantArrays:
    apps = [applicants] if isinstance(applicants, Applicant) else list(applicants)
    pass_score = card.interview.step2_pass_score.value
    is_pass = np.array([a.step2_score is None for a in apps], bool)
    return ApplicantArrays(
        step2=np.array([pass_score if a.step2_score is None else a.step2_score for a in apps], float),
        step2_is_pass=is_pass,
        attempts=np.array([a.exam_attempts for a in apps], float),
        usce=np.array([a.usce_months for a in apps], float),
        usce_ca=np.array([a.usce_california_months for a in apps], float),
        la_ties=np.array([a.la_ties for a in apps], bool),
        years=np.array([a.years_since_graduation for a in apps], float),
    )


# --------------------------------------------------------------------------- the model


def interview_logit(prog: ProgramArrays, app: ApplicantArrays, card: ModelCard) -> np.ndarray:
    """Model log-odds of an interview, shape (A, P) (catalog overrides not applied)."""
    iv = card.interview
    c = lambda x: np.asarray(x, float)[:, None]  # noqa: E731  applicant column
    a_part = (iv.intercept.value
              + iv.step2_per_10.value * (app.step2 - iv.step2_reference.value) / 10.0
              + iv.failed_attempt.value * app.attempts
              + iv.usce_none.value * (app.usce <= 0)
              + iv.usce_per_month.value * np.minimum(app.usce, iv.usce_month_cap.value)
              + iv.per_year_beyond.value * np.maximum(0.0, app.years - iv.years_free.value))
    p_part = iv.img_share_slope.value * prog.img_x + prog.setting + math.log(iv.la_crowding_odds_ratio.value) * prog.la
    ca_usce = np.minimum(app.usce_ca / iv.california_usce_months_full.value, 1.0)
    ties = c(app.la_ties)
    inter = (math.log(iv.in_state_odds_ratio.value) * ties * prog.ca
             + math.log(iv.la_family_odds_ratio.value) * ties * prog.la
             + math.log(iv.california_usce_odds_ratio.value) * c(ca_usce) * prog.ca)
    return c(a_part) + p_part[None, :] + inter


def match_logit(prog: ProgramArrays, app: ApplicantArrays, card: ModelCard) -> np.ndarray:
    """Log-odds of P(match | interview), shape (A, P)."""
    m = card.match_given_interview
    a_part = (m.intercept.value
              + m.step2_per_10.value * (app.step2 - card.interview.step2_reference.value) / 10.0
              + m.failed_attempt.value * app.attempts)
    return (a_part[:, None] + m.img_share_slope.value * prog.img_x[None, :]
            + math.log(m.la_ties_odds_ratio.value) * app.la_ties[:, None] * prog.la[None, :])


def eligibility(prog: ProgramArrays, app: ApplicantArrays) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Boolean (A, P) masks: (step2 too low, too many attempts, too long since graduation)."""
    with np.errstate(invalid="ignore"):
        low = app.step2[:, None] < prog.min_step2[None, :]
        att = app.attempts[:, None] > prog.max_attempts[None, :]
        yrs = app.years[:, None] > prog.max_years[None, :]
    return low, att, yrs


def probabilities(prog: ProgramArrays, app: ApplicantArrays, card: ModelCard) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(p_interview, p_match_given_interview, eligible), each (A, P); overrides and
    eligibility applied (ineligible: p_interview = 0)."""
    li = interview_logit(prog, app, card)
    pi = expit(li)
    ov = ~np.isnan(prog.p_interview)
    if ov.any():
        pi[:, ov] = prog.p_interview[ov][None, :]
    q = expit(match_logit(prog, app, card))
    low, att, yrs = eligibility(prog, app)
    elig = ~(low | att | yrs)
    pi = np.where(elig, pi, 0.0)
    return pi, q, elig


def adjust(p_interview, p_match_given_interview, odds_ratio=1.0):
    """p_match after multiplying the interview odds by ``odds_ratio`` (a signal, a
    geographic preference, or their product).  Exact at p = 0 and p = 1.

    >>> float(adjust(0.2, 0.5, 4.0))        # odds 0.25 -> 1.0: P(interview) 0.5
    0.25
    """
    p = np.asarray(p_interview, float)
    r = np.asarray(odds_ratio, float)
    with np.errstate(invalid="ignore", divide="ignore"):
        p2 = np.where(p >= 1.0, 1.0, p * r / (1.0 - p + p * r))
    return p2 * np.asarray(p_match_given_interview, float)


def _reasons(prog: ProgramArrays, app: ApplicantArrays, low, att, yrs) -> list[str]:
    out = [""] * len(prog)
    bad = np.flatnonzero(low[0] | att[0] | yrs[0])
    s2 = app.step2[0]
    s2_txt = (f"Step 2 CK reported as pass (counted as {s2:.0f})" if app.step2_is_pass[0]
              else f"Step 2 CK {s2:.0f}")
    for j in bad:
        r = []
        if low[0, j]:
            r.append(f"{s2_txt} is below the program's minimum {prog.min_step2[j]:.0f}")
        if att[0, j]:
            r.append(f"{app.attempts[0]:.0f} failed attempt(s); the program accepts at most "
                     f"{prog.max_attempts[j]:.0f}")
        if yrs[0, j]:
            r.append(f"{app.years[0]:g} years since graduation; the program accepts at most "
                     f"{prog.max_years[j]:g}")
        out[j] = "; ".join(r)
    return out


COLUMNS = ("program_id", "p_interview", "p_match_given_interview", "p_match", "eligible",
           "excluded_reason", "p_signal_gold", "p_signal_silver", "p_geo", "p_signal_gold_geo",
           "p_signal_silver_geo")


def estimate(catalog: Catalog, applicant: Applicant, card: ModelCard | None = None) -> pd.DataFrame:
    """Per-program probabilities for one applicant: a pandas DataFrame, one row per catalog
    row, same order.

    Columns: ``program_id, p_interview, p_match_given_interview, p_match, eligible,
    excluded_reason, p_signal_gold, p_signal_silver, p_geo, p_signal_gold_geo,
    p_signal_silver_geo`` (see the module docstring).
    """
    import pandas as pd

    return pd.DataFrame(estimate_columns(catalog, applicant, card), columns=list(COLUMNS))


def estimate_columns(catalog: Catalog, applicant: Applicant, card: ModelCard | None = None) -> dict[str, np.ndarray]:
    """:func:`estimate`'s columns as numpy arrays (column name -> array), without pandas."""
    if applicant is None:
        raise InputError(f"the profile has no [applicant] section; add one (examples: {EXAMPLES}) or give "
                         "p_match for every catalog row")
    card = card or load_card()
    columns = program_columns(catalog)
    prog = program_arrays(catalog, card, columns)
    app = applicant_arrays(applicant, card)
    pi, q, elig = probabilities(prog, app, card)
    pi, q, elig = pi[0], q[0], elig[0]
    low, att, yrs = eligibility(prog, app)
    sig = card.signals
    g, s, geo = sig.gold_odds_ratio.value, sig.silver_odds_ratio.value, sig.geographic_preference_odds_ratio.value
    g_eff = np.where(prog.gold_ok, g, 1.0)
    if card.factors is not None:  # the two-stage model: marginals over the card's factor nodes
        from allocator.model.twostage import factor_model

        fm = factor_model(catalog, applicant, [card], columns)
        cols = {v: np.where(elig, fm.marginal(v), 0.0) for v in ("plain", "gold", "silver", "geo", "gold_geo",
                                                                 "silver_geo")}
        p_int = np.where(elig, fm.marginal_interview("plain"), 0.0)
        with np.errstate(invalid="ignore", divide="ignore"):
            q_ = np.where(p_int > 0, cols["plain"] / np.where(p_int > 0, p_int, 1), 0.0)
        return {
            "program_id": prog.program_id, "p_interview": p_int, "p_match_given_interview": q_,
            "p_match": cols["plain"], "eligible": elig, "excluded_reason": _reasons(prog, app, low, att, yrs),
            "p_signal_gold": cols["gold"], "p_signal_silver": cols["silver"], "p_geo": cols["geo"],
            "p_signal_gold_geo": cols["gold_geo"], "p_signal_silver_geo": cols["silver_geo"],
        }
    return {
        "program_id": prog.program_id,
        "p_interview": pi,
        "p_match_given_interview": q,
        "p_match": pi * q,
        "eligible": elig,
        "excluded_reason": _reasons(prog, app, low, att, yrs),
        "p_signal_gold": adjust(pi, q, g_eff),
        "p_signal_silver": adjust(pi, q, s),
        "p_geo": adjust(pi, q, geo),
        "p_signal_gold_geo": adjust(pi, q, g_eff * geo),
        "p_signal_silver_geo": adjust(pi, q, s * geo),
    }
