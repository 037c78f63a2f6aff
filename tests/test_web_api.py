"""The web app through FastAPI's TestClient: every route and error; POST /api/solve equals
`allocator solve --json` apart from timing keys."""
from __future__ import annotations

import html as html_lib
import json
import re
import threading
import time

import pytest

pytest.importorskip("fastapi", reason="the web extra is not installed: pip install -e '.[web]'")
from fastapi.testclient import TestClient  # noqa: E402

from allocator.cli import main  # noqa: E402
from allocator.inputs.listfile import read_list_file  # noqa: E402
from allocator.season.seasonfile import load_season  # noqa: E402
from allocator.web import forms, formstate, messages, seasonform, service  # noqa: E402
from allocator.web.app import create_app  # noqa: E402
from allocator.web.jobs import Busy, Cancelled, JobPool  # noqa: E402
from tests.web_support import DRAWS, FAST_PROFILE, ROOT, TINY, fast_form, settings  # noqa: E402

TIMING = {"seconds", "wall_seconds"}


def untimed(x):
    if isinstance(x, dict):
        return {k: untimed(v) for k, v in x.items() if k not in TIMING}
    if isinstance(x, list):
        return [untimed(v) for v in x]
    return x


@pytest.fixture(scope="module")
def client():
    with TestClient(create_app(settings())) as c:
        yield c


@pytest.fixture(scope="module")
def profile_file(tmp_path_factory):
    p = tmp_path_factory.mktemp("web") / "fast.toml"
    p.write_text(FAST_PROFILE)
    return p


def cli_json(capsys, *args) -> dict:
    with pytest.raises(SystemExit) as e:
        main(["solve", *map(str, args), "--json", "--draws", str(DRAWS), "--time-limit", "20"])
    out = capsys.readouterr()
    assert e.value.code == 0, out.err
    return json.loads(out.out)


@pytest.fixture(scope="module")
def answer(client):
    """One form solve of the fast profile: (answer id, page HTML)."""
    r = client.post("/solve", data=fast_form())
    assert r.status_code == 200, r.text[-500:]
    m = re.search(r'/answer/([A-Za-z0-9_-]+)/list\.csv', r.text)
    assert m, "no answer on the page"
    return m.group(1), r.text


def test_api_solve_equals_cli_json(client, profile_file, capsys):
    r = client.post(f"/api/solve?draws={DRAWS}", content=profile_file.read_bytes(),
                    headers={"content-type": "application/toml"})
    assert r.status_code == 200, r.text
    assert untimed(r.json()) == untimed(cli_json(capsys, profile_file))


def test_api_multipart_with_catalog_equals_cli(client, tmp_path, capsys):
    prof = tmp_path / "tiny.toml"
    prof.write_text((ROOT / "data" / "profiles" / "tiny_demo.toml").read_text())
    r = client.post(f"/api/solve?draws={DRAWS}", files={"profile": ("tiny.toml", prof.read_bytes()),
                                                        "catalog": ("tiny_p_match.csv", TINY.read_bytes())})
    assert r.status_code == 200, r.text
    want = cli_json(capsys, prof, "--catalog", TINY)
    got = r.json()
    # the catalog's name differs (upload name against the path); everything else is the same
    assert got["data"]["synthetic"] is True and want["data"].pop("probabilities") is not None
    got["data"].pop("probabilities")
    assert untimed(got) == untimed(want)


@pytest.mark.parametrize("body,status,needle", [
    (b"", 422, "empty"),
    (b"[strategy\nbudget = 3", 400, "not valid TOML"),
    (b"\xff\xfe", 400, "UTF-8"),
    (b"[strategy]\nbudget = -5\n", 422, "[strategy] budget"),
    (b"[strategy]\nbugdet = 5\n", 422, "unknown key"),
    (b"[applicant]\nspecialties = [\"Dermatology\"]\n", 422, "no demo catalog"),
])
def test_api_errors_are_one_line_json(client, body, status, needle):
    r = client.post("/api/solve", content=body)
    assert r.status_code == status, r.text
    d = r.json()
    assert needle in d["error"] and "\n" not in d["error"] and "Traceback" not in r.text
    assert d["exit_code"] == 2


def test_api_infeasible_names_the_conflict(client):
    body = FAST_PROFILE.replace("budget = 1200", "budget = 100").replace("max_applications = 60",
                                                                        "max_applications = 60\nmin_applications = 50")
    r = client.post(f"/api/solve?draws={DRAWS}", content=body.encode())
    assert r.status_code == 422
    d = r.json()
    assert d["exit_code"] == 3 and d["status"] == "infeasible" and "budget" in d["conflicting"]
    # the demo catalog is synthetic: the one-line reason says so, as on the command line
    assert "[SYNTHETIC demo catalog: invented programs at real places; not real program data] (conflicting: " in d["error"]


def test_api_upload_caps(client):
    big = b"program_id,name,specialty,city,state\n" + b"x" * (forms.MAX_UPLOAD_BYTES + 10)
    r = client.post("/api/solve", files={"profile": ("p.toml", FAST_PROFILE.encode()), "catalog": ("big.csv", big)})
    assert r.status_code == 413 and "limit" in r.json()["error"]
    r = client.post("/api/solve", content=FAST_PROFILE.encode() + b"#" * 70_000)  # a profile over 64,000 bytes
    assert r.status_code == 413 and "64,000-byte limit for a profile" in r.json()["error"]
    rows = "program_id,name,specialty,city,state\n" + "".join(
        f"P{i},Program {i},Internal Medicine,Columbus,OH\n" for i in range(forms.MAX_UPLOAD_ROWS + 1))
    r = client.post("/api/solve", files={"profile": ("p.toml", FAST_PROFILE.encode()),
                                         "catalog": ("rows.csv", rows.encode())})
    assert r.status_code == 413 and "5,000-row upload limit" in r.json()["error"]
    r = client.post("/api/solve", content=b"#" * 3_000_000)
    assert r.status_code == 413


def test_api_bad_catalog_message_names_line_and_column(client):
    bad = TINY.read_text().replace(",CA,", ",California,", 1).encode()
    r = client.post("/api/solve", files={"profile": ("p.toml", FAST_PROFILE.encode()), "catalog": ("mine.csv", bad)})
    assert r.status_code == 422
    assert r.json()["error"].startswith("mine.csv: line 2 (TINY-01), column state")


def test_api_query_validation_and_health(client):
    r = client.post("/api/solve?draws=-1", content=FAST_PROFILE.encode())
    assert r.status_code == 422 and "draws" in r.json()["error"]
    assert client.get("/api/health").json()["workers"] == 2


@pytest.mark.parametrize("path", ["/", "/api/health"])
def test_head_is_answered_where_monitors_ask(client, path):
    """Uptime checks and ``curl -I`` send HEAD: the page and the health check answer it (was 405),
    with the GET's headers and no body; other routes still refuse it with a clear 405."""
    r = client.head(path)
    assert r.status_code == 200 and r.content == b""
    assert r.headers["content-type"].split(";")[0] == client.get(path).headers["content-type"].split(";")[0]
    assert client.head("/api/solve").status_code == 405


def test_index_has_every_field_and_presets(client):
    r = client.get("/")
    assert r.status_code == 200
    for f in forms.fields():
        assert f'name="{f.name}"' in r.text, f.name
    assert 'name="catalog"' in r.text and "/static/htmx.min.js" in r.text and "http" not in r.text.split("<body>")[0]
    for key in forms.PRESETS:
        assert f"preset={key}" in r.text
    r = client.get("/?preset=moderate_no_ties")
    assert 'name="step2" checked' in r.text and 'value="1"' in r.text  # pass only, one failed attempt
    assert "unknown" in client.get("/?preset=nobody").text


def test_presets_validate_to_the_shipped_profiles():
    from allocator.inputs.profile import load_profile

    for key in forms.PRESETS:
        prof, _ = forms.profile_from_values(forms.preset_values(key))
        shipped = load_profile(ROOT / "data" / "profiles" / f"{key}.toml")
        assert prof.model_dump(exclude={"path"}) == shipped.model_dump(exclude={"path"}), key


def test_static_htmx_is_vendored(client):
    r = client.get("/static/htmx.min.js")
    assert r.status_code == 200 and 'version:"2.0.' in r.text
    assert "0BSD" in client.get("/static/htmx.LICENSE.txt").text or "Zero-Clause" in client.get(
        "/static/htmx.LICENSE.txt").text


def test_form_answer_shows_the_json_numbers(client, answer):
    aid, html = answer
    d = client.get(f"/answer/{aid}/answer.json").json()
    assert f'id="p-match">{100 * d["p_match"]:.1f}%' in html
    assert f'{100 * d["p_match_la"]:.1f}%' in html
    assert "SYNTHETIC" in html and html.count("data-program=") == d["n_applications"]
    assert f'${d["cost"]["total"]:,.0f}' in html
    unproven = d["status"] == "feasible" and d["objective"] == "safety_first" and d["solver"]["gap"] is not None
    assert ('id="unproven"' in html) == unproven


def test_form_json_equals_cli(client, answer, profile_file, capsys):
    aid, _ = answer
    assert untimed(client.get(f"/answer/{aid}/answer.json").json()) == untimed(cli_json(capsys, profile_file))


def test_downloads(client, answer, tmp_path, capsys):
    aid, _ = answer
    d = client.get(f"/answer/{aid}/answer.json").json()
    p = tmp_path / "list.csv"
    p.write_bytes(client.get(f"/answer/{aid}/list.csv").content)
    ids, _, _ = read_list_file(p)
    assert ids == [r["program_id"] for r in d["selected"]]
    season = client.get(f"/answer/{aid}/season.csv").text.splitlines()
    divisions = d.get("geographic_preference") or []
    assert d["data"]["synthetic"] and season[0].startswith("# SYNTHETIC demo catalog")
    head = 2 if divisions else 1
    assert season[1:head] == [f"# geographic_preference: {'; '.join(divisions)}"][:head - 1]
    assert season[head] == "program_id,signal,status,date" and len(season) == head + 1 + d["n_applications"]
    assert all(",applied," in ln for ln in season[head + 1:])
    (tmp_path / "season.csv").write_text("\n".join(season) + "\n")
    assert load_season(tmp_path / "season.csv").divisions == tuple(d.get("geographic_preference") or ())
    toml = tmp_path / "profile.toml"
    toml.write_bytes(client.get(f"/answer/{aid}/profile.toml").content)
    assert untimed(cli_json(capsys, toml)) == untimed(d)


def test_table_sorts(client, answer):
    aid, _ = answer
    r = client.get(f"/answer/{aid}/table?sort=name&order=asc")
    names = re.findall(r'<td>(Synthetic IM Program[^<]*)</td>', r.text)
    assert names == sorted(names, key=str.lower) and len(names) > 5
    r = client.get(f"/answer/{aid}/table?sort=p_match&order=asc")
    ps = [float(x) for x in re.findall(r'<td class="num">([0-9.]+)%</td>', r.text)]
    assert ps == sorted(ps)
    assert client.get(f"/answer/{aid}?sort=state&order=desc").status_code == 200


