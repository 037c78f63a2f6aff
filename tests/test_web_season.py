"""The interview-season update on the web: POST /api/update equals `allocator update --json`
(the same library call) and the page's season section shows its numbers; bad season files,
dates and extra budgets are one-line messages under their field (422), an oversize file 413."""
from __future__ import annotations

import html as html_lib
import json
import math
import re
import threading

import pytest

pytest.importorskip("fastapi", reason="the web extra is not installed: pip install -e '.[web]'")
from fastapi.testclient import TestClient  # noqa: E402

from allocator.cli import main  # noqa: E402
from allocator.output.report import pct  # noqa: E402
from allocator.web import forms, service  # noqa: E402
from allocator.web.app import create_app  # noqa: E402
from allocator.web.jobs import Busy  # noqa: E402
from tests.web_support import ROOT, TINY, fast_form, settings  # noqa: E402

PROFILE = ROOT / "data" / "profiles" / "typical_us_img.toml"
SEASON = ROOT / "data" / "seasons" / "example_80.csv"
TODAY = "2026-11-04"
DRAWS = 2000
TIMING = {"seconds", "wall_seconds"}
SMALL = b"program_id,status\nIM-0001,rejected\nIM-0002,invited\n"  # on the fast profile's IM demo catalog


def close(a, b, path="") -> None:
    """Equal JSON, floats to 1e-12, timing keys aside."""
    if isinstance(a, dict):
        a, b = ({k: v for k, v in x.items() if k not in TIMING} for x in (a, b))
        assert a.keys() == b.keys(), f"{path}: {sorted(a.keys() ^ b.keys())}"
        for k in a:
            close(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, list):
        assert isinstance(b, list) and len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b)):
            close(x, y, f"{path}[{i}]")
    elif isinstance(a, float) or isinstance(b, float):
        assert math.isclose(a, b, rel_tol=0, abs_tol=1e-12), f"{path}: {a} != {b}"
    else:
        assert a == b, f"{path}: {a!r} != {b!r}"


@pytest.fixture(scope="module")
def client():
    with TestClient(create_app(settings(update_draws=DRAWS))) as c:
        yield c


def api(client, season: bytes = SEASON.read_bytes(), profile: bytes = PROFILE.read_bytes(), **fields):
    return client.post(f"/api/update?draws={DRAWS}", files={"profile": ("p.toml", profile),
                                                            "season": ("example_80.csv", season)},
                       data={"today": TODAY} | fields)


@pytest.fixture(scope="module")
def with_add(client):
    r = api(client, add_budget="300", max_add="5")
    assert r.status_code == 200, r.text
    return r.json()


def test_api_update_equals_the_command_and_the_library(client, with_add, capsys):
    import datetime as dt

    from allocator.season.run import run

    with pytest.raises(SystemExit) as e:
        main(["update", str(PROFILE), "--season", str(SEASON), "--today", TODAY, "--add-budget", "300",
              "--max-add", "5", "--draws", str(DRAWS), "--json"])
    out = capsys.readouterr()
    assert e.value.code == 0, out.err
    close(with_add, json.loads(out.out))
    lib = service.to_json_dict(run(PROFILE, SEASON, today=dt.date.fromisoformat(TODAY), add_budget=300.0, max_add=5,
                                   draws=DRAWS))
    close(with_add, lib)
    assert with_add["add"]["n_added"] >= 1 and with_add["synthetic"] is True


