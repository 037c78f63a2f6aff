"""Infeasible settings: exit code 3, the smallest conflicting set of named constraint
groups (``InfeasibleError.groups``), and a message that says what to change.

"Smallest" is checked as irreducible: relaxing any one named group makes a list exist.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest

from allocator import api
from allocator.inputs.catalog import catalog_from_frame
from allocator.cli import main
from allocator.errors import InfeasibleError
from allocator.optim.assemble import build_problem
from allocator.inputs.profile import profile_from_dict

ROOT = Path(__file__).resolve().parents[1]

# ten programs, P0, P3, P6, P9 in Greater LA; p rises with the index
N = 10
LA = [i % 3 == 0 for i in range(N)]


def catalog(extras: bool = False):
    df = pd.DataFrame({
        "program_id": [f"P{i}" for i in range(N)], "name": [f"Program {i}" for i in range(N)],
        "specialty": "Internal Medicine",
        "city": ["Los Angeles" if x else "Columbus" for x in LA], "state": ["CA" if x else "OH" for x in LA],
        "la_area": LA, "p_match": [round(0.05 + 0.03 * i, 4) for i in range(N)],
        "fee_extra": [10 * (i % 4) if extras else 0 for i in range(N)],
    })
    return catalog_from_frame(df, "<test catalog>")


def problem(strategy: dict, extras: bool = False):
    return build_problem(catalog(extras), profile_from_dict({"strategy": {"correlation": 0.3, **strategy}}, "<p>"))


# what relaxing one group means, as a strategy change
RELAX = {
    "budget": {"budget": 1e6},
    "max_applications": {"max_applications": 1000},
    "min_applications": {"min_applications": 0},
    "la_share": {"la_share_max": 1.0},
    "must_apply": {"must_apply": []},
}

CASES = {
    # name: (strategy, extras, groups, message fragments)
    "budget_below_min_fees": ({"budget": 60, "min_applications": 8}, False, {"budget", "min_applications"},
                              ["budget $60 is below the $88 needed for min_applications=8: raise the budget to $88 "
                               "or lower min_applications to 5"]),
    # 2024's flat $99 first block: $90 buys no program at all, so lowering min_applications cannot
    # help and only the budget is named ($99 then buys the 3 programs of min_applications)
    "budget_below_min_fees_2024": ({"budget": 90, "min_applications": 3, "season": "2024"}, False,
                                   {"budget"},
                                   ["budget $90 pays for no application (the cheapest program costs $99): raise the "
                                    "budget to $99 (conflicting: budget)"]),
    "budget_below_min_fees_with_extras": ({"budget": 100, "min_applications": 8}, True, {"budget", "min_applications"},
                                          ["budget $100 is below the $158 needed for min_applications=8"]),
    "la_cap_zero_with_la_must": ({"la_share_max": 0.0, "must_apply": ["P3"]}, False, {"la_share", "must_apply"},
                                 ["must_apply holds 1 Greater-LA program(s) but la_share_max=0",
                                  "raise la_share_max or remove them from must_apply"]),
    "la_musts_small_max": ({"la_share_max": 0.3, "must_apply": ["P0", "P3"], "max_applications": 5}, False,
                           {"la_share", "must_apply", "max_applications"},
                           ["must_apply holds 2 Greater-LA program(s)", "at least 7 applications",
                            "raise la_share_max"]),
    "la_musts_small_budget": ({"la_share_max": 0.5, "must_apply": ["P0", "P3", "P6"], "budget": 50}, False,
                              {"la_share", "must_apply", "budget"},
                              ["must_apply holds 3 Greater-LA program(s)", "at least 6 applications"]),
    "must_over_max": ({"must_apply": ["P1", "P2", "P4"], "max_applications": 2}, False,
                      {"max_applications", "must_apply"},
                      ["must_apply lists 3 programs but max_applications=2: raise max_applications to 3 or shorten "
                       "must_apply"]),
    "must_over_budget": ({"must_apply": ["P1", "P2", "P4"], "budget": 30}, False, {"budget", "must_apply"},
                         ["budget $30 is below the $33 the 3 must_apply programs cost"]),
    "min_above_eligible": ({"min_applications": 12, "max_applications": 20}, False, {"min_applications"},
                           ["min_applications=12 exceeds the 10 programs", "lower min_applications"]),
    "min_above_eligible_after_never": ({"min_applications": 9, "max_applications": 20,
                                        "never_apply": ["P1", "P2"]}, False, {"min_applications"},
                                       ["min_applications=9 exceeds the 8 programs", "never_apply"]),
    "min_with_zero_la_share": ({"la_share_max": 0.0, "min_applications": 8}, False, {"min_applications", "la_share"},
                               ["min_applications=8 with la_share_max=0", "6 available",
                                "lower min_applications to 6 or raise la_share_max"]),
}


def _infeasible(strategy, extras, method):
    with pytest.raises(InfeasibleError) as e:
        api.solve(None, problem=problem(strategy, extras), draws=0, method=method)
    return e.value


@pytest.mark.parametrize("method", ["auto", "milp"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_groups_and_message(case, method):
    strategy, extras, groups, fragments = CASES[case]
    err = _infeasible(strategy, extras, method)
    assert set(err.groups) == groups, (err.groups, str(err))
    msg = str(err)
    assert "\n" not in msg
    for f in fragments:
        assert f in msg, (f, msg)
    assert f"(conflicting: {', '.join(err.groups)})" in msg
    assert err.exit_code == 3


@pytest.mark.parametrize("case", sorted(CASES))
def test_groups_are_irreducible(case):
    """Relaxing any one named group of the answer leaves a problem with a list of at least one
    program (a group whose relaxation leaves only the empty list is never named)."""
    strategy, extras, groups, _ = CASES[case]
    for g in groups:
        relaxed = {**strategy, **RELAX[g]}
        pr = problem(relaxed, extras)
        res = api.solve(None, problem=pr, draws=0)
        assert res.status.has_list, (case, g)


def test_an_unreachable_target_gives_the_best_lists_10th_percentile(capsys):
    """The best reachable P(match) is an average over the plausible models; the message gives the
    same list's 10th percentile too, the figure to plan on (0.888 on average, 0.812 there)."""
    from allocator.paths import DATA_DIR

    with pytest.raises(SystemExit) as e:
        main(["solve", str(DATA_DIR / "profiles" / "typical_us_img.toml"), "--min-cost", "--target", "0.9",
              "--draws", "0"])
    err = capsys.readouterr().err
    m = re.search(r"the best reachable is (0\.\d+), (0\.\d+) at the 10th percentile of the plausible models", err)
    assert e.value.code == 3 and m and float(m.group(2)) < float(m.group(1)) < 0.9


