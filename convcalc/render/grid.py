"""A fast box-drawn table in Rich's ``HEAVY_HEAD`` style, and the share bars drawn in its cells.

Rich's ``Table`` measures and wraps every cell; for a 175-layer network that took 160–300 ms on the reference
machine, longer than the whole analysis. Our cells are short, single-line and already formatted, so this module
lays them out directly (about 1 ms) and the text emitter styles whole lines: plain text when piped, Rich styles on
a TTY.
"""

from __future__ import annotations

from .model import Table

#: the first code point that unicodedata.east_asian_width gives as wide ("W" or "F"): U+0378, unassigned
_FIRST_WIDE = "\u0378"
#: narrow characters above it that tables draw (punctuation such as `—` and `…`, arrows such as `↳`, math
#: operators such as `−`, box drawing and the bars' blocks), deleted before the check (a test checks each)
_NARROW = dict.fromkeys([*range(0x2000, 0x2065), *range(0x2190, 0x2300), *range(0x2500, 0x25A0)])


def cell_len(text: str) -> int:
    """Terminal cells taken by ``text`` (East Asian wide characters take two)."""
    if text.isascii():
        return len(text)
    rest = text.translate(_NARROW)  # str methods in C, where unicodedata is a call per character
    if rest.isascii() or max(rest) < _FIRST_WIDE:  # a shape's `×`, a `·`: no character below takes two
        return len(text)
    import unicodedata  # here: most tables never get this far

    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def grid_lines(table: Table) -> list[tuple[str, str]]:
    """The table's ``(text, role)`` lines: rules (role ``rule``), the header (``header``), then each row with its
    own role; a ``total`` row after other rows gets a thin rule above it."""
    headers = [c.header for c in table.columns]
    right = [c.right for c in table.columns]
    widths = [cell_len(h) for h in headers]
    lengths = [[cell_len(cell) for cell in cells] for cells, _ in table.rows]  # measured once, used twice
    for row in lengths:
        for i, length in enumerate(row):
            if length > widths[i]:
                widths[i] = length

    def rule(left, mid, end, fill):
        return left + mid.join(fill * (w + 2) for w in widths) + end

    def line(cells, cell_lengths, bar):
        padded = []
        for text, length, width, flush_right in zip(cells, cell_lengths, widths, right):
            gap = " " * (width - length)
            padded.append(f" {gap}{text} " if flush_right else f" {text}{gap} ")
        return bar + bar.join(padded) + bar

    out = [(rule("┏", "┳", "┓", "━"), "rule"), (line(headers, [cell_len(h) for h in headers], "┃"), "header"),
           (rule("┡", "╇", "┩", "━"), "rule")]
    for index, ((cells, role), cell_lengths) in enumerate(zip(table.rows, lengths)):
        if role == "total" and index:
            out.append((rule("├", "┼", "┤", "─"), "rule"))
        out.append((line(cells, cell_lengths, "│"), role))
    out.append((rule("└", "┴", "┘", "─"), "rule"))
    return out


BAR_WIDTH = 24


def bar(share: float, width: int = BAR_WIDTH) -> str:
    """A horizontal bar of ``share`` (0..1) in eighth-blocks, padded to ``width`` cells."""
    eighths = round(max(0.0, min(1.0, share)) * width * 8)
    full, rest = divmod(eighths, 8)
    text = "█" * full + ("▏▎▍▌▋▊▉"[rest - 1] if rest else "")
    return text.ljust(width)
