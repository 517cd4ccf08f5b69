"""A fast box-drawn table in Rich's ``HEAVY_HEAD`` style.

Rich's ``Table`` measures and wraps every cell; for a 175-layer network that took 160–300 ms on the reference
machine, longer than the whole analysis. Our cells are short, single-line and already formatted, so this module
lays them out directly (about 1 ms) and the caller styles whole lines: plain text when piped, Rich styles on a TTY.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field


def cell_len(text: str) -> int:
    """Terminal cells taken by ``text`` (East Asian wide characters take two)."""
    if text.isascii():
        return len(text)
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


@dataclass
class Grid:
    """Columns, rows and sections; :meth:`lines` returns ``(text, role)`` pairs, role ∈ header/row/total/rule."""

    headers: list[str]
    right: list[bool]
    rows: list[tuple[list[str], str]] = field(default_factory=list)  # (cells, role)

    def add(self, cells: list[str], role: str = "row") -> None:
        self.rows.append((cells, role))

    def add_section(self) -> None:
        self.rows.append(([], "section"))

    def lines(self) -> list[tuple[str, str]]:
        widths = [cell_len(h) for h in self.headers]
        for cells, _ in self.rows:
            for i, cell in enumerate(cells):
                widths[i] = max(widths[i], cell_len(cell))

        def rule(left, mid, right, fill):
            return left + mid.join(fill * (w + 2) for w in widths) + right

        def line(cells, bar):
            padded = []
            for text, width, right in zip(cells, widths, self.right):
                gap = " " * (width - cell_len(text))
                padded.append(f" {gap}{text} " if right else f" {text}{gap} ")
            return bar + bar.join(padded) + bar

        out = [(rule("┏", "┳", "┓", "━"), "rule"), (line(self.headers, "┃"), "header"),
               (rule("┡", "╇", "┩", "━"), "rule")]
        for cells, role in self.rows:
            if role == "section":
                out.append((rule("├", "┼", "┤", "─"), "rule"))
            else:
                out.append((line(cells, "│"), role))
        out.append((rule("└", "┴", "┘", "─"), "rule"))
        return out
