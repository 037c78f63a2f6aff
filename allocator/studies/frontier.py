"""The frontier between P(any match) and P(match in Greater LA).

For each target t, the list that maximizes P(match in LA) (LA programs ranked first)
subject to P(any match) >= t, within the budget, counts and LA cap.  Raising t trades LA
chances for safety; the rows trace that trade exactly (each point is an optimal solve).
A pure function returning a tidy DataFrame; a target that cannot be reached is a row
with status "infeasible".
"""
from __future__ import annotations

from typing import Callable, Iterable

import numpy as np
import pandas as pd

from allocator.optim import fastpath
from allocator.optim.pipeline import optimize
from allocator.optim.evaluate import evaluate
from allocator.status import Status

COLUMNS = ["target", "status", "p_match", "p_match_la", "n_applications", "n_la", "cost"]


def frontier(problem, targets: Iterable[float], *, method: str = "auto",
             progress: Callable[[int], None] | None = None) -> pd.DataFrame:
    """One row per target: the max-P(LA) list with P(match) >= target."""
    rows = []
    grid = None
    if method in ("auto", "fast") and fastpath.applicable(problem, "la_given_target"):
        grid = fastpath.CountGrid(problem)
    targets = [float(t) for t in targets]
    answers: dict[float, tuple] = {}
    for t in sorted(set(targets)) if grid is None else ():  # the integer program, targets ascending
        answers[t] = _kept(problem, answers, t) or _solved(problem, t, method)
    for k, t in enumerate(targets):
        if grid is not None:
            cell = grid.best("la_given_target", t)
            plan = grid.plan(cell) if cell is not None else None
            status = Status.OPTIMAL if cell is not None else Status.INFEASIBLE
        else:
            plan, status = answers[t]
        if plan is None:
            rows.append({"target": t, "status": status.value, "p_match": np.nan, "p_match_la": np.nan,
                         "n_applications": np.nan, "n_la": np.nan, "cost": np.nan})
        else:
            m = evaluate(problem, plan, correlations=())
            rows.append({"target": t, "status": status.value, "p_match": m.p_match, "p_match_la": m.p_match_la,
                         "n_applications": m.n_applications, "n_la": m.n_la, "cost": m.cost})
        if progress:
            progress(k + 1)
    return pd.DataFrame(rows, columns=COLUMNS)


def _solved(problem, t: float, method: str) -> tuple:
    out = optimize(problem, "la_given_target", target=t, method="milp" if method == "auto" else method)
    return out.plan, out.status


def _kept(problem, answers: dict, t: float) -> tuple | None:
    """The optimal list of the largest lower target, when it also reaches ``t``: a higher
    target only removes lists, so a list optimal at the lower one and still feasible is
    optimal here (no solve); and a target above one no list reaches is out of reach too."""
    if any(u < t and answers[u][1] is Status.INFEASIBLE for u in answers):
        return None, Status.INFEASIBLE  # no list reaches a lower target, so none reaches this one
    lower = [u for u in answers if u < t and answers[u][1] is Status.OPTIMAL and answers[u][0] is not None]
    if not lower:
        return None
    plan, status = answers[max(lower)]
    return (plan, status) if evaluate(problem, plan, correlations=()).p_match >= t - 1e-12 else None
