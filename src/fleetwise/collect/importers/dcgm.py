"""DCGM exporter metrics, in the three shapes Prometheus gives them, as per-GPU samples.

Fields read (dcgm-exporter's names; others in the file are ignored):

- utilization: ``DCGM_FI_PROF_SM_ACTIVE``, ``DCGM_FI_PROF_SM_OCCUPANCY``,
  ``DCGM_FI_PROF_PIPE_TENSOR_ACTIVE``, ``DCGM_FI_PROF_DRAM_ACTIVE`` (ratios 0-1) and
  ``DCGM_FI_DEV_GPU_UTIL`` (percent 0-100). ``GPU_UTIL`` is the share of time *a* kernel
  ran on *some* SM, so a GPU running one small kernel reads 100%; ``SM_ACTIVE`` is the
  share of SMs with work, averaged over time (NVIDIA's DCGM user guide, "Profiling
  Metrics"). SM_ACTIVE is the measured utilization when the file has it.
- health: ``DCGM_FI_DEV_XID_ERRORS`` (the last XID code, 0 when none), the volatile ECC
  totals ``DCGM_FI_DEV_ECC_DBE_VOL_TOTAL`` / ``..._SBE_VOL_TOTAL``, retired pages
  ``DCGM_FI_DEV_RETIRED_DBE`` / ``DCGM_FI_DEV_RETIRED_PENDING``, and row remapping
  ``DCGM_FI_DEV_ROW_REMAP_FAILURE`` / ``DCGM_FI_DEV_UNCORRECTABLE_REMAPPED_ROWS`` (counts).

Shapes: the text exposition format with timestamps
(``DCGM_FI_PROF_SM_ACTIVE{gpu="0",Hostname="n1"} 0.42 1700000000000``, ms), the JSON of
Prometheus' ``/api/v1/query_range`` (``data.result[].metric.__name__`` names the field; a
series without a name is ``GPU_UTIL``), or a CSV with a ``timestamp`` (or ``time``) column,
one column per field and any label columns. A GPU is its host (``Hostname``, ``hostname``,
``node``, ``instance``) and index (``gpu``, else ``UUID``, ``device``); a ``pod`` label
(dcgm-exporter's Kubernetes mapping) says the GPU was allocated then.
"""

from __future__ import annotations

import csv
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import orjson

from fleetwise.collect.importers.tabular import head
from fleetwise.errors import InputError

PREFIX = "DCGM_FI_"
UTIL = "DCGM_FI_DEV_GPU_UTIL"
SM_ACTIVE = "DCGM_FI_PROF_SM_ACTIVE"
#: Utilization fields and the range of their values.
RATIOS = (
    SM_ACTIVE,
    "DCGM_FI_PROF_SM_OCCUPANCY",
    "DCGM_FI_PROF_PIPE_TENSOR_ACTIVE",
    "DCGM_FI_PROF_DRAM_ACTIVE",
)
XID = "DCGM_FI_DEV_XID_ERRORS"
ECC_DBE = "DCGM_FI_DEV_ECC_DBE_VOL_TOTAL"
ECC_SBE = "DCGM_FI_DEV_ECC_SBE_VOL_TOTAL"
RETIRED_DBE = "DCGM_FI_DEV_RETIRED_DBE"
RETIRED_PENDING = "DCGM_FI_DEV_RETIRED_PENDING"
REMAP_FAILURE = "DCGM_FI_DEV_ROW_REMAP_FAILURE"
REMAPPED_UNCORRECTABLE = "DCGM_FI_DEV_UNCORRECTABLE_REMAPPED_ROWS"
HEALTH = (
    XID,
    ECC_DBE,
    ECC_SBE,
    RETIRED_DBE,
    RETIRED_PENDING,
    REMAP_FAILURE,
    REMAPPED_UNCORRECTABLE,
)
FIELDS = (UTIL, *RATIOS, *HEALTH)

_EXPOSITION = re.compile(
    r"^(?P<name>DCGM_FI_[A-Z0-9_]+)(?:\{(?P<labels>[^}]*)\})?\s+(?P<value>\S+)"
    r"(?:\s+(?P<ts>\d+))?\s*$"
)
_LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')
_HOST_LABELS = ("Hostname", "hostname", "host", "node", "kubernetes_node", "instance")
_GPU_LABELS = ("gpu", "UUID", "uuid", "device", "minor_number")
_POD_LABELS = ("pod", "exported_pod", "pod_name")
#: Labels that change while the GPU stays the same (the pod on it, the XID's text).
_VOLATILE = {"__name__", "err_code", "err_msg", "container", "namespace", *_POD_LABELS}


@dataclass(frozen=True)
class Sample:
    time: datetime
    field: str
    host: str
    gpu: str
    value: float
    #: True/False when the sample has a pod label (allocated or not); None when not said.
    allocated: bool | None

    @property
    def key(self) -> str:
        return f"{self.host}/{self.gpu}"


def sniff(path: Path) -> bool:
    text = head(path)
    return any(f in text for f in FIELDS)


def sample_time(text: str, where: str) -> datetime:
    """A sample's time: epoch seconds or milliseconds, or ISO 8601 (UTC when naive)."""
    s = text.strip()
    try:
        if re.fullmatch(r"\d+(?:\.\d*)?", s):
            value = float(s)
            return datetime.fromtimestamp(value / 1000 if value > 1e11 else value, UTC)
        t = datetime.fromisoformat(s)
    except (ValueError, OverflowError, OSError):
        raise InputError(f"{where}: not a time: {s!r}") from None
    return t if t.tzinfo else t.replace(tzinfo=UTC)


