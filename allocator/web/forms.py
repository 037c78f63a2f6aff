"""The profile form: its fields (label, unit, help), the presets, form values -> profile, profile -> TOML.

Units as in the profile TOML: budget in USD, shares and probabilities in [0, 1], months and
years as numbers.  Validation is the profile loader's (pydantic); this module only turns form
strings into the TOML document and maps the loader's one-line message back onto the field it
names.  Nothing here stores or logs what the applicant typed.
"""
from __future__ import annotations

import copy
import functools
import io
import math
import re
import tomllib
from dataclasses import dataclass
from typing import Any

from allocator.errors import InputError
from allocator.inputs.profile import Profile, profile_from_dict
from allocator.paths import DATA_DIR

WHERE = "profile form"
MAX_UPLOAD_BYTES = 2_000_000       # a national catalog of every specialty is ~0.4 MB
MAX_UPLOAD_ROWS = 5_000            # the four demo catalogs together have 2,058 programs
MAX_PROFILE_BYTES = 64_000


@dataclass(frozen=True)
class Field:
    name: str            # the TOML key (section below)
    section: str         # "applicant", "strategy" or "run" (how to solve, not part of the profile)
    label: str
    kind: str            # number, int, text, bool, select, multi, lines
    unit: str = ""
    help: str = ""
    choices: tuple[str, ...] = ()
    labels: tuple[str, ...] = ()   # a select's words for each choice; the value posted stays the choice (the code)

    def options(self) -> list[tuple[str, str]]:
        """(value, words) of each choice: the value the form posts, as the profile TOML and the JSON
        API spell it, and the words the drop-down shows."""
        return list(zip(self.choices, self.labels or self.choices))


def _select(*options: tuple[str, str]) -> dict[str, tuple[str, ...]]:
    """A select's ``choices`` (the codes) and ``labels`` (their words), from (code, words) pairs."""
    return {"choices": tuple(c for c, _ in options), "labels": tuple(w for _, w in options)}


# the words of each select's codes: the drop-downs show them, and messages about a choice use them
OBJECTIVE_WORDS = {
    "safety_first": "Match somewhere first, then LA",  # the default (the help says so); short enough for a phone
    "p_match": "Highest chance of a match",
    "utility": "Best expected tier utility (LA, then the West, then elsewhere)",
    "p_match_la": "Highest chance in Greater LA, keeping P(match) at the target",
}
MODE_WORDS = {
    "best": "Best list within the budget",
    "cheapest": "Cheapest list reaching the target on average",
    "cheapest_p10": "Cheapest list reaching the target on the 10th percentile",
}
SIGNALS_WORDS = {"optimize": "Choose where to send the signals", "none": "No program signals"}
GEOGRAPHY_WORDS = {"optimize": "Choose up to 3 Census divisions", "none": "No geographic preference",
                   "fixed": "Fixed: the divisions ticked below"}


def season_words(season: str) -> str:
    """A fee schedule in words: "2026 ERAS fees", or "none" as no ERAS fees (your own costs)."""
    return "No ERAS fees: your own costs per program" if season == "none" else f"{season} ERAS fees"


def _demo_specialties() -> tuple[str, ...]:
    names = {"internal_medicine": "Internal Medicine", "family_medicine": "Family Medicine",
             "pediatrics": "Pediatrics", "psychiatry": "Psychiatry"}
    have = sorted(p.stem.removeprefix("demo_") for p in (DATA_DIR / "catalogs").glob("demo_*.csv"))
    return tuple(names.get(h, h.replace("_", " ").title()) for h in have)


def _seasons() -> tuple[str, ...]:
    from allocator.inputs.fees import available_seasons

    return tuple(available_seasons())


def _divisions() -> tuple[str, ...]:
    from allocator.inputs.geography import CENSUS_DIVISIONS

    return tuple(CENSUS_DIVISIONS)


