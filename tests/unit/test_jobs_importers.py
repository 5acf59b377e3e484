"""Job-log importers: every format parses its sample, is sniffed, and rejects bad input."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fleetwise.collect.importers.jobs import detect_format, import_jobs, state_of
from fleetwise.errors import InputError
from fleetwise.models import JobState

DATA = Path(__file__).parents[1] / "data" / "clusters"
FORMATS = DATA / "formats"


@pytest.mark.parametrize(
    ("name", "fmt", "jobs", "gpu_jobs"),
    [
        ("formats/sacct.txt", "slurm", 5, 4),
        ("formats/helios_jobs.csv", "helios", 5, 4),
        ("formats/philly_jobs.json", "philly", 3, 2),
        ("alibaba_pods_head800.csv", "alibaba", 800, 738),
        ("formats/generic.csv", None, 2, 2),
    ],
)
def test_each_format_is_sniffed_and_parsed(
    name: str, fmt: str | None, jobs: int, gpu_jobs: int
) -> None:
    path = DATA / name
    if fmt is None:  # the generic CSV needs its columns mapped
        with pytest.raises(InputError, match="cannot tell its format"):
            detect_format(path)
        mapping = {"submit": "Submitted", "gpus": "Accelerators", "duration": "Runtime"}
        found, records = import_jobs(path, "csv", mapping | {"start": "Started"})
    else:
        assert detect_format(path) == fmt
        found, records = import_jobs(path)
        assert found == fmt
    assert len(records) == jobs
    assert sum(1 for r in records if r.gpus > 0) == gpu_jobs


def test_slurm_fields() -> None:
    _, jobs = import_jobs(FORMATS / "sacct.txt")
    by_id = {j.job_id: j for j in jobs}
    assert "1001.batch" not in by_id
    assert by_id["1001"].gpus == 4 and by_id["1001"].team == "vision"
    assert by_id["1002"].gpus == 8  # typed gres/gpu:a100=8
    assert by_id["1003"].state is JobState.CANCELLED and by_id["1003"].nodes == 2
    assert by_id["1004"].start_time is None and by_id["1004"].state is JobState.PENDING
    assert by_id["1001"].start_time == datetime(2024, 3, 1, 9, 5, tzinfo=UTC)


def test_philly_takes_first_start_last_end_and_last_attempt_gpus() -> None:
    _, jobs = import_jobs(FORMATS / "philly_jobs.json")
    killed = jobs[1]
    assert killed.gpus == 16 and killed.nodes == 2 and killed.state is JobState.CANCELLED
    assert killed.start_time == datetime(2017, 10, 3, 3, tzinfo=UTC)
    assert killed.end_time == datetime(2017, 10, 3, 6, tzinfo=UTC)
    assert jobs[2].start_time is None and jobs[2].gpus == 0


def test_generic_csv_with_epoch_times_and_duration() -> None:
    mapping = {"submit": "Submitted", "start": "Started", "gpus": "Accelerators"}
    mapping |= {"duration": "Runtime", "job_id": "Job", "state": "Outcome", "team": "Group"}
    _, jobs = import_jobs(FORMATS / "generic.csv", "csv", mapping)
    assert jobs[1].start_time == datetime.fromtimestamp(1714561200, UTC)
    assert jobs[1].end_time is not None
    assert (jobs[1].end_time - jobs[1].start_time).total_seconds() == 7200
    assert jobs[1].state is JobState.FAILED and jobs[1].team == "product"


@pytest.mark.parametrize(
    ("fmt", "text", "message"),
    [
        (
            "helios",
            "job_id,vc,gpu_num,state,submit_time\nj1,a,x,COMPLETED,2020-01-01\n",
            r"bad.csv:2: column 'gpu_num': not a number: 'x'",
        ),
        (
            "helios",
            "job_id,vc,gpu_num,state,submit_time\nj1,a,1,COMPLETED,yesterday\n",
            r"bad.csv:2: column 'submit_time': not a time: 'yesterday'",
        ),
        (
            "helios",
            "job_id,vc,gpu_num,state,submit_time\nj1,a,1\n",
            r"bad.csv:2: expected 5 columns, got 3",
        ),
        (
            "slurm",
            "JobID|Submit|AllocTRES|NNodes\n7|2024-01-01T00:00:00||-1\n",
            r"bad.csv:2: column 'NNodes': expected a whole number >= 0",
        ),
        ("alibaba", "name,num_gpu\np,1\n", r"bad.csv:1: missing column\(s\) creation_time"),
        (
            "philly",
            '[{"jobid": "a", "submitted_time": "2017-13-01 00:00:00"}]',
            r"bad.csv: job 0 \(a\): 'submitted_time': not a time",
        ),
        ("philly", '[{"jobid": "a",\n "submitted_time": }]', r"bad.csv:2:\d+: not valid JSON"),
        ("csv", "when,n\n2024-01-01,1\n", r"bad.csv:1: no column for 'submit'"),
    ],
)
def test_malformed_files_name_file_line_and_column(
    tmp_path: Path, fmt: str, text: str, message: str
) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text(text)
    with pytest.raises(InputError, match=message):
        import_jobs(bad, fmt)


def test_unknown_mapping_field_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="unknown field"):
        import_jobs(FORMATS / "generic.csv", "csv", {"colour": "Job"})
    with pytest.raises(InputError, match="no such file"):
        import_jobs(tmp_path / "nope.csv")


@given(
    st.sampled_from(
        [
            "COMPLETED",
            "Pass",
            "Succeeded",
            "CANCELLED by 7",
            "Killed",
            "FAILED",
            "NODE_FAIL",
            "TIMEOUT",
            "RUNNING",
            "Pending",
            "weird",
        ]
    )
)
@settings(max_examples=30)
def test_state_spellings(text: str) -> None:
    state = state_of(text)
    assert (state is JobState.UNKNOWN) == (text == "weird")


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 64), st.integers(0, 10**6), st.integers(0, 10**5)),
        min_size=1,
        max_size=20,
    )
)
def test_helios_round_trip(
    tmp_path_factory: pytest.TempPathFactory, rows: list[tuple[int, int, int]]
) -> None:
    path = tmp_path_factory.mktemp("h") / "jobs.csv"
    lines = [
        "job_id,user,vc,gpu_num,cpu_num,node_num,state,submit_time,start_time,end_time,"
        "duration,queue"
    ]
    for k, (gpus, submit, wait) in enumerate(rows):
        lines.append(
            f"j{k},u,v,{gpus},1,1,COMPLETED,{submit},{submit + wait},{submit + wait + 60},60,{wait}"
        )
    path.write_text("\n".join(lines) + "\n")
    _, jobs = import_jobs(path)
    assert [j.gpus for j in jobs] == [r[0] for r in rows]
    for j, (_, _, wait) in zip(jobs, rows, strict=True):
        assert j.start_time is not None
        assert (j.start_time - j.submit_time).total_seconds() == wait


def test_alibaba_offsets_are_placed_at_the_given_epoch() -> None:
    path = DATA / "alibaba_pods_head800.csv"
    _, undated = import_jobs(path)
    _, dated = import_jobs(path, epoch=datetime(2026, 6, 1))
    assert undated[1].submit_time == datetime(1970, 1, 1, tzinfo=UTC) + (
        dated[1].submit_time - datetime(2026, 6, 1, tzinfo=UTC)
    )
    assert dated[0].submit_time == datetime(2026, 6, 1, tzinfo=UTC)  # pod 0 created at 0 s
    with pytest.raises(InputError, match="--epoch applies"):
        import_jobs(DATA / "formats" / "sacct.txt", epoch=datetime(2026, 6, 1))
