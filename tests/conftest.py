"""Shared fixtures: an isolated store per test, and the golden-file switch."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from fleetwise.store import Store

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


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'fleetwise.db'}"


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    s = Store(db_url)
    yield s
    s.close()


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # Never touch a developer's ./fleetwise.db or work folder from a test.
    monkeypatch.delenv("FLEETWISE_DB", raising=False)
    monkeypatch.setenv("FLEETWISE_WORKDIR", str(tmp_path / "work"))
