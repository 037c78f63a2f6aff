"""Loaded by each worker of the local cluster (a Dask worker preload): SIGINT is the client's.

A terminal's Ctrl-C goes to the whole process group, so the local cluster's worker processes
got it too, and each printed a traceback ("Process Dask Worker process (from Nanny): ...
KeyboardInterrupt") before the client said "allocator: interrupted".  The client blocks
SIGINT while it creates the cluster, so that the workers start with it blocked
(:func:`allocator.batch.run.workers_ignore_sigint`); this module makes every worker ignore it
as well, from its import (when the worker is built, in the worker process's main thread) on,
whatever a library later does with the signal mask.  The workers still end when the client
closes the cluster or exits.
"""
from __future__ import annotations

import signal
import threading


def ignore_sigint() -> bool:
    """SIGINT ignored in this process; False where it cannot be set (not the main thread)."""
    if threading.current_thread() is not threading.main_thread():
        return False
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    return True


ignore_sigint()


def dask_setup(worker) -> None:  # noqa: ARG001  (Dask's preload hook: called once the worker starts)
    ignore_sigint()
