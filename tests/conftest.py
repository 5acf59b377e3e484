"""Shared fixtures: an isolated store per test, and the golden-file switch."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from fleetwise.store import Store
from pg_server import PostgresServer, start_server

DATA = Path(__file__).parent / "data"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-goldens",
        action="store_true",
        help="rewrite tests/golden/*.txt from the current output (review the diff)",
    )


@pytest.fixture
def update_goldens(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-goldens"))


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A private PostgreSQL server for the session; skipped, with the reason, without one."""
    server, why = start_server()
    if server is None:
        if os.environ.get("CI"):
            # CI installs PostgreSQL (make test): a server that cannot start there is a failure.
            pytest.fail(why)
        pytest.skip(why)
    yield server
    server.stop()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The store URL of a test that must hold on both back-ends: SQLite and PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'fleetwise.db'}"
    server: PostgresServer = request.getfixturevalue("postgres_server")
    # the columnar jobs of a server database live in the folder FLEETWISE_DATA_DIR names
    request.getfixturevalue("monkeypatch").setenv("FLEETWISE_DATA_DIR", str(tmp_path / "data"))
    return server.new_database()


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    s = Store(db_url)
    yield s
    s.close()


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # Never touch a developer's ./fleetwise.db or work folder from a test.
    monkeypatch.delenv("FLEETWISE_DB", raising=False)
    monkeypatch.delenv("FLEETWISE_DATA_DIR", raising=False)
    monkeypatch.setenv("FLEETWISE_WORKDIR", str(tmp_path / "work"))
