"""Fuzz cases for list files (`simulate --list`) and output paths (the atomic writer), used by
benchmarks/fuzz.py.  Each returns an outcome name or raises fuzz.Crash (imported lazily)."""
from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import numpy as np
import pandas as pd

from allocator import api
from allocator.errors import AllocatorError, InputError
from allocator.inputs.catalog import catalog_from_frame
from allocator.inputs.listfile import read_list_file
from allocator.inputs.profile import profile_from_dict
from allocator.optim.assemble import build_problem
from allocator.output.files import atomic_write
from allocator.paths import DATA_DIR

SIGNALS = ["gold", "silver", "", "GOLD", " silver ", "platinum", "none", "null", "1", "true", "é", "\x00"]
DIVS = ["Pacific", "Mountain", "New England", "Middle Atlantic", "South Atlantic", "Atlantis", "pacific", "",
        "Pacific, Mountain", "West"]
_CACHE: dict = {}


def _crash(msg: str):
    import sys

    main = sys.modules.get("__main__")
    cls = getattr(main, "Crash", None) or __import__("fuzz").Crash
    return cls(msg)


def _problem(rng, signals: bool):
    """A problem with signals and divisions modelled (demo catalog + applicant) or not (own p_match)."""
    key = ("sig" if signals else "plain", int(rng.integers(0, 3)))
    if key not in _CACHE:
        if signals:
            df = pd.read_csv(DATA_DIR / "catalogs" / "demo_internal_medicine.csv", dtype=str, keep_default_na=False)
            df = df.sample(n=60, random_state=key[1]).reset_index(drop=True)
            season = ["2026", "2025", "2024"][key[1]]
            doc = {"applicant": {"step2_score": 240, "usce_months": 3},
                   "strategy": {"season": season, "geographic_preference": ["optimize", "optimize", ["Pacific"]][key[1]]}}
        else:
            n = 30
            df = pd.DataFrame({"program_id": [f"P{k}" for k in range(n)], "name": "x", "specialty": "Internal Medicine",
                               "city": "Los Angeles", "state": "CA", "p_match": np.linspace(0.01, 0.5, n).round(4)})
            doc = {"strategy": {"budget": 800}}
        _CACHE[key] = build_problem(catalog_from_frame(df, "<fuzz>"), profile_from_dict(doc, "<fuzz>"))
    return _CACHE[key]


def _list_text(rng, ids: list[str]) -> bytes:
    k = int(rng.integers(0, min(len(ids), 25) + 1))
    pick = list(rng.choice(ids + ["NOPE-1", "", " "], size=k)) if k else []
    if rng.random() < 0.3 and pick:
        pick.append(pick[0])  # a duplicate
    fmt = int(rng.integers(0, 4))
    sig = [str(rng.choice(SIGNALS)) if rng.random() < 0.5 else "" for _ in pick]
    divs = list(rng.choice(DIVS, size=int(rng.integers(0, 4)))) if rng.random() < 0.4 else []
    if fmt == 0:
        text = "\n".join(pick)
    elif fmt == 1:
        head = str(rng.choice(["program_id,signal", "program_id,signal,status,date", "program_id",
                               "program_id,signal,signal", "id,signal"]))
        rows = [f"{p},{s}" + (",applied," if "status" in head else "") for p, s in zip(pick, sig)]
        text = "\n".join([head, *rows])
        if divs:
            text = f"# geographic_preference: {'; '.join(divs)}\n" + text
    elif fmt == 2:
        sel = [{"program_id": p, "signal": (s or None)} for p, s in zip(pick, sig)]
        if rng.random() < 0.2 and sel:
            sel[0]["program_id"] = int(rng.integers(0, 9))
        doc = {"selected": sel}
        if divs:
            doc["geographic_preference"] = divs if rng.random() < 0.8 else divs[0]
        text = json.dumps(doc)
        if rng.random() < 0.15:
            text = text[: int(rng.integers(0, len(text) + 1))]
    else:
        return rng.bytes(int(rng.integers(0, 120)))
    if rng.random() < 0.2:
        text = "\ufeff" + text
    if rng.random() < 0.1:
        text = text.replace("\n", "\r\n")
    return text.encode("utf-8", errors="surrogateescape")


