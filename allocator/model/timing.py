"""The timing curves of a model card (``[timing]``): when programs send their answers.

``invitations`` is the cumulative share of a program's interview invitations sent by a date
of the season; ``rejections`` the cumulative share of programs that will not invite an
applicant and have told them so by that date.  Each point is a month-day of the application
season (September to March; months before July belong to the following calendar year) with
its share and its reasoning.  Between points the share is linear in the date; before the
first point it is the first share, after the last the last.  Used by ``allocator update``:
silence from a program counts as evidence in proportion to how late it is.

A point may give its judged range, ``low`` and ``high`` (``low <= share <= high``): the curve
through every point's ``low`` is the band's slow end, through every ``high`` its fast end
(:meth:`TimingCurve.band`); a point without them has no range (both ends at its share).
"""
from __future__ import annotations

import datetime as dt
import re
from typing import Optional

from pydantic import BaseModel, ConfigDict, field_validator, model_validator

SEASON_START_MONTH = 7  # a month-day from July on belongs to the season's first calendar year


def application_season(day: dt.date) -> int:
    """The first calendar year of the application season (1 July to 30 June) that ``day`` is in."""
    return day.year if day.month >= SEASON_START_MONTH else day.year - 1


def season_name(year: int) -> str:
    """An application season by its first calendar year: 2026 -> "2026-2027"."""
    return f"{year}-{year + 1}"


class TimingPoint(BaseModel):
    model_config = ConfigDict(extra="forbid")

    date: str  # "MM-DD"
    share: float
    reasoning: str
    low: Optional[float] = None  # the judged range of the share (None: no range, the share itself)
    high: Optional[float] = None

    @field_validator("date")
    @classmethod
    def _md(cls, v: str) -> str:
        if not re.fullmatch(r"\d\d-\d\d", v):
            raise ValueError(f"date {v!r}: write month-day as MM-DD, e.g. 10-15")
        m, d = int(v[:2]), int(v[3:])
        dt.date(2001 if m >= SEASON_START_MONTH else 2002, m, d)  # raises on 02-30
        return v

    @field_validator("share", "low", "high")
    @classmethod
    def _share(cls, v: float | None) -> float | None:
        if v is not None and not 0 <= v <= 1:
            raise ValueError("share, low and high must be between 0 and 1")
        return v

    @model_validator(mode="after")
    def _band(self):
        if (self.low is None) != (self.high is None):
            raise ValueError(f"point {self.date}: give both low and high (the share's judged range) or neither")
        if self.low is not None and not self.low <= self.share <= self.high:
            raise ValueError(f"point {self.date}: low {self.low} <= share {self.share} <= high {self.high} must hold")
        return self


def _offset(md: str) -> int:
    """Days from 1 July of the season's first year to month-day ``md`` (a non-leap season)."""
    m, d = int(md[:2]), int(md[3:])
    y = 2001 if m >= SEASON_START_MONTH else 2002
    return (dt.date(y, m, d) - dt.date(2001, SEASON_START_MONTH, 1)).days


class TimingCurve(BaseModel):
    model_config = ConfigDict(extra="forbid")

    points: list[TimingPoint]
    reasoning: str
    user_default: bool = True

    @model_validator(mode="after")
    def _monotone(self):
        if len(self.points) < 2:
            raise ValueError("give at least two points")
        offs = [_offset(p.date) for p in self.points]
        if any(b <= a for a, b in zip(offs, offs[1:])):
            raise ValueError("points must be in season order (September first) without repeats")
        for what in ("share", "low", "high"):
            sh = [getattr(p, what) if getattr(p, what) is not None else p.share for p in self.points]
            if any(b < a for a, b in zip(sh, sh[1:])):
                raise ValueError(f"{'shares' if what == 'share' else what + ' ends'} must not decrease along the season")
        return self

    @property
    def has_band(self) -> bool:
        """Whether any point gives a judged range wider than its share."""
        return any(p.low is not None and p.low < p.high for p in self.points)

    def band(self, end: str) -> "TimingCurve":
        """The band's ``"low"`` (slow) or ``"high"`` (fast) end: the curve through every point's
        ``low`` or ``high`` (a point without a range keeps its share)."""
        if end not in ("low", "high"):
            raise ValueError("end is 'low' or 'high'")
        pts = [p.model_copy(update={"share": p.share if getattr(p, end) is None else getattr(p, end)})
               for p in self.points]
        return TimingCurve(points=pts, reasoning=f"the {end} end of: {self.reasoning}", user_default=self.user_default)

    def share(self, day: dt.date) -> float:
        """The cumulative share at calendar date ``day`` (by its month-day: the year only says which
        season; the season file's dates tie it to the answers, see :mod:`allocator.season.seasonfile`)."""
        start = dt.date(application_season(day), SEASON_START_MONTH, 1)
        x = (day - start).days
        xs = [_offset(p.date) for p in self.points]
        ys = [p.share for p in self.points]
        if x <= xs[0]:
            return float(ys[0])
        for (x0, y0), (x1, y1) in zip(zip(xs, ys), zip(xs[1:], ys[1:])):
            if x <= x1:
                return float(y0 + (y1 - y0) * (x - x0) / (x1 - x0))
        return float(ys[-1])


class Timing(BaseModel):
    model_config = ConfigDict(extra="forbid")

    invitations: TimingCurve
    rejections: TimingCurve
    source: Optional[str] = None
