"""The season section of the page's form: the season file, the date of the update and the
extra budget and count (`allocator update`'s options, not part of the profile)."""
from __future__ import annotations

from typing import Any

from allocator.errors import InputError
from allocator.web.forms import WHERE, Field, FormErrors, _number, attempt, shown

SEASON_WHERE = "season update"
SEASON_FIELDS = [  # the season section of the form (not part of the profile; `allocator update`'s options)
    Field("season_file", "season", "Your season file (CSV)", "file",
          help="program_id,status[,signal,date,rank], one row per application (the season file downloaded with "
               "your list is a start: change each status as answers come; not the catalog); comma-separated, "
               "at most 2 MB and 5,000 rows"),
    Field("today", "season", "Date of the update", "date",
          help="today by default; programs that have not answered by then count as evidence"),
    Field("add_budget", "season", "Extra budget for more applications", "number", "USD",
          "optional: find the best applications to add now within this sum"),
    Field("max_add", "season", "Most extra applications", "int", "programs", "optional"),
]


def season_options(v: dict[str, Any], default_today) -> dict[str, Any]:
    """The season update's options from the form: the date (``default_today`` when empty), the
    extra budget and the most extra applications (None when empty); a one-line InputError
    naming each field otherwise (:class:`FormErrors`, every one at once)."""
    errs: list[InputError] = []
    today = attempt(errs, _date, v, default_today)
    out = {"today": today, "add_budget": attempt(errs, _extra, v, "add_budget", " (USD)"),
           "max_add": attempt(errs, _extra, v, "max_add", "")}
    if errs:
        raise FormErrors(errs)
    return out


def _date(v: dict[str, Any], default_today):
    from allocator.season.seasonfile import iso_date

    t = str(v.get("today") or "").strip()
    if not t:
        return default_today
    try:
        return iso_date(t)
    except ValueError as e:
        raise InputError(f"{SEASON_WHERE}: today = {shown(t)}: {e}") from None


def _extra(v: dict[str, Any], name: str, unit: str) -> float | int | None:
    """The extra budget or count: None when empty, else a number of 0 or more."""
    t = str(v.get(name) or "").strip()
    if not t:
        return None
    try:
        x = _number(t, name, "season", whole=name == "max_add")
    except InputError as e:
        raise InputError(str(e).replace(f"{WHERE}: [season] ", f"{SEASON_WHERE}: ")) from None
    if x < 0:
        raise InputError(f"{SEASON_WHERE}: {name} = {shown(t)}: must be 0 or more{unit}")
    return x


def season_field_of(message: str, season_name: str | None) -> list[str]:
    """The season section's fields that a message is about (the file, the date, the extra
    budget or count), or [] for a message about the profile or the catalog."""
    if season_name and message.startswith(f"{season_name}:"):
        return ["season_file", "today"] if "after today" in message else ["season_file"]
    for f in ("today", "add_budget", "max_add"):
        if message.startswith(f"{SEASON_WHERE}: {f} = "):
            return [f]
    if "the date of the update" in message:
        return ["today"]
    if "the extra budget" in message:
        return ["add_budget"]
    if "the most extra applications" in message:
        return ["max_add"]
    return []
