"""Are the published interview figures consistent with the 67.8% match rate?  Linear-
programming bounds on the match rate, from model-free to the card's own model family.

    python benchmarks/target_consistency.py                 # model-free sections only (2 s)
    nice -n 10 python benchmarks/target_consistency.py --card default \
        --out benchmarks/results/target_consistency.txt     # + the card's sections (~5 min)

Among applicants with at least one interview let m_N and u_N be the shares who had N
interviews (N = 1..n_max) and matched, resp. did not.  The published figures constrain them
linearly:

- conversion P(match | N) = m_N / (m_N + u_N) at N = 1, 3, 5, 10 within +-tol of 25/35/50/75%;
- the quartiles of the matched counts (3/5/8) and of the unmatched counts (1/2/3) within
  +-qtol, with the quantile rule of allocator.model.calibration (the smallest N whose
  cumulative share reaches q): Q in [lo, hi] iff cdf(hi) >= q * total and cdf(lo - 1) <= q * total.

Sections of the report (each maximizes and/or minimizes the match rate sum(m_N); scipy
linprog, HiGHS):

1. **Any count distribution.**  Without a shape constraint the bound is vacuous (N = 1, 3, 5,
   10 may be left empty); with a conversion curve that rises with N (a linear relaxation:
   between two anchors the curve lies between the lower edge of the left one and the upper
   edge of the right one), re-checked exactly on the count distribution found (linear once
   the counts are fixed).  Also with at least a given share of applicants at every N <= 10,
   and the distribution that reaches 0.678, if any.
2. **Mixtures of applicant types** (types_bound): each type has its own expected number of
   interviews (Binomial or Poisson counts) and its own chance that an interview becomes a
   match, independent given the type.  Every model whose programs decide independently
   given the applicant's type is such a mixture, when programs on a list are alike.
3. **The card's cohort** (--card): the card's own count distribution with any rising curve,
   and every mixture of (interview shift, match shift) nodes on the card's cohort, i.e. every
   factor structure allocator's exact optimizer supports (any number of factors, nodes and
   correlations, intercepts included), with the yield within 0.08-0.12; for the card's
   profile effects, for applicants made alike (every applicant-level effect at the weak end
   of its range), and for alike applicants who all send 77 applications.
"""
from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.optimize import linprog
from scipy.stats import binom, poisson

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

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


def types_bound(spec: Spec, trials: int | None) -> tuple[float | None, list[tuple[float, float, float]]]:
    """The largest match rate of a cohort made of applicant types, each with its own expected
    number of interviews lam (N ~ Binomial(trials, lam / trials), Poisson when ``trials`` is
    None) and its own chance mu that an interview turns into a match, interviews and
    conversions independent given the type: P(match | N, type) = 1 - (1 - mu)^N.  Every
    finite mixture of that kind (any number of factors or nodes, list lengths and profiles
    included) is a point of this LP; programs within a list that differ make N less
    dispersed than the binomial, which ``trials`` < 77 stands for.  Returns the bound and
    the heaviest types (lam, mu, share of the cohort)."""
    n = spec.n_max
    N = np.arange(1, n + 1)
    A, b, _, _ = _rows(Spec(spec.tol, spec.qtol, n, False))
    A = np.array(A)
    cols_t, cols_m, lab = [], [], []
    for lam in np.arange(0.25, 20.01, 0.25):
        if trials is None:
            pN = poisson.pmf(N, lam)
            pN[-1] += poisson.sf(n, lam)
        elif lam < trials:
            pN = binom.pmf(N, trials, lam / trials)
        else:
            continue
        for mu in np.arange(0.0, 1.001, 0.02):
            cols_t.append(pN)
            cols_m.append(pN * (1 - (1 - mu) ** N))
            lab.append((float(lam), float(mu)))
    Tm, Mm = np.array(cols_t).T, np.array(cols_m).T
    r = linprog(-Mm.sum(0), A_ub=A[:, :n] @ Mm + A[:, n:] @ (Tm - Mm), b_ub=b, A_eq=Tm.sum(0)[None, :],
                b_eq=[1.0], bounds=(0, None), method="highs")
    if r.status != 0:
        return None, []
    x = r.x / r.x.sum()
    top = [(lab[j][0], lab[j][1], float(x[j])) for j in np.argsort(-x)[:8] if x[j] > 1e-3]
    return float(-r.fun), top


def types_section(n_max: int) -> list[str]:
    lines = ["", "Mixtures of applicant types (each type: N ~ Binomial(trials, lam/trials) interviews, each "
             "interview converting independently with its own mu): largest match rate"]
    for name, spec in (("centres", Spec(0.0, 0, n_max)), ("issue tolerances (10 pts, 2)", Spec(0.10, 2, n_max)),
                       ("card tolerances (20 pts, 3)", Spec(0.20, 3, n_max))):
        row = []
        for trials in (None, 77, 30, 15):
            hi, _ = types_bound(spec, trials)
            row.append(f"{'Poisson' if trials is None else f'Bin({trials})'} "
                       f"{'infeasible' if hi is None else f'{hi:.3f}'}")
        lines.append(f"  {name:30s} " + ";  ".join(row))
    hi, top = types_bound(Spec(0.10, 2, n_max), 77)
    lines.append(f"  the types at the issue-tolerance maximum (Bin(77), {hi:.3f}), share of all applicants "
                 "incl. those with no interview:")
    lines += [f"    lam {lam:5.2f}  mu {mu:4.2f}  share {w:.3f}" for lam, mu, w in top]
    return lines


