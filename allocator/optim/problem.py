"""The optimization problem: candidate programs with their probabilities and costs, and
the constraints, built from a catalog, a profile and (when the catalog has no ``p_match``)
the probability model.  Building a problem never solves it.

Units: USD for costs and the budget; probabilities in [0, 1]; ``la_share_max`` a fraction
of the number of applications.  Index ``i`` runs over the ``candidates`` (the catalog's
rows that may be chosen; ``programs`` is the same rows as a pandas DataFrame, built on first
use): never_apply and ineligible programs are moved to ``excluded`` with their reason.
"""
from __future__ import annotations

import dataclasses

import logging
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from allocator.inputs.catalog import Catalog
from allocator.model.copula import Nodes, log_fail, make_nodes
from allocator.model.factors import FactorModel
from allocator.inputs.fees import FeeSchedule

log = logging.getLogger(__name__)

SIGNAL_KINDS = ("gold", "silver")


#: the named constraint groups a conflict can be made of, in the order the explanations give them
#: (the formulation names its rows by them; allocator.optim.explain words them)
DROPPABLE = ("budget", "max_applications", "min_applications", "la_share", "must_apply",
             "specialty_limits", "target")

@dataclass(frozen=True)
class Plan:
    """A list: sorted candidate indices, the signals sent, the geographic divisions chosen."""

    idx: tuple[int, ...]
    signals: tuple[tuple[int, str], ...] = ()
    divisions: tuple[str, ...] = ()

    @staticmethod
    def of(idx, signals=None, divisions=()) -> "Plan":
        sig = tuple(sorted((int(i), str(k)) for i, k in (signals or {}).items())) if isinstance(signals, dict) \
            else tuple(sorted(signals or ()))
        return Plan(tuple(sorted(int(i) for i in idx)), sig, tuple(sorted(divisions)))

    def __len__(self) -> int:
        return len(self.idx)


def count_cap(max_apps, n: int, min_apps: int) -> int:
    """``max_apps`` as the limit it is: no list holds more than the ``n`` candidates, so a
    larger number (1e9 for "no limit") is ``n`` (kept at ``min_apps`` when that is larger, so
    an impossible minimum is still named as such).  Every per-count table is this long."""
    return int(min(int(max_apps), max(int(n), int(min_apps))))


