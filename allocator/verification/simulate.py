"""Independent Monte Carlo check of P(at least one match) for one application list.

Units and conventions: probabilities in [0, 1]; counts are numbers of draws.  This module
shares no code with the analytic evaluator (:mod:`allocator.optim.evaluate`,
:mod:`allocator.model.copula`): it imports only numpy, scipy and :mod:`allocator.errors`,
so a bug in one cannot hide in the other.

The model is the one-factor Gaussian copula of DESIGN.md.  Per applicant draw,
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
import math
import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np
from scipy import special  # scipy.stats (slow to import) is loaded only for Sobol

from allocator.errors import InputError

logger = logging.getLogger(__name__)

__all__ = ["SimulationResult", "simulate", "METHODS"]

METHODS = ("mc", "sobol")
SOBOL_REPLICATES = 8
_Z95 = float(special.ndtri(0.975))
_MC_CHUNK = 32_768  # draws per step for "mc": working set ~ a few hundred kB per thread
_SOBOL_ELEMENTS = 1 << 22  # chunk * (n + 1) bound for the Sobol block (32 MiB of float64)
_FLOAT32_RHO_MAX = 0.99
_MAX_WORKERS = 4
_SOBOL_MAXDIM = 21201  # dimensions of scipy's Sobol' direction numbers


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
    def n_programs(self) -> int:
        return len(self.interviews_hist) - 1

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

    model = _Model.build(p_arr, q_arr, la_arr, rho_f)
    if method == "mc":
        result = _run_mc(model, draws_i, seed_i, chunk_i)
    else:
        result = _run_sobol(model, draws_i, seed_i, chunk_i)
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


# --------------------------------------------------------------------------- the kernel


@dataclass(frozen=True)
class _Model:
    """Thresholds in the scaled form ``E_i + shift * Z < a_i``."""

    n: int
    shift: float  # sqrt(rho / (1 - rho))
    a_success: np.ndarray  # Phi^-1(p) / sqrt(1 - rho), +-inf at p = 1 / 0
    a_interview: np.ndarray | None  # same for q; None when q = p
    la: np.ndarray | None
    dtype: type

    @staticmethod
    def build(p, q, la, rho) -> "_Model":
        scale = 1.0 / math.sqrt(1.0 - rho)
        dtype = np.float32 if rho <= _FLOAT32_RHO_MAX else np.float64
        a_s = (special.ndtri(p) * scale).astype(dtype)
        a_i = None if q is None else (special.ndtri(q) * scale).astype(dtype)
        return _Model(len(p), math.sqrt(rho) * scale, a_s, a_i, la, dtype)


@dataclass
class _Tally:
    """Running counts over draws (int64 histograms)."""

    n: int
    draws: int = 0
    matched: int = 0
    matched_la: int = 0
    interviews: np.ndarray = field(init=False)
    successes: np.ndarray = field(init=False)
    interviews_matched: np.ndarray = field(init=False)

    def __post_init__(self):
        self.interviews = np.zeros(self.n + 1, np.int64)
        self.successes = np.zeros(self.n + 1, np.int64)
        self.interviews_matched = np.zeros(self.n + 1, np.int64)

    def add(self, n_success: np.ndarray, n_interview: np.ndarray, la_hit: np.ndarray | None):
        m = self.n + 1
        matched = n_success > 0
        self.draws += len(n_success)
        self.matched += int(np.count_nonzero(matched))
        if la_hit is not None:
            self.matched_la += int(np.count_nonzero(la_hit))
        self.successes += np.bincount(n_success, minlength=m)
        self.interviews += np.bincount(n_interview, minlength=m)
        self.interviews_matched += np.bincount(n_interview[matched], minlength=m)

    def merge(self, other: "_Tally"):
        self.draws += other.draws
        self.matched += other.matched
        self.matched_la += other.matched_la
        self.interviews += other.interviews
        self.successes += other.successes
        self.interviews_matched += other.interviews_matched


def _count_dtype(n: int):
    return np.int16 if n < 32_000 else np.int32


def _tally_programs(
    model: _Model,
    programs: range,
    shift_z: np.ndarray | None,
    row: Callable[[int, np.ndarray], np.ndarray],
    size: int,
):
    """Counts of successes / interviews per draw (and LA hits) over ``programs``.

    ``row(i, buf)`` returns E_i for the chunk's draws (it may fill and return ``buf``);
    ``shift_z`` is ``shift * Z`` per draw (None when rho = 0)."""
    cdt = _count_dtype(model.n)
    buf = np.empty(size, model.dtype)
    w = np.empty(size, model.dtype)
    hit = np.empty(size, bool)
    n_s = np.zeros(size, cdt)
    n_i = np.zeros(size, cdt) if model.a_interview is not None else None
    la_hit = np.zeros(size, bool) if model.la is not None else None
    for i in programs:
        e = row(i, buf)
        if shift_z is not None:
            np.add(e, shift_z, out=w)
            e = w
        np.less(e, model.a_success[i], out=hit)
        np.add(n_s, hit, out=n_s)
        if la_hit is not None and model.la[i]:
            np.logical_or(la_hit, hit, out=la_hit)
        if n_i is not None:
            np.less(e, model.a_interview[i], out=hit)
            np.add(n_i, hit, out=n_i)
    return n_s, n_i, la_hit


def _tally_chunk(model: _Model, shift_z, row, size: int, pool, groups) -> tuple:
    """Run :func:`_tally_programs` over the program groups (threads) and add the parts."""
    if pool is None or len(groups) == 1:
        parts = [_tally_programs(model, g, shift_z, row, size) for g in groups]
    else:
        futures = [pool.submit(_tally_programs, model, g, shift_z, row, size) for g in groups]
        parts = [f.result() for f in futures]
    n_s = parts[0][0].copy()
    for part in parts[1:]:
        n_s += part[0]
    if model.a_interview is None:
        n_i = n_s
    else:
        n_i = parts[0][1].copy()
        for part in parts[1:]:
            n_i += part[1]
    la_hit = None
    if model.la is not None:
        la_hit = parts[0][2].copy()
        for part in parts[1:]:
            la_hit |= part[2]
    return n_s, n_i, la_hit


def _program_groups(n: int) -> list[range]:
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cpus = os.cpu_count() or 1
    k = max(1, min(cpus, _MAX_WORKERS, n))
    return [range(j * n // k, (j + 1) * n // k) for j in range(k)]


# --------------------------------------------------------------------------- the methods


def _run_mc(model: _Model, draws: int, seed: int, chunk: int | None) -> SimulationResult:
    size = min(draws, chunk or _MC_CHUNK)
    streams = np.random.default_rng(seed).spawn(model.n + 1)
    z_stream, e_streams = streams[0], streams[1:]
    dtype = model.dtype

    def row(i: int, buf: np.ndarray) -> np.ndarray:
        return e_streams[i].standard_normal(out=buf, dtype=dtype)

    groups = _program_groups(model.n)
    tally = _Tally(model.n)
    with ThreadPoolExecutor(max_workers=len(groups)) if len(groups) > 1 else _NoPool() as pool:
        done = 0
        while done < draws:
            m = min(size, draws - done)
            z = z_stream.standard_normal(m)
            shift_z = (model.shift * z).astype(dtype) if model.shift > 0 else None
            n_s, n_i, la_hit = _tally_chunk(model, shift_z, row, m, pool, groups)
            tally.add(n_s, n_i, la_hit)
            done += m
    p_hat = tally.matched / draws
    se = math.sqrt(p_hat * (1.0 - p_hat) / draws)
    p_la = se_la = None
    if model.la is not None:
        p_la = tally.matched_la / draws
        se_la = math.sqrt(p_la * (1.0 - p_la) / draws)
    return _result(tally, p_hat, _wilson(tally.matched, draws), se, p_la, se_la, seed, "mc", "wilson")


def _run_sobol(model: _Model, draws: int, seed: int, chunk: int | None) -> SimulationResult:
    d = model.n + 1
    if d > _SOBOL_MAXDIM:
        raise InputError(
            f"method='sobol' handles at most {_SOBOL_MAXDIM - 1} programs, got {model.n}; use method='mc'"
        )
    if chunk is not None and chunk & (chunk - 1):
        raise InputError(f"chunk={chunk}: method='sobol' needs a power of two (e.g. {1 << (chunk.bit_length() - 1)})")
    reps = SOBOL_REPLICATES
    per_rep = 1 << max(0, math.ceil(math.log2(math.ceil(draws / reps))))
    if chunk is None:
        chunk = 1 << max(0, (_SOBOL_ELEMENTS // d).bit_length() - 1)
    size = min(chunk, per_rep)
    groups = _program_groups(model.n)
    tally = _Tally(model.n)
    est, est_la = [], []
    with ThreadPoolExecutor(max_workers=len(groups)) if len(groups) > 1 else _NoPool() as pool:
        for child in np.random.default_rng(seed).spawn(reps):
            from scipy.stats import qmc

            engine = qmc.Sobol(d, scramble=True, seed=child)
            part = _Tally(model.n)
            for _ in range(per_rep // size):
                u = engine.random(size)
                # scrambled points lie in (0, 1) but guard against an exact 0 or 1
                np.clip(u, 2.0 ** -60, 1.0 - 2.0 ** -53, out=u)
                ut = np.ascontiguousarray(u.T)  # (n + 1, size): one row per dimension
                shift_z = None
                if model.shift > 0:
                    shift_z = (model.shift * special.ndtri(ut[0])).astype(model.dtype)
                n_s, n_i, la_hit = _tally_chunk(
                    model, shift_z, lambda i, buf: special.ndtri(ut[i + 1], out=buf),
                    size, pool, groups,
                )
                part.add(n_s, n_i, la_hit)
            est.append(part.matched / part.draws)
            est_la.append(part.matched_la / part.draws)
            tally.merge(part)
    from scipy import stats

    t = float(stats.t.ppf(0.975, reps - 1))
    p_hat = float(np.mean(est))
    se = float(np.std(est, ddof=1) / math.sqrt(reps))
    ci = (max(0.0, p_hat - t * se), min(1.0, p_hat + t * se))
    p_la = se_la = None
    if model.la is not None:
        p_la = float(np.mean(est_la))
        se_la = float(np.std(est_la, ddof=1) / math.sqrt(reps))
    return _result(tally, p_hat, ci, se, p_la, se_la, seed, "sobol", f"student-t/{reps} scrambles")


class _NoPool:
    def __enter__(self):
        return None

    def __exit__(self, *exc):
        return False


# --------------------------------------------------------------------------- helpers


def _wilson(k: int, n: int, z: float = _Z95) -> tuple[float, float]:
    """Wilson score interval for k successes in n trials."""
    phat = k / n
    denom = 1.0 + z * z / n
    centre = (phat + z * z / (2 * n)) / denom
    half = z * math.sqrt(phat * (1.0 - phat) / n + z * z / (4 * n * n)) / denom
    lo = 0.0 if k == 0 else max(0.0, centre - half)
    hi = 1.0 if k == n else min(1.0, centre + half)
    return (lo, hi)


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


def _result(tally, p_hat, ci, se, p_la, se_la, seed, method, ci_method) -> SimulationResult:
    return SimulationResult(
        p_match=float(p_hat),
        ci95=(float(ci[0]), float(ci[1])),
        std_error=float(se),
        p_match_la=None if p_la is None else float(p_la),
        draws=int(tally.draws),
        seed=int(seed),
        method=method,
        interviews_hist=_frozen(tally.interviews),
        successes_hist=_frozen(tally.successes),
        mean_interviews=_hist_mean(tally.interviews),
        interviews_hist_matched=_frozen(tally.interviews_matched),
        std_error_la=None if se_la is None else float(se_la),
        ci_method=ci_method,
    )
