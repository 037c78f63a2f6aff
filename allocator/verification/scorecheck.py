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

from allocator.verification import checkfile
from allocator.verification.checkfile import p_match  # noqa: F401  (the list's P(match) under a mixture)

SLOPES = ("interview.step2_per_10", "match_given_interview.step2_per_10")


def _build(card, doc, data):
    from allocator.model import ensemble as ens

    k = float(data["k"])
    return ens.apply(doc, data["params"], str(card.path), name=f"{card.name} score check"), data | {"k": k}


SPEC = checkfile.Spec(key="score_check", script="models/make_score_check.py", kind="score-check",
                      values="its Step 2 CK slopes and intercepts", build=_build,
                      required=("params", "base", "k"))


def path_of(card):
    """The card's score-check file (None when the card names none)."""
    return checkfile.path_of(card, SPEC)


def load(card):
    """(the score-check card, the file's data) of ``card``; None when it names no file.  A file
    that is missing, unreadable or made for other values of the card's slopes and intercepts
    (the check would not be this card's) is refused, as a stale ensemble file is: run
    ``models/make_score_check.py`` again, or remove the card's ``score_check`` key."""
    got = checkfile.load(card, SPEC)
    if got is None:
        return None
    sc_card, data = got
    return sc_card, data | {"file": checkfile.path_of(card, SPEC).name}


def factor_model(problem, sc_card):
    """The score-check card's two-stage model over the problem's candidates (kept with the problem)."""
    return checkfile.factor_model(problem, sc_card, "score_check_fm", sc_card_params(sc_card))


def sc_card_params(sc_card) -> dict:
    """The score-check card's slopes and intercepts (what makes its model differ from the card's)."""
    from allocator.model.ensemble import INTERCEPTS

    return {k: checkfile.value(sc_card, k) for k in SLOPES + INTERCEPTS}


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