def test_curves_progress_then_png(client, answer):
    aid, _ = answer
    for kind in ("budget", "frontier"):
        r = client.post(f"/answer/{aid}/curve/{kind}")
        assert r.status_code == 200
        job = re.search(r'/jobs/([A-Za-z0-9_-]+)"', r.text) or re.search(r'/plots/([A-Za-z0-9_-]+)\.png', r.text)
        deadline = time.monotonic() + 180  # a figure takes 2-20 s; a loaded machine, longer
        while time.monotonic() < deadline:
            if f'id="img-{kind}"' in r.text:
                break
            threading.Event().wait(0.05)
            r = client.get(f"/jobs/{job.group(1)}")
        png = client.get(f"/plots/{job.group(1)}.png")
        assert png.status_code == 200 and png.content[:8] == b"\x89PNG\r\n\x1a\n"


def _drawn(client, aid: str, kind: str) -> tuple[str, object]:
    """Start a figure of the answer and wait for it: (its HTML fragment, its job)."""
    r = client.post(f"/answer/{aid}/curve/{kind}", headers={"HX-Request": "true"})
    jid = re.search(r'/jobs/([A-Za-z0-9_-]+)"', r.text).group(1)
    deadline = time.monotonic() + 180
    while f'id="img-{kind}"' not in r.text and time.monotonic() < deadline:
        threading.Event().wait(0.1)
        r = client.get(f"/jobs/{jid}", headers={"HX-Request": "true"})
    return r.text, client.app.state.pool.get(jid)


