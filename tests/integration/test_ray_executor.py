"""A suite on a real two-node Ray cluster (``ray.cluster_utils.Cluster``): a run per node,
each with its own environment, results in the store, the outlier analysis stored."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from ci import in_ci
from fleetwise.present.cli import main
from fleetwise.store import Store

if in_ci():
    # CI installs every extra: a missing Ray fails the run instead of skipping it.
    import ray
    import ray.cluster_utils as cluster_utils
else:
    ray = pytest.importorskip("ray")
    cluster_utils = pytest.importorskip("ray.cluster_utils")

SUITE = """\
schema_version: 1
name: ray-smoke
defaults: {warmup: 1, repeat: 3, min_sample_time: 0.01, timeout: 120, processes: 1}
cases:
  - benchmark: orchestration.spawn
    params: {command: "true"}
  - benchmark: compute.membw
    params: {size_mib: 8}
"""


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


@pytest.mark.slow
def test_suite_runs_on_every_node(
    cluster: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    suite = tmp_path / "suite.yaml"
    suite.write_text(SUITE)
    db = tmp_path / "fw.db"
    argv = ["bench", "run", str(suite), "--executor", "ray", "--address", cluster]
    code = main([*argv, "--db", str(db), "--json", "--no-progress", "--tag", "fleet"])
    out = capsys.readouterr().out
    assert code == 0, out
    doc = json.loads(out)
    assert len(doc["runs"]) == 2
    store = Store(f"sqlite:///{db}")
    runs = store.list_runs()
    assert {r.executor for r in runs} == {"ray"}
    assert all({"fleet", doc["group"]} <= set(r.tags) for r in runs)
    nodes = {store.get_environment(r.environment_id).data["ray"]["node_id"] for r in runs}
    assert len(nodes) == 2 and len({r.environment_id for r in runs}) == 2
    for r in runs:
        results = store.results(r.id)
        assert {x.benchmark for x in results} == {"orchestration.spawn", "compute.membw"}
        assert all(x.status.value == "ok" for x in results), [x.error for x in results]
        assert all(x.environment_id == r.environment_id for x in results)
    (analysis,) = store.analyses(kind="fleet-run")
    assert analysis.tags == [doc["group"]] and analysis.summary["runs"] == sorted(
        r.id for r in runs
    )
    store.close()
