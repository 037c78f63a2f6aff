"""The web app's answers to hostile or odd requests: every one a result, a one-line error
naming the field (4xx) or "busy", never an internal error."""
from __future__ import annotations

import re

import pytest

pytest.importorskip("fastapi", reason="the web extra is not installed: pip install -e '.[web]'")
from fastapi.testclient import TestClient  # noqa: E402

from allocator.web import forms  # noqa: E402
from allocator.web.app import create_app  # noqa: E402
from tests.web_support import FAST_PROFILE, TINY, fast_form, settings  # noqa: E402


@pytest.fixture(scope="module")
def client():
    with TestClient(create_app(settings())) as c:
        yield c


@pytest.mark.parametrize("text", ["a\x07b", "\x7f", "\x1b[31m", 'q"\\\r\n\tz', "\x00"])
def test_control_characters_round_trip_through_the_profile_toml(text):
    """TOML basic strings cannot hold raw control characters: they are written escaped and
    read back as typed."""
    import tomllib

    assert tomllib.loads(f"x = {forms._toml_value(text)}\n")["x"] == text


def test_a_control_character_in_a_text_field_is_a_field_error_or_written_escaped(client):
    """Was a 500 (TOML written unescaped).  The solve names the field; the profile download holds
    the id escaped, and reads back as typed."""
    import tomllib

    r = client.post("/solve", data=fast_form(never_apply="IM-0001\x07"))
    assert r.status_code == 422 and "never_apply" in r.text and "internal error" not in r.text
    r = client.post("/profile.toml", data=fast_form(never_apply="IM-0001\x07"))
    assert r.status_code == 200 and "\\u0007" in r.text
    assert tomllib.loads(r.text)["strategy"]["never_apply"] == ["IM-0001\x07"]


def test_a_specialty_limit_thousands_of_digits_long_is_a_field_error(client):
    r = client.post("/solve", data=fast_form(specialty_limits="Internal Medicine: " + "9" * 5000 + "-"))
    assert r.status_code == 422 and "at most 6 digits" in r.text and "internal error" not in r.text


# --- request bodies: read into memory under a cap, nothing on disk, one-line refusals -------------

LIMIT_SOLVE = forms.MAX_PROFILE_BYTES + forms.MAX_UPLOAD_BYTES + 64_000


def asgi_post(app, path: str, ctype: str, chunks, disconnect_after: int | None = None):
    """POST ``chunks`` to the app as a body without a Content-Length (chunked), straight through
    ASGI: (status, body, chunks the app read).  With ``disconnect_after``, the client hangs up
    after that many chunks.  An exception escaping the app fails the test."""
    import asyncio

    chunks, sent, out = list(chunks), [0], {"status": None, "body": b""}

    async def receive():
        if disconnect_after is not None and sent[0] >= disconnect_after:
            return {"type": "http.disconnect"}
        sent[0] += 1
        return {"type": "http.request", "body": chunks[sent[0] - 1], "more_body": sent[0] < len(chunks)}

    async def send(message):
        if message["type"] == "http.response.start":
            out["status"] = message["status"]
        elif message["type"] == "http.response.body":
            out["body"] += message.get("body", b"")

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
             "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
             "headers": [(b"content-type", ctype.encode()), (b"host", b"test")], "client": ("127.0.0.1", 1),
             "server": ("test", 80)}
    asyncio.run(app(scope, receive, send))
    return out["status"], out["body"].decode(), sent[0]


@pytest.mark.parametrize("path,ctype", [("/api/solve", "application/toml"),
                                        ("/api/update", "multipart/form-data; boundary=zz"),
                                        ("/solve", "application/x-www-form-urlencoded"),
                                        ("/update", "multipart/form-data; boundary=zz")])
def test_a_chunked_body_is_refused_as_soon_as_it_passes_the_cap(path, ctype):
    """No Content-Length: the body is read only until it passes the cap (here 1 MB chunks of
    100 MB: at most the largest cap's 8.1 MB and one chunk more), then 413."""
    status, text, read = asgi_post(create_app(settings()), path, ctype, [b"#" * 1_000_000] * 100)
    assert status == 413 and "request body of more than" in text and "bytes is over the limit (" in text
    assert read <= 9


@pytest.mark.parametrize("path", ["/solve", "/update", "/enter", "/profile.toml"])
def test_a_page_post_declaring_too_large_a_body_is_refused_unread(client, path):
    r = client.post(path, content=b"budget=1", headers={"content-type": "application/x-www-form-urlencoded",
                                                          "content-length": "999999999"})
    assert r.status_code == 413 and "request body of 999,999,999 bytes is over the" in r.text
    assert "catalog file" in r.text and "internal error" not in r.text


