"""Import cluster job logs as ``JobRecord`` s: Slurm, Kubernetes (Alibaba), Helios, Philly, CSV.

Formats (each with ``sniff(path) -> bool`` for ``--format auto`` and ``parse(path) -> jobs``):

- ``slurm``: ``sacct --parsable2`` output (``|``-separated, a header line). Needs ``JobID``
  and ``Submit``; uses ``User``, ``Account`` (team), ``Start``, ``End``, ``State``,
  ``NNodes`` and the GPUs of ``AllocTRES`` (``gres/gpu=4``; typed ``gres/gpu:a100=4`` are
  added when the untyped total is absent). With a ``NodeList`` column (``gpu[01-02]``) the
  placement is the GPUs spread evenly over those nodes, as Slurm gives a gang the same
  GPUs on each node. Job steps (``123.batch``, ``123.0``) are skipped.
  Slurm prints local times without a zone; they are taken as UTC.
- ``alibaba``: the pod list of Alibaba's ``cluster-trace-gpu-v2023`` (``name, num_gpu,
  qos, pod_phase, creation_time, scheduled_time, deletion_time``; times are seconds from
  the trace start, placed at the Unix epoch). Team is the QoS class.
- ``alibaba2025``: the instances of Alibaba's ``cluster-trace-gpu-v2025``
  (``disaggregated_DLRM_trace.csv``: ``instance_sn, role, app_name, ..., gpu_request, ...,
  creation_time, scheduled_time, deletion_time``; seconds from the trace start, placed at
  ``epoch``). Team is the application group (``app_name``). An instance created before the
  trace started has no creation time (NaN, the trace's README): it cannot be dated, so
  the row is skipped and counted (``JobImport.skipped``), never guessed. An instance
  deleted in the trace ended (state unknown: the trace does not say how); one scheduled
  and not deleted is running; one not scheduled is pending.
- ``helios``: the Helios/Acme job log, ``job_id,user,vc,gpu_num,cpu_num,node_num,state,
  submit_time,start_time,end_time,duration,queue``; team is the VC.
- ``philly``: Philly's ``cluster_job_log`` JSON: a list of jobs with ``jobid, user, vc,
  status, submitted_time`` and ``attempts`` (``start_time, end_time, detail`` per node with
  its ``ip`` and ``gpus``); the job runs from its first attempt's start to its last
  attempt's end on the GPUs of its last attempt, which is its placement.
- ``csv``: any CSV with a header; ``mapping`` names the column of each field (``job_id,
  user, team, submit, start, end, duration, gpus, nodes, state, hosts``). Unmapped fields
  are found by their own name. Times are ISO 8601 or epoch seconds. ``hosts`` is either
  ``host:gpus`` items separated by ``;`` or a Slurm host list the GPUs are spread over.

Every problem raises ``InputError`` as ``file:line: column 'name': problem``.
"""

from __future__ import annotations

import dataclasses
import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson

from fleetwise.collect.importers.hostlist import expand_hostlist, spread
from fleetwise.collect.importers.tabular import Importer, head, header, rows
from fleetwise.errors import InputError
from fleetwise.models import JobRecord, JobState

_EPOCH = datetime.fromtimestamp(0, UTC)
_NUMBER = re.compile(r"[+-]?\d+(?:\.\d*)?(?:[eE][+-]?\d+)?")
_NO_TIME = {"", "none", "unknown", "null", "nan", "n/a"}
_STATES = {
    "completed": JobState.COMPLETED,
    "succeeded": JobState.COMPLETED,
    "pass": JobState.COMPLETED,
    "success": JobState.COMPLETED,
    "failed": JobState.FAILED,
    "node_fail": JobState.FAILED,
    "out_of_memory": JobState.FAILED,
    "boot_fail": JobState.FAILED,
    "deadline": JobState.TIMEOUT,
    "timeout": JobState.TIMEOUT,
    "cancelled": JobState.CANCELLED,
    "canceled": JobState.CANCELLED,
    "killed": JobState.CANCELLED,
    "preempted": JobState.CANCELLED,
    "running": JobState.RUNNING,
    "pending": JobState.PENDING,
    "requeued": JobState.PENDING,
}
FIELDS = (
    "job_id",
    "user",
    "team",
    "submit",
    "start",
    "end",
    "duration",
    "gpus",
    "nodes",
    "state",
    "hosts",
)


def state_of(text: str) -> JobState:
    """A state from any of the formats' spellings (``CANCELLED by 42`` -> cancelled)."""
    word = text.strip().split(" ", 1)[0].rstrip("+").lower()
    return _STATES.get(word, JobState.UNKNOWN)


