"""Numbers for people are formatted once (``units.py``): every report, the steering deck,
every dashboard page (SVG chart labels included) and the main CLI tables, rendered from one
store that holds every kind of input, carry no float with more than four significant digits
after the point, no ``e-05`` notation, and no internal series id."""

from __future__ import annotations

import base64
import html
import io
import re
import warnings
from collections.abc import Iterator
from contextlib import redirect_stdout
from pathlib import Path

import pytest
from pptx import Presentation

from fleetwise.collect.runner import run_suite
from fleetwise.collect.suite import load_suite
from fleetwise.present.cli import main
from fleetwise.present.reports.briefing import build_briefing
from fleetwise.present.reports.html import to_html
from fleetwise.present.reports.improvement import build_improvement
from fleetwise.present.reports.performance import build_performance
from fleetwise.present.reports.pptx import to_pptx
from fleetwise.present.web import create_app
from fleetwise.store import Store
from fleetwise.usecases.fleet import profile_for

with warnings.catch_warnings():
    # Starlette deprecates its httpx-based client in favour of a package not installed here.
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

DATA = Path(__file__).parents[1] / "data"
ROOT = Path(__file__).parents[2]

#: A float with more than four significant digits after the point: 0.70861, 230.15024.
LONG_FLOAT = re.compile(r"(?<!arXiv )(?<![\w.])(?:0\.0*[1-9]\d{4,}|[1-9][\d,]*\.\d{5,})(?![\w])")
E_NOTATION = re.compile(r"(?<![\w.-])\d+(?:\.\d+)?[eE][-+]?\d+(?![\w])")
#: ``benchmark:metric:params8:env6``, the internal key of a benchmark series.
SERIES_ID = re.compile(r"\b[a-z_]+\.[a-z_0-9]+:[a-z_0-9]+:[0-9a-f]{8}:[0-9a-f]{6}\b")


def problems(text: str) -> list[str]:
    out = []
    for name, pattern in (
        ("long float", LONG_FLOAT),
        ("e-notation", E_NOTATION),
        ("series id", SERIES_ID),
    ):
        for m in pattern.finditer(text):
            out.append(f"{name}: ...{text[max(0, m.start() - 50) : m.end() + 10]}...")
    return out


def visible_text(page: str) -> str:
    """The text a person sees: HTML without tags, styles or scripts, plus the text of
    every SVG chart embedded as an image."""
    svgs = [
        base64.b64decode(m).decode()
        for m in re.findall(r"data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)", page)
    ]
    page = re.sub(r"data:[a-z/+]+;base64,[A-Za-z0-9+/=]+", "", page)
    page = re.sub(r"<(style|script)\b.*?</\1>", " ", page, flags=re.S)
    page = re.sub(r'href="[^"]*"', "", page)
    text = html.unescape(re.sub(r"<[^>]+>", " ", page))
    for svg in svgs:
        text += " " + " ".join(html.unescape(t) for t in re.findall(r">([^<>]+)</text>", svg))
    return text


def cli(*args: str) -> str:
    out = io.StringIO()
    with redirect_stdout(out):
        code = main(list(args))
    assert code == 0, out.getvalue()
    return out.getvalue()


@pytest.fixture(scope="module")
def store_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("formatting")
    db = f"sqlite:///{folder / 'fleetwise.db'}"
    store = Store(db)
    run_suite(store, load_suite(str(DATA / "plan" / "findings_suite.yaml")), workdir=folder / "w")
    run_suite(store, load_suite(str(DATA / "plan" / "findings_suite.yaml")), workdir=folder / "w")
    store.close()
    fleet = str(ROOT / "examples" / "fleet.yaml")
    env = ["--db", db, "--fleet", fleet]
    cli("diagnose", "--trace", str(ROOT / "examples/data/traces/nccl_ddp_a100"), *env)
    pods = str(DATA / "clusters" / "alibaba_pods_head800.csv")
    cli("cluster", "import", pods, "--epoch", "2026-07-01", "--db", db)
    cli("cluster", "analyze", *env)
    for name in ("fourkeys_sample", "pipeline_runs.csv", "pagerduty_incidents.json"):
        cli("process", "import", str(DATA / "process" / name), "--db", db)
    for what in ("dora", "pipeline", "oncall"):
        cli("process", what, *env)
    cli("plan", "seed", "--run", "1", *env)
    cli("kpi", "add", str(ROOT / "examples" / "story-kpis.yaml"), "--db", db)
    yield db


def test_reports_and_deck(store_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLEETWISE_FLEET", str(ROOT / "examples" / "fleet.yaml"))
    store = Store(store_url)
    try:
        briefing = build_briefing(store, scenario=ROOT / "examples" / "invest-scenario.yaml")
        reports = [briefing, build_performance(store), build_improvement(store)]
    finally:
        store.close()
    found = []
    for report in reports:
        found += [f"{report.kind}: {p}" for p in problems(visible_text(to_html(report)))]
    deck = Presentation(io.BytesIO(to_pptx(briefing)))
    text = " ".join(
        shape.text_frame.text if shape.has_text_frame else ""
        for slide in deck.slides
        for shape in slide.shapes
    )
    tables = " ".join(
        cell.text
        for slide in deck.slides
        for shape in slide.shapes
        if shape.has_table
        for row in shape.table.rows
        for cell in row.cells
    )
    found += [f"deck: {p}" for p in problems(text + " " + tables)]
    assert found == []


def test_dashboard_pages(store_url: str) -> None:
    client = TestClient(create_app(store_url, profile=profile_for(ROOT / "examples/fleet.yaml")))
    found = []
    for page in ("/overview", "/benchmarks", "/diagnosis", "/plan", "/capacity", "/process"):
        r = client.get(page, params={"charts": "1"})
        assert r.status_code == 200, page
        found += [f"{page}: {p}" for p in problems(visible_text(r.text))]
    assert found == []


def test_cli_tables(store_url: str) -> None:
    fleet = ["--fleet", str(ROOT / "examples" / "fleet.yaml")]
    found = []
    for args in (
        ["ledger", *fleet],
        ["plan", "rank", "--by", "npv", *fleet],
        ["plan", "list", *fleet],
        ["bench", "list"],
        ["bench", "show", "1"],
        ["bench", "compare", "1", "2"],
        ["kpi", "list"],
        ["cluster", "analyze", *fleet],
        ["process", "dora", *fleet],
        ["process", "pipeline", *fleet],
        ["process", "oncall", *fleet],
        ["capacity", "forecast"],
        ["invest", "compare", str(ROOT / "examples" / "invest-scenario.yaml")],
    ):
        out = cli(*args, "--db", store_url) if args[0] != "invest" else cli(*args)
        found += [f"{' '.join(args[:2])}: {p}" for p in problems(out)]
    assert found == []
