"""Where the columnar fleet data lives: a local folder or an object-store prefix.

``FLEETWISE_DATA_DIR`` (or a SQLite store's ``<file>.data`` default) names either a folder
(a path or a ``file://`` URL) or an S3 prefix (``s3://bucket/prefix``, on AWS or on an
S3-compatible store such as MinIO or Ceph). :class:`FleetData` (``columnar.py``) reads
and writes its files only through a :class:`DataPlace`, so every kind of file (jobs, node
snapshots, telemetry) works the same on both:

- files are named by *locations*, strings DuckDB's ``read_parquet`` takes (a path, or an
  ``s3://`` URL once :meth:`DataPlace.attach` has given the connection the object store);
- a file is written locally first (:meth:`DataPlace.scratch`) and then published whole
  (:meth:`DataPlace.publish`): a rename in a folder, one upload to the final key in an
  object store, where a PUT (or a completed multipart upload) replaces an object
  atomically; readers see the old file or the new one, never a part, and a failed upload
  leaves the old object in place.

S3 is reached through pyarrow's own S3 filesystem (pyarrow is a dependency already),
configured by the standard AWS settings (``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``/
``AWS_SESSION_TOKEN``, ``AWS_PROFILE`` and ``~/.aws`` files, an instance role;
``AWS_REGION`` or ``AWS_DEFAULT_REGION``) and an endpoint for S3-compatible stores:
``FLEETWISE_S3_ENDPOINT``, else ``AWS_ENDPOINT_URL_S3``, else ``AWS_ENDPOINT_URL``
(``http://minio:9000``; without a scheme, https). DuckDB reads the objects through that
filesystem (wrapped for fsspec and registered on each connection), not through its httpfs
extension, which it would download at run time.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
from abc import ABC, abstractmethod
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import duckdb

from fleetwise.errors import InputError, StoreError

#: The environment variables naming an S3-compatible endpoint, first found wins.
ENDPOINT_VARS = ("FLEETWISE_S3_ENDPOINT", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL")
SCHEMES = "a folder, a file:// URL or an s3://bucket/prefix URL"


def parse_place(text: str) -> Path | str:
    """A data folder setting as a local folder (``Path``) or an object-store URL (``str``,
    normalised to ``s3://bucket/prefix`` without a trailing slash)."""
    if "://" not in text:
        return Path(text).expanduser()
    parts = urlsplit(text)
    scheme = parts.scheme.lower()
    if scheme == "file":
        if parts.netloc not in ("", "localhost"):
            raise InputError(f"{text}: a file:// URL names a local folder (file:///path)")
        return Path(unquote(parts.path))
    if scheme == "s3":
        if not parts.netloc:
            raise InputError(f"{text}: no bucket (s3://bucket/prefix)")
        if parts.query or parts.fragment:
            raise InputError(
                f"{text}: no query in the URL; the endpoint is FLEETWISE_S3_ENDPOINT or "
                "AWS_ENDPOINT_URL, the credentials the AWS_* settings"
            )
        prefix = parts.path.strip("/")
        return f"s3://{parts.netloc}" + (f"/{prefix}" if prefix else "")
    raise InputError(f"{text}: unsupported data folder URL; give {SCHEMES}")


def place_for(where: Path | str) -> DataPlace:
    """The place a :func:`parse_place` result (or a plain path string) names."""
    found = parse_place(where) if isinstance(where, str) else where
    return LocalPlace(found) if isinstance(found, Path) else S3Place(found)


class DataPlace(ABC):
    """A root folder of columnar files (see the module docstring)."""

    #: The root as the user gave it (a path or a URL), for messages.
    url: str

    @abstractmethod
    def child(self, *parts: str) -> str:
        """The location of ``parts`` under the root."""

    def files(self, folder: str, suffix: str = ".parquet") -> list[str]:
        """The files of ``folder`` (a location) ending in ``suffix``, sorted; names that
        start with a dot (files being staged or written) are left out."""
        return [location for location, _, _ in self.listing(folder, suffix)]

    @abstractmethod
    def listing(self, folder: str, suffix: str = ".parquet") -> list[tuple[str, int, int]]:
        """:meth:`files` with each one's ``(location, mtime_ns, size)``, in one listing."""

    @abstractmethod
    def stat(self, location: str) -> tuple[int, int] | None:
        """``(mtime_ns, size)`` of a file, None when there is none."""

    def exists(self, location: str) -> bool:
        return self.stat(location) is not None

    @abstractmethod
    def scratch(self, folder: str, prefix: str, suffix: str) -> Path:
        """A fresh local file to write before :meth:`publish` (in ``folder`` itself when
        it is local, so publishing is a rename)."""

    @abstractmethod
    def publish(self, written: Path, location: str) -> None:
        """Replace ``location`` with the local file ``written`` in one step (``written``
        is gone afterwards); the old file stays whole if this fails."""

    @abstractmethod
    def delete(self, location: str) -> bool:
        """Remove a file; False when there was none."""

    @abstractmethod
    def attach(self, con: duckdb.DuckDBPyConnection) -> None:
        """Let ``con`` read this place's locations."""


class LocalPlace(DataPlace):
    """A folder on this machine or on a network file system every user mounts."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.url = str(folder)

    def child(self, *parts: str) -> str:
        return str(self.folder.joinpath(*parts))

    def listing(self, folder: str, suffix: str = ".parquet") -> list[tuple[str, int, int]]:
        path = Path(folder)
        if not path.is_dir():
            return []
        found = []
        for f in path.iterdir():
            if f.name.endswith(suffix) and not f.name.startswith("."):
                st = self.stat(str(f))
                if st is not None:  # removed since the folder was read
                    found.append((str(f), *st))
        return sorted(found)

    def stat(self, location: str) -> tuple[int, int] | None:
        try:
            st = Path(location).stat()
        except FileNotFoundError:
            return None
        return st.st_mtime_ns, st.st_size

    def scratch(self, folder: str, prefix: str, suffix: str) -> Path:
        path = Path(folder)
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"{path}: cannot create the folder: {exc}") from exc
        fd, name = tempfile.mkstemp(dir=path, prefix=prefix, suffix=suffix)
        os.close(fd)
        return Path(name)

    def publish(self, written: Path, location: str) -> None:
        try:
            written.replace(location)
        except OSError as exc:
            written.unlink(missing_ok=True)
            raise StoreError(f"{location}: cannot replace the file: {exc}") from exc

    def delete(self, location: str) -> bool:
        try:
            Path(location).unlink()
        except FileNotFoundError:
            return False
        return True

    def attach(self, con: duckdb.DuckDBPyConnection) -> None:
        """Nothing to do: DuckDB reads local paths itself."""

    def remove_all(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


class S3Place(DataPlace):
    """An ``s3://bucket/prefix`` on AWS or an S3-compatible store (see the module
    docstring for its settings). The bucket is checked once, at the first use: a missing
    bucket, an unreachable endpoint or refused credentials stop with one line naming the
    URL (:class:`InputError`); a failure after that is a :class:`StoreError`."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.bucket, _, self.prefix = url.removeprefix("s3://").partition("/")
        self.endpoint = next((os.environ[v] for v in ENDPOINT_VARS if os.environ.get(v)), None)
        self._checked = False

    @cached_property
    def fs(self) -> Any:
        """pyarrow's S3 filesystem for these settings."""
        from pyarrow import fs as pafs  # type: ignore[import-untyped]

        options: dict[str, Any] = {
            "region": os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION"),
        }
        if self.endpoint:
            scheme, sep, host = self.endpoint.partition("://")
            options["endpoint_override"] = host.rstrip("/") if sep else scheme.rstrip("/")
            options["scheme"] = scheme if sep else "https"
            # S3-compatible stores ignore the region but the request signature names one
            options["region"] = options["region"] or "us-east-1"
        return pafs.S3FileSystem(**options)

    def _where(self) -> str:
        return f"the object store at {self.endpoint}" if self.endpoint else "AWS S3"

    def _ready(self) -> Any:
        """The filesystem, after checking once that the bucket is there and readable."""
        if not self._checked:
            from pyarrow import fs as pafs

            try:
                info = self.fs.get_file_info(self.bucket)
            except OSError as exc:
                why = _line(exc)
                # the SDK names a failed connection NETWORK_CONNECTION; anything else (refused
                # credentials, a forbidden bucket) came back from the store
                verb = (
                    "cannot reach" if "NETWORK_CONNECTION" in why else "cannot open the bucket in"
                )
                raise InputError(f"{self.url}: {verb} {self._where()}: {why}") from exc
            if info.type == pafs.FileType.NotFound:
                raise InputError(f"{self.url}: no bucket {self.bucket!r} in {self._where()}")
            self._checked = True
        return self.fs

    def _key(self, location: str) -> str:
        return location.removeprefix("s3://")

    def child(self, *parts: str) -> str:
        return "/".join([self.url, *parts])

    def listing(self, folder: str, suffix: str = ".parquet") -> list[tuple[str, int, int]]:
        from pyarrow import fs as pafs

        selector = pafs.FileSelector(self._key(folder), allow_not_found=True)
        try:
            found = self._ready().get_file_info(selector)
        except OSError as exc:
            raise StoreError(f"{folder}: cannot list the files: {_line(exc)}") from exc
        return sorted(
            (f"s3://{f.path}", int(f.mtime_ns or 0), int(f.size or 0))
            for f in found
            if f.type == pafs.FileType.File
            and f.base_name.endswith(suffix)
            and not f.base_name.startswith(".")
        )

    def stat(self, location: str) -> tuple[int, int] | None:
        from pyarrow import fs as pafs

        try:
            info = self._ready().get_file_info(self._key(location))
        except OSError as exc:
            raise StoreError(f"{location}: cannot read: {_line(exc)}") from exc
        if info.type != pafs.FileType.File:
            return None
        return int(info.mtime_ns or 0), int(info.size or 0)

    def scratch(self, folder: str, prefix: str, suffix: str) -> Path:
        fd, name = tempfile.mkstemp(prefix=prefix, suffix=suffix)
        os.close(fd)
        return Path(name)

    def publish(self, written: Path, location: str) -> None:
        from pyarrow import fs as pafs

        try:
            # one upload to the final key: the object is replaced when the upload completes
            pafs.copy_files(
                str(written),
                self._key(location),
                source_filesystem=pafs.LocalFileSystem(),
                destination_filesystem=self._ready(),
            )
        except OSError as exc:
            raise StoreError(f"{location}: cannot upload: {_line(exc)}") from exc
        finally:
            written.unlink(missing_ok=True)

    def delete(self, location: str) -> bool:
        if not self.exists(location):
            return False
        try:
            self._ready().delete_file(self._key(location))
        except OSError as exc:
            raise StoreError(f"{location}: cannot delete: {_line(exc)}") from exc
        return True

    def attach(self, con: duckdb.DuckDBPyConnection) -> None:
        if "s3" not in con.list_filesystems():
            con.register_filesystem(_duckdb_filesystem()(self._ready()))


