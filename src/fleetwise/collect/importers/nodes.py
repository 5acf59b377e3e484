"""Import a cluster's nodes as ``NodeRecord`` s: an inventory, or a node-state snapshot.

Formats (each with ``sniff(path) -> bool`` for ``--format auto``):

- ``scontrol``: ``scontrol show node`` output, one ``Key=Value`` block per node (``-o``
  prints one line per node; both work). GPUs from ``CfgTRES`` (``gres/gpu=8``) or
  ``Gres`` (``gpu:a100:8``); allocated GPUs from ``AllocTRES`` or ``GresUsed``; the model
  is the GRES type. A node whose ``State`` has ``DOWN``, ``DRAIN``, ``FAIL``, ``MAINT``,
  ``RESERVED``, ``POWERED_DOWN``/``POWER_DOWN``, ``NOT_RESPONDING`` or a trailing ``*``
  takes no new work. This is a snapshot: its nodes have ``gpus_used``.
- ``alibaba``: the node list of Alibaba's ``cluster-trace-gpu-v2023``
  (``sn,cpu_milli,memory_mib,gpu,model``).
- ``pai``: the machine spec of Alibaba PAI's ``cluster-trace-gpu-v2020``
  (``pai_machine_spec.csv``: ``machine, gpu_type, cap_cpu, cap_mem, cap_gpu``); the trace
  ships it without a header (the names are in ``pai_machine_spec.header``), so a file
  with that header or five such columns and none is read. The pool (model and partition)
  is ``gpu_type``; ``CPU`` machines have no GPUs.
- ``philly``: Philly's ``cluster_machine_list`` (``machineId, number of GPUs, single GPU
  mem``); the model is the GPU memory (``12GB``), which tells Philly's two GPU kinds apart.
- ``csv``: a CSV with a node column (``node``, ``name``, ``host``, ``hostname``) and a GPU
  column (``gpus``, ``gpu``, ``num_gpus``); optional ``gpus_used`` (``alloc_gpus``),
  ``model``, ``partition``, ``state``.

Every problem raises ``InputError`` naming the file, line and column (or key).
"""

from __future__ import annotations

import re
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from fleetwise.collect.importers.tabular import Importer, head, header, rows
from fleetwise.errors import InputError
from fleetwise.models import NodeRecord

_KEY = re.compile(r"(?<!\S)([A-Z][A-Za-z0-9_]*)=")
_TRES_GPU = re.compile(r"gres/gpu(?::([^=,]+))?=([0-9]+)")
_GRES_GPU = re.compile(r"gpu(?::([^:(,]+))?:([0-9]+)")
#: More GPUs than this on one node is a typo or a corrupt file, not a server.
MAX_NODE_GPUS = 1024
_UNAVAILABLE = ("DOWN", "DRAIN", "FAIL", "MAINT", "RESERVED", "POWER", "NOT_RESPONDING", "FUTURE")
_DOWN_WORDS = re.compile("|".join(_UNAVAILABLE))


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not UTF-8 text ({exc.reason})") from exc
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror}") from exc


def _count(text: str, where: str) -> int:
    s = text.strip()
    if not re.fullmatch(r"[0-9]+", s):
        raise InputError(f"{where}: expected a whole number >= 0, got {s[:40]!r}")
    if len(s) > 5 or int(s) > MAX_NODE_GPUS:
        raise InputError(f"{where}: {s[:40]} GPUs on one node (at most {MAX_NODE_GPUS})")
    return int(s)


# -- scontrol show node -----------------------------------------------------------------------
def sniff_scontrol(path: Path) -> bool:
    return head(path).lstrip().startswith("NodeName=")


def _pairs(block: str) -> dict[str, str]:
    keys = list(_KEY.finditer(block))
    return {
        m.group(1): block[m.end() : keys[k + 1].start() if k + 1 < len(keys) else None].strip()
        for k, m in enumerate(keys)
    }


def _gpu_count(tres: str, gres: str, where: str) -> tuple[int | None, str]:
    """GPUs and model from a TRES list (``gres/gpu=8`` or typed) or a GRES string."""
    typed = _TRES_GPU.findall(tres)
    if typed:
        untyped = [_count(n, where) for kind, n in typed if not kind]
        models = sorted({kind for kind, _ in typed if kind})
        total = untyped[0] if untyped else sum(_count(n, where) for kind, n in typed if kind)
        return total, ",".join(models)
    found = _GRES_GPU.findall(gres)
    if found:
        total = sum(_count(n, where) for _, n in found)
        return total, ",".join(sorted({k for k, _ in found if k}))
    return None, ""


