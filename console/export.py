"""Every console page as CSV and as a PDF an inspector can take away.

The PDF is laid out by reportlab (platypus): a header on every page with the
facility's name and licence, the period the rows cover, when it was generated
(the facility's local time) and by whom; "page N of M" at the foot; tables whose
long cells wrap inside their column and whose header row repeats on each page.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from reportlab.lib import colors
from reportlab.lib.pagesizes import landscape, letter
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import inch
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Flowable, LongTable, Paragraph, SimpleDocTemplate, Spacer, TableStyle

from bridge.reports import Report


@dataclass(frozen=True)
class Heading:
    """What every exported page says about itself."""

    title: str
    facility: str  # "Green Valley Farms (CA-LIC-0001)" or "all facilities"
    period: str
    generated: str  # local time
    by: str


# A spreadsheet runs a cell that starts with one of these as a formula: text from the floor
# (a note, a name) must not become one on the inspector's computer (OWASP "CSV injection").
_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: object) -> object:
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(_FORMULA):
        return "'" + value
    return value


def as_csv(sections: Sequence[Report], heading: Heading) -> str:
    """One CSV: a line naming the export, then each table under its title."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([heading.title, heading.facility, f"period: {heading.period}",
                     f"generated {heading.generated} by {heading.by}"])
    for report in sections:
        writer.writerow([])
        writer.writerow([report.title])
        writer.writerow(report.columns)
        writer.writerows([_cell(v) for v in row] for row in report.rows)
    return buffer.getvalue()


