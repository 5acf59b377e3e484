"""Alibaba 2023/2025 and Philly logs streamed by DuckDB into the columnar store
(``jobs_stream_alibaba.py``, ``jobs_stream_philly.py``), against the record parsers of
``jobs.py`` (the oracle): the same stored rows, in the same order, on every fixture; what
the SQL cannot vouch for handed to the record parser, whose message stands."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from fleetwise.collect.importers import jobs_stream
from fleetwise.collect.importers.jobs import NO_CREATION_TIME, read_jobs
from fleetwise.collect.importers.jobs_stream import Staged, stage, streaming_plan
from fleetwise.errors import InputError
from fleetwise.present.cli import main
from fleetwise.store import Store
from fleetwise.store.columnar import connect
from stream_oracle import both_ways

DATA = Path(__file__).parents[1] / "data" / "clusters"
LOGS = [
    DATA / "formats" / "philly_jobs.json",
    DATA / "formats" / "philly_placed.json",
    DATA / "alibaba_pods_head800.csv",
    DATA / "alibaba_gpu_v2023" / "openb_pod_list_default.csv",
    DATA / "alibaba_2025_dlrm_head50.csv",
]
HEADER_2023 = (
    "name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,qos,pod_phase,creation_time,"
    "deletion_time,scheduled_time\n"
)
HEADER_2025 = (
    "instance_sn,role,app_name,cpu_request,cpu_limit,gpu_request,gpu_limit,rdma_request,"
    "rdma_limit,memory_request,memory_limit,disk_request,disk_limit,max_instance_per_node,"
    "creation_time,scheduled_time,deletion_time\n"
)


@pytest.mark.parametrize("log", LOGS, ids=lambda p: p.name)
@pytest.mark.parametrize("epoch", [None, datetime(2026, 6, 1)])
def test_streamed_rows_equal_the_record_parsers(log: Path, epoch: datetime | None) -> None:
    if epoch is not None and log.suffix == ".json":
        assert streaming_plan(log, "auto", {}, epoch) is None  # --epoch: the parser's error
        return
    both = both_ways(log, epoch=epoch)
    assert both.done is not None and both.parsed is not None
    assert both.got == both.want and len(both.got) > 0
    assert both.done == Staged(
        len(both.parsed.jobs), sum(j.gpus > 0 for j in both.parsed.jobs), both.parsed.skipped
    )


def test_counts_and_placements_of_the_fixtures() -> None:
    both = both_ways(DATA / "alibaba_2025_dlrm_head50.csv")
    assert both.done == Staged(38, 19, {NO_CREATION_TIME: 12})
    both = both_ways(DATA / "formats" / "philly_jobs.json")
    assert both.done == Staged(3, 2)
    assert [r[9] for r in both.got] == ['{"m172":4}', '{"m11":8,"m12":8}', None]
    assert both_ways(DATA / "alibaba_pods_head800.csv").done == Staged(800, 738)


@pytest.mark.parametrize(
    "epoch",
    [
        datetime(2025, 1, 1, 12, 30, tzinfo=timezone(timedelta(hours=8))),
        datetime(2025, 1, 1, tzinfo=UTC),
        datetime(2025, 1, 1, 0, 0, 0, 123457),
    ],
)
def test_an_epoch_with_a_fixed_offset_or_microseconds(epoch: datetime) -> None:
    both = both_ways(DATA / "alibaba_pods_head800.csv", epoch=epoch)
    assert both.done is not None and both.got == both.want


def test_an_epoch_in_a_zone_with_daylight_saving_goes_to_the_record_parser() -> None:
    berlin = datetime(2025, 1, 1, tzinfo=ZoneInfo("Europe/Berlin"))
    assert streaming_plan(DATA / "alibaba_pods_head800.csv", "auto", {}, berlin) is None


POD = "p{k},12000,16384,{gpus},1000,,{qos},{phase},{created},{deleted},{scheduled}\n"


@pytest.mark.parametrize(
    ("cell", "value"),
    [
        ("gpus", "0.5"),  # a fractional GPU request: the record parser's error
        ("gpus", "-1"),
        ("gpus", "1_0"),  # Python's float reads it: not a form this path vouches for
        ("created", ""),  # missing creation time (2023: an error)
        ("created", "soon"),
        ("created", "1e400"),
        ("created", "\t5"),
        ("scheduled", "Infinity"),
        ("qos", "\tLS"),
        ("phase", "Running\x85"),  # DuckDB trims spaces (Zs) only
    ],
)
def test_pod_cells_it_cannot_vouch_for_go_to_the_record_parser(
    tmp_path: Path, cell: str, value: str
) -> None:
    cells = {
        "gpus": "1",
        "qos": "LS",
        "phase": "Running",
        "created": "5",
        "deleted": "50",
        "scheduled": "6",
    }
    good = POD.format(k=0, **cells)
    cells[cell] = value
    log = tmp_path / "pods.csv"
    log.write_text(HEADER_2023 + good + POD.format(k=1, **cells))
    assert both_ways(log).done is None


def test_pod_forms_read_as_the_record_parser(tmp_path: Path) -> None:
    log = tmp_path / "pods.csv"
    rows = [
        ("1", "LS", "Running", "0.0000005", "1e3", " 12.25 "),
        ("8.0", " BE\u3000", " Pending", "1.5e2", "", "151"),  # pending: no start
        ("", "", "Succeeded", "+7", "NaN", "None"),
        ("2", "LS", "Failed", "-3.75", "unknown", "n/a"),
        ("1", "LS", "Running", "1234567.0000015", "1234568", "1234567.5"),
        ("1", '"L,S"', "Running", "1", "2", "1"),  # a quoted cell
    ]
    text = HEADER_2023 + "".join(
        f"p{k},1,1,{g},1,,{q},{ph},{c},{d},{s}\n" for k, (g, q, ph, c, d, s) in enumerate(rows)
    )
    log.write_text(text + "\n,,,,,,,,,,\n  ,,,,,,,,,,\np0,1,1,4,1,,LS,Running,9,10,9\n")
    both = both_ways(log)
    assert both.done is not None and both.done.jobs == len(rows) + 1
    assert both.got == both.want and len(both.got) == len(rows)  # p0 twice: the first kept


INSTANCE = "i{k},HN,app_{k},12,12,{gpus},1,25,25,120.0,120.0,640.0,800.0,8,{c},{s},{d}\n"


def test_instances_skipped_counted_and_out_of_order_handed_over(tmp_path: Path) -> None:
    log = tmp_path / "v2025.csv"
    body = [
        INSTANCE.format(k=0, gpus=1, c="", s="", d=""),  # skipped: no creation time
        INSTANCE.format(k=1, gpus=1, c="nan", s="oops", d="x"),  # skipped before the rest
        INSTANCE.format(k=2, gpus=0, c="10.5", s="", d="20"),  # deleted while pending
        INSTANCE.format(k=3, gpus=2, c="10", s="11", d=""),  # running
    ]
    log.write_text(HEADER_2025 + "".join(body))
    both = both_ways(log)
    assert both.done == Staged(2, 1, {NO_CREATION_TIME: 2})
    assert both.got == both.want and both.parsed is not None
    assert both.parsed.skipped == both.done.skipped
    assert [r[8] for r in both.got] == ["unknown", "running"]
    for bad in ("c=10,s=9,d=", "c=10,s=,d=9", "c=10,s=12,d=11", "gpus=0.25"):
        fields = dict(kv.split("=") for kv in bad.split(","))
        cells = {"gpus": 1, "c": "10", "s": "", "d": ""} | fields
        log.write_text(HEADER_2025 + INSTANCE.format(k=9, **cells))
        assert both_ways(log).done is None, bad


def test_every_instance_skipped_stops_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log = tmp_path / "v2025.csv"
    log.write_text(HEADER_2025 + INSTANCE.format(k=0, gpus=1, c="", s="", d=""))
    db = str(tmp_path / "f.db")
    assert main(["cluster", "import", str(log), "--db", db]) == 2
    assert "v2025.csv: no jobs to import (every row was skipped)" in capsys.readouterr().err
    with Store(f"sqlite:///{db}") as store:
        assert store.jobs() == []


JOB = (
    '{{"status": "Pass", "vc": "vc1", "jobid": "{jobid}", "submitted_time": "{submit}",'
    ' "user": "u", "attempts": [{attempt}]}}'
)
ATTEMPT = (
    '{"start_time": "2017-10-03 01:00:00", "end_time": "2017-10-03 02:00:00",'
    ' "detail": [{"ip": "m1", "gpus": ["gpu0", "gpu1"]}]}'
)


@pytest.mark.parametrize(
    "job",
    [
        JOB.format(jobid="a", submit="2017-13-01 00:00:00", attempt=ATTEMPT),  # not a time
        JOB.format(jobid="a", submit="", attempt=ATTEMPT),  # missing
        JOB.replace('"{jobid}"', "7").format(submit="2017-10-03 00:00:00", attempt=ATTEMPT),
        JOB.format(jobid="a", submit="2017-10-03 00:00:00", attempt=ATTEMPT).replace('"u"', "NaN"),
        JOB.format(jobid="a", submit="2017-10-03 00:00:00", attempt=ATTEMPT + ","),
        JOB.format(jobid="a", submit="2017-10-03 00:00:00", attempt=ATTEMPT).replace(
            '"vc": "vc1"', '"vc": "vc1", "vc": "vc2"'
        ),
        JOB.format(jobid="a", submit="2017-10-03 00:00:00", attempt=ATTEMPT).replace(
            '"ip": "m1"', '"ip": 5'
        ),
        JOB.format(jobid="a", submit="2017-10-03 00:00:00", attempt=ATTEMPT).replace(
            '"gpus": ["gpu0", "gpu1"]', '"gpus": "gpu0"'
        ),
        JOB.format(jobid="a", submit="2017-10-03 00:00:00", attempt="{}, 1"),
        JOB.format(jobid="a", submit="2017-10-03 00:00:00", attempt=ATTEMPT).replace(
            '"user": "u"', '"user": 1e999'
        ),
        JOB.format(jobid="a", submit="2017-10-03 00:00:00", attempt=ATTEMPT).replace(
            '"user": "u"', '"user": {}'
        ),
        JOB.format(jobid="a", submit="2017-10-03 00:00:00", attempt=ATTEMPT).replace(
            '"user": "u"', '"user": "u", "deep": ' + "[" * 1100 + "]" * 1100
        ),  # past orjson's depth
    ],
)
def test_jobs_it_cannot_vouch_for_go_to_the_record_parser(tmp_path: Path, job: str) -> None:
    log = tmp_path / "philly.json"
    good = JOB.format(jobid="ok", submit="2017-10-03 00:00:00", attempt=ATTEMPT)
    log.write_text(f"[{good},\n {job}]")
    assert both_ways(log, "philly").done is None


@pytest.mark.parametrize(
    "text",
    ["\ufeff[]", "   ", '{"jobid": "a"}', '[{"jobid": "a", "submitted_time": "2017-10-03"},]'],
)
def test_a_file_orjson_refuses_is_never_streamed(tmp_path: Path, text: str) -> None:
    log = tmp_path / "philly.json"
    log.write_text(text)
    plan = streaming_plan(log, "philly", {})
    if plan is not None:
        con = connect()
        assert stage(plan[1], tmp_path / "s.parquet", con) is None
        con.close()
    with pytest.raises(InputError):
        read_jobs(log, "philly")


def test_philly_forms_read_as_the_record_parser(tmp_path: Path) -> None:
    log = tmp_path / "philly.json"
    jobs = [
        '{"jobid": "a", "submitted_time": "2017-10-03T00:00:00Z", "user": null, "vc": "",'
        ' "status": "Killed by user", "attempts": null}',
        '{"jobid": "b\\u00e9", "submitted_time": "1506998442", "attempts": []}',
        '{"jobid": "c", "submitted_time": "2017-10-03 00:00:00", "status": "Running",'
        ' "attempts": [{"start_time": "2017-10-03 01:00:00", "end_time": null,'
        ' "detail": [{"ip": "", "gpus": ["g0"]}, {"ip": "m\\"2", "gpus": []},'
        ' {"ip": null, "gpus": null}, {"ip": "m3", "gpus": ["g0", "g1", "g2"]}, {}]}]}',
        '{"jobid": "d", "submitted_time": "2017-10-03 00:00:01", "extra": [1, {"x": 2}],'
        ' "attempts": [{"start_time": "None", "detail": [{"ip": "m1", "gpus": [0]}]},'
        ' {"end_time": "2017-10-04 00:00:00", "detail": null}]}',
        '{"jobid": "e", "submitted_time": "2017-10-03 00:00:02", "attempts": [{"detail":'
        ' [{"ip": "m2", "gpus": [0]}, {"ip": "m1", "gpus": [0, 1]}, {"ip": "m2", "gpus": [1]}]}]}',
        '{"jobid": "a", "submitted_time": "2017-10-01 00:00:00"}',
    ]
    log.write_text("\n[\n" + ",\n".join(jobs) + "\n]\n")
    both = both_ways(log, "philly")
    assert both.done == Staged(6, 2)
    assert both.got == both.want and len(both.got) == 5
    assert both.got[-1][9] == '{"m2":2,"m1":2}'  # a host listed twice: its GPUs added


def test_cli_streams_alibaba_and_philly_and_reimport_adds_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = str(tmp_path / "f.db")
    pods = DATA / "alibaba_pods_head800.csv"
    assert main(["cluster", "import", str(pods), "--epoch", "2026-06-01", "--db", db]) == 0
    assert "800 jobs (738 with GPUs) read as alibaba; 800 new stored" in capsys.readouterr().out
    assert main(["cluster", "import", str(pods), "--epoch", "2026-06-01", "--db", db]) == 0
    assert "; 0 new stored" in capsys.readouterr().out
    philly = DATA / "formats" / "philly_jobs.json"
    assert main(["cluster", "import", str(philly), "--db", db]) == 0
    assert "3 jobs (2 with GPUs) read as philly; 3 new stored" in capsys.readouterr().out
    bad = tmp_path / "bad.json"
    bad.write_text(philly.read_text().replace("2017-10-03 05:00:00", "2017-13-01 00:00:00"))
    assert main(["cluster", "import", str(bad), "--db", db]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "bad.json: job 2 (application_1506638472019_10240): 'submitted_time': not a time" in err
    assert main(["cluster", "import", str(philly), "--epoch", "2026-06-01", "--db", db]) == 2
    assert "--epoch applies to logs with relative times" in capsys.readouterr().err
    with Store(f"sqlite:///{db}") as store:
        jobs = store.jobs()
        assert len(jobs) == 803
        placed = next(j for j in jobs if j.job_id.endswith("10239"))
        assert placed.placement == {"m11": 8, "m12": 8} and placed.nodes == 2
        assert min(j.submit_time for j in jobs if j.source.startswith("alibaba")) == datetime(
            2026, 6, 1, tzinfo=UTC
        )


@pytest.mark.parametrize("header", [HEADER_2023, HEADER_2025])
def test_a_row_with_extra_empty_cells_is_the_record_parsers_error(
    tmp_path: Path, header: str
) -> None:
    # DuckDB's reader drops empty cells past the header's; Python's csv counts them
    width = header.count(",") + 1
    good = ",".join(["p0", *(["1"] * (width - 1))])
    log = tmp_path / "log.csv"
    for extra in (",", ",,", ',""'):
        log.write_text(header + good + "\n" + '"p,1"' + good[2:] + extra + "\n")
        with pytest.raises(InputError, match=rf"log.csv:3: expected {width} columns"):
            read_jobs(log)
        assert both_ways(log).done is None
    log.write_text(header + good + "\n" + "p1" + good[2:-1] + "\n")  # the last cell empty
    both = both_ways(log)
    assert both.done is not None and both.done.jobs == 2 and both.got == both.want


@pytest.mark.parametrize(
    ("fmt", "text"),
    [
        (
            "slurm",
            "JobID|User|Account|Submit|Start|End|State|AllocTRES\n"
            "1|u|a|2024-01-01T00:00:00|||PENDING|gres/gpu=1|\n",
        ),
        (
            "helios",
            "job_id,user,vc,gpu_num,cpu_num,node_num,state,submit_time,start_time,end_time,"
            "duration,queue\nh1,u1,vcA,8,32,1,COMPLETED,2020-04-01 00:00:07,,,,600,\n",
        ),
    ],
)
def test_sacct_and_helios_rows_with_extra_empty_cells_go_to_the_record_parser(
    tmp_path: Path, fmt: str, text: str
) -> None:
    log = tmp_path / "log.txt"
    log.write_text(text)
    with pytest.raises(InputError, match=r"log\.txt:2: expected"):
        read_jobs(log, fmt)
    assert both_ways(log, fmt).done is None
    log.write_text(text.replace("|\n", "\n").replace("600,\n", "600\n"))
    assert both_ways(log, fmt).done is not None


@pytest.mark.parametrize("chunk", [5, 8 << 20])
@pytest.mark.parametrize(
    ("text", "extra"),
    [
        ("a,b,c\n1,2,3\n", False),
        ("a,b,c\n1,2,\n", False),  # the last cell empty
        ("a,b,c\n1,2,3,\n", True),
        ("a,b,c\n1,2,3,", True),  # no line end at the end
        ('a,b,c\n1,2,3,""\n', True),
        ('a,b,c\n"1,x",2,\n', False),  # a delimiter inside quotes
        ('a,b,c\n"1,""x,",2,3,\n', True),
        ("a,b,c\r\n1,2,3,\r\n", True),
        ("a,b,c\r\n1,2,3\r\n", False),
        ("a,b,c\n1,2,3\r4,5,6\n", True),  # a carriage return alone ends a line in Python
        ("", False),
        ('a,b,c\n1, "2",3\n', True),  # DuckDB skips the space before a quote
        ('a,b,c\n1,"2" ,3\n', True),
        ('a,b,c\n1,"2",3\n', False),
    ],
)
def test_lines_duckdb_reads_apart_from_pythons_csv(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, chunk: int, text: str, extra: bool
) -> None:
    monkeypatch.setattr(jobs_stream, "_CHUNK", chunk)
    log = tmp_path / "log.csv"
    log.write_bytes(text.encode())
    assert jobs_stream.csv_differs(log, 3) is extra


def test_a_count_past_32_bits_is_one_line_not_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log = tmp_path / "pods.csv"
    log.write_text(HEADER_2023 + "p0,1,1,2147483648,1,,LS,Running,1,2,1\n")
    assert both_ways(log).done is None
    assert main(["cluster", "import", str(log), "--db", str(tmp_path / "f.db")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "pods.csv:2: column 'num_gpu': '2147483648' is more than the 2,147,483,647" in err
