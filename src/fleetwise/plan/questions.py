"""The survey question map (YAML): each question's scale and construct, checked before any
export is read; an unknown key or a bad value names the file, the line and the key."""

from __future__ import annotations

from pathlib import Path

from fleetwise.collect.importers.survey import QuestionMap, normalise
from fleetwise.plan import yamlfile


def load_map(path: Path) -> QuestionMap:
    doc = yamlfile.read(path, "question map")
    qmap = doc.validate(QuestionMap)
    seen: dict[str, int] = {}
    for i, item in enumerate(qmap.items):
        for name in (f"key {item.key}", f"question {normalise(item.question)}"):
            if name in seen:
                raise doc.error(["items", i], f"{name.split(' ')[0]} repeats item {seen[name]}")
            seen[name] = i
    return qmap
