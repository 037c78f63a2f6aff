"""The HTML pages: the profile form, the answer page, progress, downloads and plots.

htmx swaps server-rendered fragments (``HX-Request`` header); without JavaScript the same
routes return whole pages.  An answer is the finished solve job: its id is the answer's
address, valid in memory for the pool's ttl.  Every number shown comes from the job's
`solve --json` payload.
"""
from __future__ import annotations

import asyncio
import datetime as dt
import secrets
import time
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from starlette.datastructures import FormData

from allocator.errors import InputError
from allocator.web import body, figuredata, forms, formstate, seasonform, service
from allocator.web.jobs import Busy, Cancelled, Job

router = APIRouter()
MULTI = ("specialties", "divisions")
UPLOADS = ("catalog", "season_file")
SUPERSEDES = "supersedes"  # the form's hidden field: the solve or update this page is still waiting for
SEASON_SHOWN = "season_shown"  # the form's hidden field: the season section's values as the page showed them
ENTER = "enter"  # the name of the form's hidden default button (Enter in a field: POST /enter)
NO_SEASON_FILE = ("choose your season file (CSV): program_id,status, one row per application; the season file "
                  "downloaded with your list is a start")
SORTABLE = ("program_id", "name", "specialty", "city", "state", "tier", "p_match", "signal")


def _render(request: Request, name: str, status: int = 200, **ctx) -> HTMLResponse:
    from allocator import __version__

    ctx |= {"request": request, "full": not _htmx(request), "fields": forms.fields(), "presets": forms.PRESETS,
            "version": __version__, "max_wait": request.app.state.pool.max_wait,
            "stopping": request.app.state.pool.stopping(), "season_fields": seasonform.SEASON_FIELDS,
            "server_today": dt.date.today().isoformat(), "max_upload_bytes": forms.MAX_UPLOAD_BYTES}
    return request.app.state.templates.TemplateResponse(request, name, ctx, status_code=status)


def _htmx(request: Request) -> bool:
    """An htmx swap (a fragment answers it); htmx restoring a page from the history (Back to an
    address it pushed) asks for the whole page."""
    return request.headers.get("HX-Request") == "true" and request.headers.get("HX-History-Restore-Request") != "true"


def _pushed(response: Response, job: Job) -> Response:
    """The job's address in the browser's history (htmx's HX-Push-Url), so that reloading the page
    or coming back to it shows the progress or the answer, with the form's values, as without JavaScript."""
    response.headers["HX-Push-Url"] = f"/jobs/{job.id}"
    return response


def _state_of(job: Job | None) -> formstate.FormState:
    """The form as it was submitted for this job (values kept in memory with the job), else the defaults."""
    values = (job.context.get("values") if job is not None else None) or forms.default_values()
    return formstate.FormState(dict(values))


def _gone(request: Request) -> HTMLResponse:
    """The answer is no longer in memory: a fragment for htmx, else the whole page with the form."""
    if _htmx(request):
        return _render(request, "gone.html", 404)
    return _render(request, "page.html", 404, state=_state_of(None), answer=None, gone=True)


def _figures(request: Request, answer: Job) -> dict[str, Job]:
    """The budget curve and LA frontier jobs started from this answer (those still in memory)."""
    pool = request.app.state.pool
    jobs = {kind: pool.get(fid) for kind, fid in answer.context.get("figures", {}).items()}
    return {kind: j for kind, j in jobs.items() if j is not None}


def _full_page(request: Request, job: Job, status: int = 200, sort: str = "p_match", order: str = "desc",
               **extra) -> HTMLResponse:
    """The whole page for a solve job (no htmx): the form with the job's values, then its progress,
    error or answer with its figures; while anything runs, the page reloads itself (no JavaScript needed)."""
    state = _state_of(job)
    view = _job_view(job, state)
    figs = _figures(request, job) if view.get("answer") else {}
    if view.get("answer"):
        view |= {"rows": _sorted(job.result, sort, order), "sort": sort, "order": order}
    busy = [j for j in (job, *figs.values()) if j.state in ("waiting", "running")]
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    refresh = (here if request.method == "GET" else f"/jobs/{job.id}") if busy else None
    return _render(request, "page.html", status, state=state, figures=figs, refresh=refresh, **(view | extra))