@lru_cache(maxsize=1)
def _duckdb_filesystem() -> Any:
    """fsspec's wrapper of a pyarrow filesystem, opening files DuckDB may read from several
    threads at once (:class:`PositionalReader`); a class made on first use, so fsspec is
    imported only for an object store."""
    from fsspec.implementations.arrow import ArrowFSWrapper  # type: ignore[import-untyped]

    class ThreadSafeArrowFS(ArrowFSWrapper):  # type: ignore[misc]
        def _open(self, path: str, mode: str = "rb", **kwargs: Any) -> Any:
            if mode != "rb":
                return super()._open(path, mode, **kwargs)
            return PositionalReader(self.fs.open_input_file(path))

    return ThreadSafeArrowFS


class PositionalReader:
    """A read-only file whose position belongs to the thread that moves it.

    DuckDB reads a remote file through one handle from several I/O threads, each calling
    ``seek`` then ``read``; on a plain file object one thread's seek lands between another's
    seek and read, which then returns bytes from the wrong place (seen as "TProtocolException:
    Invalid data" on an 18 MB Parquet file). Each thread keeps its own position here and
    reads with ``read_at``, a positional read that pyarrow makes safe across threads."""

    def __init__(self, file: Any) -> None:
        self._file = file
        self._size = int(file.size())
        self._local = threading.local()

    def tell(self) -> int:
        return int(getattr(self._local, "position", 0))

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        base = {os.SEEK_SET: 0, os.SEEK_CUR: self.tell(), os.SEEK_END: self._size}[whence]
        self._local.position = max(0, base + offset)
        return self.tell()

    def read(self, size: int | None = -1) -> bytes:
        start = self.tell()
        left = max(0, self._size - start)
        count = left if size is None or size < 0 else min(size, left)
        data = bytes(self._file.read_at(count, start)) if count else b""
        self._local.position = start + len(data)
        return data

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    @property
    def closed(self) -> bool:
        return bool(self._file.closed)

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> PositionalReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _line(exc: BaseException) -> str:
    """An error's message on one line."""
    return " ".join(str(exc).split())[:300]