def _table_rows(html: str, table_id: str) -> list[list[str]]:
    body = re.search(rf'<table[^>]*id="{table_id}".*?<tbody>(.*?)</tbody>', html, re.S).group(1)
    return [[html_lib.unescape(c) for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", tr)]
            for tr in re.findall(r"<tr>(.*?)</tr>", body, re.S)]


def test_figures_have_a_text_alternative_their_key_and_their_points_as_a_table(client, answer):
    """The figures' alt text was "budget curve" and "LA frontier": a blind applicant got nothing of
    what another $500 buys.  The alt text now says what is drawn, from what to what, and that the
    data are SYNTHETIC; the caption gives the legend in words (unreadable inside the PNG on a
    phone); a table under each figure gives every point as the figure draws it, from its rows."""
    from allocator.percent import pct, plan_pct

    aid, _ = answer
    html, job = _drawn(client, aid, "budget")
    rows = job.result.rows
    alt = html_lib.unescape(re.search(r'<img [^>]*alt="([^"]*)" id="img-budget"', html).group(1))
    ok = [r for r in rows if r["p_match"] is not None]
    assert alt.startswith("Budget curve (SYNTHETIC data") and f"at {len(rows)} budgets" in alt
    assert f"from {pct(ok[0]['p_match'])} at ${ok[0]['budget']:,.0f} to {pct(ok[-1]['p_match'])} at " \
           f"${ok[-1]['budget']:,.0f}" in alt
    knees = [f"${r['budget']:,.0f}" for r in rows if r["knee"]]
    assert knees and f"at {', '.join(knees)}." in alt
    cells = _table_rows(html, "points-table-budget")
    assert [c[0] for c in cells] == [f"${b:,.0f}" for b in service.budget_values(1200)]
    assert [c[1] for c in cells] == [pct(r["p_match"]) for r in rows]
    assert [c[3] for c in cells] == [plan_pct(r["p_match_plan"]) for r in rows]  # the orange line's figures
    assert [c[8] == "knee" for c in cells] == [bool(r["knee"]) for r in rows]
    key = html_lib.unescape(re.search(r'id="key-budget">([^<]*)<', html).group(1))
    for words in ("solid blue line: P(match), average of the plausible models",
                  "shaded blue band: 10th-90th percentile", "solid orange line with dots: plan on",
                  "dashed grey line: if independent", "open red circles: knee",
                  "dotted green line: P(match in Greater LA) (right axis)"):
        assert words in key, key
    assert "The figure's points as a table</summary>" in html and '<span class="synthetic-tag">SYNTHETIC</span> demo' in html

    html, job = _drawn(client, aid, "frontier")
    rows = job.result.rows
    alt = html_lib.unescape(re.search(r'<img [^>]*alt="([^"]*)" id="img-frontier"', html).group(1))
    assert alt.startswith("LA frontier (SYNTHETIC data") and f"from the safest list (P(any match) " \
           f"{pct(rows[0]['p_match'])}, P(match in LA) {pct(rows[0]['p_match_la'])})" in alt
    cells = _table_rows(html, "points-table-frontier")
    assert len(cells) == len(rows) and cells[0][0].startswith("the safest list") and rows[0]["kind"] == "safest"
    lo, hi = rows[1]["p_match_la_interval"]
    assert cells[1][0] == "giving up 0 points of P(any match)"
    assert cells[1][2] == f"{pct(rows[1]['p_match_la'])} ({pct(lo)} – {pct(hi)})"
    assert "solid green line with dots: best P(match in LA)" in html and "blue star: safest list" in html


def test_form_invalid_field_message_next_to_it(client):
    r = client.post("/solve", data=fast_form(budget="-5"))
    assert r.status_code == 422
    m = re.search(r'id="error-budget">([^<]*)<', r.text)
    assert m and m.group(1).startswith("Budget = -5.0: ") and "Traceback" not in r.text
    r = client.post("/solve", data=fast_form(usce_california_months="9"))
    assert re.search(r'id="error-usce_california_months">[^<]*cannot exceed', r.text)
    r = client.post("/solve", data=fast_form(budget="lots"))
    assert r.status_code == 422 and 'id="error-budget"' in r.text
    r = client.post("/solve", data=fast_form(time_limit="0"))
    assert 'id="error-time_limit"' in r.text
    r = client.post("/solve", data=fast_form(specialty_limits="Internal Medicine 40"))
    assert 'id="error-specialty_limits"' in r.text
    r = client.post("/solve", data=fast_form(geographic_preference="fixed"))  # no division ticked
    assert r.status_code == 422 and re.search(r'id="error-geographic_preference">[^<]*tick 1 to 3 divisions', r.text)
    for bad in ("nan", "inf", "1e400"):  # a 500 ("internal error: OverflowError") before
        r = client.post("/solve", data=fast_form(max_applications=bad))
        assert r.status_code == 422 and re.search(r'id="error-max_applications">[^<]*whole number', r.text)


def _text(fragment: str) -> str:
    """A page fragment's words: tags dropped, entities read, white space collapsed."""
    text = " ".join(html_lib.unescape(re.sub(r"<[^>]+>", " ", fragment)).split())
    return re.sub(r" ([.,;:)])", r"\1", text)


@pytest.mark.parametrize("rho", ["0", "0.3"])
def test_form_with_a_correlation_leads_with_the_calibrated_range_and_the_plan(client, rho):
    """A set correlation makes the one-factor copula the model the list is chosen under, but the
    page leads as `solve --correlation` does: the calibrated two-stage model's range in large
    type, the figure to plan on after it, and the copula's P(match) named as such, never the big
    number (at 0 it was ">99.9%" in large type, with P(match in LA) and no range nor "plan on")."""
    from allocator.output.report import plan_source
    from allocator.percent import pct, plan_pct

    r = client.post("/solve", data=fast_form(correlation=rho, objective="safety_first"))
    assert r.status_code == 200, r.text[-300:]
    aid = re.search(r'/answer/([A-Za-z0-9_-]+)/list\.csv', r.text).group(1)
    d = client.get(f"/answer/{aid}/answer.json").json()
    assert d["model"]["kind"] == "one-factor copula" and d["correlation"] == float(rho)
    lo, hi = d["p_match_interval"]
    assert d["p_match"] > hi  # the copula's figure lies above the calibrated range here: it must not lead
    big = re.findall(r'class="value"[^>]*>([^<]*)<', r.text)
    assert big == [f"{pct(lo, 0)} – {pct(hi, 0)}"]  # the only large figure: the calibrated range
    assert 'class="value" id="p-match"' not in r.text
    head = _text(re.search(r'<div class="big" id="headline">(.*?)<p class="notice warning">', r.text, re.S).group(1))
    plan = d["p_match_plan"]
    assert f"the calibrated two-stage model's range for this list" in head
    assert f"plan on {plan_pct(plan['p_match'])} ({plan_source(plan)})" in head and plan_source(plan).startswith(
        plan["from"])  # the figure and its source, in the command line's words
    copula = _text(re.search(r'id="p-match-copula">(.*?)</span>', r.text, re.S).group(1))
    assert copula.startswith(f"Under the one-factor copula at the correlation you set ({float(rho):g}")
    assert f": {pct(d['p_match'])}. Not the figure to plan on" in copula
    assert ("independent outcomes, the most optimistic" in copula) == (rho == "0")
    # the order: range, plan on, then the copula's figure
    assert r.text.index('id="p-match-range"') < r.text.index('id="p-match-plan"') < r.text.index('id="p-match"')
    # LA and the West: the calibrated range first, the copula's figure after it, named
    for key in ("p_match_la", "p_match_west"):
        dd = _text(re.search(rf'id="{key.replace("_", "-")}">(.*?)</dd>', r.text, re.S).group(1))
        ilo, ihi = d[f"{key}_interval"]
        assert dd.startswith(f"{pct(ilo)} – {pct(ihi)} (the calibrated two-stage model's range); "
                             f"{pct(d[key])} under the one-factor copula"), dd
    # the trade table gives the calibrated ranges too, and its caption says whose figures are whose
    trade = re.search(r'<table class="small" id="alternatives"><caption>(.*?)</caption>(.*?)</table>', r.text, re.S)
    assert "figures under the one-factor copula" in trade.group(1) and "two-stage model's ranges" in trade.group(1)
    this = re.search(r'id="trade-this">(.*?)</tr>', trade.group(2), re.S).group(1)
    assert f"{pct(d['p_match'])} <small>({pct(lo, 0)} to {pct(hi, 0)})</small>" in this


def test_the_correlation_field_says_a_set_correlation_is_not_the_figure_to_plan_on(client):
    help_ = next(f.help for f in forms.fields() if f.name == "correlation")
    assert "calibrated" in help_ and "one-factor copula" in help_ and "not the figure to plan on" in help_
    assert "0 = independent outcomes: the most optimistic" in help_
    shown = re.search(r'<small id="help-correlation">(.*?)</small>', client.get("/").text, re.S).group(1)
    assert html_lib.unescape(shown) == help_


def test_web_messages_name_no_server_folder_and_no_cli_option():
    from allocator.errors import InputError
    from allocator.paths import DATA_DIR

    e = InputError(f"<form>: [applicant] specialties: {DATA_DIR}/catalogs/demo_internal_medicine.csv has no program "
                   "of specialty 'Dermatology' (it has Internal Medicine); fix [applicant] specialties or pass another "
                   "--catalog")
    msg = service.web_message(e)
    assert str(DATA_DIR) not in msg and "--catalog" not in msg
    assert "demo_internal_medicine.csv has no program" in msg and "upload another catalog CSV" in msg


def test_form_catalog_upload_and_its_errors(client):
    r = client.post("/solve", data=fast_form(specialties=None), files={"catalog": ("mine.csv", b"a,b\n1,2\n")})
    assert r.status_code == 422
    assert re.search(r'id="error-catalog">mine\.csv: missing required column', r.text)
    semi = b"program_id;name;specialty;city;state\nA1;Prog A;Internal Medicine;Boston;MA\n"  # Excel, many locales
    r = client.post("/solve", data=fast_form(specialties=None), files={"catalog": ("semi.csv", semi)})
    assert r.status_code == 422 and re.search(r'id="error-catalog">semi\.csv: line 1: the file looks separated by '
                                              r'semicolons \(;\), not commas[^<]*comma-separated CSV', r.text)
    r = client.post("/api/solve", files={"profile": ("p.toml", FAST_PROFILE.encode()), "catalog": ("semi.csv", semi)})
    assert r.status_code == 422 and "semi.csv: line 1: the file looks separated by semicolons" in r.json()["error"]
    r = client.post("/solve", data=fast_form(budget="400", max_applications="30"),
                    files={"catalog": ("tiny.csv", TINY.read_bytes())})
    assert r.status_code == 200 and "TINY-" in r.text
    # the catalog's own p_match: the copula (at the card's correlation) is the only model, so its figure
    # leads, with no range over plausible models and no figure to plan on, and the page says why
    assert re.search(r'class="value" id="p-match">\d+\.\d%<', r.text) and 'id="p-match-plan"' not in r.text
    assert ("one-factor copula at correlation 0.25; no range over plausible models: the warning below says why"
            in r.text)


def test_form_infeasible_and_time_limit_are_said(client, monkeypatch):
    r = client.post("/solve", data=fast_form(budget="100", min_applications="50"))
    assert r.status_code == 422 and 'id="solve-error"' in r.text and "No list meets these limits" in r.text
    from allocator.errors import TimeLimitError

    def slow(*a, **k):
        raise TimeLimitError("no list found within the time limit (1.0s): raise --time-limit")

    monkeypatch.setattr(service, "solve_result", slow)
    r = client.post("/solve", data=fast_form(time_limit="1"))
    assert r.status_code == 422 and "Time limit:" in r.text and "raise the time limit" in r.text
    assert "--time-limit" not in r.text


def test_internal_error_is_one_line(client, monkeypatch):
    def boom(*a, **k):
        raise RuntimeError("secret step2 245")

    monkeypatch.setattr(service, "solve_result", boom)
    r = client.post("/api/solve", content=FAST_PROFILE.encode())
    assert r.status_code == 500 and r.json()["error"] == "internal error: RuntimeError (please report)"
    r = client.post("/solve", data=fast_form())
    assert "internal error: RuntimeError" in r.text and "secret" not in r.text


def test_every_select_option_shows_words_and_posts_its_code(client):
    """The drop-downs showed the profile's codes (safety_first, p_match_la, cheapest_p10): each
    option now shows words, while the value it posts stays the code that the TOML and the JSON
    API keep (a posted code still reaches the profile and is shown selected again)."""
    import tomllib

    page = client.get("/").text
    selects = re.findall(r'<select id="in-(\w+)" name="(\w+)"[^>]*>(.*?)</select>', page, re.S)
    by_name = {f.name: f for f in forms.fields() if f.kind == "select"}
    assert sorted(n for _, n, _ in selects) == sorted(by_name) == ["geographic_preference", "mode", "objective",
                                                                   "season", "signals"]
    assert page.count("<option") == sum(len(f.choices) for f in by_name.values())  # no option outside them
    for fid, name, body in selects:
        opts = [(v, html_lib.unescape(w)) for v, w in re.findall(r'<option value="([^"]*)"[^>]*>([^<]*)</option>', body)]
        assert [v for v, _ in opts] == list(by_name[name].choices)  # the posted values: the codes, unchanged
        for value, words in opts:
            assert words != value and " " in words and "_" not in words and not words[0].islower(), (name, value, words)
    shown = {v: html_lib.unescape(w) for v, w in re.findall(r'<option value="([^"]*)"[^>]*>([^<]*)</option>',
                                                             dict((n, b) for _, n, b in selects)["objective"])}
    assert shown == {"safety_first": "Match somewhere first, then LA", "p_match": "Highest chance of a match",
                     "utility": "Best expected tier utility (LA, then the West, then elsewhere)",
                     "p_match_la": "Highest chance in Greater LA, keeping P(match) at the target"}
    mode = dict((n, b) for _, n, b in selects)["mode"]
    assert '<option value="cheapest_p10" >Cheapest list reaching the target on the 10th percentile</option>' in mode
    # a posted code goes into the profile as that code, and comes back selected under its words
    form = fast_form(objective="utility", season="none", signals="optimize", geographic_preference="optimize",
                     mode="cheapest_p10", target_p_match="0.7")
    doc = tomllib.loads(client.post("/profile.toml", data=form).text)
    assert (doc["strategy"]["objective"], doc["strategy"]["season"], doc["strategy"]["signals"],
            doc["strategy"]["geographic_preference"]) == ("utility", "none", "optimize", "optimize")
    r = client.post("/solve", data=fast_form(objective="utility", budget="-1"))  # refused: the form comes back
    assert r.status_code == 422
    assert ('<option value="utility" selected>Best expected tier utility (LA, then the West, then elsewhere)</option>'
            in r.text)
    # a message that names an objective by its code names it by the drop-down's words
    r = client.post("/solve", data=fast_form(objective="p_match_la"))
    err = html_lib.unescape(re.search(r'id="error-target_p_match">([^<]*)<', r.text).group(1))
    assert r.status_code == 422 and "p_match_la" not in err
    assert err.startswith("objective \u201cHighest chance in Greater LA, keeping P(match) at the target\u201d needs a target")


def test_profile_toml_download_round_trips(client):
    r = client.post("/profile.toml", data=fast_form())
    assert r.status_code == 200 and "attachment" in r.headers["content-disposition"]
    import tomllib

    from allocator.inputs.profile import profile_from_dict

    doc = tomllib.loads(r.text)
    assert doc["strategy"]["budget"] == 1200 and doc["applicant"]["step2_score"] == 245
    prof = profile_from_dict(doc)
    assert prof.strategy.signals == "none"
    r = client.post("/profile.toml", data=fast_form(specialty_limits="Internal Medicine: 10-50"),
                    headers={"HX-Request": "true"})
    key = re.search(r'/profile/([A-Za-z0-9_-]+)\.toml', r.text).group(1)
    doc = tomllib.loads(client.get(f"/profile/{key}.toml").text)
    assert doc["strategy"]["specialty_limits"] == {"Internal Medicine": {"min": 10, "max": 50}}
    r = client.post("/profile.toml", data=fast_form(budget="-1"), headers={"HX-Request": "true"})
    assert r.status_code == 422 and "Budget = -1.0: must be" in r.text
    plain = client.post("/profile.toml", data=fast_form(budget="-1"))  # without JavaScript: the page, not JSON
    assert plain.status_code == 422 and plain.text.startswith("<!doctype html>") and '"exit_code"' not in plain.text
    err = re.search(r'id="error-budget"[^>]*>([^<]*)<', plain.text)
    assert err and "Budget = -1.0: must be" in err.group(1) and 'value="-1"' in plain.text


def test_unknown_addresses(client):
    assert client.get("/answer/nope").status_code == 404
    assert client.get("/answer/nope/list.csv").status_code == 404
    assert client.get("/jobs/nope").status_code == 404
    assert client.post("/jobs/nope/cancel").status_code == 404
    assert client.get("/plots/nope.png").status_code == 404
    assert client.get("/profile/nope.toml").status_code == 404
    assert client.post("/answer/nope/curve/budget").status_code == 404


def test_busy_is_an_answer_not_a_hang():
    gate = threading.Event()
    app = create_app(settings(workers=1, queue=0))
    with TestClient(app) as c:
        app.state.pool.submit("solve", lambda job: gate.wait(10))
        r = c.post("/api/solve", content=FAST_PROFILE.encode())
        assert r.status_code == 503 and r.json()["retry"] is True and r.headers["retry-after"] == "5"
        r = c.post("/solve", data=fast_form())
        assert r.status_code == 503 and 'id="busy"' in r.text
        # its own Retry button (a phone's "Find my list" is a screen and a half above): the same form, again
        assert re.search(r'<div class="notice busy"[^>]*>.*<button type="submit" form="profile-form" '
                         r'formaction="/solve" class="secondary" id="retry">Retry: find my list</button>', r.text, re.S)
        gate.set()


def test_health_counts_the_jobs_at_work():
    """/api/health's "active": 0 when idle, 1 while a job runs, 0 again once it is done (the count
    is lowered before the job's future completes)."""
    gate, started = threading.Event(), threading.Event()
    app = create_app(settings(workers=1, queue=1))
    with TestClient(app) as c:
        assert c.get("/api/health").json()["active"] == 0
        job = app.state.pool.submit("solve", lambda job: (started.set(), gate.wait(20)))
        try:
            assert started.wait(20)
            d = c.get("/api/health").json()
            assert d["active"] == 1 and d["workers"] == 1 and d["queue"] == 1
        finally:
            gate.set()
        job.future.result(timeout=20)
        assert c.get("/api/health").json()["active"] == 0


def test_progress_and_cancel_route():
    gate = threading.Event()
    app = create_app(settings(wait=0.1))
    with TestClient(app) as c:
        def work(job):
            for k in range(1000):
                job.progress(k, 1000)
                gate.wait(0.01)
            return None

        job = app.state.pool.submit("budget", work, context={"answer": "x"})
        hx = {"HX-Request": "true"}
        assert 'id="progress-budget"' in c.get(f"/jobs/{job.id}", headers=hx).text
        assert "cancelled" in c.post(f"/jobs/{job.id}/cancel", headers=hx).text
        job.future.result(timeout=10)
        assert job.state == "cancelled" and isinstance(job.error, Cancelled)


def test_pool_bounds_and_forgets():
    pool = JobPool(workers=1, queue=1, ttl=0.0)
    gate = threading.Event()
    a = pool.submit("solve", lambda j: gate.wait(10))
    b = pool.submit("solve", lambda j: 7)
    with pytest.raises(Busy):
        pool.submit("solve", lambda j: 0)
    gate.set()
    assert b.future.result(timeout=10) is None and b.result == 7 and a.result is True
    threading.Event().wait(0.01)
    assert pool.get(a.id) is None and pool.active == 0  # ttl 0: forgotten once finished
    pool.shutdown()


def test_nothing_about_the_applicant_is_logged(client, caplog):
    import logging

    caplog.set_level(logging.DEBUG)
    client.post(f"/api/solve?draws={DRAWS}", content=FAST_PROFILE.replace("245", "251").encode())
    client.post("/solve", data=fast_form(step2_score="251"))
    assert "251" not in caplog.text


def test_serve_command_binds_localhost_and_warns_otherwise(monkeypatch, capsys):
    import uvicorn

    calls = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: calls.append(kw))
    for argv in (["serve"], ["serve", "--host", "0.0.0.0", "--port", "8123"]):
        with pytest.raises(SystemExit) as e:
            main(argv)
        assert e.value.code == 0
    err = capsys.readouterr().err
    assert calls[0]["host"] == "127.0.0.1" and calls[0]["port"] == 8000 and calls[0]["access_log"] is False
    assert calls[1]["host"] == "0.0.0.0" and err.count("warning") == 1 and "0.0.0.0" in err
    with pytest.raises(SystemExit) as e:
        main(["serve", "--port", "0"])
    assert e.value.code == 2 and "--port 0" in capsys.readouterr().err


