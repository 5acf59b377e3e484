"""Import cluster telemetry as one time series: GPUs busy, pending, total and measured use.

Formats (``sniff(path) -> bool`` for ``--format auto``, ``parse(path) -> ClusterSeries``):

- ``dcgm``: DCGM exporter metrics scraped by Prometheus (``collect/importers/dcgm.py``:
  the fields, the three shapes). Each time point is the mean over the GPUs reporting then,
  per field, and their count (``total``). The measured ``utilization`` is
  ``DCGM_FI_PROF_SM_ACTIVE`` when the file has it, else ``DCGM_FI_DEV_GPU_UTIL`` / 100,
  which overstates use (``basis`` says which). With a ``pod`` label, ``busy`` counts the
  GPUs a pod held. XID and ECC fields are kept per GPU (``health``) for node health.
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
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import numpy.typing as npt

from fleetwise.collect.importers import dcgm
from fleetwise.collect.importers.tabular import head
from fleetwise.errors import InputError

METRIC = dcgm.UTIL
#: What a utilization figure measured, and how far to trust it (said wherever it is used).
BASIS_CONFIDENCE = {
    "SM_ACTIVE": "DCGM SM_ACTIVE (share of SMs busy): measured, high confidence",
    "GPU_UTIL": "GPU_UTIL only: overstates use, low confidence",
}
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
    #: What ``utilization`` is: "SM_ACTIVE", "GPU_UTIL", or "" when not measured.
    basis: str = ""
    #: DCGM field -> mean over the GPUs reporting it at each time (GPU_UTIL as 0-1).
    fields: dict[str, FloatArray] = field(default_factory=dict)
    #: XID and ECC samples per GPU (``dcgm.HEALTH`` fields), in time order.
    health: tuple[dcgm.Sample, ...] = ()

    def daily_mean_busy(self) -> tuple[npt.NDArray[np.datetime64], FloatArray]:
        """Mean busy units per whole UTC day (days with no sample are left out)."""
        days = self.times.astype("datetime64[D]")
        keep = ~np.isnan(self.busy)
        uniq, inverse = np.unique(days[keep], return_inverse=True)
        sums = np.bincount(inverse, weights=self.busy[keep])
        counts = np.bincount(inverse)
        return uniq, sums / counts


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
                times.append(dcgm.sample_time(row["time"], f"{path}:{line}: column 'time'"))
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
    return dcgm.sniff(path)


def parse_dcgm(path: Path) -> ClusterSeries:
    found = dcgm.samples(path)
    if not found:
        raise InputError(f"{path}: no samples of {', '.join(dcgm.FIELDS[:2])} or the others")
    by_time: dict[datetime, dict[str, dict[str, float]]] = defaultdict(lambda: defaultdict(dict))
    held: dict[datetime, dict[str, bool]] = defaultdict(dict)
    for s in found:
        value = s.value / 100 if s.field == dcgm.UTIL else s.value
        by_time[s.time][s.field][s.key] = value
        if s.allocated is not None:
            held[s.time][s.key] = held[s.time].get(s.key, False) or s.allocated
    times = sorted(by_time)
    present = [f for f in (dcgm.UTIL, *dcgm.RATIOS) if any(f in by_time[t] for t in times)]
    cols: dict[str, list[float]] = {f: [_mean(by_time[t].get(f)) for t in times] for f in present}
    cols["total"] = [
        float(len({k for f in present for k in by_time[t].get(f, {})})) if present else math.nan
        for t in times
    ]
    basis = next((b for f, b in _BASIS if f in present), "")
    if basis:
        cols["utilization"] = cols[dcgm.SM_ACTIVE if basis == "SM_ACTIVE" else dcgm.UTIL]
    if held:
        cols["busy"] = [float(sum(held[t].values())) if t in held else math.nan for t in times]
    series = _series(path, "dcgm", "GPUs", times, cols)  # times are sorted already
    health = tuple(sorted((s for s in found if s.field in dcgm.HEALTH), key=lambda s: s.time))
    return ClusterSeries(
        series.source,
        series.unit,
        series.times,
        series.total,
        series.busy,
        series.pending,
        series.utilization,
        basis=basis,
        fields={f: np.asarray(cols[f], dtype=np.float64) for f in present},
        health=health,
    )


_BASIS = ((dcgm.SM_ACTIVE, "SM_ACTIVE"), (dcgm.UTIL, "GPU_UTIL"))


def _mean(values: dict[str, float] | None) -> float:
    return sum(values.values()) / len(values) if values else math.nan


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
    return IMPORTERS[telemetry_format(path, fmt)].parse(path)


def telemetry_format(path: Path, fmt: str = "auto") -> str:
    """The format ``path`` is read as (``fmt``, or sniffed for ``auto``); ``InputError``
    for a missing file, a format not told or not known. Sniffing may raise
    ``UnicodeDecodeError`` (``import_telemetry`` words it)."""
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    if fmt == "auto":
        found = next((i.name for i in IMPORTERS.values() if i.sniff(path)), None)
        if found is None:
            raise InputError(
                f"{path}: cannot tell its telemetry format; pass --format ({', '.join(IMPORTERS)})"
            )
        return found
    if fmt not in IMPORTERS:
        raise InputError(f"unknown telemetry format {fmt!r}: choose {', '.join(IMPORTERS)}")
    return fmt