def fields() -> list[Field]:
    """Every field of the form, in the order shown."""
    return [
        Field("specialties", "applicant", "Specialties", "multi", help="the demo catalog of each is used "
              "unless you upload your own catalog", choices=_demo_specialties()),
        Field("step2_score", "applicant", "USMLE Step 2 CK score", "int", "points (180-300)",
              "leave empty and tick 'pass only' when you have no score"),
        Field("step2", "applicant", "Step 2 CK: pass only", "bool", help="no numeric score reported"),
        Field("exam_attempts", "applicant", "Failed USMLE attempts", "int", "attempts"),
        Field("usce_months", "applicant", "US clinical experience", "number", "months"),
        Field("usce_california_months", "applicant", "of which in California", "number", "months"),
        Field("la_ties", "applicant", "Ties to Greater Los Angeles", "bool", help="grew up or family there"),
        Field("years_since_graduation", "applicant", "Years since medical school graduation", "number", "years"),
        Field("reapplicant", "applicant", "Reapplicant", "bool", help="applied in an earlier season and did "
              "not match"),
        Field("budget", "strategy", "Budget", "number", "USD", "for everything that depends on the list "
              "(ERAS fees plus each program's extra cost)"),
        Field("season", "strategy", "Fee schedule (season)", "select",
              **_select(*((x, season_words(x)) for x in _seasons()))),
        Field("max_applications", "strategy", "Most applications", "int", "programs"),
        Field("min_applications", "strategy", "Fewest applications", "int", "programs"),
        Field("la_share_max", "strategy", "Largest share of LA programs", "number", "0-1",
              "0.25 = at most a quarter of the list in Greater LA; 1 = no cap"),
        Field("correlation", "strategy", "Correlation between outcomes", "number", "0-0.99",
              "empty = the calibrated two-stage model (recommended; with a catalog's own p_match column, the "
              "model card's correlation); a number replaces the calibrated model by a one-factor copula at that "
              "correlation, whose P(match) is not the figure to plan on (0 = independent outcomes: the most "
              "optimistic)"),
        Field("objective", "strategy", "Objective", "select", help="the default, match somewhere first, then LA: among "
              "the lists within the safety margin of the best chance of any match, the best tier utility (LA, then the rest of "
              "the West; the utilities below)", **_select(*OBJECTIVE_WORDS.items())),
        Field("safety_margin", "strategy", "Safety margin", "number", "0-1",
              "for 'match somewhere first': how far P(match), averaged over the plausible models, may fall below the best reachable (0.01 = one point)"),
        Field("target_p_match", "strategy", "Target P(match)", "number", "0-1",
              "for the cheapest list and for the objective 'highest chance in Greater LA'"),
        Field("signals", "strategy", "Program signals", "select", help="ERAS signals: where they go is chosen with "
              "the list", **_select(*SIGNALS_WORDS.items())),
        Field("geographic_preference", "strategy", "Geographic preference", "select",
              help="chosen with the list (up to 3 Census divisions), none, or fixed by ticking them below",
              **_select(*GEOGRAPHY_WORDS.items())),
        Field("divisions", "strategy", "Fixed divisions", "multi", help="when the preference is fixed (at most 3)",
              choices=_divisions()),
        Field("max_divisions", "strategy", "Most divisions to choose", "int", "divisions (0-3)"),
        Field("utility_la", "strategy", "Utility of a match in LA", "number", "0 or more",
              "a weight: 1, 0.8 and 0.6 (LA, West, elsewhere) by default"),
        Field("utility_west", "strategy", "Utility in the rest of the West", "number", "0 or more"),
        Field("utility_elsewhere", "strategy", "Utility elsewhere", "number", "0 or more"),
        Field("specialty_limits", "strategy", "Limits per specialty", "lines", "one per line",
              "e.g. Internal Medicine: 40-80 (fewest-most applications in that specialty)"),
        Field("must_apply", "strategy", "Always apply to", "text", "program ids", "comma-separated"),
        Field("never_apply", "strategy", "Never apply to", "text", "program ids", "comma-separated"),
        Field("mode", "run", "What to find", "select", help="the best list within the budget; the cheapest list "
              "reaching the target P(match) on average over the plausible models; or the cheapest budget whose best "
              "list reaches it at their 10th percentile (safer)", **_select(*MODE_WORDS.items())),
        Field("time_limit", "run", "Time limit", "number", "seconds", "the solve stops here and says so"),
    ]


PRESETS = {
    "strong_la_ties": "Strong applicant with LA ties (guide)",
    "moderate_no_ties": "Moderate applicant, no LA ties (guide)",
    "reapplicant_la_only": "Reapplicant who applied only to LA (guide)",
    "typical_us_img": "Typical US-citizen IMG",
}