def parse_time(text: str, where: str) -> datetime | None:
    """ISO 8601 (a missing zone is UTC), or epoch seconds; empty/``Unknown`` is None."""
    s = text.strip()
    if s.lower() in _NO_TIME:
        return None
    try:
        if _NUMBER.fullmatch(s):
            return datetime.fromtimestamp(float(s), UTC)
        t = datetime.fromisoformat(s)
    except (ValueError, OverflowError, OSError):
        raise InputError(f"{where}: not a time: {s!r}") from None
    return t if t.tzinfo else t.replace(tzinfo=UTC)


#: The largest GPU or node count stored (a 32-bit column).
MAX_COUNT = 2**31 - 1


def _int(text: str, where: str) -> int:
    s = text.strip()
    try:
        value = float(s) if s else 0.0
    except ValueError:
        raise InputError(f"{where}: not a number: {s!r}") from None
    if value < 0 or not value.is_integer():
        raise InputError(f"{where}: expected a whole number >= 0, got {s!r}")
    if value > MAX_COUNT:
        raise InputError(f"{where}: {s!r} is more than the {MAX_COUNT:,} a count is stored in")
    return int(value)


def _require(path: Path, header: list[str], needed: set[str]) -> None:
    missing = sorted(needed - set(header))
    if missing:
        raise InputError(f"{path}:1: missing column(s) {', '.join(missing)}")


# -- Slurm ------------------------------------------------------------------------------------
_GPU_TRES = re.compile(r"gres/gpu(?::[^=,]+)?=(\d+)")


def _slurm_gpus(tres: str) -> int:
    untyped = re.search(r"gres/gpu=(\d+)", tres)
    if untyped:
        return int(untyped.group(1))
    return sum(int(n) for n in _GPU_TRES.findall(tres))


def sniff_slurm(path: Path) -> bool:
    names = header(path, "|")
    return "JobID" in names and "Submit" in names


def parse_slurm(path: Path) -> list[JobRecord]:
    _require(path, header(path, "|"), {"JobID", "Submit"})
    jobs = []
    for line, row in rows(path, "|"):
        job_id = row["JobID"].strip()
        if "." in job_id:
            continue  # a step of a job, not a job

        def at(col: str, line: int = line) -> str:
            return f"{path}:{line}: column '{col}'"

        submit = parse_time(row["Submit"], at("Submit"))
        if submit is None:
            raise InputError(f"{at('Submit')}: missing submit time")
        nodes = row.get("NNodes", "").strip()
        gpus = _slurm_gpus(row.get("AllocTRES", "") or row.get("ReqTRES", ""))
        hosts = expand_hostlist(row.get("NodeList", ""), at("NodeList"))
        jobs.append(
            JobRecord(
                job_id=job_id,
                user=row.get("User", "").strip(),
                team=row.get("Account", "").strip() or row.get("Partition", "").strip(),
                submit_time=submit,
                start_time=parse_time(row.get("Start", ""), at("Start")),
                end_time=parse_time(row.get("End", ""), at("End")),
                gpus=gpus,
                nodes=_int(nodes, at("NNodes")) if nodes else None,
                state=state_of(row.get("State", "")),
                source=f"slurm:{path.name}",
                placement=spread(gpus, hosts),
            )
        )
    return jobs


# -- Alibaba (Kubernetes pods) ----------------------------------------------------------------
_ALIBABA = {"name", "num_gpu", "pod_phase", "creation_time", "scheduled_time", "deletion_time"}


def sniff_alibaba(path: Path) -> bool:
    return set(header(path)) >= _ALIBABA


def _offset(text: str, where: str, epoch: datetime = _EPOCH) -> datetime | None:
    s = text.strip()
    if s.lower() in _NO_TIME:
        return None
    try:
        return epoch + timedelta(seconds=float(s))
    except (ValueError, OverflowError):
        raise InputError(f"{where}: not a number of seconds: {s!r}") from None


