"""The model-card schema (``models/*.toml``) and its loader.

A card holds every number of the probability model (:mod:`allocator.model.probability`)
with its source or reasoning: the interview and match-given-interview coefficients, the
signal and geographic-preference odds ratios, the defaults for empty catalog columns, the
copula's rho and the calibration cohort with its targets.  Coefficient names ending in
``_odds_ratio`` multiply the odds; every other coefficient is added to the log-odds per
unit of its input (see :mod:`allocator.model.probability`).  Unknown keys are errors.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Optional

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from allocator.errors import InputError
from allocator.inputs.loader import read_toml, validate
from allocator.paths import MODELS_DIR
from allocator.model.timing import Timing


class Param(BaseModel):
    """One number of a card: its value and why (a ``source``, a ``reasoning``, or both).

    ``user_default = true`` marks an uncertain figure ([?]: secondary or uncertain): a default the user
    is expected to change when they know better.
    """

    model_config = ConfigDict(extra="forbid")

    value: float
    source: Optional[str] = None
    reasoning: Optional[str] = None
    user_default: bool = False
    range: Optional[list[float]] = None
    range_reasoning: Optional[str] = None  # why the ensemble (models/README.md) spans this range

    @field_validator("value")
    @classmethod
    def _finite(cls, v: float) -> float:
        if not math.isfinite(v):
            raise ValueError("must be a finite number")
        return v

    @model_validator(mode="after")
    def _explained(self):
        if not (self.source or self.reasoning):
            raise ValueError("every parameter needs a source or a reasoning")
        # the span the plausible models draw from (models/make_ensemble.py); the card's own value may lie
        # outside it: a sensitivity card (the score check's steeper Step 2 slopes) does by design
        if self.range is not None and (len(self.range) != 2 or not self.range[0] <= self.range[1]):
            raise ValueError(f"range {self.range} must be [low, high] with low <= high")
        return self


class OddsRatio(Param):
    @field_validator("value")
    @classmethod
    def _positive(cls, v: float) -> float:
        if not (math.isfinite(v) and v > 0):
            raise ValueError("an odds ratio must be > 0")
        return v


class Share(Param):
    @field_validator("value")
    @classmethod
    def _share(cls, v: float) -> float:
        if not (0 < v < 1):
            raise ValueError("must be strictly between 0 and 1")
        return v


class NonNegative(Param):
    @field_validator("value")
    @classmethod
    def _nonneg(cls, v: float) -> float:
        if not (math.isfinite(v) and v >= 0):
            raise ValueError("must be >= 0")
        return v


class Correlation(Param):
    @field_validator("value")
    @classmethod
    def _rho(cls, v: float) -> float:
        if not (0 <= v <= 0.99):
            raise ValueError("must be between 0 and 0.99")
        return v


class ShareTable(BaseModel):
    """Shares by specialty, with ``other`` for specialties not listed."""

    model_config = ConfigDict(extra="forbid")

    value: dict[str, float]
    other: float = Field(gt=0, lt=1)
    source: Optional[str] = None
    reasoning: Optional[str] = None
    user_default: bool = False

    @field_validator("value")
    @classmethod
    def _shares(cls, v: dict[str, float]) -> dict[str, float]:
        for k, x in v.items():
            if not (0 < x < 1):
                raise ValueError(f"{k!r} = {x}: shares must be strictly between 0 and 1")
        return v

    @model_validator(mode="after")
    def _explained(self):
        if not (self.source or self.reasoning):
            raise ValueError("every parameter needs a source or a reasoning")
        return self

    def get(self, specialty: str) -> float:
        return self.value.get(specialty, self.other)


class InterviewModel(BaseModel):
    """logit P(interview) = intercept + sum of effects (see the module docstring)."""

    model_config = ConfigDict(extra="forbid")

    intercept: Param
    step2_reference: Param
    step2_per_10: NonNegative
    step2_pass_score: Param
    failed_attempt: Param
    usce_none: Param
    usce_per_month: NonNegative
    usce_month_cap: NonNegative
    years_free: NonNegative
    per_year_beyond: Param
    img_share_slope: NonNegative
    img_share_reference: Share
    # the IMG share beyond which the IMG-share effect (both stages) stops growing; absent: IMG_CLIP's
    # upper end, 0.85 (allocator.model.probability.img_cap)
    img_share_cap: Optional[Share] = None
    setting_university: Param
    setting_community: Param
    setting_county: Param
    la_crowding_odds_ratio: OddsRatio
    in_state_odds_ratio: OddsRatio
    la_family_odds_ratio: OddsRatio
    california_usce_odds_ratio: OddsRatio
    california_usce_months_full: NonNegative

    @model_validator(mode="after")
    def _ranks(self):
        if self.usce_month_cap.value <= 0 or self.california_usce_months_full.value <= 0:
            raise ValueError("usce_month_cap and california_usce_months_full must be > 0")
        if self.img_share_cap is not None and not 0.05 < self.img_share_cap.value <= 0.99:
            raise ValueError("img_share_cap must lie above 0.05 (the lowest share the model reads) and at most 0.99")
        return self


class MatchModel(BaseModel):
    """logit P(match | interview) = intercept + effects."""

    model_config = ConfigDict(extra="forbid")

    intercept: Param
    step2_per_10: NonNegative
    img_share_slope: NonNegative
    failed_attempt: Param
    la_ties_odds_ratio: OddsRatio


class SignalModel(BaseModel):
    model_config = ConfigDict(extra="forbid")

    gold_odds_ratio: OddsRatio
    silver_odds_ratio: OddsRatio
    geographic_preference_odds_ratio: OddsRatio


class Defaults(BaseModel):
    """Values used when a catalog leaves a column empty."""

    model_config = ConfigDict(extra="forbid")

    img_share_national: ShareTable
    california_img_share_factor: Share


class Target(BaseModel):
    model_config = ConfigDict(extra="forbid")

    target: float
    tolerance: float = Field(gt=0)
    # the tolerance the target was set with, when the card records a wider ``tolerance``
    # because it misses it (``allocator calibrate`` shows both)
    intended_tolerance: Optional[float] = Field(default=None, gt=0)
    achieved: Optional[float] = None
    source: Optional[str] = None
    reasoning: Optional[str] = None

    @model_validator(mode="after")
    def _explained(self):
        if not (self.source or self.reasoning):
            raise ValueError("every calibration target needs a source or a reasoning")
        return self

    def passes(self, value: float) -> bool:
        return abs(value - self.target) <= self.tolerance

    def passes_intended(self, value: float) -> bool:
        """Within the intended tolerance (the recorded one when none is given)."""
        return abs(value - self.target) <= (self.intended_tolerance or self.tolerance) + 1e-12


class CohortSpec(BaseModel):
    """The synthetic calibration cohort (allocator.model.calibration); every field explained in
    the card's comments."""

    model_config = ConfigDict(extra="forbid")

    size: int = Field(ge=10)
    seed: int
    catalog: str
    reasoning: str
    step2_mean: float
    step2_sd: float = Field(gt=0)
    step2_min: int
    step2_max: int
    failed_attempts_probs: list[float]
    usce_none_share: float = Field(ge=0, le=1)
    usce_months_max: int = Field(ge=1)
    california_usce_share: float = Field(ge=0, le=1)
    la_ties_share: float = Field(ge=0, le=1)
    years_since_graduation: list[float]
    years_since_graduation_probs: list[float]
    applications_mean: float = Field(gt=0)
    applications_sd: float = Field(ge=0)
    applications_min: int = Field(ge=1)
    applications_max: int = Field(ge=1)
    la_share_with_ties: float = Field(ge=0, le=1)
    la_share_without_ties: float = Field(ge=0, le=1)
    california_share: float = Field(ge=0, le=1)
    img_friendliness: float = Field(ge=0)
    # the range the ensemble draws img_friendliness from (models/make_ensemble.py: each drawn card
    # builds its own cohort), with why; without it the ensemble holds the value fixed
    img_friendliness_range: Optional[list[float]] = None
    img_friendliness_range_reasoning: Optional[str] = None
    signals_gold: int = Field(default=0, ge=0)
    signals_silver: int = Field(default=0, ge=0)
    signal_friendliness: float = Field(default=2.0, ge=0)
    preferred_divisions_probs: list[float] = Field(default_factory=lambda: [1.0])

    @model_validator(mode="after")
    def _probs(self):
        for name in ("failed_attempts_probs", "years_since_graduation_probs", "preferred_divisions_probs"):
            v = getattr(self, name)
            if any(x < 0 for x in v) or abs(sum(v) - 1) > 1e-9:
                raise ValueError(f"{name} must be non-negative and sum to 1")
        if len(self.years_since_graduation) != len(self.years_since_graduation_probs):
            raise ValueError("years_since_graduation and years_since_graduation_probs differ in length")
        if self.applications_min > self.applications_max:
            raise ValueError("applications_min exceeds applications_max")
        r = self.img_friendliness_range
        if r is not None:
            if len(r) != 2 or not 0 <= r[0] <= self.img_friendliness <= r[1]:
                raise ValueError(f"img_friendliness_range {r} must be [low, high] with 0 <= low <= "
                                 f"img_friendliness ({self.img_friendliness:g}) <= high")
            if not self.img_friendliness_range_reasoning:
                raise ValueError("img_friendliness_range needs its img_friendliness_range_reasoning")
        return self


