"""The Step 2 CK score check of a list: its P(match) under a model whose score effect matches
the published one.

The card's held-out figure ``[calibration.holdout.step2_median_gap]`` (median Step 2 CK of
matched minus unmatched applicants) is missed by the default card (3 points against 6
published), so the model lets the score move P(match) too little.  ``models/make_score_check.py``
scales both ``step2_per_10`` slopes of the central card by the factor k at which the synthetic
calibration cohort's gap reaches the published one, re-fits the two intercepts (same match
rate and interview yield), and writes the parameters beside the card (the file the card's
``score_check`` key names).  That card is a sensitivity model, not an accepted card.

When the applicant's score sits one cohort standard deviation or more from the cohort's mean
(:func:`allocator.verification.domain.score_offset`), :func:`check` evaluates the list under
it, exactly, on the same candidates (the central card's two-stage model with those
parameters; a fixed geographic preference folded in as the problem's own mixtures do).  Below
the mean that figure joins the figure to plan on (:func:`allocator.verification.domain.plan_figure`).
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from allocator.errors import InputError

_LOADED: dict = {}


def path_of(card) -> Path | None:
    """The card's score-check file (None when the card names none)."""
    name = getattr(card, "score_check", None)
    return None if not name else Path(card.path).parent / name


def load(card):
    """(the score-check card, the file's data) of ``card``; None when it names no file, or when
    the file was made for other values of the card's slopes and intercepts (the check would not
    be this card's: ``models/make_score_check.py`` makes it again)."""
    p = path_of(card)
    if p is None or not p.is_file():
        return None
    key = (str(p), p.stat().st_mtime_ns, str(card.path), card.version)
    if key not in _LOADED:
        _LOADED.clear()
        _LOADED[key] = _read(card, p)
    return _LOADED[key]


def _read(card, p: Path):
    from allocator.model import ensemble as ens

    try:
        data = json.loads(p.read_text())
        params, base, k = data["params"], data["base"], float(data["k"])
    except (ValueError, KeyError, TypeError) as e:
        raise InputError(f"{p}: not a score-check file ({e}); make it again with models/make_score_check.py") from None
    now = {key: _value(card, key) for key in base}
    if data.get("card") != card.name or any(now[key] is None or abs(now[key] - float(v)) > 1e-9 for key, v in base.items()):
        return None
    doc = ens.card_doc(card)
    return ens.apply(doc, params, str(card.path), name=f"{card.name} score check"), data | {"k": k, "file": p.name}


def _value(card, dotted: str) -> float | None:
    sec, name = dotted.split(".")
    par = getattr(getattr(card, sec, None), name, None)
    return None if par is None else float(par.value)


def factor_model(problem, sc_card):
    """The score-check card's two-stage model over the problem's candidates (kept with the problem)."""
    key = ("score_check_fm", id(sc_card))
    if key not in problem._cache:
        from allocator.model.twostage import factor_model as fmodel
        from allocator.optim.mixture import fold

        fm = fmodel(problem.candidates, problem.applicant, [sc_card])
        if problem.fixed_divisions:
            div = np.array([str(x) if isinstance(x, str) else "" for x in problem.candidates.column("division")],
                           dtype=object)
            fm = fold(fm, np.isin(div, list(problem.fixed_divisions)))
        problem._cache[key] = fm
    return problem._cache[key]


def p_match(problem, plan, fm) -> float:
    """The plan's P(match) under the mixture ``fm`` (exact: sum_k w_k prod_i (1 - p_i(k)))."""
    if not len(plan.idx):
        return 0.0
    return float(1.0 - fm.w @ np.exp(problem.plan_log_fail(plan, fm).sum(axis=1)))


def check(problem, plan, p_central: float | None) -> dict | None:
    """The list's P(match) under the score check when the applicant's Step 2 CK is far enough
    from the cohort's mean to be warned about: ``{"p_match", "p_match_central", "k", "direction",
    "step2_score", "file"}`` (``p_central``: the list's P(match) under the central card); None
    otherwise (no warning, no two-stage model, or a card without a score-check file)."""
    from allocator.verification.domain import score_offset

    card, app = problem.card, problem.applicant
    if card is None or problem.fm_central is None or plan is None or p_central is None:
        return None
    off = score_offset(card, getattr(app, "step2_score", None))
    loaded = None if off is None else load(card)
    if loaded is None:
        return None
    sc_card, data = loaded
    fm = factor_model(problem, sc_card)
    return {"p_match": p_match(problem, plan, fm), "p_match_central": float(p_central), "k": data["k"],
            "direction": "below" if off < 0 else "above", "step2_score": app.step2_score, "file": data["file"]}