def parse_alibaba(path: Path, epoch: datetime | None = None) -> list[JobRecord]:
    """Pods of ``cluster-trace-gpu-v2023``: its times are seconds from the trace's start,
    which the trace does not date; ``epoch`` places that start (default 1970-01-01 UTC)."""
    base = epoch if epoch is not None else _EPOCH
    if base.tzinfo is None:
        base = base.replace(tzinfo=UTC)
    _require(path, header(path), _ALIBABA)
    jobs = []
    for line, row in rows(path):

        def at(col: str, line: int = line) -> str:
            return f"{path}:{line}: column '{col}'"

        submit = _offset(row["creation_time"], at("creation_time"), base)
        if submit is None:
            raise InputError(f"{at('creation_time')}: missing creation time")
        phase = row["pod_phase"].strip()
        start = _offset(row["scheduled_time"], at("scheduled_time"), base)
        jobs.append(
            JobRecord(
                job_id=row["name"].strip(),
                team=row.get("qos", "").strip(),
                submit_time=submit,
                start_time=start if phase.lower() != "pending" else None,
                end_time=_offset(row["deletion_time"], at("deletion_time"), base),
                gpus=_int(row["num_gpu"], at("num_gpu")),
                nodes=1,
                state=state_of(phase),
                source=f"alibaba:{path.name}",
            )
        )
    return jobs


# -- Alibaba 2025 (disaggregated DLRM serving instances) --------------------------------------
_ALIBABA2025 = {"instance_sn", "app_name", "gpu_request", "creation_time", "deletion_time"}
#: Why an instance is skipped (``JobImport.skipped``).
NO_CREATION_TIME = "no creation time (created before the trace started)"


def sniff_alibaba2025(path: Path) -> bool:
    return set(header(path)) >= _ALIBABA2025


def read_alibaba2025(
    path: Path, epoch: datetime | None = None
) -> tuple[list[JobRecord], dict[str, int]]:
    """Instances of ``cluster-trace-gpu-v2025`` and the rows skipped, by reason."""
    base = epoch if epoch is not None else _EPOCH
    if base.tzinfo is None:
        base = base.replace(tzinfo=UTC)
    _require(path, header(path), _ALIBABA2025 | {"scheduled_time"})
    jobs = []
    skipped: Counter[str] = Counter()
    for line, row in rows(path):

        def at(col: str, line: int = line) -> str:
            return f"{path}:{line}: column '{col}'"

        submit = _offset(row["creation_time"], at("creation_time"), base)
        if submit is None:
            skipped[NO_CREATION_TIME] += 1
            continue
        start = _offset(row["scheduled_time"], at("scheduled_time"), base)
        end = _offset(row["deletion_time"], at("deletion_time"), base)
        if start is not None and start < submit:
            raise InputError(f"{at('scheduled_time')}: scheduled before it was created")
        if end is not None and end < (start or submit):
            raise InputError(f"{at('deletion_time')}: deleted before it was scheduled")
        state = JobState.UNKNOWN if end else JobState.RUNNING if start else JobState.PENDING
        jobs.append(
            JobRecord(
                job_id=row["instance_sn"].strip(),
                team=row["app_name"].strip(),
                submit_time=submit,
                start_time=start,
                end_time=end,
                gpus=_int(row["gpu_request"], at("gpu_request")),
                nodes=1,
                state=state,
                source=f"alibaba2025:{path.name}",
            )
        )
    return jobs, dict(skipped)


def parse_alibaba2025(path: Path) -> list[JobRecord]:
    return read_alibaba2025(path)[0]


# -- Helios / Acme ----------------------------------------------------------------------------
_HELIOS = {"job_id", "vc", "gpu_num", "state", "submit_time"}


def sniff_helios(path: Path) -> bool:
    return set(header(path)) >= _HELIOS


#: The Helios columns of each field (``FIELDS``).
HELIOS_MAPPING = {
    "job_id": "job_id",
    "user": "user",
    "team": "vc",
    "submit": "submit_time",
    "start": "start_time",
    "end": "end_time",
    "duration": "duration",
    "gpus": "gpu_num",
    "nodes": "node_num",
    "state": "state",
}


def parse_helios(path: Path) -> list[JobRecord]:
    _require(path, header(path), _HELIOS)
    return _parse_mapped(path, HELIOS_MAPPING, f"helios:{path.name}")


# -- Philly -----------------------------------------------------------------------------------
def sniff_philly(path: Path) -> bool:
    text = head(path).lstrip()
    return text.startswith("[") and '"attempts"' in text and '"jobid"' in text


