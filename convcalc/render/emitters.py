"""One emitter per output format, over the table model of :mod:`convcalc.render.model`.

``--format`` names a format; :data:`EMITTERS` maps it to its emitter, and :func:`emit` asks a command's view for
that format's content (``view.table()``, ``view.markdown()``, ``view.csv()``, ``view.json()``) and writes it:

* ``table`` — the box-drawn text table of :mod:`convcalc.render.grid`: plain text when piped or with ``NO_COLOR``
  set (Rich is then not even imported), Rich styles by role on a colour terminal;
* ``markdown`` — GitHub-flavoured: a heading per titled table, a header row, an alignment row, ``|`` escaped,
  total rows in bold, a blank line between blocks (none between consecutive lines of text);
* ``csv`` — one table, its column keys as the header row, exact values, ``\\n`` line ends;
* ``json`` — indented, UTF-8 as is (or ASCII-escaped where the contract says so).

Data go to ``out`` (stdout); warnings and errors are the command's, on stderr.
"""

from __future__ import annotations

import os
import sys
from typing import TextIO

from .model import Document, Json, Line, Picture, Table

STYLES = {"title": "bold", "header": "bold", "total": "bold", "warn": "yellow", "note": "dim"}


def no_color() -> bool:
    """Whether the user asked for no colour (https://no-color.org: ``NO_COLOR`` set to anything non-empty)."""
    return bool(os.environ.get("NO_COLOR"))


def use_color(out: TextIO) -> bool:
    """Styles only on a terminal, and never with ``NO_COLOR``."""
    return bool(getattr(out, "isatty", lambda: False)()) and not no_color()


# ---- text -----------------------------------------------------------------------------------------------------------
def text_lines(blocks: list) -> list[tuple[str, str]]:
    """The ``(text, role)`` lines of tables and lines (a titled table starts with its title, role ``title``)."""
    from .grid import grid_lines

    out: list[tuple[str, str]] = []
    for block in blocks:
        if isinstance(block, Table):
            if block.title is not None:
                out.append((block.title, "title"))
            out += grid_lines(block)
        else:
            out.append((block.text, block.role))
    return out


def write_lines(lines: list[tuple[str, str]], out: TextIO, color: bool) -> None:
    """Write ``(text, role)`` lines: styled through Rich when ``color``, plain otherwise."""
    if not color:
        out.write("".join(text + "\n" for text, _ in lines))
        return
    from rich.console import Console
    from rich.text import Text

    text = Text()
    for line, role in lines:
        text.append(line + "\n", style=STYLES.get(role))
    Console(file=out, highlight=False).print(text, end="", soft_wrap=True)


def write_text(doc: Document, out: TextIO) -> None:
    color = use_color(out) and not doc.plain
    pending: list = []
    for block in doc.blocks + [None]:
        if isinstance(block, (Table, Line)):
            pending.append(block)
            continue
        if pending:
            write_lines(text_lines(pending), out, color)
            pending = []
        if isinstance(block, Picture):
            _write_picture(block, out, color)


def _write_picture(picture: Picture, out: TextIO, color: bool) -> None:
    lines = picture.draw(color)
    if not color:
        out.write("".join(line + "\n" for line in lines))
        return
    from rich.console import Console

    console = Console(file=out, highlight=False)
    for line in lines:
        console.print(line, soft_wrap=True)


# ---- Markdown -------------------------------------------------------------------------------------------------------
def md_cell(text) -> str:
    """A cell on one line: trimmed, ``|`` escaped, line breaks as spaces."""
    return md_heading(text).replace("|", "\\|")


def md_heading(text) -> str:
    """A heading on one line (a ``|`` there is text: a heading is no table row)."""
    return str(text).strip().replace("\n", " ")


def write_markdown(doc: Document, out: TextIO) -> None:
    previous = None
    for block in doc.blocks:
        if previous is not None and not (isinstance(previous, Line) and isinstance(block, Line)):
            out.write("\n")
        if isinstance(block, Table):
            _write_markdown_table(block, doc.heading, out)
        else:
            out.write(block.text + "\n")
        previous = block


def _write_markdown_table(table: Table, heading: int, out: TextIO) -> None:
    if table.title is not None:
        out.write(f"{'#' * heading} {md_heading(table.title)}\n\n")
    out.write("| " + " | ".join(md_cell(c.header) for c in table.columns) + " |\n")
    out.write("|" + "|".join("---:" if c.right else "---" for c in table.columns) + "|\n")
    lines = []
    for cells, role in table.rows:
        cells = [md_cell(c) for c in cells]
        if role == "total":
            cells = [f"**{c}**" if c else "" for c in cells]
        lines.append("| " + " | ".join(cells) + " |\n")
    out.write("".join(lines))


# ---- CSV and JSON ---------------------------------------------------------------------------------------------------
def write_csv(table: Table, out: TextIO) -> None:
    import csv

    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([c.key for c in table.columns])
    writer.writerows(cells for cells, _ in table.rows)


def write_json(doc: Json, out: TextIO) -> None:
    if doc.text is None:
        import json

        out.write(json.dumps(doc.data, indent=2, ensure_ascii=doc.ascii) + "\n")
    else:
        out.write(doc.text + "\n")


EMITTERS = {"table": write_text, "json": write_json, "csv": write_csv, "markdown": write_markdown}


def emit(view, fmt: str, out: TextIO | None = None) -> None:
    """Write ``view``'s content for format ``fmt`` (a key of :data:`EMITTERS`) to ``out`` (stdout)."""
    EMITTERS[fmt](getattr(view, fmt)(), out or sys.stdout)
