"""The streamed Alibaba 2023/2025 and Philly imports against the record parsers (the oracle)
on generated logs: plain logs are streamed and stored exactly as the record path stores
them; odd ones (fractions, signs, exponents, blank rows, odd whitespace, wrong types,
times out of order) are either stored exactly so, or handed to the record parser, and
always handed over when the record parser refuses the file."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stream_oracle import both_ways

seeded = settings(
    derandomize=True,
    deadline=None,
    max_examples=40,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
EPOCHS = st.sampled_from(
    [None, datetime(2026, 6, 1), datetime(2025, 1, 1, 12, 30, tzinfo=timezone(timedelta(hours=8)))]
)


def only(odd: bool, values: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """``values`` in an odd row, nothing in a plain one."""
    return values if odd else st.nothing()


def seconds(odd: bool) -> st.SearchStrategy[str]:
    plain = st.one_of(
        st.integers(0, 20_000_000).map(str),
        st.floats(0, 2e7, allow_nan=False).map(repr),
        st.integers(0, 2_000_000).map(lambda n: f"{n}.{n % 1000:03d}"),
    )
    if not odd:
        return plain
    return st.one_of(
        plain,
        st.sampled_from(["", "nan", "NaN", "None", "unknown", " 12 ", "1e3", "+7", "-3.5", ".5"]),
        st.sampled_from(["5.", "1_000", "abc", "1e400", "inf", "\t5", "1e12", "-1e11", "0x10"]),
        st.floats(-1e12, 1e12, allow_nan=False).map(repr),
    )


def gpus(odd: bool) -> st.SearchStrategy[str]:
    plain = st.integers(0, 16).map(str)
    if not odd:
        return plain
    return st.one_of(plain, st.sampled_from(["", "1.0", "0.5", "-1", "2e0", "x", " 3 ", "1e10"]))


def names(odd: bool) -> st.SearchStrategy[str]:
    plain = st.sampled_from(["p0", "p1", "p2", "pod-3", "pod-4", "a b"])
    if not odd:
        return plain
    return st.one_of(plain, st.text(st.sampled_from('ab," \t\xa0\x85é'), max_size=4))


def write_csv(path: Path, header: list[str], rows: list[list[str]], odd_lines: list[int]) -> None:
    """``rows`` as CSV; before an odd line's row, an empty line or one of empty cells
    (both skipped), or the row given an extra empty cell (the record parser's error)."""
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerow(header)
    for k, row in enumerate(rows):
        line = io.StringIO()
        csv.writer(line, lineterminator="\n").writerow(row)
        text = line.getvalue()
        if k in odd_lines:
            if k % 3 == 0:
                out.write("\n")
            elif k % 3 == 1:
                out.write("," * (len(header) - 1) + "\n")
            else:
                text = text[:-1] + ",\n"
        out.write(text)
    path.write_text(out.getvalue())


POD_HEADER = [
    "name",
    "cpu_milli",
    "memory_mib",
    "num_gpu",
    "gpu_milli",
    "gpu_spec",
    "qos",
    "pod_phase",
    "creation_time",
    "deletion_time",
    "scheduled_time",
]
PHASES = ["Running", "Pending", "Succeeded", "Failed", "Unknown", "pending"]


@st.composite
def pods(draw: st.DrawFn, odd: bool) -> tuple[list[list[str]], list[int]]:
    n = draw(st.integers(0, 8))
    rows = []
    for _ in range(n):
        o = odd and draw(st.integers(0, 3)) == 0  # about one row in four odd
        rows.append(
            [
                draw(names(o)),
                "1000",
                "2048",
                draw(gpus(o)),
                "1000",
                "",
                draw(st.sampled_from(["LS", "BE", "Burstable", ""]) | only(o, names(o))),
                draw(st.sampled_from(PHASES) | only(o, st.sampled_from([" Running", "", "x y"]))),
                draw(seconds(o)),
                draw(seconds(o) | st.just("")),
                draw(seconds(o) | st.just("")),
            ]
        )
    odd_lines = draw(st.lists(st.integers(0, max(n - 1, 0)), max_size=2)) if odd else []
    return rows, odd_lines


def same(path: Path, fmt: str, epoch: datetime | None, must_stream: bool) -> None:
    both = both_ways(path, fmt, epoch)
    if both.parsed is None:
        assert both.done is None  # the record parser's error is the one shown
        return
    if both.done is None:
        assert not must_stream, "a plain log was handed to the record parser"
        return
    assert both.got == both.want
    assert both.done.skipped == both.parsed.skipped
    assert both.done.jobs == len(both.parsed.jobs)


@seeded
@given(pods(odd=False), EPOCHS)
def test_plain_pods_are_streamed_as_the_record_parser_reads_them(
    tmp_path_factory: Any, case: tuple[list[list[str]], list[int]], epoch: datetime | None
) -> None:
    path = tmp_path_factory.mktemp("pods") / "pods.csv"
    write_csv(path, POD_HEADER, *case)
    same(path, "alibaba", epoch, must_stream=True)


@seeded
@given(pods(odd=True), EPOCHS)
def test_odd_pods_are_streamed_as_read_or_handed_over(
    tmp_path_factory: Any, case: tuple[list[list[str]], list[int]], epoch: datetime | None
) -> None:
    path = tmp_path_factory.mktemp("pods") / "pods.csv"
    write_csv(path, POD_HEADER, *case)
    same(path, "alibaba", epoch, must_stream=False)


INSTANCE_HEADER = [
    "instance_sn",
    "role",
    "app_name",
    "gpu_request",
    "creation_time",
    "scheduled_time",
    "deletion_time",
]


@st.composite
def instances(draw: st.DrawFn, odd: bool) -> tuple[list[list[str]], list[int]]:
    n = draw(st.integers(0, 8))
    rows = []
    for _ in range(n):
        o = odd and draw(st.integers(0, 3)) == 0  # about one row in four odd
        if not o and draw(st.integers(0, 3)) > 0:  # in order: created <= scheduled <= deleted
            created = draw(st.integers(0, 10**7))
            scheduled = draw(st.none() | st.integers(created, created + 10**6))
            deleted = draw(st.none() | st.integers(scheduled or created, 2 * 10**7))
            times = [str(created), "" if scheduled is None else f"{scheduled}.0"]
            times.append("" if deleted is None else str(deleted))
        elif not o:  # no creation time: skipped, whatever the rest says
            times = [draw(st.sampled_from(["", "nan", " None "])), draw(seconds(True)), "x"]
        else:
            times = [draw(seconds(o)), draw(seconds(o) | st.just("")), draw(seconds(o))]
        rows.append([draw(names(o)), "HN", draw(names(o)), draw(gpus(o)), *times])
    odd_lines = draw(st.lists(st.integers(0, max(n - 1, 0)), max_size=2)) if odd else []
    return rows, odd_lines


@seeded
@given(instances(odd=False), EPOCHS)
def test_plain_instances_are_streamed_skips_counted(
    tmp_path_factory: Any, case: tuple[list[list[str]], list[int]], epoch: datetime | None
) -> None:
    path = tmp_path_factory.mktemp("v2025") / "instances.csv"
    write_csv(path, INSTANCE_HEADER, *case)
    same(path, "alibaba2025", epoch, must_stream=True)


@seeded
@given(instances(odd=True), EPOCHS)
def test_odd_instances_are_streamed_as_read_or_handed_over(
    tmp_path_factory: Any, case: tuple[list[list[str]], list[int]], epoch: datetime | None
) -> None:
    path = tmp_path_factory.mktemp("v2025") / "instances.csv"
    write_csv(path, INSTANCE_HEADER, *case)
    same(path, "alibaba2025", epoch, must_stream=False)


START = datetime(2017, 10, 1, tzinfo=UTC)


def when(odd: bool) -> st.SearchStrategy[Any]:
    plain = st.integers(0, 90 * 86400).map(
        lambda s: (START + timedelta(seconds=s)).strftime("%Y-%m-%d %H:%M:%S")
    )
    if not odd:
        return plain
    return st.one_of(
        plain,
        st.integers(0, 90 * 86400).map(lambda s: (START + timedelta(seconds=s)).isoformat()),
        st.sampled_from(["", "None", "2017-13-01 00:00:00", "1506998442", "soon", None, 0, 5]),
    )


@st.composite
def philly_jobs(draw: st.DrawFn, odd: bool) -> list[Any]:
    jobs: list[Any] = []
    for _ in range(draw(st.integers(0, 6))):
        o = odd and draw(st.integers(0, 3)) == 0  # about one job in four odd
        text = st.sampled_from(["u1", "u2", "6214e9", "", 'm"1', "é", " v "])
        anything = only(o, st.sampled_from([None, 0, 1, "", [], {}, True, "x"]))
        detail = [
            {
                "ip": draw(st.sampled_from(["m1", "m2", "m3", "m4", ""]) | anything),
                "gpus": [f"gpu{k}" for k in range(draw(st.integers(0, 8)))],
            }
            for _ in range(draw(st.integers(0, 3)))
        ]
        attempts = [
            {"start_time": draw(when(o)), "end_time": draw(when(o)), "detail": detail}
            for _ in range(draw(st.integers(0, 3)))
        ]
        job: dict[str, Any] = {
            "status": draw(st.sampled_from(["Pass", "Killed", "Failed", "Running", ""])),
            "vc": draw(text | anything),
            "jobid": draw(st.sampled_from(["a", "b", "c", "d"]) | only(o, st.integers(0, 3))),
            "submitted_time": draw(when(o)),
            "user": draw(text | anything),
            "attempts": draw(st.just(attempts) | anything),
        }
        drop = draw(st.sampled_from([None, "user", "attempts", "vc"]) | only(o, st.just("jobid")))
        if drop is not None:
            del job[drop]
        jobs.append(job)
    return jobs


@seeded
@given(philly_jobs(odd=False))
def test_plain_philly_logs_are_streamed_as_the_record_parser_reads_them(
    tmp_path_factory: Any, jobs: list[Any]
) -> None:
    path = tmp_path_factory.mktemp("philly") / "jobs.json"
    path.write_text(json.dumps(jobs, indent=1))
    same(path, "philly", None, must_stream=True)


@seeded
@given(philly_jobs(odd=True), st.booleans())
def test_odd_philly_logs_are_streamed_as_read_or_handed_over(
    tmp_path_factory: Any, jobs: list[Any], ascii_only: bool
) -> None:
    path = tmp_path_factory.mktemp("philly") / "jobs.json"
    path.write_text(json.dumps(jobs, ensure_ascii=ascii_only))
    same(path, "philly", None, must_stream=False)