def test_api_update_without_extras_and_its_errors(client):
    r = api(client)
    assert r.status_code == 200 and "add" not in r.json()
    assert r.json()["today"] == TODAY
    for season, fields, status, needle in [
        (b"program_id,status\nIM-0325,maybe\n", {}, 422, "field status: 'maybe' is not a status"),
        (b"program_id,status\nXX-9,applied\n", {}, 422, "'XX-9' is not in the catalog"),
        (SEASON.read_bytes(), {"today": "4 Nov 2026"}, 422, "write the date as YYYY-MM-DD"),
        (SEASON.read_bytes(), {"today": "2026-10-01"}, 422, "is after today (2026-10-01)"),
        (SEASON.read_bytes(), {"today": "2027-11-04"}, 422,
         "the date of the update 2027-11-04 is in the 2027-2028 application season, but the answers in "
         "example_80.csv are dated in the 2026-2027 season"),
        (SEASON.read_bytes(), {"add_budget": "-1"}, 422, "add_budget = '-1': must be 0 or more"),
        (b"", {}, 422, "the file is empty"),
        (b"\xff\xfe", {}, 400, "not UTF-8"),
        ((ROOT / "data" / "catalogs" / "demo_internal_medicine.csv").read_bytes(), {}, 422,
         "example_80.csv: line 1: this looks like a catalog, not a season file"),  # it gave 758 "applied"
        (b"program_id;status\nIM-0325;invited\n", {}, 422, "the file looks separated by semicolons (;)"),
    ]:
        r = api(client, season, **fields)
        assert r.status_code == status, (needle, r.text)
        body = r.json()
        assert needle in body["error"] and body["exit_code"] == 2 and "\n" not in body["error"]
        assert "--" not in body["error"] and "/work" not in body["error"]
    r = client.post("/api/update", files={"profile": ("p.toml", PROFILE.read_bytes())})
    assert r.status_code == 422 and "'season'" in r.json()["error"]
    r = client.post("/api/update", content=PROFILE.read_bytes())
    assert r.status_code == 422 and "multipart" in r.json()["error"]


def test_api_update_refuses_an_invitation_a_p_match_catalog_cannot_read(client):
    """An invitation at a program whose uploaded catalog gives p_match without p_interview would be
    a certain match (was 200 with p_match 1.0): 422 naming the upload and the program."""
    tiny = (ROOT / "data" / "profiles" / "tiny_demo.toml").read_bytes()
    files = {"profile": ("p.toml", tiny), "catalog": ("tiny_p_match.csv", TINY.read_bytes()),
             "season": ("s.csv", b"program_id,status\nTINY-01,rejected\nTINY-02,invited\nTINY-10,no answer yet\n")}
    r = client.post(f"/api/update?draws={DRAWS}", files=files, data={"today": TODAY})
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["exit_code"] == 2 and "\n" not in body["error"]
    assert body["error"].startswith("s.csv: line 3: TINY-02 is invited, but tiny_p_match.csv gives its p_match "
                                    "without p_interview")
    files["season"] = ("s.csv", b"program_id,status\nTINY-01,rejected\nTINY-10,no answer yet\n")
    r = client.post(f"/api/update?draws={DRAWS}", files=files, data={"today": TODAY})
    assert r.status_code == 200 and 0 < r.json()["p_match"] < 0.2


def test_a_declined_invitation_on_the_page_and_in_the_api(client):
    """A season file with a program `declined` (invited, then the interview declined): the API
    counts it, and the page's counts line names it."""
    text = SEASON.read_text()
    pid = next(ln.split(",")[0] for ln in text.splitlines() if ",invited," in ln)
    season = "\n".join(ln.replace(",invited,", ",declined,") if ln.startswith(pid + ",") else ln
                       for ln in text.splitlines()) + "\n"
    r = api(client, season=season.encode())
    assert r.status_code == 200, r.text
    d = r.json()
    assert d["counts"]["declined"] == 1 and d["interviews_so_far"] == 2
    r = client.post("/update", data=preset_form(today=TODAY), files={"season_file": ("s.csv", season.encode())})
    assert r.status_code == 200 and "1 declined after an invitation" in r.text


def test_api_update_upload_caps_and_busy(client, monkeypatch):
    r = api(client, b"program_id,status\n" + b"x" * (forms.MAX_UPLOAD_BYTES + 10))
    assert r.status_code == 413 and "2 MB upload limit" in r.json()["error"]
    rows = b"program_id,status\n" + b"".join(b"P%d,applied\n" % i for i in range(forms.MAX_UPLOAD_ROWS + 1))
    r = api(client, rows)
    assert r.status_code == 413 and "5,000-row upload limit" in r.json()["error"]

    def full(*a, **k):
        raise Busy("all 2 workers are busy and 4 requests are waiting; retry in a few seconds")

    monkeypatch.setattr(client.app.state.pool, "submit", full)
    r = api(client)
    assert r.status_code == 503 and r.headers["Retry-After"] and r.json()["exit_code"] == 75