# Effects that differ between applicants (not between programs): the "applicants alike"
# variant sets each to the end of its range with the least effect.
APPLICANT_EFFECTS = ("interview.step2_per_10", "interview.failed_attempt", "interview.usce_none",
                     "interview.usce_per_month", "interview.per_year_beyond", "interview.la_family_odds_ratio",
                     "interview.california_usce_odds_ratio", "match_given_interview.step2_per_10",
                     "match_given_interview.failed_attempt", "match_given_interview.la_ties_odds_ratio")
S_GRID = np.arange(-4.5, 4.51, 0.25)   # interview log-odds shift of a node
T_GRID = np.arange(-10.0, 6.01, 0.5)   # match log-odds shift of a node


def node_columns(card, catalog, cohort):
    """Per (S, T) node of the grid, the cohort's matched / unmatched shares by N = 1..N_MAX and
    its interview yield (every applicant at that node)."""
    from dataclasses import replace

    from allocator.model import calibration as cal

    prep = cal.prepare(card, catalog, cohort)
    M, U, Y, lab = [], [], [], []
    for S in S_GRID:
        for T in T_GRID:
            with np.errstate(invalid="ignore"):  # a node where nobody matches has no Step 2 median
                r = cal.evaluate(card, prep=replace(prep, S=np.array([S]), T=np.array([T]), w=np.array([1.0])))
            M.append(np.array(r.pmf_matched)[1:])
            U.append(np.array(r.pmf_unmatched)[1:])
            Y.append(r.interview_yield)
            lab.append((float(S), float(T)))
    return np.array(M).T, np.array(U).T, np.array(Y), lab


def mixture_bound(cols, spec: Spec, yield_range=(0.08, 0.12), sense: int = 1):
    """The largest (sense=+1) or smallest (-1) match rate among applicants with >= 1
    interview over every mixture of the grid's nodes: any number of factors, any joint
    distribution of the interview and match shifts, intercepts included (the shifts absorb
    them).  The interview yield stays within ``yield_range``.  Ratios are linearized by
    scaling the weights so that the share with >= 1 interview is 1."""
    M, U, Y, lab = cols
    n = M.shape[0]
    A, b, _, _ = _rows(Spec(spec.tol, spec.qtol, n, False))
    A = np.array(A)
    A2 = np.vstack([A[:, :n] @ M + A[:, n:] @ U, -(Y - yield_range[0]), -(yield_range[1] - Y)])
    b2 = list(b) + [0.0, 0.0]
    r = linprog(-sense * M.sum(0), A_ub=A2, b_ub=b2, A_eq=(M + U).sum(0)[None, :], b_eq=[1.0], bounds=(0, None),
                method="highs")
    if r.status != 0:
        return None, []
    w = r.x / r.x.sum()
    top = [(lab[j][0], lab[j][1], float(w[j]), float(Y[j])) for j in np.argsort(-w)[:6] if w[j] > 1e-3]
    return float(M.sum(0) @ r.x), top


def mixture_section(card_name: str, n_max: int) -> list[str]:
    from allocator.model import calibration as cal
    from allocator.model import ensemble as ens
    from allocator.model.probability import load_card

    card = load_card(card_name)
    doc = ens.card_doc(card)
    ranges = ens.judged(doc)
    alike = {k: min(ranges[k], key=lambda v: abs(np.log(v)) if k.endswith("_odds_ratio") else abs(v))
             for k in APPLICANT_EFFECTS}
    catalog = cal.cohort_catalog(card)
    lines = ["", f"card {card.name}: every mixture of (interview shift, match shift) nodes on its cohort "
             f"(grid S {S_GRID[0]}..{S_GRID[-1]} step 0.25, T {T_GRID[0]}..{T_GRID[-1]} step 0.5; yield 0.08-0.12)"]
    for name, params, same_length in (("the card's profile effects", {}, False),
                                      ("applicants alike (applicant effects at their weakest)", alike, False),
                                      ("applicants alike, every list 77 applications", alike, True)):
        d = json.loads(json.dumps(doc))
        if same_length:
            d["calibration"]["cohort"]["applications_sd"] = 0.0
        c = ens.apply(d, params, str(card.path))
        cols = node_columns(c, catalog, cal.make_cohort(c, catalog))
        row, best = [], "none"
        for label, spec in (("issue tol.", Spec(0.10, 2, n_max)), ("conv. 10 pts, quart. 3", Spec(0.10, 3, n_max)),
                            ("conv. 15 pts, quart. 2", Spec(0.15, 2, n_max)),
                            ("conv. 20 pts, quart. 2", Spec(0.20, 2, n_max)), ("card tol.", Spec(0.20, 3, n_max))):
            hi, top = mixture_bound(cols, spec)
            row.append(f"{label}: max {'infeasible' if hi is None else f'{hi:.3f}'}")
            if label == "issue tol." and hi is not None:
                best = "; ".join(f"S {s:+.2f} T {t:+.1f} w {w:.3f}" for s, t, w, _ in top)
        lines.append(f"  {name}:\n    " + ",  ".join(row))
        lines.append(f"    heaviest nodes at the issue-tolerance maximum: {best}")
    return lines


def card_section(card_name: str, n_max: int) -> list[str]:
    """The card's own interview-count distribution (its cohort, >= 1 interview), and the match
    rates any rising conversion curve could give with those counts."""
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
    lines = report(args.n_max) + types_section(args.n_max)
    if args.card:
        lines += card_section(args.card, args.n_max) + mixture_section(args.card, args.n_max)
    text = "\n".join(lines) + "\n"
    sys.stdout.write(text)
    if args.out:
        Path(args.out).write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
