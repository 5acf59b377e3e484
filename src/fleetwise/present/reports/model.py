"""The one Report model every face renders: HTML, PDF, PPTX and the dashboard's JSON.

A report is sections of figures, tables, items and charts. Every figure carries the raw
value it shows and where it comes from (``finding 12, trace analysis 3``), so a reader can
trace it and a test can check it against the ``--json`` output of the command that made it.
A section whose data is absent says so and how to add it (``missing``) instead of failing.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from fleetwise import units

ReportKind = Literal["briefing", "performance", "improvement"]


class Figure(BaseModel):
    """One number as shown, its raw value, and its source record or command."""

    key: str
    label: str
    value: float | None
    text: str
    source: str


class Table(BaseModel):
    title: str
    columns: list[str]
    rows: list[list[str]]
    source: str = ""


class Item(BaseModel):
    """A headline with its supporting lines (one slide each in the deck)."""

    title: str
    lines: list[str] = Field(default_factory=list)
    source: str = ""


class ChartSpec(BaseModel):
    """A Vega-Lite spec built by ``present.charts``; renderers turn it into SVG or PNG."""

    name: str
    title: str
    spec: dict[str, Any]


class Section(BaseModel):
    key: str
    title: str
    #: Non-empty when the section's data is absent: what is missing and the command to add it.
    missing: str = ""
    paragraphs: list[str] = Field(default_factory=list)
    figures: list[Figure] = Field(default_factory=list)
    items: list[Item] = Field(default_factory=list)
    tables: list[Table] = Field(default_factory=list)
    charts: list[ChartSpec] = Field(default_factory=list)


class Report(BaseModel):
    schema_version: int = 1
    kind: ReportKind
    title: str
    subtitle: str = ""
    generated_at: datetime
    store: str
    #: The one-page executive summary (briefing) or the report's opening (others).
    summary: list[Section] = Field(default_factory=list)
    sections: list[Section] = Field(default_factory=list)

    def figure(self, key: str) -> Figure:
        """The figure with ``key`` anywhere in the report (KeyError when absent)."""
        for section in [*self.summary, *self.sections]:
            for f in section.figures:
                if f.key == key:
                    return f
        raise KeyError(key)


def usd(value: float | None) -> str:
    """Dollars as every report writes them (``units.usd``)."""
    return units.usd(value)


def absent(key: str, title: str, why: str) -> Section:
    """A section whose data is not in the store: it names the command that adds it."""
    return Section(key=key, title=title, missing=why)
