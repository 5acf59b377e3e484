"""Plan files (actions, KPIs, experiments, retrospectives): YAML checked by pydantic.

Every problem becomes one ``InputError`` naming the file, the line and the key, before
anything is written: a typo must never half-import a backlog.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from fleetwise.errors import InputError
from fleetwise.textfile import first_problem, read_yaml

M = TypeVar("M", bound=BaseModel)

#: Version of the plan file formats this fleetwise reads.
PLAN_FILE_VERSION = 1


def line_of(node: yaml.Node | None, loc: Sequence[int | str]) -> int | None:
    """1-based line of the YAML node at ``loc`` (a pydantic error location)."""
    line = node.start_mark.line + 1 if node is not None else None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            match = [(k, v) for k, v in node.value if k.value == str(part)]
            if not match:
                return line
            line, node = match[0][0].start_mark.line + 1, match[0][1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            if part >= len(node.value):
                return line
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            return line
    return line


class PlanFile:
    """A parsed YAML file that can point at its own lines in error messages."""

    def __init__(self, path: Path, raw: Any, root: yaml.Node | None) -> None:
        self.path, self.raw, self.root = path, raw, root

    def error(self, loc: Sequence[int | str], msg: str) -> InputError:
        line = line_of(self.root, loc)
        where = f"{self.path}:{line}" if line else str(self.path)
        key = ".".join(str(p) for p in loc)
        return InputError(f"{where}: {key}: {msg}" if key else f"{where}: {msg}")

    def validate(self, model: type[M], raw: Any = None, loc: Sequence[int | str] = ()) -> M:
        try:
            return model.model_validate(self.raw if raw is None else raw)
        except ValidationError as exc:
            where, msg = first_problem(exc)
            raise self.error([*loc, *where], msg) from exc


def read(path: Path, what: str) -> PlanFile:
    """Read ``path`` as a YAML mapping; ``what`` names the kind of file in messages."""
    root, raw = read_yaml(path)
    if not isinstance(raw, dict):
        raise InputError(f"{path}: {what} file must be a YAML mapping")
    version = raw.get("schema_version", PLAN_FILE_VERSION)
    if not isinstance(version, int) or version > PLAN_FILE_VERSION:
        raise InputError(
            f"{path}: schema_version {version!r} is not one this fleetwise reads "
            f"({PLAN_FILE_VERSION}); upgrade fleetwise"
        )
    return PlanFile(path, raw, root)
