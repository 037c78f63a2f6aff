"""The console entry point: installs the interrupt handler before any heavy import.

SIGINT raises :class:`Interrupted` (a BaseException that is not KeyboardInterrupt, so click
does not turn it into something else); the handler prints one line and exits 130.  The
signal is also recorded (``allocator.interrupts.RECEIVED``): numpy still turns it into a
TypeError inside a comparison of structured arrays, and the CLI then reports the interrupt.
Temp files of the atomic writer are removed on the way out (they catch BaseException).

The console script is :func:`console`: :func:`main`, then the end of the process without the
interpreter's teardown (:func:`fast_exit`).
"""
from __future__ import annotations

import logging
import os
import signal
import sys
import threading

from allocator.interrupts import RECEIVED


class Interrupted(BaseException):
    """Ctrl-C (SIGINT) or SIGTERM."""


def _raise(signum, frame):
    RECEIVED.append(signum)
    raise Interrupted(signum)


def main(argv: list[str] | None = None) -> None:
    signal.signal(signal.SIGINT, _raise)
    try:
        signal.signal(signal.SIGTERM, _raise)
    except (ValueError, OSError):
        pass
    try:
        from allocator.cli import main as cli_main

        cli_main(argv)
    except Interrupted:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C cannot interrupt the message
        try:
            sys.stderr.write("allocator: interrupted\n")
            sys.stderr.flush()
        except Exception:
            pass
        from allocator.interrupts import exit_interrupted

        exit_interrupted(130)
    except SystemExit:
        # the command is done and its output written: a Ctrl-C during the interpreter's exit
        # would only turn exit 0 into a traceback or a death by SIGINT (exit -2)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        raise


def console() -> None:
    """The console script and ``python -m allocator``: :func:`main`, then :func:`fast_exit`
    with its exit code.  Python use (``main(argv)``, tests) keeps the normal exit."""
    try:
        main()
        code = 0
    except SystemExit as e:
        code = e.code
    fast_exit(code)


def fast_exit(code) -> None:
    """End the process with ``code`` (``sys.exit``'s rules: None is 0, a message goes to
    stderr with 1) once the command is done, without the interpreter's teardown.

    That teardown frees pandas', scipy's and the solve's objects one by one and took 0.15-0.2 s
    of a 2.5 s default solve (about 6%); mypy ends its command line the same way
    (``mypy.util.hard_exit``).  Output is flushed and logging shut down first; other atexit
    handlers do not run.  The normal exit stands when a non-daemon thread is still running
    (it waits for it) and with ALLOCATOR_DEBUG set (for profilers and tracers that report at
    exit)."""
    if not isinstance(code, int):
        if code is not None:
            sys.stderr.write(f"{code}\n")
        code = 0 if code is None else 1
    busy = any(t is not threading.main_thread() and not t.daemon and t.is_alive() for t in threading.enumerate())
    if busy or os.environ.get("ALLOCATOR_DEBUG"):
        sys.exit(code)
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:  # a reader that left (BrokenPipeError): nothing more to deliver
            pass
    os._exit(code)


if __name__ == "__main__":
    console()
