"""One family of errors for bad input (exit code 2) and for settings that cannot be met.

Bad input raises :class:`InputError` (or a subclass) with a one-line message that names
the file, the row or field, and what to change.  Solver outcomes are *statuses*
(:mod:`allocator.status`), not exceptions, except where a caller asked for a list and
none exists: then :class:`InfeasibleError` (exit 3) or :class:`SolverError` (exit 4).
"""
from __future__ import annotations


class AllocatorError(Exception):
    """Base class of every error allocator raises on purpose."""

    exit_code = 1


class InputError(AllocatorError):
    """A file, option or value is malformed or out of range (exit code 2).

    >>> raise InputError("profile.toml: [strategy] budget = -5: must be >= 0; set a budget in USD")
    Traceback (most recent call last):
    ...
    allocator.errors.InputError: profile.toml: [strategy] budget = -5: must be >= 0; set a budget in USD
    """

    exit_code = 2


def not_utf8(name, err: UnicodeDecodeError, fix: str) -> InputError:
    """The one-line refusal of a file that is not UTF-8: where the first bad byte is (line and
    byte, e.g. 0xe9, an "é" saved as Latin-1 or Windows-1252) and ``fix``.

    >>> try:
    ...     b"id,name\\nP1,Universit\\xe9 Paris".decode("utf-8")
    ... except UnicodeDecodeError as e:
    ...     print(not_utf8("c.csv", e, "save it as UTF-8"))
    c.csv: line 2: not UTF-8 text (byte 0xe9: invalid continuation byte); save it as UTF-8
    """
    data = err.object if isinstance(err.object, (bytes, bytearray)) else b""
    line = bytes(data[:err.start]).count(b"\n") + 1
    byte = f"byte {data[err.start]:#04x}: " if err.start < len(data) else ""
    return InputError(f"{name}: line {line}: not UTF-8 text ({byte}{err.reason}); {fix}")


class InfeasibleError(AllocatorError):
    """The constraints admit no list (exit code 3).

    ``groups`` names the smallest set of constraint groups found to conflict; ``best_p`` the
    best P(match) reachable within the limits when a P(match) target is out of reach.
    """

    exit_code = 3

    def __init__(self, message: str, groups: tuple[str, ...] = (), best_p: float | None = None,
                 synthetic: bool = False, best_p10: float | None = None):
        super().__init__(message)
        self.groups = tuple(groups)
        self.best_p = best_p
        self.synthetic = synthetic  # the limits were checked against the synthetic demo catalog
        self.best_p10 = best_p10  # the 10th percentile over the plausible models of best_p's list, when known


class SolverError(AllocatorError):
    """The solver crashed or stopped without any list (exit code 4)."""

    exit_code = 4


class TimeLimitError(SolverError):
    """No list found within the time limit the caller set (exit code 4): a longer limit may
    find one.  The web answers it 422, as bad input, and other solver errors 500."""