def test_unproven_safety_first_answer_is_said_in_words(client, monkeypatch, tmp_path, capsys):
    """A safety-first answer that the relaxation's bound did not prove best says so on the
    page, with the gap, next to the list (forced here: every step settles at the root)."""
    from allocator.optim import safety

    monkeypatch.setattr(safety, "SETTLE_MIN_CANDIDATES", 0)
    monkeypatch.setattr(safety, "SETTLE_GAP", -1.0)  # settle even a closed root: status "feasible"
    monkeypatch.setattr(safety, "LA_MIN_SECONDS", 300.0)  # the LA-leaning list proven both times, whatever the load
    form = fast_form(objective="safety_first", time_limit="", signals="optimize", geographic_preference="optimize",
                     max_divisions="1")
    r = client.post("/solve", data=form)
    assert r.status_code == 200, r.text[-500:]
    aid = re.search(r'/answer/([A-Za-z0-9_-]+)/list\.csv', r.text).group(1)
    d = client.get(f"/answer/{aid}/answer.json").json()
    if d["status"] == "optimal":
        pytest.skip("this instance's floored step needs no solve (equal utilities or a count scan)")
    assert d["status"] == "feasible" and d["solver"]["gap"] is not None
    assert 'id="unproven"' in r.text and f'{d["solver"]["gap"]:.4f} above this one' in r.text
    # the trade against the safest list, in the command's words, with its counts and fees
    safest = d["alternatives"]["safest"]
    t = safest["tiers"]
    assert f'{t["la"]} / {t["west"]} / {t["elsewhere"]}</td>' in r.text and f"${safest['fees']:,.0f}" in r.text
    assert re.search(r"Against the safest list, this list (gives up|keeps|gains|has the same)", r.text)
    # the page's time limit only caps the work: the answer is the command's without --time-limit
    toml = tmp_path / "p.toml"
    toml.write_text(client.post("/profile.toml", data=form).text)
    with pytest.raises(SystemExit) as e:
        main(["solve", str(toml), "--json", "--draws", str(DRAWS)])
    out = capsys.readouterr()
    assert e.value.code == 0, out.err
    assert untimed(d) == untimed(json.loads(out.out))


@pytest.mark.parametrize("typed,needle", [
    ("--5", "must be a number"), ("1,500", "must be a number"), ("1500abc", "must be a number"),
    ("1e309", "must be a finite number"), ("nan", "must be a finite number"), ("-inf", "must be a finite number"),
])
def test_form_number_text_is_parsed_not_defaulted(client, typed, needle):
    """The number fields are text inputs: what was typed reaches the server, which rejects it
    under the field instead of solving with the default budget."""
    r = client.post("/solve", data=fast_form(budget=typed))
    assert r.status_code == 422
    m = re.search(r'id="error-budget">([^<]*)<', r.text)
    assert m and needle in m.group(1) and "<= 1.0" not in m.group(1), m and m.group(1)


def test_form_number_inputs_are_text_with_a_keyboard_hint(client):
    html = client.get("/").text
    assert 'type="number"' not in html
    assert re.search(r'id="in-budget" name="budget" value="[^"]*"\s+type="text" inputmode="decimal"', html)
    assert re.search(r'id="in-max_applications" name="max_applications" value="[^"]*"\s+type="text" '
                     r'inputmode="numeric"', html)


def test_whole_numbers_are_exact_and_nan_is_not_a_range_error():
    doc = forms.doc_from_values(fast_form(max_applications=str(10 ** 24), specialties=["Internal Medicine"]))
    assert doc["strategy"]["max_applications"] == 10 ** 24
    assert forms.doc_from_values(fast_form(max_applications="60.0"))["strategy"]["max_applications"] == 60
    with pytest.raises(forms.InputError, match="la_share_max = 'nan': must be a finite number"):
        forms.doc_from_values(fast_form(la_share_max="nan"))
    with pytest.raises(forms.InputError, match=r"must be a whole number"):
        forms.doc_from_values(fast_form(max_applications="60.5"))


def test_pool_drops_a_job_that_waited_too_long_and_frees_its_place():
    pool = JobPool(workers=1, queue=2, ttl=60.0, max_wait=0.3)
    gate, ran = threading.Event(), []
    a = pool.submit("solve", lambda j: gate.wait(10))
    b = pool.submit("solve", lambda j: ran.append("b"))
    assert b.state == "waiting" and b.fraction() is None and b.elapsed == 0.0
    threading.Event().wait(0.4)
    assert pool.active == 1  # b dropped: its place is free before any worker is
    assert b.state == "failed" and isinstance(b.error, Busy) and "within 0 s" not in str(b.error)
    gate.set()
    a.future.result(timeout=10)
    threading.Event().wait(0.05)
    assert ran == [] and pool.active == 0
    pool.shutdown()


def test_pool_refuses_at_once_a_job_not_expected_to_start_within_max_wait():
    """Ten concurrent requests: two accepted ones waited the whole 30 s and were then told
    "busy".  From the recent run times (0.4 s here) the pool sees that a request third in line
    cannot start within max_wait (0.5 s) and says "busy" at once, with an estimate; before any
    job has run it has no estimate and queues as before."""
    gate = threading.Event()
    fresh = JobPool(workers=1, queue=4, ttl=60.0, max_wait=0.5)
    fresh.submit("solve", lambda j: gate.wait(10))
    queued = [fresh.submit("solve", lambda j: 1) for _ in range(3)]  # no history yet: queued as before
    assert fresh.expected_start() is None and all(j.state == "waiting" for j in queued)
    gate.set()
    fresh.shutdown()
    gate.clear()
    pool = JobPool(workers=1, queue=4, ttl=60.0, max_wait=0.5)
    pool.submit("solve", lambda j: time.sleep(0.4)).future.result(timeout=10)  # a run time to go by
    started = threading.Event()
    a = pool.submit("solve", lambda j: (started.set(), gate.wait(10)))
    assert started.wait(10)
    try:
        c = pool.submit("solve", lambda j: 2)  # expected to start when a's typical time is up
        assert c.state == "waiting" and 0.2 < pool.expected_start() < 0.5 + 0.4
        t0 = time.monotonic()
        with pytest.raises(Busy) as e:
            pool.submit("solve", lambda j: 3)  # about 0.8 s: past the 0.5 s it may wait
        assert time.monotonic() - t0 < 0.2
        msg = str(e.value)
        assert "1 request is waiting" in msg and "past the 0.5 s a request may wait" in msg, msg
        assert re.search(r"in about \d s, past", msg) and msg.endswith("retry in about 5 s")
        assert e.value.retry_after == 5 and pool.active == 2  # nothing queued for it
    finally:
        gate.set()
    a.future.result(timeout=10)
    pool.shutdown()


def test_api_and_page_say_busy_at_once_when_the_queue_cannot_start_in_time():
    gate = threading.Event()
    app = create_app(settings(workers=1, queue=4, max_wait=0.5, wait=0.1))
    pool = app.state.pool
    with TestClient(app) as c:
        pool.submit("solve", lambda j: time.sleep(0.4)).future.result(timeout=10)
        started = threading.Event()
        pool.submit("solve", lambda j: (started.set(), gate.wait(20)))
        assert started.wait(10)
        pool.submit("solve", lambda j: gate.wait(20))
        try:
            t0 = time.monotonic()
            r = c.post("/api/solve", content=FAST_PROFILE.encode())
            api_seconds = time.monotonic() - t0
            page = c.post("/solve", data=fast_form(), headers={"HX-Request": "true"})
        finally:
            gate.set()
    assert r.status_code == 503 and r.headers["retry-after"] == "5" and api_seconds < 2
    assert "busy: the only worker is busy and 1 request is waiting" in r.json()["error"]
    assert page.status_code == 503 and 'id="busy"' in page.text and "retry in about 5 s" in page.text


def test_pool_cancel_of_a_waiting_job_never_runs_it():
    pool = JobPool(workers=1, queue=2, ttl=60.0, max_wait=30.0)
    gate, ran = threading.Event(), []
    a = pool.submit("solve", lambda j: gate.wait(10))
    b = pool.submit("solve", lambda j: ran.append("b"))
    assert pool.active == 2
    pool.cancel(b.id)
    assert pool.active == 1 and b.state == "cancelled" and b.finished is not None
    c = pool.submit("solve", lambda j: ran.append("c"))
    gate.set()
    c.future.result(timeout=10)
    assert ran == ["c"] and a.result is True
    pool.shutdown()


def test_api_request_not_started_within_max_wait_is_busy():
    gate = threading.Event()
    app = create_app(settings(workers=1, queue=2, max_wait=0.5))
    with TestClient(app) as c:
        blocker = app.state.pool.submit("solve", lambda job: gate.wait(20))
        r = c.post("/api/solve", content=FAST_PROFILE.encode())
        still_running = blocker.finished is None  # the answer came while the only worker was busy
        gate.set()
    assert r.status_code == 503 and r.headers["retry-after"] == "5" and still_running
    d = r.json()
    assert d["retry"] is True and d["exit_code"] == 75 and "no worker became free within" in d["error"]


def test_page_shows_waiting_then_busy_when_no_worker_frees():
    gate = threading.Event()
    app = create_app(settings(workers=1, queue=2, max_wait=0.6, wait=0.1))
    with TestClient(app) as c:
        app.state.pool.submit("solve", lambda job: gate.wait(20))
        r = c.post("/solve", data=fast_form(), headers={"HX-Request": "true"})
        assert 'id="waiting"' in r.text and "Waiting for a free worker" in r.text
        assert 'value="' not in re.search(r"<progress[^>]*>", r.text).group(0)  # no count before it starts
        job = re.search(r'hx-get="/jobs/([^"]+)"', r.text).group(1)
        threading.Event().wait(0.7)
        r = c.get(f"/jobs/{job}", headers={"HX-Request": "true"})
        gate.set()
    assert 'id="busy"' in r.text and "no worker became free" in r.text and 'formaction="/solve"' in r.text


def test_cancel_of_a_running_solve_says_it_finishes_in_the_background():
    gate, started = threading.Event(), threading.Event()
    app = create_app(settings(workers=1, queue=0, wait=0.1))
    with TestClient(app) as c:
        def slow(*a, **k):
            started.set()
            gate.wait(20)
            raise AssertionError("a cancelled solve's answer must not be used")

        pool = app.state.pool
        job = pool.submit("solve", lambda j: (slow(), None))
        assert started.wait(20)  # running, not waiting: the cancel must leave it to finish
        r = c.post(f"/jobs/{job.id}/cancel", headers={"HX-Request": "true"})
        assert 'id="cancelled"' in r.text and "finishes its current step in the background" in r.text
        assert 'id="p-match"' not in r.text
        r = c.post("/solve", data=fast_form(), headers={"HX-Request": "true"})  # resubmitted at once
        assert r.status_code == 503 and "1 finishing a cancelled solve" in r.text and 'id="p-match"' not in r.text
        pool.queue = 1  # with a waiting place, the request waits and says why
        r = c.post("/solve", data=fast_form(), headers={"HX-Request": "true"})
        assert 'id="waiting"' in r.text and "1 of them finishing a cancelled solve" in r.text
        pool.cancel(re.search(r'hx-get="/jobs/([^"]+)"', r.text).group(1))  # never runs
        gate.set()
        job.future.result(timeout=10)
        assert job.state == "cancelled" and job.result is None
        r = c.get(f"/jobs/{job.id}", headers={"HX-Request": "true"})
        assert 'id="cancelled"' in r.text and "background" not in r.text