def preset_values(name: str) -> dict[str, Any]:
    """Form values of a shipped example profile."""
    if name not in PRESETS:
        raise InputError(f"preset {shown(name)}: unknown; use one of {', '.join(PRESETS)}")
    with open(DATA_DIR / "profiles" / f"{name}.toml", "rb") as fh:
        return values_from_doc(tomllib.load(fh))


def default_values() -> dict[str, Any]:
    return preset_values("typical_us_img")


def values_from_doc(doc: dict) -> dict[str, Any]:
    """Form values (strings, lists, bools) from a profile document."""
    a, s = doc.get("applicant", {}), doc.get("strategy", {})
    v: dict[str, Any] = {"specialties": list(a.get("specialties", ["Internal Medicine"])),
                         "step2": a.get("step2") == "pass", "la_ties": bool(a.get("la_ties", False)),
                         "reapplicant": bool(a.get("reapplicant", False))}
    for k in ("step2_score", "exam_attempts", "usce_months", "usce_california_months", "years_since_graduation"):
        v[k] = "" if a.get(k) is None else str(a[k])
    for k in ("budget", "season", "max_applications", "min_applications", "la_share_max", "correlation",
              "target_p_match", "max_divisions", "safety_margin"):
        v[k] = "" if s.get(k) is None else str(s[k])
    v["objective"] = s.get("objective", "safety_first")
    v["signals"] = s.get("signals", "optimize")
    gp = s.get("geographic_preference", "optimize")
    v["geographic_preference"], v["divisions"] = ("fixed", list(gp)) if isinstance(gp, list) else (gp, [])
    u = {"la": 1.0, "west": 0.8, "elsewhere": 0.6} | dict(s.get("utility", {}))
    for t in ("la", "west", "elsewhere"):
        v[f"utility_{t}"] = str(u[t])
    v["specialty_limits"] = "\n".join(f"{k}: {lim.get('min', 0)}-{lim.get('max', '')}"
                                      for k, lim in s.get("specialty_limits", {}).items())
    v["must_apply"] = ", ".join(s.get("must_apply", []))
    v["never_apply"] = ", ".join(s.get("never_apply", []))
    v.setdefault("mode", "best")
    v.setdefault("time_limit", "20")
    return v


def _limits(text: str) -> dict[str, dict[str, int]]:
    out = {}
    for ln in (x.strip() for x in text.splitlines()):
        if not ln:
            continue
        m = re.fullmatch(r"(.+?)\s*:\s*(\d*)\s*-\s*(\d*)", ln)
        if not m or not (m.group(2) or m.group(3)):
            raise InputError(f"{WHERE}: [strategy] specialty_limits = {shown(ln)}: write 'Specialty: MIN-MAX', "
                             "e.g. 'Internal Medicine: 40-80' (either number may be left out)")
        if len(m.group(2)) > 6 or len(m.group(3)) > 6:  # no catalog has a million programs
            raise InputError(f"{WHERE}: [strategy] specialty_limits = {shown(ln)}: give counts of at most 6 digits")
        lim = {"min": int(m.group(2) or 0)} | ({"max": int(m.group(3))} if m.group(3) else {})
        out[m.group(1).strip()] = lim
    return out


def _ids(text: str) -> list[str]:
    return [x.strip() for x in re.split(r"[,\s]+", text or "") if x.strip()]


class FormErrors(InputError):
    """Every error a form has, each one line naming its field (``errors``), reported at once;
    as text, the first of them (what a caller that shows one message shows)."""

    def __init__(self, errors: list[InputError], doc: dict | None = None):
        super().__init__(str(errors[0]))
        self.errors, self.doc = errors, doc


def attempt(errors: list[InputError], check, *args):
    """``check(*args)``, or None with its error(s) added to ``errors`` (so that a form reports
    every field error of one submit, not the first only)."""
    try:
        return check(*args)
    except FormErrors as e:
        errors.extend(e.errors)
    except InputError as e:
        errors.append(e)
    return None