@router.api_route("/", methods=["GET", "HEAD"], response_class=HTMLResponse)  # HEAD: uptime checks, curl -I
def index(request: Request, preset: str | None = None, form: str | None = None):
    """The form: the example's values, a preset's, or (``form``: a solve or update's id) the values
    submitted for that request, while it is in memory: the address that page.js gives the form's
    place in the history before htmx pushes the answer's, so that Back shows what was typed."""
    state = formstate.FormState(forms.default_values())
    if form is not None:
        job = request.app.state.pool.get(form)
        if job is None or job.kind not in ("solve", "cheapest", "update"):
            return _render(request, "page.html", state=state, answer=None, gone=True)
        return _render(request, "page.html", state=_state_of(job), answer=None, catalog_name=job.context.get("catalog"))
    if preset:
        try:
            state.values = forms.preset_values(preset)
        except InputError as e:
            state.message = str(e)
    return _render(request, "page.html", state=state, answer=None)


async def _read_form(request: Request, uploads: int = 1) -> FormData:
    """The posted form, read into memory (nothing on disk) under a cap of the form's fields and
    ``uploads`` files of twice the upload limit (a file somewhat over its limit is still read, so
    the message under its field names it and the form keeps its values); over the cap:
    service.TooLarge; not form data: body.NotFormData."""
    limit = forms.MAX_PROFILE_BYTES + uploads * 2 * forms.MAX_UPLOAD_BYTES
    files = "a catalog file" if uploads == 1 else "a catalog file and a season file"
    return await body.form(request, limit, f"the form, and {files} of at most {forms.MAX_UPLOAD_BYTES / 1e6:.0f} MB")


def _supersede(request: Request, form: FormData) -> None:
    """A new submission from a page replaces the solve or update that page was waiting for: that
    job is cancelled (dropped at once if it still waits; a running one stops at its next step and
    its answer is thrown away), so a second click never keeps two workers for one page."""
    job_id = str(form.get(SUPERSEDES) or "").strip()
    pool = request.app.state.pool
    job = pool.get(job_id) if job_id else None
    if job is not None and job.kind in ("solve", "cheapest", "update"):
        pool.cancel(job.id)


def _refuse_body(request: Request, e: InputError, template: str = "page.html") -> Response:
    """A posted form that cannot be read: not form data (400, one plain line), or too large
    (413: the message on the form, which starts afresh because its values were not read)."""
    msg = service.web_message(e)
    if not isinstance(e, service.TooLarge):
        return PlainTextResponse(msg, status_code=400)
    if template == "toml_link.html" and _htmx(request):
        return _render(request, template, 413, error=msg)
    return _render(request, "page.html", 413, state=formstate.FormState(forms.default_values(), message=msg),
                   answer=None)


def _repeated(form: FormData) -> str:
    """The message for a field posted more than once (only the last would be read), else ""."""
    from allocator.web.jsonapi import given_once

    try:
        given_once(form, "form field", skip=MULTI)
    except InputError as e:
        return str(e)
    return ""


async def _form_values(form: FormData) -> tuple[dict, tuple[bytes, str] | None]:
    values: dict = {}
    for k in form.keys():
        if k in MULTI:
            values[k] = [str(x) for x in form.getlist(k)]
        elif k not in UPLOADS and k not in (SUPERSEDES, SEASON_SHOWN, ENTER):
            values[k] = str(form.get(k))
    for b in ("step2", "la_ties", "reapplicant"):
        values[b] = values.get(b) in ("on", "true", "1")
    return values, await _upload(form, "catalog")


def _catalog_name(upload: tuple[bytes, str] | None) -> str | None:
    """The uploaded catalog's file name as the page shows it, or None (the demo catalogs)."""
    return service.upload_name(upload[1], "catalog.csv") if upload is not None else None


async def _upload(form, name: str) -> tuple[bytes, str] | None:
    """(bytes, file name) of a chosen file (at most the upload limit + 1 byte read), else None."""
    up = form.get(name)
    if up is not None and hasattr(up, "read") and (up.filename or "").strip():
        return await up.read(forms.MAX_UPLOAD_BYTES + 1), up.filename
    return None


@router.post("/solve", response_class=HTMLResponse)
async def solve_form(request: Request):
    try:
        form = await _read_form(request)
    except InputError as e:
        return _refuse_body(request, e)
    return await _solve(request, form)


