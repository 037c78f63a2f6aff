"""The JSON API: ``POST /api/solve`` returns exactly the `allocator solve --json` contract, and
``POST /api/update`` that of `allocator update --json` (multipart: ``profile``, ``season``,
optional ``catalog``, ``today``, ``add_budget``, ``max_add``; query ``draws``, ``seed``).

Body: the profile TOML (any text content type), or multipart fields ``profile`` (TOML) and
``catalog`` (CSV, optional; default the shipped demo catalogs).  Query: ``draws``, ``seed``,
``time_limit`` (seconds), ``min_cost`` (with the profile's ``target_p_match``), ``target_on``
(average or p10, with ``min_cost``).  Errors are JSON
``{"error": one line, "exit_code": n}``: 400 unreadable body (not form data, UTF-8, TOML or CSV),
413 too large (the body is read into memory under a cap, see ``body``; nothing goes to disk),
422 bad input (exit code 2), infeasible (3, with ``conflicting``) or the time limit reached with no
list (4), 500 a bug (an internal error, 1, or a solver failure, 4), 503 busy (retry: every worker busy and the queue full, a
queued request not expected to start within the pool's ``max_wait``, or no worker free within it;
``Retry-After`` the pool's estimate; exit code 75, never returned by the command line).
A request whose client disconnects while it waits or runs is cancelled (its queue place freed).
"""
from __future__ import annotations

import asyncio
import difflib

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from allocator.errors import InputError
from allocator.web import body, service
from allocator.web.forms import MAX_PROFILE_BYTES, MAX_UPLOAD_BYTES
from allocator.web.service import TooLarge as _TooLarge
from allocator.web.jobs import Busy, Job, JobPool

router = APIRouter()
SOLVE_QUERY = ("draws", "seed", "time_limit", "min_cost", "target_on")
SOLVE_FIELDS = ("profile", "catalog")
UPDATE_QUERY = ("draws", "seed")
UPDATE_FIELDS = ("profile", "season", "catalog", "today", "add_budget", "max_add")
GONE = {"error": "the client disconnected; the request was cancelled", "exit_code": 1}
BUSY_EXIT_CODE = 75  # EX_TEMPFAIL (sysexits.h): nothing was run, retry later; the command line never exits so


def busy_response(e: Busy) -> JSONResponse:
    return JSONResponse({"error": f"busy: {e}", "exit_code": BUSY_EXIT_CODE, "retry": True}, status_code=503,
                        headers={"Retry-After": str(e.retry_after)})


async def finished(pool: JobPool, job: Job, request: Request | None = None) -> bool:
    """Wait for the job to end (True); every 0.25 s, check the pool's wait bound and whether the
    client has gone: then cancel the job and answer False (a waiting job is dropped at once and
    frees its place; a running one finishes its step in the background, see ``jobs``)."""
    fut = asyncio.wrap_future(job.future)
    while not fut.done() and job.finished is None:
        await asyncio.wait({fut}, timeout=0.25)
        pool.get(job.id)  # drops the job once it has waited longer than max_wait
        if job.finished is None and request is not None and await request.is_disconnected():
            pool.cancel(job.id)
            return False
    return True


async def read_parts(request: Request) -> tuple[bytes, bytes | None, str]:
    """(profile bytes, catalog bytes or None, catalog file name) from a raw or multipart body."""
    limit = MAX_PROFILE_BYTES + MAX_UPLOAD_BYTES + 64_000
    parts = f"profile {MAX_PROFILE_BYTES:,}, catalog {MAX_UPLOAD_BYTES:,}"
    if body.content_type(request) != "multipart/form-data":
        return await body.read(request, limit, parts), None, ""
    form = await body.form(request, limit, parts)
    known(form, SOLVE_FIELDS, "multipart field", SOLVE_QUERY, "query parameter")
    prof = await _part(form, "profile", MAX_PROFILE_BYTES)
    if prof is None:
        raise InputError("multipart request: no 'profile' field; send the profile TOML as field 'profile'")
    cat = await _part(form, "catalog", MAX_UPLOAD_BYTES)
    return (prof[0], None, "") if cat is None else (prof[0], cat[0], cat[1] or "catalog.csv")