def doc_from_values(v: dict[str, Any]) -> dict:
    """The profile document (what the TOML holds) from form values; strings are left for the
    profile loader to convert and check.  Every field that cannot be read: :class:`FormErrors`,
    with the document of the fields that could."""
    errs: list[InputError] = []
    a: dict[str, Any] = {"specialties": list(v.get("specialties") or [])}
    if not a["specialties"]:
        errs.append(InputError(f"{WHERE}: [applicant] specialties: none chosen; tick at least one specialty, "
                               "or upload your own catalog CSV (its specialties are then used)"))
    if v.get("step2") and str(v.get("step2_score", "")).strip():
        errs.append(InputError(f"{WHERE}: [applicant] step2_score: a score and 'pass only' both given; clear "
                               "the score, or untick 'pass only'"))
    elif v.get("step2"):
        a["step2"] = "pass"
    elif not str(v.get("step2_score", "")).strip():
        errs.append(InputError(f"{WHERE}: [applicant] step2_score: empty; give your Step 2 CK score (180-300), "
                               "or tick 'pass only' when you have no score"))
    if not str(v.get("budget", "")).strip():
        errs.append(InputError(f"{WHERE}: [strategy] budget: empty; give your budget in USD, e.g. 2500"))
    for k in ("step2_score", "exam_attempts", "usce_months", "usce_california_months", "years_since_graduation"):
        if str(v.get(k, "")).strip() and not (k == "step2_score" and v.get("step2")):
            _put(a, k, attempt(errs, _number, v[k], k, "applicant", k in ("step2_score", "exam_attempts")))
    a["la_ties"] = bool(v.get("la_ties"))
    if v.get("reapplicant"):  # left out when not ticked: the profile's default (false)
        a["reapplicant"] = True
    s: dict[str, Any] = {}
    for k in ("budget", "max_applications", "min_applications", "la_share_max", "correlation", "target_p_match",
              "max_divisions", "safety_margin"):
        if str(v.get(k, "")).strip():
            whole = k in ("max_applications", "min_applications", "max_divisions")
            _put(s, k, attempt(errs, _number, v[k], k, "strategy", whole))
    for k in ("season", "objective", "signals"):
        if str(v.get(k, "")).strip():
            s[k] = str(v[k]).strip()
    gp = attempt(errs, _geography, v)
    if gp is not None:
        s["geographic_preference"] = gp
    s["utility"] = {}
    for t in ("la", "west", "elsewhere"):
        if str(v.get(f"utility_{t}", "")).strip():
            _put(s["utility"], t, attempt(errs, _number, v[f"utility_{t}"], f"utility_{t}", "strategy"))
    lim = attempt(errs, _limits, str(v.get("specialty_limits", "")))
    if lim:
        s["specialty_limits"] = lim
    s["must_apply"] = _ids(v.get("must_apply", ""))
    s["never_apply"] = _ids(v.get("never_apply", ""))
    doc = {"applicant": a, "strategy": s}
    if errs:
        raise FormErrors(errs, doc)
    return doc


def _put(d: dict, key: str, x: Any) -> None:
    if x is not None:
        d[key] = x


def _geography(v: dict[str, Any]) -> str | list[str]:
    """The geographic preference: optimize, none, or the ticked divisions when it is fixed.
    Divisions ticked under another preference are refused, not ignored (the page would solve
    without them and say nothing)."""
    gp, ticked = v.get("geographic_preference") or "optimize", list(v.get("divisions") or [])
    if gp == "fixed" and not ticked:
        raise InputError(f"{WHERE}: [strategy] geographic_preference = fixed: tick 1 to 3 divisions, or choose "
                         "optimize or none")
    if gp != "fixed" and ticked:
        raise InputError(f"{WHERE}: [strategy] divisions = {shown(', '.join(ticked))}: ticked while "
                         f"geographic_preference is {shown(gp)}; tick divisions only with Geographic preference: "
                         "fixed (choose fixed to apply in them alone, or untick them)")
    return ticked if gp == "fixed" else gp


NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
WHOLE = re.compile(r"[+-]?\d+")
# an example value per number field, for the message when the text is not a number
EXAMPLES = {"step2_score": "245", "exam_attempts": "0", "usce_months": "6", "usce_california_months": "4",
            "years_since_graduation": "2", "budget": "2500", "max_applications": "80", "min_applications": "20",
            "la_share_max": "0.25", "correlation": "0.3", "target_p_match": "0.8", "max_divisions": "3",
            "safety_margin": "0.01", "utility_la": "1", "utility_west": "0.8", "utility_elsewhere": "0.6",
            "time_limit": "20", "add_budget": "300", "max_add": "5"}