def test_a_large_file_part_stays_in_memory(client, monkeypatch):
    """starlette spools a file part over 1 MB to a temporary file; ours keeps it in memory."""
    from tempfile import SpooledTemporaryFile

    rolled = []
    monkeypatch.setattr(SpooledTemporaryFile, "rollover", lambda self: rolled.append(self._max_size))
    big = TINY.read_bytes() + b"x," * 750_000  # a row of far too many fields (one of only commas is skipped)
    r = client.post("/api/solve", files={"profile": ("p.toml", FAST_PROFILE.encode()), "catalog": ("big.csv", big)})
    assert rolled == [] and r.status_code == 422 and r.json()["error"].startswith("big.csv: ")
    r = client.post("/solve", data=fast_form(), files={"catalog": ("big.csv", big)})
    assert rolled == [] and r.status_code == 422 and "big.csv: " in r.text


def test_a_catalog_text_field_over_the_limit_is_named_with_the_upload_limit(client):
    """Not starlette's nameless 'Part exceeded maximum size of 1024KB' (400)."""
    big = TINY.read_text() + "#" * 2_100_000
    r = client.post("/api/solve", data={"catalog": big},
                    files={"profile": ("p.toml", FAST_PROFILE.encode())})  # a file part forces multipart
    assert r.status_code == 413 and r.json()["error"].startswith("catalog.csv: the file is over the 2 MB upload")


@pytest.mark.parametrize("path", ["/solve", "/update", "/enter"])
def test_an_over_limit_catalog_upload_on_the_page_is_413_under_the_field(client, path):
    """A file up to twice the limit is read: its own message under its field, the form's values kept."""
    big = TINY.read_bytes() + b"#" * 3_900_000
    r = client.post(path, data=fast_form(budget="1234"), files={"catalog": ("big.csv", big)})
    assert r.status_code == 413 and 'id="error-catalog">big.csv: the file is over the 2 MB upload limit' in r.text
    assert 'value="1234"' in r.text


BAD_MULTIPART = dict(content=b"--other\r\nContent-Disposition: form-data; name=\"profile\"\r\n\r\nx\r\n--other--\r\n",
                     headers={"content-type": "multipart/form-data; boundary=zz"})


@pytest.mark.parametrize("path", ["/api/solve", "/api/update"])
def test_malformed_multipart_is_a_one_line_400_in_json(client, path):
    r = client.post(path, **BAD_MULTIPART)
    assert r.status_code == 400 and r.json()["exit_code"] == 2
    assert r.json()["error"].startswith("request body: not valid multipart form data; send the fields as")
    assert "\n" not in r.json()["error"]


@pytest.mark.parametrize("path", ["/solve", "/update", "/enter", "/profile.toml"])
def test_malformed_multipart_on_a_page_is_one_plain_line(client, path):
    r = client.post(path, **BAD_MULTIPART)
    assert r.status_code == 400 and r.headers["content-type"].startswith("text/plain")
    assert r.text.startswith("request body: not valid multipart form data;") and "\n" not in r.text.strip()


def test_a_missing_boundary_is_said(client):
    r = client.post("/api/solve", content=b"x", headers={"content-type": "multipart/form-data"})
    assert r.status_code == 400 and "(Missing boundary in multipart)" in r.json()["error"]


@pytest.mark.parametrize("path,ctype", [("/api/solve", "application/toml"),
                                        ("/api/update", "multipart/form-data; boundary=zz"),
                                        ("/solve", "application/x-www-form-urlencoded")])
def test_a_client_gone_mid_upload_gets_a_short_4xx_and_no_traceback(path, ctype, caplog):
    """ClientDisconnect is not an internal error: a short 400 (nobody reads it), nothing logged."""
    status, text, _ = asgi_post(create_app(settings()), path, ctype, [b"budget=1"] * 3, disconnect_after=1)
    assert (status, text) == (400, "client disconnected")
    assert not [r for r in caplog.records if r.levelname == "ERROR"]


# --- API requests whose client has gone are cancelled --------------------------------------------

class _Client:
    """A stand-in for the request of an API client that is still there or has gone."""

    def __init__(self, pool, gone: bool):
        from types import SimpleNamespace

        self.app, self.gone = SimpleNamespace(state=SimpleNamespace(pool=pool)), gone

    async def is_disconnected(self) -> bool:
        return self.gone


