"""A report as a steering deck (python-pptx): at most 15 slides, every shape on the slide.

The briefing tells one story, a slide per step: title, the headline, where the GPU-hours
go (the ledger waterfall), top findings, plan and ask, investment, capacity, KPIs, the
process map (its lead-time ladder, current and future), risks and objections, decisions,
assumptions; every other section goes to the appendix, merged onto shared slides when one
slide each would pass :data:`MAX_SLIDES`. A step whose sections
the report lacks is left out, so a report of another kind (or an older briefing) still
gives a deck: its summary, then its sections.

Nothing is placed by the template: every shape gets its position and size here, inside
the 13.333 x 7.5 in slide. Text is fitted to its box by an estimate of its width
(:mod:`textfit`): the font shrinks, lines are split here, and what still does not fit is
cut with an ellipsis (the HTML and PDF briefing carry everything). Charts keep their
aspect ratio inside their box. python-pptx writes text as XML text nodes, so names holding
markup stay text.
"""

from __future__ import annotations

import io
import struct
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pptx import Presentation
from pptx.enum.text import MSO_ANCHOR, MSO_AUTO_SIZE
from pptx.presentation import Presentation as Deck
from pptx.slide import Slide
from pptx.text.text import TextFrame, _Paragraph
from pptx.util import Emu, Length, Pt

from fleetwise.present import charts
from fleetwise.present.reports import textfit
from fleetwise.present.reports.html import write
from fleetwise.present.reports.model import ChartSpec, Report, Section, Table
from fleetwise.present.reports.textfit import Para

#: 16:9 slide and margin, in inches (converted to EMU where python-pptx needs lengths).
WIDE, TALL = 13.333, 7.5
MARGIN = 0.5
BODY = WIDE - 2 * MARGIN
#: The title band, the body below it and the footnote line (top, height; inches).
TITLE_TOP, TITLE_TALL = 0.3, 0.9
BODY_TOP, BODY_TALL = 1.35, 5.55
NOTE_TOP, NOTE_TALL = 7.0, 0.3
GAP = 0.25
#: A steering committee reads fifteen slides, not thirty: the appendix is merged to fit.
MAX_SLIDES = 15
TITLE_SLIDE, TITLE_ONLY = 0, 5  # the default template's layouts
#: The story after the headline: (slide title, section keys). ``None`` takes the title
#: of the first section present; the summary's conclusion comes before the detail.
STORY: tuple[tuple[str | None, tuple[str, ...]], ...] = (
    ("Where the GPU-hours go", ("ledger", "ledger_detail")),
    ("Top findings", ("losses", "top_findings")),
    ("Plan and ask", ("actions", "ask", "top_actions")),
    (None, ("investment", "investment_ask")),
    (None, ("capacity", "outlook")),
    (None, ("kpis", "kpi_status")),
    (None, ("value_stream",)),
    ("Risks and objections", ("risks", "objections")),
    (None, ("decisions_needed",)),
    (None, ("assumptions",)),
)
#: Summary sections whose first sentence (or figures) the headline slide repeats.
DIGEST = ("ledger", "losses", "actions", "ask", "outlook", "kpi_status")
WATERFALL = "waterfall"
#: Font sizes (points): body text, the headline sentence, tables, the footnote.
TEXT_PT, TEXT_MIN_PT = 20, 10
TABLE_PT, TABLE_MIN_PT = 12, 8
NOTE_PT = 9
#: Cell margins of tables (inches); a cell shows at most this many lines.
CELL_X, CELL_Y = 0.05, 0.03
CELL_LINES = 2
Box = tuple[float, float, float, float]  # left, top, width, height (inches)


def _in(inches: float) -> Length:
    return Emu(round(inches * 914400))


