"""How the process ends after Ctrl-C while a second solving thread may be inside HiGHS.

The safety-first answer runs the LA-leaning comparison solve, and step 2's local search, on
daemon threads named ``BESIDE`` (:mod:`allocator.optim.beside`).  If the interpreter shuts
down normally while such a thread is inside HiGHS, stopping it there makes the C++ runtime
abort the process ("terminate called without an active exception", exit -6), so
:func:`exit_interrupted` ends the process at once instead.
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


def exit_interrupted(code: int = 130) -> None:
    """Exit with ``code`` after an interrupt: at once (``os._exit``) while a ``BESIDE`` thread
    is alive; nothing is left to flush then (the caller wrote stderr, temp files were removed
    on the way out) and no atexit handler of ours is pending.  Otherwise ``sys.exit``."""
    if any(t.name == BESIDE and t.is_alive() for t in threading.enumerate()):
        try:
            sys.stdout.flush()
        except Exception:
            pass
        os._exit(code)
    sys.exit(code)