@router.post("/enter", response_class=HTMLResponse)
async def enter_form(request: Request):
    """The form sent by the Enter key in one of its fields: a browser sends a form by Enter with
    its first submit button, the form's hidden default (else "Find my list" would answer Enter in
    a season field too).  Without JavaScript nothing says which field had the focus, so the season
    update runs when the season section holds something new (:func:`_season_is_new`), the solve
    otherwise; with JavaScript, page.js sends Enter to the button of the field's own section."""
    try:
        form = await _read_form(request, uploads=2)
    except InputError as e:
        return _refuse_body(request, e)
    return await (_update(request, form) if _season_is_new(form) else _solve(request, form))


def _season_is_new(form: FormData) -> bool:
    """A season file chosen, or the date, extra budget or count changed from what the page showed
    (its hidden SEASON_SHOWN field): the season section is what is being filled in."""
    up = form.get("season_file")
    if up is not None and hasattr(up, "read") and (up.filename or "").strip():
        return True
    shown = form.get(SEASON_SHOWN)
    return shown is not None and _season_shown(form) != str(shown)


def _season_shown(values) -> str:
    """The season section's date, extra budget and count, as one string (SEASON_SHOWN's value)."""
    return "|".join(str(values.get(k) or "") for k in ("today", "add_budget", "max_add"))


async def _solve(request: Request, form: FormData) -> Response:
    settings, pool = request.app.state.settings, request.app.state.pool
    values, upload = await _form_values(form)
    state = formstate.FormState(values, message=_repeated(form))
    if state.message:
        return _render(request, "page.html", 422, state=state, answer=None)
    catalog = None
    if upload is not None:  # first: with no specialty ticked, the catalog's specialties are the applicant's
        try:
            catalog = service.parse_catalog(*upload)
        except InputError as e:
            state.errors["catalog"] = service.web_message(e)
            return _render(request, "page.html", _input_status(e), state=state, answer=None)
        if not values.get("specialties"):
            values["specialties"] = catalog.specialties
    errs: list[InputError] = []  # every field's error at once
    profile, doc = forms.attempt(errs, forms.profile_from_values, values) or (None, None)
    opts = forms.attempt(errs, forms.run_options, values)
    if catalog is None:
        forms.attempt(errs, forms.check_specialties, values)
    if errs:
        state.fail(forms.FormErrors(errs))
        return _render(request, "page.html", 422, state=state, answer=None)
    limit = min(opts["time_limit"], settings.max_time_limit)

    def work(job: Job):
        res = service.solve_result(profile, catalog, min_cost=opts["min_cost"], time_limit=limit,
                                   draws=settings.draws, target_on=opts["target_on"])
        if job.cancelled:
            raise Cancelled()
        job.context["problem"] = res.problem
        job.context["list_csv"] = res.list_csv()  # the download is `solve --out X.csv`'s file, by the same writer
        return service.to_json_dict(res.to_dict())

    _supersede(request, form)  # only once the new request is valid: a form error keeps the answer on its way
    try:
        job = pool.submit("cheapest" if opts["min_cost"] else "solve", work, time_limit=limit,
                          context={"toml": forms.to_toml(doc), "values": values, "catalog": _catalog_name(upload)})
    except Busy as e:
        return _render(request, "page.html", 503, state=state, answer=None, busy=str(e), busy_retry="/solve")
    await _wait(job, settings.wait)
    if not _htmx(request):
        return _see_job(job)
    return _pushed(_render(request, "page.html", _job_status(job), state=state, **_job_view(job, state)), job)


def _see_job(job: Job) -> Response:
    """A plain form post that started a solve or update (no JavaScript) is answered by the job's
    own address (303, post/redirect/get): reloading the answer shows it again instead of sending
    the form a second time, and Back leaves the answer for the form, not for a progress page that
    reloads itself forward to the answer."""
    return RedirectResponse(f"/jobs/{job.id}", status_code=303)


async def _wait(job: Job, seconds: float) -> None:
    """Wait up to ``seconds`` for the job to end (after that the page shows its progress)."""
    t0 = time.monotonic()
    while job.finished is None and time.monotonic() - t0 < seconds:
        await asyncio.sleep(0.05)


def _input_status(e: InputError) -> int:
    return 413 if isinstance(e, service.TooLarge) else 422


def _job_status(job: Job) -> int:
    """The status of a job that ended in an error the page shows (service.error_status: 422 for
    its input, limits or time limit, 500 for a solver failure, as the API); else 200 (the
    answer, or its progress)."""
    return service.error_status(job.error) if job.error is not None and service.reported(job.error) else 200


@router.post("/update", response_class=HTMLResponse)
async def update_form(request: Request):
    try:
        form = await _read_form(request, uploads=2)
    except InputError as e:
        return _refuse_body(request, e)
    return await _update(request, form)


