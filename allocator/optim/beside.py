"""One solve on a second thread beside another, and numpy's BLAS at one thread meanwhile.

HiGHS releases the GIL while it solves, so two independent pieces of work (the safety-first
answer and its LA-leaning comparison; step 2's relaxation root and its local search) use both
cores.  (A frontier's safest list beside its LA ceiling was tried too: 0.94-1.02x in three
runs, within the noise, so not done.)
The thread is a daemon named :data:`allocator.interrupts.BESIDE`: Ctrl-C on the command line
ends the process at once while it runs (``allocator.interrupts.exit_interrupted``); callers
wait for it before an ordinary error or a KeyboardInterrupt propagates, so a thread is never
left inside HiGHS when Python exits (the C++ runtime would abort the process).
"""
from __future__ import annotations

import contextlib
import contextvars
import logging
import threading

from threadpoolctl import threadpool_limits

from allocator.errors import InputError
from allocator.interrupts import BESIDE, STARTED

log = logging.getLogger(__name__)


class Beside:
    """``fn(*args, **kw)`` on a daemon thread (HiGHS releases the GIL while it solves, so a
    second solve uses the second core); :meth:`result` waits and re-raises its error.  A
    daemon thread, so Ctrl-C in the main thread need not wait for it (the console entry
    point then ends the process at once: ``allocator.interrupts.exit_interrupted``)."""

    def __init__(self, fn, *args, **kw):
        self._out = self._err = None
        ctx = contextvars.copy_context()  # the caller's deadline (allocator.optim.deadline) holds here too
        self._thread = threading.Thread(target=ctx.run, args=(self._run, fn, args, kw), daemon=True, name=BESIDE)
        if not STARTED:
            STARTED.append(BESIDE)  # exit_interrupted ends the process at once from now on
        self._thread.start()

    def _run(self, fn, args, kw) -> None:
        try:
            self._out = fn(*args, **kw)
        except BaseException as e:  # handed to the caller's thread
            self._err = e

    def wait(self) -> None:
        """Wait for the thread; its error, if any, is logged (the caller is raising its own),
        except bad input (:class:`~allocator.errors.InputError`): the same input reaches both
        threads, so the caller's one-line error already says it, and a command's bad input
        must stay one line on stderr."""
        self._thread.join()
        if self._err is not None and not isinstance(self._err, InputError):
            log.warning("the solve on the second thread failed too: %r", self._err)

    def result(self):
        self._thread.join()
        if self._err is not None:
            raise self._err
        return self._out


def both(first, second):
    """``(first(), second())``, ``second`` on a second thread meanwhile (:class:`Beside`) and
    numpy's BLAS at one thread (:func:`one_blas_thread`: two climbs with BLAS threads spinning
    on a two-core machine took four times as long).  An error or a KeyboardInterrupt in
    ``first`` waits for ``second`` before it propagates; ``second``'s error is re-raised."""
    with one_blas_thread():
        side = Beside(second)
        try:
            a = first()
        except (Exception, KeyboardInterrupt):
            side.wait()
            raise
        try:
            b = side.result()
        except KeyboardInterrupt:  # while waiting: the thread may still be inside HiGHS
            side.wait()
            raise
    return a, b


_BLAS = {"users": 0, "limit": None}
_BLAS_LOCK = threading.Lock()


@contextlib.contextmanager
def one_blas_thread():
    """numpy's BLAS at one thread for the block.  The limit is process-wide, so it is counted:
    the first block in sets it and the last one out restores the original (two web requests
    that overlap would otherwise restore each other's limits out of order)."""
    with _BLAS_LOCK:
        if _BLAS["users"] == 0:
            _BLAS["limit"] = threadpool_limits(limits=1, user_api="blas")
        _BLAS["users"] += 1
    try:
        yield
    finally:
        with _BLAS_LOCK:
            _BLAS["users"] -= 1
            if _BLAS["users"] == 0:
                _BLAS["limit"].restore_original_limits()
                _BLAS["limit"] = None
