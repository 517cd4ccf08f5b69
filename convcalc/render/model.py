"""The one table model every command's output is built from, apart from any output format.

A command computes plain data; its view in ``convcalc/render/`` (analyze.py, zoo.py, rf.py, …) turns that data
into these objects, one method per output format (``table()``, ``markdown()``, ``csv()``, ``json()``), and
:func:`convcalc.render.emitters.emit` writes them with the one emitter of the format:

* a :class:`Document` — tables, lines and pictures in order — for the box-drawn text table and for Markdown;
* a :class:`Table` for CSV (its cells are the exact values: ints stay ints);
* a :class:`Json` for JSON.

Roles style a row or a line on a colour terminal and mark it in Markdown: ``row`` (plain), ``total`` (bold; a rule
above it in the text table unless it is the first row, bold cells in Markdown), ``warn`` (yellow), ``note`` (dim),
``title`` (bold).
"""

from __future__ import annotations

from typing import Any, Callable

LEFT, RIGHT = "left", "right"


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


class Table(_Plain):
    """Columns and rows of cells, each row with a role; ``title`` is printed above it (a heading in Markdown)."""

    __slots__ = ("columns", "title", "rows")

    def __init__(self, columns: list[Column], title: str | None = None,
                 rows: list[tuple[list[Any], str]] | None = None):
        self.columns, self.title, self.rows = columns, title, [] if rows is None else rows

    def add(self, cells: list[Any], role: str = "row") -> None:
        assert len(cells) == len(self.columns), (cells, [c.key for c in self.columns])
        self.rows.append((cells, role))


class Line(_Plain):
    """A line of text outside any table: a title, a total, a note, a blank line (``""``)."""

    __slots__ = ("text", "role")

    def __init__(self, text: str, role: str = "note"):
        self.text, self.role = text, role


class Picture(_Plain):
    """Lines drawn for the terminal (the ERF heatmap): ``draw(colour)`` returns plain strings, or Rich ``Text``
    lines when ``colour`` is true."""

    __slots__ = ("draw",)

    def __init__(self, draw: Callable[[bool], list]):
        self.draw = draw


class Document(_Plain):
    """Blocks (:class:`Table`, :class:`Line`, :class:`Picture`) in order. ``heading`` is the Markdown level of the
    table titles; ``plain`` keeps the text unstyled even on a colour terminal."""

    __slots__ = ("blocks", "heading", "plain")

    def __init__(self, blocks: list | None = None, heading: int = 3, plain: bool = False):
        self.blocks, self.heading, self.plain = [] if blocks is None else blocks, heading, plain


class Json(_Plain):
    """A JSON document: ``data`` dumped with two-space indents, or ``text`` when the data encode themselves (the
    analyze report writes one line per layer). ``ascii`` escapes non-ASCII characters (the verify contract)."""

    __slots__ = ("data", "text", "ascii")

    def __init__(self, data: Any = None, text: str | None = None, ascii: bool = False):
        self.data, self.text, self.ascii = data, text, ascii