def test_no_command_line_option_in_messages(client):
    """The library's advice names options ("raise [strategy] budget or --budget"); the page and
    the API leave the option out, or put it in words."""
    body = FAST_PROFILE.replace("budget = 1200", "budget = 10")
    r = client.post(f"/api/solve?draws={DRAWS}", content=body.encode())
    assert r.status_code == 422 and "raise [strategy] budget" in r.json()["error"]
    assert "--" not in r.json()["error"]
    r = client.post("/solve", data=fast_form(budget="10"))
    m = re.search(r'id="error-budget">([^<]*)<', r.text)
    assert m and "raise “Budget”" in m.group(1) and "--" not in m.group(1)  # the form's label
    assert service.web_message(Exception("needs a target: pass --target P (0 < P < 1) or set [strategy] "
                                         "target_p_match")) == "needs a target: set [strategy] target_p_match"
    assert "--" not in messages.plain_text("pass --time-limit SECONDS to let the solver search and prove longer")


def test_cheapest_list_says_when_only_the_average_reaches_the_target(client):
    r = client.post("/solve", data=fast_form(mode="cheapest", target_p_match="0.75"))
    assert r.status_code == 200, r.text[-300:]
    aid = re.search(r'/answer/([A-Za-z0-9_-]+)/list\.csv', r.text).group(1)
    d = client.get(f"/answer/{aid}/answer.json").json()
    assert d["objective"] == "min_cost" and d["p_match"] >= 0.75 > d["p_match_interval"][0]
    m = re.search(r'id="target-range">([^<]*)<', r.text)
    assert m and f"reaches 75% on the average over the plausible models ({100 * d['p_match']:.1f}%)" in m.group(1)
    assert f"goes down to {100 * d['p_match_interval'][0]:.1f}%" in m.group(1)


def test_cheapest_at_the_10th_percentile_on_the_page_and_the_api(client):
    """What to find = cheapest_p10: the list's range starts at the target, the page says the
    answer is found by a rule (not proven cheapest), and the API answers the same with target_on=p10."""
    r = client.post("/solve", data=fast_form(mode="cheapest_p10", target_p_match="0.6"))
    assert r.status_code == 200, r.text[-300:]
    aid = re.search(r'/answer/([A-Za-z0-9_-]+)/list\.csv', r.text).group(1)
    d = client.get(f"/answer/{aid}/answer.json").json()
    assert d["objective"] == "min_cost" and d["target_on"] == "p10" and d["p_match_interval"][0] >= 0.6
    assert 'id="p10-rule"' in r.text and "at the 10th percentile:" in r.text and 'id="target-range"' not in r.text
    body = FAST_PROFILE.replace("[strategy]", "[strategy]\ntarget_p_match = 0.6", 1)
    a = client.post(f"/api/solve?draws={DRAWS}&min_cost=true&target_on=p10", content=body.encode())
    assert a.status_code == 200 and a.json()["cost"] == d["cost"] and a.json()["target_on"] == "p10"
    bad = client.post(f"/api/solve?draws={DRAWS}&min_cost=true&target_on=median", content=body.encode())
    assert bad.status_code == 422 and bad.json()["error"] == "target_on 'median': use average or p10"
    bad = client.post(f"/api/solve?draws={DRAWS}&target_on=p10", content=body.encode())
    assert bad.status_code == 422 and "add min_cost=true" in bad.json()["error"]
    for msg in ("--target-on p10 needs a range over plausible models: use --target-on average",
                "the 80% target ...; --target-on p10 finds the cheapest budget whose best list reaches it there",
                "infeasible: ... lower --target, or judge the target on the average (--target-on average)"):
        words = messages.plain_text(msg)  # the --target rule no longer rewrites --target-on ("P(match)-on")
        assert "--" not in words and "-on" not in words.replace("target_on", ""), words
    r = client.post("/solve", data=fast_form(mode="cheapest_p10", target_p_match="0.8"))  # 0.663 at most there
    assert r.status_code == 422 and "gives 0.663 there" in r.text and "(What to find: Cheapest list reaching the target on average)" in r.text
    assert "--target" not in r.text


def test_trade_table_shows_every_range(client, answer):
    """The 'this list' row and every alternative show the P(match) and P(match in LA) ranges of the JSON."""
    aid, _ = answer
    d = client.get(f"/answer/{aid}/answer.json").json()
    alt = {"status": "optimal", "p_match": 0.85, "p_match_la": 0.0, "p_match_interval": [0.77, 0.91],
           "p_match_la_interval": [0.01, 0.03], "p_match_west": 0.125, "p_match_west_interval": [0.08, 0.17],
           "tiers": {"la": 0, "west": 1, "elsewhere": 5}, "fees": 900.0}
    payload = d | {"alternatives": {"safest": alt}, "p_match_interval": [0.70, 0.90], "p_match": 0.8,
                   "p_match_la_interval": [0.05, 0.21], "p_match_west": 0.405, "p_match_west_interval": [0.33, 0.48]}
    job = client.app.state.pool.submit("solve", lambda j: payload)
    job.future.result(timeout=10)
    html = client.get(f"/answer/{job.id}", headers={"HX-Request": "true"}).text
    this = re.search(r'<tr class="chosen" id="trade-this">(.*?)</tr>', html, re.S).group(1)
    assert "(70% to 90%)" in this and "(5% to 21%)" in this
    row = re.search(r'<th scope="row">the safest list</th>(.*?)</tr>', html, re.S).group(1)
    assert "(77% to 91%)" in row and "(1% to 3%)" in row
    # P(match in the West): a column with its range, and the trade sentence says the West's change in points
    assert "40.5% <small>(33% to 48%)</small>" in this and "12.5% <small>(8% to 17%)</small>" in row
    assert "(P(match in the West, LA included) +28.0 points)" in html
    assert re.search(r'id="p-match-west">40.5% \(33.0% – 48.0%\)', html)


FULL = ('<!doctype html>', '<link rel="stylesheet" href="/static/style.css">', 'id="profile-form"')


