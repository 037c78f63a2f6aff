"""A hard deadline for the settled steps: the web page's time limit caps work whose amount is
otherwise fixed (the relaxation root's rounds, the local searches), so a request ends near its
limit however large the catalog.

Settled steps do a fixed amount of work so that the command line gives the same answer on a
busy machine as on an idle one; it sets no deadline.  The web page sets one (its time limit is
a cap: :func:`allocator.optim.safety.safety_first` with ``settle`` and a ``time_limit``): a
step stopped by it keeps the best list found and the bound proven so far, and says so.

A context variable, so each request's solve has its own; the second solving thread
(:mod:`allocator.optim.beside`) runs in a copy of its caller's context and sees it too.
"""
from __future__ import annotations

import contextlib
import contextvars
import time

_AT: contextvars.ContextVar[float | None] = contextvars.ContextVar("allocator_deadline", default=None)


@contextlib.contextmanager
def capped(seconds: float | None):
    """Within the block, :func:`left` counts down from ``seconds`` (None: no new deadline), or
    from an enclosing block's deadline when that comes first (a cap never extends another)."""
    if seconds is None:
        yield
        return
    at, outer = time.perf_counter() + float(seconds), _AT.get()
    token = _AT.set(at if outer is None else min(at, outer))
    try:
        yield
    finally:
        _AT.reset(token)


def left() -> float | None:
    """Seconds to the deadline (negative once passed), None when none is set."""
    at = _AT.get()
    return None if at is None else at - time.perf_counter()


def passed() -> bool:
    s = left()
    return s is not None and s <= 0
