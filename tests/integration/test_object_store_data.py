"""Columnar fleet data at an object-store URL (``FLEETWISE_DATA_DIR=s3://bucket/prefix``,
``store/data_place.py``), against a real S3-compatible server on localhost (moto's
standalone server): jobs, node snapshots and telemetry give the same figures as a local
folder, idempotent re-import, removal, a PostgreSQL store, and a missing bucket or an
unreachable endpoint as one line, exit 2, with nothing stored lost."""

from __future__ import annotations

import json
import logging
import os
import socket
import tempfile
from collections.abc import Iterator
from itertools import count
from pathlib import Path
from typing import Any

import pytest

from fleetwise.collect.importers.jobs import import_jobs
from fleetwise.errors import InputError
from fleetwise.present.cli import main
from fleetwise.store import Store
from fleetwise.store.columnar import FleetData, connect, data_dir_for
from fleetwise.store.data_place import parse_place

DATA = Path(__file__).parents[1] / "data" / "clusters" / "formats"
SACCT = DATA / "sacct.txt"
PHILLY = DATA / "philly_jobs.json"
PLACED = DATA / "philly_placed.json"
MACHINES = DATA.parent / "nodes" / "philly_five_machines.csv"
HEALTH = DATA.parent / "dcgm_health"
_buckets = count()


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    """moto's S3 server on a free localhost port (CI installs it with the test extra)."""
    try:
        from moto.server import ThreadedMotoServer
    except ImportError as exc:
        if os.environ.get("CI"):
            pytest.fail(f"moto[server] is not installed: {exc}")
        pytest.skip(f"moto[server] is not installed: {exc}")
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no line per request on stderr
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def s3_env(s3_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """Credentials, region and endpoint for the local server, as a user sets them."""
    for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_PROFILE", "AWS_REGION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "fleetwise-test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "fleetwise-test")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("FLEETWISE_S3_ENDPOINT", s3_endpoint)
    return s3_endpoint


def _s3(endpoint: str) -> Any:
    from pyarrow import fs as pafs  # type: ignore[import-untyped]

    host = endpoint.removeprefix("http://")
    return pafs.S3FileSystem(
        endpoint_override=host, scheme="http", region="us-east-1", allow_bucket_creation=True
    )


@pytest.fixture
def bucket(s3_env: str) -> str:
    """A fresh, empty bucket on the server; its name."""
    name = f"fleet-{os.getpid()}-{next(_buckets)}"
    _s3(s3_env).create_dir(name)
    return name


def _objects(endpoint: str, prefix: str) -> dict[str, int]:
    """Every object under ``bucket/prefix``: key -> size."""
    from pyarrow import fs as pafs

    found = _s3(endpoint).get_file_info(pafs.FileSelector(prefix, recursive=True))
    return {f.path: f.size for f in found if f.type == pafs.FileType.File}


def _analysis(db: str, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    capsys.readouterr()
    assert main(["cluster", "analyze", "--db", db, "--json"]) == 0
    doc: dict[str, Any] = json.loads(capsys.readouterr().out)
    return doc["summary"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_data_folder_settings_are_read_as_a_folder_or_a_url(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("FLEETWISE_DATA_DIR", "s3://fleet-data/prod/")
    assert data_dir_for("postgresql+psycopg://u@db.example/fleet") == (
        "s3://fleet-data/prod",
        False,
    )
    assert data_dir_for(f"sqlite:///{tmp_path / 'a.db'}") == ("s3://fleet-data/prod", False)
    monkeypatch.setenv("FLEETWISE_DATA_DIR", "gs://fleet-data/prod")
    assert main(["cluster", "import", str(SACCT), "--db", str(tmp_path / "a.db")]) == 2
    assert capsys.readouterr().err == (
        "fleetwise: error: FLEETWISE_DATA_DIR=gs://fleet-data/prod: unsupported data folder "
        "URL; give a folder, a file:// URL or an s3://bucket/prefix URL\n"
    )
    assert parse_place(f"file://{tmp_path}/shared") == tmp_path / "shared"
    assert parse_place("s3://bucket/team/fleet/") == "s3://bucket/team/fleet"
    assert parse_place("S3://bucket") == "s3://bucket"
    assert parse_place(str(tmp_path)) == tmp_path
    for bad, why in [
        ("gs://bucket/x", "unsupported data folder URL"),
        ("s3:///x", "no bucket"),
        ("s3://bucket/x?endpoint=y", "no query"),
        ("file://host/x", "local folder"),
    ]:
        with pytest.raises(InputError, match=why):
            parse_place(bad)


def test_sacct_in_an_object_store_gives_the_local_folder_figures(
    tmp_path: Path,
    bucket: str,
    s3_env: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    local = str(tmp_path / "local.db")
    assert main(["cluster", "import", str(SACCT), "--db", local]) == 0
    assert main(["cluster", "import", str(PHILLY), "--db", local]) == 0
    capsys.readouterr()
    want = _analysis(local, capsys)

    monkeypatch.setenv("FLEETWISE_DATA_DIR", f"s3://{bucket}/team/fleet")
    remote = str(tmp_path / "remote.db")
    assert main(["cluster", "import", str(SACCT), "--db", remote]) == 0  # streamed by DuckDB
    assert main(["cluster", "import", str(PHILLY), "--db", remote]) == 0  # streamed by DuckDB
    first = capsys.readouterr().out
    assert "5 jobs (4 with GPUs) read as slurm; 5 new stored" in first
    assert "3 jobs (2 with GPUs) read as philly; 3 new stored" in first
    stored = _objects(s3_env, f"{bucket}/team/fleet")
    assert len(stored) == 2 and all(
        k.startswith(f"{bucket}/team/fleet/jobs/") and k.endswith(".parquet") for k in stored
    )
    assert not (tmp_path / "remote.db.data").exists()  # nothing beside the database
    assert _analysis(remote, capsys) == want

    # re-import: nothing added, the objects unchanged
    assert main(["cluster", "import", str(SACCT), "--db", remote]) == 0
    assert main(["cluster", "import", str(PHILLY), "--db", remote]) == 0
    again = capsys.readouterr().out
    assert again.count("; 0 new stored") == 2
    assert _objects(s3_env, f"{bucket}/team/fleet") == stored
    assert _analysis(remote, capsys) == want
    assert not list(Path(tempfile.gettempdir()).glob(".writing-*"))  # nothing left behind


def test_jobs_and_node_snapshots_in_an_object_store_give_the_local_figures(
    tmp_path: Path,
    bucket: str,
    s3_env: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    def figures(db: str) -> list[Any]:
        assert main(["cluster", "import", str(PLACED), "--db", db]) == 0
        for _ in range(2):  # a second import of the nodes replaces the first
            assert main(["cluster", "nodes", str(MACHINES), "--db", db]) == 0
        capsys.readouterr()
        at = ["--at", "2017-10-03T05:00:00", "--json"]
        assert main(["cluster", "fragmentation", "--db", db, *at]) == 0
        return [json.loads(capsys.readouterr().out), _analysis(db, capsys)]

    want = figures(str(tmp_path / "local.db"))
    assert want[0]["now"]["largest_gang"] == 12  # as test_fragmentation.py has it
    monkeypatch.setenv("FLEETWISE_DATA_DIR", f"s3://{bucket}/fleet")
    assert figures(str(tmp_path / "remote.db")) == want
    kinds = [k.split("/")[2] for k in sorted(_objects(s3_env, bucket))]
    assert kinds == ["jobs", "nodes"]


def test_telemetry_in_an_object_store_gives_the_local_figures(
    tmp_path: Path,
    bucket: str,
    s3_env: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    tele = HEALTH / "dcgm_health.prom"
    source = f"dcgm:{tele.resolve()}"

    def figures(db: str) -> list[Any]:
        assert main(["cluster", "nodes", str(HEALTH / "nodes.csv"), "--db", db]) == 0
        for _ in range(2):  # a second import replaces the first
            assert main(["cluster", "telemetry", "import", str(tele), "--db", db]) == 0
        capsys.readouterr()
        assert main(["cluster", "telemetry", "list", "--db", db, "--json"]) == 0
        listed = json.loads(capsys.readouterr().out)
        analyze = ["cluster", "analyze", "--telemetry-source", source, "--db", db, "--json"]
        assert main(analyze) == 0
        return [listed, json.loads(capsys.readouterr().out)["summary"]]

    want = figures(str(tmp_path / "local.db"))
    assert [(s["source"], s["samples"]) for s in want[0]] == [(source, 768)]
    monkeypatch.setenv("FLEETWISE_DATA_DIR", f"s3://{bucket}/fleet")
    assert figures(str(tmp_path / "remote.db")) == want
    kinds = [k.split("/")[2] for k in sorted(_objects(s3_env, bucket))]
    assert kinds == ["nodes", "telemetry"]


def test_a_file_url_is_a_local_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("FLEETWISE_DATA_DIR", (tmp_path / "shared").as_uri())
    db = str(tmp_path / "fw.db")
    assert main(["cluster", "import", str(SACCT), "--db", db]) == 0
    assert len(list((tmp_path / "shared" / "jobs").glob("*.parquet"))) == 1
    assert _analysis(db, capsys)["jobs"] > 0


def test_every_file_operation_works_on_an_object_store(bucket: str, s3_env: str) -> None:
    url = f"s3://{bucket}/fleet"
    data = FleetData(url)
    _, records = import_jobs(SACCT)
    assert data.files() == [] and data.version() == () and data.records() == []
    assert data.add_records(records, "log") == len({r.job_id for r in records})
    assert data.add_records(records, "log") == 0
    assert data.sources() == ["log"] and data.count("log") == len(records)
    (job_file,) = data.job_files()
    assert job_file.startswith(f"{url}/jobs/")
    version = data.version()
    assert version and version[0][0] == job_file.rsplit("/", 1)[-1]

    # a kind of its own (node snapshots, telemetry): written, listed, read back, removed
    con = connect()
    data.write_kind("nodes", "scontrol:a", "SELECT 'gpu-1' AS name, 8 AS gpus", con)
    (nodes,) = data.kind_files("nodes")
    assert nodes.startswith(f"{url}/nodes/") and data.kind_version("nodes")
    data.attach(con)
    assert con.execute(f"SELECT * FROM read_parquet('{nodes}')").fetchall() == [("gpu-1", 8)]
    con.close()
    assert data.remove_kind("nodes", "scontrol:a") and data.kind_files("nodes") == []

    # a fresh reader of the same URL (another user of the team) sees the jobs
    assert [r.job_id for r in FleetData(url).records()] == [r.job_id for r in data.records()]
    assert data.remove("log") is True
    assert data.remove("log") is False
    assert data.files() == [] and data.records() == []
    assert _objects(s3_env, f"{bucket}/fleet") == {}


@pytest.mark.postgres
def test_a_postgresql_store_keeps_its_jobs_in_the_object_store(
    postgres_server: Any,
    bucket: str,
    s3_env: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    local = str(tmp_path / "local.db")
    assert main(["cluster", "import", str(SACCT), "--db", local]) == 0
    capsys.readouterr()
    want = _analysis(local, capsys)
    url = postgres_server.new_database()
    monkeypatch.setenv("FLEETWISE_DATA_DIR", f"s3://{bucket}/pg")
    assert data_dir_for(url) == (f"s3://{bucket}/pg", False)
    assert main(["cluster", "import", str(SACCT), "--db", url]) == 0
    assert _analysis(url, capsys) == want
    with Store(url) as store:
        assert store.input_sources()["jobs"] == [f"slurm:{SACCT.resolve()}"]
    assert len(_objects(s3_env, f"{bucket}/pg/jobs")) == 1


def _one_error_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    return err[0]


def test_a_missing_bucket_or_an_unreachable_store_is_one_line_and_loses_nothing(
    tmp_path: Path,
    bucket: str,
    s3_env: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    db = str(tmp_path / "fw.db")
    monkeypatch.setenv("FLEETWISE_DATA_DIR", f"s3://{bucket}/fleet")
    assert main(["cluster", "import", str(SACCT), "--db", db]) == 0
    capsys.readouterr()
    want = _analysis(db, capsys)
    stored = _objects(s3_env, bucket)

    missing = f"s3://{bucket}-gone/fleet"
    monkeypatch.setenv("FLEETWISE_DATA_DIR", missing)
    for argv in (["cluster", "import", str(SACCT)], ["cluster", "analyze"]):
        assert main([*argv, "--db", db]) == 2
        line = _one_error_line(capsys)
        assert missing in line and f"no bucket '{bucket}-gone'" in line, line

    dead = f"http://127.0.0.1:{_free_port()}"
    monkeypatch.setenv("FLEETWISE_DATA_DIR", f"s3://{bucket}/fleet")
    monkeypatch.setenv("FLEETWISE_S3_ENDPOINT", dead)
    for argv in (["cluster", "import", str(PHILLY)], ["cluster", "analyze"]):
        assert main([*argv, "--db", db]) == 2
        line = _one_error_line(capsys)
        assert f"s3://{bucket}/fleet: cannot reach the object store at {dead}" in line, line

    # a log that fails to parse leaves the stored objects as they were
    monkeypatch.setenv("FLEETWISE_S3_ENDPOINT", s3_env)
    bad = tmp_path / "bad.txt"
    bad.write_text(SACCT.read_text().replace("COMPLETED", "COMPLETED|extra", 1))
    assert main(["cluster", "import", str(bad), "--db", db]) == 2
    assert str(bad) in _one_error_line(capsys)
    assert _objects(s3_env, bucket) == stored
    assert _analysis(db, capsys) == want


def test_duckdb_reads_a_large_object_right_from_its_io_threads(
    tmp_path: Path, bucket: str, s3_env: str
) -> None:
    # DuckDB reads a remote file through one handle from several I/O threads, each seeking
    # then reading: on a plain file object a 13 MB file read back wrong bytes in most runs
    # ("TProtocolException: Invalid data"); five reads give the local file's figures
    data = FleetData(f"s3://{bucket}/fleet")
    local = tmp_path / "big.parquet"
    con = data.attach(connect())
    try:
        con.execute(
            "COPY (SELECT 'job-' || i AS job_id, 'u' || (i % 1300) AS user, hash(i) AS h "
            f"FROM range(1000000) t(i)) TO '{local}' (FORMAT parquet)"
        )
        query = (
            "SELECT count(DISTINCT job_id), count(DISTINCT user), sum(h) FROM read_parquet('{}')"
        )
        want = con.execute(query.format(local)).fetchall()
        target = data.kind_dir("test") + "/big.parquet"
        assert data.place is not None
        data.place.publish(local, target)
        for _ in range(5):
            assert con.execute(query.format(target)).fetchall() == want
    finally:
        con.close()
