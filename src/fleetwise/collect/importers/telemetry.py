"""Import cluster telemetry as one time series: GPUs busy, pending, total and measured use.

Formats (``sniff(path) -> bool`` for ``--format auto``, ``parse(path) -> ClusterSeries``):

- ``dcgm``: DCGM exporter metrics scraped by Prometheus, ``DCGM_FI_DEV_GPU_UTIL`` (percent,
  per GPU) in one of three shapes: the text exposition format with timestamps
  (``DCGM_FI_DEV_GPU_UTIL{gpu="0",Hostname="n1"} 87 1700000000000``, ms), the JSON of the
  ``/api/v1/query_range`` API (``data.result[].values``), or a CSV with a ``timestamp`` (or
  ``time``) column, a ``DCGM_FI_DEV_GPU_UTIL`` column and any label columns. Each time point
  is the mean over the GPUs reporting then (``utilization``, 0-1) and their count
  (``total``).
- ``helios``: Helios per-minute cluster sequences (``time, total_gpu_num,
  running_gpu_num, pending_gpu_num, ...``): GPUs allocated to running jobs (``busy``).
  Helios' own ``gpu_utilization`` column is ``running / total``, an allocation ratio, so it
  is not taken as measured utilization.
- ``philly``: Philly's per-minute node sequence (``time, active, total``), in nodes.

Every problem raises ``InputError`` as ``file:line: column 'name': problem``.
"""

from __future__ import annotations

import csv
import math
import re
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import numpy.typing as npt
import orjson

from fleetwise.collect.importers.tabular import head
from fleetwise.errors import InputError

METRIC = "DCGM_FI_DEV_GPU_UTIL"
_EXPOSITION = re.compile(
    r"^" + METRIC + r"(?:\{(?P<labels>[^}]*)\})?\s+(?P<value>\S+)(?:\s+(?P<ts>\d+))?\s*$"
)
FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class ClusterSeries:
    """A cluster over time; NaN where the source does not say."""

    source: str
    unit: str  # "GPUs" or "nodes"
    times: npt.NDArray[np.datetime64]  # UTC, seconds
    total: FloatArray
    busy: FloatArray  # allocated to running jobs
    pending: FloatArray  # requested by waiting jobs
    utilization: FloatArray  # measured mean GPU utilization, 0-1

    def daily_mean_busy(self) -> tuple[npt.NDArray[np.datetime64], FloatArray]:
        """Mean busy units per whole UTC day (days with no sample are left out)."""
        days = self.times.astype("datetime64[D]")
        keep = ~np.isnan(self.busy)
        uniq, inverse = np.unique(days[keep], return_inverse=True)
        sums = np.bincount(inverse, weights=self.busy[keep])
        counts = np.bincount(inverse)
        return uniq, sums / counts


def _time(text: str, where: str) -> datetime:
    s = text.strip()
    try:
        if re.fullmatch(r"\d+(?:\.\d*)?", s):
            value = float(s)
            return datetime.fromtimestamp(value / 1000 if value > 1e11 else value, UTC)
        t = datetime.fromisoformat(s)
    except (ValueError, OverflowError, OSError):
        raise InputError(f"{where}: not a time: {s!r}") from None
    return t if t.tzinfo else t.replace(tzinfo=UTC)