def test_min_cost_target_unreachable():
    pr = problem({"max_applications": 2})
    with pytest.raises(InfeasibleError) as e:
        api.solve(None, problem=pr, draws=0, min_cost=True, target=0.6)
    assert "target" in e.value.groups and "max_applications" in e.value.groups
    assert "no list reaches P(match) >= 0.6 within max_applications" in str(e.value)
    assert "lower the target" in str(e.value)
    assert "the best reachable is" in str(e.value)


GOOD_CSV = "\n".join(
    ["program_id,name,specialty,city,state,la_area,p_match"]
    + [f"P{i},Program {i},Internal Medicine,{'Los Angeles' if LA[i] else 'Columbus'},{'CA' if LA[i] else 'OH'},"
       f"{str(LA[i]).lower()},{0.05 + 0.03 * i:.4f}" for i in range(N)]) + "\n"


@pytest.mark.parametrize("toml, fragment", [
    ("budget = 200\nmin_applications = 20\nmax_applications = 40\n", "exceeds the 10 programs"),
    ("budget = 60\nmin_applications = 8\n", "budget $60 is below the $88 needed for min_applications=8"),
    ("la_share_max = 0.0\nmust_apply = [\"P0\"]\n", "la_share_max=0"),
    ("max_applications = 1\nmust_apply = [\"P1\", \"P2\"]\n", "max_applications=1"),
])
def test_cli_exit_3_one_line(capsys, tmp_path, toml, fragment):
    cat, prof, out = tmp_path / "c.csv", tmp_path / "p.toml", tmp_path / "best.json"
    cat.write_text(GOOD_CSV)
    prof.write_text("[strategy]\ncorrelation = 0.3\n" + toml)
    with pytest.raises(SystemExit) as e:
        main(["solve", str(prof), "--catalog", str(cat), "--draws", "0", "--json", "--out", str(out)])
    err = capsys.readouterr().err
    assert e.value.code == 3, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("allocator: error: infeasible: "), err
    assert fragment in err and "conflicting:" in err and "Traceback" not in err
    assert not out.exists()


def test_an_out_of_reach_target_names_every_limit_that_binds(capsys):
    """The deletion filter names one irreducible conflict (target and max_applications); when
    relaxing it alone would still fall short because the budget binds too, the message says so
    (the user relaxed max_applications and met a second 'infeasible' naming the budget)."""
    from allocator.paths import DATA_DIR

    with pytest.raises(SystemExit) as e:
        main(["solve", str(DATA_DIR / "profiles" / "typical_us_img.toml"), "--objective", "p_match_la",
              "--target", "0.9", "--draws", "0"])
    err = capsys.readouterr().err
    assert e.value.code == 3 and "within max_applications" in err
    assert re.search(r"relaxing max_applications alone reaches only 0\.\d+, because budget binds too", err)