class _NumberedCanvas(Canvas):  # type: ignore[misc]  # reportlab has no types
    """Keeps every page until the end, so each can say "page N of M"."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._pages: list[dict[str, Any]] = []

    def showPage(self) -> None:
        self._pages.append(dict(self.__dict__))
        self._startPage()

    def save(self) -> None:
        total = len(self._pages)
        for number, state in enumerate(self._pages, 1):
            self.__dict__.update(state)
            self.setFont("Helvetica", 8)
            width, _ = self._pagesize
            self.drawRightString(width - 0.5 * inch, 0.35 * inch, f"page {number} of {total}")
            super().showPage()
        super().save()


_STYLES = getSampleStyleSheet()
_CELL = ParagraphStyle("cell", parent=_STYLES["BodyText"], fontSize=7.5, leading=9)
_HEAD = ParagraphStyle("head", parent=_CELL, fontName="Helvetica-Bold")
_PAGE = landscape(letter)
_MARGIN = 0.5 * inch


_PAD = 12.0  # a cell's left and right padding, points
_CHAR = 0.55 * _CELL.fontSize  # an average Helvetica character, points


def _widths(report: Report, total: float) -> list[float]:
    """Each column as wide as its longest cell (bounded) where the page allows; where it does
    not, the text widths shrink in proportion, never below the column's own header word
    (nor a cell's short word) unless even those do not fit side by side."""
    sizes, floors = [], []
    for i, column in enumerate(report.columns):
        longest = max([len(column)] + [len("" if r[i] is None else str(r[i])) for r in report.rows[:500]])
        word = max([len(w) for r in report.rows[:500] for w in str("" if r[i] is None else r[i]).split()],
                   default=0)
        sizes.append(min(longest, 40) * _CHAR)
        # Headers never break inside a word (bold is wider), nor short words of the cells.
        floors.append(max(len(column) * 1.15, min(word, 10)) * _CHAR)
    room = total - _PAD * len(sizes)
    if sum(sizes) > room:
        if sum(floors) > room:  # many columns of long words: the floors give way, not the page's edge
            floors = [f * room / sum(floors) for f in floors]
        spare = room - sum(floors)
        extra = [max(s - f, 0.0) for s, f in zip(sizes, floors, strict=True)]
        share = spare / sum(extra) if sum(extra) and spare > 0 else 0.0
        sizes = [f + e * share for f, e in zip(floors, extra, strict=True)]
    else:
        sizes = [s * room / sum(sizes) for s in sizes]
    return [s + _PAD for s in sizes]


class _Font(dict[str, float]):
    """Each character's width in one font of the cells, measured once: Helvetica has no
    kerning, so a text's width is the sum of its characters'."""

    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = name

    def __missing__(self, char: str) -> float:
        width = self[char] = float(stringWidth(char, self.name, _CELL.fontSize))
        return width

    def width(self, text: str) -> float:
        return sum(map(self.__getitem__, text))


_BODY, _BOLD = _Font(_CELL.fontName), _Font(_HEAD.fontName)


def _wrapped(text: str, room: float, font: _Font = _BODY) -> str:
    """``text`` in lines of at most ``room`` points: broken at spaces, and inside a word only
    where the word alone is wider (an id, a tag). Drawn as plain text lines, this costs a
    fraction of a Paragraph, which measured each cell several times (once per page split and
    again to draw it) and every prefix of a long word."""
    if "\n" not in text and font.width(text) <= room:
        return text
    lines: list[str] = []
    space = font[" "]
    for part in text.splitlines() or [""]:
        line, used = "", 0.0
        for word in part.split():
            size = font.width(word)
            if line and used + space + size <= room:
                line, used = f"{line} {word}", used + space + size
                continue
            if line:
                lines.append(line)
            while size > room:  # a word wider than the column: as much as fits on each line
                cut, taken = 1, font[word[0]]
                while cut < len(word) and taken + font[word[cut]] <= room:
                    taken += font[word[cut]]
                    cut += 1
                lines.append(word[:cut])
                word, size = word[cut:], size - taken
            line, used = word, size
        lines.append(line)
    return "\n".join(lines)


def _table(report: Report) -> list[Flowable]:
    if not report.rows:
        return [Paragraph(_escape(report.title), _STYLES["Heading3"]), Paragraph("(none)", _CELL)]
    widths = _widths(report, _PAGE[0] - 2 * _MARGIN)
    rooms = [w - _PAD for w in widths]
    head = [_wrapped(c, room, _BOLD) for c, room in zip(report.columns, rooms, strict=True)]
    body = [[_wrapped("" if v is None else str(v), room) for v, room in zip(row, rooms, strict=True)]
            for row in report.rows]
    table = LongTable([head, *body], colWidths=widths, repeatRows=1)
    table.setStyle(TableStyle([
        ("FONT", (0, 0), (-1, 0), _HEAD.fontName, _HEAD.fontSize, _HEAD.leading),
        ("FONT", (0, 1), (-1, -1), _CELL.fontName, _CELL.fontSize, _CELL.leading),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#dfe8df")),
        ("GRID", (0, 0), (-1, -1), 0.25, colors.grey),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("ROWBACKGROUNDS", (0, 1), (-1, -1), [colors.white, colors.HexColor("#f5f5f5")]),
    ]))
    return [Paragraph(_escape(report.title), _STYLES["Heading3"]), table]


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def as_pdf(sections: Sequence[Report], heading: Heading, notes: Sequence[str] = ()) -> bytes:
    buffer = io.BytesIO()

    def header(canvas: Canvas, doc: SimpleDocTemplate) -> None:
        canvas.saveState()
        top = _PAGE[1] - 0.45 * inch
        canvas.setFont("Helvetica-Bold", 11)
        canvas.drawString(_MARGIN, top, f"{heading.title}: {heading.facility}")
        canvas.setFont("Helvetica", 8)
        canvas.drawString(_MARGIN, top - 13, f"Period: {heading.period}")
        # On the period's line, not the title's: a long title (a tag, the facility and its
        # licence) ran into it.
        canvas.drawRightString(_PAGE[0] - _MARGIN, top - 13,
                               f"Generated {heading.generated} by {heading.by}")
        canvas.drawString(_MARGIN, 0.35 * inch, "Canopy compliance console")
        canvas.restoreState()

    doc = SimpleDocTemplate(buffer, pagesize=_PAGE, leftMargin=_MARGIN, rightMargin=_MARGIN,
                            topMargin=0.9 * inch, bottomMargin=0.6 * inch, title=heading.title,
                            author=heading.by, subject=heading.facility)
    story: list[Flowable] = [Paragraph(_escape(n), _CELL) for n in notes]
    for report in sections:
        story += [*_table(report), Spacer(1, 10)]
    if not story:
        story = [Paragraph("(nothing to show)", _CELL)]
    doc.build(story, onFirstPage=header, onLaterPages=header, canvasmaker=_NumberedCanvas)
    return buffer.getvalue()
