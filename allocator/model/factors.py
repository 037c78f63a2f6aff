"""The two-stage model with separate applicant factors (model cards with a ``[factors]`` section).

Why two factors.  With one common factor and nested thresholds (:mod:`allocator.model.copula`),
an applicant with ten interviews almost surely matches: the interview count *is* the factor.
Published figures say otherwise (about 75% at ten interviews in Internal Medicine).  Here
the interview stage and the match stage have their own latent factors:

- **interview factor** ``Z`` (how programs read the file: letters, school, gaps, everything
  the profile misses): program i interviews with ``logit pi_i(Z) = eta_i + s * Z``, where
  ``eta_i`` is the card's interview log-odds (signals and a geographic preference multiply
  the odds) and ``s = factors.interview_sd``;
- **match factor** ``R`` (how programs rank the applicant after the interview): the applicant
  is "rankable" (``R = 1``) with probability ``expit(c0 + c1 * Z)`` (``factors.rankable_*``;
  ``c1 > 0``: a file that earns interviews tends to earn ranks too) or not (``R = 0``); an
  interviewed program matches with ``logit mu_i(R) = zeta_i + d * (1 - R)``, ``zeta_i`` the
  card's P(match | interview) log-odds, ``d = factors.unrankable_match_shift`` (< 0).

``Z`` takes the ``factors.interview_nodes`` values of a Gauss-Hermite rule (probabilists'),
with their weights (nodes lighter than MIN_NODE_WEIGHT dropped): the model *is* this finite mixture (no integration error anywhere; the
calibration, the optimizer and the Monte Carlo check all use the same nodes).  Given a node
(z, r), programs are independent, so

    P(no match) = sum_k w_k prod_i (1 - pi_i(z_k) mu_i(r_k))^{x_i}
                = sum_k w_k exp(sum_i x_i ln(1 - pi_i(z_k) mu_i(r_k))),

a finite mixture of exp-affine terms in the list x: outer approximation stays exact.  An
ensemble of cards is the same mixture over (card, node) pairs with weights w_card * w_k.

Units: log-odds; probabilities in [0, 1].
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.polynomial.hermite_e import hermegauss

from allocator.model.copula import LOG_FLOOR  # ln(1 - p) for p = 1, defined once
from allocator.model.logistic import expit

# Nodes lighter than this are not part of the model (each card's weights are renormalized over
# the rest): the far tails of Z and rankable-but-very-weak combinations carry under 1% of the
# mass together, and dropping them halves the nodes the optimizer carries per card.
MIN_NODE_WEIGHT = 0.005


@dataclass(frozen=True)
class CardNodes:
    """One card's factor nodes: interview shift ``S`` (= s z), match shift ``T`` (0 or d), weights."""

    S: np.ndarray
    T: np.ndarray
    w: np.ndarray
    z: np.ndarray | None = None  # the interview factor Z itself (S = s Z), for how strong a node is


def card_nodes(factors) -> CardNodes:
    """The (z, R) nodes of a card's ``[factors]`` section (a validated FactorSpec)."""
    n = int(factors.interview_nodes.value)
    z, w = hermegauss(n)
    w = w / w.sum()
    pr = expit(factors.rankable_intercept.value + factors.rankable_slope.value * z)
    s = factors.interview_sd.value
    S = np.concatenate([s * z, s * z])
    T = np.concatenate([np.zeros(n), np.full(n, factors.unrankable_match_shift.value)])
    W = np.concatenate([w * pr, w * (1.0 - pr)])
    keep = W > MIN_NODE_WEIGHT
    return CardNodes(S[keep], T[keep], W[keep] / W[keep].sum(), np.concatenate([z, z])[keep])


