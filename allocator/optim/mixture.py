"""The node mixture of a problem under the two-stage model: which cards, which nodes.

``build`` makes the three mixtures a :class:`~allocator.optim.problem.Problem` carries: the
objective's (the ensemble by default, or one card with ``--card``), the ensemble (for the
10th-90th percentile interval and the most pessimistic card) and the central card.  The
candidates' marginal probabilities are then the objective mixture's averages, so every
heuristic, table and check that reads ``problem.p`` sees the same model the optimizer does.
A user-chosen geographic preference is folded into the plain and signalled variants.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from allocator.inputs.catalog import Catalog
from allocator.model.factors import FactorModel
from allocator.model.twostage import factor_model


@dataclass
class Mixtures:
    objective: FactorModel | None  # None: the one-factor copula (a correlation was set)
    ensemble: FactorModel
    central: FactorModel
    choice: str
    seasons: tuple = ()  # the season of each ensemble card (allocator.model.ensemble.ensemble)


def build(cat: Catalog, applicant, card, card_choice: str | None, fixed: tuple[str, ...],
          one_factor: bool) -> Mixtures:
    from allocator.model.ensemble import ensemble
    from allocator.model.probability import program_columns

    columns = program_columns(cat)
    central = factor_model(cat, applicant, [card], columns)
    cards, seasons = ensemble(card)
    ens = factor_model(cat, applicant, cards, columns) if cards else central
    choice = card_choice or ("ensemble" if cards else card.name)
    central, ens = (fold_fixed(fm, cat, fixed) for fm in (central, ens))
    objective = None if one_factor else (ens if choice == "ensemble" else central)
    return Mixtures(objective, ens, central, choice, seasons)


def fold_fixed(fm: FactorModel, cat: Catalog, fixed: tuple[str, ...]) -> FactorModel:
    """``fm`` with a fixed geographic preference (``fixed``: its divisions) folded in; ``fm``
    itself when there is none."""
    if not fixed:
        return fm
    div = np.array([str(x) if isinstance(x, str) else "" for x in cat.column("division")], dtype=object)
    return fold(fm, np.isin(div, list(fixed)))


def fold(fm: FactorModel, on: np.ndarray) -> FactorModel:
    """``fm`` with the programs ``on`` (a fixed geographic preference) in their preferred variants."""
    out = fm
    for v in ("plain", "gold", "silver"):
        g = "geo" if v == "plain" else f"{v}_geo"
        out = out.with_eta(v, np.where(on[None, :], fm.eta[g], fm.eta[v]))
    return out


def marginals(fm: FactorModel, kinds, with_geo: bool):
    """(p, q, p_signal, p_geo, p_signal_geo) of the candidates under ``fm``."""
    p = fm.marginal("plain")
    q = np.maximum(fm.marginal_interview("plain"), p)
    p_signal = {k: fm.marginal(k) for k in kinds}
    p_geo = fm.marginal("geo") if with_geo else None
    p_signal_geo = {k: fm.marginal(f"{k}_geo") for k in kinds} if with_geo else {}
    return p, q, p_signal, p_geo, p_signal_geo


def copula_problem(problem, rho: float):
    """The same problem under the one-factor copula at correlation ``rho`` on the central
    card's marginals, as a profile that sets ``correlation`` gets (the ensemble and central
    mixtures stay, for the two-stage range shown beside it)."""
    import dataclasses

    p, q, p_signal, p_geo, p_signal_geo = marginals(problem.fm_central, list(problem.p_signal),
                                                    problem.p_geo is not None)
    return dataclasses.replace(problem, fm=None, rho=float(rho), p=p, q=q, p_signal=p_signal, p_geo=p_geo,
                               p_signal_geo=p_signal_geo)


def central_problem(problem):
    """The same problem with the central card's mixture as the objective (``--card default``)."""
    import dataclasses

    fm = problem.fm_central
    p, q, p_signal, p_geo, p_signal_geo = marginals(fm, list(problem.p_signal), problem.p_geo is not None)
    return dataclasses.replace(problem, fm=fm, p=p, q=q, p_signal=p_signal, p_geo=p_geo, p_signal_geo=p_signal_geo,
                               card_choice=fm.names[0])
