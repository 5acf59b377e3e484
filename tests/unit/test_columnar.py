# ruff: noqa: E501
"""The columnar jobs (store/columnar.py), the streaming sacct import and the set-based job
figures, each against the per-job code it replaces (the oracle) on every job fixture."""

from __future__ import annotations

from datetime import UTC
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from fleetwise.analyze.cluster_jobs import JobTotals, job_totals, job_totals_sql
from fleetwise.analyze.ledger import JobTable
from fleetwise.collect.importers.jobs import import_jobs, parse_slurm
from fleetwise.collect.importers.jobs_stream import (
    slurm_select,
    stage,
    stage_slurm,
    streaming_plan,
)
from fleetwise.errors import InputError, StoreError
from fleetwise.models import JobRecord
from fleetwise.plan.capacity import daily_gpu_hours, daily_gpu_hours_sql
from fleetwise.present.cli import main
from fleetwise.store import Store
from fleetwise.store.columnar import FleetData, connect, data_dir_for
from fleetwise.store.jobs import job_row
from fleetwise.usecases.capacity import stored_job_sizes
from fleetwise.usecases.fleet import _peak_allocation
from oracle import JOB_LOGS, close

DATA = Path(__file__).parents[1] / "data" / "clusters"
LOGS = JOB_LOGS


def _sql_totals(records: list[JobRecord]) -> JobTotals:
    data = FleetData.temporary()
    try:
        data.add_records(records, "log")
        with data.connect() as con:
            return job_totals_sql(con, "log")
    finally:
        data.close()


@pytest.mark.parametrize("log", LOGS, ids=lambda p: p.name)
def test_queries_equal_the_per_job_figures(log: Path) -> None:
    _, records = import_jobs(log)
    # what the store held and analysed before: each job once, by submit time
    first: dict[str, JobRecord] = {}
    for r in records:
        first.setdefault(r.job_id, r)
    want = job_totals(sorted(first.values(), key=lambda r: r.submit_time), "log")
    got = _sql_totals(records)
    assert close(got, want), (got, want)
    assert [s.group for s in got.waits_by_team] == [s.group for s in want.waits_by_team]


@pytest.mark.parametrize("log", LOGS, ids=lambda p: p.name)
def test_stored_records_read_back_unchanged(log: Path) -> None:
    _, records = import_jobs(log)
    data = FleetData.temporary()
    try:
        assert data.add_records(records, "log") == len({r.job_id for r in records})
        back = data.records("log")
    finally:
        data.close()
    first = {}
    for r in records:
        first.setdefault(r.job_id, r)
    want = sorted(first.values(), key=lambda r: r.submit_time)
    assert [r.model_dump(exclude={"id", "source"}) for r in back] == [
        r.model_dump(exclude={"id", "source"}) for r in want
    ]


SACCT_FORMS = """JobID|User|Account|Partition|Submit|Start|End|State|AllocTRES|ReqTRES|NNodes|NodeList
7|ann||short|2024-01-02T03:04:05|2024-01-02T03:05:00|2024-01-02T04:00:00|CANCELLED by 9|cpu=2,gres/gpu:a100=2,gres/gpu:h100=1||1|n[01-02],x7
7.batch|||short|2024-01-02T03:04:05|2024-01-02T03:05:00|2024-01-02T04:00:00|COMPLETED|||1|n01
8|bob|ml|long|1704164645|None|Unknown|PENDING||gres/gpu=8|2|None assigned
9|cy|ml|long|2024-01-02T05:00:00+02:00|2024-01-02T05:00:00+02:00|2024-01-02T06:30:00.5|TIMEOUT+|gres/gpu=4||1|gpu7
10|di|ml|long|2024-01-02T06:00:00|2024-01-02T06:00:10|2024-01-02T06:10:00|NODE_FAIL|gres/gpu=16||2|r[1-2]
"""


