"""What a page function returns: the data (the JSON twin) and the charts drawn from it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import altair as alt
from pydantic import BaseModel

from fleetwise.present.charts import spec

M = TypeVar("M", bound=BaseModel)


@dataclass
class Page(Generic[M]):
    """``data`` is what ``/path.json`` returns; ``charts`` are Vega-Lite specs by name,
    built only for the HTML page (the JSON twin carries the numbers, not the drawing)."""

    data: M
    charts: dict[str, dict[str, Any]] = field(default_factory=dict)


def add_chart(
    page: Page[Any],
    name: str,
    build: Callable[[], alt.TopLevelMixin],
    wanted: bool,
    keep: Callable[[Callable[[], dict[str, Any]]], dict[str, Any]] | None = None,
) -> None:
    """Build chart ``name`` when the HTML page is wanted. Building and validating a spec
    takes tens of milliseconds, so ``keep`` (a cache of the data it is drawn from) can
    hold it while that data does not change."""
    if not wanted:
        return
    page.charts[name] = keep(lambda: spec(build())) if keep else spec(build())