class FactorSpec(BaseModel):
    """``[factors]``: the two-stage model's applicant factors (allocator.model.factors)."""

    model_config = ConfigDict(extra="forbid")

    interview_sd: NonNegative
    interview_nodes: NonNegative
    rankable_intercept: Param
    rankable_slope: NonNegative
    unrankable_match_shift: Param

    @model_validator(mode="after")
    def _nodes(self):
        n = self.interview_nodes.value
        if n != int(n) or not 1 <= n <= 40:
            raise ValueError("interview_nodes must be a whole number from 1 to 40")
        if self.unrankable_match_shift.value > 0:
            raise ValueError("unrankable_match_shift must be <= 0")
        return self


class Seasons(BaseModel):
    """``[calibration.seasons]``: the published match rate of each recent season.  The card
    itself is tuned to ``targets.match_rate``; the ensemble's cards take these seasons in turn
    (``models/make_ensemble.py``), so that a season like the worst of them weighs in the range
    as much as any other (and `solve` prints a list's P(match) in such a season)."""

    model_config = ConfigDict(extra="forbid")

    match_rate: dict[str, float]
    source: str
    reasoning: str

    @model_validator(mode="after")
    def _rates(self):
        if not self.match_rate:
            raise ValueError("match_rate needs at least one season")
        for season, r in self.match_rate.items():
            if not 0 < r < 1:
                raise ValueError(f"match_rate.{season} = {r} must lie strictly between 0 and 1")
        return self


