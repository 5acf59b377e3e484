"""``fleetwise process import --format devlake`` end to end: CSV dumps and a PostgreSQL
database built from DevLake's schema give the same DORA (DevLake's definitions) as worked
out by hand; bad sources are one line and exit 2."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from devlake_fixture import DUMPS, HAND, load_mysql, load_postgres
from fleetwise.collect.importers.devlake_tables import Database
from fleetwise.present.cli import main
from fleetwise.store import Store
from mysql_server import MySQLServer, start_mysql
from pg_server import PostgresServer

RANGE = ("--since", "2024-03-01", "--until", "2024-03-31")


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def dora_json(capsys: pytest.CaptureFixture[str], db: str, *extra: str) -> dict[str, object]:
    argv = ("process", "dora", "--definition", "devlake", *RANGE, "--json", "--db", db)
    code, out, err = run(capsys, *argv, *extra)
    assert code == 0, err
    return json.loads(out)["dora"]  # type: ignore[no-any-return]


def hand_doc(project: str) -> dict[str, object]:
    return {**HAND[project], "project": project}


def check_against_hand(doc: dict[str, object]) -> None:
    projects = doc["projects"]
    assert isinstance(projects, dict)
    for name, expected in HAND.items():
        got = projects[name]
        assert {k: got[k] for k in expected} == expected, name


def test_csv_dumps_import_then_dora(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    db = str(tmp_path / "f.db")
    code, out, _ = run(capsys, "process", "import", str(DUMPS), "--db", db)
    assert code == 0
    assert " ".join(out.split()).endswith(
        "as devlake: 10 change, 17 deployment, 7 incident, 4 pipeline_stage; "
        "38 added, 0 already stored"
    )
    code, out, _ = run(capsys, "process", "import", str(DUMPS), "--format", "devlake", "--db", db)
    assert code == 0 and "0 added, 38 already stored" in out
    doc = dora_json(capsys, db)
    assert doc["since"] == "2024-03-01T00:00:00+00:00"
    assert doc["until"] == "2024-03-31T23:59:59.999000+00:00"
    check_against_hand(doc)
    one = dora_json(capsys, db, "--team", "search")
    assert list(one["projects"]) == ["search"]  # type: ignore[call-overload]
    store = Store(f"sqlite:///{db}")
    assert len(store.analyses(kind="process", tag="definition:devlake")) == 2
    store.close()
    code, out, _ = run(capsys, "process", "dora", "--definition", "devlake", *RANGE, "--db", db)
    assert code == 0 and "lead time for changes" in out and "payments" in out


@pytest.mark.postgres
def test_postgres_devlake_database_gives_the_same_dora(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, postgres_server: PostgresServer
) -> None:
    url = postgres_server.new_database()
    load_postgres(url)
    devlake_url = url.replace("postgresql+psycopg://", "postgres://")  # DevLake's DB_URL form
    db = str(tmp_path / "f.db")
    code, out, err = run(capsys, "process", "import", devlake_url, "--db", db)
    assert code == 0, err
    assert "as devlake: 10 change, 17 deployment, 7 incident, 4 pipeline_stage" in " ".join(
        out.split()
    )
    check_against_hand(dora_json(capsys, db))
    # Read-only: the session refuses writes, whatever the SQL.
    source = Database(devlake_url)
    with pytest.raises(Exception, match="read-only"), source.engine.connect() as conn:
        conn.exec_driver_sql("CREATE TABLE intruder (a int)")
    source.close()


@pytest.fixture(scope="module")
def mysql_server() -> Iterator[MySQLServer]:
    """A private MariaDB server; skipped without one, a failure in CI (make test installs it)."""
    server, why = start_mysql()
    if server is None:
        if os.environ.get("CI"):
            pytest.fail(why)
        pytest.skip(why)
    yield server
    server.stop()


def test_mysql_devlake_database_gives_the_same_dora(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, mysql_server: MySQLServer
) -> None:
    load_mysql(mysql_server.socket, "lake")
    url = mysql_server.url("lake")
    db = str(tmp_path / "f.db")
    code, out, err = run(capsys, "process", "import", url, "--db", db)
    assert code == 0, err
    assert "as devlake: 10 change, 17 deployment, 7 incident, 4 pipeline_stage" in " ".join(
        out.split()
    )
    check_against_hand(dora_json(capsys, db))
    source = Database(url)
    with pytest.raises(Exception, match="READ ONLY"), source.engine.connect() as conn:
        conn.exec_driver_sql("CREATE TABLE intruder (a int)")
    source.close()


@pytest.mark.postgres
def test_postgres_missing_column_is_one_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, postgres_server: PostgresServer
) -> None:
    url = postgres_server.new_database()
    load_postgres(url)
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as conn:
        conn.execute("ALTER TABLE cicd_deployment_commits RENAME COLUMN environment TO env")
    db = str(tmp_path / "f.db")
    code, out, err = run(capsys, "process", "import", url, "--format", "devlake", "--db", db)
    assert code == 2 and not out
    assert err.count("\n") == 1
    assert "table 'cicd_deployment_commits' has no column 'environment'" in err
    assert not (tmp_path / "f.db").exists() or Store(f"sqlite:///{db}").process_events() == []


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("postgresql://nobody@/nodb?host=/nonexistent/socket", "cannot read the database"),
        ("sqlite:///devlake.db", "a DevLake database is mysql://... or postgresql://..."),
        ("postgres//broken", "no such file or folder"),
    ],
)
def test_bad_source_is_one_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, source: str, message: str
) -> None:
    code, out, err = run(capsys, "process", "import", source, "--db", str(tmp_path / "f.db"))
    assert code == 2 and not out
    assert err.count("\n") == 1 and message in err


def test_mysql_without_its_driver_says_how_to_get_it(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "pymysql", None)  # as on a machine without PyMySQL
    url = "mysql://merico:s3cret@devlake-db:3306/lake"
    code, _, err = run(capsys, "process", "import", url, "--db", str(tmp_path / "f.db"))
    assert code == 2 and err.count("\n") == 1
    assert "PyMySQL" in err and "fleetwise[mysql]" in err and "s3cret" not in err


def test_a_url_is_read_by_the_devlake_format_only(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    argv = ("process", "import", "postgresql://u:pw@h/lake", "--format", "fourkeys")
    code, _, err = run(capsys, *argv, "--db", str(tmp_path / "f.db"))
    assert code == 2 and "read by --format devlake only" in err and ":pw@" not in err


def test_devlake_definition_needs_devlake_events(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    db = str(tmp_path / "f.db")
    fourkeys = DUMPS.parent / "fourkeys_sample"
    assert run(capsys, "process", "import", str(fourkeys), "--db", db)[0] == 0
    code, _, err = run(capsys, "process", "dora", "--definition", "devlake", "--db", db)
    assert code == 2 and "no DevLake events in the store" in err
    code, _, err = run(
        capsys, "process", "dora", "--definition", "devlake", "--since", "x", "--db", db
    )
    assert code == 2 and "--since 'x': not a date" in err
    argv = ("process", "dora", "--definition", "devlake", "--service", "api", "--db", db)
    code, _, err = run(capsys, *argv)
    assert code == 2 and "per project (--team PROJECT)" in err
