"""The frozen result of a solve: status, the list, its metrics, the simulation check, and
the solver's statistics.  Renders to rows (one dict per selected program; a pandas DataFrame
with ``selected_frame``) and to the JSON of docs/formats.md (probabilities in [0, 1], costs in
USD).  Neither the rows nor the JSON import pandas."""
from __future__ import annotations

import functools

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from allocator.optim.evaluate import Metrics, west_row
from allocator.optim.problem import Plan, Problem
from allocator.output.guide import guide_for
from allocator.status import Status

if TYPE_CHECKING:  # annotations only: reading a result needs no solver module (PuLP, HiGHS) nor pandas
    import pandas as pd

    from allocator.optim.outer import Outcome

SELECTED = ("program_id", "name", "specialty", "city", "state", "la_area", "tier", "p_match", "signal")


@dataclass(frozen=True)
class Result:
    status: Status
    problem: Problem
    plan: Plan | None
    metrics: Metrics | None
    outcome: Outcome
    mc: Any = None  # allocator.verification.simulate.SimulationResult
    mode: str = "p_match"
    target: float | None = None
    signal_gain: float | None = None  # P gained by the signals (same list without them)
    warnings: tuple = ()  # one-line strings: outside the calibrated domain, P mostly from signals
    robustness: dict | None = None  # the ensemble list against the central card's own optimum
    # objective safety_first: the margin, the best reachable P(match), and the lists the answer
    # is set against: name ("safest", "la_leaning") -> (Plan, Metrics, Status)
    safety_margin: float | None = None
    p_match_best: float | None = None
    alternatives: dict | None = None  # name -> (plan, metrics, status, proven gap or None)
    # the list's P(match) under the published conversion curve, (low, high): see
    # allocator.verification.published_curve (None without the Monte Carlo or the two-stage model)
    published_curve: tuple[float, float] | None = None
    target_on: str | None = None  # min_cost: where the target was judged ("average" or "p10")
    # the list's Step 2 CK score check (allocator.verification.scorecheck.check; None for a score
    # at or above the calibration cohort's mean within one standard deviation)
    score_check: dict | None = None
    # the list's IMG-share cap check (allocator.verification.capcheck.check; None for a list within
    # the calibration cohort's share of programs at the IMG-share cap)
    cap_check: dict | None = None

    @property
    def p_match_la(self) -> float | None:
        """P(match in Greater LA) of the list (LA programs ranked first), as ``metrics.p_match_la``."""
        return self.metrics.p_match_la if self.metrics else None

    @property
    def expected_utility(self) -> float | None:
        return self.metrics.expected_utility if self.metrics else None

    @property
    def p_match(self) -> float | None:
        return self.metrics.p_match if self.metrics else None

    @property
    def selected_columns(self) -> tuple[str, ...]:
        """The keys of :meth:`selected_rows` (``division`` too for a list under a modelled preference)."""
        geo = ("division",) if self.plan is not None and self.problem.has_geo else ()
        return SELECTED + geo + (("p_match_p10", "p_match_p90") if self._ranged() else ())

    def _ranged(self) -> bool:
        """The selected rows carry each program's range over the ensemble (two cards or more)."""
        fe = self.problem.fm_ensemble
        return self.plan is not None and fe is not None and fe.n_cards >= 2

    def selected_rows(self) -> list[dict]:
        """One dict per selected program (keys :attr:`selected_columns`), highest P(success)
        first, ties by program_id."""
        if self.plan is None:
            return []
        pr, idx = self.problem, np.asarray(self.plan.idx, dtype=int)
        col = pr.candidates.column
        p, sig = pr.effective_p(self.plan), dict(self.plan.signals)
        values = {"program_id": col("program_id")[idx], "name": col("name")[idx],
                  "specialty": col("specialty")[idx], "city": col("city")[idx], "state": col("state")[idx],
                  "la_area": col("la_area")[idx].tolist(), "tier": col("tier")[idx], "p_match": p.tolist(),
                  "signal": [sig.get(int(i)) for i in idx]}
        if pr.has_geo:
            values["division"] = col("division")[idx]
        rng = pr.plan_range(self.plan) if self._ranged() else None
        if rng is not None:
            values["p_match_p10"], values["p_match_p90"] = rng[0].tolist(), rng[1].tolist()
        rows = [dict(zip(values, r)) for r in zip(*values.values())]
        return sorted(rows, key=lambda r: (-r["p_match"], r["program_id"]))

    def list_csv(self) -> str:
        """The list as `allocator solve --out X.csv` writes it and the web page's list download
        gives it: program_id, signal, status, date, then the rest of :attr:`selected_columns`
        (``division`` and each program's 10th-90th percentile when the answer has them), after a
        ``# geographic_preference:`` line (chosen or fixed in the profile: the JSON's
        ``geographic_preference``) and, for a synthetic catalog, the SYNTHETIC note.  `simulate
        --list` reads it back with its signals, and it starts a season file."""
        from allocator.inputs.listfile import list_csv
        from allocator.output.report import SYNTHETIC_NOTE

        divisions = (self.plan.divisions or self.problem.fixed_divisions) if self.plan is not None else ()
        return list_csv(self.selected_rows(), divisions, columns=self.selected_columns,
                        note=SYNTHETIC_NOTE if self.problem.synthetic else None)

    def selected_frame(self) -> pd.DataFrame:
        """:meth:`selected_rows` as a pandas DataFrame."""
        import pandas as pd

        return pd.DataFrame(self.selected_rows(), columns=list(self.selected_columns))

    to_frame = selected_frame

    @functools.cached_property
    def _binding(self) -> tuple[str, ...] | None:
        if self.mode == "min_cost" or self.plan is None or self.metrics is None:
            return None
        from allocator.optim.explain import binding

        return tuple(binding(self.problem, self.plan))

    def limits_binding(self) -> list[str] | None:
        """The limits that stop the list from growing (optim.explain.binding): one more program
        would break each.  None for the cheapest list (--min-cost), whose size the target sets.
        Found once per result (the JSON and the text report both show it)."""
        return None if self._binding is None else list(self._binding)

    def plan_figure(self) -> dict | None:
        """The figure to plan on: the lowest of the 10th percentile, the worst season, a
        published-curve check below the range, for a Step 2 CK below the cohort's mean the
        score check, and for a list beyond the cohort's share at the IMG-share cap the cap check
        (verification.planfigure.plan_figure)."""
        from allocator.verification.planfigure import plan_figure

        m = self.metrics
        return None if m is None else plan_figure(m.p_match_interval, m.p_match_worst_season, self.published_curve,
                                                  self.score_check, cap_check=self.cap_check)

    def to_dict(self) -> dict:
        pr, m, o = self.problem, self.metrics, self.outcome
        d: dict[str, Any] = {"status": self.status.value, "objective": self.mode if self.mode != "p_match" else pr.objective}
        if self.mode == "min_cost":
            d["objective"] = "min_cost"
        if self.target is not None:
            d["target_p_match"] = self.target
        if self.target_on is not None:
            d["target_on"] = self.target_on
        if m is not None:
            d |= {
                "p_match": m.p_match,
                "p_match_independent": m.p_match_independent,
                "p_match_la": m.p_match_la,
                "p_match_interval": None if m.p_match_interval is None else list(m.p_match_interval),
                "p_match_la_interval": None if m.p_match_la_interval is None else list(m.p_match_la_interval),
                **west_row(m),
                "p_match_pessimistic": m.p_match_pessimistic,
                "p_match_central": m.p_match_central,
                "p_match_worst_season": m.p_match_worst_season,
                "expected_interviews": m.expected_interviews,
                "expected_interviews_interval": (None if m.expected_interviews_interval is None
                                                 else list(m.expected_interviews_interval)),
                "model": _model_info(pr),
                "correlation": pr.rho if pr.fm is None else None,  # the two-stage model has none
                "p_match_by_correlation": {f"{k:g}": v for k, v in m.by_correlation.items()},
            }
            if pr.objective in ("utility", "safety_first") or self.mode in ("utility", "safety_first"):
                d["expected_utility"] = m.expected_utility
        if self.mc is not None:
            d["mc"] = mc_json(self.mc, pr)
        elif m is not None:  # --draws 0: the key stays (contract), with why there is no estimate
            d["mc"] = {"p_match": None, "ci95": None, "draws": 0, "seed": None,
                       "skipped": "Monte Carlo check skipped (--draws 0)"}
        if m is not None:
            d |= {"n_applications": m.n_applications, "n_la": m.n_la, "la_share": m.la_share,
                  "cost": {"total": m.cost, "by_specialty": m.cost_by_specialty, "fixed": pr.schedule.fixed_total,
                           "season": pr.schedule.season}}
            d["selected"] = [
                {"program_id": r["program_id"], "name": r["name"], "specialty": r["specialty"], "city": r["city"],
                 "state": r["state"], "p_match": float(r["p_match"]), "la_area": bool(r["la_area"]),
                 "tier": r["tier"], "signal": r["signal"],
                 **({"p_match_p10": r["p_match_p10"], "p_match_p90": r["p_match_p90"]} if "p_match_p10" in r else {})}
                for r in self.selected_rows()]
            if self.plan and (self.plan.divisions or pr.fixed_divisions):
                d["geographic_preference"] = list(self.plan.divisions or pr.fixed_divisions)
                d["geographic_preference_source"] = "optimized" if self.plan.divisions else "profile"
            d["tiers"] = dict(m.n_by_tier)
            d["signals_by_tier"] = {k: dict(v) for k, v in m.signals_by_tier.items()}
            d |= self._safety_keys()
            d["guide"] = guide_for(pr)
            if self.signal_gain is not None:
                d["signal_gain"] = self.signal_gain
        pc = self.published_curve
        if pc is not None:
            d["p_match_published_curve"] = list(pc)
        if m is not None:
            d["p_match_score_check"] = self.score_check
            d["p_match_cap_check"] = self.cap_check
            d["p_match_plan"] = self.plan_figure()
        d["warnings"] = list(self.warnings)
        if self.robustness is not None:
            d["robustness"] = self.robustness
        d["solver"] = {"name": {"cbc": "CBC", "highs": "HiGHS"}.get(
            o.engine, "dynamic-program" if o.path == "dp" else "count-scan"), "path": o.path, "seconds": o.seconds,
                       "wall_seconds": o.wall, "gap": o.gap, "bound": o.bound, "solves": o.solves,
                       "candidates": o.n_candidates, "message": o.message}
        d["constraints"] = {"budget": pr.budget, "max_applications": pr.max_apps_given,
                            "min_applications": pr.min_apps, "la_share_max": pr.la_share_max,
                            "must_apply": [pr.ids[i] for i in pr.must], "binding": self.limits_binding()}
        d["data"] = {"synthetic": pr.synthetic, "probabilities": pr.source,
                     "excluded": len(pr.excluded_rows), "notes": list(pr.notes),
                     "note": _synthetic_note() if pr.synthetic else ""}
        return d


    def _safety_keys(self) -> dict:
        """objective safety_first: the margin, the best reachable P(match) and the lists set
        against the answer (``alternatives``; null for the other objectives)."""
        if self.alternatives is None:
            return {"safety_margin": None, "p_match_best": None, "alternatives": None}
        m = self.metrics
        alts = {}
        for name, (plan, am, status, gap) in self.alternatives.items():
            alts[name] = list_summary(self.problem, plan, am, status) | {"gap": gap,
                "difference": {"p_match": m.p_match - am.p_match, "p_match_by_model": _by_model(m, am),
                               "p_match_la": m.p_match_la - am.p_match_la,
                               "p_match_west": m.p_match_west - am.p_match_west,
                               "expected_utility": m.expected_utility - am.expected_utility}}
        return {"safety_margin": self.safety_margin, "p_match_best": self.p_match_best,
                "p_match_floor": max(0.0, self.p_match_best - self.safety_margin), "alternatives": alts}


