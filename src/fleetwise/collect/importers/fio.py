"""Import fio's JSON output (``fio --output-format=json``) into typed records.

Units follow fio's own writer (``stat.c``, ``add_ddir_status_json``):

* fio 3.x reports latencies in nanoseconds under ``clat_ns`` / ``lat_ns``, ``bw`` in KiB/s,
  ``bw_bytes`` in bytes/s, ``io_bytes`` in bytes (and ``io_kbytes`` in KiB), ``runtime`` in ms.
* fio 2.x reported latencies in microseconds under ``clat`` / ``lat``, ``bw`` in KiB/s with
  no ``bw_bytes``, and ``io_bytes`` in KiB (it wrote ``io_bytes >> 10``); it also padded the
  percentile list with ``"0.00": 0`` entries, which are not percentiles and are dropped.

Everything here is converted to bytes, bytes/s, seconds and microseconds. fio prints
warnings (``note: both iodepth >= 1 and synchronous I/O engine ...``) on stdout before
the JSON document, so parsing starts at the first line that opens a JSON object.
"""

from __future__ import annotations

import itertools
import json
import math
import re
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from fleetwise.errors import InputError

#: Name under which this importer is known (``--format fio``).
FORMAT = "fio"
#: fio's data directions; ``mixed`` replaces them all with ``unified_rw_reporting``.
DIRECTIONS = ("read", "write", "trim", "mixed")
_SNIFF_BYTES = 64 * 1024
_JSON_START = re.compile(r"^\{", re.MULTILINE)
#: fio writes "fio version" as the first key of its document.
_SNIFF = re.compile(rb'^\{\s*"fio version"', re.MULTILINE)


class FioDirection(BaseModel):
    """One data direction (read, write, ...) of one fio job (or group of jobs)."""

    model_config = ConfigDict(frozen=True)

    bw_bytes_per_s: float
    iops: float
    io_bytes: int
    total_ios: int | None
    runtime_s: float
    clat_mean_us: float
    lat_mean_us: float | None
    #: Every completion-latency percentile fio printed: percentile (e.g. 99.9) -> microseconds.
    clat_percentiles_us: dict[float, float]
    clat_p50_us: float | None
    clat_p90_us: float | None
    clat_p99_us: float | None
    clat_p999_us: float | None


class FioJob(BaseModel):
    """One entry of fio's ``jobs`` list: a job, or a group with ``--group_reporting``."""

    model_config = ConfigDict(frozen=True)

    name: str
    error: int
    #: Only the directions that did I/O (fio prints all of them, zeroed when unused).
    directions: dict[str, FioDirection]


class FioReport(BaseModel):
    """A whole fio JSON document."""

    model_config = ConfigDict(frozen=True)

    fio_version: str | None
    source: str
    jobs: list[FioJob]
    #: Non-JSON text fio printed before the document (warnings, notes), stripped.
    preamble: str = ""


def sniff(path: str | Path) -> bool:
    """True when the file looks like fio JSON output (for ``--format auto``)."""
    try:
        with Path(path).open("rb") as fh:
            head = fh.read(_SNIFF_BYTES)
    except OSError:
        return False
    return _SNIFF.search(head) is not None


def parse(path: str | Path) -> FioReport:
    """Parse a file of fio JSON output; raises InputError naming the file."""
    p = Path(path)
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise InputError(f"{p}: cannot read fio output: {exc.strerror or exc}") from exc
    return parse_text(data, source=str(p))


def parse_text(text: str | bytes, source: str = "<fio output>") -> FioReport:
    """Parse fio JSON output held in memory; ``source`` names it in error messages."""
    if isinstance(text, bytes):
        # Job names and warnings may carry any bytes; the numbers we need are ASCII.
        text = text.decode("utf-8", errors="replace")
    match = _JSON_START.search(text)
    start = match.start() if match else text.find("{")
    if start < 0:
        raise InputError(f"{source}: not fio JSON output: no JSON object found")
    try:
        doc, _end = json.JSONDecoder().raw_decode(text, start)
    except ValueError as exc:
        raise InputError(f"{source}: not valid fio JSON (truncated or corrupt): {exc}") from exc
    except RecursionError as exc:
        raise InputError(f"{source}: not valid fio JSON: nested too deeply") from exc
    if not isinstance(doc, dict):
        raise InputError(f"{source}: fio JSON must be an object, got {type(doc).__name__}")
    jobs = doc.get("jobs")
    if not isinstance(jobs, list):
        raise InputError(f"{source}: no 'jobs' list: not fio JSON output")
    if not jobs:
        raise InputError(f"{source}: fio output has an empty 'jobs' list")
    version = doc.get("fio version")
    if version is not None and not isinstance(version, str):
        raise InputError(f"{source}: 'fio version' must be a string")
    parsed = [_job(job, f"{source}: jobs[{i}]") for i, job in enumerate(jobs)]
    return FioReport(fio_version=version, source=source, jobs=parsed, preamble=text[:start].strip())