def parse_philly(path: Path) -> list[JobRecord]:
    try:
        doc = orjson.loads(path.read_bytes())
    except orjson.JSONDecodeError as exc:
        raise InputError(f"{path}:{exc.lineno}:{exc.colno}: not valid JSON: {exc.msg}") from exc
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror}") from exc
    if not isinstance(doc, list):
        raise InputError(f"{path}: expected a JSON list of jobs")
    jobs = []
    for k, job in enumerate(doc):
        where = f"{path}: job {k}"
        if not isinstance(job, dict) or "jobid" not in job:
            raise InputError(f"{where}: expected an object with 'jobid'")
        where = f"{path}: job {k} ({job['jobid']})"
        submit = parse_time(str(job.get("submitted_time") or ""), f"{where}: 'submitted_time'")
        if submit is None:
            raise InputError(f"{where}: 'submitted_time': missing")
        attempts = job.get("attempts") or []
        if not isinstance(attempts, list) or not all(isinstance(a, dict) for a in attempts):
            raise InputError(f"{where}: 'attempts': expected a list of objects")
        start = end = None
        gpus = nodes = 0
        placement: dict[str, int] = {}
        if attempts:
            first, last = attempts[0], attempts[-1]
            start = parse_time(str(first.get("start_time") or ""), f"{where}: 'start_time'")
            end = parse_time(str(last.get("end_time") or ""), f"{where}: 'end_time'")
            detail = last.get("detail") or []
            if not isinstance(detail, list) or not all(isinstance(d, dict) for d in detail):
                raise InputError(f"{where}: 'detail': expected a list of {{ip, gpus}} objects")
            nodes = len(detail)
            for d in detail:
                listed = d.get("gpus") or []
                host = d.get("ip") or ""
                if not isinstance(listed, list) or not isinstance(host, str):
                    raise InputError(f"{where}: 'detail': expected 'ip' a string and 'gpus' a list")
                used = len(listed)
                gpus += used
                if host and used:
                    placement[host] = placement.get(host, 0) + used
        jobs.append(
            JobRecord(
                job_id=str(job["jobid"]),
                user=str(job.get("user") or ""),
                team=str(job.get("vc") or ""),
                submit_time=submit,
                start_time=start,
                end_time=end,
                gpus=gpus,
                nodes=nodes or None,
                state=state_of(str(job.get("status") or "")),
                source=f"philly:{path.name}",
                placement=placement,
            )
        )
    return jobs


# -- generic CSV ------------------------------------------------------------------------------
_ALIASES = {
    "job_id": ("job_id", "jobid", "id", "name"),
    "user": ("user", "username"),
    "team": ("team", "vc", "account", "group", "queue"),
    "submit": ("submit", "submit_time", "submitted", "created", "creation_time"),
    "start": ("start", "start_time", "started"),
    "end": ("end", "end_time", "finished", "ended"),
    "duration": ("duration", "duration_s", "elapsed_s", "runtime"),
    "gpus": ("gpus", "gpu_num", "num_gpus", "num_gpu", "ngpus"),
    "nodes": ("nodes", "node_num", "num_nodes", "nnodes"),
    "state": ("state", "status"),
    "hosts": ("hosts", "node_list", "nodelist", "hostnames", "placement"),
}


def _resolve_mapping(path: Path, header: list[str], mapping: Mapping[str, str]) -> dict[str, str]:
    bad = sorted(set(mapping) - set(FIELDS))
    if bad:
        raise InputError(f"--map: unknown field(s) {', '.join(bad)} (fields: {', '.join(FIELDS)})")
    resolved = dict(mapping)
    lower = {h.lower(): h for h in header}
    for field, names in _ALIASES.items():
        if field not in resolved:
            found = next((lower[n] for n in names if n in lower), None)
            if found is not None:
                resolved[field] = found
    absent = sorted(c for c in resolved.values() if c not in header)
    if absent:
        raise InputError(f"{path}:1: no column(s) {', '.join(absent)}")
    for needed in ("submit", "gpus"):
        if needed not in resolved:
            raise InputError(f"{path}:1: no column for '{needed}' (give --map COLUMN={needed})")
    return resolved


def _parse_mapped(path: Path, mapping: Mapping[str, str], source: str) -> list[JobRecord]:
    jobs = []
    for line, row in rows(path):

        def get(field: str, row: dict[str, str] = row) -> str:
            col = mapping.get(field)
            return row[col] if col is not None and col in row else ""

        def at(field: str, line: int = line) -> str:
            return f"{path}:{line}: column '{mapping.get(field, field)}'"

        submit = parse_time(get("submit"), at("submit"))
        if submit is None:
            raise InputError(f"{at('submit')}: missing submit time")
        start = parse_time(get("start"), at("start"))
        end = parse_time(get("end"), at("end"))
        duration = get("duration").strip()
        if end is None and start is not None and duration:
            try:
                end = start + timedelta(seconds=float(duration))
            except ValueError:
                raise InputError(f"{at('duration')}: not a number: {duration!r}") from None
        if start is not None and end is not None and end < start:
            raise InputError(f"{at('end')}: ends before it starts")
        nodes = get("nodes").strip()
        gpus = _int(get("gpus"), at("gpus"))
        jobs.append(
            JobRecord(
                job_id=get("job_id").strip() or str(line),
                user=get("user").strip(),
                team=get("team").strip(),
                submit_time=submit,
                start_time=start,
                end_time=end,
                gpus=gpus,
                nodes=_int(nodes, at("nodes")) if nodes else None,
                state=state_of(get("state")),
                source=source,
                placement=_placement(get("hosts"), gpus, at("hosts")),
            )
        )
    return jobs


