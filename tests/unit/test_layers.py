"""Data flows one way (DESIGN.md): collect -> store -> analyze -> plan -> usecases -> present.

A module may import from its own layer, the layers to its left, and the shared modules
(models, errors, units, stats, hardware, config); never from a layer to its right.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).parents[2] / "src" / "fleetwise"
LAYERS = ["collect", "store", "analyze", "plan", "usecases", "present"]


def layer_of(module: str) -> int | None:
    parts = module.split(".")
    if parts[0] != "fleetwise" or len(parts) < 2 or parts[1] not in LAYERS:
        return None
    return LAYERS.index(parts[1])


def imports_of(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


MODULES = sorted(p for p in SRC.rglob("*.py") if p.relative_to(SRC).parts[0] in LAYERS)


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(SRC)))
def test_no_import_from_a_layer_to_the_right(path: Path) -> None:
    own = LAYERS.index(path.relative_to(SRC).parts[0])
    backwards = sorted(m for m in imports_of(path) if (layer_of(m) or -1) > own)
    assert backwards == [], f"{path.relative_to(SRC)} imports {backwards}"


def test_shared_modules_import_no_layer() -> None:
    for path in SRC.glob("*.py"):
        if path.name in {"__init__.py", "__main__.py"}:
            continue  # the public API and the entry point gather every layer on purpose
        assert [m for m in imports_of(path) if layer_of(m) is not None] == [], path.name