def checked_value(field: str, text: str, where: str) -> float:
    """The value of ``field``, or ``InputError`` when it is not a number in its range."""
    try:
        value = float(text)
    except ValueError:
        raise InputError(f"{where}: not a number: {text.strip()!r}") from None
    if math.isnan(value) or math.isinf(value):
        raise InputError(f"{where}: not a number: {text.strip()!r}")
    if field == UTIL and not 0 <= value <= 100:
        raise InputError(f"{where}: {field} {value:g} is not 0-100 (percent)")
    if field in RATIOS and not 0 <= value <= 1:
        raise InputError(f"{where}: {field} {value:g} is not 0-1 (a ratio)")
    if field in HEALTH and (value < 0 or not value.is_integer()):
        raise InputError(f"{where}: {field} {value:g} is not a whole number >= 0")
    return value


def _identity(labels: dict[str, str]) -> tuple[str, str, bool | None]:
    host = next((labels[k] for k in _HOST_LABELS if labels.get(k)), "")
    gpu = next((labels[k] for k in _GPU_LABELS if labels.get(k)), "")
    if not host and not gpu:
        gpu = ",".join(f"{k}={v}" for k, v in sorted(labels.items()) if k not in _VOLATILE)
    pods = [k for k in _POD_LABELS if k in labels]
    allocated = any(labels[k].strip() for k in pods) if pods else None
    return host, gpu, allocated


def _sample(t: datetime, field: str, labels: dict[str, str], value: str, where: str) -> Sample:
    host, gpu, allocated = _identity(labels)
    return Sample(t, field, host, gpu, checked_value(field, value, where), allocated)


def _json(path: Path) -> Iterator[Sample]:
    try:
        doc = orjson.loads(path.read_bytes())
        result = doc["data"]["result"]
    except orjson.JSONDecodeError as exc:
        raise InputError(f"{path}:{exc.lineno}:{exc.colno}: not valid JSON: {exc.msg}") from exc
    except (KeyError, TypeError):
        raise InputError(f"{path}: expected Prometheus 'data.result' (query_range)") from None
    if not isinstance(result, list):
        raise InputError(f"{path}: 'data.result' is not a list")
    for k, series in enumerate(result):
        where = f"{path}: data.result[{k}]"
        if not isinstance(series, dict):
            raise InputError(f"{where}: expected an object with 'metric' and 'values'")
        metric = series.get("metric") or {}
        values = series.get("values") or []
        if not isinstance(metric, dict) or not isinstance(values, list):
            raise InputError(f"{where}: expected 'metric' an object and 'values' a list")
        field = str(metric.get("__name__") or UTIL)
        if field not in FIELDS:
            continue
        labels = {str(a): str(b) for a, b in metric.items()}
        for point in values:
            if not isinstance(point, list) or len(point) != 2:
                raise InputError(f'{where}: expected [timestamp, "value"] pairs')
            ts, value = point
            yield _sample(sample_time(str(ts), where), field, labels, str(value), where)


def _csv(path: Path) -> Iterator[Sample]:
    """Rows of a CSV export; the header as the csv module reads it (quotes, stray spaces)
    names the columns, not the split of the first line that told it is CSV."""
    with path.open(newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        try:
            header = [h.strip() for h in reader.fieldnames or []]
        except csv.Error as exc:
            raise InputError(f"{path}:1: malformed CSV header: {exc}") from exc
        reader.fieldnames = header
        tcol = "timestamp" if "timestamp" in header else "time"
        if tcol not in header:
            raise InputError(f"{path}:1: missing column 'timestamp' (or 'time')")
        fields = [c for c in header if c in FIELDS]
        labels = [c for c in header if c != tcol and not c.startswith(PREFIX)]
        try:
            for row in reader:
                if None in row or any(v is None for v in row.values()):
                    raise InputError(f"{path}:{reader.line_num}: expected {len(header)} columns")
                where = f"{path}:{reader.line_num}: column"
                t = sample_time(row[tcol], f"{where} '{tcol}'")
                tags = {c: row[c].strip() for c in labels}
                for field in fields:
                    if row[field].strip():  # a field the GPU does not report that minute
                        yield _sample(t, field, tags, row[field], f"{where} '{field}'")
        except csv.Error as exc:
            raise InputError(f"{path}:{reader.line_num}: malformed CSV: {exc}") from exc


def _text(path: Path) -> Iterator[Sample]:
    with path.open(encoding="utf-8") as f:
        for line_no, line in enumerate(f, start=1):
            line = line.strip()
            if not line.startswith(PREFIX):
                continue
            m = _EXPOSITION.match(line)
            name = m.group("name") if m else line.split("{", 1)[0].split(" ", 1)[0]
            if name not in FIELDS:
                continue
            if m is None or m.group("ts") is None:
                raise InputError(
                    f"{path}:{line_no}: expected '{name}{{labels}} value timestamp_ms'"
                )
            labels = dict(_LABEL.findall(m.group("labels") or ""))
            t = sample_time(m.group("ts"), f"{path}:{line_no}")
            yield _sample(t, name, labels, m.group("value"), f"{path}:{line_no}")


def samples(path: Path) -> list[Sample]:
    """Every sample of a known field in ``path``, in file order."""
    text = head(path).lstrip("\ufeff").lstrip()
    if text.startswith("{"):
        return list(_json(path))
    first = text.splitlines()[0] if text else ""
    columns = [c.strip() for c in first.split(",")]
    if "," in first and any(c in FIELDS for c in columns):
        return list(_csv(path))
    return list(_text(path))
