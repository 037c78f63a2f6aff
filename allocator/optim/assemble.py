"""Assemble a :class:`~allocator.optim.problem.Problem` from a validated catalog and profile.

Probabilities come from the catalog's own ``p_match`` when every row has one (the model is
not consulted), otherwise from the probability model applied to the applicant; then the
must/never lists, the signals available in the season, the geographic preference (fixed by
the user, optimized, or none) and the tier utilities.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from pathlib import Path

import numpy as np

from allocator.errors import InputError

from allocator.inputs.catalog import Catalog, img_share_warning
from allocator.inputs.fees import load_schedule, signal_seasons, signals_available
from allocator.inputs.demo import resolve_catalog
from allocator.inputs.profile import Profile, load_profile, profile_warnings
from allocator.optim.problem import SIGNAL_KINDS, Problem, count_cap


@dataclass
class _Probs:
    """Per-program probabilities over the rows of ``cat`` (filtered together by ``keep``)."""

    cat: Catalog
    p: np.ndarray
    q: np.ndarray
    source: str
    default_rho: float
    p_signal: dict = field(default_factory=dict)
    p_signal_geo: dict = field(default_factory=dict)
    p_geo: np.ndarray | None = None
    excluded: list = field(default_factory=list)
    card: object = None  # the model card, when the model gave the probabilities

    def keep(self, mask: np.ndarray) -> None:
        self.cat = self.cat.select(mask)
        self.p, self.q = self.p[mask], self.q[mask]
        self.p_signal = {k: v[mask] for k, v in self.p_signal.items()}
        self.p_signal_geo = {k: v[mask] for k, v in self.p_signal_geo.items()}
        self.p_geo = self.p_geo[mask] if self.p_geo is not None else None


def _strategy_rho(profile: Profile, default: float) -> float:
    r = profile.strategy.correlation
    return float(default if r is None else r)


def check_specialty_spelling(catalog: Catalog, specs) -> None:
    """A catalog row whose specialty is a slip of one the profile applies in, spelled exactly
    elsewhere in the catalog ("Internal Medicin" or "internal medicine" beside "Internal
    Medicine"), would be left out as another specialty without a word: refused, naming the
    program.  A slip: the same words but one, which is one letter off (an extra, missing,
    changed or swapped letter), or a difference of case and spacing only.  Distinct specialties
    (Urology and Neurology, Internal Medicine-Primary and -Preliminary) differ by more."""
    names = set(catalog.column("specialty"))
    for name in sorted(names - set(specs or ())):
        close = next((x for x in specs or () if x in names and _slip(str(name), x)), None)
        if close is not None:
            pid = catalog.column("program_id")[list(catalog.column("specialty")).index(name)]
            raise InputError(f"{catalog.path}: program {pid}, column specialty = {name!r}: not the profile's "
                             f"{close!r}, so the program would be left out as another specialty; fix the spelling")


def _slip(a: str, b: str) -> bool:
    """True when ``a`` is ``b`` up to case and spacing, or with one word one letter off (words in
    any script; a word with a digit must match exactly: "Year 1" and "Year 2" differ)."""
    wa, wb = re.findall(r"\w+", a.casefold()), re.findall(r"\w+", b.casefold())
    if not wa or len(wa) != len(wb):
        return False
    off = [(x, y) for x, y in zip(wa, wb) if x != y]
    return not off or (len(off) == 1 and min(map(len, off[0])) >= 4 and _one_edit(*off[0])
                       and not any(c.isdigit() for c in off[0][0] + off[0][1]))


def _one_edit(x: str, y: str) -> bool:
    """One letter inserted, deleted, changed, or two neighbours swapped."""
    if abs(len(x) - len(y)) > 1:
        return False
    if len(x) == len(y):
        d = [k for k in range(len(x)) if x[k] != y[k]]
        return len(d) == 1 or (len(d) == 2 and d[1] == d[0] + 1 and x[d[0]] == y[d[1]] and x[d[1]] == y[d[0]])
    short, long_ = sorted((x, y), key=len)
    return any(long_[:k] + long_[k + 1:] == short for k in range(len(long_)))


def require_specialties(catalog: Catalog, profile: Profile) -> None:
    """Refuse a profile specialty the catalog has no program of (spelling slips first): a
    specialty silently dropped, or every row scored as another specialty, changes the answer.
    A catalog with its own p_match column is exempt (its rows are the applicant's own)."""
    specs = profile.specialties
    check_specialty_spelling(catalog, specs)
    if not specs or catalog.has_own_p_match:
        return
    known = set(catalog.column("specialty"))
    if not any(x in known for x in specs):
        raise InputError(f"{profile.path}: [applicant] specialties: {catalog.path} has no program of specialty "
                         f"{', '.join(map(repr, specs))} (it has {', '.join(sorted(known))}); fix [applicant] "
                         "specialties or pass another --catalog")
    missing = [x for x in specs if x not in known]
    if missing:  # refused like the demo catalogs: a specialty silently dropped changes the answer
        raise InputError(f"{profile.path}: [applicant] specialties: {catalog.path} has no program of specialty "
                         f"{missing[0]!r} (it has {', '.join(sorted(known))}); remove it from [applicant] "
                         "specialties or add its programs to the catalog")


def _rows_for_specialties(catalog: Catalog, profile: Profile) -> Catalog:
    specs = profile.specialties
    spec = catalog.column("specialty")
    require_specialties(catalog, profile)
    if specs and np.isin(spec, specs).any():
        return catalog.select(np.isin(spec, specs))
    return catalog


def _own_probabilities(cat: Catalog, profile: Profile, card) -> _Probs:
    p = np.array(cat.column("p_match"), float)
    q = cat.column("p_interview")
    q = np.where(np.isnan(q), p, np.maximum(q, p))  # no interview stage; p_interview below p_match (beyond 1e-9) is refused on loading
    rho = 0.0
    if profile.strategy.correlation is None:  # the card still gives the default correlation
        from allocator.model.card import load_card

        rho = float((card or load_card()).correlation)
    return _Probs(cat, p, q, "catalog p_match", rho)


def _model_probabilities(catalog: Catalog, cat: Catalog, profile: Profile, card) -> _Probs:
    if profile.applicant is None:
        raise InputError(f"{profile.path}: no [applicant] section and {catalog.path} gives no p_match "
                         "(the column is missing, or empty on every row); add [applicant] (Step 2, attempts, USCE...) for the model's probabilities, or "
                         "pass --catalog with a CSV that gives p_match for every program (the shipped "
                         "data/profiles/tiny_demo.toml goes with --catalog data/catalogs/tiny_p_match.csv)")
    from allocator.model.card import load_card
    from allocator.model.probability import estimate_columns

    card = card or load_card()
    est = estimate_columns(cat, profile.applicant, card)
    p = np.asarray(est["p_match"], float)
    out = _Probs(cat, p, np.maximum(np.asarray(est["p_interview"], float), p),
                 f"model card {getattr(card, 'name', 'default')}", float(card.correlation))
    bad = ~np.asarray(est["eligible"], bool)
    out.excluded = [_excluded_row(cat, i, est["excluded_reason"][i]) for i in np.nonzero(bad)[0]]
    out.p_signal = {k: np.asarray(est[f"p_signal_{k}"], float) for k in SIGNAL_KINDS if f"p_signal_{k}" in est}
    out.p_signal_geo = {k: np.asarray(est[f"p_signal_{k}_geo"], float) for k in SIGNAL_KINDS
                        if f"p_signal_{k}_geo" in est}
    out.p_geo = np.asarray(est["p_geo"], float) if "p_geo" in est else None
    out.card = card
    out.keep(~bad)
    return out


def _excluded_row(cat: Catalog, i: int, reason: str) -> dict:
    """A program left out, with its reason and what an application to it still costs and counts
    (specialty, la_area, fee_extra USD): a scored list may name it (:func:`allocator.api.score`)."""
    col = cat.column
    return {"program_id": col("program_id")[i], "name": col("name")[i], "reason": reason,
            "la_area": bool(col("la_area")[i]), "specialty": str(col("specialty")[i]),
            "fee_extra": float(col("fee_extra")[i])}


def check_list_ids(profile: Profile, catalog: Catalog) -> None:
    """InputError when must_apply or never_apply names a program id that is not in the catalog."""
    s = profile.strategy
    all_ids = set(catalog.column("program_id"))
    for field_name in ("must_apply", "never_apply"):
        for pid in getattr(s, field_name):
            if pid not in all_ids:
                raise InputError(f"{profile.path}: [strategy] {field_name} names {pid!r}, which is not in "
                                 f"{catalog.path}; fix the id or remove it")


def _apply_lists(pr: _Probs, catalog: Catalog, profile: Profile) -> dict[str, int]:
    """Check must/never against the catalog, drop never_apply; the row of each program id."""
    s = profile.strategy
    pos = {pid: i for i, pid in enumerate(pr.cat.column("program_id"))}
    check_list_ids(profile, catalog)
    for pid in s.must_apply:
        if pid not in pos:
            raise InputError(f"{profile.path}: [strategy] must_apply names {pid!r}, which is excluded "
                             f"({_reason(pr.excluded, pid) or 'another specialty'}); remove it from must_apply")
    never = [pos[x] for x in s.never_apply if x in pos]
    if never:
        pr.excluded += [_excluded_row(pr.cat, i, "never_apply") for i in never]
        keep = np.ones(len(pr.cat), bool)
        keep[never] = False
        pr.keep(keep)
    return {pid: i for i, pid in enumerate(pr.cat.column("program_id"))}


def _signals(pr: _Probs, profile: Profile, specialties: tuple, notes: list, warns: list) -> dict:
    """Signals available per (specialty, kind) in the season; none when not modelled.  A
    specialty without counts in a season that has them is a warning (its programs get none)."""
    s = profile.strategy
    available: dict[tuple[str, str], int] = {}
    if s.signals == "optimize" and pr.p_signal:
        season = load_schedule(s.season).season  # a fee file of your own names its season
        table = signals_available(season)
        for name in specialties:
            for kind, k in table.get(name, {}).items():
                if kind in pr.p_signal and k > 0:
                    available[(name, kind)] = int(k)
        lack = [x for x in specialties if not any(k > 0 for k in table.get(x, {}).values())]
        if table and lack:
            warns.append(f"no ERAS signal counts for {', '.join(lack)} in season {season}: "
                         f"{'its' if len(lack) == 1 else 'their'} programs are solved without signals, so P(match) "
                         f"leaves out what signals add; allocator has counts for {', '.join(sorted(table))} (write "
                         "the specialty as listed there if it is one of them)")
        if not table and season == "none":  # the user's own costs: no ERAS, so no ERAS signals
            notes.append('signals not modelled: season "none" has no ERAS signal counts')
        elif not table:
            warns.append(f"no ERAS signal counts for season {season} and {', '.join(specialties)} in "
                         "allocator's signal table: the list is built without signals, which raise interview "
                         "odds, so P(match) leaves out what they add; add the season's counts to "
                         "data/signals/eras_signals.toml (AAMC's program-signaling page), or choose a season "
                         f"that has them ({', '.join(signal_seasons()) or 'none'})")
        elif not available and not lack:  # counts, but of kinds the model does not give
            notes.append(f"signals not modelled: the model gives no effect for the signal kinds of "
                         f"{', '.join(specialties)} in season {season}")
    elif s.signals == "optimize":
        notes.append("signals not modelled: the catalog gives its own p_match (no signal effect known)")
    if not available:
        pr.p_signal, pr.p_signal_geo = {}, {}
    return available


def _geography(pr: _Probs, profile: Profile, notes: list) -> tuple[int, tuple]:
    """Geographic preference: a fixed one is applied to p now; (divisions to optimize, fixed)."""
    s = profile.strategy
    gp = s.geographic_preference
    if pr.p_geo is not None and isinstance(gp, list):
        fixed = tuple(gp)
        on = np.isin(np.array([str(x) if x is not None and x == x else "" for x in pr.cat.column("division")],
                              dtype=object), fixed)
        pr.p = np.where(on, pr.p_geo, pr.p)
        pr.q = np.where(on, np.maximum(pr.q, pr.p), pr.q)
        pr.p_signal = {k: np.where(on, pr.p_signal_geo[k], v) for k, v in pr.p_signal.items()}
        pr.p_geo, pr.p_signal_geo = None, {}
        return 0, fixed
    if pr.p_geo is not None and gp == "optimize" and s.max_divisions > 0:
        return int(s.max_divisions), ()
    if gp != "none" and pr.p_geo is None:
        notes.append("geographic preference not modelled: the catalog gives its own p_match")
    pr.p_geo, pr.p_signal_geo = None, {}
    return 0, ()


def _utilities(cat: Catalog, profile: Profile) -> np.ndarray:
    util = np.array([profile.strategy.utility[t] for t in cat.column("tier")], float)
    own = cat.column("utility")
    if (~np.isnan(own)).any():
        util = np.where(np.isnan(own), util, own)
    return util


def _mixtures(pr: _Probs, profile: Profile, card_choice: str | None, fixed: tuple, notes: list):
    """The two-stage model's node mixtures (allocator.optim.mixture) for a card with [factors];
    the candidates' marginals then come from the objective's mixture."""
    card = pr.card
    if card is None or getattr(card, "factors", None) is None or not len(pr.cat):
        return None
    from allocator.optim import mixture

    corr = profile.strategy.correlation
    mix = mixture.build(pr.cat, profile.applicant, card, card_choice, fixed, corr is not None)
    pr.p, pr.q, pr.p_signal, pr.p_geo, pr.p_signal_geo = mixture.marginals(
        mix.objective or mix.central, list(pr.p_signal), pr.p_geo is not None)
    if mix.objective is None:
        notes.append(f"correlation {corr:g} set: the one-factor copula on the central card's probabilities, "
                     "not the two-stage model")
    return mix


def build_problem(catalog: Catalog, profile: Profile, *, card=None, card_choice: str | None = None) -> Problem:
    """Assemble a :class:`Problem` from a validated catalog and profile (``card_choice``: the
    card optimized alone instead of the card's ensemble)."""
    s = profile.strategy
    cat = _rows_for_specialties(catalog, profile)
    pr = (_own_probabilities(cat, profile, card) if catalog.has_own_p_match
          else _model_probabilities(catalog, cat, profile, card))
    pos = _apply_lists(pr, catalog, profile)
    cat = pr.cat
    specialties = tuple(sorted(set(cat.column("specialty")))) if len(cat) else tuple(profile.specialties or ())
    notes = _catalog_notes(catalog, cat, tuple(profile.specialties or ())) + _usce_cap_note(pr.card, profile)
    warns = [w for w in [img_share_warning(pr.cat, pr.card)] if w]
    available = _signals(pr, profile, specialties, notes, warns)
    max_div, fixed = _geography(pr, profile, notes)
    mix = _mixtures(pr, profile, card_choice, fixed, notes)
    unknown = [x for x in s.specialty_limits if x not in specialties]
    if unknown:
        raise InputError(f"{profile.path}: [strategy] specialty_limits names {unknown[0]!r}, which has no "
                         f"program in the catalog (have {', '.join(specialties)}); fix the name")
    spec_index = {name: k for k, name in enumerate(specialties)}
    schedule, extra = load_schedule(s.season), np.array(cat.column("fee_extra"), float)
    return Problem(
        candidates=cat, p=np.clip(pr.p.astype(float), 0, 1), q=np.clip(pr.q.astype(float), 0, 1),
        la=np.array(cat.column("la_area"), bool), extra=extra,
        spec=np.array([spec_index[x] for x in cat.column("specialty")], dtype=int), specialties=specialties,
        utility=_utilities(cat, profile), schedule=schedule, budget=float(s.budget),
        max_apps=count_cap(s.max_applications, len(cat), s.min_applications),
        max_apps_asked=int(s.max_applications),
        input_warnings=_input_warnings(profile, schedule, extra) + tuple(warns) + _own_interview_warning(cat, catalog),
        min_apps=int(s.min_applications), la_share_max=float(s.la_share_max),
        rho=_strategy_rho(profile, pr.default_rho), objective=s.objective,
        safety_margin=float(s.safety_margin),
        must=tuple(sorted(pos[x] for x in s.must_apply)),
        excluded_rows=tuple(pr.excluded),
        synthetic=catalog.synthetic, source=pr.source, p_signal=pr.p_signal, p_geo=pr.p_geo,
        p_signal_geo=pr.p_signal_geo, signals_available=available, max_divisions=max_div, fixed_divisions=fixed,
        spec_min={k: v.min for k, v in s.specialty_limits.items() if v.min},
        spec_max={k: v.max for k, v in s.specialty_limits.items() if v.max is not None},
        notes=tuple(notes),
        fm=None if mix is None else mix.objective, fm_ensemble=None if mix is None else mix.ensemble,
        fm_central=None if mix is None else mix.central, card_choice="" if mix is None else mix.choice,
        ensemble_seasons=() if mix is None else mix.seasons,
        card=None if mix is None else pr.card, applicant=profile.applicant,
    )


def _input_warnings(profile: Profile, schedule, extra: np.ndarray) -> tuple[str, ...]:
    """The profile's warnings, and a budget that cannot bind: with no ERAS fees (season
    "none") and no fee_extra, every list costs $0."""
    out = profile_warnings(profile)
    free = len(extra) and not np.any(extra > 0)
    if free and schedule.fee(len(extra)) == 0 and schedule.fixed_total == 0:
        out.append(f'season "{profile.strategy.season}" charges no ERAS fees and no program has a fee_extra: every '
                   "list costs $0, so the budget limits nothing; add a fee_extra column with your costs (USD) "
                   "to the catalog")
    return tuple(out)


NO_LA_NOTE = "no candidate program is in Greater LA"  # the note's opening; the frontier's table says it in its own words


def _catalog_notes(catalog: Catalog, cat: Catalog, specialties: tuple[str, ...]) -> list[str]:
    """What the catalog leaves the answer, in a word: its rows of specialties the profile does
    not apply in (``specialties``: the profile's; none given, every row is a candidate; a user
    who forgot a second specialty saw only a smaller candidate count), and no Greater-LA
    program among the candidates ``cat``."""
    notes = []
    spec = catalog.column("specialty")
    out = ~np.isin(spec, list(specialties))
    left = int(out.sum())
    if left and specialties and left < len(spec):  # none kept: a catalog's own p_match keeps every row
        notes.append(f"{left} program{'s' if left != 1 else ''} of the catalog in {', '.join(sorted(set(spec[out])))} "
                     "left out: the profile does not apply in that specialty; add it to [applicant] specialties to "
                     "consider them")
    if len(cat) and not np.any(cat.column("la_area")):
        notes.append(f"{NO_LA_NOTE}: P(match in LA) is 0 on any list; add Greater-LA "
                     "programs to the catalog to weigh them")
    return notes


def _usce_cap_note(card, profile: Profile) -> list[str]:
    """US clinical experience beyond the card's ``[interview.usce_month_cap]`` (12 months on the
    default card) adds nothing in the model: say so, since more months leave every figure as it is
    (none when the model does not give the probabilities)."""
    a = profile.applicant
    cap = getattr(getattr(getattr(card, "interview", None), "usce_month_cap", None), "value", None)
    if a is None or cap is None or a.usce_months <= cap:
        return []
    return [f"usce_months = {a.usce_months:g}: US clinical experience beyond {cap:g} months adds nothing in the "
            f"model (usce_month_cap on the {card.name} card), so your {a.usce_months:g} months count as {cap:g} "
            "and more months would not change the figures"]


def _own_interview_warning(cat: Catalog, catalog: Catalog) -> tuple[str, ...]:
    """A catalog p_interview column (without its own p_match) replaces the model's interview
    chance on its rows, in every plausible model alike: the range then leaves out how sure
    those figures are."""
    if catalog.has_own_p_match:
        return ()
    given = int(np.sum(~np.isnan(np.asarray(cat.column("p_interview"), float))))
    if not given:
        return ()
    return (f"{given} of the {len(cat)} programs take their P(interview) from the catalog's p_interview column, "
            "in every plausible model alike: the ranges shown leave out how sure those figures are, so give "
            "them only where you know them (each is read as your average chance there, as `allocator estimate` "
            "prints it)",)


def _reason(rows: list[dict], pid: str) -> str:
    for r in rows:
        if r["program_id"] == pid:
            return r["reason"]
    return ""


def load_problem(profile: str | Path | Profile, catalog: str | Path | Catalog | None = None, *,
                 card: str | None = None, **overrides) -> Problem:
    """Read a profile and a catalog, apply ``[strategy]`` overrides, and build the problem.
    ``card``: optimize that model card alone (a name in models/ or a path) instead of the
    default card's ensemble."""
    prof = profile if isinstance(profile, Profile) else load_profile(profile)
    prof = prof.with_overrides(**overrides)
    cat = resolve_catalog(prof, catalog)
    if card is None:
        return build_problem(cat, prof)
    from allocator.model.card import load_card

    c = load_card(card)
    return build_problem(cat, prof, card=c, card_choice=c.name)
