"""The web page's speed and weight: `allocator serve` start-up, the first answer page after submit,
page weight without the plots, and the server's memory after a load of 20 solves + 50 page loads.

    python benchmarks/web_speed.py [--repeat 3]

Starts `allocator serve` on 127.0.0.1 at a free port (a child process, stopped at the end), posts
the typical profile's form as the page does (shipped settings: signals and divisions optimized,
200,000 Monte Carlo draws), and polls the progress fragment until the answer is there, as htmx does.
Prints a table; asserts nothing.  Targets (issue 16): answer <= 3 s, page < 300 KB, memory < 400 MB.
"""
from __future__ import annotations

import argparse
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from allocator.web.forms import preset_values  # noqa: E402

from bytecode import compiled  # benchmarks/bytecode.py: time the bytecode an install runs


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str, data: bytes | None = None, headers: dict | None = None) -> tuple[int, bytes]:
    req = urllib.request.Request(url, data=data, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=180) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def _form(values: dict) -> bytes:
    pairs = []
    for k, v in values.items():
        if isinstance(v, bool):
            if v:
                pairs.append((k, "on"))
        elif isinstance(v, list):
            pairs += [(k, x) for x in v]
        else:
            pairs.append((k, v))
    return urllib.parse.urlencode(pairs).encode()


def answer_seconds(url: str, values: dict) -> tuple[float, int, str]:
    """Seconds from submit to the answer fragment (polling as the page does), its bytes, its status."""
    hx = {"HX-Request": "true", "content-type": "application/x-www-form-urlencoded"}
    t0 = time.perf_counter()
    status, body = _get(url + "/solve", _form(values), hx)
    html = body.decode()
    while 'id="p-match"' not in html:
        m = re.search(r'hx-get="/jobs/([A-Za-z0-9_-]+)"', html)
        if m is None:
            return time.perf_counter() - t0, len(body), f"no answer (HTTP {status})"
        time.sleep(0.5)
        status, body = _get(f"{url}/jobs/{m.group(1)}", headers={"HX-Request": "true"})
        html = body.decode()
    return time.perf_counter() - t0, len(body), "answer"


def rss_mb(pid: int) -> tuple[float, float]:
    text = Path(f"/proc/{pid}/status").read_text()
    get = lambda k: float(re.search(rf"{k}:\s+(\d+) kB", text).group(1)) / 1024  # noqa: E731
    return get("VmRSS"), get("VmHWM")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    compiled(ROOT)
    port = _port()
    url = f"http://127.0.0.1:{port}"
    t0 = time.perf_counter()
    exe = Path(sys.executable).with_name("allocator")  # the console script of this environment
    proc = subprocess.Popen([str(exe), "serve", "--port", str(port)], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    rows = []
    try:
        while True:
            try:
                _get(url + "/api/health")
                break
            except OSError:
                if proc.poll() is not None:
                    raise SystemExit(f"allocator serve exited: {proc.stderr.read().decode()[-300:]}")
                time.sleep(0.02)
        rows.append(("`allocator serve` ready (first /api/health answered)", f"{time.perf_counter() - t0:.2f} s"))
        typical = preset_values("typical_us_img")
        fast = typical | {"signals": "none", "geographic_preference": "none"}
        for label, vals in (("typical profile as shipped (signals + divisions)", typical),
                            ("typical profile, signals and divisions off (count scan)", fast)):
            secs = []
            for _ in range(args.repeat):
                s, size, what = answer_seconds(url, vals)
                secs.append(s)
            rows.append((f"first answer page: {label}, {args.repeat} runs", ", ".join(f"{x:.2f}" for x in secs)
                         + f" s ({what}, fragment {size / 1024:.0f} KB)"))
        import allocator

        t2 = time.perf_counter()
        allocator.solve(ROOT / "data" / "profiles" / "typical_us_img.toml")
        rows.append(("for comparison: allocator.solve(typical profile) in this process, no web",
                     f"{time.perf_counter() - t2:.2f} s"))
        weight = {}
        for path in ("/", "/static/style.css", "/static/htmx.min.js"):
            weight[path] = len(_get(url + path)[1])
        hx = {"content-type": "application/x-www-form-urlencoded"}
        _, full = _get(url + "/solve", _form(fast), hx)  # the whole answer page, as without htmx
        weight["answer page (POST /solve, full HTML)"] = len(full)
        total = weight["/static/style.css"] + weight["/static/htmx.min.js"] + max(weight["/"], len(full))
        rows.append(("page weight without plots: answer HTML + CSS + htmx", f"{total / 1024:.0f} KB ("
                     + ", ".join(f"{k} {v / 1024:.0f} KB" for k, v in weight.items()) + ")"))
        rows.append(("server memory before the load (RSS)", "%.0f MB" % rss_mb(proc.pid)[0]))
        body = open(ROOT / "data" / "profiles" / "typical_us_img.toml", "rb").read()
        solve = [(url + "/api/solve", body, {"content-type": "application/toml"})] * 20
        pages = [(url + "/", None, None)] * 50
        t1 = time.perf_counter()
        with ThreadPoolExecutor(max_workers=70) as ex:
            res = list(ex.map(lambda a: _get(*a), solve + pages))
        codes = [s for s, _ in res[:20]]
        rows.append(("load: 20 concurrent solves (shipped typical profile) + 50 page loads",
                     f"{time.perf_counter() - t1:.1f} s; solves {codes.count(200)} answered, {codes.count(503)} busy, "
                     f"others {len(codes) - codes.count(200) - codes.count(503)}; pages "
                     f"{sum(s == 200 for s, _ in res[20:])}/50"))
        rss, peak = rss_mb(proc.pid)
        rows.append(("server memory after the load (RSS / peak)", f"{rss:.0f} MB / {peak:.0f} MB"))
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    w = max(len(a) for a, _ in rows)
    print(f"{'what'.ljust(w)}  measured")
    for a, b in rows:
        print(f"{a.ljust(w)}  {b}")
    print(f"(load average {Path('/proc/loadavg').read_text().split()[:3]}; 2-core machine shared with other jobs)")


if __name__ == "__main__":
    main()