def test_min_cost_out_of_reach_whatever_the_limits_names_the_limit_holding_the_best(capsys, tmp_path):
    """--min-cost with a target no list reaches even with every limit lifted: the message gives the
    best within the user's limits and the limit holding it (max_applications=60 here), not "relax the
    catalog" (the min-cost search's own best was used without asking what binds)."""
    prof = tmp_path / "me.toml"
    prof.write_text('[applicant]\nstep2_score = 226\nexam_attempts = 1\nusce_months = 2\nusce_california_months = 2\n'
                    'la_ties = true\nyears_since_graduation = 4\n\n[strategy]\nbudget = 800\nseason = "2026"\n'
                    'max_applications = 60\nla_share_max = 0.2\n')
    with pytest.raises(SystemExit) as e:
        main(["solve", str(prof), "--min-cost", "--target", "0.99", "--draws", "0"])
    err = capsys.readouterr().err
    assert e.value.code == 3 and "(conflicting: target)" in err and "relax the catalog" not in err
    assert re.search(r"the best reachable within your limits is 0\.\d+, 0\.\d+ at the 10th percentile of the "
                     r"plausible models \(held by max_applications=60\)", err)
    assert re.search(r"relax max_applications for up to 0\.\d+", err)


def test_a_max_applications_above_the_catalog_is_echoed_as_given_and_never_named_as_binding(capsys):
    """--max-apps 100 on a 40-program catalog: the JSON echoes 100 (not the 40 the solvers cap it
    at), and an out-of-reach target's message neither says "held by max_applications=40" nor advises
    relaxing a limit that cannot help (the list already holds every program)."""
    tiny = [str(ROOT / "data/profiles/tiny_demo.toml"), "--catalog", str(ROOT / "data/catalogs/tiny_p_match.csv")]
    with pytest.raises(SystemExit) as e:
        main(["solve", *tiny, "--max-apps", "100", "--draws", "0", "--json"])
    assert e.value.code == 0 and json.loads(capsys.readouterr().out)["constraints"]["max_applications"] == 100
    with pytest.raises(SystemExit) as e:
        main(["solve", *tiny, "--max-apps", "100", "--la-share-max", "1", "--min-cost", "--target", "0.999",
              "--draws", "0"])
    err = capsys.readouterr().err
    assert e.value.code == 3 and "(conflicting: target)" in err
    assert "max_applications" not in err and "no limit can be relaxed enough" in err


SYNTHETIC_TAG = "[SYNTHETIC demo catalog: invented programs at real places; not real program data]"


@pytest.mark.parametrize("toml, catalog, tail", [
    # the default (synthetic) demo catalog: a budget/count conflict, no P(match) in the message
    ('[applicant]\nstep2_score = 238\n[strategy]\nbudget = 400\nmin_applications = 60\n', None,
     "budget $400 is below the $1,230 needed for min_applications=60: raise the budget to $1,230 or lower "
     "min_applications to 32 "
     f"{SYNTHETIC_TAG} (conflicting: budget, min_applications)"),
    # the tiny synthetic catalog: an LA-cap conflict
    ('[strategy]\ncorrelation = 0.3\nla_share_max = 0.0\nmust_apply = ["TINY-01"]\n', "tiny_p_match.csv",
     f"{SYNTHETIC_TAG} (conflicting: la_share, must_apply)"),
])
def test_every_infeasible_reason_on_a_synthetic_catalog_says_so(capsys, tmp_path, toml, catalog, tail):
    """Not only a P(match) target out of reach: a budget, count or LA-cap conflict checked against
    invented programs says SYNTHETIC in its one line (stderr) and in the JSON's `error`."""
    prof = tmp_path / "p.toml"
    prof.write_text(toml)
    cat = [] if catalog is None else ["--catalog", str(ROOT / "data" / "catalogs" / catalog)]
    with pytest.raises(SystemExit) as e:
        main(["solve", str(prof), *cat, "--draws", "0", "--json"])
    out, err = capsys.readouterr()
    assert e.value.code == 3
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("allocator: error: infeasible: ") and lines[0].endswith(tail), err
    d = json.loads(out)
    assert d["error"].endswith(tail) and d["data"]["synthetic"] is True


def test_an_infeasible_reason_on_a_catalog_of_real_programs_does_not_say_synthetic(capsys, tmp_path):
    cat, prof = tmp_path / "c.csv", tmp_path / "p.toml"
    cat.write_text(GOOD_CSV)
    prof.write_text("[strategy]\ncorrelation = 0.3\nbudget = 60\nmin_applications = 8\n")
    with pytest.raises(SystemExit) as e:
        main(["solve", str(prof), "--catalog", str(cat), "--draws", "0", "--json"])
    out, err = capsys.readouterr()
    assert e.value.code == 3 and "SYNTHETIC" not in err and "SYNTHETIC" not in json.loads(out)["error"]
    assert err.strip().endswith("(conflicting: budget, min_applications)")
