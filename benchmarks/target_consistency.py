"""Are the published interview figures consistent with the 67.8% match rate?  A linear-
programming bound over every distribution of interview counts.

    python benchmarks/target_consistency.py            # writes nothing; prints the report
    python benchmarks/target_consistency.py --n-max 40 --out benchmarks/results/target_consistency.txt

The model-free question behind issue 13's targets: among applicants with at least one
interview, let m_N and u_N be the shares who had N interviews (N = 1..n_max) and matched,
resp. did not.  The published figures constrain them linearly:

- conversion P(match | N) = m_N / (m_N + u_N) at N = 1, 3, 5, 10 within +-tol of 25/35/50/75%;
- the quartiles of the matched counts (3/5/8) and of the unmatched counts (1/2/3) within
  +-qtol, with the same quantile rule as allocator.model.calibration (the smallest N whose
  cumulative share reaches q): Q in [lo, hi] iff cdf(hi) >= q * total and cdf(lo - 1) <= q * total;
- optionally a conversion curve that rises with N.  Between two anchors the curve of a rising
  curve lies between the lower edge of the left anchor and the upper edge of the right one
  (beyond N = 10: at least the lower edge at 10): a linear relaxation, so its maximum match
  rate is an upper bound.  The script then fixes the interview-count distribution the LP
  found and re-solves with the exact rising-curve constraints (linear once the counts are
  fixed); when both agree the bound is attained by a rising curve.

The match rate sum(m_N) is maximized and minimized (scipy.optimize.linprog, HiGHS).  Without
a shape constraint the bound is vacuous (an LP may leave N = 1, 3, 5, 10 empty and set any
conversion elsewhere), which is why the rising curve is the default.  The script also reports
the distribution that reaches 0.678 (if any) with as many applicants at 1-2 interviews as
allowed, and the same bounds when every N = 1..10 holds at least a given share of applicants
(--floor; a realistic cohort has applicants at every small count).
"""
from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.optimize import linprog

CONVERSION = {1: 0.25, 3: 0.35, 5: 0.50, 10: 0.75}  # FACTS.md: NRMP 2009, IM, IMGs (secondary)
MATCHED_Q = (3, 5, 8)     # contiguous ranks, IM, non-US IMGs, Charting Outcomes 2026 (n = 2,649)
UNMATCHED_Q = (1, 2, 3)   # the same, unmatched (n = 2,730)
MATCH_RATE = 0.678        # US-citizen IMGs, 2025, among applicants who certified a rank list
QS = (0.25, 0.5, 0.75)


@dataclass(frozen=True)
class Spec:
    tol: float          # conversion tolerance (share)
    qtol: int           # quartile tolerance (interviews)
    n_max: int = 40
    rising: bool = True
    floor: float = 0.0  # minimum share of applicants at each N = 1..10


def _rows(spec: Spec) -> tuple[list, list, list, list]:
    """(A_ub, b_ub, A_eq, b_eq) over x = [m_1..m_n, u_1..u_n]."""
    n = spec.n_max
    A, b = [], []

    def row(mc=None, uc=None):
        r = np.zeros(2 * n)
        if mc is not None:
            r[:n] = mc
        if uc is not None:
            r[n:] = uc
        return r
    for a, c in CONVERSION.items():
        e = np.zeros(n)
        e[a - 1] = 1
        A += [row((c - spec.tol) * e - e, (c - spec.tol) * e), row(e - (c + spec.tol) * e, -(c + spec.tol) * e)]
        b += [0.0, 0.0]
    for qs, part in ((MATCHED_Q, "m"), (UNMATCHED_Q, "u")):
        for Q, q in zip(qs, QS):
            lo, hi = max(1, Q - spec.qtol), Q + spec.qtol
            cum_hi = (np.arange(1, n + 1) <= hi) - q            # cdf(hi) - q*total >= 0
            cum_lo = (np.arange(1, n + 1) <= lo - 1) - q        # cdf(lo - 1) - q*total <= 0
            A += [row(-cum_hi) if part == "m" else row(None, -cum_hi)]
            b += [0.0]
            if lo > 1:
                A += [row(cum_lo) if part == "m" else row(None, cum_lo)]
                b += [0.0]
    if spec.rising:
        for N in range(1, n + 1):
            left = [c - spec.tol for a, c in CONVERSION.items() if a <= N]
            right = [c + spec.tol for a, c in CONVERSION.items() if a >= N]
            L, U = (max(left) if left else 0.0), (min(right) if right else 1.0)
            e = np.zeros(n)
            e[N - 1] = 1
            A += [row(L * e - e, L * e), row(e - U * e, -U * e)]
            b += [0.0, 0.0]
    for N in range(1, 11):
        if spec.floor > 0:
            e = np.zeros(n)
            e[N - 1] = 1
            A.append(row(-e, -e))
            b.append(-spec.floor)
    return A, b, [np.ones(2 * n)], [1.0]


