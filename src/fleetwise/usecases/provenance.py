"""Where every input of a report comes from, said plainly: measured here, imported from a
real log (or a sample of one), or an example, synthetic or hand-written file.

A folder of inputs may carry a ``provenance.yaml`` (``examples/data/provenance.yaml``)
naming, for each file or sub-folder, its ``origin`` (``real``, ``sample``, ``synthetic``,
``hand-written``) and ``what`` it is; fleetwise finds it by walking up from the inputs whose
path it knows and matches the others (process exports, stored by file name) by name.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass
from pathlib import Path

import yaml

from fleetwise.plan.fleet import FleetProfile
from fleetwise.store import Store
from fleetwise.usecases.ledger import current_analyses

FILE = "provenance.yaml"
#: How each origin reads in a sentence.
ORIGINS = {
    "real": "a real log",
    "sample": "a sample of a real log",
    "synthetic": "synthetic data",
    "hand-written": "a hand-written file",
}


@dataclass(frozen=True)
class Input:
    #: What it is: "benchmark runs", "profiler trace", "job log", "node list", "delivery
    #: export", "fleet profile", "investment scenario".
    what: str
    where: str
    #: "measured here", "measured on HOST", "imported: a real log", "example: synthetic data"...
    origin: str
    note: str = ""


def _path_of(source: str) -> Path | None:
    """The file path inside a source label (``alibaba:/x/pods.csv``, ``examples/data/t``)."""
    for part in (source, source.split(":", 1)[-1]):
        p = Path(part)
        if p.exists():
            return p
    return None


@dataclass
class _Registry:
    #: Path (resolved) -> (origin, what); and file name -> same, for name-only sources.
    by_path: dict[Path, tuple[str, str]]
    by_name: dict[str, tuple[str, str]]

    def add_file(self, path: Path) -> None:
        try:
            doc = yaml.safe_load(path.read_text()) or {}
        except (OSError, yaml.YAMLError):
            return  # a provenance note that cannot be read is no evidence either way
        for rel, entry in (doc.get("files") or {}).items():
            if not isinstance(entry, dict):
                continue
            what = (str(entry.get("origin", "")), str(entry.get("what", "")))
            target = (path.parent / rel).resolve()
            self.by_path[target] = what
            self.by_name[target.name] = what
            if target.is_dir():
                for child in target.iterdir():
                    self.by_name.setdefault(child.name, what)

    def find(self, source: str, path: Path | None) -> tuple[str, str] | None:
        if path is not None:
            p = path.resolve()
            for candidate in (p, *p.parents):
                if candidate in self.by_path:
                    return self.by_path[candidate]
        name = source.split(":", 1)[-1].rsplit("/", 1)[-1]
        return self.by_name.get(name)


def _origin(found: tuple[str, str] | None, imported: str = "imported") -> tuple[str, str]:
    if found is None:
        return f"{imported}: origin not recorded", ""
    origin, what = found
    label = ORIGINS.get(origin, origin or "unknown")
    kind = "imported" if origin in ("real", "sample") else "example"
    return f"{kind}: {label}", what


def inputs(store: Store, profile: FleetProfile, scenario: Path | None = None) -> list[Input]:
    """Every input behind the store's figures, with where it comes from."""
    sources = store.input_sources()
    current = current_analyses(store.analyses())
    traces = sorted({a.source for a in current if a.kind == "trace"})
    paths = [p for p in (_path_of(s) for s in [*traces, *sources["jobs"], *sources["nodes"]]) if p]
    reg = _Registry({}, {})
    seen: set[Path] = set()
    for p in paths:
        for folder in p.resolve().parents:
            note = folder / FILE
            if note not in seen and note.is_file():
                seen.add(note)
                reg.add_file(note)
    out: list[Input] = []
    here = socket.gethostname()
    for host, mine in sorted(store.run_hosts().items()):
        represents = profile.workload_for(f"host:{host}")
        out.append(
            Input(
                "benchmark runs",
                f"{len(mine):,} run(s) on {host}",
                "measured here" if host == here else f"measured on {host}",
                (
                    f"represents {represents.represents.gpus:,} fleet GPUs"
                    if represents
                    else "not a fleet GPU node: its findings are its own, with no fleet dollars"
                ),
            )
        )
    for kind, items in (
        ("profiler trace", traces),
        ("job log", sources["jobs"]),
        ("node list", sources["nodes"]),
        ("delivery or on-call export", sources["process"]),
    ):
        for src in items:
            origin, what = _origin(reg.find(src, _path_of(src)))
            out.append(Input(kind, src, origin, what))
    out.append(
        Input(
            "fleet profile",
            str(profile.path or "built-in default"),
            "assumptions",
            profile.name,
        )
    )
    if scenario is not None:
        out.append(Input("investment scenario", str(scenario), "assumptions", ""))
    return out
