"""Golden render of ``cluster analyze`` on telemetry and nodes alone (DCGM with profiling
fields, pod labels, XID and ECC), on a fixed-width colourless console.

Regenerate after an intended change with ``pytest tests/golden --update-goldens``."""

from __future__ import annotations

import io
from pathlib import Path

from rich.console import Console

from fleetwise.analyze.cluster_telemetry import analyze_telemetry
from fleetwise.collect.importers.nodes import import_nodes
from fleetwise.collect.importers.telemetry import import_telemetry
from fleetwise.present.cli.cluster import cluster_view

EXPECTED = Path(__file__).parent / "expected"
HEALTH = Path(__file__).parents[1] / "data" / "clusters" / "dcgm_health"


def test_telemetry_only_cluster_view(update_goldens: bool) -> None:
    _, nodes = import_nodes(HEALTH / "nodes.csv")
    report = analyze_telemetry(
        import_telemetry(HEALTH / "dcgm_health.prom"),
        nodes,
        source="dcgm_health.prom",
        usd_per_gpu_hour=2.5,
        hours_per_year=8760,
    )
    buf = io.StringIO()
    Console(file=buf, width=120, color_system=None, force_terminal=False).print(
        cluster_view(report)
    )
    path = EXPECTED / "cluster_telemetry_only.txt"
    if update_goldens:
        path.write_text(buf.getvalue())
    assert buf.getvalue() == path.read_text()
