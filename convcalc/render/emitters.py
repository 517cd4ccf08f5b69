"""One emitter per output format, over the table model of :mod:`convcalc.render.model`.

``--format`` names a format; :data:`EMITTERS` maps it to its emitter, and :func:`emit` asks a command's view for
that format's content (``view.table()``, ``view.markdown()``, ``view.csv()``, ``view.json()``; ``view.junit()`` and
``view.github()`` for ``convcalc check``) and writes it:

* ``table`` — text: the box-drawn table of :mod:`convcalc.render.grid` or a borderless aligned one, and lines;
  plain when piped or with ``NO_COLOR`` set (Rich is then not even imported), Rich styles by role (and by
  :class:`~convcalc.render.model.Span`) on a colour terminal;
* ``markdown`` — GitHub-flavoured: a heading per titled table, a header row, an alignment row, ``|`` escaped,
  total rows in bold, a blank line between blocks (none between consecutive lines of text);
* ``csv`` — one table, its column keys as the header row, exact values, ``\\n`` line ends;
* ``json`` — indented, UTF-8 as is (or ASCII-escaped where the contract says so);
* ``jsonl`` — one compact JSON object a line, each written and flushed as the records come (``convcalc sweep``);
* ``junit`` — an XML element tree (a JUnit report), indented, after the XML declaration;
* ``github`` — GitHub Actions workflow commands (one per :class:`~convcalc.render.model.Annotation`, escaped as
  GitHub reads them) and plain lines.

Data go to ``out`` (stdout); warnings and errors are the command's, on stderr.
"""

from __future__ import annotations

import os
import sys
TYPE_CHECKING = False  # typing costs start-up; the annotations are text (PEP 563)
if TYPE_CHECKING:
    from typing import TextIO

from .model import ALIGNED, Annotation, Document, Json, JsonLines, Line, Picture, Table, joined

STYLES = {"title": "bold", "header": "bold", "total": "bold", "warn": "yellow", "note": "dim", "ok": "green",
          "error": "red"}


def no_color() -> bool:
    """Whether the user asked for no colour (https://no-color.org: ``NO_COLOR`` set to anything non-empty)."""
    return bool(os.environ.get("NO_COLOR"))


def use_color(out: TextIO) -> bool:
    """Styles only on a terminal, and never with ``NO_COLOR``."""
    return bool(getattr(out, "isatty", lambda: False)()) and not no_color()


# ---- text -----------------------------------------------------------------------------------------------------------
#: a text line: its text, its role and the ``(start, end, role)`` spans styled apart
StyledLine = tuple[str, str, tuple]


def styled_lines(blocks: list) -> list[StyledLine]:
    """The ``(text, role, spans)`` lines of tables and lines (a titled table starts with its title, role
    ``title``)."""
    from .grid import grid_lines

    out: list[StyledLine] = []
    for block in blocks:
        if isinstance(block, Table):
            if block.title is not None:
                out.append((block.title, "title", ()))
            if block.style == ALIGNED:
                out += aligned_lines(block)
            else:
                out += [(text, role, ()) for text, role in grid_lines(block)]
        else:
            out.append((block.text, block.role, block.spans))
    return out


def text_lines(blocks: list) -> list[tuple[str, str]]:
    """The ``(text, role)`` lines of tables and lines (their spans left out)."""
    return [(text, role) for text, role, _ in styled_lines(blocks)]


ALIGNED_INDENT, ALIGNED_GAP = "  ", "  "


def aligned_lines(table: Table) -> list[StyledLine]:
    """An :data:`~convcalc.render.model.ALIGNED` table's lines: no borders and no header; each row indented, its
    cells padded to their column's width in terminal cells and a gap apart, trailing spaces trimmed. The last cell
    of a short row runs on and takes no part in the widths."""
    from .grid import cell_len

    count = len(table.columns)
    widths = [0] * count
    for cells, _ in table.rows:
        for i, cell in enumerate(cells if len(cells) == count else cells[:-1]):
            widths[i] = max(widths[i], cell_len(cell))
    out: list[StyledLine] = []
    for cells, role in table.rows:
        pieces = [ALIGNED_INDENT]
        for i, (cell, column, width) in enumerate(zip(cells, table.columns, widths)):
            gap = " " * (width - cell_len(cell)) if len(cells) == count or i < len(cells) - 1 else ""
            pieces += ([ALIGNED_GAP] if i else []) + ([gap, cell] if column.right else [cell, gap])
        text, spans = joined(pieces)
        text = text.rstrip()
        out.append((text, role, tuple((start, min(end, len(text)), style) for start, end, style in spans
                                      if start < len(text))))
    return out


def write_lines(lines: list[StyledLine], out: TextIO, color: bool) -> None:
    """Write ``(text, role, spans)`` lines: styled through Rich when ``color``, plain otherwise."""
    if not color:
        out.write("".join(line[0] + "\n" for line in lines))
        return
    from rich.console import Console
    from rich.text import Text

    text = Text()
    for line, role, spans in lines:
        start = len(text)
        text.append(line + "\n", style=STYLES.get(role))
        for first, end, span_role in spans:
            if STYLES.get(span_role):
                text.stylize(STYLES[span_role], start + first, start + end)
    Console(file=out, highlight=False).print(text, end="", soft_wrap=True)


