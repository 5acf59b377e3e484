"""The dashboard: FastAPI + Jinja2, one route per page and a JSON twin for each.

``/benchmarks`` renders the page; ``/benchmarks.json`` returns the same page function's
data (``Page.data``), so the two never disagree. Charts are Vega-Lite specs from
``present.charts`` drawn in the browser by a Vega bundle this server makes with
vl-convert (no CDN: the dashboard works offline). The OpenAPI document is
``/openapi.json``; the interactive docs are off because they load scripts from a CDN.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal

import orjson
from fastapi import Depends, FastAPI, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, Field

from fleetwise.errors import FleetwiseError, InputError, StoreError
from fleetwise.models import ActionStatus, Decision, DecisionKind
from fleetwise.plan.fleet import FleetProfile
from fleetwise.present.web import (
    pages_alignment,
    pages_bench,
    pages_fleet,
    pages_ledger,
    pages_people,
    pages_plan,
)
from fleetwise.present.web.page import Page
from fleetwise.present.web.reader import StoreReader
from fleetwise.present.web.security import TokenGuard, add_security_headers
from fleetwise.present.web.templating import render
from fleetwise.store import Store
from fleetwise.usecases import decisions

STATIC = Path(__file__).with_name("static")
#: SQLite integers are 64-bit; a larger id in a URL is simply "no such run".
MAX_ID = 2**62
RunId = Annotated[int | None, Query(ge=1, le=MAX_ID, description="Run id.")]
Limit = Annotated[int, Query(ge=1, le=500, description="Rows per table.")]
ShortText = Annotated[str | None, Query(max_length=200)]
RunSpec = Annotated[
    str | None, Query(max_length=200, description="A run id, run ids (3,4,5) or a tag.")
]
ScoreBy = Literal["roi", "npv", "payback", "wsjf", "rice"]


class JsonTwin(JSONResponse):
    """JSON via orjson: NaN and infinities (a ratio of zero) become null, not an error."""

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content, option=orjson.OPT_NON_STR_KEYS)


class DecisionIn(BaseModel):
    """A stakeholder decision on a backlog action (as ``fleetwise decide``)."""

    action_id: int = Field(ge=1, le=MAX_ID)
    decision: DecisionKind
    by: str = Field(min_length=1, max_length=200, pattern=r"\S")
    note: str = Field(default="", max_length=4000)


class DecisionOut(BaseModel):
    decision: Decision
    status: ActionStatus


@lru_cache(maxsize=1)
def vega_bundle() -> bytes:
    """Vega, Vega-Lite and vega-embed as one script (about 0.9 MB; made once)."""
    import vl_convert

    # The snippet is vl-convert's default: the three libraries as globals for app.js.
    bundle: str = vl_convert.javascript_bundle(
        "window.vegaEmbed = vegaEmbed; window.vega = vega; window.vegaLite = vegaLite;"
    )
    return bundle.encode()


def create_app(
    store_url: str, *, token: str | None = None, profile: FleetProfile | None = None
) -> FastAPI:
    """The dashboard over the store at ``store_url``, its dollars priced with the fleet
    ``profile`` (default: the one in force, as the CLI resolves it); ``token`` enables
    writing."""
    from fleetwise import __version__
    from fleetwise.usecases.fleet import profile_for

    reader = StoreReader(Store(store_url), profile or profile_for())
    guard = TokenGuard(token)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        reader.store.close()

    app = FastAPI(
        lifespan=lifespan,
        title="fleetwise dashboard",
        version=__version__,
        docs_url=None,
        redoc_url=None,
        default_response_class=JsonTwin,
    )
    app.state.reader = reader
    app.middleware("http")(add_security_headers)

    @app.exception_handler(FleetwiseError)
    async def _fleetwise_error(request: Request, exc: FleetwiseError) -> Response:
        status = 400 if isinstance(exc, InputError) else 503 if isinstance(exc, StoreError) else 500
        if request.url.path.endswith(".json") or request.method != "GET":
            return JsonTwin({"detail": str(exc)}, status_code=status)
        return HTMLResponse(render("error.html", {"message": str(exc)}), status_code=status)

    def html(template: str, page: Page[Any], request: Request, **extra: Any) -> HTMLResponse:
        context = {"data": page.data, "charts": page.charts, "path": request.url.path, **extra}
        return HTMLResponse(render(template, context))

    @app.get("/static/vega.js", include_in_schema=False)
    def vega_js() -> Response:
        return Response(
            vega_bundle(),
            media_type="text/javascript",
            headers={"Cache-Control": "public, max-age=86400"},
        )

    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/", include_in_schema=False)
    def root() -> RedirectResponse:
        return RedirectResponse("/overview")

    def today() -> Any:
        return datetime.now(UTC).date()

    @app.get("/overview", include_in_schema=False)
    def overview(request: Request) -> HTMLResponse:
        return html("overview.html", pages_plan.overview_page(reader, today(), True), request)

    @app.get("/overview.json", response_model=pages_plan.OverviewPage)
    def overview_json() -> Any:
        return pages_plan.overview_page(reader, today()).data

    @app.get("/benchmarks", include_in_schema=False)
    def benchmarks(
        request: Request,
        limit: Limit = 50,
        tag: ShortText = None,
        series: ShortText = None,
        a: RunSpec = None,
        b: RunSpec = None,
    ) -> HTMLResponse:
        page = pages_bench.benchmarks_page(
            reader, limit=limit, tag=tag, series=series, a=a, b=b, charts=True
        )
        return html("benchmarks.html", page, request, query={"tag": tag, "a": a, "b": b})

    @app.get("/benchmarks.json", response_model=pages_bench.BenchmarksPage)
    def benchmarks_json(
        limit: Limit = 50,
        tag: ShortText = None,
        series: ShortText = None,
        a: RunSpec = None,
        b: RunSpec = None,
    ) -> Any:
        return pages_bench.benchmarks_page(
            reader, limit=limit, tag=tag, series=series, a=a, b=b
        ).data

    @app.get("/diagnosis", include_in_schema=False)
    def diagnosis(request: Request) -> HTMLResponse:
        return html("diagnosis.html", pages_fleet.diagnosis_page(reader), request)

    @app.get("/diagnosis.json", response_model=pages_fleet.DiagnosisPage)
    def diagnosis_json() -> Any:
        return pages_fleet.diagnosis_page(reader).data

    @app.get("/plan", include_in_schema=False)
    def plan(request: Request, by: ScoreBy = "roi") -> HTMLResponse:
        page = pages_plan.plan_page(reader, by)
        return html("plan.html", page, request, writable=token is not None)

    @app.get("/plan.json", response_model=pages_plan.PlanPage)
    def plan_json(by: ScoreBy = "roi") -> Any:
        return pages_plan.plan_page(reader, by).data

    @app.post(
        "/plan/decisions",
        response_model=DecisionOut,
        status_code=201,
        dependencies=[Depends(guard)],
        responses={401: {"description": "no or wrong token"}, 403: {"description": "no token"}},
    )
    def record_decision(body: DecisionIn) -> Any:
        done = decisions.record_decision(
            reader.store, body.action_id, body.decision, body.by, body.note
        )
        return DecisionOut(decision=done.decision, status=done.after)

    @app.get("/ledger", include_in_schema=False)
    def ledger(request: Request) -> HTMLResponse:
        return html("ledger.html", pages_ledger.ledger_page(reader, True), request)

    @app.get("/ledger.json", response_model=pages_ledger.LedgerPage)
    def ledger_json() -> Any:
        return pages_ledger.ledger_page(reader).data

    @app.get("/capacity", include_in_schema=False)
    def capacity(request: Request) -> HTMLResponse:
        return html("capacity.html", pages_fleet.capacity_page(reader, True), request)

    @app.get("/capacity.json", response_model=pages_fleet.CapacityPage)
    def capacity_json() -> Any:
        return pages_fleet.capacity_page(reader).data

    @app.get("/process", include_in_schema=False)
    def process(request: Request) -> HTMLResponse:
        return html("process.html", pages_fleet.process_page(reader, True), request)

    @app.get("/process.json", response_model=pages_fleet.ProcessPage)
    def process_json() -> Any:
        return pages_fleet.process_page(reader).data

    @app.get("/api/process", response_model=pages_fleet.ProcessPage, include_in_schema=False)
    def process_api() -> Any:
        """The Process page's JSON twin (also at ``/process.json``), with the process map."""
        return pages_fleet.process_page(reader).data

    @app.get("/alignment", include_in_schema=False)
    def alignment(request: Request) -> HTMLResponse:
        return html("alignment.html", pages_alignment.alignment_page(reader, today()), request)

    @app.get("/alignment.json", response_model=pages_alignment.AlignmentPage)
    def alignment_json() -> Any:
        return pages_alignment.alignment_page(reader, today()).data

    @app.get(
        "/api/alignment", response_model=pages_alignment.AlignmentPage, include_in_schema=False
    )
    def alignment_api() -> Any:
        """The Alignment page's JSON twin (also at ``/alignment.json``)."""
        return pages_alignment.alignment_page(reader, today()).data

    @app.get("/people", include_in_schema=False)
    def people(request: Request) -> HTMLResponse:
        return html("people.html", pages_people.people_page(reader, True), request)

    @app.get("/people.json", response_model=pages_people.PeoplePage)
    def people_json() -> Any:
        return pages_people.people_page(reader).data

    @app.get("/api/people", response_model=pages_people.PeoplePage, include_in_schema=False)
    def people_api() -> Any:
        """The People page's JSON twin (also at ``/people.json``)."""
        return pages_people.people_page(reader).data

    @app.get("/retros", include_in_schema=False)
    def retros(request: Request) -> HTMLResponse:
        return html("retros.html", pages_fleet.retros_page(reader), request)

    @app.get("/retros.json", response_model=pages_fleet.RetrosPage)
    def retros_json() -> Any:
        return pages_fleet.retros_page(reader).data

    return app
