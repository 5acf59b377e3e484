"""The dashboard's safety: user data is inert, writing needs the token, every answer
carries the security headers, and fuzzing the OpenAPI spec finds no server error."""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from web_seed import EVIL, seed

from fleetwise.present.web import create_app
from fleetwise.store import Store

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # starlette's TestClient deprecation (see test_web_pages)
    import schemathesis
    from fastapi.testclient import TestClient
    from schemathesis.checks import not_a_server_error

TOKEN = "s3cret-token"
PAGES = ["/overview", "/benchmarks", "/diagnosis", "/plan", "/capacity", "/process", "/retros"]


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> str:
    return seed(tmp_path_factory.mktemp("websec") / "fleetwise.db")


@pytest.fixture(scope="module")
def client(seeded: str) -> Iterator[TestClient]:
    with TestClient(create_app(seeded, token=TOKEN)) as c:
        yield c


@pytest.mark.parametrize("path", PAGES)
def test_stored_script_is_escaped(client: TestClient, path: str) -> None:
    html = client.get(path).text
    assert "<script>alert" not in html
    # Only our own script tags (the bundle, app.js) and JSON data blocks reach the page.
    for tag in re.findall(r"<script[^>]*>", html):
        assert tag in (
            '<script src="/static/vega.js">',
            '<script src="/static/app.js">',
        ) or tag.startswith('<script type="application/json"'), tag


def test_the_script_shows_as_text_where_it_was_stored(client: TestClient) -> None:
    escaped = "&lt;script&gt;alert(&#39;fleetwise&#39;)&lt;/script&gt;"
    assert escaped in client.get("/benchmarks").text  # a run tag
    assert escaped in client.get("/plan").text  # who decided
    assert escaped in client.get("/retros").text  # a team name
    # In a tag link's query string it is URL-encoded, not markup.
    assert "tag=%3Cscript%3E" in client.get("/benchmarks").text
    assert EVIL in [d["by"] for d in client.get("/plan.json").json()["decisions"]]


@pytest.mark.parametrize("path", [*PAGES, "/overview.json", "/static/app.js", "/nope"])
def test_security_headers_on_every_answer(client: TestClient, path: str) -> None:
    h = client.get(path).headers
    csp = h["content-security-policy"]
    assert "script-src 'self';" in csp and "unsafe-inline" not in csp.split("style-src")[0]
    assert "unsafe-eval" not in csp and "frame-ancestors 'none'" in csp
    assert h["x-content-type-options"] == "nosniff"
    assert h["x-frame-options"] == "DENY"
    assert h["referrer-policy"] == "no-referrer"


def _decision(action_id: int) -> dict[str, object]:
    return {"action_id": action_id, "decision": "defer", "by": "cto", "note": "next quarter"}


def test_recording_a_decision_needs_the_token(client: TestClient, seeded: str) -> None:
    store = Store(seeded)
    action = store.actions()[-1]
    assert action.id is not None
    before = len(store.decisions())
    assert client.post("/plan/decisions", json=_decision(action.id)).status_code == 401
    wrong = {"Authorization": "Bearer nope"}
    r = client.post("/plan/decisions", json=_decision(action.id), headers=wrong)
    assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
    assert len(store.decisions()) == before
    ok = {"Authorization": f"Bearer {TOKEN}"}
    r = client.post("/plan/decisions", json=_decision(action.id), headers=ok)
    assert r.status_code == 201, r.text
    assert r.json()["decision"]["by"] == "cto"
    assert len(store.decisions()) == before + 1
    missing = client.post("/plan/decisions", json=_decision(10_000), headers=ok)
    assert missing.status_code == 400 and "no action" in missing.json()["detail"]
    store.close()


def test_without_a_configured_token_writing_is_off(seeded: str) -> None:
    with TestClient(create_app(seeded)) as c:
        r = c.post("/plan/decisions", json=_decision(1), headers={"Authorization": "Bearer x"})
        assert r.status_code == 403 and "FLEETWISE_TOKEN" in r.json()["detail"]
        assert "Writing is off" in c.get("/plan").text


def test_reading_never_writes(client: TestClient, seeded: str) -> None:
    assert client.get("/plan/decisions").status_code == 405
    assert client.post("/plan.json").status_code == 405


def test_fuzzing_the_openapi_spec_finds_no_server_error(tmp_path: Path) -> None:
    app = create_app(seed(tmp_path / "fleetwise.db"), token=TOKEN)
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    # every JSON twin (ledger, people and alignment included) and the decision POST
    assert len(operations) == 11
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=15,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def fuzz(case: schemathesis.Case) -> None:
            # With the token, so the decision endpoint's body is fuzzed too (not just 401).
            case.call_and_validate(
                headers={"Authorization": f"Bearer {TOKEN}"}, checks=[not_a_server_error]
            )

        fuzz()
