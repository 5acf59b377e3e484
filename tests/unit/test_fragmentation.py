"""Fragmentation on nodes: node importers, job placements, the largest gang, blocked waits."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from fleetwise.analyze.cluster import analyze_cluster
from fleetwise.analyze.fragmentation import fits, history, largest_gang, snapshot
from fleetwise.collect.importers.hostlist import expand_hostlist, spread
from fleetwise.collect.importers.jobs import import_jobs
from fleetwise.collect.importers.nodes import import_nodes
from fleetwise.errors import InputError
from fleetwise.models import JobRecord, NodeRecord
from fleetwise.present.cli import main
from fleetwise.present.reports.areas import cluster
from fleetwise.present.reports.facts import gather
from fleetwise.store import Store

DATA = Path(__file__).parents[1] / "data" / "clusters"
NODES = DATA / "nodes"
FORMATS = DATA / "formats"
AT = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


# -- host lists and importers -------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "hosts"),
    [
        ("gpu[01-03,07]", ["gpu01", "gpu02", "gpu03", "gpu07"]),
        ("dgx[008-011]", ["dgx008", "dgx009", "dgx010", "dgx011"]),
        ("n[9-10],login1", ["n9", "n10", "login1"]),
        ("r[1-2]n[1-2]", ["r1n1", "r1n2", "r2n1", "r2n2"]),
        ("None assigned", []),
        ("", []),
    ],
)
def test_hostlist_expands_like_scontrol_show_hostnames(text: str, hosts: list[str]) -> None:
    assert expand_hostlist(text) == hosts


@pytest.mark.parametrize("text", ["gpu[01-03", "gpu01]", "gpu[3-1]", "gpu[a-b]", "x[[1]]"])
def test_bad_hostlist_is_an_input_error(text: str) -> None:
    with pytest.raises(InputError, match=r"host list|range"):
        expand_hostlist(text, "sacct.txt:4: column 'NodeList'")


def test_spread_gives_the_first_nodes_the_remainder() -> None:
    assert spread(16, ["a", "b"]) == {"a": 8, "b": 8}
    assert spread(6, ["a", "b", "c", "d"]) == {"a": 2, "b": 2, "c": 1, "d": 1}
    assert spread(1, ["a", "b"]) == {"a": 1}
    assert spread(0, ["a"]) == {} and spread(4, []) == {}


def test_scontrol_snapshot_one_line_per_node() -> None:
    fmt, nodes = import_nodes(NODES / "scontrol_oneliner.txt", captured_at=AT)
    assert fmt == "scontrol" and len(nodes) == 7
    by = {n.name: n for n in nodes}
    assert (by["dgx002"].gpus, by["dgx002"].gpus_used, by["dgx002"].model) == (8, 3, "h100")
    assert by["dgx004"].gpus_used == 0 and by["dgx004"].available
    assert not by["dgx005"].available and by["dgx005"].state == "IDLE+DRAIN"
    assert by["a40-01"].partition == "interactive" and by["a40-01"].gpus == 4
    assert by["login01"].gpus == 0 and not by["login01"].available
    assert all(n.captured_at == AT for n in nodes)


def test_scontrol_multiline_blocks_and_mtime_as_capture_time() -> None:
    fmt, nodes = import_nodes(NODES / "scontrol_show_node.txt")
    assert fmt == "scontrol"
    assert [(n.name, n.gpus, n.gpus_used, n.available) for n in nodes] == [
        ("gpu01", 8, 3, True),
        ("gpu02", 8, 0, False),
    ]
    mtime = (NODES / "scontrol_show_node.txt").stat().st_mtime
    assert nodes[0].captured_at == datetime.fromtimestamp(mtime, UTC)


def test_real_inventories() -> None:
    fmt, philly = import_nodes(NODES / "philly_machine_list.csv")
    assert fmt == "philly" and len(philly) == 552
    assert sum(n.gpus for n in philly) == 321 * 2 + 231 * 8
    assert {n.model for n in philly} == {"12GB GPU", "24GB GPU"}
    assert all(n.gpus_used is None and n.captured_at is None for n in philly)
    fmt, alibaba = import_nodes(NODES / "alibaba_gpu_nodes.csv")
    assert fmt == "alibaba" and len(alibaba) == 1213
    assert sum(n.gpus for n in alibaba) == 6212
    assert sum(1 for n in alibaba if n.model == "G2" and n.gpus == 8) == 549


def test_generic_node_csv_and_its_errors(tmp_path: Path) -> None:
    good = tmp_path / "nodes.csv"
    good.write_text("hostname,gpus,gpus_used,model,state\nn1,8,2,a100,mixed\nn2,8,0,a100,down\n")
    fmt, nodes = import_nodes(good)
    assert fmt == "csv" and [(n.gpus_used, n.available) for n in nodes] == [(2, True), (0, False)]
    bad = tmp_path / "bad.csv"
    bad.write_text("hostname,gpus,gpus_used\nn1,8,9\n")
    with pytest.raises(InputError, match=r"bad.csv:2: column 'gpus_used': 9 GPUs used of 8"):
        import_nodes(bad)
    bad.write_text("hostname,gpus\nn1,eight\n")
    with pytest.raises(InputError, match=r"bad.csv:2: column 'gpus': expected a whole number"):
        import_nodes(bad)
    bad.write_text("hostname,gpus\nn1,8\nn1,8\n")
    with pytest.raises(InputError, match="listed twice: n1"):
        import_nodes(bad)
    bad.write_text("host,cores\nn1,8\n")
    with pytest.raises(InputError, match="cannot tell its format"):
        import_nodes(bad)
    with pytest.raises(InputError, match="no column for the node's gpus"):
        import_nodes(bad, "csv")
    scontrol = tmp_path / "s.txt"
    scontrol.write_text("NodeName=x CfgTRES=gres/gpu=2 AllocTRES=gres/gpu=3 State=MIXED\n")
    with pytest.raises(InputError, match=r"s.txt:1: node x: key 'AllocTRES': 3 GPUs allocated"):
        import_nodes(scontrol)


def test_job_logs_carry_placements() -> None:
    _, jobs = import_jobs(FORMATS / "sacct_nodelist.txt")
    by = {j.job_id: j for j in jobs}
    assert len(jobs) == 4  # the .batch step is not a job
    assert by["5001"].placement == {"dgx001": 8, "dgx002": 8}
    assert by["5002"].placement == {"dgx003": 3} and by["5002"].gpus == 3
    assert by["5003"].placement == {} and by["5003"].start_time is None
    assert by["5004"].placement == {"dgx003": 2, "dgx005": 2, "a40-01": 2}
    _, philly = import_jobs(FORMATS / "philly_placed.json")
    assert philly[3].placement == {"m10": 8, "m101": 8} and philly[3].nodes == 2
    _, old = import_jobs(FORMATS / "philly_jobs.json")
    assert old[1].placement == {"m11": 8, "m12": 8}  # the last attempt's


def test_csv_hosts_column(tmp_path: Path) -> None:
    f = tmp_path / "jobs.csv"
    f.write_text(
        "job_id,submit,start,end,gpus,hosts\n"
        "a,0,0,3600,16,gpu[01-02]\n"
        "b,0,0,3600,3,gpu03:2;gpu04:1\n"
        "c,0,,,4,\n"
    )
    _, jobs = import_jobs(f)
    assert [j.placement for j in jobs] == [
        {"gpu01": 8, "gpu02": 8},
        {"gpu03": 2, "gpu04": 1},
        {},
    ]
    f.write_text("job_id,submit,gpus,hosts\na,0,4,gpu03:2;gpu04:1\n")
    with pytest.raises(InputError, match=r"jobs.csv:2: column 'hosts': hosts hold 3 GPUs"):
        import_jobs(f)


# -- the analysis -------------------------------------------------------------------------
def test_largest_gang_is_whole_nodes_plus_the_best_partial_one() -> None:
    assert largest_gang([8, 8, 3, 1], 8) == (19, 2, 3)
    assert largest_gang([3, 3, 3, 1], 8) == (3, 0, 3)
    assert largest_gang([0, 0], 8) == (0, 0, 0)
    assert fits([4, 4], 8, 4) and not fits([4, 4], 8, 8)  # 8 free GPUs, no 8-GPU place


def _philly() -> tuple[list[NodeRecord], list[JobRecord]]:
    return import_nodes(NODES / "philly_five_machines.csv")[1], import_jobs(
        FORMATS / "philly_placed.json"
    )[1]


def test_history_by_hand() -> None:
    # Pools: 24GB x8 (m10, m101, m103) and 12GB x2 (m0, m1). 0-4 h: 4+4+4 GPUs free on the
    # three 8-GPU nodes (stranded 12); the 16-GPU job waits from 1 h; 4-10 h: m103 is whole
    # again, 18 GPUs free but the largest gang is 8 + 4 = 12 < 16: blocked 6 h with 8 GPUs
    # stranded; 10-12 h: it runs on m10 + m101, nothing stranded.
    nodes, jobs = _philly()
    h = history(nodes, jobs)
    assert not isinstance(h, str)
    assert h.hours == 12 and h.capacity_gpus == 28 and h.coverage == 1.0
    assert h.stranded_gpu_hours == pytest.approx(12 * 4 + 8 * 6)
    assert h.blocked_hours == pytest.approx(6)
    assert h.blocked_stranded_gpu_hours == pytest.approx(48)
    assert (h.blocked_jobs, h.blocked_job_hours, h.blocked_gpu_hours) == (1, 6.0, 96.0)
    assert h.mean_free_gpus == pytest.approx((14 * 4 + 18 * 6 + 10 * 2) / 12)
    assert h.mean_largest_gang == pytest.approx((4 * 4 + 12 * 6 + 8 * 2) / 12)


def test_snapshot_from_placements_at_a_time() -> None:
    nodes, jobs = _philly()
    at = datetime(2017, 10, 3, 5, 0, tzinfo=UTC)
    now = snapshot(nodes, jobs, at)
    big, small = now.pools
    assert (big.pool, big.used, big.free, big.stranded, big.whole_free_nodes) == (
        "24GB GPU x8",
        8,
        16,
        8,
        1,
    )
    assert (big.largest_gang, big.gang_whole_nodes, big.gang_remainder) == (12, 1, 4)
    assert (small.pool, small.free, small.largest_gang) == ("12GB GPU x2", 2, 2)
    assert (now.free, now.stranded, now.largest_gang) == (18, 8, 12)
    assert (now.waiting_jobs, now.waiting_gpus, now.blocked_jobs) == (1, 16, 1)


def test_snapshot_from_node_state_ignores_down_nodes() -> None:
    _, nodes = import_nodes(NODES / "scontrol_oneliner.txt", captured_at=AT)
    now = snapshot(nodes, [])
    h100 = now.pools[0]
    # dgx001 full, dgx002 5 free, dgx003 3 free, dgx004 whole, dgx005 drained
    assert (h100.nodes, h100.unavailable_nodes, h100.gpus, h100.used) == (5, 1, 32, 16)
    assert (h100.free, h100.stranded, h100.largest_gang) == (16, 8, 13)
    assert now.at == AT and "node state" in now.basis
    assert [p.pool for p in now.pools] == ["h100 x8", "a40 x4"]


def test_history_needs_placements_and_nodes() -> None:
    nodes, jobs = _philly()
    stripped = [j.model_copy(update={"placement": {}}) for j in jobs]
    assert "placements known for 0 of 5" in str(history(nodes, stripped))
    assert "no nodes with GPUs" in str(history([], jobs))


def test_cluster_report_replaces_the_count_based_finding() -> None:
    nodes, jobs = _philly()
    report = analyze_cluster(
        jobs, source="philly", nodes=nodes, usd_per_gpu_hour=2.0, hours_per_year=8760
    )
    frag = [f for f in report.findings if f.kind == "cluster.fragmentation"]
    assert len(frag) == 1 and frag[0].cost is not None
    assert "48 GPU-hours idle on partly used nodes while 1 job waited" in frag[0].title
    assert frag[0].cost.gpu_hours_per_year == pytest.approx(48 * 365 * 2, rel=1e-3)
    assert frag[0].cost.usd_per_year == pytest.approx(48 * 365 * 2 * 2.0, rel=1e-3)
    summary = report.summary()
    assert summary["placement"]["blocked_stranded_gpu_hours"] == pytest.approx(48)
    assert summary["now"]["largest_gang"] == 24  # everything has ended at 12:00


# -- the CLI and the store ----------------------------------------------------------------
def test_store_replaces_nodes_per_source(store: Store) -> None:
    _, nodes = import_nodes(NODES / "scontrol_oneliner.txt", captured_at=AT)
    assert store.replace_nodes(nodes, "scontrol:a") == 7
    assert store.replace_nodes(nodes[:2], "scontrol:a") == 2
    assert store.replace_nodes(nodes, "scontrol:b") == 7
    stored = store.nodes("scontrol:a")
    assert [n.name for n in stored] == ["dgx001", "dgx002"]
    assert stored[1].gpus_used == 3 and stored[1].captured_at == AT
    assert len(store.nodes()) == 9
    _, jobs = import_jobs(FORMATS / "sacct_nodelist.txt")
    store.add_jobs(jobs, "slurm:x")
    assert store.jobs()[0].placement == {"dgx001": 8, "dgx002": 8}


def test_cli_nodes_fragmentation_and_analyze(
    db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    db = ["--db", db_url]
    Store(db_url).close()  # an empty store (a SQLite file that does not exist is an error)
    assert main(["cluster", "fragmentation", *db]) == 2
    assert "no nodes in" in capsys.readouterr().err
    assert main(["cluster", "nodes", str(NODES / "philly_five_machines.csv"), *db]) == 0
    assert "5 nodes, 28 GPUs read as philly (inventory); stored" in capsys.readouterr().out
    assert main(["cluster", "fragmentation", *db]) == 2
    assert "no stored job has a placement" in capsys.readouterr().err
    assert main(["cluster", "import", str(FORMATS / "philly_placed.json"), *db]) == 0
    capsys.readouterr()
    args = ["cluster", "fragmentation", *db, "--at", "2017-10-03T05:00:00", "--json"]
    assert main(args) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["now"]["largest_gang"] == 12 and doc["now"]["blocked_jobs"] == 1
    assert doc["history"]["blocked_stranded_gpu_hours"] == pytest.approx(48)
    assert main(["cluster", "fragmentation", *db, "--at", "2017-10-03T05:00:00"]) == 0
    out = capsys.readouterr().out
    assert "largest gang 12" in out and "24GB GPU x8" in out and "12 (1 whole + 4)" in out
    assert main(["cluster", "analyze", *db, "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["summary"]["allocation"] == pytest.approx(
        (4 * 10 * 2 + 4 * 4 + 16 * 2 + 2 * 12) / (28 * 12)
    )
    assert any(f["kind"] == "cluster.fragmentation" for f in doc["findings"])
    assert main(["cluster", "analyze", *db, "--nodes-source", "csv:elsewhere"]) == 2
    assert "no nodes from 'csv:elsewhere'" in capsys.readouterr().err
    source = f"philly:{(NODES / 'philly_five_machines.csv').resolve()}"
    assert main(["cluster", "fragmentation", *db, "--nodes-source", source]) == 0
    assert "largest gang 24" in capsys.readouterr().out
    store = Store(db_url)
    assert any(t.startswith("nodes:philly:") for t in store.analyses(kind="cluster")[0].tags)
    store.close()


def test_cli_bad_node_file_exits_2_and_keeps_what_was_stored(
    db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = ["--db", db_url]
    good = NODES / "scontrol_oneliner.txt"
    assert main(["cluster", "nodes", str(good), *db, "--captured-at", "2024-05-01T12:00"]) == 0
    assert "7 nodes, 44 GPUs read as scontrol (node state captured 2024-05-01 12:00Z)" in (
        capsys.readouterr().out
    )
    bad = tmp_path / "scontrol_oneliner.txt"
    bad.write_text(good.read_text().replace("State=MIXED", "State=", 1))
    assert main(["cluster", "nodes", str(bad), *db]) == 2
    err = capsys.readouterr().err
    assert "fleetwise: error:" in err and "scontrol_oneliner.txt:2: node dgx002: key 'State'" in err
    store = Store(db_url)
    assert len(store.nodes()) == 7
    store.close()


def test_briefing_cluster_section_shows_the_nodes(db_url: str) -> None:
    db = ["--db", db_url]
    assert main(["cluster", "nodes", str(NODES / "philly_five_machines.csv"), *db]) == 0
    assert main(["cluster", "import", str(FORMATS / "philly_placed.json"), *db]) == 0
    assert main(["cluster", "analyze", *db]) == 0
    store = Store(db_url)
    try:
        facts = gather(store, date(2026, 11, 30), with_forecast=False)
    finally:
        store.close()
    figures = {f.key: f for f in cluster(facts).figures}
    assert figures["cluster.largest_gang_now"].value == 24
    assert figures["cluster.stranded_gpus_now"].value == 0
    assert figures["cluster.blocked_stranded_gpu_hours"].value == pytest.approx(48)
    assert "cluster analysis" in figures["cluster.largest_gang_now"].source