NOT_FINITE = {"nan", "+nan", "-nan", "inf", "+inf", "-inf", "infinity", "+infinity", "-infinity"}


def shown(text: str, limit: int = 40) -> str:
    """What the applicant typed, quoted for a message: cut to ``limit`` characters."""
    t = str(text)
    return repr(t) if len(t) <= limit else repr(t[:limit]) + f"... ({len(t):,} characters)"


def _number(x: Any, name: str, section: str, whole: bool = False):
    """The number a form field holds (int for whole-number fields, without going through
    float), or a one-line InputError naming the field."""
    t = str(x).strip()
    where = f"{WHERE}: [{section}] {name} = {shown(t)}"
    finite = f"{where}: must be a finite {'whole ' if whole else ''}number"
    if t.lower() in NOT_FINITE:
        raise InputError(finite)
    if len(t) > 40:  # no setting needs more digits; Python refuses to convert a few thousand
        raise InputError(f"{where}: too long for a number; give at most 40 characters")
    if whole and WHOLE.fullmatch(t):
        return int(t)
    if not NUMBER.fullmatch(t):
        example = EXAMPLES.get(name)
        raise InputError(f"{where}: must be a {'whole ' if whole else ''}number, digits only "
                         "(no commas, spaces or units)" + (f", e.g. {example}" if example else ""))
    f = float(t)
    if not math.isfinite(f):
        raise InputError(finite)
    if whole:
        if f != int(f):
            raise InputError(f"{where}: must be a whole number")
        return int(f)
    return f


def profile_from_values(v: dict[str, Any]) -> tuple[Profile, dict]:
    """Validate form values with the profile loader: (Profile, document), or every field's
    error at once (:class:`FormErrors`)."""
    try:
        doc, errs = doc_from_values(v), []
    except FormErrors as e:
        doc, errs = e.doc, list(e.errors)
    from allocator.web.service import refuse_fee_file

    try:  # never a file of the server's: a posted season that is a path is an error under its field
        refuse_fee_file(doc.get("strategy"), WHERE)
    except InputError as e:
        errs.append(e)
        (doc.get("strategy") or {}).pop("season", None)
    profile = _loader_errors(doc, errs)
    if errs:
        raise FormErrors(errs)
    return profile, doc


def _loader_errors(doc: dict, errs: list[InputError]) -> Profile | None:
    """The profile, or None with the loader's errors added to ``errs``.  The loader names one
    field at a time: each field named (and each field already in ``errs``) takes the valid
    example profile's value, and the rest is checked again until the loader accepts it.  An
    error about a field already named is not reported (it may be about the value put in its place)."""
    named = {n for e in errs for n in _fields_in(str(e))}
    doc = copy.deepcopy(doc)
    for name in named:
        _example_value(doc, name)
    for _ in range(len(fields()) + 1):
        try:
            profile = profile_from_dict(doc, WHERE)
            return None if errs else profile
        except InputError as e:
            about = _fields_in(str(e))
            if not about or about <= named:  # no field to put a value in: nothing more to find
                if not errs:
                    errs.append(e)
                return None
            if not about & named:
                errs.append(e)
            named |= about
            for n in about:
                _example_value(doc, n)
    return None


def _fields_in(message: str) -> set[str]:
    """Every form field a message names (the one :func:`field_of` picks, and any other)."""
    first = field_of(message)
    others = {f.name for f in fields() if re.search(rf"\b{re.escape(f.name)}\b", message)}
    return (set(related(first, message)) | others) if first else others


@functools.lru_cache(maxsize=1)
def _example_doc() -> dict:
    with open(DATA_DIR / "profiles" / "typical_us_img.toml", "rb") as fh:
        return tomllib.load(fh)


