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

from dataclasses import dataclass, field
from typing import Any, Callable

LEFT, RIGHT = "left", "right"


@dataclass(frozen=True)
class Column:
    """A column: ``key`` names it in code (and is the CSV header), ``header`` is what is printed."""

    key: str
    header: str
    align: str = LEFT

    @property
    def right(self) -> bool:
        return self.align == RIGHT


def columns(*specs: tuple[str, str, str]) -> list[Column]:
    """``columns(("name", "Name", LEFT), …)``: a column list from (key, header, alignment) triples."""
    return [Column(*spec) for spec in specs]


def csv_columns(*keys: str) -> list[Column]:
    """Columns whose header is their key (a CSV schema)."""
    return [Column(key, key) for key in keys]


@dataclass
class Table:
    """Columns and rows of cells, each row with a role; ``title`` is printed above it (a heading in Markdown)."""

    columns: list[Column]
    title: str | None = None
    rows: list[tuple[list[Any], str]] = field(default_factory=list)

    def add(self, cells: list[Any], role: str = "row") -> None:
        assert len(cells) == len(self.columns), (cells, [c.key for c in self.columns])
        self.rows.append((cells, role))


@dataclass
class Line:
    """A line of text outside any table: a title, a total, a note, a blank line (``""``)."""

    text: str
    role: str = "note"


@dataclass
class Picture:
    """Lines drawn for the terminal (the ERF heatmap): ``draw(colour)`` returns plain strings, or Rich ``Text``
    lines when ``colour`` is true."""

    draw: Callable[[bool], list]


@dataclass
class Document:
    """Blocks (:class:`Table`, :class:`Line`, :class:`Picture`) in order. ``heading`` is the Markdown level of the
    table titles; ``plain`` keeps the text unstyled even on a colour terminal."""

    blocks: list = field(default_factory=list)
    heading: int = 3
    plain: bool = False


@dataclass
class Json:
    """A JSON document: ``data`` dumped with two-space indents, or ``text`` when the data encode themselves (the
    analyze report writes one line per layer). ``ascii`` escapes non-ASCII characters (the verify contract)."""

    data: Any = None
    text: str | None = None
    ascii: bool = False
