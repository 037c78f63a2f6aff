"""The ensemble of plausible cards: parameter sets drawn across the card's ranges that pass
every calibration target (``models/make_ensemble.py`` draws them; the accepted sets ship in
the JSON file the card's ``ensemble`` key names, beside the card).

A parameter set is a mapping from a dotted card path (``"signals.gold_odds_ratio"``) to a
value; :func:`apply` writes it into the card (each parameter keeps its source and
reasoning).  A number of the synthetic calibration cohort with a ``NAME_range`` beside it
(``"calibration.cohort.img_friendliness"``) is drawn too: a card with its own value has its
own cohort (``allocator.model.calibration.cohort_of``), and everything that evaluates an
ensemble card on its calibration cohort builds that card's.  :func:`retune` re-fits the
interview and match intercepts so that the interview yield and the match rate sit on their
targets.  Each accepted set names a season of the card's ``[calibration.seasons]``: its
match rate is that season's published one.
"""
from __future__ import annotations

import json
import math
import tomllib
from pathlib import Path

from allocator.errors import InputError
from allocator.model.card import ModelCard, card_from_dict

INTERCEPTS = ("interview.intercept", "match_given_interview.intercept")
COHORT = "calibration.cohort."  # the prefix of a drawn number of the synthetic calibration cohort
# The intercepts are re-tuned to put the match rate on its target and the interview yield at
# 0.081, inside its tolerance (0.10 +- 0.02) near its lower end: a higher yield pushes the
# interview counts of matched applicants beyond their published quartiles (3/5/8).
YIELD_AIM = 0.081


def card_doc(card: ModelCard) -> dict:
    with open(card.path, "rb") as f:
        return tomllib.load(f)


def judged(doc: dict) -> dict[str, tuple[float, float]]:
    """Every parameter of the card with a ``range`` (the judged ones), by dotted path."""
    out = {}
    for sec, body in doc.items():
        if not isinstance(body, dict) or sec == "calibration":
            continue
        for name, p in body.items():
            if isinstance(p, dict) and "range" in p and isinstance(p.get("value"), (int, float)):
                lo, hi = p["range"]
                out[f"{sec}.{name}"] = (float(lo), float(hi))
    return out | cohort_judged(doc)


def cohort_judged(doc: dict) -> dict[str, tuple[float, float]]:
    """The numbers of the synthetic calibration cohort with a ``NAME_range`` beside them
    (``img_friendliness``), by dotted path ("calibration.cohort.NAME")."""
    spec = doc.get("calibration", {}).get("cohort", {})
    out = {}
    for key, r in spec.items():
        name = key.removesuffix("_range")
        if key != name and isinstance(spec.get(name), (int, float)) and isinstance(r, list):
            out[COHORT + name] = (float(r[0]), float(r[1]))
    return out


def seasons(doc: dict) -> dict[str, float]:
    """The card's published match rate by season (``[calibration.seasons]``; {} without one)."""
    return dict(doc.get("calibration", {}).get("seasons", {}).get("match_rate", {}))


def apply(doc: dict, params: dict[str, float], path: str, name: str | None = None,
          season: str | None = None, img_cap: float | None = None) -> ModelCard:
    """The card ``doc`` with ``params`` written in; ``season`` (a key of its seasons) puts its
    match-rate target on that season's published rate; ``img_cap``: the IMG share at which its
    IMG-share effect stops growing (the card's ``img_share_cap``; None: the model's IMG_CLIP)."""
    new = json.loads(json.dumps(doc))
    if img_cap is not None:
        new["img_share_cap"] = float(img_cap)
    for key, v in params.items():
        if key.startswith(COHORT):  # a cohort number: the card's cohort is built with it
            new["calibration"]["cohort"][key.removeprefix(COHORT)] = float(v)
            continue
        sec, pname = key.split(".")
        new[sec][pname]["value"] = float(v)
    if season is not None:
        target = new["calibration"]["targets"]["match_rate"]
        target["target"] = seasons(doc)[season]
        target.pop("achieved", None)  # the card's own figure, not this season's
    if name:
        new["name"] = name
    return card_from_dict(new, path)


def retune(doc: dict, params: dict[str, float], catalog, cohort, path: str = "<ensemble>",
           season: str | None = None, img_cap: float | None = None) -> tuple[ModelCard, dict[str, float]] | None:
    """The card ``doc`` + ``params`` with its two intercepts shifted so that the interview
    yield and the match rate (``season``'s, when given) hit their targets on ``cohort``, the
    card's own synthetic cohort (``cal.cohort_of(apply(doc, params, path), catalog)``: a drawn
    cohort number changes it); None when no shift reaches them.  ``img_cap``: as :func:`apply`."""
    from scipy.optimize import brentq  # only here: scipy.optimize takes ~0.2 s to import, and a solve

    from allocator.model import calibration as cal  # that loads the ensemble never retunes

    card = apply(doc, params, path, season=season, img_cap=img_cap)
    t = card.calibration.targets
    prep = cal.prepare(card, catalog, cohort)
    # the yield depends on the interview intercept only; the match rate, given it, on the match one
    try:
        di = brentq(lambda x: cal.interview_yield(prep, x) - YIELD_AIM, -8, 8, xtol=1e-4)
        pi = cal.pi_nodes(prep, di)
        dm = brentq(lambda x: cal.match_rate(prep, pi, x) - t["match_rate"].target, -12, 12, xtol=1e-4)
    except ValueError:
        return None
    out = dict(params)
    out[INTERCEPTS[0]] = round(card.interview.intercept.value + di, 4)
    out[INTERCEPTS[1]] = round(card.match_given_interview.intercept.value + dm, 4)
    return apply(doc, out, path, season=season, img_cap=img_cap), out


