"""A throwaway MariaDB server for the DevLake MySQL tests (Debian's ``mariadb-server``).

``make test`` installs the package; this starts a private server in a temporary folder
on a Unix socket only (``--skip-networking``: nothing on the network), root without a
password, and stops it afterwards. DevLake's default database is MySQL; MariaDB speaks
the same protocol and SQL for the tables read here.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

MARIADBD = Path("/usr/sbin/mariadbd")
INSTALL_DB = "mariadb-install-db"


class MySQLServer:
    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="fleetwise-mysql-"))
        self.socket = str(self.root / "mysql.sock")
        self._proc: subprocess.Popen[bytes] | None = None
        self._user = ["--user=root"] if os.geteuid() == 0 else []

    def start(self) -> None:
        data = self.root / "data"
        subprocess.run(
            [INSTALL_DB, "--no-defaults", f"--datadir={data}", "--skip-test-db",
             "--auth-root-authentication-method=normal", *self._user],
            check=True, capture_output=True, timeout=120,
        )  # fmt: skip
        self._proc = subprocess.Popen(
            [str(MARIADBD), "--no-defaults", f"--datadir={data}", f"--socket={self.socket}",
             "--skip-networking", f"--pid-file={self.root / 'pid'}",
             f"--log-error={self.root / 'error.log'}", *self._user],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while not Path(self.socket).exists():
            if self._proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"mariadbd did not start: see {self.root / 'error.log'}")
            time.sleep(0.1)

    def url(self, database: str) -> str:
        """A DevLake-style URL (Go driver options included, as DevLake's DB_URL has them)."""
        return f"mysql://root@localhost/{database}?unix_socket={self.socket}&parseTime=True&loc=UTC"

    def stop(self) -> None:
        try:
            if self._proc is not None:
                self._proc.terminate()
                self._proc.wait(timeout=60)
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


def start_mysql() -> tuple[MySQLServer | None, str]:
    if not MARIADBD.exists() or shutil.which(INSTALL_DB) is None:
        return None, "MariaDB is not installed (Debian: apt-get install mariadb-server)"
    try:
        import pymysql  # noqa: F401
    except ImportError:
        return None, "PyMySQL is not installed (pip install 'fleetwise[mysql]')"
    server = MySQLServer()
    try:
        server.start()
    except (OSError, RuntimeError, subprocess.SubprocessError) as exc:
        server.stop()
        return None, f"MariaDB did not start: {exc}"
    return server, ""