def test_draws_limit_is_within_the_command_lines():
    """A web request may not ask for more simulated seasons (held in memory) than the command
    line allows, nor more than its own memory-bounded cap."""
    from allocator.cli.common import MAX_SEASON_DRAWS

    assert service.UPDATE_DRAWS <= service.MAX_UPDATE_DRAWS <= MAX_SEASON_DRAWS


def test_the_season_page_and_api_give_the_catalogs_notes(client):
    """The catalog's notes (here a row of another specialty left out) on the season page and in
    the API's JSON, as solve gives them."""
    rows = (ROOT / "data" / "catalogs" / "demo_internal_medicine.csv").read_text().splitlines()
    rows[5] = rows[5].replace(",Internal Medicine,", ",Family Medicine,")
    cat = ("\n".join(rows) + "\n").encode()
    r = client.post("/update", data=fast_form(today=TODAY), files={"season_file": ("s.csv", SMALL),
                                                                   "catalog": ("c.csv", cat)})
    assert r.status_code == 200, r.text[-500:]
    assert "Note: 1 program of the catalog in Family Medicine left out" in r.text
    assert 'id="synthetic">SYNTHETIC' in r.text and "Upload your own catalog" not in r.text  # it was uploaded
    files = {"profile": ("p.toml", PROFILE.read_bytes()), "catalog": ("c.csv", cat), "season": ("s.csv", SMALL)}
    r = client.post(f"/api/update?draws={DRAWS}", files=files, data={"today": TODAY})
    assert r.status_code == 200, r.text
    assert any(n.startswith("1 program of the catalog in Family Medicine left out") for n in r.json()["notes"])


def preset_form(**changes) -> dict:
    """The page's default form (the typical US-citizen IMG, as the shipped TOML) as posted."""
    v = forms.preset_values("typical_us_img") | changes
    return {k: ("on" if x is True else x) for k, x in v.items() if x is not False}


