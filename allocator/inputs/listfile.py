"""List files for `simulate --list`: one program_id per line, or the JSON that `solve --json` wrote."""
from __future__ import annotations

import json
from pathlib import Path

from allocator.errors import InputError


def read_list_file(path: Path) -> tuple[list[str], dict[str, str], list[str]]:
    """(program ids, signals by id, divisions) from one id per line or solve's JSON."""
    p = Path(path)
    if not p.is_file():
        raise InputError(f"{p}: no such list file; give one program_id per line or the JSON of `solve --json`")
    try:
        text = p.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise InputError(f"{p}: not UTF-8 text; give one program_id per line (UTF-8) or the JSON of "
                         "`solve --json`") from None
    if text.lstrip().startswith("{"):
        try:
            doc = json.loads(text)
            sel = doc["selected"]
            ids = [str(r["program_id"]) for r in sel]
            sig = {str(r["program_id"]): r["signal"] for r in sel if r.get("signal")}
            return ids, sig, list(doc.get("geographic_preference", []))
        except (json.JSONDecodeError, KeyError, TypeError) as e:
            raise InputError(f"{p}: not the JSON of `solve --json` ({type(e).__name__}: {e}); "
                             "or give one program_id per line") from None
    ids = [ln.strip().split(",")[0].strip() for ln in text.splitlines()]
    ids = [x for x in ids if x and not x.startswith("#")]
    dup = {x for x in ids if ids.count(x) > 1}
    if dup:
        raise InputError(f"{p}: program {sorted(dup)[0]!r} is listed twice; list each program once")
    return ids, {}, []
