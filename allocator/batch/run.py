"""Run a cohort on Dask: one task per applicant, files written by the client as results arrive.

Without a scheduler address a :class:`dask.distributed.LocalCluster` of worker *processes*
is started on 127.0.0.1 (one thread each, no dashboard, so nothing listens beyond the
loopback interface) and closed at the end.  With ``scheduler="tcp://HOST:PORT"`` an
existing cluster is used; its workers must have allocator installed (checked first).

Faults:

- a bad profile is a result (status ``bad_input`` and its one-line reason), never an
  exception, so the other applicants go on;
- a worker that dies: Dask reschedules its task on another worker (up to
  ``distributed.scheduler.allowed-failures``, default 3); unexpected exceptions are retried
  ``retries`` times.  Each applicant's files are written by the client exactly once, from
  the one result the client takes from its future, so an applicant is neither lost nor
  written twice;
- rerun: an applicant whose files exist with the same input hash (id, profile content,
  catalog, budgets, draws, seed, allocator's code and data; not the row's line) is skipped;
  ``force`` recomputes;
- Ctrl-C: every file is written through a temp file and a rename
  (:func:`allocator.output.files.atomic_write`), and the hash file last, so an interrupted
  run leaves complete files or none, and a rerun redoes only what is missing.  The local
  cluster's worker processes never see the terminal's SIGINT (:func:`workers_ignore_sigint`):
  only this process handles it, and it writes summary.csv for the applicants settled so far
  (the others ``not_run``) before it ends, removes the reports of those not run that were made
  from other inputs, and leaves a cohort.html that says the run was interrupted;
- two runs into one --out: the second is refused (:mod:`allocator.batch.lock`).
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import signal
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

from allocator.batch.cohort import Member, load_cohort
from allocator.batch.lock import run_lock
from allocator.batch.outputs import summary_row
from allocator.batch.precheck import precheck
from allocator.batch.targets import check_out, older_reports, paths_for
from allocator.errors import InputError
from allocator.output.files import atomic_write
from allocator.paths import DATA_DIR, MODELS_DIR


@dataclass
class Options:
    out: Path
    scheduler: str | None = None
    workers: int | None = None
    budgets: list[float] | None = None  # None: the default curve around each profile's budget
    catalog: Path | None = None
    force: bool = False
    draws: int = 200_000
    seed: int = 0
    retries: int = 2
    crowd_share: float = 0.5


@dataclass
class Report:
    rows: list[dict] = field(default_factory=list)
    payloads: dict[str, dict] = field(default_factory=dict)
    results: dict[str, dict] = field(default_factory=dict)  # per applicant: status, seconds, cpu_seconds, pid
    older: list[str] = field(default_factory=list)  # ids with reports in applicants/ who are not in this cohort

    def count(self, status: str) -> int:
        return sum(r["status"] == status for r in self.rows)

    @property
    def skipped(self) -> int:
        return sum(bool(r["skipped"]) for r in self.rows)

    @property
    def exit_code(self) -> int:
        """0 all solved; 2 some inputs bad; else 3 some infeasible; else 4 solver failures or lost tasks."""
        if self.count("bad_input"):
            return 2
        if self.count("infeasible"):
            return 3
        if self.count("solver_error") or self.count("failed"):
            return 4
        return 0


# ---------------------------------------------------------------------- hashing
def _files_hash(root: Path, paths: Iterator[Path], h) -> None:
    """Each file's path under ``root`` and its bytes (a file moved or renamed changes the hash)."""
    for p in sorted(q for q in paths if q.is_file() and "__pycache__" not in q.parts):
        h.update(p.relative_to(root).as_posix().encode() + b"\0" + p.read_bytes() + b"\0")


def code_hash() -> str:
    """allocator's source, every file under models/ (the cards and the ensemble behind the
    ranges), the fee, signal, geography and demo-catalog tables: a change in any of them can
    change a result."""
    h = hashlib.sha256()
    pkg = Path(__file__).resolve().parent.parent
    _files_hash(pkg, pkg.rglob("*.py"), h)
    h.update(b"models\0")
    _files_hash(MODELS_DIR, MODELS_DIR.rglob("*"), h)
    for sub in ("fees", "signals", "catalogs", "geography"):
        h.update(f"data/{sub}\0".encode())
        _files_hash(DATA_DIR / sub, (DATA_DIR / sub).rglob("*"), h)
    return h.hexdigest()


