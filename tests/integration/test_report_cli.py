"""The reports end to end: one small seeded store, every report in every format.

The store holds real inputs (a Kineto trace, an Alibaba pod log, a Four Keys sample) put
there by the CLI, a seeded backlog, KPIs, a decision, a retrospective and a benchmark run,
with a ``<script>`` in user-supplied names. The report's numbers are checked against the
``--json`` output of the commands that compute them.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from contextlib import redirect_stdout
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader

from fleetwise.models import KPI, ResultRecord, RunStatus, Summary
from fleetwise.plan.capacity import scenarios
from fleetwise.present.cli import main
from fleetwise.present.reports.briefing import build_briefing
from fleetwise.present.reports.facts import GROWTH_CASES
from fleetwise.present.reports.html import render_html, to_html
from fleetwise.present.reports.model import Report
from fleetwise.present.reports.pdf import render_pdf
from fleetwise.store import Store
from fleetwise.usecases.capacity import outlook

DATA = Path(__file__).parents[1] / "data"
EVIL = "<script>alert(1)</script>"
TODAY = "2026-11-30"


def cli_json(*args: str) -> Any:
    out = io.StringIO()
    with redirect_stdout(out):
        code = main(list(args))
    assert code == 0, out.getvalue()
    return json.loads(out.getvalue())


def cli(*args: str) -> str:
    out = io.StringIO()
    with redirect_stdout(out):
        code = main(list(args))
    assert code == 0, out.getvalue()
    return out.getvalue()


@dataclass
class Seeded:
    db: str
    folder: Path
    trace: dict[str, Any]
    cluster: dict[str, Any]
    dora: dict[str, Any]
    report: Report


def _bench_run(store: Store) -> None:
    """One completed benchmark run with a tag holding markup (names are user input)."""
    env = store.save_environment(
        {"host": "bench-node-1", "cpu": {"model": "Xeon 8480", "cores": 2}, "gpus": []},
        "fp-report-test",
    )
    run = store.create_run("quick", {"suite": "quick"}, tags=["baseline", EVIL], environment_id=env)
    samples = [101.0, 99.0, 100.0, 102.0, 98.0]
    summary = Summary(
        n=5,
        median=100.0,
        mean=100.0,
        stdev=1.58,
        iqr=2.0,
        ci_low=98.5,
        ci_high=101.5,
        cv=0.0158,
        min=98.0,
        max=102.0,
    )
    store.add_results(
        run.id,
        [
            ResultRecord(
                case_key="gemm-fp32-256",
                case_index=0,
                benchmark="compute.gemm",
                layer="compute",
                params={"dtype": "fp32", "n": 256},
                metric="gflops",
                unit="GFLOP/s",
                direction="higher",
                samples=samples,
                summary=summary,
                efficiency=0.42,
                environment_id=env,
            )
        ],
    )
    store.set_run_status(run.id, RunStatus.COMPLETED)


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seeded]:
    folder = tmp_path_factory.mktemp("reports")
    db = f"sqlite:///{folder / 'fleetwise.db'}"
    trace = cli_json(
        "diagnose", "--trace", str(DATA / "kineto" / "nccl_ddp_a100"), "--db", db, "--json"
    )
    pods = str(DATA / "clusters" / "alibaba_pods_head800.csv")
    cli("cluster", "import", pods, "--epoch", "2026-06-01", "--db", db)
    cluster = cli_json("cluster", "analyze", "--gpus", "512", "--db", db, "--json")
    cli("process", "import", str(DATA / "process" / "fourkeys_sample"), "--db", db)
    dora = cli_json("process", "dora", "--db", db, "--json")
    cli("plan", "seed", "--db", db)
    cli("plan", "add", "--title", f"Tune {EVIL}", "--owner", EVIL, "--savings", "1000", "--db", db)
    store = Store(db)
    store.add_kpi(
        KPI(
            name="deploys-per-week",
            source="analysis:process:overall.deploys_per_week",
            baseline_value=10,
            goal_value=20,
            goal_date=date(2027, 3, 31),
        )
    )
    store.add_kpi(
        KPI(
            name="gpu-hours",
            source="analysis:cluster:gpu_hours",
            goal_value=50_000,
            goal_date=date(2027, 3, 31),
        )
    )
    _bench_run(store)
    top = cli_json("plan", "rank", "--by", "npv", "--db", db, "--json")["ranking"][0]["id"]
    cli("decide", str(top), "approve", "--by", "steering", "--note", "go", "--db", db)
    cli("plan", "update", str(top), "--start", "2026-11-02", "--end", "2026-11-20", "--db", db)
    retro = folder / "retro.yaml"
    retro.write_text(
        'schema_version: 1\ndate: 2026-11-27\nteam: "<script>alert(1)</script>"\n'
        "went_well: [numbers]\nactions:\n  - title: Book a quiet node\n"
        "    effects: [{kpi: deploys-per-week, change: 0.1}]\n"
    )
    cli("retro", "add", str(retro), "--db", db)
    report = build_briefing(store, today=date.fromisoformat(TODAY))
    store.close()
    yield Seeded(db, folder, trace, cluster, dora, report)


def test_briefing_numbers_match_the_json_of_the_commands(seeded: Seeded) -> None:
    doc = cli_json("report", "briefing", "--db", seeded.db, "--today", TODAY, "--json")
    report = Report.model_validate(doc)
    # Top actions: NPV as `plan rank --by npv`.
    ranking = cli_json("plan", "rank", "--by", "npv", "--db", seeded.db, "--json")["ranking"]
    by_id = {r["id"]: r for r in ranking}
    npv_keys = [
        f.key
        for s in [*report.summary, *report.sections]
        for f in s.figures
        if f.key.startswith("actions.")
    ]
    assert len(npv_keys) >= 3
    for key in npv_keys:
        action_id = int(key.split(".")[1])
        assert report.figure(key).value == pytest.approx(by_id[action_id]["scores"]["npv"])
    # Losses: each top finding's bounded claim on the fleet ledger, as `ledger --json` says.
    ledger = cli_json("ledger", "--db", seeded.db, "--json")
    claims = sorted((c["usd_per_year"] for c in ledger["claims"]["items"]), reverse=True)
    top = report.figure("losses.1.usd_per_year")
    assert top.value == pytest.approx(claims[0])
    assert top.source.startswith("finding ")
    assert report.figure("losses.total_usd_per_year").value == pytest.approx(
        ledger["claims"]["gpu_usd_per_year"]
    )
    assert report.figure("losses.total_usd_per_year").value <= (
        ledger["capacity_gpu_hours_per_year"] * ledger["usd_per_gpu_hour"]
    )
    # Investment: `invest compare` on the defaults (an empty scenario).
    empty = seeded.folder / "defaults.yaml"
    empty.write_text("{}\n")
    invest = cli_json("invest", "compare", str(empty), "--json")
    assert report.figure("ask.npv").value == pytest.approx(invest["npv_usd"])
    assert report.figure("ask.capex").value == pytest.approx(invest["capex_usd"])
    # Capacity: `capacity forecast`, and its growth scenario for "what if demand grows faster".
    # Capacity: the outlook from the report's date, on the complete days of the job log (the
    # sample stops mid-trace: the days after its last submission are not demand).
    store = Store(seeded.db)
    jobs = store.jobs()
    store.close()
    seen = outlook(jobs, date.fromisoformat(TODAY))
    assert report.figure("outlook.mean").value == pytest.approx(seen.forecast.mean[-1])
    assert report.figure("outlook.hi_95").value == pytest.approx(seen.forecast.hi_95[-1])
    assert seen.forecast.days[-1] == "2026-12-30"  # 30 days after the report, not the data
    section = next(s for s in report.sections if s.key == "outlook")
    assert any("left out of the fit" in p for p in section.paragraphs)
    assert any("days before 2026-11-30" in p for p in section.paragraphs)
    grown = next(s for s in scenarios(seen.forecast, GROWTH_CASES) if s.growth_per_year == 0.5)
    assert report.figure("objections.growth.0.5").value == pytest.approx(grown.last_hi_95)
    # KPIs and delivery.
    kpis = cli_json("kpi", "list", "--db", seeded.db, "--today", TODAY, "--json")["kpis"]
    for k in kpis:
        assert report.figure(f"kpi.{k['name']}.current").value == pytest.approx(k["current"])
    overall = seeded.dora["dora"]["overall"]
    assert report.figure("dora.deploys_per_week").value == pytest.approx(
        overall["deploys_per_week"]
    )
    assert report.figure("cluster.gpu_hours").value == pytest.approx(
        seeded.cluster["summary"]["gpu_hours"]
    )


def test_html_is_self_contained_traceable_and_escaped(seeded: Seeded) -> None:
    html = to_html(seeded.report)
    assert "<script" not in html.lower() and "&lt;script&gt;" in html
    assert "http://" not in html and "https://" not in html  # offline: no CDN, no fonts
    for key in (
        "headline",
        "ask",
        "risks",
        "assumptions",
        "ledger_detail",
        "losses",
        "actions",
        "investment_ask",
        "outlook",
        "kpi_status",
        "objections",
        "capacity",
        "investment",
        "kpis",
    ):
        assert f'id="{key}"' in html
    assert html.count('<img class="chart"') >= 6
    top = seeded.report.figure("losses.1.usd_per_year")
    assert f"<b>{top.text}</b>" in html and f"[{top.source}]" in html
    assert "Why not rent instead of buy?" in html and "utilization" in html


def test_pdf_has_a_one_page_summary_and_every_section(seeded: Seeded) -> None:
    path = render_pdf(seeded.report, seeded.folder / "briefing.pdf")
    pages = [p.extract_text() for p in PdfReader(path).pages]
    first = pages[0]
    # Page 1 is the story, answer first: the headline and its waterfall, the ask, the top
    # risks, the assumptions and where every input comes from.
    for heading in (
        "Executive summary",
        "The answer",
        "The ask",
        "Risks",
        "Assumptions and inputs",
    ):
        assert heading in first
    assert seeded.report.figure("ask.recoverable").text in first
    assert "is measured productive" in first and "recoverable by" in first
    assert "where the GPU-hours go" in first  # the waterfall chart
    rest = "\n".join(pages[1:])
    for heading in ("Where the fleet loses time and money", "Top actions", "Buy or rent"):
        assert heading in rest
    assert "Objections and answers" in rest and "Capacity: demand forecast" in rest
    assert EVIL in " ".join(pages).replace("\n", "")  # shown as text, not markup


def test_cli_writes_each_format(seeded: Seeded) -> None:
    out = seeded.folder / "cli.pptx"
    text = cli("report", "briefing", "--format", "pptx", "-o", str(out), "--db", seeded.db)
    assert f"wrote {out}" in text and out.stat().st_size > 10_000
    html = seeded.folder / "perf.html"
    cli("report", "performance", "-o", str(html), "--db", seeded.db)
    page = html.read_text()
    for wanted in (
        "bench-node-1",
        "Xeon 8480",
        "How to re-run",
        "fleetwise bench run quick",
        "compute.gemm",
        "42.0%",
        "&lt;script&gt;",
    ):
        assert wanted in page
    assert "<script" not in page
    pdf = seeded.folder / "improvement.pdf"
    cli("report", "improvement", "-f", "pdf", "-o", str(pdf), "--db", seeded.db, "--today", TODAY)
    text = " ".join(p.extract_text() for p in PdfReader(pdf).pages).replace("\n", " ")
    assert "Book a quiet node" in text and "deploys-per-week" in text and EVIL in text


def test_an_empty_store_gives_reports_that_say_what_is_missing(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'empty.db'}"
    Store(db).close()  # an empty store (a store that does not exist is an error)
    for fmt in ("html", "pdf", "pptx"):
        out = tmp_path / f"b.{fmt}"
        cli("report", "briefing", "-f", fmt, "-o", str(out), "--db", db)
        assert out.stat().st_size > 0
    html = (tmp_path / "b.html").read_text()
    assert "no cluster data imported: fleetwise cluster import FILE" in html
    assert "no benchmark runs stored: fleetwise bench run quick" in html
    cli("report", "performance", "-o", str(tmp_path / "p.html"), "--db", db)
    cli("report", "improvement", "-o", str(tmp_path / "i.html"), "--db", db)
    assert "fleetwise retro add FILE" in (tmp_path / "i.html").read_text()


def test_an_unwritable_output_is_an_input_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    db = f"sqlite:///{tmp_path / 'x.db'}"
    Store(db).close()
    assert main(["report", "improvement", "-o", str(blocker / "r.html"), "--db", db]) == 2
    assert "cannot write the report" in capsys.readouterr().err


def test_render_html_writes_the_file(seeded: Seeded) -> None:
    path = render_html(seeded.report, seeded.folder / "sub" / "b.html")
    assert path.read_text().startswith("<!doctype html>")


def test_a_fast_briefing_skips_the_forecast_and_says_so(seeded: Seeded) -> None:
    store = Store(seeded.db)
    try:
        report = build_briefing(store, today=date.fromisoformat(TODAY), with_forecast=False)
    finally:
        store.close()
    outlook = next(s for s in report.sections if s.key == "outlook")
    assert outlook.missing == "forecast not computed here: fleetwise capacity forecast"
    risks = next(s for s in report.summary if s.key == "risks")
    assert not any("forecast" in i.title for i in risks.items)
    assert report.figure("ask.npv").value == seeded.report.figure("ask.npv").value