def test_page_shows_the_json_numbers(client, with_add):
    r = client.post("/update", data=preset_form(today=TODAY, add_budget="300", max_add="5"),
                    files={"season_file": ("example_80.csv", SEASON.read_bytes())})
    assert r.status_code == 200, r.text[-500:]
    html, d = r.text, with_add
    assert html.startswith("<!doctype html>")  # no JavaScript: a whole page, the form filled in
    assert re.search(r'id="season-p-match">([^<]*)<', html).group(1) == pct(d["p_match"])
    lo10, hi90 = d["p_match_interval"]  # the range leads, in large type, as on the answer
    assert re.search(rf'class="value" id="season-p-match-range">{pct(lo10, 0)} – {pct(hi90, 0)}<', html)
    assert html.index('id="season-p-match-range"') < html.index('id="season-p-match"')
    lo, hi = d["p_match_interval"]
    assert f"{pct(lo)} – {pct(hi)}" in re.search(r'id="season-p-match-interval">([^<]*)<', html).group(1)
    blo, bhi = d["p_match_before_interval"]  # before any answer too, the range leads
    before = re.search(r'id="season-p-match-before">(.*?)</dd>', html).group(1)
    assert before.startswith(f"{pct(blo, 0)} to {pct(bhi, 0)} ") and f"(average {pct(d['p_match_before'])})" in before
    assert f"{d['expected_further_invitations']:.1f} expected" in html
    sv = d["standing"]["top_share_interval"]  # the standing's range, as the command line prints it
    assert f"(10th–90th percentile: {pct(sv[0])} to {pct(sv[1])} are stronger)" in html
    for t, v in d["p_interviews_at_least"].items():
        assert f"P(≥ {t}) {pct(v)}" in html
    lo5, hi5 = d["p_interviews_at_least_interval"]["5"]
    assert f"P(≥ 5) {pct(d['p_interviews_at_least']['5'])} <span class=\"range\">({pct(lo5, 0)} to {pct(hi5, 0)})" in html
    a = d["after_interviews"]
    assert f"P(match) {pct(a['p_match_interviews_only'])}" in html and "id=\"season-rank-note\"" in html
    check = re.search(r'id="season-interviews-only-check">(.*?)</p>', html).group(1)  # the published curve at N
    from allocator.percent import plan_pct

    assert f"at {len(a['programs'])} interview" in check
    from allocator.verification.published_curve import relation  # the words follow the numbers, as the CLI's

    words = relation(a["p_match_interviews_only_published_curve"], a["p_match_interviews_only_interval"])
    assert words and words in html_lib.unescape(check)
    from allocator.percent import pct_floored

    io_plan = a["p_match_interviews_only_plan"]
    assert (f"plan on {plan_pct(io_plan)} from these interviews</strong> ({a['p_match_interviews_only_plan_from']}, "
            f"{pct_floored(io_plan)} rounded down)") in check
    wlo, whi = d["p_match_west_interval"]  # P(match in the West) now, its range and the figure before
    west = re.search(r'id="season-p-match-west">(.*?)</dd>', html).group(1)
    assert west.startswith(f"{pct(d['p_match_west'])} <span class=\"range\">({pct(wlo, 0)} to {pct(whi, 0)})")
    bw = d["p_match_west_before_interval"]  # before any answer with its range, solve's for the list
    assert (f"(before: {pct(d['p_match_west_before'])} <span class=\"range\">({pct(bw[0], 0)} to {pct(bw[1], 0)})"
            f"</span>; LA included") in west
    assert f"P(match in the West, West ranked first) {pct(a['p_match_west_interviews_only'])}, even" in html
    assert re.search(r'id="season-p-match-after">([^<]*)<', html).group(1) == pct(d["add"]["p_match_after"])
    assert d["add"]["advice"] in html and 'id="synthetic"' in html
    from allocator.output.report import plan_pct  # the figure to plan on, now and before any answer

    plan = re.search(r'id="season-p-match-plan">([^<]*)<', html).group(1)
    assert plan == f"plan on {plan_pct(d['p_match_plan']['p_match'])} now"
    bp = d["p_match_before_plan"]  # what it rounds down from, as the "now" line and the command line give it
    assert (f"; plan on {plan_pct(bp['p_match'])} <small>({bp['from']}, {pct_floored(bp['p_match'])} rounded down)"
            "</small>") in before
    assert d["p_match_score_check"] is None and 'id="season-score-check-now"' not in html  # Step 2 CK 237: no check
    tb, sh = d["p_match_timing_band"], d["invitations_sent_share_band"]  # silence weighed by the judged timing curves
    band = re.search(r'id="season-timing-band">(.*?)</dd>', html).group(1)
    assert band.startswith(f"{pct(tb[0])} – {pct(tb[1])} ") and f"judged {pct(sh[0])} to {pct(sh[1])}" in band
    rs = d["rejections_sent_share_band"]  # and by the judged rejection curve
    assert f"rejections {pct(d['rejections_sent_share'])}, judged {pct(rs[0])} to {pct(rs[1])}" in band
    after = d["add"]["p_match_after_plan"]  # and with the applications added now
    assert d["add"]["n_added"] and re.search(r'id="season-plan-after">([^<]*)<', html).group(1) == \
        f"Plan on {plan_pct(after['p_match'])} with them"
    assert f"IMG-share cap check with them: {pct(d['add']['p_match_after_cap_check']['p_match'])}" in html
    assert f'value="{TODAY}"' in html and 'value="300"' in html
    # each warning labelled as on the list's answer, not marked by its colour alone
    assert d["warnings"] and html.count('<p class="notice warning"><strong>Warning:</strong> ') == len(d["warnings"])
    assert html.count('class="notice warning"') == len(d["warnings"])


