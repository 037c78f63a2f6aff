"""The season update: the chances now, given the answers so far, under the model `solve` uses.

Each model gives quadrature nodes with weights and, at every node, P(interview) and
P(match | interview) of every application (:class:`allocator.season.posterior.NodeModel`):

- **The two-stage model** (the default whenever the profile has an ``[applicant]``,
  :mod:`allocator.model.factors`): the mixture's own (card, interview factor, rankable class)
  nodes, P(interview_i | node) = pi_i and P(match_i | interview_i, node) = mu_i, each program
  at the variant it was sent with (its signal, and the geographic preference the season file
  declares).  The nodes are the model, so before any news the list's P(match) is exactly what
  `solve` and `simulate` report, and the ensemble's cards give each figure its range.
- **The one-factor copula** (a catalog's own p_match, or a profile that sets a correlation):
  program i's latent Y_i = sqrt(rho) Z + sqrt(1 - rho) E_i; it interviews when
  Y_i < Phi^-1(q_i) and succeeds when Y_i < Phi^-1(p_i) (p_i <= q_i), so at node z
  P(interview_i | z) = Phi((Phi^-1(q_i) - sqrt(rho) z) / sqrt(1 - rho)) and
  P(match_i | interview_i, z) = p_i(z) / q_i(z) (a choice: one factor drives both stages).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
from scipy.special import log_ndtr, ndtr, ndtri

from allocator.errors import InputError
from allocator.optim.evaluate import in_west
from allocator.optim.problem import Plan, Problem
from allocator.season import posterior as post
from allocator.season.seasonfile import Season

THRESHOLDS = (3, 5, 8)
INVITATIONS = ("invited", "interviewed", "declined")  # the statuses that say a program invited you


def conditional(p: np.ndarray, rho: float, z: np.ndarray) -> np.ndarray:
    """ln P(Y_i < Phi^-1(p_i) | z), (K, n)."""
    if rho <= 0:
        with np.errstate(divide="ignore"):
            return np.broadcast_to(np.log(p), (len(z), len(p))).copy()
    return log_ndtr((ndtri(p)[None, :] - np.sqrt(rho) * z[:, None]) / np.sqrt(1 - rho))


def node_model(problem: Problem, plan: Plan, fm=None) -> post.NodeModel:
    """The node model of ``plan``'s programs (in ``plan.idx`` order) under the mixture ``fm``
    (default the problem's own; None: the one-factor copula of the marginal probabilities)."""
    fm = problem.fm if fm is None else fm
    if fm is None:
        return copula_node_model(problem, problem.effective_p(plan), problem.effective_q(plan))
    idx = np.asarray(plan.idx, dtype=int)
    qz = problem.plan_pi(plan, fm)
    # low = strong, as the copula's z; a mixture given as shifts only: S in its own sd units
    strength = -fm.z if fm.z is not None else -fm.S / max(float(np.sqrt(fm.w @ fm.S ** 2)), 1e-12)
    return post.NodeModel(fm.w, qz, fm.mu(idx), strength)


def copula_node_model(problem: Problem, p: np.ndarray, q: np.ndarray) -> post.NodeModel:
    """The one-factor node model of a list whose programs succeed with ``p`` and interview with ``q``."""
    nodes = problem.nodes()
    lq, lp = conditional(q, nodes.rho, nodes.z), conditional(p, nodes.rho, nodes.z)
    qz = np.exp(lq)
    with np.errstate(invalid="ignore"):
        m = np.where(qz > 0, np.exp(np.minimum(lp - lq, 0.0)), 0.0)
    return post.NodeModel(nodes.w, qz, np.nan_to_num(m), nodes.z)


@dataclass
class Context:
    """A season file read against a problem."""

    problem: Problem
    season: Season
    today: dt.date
    F: float
    R: float
    idx: np.ndarray  # candidate index per kept season row
    statuses: list[str]
    p: np.ndarray
    q: np.ndarray
    nm: post.NodeModel
    obs: post.Observed
    pi: np.ndarray
    c: np.ndarray
    plan: Plan = None  # the applications as a list (signals, declared geographic preference)
    spent: dict = field(default_factory=dict)  # (specialty, kind) -> signals used
    warnings: list[str] = field(default_factory=list)
    F_band: tuple[float, float] | None = None  # F at the timing band's slow and fast ends (None: no band)
    R_band: tuple[float, float] | None = None  # R at the rejection curve's band's low and high ends (None: no band)


def prepare(problem: Problem, season: Season, today: dt.date, timing) -> Context:
    pos = {pid: i for i, pid in enumerate(problem.ids)}
    excluded = {r["program_id"]: r["reason"] for r in problem.excluded_rows}
    idx, statuses, sig, warnings, spent = [], [], {}, [], {}
    for r in season.rows:
        pid = r["program_id"]
        if pid not in pos:
            if pid in excluded and r["status"] in INVITATIONS and "never_apply" in excluded[pid]:
                raise InputError(f"{season.path}: line {r['line']}: {pid} is {r['status']}, but the profile's "
                                 "never_apply lists it; remove it from never_apply (an invitation counts, even one you "
                                 "declined)")
            if pid in excluded:
                warnings.append(f"{pid} carries no weight: the model excludes it ({excluded[pid]})")
                continue
            raise InputError(f"{season.path}: line {r['line']}, field program_id: {pid!r} is not in the "
                             "catalog of the profile's specialties; fix the id or pass the --catalog you applied from")
        i = pos[pid]
        _check_invitation_readable(problem, season, r, i)
        idx.append(i)
        statuses.append(r["status"])
        sg = r["signal"] if isinstance(r["signal"], str) else None
        if sg:
            spec = problem.specialties[problem.spec[i]]
            spent[(spec, sg)] = spent.get((spec, sg), 0) + 1
            cap = problem.signals_available.get((spec, sg))
            if cap is not None and spent[(spec, sg)] > cap:
                raise InputError(f"{season.path}: line {r['line']}, field signal: {spent[(spec, sg)]} {sg} signals "
                                 f"in {spec}, but ERAS allows {cap} in season {problem.schedule.season}; "
                                 "fix the signal column")
            if sg in problem.p_signal:
                sig[i] = sg
            else:
                warnings.append(f"{pid}: its {sg} signal is not modelled for this catalog/profile")
    if not idx:
        raise InputError(f"{season.path}: no application in the season file is a candidate in the catalog")
    idx = np.array(idx, dtype=int)
    plan = Plan.of(idx, sig, declared_divisions(problem, season))
    warnings += geography_warnings(problem, season) + signals_warning(problem, season)
    back = season_order(plan, idx)
    p, q = problem.effective_p(plan)[back], problem.effective_q(plan)[back]
    F, R = timing.invitations.share(today), timing.rejections.share(today)
    warnings += silence_warning(statuses, F, today) + calendar_warnings(season, timing, F, today)
    warnings += certain_after_invitation(problem, idx, statuses, p, q)
    nm = node_model(problem, plan).subset(back)
    obs = post.Observed.of(statuses, F, R)
    pi = post.posterior_weights(nm, obs)
    from allocator.season.timingband import shares

    return Context(problem, season, today, F, R, idx, statuses, p, q, nm, obs, pi,
                   post.no_match_factors(nm, obs), plan, spent, warnings, shares(timing.invitations, today),
                   shares(timing.rejections, today))


def screened_invitations(problem: Problem, season: Season) -> dict[str, str]:
    """The programs the model excludes by a screen (a Step 2 CK minimum, attempts, years since
    graduation) that invited you: ``{program_id: reason}``.  The invitation shows the screen did
    not keep you out, so `update` counts them as eligible (:func:`allocator.season.run.run`)."""
    screened = {r["program_id"]: r["reason"] for r in problem.excluded_rows if r["reason"] != "never_apply"}
    return {r["program_id"]: screened[r["program_id"]] for r in season.rows
            if r["status"] in INVITATIONS and r["program_id"] in screened}


def _check_invitation_readable(problem: Problem, season: Season, row: dict, i: int) -> None:
    """An invitation (or interview) at a program whose catalog row gives its own p_match but no
    p_interview cannot be read: with no interview stage, P(interview) is P(match), so the
    invitation would count as a certain match (a declined one, as evidence that every interview
    there ends in a match).  Refused, naming the catalog and the program; rejections and unanswered
    applications need no interview stage and stay usable."""
    if row["status"] not in INVITATIONS or problem.fm is not None:  # a mixture has its own stage
        return
    cat = problem.candidates
    if np.isnan(cat.column("p_match")[i]) or not np.isnan(cat.column("p_interview")[i]):
        return
    why = "its evidence would be read as if every interview there ended in a match" if row["status"] == "declined" \
        else "it would count as a certain match"
    raise InputError(f"{season.path}: line {row['line']}: {row['program_id']} is {row['status']}, but {cat.path} "
                     f"gives its p_match without p_interview, so the invitation cannot be read ({why}); give "
                     "p_interview for the programs that invited you, so that an invitation can be read")


def certain_after_invitation(problem: Problem, idx, statuses, p, q) -> list[str]:
    """Invitations at programs whose catalog gives p_interview equal to p_match (every interview
    there a match): the update counts each as a certain match, which the user should know."""
    if problem.fm is not None:  # the two-stage model's own interview stage
        return []
    sure = [problem.ids[i] for i, st, pi, qi in zip(idx, statuses, p, q)
            if st in ("invited", "interviewed") and qi <= pi + 1e-12]
    if not sure:
        return []
    return [f"{', '.join(sure)}: the catalog gives p_interview equal to p_match (every interview there ends in a "
            "match), so the invitation counts as a certain match and P(match) now is 100%; give p_interview above "
            "p_match where an interview may not end in a match"]


def declared_divisions(problem: Problem, season: Season) -> tuple[str, ...]:
    """The geographic preference the season file declares, checked against the problem
    (none when the profile fixes its own: that one is already in the probabilities)."""
    if not season.divisions:
        return ()
    from allocator.api import check_list_against

    try:
        check_list_against(problem, {}, season.divisions)
    except InputError as e:
        raise InputError(f"{season.path}: line {season.divisions_line}, geographic_preference: {e}") from None
    return () if problem.fixed_divisions else season.divisions


SILENT_SHARE = 0.5  # by the time programs have sent half their invitations, an all-silent file is suspect


def silence_warning(statuses: list[str], sent: float, today: dt.date) -> list[str]:
    """A file in which no program has answered, late in the season: most likely a list file
    uploaded before its statuses were filled in, and its silence weighs heavily against you."""
    if sent < SILENT_SHARE or any(s != "applied" for s in statuses):
        return []
    return [f"no program in the season file has answered (every row is 'applied' or 'no answer yet'), although "
            f"by {today} programs have sent about {100 * sent:.0f}% of their invitations: that silence counts "
            "heavily against you, so P(match) now is low.  If answers came, mark them (invited, interviewed, "
            "rejected) and update again; if none came, the figure stands"]


def calendar_warnings(season: Season, timing, sent: float, today: dt.date) -> list[str]:
    """Dates the timing curve reads as outside the invitation season: answers held before
    programs could send any (a month and day swapped in --today, or a date from another year's
    season), invitations dated before then, and a date after the curve's end, when sending more
    applications can no longer bring an interview."""
    out = []
    answered = [r for r in season.rows if r["status"] != "applied"]
    if answered and sent <= 0:
        out.append(f"by {today} programs have sent no invitation yet under the timing curve (ERAS releases applications "
                   f"in late September), yet the season file holds {len(answered)} answer(s): check --today (a month "
                   "and day swapped?) and the dates in the file")
    early = [r for r in season.rows if r["status"] in INVITATIONS and r.get("date") is not None
             and timing.invitations.share(r["date"]) <= 0]
    if early:
        r = early[0]
        out.append(f"{season.path}: line {r['line']}: {r['program_id']} is {r['status']} on {r['date']}, before ERAS "
                   "releases applications to programs (late September): check the date")
    if sent >= 1.0:
        out.append(f"by {today} the invitation season is over under the timing curve (every invitation sent by early "
                   "February): the figures are what your answers give, and a new application can no longer bring an "
                   "interview (if this is not the date you meant, check --today)")
    return out


def signals_warning(problem: Problem, season: Season) -> list[str]:
    """A season file that names no signal where the model has signals: each application counts
    as sent without one, so every answer from a program you signalled is read against the wrong
    expectation.  P(match) now can then be off either way: on the example season
    (data/seasons/example_80.csv, on 2026-10-01, 11-04 and 12-07), leaving out its signals
    raised P(match) now by 0.4-1.6 points with its answers and lowered it by 0.7-2.7 points with
    every program silent (tests/test_season_plan.py holds both directions)."""
    if not problem.has_signals or any(r["signal"] for r in season.rows):
        return []
    return ["the season file gives no signals, so every application counts as sent without one; if you signalled "
            "programs, the answers are read against the wrong expectation and P(match) now may be off either way "
            "(silence from a signalled program is worse news than an unsignalled one's); add a signal column (gold or "
            "silver per program), as the CSV that `allocator solve --out` writes has"]


def geography_warnings(problem: Problem, season: Season) -> list[str]:
    if season.divisions or not problem.has_geo:
        return []
    from allocator.inputs.listfile import no_divisions_warning

    return [no_divisions_warning("the season file") + "; if you named one, the answers from programs in those "
            "divisions are read against the wrong expectation and P(match) now may be off either way"]


def prob(x: float) -> float:
    """A probability as shown: rounding noise (1 - 1e-16, -2e-16) read as the 0 or 1 it is."""
    return float(min(1.0, max(0.0, round(float(x), 12))))


def standing(ctx: Context) -> dict:
    """Where the posterior puts the applicant among applicants with the same profile: the
    expected share of such applicants who are stronger (at a node of strength s, low = strong,
    that share is Phi(s)), averaged over the posterior, and over the prior before any answer
    (about 50%); the 10th-90th percentile of that share under the posterior, widened to include
    the average when the few nodes that carry the strength let a small mass pull it outside."""
    share = ndtr(ctx.nm.strength)
    top = float(ctx.pi @ share)
    prior = float(ctx.nm.w @ share / ctx.nm.w.sum())
    lo, hi = post.quantile(share, ctx.pi, 0.1), post.quantile(share, ctx.pi, 0.9)
    lo, hi = min(lo, top), max(hi, top)
    return {"top_share": top, "top_share_interval": [lo, hi], "prior_top_share": prior,
            "sentence": _sentence(top, prior)}


def _sentence(top: float, prior: float) -> str:
    if abs(top - prior) < 0.005:
        return f"your answers so far do not move your standing: about {100 * top:.0f}% of applicants like you are stronger"
    for cut, words in ((0.1, "top tenth"), (0.25, "top quarter"), (1 / 3, "top third"), (0.5, "top half")):
        if top <= cut:
            return (f"your answers so far place you in the {words} of applicants like you (top {100 * top:.0f}%; "
                    f"before any answer: {100 * prior:.0f}%)")
    return (f"your answers so far place you below the middle of applicants like you: about {100 * top:.0f}% of "
            f"them are stronger (before any answer: {100 * prior:.0f}%)")


def rank_order(ranks: list, la: np.ndarray, m_post: np.ndarray) -> tuple[list[int], str]:
    """The rank order list of the programs held: the ones you ranked first, in your order (a
    rank is a position: gaps are kept as order), then the others LA first, then the likeliest
    (P(match | interview) under the posterior); with the order's description."""
    ranked = sorted((a for a, r in enumerate(ranks) if r is not None), key=lambda a: ranks[a])
    rest = sorted((a for a, r in enumerate(ranks) if r is None), key=lambda a: (not la[a], -m_post[a]))
    if not rest:
        return ranked, "your ranks (rank column)"
    if not ranked:
        return rest, "LA first, then the likeliest (no ranks given)"
    which = "1 program" if len(ranked) == 1 else f"{len(ranked)} programs"
    return ranked + rest, f"your ranks for {which}, then LA first, then the likeliest"


def interviews_stage(ctx: Context) -> dict | None:
    """With invitations in hand: P(match) from those interviews alone, LA first, and per program
    for the rank order (:func:`rank_order`: your ranks first, the rest LA first then the likeliest)."""
    inv = [j for j, s in enumerate(ctx.statuses) if s in ("invited", "interviewed")]
    if not inv:
        return None
    pr, rows = ctx.problem, ctx.season.by_id()
    ids = [pr.ids[ctx.idx[j]] for j in inv]
    la = pr.la[ctx.idx[inv]]
    m_post = ctx.pi @ ctx.nm.m[:, inv]
    ranks = [rows[pid]["rank"] for pid in ids]
    order, described = rank_order(ranks, la, m_post)
    fail = np.ones(len(ctx.pi))
    per = []
    for a in order:
        mj = ctx.nm.m[:, inv[a]]
        per.append({"program_id": ids[a], "name": str(pr.candidates.column("name")[ctx.idx[inv[a]]]),
                    "la_area": bool(la[a]), "rank": ranks[a],
                    "p_match_here": float(ctx.pi @ (fail * mj)), "p_match_if_interviewed": float(m_post[a])})
        fail = fail * (1 - mj)
    c_inv = 1 - ctx.nm.m[:, inv]
    return {"p_match_interviews_only": post.p_match(ctx.pi, c_inv),
            "p_match_la_interviews_only": post.p_match(ctx.pi, c_inv[:, la]) if la.any() else 0.0,
            "p_match_west_interviews_only": post.p_match(ctx.pi, c_inv[:, in_west(pr)[ctx.idx[inv]]]),
            "rank_order": described, "ranked_by_you": sum(r is not None for r in ranks),
            "programs": per,
            "note": "The Match is applicant-proposing deferred acceptance: ranking programs in your true order of "
                    "preference is always safe; it never lowers your chance of matching anywhere."}


def figures(ctx: Context) -> dict:
    """The posterior numbers now, and the same list before any news."""
    nm, obs, pi, c = ctx.nm, ctx.obs, ctx.pi, ctx.c
    la, west = ctx.problem.la[ctx.idx], in_west(ctx.problem)[ctx.idx]
    prior_c = 1 - nm.q * nm.m
    r = post.further_interview_probs(nm, obs)
    have = int(np.sum(obs.code == post.INVITED))
    dist = post.count_distribution(pi, r, base=have)
    counts = ctx.season.counts()
    out = {
        "today": ctx.today.isoformat(), "invitations_sent_share": ctx.F, "rejections_sent_share": ctx.R,
        "counts": counts, "n_applications": len(ctx.idx),
        "p_match": prob(post.p_match(pi, c)), "p_match_before": prob(post.p_match(nm.w, prior_c)),
        "p_match_interval": None, "p_match_before_interval": None, "p_match_la_interval": None,
        "p_match_la": prob(post.p_match(pi, c[:, la])) if la.any() else 0.0,
        "p_match_la_before": prob(post.p_match(nm.w, prior_c[:, la])) if la.any() else 0.0,
        "p_match_west_interval": None,  # the West, LA included, ranked first
        "p_match_la_before_interval": None, "p_match_west_before_interval": None,
        "p_match_west": prob(post.p_match(pi, c[:, west])) if west.any() else 0.0,
        "p_match_west_before": prob(post.p_match(nm.w, prior_c[:, west])) if west.any() else 0.0,
        "interviews_so_far": have,
        "expected_further_invitations": float(pi @ r.sum(axis=1)),
        "expected_invitations_before": float(nm.w @ nm.q.sum(axis=1)),
        "p_interviews_at_least": {str(t): prob(dist[t:].sum()) for t in THRESHOLDS},
        "standing": standing(ctx),
    }
    out.update(ensemble_ranges(ctx, r))  # the ensemble's nodes are the objective's: r serves both
    from allocator.season.timingband import band

    out.update(band(ctx, out["p_match"]))
    now_warnings = _now_check(ctx, dist, out)
    before = before_checks(ctx, out["p_match_before_interval"])
    out["p_match_score_check"] = before.pop("_score_check")
    out["p_match_before_cap_check"] = before.pop("_cap_check")
    from allocator.season.planfig import cap_check_now

    out["p_match_cap_check"] = cap_check_now(ctx, out["p_match_before_cap_check"])
    out["domain_warnings"] = before.pop("_warnings") + now_warnings
    out.update(before)
    from allocator.season.planfig import plan_figures

    out.update(plan_figures(out))
    stage = interviews_stage(ctx)
    held = out.pop("p_match_interviews_only_interval", None)
    if stage is not None:
        from allocator.season.planfig import interviews_only

        out["after_interviews"] = stage | {"p_match_interviews_only_interval": held} | interviews_only(
            ctx.problem.card, len(stage["programs"]), held)
    return out


def season_order(plan: Plan, idx: np.ndarray) -> np.ndarray:
    """Position in ``plan.idx`` of each season row's program ``idx`` (the node model's columns
    are in season-row order)."""
    order = {int(i): j for j, i in enumerate(plan.idx)}
    return np.array([order[int(i)] for i in idx], dtype=int)


def ensemble_ranges(ctx: Context, further: np.ndarray | None = None) -> dict:
    """The 10th-90th percentile over the ensemble's cards of P(match) now, before any answer and
    P(match in LA) now, each card conditioned on the answers by itself and weighted by its
    posterior mass (its prior weight before any answer), the weights whose average is the figure
    shown, so the figure lies in its range (:func:`post.spread`); ``further``: the
    further-invitation chances already computed on the objective's nodes, reused when those are
    the ensemble's.  Empty when the problem has no ensemble or the one-factor copula answers."""
    pr = ctx.problem
    fe = pr.fm_ensemble
    if fe is None or pr.fm is None or fe.n_cards < 2:
        return {}
    nm = ctx.nm if fe is pr.fm else node_model(pr, ctx.plan, fe).subset(season_order(ctx.plan, ctx.idx))
    pi = ctx.pi if fe is pr.fm else post.posterior_weights(nm, ctx.obs)
    c = ctx.c if fe is pr.fm else post.no_match_factors(nm, ctx.obs)
    prior_c = 1 - nm.q * nm.m
    la, west = np.nonzero(pr.la[ctx.idx])[0], np.nonzero(in_west(pr)[ctx.idx])[0]
    inv = [j for j, s in enumerate(ctx.statuses) if s in ("invited", "interviewed")]
    r = further if further is not None and fe is pr.fm else post.further_interview_probs(nm, ctx.obs)
    have = int(np.sum(ctx.obs.code == post.INVITED))
    now, before, now_la, now_west, held, counts, mass, prior = [], [], [], [], [], [], [], []
    before_la, before_west = [], []
    for j in range(fe.n_cards):
        on = fe.card == j
        prior.append(nm.w[on].sum())
        wj = nm.w[on] / prior[-1]  # the card's own weights before any answer
        before.append(post.p_match(wj, prior_c[on]))
        before_la.append(post.p_match(wj, prior_c[on], la) if len(la) else 0.0)
        before_west.append(post.p_match(wj, prior_c[on], west) if len(west) else 0.0)
        if pi[on].sum() <= 0:  # the answers rule this card out (its posterior mass underflows)
            continue
        mass.append(pi[on].sum())
        pj = pi[on] / mass[-1]
        now.append(post.p_match(pj, c[on]))
        now_la.append(post.p_match(pj, c[on], la) if len(la) else 0.0)
        now_west.append(post.p_match(pj, c[on], west) if len(west) else 0.0)
        if inv:
            held.append(post.p_match(pj, 1 - nm.m[on][:, inv]))
        dist = post.count_distribution(pj, r[on], base=have)
        counts.append([float(dist[t:].sum()) for t in THRESHOLDS])
    rng = (lambda v, w=mass: [prob(x) for x in post.spread(v, w)])  # noqa: E731
    return {"p_match_interval": rng(now), "p_match_before_interval": rng(before, prior), "p_match_la_interval": rng(now_la),
            "p_match_west_interval": rng(now_west),
            "p_match_la_before_interval": rng(before_la, prior), "p_match_west_before_interval": rng(before_west, prior),
            "p_match_pessimistic": prob(min(now)),
            "p_interviews_at_least_interval": {str(t): rng([c[k] for c in counts]) for k, t in enumerate(THRESHOLDS)},
            **({"p_match_interviews_only_interval": rng(held)} if held else {})}


def _now_check(ctx: Context, dist, out: dict) -> list[str]:
    """The published-curve check of P(match) now (``p_match_published_curve``): the curve
    applied to the posterior distribution of the interviews in all (those held and those still
    expected), where the model's known over-conversion matters most; its warning when even its
    upper end lies below the range now.  None under the copula (no interview stage)."""
    from allocator.verification import published_curve

    pc = published_curve.check(ctx.problem.card, dist) if ctx.problem.fm is not None else None
    out["p_match_published_curve"] = None if pc is None else [prob(x) for x in pc]
    if pc is None:
        return []
    return published_curve.below_range_warning(pc, out.get("p_match_interval"), subject="P(match) now")


def before_checks(ctx: Context, interval) -> dict:
    """What `solve` says of the list as sent, before any answer: its P(match) in a season like the
    worst published one (``p_match_before_worst_season``), the published-curve check
    (``p_match_before_published_curve``: from the exact distribution of its interview count
    under the prior nodes, where solve uses its Monte Carlo's), and the calibrated-domain
    warnings with the check's own (``_warnings``).  The copula (a set correlation, a catalog's own
    p_match) has neither the seasons nor an interview stage: None for both."""
    from allocator.api import list_warnings
    from allocator.optim.evaluate import evaluate
    from allocator.verification import published_curve

    m = evaluate(ctx.problem, ctx.plan, correlations=())
    from allocator.season.planfig import score_check

    from allocator.verification import capcheck

    sc = score_check(ctx, m.p_match_central)
    cc = capcheck.check(ctx.problem, ctx.plan, m.p_match_central, m)  # solve's for the list as sent
    warns = list_warnings(ctx.problem, ctx.plan, m, budget_applies=False, score_check=sc, cap_check=cc)
    pc = None
    if ctx.problem.fm is not None:
        pc = published_curve.check(ctx.problem.card, post.count_distribution(ctx.nm.w, ctx.nm.q))
        warns += published_curve.below_range_warning(pc, interval, subject="this list before any answer")
    return {"p_match_before_worst_season": m.p_match_worst_season if ctx.problem.fm is not None else None,
            "p_match_before_published_curve": None if pc is None else [prob(x) for x in pc], "_warnings": warns,
            "_score_check": sc, "_cap_check": cc}
