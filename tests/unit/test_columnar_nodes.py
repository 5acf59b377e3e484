"""Node inventories and snapshots in the columnar store (``store/columnar_nodes.py``):
a Parquet file per source, the facade's node API unchanged, the nodes an older fleetwise
kept in the database moved on first use."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from fleetwise.collect.importers.nodes import import_nodes
from fleetwise.errors import StoreError
from fleetwise.models import NodeRecord
from fleetwise.present.cli import main
from fleetwise.store import Store
from fleetwise.store.columnar import FleetData
from fleetwise.store.columnar_nodes import read_nodes, write_nodes
from fleetwise.store.schema import NodeRow

NODES = Path(__file__).parents[1] / "data" / "clusters" / "nodes"
AT = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def test_nodes_read_back_as_stored_in_import_order(tmp_path: Path) -> None:
    _, state = import_nodes(NODES / "scontrol_oneliner.txt", captured_at=AT)
    _, inventory = import_nodes(NODES / "philly_five_machines.csv")
    with Store(f"sqlite:///{tmp_path / 'f.db'}") as store:
        assert store.replace_nodes(state, "scontrol:a") == 7
        assert store.replace_nodes(inventory, "philly:b") == 5
        assert store.replace_nodes(state[:3], "scontrol:a") == 3  # replaced, now the latest
        files = sorted(p.name for p in (tmp_path / "f.db.data" / "nodes").iterdir())
        assert len(files) == 2 and all(f.endswith(".parquet") for f in files)
        got = store.nodes()
        assert [n.source for n in got] == ["philly:b"] * 5 + ["scontrol:a"] * 3
        want = [n.model_copy(update={"source": "philly:b"}) for n in inventory] + [
            n.model_copy(update={"source": "scontrol:a"}) for n in state[:3]
        ]
        assert got == want
        assert got[-1].captured_at == AT and got[-2].gpus_used == state[1].gpus_used
        assert store.node_sources() == ["philly:b", "scontrol:a"]
        assert store.input_sources()["nodes"] == ["philly:b", "scontrol:a"]
        before = store.nodes_version()
        store.replace_nodes([], "philly:b")
        assert store.nodes_version() != before and len(store.nodes()) == 3


def test_nodes_stored_in_the_database_before_move_to_the_columnar_files(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    _, state = import_nodes(NODES / "scontrol_oneliner.txt", captured_at=AT)
    _, inventory = import_nodes(NODES / "philly_five_machines.csv")
    with Store(url) as store, store._session() as s:  # as a release before 16 stored them
        for source, records in (("scontrol:a", state), ("philly:b", inventory)):
            s.add_all(NodeRow(source=source, **r.model_dump(exclude={"source"})) for r in records)
    with Store(url) as store:
        got = store.nodes()
        assert [(n.source, n.name) for n in got] == [("scontrol:a", n.name) for n in state] + [
            ("philly:b", n.name) for n in inventory
        ]
        assert got[1].gpus_used == state[1].gpus_used and got[0].captured_at == AT
        with store._session() as s:
            assert s.query(NodeRow).count() == 0
        store.replace_nodes(state[:1], "scontrol:a")
        assert [n.source for n in store.nodes()][-1] == "scontrol:a"
    with Store(url) as store:
        assert len(store.nodes()) == 6


def test_a_store_without_a_data_folder_reads_no_nodes_and_refuses_to_store() -> None:
    data = FleetData(None)
    assert read_nodes(data) == []
    with pytest.raises(StoreError, match="FLEETWISE_DATA_DIR"):
        write_nodes(data, [NodeRecord(name="n1", gpus=8)], "csv:x")


def test_cli_nodes_then_fragmentation_reads_the_columnar_nodes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = ["--db", str(tmp_path / "f.db")]
    good = NODES / "scontrol_oneliner.txt"
    assert main(["cluster", "nodes", str(good), *db, "--captured-at", "2024-05-01T12:00"]) == 0
    capsys.readouterr()
    assert main(["cluster", "fragmentation", *db]) == 0
    out = capsys.readouterr().out
    assert "node state captured 2024-05-01T12:00:00+00:00" in out
    assert (tmp_path / "f.db.data" / "nodes").is_dir()