def bound(spec: Spec, sense: int) -> tuple[float | None, np.ndarray | None]:
    """sense = +1: the largest match rate, -1: the smallest; (None, None) when infeasible."""
    A, b, Aeq, beq = _rows(spec)
    n = spec.n_max
    cost = np.r_[-sense * np.ones(n), np.zeros(n)]
    r = linprog(cost, A_ub=np.array(A), b_ub=b, A_eq=np.array(Aeq), b_eq=beq, bounds=(0, 1), method="highs")
    if r.status != 0:
        return None, None
    return float(r.x[:n].sum()), r.x


def curve_given_counts(spec: Spec, t: np.ndarray, sense: int) -> tuple[float | None, np.ndarray | None]:
    """Fix the count distribution ``t`` (t_N = m_N + u_N, N = 1..n_max); the best match rate over
    conversion curves c_N that rise with N and pass the anchors' windows (linear in c once t is
    fixed: m_N = c_N t_N).  Returns (match rate, x = [m, u]) or (None, None)."""
    n = spec.n_max
    A, b, _, _ = _rows(Spec(spec.tol, spec.qtol, n, False))
    T = np.diag(t)
    # x = [T c, T (1 - c)]: rows r.x = r_m.(T c) + r_u.(t - T c)
    A2 = [r[:n] @ T - r[n:] @ T for r in A]
    b2 = [bi - r[n:] @ t for r, bi in zip(A, b)]
    for i in range(n - 1):                      # c_i <= c_{i+1}
        r = np.zeros(n)
        r[i], r[i + 1] = 1, -1
        A2.append(r)
        b2.append(0.0)
    bounds = [(0.0, 1.0)] * n
    for a, c in CONVERSION.items():
        bounds[a - 1] = (max(0.0, c - spec.tol), min(1.0, c + spec.tol))
    r = linprog(-sense * t, A_ub=np.array(A2), b_ub=b2, bounds=bounds, method="highs")
    if r.status != 0:
        return None, None
    return float(r.x @ t), np.r_[r.x * t, (1 - r.x) * t]


def rising_exact(spec: Spec, x: np.ndarray, sense: int) -> float | None:
    """The relaxed LP's count distribution with a conversion curve that really rises (and
    passes every anchor window, even where no applicant has that count)."""
    n = spec.n_max
    return curve_given_counts(spec, x[:n] + x[n:], sense)[0]


def reaching(spec: Spec, rate: float) -> np.ndarray | None:
    """A distribution with match rate ``rate`` and as many applicants at 1-2 interviews as allowed."""
    A, b, Aeq, beq = _rows(spec)
    n = spec.n_max
    Aeq = list(Aeq) + [np.r_[np.ones(n), np.zeros(n)]]
    beq = list(beq) + [rate]
    small = np.zeros(n)
    small[:2] = 1
    r = linprog(-np.r_[small, small], A_ub=np.array(A), b_ub=b, A_eq=np.array(Aeq), b_eq=beq, bounds=(0, 1),
                method="highs")
    return r.x if r.status == 0 else None


def describe(x: np.ndarray, n: int, upto: int = 16) -> list[str]:
    m, u = x[:n], x[n:]
    t = m + u
    out = ["    N  share  matched  unmatched  P(match|N)"]
    for N in range(1, upto + 1):
        if t[N - 1] > 1e-6:
            out.append(f"  {N:3d}  {t[N - 1]:5.3f}  {m[N - 1]:7.3f}  {u[N - 1]:9.3f}  {m[N - 1] / t[N - 1]:10.2f}")
    rest = t[upto:].sum()
    if rest > 1e-6:
        out.append(f"  >{upto}  {rest:5.3f}  {m[upto:].sum():7.3f}  {u[upto:].sum():9.3f}")
    out.append(f"  share with 1-2 interviews: {t[:2].sum():.3f}; mean interviews {np.arange(1, n + 1) @ t:.2f}")
    return out


