"""The application statuses of a season file (and of a list CSV that carries a status column),
with the spellings accepted for each.  Shared by :mod:`allocator.season.seasonfile` and
:mod:`allocator.inputs.listfile`, so both accept and refuse the same values."""
from __future__ import annotations

STATUSES = ("applied", "invited", "interviewed", "rejected", "withdrawn", "declined")
#: ``withdrawn``: withdrawn before any answer (no evidence); ``declined``: invited, then the
#: interview was declined, cancelled or the application withdrawn (the invitation counts as
#: evidence, and there is no chance of a match there)
SPELLINGS = {
    "applied": "applied", "": "applied", "pending": "applied", "no answer yet": "applied",
    "no_answer": "applied", "no answer": "applied", "no_answer_yet": "applied", "no-answer": "applied",
    "invited": "invited", "interviewed": "interviewed", "rejected": "rejected", "withdrawn": "withdrawn",
    "declined": "declined", "declined interview": "declined", "withdrawn after invitation": "declined",
}


def canonical(raw: str) -> str | None:
    """The status a spelling means ("No answer yet" -> "applied"); None when it is none."""
    return SPELLINGS.get(" ".join(str(raw).lower().split()))