def ensemble_path(card: ModelCard) -> Path | None:
    return None if not card.ensemble else Path(card.path).parent / card.ensemble


def load_ensemble(card: ModelCard) -> list[ModelCard]:
    """The accepted cards of ``card``'s ensemble (an empty list when it has none)."""
    return ensemble(card)[0]


def ensemble(card: ModelCard) -> tuple[list[ModelCard], tuple[str | None, ...]]:
    """The accepted cards of ``card``'s ensemble and the season of each (None for a card of a
    file made before seasons); ([], ()) when it has none."""
    p, data = _accepted(card)
    if p is None:
        return [], ()
    doc = card_doc(card)
    rates = seasons(doc)
    if "seasons" in data and data["seasons"] != rates:
        raise InputError(f"{p}: made for the seasons {data['seasons']}, but the card's [calibration.seasons] "
                         f"match_rate is {rates}; regenerate the file with models/make_ensemble.py")
    _check_made_for(p, data, card, doc)
    sets = data["accepted"]
    names = tuple(_season(p, j, s, rates) for j, s in enumerate(sets))
    cards = [apply(doc, _params(p, j, s, doc), str(p), f"{card.name}#{j}", names[j]) for j, s in enumerate(sets)]
    return cards, names


def _check_made_for(p: Path, data: dict, card: ModelCard, doc: dict) -> None:
    """Refuse an ensemble file made for another card version or other judged ranges (recorded
    as ``card_version`` and ``ranges`` by models/make_ensemble.py; a file without them passes)."""
    fix = "regenerate the file with models/make_ensemble.py"
    if "card_version" in data and str(data["card_version"]) != str(card.version):
        raise InputError(f"{p}: made for card version {data['card_version']}, but {card.path} is version "
                         f"{card.version}; {fix}")
    if "ranges" not in data:
        return
    now = {k: [float(x) for x in v] for k, v in judged(doc).items() if k not in INTERCEPTS}
    made = data["ranges"] if isinstance(data["ranges"], dict) else {}
    diff = [f"{k} {_fmt(made.get(k))}, the card now {_fmt(now.get(k))}" for k in sorted(set(now) | set(made))
            if _as_floats(made.get(k)) != now.get(k)]
    if diff:
        raise InputError(f"{p}: made for other ranges ({'; '.join(diff[:3])}{'; ...' if len(diff) > 3 else ''}); "
                         f"{fix}")


def _as_floats(v) -> list[float] | None:
    try:
        return [float(x) for x in v]
    except (TypeError, ValueError):
        return None


def _fmt(v) -> str:
    xs = _as_floats(v)
    return "none" if v is None else repr(v) if xs is None else "[" + ", ".join(f"{x:g}" for x in xs) + "]"


def _accepted(card: ModelCard) -> tuple[Path | None, dict]:
    """The ensemble file of ``card`` and its contents, checked to hold a list of accepted sets
    ((None, {}) without one)."""
    p = ensemble_path(card)
    if p is None:
        return None, {}
    if not p.is_file():
        raise InputError(f"{card.path}: ensemble: {p} not found; run models/make_ensemble.py or remove the key")
    try:
        data = json.loads(p.read_text())
        sets = data["accepted"] if isinstance(data, dict) else None
    except (ValueError, KeyError) as e:
        raise InputError(f"{p}: not an ensemble file ({e}); regenerate it with models/make_ensemble.py") from None
    if not isinstance(sets, list):
        raise InputError(f"{p}: \"accepted\" must be a list of parameter sets; regenerate it with "
                         "models/make_ensemble.py")
    return p, data


def _season(p: Path, j: int, s, rates: dict[str, float]) -> str | None:
    """accepted[j]'s season (None for a file made before seasons), checked against the card's ``rates``."""
    season = s.get("season") if isinstance(s, dict) else None
    if season is not None and str(season) not in rates:
        raise InputError(f"{p}: accepted[{j}]: season {season!r} is not in the card's [calibration.seasons]; "
                         "regenerate the file")
    return None if season is None else str(season)


def _params(p: Path, j: int, s, doc: dict) -> dict[str, float]:
    """accepted[j]'s parameters, checked: "section.name" keys of the card, finite numbers."""
    params = s.get("params") if isinstance(s, dict) else None
    if not isinstance(params, dict):
        raise InputError(f"{p}: accepted[{j}]: needs \"params\", an object of parameter values; regenerate the file")
    drawn_cohort = cohort_judged(doc)
    for key, v in params.items():
        sec, _, name = str(key).partition(".")
        if str(key).startswith(COHORT):
            if key not in drawn_cohort:
                raise InputError(f"{p}: accepted[{j}]: {key!r} is not a number of the card's cohort with a range "
                                 "(NAME_range in [calibration.cohort]); regenerate the file")
        elif not isinstance(doc.get(sec), dict) or not isinstance(doc[sec].get(name), dict):
            raise InputError(f"{p}: accepted[{j}]: {key!r} is not a parameter of the card; regenerate the file")
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            raise InputError(f"{p}: accepted[{j}]: {key} = {v!r} is not a finite number; regenerate the file")
    return params