def list_case(rng, i: int, workdir: Path) -> str:
    pr = _problem(rng, signals=rng.random() < 0.5)
    f = workdir / f"l{i}.txt"
    f.write_bytes(_list_text(rng, list(pr.ids)))
    try:
        ids, sig, divs = read_list_file(f)
        plan, bad, screened = api.score(pr, ids, signals=sig, divisions=divs)
    except InputError as e:
        msg = str(e)
        if not msg.strip() or "\n" in msg:
            raise _crash(f"list error not one line: {msg!r}")
        if not msg.startswith(str(f)) and "list names" not in msg and "program" not in msg and "geographic" not in msg:
            raise _crash(f"list error does not name the file or what to change: {msg!r}")
        return "list:input_error"
    if len(set(ids)) != len(ids) or len(plan.idx) + len(screened) != len(ids):  # screened: scored at P = 0
        raise _crash("a duplicate or lost program was accepted")
    if any(k not in pr.p_signal for _, k in plan.signals):
        raise _crash("a signal the problem does not model was accepted")
    if plan.divisions and pr.p_geo is None:
        raise _crash("divisions accepted where none are modelled")
    p = pr.effective_p(plan)
    if not np.all(np.isfinite(p)):
        raise _crash("non-finite probability")
    return "list:ok" if not bad else "list:ok_with_violations"


def _target(rng, i: int, workdir: Path):
    r = int(rng.integers(0, 9))
    if r == 0:
        return workdir / f"o{i}.json", None
    if r == 1:
        p = workdir / f"o{i}.csv"
        p.write_text("old")
        os.chmod(p, int(rng.choice([0o600, 0o644, 0o664, 0o640])))
        return p, "file"
    if r == 2:
        p = workdir / f"d{i}.json"
        p.mkdir()
        return p, "dir"
    if r == 3:
        p = workdir / f"f{i}.json"
        os.mkfifo(p)
        return p, "fifo"
    if r == 4:
        return Path(str(rng.choice(["/dev/null", "/dev/full", "/dev/zero"]))), "device"
    if r == 5:
        return workdir / f"missing{i}" / "x.json", None
    if r == 6:
        return workdir / ("n" * int(rng.integers(200, 400)) + f"{i}.json"), None
    if r == 7:
        return workdir / f"{i}{str(rng.choice(['é', ' sp', '.', '..']))}", None
    return Path(str(workdir / f"o{i}.txt") + "/"), None


def out_case(rng, i: int, workdir: Path) -> str:
    path, what = _target(rng, i, workdir)
    try:
        st0 = os.stat(path)
    except OSError:
        st0 = None
    fail = rng.random() < 0.3
    binary = bool(rng.random() < 0.3)
    payload = rng.bytes(int(rng.integers(0, 2000)))

    def write(fh):
        fh.write(payload if binary else payload.hex())
        if fail:
            raise OSError(28, "No space left on device")

    before = set(os.listdir(workdir))
    try:
        atomic_write(path, write, binary=binary)
        outcome = "out:written"
    except InputError as e:
        if "\n" in str(e) or not str(e).strip():
            raise _crash(f"writer error not one line: {e!r}")
        outcome = "out:input_error"
    except AllocatorError as e:
        raise _crash(f"writer raised {type(e).__name__}: {e}")
    after = set(os.listdir(workdir))
    temps = [x for x in after - before if x.startswith(".")]
    if temps:
        raise _crash(f"temp files left behind: {temps}")
    if what in ("device", "fifo", "dir"):
        st1 = os.stat(path)
        if stat.S_IFMT(st1.st_mode) != stat.S_IFMT(st0.st_mode) or st1.st_ino != st0.st_ino:
            raise _crash(f"{path} ({what}) was replaced")
        if outcome == "out:written":
            raise _crash(f"{path} ({what}) accepted as an output")
    if what == "file":
        st1 = os.stat(path)
        if stat.S_IMODE(st1.st_mode) != stat.S_IMODE(st0.st_mode):
            raise _crash("an overwrite changed the file's mode")
        if outcome != "out:written" and path.read_text() != "old":
            raise _crash("a failed write changed the existing file")
    if fail and outcome == "out:written":
        raise _crash("a failing writer reported success")
    for x in after | ({path.name} if what in ("dir", "fifo", "file") else set()):  # keep the folder small
        p = workdir / x
        if x in before and x != path.name or not os.path.lexists(p):
            continue
        if p.is_dir():
            if not any(p.iterdir()):
                p.rmdir()
        else:
            p.unlink()
    return outcome
