"""``trace analyze --executor ray``: ranks as Ray tasks on a real two-node cluster
(``ray.cluster_utils.Cluster``), reduced into the report the local executor prints."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from ci import in_ci
from fleetwise.analyze.traces_report import summarize_ranks
from fleetwise.present.cli import main

if in_ci():
    # CI installs every extra: a missing Ray fails the run instead of skipping it.
    import ray
    import ray.cluster_utils as cluster_utils
else:
    ray = pytest.importorskip("ray")
    cluster_utils = pytest.importorskip("ray.cluster_utils")

DATA = Path(__file__).parents[1] / "data" / "kineto"


@pytest.fixture(scope="module")
def cluster() -> Iterator[str]:
    c = cluster_utils.Cluster(
        initialize_head=True, head_node_args={"num_cpus": 1, "include_dashboard": False}
    )
    c.add_node(num_cpus=1)
    c.wait_for_nodes()
    yield c.address
    ray.shutdown()
    c.shutdown()


def replicated(folder: Path, ranks: int) -> Path:
    source = DATA / "trace_filter_2rank" / "sampled_rank-0.json.gz"
    doc = json.loads(gzip.decompress(source.read_bytes()))
    folder.mkdir()
    for rank in range(ranks):
        doc["distributedInfo"] = {**doc["distributedInfo"], "rank": rank, "world_size": ranks}
        (folder / f"rank-{rank}.json").write_text(json.dumps(doc))
    return folder


def analyze(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    code = main(["trace", "analyze", *argv, "--json"])
    out = capsys.readouterr().out
    assert code == 0, out
    return out


@pytest.mark.slow
def test_ranks_spread_over_the_cluster_give_the_local_report(
    cluster: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for folder in (DATA / "trace_filter_2rank", replicated(tmp_path / "set", 16)):
        local = analyze(capsys, str(folder), "--workers", "2")
        on_ray = analyze(capsys, str(folder), "--executor", "ray", "--address", cluster)
        assert on_ray == local
    summaries = summarize_ranks(tmp_path / "set", "ray", address=cluster)
    assert sorted(s.rank for s in summaries) == list(range(16))  # file (name) order
    # Each task ran in a Ray worker process, not here, and reports its peak RSS.
    assert all(s.usage.pid != 0 and s.usage.peak_rss_mb > 0 for s in summaries)
    assert len({s.usage.pid for s in summaries}) >= 2
