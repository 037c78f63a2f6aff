"""The console entry point: installs the interrupt handler before any heavy import.

SIGINT raises :class:`Interrupted` (a BaseException that is not KeyboardInterrupt, so click
does not turn it into something else); the handler prints one line and exits 130.  The
signal is also recorded (``allocator.interrupts.RECEIVED``): numpy still turns it into a
TypeError inside a comparison of structured arrays, and the CLI then reports the interrupt.
Temp files of the atomic writer are removed on the way out (they catch BaseException).
"""
from __future__ import annotations

import signal
import sys

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


if __name__ == "__main__":
    main()
