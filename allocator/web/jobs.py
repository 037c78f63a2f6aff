"""A bounded worker pool for solves: progress, cancel, "busy" instead of a hang.

``JobPool(workers, queue)`` runs at most ``workers`` jobs at once and holds at most ``queue``
more waiting; a submit beyond that raises :class:`Busy` at once (the page answers "busy,
retry"), so no request waits without bound and none is dropped silently.  A job reports
progress as (done, total) through the ``progress`` callable it is given; cancel sets a flag
that the next progress call turns into :class:`Cancelled` (a sweep stops between points; a
single solve runs to its time limit, and its result is then discarded).

Jobs live in memory only, under an unguessable id, and are forgotten ``ttl`` seconds after
they finish: nothing is written to disk and nothing about the applicant is logged.
"""
from __future__ import annotations

import secrets
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Callable


class Busy(Exception):
    """Every worker is busy and the queue is full: retry in a few seconds."""


class Cancelled(Exception):
    """The user cancelled the job."""


@dataclass
class Job:
    id: str
    kind: str
    started: float = field(default_factory=time.monotonic)
    time_limit: float | None = None
    done: int = 0
    total: int = 0
    cancelled: bool = False
    finished: float | None = None
    result: Any = None
    error: BaseException | None = None
    future: Future | None = None
    context: dict = field(default_factory=dict)   # what the page needs to render the answer (no disk)

    def progress(self, done: int, total: int) -> None:
        if self.cancelled:
            raise Cancelled()
        self.done, self.total = int(done), int(total)

    @property
    def state(self) -> str:
        if self.cancelled:
            return "cancelled"
        if self.finished is None:
            return "running"
        return "failed" if self.error is not None else "done"

    def fraction(self) -> float | None:
        """Share of the work done: points done for a sweep, else time against the time limit
        (then the bar says so), None when neither is known."""
        if self.total:
            return self.done / self.total
        if self.time_limit:
            return min((time.monotonic() - self.started) / self.time_limit, 1.0)
        return None

    @property
    def elapsed(self) -> float:
        return (self.finished or time.monotonic()) - self.started


class JobPool:
    def __init__(self, workers: int = 2, queue: int = 4, ttl: float = 900.0):
        if workers < 1 or queue < 0:
            raise ValueError("workers >= 1 and queue >= 0")
        self.workers, self.queue, self.ttl = workers, queue, ttl
        self._exec = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="allocator-solve")
        self._lock = threading.Lock()
        self._jobs: dict[str, Job] = {}
        self._active = 0  # running + waiting

    def submit(self, kind: str, fn: Callable[[Job], Any], *, time_limit: float | None = None,
               context: dict | None = None) -> Job:
        """Start ``fn(job)`` on a worker; raises Busy when workers and queue are full."""
        self._expire()
        with self._lock:
            if self._active >= self.workers + self.queue:
                raise Busy(f"all {self.workers} workers are busy and {self.queue} requests are waiting; "
                           "retry in a few seconds")
            self._active += 1
            job = Job(secrets.token_urlsafe(16), kind, time_limit=time_limit, context=dict(context or {}))
            self._jobs[job.id] = job
        job.future = self._exec.submit(self._run, job, fn)
        return job

    def _run(self, job: Job, fn: Callable[[Job], Any]) -> None:
        job.started = time.monotonic()  # queueing time is not solve time
        try:
            job.result = fn(job)
        except BaseException as e:  # noqa: BLE001 - handed to the page, never raised in the worker
            job.error = e
        finally:
            job.finished = time.monotonic()
            with self._lock:
                self._active -= 1

    def get(self, job_id: str) -> Job | None:
        self._expire()
        with self._lock:
            return self._jobs.get(job_id)

    def cancel(self, job_id: str) -> Job | None:
        job = self.get(job_id)
        if job is not None and job.finished is None:
            job.cancelled = True
        return job

    def forget(self, job_id: str) -> None:
        with self._lock:
            self._jobs.pop(job_id, None)

    @property
    def active(self) -> int:
        return self._active

    def _expire(self) -> None:
        now = time.monotonic()
        with self._lock:
            old = [k for k, j in self._jobs.items() if j.finished is not None and now - j.finished > self.ttl]
            for k in old:
                del self._jobs[k]

    def shutdown(self) -> None:
        for j in list(self._jobs.values()):
            j.cancelled = True
        self._exec.shutdown(wait=False, cancel_futures=True)
