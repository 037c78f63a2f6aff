"""The IMG-share cap check of a list: its P(match) under a model whose IMG-share effect stops at
a lower IMG share, with its intercepts re-fitted to the same calibration targets.

The central card clips the IMG share at 85% IMGs (``[interview.img_share_cap]``; the plausible
models draw their cap from 0.50 to 0.85 since card 2026.4), and an optimized list concentrates on
the programs at 85% IMGs or more, far beyond the calibration cohort's lists
(:mod:`allocator.verification.composition`).  The
targets cannot pin the cap down: ``models/make_cap_check.py`` stops the effect at 65% IMGs (the
median IMG share of the cohort's applications), re-fits the two intercepts (same match rate and
interview yield; every calibration target the card passes still passes) and writes the
parameters beside the card (the file the card's ``cap_check`` key names).  That card is a
sensitivity model, not an accepted card.

When a list's share of programs at the cap lies beyond the cohort's (the composition warning's
test, :func:`allocator.verification.composition.beyond_cap`), :func:`check` evaluates the list
under it, exactly, on the same candidates; that figure joins the figure to plan on
(:func:`allocator.verification.planfigure.plan_figure`) and the composition warning gives it.
"""
from __future__ import annotations

from allocator.verification import checkfile
from allocator.verification.checkfile import p_match  # noqa: F401  (the list's P(match) under a mixture)


def _build(card, doc, data):
    from allocator.model import ensemble as ens

    cap = float(data["cap"])
    if not 0.05 < cap < 1.0:
        raise ValueError(f"cap {cap:g} is not an IMG share between 0.05 and 1")
    return ens.apply(doc, data["params"], str(card.path), name=f"{card.name} cap check", img_cap=cap), data | {"cap": cap}


SPEC = checkfile.Spec(key="cap_check", script="models/make_cap_check.py", kind="cap-check",
                      values="its intercepts and IMG-share effect", build=_build,
                      required=("params", "base", "cap"))


def path_of(card):
    """The card's cap-check file (None when the card names none)."""
    return checkfile.path_of(card, SPEC)


def load(card):
    """(the cap-check card, the file's data) of ``card``; None when it names no file.  A file that
    is missing, unreadable or made for other values of the card's intercepts and IMG-share effect
    is refused, as a stale ensemble file is: run ``models/make_cap_check.py`` again, or remove the
    card's ``cap_check`` key."""
    got = checkfile.load(card, SPEC)
    if got is None:
        return None
    cc_card, data = got
    return cc_card, data | {"file": checkfile.path_of(card, SPEC).name}


def factor_model(problem, cc_card):
    """The cap-check card's two-stage model over the problem's candidates (kept with the problem)."""
    from allocator.model.ensemble import INTERCEPTS

    params = {k: checkfile.value(cc_card, k) for k in INTERCEPTS} | {"img_share_cap": cc_card.img_share_cap}
    return checkfile.factor_model(problem, cc_card, "cap_check_fm", params)


def check(problem, plan, p_central: float | None, metrics=None) -> dict | None:
    """The list's P(match) under the cap check when its share of programs at the IMG-share cap is
    beyond the calibration cohort's lists' (the composition warning's test): ``{"p_match",
    "p_match_central", "cap", "at_cap", "n", "file"}`` (``p_central``: the list's P(match) under the
    central card; ``at_cap`` of its ``n`` programs at the shipped cap); None otherwise (no warning, no
    two-stage model, or a card without a cap-check file)."""
    from allocator.verification import composition

    card = problem.card
    if card is None or problem.fm_central is None or plan is None or p_central is None or not len(plan.idx):
        return None
    mix = composition.of(problem, plan, metrics)
    if not composition.beyond_cap(card, mix):
        return None
    loaded = load(card)
    if loaded is None:
        return None
    cc_card, data = loaded
    fm = factor_model(problem, cc_card)
    return {"p_match": p_match(problem, plan, fm), "p_match_central": float(p_central), "cap": data["cap"],
            "at_cap": mix.at_cap, "n": mix.n, "file": data["file"]}
