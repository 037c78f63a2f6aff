"""Local search for the floored steps of the safety-first objective.

Start from a list that meets a P(match) floor (the safest list) and trade up: the best single
move that raises the expected tier utility while P(match) stays at or above the floor and every
limit holds (budget, counts, LA share, must_apply, specialty_limits).  Moves: swap a listed program for an unlisted one of the same specialty (a
signal, if any, moves with it), add a program, drop one, move a signal to another listed
program of the same specialty, exchange two listed programs' signals of different kinds, or
place an unused signal.  The geographic preference is the start list's.  Each move is scored
exactly under the problem's node mixture (one matrix product per utility level), so the result
is a real list with its real value, never worse than the start; it is the integer program's
first incumbent, not a proof (the caller says which).

Units: probabilities in [0, 1]; utilities as in ``Problem.utility``; costs in USD.
"""
from __future__ import annotations

import numpy as np

from allocator.optim import deadline
from allocator.optim.problem import Plan, Problem

TOL = 1e-9


class _State:
    """The list as masks over the candidates, and the per-variant log-fail columns."""

    def __init__(self, problem: Problem, plan: Plan, cand: np.ndarray, utility: np.ndarray):
        self.pr, self.cand = problem, cand
        self.w = problem.node_weights()
        on_div = np.zeros(len(cand), bool)
        if problem.p_geo is not None and plan.divisions:
            on_div = np.isin(problem.division_array[cand], list(plan.divisions))
        self.plain = self._variant("plain", "geo", on_div)
        self.sig = {k: self._variant(k, f"{k}_geo", on_div) for k in problem.p_signal}
        # exp of the log-fail columns (P(no success | node) per program), per signal kind
        self.fail = {"": np.exp(self.plain), **{k: np.exp(A) for k, A in self.sig.items()}}
        pos = {int(c): j for j, c in enumerate(cand)}
        self.on = np.zeros(len(cand), bool)
        self.on[[pos[i] for i in plan.idx]] = True
        self.kind = np.full(len(cand), "", dtype=object)
        for i, k in plan.signals:
            self.kind[pos[int(i)]] = k
        u = utility[cand]
        levels = np.unique(u[u > 0])
        self.masks = np.vstack([np.ones(len(cand), bool)] + [u >= lev for lev in levels])  # level 0: P(match)
        self.du = np.concatenate([[0.0], np.diff(np.concatenate([[0.0], levels]))])
        self.divisions = plan.divisions

    def _variant(self, name: str, geo: str, on_div: np.ndarray) -> np.ndarray:
        A = self.pr.log_fail_matrix(name, self.cand)
        if on_div.any():
            A = np.where(on_div[None, :], self.pr.log_fail_matrix(geo, self.cand), A)
        return A

    def column(self, j: np.ndarray, kinds: np.ndarray) -> np.ndarray:
        """(K, len(j)) log-fail columns of candidates ``j`` with signal ``kinds`` ("" = none)."""
        out = self.plain[:, j].copy()
        for k, A in self.sig.items():
            sel = kinds == k
            out[:, sel] = A[:, j[sel]]
        return out

    def level_sums(self) -> np.ndarray:
        """(levels, K): w_k * exp(sum of the listed programs' log-fail at each level)."""
        idx = np.nonzero(self.on)[0]
        cur = self.column(idx, self.kind[idx])
        return self.w[None, :] * np.exp(self.masks[:, idx].astype(float) @ cur.T)

    def values(self, none: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(P(match), E[U]) from P(no match) per level (levels first)."""
        # tensordot's own product, without its Python overhead (1,750 calls per step-2 climb)
        return 1.0 - none[0], (self.du @ (1.0 - none).reshape(len(none), -1)).reshape(none.shape[1:])

    def plan(self) -> Plan:
        idx = np.nonzero(self.on)[0]
        sig = {int(self.cand[j]): str(self.kind[j]) for j in idx if self.kind[j]}
        return Plan.of(self.cand[idx], sig, self.divisions)


def _limits(st: _State):
    pr, cand = st.pr, st.cand
    spec, la, extra = pr.spec[cand], pr.la[cand].astype(float), pr.extra[cand]
    fee = np.array(pr.schedule.fees(pr.max_apps + 1))
    counts = np.bincount(spec[st.on], minlength=len(pr.specialties))
    cost = float(fee[counts].sum() + extra[st.on].sum())
    return spec, la, extra, fee, counts, pr.budget - cost


def _specialty_room(pr: Problem, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per specialty: (may take one more program, may give one up) under ``specialty_limits``.
    Swaps stay within a specialty, so only adds and drops need these."""
    lo = np.array([pr.spec_min.get(name, 0) for name in pr.specialties])
    hi = np.array([pr.spec_max.get(name, pr.max_apps) for name in pr.specialties])
    return counts + 1 <= hi, counts - 1 >= lo


def _swap_moves(st: _State, S: np.ndarray, ins, outs, lim, floor):
    """Best swap (value, add, drop): the signal of a dropped program moves to the added one."""
    spec, la, extra, _, _, slack = lim
    must = np.isin(st.cand[ins], np.asarray(st.pr.must, int))
    n, n_la = int(st.on.sum()), float(la[st.on].sum())
    ok = ~must[:, None] & (spec[ins][:, None] == spec[outs][None, :])
    ok &= extra[outs][None, :] - extra[ins][:, None] <= slack + TOL
    ok &= n_la - la[ins][:, None] + la[outs][None, :] <= st.pr.la_share_max * n + TOL
    if not ok.any():
        return None
    none = np.empty((len(st.masks), len(ins), len(outs)))
    for k in set(st.kind[ins]):  # the added program takes the dropped one's signal kind k
        rows = np.nonzero(st.kind[ins] == k)[0]
        f_in, f_out = 1.0 / st.fail[k][:, ins[rows]], st.fail[k][:, outs]
        for lv, m in enumerate(st.masks):
            none[lv][rows] = _swap_sums(S[lv], f_in, f_out, m[ins[rows]], m[outs])
    p, u = st.values(none)
    u = np.where(ok & (p >= floor), u, -np.inf)
    a, b = np.unravel_index(int(np.argmax(u)), u.shape)
    return float(u[a, b]), outs[b], ins[a]


def _swap_sums(s: np.ndarray, f_in: np.ndarray, f_out: np.ndarray, m_in: np.ndarray, m_out: np.ndarray) -> np.ndarray:
    """(drops, adds): sum over nodes k of s_k g_in[k, a] g_out[k, b], where g is f inside the
    level's mask and 1 outside it.  Only the block inside both masks needs the matrix product
    (for the LA and West levels a small corner of it); a row outside is one vector product,
    a column outside one sum.  The swap moves' time on the typical profile: 0.24 -> 0.09 s."""
    if m_in.all() and m_out.all():
        return (s[:, None] * f_in).T @ f_out
    G = s[:, None] * f_in[:, m_in]
    out = np.empty((len(m_in), len(m_out)))
    out[~m_in] = s @ np.where(m_out, f_out, 1.0)
    inner = np.empty((int(m_in.sum()), len(m_out)))
    inner[:, ~m_out] = G.sum(axis=0)[:, None]
    inner[:, m_out] = G.T @ f_out[:, m_out]
    out[m_in] = inner
    return out


def _add_drop_moves(st: _State, S: np.ndarray, ins, outs, lim, floor):
    """Best add or drop: (value, add, drop) with one of them None."""
    pr = st.pr
    spec, la, extra, fee, counts, slack = lim
    n, n_la = int(st.on.sum()), float(la[st.on].sum())
    best = None
    may_add, may_drop = _specialty_room(pr, counts)
    if len(outs) and n + 1 <= pr.max_apps:
        d_fee = fee[counts[spec[outs]] + 1] - fee[counts[spec[outs]]]
        ok = (d_fee + extra[outs] <= slack + TOL) & (n_la + la[outs] <= pr.la_share_max * (n + 1) + TOL)
        ok &= may_add[spec[outs]]
        f_out = st.fail[""][:, outs]
        none = np.stack([S[lv] @ np.where(m[outs], f_out, 1.0) for lv, m in enumerate(st.masks)])
        p, u = st.values(none)
        u = np.where(ok & (p >= floor), u, -np.inf)
        j = int(np.argmax(u))
        best = (float(u[j]), outs[j], None)
    if len(ins) and n - 1 >= pr.min_apps:
        must = np.isin(st.cand[ins], np.asarray(pr.must, int))
        ok = ~must & (n_la - la[ins] <= pr.la_share_max * (n - 1) + TOL) & may_drop[spec[ins]]
        cur = st.column(ins, st.kind[ins])
        none = np.stack([S[lv] @ np.exp(-cur * m[ins]) for lv, m in enumerate(st.masks)])
        p, u = st.values(none)
        u = np.where(ok & (p >= floor), u, -np.inf)
        j = int(np.argmax(u))
        if best is None or u[j] > best[0]:
            best = (float(u[j]), None, ins[j])
    return best


def _signal_moves(st: _State, S: np.ndarray, ins, floor):
    """Best signal move (value, kind, from, to): from a listed program to another of the same
    specialty, or an unused signal placed (from = None)."""
    pr, spec = st.pr, st.pr.spec[st.cand]
    free = ins[st.kind[ins] == ""]
    if not len(free):
        return None
    best = None
    for k, A in st.sig.items():
        gain = (A[:, free] - st.plain[:, free])  # log-fail change when ``free`` gets signal k
        srcs = ins[st.kind[ins] == k]
        used = np.bincount(spec[srcs], minlength=len(pr.specialties))
        for s, name in enumerate(pr.specialties):
            to = free[spec[free] == s]
            if not len(to):
                continue
            g = gain[:, spec[free] == s]
            if used[s] < pr.signals_available.get((name, k), 0):  # place an unused signal
                none = np.stack([S[lv] @ np.exp(g * m[to]) for lv, m in enumerate(st.masks)])
                best = _better(best, st, none, floor, lambda j, k=k, to=to: (k, None, to[j]))
            fr = srcs[spec[srcs] == s]
            if len(fr):
                back = st.plain[:, fr] - A[:, fr]
                none = np.stack([(S[lv][:, None] * np.exp(back * m[fr])).T @ np.exp(g * m[to])
                                 for lv, m in enumerate(st.masks)])
                best = _better(best, st, none, floor, lambda ab, k=k, fr=fr, to=to: (k, fr[ab[0]], to[ab[1]]))
    return best


def _exchange_moves(st: _State, S: np.ndarray, ins, floor):
    """Best exchange of two listed programs' signals of different kinds, same specialty
    (value, a, b): a gold and a silver trade places.  As two single moves it would pass
    through a list with one signal fewer, which best-improvement never steps down to."""
    spec, kinds = st.pr.spec[st.cand], list(st.sig)
    best = None
    for i, k1 in enumerate(kinds):
        for k2 in kinds[i + 1:]:
            a_all, b_all = ins[st.kind[ins] == k1], ins[st.kind[ins] == k2]
            for s in np.intersect1d(spec[a_all], spec[b_all]):
                a, b = a_all[spec[a_all] == s], b_all[spec[b_all] == s]
                da = st.sig[k2][:, a] - st.sig[k1][:, a]  # log-fail change of a: k1 -> k2
                db = st.sig[k1][:, b] - st.sig[k2][:, b]  # and of b: k2 -> k1
                none = np.stack([(S[lv][:, None] * np.exp(da * m[a])).T @ np.exp(db * m[b])
                                 for lv, m in enumerate(st.masks)])
                best = _better(best, st, none, floor, lambda ab, a=a, b=b: (a[ab[0]], b[ab[1]]))
    return best


def _better(best, st: _State, none: np.ndarray, floor: float, which):
    p, u = st.values(none)
    u = np.where(p >= floor, u, -np.inf)
    flat = int(np.argmax(u))
    if not np.isfinite(u.flat[flat]) or (best is not None and u.flat[flat] <= best[0]):
        return best
    at = np.unravel_index(flat, u.shape) if u.ndim > 1 else flat
    return (float(u.flat[flat]), *which(at))


def _step(st: _State, floor: float, now: float) -> bool:
    """Apply the best improving move; False when none improves by more than 1e-12."""
    S = st.level_sums()
    ins, outs = np.nonzero(st.on)[0], np.nonzero(~st.on)[0]
    lim = _limits(st)
    moves = []
    if len(ins) and len(outs):
        sw = _swap_moves(st, S, ins, outs, lim, floor)
        if sw is not None:
            moves.append(("swap", sw))
    ad = _add_drop_moves(st, S, ins, outs, lim, floor)
    if ad is not None:
        moves.append(("adddrop", ad))
    if st.sig:
        sg = _signal_moves(st, S, ins, floor)
        if sg is not None:
            moves.append(("signal", sg))
        ex = _exchange_moves(st, S, ins, floor)
        if ex is not None:
            moves.append(("exchange", ex))
    if not moves:
        return False
    kind, best = max(moves, key=lambda m: m[1][0])
    if best[0] <= now + 1e-12:
        return False
    if kind == "exchange":
        _, a, b = best
        st.kind[a], st.kind[b] = st.kind[b], st.kind[a]
        return True
    if kind == "signal":
        _, k, fr, to = best
        if fr is not None:
            st.kind[fr] = ""
        st.kind[to] = k
        return True
    _, add, drop = best
    if drop is not None:
        moved = st.kind[drop] if kind == "swap" else ""
        st.on[drop], st.kind[drop] = False, ""
    if add is not None:
        st.on[add], st.kind[add] = True, (moved if drop is not None else "")
    return True


def trade_up(problem: Problem, plan: Plan, floor: float, utility: np.ndarray, cand: np.ndarray, *,
             max_moves: int = 200, divisions: bool = True) -> Plan:
    """The list reached from ``plan`` by best-improvement moves on the expected value of
    ``utility`` (one value per program of ``problem``) with P(match) >= ``floor`` throughout.
    ``plan`` must meet the floor and every limit; ``cand`` the candidates to draw from.

    With ``divisions`` (and a geographic preference to optimize), the climb is repeated from
    the neighbouring preferences (one division swapped for another, or one added) that bring in
    a division holding a program of above-minimum utility: the list is first climbed back
    above the floor on P(match) if the new preference lowered it, then on ``utility``; the best
    neighbour replaces the list while it improves (at most DIVISION_ROUNDS rounds).

    >>> better = trade_up(problem, safest_plan, 0.84, problem.utility, cand)  # doctest: +SKIP
    """
    cand = np.union1d(np.asarray(cand, int), np.asarray(plan.idx, int))
    utility = np.asarray(utility, float)
    best = _climb(problem, plan, floor, utility, cand, max_moves)
    if not (divisions and problem.has_geo):
        return best
    value = _expected(problem, best, utility)
    for _ in range(DIVISION_ROUNDS):
        if deadline.passed():
            break
        found = []
        for nb in _division_neighbours(problem, best.divisions, utility, cand):
            start = Plan(best.idx, best.signals, nb)
            p_start = _expected(problem, start, None)
            if p_start < floor:  # the new preference lowered P(match): climb it back first
                start = _climb(problem, start, p_start, None, cand, max_moves)
                if _expected(problem, start, None) < floor:
                    continue
            out = _climb(problem, start, floor, utility, cand, max_moves)
            found.append((_expected(problem, out, utility), out))
        top = max(found, key=lambda t: t[0], default=None)
        if top is None or top[0] <= value + TOL:
            break
        value, best = top
    return best


DIVISION_ROUNDS = 3
# The LA-leaning climbs score P(match in LA) + LA_TIEBREAK * P(match): a move that keeps
# P(LA) but raises P(match) opens room above the floor for the next LA program, so it must
# count as a step up (with P(LA) alone the climb stopped 1-4 points of P(LA) lower on the
# shipped profiles).  Lists are still ranked by their true P(LA) afterwards.
LA_TIEBREAK = 0.01


def la_utility(problem: Problem) -> np.ndarray:
    """The per-program utility an LA-leaning climb maximizes (see LA_TIEBREAK)."""
    return problem.la.astype(float) + LA_TIEBREAK


def _climb(problem: Problem, plan: Plan, floor: float, utility: np.ndarray | None, cand: np.ndarray,
           max_moves: int) -> Plan:
    """Best-improvement moves at a fixed geographic preference (``utility`` None: P(match))."""
    u = np.ones(problem.n) if utility is None else utility
    st = _State(problem, plan, cand, u)
    for _ in range(max_moves):
        if deadline.passed():  # every list on the way is a real one that meets the floor
            break
        p, v = st.values(st.level_sums().sum(axis=1))
        if not _step(st, floor, float(v)):
            break
    return st.plan()


def _expected(problem: Problem, plan: Plan, utility: np.ndarray | None) -> float:
    """E[utility] of ``plan`` under the problem's node mixture (``utility`` None: P(match))."""
    u = np.ones(problem.n) if utility is None else utility
    idx = np.asarray(plan.idx, int)
    A = problem.plan_log_fail(plan)  # (K, len(idx)) log-fail columns, signals and preference applied
    w = problem.node_weights()
    levels = np.unique(u[idx][u[idx] > 0])
    du = np.diff(np.concatenate([[0.0], levels]))
    return float(sum(d * (1.0 - w @ np.exp(A[:, u[idx] >= lev].sum(axis=1))) for d, lev in zip(du, levels)))


def _division_neighbours(problem: Problem, chosen: tuple[str, ...], utility: np.ndarray, cand: np.ndarray):
    """Preferences one step from ``chosen``: a division swapped for, or added as, one that holds
    a candidate whose utility exceeds the lowest candidate utility (a preference for a division
    of lowest-utility programs only cannot raise the expected utility more than the one it replaces)."""
    if not len(cand):  # nothing to list (every program excluded, or no room): no preference helps
        return []
    div = problem.division_array[cand]
    u = utility[cand]
    ins = sorted(set(div[u > u.min() + TOL]) - set(chosen) - {""})
    out = [tuple(sorted(set(chosen) - {d} | {new})) for d in chosen for new in ins]
    if len(chosen) < problem.max_divisions:
        out += [tuple(sorted(set(chosen) | {new})) for new in ins]
    return list(dict.fromkeys(out))
