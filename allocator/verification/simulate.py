"""Independent Monte Carlo check of P(at least one match) for one application list.

Units and conventions: probabilities in [0, 1]; counts are numbers of draws.  This module
shares no code with the analytic evaluator (:mod:`allocator.optim.evaluate`,
:mod:`allocator.model.copula`): it imports only numpy, scipy and :mod:`allocator.errors`,
so a bug in one cannot hide in the other.  The draws themselves (thresholds, counts,
threads, the two methods) are in :mod:`allocator.verification.draws`, under the same rule.

The model is the one-factor Gaussian copula (README "How it works").  Per applicant draw,
Z ~ N(0, 1) and, per program i, E_i ~ N(0, 1), all independent, and
``U_i = sqrt(rho) Z + sqrt(1 - rho) E_i``::

    interview_i = U_i < Phi^-1(q_i)        success_i = U_i < Phi^-1(p_i)

so success implies interview (q_i >= p_i; without ``q``, q_i = p_i).  p_i = 0 never
succeeds and p_i = 1 always does (the thresholds are -inf and +inf).  The applicant matches
iff at least one program succeeds; "matches in LA" iff at least one program flagged ``la``
succeeds.

How it is computed.  The test is rewritten as ``E_i + c Z < Phi^-1(p_i) / sqrt(1 - rho)``
with ``c = sqrt(rho / (1 - rho))``: the shift ``c Z`` is formed once per draw, each program's
threshold once per list, and nothing but an add and a compare touches the big arrays (no
``norm.cdf`` per element).  Work goes program by program over a chunk of draws, so memory
is O(chunk) whatever the list length, and programs are split over threads (numpy releases
the GIL while it fills and compares arrays).  With ``rho <= 0.99`` the E_i and the
comparison are float32 (the thresholds move by < 1e-5 standard deviations, far below the
sampling error); above that, float64.

Random streams (method ``"mc"``).  ``numpy.random.default_rng(seed).spawn(n + 1)`` gives
one generator for Z and one per list position.  Each stream is read sequentially, so the
result is bit-for-bit the same for every ``chunk`` and every thread count: chunking and
threads are performance knobs only.

Method ``"sobol"``.  Eight independently scrambled Sobol' sequences
(``scipy.stats.qmc.Sobol(n + 1, scramble=True, seed=...)``, seeds spawned from
``default_rng(seed)``), each of the same power-of-two length; column 0 becomes Z and
columns 1..n the E_i through Phi^-1.  ``draws`` is rounded up to 8 * 2^k.  The estimate is
the mean of the eight replicates, the standard error their standard deviation / sqrt(8),
and the 95% interval Student-t with 7 degrees of freedom (an honest, if noisy, error bar
for randomized QMC).  For ``"mc"`` the standard error is binomial, sqrt(p(1 - p)/draws),
and the 95% interval is Wilson's.

>>> r = simulate([0.2, 0.3], rho=0.0, draws=20_000, seed=1)
>>> abs(r.p_match - (1 - 0.8 * 0.7)) < 4 * r.std_error
True
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from allocator.errors import InputError
from allocator.verification.draws import Model, run_mc, run_sobol

logger = logging.getLogger(__name__)

__all__ = ["SimulationResult", "simulate", "METHODS"]

METHODS = ("mc", "sobol")


@dataclass(frozen=True, eq=False)
class SimulationResult:
    """What :func:`simulate` measured.  Arrays are read-only.

    ``interviews_hist[k]`` / ``successes_hist[k]``: number of draws with k interviews /
    k successes, k = 0..n.  ``interviews_hist_matched[k]``: the same count among matched
    draws only (the unmatched ones are ``interviews_hist - interviews_hist_matched``).
    ``ci_method`` names the interval: "wilson" (mc) or "student-t/8 scrambles" (sobol).
    """

    p_match: float
    ci95: tuple[float, float]
    std_error: float
    p_match_la: float | None
    draws: int
    seed: int
    method: str
    interviews_hist: np.ndarray
    successes_hist: np.ndarray
    mean_interviews: float
    interviews_hist_matched: np.ndarray
    std_error_la: float | None = None
    ci_method: str = "wilson"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SimulationResult):
            return NotImplemented
        return (
            (self.p_match, self.ci95, self.std_error, self.p_match_la, self.draws,
             self.seed, self.method, self.mean_interviews, self.std_error_la,
             self.ci_method)
            == (other.p_match, other.ci95, other.std_error, other.p_match_la, other.draws,
                other.seed, other.method, other.mean_interviews, other.std_error_la,
                other.ci_method)
            and np.array_equal(self.interviews_hist, other.interviews_hist)
            and np.array_equal(self.successes_hist, other.successes_hist)
            and np.array_equal(self.interviews_hist_matched, other.interviews_hist_matched)
        )

    __hash__ = None  # type: ignore[assignment]  # holds arrays

    @property
    def interviews_hist_unmatched(self) -> np.ndarray:
        return self.interviews_hist - self.interviews_hist_matched

    @property
    def mean_successes(self) -> float:
        return _hist_mean(self.successes_hist)

    def interviews_quantiles(
        self, qs: float | Sequence[float] = (0.1, 0.5, 0.9), among: str = "all"
    ) -> list[int | None]:
        """Quantiles of the number of interviews (inverted-CDF definition: the smallest k
        with P(count <= k) >= q), over ``among`` = "all", "matched" or "unmatched" draws;
        None where that group is empty.

        >>> simulate([1.0, 0.0], 0.0, draws=10).interviews_quantiles([0.5])
        [1]
        """
        hists = {
            "all": self.interviews_hist,
            "matched": self.interviews_hist_matched,
            "unmatched": self.interviews_hist_unmatched,
        }
        if among not in hists:
            raise InputError(f"among={among!r}: use one of {sorted(hists)}")
        qs_list = [float(qs)] if np.isscalar(qs) else [float(x) for x in qs]
        for x in qs_list:
            if not 0.0 <= x <= 1.0:
                raise InputError(f"quantile {x}: must be in [0, 1]")
        return [_hist_quantile(hists[among], x) for x in qs_list]

    @property
    def median_interviews_matched(self) -> int | None:
        return _hist_quantile(self.interviews_hist_matched, 0.5)

    @property
    def median_interviews_unmatched(self) -> int | None:
        return _hist_quantile(self.interviews_hist_unmatched, 0.5)

    def summary(self) -> dict:
        """The headline numbers only (no distributions)."""
        return {
            "p_match": self.p_match,
            "ci95": [self.ci95[0], self.ci95[1]],
            "std_error": self.std_error,
            "p_match_la": self.p_match_la,
            "draws": self.draws,
            "seed": self.seed,
            "method": self.method,
        }

    def to_dict(self) -> dict:
        """JSON-able dict.  ``interviews_distribution[k]`` is the number of draws with k
        interviews (k = 0..n); divide by ``draws`` for probabilities."""
        d = self.summary()
        d.update(
            ci_method=self.ci_method,
            std_error_la=self.std_error_la,
            mean_interviews=self.mean_interviews,
            mean_successes=self.mean_successes,
            median_interviews_matched=self.median_interviews_matched,
            median_interviews_unmatched=self.median_interviews_unmatched,
            interviews_distribution=[int(c) for c in self.interviews_hist],
        )
        return d


def simulate(
    p: Sequence[float] | np.ndarray,
    rho: float,
    *,
    q: Sequence[float] | np.ndarray | None = None,
    la: Sequence[bool] | np.ndarray | None = None,
    draws: int = 200_000,
    seed: int = 0,
    chunk: int | None = None,
    method: str = "mc",
) -> SimulationResult:
    """Simulate the list with success probabilities ``p`` (and interview probabilities
    ``q >= p``, default ``q = p``) under correlation ``rho``; ``la`` flags the LA programs.

    ``draws`` applicant draws (``"sobol"`` rounds it up to 8 * 2^k), seeded by ``seed``;
    ``chunk`` draws are processed per step (it changes speed and memory, never the result;
    for ``"sobol"`` it must be a power of two).  Bad input raises :class:`InputError`.

    >>> simulate([1.0, 0.5], rho=0.4, draws=1_000).p_match
    1.0
    """
    t0 = time.perf_counter()
    p_arr = _prob_vector(p, "p")
    n = len(p_arr)
    q_arr = None
    if q is not None:
        q_arr = _prob_vector(q, "q")
        if len(q_arr) != n:
            raise InputError(
                f"q has {len(q_arr)} entries but p has {n}: give one interview probability per program"
            )
        bad = np.flatnonzero(q_arr < p_arr)
        if len(bad):
            i = int(bad[0])
            raise InputError(
                f"q[{i}] = {q_arr[i]:g} is below p[{i}] = {p_arr[i]:g} ({len(bad)} such programs): "
                "the interview probability must be >= the success probability"
            )
    la_arr = None
    if la is not None:
        la_arr = _flag_vector(la, n)
    rho_f = _check_rho(rho)
    draws_i = _check_int(draws, "draws", minimum=1)
    seed_i = _check_int(seed, "seed", minimum=0)
    if method not in METHODS:
        raise InputError(f"method={method!r}: use one of {list(METHODS)}")
    chunk_i = None if chunk is None else _check_int(chunk, "chunk", minimum=1)

    model = Model.build(p_arr, q_arr, la_arr, rho_f)
    run = run_mc if method == "mc" else run_sobol
    result = _result(run(model, draws_i, seed_i, chunk_i), seed_i, method)
    logger.debug(
        "simulate: n=%d rho=%g draws=%d method=%s p_match=%.6f in %.3f s",
        n, rho_f, result.draws, method, result.p_match, time.perf_counter() - t0,
    )
    return result


# --------------------------------------------------------------------------- validation


def _prob_vector(x, name: str) -> np.ndarray:
    try:
        arr = np.asarray(x, dtype=float)
    except (TypeError, ValueError) as exc:
        raise InputError(f"{name}: not a list of numbers ({exc}); give probabilities in [0, 1]") from None
    if arr.ndim != 1:
        raise InputError(f"{name}: expected a 1-D list of probabilities, got shape {arr.shape}")
    bad = np.flatnonzero(~((arr >= 0.0) & (arr <= 1.0)))  # also catches NaN
    if len(bad):
        i = int(bad[0])
        raise InputError(
            f"{name}[{i}] = {arr[i]}: probabilities must be in [0, 1] ({len(bad)} out of range)"
        )
    return arr


def _flag_vector(x, n: int) -> np.ndarray:
    arr = np.asarray(x)
    if arr.ndim != 1:
        raise InputError(f"la: expected a 1-D list of true/false flags, got shape {arr.shape}")
    if len(arr) != n:
        raise InputError(f"la has {len(arr)} flags but p has {n}: give one flag per program")
    if arr.dtype != bool:
        try:
            ok = np.isin(arr, (0, 1)).all()
        except TypeError:
            ok = False
        if not ok:
            raise InputError("la: flags must be true/false (or 0/1)")
    return arr.astype(bool)


def _check_rho(rho) -> float:
    try:
        r = float(rho)
    except (TypeError, ValueError):
        raise InputError(f"rho={rho!r}: not a number; give a correlation in [0, 1)") from None
    if not 0.0 <= r < 1.0:
        raise InputError(f"rho={rho!r}: the correlation must be in [0, 1) (0 = independent)")
    return r


def _check_int(x, name: str, minimum: int) -> int:
    if isinstance(x, (bool, np.bool_)):
        raise InputError(f"{name}={x!r}: expected an integer >= {minimum}")
    if isinstance(x, (float, np.floating)) and float(x).is_integer():
        x = int(x)
    try:
        v = int(x) if isinstance(x, (int, np.integer)) else None
    except (TypeError, ValueError):
        v = None
    if v is None or v < minimum:
        raise InputError(f"{name}={x!r}: expected an integer >= {minimum}")
    return v


# --------------------------------------------------------------------------- helpers


def _hist_mean(h: np.ndarray) -> float:
    total = int(h.sum())
    return float(np.dot(np.arange(len(h)), h) / total) if total else float("nan")


def _hist_quantile(h: np.ndarray, q: float) -> int | None:
    total = int(h.sum())
    if total == 0:
        return None
    # counts are integers, so a target below 1 means "the first non-empty k"
    return int(np.searchsorted(np.cumsum(h), max(q * total, 1.0), side="left"))


def _frozen(a: np.ndarray) -> np.ndarray:
    a = np.asarray(a)
    a.setflags(write=False)
    return a


def _result(est, seed: int, method: str) -> SimulationResult:
    """The public result of one run (:class:`allocator.verification.draws.Estimate`)."""
    tally = est.tally
    return SimulationResult(
        p_match=float(est.p_match),
        ci95=(float(est.ci95[0]), float(est.ci95[1])),
        std_error=float(est.std_error),
        p_match_la=None if est.p_match_la is None else float(est.p_match_la),
        draws=int(tally.draws),
        seed=int(seed),
        method=method,
        interviews_hist=_frozen(tally.interviews),
        successes_hist=_frozen(tally.successes),
        mean_interviews=_hist_mean(tally.interviews),
        interviews_hist_matched=_frozen(tally.interviews_matched),
        std_error_la=None if est.std_error_la is None else float(est.std_error_la),
        ci_method=est.ci_method,
    )
