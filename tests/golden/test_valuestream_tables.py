"""Golden renders of ``fleetwise process map`` on the example map: the table with its
future state (the example's KPIs and workshop actions), and the ``--json`` document.

Regenerate after an intended change with ``pytest tests/golden --update-goldens`` and
review the diff of ``tests/golden/expected/``.
"""

from __future__ import annotations

import io
import json
from datetime import date
from pathlib import Path

import pytest
from rich.console import Console, RenderableType

from fleetwise.models import KPI, Action
from fleetwise.plan import yamlfile
from fleetwise.plan.valuestream import future_state, load_map
from fleetwise.present.cli import main
from fleetwise.present.cli.render_valuestream import map_view

ROOT = Path(__file__).parents[2]
EXAMPLES = ROOT / "examples"
EXPECTED = Path(__file__).parent / "expected"


def render(*things: RenderableType) -> str:
    buf = io.StringIO()
    console = Console(file=buf, width=140, color_system=None, force_terminal=False)
    for thing in things:
        console.print(thing)
    return buf.getvalue()


def check(name: str, text: str, update: bool) -> None:
    path = EXPECTED / name
    if update:
        path.write_text(text)
    assert text == path.read_text()


def _example_backlog() -> tuple[list[KPI], list[Action]]:
    kpis = [
        KPI.model_validate(k)
        for k in yamlfile.read(EXAMPLES / "process-kpis.yaml", "KPIs").raw["kpis"]
    ]
    raw = yamlfile.read(EXAMPLES / "process-actions.yaml", "actions").raw["actions"]
    actions = [Action.model_validate({**a, "id": i + 1}) for i, a in enumerate(raw)]
    return kpis, actions


def test_example_map_table_with_future(update_goldens: bool) -> None:
    kpis, actions = _example_backlog()
    fs = future_state(load_map(EXAMPLES / "process-map.yaml"), actions, kpis)
    assert fs.future.lead_time_hours == pytest.approx(61.0)
    check("valuestream_example.txt", render(map_view(fs, future=True)), update_goldens)


def test_example_map_json(
    update_goldens: bool, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    db = str(tmp_path / "m.db")
    argv = ["process", "map", "--from-yaml", str(EXAMPLES / "process-map.yaml"), "--json"]
    assert main([*argv, "--today", str(date(2026, 12, 7)), "--db", db]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["analysis_id"] == 1 and doc["map"]["constraint"] == "training-eval"
    check("valuestream_example.json", json.dumps(doc, indent=2) + "\n", update_goldens)
