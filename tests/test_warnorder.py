"""verification/warnorder: one order of a list's warnings on every surface, those that say the
figure to plan on may be too high first (review 22: batch alone applied it, so cohort.html's
"first warning" was not the command line's)."""
from __future__ import annotations

import html
import io
import json

from allocator.paths import DATA_DIR
from allocator.verification.warnorder import unsafe_first, upper_estimate

STRONG = str(DATA_DIR / "profiles" / "strong_la_ties.toml")
NEAR_MEAN_STEP2 = ("Step 2 CK reported as pass (counted as 230) is 6 points below the calibration cohort's mean of "
                   "236, where the model lets the score move P(match) less than the published figures do. Under a "
                   "model ... this list's P(match) is 59.7% instead of 65.9% under the central model; that figure "
                   "joins the one to plan on")
EXTRAPOLATION = ("outside the calibrated domain: 15.1 expected interviews, while the calibration cohort expects "
                 "1.2-12.6; the probabilities are an extrapolation")
CAP = ("outside the calibrated domain: 71 of this list's 85 programs (84%) have 85% IMGs or more, ...: under the "
       "IMG-share cap check (...) this list's P(match) is 60.0% instead of 65.9% under the central model, and that "
       "figure joins the one to plan on; a lower cap fits the targets too, so read the figure to plan on as an upper "
       "estimate still, and apply more widely if you can")


def test_the_unsafe_group_keeps_the_checks_order_and_a_near_mean_score_check_is_in_it():
    """The moderate profile: its figure to plan on comes from the Step 2 CK score check, whose
    warning (no "may be overstated": the score is within a standard deviation) came after the cap
    warning in batch, so cohort.html's first warning named the other check.  It lowers the figure,
    so it is in the unsafe group; both keep the order the checks wrote them in."""
    assert unsafe_first([EXTRAPOLATION, NEAR_MEAN_STEP2, CAP]) == [NEAR_MEAN_STEP2, CAP, EXTRAPOLATION]
    assert unsafe_first([NEAR_MEAN_STEP2, EXTRAPOLATION, CAP]) == [NEAR_MEAN_STEP2, CAP, EXTRAPOLATION]
    twice = unsafe_first(unsafe_first([EXTRAPOLATION, CAP, NEAR_MEAN_STEP2]))
    assert twice == unsafe_first([EXTRAPOLATION, CAP, NEAR_MEAN_STEP2])
    assert not upper_estimate([NEAR_MEAN_STEP2]) and upper_estimate([CAP])  # the check is in the figure already
    assert unsafe_first(None) == [] and unsafe_first("one") == ["one"]


def test_every_surface_of_one_answer_gives_its_warnings_in_one_order():
    """The strong profile (the typical one's list, 12.3 expected interviews, no longer extrapolates):
    the command line, its JSON, batch's HTML and PDF text, summary.csv and cohort.html give the cap
    warning (figure to plan on an upper estimate) before the extrapolation one; the JSON used to give
    them the other way round, and only batch reordered them."""
    from rich.console import Console

    from allocator.api import solve
    from allocator.batch import outputs
    from allocator.batch.cohortview import applicant_rows
    from allocator.batch.run import Report
    from allocator.output.report import render_solve

    res = solve(STRONG, draws=0)
    d = json.loads(json.dumps(res.to_dict()))
    w = d["warnings"]
    assert len(w) == 2 and "85% IMGs or more" in w[0] and "20.3 expected interviews" in w[1]
    assert w == unsafe_first(w) == list(res.warnings)
    buf = io.StringIO()
    render_solve(res, Console(file=buf, width=10_000, color_system=None), limit=0)
    text = buf.getvalue()
    at = [text.index(f"warning: {x}") for x in w]
    assert at == sorted(at)
    view = {"id": "typical", "source": "typical.toml", "payload": d, "curve": []}
    page = html.unescape(outputs.applicant_html(view))
    assert page.index(w[0][:60]) < page.index(w[1][:60])
    pdf = " ".join(" ".join(outputs._text_lines(view)).split())
    assert pdf.index(" ".join(w[0].split())[:60]) < pdf.index(" ".join(w[1].split())[:60])
    row = outputs.summary_row({"id": "typical", "status": "ok", "seconds": 1.0}, d)
    assert row["warnings"].split(" | ") == w
    assert applicant_rows(Report(rows=[row], payloads={"typical": d}))[0]["note"] == w[0]