def test_page_htmx_swap_and_default_date(client):
    import datetime as dt

    page = client.get("/").text
    assert f'id="in-today" type="date" name="today" value="{dt.date.today().isoformat()}"' in page
    assert 'id="update-submit"' in page and 'formaction="/update"' in page and "During the interview season" in page
    r = client.post("/update", data=fast_form(today=TODAY), files={"season_file": ("s.csv", SMALL)},
                    headers={"HX-Request": "true"})
    assert r.status_code == 200 and not r.text.startswith("<!doctype") and 'id="season-p-match"' in r.text


@pytest.mark.parametrize("season,needle", [
    (b"program_id,status\nIM-0001,maybe\n", "line 2, field status: &#39;maybe&#39; is not a status"),
    (b"program_id,status\nXX-9,applied\n", "line 2, field program_id: &#39;XX-9&#39; is not in the catalog"),
    ((ROOT / "data" / "catalogs" / "demo_internal_medicine.csv").read_bytes(),
     "line 1: this looks like a catalog, not a season file"),
    (b"program_id;status\nIM-0001;rejected\n", "line 1: the file looks separated by semicolons (;), not commas"),
])
def test_page_bad_season_file_is_one_line_under_the_field(client, season, needle):
    for headers in ({}, {"HX-Request": "true"}):
        r = client.post("/update", data=fast_form(today=TODAY), files={"season_file": ("s.csv", season)},
                        headers=headers)
        assert r.status_code == 422
        err = re.search(r'<p class="error" role="alert" id="error-season_file">([^<]*)</p>', r.text)
        assert err and needle in err.group(1) and err.group(1).startswith("s.csv: ")
        assert 'aria-describedby="help-season_file error-season_file" aria-invalid="true"' in r.text
        assert "Traceback" not in r.text and "--" not in err.group(1)


def test_page_season_errors_name_their_field(client):
    cases = [({}, None, "season_file", "choose your season file"),
             ({"today": "2026/11/04"}, SMALL, "today", "write the date as YYYY-MM-DD"),
             ({"add_budget": "1,500"}, SMALL, "add_budget", "must be a number"),
             ({"max_add": "2.5"}, SMALL, "max_add", "must be a whole number"),
             ({"budget": "abc"}, SMALL, "budget", "Budget = &#39;abc&#39;: must be a number")]
    for changes, season, name, needle in cases:
        files = {"season_file": ("s.csv", season)} if season else {"season_file": ("", b"")}
        r = client.post("/update", data=fast_form(**({"today": TODAY} | changes)), files=files)
        assert r.status_code == 422, (name, r.text[-300:])
        err = re.search(rf'id="error-{name}">([^<]*)<', r.text)
        assert err and needle in err.group(1), (name, r.text[-300:])
    r = client.post("/update", data=fast_form(today="2026-10-01"),
                    files={"season_file": ("s.csv", b"program_id,status,date\nIM-0001,rejected,2026-10-02\n")})
    assert r.status_code == 422
    for name in ("season_file", "today"):  # the date in the file, or the date of the update
        assert "set a later date for the update" in re.search(rf'id="error-{name}">([^<]*)<', r.text).group(1)
    r = client.post("/update", data=fast_form(today="2027-11-04"),  # a year after the answers: under the date
                    files={"season_file": ("s.csv", b"program_id,status,date\nIM-0001,rejected,2026-10-02\n")})
    assert r.status_code == 422 and 'id="error-season_file"' not in r.text
    err = re.search(r'id="error-today">([^<]*)<', r.text).group(1)
    assert err.startswith("the date of the update 2027-11-04 is in the 2027-2028 application season") and "s.csv" in err


def test_page_oversize_season_file_is_413(client):
    r = client.post("/update", data=fast_form(today=TODAY),
                    files={"season_file": ("big.csv", b"program_id,status\n" + b"x" * (forms.MAX_UPLOAD_BYTES + 10))})
    assert r.status_code == 413
    assert "2 MB upload limit" in re.search(r'id="error-season_file">([^<]*)<', r.text).group(1)