def input_hash(member: Member, catalog: dict | None, opts: Options, code: str) -> str:
    """What determines the applicant's files: the id (it names them), the profile's content, the
    catalog (its text and the label its JSON names), the budgets, the draws, the seed, and
    allocator's code and data (``code``).  Not where the profile sits (``member.source``: a CSV
    row's line moves when a comment line is added above it or rows are reordered), so such an
    edit re-solves no one."""
    doc = json.dumps(member.doc, sort_keys=True, default=str)
    cat = hashlib.sha256(catalog["text"].encode()).hexdigest() + catalog["label"] if catalog else "demo"
    spec = json.dumps({"id": member.id, "doc": doc, "catalog": cat, "budgets": opts.budgets, "draws": opts.draws,
                       "seed": opts.seed, "code": code, "fees": _own_fees(member.doc)}, sort_keys=True)
    return hashlib.sha256(spec.encode()).hexdigest()


def _own_fees(doc) -> str:
    """The content of a fee file of the applicant's own (a season given as a path): an edit to it
    re-solves the applicant, as an edit to the profile does; "" for a season name."""
    from allocator.inputs.fees import is_fee_file

    season = (doc.get("strategy") or {}).get("season") if isinstance(doc, dict) else None
    if not isinstance(season, str) or not is_fee_file(season):
        return ""
    try:
        return hashlib.sha256(Path(season).expanduser().read_bytes()).hexdigest()
    except OSError:
        return "unreadable"


# ---------------------------------------------------------------------- files
def _done(out: Path, mid: str, digest: str) -> dict | None:
    """The stored payload when this applicant's files are complete for this input hash."""
    p = paths_for(out, mid)
    try:
        if p["hash"].read_text().strip() != digest or not all(p[k].is_file() for k in ("json", "html", "pdf")):
            return None
        return json.loads(p["json"].read_text())
    except (OSError, ValueError):
        return None


def write_result(out: Path, result: dict) -> None:
    """The applicant's JSON, HTML and PDF, each atomically; then its hash (the completion mark).
    A result that is not "ok" removes the applicant's earlier files instead."""
    p = paths_for(out, result["id"])
    if result["status"] != "ok":  # a failed rerun leaves no older report to be read as this input's
        for k in ("hash", "json", "html", "pdf"):
            with contextlib.suppress(FileNotFoundError):
                p[k].unlink()
        return
    atomic_write(p["json"], lambda fh: fh.write(result["json"]))
    atomic_write(p["html"], lambda fh: fh.write(result["html"]), binary=True)
    atomic_write(p["pdf"], lambda fh: fh.write(result["pdf"]), binary=True)
    atomic_write(p["hash"], lambda fh: fh.write(result["hash"] + "\n"))


def _prepare_out(out: Path) -> None:
    """The folders of --out (its targets were checked by :func:`check_out`)."""
    try:
        for sub in (out, out / "applicants", out / ".batch"):
            sub.mkdir(exist_ok=True)
    except OSError as e:
        raise InputError(f"--out {out}: cannot create the folder ({e.strerror}); choose another --out") from None


# ---------------------------------------------------------------------- the cluster
# A local worker is a process with its own copy of the model and the catalog, solving one
# applicant at a time: beyond a few per core they only wait for the CPU (and 1000 of them took
# minutes to start on two cores).  A larger cluster is an existing --scheduler.
WORKERS_PER_CORE = 4


def max_local_workers() -> int:
    return WORKERS_PER_CORE * (os.cpu_count() or 1)


def check_worker_count(workers: int | None) -> None:
    """--workers between 1 and :func:`max_local_workers`; InputError otherwise."""
    if workers is None:
        return
    if workers < 1:
        raise InputError(f"--workers {workers}: must be at least 1")
    cap = max_local_workers()
    if workers > cap:
        raise InputError(f"--workers {workers}: at most {cap} on this machine ({WORKERS_PER_CORE} per core, "
                         f"{os.cpu_count() or 1} cores); more only wait for the CPU. For a larger cluster start "
                         "Dask workers yourself and pass --scheduler")


WORKER_PRELOAD = "allocator.batch.workerinit"  # each local worker ignores SIGINT (the module says why)


