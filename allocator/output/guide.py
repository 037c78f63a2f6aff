"""The seed guide's three example applicants and their tier ranges, shown next to a list's
counts by tier (LA / rest of the West / elsewhere).

Source of every range: the seed guide (the advisers' guide for IMGs who want Los Angeles,
whose tier rules the benchmarks also compare against, see
:data:`allocator.studies.heuristics.GUIDE_RULES`).  Its three cases:

- strong applicant with LA ties (Step 2 CK about 245, clinical experience in LA, family in
  LA): 70-100 programs; 20-25 LA/SoCal; 20-30 West Coast outside LA; the rest national
  IMG-friendly;
- moderate applicant (Step 2 CK pass, one failed attempt, no LA ties): at most 10-15 LA;
  10-20 West outside LA; 50-80 Midwest/South;
- reapplicant after an LA-only strategy: nationwide, LA a small bonus ("a small handful"
  of LA programs, the guide's figure for applicants with red flags).

A profile is recognized from its ``[applicant]`` fields alone (never from a file name; the
reapplicant only from ``reapplicant = true``, never from ties and years since graduation),
by the rules in :func:`recognize`; anything else gets no guide range.  Counts are numbers of
applications; ``None`` in a range means the guide gives no figure.
"""
from __future__ import annotations

from dataclasses import dataclass

SOURCE = "seed guide (advisers' tier rules for IMGs who want Los Angeles)"


@dataclass(frozen=True)
class GuideCase:
    key: str
    label: str  # "a strong applicant with LA ties"
    why: str  # which applicant fields matched
    total: tuple[int, int] | None
    ranges: dict  # tier ("la", "west", "elsewhere") -> (lo, hi) or None
    shown: dict  # tier -> the guide's words for that tier ("20-25", "at most 10-15")
    words: str  # the guide's rule in its own terms

    def to_dict(self) -> dict:
        return {"case": self.key, "label": self.label, "recognized_from": self.why,
                "total": None if self.total is None else list(self.total),
                "ranges": {k: None if v is None else list(v) for k, v in self.ranges.items()},
                "shown": dict(self.shown), "rule": self.words, "source": SOURCE}


# the guide's figures, as data
STRONG = dict(key="strong", label="a strong applicant with LA ties", total=(70, 100),
              ranges={"la": (20, 25), "west": (20, 30), "elsewhere": None},
              shown={"la": "20-25 LA/SoCal", "west": "20-30", "elsewhere": "the rest"},
              words="70-100 programs: 20-25 LA/SoCal, 20-30 West Coast outside LA, the rest national IMG-friendly")
MODERATE = dict(key="moderate", label="a moderate applicant without LA ties", total=None,
                ranges={"la": (0, 15), "west": (10, 20), "elsewhere": (50, 80)},
                shown={"la": "at most 10-15", "west": "10-20", "elsewhere": "50-80 Midwest/South"},
                words="at most 10-15 LA, 10-20 West outside LA, 50-80 Midwest/South")
REAPPLICANT = dict(key="reapplicant", label="a reapplicant after an LA-only strategy", total=None,
                   ranges={"la": (0, 5), "west": None, "elsewhere": None},
                   shown={"la": "a small handful", "west": "nationwide", "elsewhere": "nationwide"},
                   words="apply nationwide, LA a small bonus (a small handful of LA programs)")

STRONG_SCORE = 240  # "Step 2 CK about 245": 240 and above


def recognize(applicant) -> GuideCase | None:
    """The guide's case an applicant matches, or None.

    strong: Step 2 CK score >= 240, no failed attempt, LA ties and clinical experience in
    California; moderate: Step 2 CK "pass" (no score), exactly one failed attempt, no LA
    ties; reapplicant: ``reapplicant = true`` (only the applicant can say so: ties and years
    since graduation describe many first-time applicants too), not strong, and LA ties or
    California experience (the LA focus)."""
    a = applicant
    if a is None:
        return None
    score, ca = a.step2_score, a.usce_california_months > 0
    if score is not None and score >= STRONG_SCORE and a.exam_attempts == 0 and a.la_ties and ca:
        why = f"Step 2 CK {score}, no failed attempt, LA ties, {a.usce_california_months:g} months in California"
        return GuideCase(why=why, **STRONG)
    if a.step2 == "pass" and a.exam_attempts == 1 and not a.la_ties:
        return GuideCase(why="Step 2 CK pass, one failed attempt, no LA ties", **MODERATE)
    if a.reapplicant and (a.la_ties or ca):
        ties = "LA ties" if a.la_ties else "clinical experience in California"
        why = f"reapplicant = true, {ties}"
        return GuideCase(why=why, **REAPPLICANT)
    return None


def guide_for(problem) -> dict | None:
    """The JSON form of the guide's case for ``problem``'s applicant (None when none fits)."""
    case = recognize(getattr(problem, "applicant", None))
    return None if case is None else case.to_dict()