def test_page_busy_and_progress(client, monkeypatch):
    pool = client.app.state.pool

    def full(*a, **k):
        raise Busy("all 2 workers are busy and 4 requests are waiting; retry in a few seconds")

    with monkeypatch.context() as m:
        m.setattr(pool, "submit", full)
        r = client.post("/update", data=fast_form(today=TODAY), files={"season_file": ("s.csv", SMALL)})
        assert r.status_code == 503 and 'id="busy"' in r.text
        assert re.search(r'<button type="submit" form="profile-form" formaction="/update" class="secondary" '
                         r'id="retry">Retry the update</button>', r.text)  # its own button, beside the notice
    # no answer within the wait: the post redirects to the job's page (303), which shows the
    # progress bar while the job runs (held here by a gate: the update would otherwise race the
    # redirect), then the whole page by its reloads (no JavaScript)
    gate = threading.Event()
    real = service.update_payload

    def held(*a, **k):
        gate.wait(60)
        return real(*a, **k)

    with TestClient(create_app(settings(update_draws=DRAWS, wait=0.0))) as c, monkeypatch.context() as m:
        m.setattr(service, "update_payload", held)
        r = c.post("/update", data=fast_form(today=TODAY), files={"season_file": ("s.csv", SMALL)},
                   follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].startswith("/jobs/")
        url = r.headers["location"]
        r = c.get(url)
        assert r.status_code == 200 and 'id="solve-progress"' in r.text
        assert "Updating your chances" in r.text and 'http-equiv="refresh"' in r.text
        gate.set()
        job = c.app.state.pool.get(url.removeprefix("/jobs/"))
        job.future.result(timeout=300)  # wait for the job itself (no polling cap to outlast on a busy machine)
        r = c.get(url)
        assert 'id="season-p-match"' in r.text and r.text.startswith("<!doctype html>")


def test_page_says_every_season_error_at_once(client):
    """The season section flagged one field per submit; the date, the extra budget, the count,
    a missing season file and the profile's own fields are now said together."""
    r = client.post("/update", data=fast_form(budget="abc", today="2026-13-01", add_budget="-3", max_add="x"),
                    files={"season_file": ("", b"")})
    assert r.status_code == 422
    errs = dict(re.findall(r'id="error-([a-z_0-9]+)">([^<]*)<', r.text))
    assert set(errs) == {"budget", "today", "add_budget", "max_add", "season_file"}
    assert errs["today"] == ("Date of the update = &#39;2026-13-01&#39;: no such day in the calendar; check the "
                             "month and day")
    assert errs["add_budget"] == "Extra budget for more applications = &#39;-3&#39;: must be 0 or more (USD)"
    assert errs["max_add"].startswith("Most extra applications = &#39;x&#39;: must be a whole number")
    assert errs["season_file"].startswith("choose your season file (CSV)")
    r = api(client, today="2026-13-01", max_add="x")  # the API says the first, in one line
    assert r.status_code == 422 and r.json()["error"].startswith("season update: today = '2026-13-01'")


@pytest.mark.parametrize("hx", [False, True], ids=["plain", "htmx"])
def test_enter_runs_the_update_when_the_season_section_is_new(client, hx):
    """POST /enter is the form's hidden default button (Enter in a field).  It runs the update
    when a season file is chosen or a season field differs from what the page showed
    (season_shown), the solve otherwise; the page shows the season section's values as the
    request had them."""
    headers = {"HX-Request": "true"} if hx else {}
    shown = f"{TODAY}||"
    page = client.get("/").text
    today = re.search(r'id="in-today" type="date" name="today" value="([^"]*)"', page).group(1)
    assert f'name="season_shown" value="{today}||"' in page and page.index('id="enter-default"') < page.index(
        'id="submit"')  # the form's first submit button: the one Enter presses
    no_file = {"season_file": ("", b"")}
    r = client.post("/enter", data=fast_form(today=TODAY, season_shown=shown), files=no_file, headers=headers)
    assert r.status_code == 200 and 'id="p-match"' in r.text  # nothing new in the season section: the list
    r = client.post("/enter", data=fast_form(today=TODAY, season_shown=shown),
                    files={"season_file": ("s.csv", SMALL)}, headers=headers)
    assert r.status_code == 200 and 'id="season-p-match"' in r.text  # a season file chosen: the update
    assert f'name="season_shown" value="{TODAY}||"' in r.text
    r = client.post("/enter", data=fast_form(today=TODAY, add_budget="300", season_shown=shown), files=no_file,
                    headers=headers)  # a season field changed, no file yet: the update says so
    assert r.status_code == 422 and 'id="error-season_file"' in r.text and 'id="p-match"' not in r.text
    assert f'name="season_shown" value="{TODAY}|300|"' in r.text
    r = client.post("/enter", data=fast_form(today=TODAY, add_budget="300", season_shown=f"{TODAY}|300|"),
                    files=no_file, headers=headers)  # shown again, unchanged: Enter in the profile solves
    assert r.status_code == 200 and 'id="p-match"' in r.text
    for path in ("/solve", "/update"):  # the buttons' own routes read the season_shown and enter fields as nothing
        r = client.post(path, data=fast_form(today=TODAY, season_shown=shown, enter="1"),
                        files={"season_file": ("s.csv", SMALL)})
        assert r.status_code == 200 and ('id="season-p-match"' in r.text) == (path == "/update")