@dataclass
class Content:
    """What one slide (or one column of a merged slide) shows."""

    paras: list[Para] = field(default_factory=list)
    charts: list[ChartSpec] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)

    def add(self, section: Section, *, heading: bool = False, with_charts: bool = True) -> None:
        if heading:
            self.paras.append(Para(section.title, bold=True, bullet=False))
        if section.missing:
            self.paras.append(Para(f"{section.title}: {section.missing}"))
            return
        self.paras += [Para(p) for p in section.paragraphs]
        self.paras += [Para(f"{f.label}: {f.text}") for f in section.figures]
        # A section with a table lists its items there; as text they would repeat it.
        for item in section.items if not section.tables else []:
            self.paras.append(Para(item.title, bold=True))
            if item.lines:
                self.paras.append(Para(" · ".join(item.lines), level=1, scale=0.85, bullet=False))
            self.sources.append(item.source)
        self.sources += [f.source for f in section.figures] + [t.source for t in section.tables]
        if with_charts:
            self.charts += [c for c in section.charts if c.name != WATERFALL]
        self.tables += section.tables

    def empty(self) -> bool:
        return not (self.paras or self.charts or self.tables)


def _digest(section: Section) -> Para:
    """One line of the headline slide for a summary section."""
    if section.missing:
        return Para(f"{section.title}: {section.missing}")
    if section.paragraphs:
        return Para(section.paragraphs[0])
    if section.figures:
        figures = "; ".join(f"{f.label} {f.text}" for f in section.figures[:2])
        return Para(f"{section.title}: {figures}")
    return Para(f"{section.title}: " + "; ".join(i.title for i in section.items[:3]))


def story(report: Report) -> tuple[list[tuple[str, Content]], list[Section]]:
    """The report's story slides (title, content) and the sections left for the appendix."""
    every = [*report.summary, *report.sections]
    by_key: dict[str, Section] = {}
    for s in every:
        by_key.setdefault(s.key, s)
    waterfalls = [c for s in every for c in s.charts if c.name == WATERFALL]
    has_ledger_slide = any(k in by_key for k in STORY[0][1])
    slides: list[tuple[str, Content]] = []
    used: set[int] = set()  # ids of the sections shown
    head = Content()
    if "headline" in by_key:
        headline = by_key["headline"]
        head.paras += [Para(p, scale=1.3, bullet=False) for p in headline.paragraphs]
        head.add(headline.model_copy(update={"paragraphs": []}))
        if not has_ledger_slide:
            head.charts = [*waterfalls, *head.charts]
        used.add(id(headline))
    head.paras += [_digest(by_key[k]) for k in DIGEST if k in by_key]
    if not head.empty():
        slides.append((by_key["headline"].title if "headline" in by_key else "Summary", head))
    for title, keys in STORY:
        present = [by_key[k] for k in keys if k in by_key]
        if not present:
            continue
        content = Content(charts=list(waterfalls) if keys is STORY[0][1] else [])
        for s in present:
            content.add(s)
            used.add(id(s))
        slides.append((title or present[0].title, content))
    return slides, [s for s in every if id(s) not in used]


def _groups(sections: Sequence[Section], slots: int) -> list[list[Section]]:
    """``sections`` in order, split into at most ``slots`` runs of nearly equal length."""
    n = min(max(slots, 1), len(sections))
    size, extra = divmod(len(sections), n) if n else (0, 0)
    out: list[list[Section]] = []
    start = 0
    for i in range(n):
        end = start + size + (1 if i < extra else 0)
        out.append(list(sections[start:end]))
        start = end
    return out


def _size(p: _Paragraph, pt: float, bold: bool = False) -> None:
    """``pt`` points on every run, and on the paragraph's end mark: an empty paragraph is
    as tall as its end mark's font (the template's 18 pt unless set)."""
    for run in p.runs:
        run.font.size = Pt(pt)
        run.font.bold = bold
    p._p.get_or_add_endParaRPr().set("sz", str(round(pt * 100)))