def test_streaming_sacct_reads_as_the_record_parser(tmp_path: Path) -> None:
    log = tmp_path / "sacct.txt"
    log.write_text(SACCT_FORMS)
    for path in (log, DATA / "formats" / "sacct.txt", DATA / "formats" / "sacct_nodelist.txt"):
        data = FleetData(tmp_path / "data")
        con = connect()
        staged = data.staging_file()
        done = stage_slurm(path, staged, con)
        assert done is not None
        data.adopt(staged, str(path), con)
        con.close()
        want = parse_slurm(path)
        assert done.jobs == len(want) and done.gpu_jobs == sum(j.gpus > 0 for j in want)
        got = data.records(str(path))
        assert [r.model_dump(exclude={"id", "source"}) for r in got] == [
            r.model_dump(exclude={"id", "source"})
            for r in sorted(want, key=lambda r: r.submit_time)
        ]


@pytest.mark.parametrize(
    ("cell", "value"),
    [
        ("Submit", "someday"),
        ("NNodes", "1.5"),
        ("NodeList", "n[3-1]"),
        ("NodeList", "n[1-2"),
        ("NodeList", "r[1-2]n[1-2]"),  # valid, but a form the record parser expands
    ],
)
def test_rows_it_cannot_vouch_for_go_to_the_record_parser(
    tmp_path: Path, cell: str, value: str
) -> None:
    lines = SACCT_FORMS.splitlines()
    names = lines[0].split("|")
    row = lines[1].split("|")
    row[names.index(cell)] = value
    log = tmp_path / "sacct.txt"
    log.write_text("\n".join([lines[0], "|".join(row), *lines[2:]]) + "\n")
    staged = tmp_path / "staged.parquet"
    con = connect()
    assert stage_slurm(log, staged, con) is None
    con.close()
    assert not staged.exists()


def test_cli_streams_sacct_and_reimport_adds_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = str(tmp_path / "f.db")
    log = DATA / "formats" / "sacct_nodelist.txt"
    assert main(["cluster", "import", str(log), "--db", db]) == 0
    assert "4 jobs (4 with GPUs) read as slurm; 4 new stored" in capsys.readouterr().out
    assert main(["cluster", "import", str(log), "--db", db]) == 0
    assert "; 0 new stored" in capsys.readouterr().out
    assert sorted(p.name for p in (tmp_path / "f.db.data" / "jobs").iterdir())[0].endswith(
        ".parquet"
    )
    bad = tmp_path / "bad.txt"
    bad.write_text(log.read_text().replace("2024-05-01T09:00:00", "someday"))
    assert main(["cluster", "import", str(bad), "--db", db]) == 2
    assert "bad.txt:4: column 'Submit'" in capsys.readouterr().err
    with Store(f"sqlite:///{db}") as store:
        assert len(store.jobs()) == 4
        assert store.jobs()[0].placement == {"dgx001": 8, "dgx002": 8}


