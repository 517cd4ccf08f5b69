"""The one table model every command's output is built from, apart from any output format.

A command computes plain data; its view in ``convcalc/render/`` (analyze.py, zoo.py, rf.py, …) turns that data
into these objects, one method per output format (``table()``, ``markdown()``, ``csv()``, ``json()``), and
:func:`convcalc.render.emitters.emit` writes them with the one emitter of the format:

* a :class:`Document` — tables, lines and pictures in order — for the text table and for Markdown;
* a :class:`Table` for CSV (its cells are the exact values: ints stay ints);
* a :class:`Json` for JSON;
* a :class:`JsonLines` for JSON Lines (``convcalc sweep --format jsonl``): records written one a line as they come;
* for the formats of ``convcalc check`` alone: an ``xml.etree.ElementTree.Element`` for XML (JUnit), and a
  :class:`Document` of annotations (:class:`Annotation`) and lines for GitHub workflow commands.

Roles style a row or a line on a colour terminal and mark it in Markdown: ``row`` (plain), ``total`` (bold; a rule
above it in the text table unless it is the first row, bold cells in Markdown), ``warn`` (yellow), ``note`` (dim),
``title`` (bold), ``ok`` (green), ``error`` (red). A :class:`Span` carries a role for a piece of text inside a row
or a line (a coloured status word).
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing costs start-up; the annotations are text (PEP 563)
if TYPE_CHECKING:
    from typing import Any, Callable

LEFT, RIGHT = "left", "right"
#: how the text emitter draws a :class:`Table`: box-drawn with a header row, or as borderless aligned lines
GRID, ALIGNED = "grid", "aligned"


class _Plain:
    """Plain classes, not dataclasses: ``convcalc analyze`` imports this module on its fast path, and
    ``@dataclass`` costs 0.3–0.9 ms a class at import time."""

    __slots__ = ()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{k}={getattr(self, k)!r}' for k in self.__slots__)})"

    def __eq__(self, other) -> bool:
        return type(other) is type(self) and all(getattr(self, k) == getattr(other, k) for k in self.__slots__)

    __hash__ = None


class Column(_Plain):
    """A column: ``key`` names it in code (and is the CSV header), ``header`` is what is printed."""

    __slots__ = ("key", "header", "align")

    def __init__(self, key: str, header: str, align: str = LEFT):
        self.key, self.header, self.align = key, header, align

    @property
    def right(self) -> bool:
        return self.align == RIGHT


def columns(*specs: tuple[str, str, str]) -> list[Column]:
    """``columns(("name", "Name", LEFT), …)``: a column list from (key, header, alignment) triples."""
    return [Column(*spec) for spec in specs]


def csv_columns(*keys: str) -> list[Column]:
    """Columns whose header is their key (a CSV schema)."""
    return [Column(key, key) for key in keys]


class Span(str):
    """Text with a role of its own: a table cell, or a piece of a :class:`Line` (:meth:`Line.of`), styled apart
    from its row on a colour terminal (a status word in green or red) in a line or an aligned table. It is a ``str``,
    so whatever does not style it (plain text, Markdown, CSV, the box-drawn grid, which styles whole rows) writes it
    as the text it is."""

    def __new__(cls, text: str, role: str):
        span = super().__new__(cls, text)
        span.role = role
        return span


def joined(pieces) -> tuple[str, tuple[tuple[int, int, str], ...]]:
    """The text of ``pieces`` (strings, some of them :class:`Span` objects) and the ``(start, end, role)`` of each
    non-empty Span in it."""
    spans, at = [], 0
    for piece in pieces:
        if piece and isinstance(piece, Span):
            spans.append((at, at + len(piece), piece.role))
        at += len(piece)
    return "".join(pieces), tuple(spans)


class Table(_Plain):
    """Columns and rows of cells, each row with a role; ``title`` is printed above it (a heading in Markdown).

    ``style`` is how the text emitter draws it: :data:`GRID`, box-drawn under a header row, or :data:`ALIGNED`,
    without borders or header: each row indented two spaces, its cells padded to their column (by ``align``) and two
    spaces apart, trailing spaces trimmed. In an aligned table a row may have fewer cells than there are columns:
    its last cell runs on past the columns it leaves out and takes no part in their widths (a detail line under a
    row). Markdown and CSV write both styles alike.

    How it fits a narrow terminal (:mod:`convcalc.render.width`): ``drop`` lists column keys, lowest priority first,
    dropped in turn until the table fits; ``shrink`` maps the key of a column whose long cells (layer names,
    descriptions) may be shortened in the middle with ``…`` to the narrowest it may become. A table with neither
    shrinks its left-aligned columns and drops columns from the right, keeping the first (and any status column,
    one with an empty header). ``fold`` (a table of prose cells, such as one quoted from the docs) prints each row
    as lines instead, its first cell and then ``header: cell`` for each other column, wrapped, when the whole
    table does not fit: nothing is dropped or shortened."""

    __slots__ = ("columns", "title", "rows", "style", "drop", "shrink", "fold")

    def __init__(self, columns: list[Column], title: str | None = None,
                 rows: list[tuple[list[Any], str]] | None = None, style: str = GRID,
                 drop: tuple[str, ...] = (), shrink: dict[str, int] | None = None, fold: bool = False):
        self.columns, self.title, self.rows, self.style = columns, title, [] if rows is None else rows, style
        self.drop, self.shrink, self.fold = drop, shrink or {}, fold

    def add(self, cells: list[Any], role: str = "row") -> None:
        assert len(cells) == len(self.columns) or (self.style == ALIGNED and 0 < len(cells) < len(self.columns)), (
            cells, [c.key for c in self.columns])
        self.rows.append((cells, role))


class Line(_Plain):
    """A line of text outside any table: a title, a total, a note, a blank line (``""``). ``spans`` are the
    ``(start, end, role)`` character ranges styled with a role of their own on a colour terminal, over the line's
    role; :meth:`of` builds them from :class:`Span` pieces.

    How it wraps on a narrow terminal (:mod:`convcalc.render.width`): ``hang`` is the cell its continuation lines
    start at (None: two more than its own indent); a ``formula`` line (worked arithmetic, ``a·b + c = 42``) breaks
    at the spaces after its operators where it can, its continuation lines under the start of the formula."""

    __slots__ = ("text", "role", "spans", "hang", "formula")

    def __init__(self, text: str, role: str = "note", spans: tuple[tuple[int, int, str], ...] = (),
                 hang: int | None = None, formula: bool = False):
        self.text, self.role, self.spans, self.hang, self.formula = text, role, spans, hang, formula

    @classmethod
    def of(cls, *pieces: str, role: str = "row") -> Line:
        """``Line.of("  ", Span("ERROR", "error"), " ", message)``: the pieces joined, each Span styled."""
        text, spans = joined(pieces)
        return cls(text, role, spans)


class Picture(_Plain):
    """Lines drawn for the terminal (the ERF heatmap): ``draw(colour)`` returns plain strings, or Rich ``Text``
    lines when ``colour`` is true."""

    __slots__ = ("draw",)

    def __init__(self, draw: Callable[[bool], list]):
        self.draw = draw


class Document(_Plain):
    """Blocks (:class:`Table`, :class:`Line`, :class:`Picture`; :class:`Annotation` and Line for the ``github``
    format) in order. ``heading`` is the Markdown level of the table titles; ``plain`` keeps the text unstyled even
    on a colour terminal."""

    __slots__ = ("blocks", "heading", "plain")

    def __init__(self, blocks: list | None = None, heading: int = 3, plain: bool = False):
        self.blocks, self.heading, self.plain = [] if blocks is None else blocks, heading, plain


class Annotation(_Plain):
    """A GitHub Actions workflow command, ``::error file=F,line=L,col=C,title=T::text``, for the ``github`` format.
    ``level`` is ``error``, ``warning`` or ``notice``; a ``file`` or ``title`` of None and a ``line`` or ``col`` of 0
    are left out (``line`` needs ``file``, ``col`` needs ``line``)."""

    __slots__ = ("level", "text", "file", "line", "col", "title")

    def __init__(self, level: str, text: str, file: str | None = None, line: int = 0, col: int = 0,
                 title: str | None = None):
        self.level, self.text, self.file, self.line, self.col, self.title = level, text, file, line, col, title


class Json(_Plain):
    """A JSON document: ``data`` dumped with two-space indents, or ``text`` when the data encode themselves (the
    analyze report writes one line per layer): a string, or a list of strings written one after another (the
    pieces of a big report, spared a copy). ``ascii`` escapes non-ASCII characters (the verify contract)."""

    __slots__ = ("data", "text", "ascii")

    def __init__(self, data: Any = None, text: str | list[str] | None = None, ascii: bool = False):
        self.data, self.text, self.ascii = data, text, ascii


class JsonLines(_Plain):
    """JSON Lines (https://jsonlines.org): each of ``records`` (an iterable, read lazily) dumped on one line and
    flushed as it comes, so that a stream too long to hold in memory is written as it is computed."""

    __slots__ = ("records",)

    def __init__(self, records):
        self.records = records