def _set_text(frame: TextFrame, fitted: textfit.Fitted, anchor: MSO_ANCHOR) -> None:
    frame.word_wrap = True
    frame.auto_size = MSO_AUTO_SIZE.NONE
    frame.vertical_anchor = anchor
    frame.margin_left = frame.margin_right = _in(textfit.INSET_X)
    frame.margin_top = frame.margin_bottom = _in(textfit.INSET_Y)
    for n, line in enumerate(fitted.paras):
        p = frame.paragraphs[0] if n == 0 else frame.add_paragraph()  # type: ignore[no-untyped-call]
        text = "\v".join(line.lines)
        p.text = textfit.BULLET + text if line.para.bullet else text
        p.space_before = Pt(line.space_before * 72)
        # A hanging indent: wrapped lines start under the text, not under the bullet.
        p_pr = p._p.get_or_add_pPr()
        p_pr.set("marL", str(int(_in(line.indent))))
        p_pr.set("indent", str(-int(_in(line.hang))))
        _size(p, line.pt, line.para.bold)


def _text(slide: Slide, box: Box, paras: Sequence[Para], max_pt: float, min_pt: float) -> float:
    """A text box of ``paras`` fitted to ``box``, as tall as its text; returns its height."""
    x, y, w, h = box
    fitted = textfit.fit(paras, w, h, max_pt, min_pt)
    if not fitted.paras:
        return 0.0
    shape = slide.shapes.add_textbox(_in(x), _in(y), _in(w), _in(fitted.height))
    _set_text(shape.text_frame, fitted, MSO_ANCHOR.TOP)
    return fitted.height


def png_size(png: bytes) -> tuple[int, int]:
    """Width and height in pixels, from a PNG's header (IHDR, the first chunk)."""
    width, height = struct.unpack(">II", png[16:24])
    return int(width), int(height)


def _picture(slide: Slide, box: Box, png: bytes) -> None:
    """The chart as large as fits ``box`` at its own aspect ratio, centred across it."""
    x, y, w, h = box
    px, py = png_size(png)
    scale = min(w / px, h / py)
    width, height = px * scale, py * scale
    slide.shapes.add_picture(
        io.BytesIO(png), _in(x + (w - width) / 2), _in(y), _in(width), _in(height)
    )


@dataclass(frozen=True)
class _Grid:
    pt: float
    widths: list[float]
    cells: list[list[list[str]]]  # rows (header first) of cells of lines
    heights: list[float]


def _column_widths(table: Table, width: float, pt: float) -> list[float]:
    """Widths that show each column whole where the table allows, else a fair share of
    what is left to the columns that need more."""
    cols = len(table.columns)
    natural = [
        max(
            [textfit.text_width(table.columns[c], pt, bold=True)]
            + [textfit.text_width(row[c], pt) for row in table.rows if c < len(row)]
        )
        + 2 * CELL_X
        + 0.02
        for c in range(cols)
    ]
    if sum(natural) <= width:
        return [n * width / sum(natural) for n in natural]
    fair = width / cols
    widths = [min(n, fair) for n in natural]
    spare = width - sum(widths)
    need = [n - w for n, w in zip(natural, widths, strict=True)]
    total_need = sum(need)
    return [w + spare * d / total_need for w, d in zip(widths, need, strict=True)]


def _grid(table: Table, width: float, pt: float) -> _Grid:
    widths = _column_widths(table, width, pt)
    rows = [table.columns, *table.rows]
    cells = [
        [
            textfit.clamp(
                row[c] if c < len(row) else "", widths[c] - 2 * CELL_X, pt, CELL_LINES, r == 0
            )
            for c in range(len(widths))
        ]
        for r, row in enumerate(rows)
    ]
    heights = [
        max(len(lines) for lines in row) * textfit.line_height(pt) + 2 * CELL_Y + 0.02
        for row in cells
    ]
    return _Grid(pt, widths, cells, heights)