def _by_model(m: Metrics, am: Metrics) -> list[float] | None:
    """The P(match) difference's 10th-90th percentile under single plausible models."""
    from allocator.optim.evaluate import by_model

    iv = by_model(m, am)
    return None if iv is None else list(iv)


def list_summary(pr: Problem, plan: Plan, m: Metrics, status: Status) -> dict:
    """One list in a few figures: P(match), P(match in LA), counts and signals by tier, fees."""
    sig = dict(plan.signals)
    return {"status": status.value, "p_match": m.p_match, "p_match_la": m.p_match_la,
            "p_match_interval": None if m.p_match_interval is None else list(m.p_match_interval),
            "p_match_la_interval": None if m.p_match_la_interval is None else list(m.p_match_la_interval),
            **west_row(m), "expected_utility": m.expected_utility, "n_applications": m.n_applications, "n_la": m.n_la,
            "tiers": dict(m.n_by_tier), "signals_by_tier": {k: dict(v) for k, v in m.signals_by_tier.items()},
            "fees": m.cost, "program_ids": [pr.ids[i] for i in plan.idx],
            "signals": {pr.ids[i]: sig[i] for i in plan.idx if i in sig},
            "geographic_preference": list(plan.divisions or pr.fixed_divisions)}


def _model_info(pr: Problem) -> dict:
    """Which model the probabilities come from (the card, the ensemble, the objective's mixture)."""
    if pr.fm_ensemble is None:
        return {"kind": "catalog p_match" if pr.source == "catalog p_match" else "one-factor copula",
                "correlation": pr.rho, "ensemble_cards": None, "interval": None}  # no plausible models at all
    if pr.fm is None:  # a set correlation: the copula answers; the ensemble's range is the two-stage model's
        return {"kind": "one-factor copula", "correlation": pr.rho, "ensemble_cards": pr.fm_ensemble.n_cards,
                "interval": None if pr.fm_ensemble.n_cards < 2 else
                "10th-90th percentile of P(match) over the two-stage model's ensemble (that model's "
                "range for this list, not a range around this P(match))"}
    one = pr.fm_ensemble.n_cards < 2  # a card without an ensemble: no range (the warnings say why)
    return {"kind": "two-stage", "objective": pr.card_choice, "ensemble_cards": pr.fm_ensemble.n_cards,
            "objective_nodes": len(pr.fm) if pr.fm is not None else None,
            "interval": None if one else "10th-90th percentile of P(match) over the accepted cards of the ensemble"}


def _synthetic_note() -> str:
    from allocator.output.report import SYNTHETIC_NOTE  # report imports this module

    return SYNTHETIC_NOTE


NO_INTERVIEW_STAGE = ("no interview stage: the catalog gives p_match without p_interview, so mean_interviews, "
                      "the interview medians and interviews_distribution count successes (programs that would "
                      "match), not interviews")


def mc_json(mc, problem) -> dict:
    """The Monte Carlo check's JSON (``mc``): ``interviews_modelled`` false, with a ``note``, when
    the catalog's own p_match leaves no interview stage to count."""
    d = mc.to_dict()
    d["interviews_modelled"] = bool(problem.interviews_modelled)
    if not d["interviews_modelled"]:
        d["note"] = NO_INTERVIEW_STAGE
    return d
