"""The steering deck renders: at most 15 slides, every shape on its slide, and LibreOffice
turns it into one PDF page per slide with each slide's title on its page.

The briefing comes from the store that ``test_report_cli`` builds with the CLI (real
trace, pod log and Four Keys inputs, a backlog, KPIs and a decision). LibreOffice is a
Debian package that ``make sysdeps`` installs; without it the render test is skipped here
and fails in CI.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from pptx import Presentation
from pypdf import PdfReader
from test_report_cli import Seeded, seeded  # noqa: F401  (the module fixture)

from fleetwise.present.charts import png_from_spec
from fleetwise.present.reports.briefing import build_briefing
from fleetwise.present.reports.model import ChartSpec, Figure, Item, Report, Section, Table
from fleetwise.present.reports.pptx import MAX_SLIDES, STORY, png_size, render_pptx
from fleetwise.store import Store

#: Seconds LibreOffice may take to convert the deck (it takes a few; a first start more).
CONVERT_TIMEOUT = 180


def soffice() -> str:
    found = shutil.which("soffice") or shutil.which("libreoffice")
    if found:
        return found
    why = "LibreOffice's soffice is not installed (make sysdeps installs libreoffice-impress-nogui)"
    if os.environ.get("CI"):
        pytest.fail(why)
    pytest.skip(why)


def words(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def check_geometry(path: Path) -> list[str]:
    """Every shape inside the slide with a non-zero size, at most MAX_SLIDES slides; the
    slide titles, in order."""
    deck = Presentation(str(path))
    width, height = deck.slide_width, deck.slide_height
    assert width is not None and height is not None
    assert 0 < len(deck.slides) <= MAX_SLIDES
    titles = []
    for n, slide in enumerate(deck.slides, 1):
        for shape in slide.shapes:
            where = f"slide {n}, {shape.name}"
            assert shape.width > 0 and shape.height > 0, where
            assert shape.left >= 0 and shape.top >= 0, where
            assert shape.left + shape.width <= width, where
            assert shape.top + shape.height <= height, where
        assert slide.shapes.title is not None, f"slide {n} has no title"
        titles.append(slide.shapes.title.text)
    return titles


def convert(deck: Path, folder: Path) -> Path:
    """The deck as PDF, by LibreOffice with a profile of its own (no shared state)."""
    profile = (folder / "lo-profile").as_uri()
    subprocess.run(
        [
            soffice(),
            f"-env:UserInstallation={profile}",
            "--headless",
            "--convert-to",
            "pdf",
            "--outdir",
            str(folder),
            str(deck),
        ],
        check=True,
        capture_output=True,
        timeout=CONVERT_TIMEOUT,
    )
    return folder / f"{deck.stem}.pdf"


def text_origins(page: Any) -> list[tuple[float, float, str]]:
    """Where each piece of text on a PDF page starts, in page coordinates."""
    out: list[tuple[float, float, str]] = []

    def visit(text: str, cm: list[float], tm: list[float], *_: Any) -> None:
        if text.strip():
            x = tm[4] * cm[0] + tm[5] * cm[2] + cm[4]
            y = tm[4] * cm[1] + tm[5] * cm[3] + cm[5]
            out.append((x, y, text))

    page.extract_text(visitor_text=visit)
    return out


def test_the_deck_tells_the_story_within_its_slides(seeded: Seeded) -> None:  # noqa: F811
    path = render_pptx(seeded.report, seeded.folder / "deck.pptx")
    titles = check_geometry(path)
    assert titles[0] == seeded.report.title
    every = [*seeded.report.summary, *seeded.report.sections]
    by_key = {s.key: s for s in reversed(every)}
    # A slide for each step of the story the briefing has sections for, in story order.
    story = [
        title or by_key[next(k for k in keys if k in by_key)].title
        for title, keys in STORY
        if any(k in by_key for k in keys)
    ]
    assert len(story) >= 6
    assert [t for t in titles if t in story] == story
    deck = Presentation(str(path))
    cells = [
        cell.text
        for slide in deck.slides
        for shape in slide.shapes
        if shape.has_table
        for row in shape.table.rows
        for cell in row.cells
    ]
    assert any("<script>" in c for c in cells)  # markup in names stays literal text
    ranked = next((s for s in every if s.key == "top_actions" and s.tables), None)
    if ranked is not None:
        npv = ranked.tables[0].columns.index("NPV")
        assert ranked.tables[0].rows[0][npv] in cells  # the top action's NPV, in a native table
    pictures = [sh for slide in deck.slides for sh in slide.shapes if sh.shape_type == 13]
    assert len(pictures) >= 4


def test_libreoffice_renders_one_page_per_slide_with_its_title(seeded: Seeded) -> None:  # noqa: F811
    path = render_pptx(seeded.report, seeded.folder / "render.pptx")
    titles = check_geometry(path)
    pdf = convert(path, seeded.folder)
    pages = PdfReader(pdf).pages
    assert len(pages) == len(titles)
    for n, (page, title) in enumerate(zip(pages, titles, strict=True), 1):
        assert words(title) in words(page.extract_text()), f"slide {n}: {title!r}"
        box = page.mediabox
        for x, y, text in text_origins(page):
            inside = box.left <= x <= box.right and box.bottom <= y <= box.top
            assert inside, f"slide {n}: {text!r} starts off the page at ({x:.0f}, {y:.0f})"


def test_an_empty_store_gives_a_deck_that_says_what_is_missing(tmp_path: Path) -> None:
    with Store(f"sqlite:///{tmp_path / 'empty.db'}") as store:
        report = build_briefing(store, today=date(2026, 11, 30), with_forecast=False)
    titles = check_geometry(render_pptx(report, tmp_path / "empty.pptx"))
    assert titles[0] == report.title and len(titles) >= 3


def _crowded() -> Report:
    """More sections than slides, long text, a wide and long table, a chart 40:1."""
    long = "a sentence long enough to wrap several times on any box " * 12
    table = Table(
        title="wide",
        columns=[f"column {c} with a long header" for c in range(11)],
        rows=[[f"cell {r}.{c} " * (1 + c % 3) for c in range(11)] for r in range(60)],
    )
    banner = ChartSpec(
        name="banner",
        title="banner",
        spec={
            "$schema": "https://vega.github.io/schema/vega-lite/v5.json",
            "data": {"values": [{"x": i, "y": i % 7} for i in range(50)]},
            "mark": "bar",
            "encoding": {"x": {"field": "x", "type": "ordinal"}, "y": {"field": "y"}},
            "width": 2000,
            "height": 50,
        },
    )
    figure = Figure(key="k", label="a figure " * 8, value=1.0, text="1", source="test")
    sections = [
        Section(
            key=f"area{n}",
            title=f"Area {n}: a section title long enough to need fitting on its slide " * 2,
            paragraphs=[long] * 3,
            figures=[figure] * 6,
            items=[Item(title=long, lines=[long, long])] * 4,
            tables=[table],
            charts=[banner] if n % 2 else [],
        )
        for n in range(24)
    ]
    summary = [
        Section(key="headline", title="The answer", paragraphs=[long], charts=[banner]),
        Section(key="ledger", title="Ledger", missing="no jobs imported: fleetwise cluster import"),
        Section(key="risks", title="Risks", items=[Item(title=long, lines=[long])] * 9),
    ]
    return Report(
        kind="briefing",
        title="A title " * 20,
        subtitle="as of 2026-11-30",
        generated_at=datetime(2026, 11, 30, tzinfo=UTC),
        store="sqlite:///x.db",
        summary=summary,
        sections=sections,
    )


def test_a_crowded_report_still_fits_fifteen_slides(tmp_path: Path) -> None:
    report = _crowded()
    px, py = png_size(png_from_spec(report.summary[0].charts[0].spec))
    path = render_pptx(report, tmp_path / "crowded.pptx")
    titles = check_geometry(path)
    assert len(titles) == MAX_SLIDES
    assert any(t.startswith("Appendix") for t in titles)
    deck = Presentation(str(path))
    for slide in deck.slides:
        for shape in slide.shapes:
            if shape.shape_type == 13:  # a picture keeps the chart's aspect ratio
                assert shape.width / shape.height == pytest.approx(px / py, rel=0.01)
