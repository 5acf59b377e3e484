"""Every dashboard page and its JSON twin through FastAPI's TestClient, on a seeded store;
pages without data say what to run; bad query input is a 400, not a crash."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import warnings
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from web_seed import EVIL, seed

from fleetwise.present.cli import main
from fleetwise.present.web import create_app
from fleetwise.store import Store

with warnings.catch_warnings():
    # Starlette deprecates its httpx-based client in favour of a package not installed here.
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

PAGES = [
    "/overview",
    "/ledger",
    "/benchmarks",
    "/diagnosis",
    "/plan",
    "/capacity",
    "/process",
    "/retros",
    "/alignment",
    "/people",
]


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> str:
    return seed(tmp_path_factory.mktemp("web") / "fleetwise.db")


@pytest.fixture(scope="module")
def client(seeded: str) -> Iterator[TestClient]:
    with TestClient(create_app(seeded, token="s3cret")) as c:
        yield c


def _json(client: TestClient, path: str) -> Any:
    r = client.get(path)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/json")
    return r.json()


@pytest.mark.parametrize("path", PAGES)
def test_page_and_its_json_twin(client: TestClient, path: str) -> None:
    page = client.get(path)
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert f'href="{path}.json"' in page.text
    doc = _json(client, f"{path}.json")
    assert doc["schema_version"] == 1


def test_overview_shows_the_same_numbers_as_its_twin(client: TestClient) -> None:
    doc = _json(client, "/overview.json")
    html = client.get("/overview").text
    assert doc["runs"] == 24
    (kpi,) = doc["kpis"]
    assert (kpi["name"], kpi["baseline"], kpi["goal"]) == ("loader-throughput", 1000, 2000)
    assert kpi["current"] == pytest.approx(1510.0)
    assert "loader-throughput" in html and "1,510" in html
    assert doc["plan"]["actions"] == 3 and doc["plan"]["by_status"]["approved"] == 1
    top = doc["top_findings"][0]
    assert top["usd_per_year"] == max(f["usd_per_year"] or 0 for f in doc["top_findings"])
    assert top["title"] in html
    assert 'data-chart="chart-kpis"' in html


def test_benchmarks_history_marks_the_step(client: TestClient) -> None:
    doc = _json(client, "/benchmarks.json")
    assert doc["runs_total"] == 24 and len(doc["runs"]) == 24
    history = doc["history"]
    assert len(history["points"]) == 24
    (cp,) = history["change_points"]
    assert cp["index"] == 12 and cp["kind"] == "improvement"
    assert cp["change"] == pytest.approx(0.5, abs=0.02)
    assert 'data-chart="chart-history"' in client.get("/benchmarks").text
    assert len(_json(client, "/benchmarks.json?limit=5")["runs"]) == 5
    assert {r["id"] for r in _json(client, "/benchmarks.json?tag=baseline")["runs"]} == set(
        range(1, 13)
    )


def test_benchmarks_compare_matches_the_cli(
    client: TestClient, seeded: str, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = _json(client, "/benchmarks.json?a=1&b=24")
    (row,) = doc["compare"]
    assert row["benchmark"] == "storage.dataloader" and row["ratio"] > 1.4
    assert main(["bench", "compare", "1", "24", "--db", seeded, "--json"]) == 0
    (cli,) = json.loads(capsys.readouterr().out)["comparisons"]
    for key in ("ratio", "ci_low", "ci_high", "verdict", "a_value", "b_value", "method"):
        assert row[key] == cli[key], key
    assert "compare" in client.get("/benchmarks?a=1&b=24").text


def test_benchmarks_compare_takes_tags_and_shows_parameters(
    client: TestClient, seeded: str, capsys: pytest.CaptureFixture[str]
) -> None:
    query = "a=baseline&b=after%3Aaction-1"
    rows = _json(client, f"/benchmarks.json?{query}")["compare"]
    assert main(["bench", "compare", "baseline", "after:action-1", "--db", seeded, "--json"]) == 0
    cli = json.loads(capsys.readouterr().out)["comparisons"]
    assert [r["verdict"] for r in rows] == [c["verdict"] for c in cli]
    assert [r["ratio"] for r in rows] == [c["ratio"] for c in cli]
    assert rows[0]["a_runs"] == 12 and rows[0]["b_runs"] == 12
    page = client.get(f"/benchmarks?{query}").text
    assert 'value="after:action-1"' in page
    body = page.split("<th>params</th>", 1)[1].split("</table>", 1)[0]
    for r in rows:
        shown = " ".join(f"{k}={v}" for k, v in sorted(r["params"].items()))
        assert shown and shown in body  # every row names its parameters
    mixed = _json(client, "/benchmarks.json?a=1,2,3&b=after%3Aaction-1")["compare"]
    assert mixed[0]["a_runs"] == 3


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("a=1", "give both a and b"),
        ("a=3&b=3", "same run"),
        ("a=1&b=999", "no run 999"),
        ("a=baseline&b=nope", "no completed run with that tag"),
        ("a=baseline&b=1", "share runs [1]"),
        ("series=nope", "no such series"),
    ],
)
def test_bad_benchmark_queries_are_400(client: TestClient, query: str, message: str) -> None:
    r = client.get(f"/benchmarks.json?{query}")
    assert r.status_code == 400 and message in r.json()["detail"]
    page = client.get(f"/benchmarks?{query}")
    assert page.status_code == 400 and message in page.text
    assert client.get("/benchmarks.json?limit=0").status_code == 422


def test_process_capacity_plan_retros(client: TestClient) -> None:
    process = _json(client, "/process.json")
    assert process["dora"]["overall"]["deployments"] == 161
    assert process["pipeline"] is not None and process["oncall"] is not None
    assert {f["layer"] for f in process["findings"]} <= {"delivery", "on-call"}
    capacity = _json(client, "/capacity.json")
    assert capacity["jobs"] == 800 and len(capacity["forecast"]["history"]) == 150
    assert len(capacity["forecast"]["mean"]) == 30 and capacity["forecast_note"] == ""
    assert capacity["investment"]["tornado"]
    plan = _json(client, "/plan.json?by=npv")
    assert plan["by"] == "npv" and [r["position"] for r in plan["ranking"]] == [1, 2, 3]
    assert plan["decisions"][0]["by"] == EVIL
    retros = _json(client, "/retros.json")
    assert {r["team"] for r in retros["retrospectives"]} == {"training-infra", EVIL}
    diagnosis = _json(client, "/diagnosis.json")
    # dora, pipeline, oncall, the process map, and the two survey waves (kind "survey")
    assert diagnosis["analyses_total"] == 6
    assert sum(len(g["findings"]) for g in diagnosis["layers"]) == 7


def test_process_page_shows_the_value_stream(client: TestClient) -> None:
    """The twin carries the stored map (examples/process-map.yaml) and its figures; the
    HTML page draws its ladder chart."""
    v = _json(client, "/process.json")["value_stream"]
    assert v["source"] == "yaml:process-map.yaml" and v["order"][0] == "code-review"
    assert v["lead_time_hours"] == pytest.approx(94.0)
    assert v["process_time_hours"] == pytest.approx(15.2)
    assert v["constraint"] == "training-eval" and v["steps"]["training-eval"]["constraint"]
    assert v["rolled_complete_accurate"] == pytest.approx(0.44884422)
    assert v["effects"] == [] and v["future"]["lead_time_hours"] == pytest.approx(94.0)
    assert _json(client, "/api/process")["value_stream"] == v
    html = client.get("/process").text
    assert 'id="value-stream"' in html and 'id="chart-valuestream"' in html


def test_empty_store_pages_say_what_to_run(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    Store(url).close()
    with TestClient(create_app(url)) as c:
        for path in PAGES:
            r = c.get(path)
            assert r.status_code == 200, path
            assert 'class="empty"' in r.text, path
            assert c.get(f"{path}.json").status_code == 200
        bench_page = c.get("/benchmarks").text
        # The hint is a command that runs: the suite is an argument, not a --suite option.
        assert "fleetwise bench run quick" in bench_page and "--suite" not in bench_page
        assert c.get("/overview.json").json()["kpis"] == []
        assert "no cluster jobs" in c.get("/capacity.json").json()["forecast_note"]


def test_root_redirects_and_openapi_lists_the_twins(client: TestClient) -> None:
    assert client.get("/", follow_redirects=False).headers["location"] == "/overview"
    spec = client.get("/openapi.json").json()
    assert {f"{p}.json" for p in PAGES} | {"/plan/decisions"} == set(spec["paths"])
    assert client.get("/docs").status_code == 404  # its scripts would come from a CDN


def test_vega_bundle_is_served_locally(client: TestClient) -> None:
    r = client.get("/static/vega.js")
    assert r.status_code == 200 and "vegaEmbed" in r.text and len(r.content) > 500_000
    assert r.headers["content-type"].startswith("text/javascript")
    assert "vegaEmbed" in client.get("/static/app.js").text


def test_serve_rejects_a_bad_port(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "--port", "0"]) == 2
    assert "--port" in capsys.readouterr().err


def test_serve_binds_loopback_by_default(tmp_path: Path) -> None:
    """The server itself, started without --host, listens on 127.0.0.1 only."""
    import psutil

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    db = tmp_path / "serve.db"
    Store(f"sqlite:///{db}").close()
    cmd = [sys.executable, "-m", "fleetwise", "serve", "--port", str(port)]
    proc = subprocess.Popen(
        [*cmd, "--db", str(db)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        listening: list[str] = []
        while not listening and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.2)
            listening = [
                c.laddr.ip
                for c in psutil.Process(proc.pid).net_connections(kind="inet")
                if c.status == psutil.CONN_LISTEN and c.laddr.port == port
            ]
        assert listening == ["127.0.0.1"]
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_overview_counts_as_the_briefing_does(client: TestClient, seeded: str) -> None:
    from fleetwise.present.reports.facts import gather

    doc = _json(client, "/overview.json")
    store = Store(seeded)
    facts = gather(store, date.fromisoformat(doc["today"]), with_forecast=False)
    store.close()
    assert doc["findings_total"] == len(facts.findings)
    assert [r["id"] for r in doc["plan"]["top"]] == [r.action.id for r in facts.ranked[:5]]
    assert [k["current"] for k in doc["kpis"]] == [s.current for s, _ in facts.kpis]