def _placement(text: str, gpus: int, where: str) -> dict[str, int]:
    """``a:4;b:4`` (GPUs per host) or a Slurm host list the job's GPUs are spread over."""
    text = text.strip()
    if not text:
        return {}
    items = [i for i in re.split(r"[;\s]+", text) if i]
    if not all(":" in i for i in items):
        if any(":" in i for i in items):
            raise InputError(f"{where}: mixes host:gpus items with bare hosts: {text!r}")
        return spread(gpus, [h for i in items for h in expand_hostlist(i, where)])
    placement: dict[str, int] = {}
    for item in items:
        host, _, count = item.rpartition(":")
        if not host:
            raise InputError(f"{where}: {item!r} has no host name before ':'")
        placement[host] = placement.get(host, 0) + _int(count, where)
    if sum(placement.values()) != gpus:
        raise InputError(
            f"{where}: hosts hold {sum(placement.values())} GPUs but the job has {gpus}"
        )
    return {h: n for h, n in placement.items() if n > 0}


def parse_csv(path: Path, mapping: Mapping[str, str] | None = None) -> list[JobRecord]:
    resolved = _resolve_mapping(path, header(path), mapping or {})
    return _parse_mapped(path, resolved, f"csv:{path.name}")


def sniff_csv(path: Path) -> bool:
    try:
        _resolve_mapping(path, header(path), {})
    except InputError:
        return False
    return True


#: Sniffed in this order: the generic CSV last, as it accepts what the others also would.
IMPORTERS: dict[str, Importer[JobRecord]] = {
    i.name: i
    for i in (
        Importer("slurm", sniff_slurm, parse_slurm),
        Importer("philly", sniff_philly, parse_philly),
        Importer("alibaba", sniff_alibaba, parse_alibaba),
        Importer("alibaba2025", sniff_alibaba2025, parse_alibaba2025),
        Importer("helios", sniff_helios, parse_helios),
        Importer("csv", sniff_csv, parse_csv),
    )
}


def detect_format(path: Path) -> str:
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    for importer in IMPORTERS.values():
        if importer.sniff(path):
            return importer.name
    raise InputError(
        f"{path}: cannot tell its format; pass --format ({', '.join(IMPORTERS)}) "
        "or --map COLUMN=FIELD for a CSV"
    )


@dataclass(frozen=True)
class JobImport:
    fmt: str
    jobs: list[JobRecord]
    #: Rows left out, by reason (e.g. Alibaba 2025 instances with no creation time).
    skipped: dict[str, int] = dataclasses.field(default_factory=dict)


def import_jobs(
    path: Path,
    fmt: str = "auto",
    mapping: Mapping[str, str] | None = None,
    epoch: datetime | None = None,
) -> tuple[str, list[JobRecord]]:
    """Parse ``path`` as ``fmt`` (sniffed when ``auto``); return the format and the jobs.
    ``epoch`` dates logs whose times are offsets from an undated start (Alibaba's)."""
    done = read_jobs(path, fmt, mapping, epoch)
    return done.fmt, done.jobs


def read_jobs(
    path: Path,
    fmt: str = "auto",
    mapping: Mapping[str, str] | None = None,
    epoch: datetime | None = None,
) -> JobImport:
    """As :func:`import_jobs`, with the rows skipped and why."""
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    if mapping and fmt == "auto":
        fmt = "csv"
    if fmt == "auto":
        fmt = detect_format(path)
    if fmt not in IMPORTERS:
        raise InputError(f"unknown format {fmt!r}: choose auto or one of {', '.join(IMPORTERS)}")
    if fmt == "csv":
        return JobImport(fmt, parse_csv(path, mapping))
    if mapping:
        raise InputError("--map applies to --format csv only")
    if fmt == "alibaba":
        return JobImport(fmt, parse_alibaba(path, epoch))
    if fmt == "alibaba2025":
        jobs, skipped = read_alibaba2025(path, epoch)
        return JobImport(fmt, jobs, skipped)
    if epoch is not None:
        raise InputError(
            f"--epoch applies to logs with relative times (alibaba, alibaba2025), not {fmt}"
        )
    return JobImport(fmt, IMPORTERS[fmt].parse(path))
