"""``fleetwise trace critical-path`` end to end."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fleetwise.present.cli import main

DATA = Path(__file__).parents[1] / "data" / "kineto"


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_critical_path_json_and_table(capsys: pytest.CaptureFixture[str]) -> None:
    folder = str(DATA / "trace_filter_2rank")
    code, out, _ = run_cli(capsys, "trace", "critical-path", folder, "--rank", "1", "--json")
    assert code == 0
    doc = json.loads(out)
    first = doc["critical_paths"][0]
    # HTA 0.5.0 on the same step: 272,736 us, 93.65% CPU, 6.27% kernel-kernel gaps
    assert (first["rank"], first["step"], first["length_us"]) == (1, 551, 272736)
    assert round(first["bound_by_pct"]["cpu_bound"], 2) == 93.65
    assert round(first["bound_by_pct"]["gpu_kernel_kernel_overhead"], 2) == 6.27
    code, out, _ = run_cli(
        capsys, "trace", "critical-path", str(DATA / "ns_resolution_v100"), "--step", "102"
    )
    assert code == 0
    assert "ProfilerStep#102" in out and "95,735" in out and "97.87" in out


def test_critical_path_bad_input(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    folder = str(DATA / "trace_filter_2rank")
    code, _, err = run_cli(capsys, "trace", "critical-path", folder, "--step", "9")
    assert code == 2 and "no step 9" in err and len(err.strip().splitlines()) == 1
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "rank0.json").write_text('{"traceEvents": [{"ph": "X", "ts": 1,,}]}')
    code, _, err = run_cli(capsys, "trace", "critical-path", str(bad))
    assert code == 2 and "rank0.json" in err