@contextlib.contextmanager
def workers_ignore_sigint():
    """Create a LocalCluster in this block: its workers never see SIGINT, and a Ctrl-C during
    its start is handled once the block ends.

    A terminal's Ctrl-C goes to the whole process group: the local cluster's worker processes
    got it too and each printed a traceback ("Process Dask Worker process (from Nanny): ...
    KeyboardInterrupt") before this process said "allocator: interrupted".  Here SIGINT is
    blocked in this thread while the cluster starts.  The cluster starts its event-loop thread
    here; that thread starts the ones that spawn the workers; a thread inherits its creator's
    signal mask, and a process the mask of the thread that forked it, through exec.  So every
    worker process, one a nanny restarts later included, starts with SIGINT blocked, before
    any Python runs in it (its preload, :data:`WORKER_PRELOAD`, then ignores the signal too).
    The workers still end when the cluster is closed or this process exits (the nanny's pipe).

    Two details.  multiprocessing's resource tracker, when started from a thread, blocks
    SIGINT for its own process and then *unblocks* it in that thread, which would undo the
    block in the event-loop thread: it is started here first, so later calls find it running.
    And a Ctrl-C that another thread of this process receives during the start would raise in
    the middle of the cluster's construction, before anything could close it (the workers'
    semaphores then leak, and the tracker says so): in the main thread, the signal is only
    recorded until the block ends, then raised again for the usual handler, when the caller
    (:func:`open_client`) can close the cluster.  Nothing is blocked where
    ``signal.pthread_sigmask`` does not exist (Windows)."""
    if not hasattr(signal, "pthread_sigmask"):
        yield
        return
    import threading
    from multiprocessing import resource_tracker

    resource_tracker.ensure_running()
    deferred: list[int] = []
    prev = signal.getsignal(signal.SIGINT) if threading.current_thread() is threading.main_thread() else None
    if prev is not None:  # None: not the main thread, or a handler not set from Python
        signal.signal(signal.SIGINT, lambda signum, frame: deferred.append(signum))
    old = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)  # a Ctrl-C pending here is recorded now
        if prev is not None:
            signal.signal(signal.SIGINT, prev)
            if deferred:
                signal.raise_signal(signal.SIGINT)  # the usual handler: "allocator: interrupted"


@contextlib.contextmanager
def open_client(scheduler: str | None, workers: int | None):
    """A distributed Client: on the given scheduler, or on a LocalCluster closed on exit."""
    check_worker_count(workers)
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise InputError("allocator batch needs Dask: pip install -e '.[batch]' in the allocator checkout "
                         "(or pip install 'dask[distributed]')") from None
    if scheduler is None:
        n = workers or os.cpu_count() or 1
        # the scheduler always serves its HTTP health routes (on 8787 when no address is given,
        # with a warning when that port is taken): a free loopback port instead, and no dashboard
        with contextlib.ExitStack() as stack:
            with workers_ignore_sigint():  # the workers are this cluster's: Ctrl-C is the client's
                cluster = stack.enter_context(LocalCluster(
                    n_workers=n, threads_per_worker=1, processes=True, host="127.0.0.1",
                    dashboard_address="127.0.0.1:0", worker_dashboard_address=None,
                    scheduler_kwargs={"dashboard": False}, silence_logs=logging.ERROR, preload=[WORKER_PRELOAD]))
            yield stack.enter_context(Client(cluster))
        return
    if not scheduler.startswith(("tcp://", "tls://", "ucx://", "inproc://")):
        raise InputError(f"--scheduler {scheduler!r}: give the scheduler's address as tcp://HOST:PORT")
    try:
        client = Client(scheduler, timeout="15s")
    except (OSError, TimeoutError) as e:
        raise InputError(f"--scheduler {scheduler}: cannot reach the scheduler ({type(e).__name__}); start it "
                         "(`dask scheduler`) or check the address") from None
    with client:
        check_workers(client, scheduler)
        yield client


def check_workers(client, scheduler: str) -> None:
    """Every worker must import the same allocator as this client."""
    import importlib.metadata

    import allocator

    try:
        client.wait_for_workers(1, timeout=30)
    except TimeoutError:
        raise InputError(f"--scheduler {scheduler}: no worker joined within 30 s; start workers with "
                         f"`dask worker {scheduler}` on machines where allocator is installed") from None
    try:
        versions = client.run(importlib.metadata.version, "allocator")
    except importlib.metadata.PackageNotFoundError:
        versions = None
    if versions is None:
        raise InputError(f"--scheduler {scheduler}: a worker cannot import allocator; install the tool on every "
                         f"worker (pip install 'allocator[batch]=={allocator.__version__}') and restart the workers")
    other = {w: v for w, v in versions.items() if v != allocator.__version__}
    if other:
        w, v = next(iter(other.items()))
        raise InputError(f"--scheduler {scheduler}: worker {w} has allocator {v}, this machine "
                         f"{allocator.__version__}; install the same version on every worker")


# ---------------------------------------------------------------------- the run
def read_catalog(path: Path | None) -> tuple[dict | None, object]:
    """The catalog's text and label (sent to the workers) and the Catalog, validated here first
    (a bad catalog stops the batch); (None, None) without --catalog."""
    if path is None:
        return None, None
    from allocator.inputs.catalog import load_catalog

    cat = load_catalog(path)
    return {"text": Path(path).read_text(encoding="utf-8-sig"), "label": str(path)}, cat