def report(n_max: int) -> list[str]:
    lines = [f"Match-rate range allowed by the published interview figures (LP over all distributions of "
             f"N = 1..{n_max} interviews among applicants with >= 1 interview; scipy linprog/HiGHS)",
             f"published: conversion {CONVERSION}, matched quartiles {MATCHED_Q}, unmatched {UNMATCHED_Q}; "
             f"match rate to reach {MATCH_RATE}", "",
             f"{'setting':44s} {'min':>6s} {'max':>6s}  {'max (rising, exact)':>19s}"]
    settings = [("centres, no shape constraint", Spec(0.0, 0, n_max, rising=False)),
                ("centres, rising curve", Spec(0.0, 0, n_max)),
                ("issue tolerances (10 pts, 2), no shape", Spec(0.10, 2, n_max, rising=False)),
                ("issue tolerances (10 pts, 2), rising", Spec(0.10, 2, n_max)),
                ("issue tol., rising, >= 2% at each N<=10", Spec(0.10, 2, n_max, floor=0.02)),
                ("issue tol., rising, >= 4% at each N<=10", Spec(0.10, 2, n_max, floor=0.04)),
                ("card tolerances (20 pts, 3), rising", Spec(0.20, 3, n_max)),
                ("conversion 10 pts, quartiles 3, rising", Spec(0.10, 3, n_max)),
                ("conversion 20 pts, quartiles 2, rising", Spec(0.20, 2, n_max))]
    for name, spec in settings:
        hi, x = bound(spec, +1)
        lo, _ = bound(spec, -1)
        if hi is None:
            lines.append(f"{name:44s} infeasible")
            continue
        ex = rising_exact(spec, x, +1) if spec.rising else None
        exs = f"{ex:19.3f}" if ex is not None else f"{'-':>19s}"
        lines.append(f"{name:44s} {lo:6.3f} {hi:6.3f}  {exs}")
    for name, spec in (("issue tolerances, rising", Spec(0.10, 2, n_max)),
                       ("issue tolerances, rising, >= 2% at each N<=10", Spec(0.10, 2, n_max, floor=0.02))):
        hi, x = bound(spec, +1)
        lines += ["", f"{name}: the distribution reaching the largest match rate ({hi:.3f})"] + describe(x, n_max)
        y = reaching(spec, MATCH_RATE) if hi is not None and hi >= MATCH_RATE else None
        if y is None:
            lines += [f"{name}: no distribution reaches {MATCH_RATE}"]
        else:
            lines += [f"{name}: a distribution with match rate {MATCH_RATE} and the most applicants at 1-2 "
                      "interviews"] + describe(y, n_max)
    return lines


def card_section(card_name: str, n_max: int) -> list[str]:
    """The card's own interview-count distribution (its cohort, >= 1 interview), and the match
    rates any rising conversion curve could give with those counts."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from allocator.model import calibration as cal
    from allocator.model.probability import load_card

    card = load_card(card_name)
    res = cal.evaluate(card)
    m, u = np.array(res.pmf_matched)[1:], np.array(res.pmf_unmatched)[1:]
    t = (m + u) / (m + u).sum()
    t = np.r_[t, np.zeros(max(0, n_max - len(t)))][:n_max]
    lines = ["", f"card {card.name} (version {card.version}): its cohort's interview counts "
             f"(>= 1 interview; N >= {cal.N_MAX} pooled), model match rate {res.match_rate:.3f}",
             "  share at N = 1..12: " + " ".join(f"{x:.3f}" for x in t[:12]),
             f"  quartiles: matched {res.interviews_matched}, unmatched {res.interviews_unmatched}"]
    for name, spec in (("issue tolerances", Spec(0.10, 2, n_max)), ("card tolerances", Spec(0.20, 3, n_max))):
        lo, _ = curve_given_counts(spec, t, -1)
        hi, x = curve_given_counts(spec, t, +1)
        if hi is None:
            lines.append(f"  {name}: no rising conversion curve meets the quartiles with these counts")
            continue
        lines.append(f"  {name}: with these counts a rising curve gives a match rate from {lo:.3f} to {hi:.3f}")
        conv = x[:n_max] / np.maximum(t, 1e-12)
        lines.append("    curve at the maximum, N = 1..12: " + " ".join(f"{c:.2f}" for c in conv[:12]))
    return lines


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n-max", type=int, default=40)
    ap.add_argument("--card", default=None, help="also test a model card's own interview-count distribution")
    ap.add_argument("--out", default=None, help="also write the report to this file")
    args = ap.parse_args(argv)
    lines = report(args.n_max) + (card_section(args.card, args.n_max) if args.card else [])
    text = "\n".join(lines) + "\n"
    sys.stdout.write(text)
    if args.out:
        Path(args.out).write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