def test_an_api_request_whose_client_left_frees_its_queue_place():
    import asyncio
    import json
    import threading

    from allocator.web import jsonapi
    from allocator.web.jobs import JobPool

    pool, release, ran = JobPool(workers=1, queue=1, max_wait=60), threading.Event(), []
    pool.submit("api", lambda j: release.wait(30))  # holds the only worker
    try:
        r = asyncio.run(jsonapi.run_job(_Client(pool, gone=True), "api", lambda j: ran.append(j)))
        assert r.status_code == 400 and json.loads(r.body) == jsonapi.GONE
        assert pool.active == 1 and ran == []  # dropped while it waited: never run, its place free
        pool.submit("api", lambda j: None)  # the freed place takes a new request (no Busy)
    finally:
        release.set()
        pool.shutdown()


def test_a_running_api_job_whose_client_left_is_cancelled():
    import asyncio
    import threading

    from allocator.web import jsonapi
    from allocator.web.jobs import JobPool

    pool, started, release = JobPool(workers=1, queue=0), threading.Event(), threading.Event()
    job = pool.submit("api", lambda j: (started.set(), release.wait(30)))
    try:
        assert started.wait(30)
        assert asyncio.run(jsonapi.finished(pool, job, _Client(pool, gone=True))) is False
        assert job.cancelled and job.stopping and pool.stopping() == 1
    finally:
        release.set()
        pool.shutdown()


def test_an_api_job_whose_client_stays_is_awaited():
    import asyncio

    from allocator.web import jsonapi
    from allocator.web.jobs import JobPool

    pool = JobPool(workers=1, queue=0)
    job = pool.submit("api", lambda j: 42)
    assert asyncio.run(jsonapi.finished(pool, job, _Client(pool, gone=False))) is True
    assert job.result == 42 and not job.cancelled
    pool.shutdown()


# --- the page's and the API's status for errors found on the worker --------------------------------

@pytest.mark.parametrize("changes,words", [
    ({"must_apply": "XX-1"}, "XX-1"),
    ({"specialty_limits": "Neurology: 1-2"}, "Neurology"),
    ({"budget": "5"}, "budget"),
])
@pytest.mark.parametrize("htmx", [False, True])
def test_an_input_error_found_by_the_solve_is_422_on_the_page(client, changes, words, htmx):
    r = client.post("/solve", data=fast_form(**changes), headers={"HX-Request": "true"} if htmx else {})
    assert r.status_code == 422 and words in r.text and "internal error" not in r.text
    api = client.post("/api/solve", files={"profile": ("p.toml", _toml_of(client, fast_form(**changes)))})
    assert api.status_code == 422 and api.json()["exit_code"] in (2, 3)


def _toml_of(client, values: dict) -> bytes:
    """The profile TOML the page makes of these form values."""
    r = client.post("/profile.toml", data=values)
    assert r.status_code == 200, r.text
    return r.content


@pytest.mark.parametrize("path", ["/api/solve", "/solve"])
def test_no_list_within_the_time_limit_is_422_with_exit_code_4(client, monkeypatch, path):
    from allocator.errors import TimeLimitError
    from allocator.web import service

    def slow(*a, **k):
        raise TimeLimitError("no list found within the time limit (1.0s): raise --time-limit")

    monkeypatch.setattr(service, "solve_result", slow)
    if path == "/api/solve":
        r = client.post(path, content=FAST_PROFILE.encode())
        assert r.status_code == 422 and r.json()["exit_code"] == 4
        assert r.json()["error"].startswith("no list found within the time limit (1.0s)")
    else:
        r = client.post(path, data=fast_form(time_limit="1"))
        assert r.status_code == 422 and "no list found within the time limit" in r.text


# --- small ones ------------------------------------------------------------------------------------

def test_a_long_unknown_preset_is_shown_cut(client):
    r = client.get("/?preset=" + "x" * 3000)
    assert r.status_code == 200 and f"preset &#39;{'x' * 40}&#39;... (3,000 characters): unknown" in r.text
    assert "x" * 41 not in r.text


@pytest.mark.parametrize("name", ["today", "add_budget", "max_add"])
def test_a_season_option_sent_as_a_file_is_refused_not_ignored(client, name):
    from tests.web_support import ROOT

    season = (ROOT / "data" / "seasons" / "example_80.csv").read_bytes()
    r = client.post("/api/update", files={"profile": ("p.toml", FAST_PROFILE.encode()), "season": ("s.csv", season),
                                          name: ("x.txt", b"2026-11-04")})
    assert r.status_code == 422 and r.json() == {
        "error": f"multipart request: '{name}' was sent as a file; send it as a plain text field", "exit_code": 2}


