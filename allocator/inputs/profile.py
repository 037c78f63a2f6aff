"""Load and validate an applicant profile (TOML): ``[applicant]`` and ``[strategy]``.

Units: budget in USD (for everything that depends on the list: ERAS fees plus each
program's ``fee_extra``); shares and probabilities in [0, 1].  Unknown keys are errors (a
typo should not be silently ignored).  Read through :mod:`allocator.inputs.loader`;
see docs/formats.md, "Profile TOML", and the examples in ``data/profiles/`` (messages name
that folder where it is installed: :data:`EXAMPLES`).
"""
from __future__ import annotations

import difflib
import math

from pathlib import Path
from typing import Any, Literal, Optional, Union

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from allocator.errors import InputError
from allocator.inputs.loader import read_toml, validate
from allocator.inputs.specialties import table_name, variant_message
from allocator.paths import DATA_DIR

# where the example profiles are for this installation (a checkout's data/profiles, or the
# wheel's allocator/_data/profiles): a relative "data/profiles/" exists only in a checkout
EXAMPLES = DATA_DIR / "profiles"


def _strict_number(v, info):
    """No booleans and no numeric strings where a number is expected (TOML: budget = 300, not
    budget = "300" or true)."""
    if isinstance(v, bool):
        raise ValueError(f"is a boolean; write a number (e.g. {info.field_name} = 1), not true/false")
    if isinstance(v, str):
        x = _unquoted(v)
        raise ValueError(f"is text; write the number without quotes ({info.field_name} = {x})" if x else
                         "is text; write a number, without quotes")
    if isinstance(v, float) and not math.isfinite(v):
        raise ValueError("must be a finite number")
    if isinstance(v, int) and v.bit_length() > 1000:  # beyond any float (1.8e308): "not a valid number" misleads
        raise ValueError("is far too large; check the number")
    return v


def _unquoted(v: str) -> str | None:
    """The number a quoted value means, as TOML writes it ("$1,200" -> 1200, "30%" -> 0.3), or
    None when it holds none."""
    t = v.strip().replace(",", "").replace("$", "").replace("USD", "").strip()
    scale = 100 if t.endswith("%") else 1
    try:
        x = float(t.removesuffix("%")) / scale
    except ValueError:
        return None
    return f"{x:g}" if math.isfinite(x) and abs(x) < 1e15 else None


class Applicant(BaseModel):
    """The applicant, as the probability model sees them."""

    model_config = ConfigDict(extra="forbid")

    specialties: list[str] = Field(default_factory=lambda: ["Internal Medicine"], min_length=1)
    step2_score: Optional[int] = Field(default=None, ge=180, le=300)
    step2: Optional[Literal["pass"]] = None
    exam_attempts: int = Field(default=0, ge=0, le=10)
    usce_months: float = Field(default=0, ge=0, le=120)
    usce_california_months: float = Field(default=0, ge=0, le=120)
    la_ties: bool = False
    years_since_graduation: float = Field(default=1, ge=0, le=60)
    reapplicant: bool = False  # applied in an earlier season and did not match (the guide's reapplicant)

    _numbers = field_validator("step2_score", "exam_attempts", "usce_months", "usce_california_months",
                               "years_since_graduation", mode="before")(_strict_number)

    @field_validator("specialties", mode="before")
    @classmethod
    def _specialties_list(cls, v):
        if isinstance(v, str):
            raise ValueError(f'is one name, not a list; write specialties = ["{v}"] (brackets around the names)')
        return v

    @field_validator("specialties")
    @classmethod
    def _specialties_once(cls, v: list[str]):
        for name in v:
            canon = table_name(name)
            if canon is not None:
                raise ValueError(f"{name!r}: " + variant_message(canon, f'"{canon}"'))
        return _listed_once(v, "specialty")

    @field_validator("la_ties", "reapplicant", mode="before")
    @classmethod
    def _flag(cls, v):
        if not isinstance(v, bool):
            raise ValueError("write true or false (no quotes)")
        return v

    @model_validator(mode="after")
    def _consistent(self):
        if self.step2_score is not None and self.step2 is not None:
            raise ValueError("give step2_score (a number) or step2 = \"pass\", not both; remove one")
        if self.usce_california_months > self.usce_months:
            raise ValueError("usce_california_months cannot exceed usce_months")
        return self


