"""A throwaway PostgreSQL server for the store tests (Debian's ``postgresql`` package).

``make test`` installs the package; this starts a private cluster in a temporary folder,
listening on a Unix socket only (nothing on the network), and gives each test a database
of its own. As root, the server runs as the ``postgres`` user, since PostgreSQL refuses
to run as root.
"""

from __future__ import annotations

import glob
import itertools
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

PORT = 54329


class PostgresServer:
    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.root = Path(tempfile.mkdtemp(prefix="fleetwise-pg-"))
        self.data = self.root / "data"
        self.socket = self.root / "run"
        self._names = itertools.count()
        self._as: list[str] = []
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres")
            self.root.chmod(0o755)
            self._as = ["runuser", "-u", "postgres", "--"]
        self.user = "postgres" if self._as else os.environ.get("USER", "postgres")

    def _run(self, *argv: str) -> None:
        subprocess.run([*self._as, *argv], check=True, capture_output=True, timeout=120)

    def start(self) -> None:
        self._run("mkdir", "-p", str(self.socket))
        self._run(
            str(self.bindir / "initdb"), "-D", str(self.data), "-U", self.user,
            "--auth=trust", "--no-sync", "-E", "UTF8",
        )  # fmt: skip
        options = f"-k {self.socket} -p {PORT} -c listen_addresses='' -c fsync=off"
        self._run(
            str(self.bindir / "pg_ctl"), "-D", str(self.data), "-o", options,
            "-l", str(self.root / "server.log"), "-w", "start",
        )  # fmt: skip

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://{self.user}@/{database}?host={self.socket}&port={PORT}"

    def new_database(self) -> str:
        """A fresh, empty database; its URL."""
        import psycopg

        name = f"fw_test_{next(self._names)}"
        dsn = f"host={self.socket} port={PORT} user={self.user} dbname=postgres"
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name}")
            conn.execute(f"CREATE DATABASE {name}")
        return self.url(name)

    def stop(self) -> None:
        try:
            self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


def find_bindir() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def start_server() -> tuple[PostgresServer | None, str]:
    """A running server, or None and the reason it could not start."""
    bindir = find_bindir()
    if bindir is None:
        return None, "PostgreSQL is not installed (make test installs Debian's postgresql)"
    try:
        import psycopg  # noqa: F401
    except ImportError:
        return None, "psycopg is not installed: pip install 'fleetwise[postgres]'"
    server = PostgresServer(bindir)
    try:
        server.start()
    except (subprocess.CalledProcessError, OSError, subprocess.TimeoutExpired) as exc:
        detail = getattr(exc, "stderr", b"") or b""
        server.stop()
        return None, f"PostgreSQL did not start: {exc} {detail.decode(errors='replace')[-300:]}"
    return server, ""