class Calibration(BaseModel):
    model_config = ConfigDict(extra="forbid")

    script: str
    cohort: CohortSpec
    targets: dict[str, Target]
    # published figures NOT used to fit or select the card (nor the ensemble's cards): how it
    # fares on them is the honest test of its numbers (`allocator calibrate` prints them apart)
    holdout: dict[str, Target] = Field(default_factory=dict)
    # season-to-season variation of the match rate, which the ensemble's cards take in turn
    seasons: Optional[Seasons] = None
    # what the cohort covers (5th-95th percentiles): "applications", "expected_interviews" -> [lo, hi]
    domain: Optional[dict[str, list[float]]] = None

    @model_validator(mode="after")
    def _seasons_need_a_match_rate(self):
        if self.seasons is not None and "match_rate" not in self.targets:
            raise ValueError("[calibration.seasons] gives match rates by season: it needs the target "
                             "[calibration.targets.match_rate], whose rate the ensemble's cards replace by their season's")
        return self


class ModelCard(BaseModel):
    """A validated model card (``models/*.toml``).  ``correlation`` is the default rho of
    the one-factor copula (a profile's ``[strategy] correlation`` overrides it)."""

    model_config = ConfigDict(extra="forbid")

    name: str
    version: str
    description: str
    applies_to: str
    interview: InterviewModel
    match_given_interview: MatchModel
    signals: SignalModel
    defaults: Defaults
    copula: dict[str, Correlation]
    calibration: Calibration
    factors: Optional[FactorSpec] = None
    ensemble: Optional[str] = None  # file beside the card with the accepted parameter sets
    score_check: Optional[str] = None  # file beside the card with the Step 2 CK score check (models/make_score_check.py)
    cap_check: Optional[str] = None  # file beside the card with the IMG-share cap check (models/make_cap_check.py)
    # overrides [interview.img_share_cap] (the IMG share beyond which the IMG-share effect stops growing).  Not
    # a card key (a TOML may not set it): only the IMG-share cap check's card carries one (ensemble.apply)
    img_share_cap: Optional[float] = Field(default=None, gt=0.05, lt=1.0)
    timing: Optional[Timing] = None  # [timing]: when answers arrive (allocator update)
    path: str = "<card>"

    @field_validator("copula")
    @classmethod
    def _copula(cls, v: dict[str, Correlation]):
        if set(v) != {"rho"}:
            raise ValueError("[copula] must hold exactly one parameter, rho")
        return v

    @property
    def correlation(self) -> float:
        return float(self.copula["rho"].value)


def _card_path(name_or_path: str | Path) -> Path:
    s = str(name_or_path)
    p = Path(s)
    if p.suffix == ".toml" or "/" in s or "\\" in s or p.is_file():
        return p
    return MODELS_DIR / f"{s}.toml"


_CARD_HINTS = {
    "missing": "missing; every parameter needs value and a source or reasoning (see models/README.md)",
    "extra_forbidden": "unknown key; check its spelling against models/default.toml",
}


def card_from_dict(doc: dict, path: str = "<card>") -> ModelCard:
    """Validate a parsed card; :class:`InputError` names the field and what is wrong."""
    return validate(ModelCard, {**doc, "path": path}, path, hints=_CARD_HINTS)


def load_card(name_or_path: str | Path = "default") -> ModelCard:
    """Load and validate a model card: a name in ``models/`` ("default") or a path.

    >>> load_card().correlation                                        # doctest: +SKIP
    0.25
    """
    p = _card_path(name_or_path)
    if not p.is_file():
        known = sorted(x.stem for x in MODELS_DIR.glob("*.toml")) if MODELS_DIR.is_dir() else []
        raise InputError(f"{p}: no such model card; use one of {', '.join(known) or '(none)'} "
                         "or the path to a card TOML")
    return card_from_dict(read_toml(p, what="model card", reserved=("path", "img_share_cap")), str(p))