# Minimum counts of applications above this are refused: no specialty has that many programs
# (Internal Medicine, the largest, about 760), and the solvers read bounds from 1e20 up as
# infinite, so a minimum of 1e23 came back as a "bug".  (A huge maximum means no cap.)
MAX_COUNT = 100_000
# Utilities are relative (the defaults are 1, 0.8, 0.6); beyond this the solvers' arithmetic
# (coefficients times probabilities near 1e-9) loses the answer, and 1e308 overflows to inf.
MAX_UTILITY = 1_000_000


def _listed_once(v: list[str], what: str) -> list[str]:
    """``v`` unchanged when no entry repeats; a ValueError naming the first repeat otherwise."""
    seen = set()
    for x in v:
        if x in seen:
            raise ValueError(f"{x!r} is listed twice; list each {what} once")
        seen.add(x)
    return v


class SpecialtyLimit(BaseModel):
    model_config = ConfigDict(extra="forbid")

    min: int = Field(default=0, ge=0, le=MAX_COUNT)
    max: Optional[int] = Field(default=None, ge=0)  # a huge max is no cap

    _numbers = field_validator("min", "max", mode="before")(_strict_number)

    @model_validator(mode="after")
    def _order(self):
        if self.max is not None and self.min > self.max:
            raise ValueError(f"min={self.min} exceeds max={self.max}")
        return self


class Strategy(BaseModel):
    """What the list must respect and what it maximizes."""

    model_config = ConfigDict(extra="forbid")

    budget: float = Field(default=2500, ge=0, allow_inf_nan=False)
    season: str = "2026"
    # 0 allows no list at all; a large one (up to MAX_COUNT, as sweep --param): every candidate
    max_applications: int = Field(default=100, ge=1, le=MAX_COUNT)
    min_applications: int = Field(default=0, ge=0, le=MAX_COUNT)
    la_share_max: float = Field(default=1.0, ge=0, le=1)
    correlation: Optional[float] = Field(default=None, ge=0, le=0.99)
    target_p_match: Optional[float] = Field(default=None, gt=0, lt=1)
    # safety_first (default): the best expected tier utility among the lists whose P(match) is
    # within safety_margin of the best reachable; p_match, utility, p_match_la as before
    objective: Literal["safety_first", "p_match", "utility", "p_match_la"] = "safety_first"
    safety_margin: float = Field(default=0.01, ge=0, le=1, allow_inf_nan=False)
    signals: Literal["optimize", "none"] = "optimize"
    geographic_preference: Union[Literal["optimize", "none"], list[str]] = "optimize"
    max_divisions: int = Field(default=3, ge=0, le=3)
    specialty_limits: dict[str, SpecialtyLimit] = Field(default_factory=dict)
    utility: dict[str, float] = Field(default_factory=lambda: {"la": 1.0, "west": 0.8, "elsewhere": 0.6})
    must_apply: list[str] = Field(default_factory=list)
    never_apply: list[str] = Field(default_factory=list)

    _numbers = field_validator("budget", "max_applications", "min_applications", "la_share_max", "correlation",
                               "target_p_match", "max_divisions", "safety_margin", mode="before")(_strict_number)

    @field_validator("utility", mode="before")
    @classmethod
    def _utility_numbers(cls, v):
        if isinstance(v, dict):
            for k, x in v.items():
                if isinstance(x, bool) or not isinstance(x, (int, float)):
                    raise ValueError(f"tier {k} = {x!r}: write a number such as 0.8 (no quotes, not true/false)")
        return v

    @field_validator("season", mode="before")
    @classmethod
    def _season(cls, v):
        from allocator.inputs.fees import (add_hint, available_seasons, folder_in_place, is_fee_file, load_schedule,
                                           own_file_hint, unknown_season)

        if is_fee_file(str(v)):  # a fee file of your own: read (and checked) here, so a bad one fails early
            try:
                load_schedule(str(v))
            except InputError as e:  # the loader's words, after the profile's field
                raise ValueError(str(e)) from None
            return str(v)
        have = available_seasons()
        if str(v) not in have and folder_in_place(str(v)):
            raise ValueError(unknown_season(str(v)))
        if have and str(v) not in have:
            raise ValueError(f"no ERAS fee schedule for season {str(v)!r}; use one of {', '.join(have)}"
                             f"{own_file_hint(str(v))} "
                             f"{add_hint(str(v))}".rstrip())
        return str(v)

    @field_validator("geographic_preference", mode="before")
    @classmethod
    def _preference_kind(cls, v):
        if (isinstance(v, str) and v not in ("optimize", "none")) or not isinstance(v, (str, list)):
            raise ValueError("use 'optimize', 'none', or a list of up to 3 Census divisions such as "
                             "[\"Pacific\", \"Mountain\"]")
        return v

    @field_validator("geographic_preference")
    @classmethod
    def _divisions(cls, v):
        if isinstance(v, list):
            from allocator.inputs.geography import CENSUS_DIVISIONS

            bad = [d for d in v if d not in CENSUS_DIVISIONS]
            if bad:
                raise ValueError(f"{bad[0]!r} is not a Census division; use names such as "
                                 f"{', '.join(list(CENSUS_DIVISIONS)[:3])} ... (the nine US Census divisions)")
            if len(v) > 3:
                raise ValueError(f"{len(v)} divisions given; ERAS allows at most 3")
            if len(set(v)) != len(v):
                raise ValueError("a division is listed twice")
        return v

    @field_validator("must_apply", "never_apply")
    @classmethod
    def _once(cls, v: list[str]):
        return _listed_once(v, "program")

    @field_validator("utility")
    @classmethod
    def _utility(cls, v: dict[str, float]):
        bad = set(v) - {"la", "west", "elsewhere"}
        if bad:
            raise ValueError(f"unknown tier(s) {sorted(bad)}; use la, west, elsewhere")
        if any(x < 0 for x in v.values()):
            raise ValueError("tier utilities must be >= 0")
        if any(x != x or x in (float("inf"), float("-inf")) for x in v.values()):
            raise ValueError("tier utilities must be finite numbers")
        if any(x > MAX_UTILITY for x in v.values()):
            raise ValueError(f"tier utilities must be <= {MAX_UTILITY:,}: they are relative values such as 1, 0.8, 0.6")
        return {"la": 1.0, "west": 0.8, "elsewhere": 0.6} | v

    @model_validator(mode="after")
    def _counts(self):
        if self.min_applications > self.max_applications:
            raise ValueError(f"min_applications={self.min_applications} exceeds "
                             f"max_applications={self.max_applications}; lower one or raise the other")
        gp = self.geographic_preference
        if isinstance(gp, list) and len(gp) > self.max_divisions:
            raise ValueError(f"geographic_preference names {len(gp)} division(s) but max_divisions is "
                             f"{self.max_divisions}; raise max_divisions or name fewer divisions")
        both = set(self.must_apply) & set(self.never_apply)
        if both:
            raise ValueError(f"{sorted(both)[0]} is in both must_apply and never_apply; remove it from one")
        return self