def _inputs(cohort: Path, members: list[Member], catalog: Path | None) -> list[Path]:
    """The files this run reads: the cohort CSV (or a folder's profiles) and the catalog."""
    files = [cohort] if cohort.is_file() else [Path(m.source) for m in members]
    return files + ([Path(catalog)] if catalog is not None else [])


#: progress(done, total, result): called once per applicant as it is settled (bad input and
#: unchanged ones first, then each task's result as it arrives from the cluster), in the
#: client's thread; ``result`` has id, status, reason, seconds, skipped, solve_status, gap.
#: Called once with an empty dict when nothing is settled before the tasks start.
Progress = Callable[[int, int, dict], None]


def run_batch(cohort: str | Path, opts: Options, progress: Progress | None = None,
              client=None) -> Report:
    """Solve every applicant of ``cohort``; write DIR's files; return the summary rows.

    ``client``: an existing distributed Client (otherwise one is opened from ``opts``)."""
    members = load_cohort(cohort)
    catalog, cat = read_catalog(opts.catalog)
    own = [m.id for m in members if m.own_id]
    check_out(opts.out, own, _inputs(Path(cohort), members, opts.catalog))
    members = precheck(members, cat)
    _prepare_out(opts.out)
    with run_lock(opts.out):  # one run at a time in --out (allocator.batch.lock)
        return _run_locked(members, catalog, own, opts, progress, client)


def _settle_known(members: list[Member], catalog: dict | None, opts: Options, report: Report,
                  results: dict[str, dict]) -> list[dict]:
    """Settle the bad rows (their older files removed) and the unchanged applicants (skipped);
    return the jobs of the others."""
    code = code_hash()
    jobs = []
    for m in members:
        if not m.ok:
            results[m.id] = {"id": m.id, "source": m.source, "status": "bad_input", "reason": m.error, "hash": None,
                             "seconds": 0.0}
            if m.own_id:  # a made-up id (bad, repeated, or a short row's) names no files to clear
                write_result(opts.out, results[m.id])
            continue
        digest = input_hash(m, catalog, opts, code)
        stored = None if opts.force else _done(opts.out, m.id, digest)
        if stored is not None:
            results[m.id] = {"id": m.id, "source": m.source, "status": "ok", "hash": digest, "seconds": None,
                             "skipped": True, "solve_status": stored.get("status"),
                             "gap": (stored.get("solver") or {}).get("gap")}
            report.payloads[m.id] = stored
            continue
        jobs.append({"id": m.id, "source": m.source, "doc": m.doc, "catalog": catalog, "hash": digest,
                     "budgets": opts.budgets, "draws": opts.draws, "seed": opts.seed})
    return jobs


def _run_locked(members: list[Member], catalog: dict | None, own: list[str], opts: Options,
                progress: Progress | None, client) -> Report:
    from allocator.batch.cohortview import crowded_counts, mark_crowding, program_counts, write_cohort_view

    results: dict[str, dict] = {}
    report = Report()
    jobs = _settle_known(members, catalog, opts, report, results)
    total, done = len(members), 0
    for m in members:  # the applicants settled here (bad input, unchanged) are done before any task
        if m.id in results:
            done += 1
            if progress:
                progress(done, total, results[m.id])
    if progress and not done:
        progress(0, total, {})
    if jobs:
        pending = {j["id"]: j["hash"] for j in jobs}
        try:
            with (contextlib.nullcontext(client) if client is not None else
                  open_client(opts.scheduler, opts.workers)) as c:
                try:
                    for res in _compute(c, jobs, opts.retries):
                        write_result(opts.out, res)
                        if res["status"] == "ok":
                            report.payloads[res["id"]] = json.loads(res["json"])
                        results[res["id"]] = {k: v for k, v in res.items() if k not in ("json", "html", "pdf")}
                        done += 1
                        if progress:
                            progress(done, total, results[res["id"]])
                except BaseException as e:  # before the cluster closes, which takes a few seconds
                    _summary_if_interrupted(e, opts.out, members, results, report, pending)
                    raise
        except BaseException as e:  # interrupted while the cluster started or closed
            _summary_if_interrupted(e, opts.out, members, results, report, pending)
            raise
    report.results = results
    report.older = older_reports(opts.out, own)
    report.rows = _rows(members, results, report)
    df = program_counts(report.payloads, opts.crowd_share)
    crowded = crowded_counts(report.payloads, df)
    for r in report.rows:
        r["n_crowded"] = crowded.get(r["id"])
    write_summary(opts.out, report.rows)
    write_cohort_view(opts.out, report, opts.crowd_share, df)
    mark_crowding(opts.out, report.payloads, crowded, opts.crowd_share)
    return report


