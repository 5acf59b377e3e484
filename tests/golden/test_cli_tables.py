"""Golden renders of the CLI tables on a fixed-width colourless console.

Regenerate after an intended change with ``pytest tests/golden --update-goldens`` and review
the diff of ``tests/golden/expected/``.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console, RenderableType

from fleetwise.analyze.reproduce import verify
from fleetwise.models import Peak, ResultRecord, ResultStatus, RunRecord, RunStatus
from fleetwise.present.cli.render import results_view, runs_table, verify_view
from fleetwise.stats import stability_warnings, summarize

EXPECTED = Path(__file__).parent / "expected"
T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


def render(thing: RenderableType) -> str:
    buf = io.StringIO()
    Console(file=buf, width=120, color_system=None, force_terminal=False).print(thing)
    return buf.getvalue()


def check(name: str, text: str, update: bool) -> None:
    path = EXPECTED / name
    if update:
        path.write_text(text)
    assert text == path.read_text()


def _ok(
    index: int,
    bench: str,
    params: dict[str, object],
    metric: str,
    unit: str,
    samples: list[float],
    peak: Peak | None = None,
) -> ResultRecord:
    s = summarize(samples)
    return ResultRecord(
        case_key=f"{index:03d}-x",
        case_index=index,
        benchmark=bench,
        layer=bench.split(".")[0],
        params=params,
        metric=metric,
        unit=unit,
        direction="higher",
        samples=samples,
        summary=s,
        peak=peak,
        efficiency=s.median / peak.value if peak else None,
        warnings=stability_warnings(s, load_avg=0.3, cores=2, steal_pct=0.0),
        environment_id=1,
        run_id=1,
    )


def _skipped(metric: str) -> ResultRecord:
    return ResultRecord(
        case_key="002-y",
        case_index=2,
        benchmark="network.host_device_copy",
        layer="network",
        params={"size_mb": 256},
        metric=metric,
        unit="GB/s",
        direction="higher",
        status=ResultStatus.SKIPPED,
        error="network.host_device_copy needs a CUDA GPU and none is available",
        run_id=1,
    )


def sample_results() -> list[ResultRecord]:
    cpu_peak = Peak(
        value=0.3328,
        unit="TFLOP/s",
        estimated=True,
        source="estimated: 2 cores x 2.60 GHz x 64 FLOP/cycle",
    )
    return [
        _ok(
            0,
            "compute.gemm",
            {"size": 1024, "dtype": "fp32", "device": "cpu"},
            "tflops",
            "TFLOP/s",
            [0.1711, 0.1702, 0.1725, 0.1698, 0.1719],
            cpu_peak,
        ),
        _ok(
            1,
            "storage.fio",
            {"rw": "randread", "bs": "4k"},
            "iops",
            "IO/s",
            [41200.0, 39800.0, 45100.0, 30100.0],
        ),
        _skipped("h2d_pinned"),
        _skipped("d2h_pinned"),
    ]


def test_results_table(update_goldens: bool) -> None:
    check(
        "results_table.txt",
        render(results_view(sample_results(), title="run 1: quick")),
        update_goldens,
    )


def test_runs_table(update_goldens: bool) -> None:
    runs = [
        RunRecord(
            id=2,
            suite="quick",
            status=RunStatus.INTERRUPTED,
            executor="local",
            started_at=T0,
            tags=["baseline"],
            host="node-1",
        ),
        RunRecord(
            id=1,
            suite="quick",
            status=RunStatus.COMPLETED,
            executor="local",
            started_at=T0,
            finished_at=T0.replace(minute=1, second=12),
            host="node-1",
        ),
    ]
    check("runs_table.txt", render(runs_table(runs)), update_goldens)


def test_verify_view(update_goldens: bool) -> None:
    old = sample_results()
    new = [r.model_copy(update={"environment_id": 2}) for r in sample_results()]
    new[0] = _ok(
        0,
        "compute.gemm",
        old[0].params,
        "tflops",
        "TFLOP/s",
        [0.1511, 0.1502, 0.1525, 0.1498, 0.1519],
    ).model_copy(update={"environment_id": 2})
    envs = {
        1: {"libraries": {"torch": "2.13.0"}, "load": {"loadavg_1m": 0.1}},
        2: {"libraries": {"torch": "2.14.1"}, "load": {"loadavg_1m": 1.9}},
    }
    check("verify_view.txt", render(verify_view(verify(old, new, envs))), update_goldens)
