"""Telemetry importers: DCGM (three shapes), Helios and Philly per-minute sequences."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from fleetwise.collect.importers.telemetry import import_telemetry
from fleetwise.errors import InputError

DATA = Path(__file__).parents[1] / "data" / "clusters"


@pytest.mark.parametrize("name", ["dcgm.prom", "dcgm_query_range.json"])
def test_dcgm_mean_utilization_per_time(name: str) -> None:
    s = import_telemetry(DATA / "formats" / name)
    assert s.source.startswith("dcgm:")
    assert s.utilization.tolist() == pytest.approx([0.5, 0.5])
    assert s.total.tolist() == [2.0, 2.0]
    assert str(s.times[0]) == "2024-03-01T08:00:00"


def test_dcgm_csv(tmp_path: Path) -> None:
    path = tmp_path / "util.csv"
    path.write_text(
        "timestamp,Hostname,gpu,DCGM_FI_DEV_GPU_UTIL\n"
        "2024-03-01T08:00:00,n1,0,100\n2024-03-01T08:00:00,n1,1,0\n"
    )
    s = import_telemetry(path)
    assert s.utilization.tolist() == [0.5]


def test_helios_sequence_is_allocation_not_utilization() -> None:
    s = import_telemetry(DATA / "helios_vc6YE_3days.csv")
    assert len(s.times) == 4320 and s.unit == "GPUs"
    assert np.all(s.total == 208)
    assert np.all(np.isnan(s.utilization))
    days, busy = s.daily_mean_busy()
    assert len(days) == 3 and np.all((busy > 0) & (busy <= 208))


def test_philly_node_sequence() -> None:
    s = import_telemetry(DATA / "philly_node_sequence_10min.csv")
    assert s.unit == "nodes" and len(s.times) == 10565
    days, _ = s.daily_mean_busy()
    assert str(days[0]) == "2017-10-03"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('DCGM_FI_DEV_GPU_UTIL{gpu="0"} 50\n', r"bad.txt:1: expected .* timestamp_ms"),
        ('DCGM_FI_DEV_GPU_UTIL{gpu="0"} 150 1709280000000\n', r"is not 0-100"),
        ('DCGM_FI_DEV_GPU_UTIL{gpu="0"} x 1709280000000\n', r"bad.txt:1: not a number: 'x'"),
        (
            "time,active,total\n2017-10-03 00:00:00,3,x\n",
            r"bad.txt:2: column 'total': not a number",
        ),
        ("time,total_gpu_num,running_gpu_num\nnoon,1,1\n", r"bad.txt:2: column 'time': not a time"),
        ("hello\n", r"cannot tell its telemetry format"),
    ],
)
def test_malformed_telemetry(tmp_path: Path, text: str, message: str) -> None:
    bad = tmp_path / "bad.txt"
    bad.write_text(text)
    with pytest.raises(InputError, match=message):
        import_telemetry(bad)