def parse_scontrol(path: Path) -> list[NodeRecord]:
    text = _read(path)
    starts = [m.start() for m in re.finditer(r"(?<!\S)NodeName=", text)]
    if not starts:
        raise InputError(f"{path}: no 'NodeName=' found: not `scontrol show node` output")
    nodes = []
    for k, start in enumerate(starts):
        block = text[start : starts[k + 1] if k + 1 < len(starts) else None]
        line = text.count("\n", 0, start) + 1
        pairs = _pairs(block)
        name = pairs.get("NodeName", "").split()[0] if pairs.get("NodeName") else ""
        where = f"{path}:{line}: node {name or '?'}"
        if not name:
            raise InputError(f"{path}:{line}: key 'NodeName': empty")
        gpus, model = _gpu_count(
            pairs.get("CfgTRES", ""), pairs.get("Gres", ""), f"{where}: key 'CfgTRES'/'Gres'"
        )
        if gpus is None:
            gpus = 0  # a node without GPUs (a CPU or login node)
        used, used_model = _gpu_count(
            pairs.get("AllocTRES", ""), pairs.get("GresUsed", ""), f"{where}: key 'AllocTRES'"
        )
        if used is not None and used > gpus:
            raise InputError(f"{where}: key 'AllocTRES': {used} GPUs allocated of {gpus}")
        state = pairs.get("State", "").split()[0] if pairs.get("State") else ""
        if not state:
            raise InputError(f"{where}: key 'State': missing")
        partition = pairs.get("Partitions", "").split(",")[0].strip()
        nodes.append(
            NodeRecord(
                name=name,
                gpus=gpus,
                model=model or used_model,
                partition=partition if partition != "(null)" else "",
                gpus_used=used or 0,
                available=not (state.endswith("*") or _DOWN_WORDS.search(state.upper())),
                state=state,
                source=f"scontrol:{path.name}",
            )
        )
    return nodes


# -- CSV inventories --------------------------------------------------------------------------
_ALIASES = {
    "name": ("node", "name", "host", "hostname", "node_name", "sn", "machineid"),
    "gpus": ("gpus", "gpu", "num_gpus", "num_gpu", "number of gpus"),
    "gpus_used": ("gpus_used", "alloc_gpus", "allocated_gpus", "used_gpus"),
    "model": ("model", "gpu_model", "gpu_type", "type"),
    "partition": ("partition", "pool", "vc"),
    "state": ("state", "status"),
}


def _columns(path: Path) -> dict[str, str]:
    lower = {h.lower(): h for h in header(path)}
    found = {
        field: next((lower[n] for n in names if n in lower), "")
        for field, names in _ALIASES.items()
    }
    return {k: v for k, v in found.items() if v}


def sniff_alibaba(path: Path) -> bool:
    return {"sn", "gpu", "model"} <= set(header(path))


def sniff_philly(path: Path) -> bool:
    names = {h.lower() for h in header(path)}
    return "machineid" in names and "number of gpus" in names


def sniff_csv(path: Path) -> bool:
    return {"name", "gpus"} <= set(_columns(path))


def _parse_table(
    path: Path, source: str, model_column: str = "", model_suffix: str = ""
) -> list[NodeRecord]:
    columns = _columns(path)
    if model_column:
        columns["model"] = model_column
    for needed in ("name", "gpus"):
        if needed not in columns:
            raise InputError(
                f"{path}:1: no column for the node's {needed} "
                f"(one of: {', '.join(_ALIASES[needed])})"
            )
    nodes = []
    for line, raw in rows(path):
        row = {k: v.strip() for k, v in raw.items()}

        def at(field: str, line: int = line) -> str:
            return f"{path}:{line}: column '{columns[field]}'"

        name = row[columns["name"]]
        if not name:
            raise InputError(f"{at('name')}: empty node name")
        gpus = _count(row[columns["gpus"]], at("gpus"))
        used_text = row.get(columns.get("gpus_used", ""), "")
        used = _count(used_text, at("gpus_used")) if used_text else None
        if used is not None and used > gpus:
            raise InputError(f"{at('gpus_used')}: {used} GPUs used of {gpus}")
        state = row.get(columns.get("state", ""), "")
        model = row.get(columns.get("model", ""), "")
        nodes.append(
            NodeRecord(
                name=name,
                gpus=gpus,
                model=model + model_suffix if model.lower() not in {"", "nan"} else "",
                partition=row.get(columns.get("partition", ""), ""),
                gpus_used=used,
                available=not (state.endswith("*") or _DOWN_WORDS.search(state.upper())),
                state=state,
                source=source,
            )
        )
    if not nodes:
        raise InputError(f"{path}: no nodes (only a header)")
    return nodes


