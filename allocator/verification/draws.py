"""The random draws of the independent Monte Carlo check (:mod:`allocator.verification.simulate`).

Thresholds in the scaled form ``E_i + shift * Z < a_i`` (:class:`Model`), running counts
(:class:`Tally`), the program-by-program kernel split over threads, and the two ways of
drawing: pseudo-random streams (:func:`run_mc`) and eight scrambled Sobol' sequences
(:func:`run_sobol`).  The module docstring of :mod:`allocator.verification.simulate`
states the model, the streams and the error bars.

Like ``simulate.py`` this module imports only numpy, scipy and :mod:`allocator.errors`
(a test checks it): it shares no code with the analytic evaluator.
"""
from __future__ import annotations

import math
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from allocator.errors import InputError

SOBOL_REPLICATES = 8
Z95 = 1.959963984540054  # Phi^-1(0.975) (scipy.special.ndtri(0.975); scipy.special loads where arrays need it)
_MC_CHUNK = 32_768  # draws per step for "mc": working set ~ a few hundred kB per thread
_SOBOL_ELEMENTS = 1 << 22  # chunk * (n + 1) bound for the Sobol block (32 MiB of float64)
_FLOAT32_RHO_MAX = 0.99
_MAX_WORKERS = 4
SOBOL_MAXDIM = 21201  # dimensions of scipy's Sobol' direction numbers


@dataclass(frozen=True)
class Model:
    """Thresholds in the scaled form ``E_i + shift * Z < a_i``."""

    n: int
    shift: float  # sqrt(rho / (1 - rho))
    a_success: np.ndarray  # Phi^-1(p) / sqrt(1 - rho), +-inf at p = 1 / 0
    a_interview: np.ndarray | None  # same for q; None when q = p
    la: np.ndarray | None
    dtype: type

    @staticmethod
    def build(p, q, la, rho) -> "Model":
        scale = 1.0 / math.sqrt(1.0 - rho)
        dtype = np.float32 if rho <= _FLOAT32_RHO_MAX else np.float64
        from scipy import special  # here, not at import: ~0.1 s that the mixture check does not need

        a_s = (special.ndtri(p) * scale).astype(dtype)
        a_i = None if q is None else (special.ndtri(q) * scale).astype(dtype)
        return Model(len(p), math.sqrt(rho) * scale, a_s, a_i, la, dtype)


@dataclass
class Tally:
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

    def merge(self, other: "Tally"):
        self.draws += other.draws
        self.matched += other.matched
        self.matched_la += other.matched_la
        self.interviews += other.interviews
        self.successes += other.successes
        self.interviews_matched += other.interviews_matched


@dataclass(frozen=True)
class Estimate:
    """What one method measured: the counts and the estimate with its error bar."""

    tally: Tally
    p_match: float
    ci95: tuple[float, float]
    std_error: float
    p_match_la: float | None
    std_error_la: float | None
    ci_method: str


def _count_dtype(n: int):
    return np.int16 if n < 32_000 else np.int32


def _tally_programs(
    model: Model,
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


def _tally_chunk(model: Model, shift_z, row, size: int, pool, groups) -> tuple:
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


def program_groups(n: int) -> list[range]:
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cpus = os.cpu_count() or 1
    k = max(1, min(cpus, _MAX_WORKERS, n))
    return [range(j * n // k, (j + 1) * n // k) for j in range(k)]


def run_mc(model: Model, draws: int, seed: int, chunk: int | None) -> Estimate:
    size = min(draws, chunk or _MC_CHUNK)
    streams = np.random.default_rng(seed).spawn(model.n + 1)
    z_stream, e_streams = streams[0], streams[1:]
    dtype = model.dtype

    def row(i: int, buf: np.ndarray) -> np.ndarray:
        return e_streams[i].standard_normal(out=buf, dtype=dtype)

    groups = program_groups(model.n)
    tally = Tally(model.n)
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
    return Estimate(tally, p_hat, _wilson(tally.matched, draws), se, p_la, se_la, "wilson")


def run_sobol(model: Model, draws: int, seed: int, chunk: int | None) -> Estimate:
    d = model.n + 1
    if d > SOBOL_MAXDIM:
        raise InputError(
            f"method='sobol' handles at most {SOBOL_MAXDIM - 1} programs, got {model.n}; use method='mc'"
        )
    if chunk is not None and chunk & (chunk - 1):
        raise InputError(f"chunk={chunk}: method='sobol' needs a power of two (e.g. {1 << (chunk.bit_length() - 1)})")
    reps = SOBOL_REPLICATES
    per_rep = 1 << max(0, math.ceil(math.log2(math.ceil(draws / reps))))
    if chunk is None:
        chunk = 1 << max(0, (_SOBOL_ELEMENTS // d).bit_length() - 1)
    size = min(chunk, per_rep)
    groups = program_groups(model.n)
    tally = Tally(model.n)
    est, est_la = [], []
    from scipy import special  # scipy.stats (slow to import) is loaded only for Sobol

    with ThreadPoolExecutor(max_workers=len(groups)) if len(groups) > 1 else _NoPool() as pool:
        for child in np.random.default_rng(seed).spawn(reps):
            from scipy.stats import qmc

            engine = qmc.Sobol(d, scramble=True, seed=child)
            part = Tally(model.n)
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
    return Estimate(tally, p_hat, ci, se, p_la, se_la, f"student-t/{reps} scrambles")


class _NoPool:
    def __enter__(self):
        return None

    def __exit__(self, *exc):
        return False



def _wilson(k: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval for k successes in n trials."""
    phat = k / n
    denom = 1.0 + z * z / n
    centre = (phat + z * z / (2 * n)) / denom
    half = z * math.sqrt(phat * (1.0 - phat) / n + z * z / (4 * n * n)) / denom
    lo = 0.0 if k == 0 else max(0.0, centre - half)
    hi = 1.0 if k == n else min(1.0, centre + half)
    return (lo, hi)
