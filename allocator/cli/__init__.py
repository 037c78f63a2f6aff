"""Command-line interface: parse, call the public API, render, set the exit code.

One module per command (solve, simulate, sweep, bench, batch); ``common`` holds the typer app and the
shared options.  Exit codes: 0 success (optimal, or feasible with a gap), 2 bad input (one line
on stderr), 3 infeasible (the conflicting constraint groups named), 4 solver failure or time
limit with no list.
"""
from __future__ import annotations

import os
import sys

from allocator.errors import AllocatorError
from allocator.cli.common import _ABORTS, _EXITS, _USAGE_ERRORS, app, write_atomic  # noqa: F401  (write_atomic: public)
from allocator.cli import batch, bench, calibrate, serve, simulate, solve, sweep, update  # noqa: F401  (registers the commands)

INTERRUPTED = "allocator: interrupted\n"


def _interrupted() -> None:
    """One line and exit 130; stderr may already be gone."""
    from allocator.interrupts import exit_interrupted

    try:
        sys.stderr.write(INTERRUPTED)
        sys.stderr.flush()
    except Exception:
        pass
    exit_interrupted(130)


def main(argv: list[str] | None = None) -> None:
    """Console entry point: one line on stderr and the contract's exit code on failure.
    A Ctrl-C anywhere gives exit 130 and the one line "allocator: interrupted"."""
    try:
        _main(argv)
    except KeyboardInterrupt:
        _interrupted()


def _unless_interrupted() -> None:
    """After a Ctrl-C that a library turned into another error (allocator.interrupts.RECEIVED),
    report the interrupt, not the error."""
    from allocator.interrupts import RECEIVED

    if RECEIVED:
        raise KeyboardInterrupt from None


def _main(argv: list[str] | None = None) -> None:
    argv = sweep.bare_frontier(sys.argv[1:] if argv is None else argv)  # bare `--frontier` = `--frontier auto`
    try:
        rv = app(args=argv, standalone_mode=False, prog_name="allocator")
        code = rv if isinstance(rv, int) else 0
    except AllocatorError as e:
        _unless_interrupted()
        msg = " ".join(str(e).split("\n"))
        sys.stderr.write(f"allocator: error: {msg}\n")
        code = e.exit_code
    except _USAGE_ERRORS as e:
        if type(e).__name__ == "NoArgsIsHelpError":  # bare `allocator`: typer already printed the help
            pass
        else:
            sys.stderr.write(f"allocator: error: {' '.join(e.format_message().split())}"
                             + (f" (see `{e.ctx.command_path} --help`)" if e.ctx else "") + "\n")
        code = 2
    except _ABORTS:
        sys.stderr.write(INTERRUPTED)
        code = 130
    except _EXITS as e:
        code = e.exit_code
        if code == 130:  # typer/click turned a Ctrl-C into Exit(130) before it reached us
            sys.stderr.write(INTERRUPTED)
    except KeyboardInterrupt:
        sys.stderr.write(INTERRUPTED)
        code = 130
    except BrokenPipeError:  # the reader left early (`| head`): done, quietly
        from allocator.cli.common import stdout_to_devnull

        stdout_to_devnull()
        code = 0
    except Exception as e:  # a bug: still one line, no traceback, unless asked
        _unless_interrupted()
        if os.environ.get("ALLOCATOR_DEBUG"):
            raise
        sys.stderr.write(f"allocator: internal error: {type(e).__name__}: {e} "
                         "(set ALLOCATOR_DEBUG=1 for a traceback; please report)\n")
        code = 1
    sys.exit(code)


if __name__ == "__main__":
    main()
