"""The batch's console lines (stderr): one per finished applicant, and the end-of-run counts.

Text only; the command line prints them.  A line per applicant lets a long run (a
two-specialty applicant can take minutes) be followed in a log or a pipe, where the
progress bar is not drawn.  Times are wall seconds of the applicant's task on its worker.

>>> progress_line(2, 6, {"id": "img-fm", "status": "ok", "seconds": 41.2, "solve_status": "optimal"})
'[2/6] img-fm: ok (optimal) in 41.2 s'
"""
from __future__ import annotations


def reason_text(status: str, reason: str | None) -> str:
    """The reason without a leading repeat of the status ("infeasible: budget ..." after the
    status "infeasible" reads as "budget ...")."""
    text = " ".join(str(reason or "").split())
    return text[len(status) + 2:] if text.startswith(f"{status}: ") else text


def progress_line(done: int, total: int, result: dict) -> str:
    """``[done/total] id: status (solve status, gap) in S s``, and the reason when not solved."""
    status = result.get("status", "")
    head = f"[{done}/{total}] {result.get('id')}: {status}"
    if result.get("skipped"):
        return head + ", unchanged (skipped: its results exist for the same inputs)"
    solve = result.get("solve_status")
    if solve:
        gap = result.get("gap")
        head += f" ({solve}" + (f", gap {gap:.2g}" if solve == "feasible" and gap is not None else "") + ")"
    seconds = result.get("seconds")
    if status == "bad_input" and not result.get("hash"):
        head += " (checked on this machine, not sent)"
    elif seconds is not None:
        head += f" in {float(seconds):.1f} s"
    why = reason_text(status, result.get("reason"))
    return head + (f": {why}" if why and status != "ok" else "")


def end_lines(report, out) -> list[str]:
    """The counts, then one line per applicant that was not solved (id, status, reason)."""
    n = len(report.rows)
    lines = [f"{n} applicants: {report.count('ok')} solved ({report.skipped} unchanged, skipped), "
             f"{report.count('bad_input')} bad input, {report.count('infeasible')} infeasible, "
             f"{report.count('solver_error') + report.count('failed')} failed; results in {out}"]
    lines += [f"  {r['id']}: {r['status']}: {reason_text(r['status'], r['reason'])}"
              for r in report.rows if r["status"] != "ok"]
    older = getattr(report, "older", None)
    if older:
        lines.append(older_line(older))
    return lines


def older_line(older: list[str], shown: int = 10) -> str:
    """The applicants whose reports an earlier run left in applicants/ (kept, not this cohort's)."""
    names = ", ".join(older[:shown]) + (f", ... ({len(older) - shown} more)" if len(older) > shown else "")
    n = len(older)
    who = "are for applicants" if n > 1 else "is for an applicant"
    return f"{n} older report{'s' if n > 1 else ''} in applicants/ {who} not in this cohort (kept): {names}"
