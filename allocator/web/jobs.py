"""A bounded worker pool for solves: progress, cancel, "busy" instead of a hang.

``JobPool(workers, queue, max_wait=...)`` runs at most ``workers`` jobs at once and holds at most
``queue`` more waiting; a submit beyond that raises :class:`Busy` at once (the page answers
"busy, retry").  So does a submit that would wait in the queue but is not expected to start
within ``max_wait`` seconds: the pool remembers how long its recent jobs of each kind ran (the
median of the last :data:`HISTORY`) and plays the running and waiting jobs forward on the
workers (:meth:`JobPool.expected_start`); with no history yet it has no estimate and queues the
job.  A job that no worker has started within ``max_wait`` seconds all the same is not run
at all: it fails with :class:`Busy` and frees its place, so no request waits without bound and
none is dropped silently.  A job reports progress as (done, total) through the ``progress``
callable it is given.  Cancel drops a waiting job at once (it never runs, its place is free);
a running job gets a flag that the next progress call turns into :class:`Cancelled` (a sweep
stops between points; a single solve cannot be interrupted: it runs on in the background to
its time limit, holding its worker, and its result is then discarded).

Jobs live in memory only, under an unguessable id, and are forgotten ``ttl`` seconds after
they finish: nothing is written to disk and nothing about the applicant is logged.
"""
from __future__ import annotations

import heapq
import math
import secrets
import statistics
import threading
import time
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Callable


HISTORY = 10  # jobs of each kind whose run times make the estimate of a queued job's start
RETRY_AFTER = 5  # seconds to retry after, unless an estimate says more


class Busy(Exception):
    """Every worker is busy and the queue is full, or a queued job would not start in time:
    retry after ``retry_after`` seconds."""

    def __init__(self, message: str, retry_after: int = RETRY_AFTER):
        super().__init__(message)
        self.retry_after = int(retry_after)


class Cancelled(Exception):
    """The user cancelled the job."""


@dataclass
class Job:
    id: str
    kind: str
    submitted: float = field(default_factory=time.monotonic)
    started: float | None = None      # when a worker took it (None while it waits)
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
        """waiting (no worker yet), running, cancelled, failed or done."""
        if self.cancelled:
            return "cancelled"
        if self.finished is None:
            return "waiting" if self.started is None else "running"
        return "failed" if self.error is not None else "done"

    @property
    def stopping(self) -> bool:
        """Cancelled while running: the worker is still finishing it in the background."""
        return self.cancelled and self.started is not None and self.finished is None

    def fraction(self) -> float | None:
        """Share of the work done: points done for a sweep, else time against the time limit
        (then the bar says so), None when neither is known or no worker has started it."""
        if self.started is None:
            return None
        if self.total:
            return self.done / self.total
        if self.time_limit:
            return min((time.monotonic() - self.started) / self.time_limit, 1.0)
        return None

    @property
    def elapsed(self) -> float:
        """Seconds of work (from the start on a worker; 0 while waiting)."""
        if self.started is None:
            return 0.0
        return (self.finished or time.monotonic()) - self.started

    @property
    def waited(self) -> float:
        """Seconds spent waiting for a worker."""
        return (self.started or self.finished or time.monotonic()) - self.submitted