@router.post("/api/solve")
async def api_solve(request: Request, draws: int = Query(service.DRAWS, ge=0, le=2_000_000),
                    seed: int = Query(0, ge=0), time_limit: float | None = Query(None, gt=0),
                    min_cost: bool = Query(False), target_on: str = Query("average")):  # checked by the solve, in its words
    settings = request.app.state.settings
    limit = min(time_limit or settings.time_limit, settings.max_time_limit)
    try:
        known(request.query_params, SOLVE_QUERY, "query parameter", SOLVE_FIELDS, "multipart field")
        pbytes, cbytes, cname = await read_parts(request)
        if not pbytes.strip():
            raise InputError("request body: empty; send the profile TOML as the body (or multipart 'profile')")
        profile = service.parse_profile(pbytes, "profile")
        catalog = service.parse_catalog(cbytes, cname) if cbytes is not None else None
    except _TooLarge as e:
        return JSONResponse(service.error_body(e), status_code=413)
    except InputError as e:
        return JSONResponse(service.error_body(e), status_code=input_status(e))

    def work(job):
        return service.to_json_dict(service.solve_result(profile, catalog, min_cost=min_cost, time_limit=limit,
                                                         draws=draws, seed=seed, target_on=target_on).to_dict())

    return await run_job(request, "api", work, time_limit=limit)


def known(params, allowed: tuple[str, ...], what: str, other: tuple[str, ...] = (), other_what: str = "") -> None:
    """Refuse, in the query parameters or form fields ``params``, a name the endpoint does not
    read (a misspelt ``budjet=500`` would otherwise be ignored, and the answer computed without
    it), naming the one it resembles, also among the ``other`` names, sent the other way (a
    query parameter that is a multipart field); and a name given more than once (``draws=10&draws=20``,
    two ``profile`` files), of which only the last would be read."""
    names = [k for k, _ in params.multi_items()]
    given_once(params, what, only=allowed)
    for name in names:
        if name in allowed:
            continue
        near = difflib.get_close_matches(name, allowed + other, n=1, cutoff=0.6)
        hint = ("" if not near else f"did you mean '{near[0]}'? " if near[0] in allowed
                else f"did you mean the {other_what} '{near[0]}'? ")
        where = " (the budget and the other limits go in the profile TOML)" if what == "query parameter" else ""
        raise InputError(f"{what} '{name}' is not read here: {hint}use {', '.join(allowed)}{where}")


def given_once(params, what: str, *, only: tuple[str, ...] | None = None, skip: tuple[str, ...] = ()) -> None:
    """Refuse a name given more than once in ``params`` (of which only the last would be read):
    among ``only`` when given, else every name but ``skip`` (fields that take a list)."""
    names = [k for k, _ in params.multi_items()]
    for name in names:
        if (name in only if only is not None else name not in skip) and names.count(name) > 1:
            raise InputError(f"{what} '{name}' is given {names.count(name)} times: give it once")


def input_status(e: InputError) -> int:
    """400 for a body that cannot be read (not form data, not UTF-8, not TOML, not CSV), else 422."""
    unreadable = ("not valid TOML", "UTF-8", "readable CSV", "not valid CSV")
    return 400 if isinstance(e, body.NotFormData) or any(x in str(e) for x in unreadable) else 422


async def run_job(request: Request, kind: str, work, time_limit: float | None = None) -> JSONResponse:
    """Run ``work`` on the pool and answer its JSON, or the error with its status (busy: 503)."""
    pool = request.app.state.pool
    try:
        job = pool.submit(kind, work, time_limit=time_limit)
    except Busy as e:
        return busy_response(e)
    try:
        if not await finished(pool, job, request):
            return JSONResponse(GONE, status_code=400)  # nobody reads it
    finally:
        pool.forget(job.id)
    if job.error is None:
        return JSONResponse(job.result)
    e = job.error
    if isinstance(e, Busy):
        return busy_response(e)
    if service.reported(e):
        return JSONResponse(service.error_body(e), status_code=service.error_status(e))
    return JSONResponse({"error": f"internal error: {type(e).__name__} (please report)", "exit_code": 1},
                        status_code=500)