PAI_COLUMNS = ("machine", "gpu_type", "cap_cpu", "cap_mem", "cap_gpu")
_PAI_ROW = re.compile(r"[0-9a-f]{8,}\s*,\s*[A-Za-z][\w-]*\s*,\s*\d+\s*,\s*\d+\s*,\s*\d+\s*")


def sniff_pai(path: Path) -> bool:
    if tuple(header(path)) == PAI_COLUMNS:
        return True
    first = head(path).lstrip("\ufeff").splitlines()[:1]
    return bool(first) and _PAI_ROW.fullmatch(first[0]) is not None


def parse_pai(path: Path) -> list[NodeRecord]:
    text = _read(path).lstrip("\ufeff")
    nodes = []
    for line_no, line in enumerate(text.splitlines(), start=1):
        cells = [c.strip() for c in line.split(",")]
        if not line.strip() or (line_no == 1 and tuple(cells) == PAI_COLUMNS):
            continue
        if len(cells) != len(PAI_COLUMNS):
            raise InputError(
                f"{path}:{line_no}: expected {len(PAI_COLUMNS)} columns "
                f"({', '.join(PAI_COLUMNS)}), got {len(cells)}"
            )
        name, gpu_type, _, _, cap_gpu = cells
        if not name:
            raise InputError(f"{path}:{line_no}: column 'machine': empty machine name")
        gpus = _count(cap_gpu, f"{path}:{line_no}: column 'cap_gpu'")
        pool = "" if gpu_type.upper() in {"CPU", ""} else gpu_type
        nodes.append(
            NodeRecord(name=name, gpus=gpus, model=pool, partition=pool, source=f"pai:{path.name}")
        )
    if not nodes:
        raise InputError(f"{path}: no machines")
    return nodes


def parse_alibaba(path: Path) -> list[NodeRecord]:
    return _parse_table(path, f"alibaba:{path.name}")


def parse_philly(path: Path) -> list[NodeRecord]:
    memory = {h.lower(): h for h in header(path)}.get("single gpu mem", "")
    return _parse_table(path, f"philly:{path.name}", memory, " GPU" if memory else "")


def parse_csv(path: Path) -> list[NodeRecord]:
    return _parse_table(path, f"csv:{path.name}")


#: Sniffed in this order: the generic CSV last, as it accepts what the others also would.
IMPORTERS: dict[str, Importer[NodeRecord]] = {
    i.name: i
    for i in (
        Importer("scontrol", sniff_scontrol, parse_scontrol),
        Importer("philly", sniff_philly, parse_philly),
        Importer("pai", sniff_pai, parse_pai),
        Importer("alibaba", sniff_alibaba, parse_alibaba),
        Importer("csv", sniff_csv, parse_csv),
    )
}


def import_nodes(
    path: Path, fmt: str = "auto", captured_at: datetime | None = None
) -> tuple[str, list[NodeRecord]]:
    """Parse ``path`` as ``fmt`` (sniffed when ``auto``); return the format and the nodes.
    ``captured_at`` dates a snapshot (default: the file's modification time); it is kept
    only for snapshots, i.e. nodes with allocated GPUs."""
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    if fmt == "auto":
        fmt = next((i.name for i in IMPORTERS.values() if i.sniff(path)), "")
        if not fmt:
            raise InputError(
                f"{path}: cannot tell its format; pass --format ({', '.join(IMPORTERS)})"
            )
    if fmt not in IMPORTERS:
        raise InputError(f"unknown format {fmt!r}: choose auto or one of {', '.join(IMPORTERS)}")
    nodes = IMPORTERS[fmt].parse(path)
    if any(n.gpus_used is not None for n in nodes):
        when = captured_at or datetime.fromtimestamp(path.stat().st_mtime, UTC)
        nodes = [n.model_copy(update={"captured_at": when}) for n in nodes]
    twice = sorted(name for name, k in Counter(n.name for n in nodes).items() if k > 1)
    if twice:
        raise InputError(f"{path}: node(s) listed twice: {', '.join(twice[:3])}")
    return fmt, nodes