class JobPool:
    def __init__(self, workers: int = 2, queue: int = 4, ttl: float = 900.0, max_wait: float = 30.0):
        if workers < 1 or queue < 0 or max_wait <= 0:
            raise ValueError("workers >= 1, queue >= 0 and max_wait > 0")
        self.workers, self.queue, self.ttl, self.max_wait = workers, queue, ttl, max_wait
        self._exec = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="allocator-solve")
        self._lock = threading.Lock()
        self._jobs: dict[str, Job] = {}
        self._active = 0  # running + waiting
        self._ran: dict[str, deque] = {}  # kind -> run times (s) of its last HISTORY jobs

    def submit(self, kind: str, fn: Callable[[Job], Any], *, time_limit: float | None = None,
               context: dict | None = None) -> Job:
        """Start ``fn(job)`` on a worker; raises Busy when workers and queue are full, or when the
        job would queue but is not expected to start within ``max_wait`` (:meth:`expected_start`)."""
        self._expire()
        with self._lock:
            if self._active >= self.workers + self.queue:
                raise Busy(f"{self._all_busy()} and {self.queue} requests are waiting; retry in a few seconds")
            start = self.expected_start()
            if start is not None and start > self.max_wait:
                raise self._not_in_time(start)
            self._active += 1
            job = Job(secrets.token_urlsafe(16), kind, time_limit=time_limit, context=dict(context or {}))
            self._jobs[job.id] = job
            job.future = self._exec.submit(self._run, job, fn)
        return job

    def _typical(self, kind: str) -> float | None:
        """The median run time of the recent jobs of ``kind`` (of any kind when none of it has
        run yet), None before any job has run."""
        times = self._ran.get(kind) or [t for d in self._ran.values() for t in d]
        return statistics.median(times) if times else None

    def expected_start(self) -> float | None:
        """Seconds until a job submitted now is expected to start on a worker: each running job
        ends after its kind's typical run time (at once when past it), then the waiting jobs, in
        their order, each take the next free worker for their kind's typical time.  0 with a
        worker free; None without a run time to go by.  Called with the lock held."""
        live = [j for j in self._jobs.values() if j.finished is None]
        if len(live) < self.workers:
            return 0.0
        if not self._ran:
            return None
        free = [max(self._typical(j.kind) - j.elapsed, 0.0) for j in live if j.started is not None]
        free += [0.0] * (self.workers - len(free))
        heapq.heapify(free)
        for j in sorted((j for j in live if j.started is None), key=lambda j: j.submitted):
            heapq.heappush(free, heapq.heappop(free) + self._typical(j.kind))
        return free[0]

    def _not_in_time(self, start: float) -> Busy:
        retry = max(RETRY_AFTER, math.ceil(start - self.max_wait))
        waiting = sum(j.started is None and j.finished is None for j in self._jobs.values())
        return Busy(f"{self._all_busy()} and {waiting} request{'s are' if waiting != 1 else ' is'} waiting: "
                    "at the pace of the recent requests a "
                    f"worker would be free for this one in about {start:.0f} s, past the {self.max_wait:g} s a "
                    f"request may wait, so it was not queued; retry in about {retry} s", retry)

    def _all_busy(self) -> str:
        every = "the only worker is" if self.workers == 1 else f"all {self.workers} workers are"
        return f"{every} busy{self._stopping_note()}"

    def _stopping_note(self) -> str:
        n = self.stopping()
        return f" ({n} finishing a cancelled solve)" if n else ""

    def stopping(self) -> int:
        """Workers still finishing a job that was cancelled while it ran."""
        return sum(j.stopping for j in list(self._jobs.values()))

    def _run(self, job: Job, fn: Callable[[Job], Any]) -> None:
        with self._lock:
            if job.finished is not None:  # dropped while it waited (cancelled, or waited too long)
                return
            if time.monotonic() - job.submitted > self.max_wait:
                self._drop(job, self._too_long())
                return
            job.started = time.monotonic()  # queueing time is not solve time
        try:
            job.result = fn(job)
        except BaseException as e:  # noqa: BLE001 - handed to the page, never raised in the worker
            job.error = e
        finally:
            job.finished = time.monotonic()
            with self._lock:
                self._active -= 1
                self._ran.setdefault(job.kind, deque(maxlen=HISTORY)).append(job.elapsed)

    def _too_long(self) -> Busy:
        return Busy(f"no worker became free within {self.max_wait:g} s{self._stopping_note()}, so the "
                    "request was not run; retry in a few seconds")

    def _drop(self, job: Job, error: BaseException) -> None:
        """End a job that no worker has started (the lock is held): it never runs, its place is free."""
        job.error, job.finished = error, time.monotonic()
        self._active -= 1
        if job.future is not None:
            job.future.cancel()

    def get(self, job_id: str) -> Job | None:
        self._expire()
        with self._lock:
            return self._jobs.get(job_id)

    def cancel(self, job_id: str) -> Job | None:
        """Cancel a job: a waiting one is dropped at once, a running one stops at its next step."""
        job = self.get(job_id)
        if job is None:
            return None
        with self._lock:
            if job.finished is None:
                job.cancelled = True
                if job.started is None:
                    self._drop(job, Cancelled())
        return job

    def forget(self, job_id: str) -> None:
        with self._lock:
            self._jobs.pop(job_id, None)

    @property
    def active(self) -> int:
        self._expire()
        return self._active

    def _expire(self) -> None:
        """Forget finished jobs after the ttl; drop waiting jobs past max_wait."""
        now = time.monotonic()
        with self._lock:
            for j in self._jobs.values():
                if j.started is None and j.finished is None and now - j.submitted > self.max_wait:
                    self._drop(j, self._too_long())
            old = [k for k, j in self._jobs.items() if j.finished is not None and now - j.finished > self.ttl]
            for k in old:
                del self._jobs[k]

    def shutdown(self) -> None:
        for j in list(self._jobs.values()):
            j.cancelled = True
        self._exec.shutdown(wait=False, cancel_futures=True)
