"""How wide the text output may be, and the one routine that fits a document to that width.

:func:`resolve_width` is the one place the width is decided, from (first that applies):

1. ``--wide``: no limit (everything kept, as a pipe gets it);
2. ``--width N``;
3. ``default_width``: a project default (the hook for ``[tool.convcalc] width``; None until one is set);
4. on a terminal: ``COLUMNS``, else the detected terminal size;
5. not a terminal (piped, redirected, captured by a test): no limit, so scripts read today's full output.

:func:`fit_blocks` then fits every table and line of a :class:`~convcalc.render.model.Document` to it, for the
text emitter (:func:`convcalc.render.emitters.write_text`), the same way for every command:

* a table wider than the width drops its columns in its :attr:`~convcalc.render.model.Table.drop` order (lowest
  priority first) until it fits with its :attr:`~convcalc.render.model.Table.shrink` columns (layer names,
  descriptions) at their narrowest; then those columns give up just the cells needed, long names shortened in the
  middle with ``…`` (``layer1.0.d…ample.0``). A table that states no order shrinks its left-aligned text columns
  and drops its columns from the right, keeping the first;
* a line (a title, a note, a footer) is wrapped at word boundaries, its continuation lines indented two more;
* anything still wider (a word longer than the width) is cut with ``…``, so no line is wider than the width.

Pictures (the ERF heatmap) are drawn at their own size. Nothing here imports anything heavy: ``convcalc analyze``
runs it on its fast path.
"""

from __future__ import annotations

import os
import sys

from .grid import cell_len
from .model import ALIGNED, LEFT, Line, Table

#: the narrowest width accepted (``--width`` minimum): below this no table keeps a readable column
MIN_WIDTH = 20
#: a shrinkable column keeps at least this many cells (or its header's width, if wider)
MIN_SHRUNK = 12
ELLIPSIS = "…"
#: a wrapped line's continuation lines are indented this much more than its first
HANG = 2


def resolve_width(width: int | None = None, wide: bool = False, out=None, default_width: int | None = None,
                  environ=None) -> int | None:
    """The width the text output must fit, or None for no limit (see the module docstring for the order)."""
    if wide:
        return None
    if width is not None:
        return width
    if default_width is not None:
        return default_width
    out = sys.stdout if out is None else out
    if not getattr(out, "isatty", lambda: False)():
        return None
    environ = os.environ if environ is None else environ
    columns = environ.get("COLUMNS", "").strip()
    if columns.isdigit() and int(columns) > 0:
        return max(MIN_WIDTH, int(columns))
    try:
        return max(MIN_WIDTH, os.get_terminal_size(out.fileno()).columns)
    except (AttributeError, OSError, ValueError):
        return None


# ---- cells ----------------------------------------------------------------------------------------------------------
def shorten_middle(text: str, width: int) -> str:
    """``text`` in at most ``width`` terminal cells, its middle replaced by ``…`` (leading indentation kept)."""
    if cell_len(text) <= width:
        return text
    indent = len(text) - len(text.lstrip(" "))
    body, room = text[indent:], width - indent - 1
    if room < 2:
        return crop(text, width)
    head, tail = (room + 1) // 2, room // 2
    return text[:indent] + _take(body, head) + ELLIPSIS + _take(body[::-1], tail)[::-1]


def crop(text: str, width: int) -> str:
    """``text`` cut to ``width`` cells, ending in ``…`` where it was cut."""
    if cell_len(text) <= width:
        return text
    return _take(text, max(0, width - 1)) + ELLIPSIS


def _take(text: str, cells: int) -> str:
    """The longest start of ``text`` within ``cells`` terminal cells."""
    if text.isascii():
        return text[:cells]
    out, used = [], 0
    for ch in text:
        used += cell_len(ch)
        if used > cells:
            break
        out.append(ch)
    return "".join(out)


# ---- tables ---------------------------------------------------------------------------------------------------------
def _table_width(table: Table, widths: list[int]) -> int:
    if table.style == ALIGNED:  # two-space indent, two-space gaps
        return 2 + sum(widths) + 2 * (len(widths) - 1)
    return sum(widths) + 3 * len(widths) + 1  # "│ " + cell + " " per column, and the closing bar


def _column_widths(table: Table, keep: list[int]) -> list[int]:
    full = len(table.columns)
    widths = [0 if table.style == ALIGNED else cell_len(table.columns[i].header) for i in keep]
    for cells, _ in table.rows:
        if table.style == ALIGNED and len(cells) != full:
            continue  # a detail line: in no column's width (it is wrapped as a line)
        for n, i in enumerate(keep):
            widths[n] = max(widths[n], cell_len(str(cells[i])))
    return widths


