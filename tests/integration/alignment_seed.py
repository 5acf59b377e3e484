"""The story's people side on a small store: the actions `plan seed` makes for the example
findings (titled from the catalog, as seeding titles them), the example register and its
three meetings (examples/people/)."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

from fleetwise.models import Action
from fleetwise.plan.catalog import load_catalog
from fleetwise.present.cli import main
from fleetwise.store import Store

ROOT = Path(__file__).parents[2]
PEOPLE = ROOT / "examples" / "people"
MEETINGS = sorted((PEOPLE / "meetings").iterdir())
#: Catalog keys of the actions the story seeds from its fixed inputs (trace, cluster log,
#: delivery and on-call exports), with their effort as the catalog gives it.
KEYS = [
    "async_input_pipeline",
    "tune_ddp_buckets",
    "checkpoint_more_often",
    "reclaim_idle_gpus",
    "progressive_delivery",
    "quarantine_flaky_tests",
    "tune_noisy_alerts",
    "rebalance_rotation",
]


def cli(*argv: str) -> None:
    with contextlib.redirect_stdout(io.StringIO()):
        code = main(list(argv))
    assert code == 0, argv


def seed_people(db: Path, *, meetings: bool = True) -> str:
    """A store at ``db`` with the story's actions, register and (optionally) meetings."""
    url = f"sqlite:///{db}"
    cands = {c.key: c for cs in load_catalog().kinds.values() for c in cs}
    with Store(url) as store:
        store.add_actions(
            [
                Action(title=cands[k].title, effort_days=cands[k].effort_days, source="finding")
                for k in KEYS
            ]
        )
    cli("stakeholder", "import", str(PEOPLE / "stakeholders.yaml"), "--db", str(db))
    if meetings:
        for path in MEETINGS:
            cli("meeting", "add", str(path), "--db", str(db))
    return url