def test_page_gives_the_step2_score_check_now_and_before(client):
    """A Step 2 CK below the cohort's mean: the season page gives the score check now and before
    any answer, as `update` prints them, and the warning that says what it is; and the IMG-share
    cap check before any answer, as `update` prints it."""
    from allocator.output.report import plan_pct

    r = client.post("/update", data=preset_form(today=TODAY, step2_score="222"),
                    files={"season_file": ("example_80.csv", SEASON.read_bytes())})
    assert r.status_code == 200, r.text[-500:]
    d = api(client, profile=PROFILE.read_bytes().replace(b"step2_score = 237", b"step2_score = 222"),
            ).json()
    sc, html = d["p_match_score_check"], r.text
    assert re.search(r'id="season-score-check-now">([^<]*)<', html).group(1).strip() == pct(sc["p_match"])
    assert re.search(r'id="season-score-check-before">([^<]*)<', html).group(1).strip() == pct(sc["p_match_before"])
    assert f"P(match) now, given your answers, is {pct(sc['p_match'])}" in html
    plan = re.search(r'id="season-p-match-plan">([^<]*)<', html).group(1)
    assert plan == f"plan on {plan_pct(d['p_match_plan']['p_match'])} now" and sc["p_match"] < d["p_match"]
    cc = d["p_match_before_cap_check"]  # the list as sent holds most of its programs at the IMG-share cap
    assert cc and re.search(r'id="season-cap-check-before">([^<]*)<', html).group(1).strip() == pct(cc["p_match"])
    now = d["p_match_cap_check"]
    assert re.search(r'id="season-cap-check-now">([^<]*)<', html).group(1).strip() == pct(now["p_match"])


def test_the_season_page_and_api_warn_when_the_date_is_in_a_newer_eras_season(client):
    """2026-11-04 is in the ERAS 2027 season while the fees and signal counts are ERAS 2026's:
    the API's warnings and the season page carry the update's one line; season "none" does not."""
    r = client.post("/update", data=fast_form(today=TODAY), files={"season_file": ("s.csv", SMALL)})
    assert r.status_code == 200, r.text[-500:]
    page = " ".join(html_lib.unescape(r.text).split())
    assert "2026-11-04 is in the ERAS 2027 season (Match in March 2027), but the fees and signal counts used" in page
    d = api(client).json()
    assert [w for w in d["warnings"] if "is in the ERAS 2027 season" in w] == [
        "2026-11-04 is in the ERAS 2027 season (Match in March 2027), but the fees and signal counts used are ERAS "
        "2026's, the newest allocator has: this cycle's may differ; check the AAMC's ERAS fee and "
        "program-signaling pages"]
    none = PROFILE.read_text().replace('season = "2026"', 'season = "none"', 1).encode()
    assert d["fee_season"] == "2026"  # the JSON names the fees used
    d = api(client, profile=none).json()
    assert not any("ERAS 2027" in w for w in d["warnings"]) and d["fee_season"] == "none", d["warnings"]