def _float(text: str, where: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise InputError(f"{where}: not a number: {text.strip()!r}") from None
    if math.isnan(value):
        raise InputError(f"{where}: not a number: {text.strip()!r}")
    return value


def _csv_columns(
    path: Path, columns: dict[str, str], required: set[str]
) -> tuple[list[datetime], dict[str, list[float]]]:
    """Times (column ``time``) and float columns (``columns``: our name -> file column)."""
    times: list[datetime] = []
    values: dict[str, list[float]] = {k: [] for k in columns}
    try:
        with path.open(newline="", encoding="utf-8-sig") as f:
            reader = csv.DictReader(f)
            header = reader.fieldnames or []
            missing = sorted(required - set(header))
            if missing:
                raise InputError(f"{path}:1: missing column(s) {', '.join(missing)}")
            for row in reader:
                line = reader.line_num
                if None in row or any(v is None for v in row.values()):
                    raise InputError(f"{path}:{line}: expected {len(header)} columns")
                times.append(_time(row["time"], f"{path}:{line}: column 'time'"))
                for ours, col in columns.items():
                    where = f"{path}:{line}: column '{col}'"
                    values[ours].append(_float(row[col], where) if col in row else math.nan)
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not UTF-8 text ({exc.reason})") from exc
    except csv.Error as exc:
        raise InputError(f"{path}: not valid CSV: {exc}") from exc
    if not times:
        raise InputError(f"{path}: no samples")
    return times, values


def _series(
    path: Path, fmt: str, unit: str, times: list[datetime], cols: dict[str, list[float]]
) -> ClusterSeries:
    n = len(times)
    nan = np.full(n, np.nan)

    def col(name: str) -> FloatArray:
        return np.asarray(cols[name], dtype=np.float64) if name in cols else nan

    stamps = np.array([t.astimezone(UTC).replace(tzinfo=None) for t in times], "datetime64[s]")
    order = np.argsort(stamps, kind="stable")
    return ClusterSeries(
        f"{fmt}:{path.name}",
        unit,
        stamps[order],
        col("total")[order],
        col("busy")[order],
        col("pending")[order],
        col("utilization")[order],
    )


def sniff_helios(path: Path) -> bool:
    first = head(path).splitlines()[:1]
    header = set(first[0].split(",")) if first else set()
    return {"time", "total_gpu_num", "running_gpu_num"} <= header


def parse_helios(path: Path) -> ClusterSeries:
    columns = {"total": "total_gpu_num", "busy": "running_gpu_num", "pending": "pending_gpu_num"}
    times, cols = _csv_columns(path, columns, {"time", "total_gpu_num", "running_gpu_num"})
    return _series(path, "helios", "GPUs", times, cols)


def sniff_philly(path: Path) -> bool:
    first = head(path).splitlines()[:1]
    return bool(first) and first[0].strip().split(",") == ["time", "active", "total"]


def parse_philly(path: Path) -> ClusterSeries:
    times, cols = _csv_columns(
        path, {"busy": "active", "total": "total"}, {"time", "active", "total"}
    )
    return _series(path, "philly", "nodes", times, cols)


def sniff_dcgm(path: Path) -> bool:
    return METRIC in head(path)


def _labels_key(labels: dict[str, str]) -> str:
    return ",".join(f"{k}={labels[k]}" for k in sorted(labels) if k not in {"__name__"})


def _dcgm_samples(path: Path) -> list[tuple[datetime, str, float]]:
    text = head(path).lstrip()
    samples: list[tuple[datetime, str, float]] = []
    if text.startswith("{"):
        try:
            doc = orjson.loads(path.read_bytes())
            result = doc["data"]["result"]
        except orjson.JSONDecodeError as exc:
            raise InputError(f"{path}:{exc.lineno}:{exc.colno}: not valid JSON: {exc.msg}") from exc
        except (KeyError, TypeError):
            raise InputError(f"{path}: expected Prometheus 'data.result' (query_range)") from None
        for k, series in enumerate(result):
            key = _labels_key(series.get("metric", {}))
            for ts, value in series.get("values", []):
                where = f"{path}: data.result[{k}]"
                samples.append((_time(str(ts), where), key, _float(str(value), where)))
        return samples
    first = text.splitlines()[0] if text else ""
    if "," in first and METRIC in first.split(","):
        columns = [c.strip() for c in first.split(",")]
        tcol = "timestamp" if "timestamp" in columns else "time"
        if tcol not in columns:
            raise InputError(f"{path}:1: missing column 'timestamp' (or 'time')")
        labels = [c for c in columns if c not in {tcol, METRIC}]
        with path.open(newline="", encoding="utf-8-sig") as f:
            reader = csv.DictReader(f)
            for row in reader:
                where = f"{path}:{reader.line_num}: column"
                key = ",".join(f"{c}={row.get(c, '')}" for c in labels)
                value = _float(row.get(METRIC) or "", f"{where} '{METRIC}'")
                samples.append((_time(row.get(tcol) or "", f"{where} '{tcol}'"), key, value))
        return samples
    with path.open(encoding="utf-8") as f:
        for line_no, line in enumerate(f, start=1):
            line = line.strip()
            if not line or line.startswith("#") or not line.startswith(METRIC):
                continue
            m = _EXPOSITION.match(line)
            if m is None or m.group("ts") is None:
                raise InputError(
                    f"{path}:{line_no}: expected '{METRIC}{{labels}} value timestamp_ms'"
                )
            where = f"{path}:{line_no}"
            value = _float(m.group("value"), where)
            samples.append((_time(m.group("ts"), where), m.group("labels") or "", value))
    return samples


def parse_dcgm(path: Path) -> ClusterSeries:
    samples = _dcgm_samples(path)
    if not samples:
        raise InputError(f"{path}: no {METRIC} samples")
    by_time: dict[datetime, dict[str, float]] = defaultdict(dict)
    for t, key, value in samples:
        if not 0 <= value <= 100:
            raise InputError(f"{path}: {METRIC} {value} at {t.isoformat()} is not 0-100")
        by_time[t][key] = value
    times = sorted(by_time)
    cols = {
        "utilization": [sum(by_time[t].values()) / len(by_time[t]) / 100 for t in times],
        "total": [float(len(by_time[t])) for t in times],
    }
    return _series(path, "dcgm", "GPUs", times, cols)


@dataclass(frozen=True)
class TelemetryImporter:
    name: str
    sniff: Callable[[Path], bool]
    parse: Callable[[Path], ClusterSeries]


IMPORTERS: dict[str, TelemetryImporter] = {
    i.name: i
    for i in (
        TelemetryImporter("dcgm", sniff_dcgm, parse_dcgm),
        TelemetryImporter("helios", sniff_helios, parse_helios),
        TelemetryImporter("philly", sniff_philly, parse_philly),
    )
}


def import_telemetry(path: Path, fmt: str = "auto") -> ClusterSeries:
    try:
        return _import_telemetry(path, fmt)
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not UTF-8 text (byte {exc.start} of a line)") from exc


def _import_telemetry(path: Path, fmt: str) -> ClusterSeries:
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    if fmt == "auto":
        found = next((i for i in IMPORTERS.values() if i.sniff(path)), None)
        if found is None:
            raise InputError(
                f"{path}: cannot tell its telemetry format; pass --format ({', '.join(IMPORTERS)})"
            )
        return found.parse(path)
    if fmt not in IMPORTERS:
        raise InputError(f"unknown telemetry format {fmt!r}: choose {', '.join(IMPORTERS)}")
    return IMPORTERS[fmt].parse(path)
