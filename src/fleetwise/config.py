"""Settings read from the environment (``FLEETWISE_*``); the CLI passes them down.

Library functions take explicit arguments; only the presentation layer calls these.
"""

from __future__ import annotations

import os
from pathlib import Path

DEFAULT_DB_FILE = "fleetwise.db"


def database_url(explicit: str | None = None) -> str:
    """The store URL: ``--db`` if given, else ``FLEETWISE_DB``, else ``./fleetwise.db``.

    A bare path is taken as a SQLite file, so ``--db results.db`` works as expected.
    """
    raw = explicit or os.environ.get("FLEETWISE_DB") or DEFAULT_DB_FILE
    if "://" in raw:
        return raw
    return f"sqlite:///{Path(raw).expanduser()}"


def work_dir() -> Path:
    """Scratch space for benchmark files (fio, data loader, checkpoints).

    ``FLEETWISE_WORKDIR`` picks the disk under test; the default is a folder beside the
    store in the current directory, which is a real disk rather than a tmpfs ``/tmp``.
    """
    raw = os.environ.get("FLEETWISE_WORKDIR")
    return Path(raw) if raw else Path.cwd() / ".fleetwise-work"
