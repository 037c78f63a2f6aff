"""The P(any match) / P(match in LA) frontier: every point optimal, monotone trade."""
import numpy as np
import pytest

from allocator.studies.frontier import frontier

from .helpers import brute_force, random_problem


@pytest.mark.parametrize("seed", range(4))
def test_frontier_points_are_optimal_and_monotone(seed):
    rng = np.random.default_rng(600 + seed)
    pr = random_problem(rng, 10, rho=0.35, affordable=True)  # every seed: best P(match) 0.67 to 0.76
    best, _ = brute_force(pr)
    assert best is not None and best > 0.05, "the instance family must leave a frontier to trace"
    targets = np.linspace(0.1 * best, best, 5)
    df = frontier(pr, targets)
    ok = df[df.status == "optimal"]
    assert len(ok) == len(targets)  # every target up to the maximum is reachable
    for t, la in zip(ok.target, ok.p_match_la):
        want, _ = brute_force(pr, "la_given_target", t)
        assert la == pytest.approx(want, abs=1e-9)
    assert np.all(np.diff(ok.p_match_la.to_numpy()) <= 1e-12)  # safer lists give up LA chances
    assert np.all(ok.p_match.to_numpy() >= ok.target.to_numpy() - 1e-12)
    over = frontier(pr, [min(best + 0.01, 0.999)])
    assert over.status.iloc[0] == "infeasible"


def test_cli_frontier_json_and_plot(capsys, tmp_path):
    import json
    from pathlib import Path

    from allocator.cli import main

    root = Path(__file__).resolve().parents[1]
    png = tmp_path / "frontier.png"
    with pytest.raises(SystemExit) as e:
        main(["sweep", str(root / "data/profiles/tiny_demo.toml"), "--catalog", str(root / "data/catalogs/tiny_p_match.csv"),
              "--frontier", "0.3:0.6:0.1", "--json", "--plot", str(png)])
    assert e.value.code == 0
    d = json.loads(capsys.readouterr().out)
    assert d["param"] == "frontier" and len(d["rows"]) == 4 and d["synthetic"] is True
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
