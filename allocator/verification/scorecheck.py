"""The Step 2 CK score check of a list: its P(match) under a model whose score effect is as
close to the published one as the model's calibration targets allow.

The card's held-out figure ``[calibration.holdout.step2_median_gap]`` (median Step 2 CK of
matched minus unmatched applicants) is missed by the default card (3 points against 6
published), so the model lets the score move P(match) too little.  ``models/make_score_check.py``
scales both ``step2_per_10`` slopes of the central card by the steepest factor k at which
every calibration target still passes, up to the one at which the synthetic cohort's gap
reaches the published one, re-fits the two intercepts (same match rate and interview yield), and writes the parameters beside the card (the file the card's
``score_check`` key names).  That card is a sensitivity model, not an accepted card.

When the applicant's score sits below the cohort's mean, or one cohort standard deviation or
more above it (:func:`allocator.verification.domain.score_offset`), :func:`check` evaluates the list under
it, exactly, on the same candidates (the central card's two-stage model with those
parameters; a fixed geographic preference folded in as the problem's own mixtures do).  Below
the mean that figure joins the figure to plan on (:func:`allocator.verification.planfigure.plan_figure`).
"""
from __future__ import annotations

import json
import threading
from pathlib import Path

from allocator.errors import InputError

_LOADED: dict = {}  # the last file read (one card at a time; the web's solving threads share it)
_LOCK = threading.Lock()


def path_of(card) -> Path | None:
    """The card's score-check file (None when the card names none)."""
    name = getattr(card, "score_check", None)
    return None if not name else Path(card.path).parent / name


def load(card):
    """(the score-check card, the file's data) of ``card``; None when it names no file.  A file
    that is missing, unreadable or made for other values of the card's slopes and intercepts
    (the check would not be this card's) is refused, as a stale ensemble file is: run
    ``models/make_score_check.py`` again, or remove the card's ``score_check`` key."""
    p = path_of(card)
    if p is None:
        return None
    if not p.is_file():
        raise InputError(f"{card.path}: score_check: {p} not found; run models/make_score_check.py or remove the key")
    key = (str(p), p.stat().st_mtime_ns, str(card.path), card.version)
    with _LOCK:
        got = _LOADED.get(key)
        if got is None:
            got = _read(card, p)
            _LOADED.clear()
            _LOADED[key] = got
    return got


def _read(card, p: Path):
    from allocator.model import ensemble as ens

    try:
        data = json.loads(p.read_text())
        params, base, k = data["params"], data["base"], float(data["k"])
    except (ValueError, KeyError, TypeError) as e:
        raise InputError(f"{p}: not a score-check file ({e}); make it again with models/make_score_check.py") from None
    now = {key: _value(card, key) for key in base}
    if data.get("card") != card.name or any(now[key] is None or abs(now[key] - float(v)) > 1e-9 for key, v in base.items()):
        raise InputError(f"{p}: made for card {data.get('card')!r} with other values of its Step 2 CK slopes and "
                         f"intercepts than {card.path} has now; run models/make_score_check.py again or remove the "
                         "card's score_check key")
    doc = ens.card_doc(card)
    return ens.apply(doc, params, str(card.path), name=f"{card.name} score check"), data | {"k": k, "file": p.name}


def _value(card, dotted: str) -> float | None:
    sec, name = dotted.split(".")
    par = getattr(getattr(card, sec, None), name, None)
    return None if par is None else float(par.value)


def factor_model(problem, sc_card):
    """The score-check card's two-stage model over the problem's candidates (kept with the problem)."""
    key = ("score_check_fm", sc_card.name, json.dumps(sc_card_params(sc_card), sort_keys=True))
    if key not in problem._cache:
        from allocator.model.twostage import factor_model as fmodel
        from allocator.optim.mixture import fold_fixed

        fm = fmodel(problem.candidates, problem.applicant, [sc_card])
        problem._cache[key] = fold_fixed(fm, problem.candidates, tuple(problem.fixed_divisions or ()))
    return problem._cache[key]


def sc_card_params(sc_card) -> dict:
    """The score-check card's slopes and intercepts (what makes its model differ from the card's)."""
    return {k: _value(sc_card, k) for k in ("interview.step2_per_10", "match_given_interview.step2_per_10",
                                            "interview.intercept", "match_given_interview.intercept")}


def p_match(problem, plan, fm) -> float:
    """The plan's P(match) under the mixture ``fm`` (exact: sum_k w_k prod_i (1 - p_i(k)))."""
    from allocator.optim.evaluate import mix_none

    if not len(plan.idx):
        return 0.0
    return 1.0 - mix_none(fm, problem.plan_log_fail(plan, fm))


def check(problem, plan, p_central: float | None) -> dict | None:
    """The list's P(match) under the score check when the applicant's Step 2 CK is far enough
    from the cohort's mean to be warned about: ``{"p_match", "p_match_central", "k", "direction",
    "step2_score", "file"}`` (``p_central``: the list's P(match) under the central card); None
    otherwise (no warning, no two-stage model, or a card without a score-check file)."""
    from allocator.verification.domain import modelled_score, score_offset

    card, app = problem.card, problem.applicant
    if card is None or problem.fm_central is None or plan is None or p_central is None:
        return None
    score, _ = modelled_score(card, app)  # a reported pass counts as the card's pass score, as in the model
    off = score_offset(card, score, any_below=True)
    loaded = None if off is None else load(card)
    if loaded is None:
        return None
    sc_card, data = loaded
    fm = factor_model(problem, sc_card)
    return {"p_match": p_match(problem, plan, fm), "p_match_central": float(p_central), "k": data["k"],
            "direction": "below" if off < 0 else "above", "step2_score": score, "file": data["file"]}
