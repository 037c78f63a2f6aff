"""The web page's time limit caps the settled steps too (allocator.optim.deadline): the local
search stops where it is, the second solving thread sees the caller's deadline, and a settled
safety-first solve whose deadline has passed still answers with a real list that meets its
floor, never an unproven "optimal"."""
from __future__ import annotations

import time

import numpy as np
import pytest

from allocator.optim import deadline
from allocator.optim.beside import Beside
from allocator.optim.evaluate import evaluate
from allocator.optim.feasibility import violations
from allocator.optim.pipeline import optimize
from allocator.optim.safety import safety_first
from allocator.optim.tradeup import trade_up
from allocator.status import Status

from .helpers import random_problem


def _problem(seed: int = 3):
    pr = random_problem(np.random.default_rng(seed), 12, rho=0.3, affordable=True, objective="utility")
    return pr.with_limits(max_apps=8, budget=10_000.0)


def test_no_deadline_unless_capped():
    assert deadline.left() is None and not deadline.passed()
    with deadline.capped(None):
        assert deadline.left() is None
    with deadline.capped(60):
        assert 0 < deadline.left() <= 60 and not deadline.passed()
    assert deadline.left() is None


def test_the_second_thread_sees_its_callers_deadline():
    with deadline.capped(60):
        seen = Beside(deadline.left).result()
    assert seen is not None and 0 < seen <= 60
    assert Beside(deadline.left).result() is None


def test_the_local_search_stops_at_a_passed_deadline():
    pr = _problem()
    safest = optimize(pr.with_limits(objective="p_match"), "p_match", method="milp")
    floor = float(safest.objective) - 0.05
    cand = np.arange(pr.n)
    climbed = trade_up(pr, safest.plan, floor, pr.utility, cand)
    assert climbed != safest.plan  # there is somewhere to climb, so stopping is visible
    with deadline.capped(0.0):
        assert trade_up(pr, safest.plan, floor, pr.utility, cand) == safest.plan


def test_a_settled_solve_past_its_deadline_answers_with_a_real_list():
    pr = _problem()
    sf = safety_first(pr, margin=0.05, time_limit=1e-6, settle=True, method="milp")
    for out in (sf.chosen, sf.safest):
        assert out.status.has_list and not violations(pr, out.plan)
    assert evaluate(pr, sf.chosen.plan, correlations=()).p_match >= sf.floor - 1e-12
    assert sf.safest.status is Status.FEASIBLE and sf.chosen.status is Status.FEASIBLE  # stopped: not proven


def test_no_solve_starts_after_the_deadline_whatever_window_it_was_given():
    """A step's integer-program window is worked out when the step starts; a deadline passed since
    then bounds it (the LA-leaning program once ran 7 s past a 5 s limit)."""
    from allocator.optim.outer import solve_milp
    from allocator.optim.pipeline import candidates

    pr = _problem().with_limits(objective="p_match")
    cand = candidates(pr, "p_match", None)
    assert solve_milp(pr, cand, "p_match", time_limit=30.0).solves > 0  # without a deadline it solves
    with deadline.capped(0.0):
        out = solve_milp(pr, cand, "p_match", time_limit=30.0)
    assert out.solves == 0 and out.status is not Status.OPTIMAL


def test_a_time_limited_la_leaning_solve_answers_with_a_list_within_its_limit(monkeypatch):
    """`--objective p_match_la --target T --time-limit S` on the typical profile at $2,190: the
    integer program finds no list in seconds (it needs about 200 s to prove its answer), so this
    answered "no list found within the time limit" after 3.4 times its 10 s limit.  It now starts
    from the best P(match) list climbed toward LA at the floor and gives the rest of the limit to
    the solves, so a time-out leaves that list: every limit met, the floor met.  The floored
    solves' time-out is simulated here (the real one depends on the machine's load)."""
    from allocator.api import load
    from allocator.optim import pipeline
    from allocator.optim.outer import Outcome
    from allocator.paths import DATA_DIR

    real = pipeline.solve_milp

    def timed_out(problem, cand, mode, **kw):
        if mode != "la_given_target":
            return real(problem, cand, mode, **kw)
        return Outcome(Status.NO_SOLUTION, None, None, None, None, 0.0, 0.0, 0, len(cand), "milp",
                       "time limit reached")

    monkeypatch.setattr(pipeline, "solve_milp", timed_out)
    pr = load(DATA_DIR / "profiles" / "typical_us_img.toml", budget=2190.0)
    pr = pr.with_limits(objective="p_match_la")
    out = optimize(pr, "la_given_target", target=0.814, time_limit=30.0)
    assert out.status is Status.FEASIBLE and out.plan is not None
    assert not violations(pr, out.plan)
    m = evaluate(pr, out.plan, correlations=())
    assert m.p_match >= 0.814 and m.p_match_la == pytest.approx(out.objective, abs=1e-12) and out.objective > 0.15
    assert optimize(pr, "la_given_target", target=0.814).status is Status.NO_SOLUTION  # no limit: no start list


def test_an_out_of_reach_la_leaning_target_under_a_time_limit_is_infeasible_not_a_time_out(capsys):
    """With the start list made first, the best P(match) (0.791 on the typical profile) is proven
    before the integer program runs: a 0.9 floor is out of reach (exit 3, the limits named), not
    "no list found within the time limit: raise --time-limit" (exit 4), whatever the limit."""
    from allocator.cli import main
    from allocator.paths import DATA_DIR

    with pytest.raises(SystemExit) as e:
        main(["solve", str(DATA_DIR / "profiles" / "typical_us_img.toml"), "--objective", "p_match_la",
              "--target", "0.9", "--time-limit", "30", "--draws", "0"])
    err = capsys.readouterr().err
    assert e.value.code == 3 and "infeasible: no list reaches P(match) >= 0.9" in err and "the best reachable is 0.791" in err


def test_a_time_limit_counts_the_answers_local_search_and_leaves_the_la_list_at_least_its_window(monkeypatch):
    """`solve --time-limit S` (not settled): the answer's local search runs under the limit's
    deadline (its integer program had got the whole limit after the search), and the LA-leaning
    comparison's search gets what is left of the limit, at least LA_MIN_SECONDS."""
    import allocator.optim.safety as safety

    seen = []
    real = safety.trade_up

    def spy(problem, plan, floor, utility, pool):
        seen.append(deadline.left())
        return real(problem, plan, floor, utility, pool)

    monkeypatch.setattr(safety, "trade_up", spy)
    monkeypatch.setattr(safety, "equal_utilities", lambda problem: False)
    pr = _problem()
    sf = safety_first(pr, margin=0.05, time_limit=30.0, settle=False)
    assert sf.chosen.status.has_list and sf.la_leaning is not None and len(seen) >= 2
    assert all(s is not None for s in seen)
    assert seen[0] <= 30.0  # the answer's search: the rest of the 30 s
    assert safety.LA_MIN_SECONDS - 1.0 < seen[-1] <= 30.0  # the LA-leaning list's window
    t0 = time.perf_counter()
    assert safety._la_limit(30.0, t0 - 29.0, settle=False) == safety.LA_MIN_SECONDS
    assert 19.0 < safety._la_limit(30.0, t0 - 10.0, settle=False) <= 20.0
