"""``cluster telemetry import`` stores a DCGM file's samples as columns (again: replaced,
not added), ``cluster telemetry list`` names the source, and ``cluster analyze
--telemetry-source`` prints the figures ``--telemetry FILE`` prints; bad telemetry is
one line naming the file and exit 2, with what was stored kept."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fleetwise.present.cli import main

HEALTH = Path(__file__).parents[1] / "data" / "clusters" / "dcgm_health"


def _summary(capsys: pytest.CaptureFixture[str], args: list[str]) -> dict[str, object]:
    assert main(args) == 0
    doc = json.loads(capsys.readouterr().out)
    return {
        "summary": doc["summary"],
        "findings": [(f["kind"], f["title"]) for f in doc["findings"]],
    }


def test_import_list_analyze_stored_telemetry(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = str(tmp_path / "fw.db")
    assert main(["cluster", "nodes", str(HEALTH / "nodes.csv"), "--db", db]) == 0
    tele = tmp_path / "dcgm_health.prom"
    tele.write_bytes((HEALTH / "dcgm_health.prom").read_bytes())
    capsys.readouterr()
    assert main(["cluster", "telemetry", "import", str(tele), "--db", db]) == 0
    out = " ".join(capsys.readouterr().out.split())
    source = f"dcgm:{tele.resolve()}"
    assert f"768 samples read as dcgm; stored as {source}" in out
    assert "replaced" not in out
    assert main(["cluster", "telemetry", "import", str(tele), "--db", db]) == 0
    assert "the earlier import replaced" in " ".join(capsys.readouterr().out.split())
    assert main(["cluster", "telemetry", "list", "--db", db, "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [(s["source"], s["format"], s["samples"]) for s in listed] == [(source, "dcgm", 768)]
    assert listed[0]["first"] == "2024-03-01T08:00:00+00:00"

    stored = _summary(
        capsys, ["cluster", "analyze", "--telemetry-source", source, "--db", db, "--json"]
    )
    read = _summary(capsys, ["cluster", "analyze", "--telemetry", str(tele), "--db", db, "--json"])
    assert stored == read
    assert stored["summary"]["measured_utilization"] == pytest.approx(0.3683, abs=1e-4)  # type: ignore[index]
    assert main(["cluster", "analyze", "--telemetry-source", source, "--db", db]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "measured use 37% (DCGM SM_ACTIVE" in out
    assert "XID 79 (GPU has fallen off the bus)" in out
    # the ledger reads the analysis of the stored telemetry as it reads one of a file
    assert main(["ledger", "--db", db, "--json"]) == 0
    assert "measured (SM_ACTIVE)" in capsys.readouterr().out


def test_bad_telemetry_is_one_line_and_keeps_what_was_stored(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = str(tmp_path / "fw.db")
    tele = tmp_path / "t.csv"
    tele.write_bytes((HEALTH / "dcgm_health.csv").read_bytes())
    assert main(["cluster", "telemetry", "import", str(tele), "--db", db]) == 0
    lines = tele.read_text().splitlines()
    lines[5] = lines[5].replace(",99,", ",199,", 1)  # GPU_UTIL is a percent
    tele.write_text("\n".join(lines) + "\n")
    capsys.readouterr()
    assert main(["cluster", "telemetry", "import", str(tele), "--db", db]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"{tele}:6: column 'DCGM_FI_DEV_GPU_UTIL'" in err
    assert "is not 0-100" in err
    assert main(["cluster", "telemetry", "list", "--db", db, "--json"]) == 0
    assert [s["samples"] for s in json.loads(capsys.readouterr().out)] == [768]
    assert main(["cluster", "analyze", "--telemetry-source", "dcgm:/nowhere", "--db", db]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no telemetry from 'dcgm:/nowhere'" in err
    assert (
        main(
            ["cluster", "analyze", "--telemetry", str(tele), "--telemetry-source", "x", "--db", db]
        )
        == 2
    )
    assert "not both" in capsys.readouterr().err