NOT_RUN = "not_run"


def _rows(members: list[Member], results: dict[str, dict], report: Report) -> list[dict]:
    """The summary rows in cohort order; an applicant without a result is ``not_run`` (an
    interrupted run)."""
    why = ("the run was interrupted before this applicant was solved; run the batch again (the applicants "
           "solved so far are skipped)")
    return [summary_row(results.get(m.id) or {"id": m.id, "source": m.source, "status": NOT_RUN, "reason": why,
                                              "seconds": None}, report.payloads.get(m.id), m.inputs)
            for m in members]


def interrupted(e: BaseException) -> bool:
    """Ctrl-C or SIGTERM: a KeyboardInterrupt (Python use), or any exception once the console
    entry point's handler recorded a signal (it raises its own ``Interrupted``, and numpy may
    turn that into a TypeError: :mod:`allocator.interrupts`)."""
    from allocator.interrupts import RECEIVED

    return isinstance(e, KeyboardInterrupt) or bool(RECEIVED)


def _summary_if_interrupted(e: BaseException, out: Path, members: list[Member], results: dict[str, dict],
                            report: Report, pending: dict[str, str]) -> None:
    """On an interrupt, summary.csv for the applicants settled so far, the others ``not_run``
    (once: the first handler that sees it writes it).  Written atomically like every file, so a
    second Ctrl-C leaves the earlier summary whole.  A ``not_run`` applicant whose files were
    made from other inputs (their hash differs from this run's, ``pending``) has them removed,
    as after a failed rerun: no outdated report is left beside the summary's reason.  The cohort
    view of part of the cohort would undercount every program: cohort.csv is removed and
    cohort.html says the run was interrupted (:func:`allocator.batch.cohortview.interrupted_page`)."""
    if report.rows or not interrupted(e):
        return
    from allocator.batch.cohortview import write_interrupted_view

    report.results = results
    report.rows = _rows(members, results, report)
    write_summary(out, report.rows)
    for mid, digest in pending.items():
        if mid not in results and _stored_hash(out, mid) not in (None, digest):
            write_result(out, {"id": mid, "status": NOT_RUN})
    write_interrupted_view(out, report)


def _stored_hash(out: Path, mid: str) -> str | None:
    """The input hash of the applicant's stored files; None without them."""
    p = paths_for(out, mid)
    try:
        return p["hash"].read_text().strip()
    except OSError:
        return "" if any(p[k].exists() for k in ("json", "html", "pdf")) else None  # files without their mark


def _compute(client, jobs: list[dict], retries: int):
    """Results of the jobs as they complete (one per job; a task that failed for good is a
    ``failed`` result with its reason)."""
    from distributed import as_completed

    from allocator.batch.task import run_applicant

    by_key = {}
    futures = []
    for j in jobs:
        f = client.submit(run_applicant, j, key=f"allocator-batch-{j['id']}-{j['hash'][:12]}", retries=retries,
                          pure=False)
        by_key[f.key] = j
        futures.append(f)
    try:
        for f in as_completed(futures):
            j = by_key[f.key]
            if f.status == "finished":
                yield f.result()
            else:
                try:
                    exc = f.exception()
                except BaseException as e:  # a cancelled future raises instead of returning its error
                    exc = e
                yield {"id": j["id"], "source": j["source"], "hash": j["hash"], "status": "failed", "seconds": None,
                       "reason": f"the task failed after retries: {type(exc).__name__}: {' '.join(str(exc).split())}"}
            f.release()
    finally:
        client.cancel([f for f in futures if not f.done()])


def write_summary(out: Path, rows: list[dict]) -> None:
    import pandas as pd

    from allocator.batch.outputs import SUMMARY_COLUMNS

    df = pd.DataFrame(rows, columns=SUMMARY_COLUMNS)
    for c in ("n_applications", "n_la", "n_west", "n_elsewhere", "n_crowded"):
        df[c] = pd.array(df[c], dtype="Int64")  # whole counts, empty for applicants without a list
    for c in ("worst_season", "season"):
        df[c] = [_season_text(v) for v in df[c]]  # "2022", not 2022.0
    atomic_write(out / "summary.csv", lambda fh: fh.write(df.to_csv(index=False)))


def _season_text(v) -> str | None:
    """A season as written in the JSON ("2022"), never as a float ("2022.0"); None when empty."""
    if v is None or (isinstance(v, float) and v != v):
        return None
    return str(int(v)) if isinstance(v, float) and v.is_integer() else str(v)