def _table(slide: Slide, box: Box, table: Table) -> None:
    """A native table in ``box``: the largest font at which every row fits, else the
    smallest and as many rows as fit, with a line saying how many are shown."""
    x, y, w, h = box
    note = textfit.line_height(NOTE_PT) + 2 * textfit.INSET_Y
    pt = TABLE_PT
    while True:
        grid = _grid(table, w, pt)
        if sum(grid.heights) <= h or pt - 1 < TABLE_MIN_PT:
            break
        pt -= 1
    shown = len(grid.heights)
    while shown > 1 and sum(grid.heights[:shown]) > h - (note if shown < len(grid.heights) else 0):
        shown -= 1
    if shown < 2:
        return
    shape = slide.shapes.add_table(
        shown, len(grid.widths), _in(x), _in(y), _in(w), _in(sum(grid.heights[:shown]))
    )
    cells = shape.table
    for c, cw in enumerate(grid.widths):
        cells.columns[c].width = _in(cw)
    for r in range(shown):
        cells.rows[r].height = _in(grid.heights[r])
        for c in range(len(grid.widths)):
            cell = cells.cell(r, c)
            cell.margin_left = cell.margin_right = _in(CELL_X)
            cell.margin_top = cell.margin_bottom = _in(CELL_Y)
            frame = cell.text_frame
            frame.word_wrap = True
            frame.paragraphs[0].text = "\v".join(grid.cells[r][c])
            _size(frame.paragraphs[0], grid.pt)
    # Column widths are rounded to EMU: the frame is their sum, never wider than the box.
    shape.width = Emu(sum(int(cells.columns[c].width) for c in range(len(grid.widths))))
    shape.height = Emu(sum(int(row.height) for row in cells.rows))
    if shown < len(grid.heights):
        rows_in = len(table.rows)
        line = f"{table.title}: first {shown - 1} of {rows_in} rows; all of them in the HTML report"
        _text(
            slide,
            (x, y + sum(grid.heights[:shown]), w, note),
            [Para(line, bullet=False)],
            NOTE_PT,
            NOTE_PT,
        )


#: Share of a box's width given to the chart beside a table, or to text beside a chart.
CHART_SHARE, TEXT_SHARE = 0.45, 0.4
#: Most of a box's height that a chart or table below text may claim.
BELOW_SHARE = 0.7


def _below(w: float, h: float, png: bytes | None, table: Table | None) -> float:
    """The height a chart and a table under the text want at their natural size."""
    wide = w >= 8
    chart_w = CHART_SHARE * w - GAP / 2 if png is not None and table is not None and wide else w
    table_w = w - CHART_SHARE * w - GAP / 2 if png is not None and wide else w
    chart = 0.0
    if png is not None:
        px, py = png_size(png)
        chart = chart_w * py / px
    rows = sum(_grid(table, table_w, TABLE_PT).heights) if table is not None else 0.0
    need = max(chart, rows) if wide else chart + rows + (GAP if chart and rows else 0.0)
    return min(need, BELOW_SHARE * h)


def _fill(slide: Slide, box: Box, content: Content) -> None:
    """Lay ``content`` out in ``box``: text beside a lone chart on a wide box, else text on
    top with what room the chart or table leaves; a chart and a table side by side on a
    wide box, else one over the other."""
    x, y, w, h = box
    png = charts.png_from_spec(content.charts[0].spec) if content.charts else None
    table = content.tables[0] if content.tables else None
    wide = w >= 8
    if png is None and table is None:
        _text(slide, box, content.paras, TEXT_PT, TEXT_MIN_PT)
        return
    if content.paras:
        if png is not None and table is None and wide:
            side = TEXT_SHARE * w
            _text(slide, (x, y, side - GAP, h), content.paras, TEXT_PT - 2, TEXT_MIN_PT)
            x, w = x + side, w - side
        else:
            band = max(h - _below(w, h, png, table) - GAP, (1 - BELOW_SHARE) * h)
            used = _text(slide, (x, y, w, band), content.paras, TEXT_PT - 2, TEXT_MIN_PT)
            y, h = y + used + GAP, h - used - GAP
    if png is not None and table is not None:
        if wide:
            half = CHART_SHARE * w
            _picture(slide, (x, y, half - GAP / 2, h), png)
            _table(slide, (x + half + GAP / 2, y, w - half - GAP / 2, h), table)
        else:
            _picture(slide, (x, y, w, 0.45 * h - GAP / 2), png)
            _table(slide, (x, y + 0.45 * h + GAP / 2, w, 0.55 * h - GAP / 2), table)
    elif png is not None:
        _picture(slide, (x, y, w, h), png)
    elif table is not None:
        _table(slide, (x, y, w, h), table)