def _orders(table: Table) -> tuple[list[int], dict[int, int]]:
    """The column indexes in drop order, and the shrinkable ones with their narrowest widths: the table's own, or
    the default (the left-aligned text columns shrink to :data:`MIN_SHRUNK`; columns drop from the right, the first
    kept, a status column — an empty header: ✓/✗, PASS/FAIL — last)."""
    keys = [c.key for c in table.columns]
    if table.drop or table.shrink:
        drop = [i for key in table.drop for i, k in enumerate(keys) if k == key]
        shrink = {i: table.shrink[k] for i, k in enumerate(keys) if k in table.shrink}
        return drop, shrink
    shrink = {i: MIN_SHRUNK for i, c in enumerate(table.columns) if c.align == LEFT and c.header}
    drop = list(range(len(keys) - 1, 0, -1))
    return [i for i in drop if table.columns[i].header] + [i for i in drop if not table.columns[i].header], shrink


def fit_table(table: Table, width: int) -> Table:
    """``table`` with the columns and cells that fit in ``width`` (itself when it already fits)."""
    keep = list(range(len(table.columns)))
    widths = _column_widths(table, keep)
    if _table_width(table, widths) <= width:
        return table
    drop, shrink = _orders(table)
    grid = table.style != ALIGNED
    for dropped in [None] + drop:
        if dropped is not None and len(keep) > 1 and dropped in keep:
            keep.remove(dropped)
        widths = _column_widths(table, keep)
        floors = [min(w, max(shrink[i], cell_len(table.columns[i].header) if grid else 0)) if i in shrink else w
                  for i, w in zip(keep, widths)]
        if _table_width(table, floors) <= width:
            break
    excess = _table_width(table, widths) - width
    limits = dict(zip(keep, widths))
    while excess > 0:  # a cell at a time from the widest shrinkable column, never below its floor
        candidates = [(limits[i] - f, i) for i, f in zip(keep, floors) if i in shrink and limits[i] > f]
        if not candidates:
            break
        _, i = max(candidates)
        limits[i] -= 1
        excess -= 1
    fitted = Table([table.columns[i] for i in keep], table.title, style=table.style)
    full = len(table.columns)
    for cells, role in table.rows:
        if not grid and len(cells) != full:  # a detail line runs on after its cells
            short = [cells[i] for i in keep if i < len(cells) - 1]
            fitted.rows.append((short + [cells[-1]], role))
            continue
        fitted.rows.append(([_fit_cell(cells[i], limits[i]) if i in shrink else cells[i] for i in keep], role))
    return fitted


def _untitled(table: Table) -> Table:
    return Table(table.columns, None, table.rows, table.style, table.drop, table.shrink, table.fold)


def fits(table: Table, width: int) -> bool:
    """Whether ``table`` fits in ``width`` with every column and every cell whole."""
    return _table_width(table, _column_widths(table, list(range(len(table.columns))))) <= width


def folded(table: Table) -> list[Line]:
    """A :attr:`~convcalc.render.model.Table.fold` table as lines: each row's first cell, then ``header: cell``
    for each other column, indented (the lines are wrapped as any line)."""
    lines = [Line(table.title, "title")] if table.title is not None else []
    first = table.columns[0].header
    for cells, role in table.rows:
        lines.append(Line(f"{first}: {cells[0]}" if first else str(cells[0]), role))
        lines += [Line(f"  {column.header}: {cell}", role, hang=2 + HANG)
                  for column, cell in zip(table.columns[1:], cells[1:]) if str(cell)]
    return lines


def _fit_cell(cell, width: int):
    text = str(cell)
    if cell_len(text) <= width:
        return cell
    short = shorten_middle(text, width)
    role = getattr(cell, "role", None)
    if role is not None:  # a Span keeps its role
        from .model import Span

        return Span(short, role)
    return short


# ---- lines ----------------------------------------------------------------------------------------------------------
#: a formula line breaks after these where it can (``6·(4/2)·3·3 +`` / ``6 = 114``), and after its commas
OPERATORS = frozenset("=+−-×·/≤≥<>→,;")


def formula_hang(text: str) -> int:
    """Where a formula's continuation lines start: after its label (``params: ``) or its first ``= ``, whichever
    comes first."""
    marks = [at + 2 for at in (text.find(": "), text.find("= ")) if at >= 0]
    if not marks:
        return len(text) - len(text.lstrip(" ")) + HANG
    at = min(marks)
    return at + len(text[at:]) - len(text[at:].lstrip(" "))  # past a label's padding