async def _update(request: Request, form: FormData) -> Response:
    """The season update (`allocator update --json`) for the form's profile, the uploaded season
    file, the date and the optional extra budget and count; the catalog upload if any."""
    settings, pool = request.app.state.settings, request.app.state.pool
    values, upload = await _form_values(form)
    season_up = await _upload(form, "season_file")
    state = formstate.FormState(values, message=_repeated(form))
    if state.message:
        return _render(request, "page.html", 422, state=state, answer=None)
    season_name = service.upload_name(season_up[1], "season.csv") if season_up else None

    def refuse(e: InputError, name: str | None = None) -> HTMLResponse:
        if name:
            state.errors[name] = service.web_message(e)
        else:
            _fail_update(state, e, season_name)
        return _render(request, "page.html", _input_status(e), state=state, answer=None)

    catalog = None
    if upload is not None:
        try:
            catalog = service.parse_catalog(*upload)
        except InputError as e:
            return refuse(e, "catalog")
        if not values.get("specialties"):
            values["specialties"] = catalog.specialties
    errs: list[InputError] = []  # every field's error at once, the profile's and the season section's
    profile, _ = forms.attempt(errs, forms.profile_from_values, values) or (None, None)
    if catalog is None:
        forms.attempt(errs, forms.check_specialties, values)
    opts = forms.attempt(errs, seasonform.season_options, values, dt.date.today())
    if season_up is None:  # said with the other fields' errors
        state.errors["season_file"] = NO_SEASON_FILE
    if errs:
        return refuse(forms.FormErrors(errs))
    if season_up is None:
        return _render(request, "page.html", 422, state=state, answer=None)
    try:
        season = service.parse_season(season_up[0], season_name, opts["today"])
    except InputError as e:
        return refuse(e)

    def work(job: Job):
        return service.update_payload(profile, season, catalog, draws=settings.update_draws, **opts)

    _supersede(request, form)  # only once the new request is valid
    try:
        job = pool.submit("update", work, context={"values": values, "season_name": season_name,
                                              "catalog": _catalog_name(upload)})
    except Busy as e:
        return _render(request, "page.html", 503, state=state, answer=None, busy=str(e), busy_retry="/update")
    await _wait(job, settings.wait)
    if not _htmx(request):
        return _see_job(job)
    return _pushed(_render(request, "page.html", _job_status(job), state=state, **_job_view(job, state)), job)


def _fail_update(state: formstate.FormState, e: InputError, season_name: str | None) -> None:
    """An update's error under the season field it is about (file, date, extra budget or
    count), else under the profile field it names (as a solve's)."""
    for one in e.errors if isinstance(e, forms.FormErrors) else [e]:
        msg = service.web_message(one)
        names = seasonform.season_field_of(msg, season_name)
        for n in names:
            state.errors.setdefault(n, formstate.form_words(msg))
        if not names:
            state.fail(one)


def _job_view(job: Job, state: formstate.FormState | None = None) -> dict:
    """Template context for a solve or season-update job: progress, the answer, or the error next
    to the field; with the catalog it used (an upload's file name, else None: the demo catalogs),
    which the answer names and the file field recalls (an upload is not kept for the next request)."""
    values = job.context.get("values") or {}
    return _job_state_view(job, state) | {"catalog_name": job.context.get("catalog"),
                                          "catalog_specialties": list(values.get("specialties") or [])}


def _job_state_view(job: Job, state: formstate.FormState | None) -> dict:
    if job.state in ("waiting", "running", "cancelled"):
        return {"answer": None, "job": job}
    if isinstance(job.error, Busy):
        return {"answer": None, "busy": str(job.error), "busy_retry": "/update" if job.kind == "update" else "/solve"}
    if job.error is not None:
        e = job.error
        msg = formstate.form_words(service.web_message(e)) if service.reported(e) else \
            f"internal error: {type(e).__name__} (please report)"
        if state is not None and isinstance(e, InputError):
            if job.kind == "update":
                _fail_update(state, e, job.context.get("season_name"))
            else:
                state.fail(e)
        return {"answer": None, "error": msg, "kind": type(e).__name__, "job_kind": job.kind}
    if job.kind == "update":
        return {"answer": None, "season": job.result}
    return {"answer": job.result, "answer_id": job.id, "rows": _sorted(job.result, "p_match", "desc"),
            "sort": "p_match", "order": "desc", "tiers": _tiers(job.result), "alts": _alternatives(job.result)}


