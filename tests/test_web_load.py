"""Load: uvicorn on 127.0.0.1 (free port) gets 20 concurrent solves and 50 concurrent page loads.

Every request is answered (a result, or "busy, retry" with HTTP 503), none is lost or hangs
(each has a client timeout), and afterwards the server still answers.  Bounded: 70 requests,
then it stops.
"""
from __future__ import annotations

import json
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest

pytest.importorskip("fastapi", reason="the web extra is not installed: pip install -e '.[web]'")
pytest.importorskip("uvicorn", reason="the web extra is not installed: pip install -e '.[web]'")

from tests.web_support import DRAWS, FAST_PROFILE, server  # noqa: E402

TIMEOUT = 120  # seconds per request; far above a solve (a hang fails the test instead of the suite)


def _call(req: urllib.request.Request) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(req, timeout=TIMEOUT) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def test_concurrent_solves_and_pages():
    with server(workers=2, queue=4) as (url, proc):
        solve = [urllib.request.Request(f"{url}/api/solve?draws={DRAWS}", data=FAST_PROFILE.encode(),
                                        headers={"content-type": "application/toml"}, method="POST")
                 for _ in range(20)]
        pages = [urllib.request.Request(f"{url}/") for _ in range(50)]
        with ThreadPoolExecutor(max_workers=70) as ex:
            results = list(ex.map(_call, solve + pages))
        assert len(results) == 70
        solved = [json.loads(b) for s, b in results[:20] if s == 200]
        busy = [json.loads(b) for s, b in results[:20] if s == 503]
        assert len(solved) + len(busy) == 20, [s for s, _ in results[:20]]
        assert len(solved) >= 6  # two workers and four waiting places are always served
        assert all(b["retry"] is True and b["error"].startswith("busy:") for b in busy)
        ps = {d["p_match"] for d in solved}
        assert len(ps) == 1 and 0 < ps.pop() < 1  # concurrent solves give the same answer
        assert all(s == 200 and b"profile-form" in b for s, b in results[20:])
        assert proc.poll() is None
        s, b = _call(urllib.request.Request(f"{url}/api/health"))
        assert s == 200 and json.loads(b)["active"] == 0
