"""Golden render and JSON of ``process dora --definition devlake`` on the DevLake fixture
(fixed-width colourless console). Regenerate with ``pytest tests/golden --update-goldens``
and review the diff of ``tests/golden/expected/``."""

from __future__ import annotations

import io
import json
from datetime import date
from pathlib import Path

from rich.console import Console

from fleetwise.analyze.dora_devlake import day_end, day_start, devlake_dora
from fleetwise.analyze.process import to_doc
from fleetwise.collect.importers.devlake import parse_devlake

DUMPS = Path(__file__).parents[1] / "data" / "process" / "devlake"
EXPECTED = Path(__file__).parent / "expected"


def check(name: str, text: str, update: bool) -> None:
    path = EXPECTED / name
    if update:
        path.write_text(text)
    assert text == path.read_text()


def test_devlake_dora_table_and_json(update_goldens: bool) -> None:
    from fleetwise.present.cli.render_devlake import devlake_dora_view

    report = devlake_dora(
        parse_devlake(DUMPS), since=day_start(date(2024, 3, 1)), until=day_end(date(2024, 3, 31))
    )
    assert report is not None
    buf = io.StringIO()
    Console(file=buf, width=120, color_system=None, force_terminal=False).print(
        devlake_dora_view(report)
    )
    check("process_dora_devlake.txt", buf.getvalue(), update_goldens)
    doc = json.dumps(to_doc(report), indent=1, sort_keys=True) + "\n"
    check("process_dora_devlake.json", doc, update_goldens)