def _alternatives(d: dict) -> list[tuple[str, dict]]:
    """The JSON's ``alternatives`` as (label, its figures with ``trade``: what the answer gives
    up and gains against it, in the words the command prints: :func:`allocator.output.trade.payload_trades`)."""
    from allocator.output.trade import payload_trades

    return [(label, {**a, "trade": sentence}) for label, a, sentence in payload_trades(d)]


def _tiers(d: dict) -> dict[str, int]:
    """Programs on the list by tier (a tally of the rows shown), unless the JSON gives the counts."""
    given = d.get("counts_by_tier") or d.get("n_by_tier")
    if isinstance(given, dict):
        return given
    out = {"la": 0, "west": 0, "elsewhere": 0}
    for r in d.get("selected", []):
        out[r.get("tier") or "elsewhere"] = out.get(r.get("tier") or "elsewhere", 0) + 1
    return out


def _sorted(d: dict, key: str, order: str) -> list[dict]:
    rows = list(d.get("selected", []))
    if key not in SORTABLE:
        key = "p_match"
    num = key == "p_match"
    rows.sort(key=lambda r: r["program_id"])  # ties by program_id, ascending (as the JSON)
    rows.sort(key=lambda r: (r.get(key) or 0) if num else str(r.get(key) or "").lower(), reverse=(order == "desc"))
    rows.sort(key=lambda r: r.get(key) is None)  # missing values last
    return rows


def _answer_job(request: Request, answer_id: str) -> Job | None:
    job = request.app.state.pool.get(answer_id)
    return job if job is not None and job.kind in ("solve", "cheapest") else None


@router.get("/jobs/{job_id}", response_class=HTMLResponse)
def poll(request: Request, job_id: str):
    job = request.app.state.pool.get(job_id)
    if job is None:
        return _gone(request)
    if job.kind in ("budget", "frontier"):
        if not _htmx(request):  # the answer's page, landing on this figure
            answer = _answer_job(request, job.context.get("answer", ""))
            return _full_page(request, answer, landing=f"figure-{job.kind}") if answer is not None else _gone(request)
        return _render(request, "figure.html", job=job, kind=job.kind)
    if not _htmx(request):
        return _full_page(request, job, _job_status(job))
    return _render(request, "answer.html", _job_status(job), **_job_view(job))


@router.post("/jobs/{job_id}/cancel", response_class=HTMLResponse)
def cancel(request: Request, job_id: str):
    job = request.app.state.pool.cancel(job_id)
    if job is None:
        return _gone(request)
    if not _htmx(request):  # a plain form post: show the job's page (reloading it does not cancel again)
        return RedirectResponse(f"/jobs/{job.id}", status_code=303)
    if job.kind in ("budget", "frontier"):
        return _render(request, "figure.html", job=job, kind=job.kind)
    return _render(request, "answer.html", **_job_view(job))


@router.get("/answer/{answer_id}", response_class=HTMLResponse)
def answer_page(request: Request, answer_id: str, sort: str = "p_match", order: str = "desc"):
    job = _answer_job(request, answer_id)
    if job is None:
        return _gone(request)
    order = "asc" if order == "asc" else "desc"
    if not _htmx(request):
        return _full_page(request, job, sort=sort, order=order)
    view = _job_view(job)
    if view.get("answer"):
        view |= {"rows": _sorted(job.result, sort, order), "sort": sort, "order": order}
    return _render(request, "answer.html", **view)


@router.get("/answer/{answer_id}/table", response_class=HTMLResponse)
def table(request: Request, answer_id: str, sort: str = "p_match", order: str = "desc"):
    job = _answer_job(request, answer_id)
    if job is None or job.result is None:
        return _gone(request)
    order = "asc" if order == "asc" else "desc"
    if not _htmx(request):
        return RedirectResponse(f"/answer/{answer_id}?sort={quote(sort)}&order={order}#list-table", status_code=303)
    return _render(request, "table.html", answer=job.result, answer_id=answer_id,
                   rows=_sorted(job.result, sort, order), sort=sort, order=order)


def _download(text: str | bytes, name: str, media: str) -> Response:
    return Response(text, media_type=media, headers={"Content-Disposition": f'attachment; filename="{name}"',
                                                     "Cache-Control": "no-store"})