def write_text(doc: Document, out: TextIO, width: int | None = None) -> None:
    """The document as text; with ``width``, fitted to it (:mod:`convcalc.render.width`)."""
    color = use_color(out) and not doc.plain
    blocks = doc.blocks
    if width is not None:
        from .width import fit_blocks, fit_lines

        blocks = fit_blocks(blocks, width)
    pending: list = []
    for block in blocks + [None]:
        if isinstance(block, (Table, Line)):
            pending.append(block)
            continue
        if pending:
            lines = styled_lines(pending)
            write_lines(lines if width is None else fit_lines(lines, width), out, color)
            pending = []
        if isinstance(block, Picture):
            _write_picture(block, out, color, width)


def _write_picture(picture: Picture, out: TextIO, color: bool, width: int | None = None) -> None:
    """A picture's lines; with ``width``, a caption (a line starting with a letter) wider than it wrapped, a line of
    the drawing cut."""
    lines = picture.draw(color)
    if not color:
        if width is not None:
            from .width import crop, wrap_styled

            lines = [text for line in lines for text, _, _ in (
                wrap_styled((line, "row", ()), width) if line[:1].isalpha() else [(crop(line, width), "", ())])]
        out.write("".join(line + "\n" for line in lines))
        return
    from rich.console import Console

    console = Console(file=out, highlight=False)
    for line in lines:
        if width is not None and len(line.plain) > width:
            for piece in line.wrap(console, width):
                console.print(piece, soft_wrap=True)
            continue
        console.print(line, soft_wrap=True)


# ---- Markdown -------------------------------------------------------------------------------------------------------
def md_cell(text) -> str:
    """A cell on one line: trimmed, ``|`` escaped, line breaks as spaces."""
    return md_escape(md_heading(text))


def md_escape(text) -> str:
    """``|`` escaped, so that text can stand in a table row (or in a line quoting table cells)."""
    return str(text).replace("|", "\\|")


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
    headers = [md_cell(c.header) for c in table.columns]
    out.write("|" + "|".join(f" {h} " if h else " " for h in headers) + "|\n")  # an empty header reads `| |`
    out.write("|" + "|".join("---:" if c.right else "---" for c in table.columns) + "|\n")
    lines = []
    for cells, role in table.rows:
        cells = [md_cell(c) for c in cells]
        if role == "total":
            cells = [f"**{c}**" if c else "" for c in cells]
        lines.append("| " + " | ".join(cells) + " |\n")
    out.write("".join(lines))


# ---- CSV, JSON, XML and GitHub workflow commands -------------------------------------------------------------------
def write_csv(table: Table, out: TextIO) -> None:
    import csv

    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([c.key for c in table.columns])
    writer.writerows(cells for cells, _ in table.rows)


def write_json(doc: Json, out: TextIO) -> None:
    if doc.text is None:
        import json

        out.write(json.dumps(doc.data, indent=2, ensure_ascii=doc.ascii) + "\n")
    elif isinstance(doc.text, str):
        out.write(doc.text + "\n")
    else:  # pieces: each written (and encoded) apart, with no copy of the whole
        for piece in doc.text:
            out.write(piece)
        out.write("\n")


def write_jsonl(doc: JsonLines, out: TextIO) -> None:
    import json

    for record in doc.records:
        out.write(json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n")
        out.flush()


def write_xml(root, out: TextIO) -> None:
    """An ``xml.etree.ElementTree`` element (a JUnit report): the XML declaration, then the tree indented two
    spaces."""
    import xml.etree.ElementTree as ET

    ET.indent(root)
    out.write('<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n")


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def workflow_command(annotation: Annotation) -> str:
    """``::error file=F,line=L,col=C,title=T::text`` with GitHub's escaping (docs.github.com, "Workflow commands
    for GitHub Actions")."""
    a, props = annotation, []
    if a.file:
        props.append(f"file={_escape_property(a.file)}")
        if a.line:
            props.append(f"line={a.line}")
            if a.col:
                props.append(f"col={a.col}")
    if a.title:
        props.append(f"title={_escape_property(a.title)}")
    where = " " + ",".join(props) if props else ""
    return f"::{a.level}{where}::{_escape_data(a.text)}"


def write_github(doc: Document, out: TextIO) -> None:
    """An :class:`~convcalc.render.model.Annotation` as its workflow command, a :class:`Line` as its text."""
    out.write("".join((workflow_command(block) if isinstance(block, Annotation) else block.text) + "\n"
                      for block in doc.blocks))


EMITTERS = {"table": write_text, "json": write_json, "jsonl": write_jsonl, "csv": write_csv,
            "markdown": write_markdown, "junit": write_xml, "github": write_github}


def emit(view, fmt: str, out: TextIO | None = None, width: int | None = None) -> None:
    """Write ``view``'s content for format ``fmt`` (a key of :data:`EMITTERS`) to ``out`` (stdout); a view that
    has nothing to say in a format returns None there, and nothing is written. ``width`` (from
    :func:`convcalc.render.width.resolve_width`; None: no limit) is what the text table must fit."""
    content = getattr(view, fmt)()
    if content is None:
        return
    if fmt == "table":
        write_text(content, out or sys.stdout, width)
    else:
        EMITTERS[fmt](content, out or sys.stdout)