def test_jobs_stored_in_the_database_before_move_to_the_columnar_files(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    _, records = import_jobs(DATA / "formats" / "sacct.txt")
    with Store(url) as store, store._session() as s:  # as a release before 16 stored them
        s.add_all(job_row(r, "slurm:old") for r in records)
    with Store(url) as store:
        assert [j.job_id for j in store.jobs()] == [r.job_id for r in records]
        assert store.input_sources()["jobs"] == ["slurm:old"]
        assert store.add_jobs(records, "slurm:old") == 0


@pytest.mark.parametrize("log", LOGS, ids=lambda p: p.name)
def test_ledger_columns_and_daily_demand_equal_the_per_job_code(log: Path) -> None:
    _, records = import_jobs(log)
    first: dict[str, JobRecord] = {}
    for r in records:
        first.setdefault(r.job_id, r)
    stored = sorted(first.values(), key=lambda r: r.submit_time)
    data = FleetData.temporary()
    try:
        data.add_records(records, "log")
        with data.connect() as con:
            table = JobTable.from_sql(con, "jobs:log")
            try:
                daily: tuple[list[str], Any] | None = daily_gpu_hours_sql(con)
            except InputError:
                daily = None
    finally:
        data.close()
    want = JobTable.from_records(stored, "jobs:log")
    assert table.teams == want.teams and table.source == want.source
    for name in ("submit", "start", "end", "gpus"):
        assert np.allclose(getattr(table, name), getattr(want, name), equal_nan=True, rtol=0)
    assert np.array_equal(table.lost, want.lost) and np.array_equal(table.team, want.team)
    if daily is None:
        with pytest.raises(InputError, match="no finished GPU jobs"):
            daily_gpu_hours(stored)
        return
    days, hours = daily_gpu_hours(stored)
    assert daily[0] == days
    assert np.allclose(daily[1], hours, rtol=1e-12, atol=1e-9)


@pytest.mark.parametrize("log", LOGS, ids=lambda p: p.name)
def test_peak_allocation_and_job_sizes_equal_the_per_job_code(log: Path, tmp_path: Path) -> None:
    _, records = import_jobs(log)
    with Store(f"sqlite:///{tmp_path / 'f.db'}") as store:
        store.add_jobs(records, "log")
        stored = store.jobs()
        events: list[tuple[float, int]] = []
        for j in stored:  # the sweep the query replaced
            if j.gpus > 0 and j.start_time is not None:
                events.append((j.start_time.timestamp(), j.gpus))
                if j.end_time is not None:
                    events.append((j.end_time.timestamp(), -j.gpus))
        level = peak = 0
        for _, d in sorted(events):
            level += d
            peak = max(peak, level)
        assert _peak_allocation(store) == peak
        ran = [j for j in stored if j.gpus > 0 and j.start_time and j.end_time]
        if not ran:
            with pytest.raises(InputError, match="no finished GPU jobs"):
                stored_job_sizes(store)
            return
        gpus, runs = stored_job_sizes(store)
        assert gpus.tolist() == [j.gpus for j in ran]
        want = [
            (j.end_time - j.start_time).total_seconds() for j in ran if j.end_time and j.start_time
        ]
        assert np.allclose(runs, want, rtol=0, atol=1e-6)


HELIOS_FORMS = """job_id,user,vc,gpu_num,cpu_num,node_num,state,submit_time,start_time,end_time,duration,queue
h1,u1,vcA,8,32,1,COMPLETED,2020-04-01 00:00:07,2020-04-01 00:10:07,,3600.25,600
h2,u2,,0,4,,Pending,1585699200,,,,0
"h3",u3,vcB,16.0,64,2,CANCELLED by 7,2020-04-01T01:00:00Z,2020-04-01T01:00:00+00:00,2020-04-01 05:00:00,,0
h1,u9,vcA,8,32,1,FAILED,2020-04-01 00:00:08,,,,0
"""


@pytest.mark.parametrize("form", ["helios", "csv"])
def test_streaming_csv_reads_as_the_record_parser(tmp_path: Path, form: str) -> None:
    log = tmp_path / "jobs.csv"
    text = HELIOS_FORMS if form == "helios" else HELIOS_FORMS.replace("vc,", "team,", 1)
    log.write_text(text)
    plan = streaming_plan(log, "auto", {})
    assert plan is not None and plan[0] == form
    data = FleetData(tmp_path / "data")
    con = connect()
    staged = data.staging_file()
    done = stage(plan[1], staged, con)
    assert done is not None and (done.jobs, done.gpu_jobs) == (4, 3)
    assert data.adopt(staged, "log", con) == 3  # h1 twice: the first kept
    con.close()
    _, want = import_jobs(log)
    first: dict[str, JobRecord] = {}
    for r in want:
        first.setdefault(r.job_id, r)
    assert [r.model_dump(exclude={"id", "source"}) for r in data.records("log")] == [
        r.model_dump(exclude={"id", "source"})
        for r in sorted(first.values(), key=lambda r: r.submit_time)
    ]


@pytest.mark.parametrize(
    ("old", "new"),
    [(",3600.25,", ",soon,"), ("h2,", ","), (",16.0,", ",-2,"), ("05:00:00", "00:30:00")],
)
def test_csv_rows_it_cannot_vouch_for_go_to_the_record_parser(
    tmp_path: Path, old: str, new: str
) -> None:
    log = tmp_path / "jobs.csv"
    log.write_text(HELIOS_FORMS.replace(old, new, 1))
    plan = streaming_plan(log, "auto", {})
    assert plan is not None
    con = connect()
    assert stage(plan[1], tmp_path / "staged.parquet", con) is None
    con.close()


TIMES = [
    "2024-01-02T05:00:00",
    "2024-01-02 05:00:00",
    "2024-01-02T05:00",
    "2024-01-02",
    "2024-01-02T05:00:00.123456",
    "2024-01-02T05:00:00.5Z",
    "2024-01-02T05:00:00-07:30",
    " 2024-01-02T05:00:00 ",
    "1704171600",
    "1704171600.25",
    "1.7e9",
    "2024-1-2T5:00:00",
    "2024-01-02T24:00:00",
    "2024-02-30T00:00:00",
    "2024-01-02T05:00:00 UTC",
    "2024-01-02T05:00:00+0200",
    "20240102T050000",
    "1e400",
]


@pytest.mark.parametrize("when", TIMES)
def test_a_time_is_read_as_the_record_parser_reads_it_or_handed_over(
    tmp_path: Path, when: str
) -> None:
    log = tmp_path / "sacct.txt"
    log.write_text(
        "JobID|Account|Submit|Start|End|State|AllocTRES\n"
        f"1|a|{when}|{when}|Unknown|RUNNING|gres/gpu=1\n"
    )
    con = connect()
    done = stage(slurm_select(log), tmp_path / "s.parquet", con)
    try:
        want = parse_slurm(log)
    except InputError:
        assert done is None  # the record parser's error is the one shown
        return
    if done is None:
        return  # handed over: the record parser reads it
    row = con.execute(
        f"SELECT submit_time, start_time FROM read_parquet('{tmp_path / 's.parquet'}')"
    ).fetchone()
    con.close()
    assert row is not None
    assert row[0].replace(tzinfo=UTC) == want[0].submit_time
    assert row[1].replace(tzinfo=UTC) == want[0].start_time


def test_a_server_database_without_a_data_folder_reads_no_jobs_and_refuses_to_store(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("FLEETWISE_DATA_DIR", raising=False)
    assert data_dir_for("postgresql+psycopg://u@db.example/fleet") == (None, False)
    monkeypatch.setenv("FLEETWISE_DATA_DIR", str(tmp_path / "shared"))
    assert data_dir_for("postgresql+psycopg://u@db.example/fleet") == (tmp_path / "shared", False)
    assert data_dir_for(f"sqlite:///{tmp_path / 'a.db'}") == (tmp_path / "shared", False)
    monkeypatch.delenv("FLEETWISE_DATA_DIR")
    assert data_dir_for(f"sqlite:///{tmp_path / 'a.db'}") == (tmp_path / "a.db.data", False)
    none = FleetData(None)
    assert none.records() == [] and none.sources() == [] and none.version() == ()
    _, records = import_jobs(DATA / "formats" / "sacct.txt")
    with pytest.raises(StoreError, match="FLEETWISE_DATA_DIR"):
        none.add_records(records, "log")


def test_a_large_log_keeps_its_order_and_the_first_row_of_a_job(tmp_path: Path) -> None:
    # 10 MB: DuckDB reads it in parallel chunks, whose rows it does not keep in order
    log = tmp_path / "sacct.txt"
    with log.open("w") as f:
        f.write("JobID|User|Account|Submit|Start|End|State|AllocTRES|NNodes|NodeList\n")
        for i in range(100_000):
            f.write(
                f"{i}|u{i % 13}|team{i % 7}|2024-01-01T{i // 10_000:02d}:00:00|"
                f"2024-01-01T12:00:00|Unknown|RUNNING|gres/gpu={1 + i % 16}|{1 + i % 3}|"
                f"gpu[{i % 900:04d}-{i % 900 + i % 3:04d}]\n"
            )
        f.write("5|late|other|2024-01-01T00:00:00|||PENDING|gres/gpu=1|1|\n")
    data = FleetData.temporary()
    con = connect(threads=2)
    try:
        staged = data.staging_file()
        done = stage(slurm_select(log), staged, con)
        assert done is not None and done.jobs == 100_001
        assert data.adopt(staged, "log", con) == 100_000
        with data.connect() as view:
            rows = view.execute(
                "SELECT job_id, team FROM jobs ORDER BY submit_time, seq"
            ).fetchall()
    finally:
        con.close()
        data.close()
    assert [int(j) for j, _ in rows] == list(range(100_000))
    assert rows[5] == ("5", "team5")