def test_a_multipart_body_cut_before_its_closing_boundary_is_refused(client):
    """The parser drops an unfinished last part without a word: a catalog cut off in transit would
    have become the demo catalog (a 200 with the demo's numbers)."""
    whole = (b"--zz\r\nContent-Disposition: form-data; name=\"profile\"\r\n\r\n" + FAST_PROFILE.encode()
             + b"\r\n--zz\r\nContent-Disposition: form-data; name=\"catalog\"; filename=\"c.csv\"\r\n\r\n"
             + open(TINY, "rb").read() + b"\r\n--zz--\r\n")
    headers = {"content-type": "multipart/form-data; boundary=zz"}
    assert client.post("/api/solve?draws=0", content=whole, headers=headers).status_code == 200
    for cut in (whole[:-8], whole[: len(whole) // 2]):
        r = client.post("/api/solve?draws=0", content=cut, headers=headers)
        assert r.status_code == 400 and "before its closing boundary" in r.json()["error"]


@pytest.mark.parametrize("ctype", ["application/json", "text/plain", None])
def test_a_page_post_that_is_not_a_form_is_said(client, ctype):
    r = client.post("/solve", content=b'{"budget": 1}', headers={"content-type": ctype} if ctype else {})
    assert r.status_code == 400 and "is not a form" in r.text and "specialties" not in r.text


def test_an_error_that_arrives_after_the_pages_wait_is_422_when_polled(monkeypatch):
    """POST /solve shows progress (200) when the solve outlasts the page's wait; the poll that
    finds the error answers 422, as /solve does when the error comes at once."""
    import threading

    from allocator.errors import TimeLimitError
    from allocator.web import service

    gate = threading.Event()

    def late(*a, **k):
        gate.wait(20)
        raise TimeLimitError("no list found within the time limit (1.0s): raise the time limit")

    monkeypatch.setattr(service, "solve_result", late)
    with TestClient(create_app(settings(wait=0.1))) as c:
        r = c.post("/solve", data=fast_form(), headers={"HX-Request": "true"})
        assert r.status_code == 200
        job = re.search(r"/jobs/([A-Za-z0-9_-]+)", r.text).group(1)
        gate.set()
        c.app.state.pool.get(job).future.result(timeout=20)
        for htmx in (True, False):
            p = c.get(f"/jobs/{job}", headers={"HX-Request": "true"} if htmx else {})
            assert p.status_code == 422 and "no list found within the time limit" in p.text


@pytest.mark.parametrize("path", ["/api/solve", "/solve"])
def test_a_solver_failure_is_a_500_with_its_one_line_and_exit_code_4(client, monkeypatch, path):
    """A solver failure is a bug, not the request's fault: 500, its message and exit code 4 (a
    time limit with no list is the request's: 422, above)."""
    from allocator.errors import SolverError
    from allocator.web import service

    def broken(*a, **k):
        raise SolverError("the highs engine returned a list that breaks budget (a bug; please report)")

    monkeypatch.setattr(service, "solve_result", broken)
    if path == "/api/solve":
        r = client.post(path, content=FAST_PROFILE.encode())
        assert r.status_code == 500 and r.json()["exit_code"] == 4 and "(a bug; please report)" in r.json()["error"]
    else:
        r = client.post(path, data=fast_form())
        assert r.status_code == 500 and "(a bug; please report)" in r.text and "internal error" not in r.text


@pytest.mark.parametrize("path", ["/solve", "/update", "/enter", "/profile.toml"])
def test_a_form_field_posted_twice_is_refused_as_the_api_refuses_it(client, path):
    """budget=1&budget=2 was read as the last one, without a word; the JSON API refuses it.  The
    ticked specialties and divisions are lists and may repeat."""
    form = fast_form()
    form["budget"] = ["1", "2"]
    r = client.post(path, data=form)
    assert r.status_code == 422, r.text
    msg = "form field 'budget' is given 2 times: give it once"
    assert re.search(r'id="form-error"[^>]*>([^<]*)<', r.text).group(1) == msg.replace("'", "&#39;")
    r = client.post("/profile.toml", data=fast_form(specialties=["Internal Medicine", "Pediatrics"]))
    assert r.status_code == 200 and 'specialties = ["Internal Medicine", "Pediatrics"]' in r.text
    r = client.post("/profile.toml", data=fast_form(specialties=["Internal Medicine", "Internal Medicine"]))
    assert r.status_code == 422 and r.text.startswith("<!doctype html>") and (
        "Specialties = [&#39;Internal Medicine&#39;, &#39;Internal Medicine&#39;]: &#39;Internal Medicine&#39; "
        "is listed twice; list each specialty once") in r.text