async def _part(form, name: str, limit: int) -> tuple[bytes, str] | None:
    """A multipart field's bytes (at most ``limit`` + 1 read) and file name; None when absent or empty."""
    x = form.get(name)
    if x is None:
        return None
    if hasattr(x, "read"):
        if not x.filename and not x.size:
            return None
        return await x.read(limit + 1), x.filename or ""
    return str(x).encode(), ""


@router.post("/api/update")
async def api_update(request: Request, draws: int = Query(service.UPDATE_DRAWS, ge=0, le=service.MAX_UPDATE_DRAWS),
                     seed: int = Query(0, ge=0)):
    """Exactly the JSON of `allocator update PROFILE --season FILE [--today DATE] [--catalog CSV]
    [--add-budget USD] [--max-add N] --json`, from multipart fields ``profile`` (TOML), ``season``
    (CSV), optional ``catalog`` (CSV), ``today`` (YYYY-MM-DD, default the server's date),
    ``add_budget`` (USD) and ``max_add``."""
    import datetime as dt

    from allocator.web import seasonform

    limit = MAX_PROFILE_BYTES + 2 * MAX_UPLOAD_BYTES + 64_000
    parts = f"profile {MAX_PROFILE_BYTES:,}, season and catalog {MAX_UPLOAD_BYTES:,} each"
    try:
        known(request.query_params, UPDATE_QUERY, "query parameter", UPDATE_FIELDS, "multipart field")
        body.check_length(request, limit, parts)
        if body.content_type(request) != "multipart/form-data":
            raise InputError("request body: send multipart form data with the fields 'profile' (TOML) and "
                             "'season' (CSV)")
        form = await body.form(request, limit, parts)
        known(form, UPDATE_FIELDS, "multipart field", UPDATE_QUERY, "query parameter")
        prof = await _part(form, "profile", MAX_PROFILE_BYTES)
        if prof is None or not prof[0].strip():
            raise InputError("multipart request: no 'profile' field; send the profile TOML as field 'profile'")
        season = await _part(form, "season", MAX_UPLOAD_BYTES)
        if season is None:
            raise InputError("multipart request: no 'season' field; send the season CSV as field 'season'")
        cat = await _part(form, "catalog", MAX_UPLOAD_BYTES)
        opts = seasonform.season_options(_plain_fields(form, ("today", "add_budget", "max_add")), dt.date.today())
        profile = service.parse_profile(prof[0], "profile")
        catalog = service.parse_catalog(cat[0], cat[1] or "catalog.csv") if cat is not None else None
        parsed = service.parse_season(season[0], season[1] or "season.csv", opts["today"])
    except _TooLarge as e:
        return JSONResponse(service.error_body(e), status_code=413)
    except InputError as e:
        return JSONResponse(service.error_body(e), status_code=input_status(e))

    def work(job):
        return service.update_payload(profile, parsed, catalog, draws=draws, seed=seed, **opts)

    return await run_job(request, "api-update", work)


def _plain_fields(form, names: tuple[str, ...]) -> dict[str, str]:
    """The named fields that were sent (as text); one sent as a file is refused, not ignored."""
    for k in names:
        if hasattr(form.get(k), "read"):
            raise InputError(f"multipart request: '{k}' was sent as a file; send it as a plain text field")
    return {k: form[k] for k in names if k in form}


@router.api_route("/api/health", methods=["GET", "HEAD"])
def health(request: Request):
    pool = request.app.state.pool
    return {"ok": True, "active": pool.active, "workers": pool.workers, "queue": pool.queue}