@dataclass(eq=False)
class FactorModel:
    """Conditional probabilities of a set of programs under a mixture of (card, node) pairs.

    ``eta[variant]``: (C, n) interview log-odds per card (variants: plain, geo, gold,
    silver, gold_geo, silver_geo); ``zeta``: (C, n) match log-odds; node k belongs to card
    ``card[k]`` with weight ``w[k]`` (weights sum to 1 over all nodes), shifts ``S[k]``, ``T[k]``,
    interview factor ``z[k]`` (None when the nodes were given as shifts only).
    ``interview_scale`` multiplies every P(interview | node) (1; the season update's late
    applications: the share of invitations still to be sent).  A mixture built for a
    conditional law (the season update's posterior times the answers' factor) may carry
    weights that sum to less than 1: P(no match) is still sum_k w_k prod_i (...).
    """

    eta: dict[str, np.ndarray]
    zeta: np.ndarray
    card: np.ndarray
    S: np.ndarray
    T: np.ndarray
    w: np.ndarray
    names: tuple[str, ...]
    z: np.ndarray | None = None
    interview_scale: float = 1.0
    _cache: dict = field(default_factory=dict, repr=False)

    @property
    def n_cards(self) -> int:
        return len(self.names)

    @property
    def n(self) -> int:
        return self.zeta.shape[1]

    def __len__(self) -> int:
        return len(self.w)

    def pi(self, variant: str, idx=None) -> np.ndarray:
        """P(interview | node), (K, m)."""
        e = self.eta[variant][self.card]
        e = e if idx is None else e[:, idx]
        out = expit(e + self.S[:, None])
        return out if self.interview_scale == 1.0 else self.interview_scale * out

    def mu(self, idx=None) -> np.ndarray:
        """P(match | interview, node), (K, m)."""
        z = self.zeta[self.card]
        z = z if idx is None else z[:, idx]
        return expit(z + self.T[:, None])

    def success(self, variant: str, idx=None) -> np.ndarray:
        return self.pi(variant, idx) * self.mu(idx)

    def log_fail(self, variant: str, idx=None) -> np.ndarray:
        """ln(1 - P(success | node)), (K, m), floored at LOG_FLOOR; cached per variant for idx=None."""
        if idx is None:
            if variant not in self._cache:
                self._cache[variant] = np.maximum(np.log1p(-self.success(variant)), LOG_FLOOR)
            return self._cache[variant]
        return self.log_fail(variant)[:, np.asarray(idx, dtype=int)]

    def marginal(self, variant: str) -> np.ndarray:
        """P(success) averaged over the mixture, (n,)."""
        return self.w @ self.success(variant)

    def marginal_interview(self, variant: str = "plain") -> np.ndarray:
        return self.w @ self.pi(variant)

    def keys(self, variant: str) -> np.ndarray:
        """(n, 2C) dominance keys: program i's keys >= program j's (componentwise) implies
        P(success | node) of i >= j's at every node (both stages are monotone in the log-odds)."""
        return np.hstack([self.eta[variant].T, self.zeta.T])

    def card_means(self, X: np.ndarray) -> np.ndarray:
        """Each card's weighted mean of the node rows of ``X`` (K, m): (C, m)."""
        return np.stack([self.w[on] @ X[on] / self.w[on].sum() for on in (self.card == c for c in range(self.n_cards))])

    def per_card(self, L: np.ndarray) -> np.ndarray:
        """P(no success) per card from node exposures ``L`` (K,): (C,)."""
        num = np.bincount(self.card, weights=self.w * np.exp(L), minlength=self.n_cards)
        den = np.bincount(self.card, weights=self.w, minlength=self.n_cards)
        return num / den

    def subset(self, keep: np.ndarray) -> "FactorModel":
        """The same mixture over the programs ``keep`` (bool mask or indices)."""
        return FactorModel({k: v[:, keep] for k, v in self.eta.items()}, self.zeta[:, keep], self.card, self.S,
                           self.T, self.w, self.names, self.z, self.interview_scale)

    def with_eta(self, variant: str, eta: np.ndarray) -> "FactorModel":
        out = FactorModel(dict(self.eta), self.zeta, self.card, self.S, self.T, self.w, self.names, self.z,
                          self.interview_scale)
        out.eta[variant] = eta
        return out

    def conditioned(self, w: np.ndarray, eta: dict[str, np.ndarray], interview_scale: float) -> "FactorModel":
        """The same nodes with weights ``w`` (K,), interview log-odds ``eta`` by variant and
        ``interview_scale``: the season update's mixture for applications sent now."""
        return FactorModel(eta, self.zeta, self.card, self.S, self.T, np.asarray(w, float), self.names, self.z,
                           float(interview_scale))

    def only(self, cards) -> "FactorModel":
        """The mixture restricted to the given card indices (weights renormalized)."""
        cards = np.atleast_1d(np.asarray(cards, int))
        on = np.isin(self.card, cards)
        remap = {int(c): j for j, c in enumerate(cards)}
        card = np.array([remap[int(c)] for c in self.card[on]], int)
        w = self.w[on] / self.w[on].sum()
        return FactorModel({k: v[cards] for k, v in self.eta.items()}, self.zeta[cards], card, self.S[on],
                           self.T[on], w, tuple(self.names[int(c)] for c in cards),
                           None if self.z is None else self.z[on], self.interview_scale)


def mixture(parts: list[tuple[str, dict[str, np.ndarray], np.ndarray, CardNodes]]) -> FactorModel:
    """Equal-weight mixture of cards: each part is (name, eta by variant (n,), zeta (n,), nodes)."""
    C = len(parts)
    eta = {v: np.stack([p[1][v] for p in parts]) for v in parts[0][1]}
    zeta = np.stack([p[2] for p in parts])
    card = np.concatenate([np.full(len(p[3].w), c) for c, p in enumerate(parts)])
    S = np.concatenate([p[3].S for p in parts])
    T = np.concatenate([p[3].T for p in parts])
    w = np.concatenate([p[3].w / C for p in parts])
    z = np.concatenate([p[3].z for p in parts]) if all(p[3].z is not None for p in parts) else None
    return FactorModel(eta, zeta, card, S, T, w, tuple(p[0] for p in parts), z)