def _example_value(doc: dict, name: str) -> None:
    """Put the example profile's value (or the loader's default) in place of the form field ``name``."""
    example = _example_doc()
    if name.startswith("utility_"):
        doc.get("strategy", {}).get("utility", {}).pop(name.removeprefix("utility_"), None)
        return
    key = {"divisions": "geographic_preference", "step2": "step2_score"}.get(name, name)
    section = "applicant" if key in example["applicant"] or key == "step2_score" else "strategy"
    if key == "step2_score":
        doc[section].pop("step2", None)
    if key in example[section]:
        doc.setdefault(section, {})[key] = copy.deepcopy(example[section][key])
    else:
        doc.get(section, {}).pop(key, None)


def run_options(v: dict[str, Any]) -> dict[str, Any]:
    """How to solve (not part of the profile): mode and time limit, checked."""
    mode = v.get("mode") or "best"
    if mode not in ("best", "cheapest", "cheapest_p10"):
        raise InputError(f"{WHERE}: mode = {shown(str(mode))}: use best, cheapest or cheapest_p10")
    t = str(v.get("time_limit", "") or "20").strip()
    limit = _number(t, "time_limit", "run")
    if not 1 <= limit <= 120:
        raise InputError(f"{WHERE}: time_limit = {shown(t)}: give seconds between 1 and 120")
    return {"min_cost": mode != "best", "target_on": "p10" if mode == "cheapest_p10" else "average",
            "time_limit": limit}


def field_of(message: str) -> str | None:
    """The form field a loader message names (longest name first), or None."""
    names = sorted((f.name for f in fields()), key=len, reverse=True) + ["utility", "step2", "geographic"]
    for n in names:
        if re.search(rf"\b{re.escape(n)}\b", message):
            if n == "utility":
                return "utility_la"
            if n == "geographic":
                return "geographic_preference"
            return n
    return None


RELATED = (("min_applications", "max_applications"), ("usce_california_months", "usce_months"),
           ("geographic_preference", "divisions"))


def related(name: str, message: str) -> list[str]:
    """The field a message names, and the other of a pair when the message names both (the
    limit between them can be fixed on either side, so it is shown under both)."""
    for pair in RELATED:
        if name in pair and all(re.search(rf"\b{p}\b", message) for p in pair):
            return list(pair)
    return [name]


def to_toml(doc: dict) -> str:
    """The profile document as TOML text that `allocator solve` reads back to the same profile."""
    out = io.StringIO()
    out.write("# allocator profile, written by the web page (allocator serve)\n")
    for section in ("applicant", "strategy"):
        body = doc.get(section)
        if body is None:
            continue
        out.write(f"[{section}]\n")
        for k, val in body.items():
            if isinstance(val, dict) and k == "specialty_limits":
                continue
            out.write(f"{k} = {_toml_value(val)}\n")
        for k, val in body.items():
            if isinstance(val, dict) and k == "specialty_limits":
                for spec, lim in val.items():
                    out.write(f"specialty_limits.{_toml_value(spec)} = {_toml_value(lim)}\n")
        out.write("\n")
    text = out.getvalue()
    tomllib.loads(text)  # must round-trip
    return text


_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")  # TOML basic strings need these escaped (tab may stay)


def _toml_value(x: Any) -> str:
    if isinstance(x, bool):
        return "true" if x else "false"
    if isinstance(x, (int, float)):
        return repr(x)
    if isinstance(x, str):
        text = x.replace("\\", "\\\\").replace('"', '\\"')
        return '"' + _CONTROL.sub(lambda m: f"\\u{ord(m.group()):04X}", text) + '"'
    if isinstance(x, (list, tuple)):
        return "[" + ", ".join(_toml_value(i) for i in x) + "]"
    if isinstance(x, dict):
        return "{ " + ", ".join(f"{_toml_value(str(k)) if not re.fullmatch(r'[A-Za-z0-9_-]+', str(k)) else k} = "
                                f"{_toml_value(v)}" for k, v in x.items()) + " }"
    raise TypeError(f"cannot write {type(x).__name__} to TOML")


def check_specialties(values: dict[str, Any]) -> None:
    """Without an uploaded catalog, every specialty needs a demo catalog: say which ones there are."""
    have = _demo_specialties()
    bad = [s for s in values.get("specialties") or [] if s not in have]
    if bad:
        raise InputError(f"{WHERE}: [applicant] specialties = {shown(bad[0])}: no demo catalog for it; "
                         f"choose from {', '.join(have)}, or upload your own catalog CSV")
