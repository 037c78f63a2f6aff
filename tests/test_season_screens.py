"""An invitation from a program whose screen (a Step 2 CK minimum, attempts, years since
graduation) the model says excludes you: the invitation shows the screen did not keep you out,
so `update` counts the program as eligible and says so; a rejection there still carries no weight."""
from __future__ import annotations

import datetime as dt
import json
import re
import subprocess
import sys
from pathlib import Path

from allocator.season import run as season_run

ROOT = Path(__file__).resolve().parent.parent
SEASON = ROOT / "data/seasons/example_80.csv"


def _low(tmp_path: Path) -> Path:
    p = tmp_path / "low.toml"
    text = (ROOT / "data/profiles/typical_us_img.toml").read_text()
    p.write_text(re.sub(r"(?m)^step2_score = \d+", "step2_score = 222", text))
    return p


def test_an_invitation_past_a_screen_counts_as_eligible(tmp_path):
    """Step 2 CK 222: IM-0194 (minimum 230) invited the applicant in the example season.  It now
    carries its interview into P(match): it stands in the rank order, the interviews-alone
    figure is higher than with the program left out, and a warning names it; the programs whose
    screens exclude the applicant and that did not invite still carry no weight."""
    d = season_run.run(_low(tmp_path), SEASON, today=dt.date(2026, 12, 7), draws=0)
    held = [r["program_id"] for r in d["after_interviews"]["programs"]]
    assert "IM-0194" in held and len(held) == 3
    said = [w for w in d["warnings"] if w.startswith("IM-0194 counts as eligible")]
    assert len(said) == 1 and "below the program's minimum 230" in said[0]
    assert any(w.startswith("IM-0666 carries no weight") for w in d["warnings"])  # rejected there: still excluded
    without = SEASON.read_text().replace("IM-0194,", "IM-XXXX,", 1)
    assert "IM-XXXX" in without  # the same season with that invitation's row taken out
    other = tmp_path / "without.csv"
    other.write_text("\n".join(x for x in without.splitlines() if not x.startswith("IM-XXXX")) + "\n")
    w = season_run.run(_low(tmp_path), other, today=dt.date(2026, 12, 7), draws=0)
    assert d["after_interviews"]["p_match_interviews_only"] > w["after_interviews"]["p_match_interviews_only"] + 0.03
    assert d["n_applications"] == w["n_applications"] + 1


def test_the_counts_line_says_how_many_carry_no_weight(tmp_path):
    out = subprocess.run([sys.executable, "-m", "allocator", "update", str(_low(tmp_path)), "--season", str(SEASON),
                          "--today", "2026-12-07", "--draws", "0", "--json"], capture_output=True, text=True, cwd=ROOT)
    d = json.loads(out.stdout)
    total = sum(d["counts"].values())
    assert total == 80 and d["n_applications"] == 74
    text = subprocess.run([sys.executable, "-m", "allocator", "update", str(_low(tmp_path)), "--season", str(SEASON),
                           "--today", "2026-12-07", "--draws", "0"], capture_output=True, text=True, cwd=ROOT).stdout
    assert "80 applications; 3 invited, 11 rejected, 66 no answer yet, 0 withdrawn (6 of them carry no weight" in \
        " ".join(text.split())