@dataclass(frozen=True, eq=False)
class Problem:
    """Everything the solvers and the evaluator need, as arrays over the candidates."""

    candidates: Catalog  # the candidate programs' catalog rows, in index order
    p: np.ndarray  # P(success) if applied, no signal, no geographic preference
    q: np.ndarray  # P(interview) (>= p); used by the simulator's interview counts
    la: np.ndarray  # bool
    extra: np.ndarray  # fee_extra, USD
    spec: np.ndarray  # index into `specialties`
    specialties: tuple[str, ...]
    utility: np.ndarray  # utility of matching at each program (objective "utility")
    schedule: FeeSchedule
    budget: float
    max_apps: int  # max_applications capped at the candidates (count_cap): what the solvers use
    min_apps: int
    la_share_max: float
    rho: float
    objective: Literal["p_match", "utility", "p_match_la", "safety_first"] = "p_match"
    safety_margin: float = 0.01  # objective "safety_first": P(match) may fall this far below the best reachable
    must: tuple[int, ...] = ()
    excluded_rows: tuple[dict, ...] = ()  # {"program_id", "name", "reason", "la_area", "specialty", "fee_extra"} of each program left out
    synthetic: bool = False
    source: str = ""  # "catalog p_match" or the model card's name
    spec_min: dict[str, int] = field(default_factory=dict)
    spec_max: dict[str, int] = field(default_factory=dict)
    # signals and geographic preference (None / empty when not modelled)
    p_signal: dict[str, np.ndarray] = field(default_factory=dict)  # kind -> p if signalled
    signals_available: dict[tuple[str, str], int] = field(default_factory=dict)  # (specialty, kind) -> count
    p_geo: np.ndarray | None = None  # p when the program's division is preferred
    p_signal_geo: dict[str, np.ndarray] = field(default_factory=dict)  # kind -> p if signalled and preferred
    max_divisions: int = 0  # divisions the optimizer may choose (0: geographic preference not optimized)
    fixed_divisions: tuple[str, ...] = ()  # divisions the user chose (already applied to p)
    notes: tuple[str, ...] = ()  # what is and is not modelled, shown with the result
    # the two-stage model (allocator.model.factors): the mixture the objective uses (the
    # ensemble, or one card with --card), the ensemble (for intervals) and the central card;
    # None when the catalog gives its own p_match or a correlation was set (one-factor copula)
    fm: FactorModel | None = None
    fm_ensemble: FactorModel | None = None
    fm_central: FactorModel | None = None
    card_choice: str = ""  # "ensemble" or the card optimized alone
    ensemble_seasons: tuple = ()  # the season of each card of fm_ensemble ((): none recorded)
    card: object = None  # the model card (allocator.model.probability.ModelCard) behind the mixtures
    applicant: object = None  # the profile's [applicant] (allocator.inputs.profile.Applicant), for reports
    # nodes fixed by the caller (the season update's posterior mixture: weights need not sum
    # to 1, P(no match) = sum_k w_k prod_i (1 - p_i(z_k)) still); used at the problem's own rho
    fixed_nodes: Nodes | None = None
    max_apps_asked: int | None = None  # max_applications as given, before count_cap (None: max_apps)
    input_warnings: tuple[str, ...] = ()  # the profile's defaults and contradictions (profile_warnings)
    # derived arrays (quadrature nodes, division names), per instance: dataclasses.replace
    # starts a fresh one; with_limits shares what a change of limits leaves valid
    _cache: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    LIMITS = frozenset({"budget", "max_apps", "min_apps", "la_share_max", "must", "spec_min", "spec_max",
                        "objective", "safety_margin"})

    def with_limits(self, **changes) -> "Problem":
        """The same programs and probabilities under other limits (budget USD, counts, LA
        share, must_apply, specialty limits, objective); the derived arrays, which depend on
        none of these, are shared with this problem instead of recomputed."""
        bad = set(changes) - self.LIMITS
        if bad:
            raise ValueError(f"with_limits changes limits only, not {sorted(bad)}")
        if "max_apps" in changes:
            changes["max_apps_asked"] = int(changes["max_apps"])
            changes["max_apps"] = count_cap(changes["max_apps"], self.n, changes.get("min_apps", self.min_apps))
        out = dataclasses.replace(self, **changes)
        out._cache.update(self._cache)
        return out

    # ------------------------------------------------------------------ basics
    @property
    def max_apps_given(self) -> int:
        """max_applications as the user gave it (echoed and shown; the solvers read max_apps)."""
        return self.max_apps if self.max_apps_asked is None else self.max_apps_asked

    @property
    def n(self) -> int:
        return len(self.p)

    @property
    def programs(self):
        """The candidates' catalog rows as a pandas DataFrame (pandas loads on first use)."""
        return self.candidates.df

    @property
    def excluded(self):
        """The programs left out, with their reason, as a pandas DataFrame (program_id, name, reason)."""
        import pandas as pd

        return pd.DataFrame(list(self.excluded_rows), columns=["program_id", "name", "reason"])

    @property
    def ids(self) -> list[str]:
        if "ids" not in self._cache:
            self._cache["ids"] = tuple(self.candidates.column("program_id").tolist())
        return list(self._cache["ids"])

    def index_of(self, program_ids) -> list[int]:
        pos = {pid: i for i, pid in enumerate(self.ids)}
        return [pos[x] for x in program_ids]

    @property
    def division_array(self) -> np.ndarray:
        """Census division of each candidate as str ("" when unknown, e.g. territories)."""
        if "division_array" not in self._cache:
            self._cache["division_array"] = np.array(
                [str(x) if isinstance(x, str) else "" for x in self.candidates.column("division")], dtype=object)
        return self._cache["division_array"]

    @property
    def count_based_costs(self) -> bool:
        """True when a list's cost depends only on how many programs of each specialty it has."""
        return not self.extra.any()  # (NaN counts as a cost, as extra == 0 did)

    @property
    def has_signals(self) -> bool:
        return bool(self.p_signal) and any(v > 0 for v in self.signals_available.values())

    @property
    def has_geo(self) -> bool:
        return self.p_geo is not None and self.max_divisions > 0

    def without_bonuses(self) -> "Problem":
        """The same problem with no signal or division to choose (plain probabilities): its
        lists are lists of the original, so its optimum is a lower bound on the original's."""
        return dataclasses.replace(self, p_signal={}, signals_available={}, p_geo=None, p_signal_geo={},
                                   max_divisions=0)

    def with_best_bonuses(self) -> "Problem":
        """A relaxation: every program at its best probability (signalled and in a preferred
        division) and no fee_extra, with nothing left to choose; for any list and any count
        vector its P(match) is at least the original's and its cost at most the original's."""
        fm = self.fm
        if fm is not None:
            names = ["plain"] + [k for k in self.p_signal] + (["geo"] + [f"{k}_geo" for k in self.p_signal_geo]
                                                              if self.p_geo is not None else [])
            fm = fm.with_eta("plain", np.max(np.stack([fm.eta[v] for v in names]), axis=0))
        return dataclasses.replace(self, p=np.max(np.stack(self.variants()), axis=0), extra=np.zeros(self.n),
                                   p_signal={}, signals_available={}, p_geo=None, p_signal_geo={},
                                   max_divisions=0, fm=fm)

    # ------------------------------------------------------------------ node mixture
    def variant_p(self, variant: str) -> np.ndarray:
        """Marginal P(success) of every candidate in a variant (plain, geo, gold, gold_geo, ...)."""
        if variant == "plain":
            return self.p
        if variant == "geo":
            return self.p_geo
        if variant.endswith("_geo"):
            return self.p_signal_geo[variant[:-4]]
        return self.p_signal[variant]

    def node_weights(self) -> np.ndarray:
        """Weights of the mixture nodes the objective uses (sum to 1)."""
        return self.fm.w if self.fm is not None else self.nodes().w

    def log_fail_matrix(self, variant: str = "plain", idx=None) -> np.ndarray:
        """ln(1 - P(success | node)) of candidates ``idx`` (default all), (K, m)."""
        if self.fm is not None:
            return self.fm.log_fail(variant, idx)
        p = self.variant_p(variant)
        p = p if idx is None else p[np.asarray(idx, dtype=int)]
        nodes = self.nodes()
        return log_fail(p, nodes.rho, nodes.z)

    def plan_variants(self, plan: Plan) -> list[str]:
        """The variant each program of ``plan`` takes (its signal and whether its division is preferred)."""
        idx = np.asarray(plan.idx, dtype=int)
        on = np.zeros(len(idx), bool)
        if self.p_geo is not None and plan.divisions:
            on = np.isin(self.division_array[idx], list(plan.divisions))
        sig = dict(plan.signals)
        out = []
        for j, i in enumerate(idx):
            k = sig.get(int(i))
            base = k if k else ""
            out.append((f"{base}_geo" if base else "geo") if on[j] else (base or "plain"))
        return out

    def plan_log_fail(self, plan: Plan, fm: FactorModel | None = None) -> np.ndarray:
        """(K, m) ln(1 - P(success | node)) of the plan's programs, under ``fm`` (default the
        objective's mixture; the one-factor nodes when there is none)."""
        fm = fm or self.fm
        if fm is None:
            nodes = self.nodes()
            return log_fail(self.effective_p(plan), nodes.rho, nodes.z)
        return self._by_variant(plan, fm, fm.log_fail)

    def plan_pi(self, plan: Plan, fm: FactorModel | None = None) -> np.ndarray:
        """(K, m) P(interview | node) of the plan's programs under ``fm`` (default the
        objective's mixture, which must exist), each at its variant."""
        fm = fm or self.fm
        return self._by_variant(plan, fm, fm.pi)

    def plan_range(self, plan: Plan) -> tuple[np.ndarray, np.ndarray] | None:
        """10th and 90th percentile over the ensemble's cards of each plan program's P(success)
        at its variant, (m,) each; None without an ensemble of at least two cards."""
        fe = self.fm_ensemble
        if fe is None or fe.n_cards < 2 or not len(plan.idx):
            return None
        per = fe.card_means(self._by_variant(plan, fe, fe.success))
        return np.percentile(per, 10, axis=0), np.percentile(per, 90, axis=0)

    def _by_variant(self, plan: Plan, fm: FactorModel, per) -> np.ndarray:
        """(K, m): ``per(variant, idx)`` for the plan's programs, grouped by variant."""
        idx = np.asarray(plan.idx, dtype=int)
        var = np.array(self.plan_variants(plan), dtype=object)
        out = np.empty((len(fm), len(idx)))
        for v in set(var):
            cols = np.nonzero(var == v)[0]
            out[:, cols] = per(v, idx[cols])
        return out

    def variants(self) -> list[np.ndarray]:
        """Every probability a candidate can take: plain, signalled, preferred, both."""
        parts = [self.p, *self.p_signal.values()]
        if self.p_geo is not None:
            parts += [self.p_geo, *self.p_signal_geo.values()]
        return parts

    def all_probabilities(self) -> np.ndarray:
        return np.concatenate(self.variants())

    def nodes(self, rho: float | None = None) -> Nodes:
        """Quadrature nodes for ``rho`` (default: the problem's), accurate for any list of
        these candidates."""
        r = self.rho if rho is None else float(rho)
        if self.fixed_nodes is not None and r == self.rho:
            return self.fixed_nodes
        key = ("nodes", r)
        if key not in self._cache:
            self._cache[key] = make_nodes(r, self.all_probabilities())
        return self._cache[key]

    def list_cost(self, idx) -> tuple[float, dict[str, float]]:
        """(total USD, USD by specialty) of applying to candidates ``idx``: ERAS fees per
        specialty (tiers restart) plus each program's fee_extra."""
        idx = np.asarray(list(idx), dtype=int)
        by = {}
        for s, name in enumerate(self.specialties):
            sel = idx[self.spec[idx] == s] if len(idx) else idx
            if len(sel):
                by[name] = self.schedule.fee(len(sel)) + float(self.extra[sel].sum())
        return float(sum(by.values())), by

    # ------------------------------------------------------------------ probabilities of a plan
    def effective_p(self, plan: Plan) -> np.ndarray:
        """P(success) of each program in ``plan.idx`` given the plan's signals and divisions.

        Signals and a preferred division both multiply the interview odds (the model
        card's odds ratios), so a program with both takes ``p_signal_geo``."""
        idx = np.asarray(plan.idx, dtype=int)
        p = self.p[idx].copy()
        on = np.zeros(len(idx), bool)
        if self.p_geo is not None and plan.divisions:
            div = self.division_array[idx]
            on = np.isin(div, list(plan.divisions))
            p[on] = self.p_geo[idx][on]
        if plan.signals:
            pos = {int(i): j for j, i in enumerate(idx)}
            for i, kind in plan.signals:
                j = pos[int(i)]
                p[j] = (self.p_signal_geo[kind] if on[j] else self.p_signal[kind])[int(i)]
        return p

    @property
    def interviews_modelled(self) -> bool:
        """False when the catalog gives p_match alone (no p_interview): there is no interview
        stage, and the simulator's "interviews" are the successes (programs that would match)."""
        return self.fm is not None or not np.array_equal(self.q, self.p)

    def effective_q(self, plan: Plan) -> np.ndarray:
        """P(interview) for the plan's programs, scaled with the success probability."""
        idx = np.asarray(plan.idx, dtype=int)
        base_p, base_q = self.p[idx], self.q[idx]
        p = self.effective_p(plan)
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(base_p > 0, base_q / np.where(base_p > 0, base_p, 1), 1.0)
        return np.clip(np.maximum(p, np.minimum(1.0, p * ratio)), 0, 1)


