"""Shared by the web tests: a fast demo profile, the app settings, a uvicorn server on a free port."""
from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TINY = ROOT / "data" / "catalogs" / "tiny_p_match.csv"
DRAWS = 20_000

# The guide's strong applicant on the SYNTHETIC IM demo catalog with signals and the geographic
# preference off: the exact count scan answers in well under a second (tests stay fast).
FAST_PROFILE = """\
[applicant]
specialties = ["Internal Medicine"]
step2_score = 245
exam_attempts = 0
usce_months = 6
usce_california_months = 4
la_ties = true
years_since_graduation = 1

[strategy]
budget = 1200
season = "2026"
max_applications = 60
la_share_max = 0.30
signals = "none"
geographic_preference = "none"
objective = "p_match"
"""


def settings(**kw):
    from allocator.web.app import Settings

    return Settings(**({"draws": DRAWS, "wait": 30.0, "time_limit": 20.0} | kw))


def fast_form(**changes) -> dict:
    """Form fields of FAST_PROFILE as the page posts them."""
    v = {"specialties": ["Internal Medicine"], "step2_score": "245", "exam_attempts": "0", "usce_months": "6",
         "usce_california_months": "4", "la_ties": "on", "years_since_graduation": "1", "budget": "1200",
         "season": "2026", "max_applications": "60", "min_applications": "0", "la_share_max": "0.3",
         "correlation": "", "objective": "p_match", "target_p_match": "", "signals": "none",
         "geographic_preference": "none", "max_divisions": "3", "utility_la": "1.0", "utility_west": "0.8",
         "utility_elsewhere": "0.6", "specialty_limits": "", "must_apply": "", "never_apply": "",
         "mode": "best", "time_limit": "20"}
    v.update(changes)
    return {k: x for k, x in v.items() if x is not None}


def chromium() -> str | None:
    """The Debian chromium binary, or skip (fail when ALLOCATOR_REQUIRE_BROWSER=1)."""
    exe = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
    if exe is None:
        msg = "chromium is not installed (apt-get install chromium); the real-browser tests need it"
        if os.environ.get("ALLOCATOR_REQUIRE_BROWSER") == "1":
            pytest.fail(msg + " and ALLOCATOR_REQUIRE_BROWSER=1")
        pytest.skip(msg)
    return exe


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


SERVER = """
import sys, uvicorn
from allocator.web.app import Settings, create_app
app = create_app(Settings(draws={draws}, workers={workers}, queue={queue}, time_limit=20.0, wait={wait}))
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), access_log=False, log_level="warning")
"""


@contextlib.contextmanager
def server(workers: int = 2, queue: int = 4, wait: float = 2.5):
    """uvicorn serving the app on 127.0.0.1 at a free port (a child process, stopped on exit)."""
    port = free_port()
    code = SERVER.format(draws=DRAWS, workers=workers, queue=queue, wait=wait)
    proc = subprocess.Popen([sys.executable, "-c", code, str(port)], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            if proc.poll() is not None:
                raise RuntimeError(f"server exited: {proc.stderr.read().decode()[-400:]}")
            try:
                urllib.request.urlopen(url + "/api/health", timeout=1).read()
                break
            except OSError:
                time.sleep(0.05)
        else:
            raise RuntimeError("server did not start in 15 s")
        yield url, proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