_PROFILE_HINTS = {"extra_forbidden": f"unknown key; check its spelling against the example profiles in {EXAMPLES}"}
SECTIONS = ("applicant", "strategy")


def _check_sections(doc: dict, where: str) -> None:
    """A misspelled section (``[stratgy]``), a key outside any section, or a misspelled key in
    a section: one line saying which, with the closest right name."""
    models = {"applicant": Applicant, "strategy": Strategy}
    for key, val in doc.items():
        if key in SECTIONS and isinstance(val, dict):
            bad = [k for k in val if k not in models[key].model_fields]
            other = next((n for n, m in models.items() if n != key and bad and bad[0] in m.model_fields), None)
            if other:  # budget under [applicant]
                raise InputError(f"{where}: [{key}] {bad[0]}: belongs in [{other}], not [{key}]; move it there")
            close = difflib.get_close_matches(bad[0], list(models[key].model_fields), n=1, cutoff=0.7) if bad else []
            if close:
                raise InputError(f"{where}: [{key}] {bad[0]}: unknown key; did you mean {close[0]}?")
            _misspelled_elsewhere(models, key, bad, where)
        elif key not in SECTIONS and key != "path" and isinstance(val, dict):
            close = difflib.get_close_matches(key.lower(), SECTIONS, n=1, cutoff=0.6)
            owner = next((n for n, m in models.items() if key in m.model_fields), None)  # [utility]: a [strategy] field
            hint = (f"did you mean [{close[0]}]?" if close else
                    f"{key} belongs under [{owner}] ([{owner}.{key}])" if owner else
                    "a profile has only [applicant] and [strategy]")
            raise InputError(f"{where}: [{key}]: unknown section; {hint} (examples: {EXAMPLES})")
        elif key not in SECTIONS:
            owner = next((n for n, m in models.items() if key in m.model_fields), None)
            if owner:
                raise InputError(f"{where}: {key}: outside any section; put it under [{owner}]")