def _cut(text: str, start: int, end: int, formula: bool) -> int:
    """Where a line running from ``start`` breaks at or before ``end``: the last space (for a formula, the last one
    after an operator, unless that leaves the line less than half full), else ``end`` (a word longer than the room
    is split, nothing lost)."""
    if formula:
        at = end
        while at > start + (end - start) // 2:
            if text[at] == " " and text[at - 1] in OPERATORS:
                return at
            at -= 1
    cut = text.rfind(" ", start, end + 1)
    return cut if cut > start else end


def wrap_styled(line: tuple[str, str, tuple], width: int, hang: int | None = None,
                formula: bool = False) -> list[tuple[str, str, tuple]]:
    """A ``(text, role, spans)`` line wrapped at spaces into lines of at most ``width`` cells, each continuation
    starting at cell ``hang`` (default :data:`HANG` more than the line's indent; a ``formula`` under its start,
    :func:`formula_hang`) and breaking after an operator where it can; its spans follow the text they style. A word
    longer than the room is split."""
    text, role, spans = line
    if cell_len(text) <= width:
        return [line]
    if text[:1] in "┏┃┡│├└┗╭╰":  # a table row: fitted as a table, cut if still too wide
        return [(crop(text, width), role, _clip_spans(spans, 0, width))]
    indent = len(text) - len(text.lstrip(" "))
    if hang is None:
        hang = formula_hang(text) if formula else indent + HANG
    if hang > width // 2:  # too far right to leave a useful line
        hang = indent + HANG
    pieces: list[tuple[int, int]] = []  # (start, end) character ranges of the output lines
    start = indent
    while start < len(text):
        room = width - (hang if pieces else indent)
        end = start
        while end < len(text) and cell_len(text[start:end + 1]) <= room:
            end += 1
        if end < len(text):
            end = _cut(text, start, end, formula)
        pieces.append((start, end))
        start = end
        while start < len(text) and text[start] == " ":
            start += 1
    out = []
    for n, (first, end) in enumerate(pieces):
        lead = hang if n else indent
        body = text[first:end].rstrip()
        if cell_len(body) > width - lead:
            body = crop(body, width - lead)
        out.append((" " * lead + body, role, _clip_spans(spans, first, first + len(body), first - lead)))
    return out


def _clip_spans(spans: tuple, first: int, end: int, shift: int = 0) -> tuple:
    return tuple((max(s, first) - shift, min(e, end) - shift, r) for s, e, r in spans if s < end and e > first)


def fit_blocks(blocks: list, width: int) -> list:
    """Tables fitted and lines wrapped to ``width``: the blocks the text emitter writes."""
    out = []
    for block in blocks:
        if isinstance(block, Table) and block.fold and not fits(block, width):
            out += fit_blocks(folded(block), width)
            continue
        if isinstance(block, Table):
            block = fit_table(block, width)
            if block.title is not None and cell_len(block.title) > width:  # the title as wrapped lines above it
                out += [Line(t, "title", s) for t, _, s in wrap_styled((block.title, "title", ()), width)]
                block = _untitled(block)
        elif isinstance(block, Line) and cell_len(block.text) > width:
            out += [Line(t, r, s) for t, r, s in wrap_styled((block.text, block.role, block.spans), width, block.hang,
                                                              block.formula)]
            continue
        out.append(block)
    return out


def fit_lines(lines: list, width: int) -> list:
    """Written ``(text, role, spans)`` lines, each within ``width`` (the aligned tables' detail lines)."""
    out = []
    for line in lines:
        out += wrap_styled(line, width)
    return out


# ---- messages -------------------------------------------------------------------------------------------------------
def write_message(text: str, stream=None, label: str = "") -> None:
    """A message on stderr (``warning: …``, ``error: …``): on a terminal, each of its lines wrapped at word
    boundaries to the terminal's width (:func:`resolve_width`), two in; elsewhere (a pipe, a log, a test) as it is.
    ``label`` is the message's first word as written (``error:`` in red on a colour terminal), the text after it."""
    stream = sys.stderr if stream is None else stream
    width = resolve_width(out=stream)
    plain = label.replace("\x1b[31m", "").replace("\x1b[0m", "")
    lines = []
    for line in (plain + text).split("\n"):
        lines += [line] if width is None else [piece for piece, _, _ in wrap_styled((line, "", ()), width)]
    if label != plain and lines and lines[0].startswith(plain):
        lines[0] = label + lines[0][len(plain):]
    stream.write("".join(line + "\n" for line in lines))
