"""The backlog: actions from YAML files or the command line, checked before anything is stored.

An actions file::

    schema_version: 1
    actions:
      - key: workers              # optional, a name other entries of this file can depend on
        title: Set DataLoader num_workers=2
        savings_usd_per_year: 40000
        effort_days: 1
        confidence: 0.8
        effects: [{kpi: loader-throughput, change: 0.5}]
        depends_on: [3, workers]  # stored action ids, or keys of this file

Every KPI an effect names must exist, every dependency must resolve and the file's own
dependencies must not form a cycle; the first problem is one ``InputError`` with the line.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from fleetwise.errors import InputError
from fleetwise.models import Action
from fleetwise.plan import yamlfile
from fleetwise.plan.yamlfile import PlanFile

#: Keys a file may not set: the store assigns them.
_STORE_KEYS = ("id", "created_at", "source", "finding_ids")


class _Links(BaseModel):
    model_config = ConfigDict(extra="ignore")

    key: str | None = Field(default=None, min_length=1)
    depends_on: list[int | str] = Field(default_factory=list)


class _ActionsFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    schema_version: int = 1
    actions: list[dict[str, Any]] = Field(min_length=1)


@dataclass
class NewActions:
    """Actions ready to store; ``local_deps[i]`` are indexes (into ``actions``) action i
    waits for, resolved to ids when they are stored together."""

    actions: list[Action]
    local_deps: list[list[int]] = field(default_factory=list)


def check_effects(action: Action, known_kpis: Collection[str]) -> str | None:
    """The first effect naming a KPI that does not exist, as a message."""
    for effect in action.effects:
        if effect.kpi not in known_kpis:
            known = ", ".join(sorted(known_kpis)) or "none defined yet (fleetwise kpi add)"
            return f"unknown KPI {effect.kpi!r} (known: {known})"
    return None


def parse_entries(
    doc: PlanFile,
    entries: Sequence[Any],
    loc: Sequence[int | str],
    *,
    source: str,
    known_kpis: Collection[str],
    known_ids: Collection[int],
) -> NewActions:
    """Validate action entries (a list inside ``doc`` at ``loc``) into ``NewActions``."""
    out = NewActions(actions=[])
    keys: dict[str, int] = {}
    links: list[_Links] = []
    for i, raw in enumerate(entries):
        where = [*loc, i]
        if not isinstance(raw, dict):
            raise doc.error(where, "an action must be a mapping with at least a title")
        for forbidden in _STORE_KEYS:
            if forbidden in raw:
                raise doc.error([*where, forbidden], "set by fleetwise; remove it")
        link = doc.validate(_Links, raw, where)
        body = {k: v for k, v in raw.items() if k not in ("key", "depends_on")}
        action = doc.validate(Action, {**body, "source": source}, where)
        problem = check_effects(action, known_kpis)
        if problem:
            bad = next(j for j, e in enumerate(action.effects) if e.kpi not in known_kpis)
            raise doc.error([*where, "effects", bad, "kpi"], problem)
        if link.key is not None:
            if link.key in keys:
                raise doc.error([*where, "key"], f"duplicate key {link.key!r}")
            keys[link.key] = i
        links.append(link)
        out.actions.append(action)
    for i, link in enumerate(links):
        local: list[int] = []
        for j, dep in enumerate(link.depends_on):
            if isinstance(dep, int):
                if dep not in known_ids:
                    raise doc.error([*loc, i, "depends_on", j], f"no stored action {dep}")
                out.actions[i].depends_on.append(dep)
            elif dep in keys:
                local.append(keys[dep])
            else:
                raise doc.error([*loc, i, "depends_on", j], f"no action with key {dep!r} here")
        out.local_deps.append(local)
    cycle = find_cycle({i: deps for i, deps in enumerate(out.local_deps)})
    if cycle:
        raise doc.error([*loc, cycle[0], "depends_on"], "dependencies form a cycle")
    return out


def load_actions(
    path: Path, *, known_kpis: Collection[str], known_ids: Collection[int]
) -> NewActions:
    """Read and check an actions file (nothing is stored here)."""
    doc = yamlfile.read(path, "actions")
    parsed = doc.validate(_ActionsFile)
    return parse_entries(
        doc,
        parsed.actions,
        ["actions"],
        source=f"yaml:{path.name}",
        known_kpis=known_kpis,
        known_ids=known_ids,
    )


def find_cycle(graph: dict[int, list[int]]) -> list[int]:
    """One cycle of ``graph`` (node -> nodes it waits for) as a node list; [] when none."""
    state: dict[int, int] = {}  # 1 = on the current path, 2 = done
    path: list[int] = []

    def visit(node: int) -> list[int]:
        state[node] = 1
        path.append(node)
        for nxt in graph.get(node, []):
            if state.get(nxt) == 1:
                return path[path.index(nxt) :]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        state[node] = 2
        path.pop()
        return []

    for start in sorted(graph):
        if start not in state:
            found = visit(start)
            if found:
                return found
    return []


def parse_effect(text: str, known_kpis: Collection[str]) -> tuple[str, float]:
    """``NAME=+0.2`` or ``NAME=+20%`` (from ``plan add --effect``) as (kpi, relative change)."""
    name, sep, raw = text.partition("=")
    if not sep or not name:
        raise InputError(f"--effect {text!r}: expected KPI=CHANGE, e.g. loader-throughput=+0.2")
    try:
        change = float(raw[:-1]) / 100 if raw.endswith("%") else float(raw)
    except ValueError as exc:
        raise InputError(f"--effect {text!r}: {raw!r} is not a number or percentage") from exc
    if name not in known_kpis:
        known = ", ".join(sorted(known_kpis)) or "none defined yet (fleetwise kpi add)"
        raise InputError(f"--effect {text!r}: unknown KPI {name!r} (known: {known})")
    return name, change