def _job(job: Any, where: str) -> FioJob:
    if not isinstance(job, dict):
        raise InputError(f"{where}: a job must be an object")
    name = job.get("jobname", "")
    if not isinstance(name, str):
        raise InputError(f"{where}: 'jobname' must be a string")
    error = _number(job, "error", where, default=0)
    directions: dict[str, FioDirection] = {}
    for ddir in DIRECTIONS:
        if ddir in job:
            parsed = _direction(job[ddir], f"{where}.{ddir}")
            if parsed is not None:
                directions[ddir] = parsed
    return FioJob(name=name, error=int(error), directions=directions)


def _direction(obj: Any, where: str) -> FioDirection | None:
    """One direction, or None when it did no I/O."""
    if not isinstance(obj, dict):
        raise InputError(f"{where}: must be an object")
    if "clat_ns" in obj:  # fio >= 3.0: nanoseconds
        clat_key, lat_key, per_us = "clat_ns", "lat_ns", 1000.0
    elif "clat" in obj:  # fio 2.x: microseconds
        clat_key, lat_key, per_us = "clat", "lat", 1.0
    else:
        raise InputError(f"{where}: no 'clat_ns' (fio 3) or 'clat' (fio 2) section")
    # fio 3 added io_kbytes and made io_bytes real bytes; fio 2's io_bytes was KiB.
    io_scale = 1 if "io_kbytes" in obj else 1024
    io_bytes = int(_number(obj, "io_bytes", where)) * io_scale
    total_ios = int(_number(obj, "total_ios", where)) if "total_ios" in obj else None
    if io_bytes == 0 and not total_ios:
        return None
    if "bw_bytes" in obj:
        bw = _number(obj, "bw_bytes", where)
    else:
        bw = _number(obj, "bw", where) * 1024.0  # KiB/s
    clat = obj[clat_key]
    if not isinstance(clat, dict):
        raise InputError(f"{where}.{clat_key}: must be an object")
    pcts = _percentiles(clat.get("percentile"), per_us, f"{where}.{clat_key}.percentile")
    lat = obj.get(lat_key)
    lat_mean = None
    if isinstance(lat, dict):
        lat_mean = _number(lat, "mean", f"{where}.{lat_key}") / per_us
    return FioDirection(
        bw_bytes_per_s=bw,
        iops=_number(obj, "iops", where),
        io_bytes=io_bytes,
        total_ios=total_ios,
        runtime_s=_number(obj, "runtime", where) / 1e3,  # fio prints milliseconds
        clat_mean_us=_number(clat, "mean", f"{where}.{clat_key}") / per_us,
        lat_mean_us=lat_mean,
        clat_percentiles_us=pcts,
        clat_p50_us=pcts.get(50.0),
        clat_p90_us=pcts.get(90.0),
        clat_p99_us=pcts.get(99.0),
        clat_p999_us=pcts.get(99.9),
    )


def _percentiles(obj: Any, per_us: float, where: str) -> dict[float, float]:
    """fio's ``{"99.000000": value}`` map, checked, in percentile order, in microseconds."""
    if obj is None:  # clat_percentiles=0, or fio had no samples
        return {}
    if not isinstance(obj, dict):
        raise InputError(f"{where}: must be an object")
    pairs: list[tuple[float, float]] = []
    for key, value in obj.items():
        try:
            pct = float(key)
        except ValueError as exc:
            raise InputError(f"{where}: key {key!r} is not a percentile") from exc
        if not 0.0 <= pct <= 100.0:
            raise InputError(f"{where}: percentile {key!r} outside 0..100")
        if pct == 0.0:  # fio 2.x padding ("0.00": 0), not a measurement
            continue
        pairs.append((round(pct, 6), _as_number(value, f"{where}[{key!r}]") / per_us))
    pairs.sort()
    for (p_lo, v_lo), (p_hi, v_hi) in itertools.pairwise(pairs):
        if v_hi < v_lo:
            raise InputError(
                f"{where}: percentiles not monotone (p{p_lo:g}={v_lo:g} > p{p_hi:g}={v_hi:g})"
            )
    return dict(pairs)


def _number(obj: dict[str, Any], key: str, where: str, default: float | None = None) -> float:
    if key not in obj:
        if default is not None:
            return default
        raise InputError(f"{where}: missing {key!r}")
    return _as_number(obj[key], f"{where}.{key}")


def _as_number(value: Any, where: str) -> float:
    """A finite, non-negative JSON number (bools are not numbers here)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InputError(f"{where}: expected a number, got {type(value).__name__}")
    try:
        number = float(value)
    except OverflowError as exc:
        raise InputError(f"{where}: number out of range") from exc
    if not math.isfinite(number) or number < 0:
        raise InputError(f"{where}: expected a finite non-negative number, got {value!r}")
    return number
