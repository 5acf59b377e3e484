"""Text measured without font files: wrap, shrink and ellipsize text to fit a box.

python-pptx's ``fit_text`` reads a TrueType file, and what a deck is rendered with is not
known when it is written (PowerPoint has Calibri; LibreOffice without Carlito substitutes
DejaVu Sans). Widths here are DejaVu Sans advance widths, the widest of those fonts
(Calibri is about 15% narrower), so text that fits by this estimate fits on either. Lines
are split here, deterministically, and written as explicit line breaks: the renderer never
re-flows a paragraph into more lines than were counted.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

#: DejaVu Sans advance widths in em (its hmtx table over units per em, 2048), by class.
_REGULAR: tuple[tuple[float, str], ...] = (
    (0.28, "'ijl"),
    (0.30, "IJ"),
    (0.32, " ,.·"),
    (0.34, "/:;\\|"),
    (0.36, "f-"),
    (0.40, "()[]t!"),
    (0.42, "r"),
    (0.46, '"'),
    (0.50, "*_`–"),
    (0.53, "sz?"),
    (0.56, "cL"),
    (0.59, "Fkvxy•"),
    (0.62, "PTYaoe"),
    (0.64, "ESbdghnpqu$0123456789{}€£"),
    (0.69, "KAVBRXZ"),
    (0.70, "C"),
    (0.75, "UHN"),
    (0.79, "DGOQ&"),
    (0.84, "w#+<=>^~×±≥≤→"),
    (0.87, "M"),
    (0.95, "%"),
    (1.00, "mW@—…"),
)
#: DejaVu Sans Bold: up to a quarter wider than regular (narrow letters most).
_BOLD: tuple[tuple[float, str], ...] = (
    (0.31, "'"),
    (0.34, "ijl"),
    (0.35, " "),
    (0.37, "/IJ\\|"),
    (0.38, ",.·"),
    (0.40, ":;"),
    (0.42, "-"),
    (0.44, "f"),
    (0.46, "!()[]"),
    (0.48, "t"),
    (0.49, "r"),
    (0.50, "_`–"),
    (0.52, '"*'),
    (0.58, "?z"),
    (0.59, "c"),
    (0.60, "s"),
    (0.64, "Lvxy•"),
    (0.67, "ak"),
    (0.68, "EFTe"),
    (0.69, "o"),
    (0.70, "$0123456789€£"),
    (0.71, "hnu{}"),
    (0.72, "SYbdgpq"),
    (0.73, "CPZ"),
    (0.76, "B"),
    (0.77, "AKRVX"),
    (0.81, "U"),
    (0.82, "G"),
    (0.83, "D"),
    (0.84, "#+<=>HN^~×±≥≤→"),
    (0.85, "OQ"),
    (0.87, "&"),
    (0.92, "w"),
    (1.00, "%@M—…"),
    (1.04, "m"),
    (1.10, "W"),
)
_WIDTHS = {
    bold: {ch: w for w, chars in table for ch in chars}
    for bold, table in ((False, _REGULAR), (True, _BOLD))
}
#: Any other character (accents, symbols, CJK): a full em, so never under-estimated.
_OTHER = 1.1
#: Renderers differ in hinting and kerning: a few percent of slack on every line.
_SLACK = 1.04
#: Line height as a multiple of the font size (DejaVu Sans: ascent + descent = 1.164 em).
LINE = 1.2
ELLIPSIS = "…"


def text_width(text: str, pt: float, bold: bool = False) -> float:
    """Width of ``text`` set in ``pt`` points, in inches."""
    widths = _WIDTHS[bold]
    return sum(widths.get(ch, _OTHER) for ch in text) * pt / 72.0 * _SLACK


def line_height(pt: float) -> float:
    """Height of one line set in ``pt`` points, in inches."""
    return LINE * pt / 72.0


def ellipsize(text: str, width: float, pt: float, bold: bool = False, cut: bool = False) -> str:
    """``text`` as it is when it fits ``width`` inches (and is not ``cut``), else cut so
    that it and a trailing ellipsis fit."""
    if not cut and text_width(text, pt, bold) <= width:
        return text
    kept = text
    while kept and text_width(kept.rstrip() + ELLIPSIS, pt, bold) > width:
        kept = kept[:-1]
    return kept.rstrip() + ELLIPSIS


def wrap(text: str, width: float, pt: float, bold: bool = False) -> list[str]:
    """Greedy word wrap of one paragraph to ``width`` inches; a word longer than a line is
    split between characters. Always at least one line."""
    lines: list[str] = []
    line = ""
    for word in text.split():
        candidate = f"{line} {word}" if line else word
        if text_width(candidate, pt, bold) <= width:
            line = candidate
            continue
        if line:
            lines.append(line)
        line = word
        while text_width(line, pt, bold) > width and len(line) > 1:
            cut = len(line) - 1
            while cut > 1 and text_width(line[:cut], pt, bold) > width:
                cut -= 1
            lines.append(line[:cut])
            line = line[cut:]
    lines.append(line)
    return lines


def clamp(text: str, width: float, pt: float, max_lines: int, bold: bool = False) -> list[str]:
    """``text`` wrapped to at most ``max_lines`` lines, the last ellipsized when cut."""
    lines = wrap(text, width, pt, bold)
    if len(lines) <= max_lines:
        return lines
    kept = lines[:max_lines]
    kept[-1] = ellipsize(f"{kept[-1]} {lines[max_lines]}", width, pt, bold, cut=True)
    return kept


@dataclass(frozen=True)
class Para:
    """One paragraph of a text box: ``level`` 0 is a bullet, 1 a line under it."""

    text: str
    level: int = 0
    #: Font size relative to the box's (a headline sentence is set larger).
    scale: float = 1.0
    bold: bool = False
    bullet: bool = True


@dataclass(frozen=True)
class Line:
    para: Para
    pt: float
    lines: list[str]
    #: Left margin of the lines and the hanging bullet's width, in inches.
    indent: float
    hang: float
    space_before: float


@dataclass(frozen=True)
class Fitted:
    pt: float
    paras: list[Line]
    height: float
    #: Paragraphs left out because they did not fit even at the smallest size.
    dropped: int = 0


BULLET = "• "
#: Inner margins of every text box the deck draws (inches): left/right, top/bottom.
INSET_X, INSET_Y = 0.08, 0.04
#: Wrapped lines of one paragraph at most; the rest is ellipsized.
MAX_LINES = 4


def _lay(para: Para, pt: float, width: float, first: bool) -> Line:
    size = pt * para.scale
    hang = text_width(BULLET, size, para.bold) if para.bullet else 0.0
    indent = 0.3 * para.level + hang
    lines = clamp(para.text, max(width - indent, 0.2), size, MAX_LINES, para.bold)
    gap = 0.0 if first else (0.35 if para.level == 0 else 0.1) * size / 72.0
    return Line(para, size, lines, indent, hang, gap)


def _height(laid: Sequence[Line]) -> float:
    return 2 * INSET_Y + sum(p.space_before + len(p.lines) * line_height(p.pt) for p in laid)


def fit(paras: Sequence[Para], width: float, height: float, max_pt: float, min_pt: float) -> Fitted:
    """The largest font size from ``max_pt`` down to ``min_pt`` (whole points) at which
    ``paras`` fit ``width`` x ``height`` inches; at ``min_pt``, the trailing paragraphs
    that still do not fit are left out and the last one kept ends in an ellipsis."""
    inner = width - 2 * INSET_X
    pt = max_pt
    while True:
        laid = [_lay(p, pt, inner, n == 0) for n, p in enumerate(paras)]
        if _height(laid) <= height or pt - 1 < min_pt:
            break
        pt -= 1
    dropped = 0
    while laid and _height(laid) > height:
        laid.pop()
        dropped += 1
    if dropped and laid:
        # Say that something was left out: the last line kept ends in an ellipsis.
        tail = laid[-1]
        end = ellipsize(tail.lines[-1], inner - tail.indent, tail.pt, tail.para.bold, cut=True)
        lines = [*tail.lines[:-1], end]
        laid[-1] = Line(tail.para, tail.pt, lines, tail.indent, tail.hang, tail.space_before)
    return Fitted(pt, laid, _height(laid), dropped)
