"""How the process ends after Ctrl-C while a second solving thread may be inside HiGHS.

The safety-first answer runs the LA-leaning comparison solve, and step 2's local search, on
daemon threads named ``BESIDE`` (:mod:`allocator.optim.beside`).  If the interpreter shuts
down normally while such a thread is inside HiGHS, stopping it there makes the C++ runtime
abort the process ("terminate called without an active exception", exit -6), so
:func:`exit_interrupted` ends the process at once instead.  It does so whenever such a
thread has run in the process: one that has just returned may still be tearing down its
HiGHS state when the interpreter exits, which aborted 6 of 90 Ctrl-Cs between 1.8 and 3 s
into a default solve while ``is_alive()`` was already false.
"""
from __future__ import annotations

import os
import sys
import threading

BESIDE = "allocator-beside"  # the name of a second solving thread
# Signals the console entry point's handler received (allocator._entry).  A library may turn
# the exception it raises into another one (numpy's comparison of structured arrays, inside
# np.unique, re-raises any error as a TypeError), so the CLI asks here, not the exception.
RECEIVED: list[int] = []
STARTED: list[str] = []  # names of the second solving threads started in this process (Beside)


def exit_interrupted(code: int = 130) -> None:
    """Exit with ``code`` after an interrupt: at once (``os._exit``) while a ``BESIDE`` thread
    is alive, or, after a signal the console entry point caught (RECEIVED), when one has run
    in this process; nothing is left to flush then (the caller wrote stderr, temp files were
    removed on the way out) and no atexit handler of ours is pending.  Otherwise
    ``sys.exit`` (a KeyboardInterrupt in Python use, e.g. a test calling the CLI in process)."""
    if (STARTED and RECEIVED) or any(t.name == BESIDE and t.is_alive() for t in threading.enumerate()):
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:
                pass
        os._exit(code)
    sys.exit(code)
