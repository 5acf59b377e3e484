"""Golden renders of the alignment log (``fleetwise alignment``) and the communication plan
(``fleetwise comms plan``) on the example register and its three meetings, as of a fixed day.

Regenerate after an intended change with ``pytest tests/golden --update-goldens`` and
review the diff of ``tests/golden/expected/``.
"""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1] / "integration"))
from alignment_seed import seed_people

from fleetwise.present.reports.alignment import alignment_lines, comms_markdown
from fleetwise.store import Store
from fleetwise.usecases.alignment import alignment_view

EXPECTED = Path(__file__).parent / "expected"
TODAY = date(2026, 12, 7)


def check(name: str, text: str, update: bool) -> None:
    path = EXPECTED / name
    if update:
        path.write_text(text)
    assert text == path.read_text(), f"{name} differs; --update-goldens to accept"


def test_alignment_report_and_comms_plan(tmp_path: Path, update_goldens: bool) -> None:
    with Store(seed_people(tmp_path / "f.db")) as store:
        view = alignment_view(store, TODAY)
    check("alignment_report.txt", "\n".join(alignment_lines(view)) + "\n", update_goldens)
    check("comms_plan.md", comms_markdown(view), update_goldens)
