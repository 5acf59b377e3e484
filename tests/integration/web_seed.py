"""A small store for the dashboard's tests: benchmark runs with a step, real delivery,
pipeline and on-call exports analysed, 800 real Alibaba GPU pods (150 days of demand),
the example backlog, a KPI, a decision, retros.

User-supplied names carry ``<script>`` so that every page shows they stay inert.
"""

from __future__ import annotations

import contextlib
import io
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from fleetwise.models import (
    KPI,
    ActionStatus,
    Decision,
    DecisionKind,
    ResultRecord,
    Retrospective,
    RunStatus,
    Summary,
)
from fleetwise.present.cli import main
from fleetwise.store import Store

ROOT = Path(__file__).parents[2]
PROCESS = ROOT / "tests" / "data" / "process"
EXAMPLES = ROOT / "examples"
CLUSTERS = ROOT / "tests" / "data" / "clusters"
ALIGNMENT = ROOT / "tests" / "data" / "alignment"
PEOPLE = ROOT / "tests" / "data" / "people"

#: Stored as a run tag, a retrospective's team and a decision's author.
EVIL = "<script>alert('fleetwise')</script>"
SERIES_BENCH = "storage.dataloader"
SERIES_METRIC = "samples_per_s"


def _result(value: float) -> ResultRecord:
    return ResultRecord(
        case_key="dataloader-2w",
        case_index=0,
        benchmark=SERIES_BENCH,
        layer="storage",
        params={"num_workers": 2, "files": 48},
        metric=SERIES_METRIC,
        unit="samples/s",
        direction="higher",
        samples=[value] * 5,
        summary=Summary(
            n=5,
            median=value,
            mean=value,
            stdev=value * 0.01,
            iqr=value * 0.01,
            ci_low=value * 0.99,
            ci_high=value * 1.01,
            cv=0.01,
            min=value * 0.98,
            max=value * 1.02,
        ),
    )


def _cli(*argv: str) -> None:
    with contextlib.redirect_stdout(io.StringIO()):
        code = main(list(argv))
    assert code == 0, argv


def seed(db_path: Path) -> str:
    """Fill a SQLite store at ``db_path``; return its URL."""
    url = f"sqlite:///{db_path}"
    store = Store(url)
    env = store.save_environment(
        {"host": "web-test", "cpu": {"model": "Test CPU", "cores": 2}, "gpus": []}, "webtest"
    )
    # 24 runs with a step from ~1000 to ~1500 samples/s after run 12: one change point.
    for i in range(24):
        tags = ["baseline"] if i < 12 else ["after:action-1", EVIL]
        run = store.create_run("quick", {}, tags=tags, environment_id=env)
        value = (1000.0 if i < 12 else 1500.0) + (i % 3) * 5.0
        result = _result(value).model_copy(update={"environment_id": env})
        store.add_results(run.id, [result])
        store.set_run_status(run.id, RunStatus.COMPLETED)
    series_id = store.series(SERIES_BENCH)[0].key.id
    store.add_kpi(
        KPI(
            name="loader-throughput",
            source=f"series:{series_id}",
            unit="samples/s",
            baseline_value=1000,
            baseline_date=datetime(2026, 1, 1, tzinfo=UTC),
            goal_value=2000,
            goal_date=date(2027, 3, 31),
        )
    )
    store.close()
    db = str(db_path)
    _cli("process", "import", str(PROCESS / "fourkeys_sample"), "--db", db)
    _cli("process", "import", str(PROCESS / "pipeline_runs.csv"), "--db", db)
    _cli("process", "import", str(PROCESS / "pagerduty_incidents.json"), "--db", db)
    _cli("process", "dora", "--db", db)
    _cli("process", "pipeline", "--db", db)
    _cli("process", "oncall", "--db", db)
    _cli("process", "map", "--from-yaml", str(EXAMPLES / "process-map.yaml"), "--db", db)
    _cli("cluster", "import", str(CLUSTERS / "alibaba_pods_head800.csv"), "--db", db)
    _cli("plan", "import", str(EXAMPLES / "actions.yaml"), "--db", db)
    _cli("retro", "add", str(EXAMPLES / "retro.yaml"), "--db", db)
    _cli("stakeholder", "import", str(ALIGNMENT / "register.yaml"), "--db", db)
    _cli("meeting", "add", str(ALIGNMENT / "meeting.md"), "--db", db)
    people = EXAMPLES / "people"
    for wave, export in (
        ("2026-10", "dx-survey-2026-10-google-forms.csv"),
        ("2026-11", "dx-survey-2026-11-microsoft-forms.csv"),
    ):
        questions = str(people / "questions.yaml")
        _cli(
            "survey",
            "import",
            str(people / export),
            "--wave",
            wave,
            "--map",
            questions,
            "--team-size",
            "52",
            "--db",
            db,
        )
    notes = sorted(str(p) for p in (people / "notes").glob("*.md"))
    _cli("notes", "add", *notes, str(PEOPLE / "note_evil_team.md"), "--db", db)
    store = Store(url)
    first = store.actions()[0]
    assert first.id is not None
    store.record_decision(
        Decision(
            action_id=first.id,
            decision=DecisionKind.APPROVE,
            by=EVIL,
            note="approved in the steering meeting",
            decided_at=datetime(2026, 11, 20, tzinfo=UTC),
        ),
        ActionStatus.APPROVED,
    )
    store.add_retrospective(
        Retrospective(
            date=date(2026, 11, 13),
            team=EVIL,
            sprint="S-1",
            went_well=["escaping holds"],
            to_improve=["pager noise"],
            created_at=datetime(2026, 11, 13, tzinfo=UTC) + timedelta(hours=1),
        )
    )
    store.close()
    return url