def test_without_javascript_pages_are_whole_and_progress_reloads(monkeypatch):
    """No HX-Request: the progress page reloads itself (noscript refresh), and cancel is a plain post."""
    gate = threading.Event()
    app = create_app(settings(wait=0.05))
    monkeypatch.setattr(service, "solve_result", lambda *a, **k: gate.wait(20))
    with TestClient(app) as c:
        r = c.post("/solve", data=fast_form(budget="1234"))
        jid = re.search(r'action="/jobs/([A-Za-z0-9_-]+)/cancel"', r.text).group(1)
        assert all(x in r.text for x in FULL) and 'value="1234"' in r.text
        assert f'<noscript><meta http-equiv="refresh" content="2;url=/jobs/{jid}"></noscript>' in r.text
        r = c.get(f"/jobs/{jid}")
        assert all(x in r.text for x in FULL) and 'value="1234"' in r.text and 'http-equiv="refresh"' in r.text
        r = c.post(f"/jobs/{jid}/cancel", follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == f"/jobs/{jid}"
        r = c.get(f"/jobs/{jid}")
        gate.set()
    assert all(x in r.text for x in FULL) and 'id="cancelled"' in r.text and 'http-equiv="refresh"' not in r.text


def fresh_answer(client, answer, **changes) -> str:
    """A new answer job with the fixture's payload (no figures started yet); its id."""
    src = client.app.state.pool.get(answer[0])
    job = client.app.state.pool.submit("solve", lambda j: src.result | changes,
                                       context={"problem": src.context["problem"], "values": fast_form()})
    job.future.result(timeout=10)
    return job.id


def test_without_javascript_sort_curve_and_gone_are_whole_pages(client, answer):
    aid = fresh_answer(client, answer)
    r = client.get(f"/answer/{aid}?sort=name&order=asc")
    assert r.status_code == 200 and all(x in r.text for x in FULL) and 'value="1200"' in r.text
    names = re.findall(r'<td>(Synthetic IM Program[^<]*)</td>', r.text)
    assert names == sorted(names, key=str.lower) and len(names) > 5
    r = client.get(f"/answer/{aid}/table?sort=name&order=asc", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/answer/{aid}?sort=name&order=asc#list-table"
    assert f'<form method="post" action="/answer/{aid}/curve/budget"' in client.get(f"/answer/{aid}").text
    r = client.post(f"/answer/{aid}/curve/budget", follow_redirects=False)
    assert r.status_code == 303
    fig = r.headers["location"].removeprefix("/jobs/")
    r = client.get(f"/jobs/{fig}")
    assert all(x in r.text for x in FULL) and 'id="p-match"' in r.text
    assert 'id="progress-budget"' in r.text or 'id="img-budget"' in r.text
    # the page shown for the figure lands on the figure, not on the answer's heading (one autofocus)
    assert r.text.count(" autofocus") == 1 and re.search(r'<(div|figure)[^>]*data-focus autofocus', r.text)
    assert 'id="answer-heading" tabindex="-1" data-focus>' in r.text
    client.post(f"/jobs/{fig}/cancel")
    r = client.get("/answer/nope")
    assert r.status_code == 404 and all(x in r.text for x in FULL) and 'id="gone"' in r.text


def test_budget_curve_caption_says_what_it_maximizes(client, answer, monkeypatch):
    """The curve maximizes plain P(match) at each budget; under a safety-first answer the caption
    says so, so its numbers are not taken for the answer's."""
    import dataclasses

    aid, _ = answer
    src = client.app.state.pool.get(aid)
    problem = dataclasses.replace(src.context["problem"], objective="safety_first")
    job = client.app.state.pool.submit("solve", lambda j: src.result | {"objective": "safety_first"},
                                       context={"problem": problem, "values": fast_form()})
    job.future.result(timeout=10)
    monkeypatch.setattr(service, "budget_curve", lambda *a, **k: service.Drawn(b"\x89PNG\r\n\x1a\n", [], []))
    r = client.post(f"/answer/{job.id}/curve/budget", headers={"HX-Request": "true"})
    fig = re.search(r'hx-get="/jobs/([A-Za-z0-9_-]+)"', r.text) or re.search(r'/plots/([A-Za-z0-9_-]+)\.png', r.text)
    for _ in range(100):
        r = client.get(f"/jobs/{fig.group(1)}", headers={"HX-Request": "true"})
        if 'id="img-budget"' in r.text:
            break
        threading.Event().wait(0.05)
    cap = re.search(r'id="caption-budget">([^<]*)<', r.text).group(1)
    assert cap.startswith("the best P(match) at each budget") and "not the safety-first answer above" in cap
    assert "the orange line is the figure to plan on" in cap and "not a recommended budget" in cap
    same = service.budget_caption("p_match", "p_match")
    assert same.startswith("the best P(match) at each budget (same limits otherwise); the orange line is the figure "
                           "to plan on for each point's list; red circles (knees) mark where extra dollars start "
                           "buying less") and same.endswith("not a recommended budget")
    assert "orange" not in service.budget_caption("p_match", "p_match", planned=False)  # no range, no plan-on line


def test_small_form_messages(client):
    # fewest > most: under both fields, naming both
    r = client.post("/solve", data=fast_form(min_applications="50", max_applications="30"))
    for name in ("min_applications", "max_applications"):
        m = re.search(rf'id="error-{name}">([^<]*)<', r.text)
        assert m and "Fewest applications (50)" in m.group(1) and "“Most applications” (30)" in m.group(1), name
    # a specialty without a demo catalog: under Specialties, with the specialties' names
    r = client.post("/solve", data=fast_form(specialties=["Dermatology"]))
    m = re.search(r'id="error-specialties">([^<]*)<', r.text)
    assert r.status_code == 422 and m and "Internal Medicine" in m.group(1) and "internal_medicine" not in m.group(1)
    # a long value is not echoed in full
    r = client.post("/solve", data=fast_form(budget="1" * 5000))
    m = re.search(r'id="error-budget">([^<]*)<', r.text)
    assert m and len(m.group(1)) < 300 and "5,000 characters" in m.group(1)
    r = client.post("/solve", data=fast_form(season="x" * 5000))
    m = re.search(r'id="error-season">([^<]*)<', r.text)
    assert m and len(m.group(1)) < 300
    # the time limit is 1-120 s, as documented
    for bad in ("0.5", "121"):
        r = client.post("/solve", data=fast_form(time_limit=bad))
        assert r.status_code == 422 and re.search(r'id="error-time_limit">[^<]*between 1 and 120', r.text)
    # the utilities' label says what the loader accepts (0 or more, not 0-1)
    html = client.get("/").text
    assert re.search(r'id="field-utility_west">.*?0 or more', html, re.S)


def test_api_unknown_specialty_names_specialties(client):
    r = client.post("/api/solve", content=b'[applicant]\nspecialties = ["Dermatology"]\n')
    assert r.status_code == 422 and "the demo catalogs are for 'Family Medicine', 'Internal Medicine'" in \
        r.json()["error"]


def test_upload_size_message_does_not_round_to_the_limit(client):
    big = b"program_id,name,specialty,city,state\n" + b"x" * (forms.MAX_UPLOAD_BYTES - 30)
    r = client.post("/api/solve", files={"profile": ("p.toml", FAST_PROFILE.encode()), "catalog": ("big.csv", big)})
    err = r.json()["error"]
    assert r.status_code == 413 and "over the 2 MB upload limit" in err and "2.0 MB is over" not in err


def test_time_limit_notice_says_it_once(client, answer):
    aid, _ = answer
    d = client.get(f"/answer/{aid}/answer.json").json()
    for message in ("time limit reached", "budget search: 4 integer-program solves; time limit reached, gap shown"):
        payload = d | {"solver": d["solver"] | {"message": message}}
        job = client.app.state.pool.submit("solve", lambda j, p=payload: p)
        job.future.result(timeout=10)
        html = client.get(f"/answer/{job.id}", headers={"HX-Request": "true"}).text
        notice = re.search(r'id="time-limit">([^<]*)<', html).group(1)
        assert notice.lower().count("time limit") == 1 + ("budget search" in message), notice


def test_accessibility_of_the_form_and_answer(client, answer):
    r = client.post("/solve", data=fast_form(budget="-5"), headers={"HX-Request": "true"})
    tag = re.search(r'<input id="in-budget"[^>]*>', r.text).group(0)
    assert 'aria-invalid="true"' in tag and 'aria-describedby="unit-budget help-budget error-budget"' in tag
    assert " autofocus" in tag and r.text.count(" autofocus") == 1  # htmx focuses it after the swap
    assert 'id="help-budget"' in r.text and 'id="unit-budget"' in r.text
    html = client.get("/").text
    assert "aria-invalid" not in html and " autofocus" not in html
    for name, label in (("specialties", "Specialties"), ("divisions", "Fixed divisions")):
        assert re.search(rf'<fieldset class="group" id="in-{name}"[^>]*><legend class="label">{label}</legend>', html)
    r = client.post("/solve", data=fast_form(budget="100", min_applications="50"), headers={"HX-Request": "true"})
    assert re.search(r'id="solve-error" tabindex="-1" autofocus', r.text)
    _, page = answer
    # a whole page (no JavaScript) lands on the answer: the browser focuses and scrolls to it
    assert re.search(r'<h2 [^>]*id="answer-heading" tabindex="-1" data-focus autofocus>', page)
    assert "<h3>The programs</h3>" in page
    assert 'rel="icon" href="/static/favicon.svg"' in html
    for path in ("/favicon.ico", "/static/favicon.svg"):
        r = client.get(path)
        assert r.status_code == 200 and r.headers["content-type"].startswith("image/svg+xml")


def test_progress_bars_are_labelled():
    gate = threading.Event()
    app = create_app(settings(wait=0.05))
    with TestClient(app) as c:
        job = app.state.pool.submit("solve", lambda j: gate.wait(20), time_limit=20)
        r = c.get(f"/jobs/{job.id}", headers={"HX-Request": "true"})
        gate.set()
    assert re.search(r'<progress id="solve-progress"[^>]*aria-label="solve progress"', r.text)


def test_headline_names_the_average_and_shows_the_published_curve_check(client, answer):
    """The big figure is the plausible models' range, as the command line leads with it (the
    average alone read as sure), and the average follows, named as such; the published-curve
    check is shown when the JSON has it; no probability below 1 reads 100.0%."""
    aid, html = answer
    d = client.get(f"/answer/{aid}/answer.json").json()
    lo10, hi90 = d["p_match_interval"]
    assert re.search(rf'class="value" id="p-match-range">{100 * lo10:.0f}% – {100 * hi90:.0f}%<', html)
    assert html.index('id="p-match-range"') < html.index('id="p-match"')
    m = re.search(r'id="p-match-interval">(.*?)</span>', html, re.S)
    text = html_lib.unescape(re.sub(r"<[^>]+>", "", m.group(1))) if m else ""  # "check&#39;s" reads "check's"
    assert "average over the plausible models" in text
    plan = d["p_match_plan"]  # the one figure to plan on, rounded down, and where it comes from
    assert f"plan on {int(100 * plan['p_match'] + 1e-9)}% ({plan['from']}, {100 * plan['p_match']:.1f}% rounded down:" in text
    lo, hi = d["p_match_published_curve"]  # the two-stage model with the Monte Carlo check: always there
    assert re.search(rf'id="published-curve">{100 * lo:.0f}% – {100 * hi:.0f}%', html)
    job = client.app.state.pool.submit("solve", lambda j: d | {"p_match_independent": 0.99996})
    job.future.result(timeout=10)
    page = client.get(f"/answer/{job.id}", headers={"HX-Request": "true"}).text
    assert "<dd>&gt;99.9% <small>(what tools that ignore correlation say)" in page and "100.0%" not in page


def test_a_number_thousands_of_digits_long_is_a_clear_error(client):
    """Python refuses to convert integers over 4,300 digits: a field or a profile that long gets
    the field's message (422), never an internal error."""
    r = client.post("/solve", data=fast_form(max_applications="9" * 5000))
    assert r.status_code == 422 and "too long for a number" in r.text and "internal error" not in r.text
    r = client.post("/api/solve", content=b"[strategy]\nbudget = " + b"9" * 5000 + b"\n",
                    headers={"content-type": "application/toml"})
    assert r.status_code == 422 and "cannot read" in r.json()["error"]


@pytest.mark.parametrize("changes,name,needle", [
    ({"budget": ""}, "budget", "Budget: empty; give your budget in USD"),
    ({"step2_score": ""}, "step2_score", "USMLE Step 2 CK score: empty; give your Step 2 CK score"),
    ({"specialties": None}, "specialties", "tick at least one specialty"),
    ({"step2": "on"}, "step2_score", "both given; clear the score, or untick"),
])
def test_required_fields_left_empty_are_said_under_the_field(client, changes, name, needle):
    """An empty budget is not solved with the loader's $2,500, an empty Step 2 score without
    'pass only' is not taken as pass-only, and no specialty is not pydantic's 'List should have
    at least 1 item'."""
    r = client.post("/solve", data=fast_form(**changes))
    assert r.status_code == 422, r.text[-300:]
    m = re.search(rf'id="error-{name}">([^<]*)<', r.text)
    assert m and needle in m.group(1) and "List should" not in m.group(1), m and m.group(1)
    assert 'id="p-match"' not in r.text


def test_empty_step2_with_pass_only_still_solves(client):
    r = client.post("/solve", data=fast_form(step2_score="", step2="on"))
    assert r.status_code == 200 and 'id="p-match"' in r.text


def test_wording_examples_per_field_busy_once_and_pessimistic_label(client, answer):
    r = client.post("/solve", data=fast_form(step2_score="abc"))
    m = re.search(r'id="error-step2_score">([^<]*)<', r.text)
    assert m and "e.g. 245" in m.group(1) and "1500" not in m.group(1), m and m.group(1)
    r = client.post("/solve", data=fast_form(budget="abc"))
    assert "e.g. 2500" in re.search(r'id="error-budget">([^<]*)<', r.text).group(1)
    gate = threading.Event()
    app = create_app(settings(workers=1, queue=0, wait=0.1))
    with TestClient(app) as c:
        app.state.pool.submit("solve", lambda job: gate.wait(20))
        r = c.post("/solve", data=fast_form(), headers={"HX-Request": "true"})
        gate.set()
    busy = re.search(r'id="busy"[^>]*>(.*?)</div>', r.text, re.S).group(1)
    words = re.sub(r"<button.*?</button>", "", busy, flags=re.S)  # the Retry button aside, "retry" said once
    assert r.status_code == 503 and words.lower().count("retry") == 1 and busy.count("Busy") == 1, busy
    assert 'id="retry">Retry: find my list</button>' in busy
    html = fresh_page(client, answer, p_match_pessimistic=0.41)
    assert re.search(r"<dt>P\(match\) under the most pessimistic model</dt><dd id=\"p-match-pessimistic\">41\.0%",
                     html)


def fresh_page(client, answer, **changes) -> str:
    """The answer fragment (htmx) of a new answer job with the fixture's payload changed."""
    return client.get(f"/answer/{fresh_answer(client, answer, **changes)}", headers={"HX-Request": "true"}).text


def test_a_new_submission_supersedes_the_job_the_page_waits_for(monkeypatch):
    """A second "Find my list" (or "Update my chances") from the same page cancels the solve that
    page was still waiting for: the progress page's form names it in a hidden field."""
    gate = threading.Event()

    def slow(*a, **k):
        gate.wait(20)
        raise AssertionError("a superseded solve's answer must not be used")

    monkeypatch.setattr(service, "solve_result", slow)
    app = create_app(settings(workers=2, queue=2, wait=0.1))
    hx = {"HX-Request": "true"}
    with TestClient(app) as c:
        r = c.post("/solve", data=fast_form(), headers=hx)
        first = re.search(r'id="supersedes" value="([^"]+)"', r.text).group(1)
        assert 'id="solve-progress"' in r.text and app.state.pool.get(first).state == "running"
        r = c.post("/solve", data=fast_form(supersedes=first), headers=hx)
        second = re.search(r'id="supersedes" value="([^"]+)"', r.text).group(1)
        assert second != first and app.state.pool.get(first).cancelled
        assert not app.state.pool.get(second).cancelled
        # a job id that is not the page's solve (a figure, or unknown) is left alone
        fig = app.state.pool.submit("budget", lambda j: gate.wait(20), context={"answer": "x"})
        c.post("/solve", data=fast_form(supersedes=fig.id, budget=""), headers=hx)
        c.post("/solve", data=fast_form(supersedes="nope", budget=""), headers=hx)
        assert not fig.cancelled
        # a request refused for its input (an empty budget, an update without a season file) keeps the
        # answer on its way: only a valid new request supersedes it
        c.post("/solve", data=fast_form(supersedes=second, budget=""), headers=hx)
        r = c.post("/update", data=fast_form(supersedes=second), headers=hx)
        assert r.status_code == 422 and not app.state.pool.get(second).cancelled
        # without JavaScript the progress page's form carries it as well
        r = c.post("/solve", data=fast_form())
        third = re.search(r'id="supersedes" value="([^"]+)"', r.text).group(1)
        assert 'id="solve-progress"' in r.text and app.state.pool.get(third).state in ("waiting", "running")
        gate.set()
    # finished pages name no job
    assert 'id="supersedes" value=""' in TestClient(create_app(settings())).get("/").text


def test_answer_address_is_pushed_so_reload_and_back_show_it(client):
    """With JavaScript the address bar gets the job's address (HX-Push-Url): reloading it (a plain
    GET) or htmx restoring it from the history gives the whole page with the answer and the
    form's values; a sort pushes the sorted page's address."""
    hx = {"HX-Request": "true"}
    r = client.post("/solve", data=fast_form(budget="1100"), headers=hx)
    assert r.status_code == 200 and 'id="p-match"' in r.text
    address = r.headers["HX-Push-Url"]
    job = address.removeprefix("/jobs/")
    assert address == f"/jobs/{job}" and f"/answer/{job}/list.csv" in r.text
    for headers in ({}, hx | {"HX-History-Restore-Request": "true"}):
        page = client.get(address, headers=headers).text
        assert all(x in page for x in FULL) and 'id="p-match"' in page and 'value="1100"' in page
    assert f'hx-push-url="/answer/{job}?sort=name&order=asc"' in r.text
    restored = client.get(f"/answer/{job}?sort=name&order=asc", headers=hx | {"HX-History-Restore-Request": "true"})
    assert all(x in restored.text for x in FULL) and 'aria-sort="ascending"' in restored.text
    # an answer refused at once has no address of its own
    assert "HX-Push-Url" not in client.post("/solve", data=fast_form(budget=""), headers=hx).headers


def test_back_to_the_form_shows_the_values_submitted_and_a_plain_post_redirects(client):
    """Back from an answer showed the example's values: htmx asked for "/" afresh.  page.js names
    the form's place in the history /?form=ID before htmx pushes the answer's: that address (and
    htmx restoring it) gives the form with the values submitted, without the answer; once the
    answer has left memory, the example's values and the notice that it has.  Without JavaScript
    the post is answered by the answer's address (303), so a reload does not send the form again."""
    hx = {"HX-Request": "true"}
    job = client.post("/solve", data=fast_form(budget="1150", usce_months="7"), headers=hx).headers[
        "HX-Push-Url"].removeprefix("/jobs/")
    for headers in ({}, hx | {"HX-History-Restore-Request": "true"}):
        r = client.get(f"/?form={job}", headers=headers)
        assert r.status_code == 200 and all(x in r.text for x in FULL)
        assert re.search(r'id="in-budget" name="budget" value="1150"', r.text)
        assert re.search(r'id="in-usce_months" name="usce_months" value="7"', r.text)
        assert 'id="p-match"' not in r.text and 'id="gone"' not in r.text
    r = client.get("/?form=nope")
    assert r.status_code == 200 and 'id="gone"' in r.text and 'value="1150"' not in r.text
    r = client.post("/solve", data=fast_form(budget="1150"), follow_redirects=False)
    assert r.status_code == 303 and re.fullmatch(r"/jobs/[\w-]+", r.headers["location"])
    page = client.get(r.headers["location"])
    assert page.status_code == 200 and 'id="p-match"' in page.text and 'value="1150"' in page.text
    r = client.post("/solve", data=fast_form(budget=""), follow_redirects=False)  # refused: the form at once
    assert r.status_code == 422 and 'id="error-budget"' in r.text


def test_the_answer_page_shows_the_notes_of_the_answer(client):
    """The rows of another specialty an uploaded catalog had are named on the page, as solve
    prints them (the page said only "N programs")."""
    rows = TINY.read_text().splitlines()
    rows[2] = rows[2].replace(",Internal Medicine,", ",Family Medicine,")
    r = client.post("/solve", data=fast_form(budget="400", max_applications="30"),
                    files={"catalog": ("mine.csv", ("\n".join(rows) + "\n").encode())})
    assert r.status_code == 200
    assert re.search(r'id="data-note-\d+">Note: 1 program of the catalog in Family Medicine left out', r.text)


def test_answer_names_its_catalog_and_the_file_field_recalls_an_upload(client):
    """An upload is not kept for the next request: the answer says which catalog it used, and the
    file field says the last request used that file and that it must be chosen again."""
    r = client.post("/solve", data=fast_form(budget="400", max_applications="30"),
                    files={"catalog": ("my_catalog.csv", TINY.read_bytes())})
    assert r.status_code == 200 and "TINY-" in r.text
    assert re.search(r'id="catalog-used">Catalog: my_catalog\.csv \(uploaded\)<', r.text)
    # review 22: a synthetic upload is still labelled, without telling the user to upload a catalog
    assert 'id="synthetic">SYNTHETIC demo catalog' in r.text and "Upload your own catalog" not in r.text
    last = re.search(r'id="catalog-last">(.*?)</small>', r.text, re.S).group(1)
    assert "my_catalog.csv" in last and "choose it again" in last
    assert re.search(r'id="in-catalog"[^>]*aria-describedby="help-catalog catalog-last"', r.text)
    job = r.headers.get("HX-Push-Url") or re.search(r"/answer/([\w-]+)/list\.csv", r.text).group(1)
    again = client.get(f"/jobs/{job.removeprefix('/jobs/')}").text  # the page shown again says so too
    assert 'id="catalog-last"' in again and "my_catalog.csv (uploaded)" in again
    r = client.post("/solve", data=fast_form())
    assert re.search(r'id="catalog-used">Catalog: the SYNTHETIC demo catalog of Internal Medicine<', r.text)
    assert 'id="catalog-last"' not in r.text
    assert "not real program data. Upload your own catalog for real programs.</p>" in r.text


def test_every_answer_state_has_one_focus_target(client, answer):
    """page.js focuses the answer region's [data-focus] element after a submit: the progress, the
    answer's heading, the busy, cancelled and gone notices each carry one, focusable (tabindex=-1)."""
    def targets(html):
        return re.findall(r'<[^>]*\bdata-focus\b[^>]*>', html)

    assert 'src="/static/page.js"' in client.get("/").text
    assert client.get("/static/page.js").status_code == 200
    (h,) = targets(answer[1])
    assert 'id="answer-heading"' in h and 'tabindex="-1"' in h
    (g,) = targets(client.get("/jobs/nope", headers={"HX-Request": "true"}).text)
    assert 'tabindex="-1"' in g
    gate = threading.Event()
    app = create_app(settings(workers=1, queue=0, wait=0.1))
    hx = {"HX-Request": "true"}
    with TestClient(app) as c:
        job = app.state.pool.submit("solve", lambda j: gate.wait(20))
        (p,) = targets(c.get(f"/jobs/{job.id}", headers=hx).text)
        assert 'id="progress"' in p
        (b,) = targets(c.post("/solve", data=fast_form(), headers=hx).text)
        assert 'id="busy"' in b
        (x,) = targets(c.post(f"/jobs/{job.id}/cancel", headers=hx).text)
        assert 'id="cancelled"' in x
        gate.set()


def test_two_quoted_names_far_apart_are_not_cut_as_one_long_value():
    """plain_text cuts a quoted value over 60 characters; the text between two quoted names
    ("column 'la_aera' is not one ... did you mean 'la_area'?") was taken for one and garbled."""
    msg = ("mine.csv: header: column 'la_aera' is not one allocator reads, and its values would be ignored; "
           "did you mean 'la_area'? Rename it (other unknown columns are allowed)")
    assert messages.plain_text(msg) == msg
    assert "characters)" in messages.plain_text(f"preset '{'x' * 3000}': unknown")


def test_solve_and_update_buttons_are_both_held_while_either_request_runs(client):
    """An update pressed while a solve's first response was still on its way was lost (the solve's
    answer replaced it): either request disables both buttons until its response arrives."""
    html = client.get("/").text
    assert html.count('hx-disabled-elt="#submit, #update-submit"') == 2


@pytest.mark.parametrize("url, files, words", [
    ("/api/solve?budjet=500", None, "query parameter 'budjet' is not read here: use draws, seed"),
    ("/api/solve?draw=100", None, "did you mean 'draws'?"),
    ("/api/solve?draws=100", {"catalogue": ("c.csv", b"x")}, "multipart field 'catalogue' is not read here: "
                                                             "did you mean 'catalog'?"),
    ("/api/update?todya=2026-11-04", {"season": ("s.csv", b"x")}, "did you mean the multipart field 'today'?"),
    ("/api/solve", {"draws": ("d", b"100")}, "multipart field 'draws' is not read here: did you mean the query "
                                             "parameter 'draws'?"),
    ("/api/update?draws=100", {"seasn": ("s.csv", b"x")}, "did you mean 'season'?"),
])
def test_the_api_refuses_names_it_does_not_read(client, url, files, words):
    """A misspelt query parameter or form field was ignored and the answer computed without it
    (budjet=500 answered at the profile's own budget, 200); it is refused in one line, naming
    the name it resembles, before any work is queued."""
    if files is None:
        r = client.post(url, content=FAST_PROFILE.encode())
    else:
        r = client.post(url, files={"profile": ("p.toml", FAST_PROFILE.encode()), **files})
    assert r.status_code == 422 and r.json()["exit_code"] == 2 and words in r.json()["error"], r.text


@pytest.mark.parametrize("url, files, words", [
    ("/api/solve?draws=10&draws=20", None, "query parameter 'draws' is given 2 times: give it once"),
    ("/api/solve", {"profile": 2}, "multipart field 'profile' is given 2 times: give it once"),
    ("/api/solve", {"catalog": 2}, "multipart field 'catalog' is given 2 times: give it once"),
    ("/api/update?seed=1&seed=1", {"season": 1}, "query parameter 'seed' is given 2 times: give it once"),
    ("/api/update", {"season": 1, "today": 3}, "multipart field 'today' is given 3 times: give it once"),
])
def test_the_api_refuses_a_name_given_twice(client, url, files, words):
    """A repeated query parameter or multipart field was read as its last value without a word
    (two profiles: the second solved); it is refused as an unknown name is, before any work."""
    parts = {"profile": ("p.toml", FAST_PROFILE.encode()), "catalog": ("c.csv", TINY.read_bytes()),
             "season": ("s.csv", b"program_id,status\n"), "today": (None, b"2026-11-04")}
    jobs_before = set(client.app.state.pool._jobs)
    if files is None:
        r = client.post(url, content=FAST_PROFILE.encode())
    else:
        sent = [("profile", parts["profile"])] * (files.get("profile", 1))
        sent += [(k, parts[k]) for k, n in files.items() if k != "profile" for _ in range(n)]
        r = client.post(url, files=sent)
    assert r.status_code == 422 and r.json() == {"error": words, "exit_code": 2}, r.text
    # no job started for it (an earlier test's job may still run on a loaded machine: pool.active read 1)
    assert set(client.app.state.pool._jobs) <= jobs_before


@pytest.mark.parametrize("preference", ["optimize", "none"])
def test_divisions_ticked_without_the_fixed_preference_are_refused(client, preference):
    """Ticked divisions were ignored unless the preference was 'fixed' (the list solved as if
    none were ticked); they are refused under both fields, and with 'fixed' they are the preference."""
    r = client.post("/solve", data=fast_form(geographic_preference=preference, divisions=["Pacific", "Mountain"]))
    assert r.status_code == 422
    for name in ("divisions", "geographic_preference"):
        err = re.search(rf'id="error-{name}">([^<]*)<', r.text).group(1)
        assert err == (f"Fixed divisions = &#39;Pacific, Mountain&#39;: ticked while "
                       f"“Geographic preference” is &#39;{preference}&#39;; tick divisions only with Geographic "
                       "preference: fixed (choose fixed to apply in them alone, or untick them)")
    r = client.post("/profile.toml", data=fast_form(geographic_preference=preference, divisions=["Pacific"]))
    assert r.status_code == 422 and "tick divisions only with Geographic preference: fixed" in \
        re.search(r'id="error-divisions">([^<]*)<', r.text).group(1)  # the page, as for a refused solve
    doc = forms.doc_from_values(fast_form(geographic_preference="fixed", divisions=["Pacific"]))
    assert doc["strategy"]["geographic_preference"] == ["Pacific"]
    assert forms.doc_from_values(fast_form(geographic_preference=preference))["strategy"][
        "geographic_preference"] == preference


def errors_on(html: str) -> dict[str, str]:
    return dict(re.findall(r'id="error-([a-z_0-9]+)">([^<]*)<', html))


def test_every_field_error_is_said_at_once(client):
    """One submit with three bad fields flagged only the first; now each is under its field
    (what the form could read, what the loader refuses, and the run options), the first focused."""
    r = client.post("/solve", data=fast_form(budget="abc", max_applications="xyz", la_share_max="7",
                                             time_limit="0"))
    assert r.status_code == 422
    errs = errors_on(r.text)
    assert set(errs) == {"budget", "max_applications", "la_share_max", "time_limit"}
    assert errs["budget"] == ("Budget = &#39;abc&#39;: must be a number, digits only (no commas, spaces or "
                              "units), e.g. 2500")
    assert errs["max_applications"].endswith("must be a whole number, digits only (no commas, spaces or units), "
                                             "e.g. 80")
    assert errs["la_share_max"] == "Largest share of LA programs = 7.0: must be &lt;= 1.0; change it (a share between 0 and 1: for 7%, write 0.07)"
    assert re.search(r'id="in-budget"[^>]*autofocus', r.text) and r.text.count(" autofocus") == 1
    # a limit between two fields is said once the fields are numbers; a field put in place is not blamed
    errs = errors_on(client.post("/solve", data=fast_form(usce_months="abc", usce_california_months="9",
                                                          min_applications="80", max_applications="20")).text)
    assert set(errs) == {"usce_months", "min_applications", "max_applications"}
    assert "Fewest applications (80) exceeds “Most applications” (20)" in errs["min_applications"]
    errs = errors_on(client.post("/solve", data=fast_form(budget="", step2_score="", specialties=None)).text)
    assert set(errs) == {"budget", "step2_score", "specialties"}
    with pytest.raises(forms.FormErrors) as e:  # one line as text: the first, as a caller showing one expects
        forms.profile_from_values(fast_form(budget="abc", la_share_max="7"))
    assert str(e.value) == str(e.value.errors[0]) and len(e.value.errors) == 2


def test_field_errors_use_the_form_labels_not_the_profile_keys(client):
    """The page said "profile form: [strategy] budget = -5.0: ..." under a field labelled Budget:
    the profile file's section and key, which the applicant never sees.  Each field's error now
    names the field by its label on the form (another field it names, quoted), under the field
    and tied to it; the JSON API, whose callers send a profile, keeps the keys (docs/web.md)."""
    r = client.post("/solve", data=fast_form(budget="-5", min_applications="80", max_applications="20",
                                             usce_california_months="9", time_limit="0"))
    assert r.status_code == 422
    errs = errors_on(r.text)
    assert errs["budget"] == "Budget = -5.0: must be &gt;= 0.0; change it"
    assert errs["min_applications"] == errs["max_applications"] == (
        "Fewest applications (80) exceeds “Most applications” (20); lower one or raise the other")
    assert errs["usce_california_months"] == "“of which in California” cannot exceed “US clinical experience”"
    assert errs["time_limit"] == "Time limit = &#39;0&#39;: give seconds between 1 and 120"
    for text in errs.values():
        assert "[strategy]" not in text and "[applicant]" not in text and "profile form" not in text
        assert not re.search(r"\b(min|max)_applications|usce_\w+|time_limit", text)
    tag = re.search(r'<input id="in-budget"[^>]*>', r.text).group(0)  # tied to its field, as before
    assert 'aria-describedby="unit-budget help-budget error-budget"' in tag and 'aria-invalid="true"' in tag
    r = client.post("/update", data=fast_form(today="2026-13-01", add_budget="x"), files={"season_file": ("", b"")})
    errs = errors_on(r.text)
    assert errs["today"].startswith("Date of the update = &#39;2026-13-01&#39;: no such day")
    assert errs["add_budget"].startswith("Extra budget for more applications = &#39;x&#39;: must be a number")
    # every field by its label; a key without an underscore is a word of the sentence unless bracketed
    for f in forms.fields() + seasonform.SEASON_FIELDS:
        key = f.name if f.section == "season" else f"[{f.section}] {f.name}"  # as forms and the loader say them
        where = seasonform.SEASON_WHERE if f.section == "season" else forms.WHERE
        assert formstate.form_words(f"{where}: {key} = 'x': bad") == f"{f.label} = 'x': bad"
    assert formstate.form_words("no list: raise [strategy] budget; give your budget in USD") == (
        "no list: raise “Budget”; give your budget in USD")
    r = client.post(f"/api/solve?draws={DRAWS}", content=FAST_PROFILE.replace("budget = 1200", "budget = -5").encode())
    assert r.status_code == 422 and r.json()["error"] == "profile: [strategy] budget = -5: must be >= 0.0; change it"


def test_no_eras_fees_are_said_in_words(client, answer, tmp_path, capsys):
    """season = "none" read "$0 of $1,200 (none ERAS schedule)"; it says there are no ERAS fees,
    on the page and in the command's report."""
    r = client.post("/solve", data=fast_form(season="none"))
    assert r.status_code == 200 and "none ERAS" not in r.text
    assert '<small id="fee-schedule">(no ERAS fees: your own costs)</small>' in r.text
    assert '<small id="fee-schedule">(2026 ERAS schedule)</small>' in answer[1]
    p = tmp_path / "none.toml"
    p.write_text(FAST_PROFILE.replace('season = "2026"', 'season = "none"'))
    with pytest.raises(SystemExit) as e:
        main(["solve", str(p), "--draws", "0"])
    out = capsys.readouterr().out
    assert e.value.code == 0
    assert "fees (no ERAS fees: your own costs)" in out and "ERAS fees none" not in out


def test_the_catalog_field_states_the_required_columns_and_names_the_right_doc(client):
    """The upload's help lists the columns the loader requires (a pip-installed user may have no
    docs/ folder) and names the document that describes them, docs/formats.md, not docs/web.md."""
    from allocator.inputs.catalog import REQUIRED

    help_text = re.search(r'<small id="help-catalog">(.*?)</small>', client.get("/").text, re.S).group(1)
    listed = re.search(r"with the columns (.*?) \(2 letters\)", help_text).group(1)
    assert re.split(r", | and ", listed) == list(REQUIRED)
    assert "docs/formats.md" in help_text and "Catalog CSV" in help_text and "docs/web.md" not in help_text


def test_the_la_frontier_has_points_for_an_applicant_whose_best_is_below_half():
    """The page's frontier took P(any match) floors of 50% to 95%: an applicant whose best is
    below 50% got an empty figure.  It is now the margins below the best, as the bare CLI
    --frontier: the safest list, then one row per margin, each within its margin of the best."""
    from allocator.optim.assemble import load_problem
    from allocator.studies.frontier import MARGINS
    from allocator.web import service

    problem = load_problem(ROOT / "data" / "profiles" / "tiny_demo.toml", TINY, max_applications=3)
    png, rows, _ = service.la_frontier(problem)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    safest = [r for r in rows if r["kind"] == "safest"]
    points = [r for r in rows if r["kind"] == "frontier"]
    assert len(safest) == 1 and safest[0]["p_match"] < 0.5 and len(points) == len(MARGINS)
    best = safest[0]["p_match"]
    for r in points:
        assert r["p_match"] is not None and r["p_match"] >= best - max(r["margin"], 1e-6) - 1e-9
    assert not any(r["kind"] == "chosen" for r in rows)


def test_the_range_leads_and_its_warnings_follow_it_before_the_facts(client):
    """On a phone the notices above the headline pushed the P(match) range off the first screen:
    the range comes first, its warnings (each marked "Warning:") right under it, then the facts,
    then the solver's notes."""
    r = client.post("/solve", data=fast_form(step2_score="214"))
    assert r.status_code == 200, r.text[-300:]
    html = r.text
    first_warning = html.index("<strong>Warning:</strong> Step 2 CK 214")
    assert html.index('id="p-match-range"') < first_warning < html.index('id="p-match-la"')
    assert html.index('id="answer-heading"') < html.index('id="p-match-range"')


def test_the_page_gives_the_warnings_in_the_jsons_order_which_is_every_surfaces(client):
    """The strong preset (with the page's longest limit, 120 s, the command line's answer: an empty
    limit is the default 20 s, which a loaded machine can reach first): the page lists its warnings in
    its JSON's order, the one the command line and batch give (verification.warnorder: the cap
    warning, which makes the figure to plan on an upper estimate, before the extrapolation one;
    the JSON used to give the reverse)."""
    from allocator.verification.warnorder import unsafe_first

    v = forms.preset_values("strong_la_ties") | {"time_limit": "120"}
    r = client.post("/solve", data={k: ("on" if x is True else x) for k, x in v.items() if x is not False})
    assert r.status_code == 200, r.text[-500:]
    aid = re.search(r'/answer/([A-Za-z0-9_-]+)/list\.csv', r.text).group(1)
    w = json.loads(client.get(f"/answer/{aid}/answer.json").content)["warnings"]
    assert len(w) == 2 and "85% IMGs or more" in w[0] and w == unsafe_first(w)
    shown = re.findall(r"<strong>Warning:</strong> (.*?)</p>", r.text, re.S)
    assert [html_lib.unescape(s)[:80] for s in shown] == [x[:80] for x in w]


def test_the_list_download_is_the_file_solve_out_csv_writes(client, tmp_path, capsys):
    """Review 22: the web's list CSV had no division column and no per-program range, which the
    page's own table shows and `solve --out list.csv` writes.  Now one writer makes both: the same
    bytes for the typical preset as for its profile on the command line (with the page's longest
    limit, 120 s: an empty limit is the default 20 s, which the settled steps can reach on a loaded
    machine and stop at another list; seen once, with another test suite running beside this one)."""
    v = forms.preset_values("typical_us_img") | {"time_limit": "120"}
    r = client.post("/solve", data={k: ("on" if x is True else x) for k, x in v.items() if x is not False})
    assert r.status_code == 200, r.text[-500:]
    aid = re.search(r'/answer/([A-Za-z0-9_-]+)/list\.csv', r.text).group(1)
    web = client.get(f"/answer/{aid}/list.csv").text
    out = tmp_path / "list.csv"
    with pytest.raises(SystemExit) as e:
        main(["solve", str(ROOT / "data" / "profiles" / "typical_us_img.toml"), "--draws", "0", "--out", str(out)])
    capsys.readouterr()
    assert e.value.code == 0 and web == out.read_text()
    lines = web.splitlines()
    assert lines[0].startswith("# SYNTHETIC") and lines[1].startswith("# geographic_preference: ")
    assert lines[2] == ("program_id,signal,status,date,name,specialty,city,state,la_area,tier,p_match,division,"
                        "p_match_p10,p_match_p90")
