"""The JSON API: ``POST /api/solve`` returns exactly the `allocator solve --json` contract.

Body: the profile TOML (any text content type), or multipart fields ``profile`` (TOML) and
``catalog`` (CSV, optional; default the shipped demo catalogs).  Query: ``draws``, ``seed``,
``time_limit`` (seconds), ``min_cost`` (with the profile's ``target_p_match``).  Errors are JSON
``{"error": one line, "exit_code": n}``: 400 unreadable body, 413 too large, 422 bad input or
infeasible (with ``conflicting``), 503 busy (retry: every worker busy and the queue full, or no
worker free within the pool's ``max_wait``; exit code 75, never returned by the command line),
500 solver failure or time limit with no list.
"""
from __future__ import annotations

import asyncio

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from allocator.errors import InfeasibleError, InputError, SolverError
from allocator.web import service
from allocator.web.forms import MAX_PROFILE_BYTES, MAX_UPLOAD_BYTES
from allocator.web.service import TooLarge as _TooLarge
from allocator.web.jobs import Busy, Job, JobPool

router = APIRouter()
BUSY_EXIT_CODE = 75  # EX_TEMPFAIL (sysexits.h): nothing was run, retry later; the command line never exits so


def busy_response(e: Busy) -> JSONResponse:
    return JSONResponse({"error": f"busy: {e}", "exit_code": BUSY_EXIT_CODE, "retry": True}, status_code=503,
                        headers={"Retry-After": "5"})


async def finished(pool: JobPool, job: Job) -> None:
    """Wait for the job to end; while it waits for a worker, check the pool's wait bound."""
    fut = asyncio.wrap_future(job.future)
    while not fut.done() and job.finished is None:
        await asyncio.wait({fut}, timeout=None if job.started is not None else 0.25)
        pool.get(job.id)  # drops the job once it has waited longer than max_wait


async def read_parts(request: Request) -> tuple[bytes, bytes | None, str]:
    """(profile bytes, catalog bytes or None, catalog file name) from a raw or multipart body."""
    limit = MAX_PROFILE_BYTES + MAX_UPLOAD_BYTES + 64_000
    size = request.headers.get("content-length")
    if size is not None and size.isdigit() and int(size) > limit:
        raise _TooLarge(f"request body of {int(size):,} bytes is over the {limit:,}-byte limit "
                        f"(profile {MAX_PROFILE_BYTES:,}, catalog {MAX_UPLOAD_BYTES:,})")
    ctype = request.headers.get("content-type", "")
    if ctype.startswith("multipart/form-data"):
        form = await request.form()
        prof = form.get("profile")
        if prof is None:
            raise InputError("multipart request: no 'profile' field; send the profile TOML as field 'profile'")
        pbytes = (await prof.read(MAX_PROFILE_BYTES + 1)) if hasattr(prof, "read") else str(prof).encode()
        cat = form.get("catalog")
        if cat is None or (hasattr(cat, "filename") and not cat.filename and not cat.size):
            return pbytes, None, ""
        cbytes = (await cat.read(MAX_UPLOAD_BYTES + 1)) if hasattr(cat, "read") else str(cat).encode()
        return pbytes, cbytes, getattr(cat, "filename", None) or "catalog.csv"
    body = await request.body()
    if len(body) > limit:
        raise _TooLarge(f"request body of {len(body):,} bytes is over the {limit:,}-byte limit")
    return body, None, ""


@router.post("/api/solve")
async def api_solve(request: Request, draws: int = Query(service.DRAWS, ge=0, le=2_000_000),
                    seed: int = Query(0, ge=0), time_limit: float | None = Query(None, gt=0),
                    min_cost: bool = Query(False)):
    settings = request.app.state.settings
    limit = min(time_limit or settings.time_limit, settings.max_time_limit)
    try:
        pbytes, cbytes, cname = await read_parts(request)
        if not pbytes.strip():
            raise InputError("request body: empty; send the profile TOML as the body (or multipart 'profile')")
        profile = service.parse_profile(pbytes, "profile")
        catalog = service.parse_catalog(cbytes, cname) if cbytes is not None else None
    except _TooLarge as e:
        return JSONResponse(service.error_body(e), status_code=413)
    except InputError as e:
        status = 400 if ("not valid TOML" in str(e) or "UTF-8" in str(e) or "readable CSV" in str(e)) else 422
        return JSONResponse(service.error_body(e), status_code=status)

    def work(job):
        return service.to_json_dict(service.solve_result(profile, catalog, min_cost=min_cost, time_limit=limit,
                                                         draws=draws, seed=seed).to_dict())

    pool = request.app.state.pool
    try:
        job = pool.submit("api", work, time_limit=limit)
    except Busy as e:
        return busy_response(e)
    try:
        await finished(pool, job)
    finally:
        pool.forget(job.id)
    if job.error is None:
        return JSONResponse(job.result)
    e = job.error
    if isinstance(e, Busy):
        return busy_response(e)
    if isinstance(e, (InputError, InfeasibleError)):
        return JSONResponse(service.error_body(e), status_code=422)
    if isinstance(e, SolverError):
        return JSONResponse(service.error_body(e), status_code=500)
    return JSONResponse({"error": f"internal error: {type(e).__name__} (please report)", "exit_code": 1},
                        status_code=500)


@router.get("/api/health")
def health(request: Request):
    pool = request.app.state.pool
    return {"ok": True, "active": pool.active, "workers": pool.workers, "queue": pool.queue}