def _misspelled_elsewhere(models: dict, key: str, bad: list[str], where: str) -> None:
    """``budjet`` under [applicant]: a misspelling of the other section's key gets both hints."""
    for other, m in models.items():
        close = difflib.get_close_matches(bad[0], list(m.model_fields), n=1, cutoff=0.7) if bad and other != key else []
        if close:
            raise InputError(f"{where}: [{key}] {bad[0]}: unknown key; did you mean {close[0]}, "
                             f"which belongs in [{other}]?")


class Profile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    applicant: Optional[Applicant] = None
    strategy: Strategy = Field(default_factory=Strategy)
    path: str = "<profile>"

    @property
    def specialties(self) -> list[str] | None:
        return self.applicant.specialties if self.applicant else None

    def with_overrides(self, **changes: Any) -> "Profile":
        """A copy with ``[strategy]`` fields replaced (CLI flags); None values are ignored."""
        changes = {k: v for k, v in changes.items() if v is not None}
        if not changes:
            return self
        data = self.strategy.model_dump(exclude_unset=True) | changes  # defaults stay defaults (warnings)
        strat = validate(Strategy, data, f"{self.path} (with command-line options)", prefix="strategy",
                         sections=True, hints=_PROFILE_HINTS)
        return self.model_copy(update={"strategy": strat})


# The Step 2 CK passing score (USMLE: 214 since July 2022, 209 before): a lower score is a fail.
STEP2_PASS = 214
NO_BUDGET = "no budget in [strategy]"  # the warning's opening words (dropped where no budget applies)


def profile_warnings(profile: Profile) -> list[str]:
    """What the profile leaves to a default that changes the answer, or says that cannot be so:
    shown with every answer, so nobody plans on a budget or a score they did not give."""
    out = []
    if "budget" not in profile.strategy.model_fields_set:
        out.append(f"{NO_BUDGET}: the default ${profile.strategy.budget:,.0f} is used; give your budget "
                   "(budget = USD under [strategy])")
    a = profile.applicant
    if a is not None and a.step2_score is None and a.step2 is None:
        out.append('no step2_score in [applicant]: solved as a pass without a score; add step2_score = your Step 2 '
                   'CK score (or step2 = "pass" to say so)')
    if a is not None and a.step2_score is not None and a.step2_score < STEP2_PASS and a.exam_attempts == 0:
        out.append(f"step2_score {a.step2_score} is below the Step 2 CK passing score ({STEP2_PASS} since 2022, 209 "
                   "before), yet exam_attempts = 0: programs screen on failed attempts, so if this score was a "
                   "fail, set exam_attempts and give your passing score")
    return out


def profile_from_dict(doc: dict, path: str = "<profile>") -> Profile:
    """Validate a profile given as a dict (the parsed TOML)."""
    _check_sections(doc, path)
    return validate(Profile, {**doc, "path": path}, path, sections=True, hints=_PROFILE_HINTS)


def load_profile(path: str | Path) -> Profile:
    """Read and validate a profile TOML file."""
    p = Path(path)
    if p.is_dir():
        raise InputError(f"{p}: is a folder; give the path to one TOML profile file (a folder of profiles is a "
                         "cohort for `allocator batch`)")
    if not p.is_file():
        raise InputError(f"{p}: no such profile file; give the path to a TOML profile "
                         f"(examples: {EXAMPLES})")
    return profile_from_dict(_fee_file_beside(read_toml(p, what="profile", reserved=("path",)), p), str(p))


def _fee_file_beside(doc: dict, p: Path) -> dict:
    """A profile's season given as a relative fee file path is read from the profile's folder (a
    fee file kept beside the profile), not from wherever allocator runs."""
    from allocator.inputs.fees import is_fee_file

    s = doc.get("strategy")
    season = s.get("season") if isinstance(s, dict) else None
    if isinstance(season, str) and is_fee_file(season) and not Path(season).expanduser().is_absolute():
        doc = {**doc, "strategy": {**s, "season": str(p.parent / season)}}
    return doc