@router.get("/answer/{answer_id}/{name}")
def download(request: Request, answer_id: str, name: str):
    job = _answer_job(request, answer_id)
    if job is None or job.result is None:
        return _gone(request)
    d = job.result
    if name == "list.csv":
        return _download(job.context["list_csv"], "allocator_list.csv", "text/csv")
    if name == "season.csv":
        return _download(service.season_csv(d), "allocator_season.csv", "text/csv")
    if name == "answer.json":
        from allocator.cli.common import _json

        return _download(_json(d), "allocator_answer.json", "application/json")
    if name == "profile.toml":
        return _download(job.context["toml"], "allocator_profile.toml", "application/toml")
    return _gone(request)


@router.post("/answer/{answer_id}/curve/{kind}", response_class=HTMLResponse)
def start_curve(request: Request, answer_id: str, kind: str):
    job = _answer_job(request, answer_id)
    if kind not in ("budget", "frontier") or job is None or "problem" not in job.context:
        return _gone(request)
    problem, limit = job.context["problem"], request.app.state.settings.time_limit

    def work(j: Job) -> figuredata.FigureView:  # the PNG with its alt text, key and points as a table
        draw = service.budget_curve if kind == "budget" else service.la_frontier
        drawn = draw(problem, progress=j.progress, time_limit=limit)
        return figuredata.describe(kind, drawn, copula=problem.fm is None)

    try:
        answer = job.result or {}
        caption = service.budget_caption(problem.objective, answer.get("objective"), bool(answer.get("p_match_plan")))
        fig = request.app.state.pool.submit(kind, work, context={"answer": answer_id, "caption": caption})
    except Busy as e:
        if not _htmx(request):
            return _full_page(request, job, 503, figure_busy={kind: str(e)}, landing=f"figure-{kind}")
        return _render(request, "figure.html", 503, job=None, kind=kind, busy=str(e), answer_id=answer_id)
    job.context.setdefault("figures", {})[kind] = fig.id
    if not _htmx(request):  # a plain form post: the answer page, which reloads itself until the figure is drawn
        return RedirectResponse(f"/jobs/{fig.id}", status_code=303)
    return _render(request, "figure.html", job=fig, kind=kind)


@router.get("/plots/{job_id}.png")
def plot_png(request: Request, job_id: str):
    job = request.app.state.pool.get(job_id)
    if job is None or job.kind not in ("budget", "frontier") or job.result is None:
        return Response(status_code=404)
    return Response(job.result.png, media_type="image/png", headers={"Cache-Control": "no-store"})


@router.post("/profile.toml")
async def profile_toml(request: Request):
    """The form's profile as TOML (for `allocator solve`).  Without htmx: the file itself; with htmx: a
    link to it (kept in memory for the ttl), or the error next to the field."""
    try:
        form = await _read_form(request)
        values, _ = await _form_values(form)
    except InputError as e:
        return _refuse_body(request, e, "toml_link.html")
    htmx = _htmx(request)
    try:
        twice = _repeated(form)
        if twice:
            raise InputError(twice)
        _, doc = forms.profile_from_values(values)
    except InputError as e:
        msg = formstate.form_words(service.web_message(e))  # the form's button: the form's words
        if htmx:
            return _render(request, "toml_link.html", 422, error=msg)
        return _toml_refused(request, values, e, whole_form=bool(twice))
    text = forms.to_toml(doc)
    if not htmx:
        return _download(text, "allocator_profile.toml", "application/toml")
    store = request.app.state.tomls
    now = time.monotonic()
    for k in [k for k, (_, t) in store.items() if now - t > request.app.state.settings.ttl]:
        store.pop(k, None)
    while len(store) >= 200:
        store.pop(next(iter(store)))
    key = secrets.token_urlsafe(16)
    store[key] = (text, now)
    return _render(request, "toml_link.html", key=key)


def _toml_refused(request: Request, values: dict, e: InputError, whole_form: bool) -> Response:
    """Without JavaScript, "Profile as TOML" on a form with a bad value: the whole page, the error
    under its field (``whole_form``: above the form, as a refused solve shows a field posted
    twice), never a bare JSON body in the browser."""
    state = formstate.FormState(values, message=formstate.form_words(service.web_message(e)) if whole_form else "")
    if not whole_form:
        state.fail(forms.FormErrors([e]))
    return _render(request, "page.html", 422, state=state, answer=None)


@router.get("/profile/{key}.toml")
def profile_file(request: Request, key: str):
    item = request.app.state.tomls.get(key)
    if item is None:
        return _gone(request)
    return _download(item[0], "allocator_profile.toml", "application/toml")
