"""A report as a steering deck (python-pptx): native tables, charts as PNG images.

Slides: title, summary, one per top finding and top action, then capacity, investment,
KPIs, decisions and the objections; every other section of the report gets a slide too,
so the deck and the HTML carry the same numbers. python-pptx writes text as XML text
nodes, so names holding markup stay text.
"""

from __future__ import annotations

import io
from pathlib import Path

from pptx import Presentation
from pptx.presentation import Presentation as Deck
from pptx.slide import Slide
from pptx.util import Emu, Length, Pt

from fleetwise.present import charts
from fleetwise.present.reports.html import write
from fleetwise.present.reports.model import Item, Report, Section, Table

#: 16:9 slide and margin, in inches (converted to EMU where python-pptx needs lengths).
WIDE, TALL = 13.333, 7.5
MARGIN = 0.5
BODY = WIDE - 2 * MARGIN
#: Rows of a table on one slide; longer tables continue on the next slide.
ROWS_PER_SLIDE = 12
#: Sections that get one slide per item (a headline and its evidence).
ONE_SLIDE_PER_ITEM = ("top_findings", "top_actions", "objections")
TITLE_ONLY = 5  # the default template's "Title Only" layout


def _in(inches: float) -> Length:
    return Emu(int(inches * 914400))


def _slide(deck: Deck, title: str) -> Slide:
    slide: Slide = deck.slides.add_slide(deck.slide_layouts[TITLE_ONLY])
    if slide.shapes.title is not None:
        heading = slide.shapes.title
        # The default template's placeholders are laid out for 4:3; span the wide slide.
        heading.left, heading.top, heading.width, heading.height = (
            _in(MARGIN),
            _in(0.3),
            _in(BODY),
            _in(1.0),
        )
        heading.text = title
        for p in heading.text_frame.paragraphs:
            for run in p.runs:
                run.font.size = Pt(28)
    return slide


def _bullets(slide: Slide, lines: list[str], top: float, height: float, size: int = 16) -> None:
    box = slide.shapes.add_textbox(_in(MARGIN), _in(top), _in(BODY), _in(height))
    frame = box.text_frame
    frame.word_wrap = True
    for n, line in enumerate(lines):
        p = frame.paragraphs[0] if n == 0 else frame.add_paragraph()
        p.text = line
        p.font.size = Pt(size)


def _table(slide: Slide, table: Table, rows: list[list[str]], top: float, width: float) -> None:
    height = _in(0.3 * (len(rows) + 1))
    shape = slide.shapes.add_table(
        len(rows) + 1, len(table.columns), _in(MARGIN), _in(top), _in(width), height
    )
    grid = shape.table
    for c, name in enumerate(table.columns):
        grid.cell(0, c).text = name
    for r, row in enumerate(rows, 1):
        for c, value in enumerate(row):
            grid.cell(r, c).text = value
    for cell in (grid.cell(r, c) for r in range(len(rows) + 1) for c in range(len(table.columns))):
        for p in cell.text_frame.paragraphs:
            p.font.size = Pt(11)


def _item_slide(deck: Deck, item: Item) -> None:
    slide = _slide(deck, item.title)
    _bullets(slide, item.lines, 1.6, 4.8, 18)
    if item.source:
        _bullets(slide, [f"source: {item.source}"], TALL - 0.8, 0.5, 11)


def _section_slides(deck: Deck, section: Section) -> None:
    if section.missing:
        _bullets(_slide(deck, section.title), [section.missing], 1.8, 1, 18)
        return
    if section.key in ONE_SLIDE_PER_ITEM:
        for item in section.items:
            _item_slide(deck, item)
    lines = [f"{f.text}  {f.label}" for f in section.figures] + section.paragraphs
    if section.key not in ONE_SLIDE_PER_ITEM:
        lines += [i.title for i in section.items]
    images = [charts.png_from_spec(c.spec) for c in section.charts]
    tables = [
        (t, t.rows[i : i + ROWS_PER_SLIDE])
        for t in section.tables
        for i in range(0, max(len(t.rows), 1), ROWS_PER_SLIDE)
    ]
    if not (lines or images or tables):
        return
    slide = _slide(deck, section.title)
    top = 1.5
    if lines:
        _bullets(slide, lines[:8], top, 2.2, 14)
        top = 1.5 + 0.35 * min(len(lines), 8)
    half = BODY / 2
    if images:
        picture = io.BytesIO(images[0])
        left = MARGIN + half if tables else MARGIN
        slide.shapes.add_picture(
            picture,
            _in(left),
            _in(top),
            width=_in(half) if tables else None,
            height=None if tables else _in(TALL - top - 0.3),
        )
    for n, (table, rows) in enumerate(tables):
        target = slide if n == 0 else _slide(deck, f"{section.title} ({table.title})")
        _table(
            target,
            table,
            rows,
            top if n == 0 else 1.5,
            half if images and n == 0 else BODY,
        )
    for extra in images[1:]:
        more = _slide(deck, section.title)
        more.shapes.add_picture(io.BytesIO(extra), _in(MARGIN), _in(1.5), height=_in(TALL - 1.8))


def to_pptx(report: Report) -> bytes:
    deck = Presentation()
    deck.slide_width, deck.slide_height = _in(WIDE), _in(TALL)
    first = deck.slides.add_slide(deck.slide_layouts[0])
    if first.shapes.title is not None:
        first.shapes.title.text = report.title
    if len(first.placeholders) > 1:
        first.placeholders[1].text = f"{report.subtitle}\n{report.store}"
    for shape in first.placeholders:
        shape.left, shape.width = _in(MARGIN), _in(BODY)
    summary = _slide(deck, "Summary")
    lines = [f"{s.title}: {s.missing}" for s in report.summary if s.missing]
    for s in report.summary:
        lines += [f"{f.text}  {f.label}" for f in s.figures[:3]]
    _bullets(summary, lines[:14], 1.4, 5.8, 13)
    for section in report.summary:
        if section.key in ("decisions_needed", "risks"):
            _section_slides(deck, section)
    for section in report.sections:
        _section_slides(deck, section)
    out = io.BytesIO()
    deck.save(out)
    return out.getvalue()


def render_pptx(report: Report, path: Path) -> Path:
    """Write the report as a PowerPoint deck to ``path``; returns it."""
    return write(path, to_pptx(report))
