"""The FastAPI app of `allocator serve`: the profile form and answer page (``pages``) and the JSON
API (``jsonapi``), on one bounded worker pool (``jobs``).

Everything is local: templates rendered on the server, htmx served from ``static/``, plots as
PNG from the existing matplotlib figures; the page loads nothing from another host.  Nothing
about the applicant is written to disk or logged; answers are kept in memory for ``ttl``
seconds so that the page can sort the table and offer downloads, then forgotten.

>>> from fastapi.testclient import TestClient  # doctest: +SKIP
>>> TestClient(create_app()).get("/").status_code  # doctest: +SKIP
200
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, PlainTextResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

from allocator.output.report import pct, pct_floored, plan_pct, plan_source, season_label, unproven_text
from allocator.verification.published_curve import relation as curve_relation
from allocator.web.messages import plain_text
from allocator.web.jobs import JobPool

HERE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Settings:
    workers: int = 2              # solves at once (the machine has 2 cores)
    queue: int = 4                # solves waiting; beyond this: "busy, retry"
    max_wait: float = 30.0        # seconds a solve may wait for a worker; not started by then: "busy, retry"
    time_limit: float = 20.0      # default seconds per solve (the form may lower or raise it to max_time_limit)
    max_time_limit: float = 120.0
    draws: int = 200_000          # Monte Carlo draws, as the CLI
    update_draws: int = 20_000    # simulated seasons checking a season update, as `allocator update`
    ttl: float = 900.0            # seconds an answer stays in memory for sorting and downloads
    wait: float = 2.5             # seconds POST /solve waits before it shows a progress bar instead


def create_app(settings: Settings | None = None) -> FastAPI:
    """A new app with its own worker pool."""
    from allocator.web import jsonapi, pages

    settings = settings or Settings()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI):
        yield
        app.state.pool.shutdown()

    app = FastAPI(title="allocator", docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan)
    app.state.settings = settings
    app.state.pool = JobPool(settings.workers, settings.queue, settings.ttl, settings.max_wait)
    app.state.tomls = {}  # profile TOML files offered for download (in memory, ttl)
    app.state.templates = Jinja2Templates(directory=str(HERE / "templates"))
    app.state.templates.env.filters["plain"] = plain_text  # library text on the page: no options, no paths
    app.state.templates.env.filters["pct"] = pct  # as the command line prints them (never 100.0% below 1)
    app.state.templates.env.filters["plan_pct"] = plan_pct  # the figure to plan on, whole percents rounded down
    app.state.templates.env.filters["pct_floored"] = pct_floored  # what it rounds down from, never reading as the next percent
    app.state.templates.env.filters["plan_source"] = plan_source  # and where it comes from, as the command line says
    app.state.templates.env.filters["curve_relation"] = curve_relation  # the published-curve check against the range
    app.state.templates.env.filters["season_label"] = season_label  # the worst-season figure, named as everywhere
    app.state.templates.env.filters["unproven"] = unproven_text  # a safety-first list not proven best, as the CLI says
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    app.include_router(pages.router)

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon():  # browsers ask for it even with the page's icon link: no 404 in the console
        return FileResponse(HERE / "static" / "favicon.svg", media_type="image/svg+xml")

    app.include_router(jsonapi.router)

    @app.exception_handler(RequestValidationError)
    async def _bad_request(request: Request, exc: RequestValidationError):
        err = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(x) for x in err.get("loc", ()) if x not in ("body", "query"))
        msg = f"{where}: {err.get('msg', 'invalid value')}".strip(": ")
        return JSONResponse({"error": msg, "exit_code": 2}, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException):
        if request.url.path.startswith("/api/"):
            return JSONResponse({"error": str(exc.detail), "exit_code": 2}, status_code=exc.status_code)
        return PlainTextResponse(f"{exc.status_code}: {exc.detail}", status_code=exc.status_code)

    @app.exception_handler(ClientDisconnect)
    async def _gone(request: Request, exc: ClientDisconnect):  # the client left mid-upload: no traceback
        return PlainTextResponse("client disconnected", status_code=400)  # nobody reads it

    @app.exception_handler(Exception)
    async def _internal(request: Request, exc: Exception):  # a bug: one line, no traceback, no inputs
        body = {"error": f"internal error: {type(exc).__name__} (please report)", "exit_code": 1}
        if request.url.path.startswith("/api/"):
            return JSONResponse(body, status_code=500)
        return PlainTextResponse(body["error"], status_code=500)

    return app
