"""Build the two-stage model's mixture (:mod:`allocator.model.factors`) for one applicant.

``card_logits`` gives a card's interview log-odds per variant (plain, a preferred division,
a gold or silver signal, both) and its match log-odds, for every program of a catalog;
``factor_model`` stacks several cards (the ensemble, or one card) into one mixture.
A catalog ``p_interview`` overrides the interview log-odds of its row so that the card's
average over its interview factor gives that figure (what `allocator estimate` prints as
P(interview), so its output read back as a catalog gives the same figures; read as the
median applicant's chance, z = 0, it gave an average above the figure for chances under one
half: 0.2515 came back as 0.2625).  Signals and a geographic preference multiply the interview odds (the card's
odds ratios; a row with ``signal_gold_ok = false`` gains nothing from a gold signal).
"""
from __future__ import annotations

import math

import numpy as np

from allocator.inputs.catalog import Catalog
from allocator.inputs.profile import Applicant
from allocator.model.factors import FactorModel, card_nodes, mixture
from allocator.model.logistic import logit
from allocator.model.probability import (ModelCard, ProgramColumns, applicant_arrays, interview_logit,
                                         match_logit, program_arrays, program_columns)


def card_logits(catalog: Catalog, applicant: Applicant, card: ModelCard,
                columns: ProgramColumns | None = None) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """(interview log-odds by variant, match log-odds), each (n,), for one applicant;
    ``columns``: the catalog's :func:`~allocator.model.probability.program_columns`, if read."""
    prog = program_arrays(catalog, card, columns)
    app = applicant_arrays(applicant, card)
    eta = interview_logit(prog, app, card)[0]
    ov = ~np.isnan(prog.p_interview)
    if ov.any():
        eta = eta.copy()
        eta[ov] = average_logit(np.clip(prog.p_interview[ov], 1e-9, 1 - 1e-9), card)
    zeta = match_logit(prog, app, card)[0]
    sig = card.signals
    lg = np.where(prog.gold_ok, math.log(sig.gold_odds_ratio.value), 0.0)
    ls = math.log(sig.silver_odds_ratio.value)
    lgeo = math.log(sig.geographic_preference_odds_ratio.value)
    variants = {"plain": eta, "geo": eta + lgeo, "gold": eta + lg, "silver": eta + ls,
                "gold_geo": eta + lg + lgeo, "silver_geo": eta + ls + lgeo}
    return variants, zeta


def average_logit(p: np.ndarray, card: ModelCard, steps: int = 50) -> np.ndarray:
    """Interview log-odds eta with sum_k W_k expit(eta + S_k) = p over the card's nodes (its
    interview factor), by Newton's method from logit(p) (the sum rises with eta, and is convex
    then concave in it, so the steps are damped to at most 2 in log-odds); logit(p) for a card
    without a ``[factors]`` section."""
    eta = logit(p)
    factors = getattr(card, "factors", None)
    if factors is None:
        return eta
    nodes = card_nodes(factors)
    S, W = nodes.S[:, None], nodes.w[:, None]
    for _ in range(steps):
        q = 1.0 / (1.0 + np.exp(-(eta[None, :] + S)))
        f = (W * q).sum(axis=0) - p
        if np.max(np.abs(f)) < 1e-13:
            break
        eta = eta - np.clip(f / np.maximum((W * q * (1.0 - q)).sum(axis=0), 1e-300), -2.0, 2.0)
    return eta


def factor_model(catalog: Catalog, applicant: Applicant, cards: list[ModelCard],
                 columns: ProgramColumns | None = None) -> FactorModel:
    """The equal-weight mixture of ``cards`` (each must have a ``[factors]`` section); the
    catalog's columns are read once for all of them (or given as ``columns``)."""
    columns = program_columns(catalog) if columns is None else columns
    parts = []
    for c in cards:
        eta, zeta = card_logits(catalog, applicant, c, columns)
        parts.append((c.name, eta, zeta, card_nodes(c.factors)))
    return mixture(parts)


VARIANT_COLUMNS = {"p_signal_gold": "gold", "p_signal_silver": "silver", "p_geo": "geo",
                   "p_signal_gold_geo": "gold_geo", "p_signal_silver_geo": "silver_geo"}


def ensemble_columns(catalog: Catalog, applicant: Applicant, card: ModelCard,
                     columns: ProgramColumns | None = None) -> dict[str, np.ndarray] | None:
    """Each program's probabilities under ``card``'s ensemble, the mixture `solve` optimizes by
    default: P(interview), P(match) and its signalled and preferred variants averaged over the
    cards, and P(match)'s and P(interview)'s 10th and 90th percentile over them (``p_match_p10``,
    ``p_match_p90``, ``p_interview_p10``, ``p_interview_p90``), (n,) each; None without an
    ensemble (the card alone is the model then)."""
    from allocator.model.ensemble import load_ensemble

    cards = load_ensemble(card) if card.factors is not None else []
    if len(cards) < 2:
        return None
    fm = factor_model(catalog, applicant, cards, columns)
    per, per_i = fm.card_means(fm.success("plain")), fm.card_means(fm.pi("plain"))
    out = {"p_interview": fm.marginal_interview("plain"), "p_match": fm.marginal("plain"),
           "p_match_p10": np.percentile(per, 10, axis=0), "p_match_p90": np.percentile(per, 90, axis=0),
           "p_interview_p10": np.percentile(per_i, 10, axis=0), "p_interview_p90": np.percentile(per_i, 90, axis=0)}
    for col, v in VARIANT_COLUMNS.items():
        out[col] = fm.marginal(v)
    return out