def _titled(deck: Deck, title: str, sources: Sequence[str] = ()) -> Slide:
    """A slide with its title fitted to the title band and its sources on the last line."""
    slide: Slide = deck.slides.add_slide(deck.slide_layouts[TITLE_ONLY])
    heading = slide.shapes.title
    assert heading is not None  # the "Title Only" layout has one
    heading.left, heading.top = _in(MARGIN), _in(TITLE_TOP)
    heading.width, heading.height = _in(BODY), _in(TITLE_TALL)
    fitted = textfit.fit([Para(title, bullet=False)], BODY, TITLE_TALL, 28, 16)
    _set_text(heading.text_frame, fitted, MSO_ANCHOR.MIDDLE)
    named = list(dict.fromkeys(s for s in sources if s))
    if named:
        line = textfit.ellipsize("Sources: " + "; ".join(named), BODY - 0.2, NOTE_PT)
        _text(
            slide, (MARGIN, NOTE_TOP, BODY, NOTE_TALL), [Para(line, bullet=False)], NOTE_PT, NOTE_PT
        )
    return slide


def _title_slide(deck: Deck, report: Report) -> None:
    slide = deck.slides.add_slide(deck.slide_layouts[TITLE_SLIDE])
    boxes = {0: (2.2, 1.5, report.title, 40, 24), 1: (3.9, 1.6, "", 20, 12)}
    lines = [line for line in (report.subtitle, report.store) if line]
    for shape in slide.placeholders:
        if shape.placeholder_format.idx not in boxes:
            continue
        top, tall, text, big, small = boxes[shape.placeholder_format.idx]
        shape.left, shape.top, shape.width, shape.height = (
            _in(MARGIN),
            _in(top),
            _in(BODY),
            _in(tall),
        )
        paras = [Para(text, bullet=False)] if text else [Para(t, bullet=False) for t in lines]
        fitted = textfit.fit(paras or [Para(" ", bullet=False)], BODY, tall, big, small)
        _set_text(shape.text_frame, fitted, MSO_ANCHOR.MIDDLE if text else MSO_ANCHOR.TOP)


def _columns(sections: Sequence[Section]) -> list[tuple[Box, Content]]:
    """Up to three sections side by side per row (charts left out: too small to read)."""
    cols = min(len(sections), 3)
    rows = -(-len(sections) // cols)
    width = (BODY - GAP * (cols - 1)) / cols
    height = (BODY_TALL - GAP * (rows - 1)) / rows
    out = []
    for n, s in enumerate(sections):
        r, c = divmod(n, cols)
        content = Content()
        content.add(s, heading=True, with_charts=False)
        box = (MARGIN + c * (width + GAP), BODY_TOP + r * (height + GAP), width, height)
        out.append((box, content))
    return out


def to_pptx(report: Report) -> bytes:
    deck = Presentation()
    deck.slide_width, deck.slide_height = _in(WIDE), _in(TALL)
    _title_slide(deck, report)
    slides, appendix = story(report)
    slides = slides[: MAX_SLIDES - 1]
    body = (MARGIN, BODY_TOP, BODY, BODY_TALL)
    for title, content in slides:
        _fill(_titled(deck, title, content.sources), body, content)
    groups = _groups(appendix, MAX_SLIDES - 1 - len(slides)) if appendix else []
    merged = [g for g in groups if len(g) > 1]
    for group in groups:
        if len(group) == 1:
            content = Content()
            content.add(group[0])
            _fill(_titled(deck, group[0].title, content.sources), body, content)
            continue
        number = f" ({merged.index(group) + 1} of {len(merged)})" if len(merged) > 1 else ""
        columns = _columns(group)
        slide = _titled(deck, f"Appendix{number}", [s for _, c in columns for s in c.sources])
        for box, content in columns:
            _fill(slide, box, content)
    out = io.BytesIO()
    deck.save(out)
    return out.getvalue()


def render_pptx(report: Report, path: Path) -> Path:
    """Write the report as a PowerPoint deck to ``path``; returns it."""
    return write(path, to_pptx(report))
