"""The Otava CSV importer: Otava's sample formats, histostats logs, and one-line errors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from fleetwise.collect.importers import otava_csv
from fleetwise.collect.importers.otava_csv import parse, parse_time, sniff
from fleetwise.errors import InputError

DATA = Path(__file__).parents[1] / "data" / "changepoints"
SAMPLES = DATA / "otava_samples"
PLUS1 = timezone(timedelta(hours=1))


def write(tmp_path: Path, text: str, name: str = "h.csv") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_sample_csv() -> None:
    metric1, metric2 = parse(SAMPLES / "sample.csv")
    assert metric1.name == "metric1" and metric2.name == "metric2"
    assert metric1.times[0] == datetime(2024, 1, 1, 3, 0, tzinfo=PLUS1)
    assert metric1.times[-1] == datetime(2024, 1, 10, 3, 0, tzinfo=PLUS1)
    assert metric1.values[:3] == [154023.0, 138455.0, 143112.0]
    assert metric2.values[-1] == 9.03
    assert metric1.attributes == {"commit": [f"aaa{i}" for i in range(10)]}
    assert metric1.attributes is not metric2.attributes


def test_semicolons_unix_time_and_local_sample_read_alike() -> None:
    semi = parse(SAMPLES / "sample-semicolons.csv")
    unix = parse(SAMPLES / "sample-unix-time.csv")
    local = parse(SAMPLES / "local_sample.csv")
    base = parse(SAMPLES / "sample.csv")
    for s in (semi, unix, local):
        assert [c.values for c in s] == [c.values for c in base]
    assert unix[0].times[0] == datetime(2021, 1, 1, 2, 0, tzinfo=UTC)
    assert unix[0].attributes == {}
    assert semi[0].times[0] == datetime(2021, 1, 1, 3, 0, tzinfo=PLUS1)
    assert all(t.tzinfo is not None for c in (*semi, *unix, *local) for t in c.times)


def test_explicit_delimiter_and_metrics(tmp_path: Path) -> None:
    path = write(tmp_path, "time|run|ms\n1700000000|12|1.5\n1700000060|13|1.7\n")
    (ms,) = parse(path, delimiter="|", metrics=["ms"])
    assert ms.values == [1.5, 1.7] and ms.attributes == {"run": ["12", "13"]}
    assert [c.name for c in parse(path, delimiter="|")] == ["run", "ms"]
    with pytest.raises(InputError, match="'nope': not in the header"):
        parse(path, delimiter="|", metrics=["nope"])


def test_other_time_column_and_commit_like_numbers(tmp_path: Path) -> None:
    path = write(tmp_path, "when,commit,v\n2024-01-01T00:00:00Z,1234567,1\n2024-01-02,abcdef0,2\n")
    (v,) = parse(path, time_column="when")
    assert v.attributes == {"commit": ["1234567", "abcdef0"]}
    assert v.times == [datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 1, 2, tzinfo=UTC)]


def test_synthetic_series() -> None:
    (value,) = parse(DATA / "synthetic_5000.csv")
    assert len(value.values) == 5000 and value.name == "value"
    assert value.times[1] - value.times[0] == timedelta(hours=1)


def test_histostat_log() -> None:
    series = {s.name: s for s in parse(SAMPLES / "histostat.csv")}
    assert len(series) == 14 * 12  # 14 tags, 12 statistics each
    p50 = series["initialize.bind.p50"]
    assert p50.values == [74303.0, 50879.0, 51679.0] and p50.unit == "ns"
    assert series["initialize.bind.count"].unit == ""
    start = datetime.fromtimestamp(1649352325.178, UTC)
    assert p50.times[0] == start + timedelta(seconds=3.496)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024.01.01 3:00:00 +0100", datetime(2024, 1, 1, 3, tzinfo=PLUS1)),
        ("2024-01-01 03:00:00.25+01:00", datetime(2024, 1, 1, 3, 0, 0, 250000, tzinfo=PLUS1)),
        ("2024/1/2", datetime(2024, 1, 2, tzinfo=UTC)),
        ("2024-01-02 10:30 UTC", datetime(2024, 1, 2, 10, 30, tzinfo=UTC)),
        (
            "2024-01-02 10:30 -0530",
            datetime(2024, 1, 2, 10, 30, tzinfo=timezone(-timedelta(hours=5.5))),
        ),
        ("1609466400", datetime(2021, 1, 1, 2, 0, tzinfo=UTC)),
        ("1609466400.5", datetime(2021, 1, 1, 2, 0, 0, 500000, tzinfo=UTC)),
        ("2024-W01-1", datetime(2024, 1, 1, tzinfo=UTC)),  # other ISO 8601 forms
        ("yesterday", None),
        ("2024-13-01", None),
        ("", None),
    ],
)
def test_parse_time(text: str, expected: datetime | None) -> None:
    assert parse_time(text) == expected


def test_sniff(tmp_path: Path) -> None:
    for name in ("sample.csv", "sample-semicolons.csv", "sample-unix-time.csv", "histostat.csv"):
        assert sniff(SAMPLES / name)
    assert sniff(DATA / "synthetic_20000.csv")
    assert not sniff(DATA / "synthetic_20000_truth.json")
    assert not sniff(write(tmp_path, "a,b\n1,2\n"))
    assert not sniff(write(tmp_path, "time,b\nnot a time,2\n", "x.csv"))
    assert not sniff(write(tmp_path, "", "empty.csv"))
    assert not sniff(tmp_path / "missing.csv")
    assert otava_csv.FORMAT == "otava-csv"


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("", ":1: column 'time': empty file"),
        ("\n\n", ":1: column 'time': empty file"),
        ("when,v\n2024-01-01,1\n", ":1: column 'time': not in the header"),
        ("time,v\n", ":2: column 'time': no data rows"),
        ("time,v\n2024-01-01,1\n2024-01-02,fast\n", ":3: column 'v': not a number: 'fast'"),
        ("time,v\n2024-01-01,1\n2024-01-02,\n", ":3: column 'v': empty value"),
        ("time,v\n2024-01-01,1\n2024-01-02,inf\n", ":3: column 'v': not a finite number"),
        ("time,v\n2024-01-01,1\nlast tuesday,2\n", ":3: column 'time': not a time"),
        ("time,v,w\n2024-01-01,1,2\n2024-01-02,1\n", ":3: column 'w': row has 2 fields"),
        ("time,v\n2024-01-01,1\n\n2024-01-02,1,3\n", ":4: column '#3': row has 3 fields"),
        ("time,v,v\n2024-01-01,1,2\n", ":1: column 'v': appears twice"),
        ("#[StartTime: 1.0]\nTag=a,0.1,1,2\n", ":2: column 'Tag': row has 4 fields"),
        (
            "#c\nTag=a,0.1,1,2,3,4,5,6,7,8,9,10,11,12,x\n",
            ":2: column 'Interval_Start': no StartTime",
        ),
        (
            "#[StartTime: 1.0]\nTag=a,0.1,1,2,3,4,5,6,7,8,9,10,11,12,x\n",
            ":2: column 'max': not a num",
        ),
        ("#[StartTime: 1.0]\nrow,0.1\n", ":2: column 'Tag': expected 'Tag=<name>'"),
        ("#[StartTime: 1.0]\n", ":1: column 'Tag': no histostats rows"),
    ],
)
def test_bad_input_names_file_line_and_column(tmp_path: Path, text: str, where: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(InputError) as info:
        parse(path)
    message = str(info.value)
    assert message.startswith(f"{path}{where}"), message
    assert "\n" not in message


def test_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot read"):
        parse(tmp_path / "missing.csv")
    path = tmp_path / "latin1.csv"
    path.write_bytes(b"time,v\n2024-01-01,1\n2024-01-02,\xe9\n")
    with pytest.raises(InputError, match=r"latin1.csv:3: not UTF-8"):
        parse(path)
