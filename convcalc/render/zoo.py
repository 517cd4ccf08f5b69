"""``convcalc zoo``: the shipped configs with their totals, one table per section (networks, then each sub-folder of
configs/), as text, Markdown, CSV (exact, one table with a ``section`` column) or JSON (``{"version": 1,
"configs": [{"name", "section", "path", "input", "params", "macs", "description", "error"}]}``).

An entry is any object with those attributes (:class:`convcalc.zoo.ZooEntry`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from ..numbers import fmt_count
from ..zoo import NETWORKS
from .model import LEFT, RIGHT, Document, Json, Line, Table, columns, csv_columns

DESCRIPTION_WIDTH = 100
#: on a narrow terminal the columns that give way, lowest priority first (the Description first shortens to 24
#: cells); `convcalc zoo --help` and README.md say the same
DROP_ORDER = ("description", "input", "params")
NOTE = ("Params = trainable parameters (BatchNorm running statistics are buffers, not counted); MACs = conv+linear "
        "multiply-accumulates per sample, bias excluded. `convcalc analyze NAME` shows the per-layer table.")


def _shape(values: list[int]) -> str:
    return "×".join(map(str, values)) if values else "-"


def _count(value: int | None, units: str) -> str:
    return "error" if value is None else fmt_count(value, units)


def _title(section: str) -> str:
    return "Networks" if section == NETWORKS else f"{section.capitalize()} (configs/{section}/)"


def _short(text: str, width: int = DESCRIPTION_WIDTH) -> str:
    return text if len(text) <= width else text[: width - 1].rstrip() + "…"


@dataclass
class ZooView:
    entries: list
    units: str = "raw"

    def sections(self) -> dict[str, list]:
        out: dict[str, list] = {}
        for entry in self.entries:
            out.setdefault(entry.section, []).append(entry)
        return out

    def table(self) -> Document:
        blocks: list = []
        for section, group in self.sections().items():
            table = Table(columns(("name", "Name", LEFT), ("input", "Input", RIGHT), ("params", "Params", RIGHT),
                                  ("macs", "MACs", RIGHT), ("description", "Description", LEFT)),
                          f"{_title(section)} — {len(group)} shipped", drop=DROP_ORDER, shrink={"description": 24})
            for e in group:
                table.add([e.name, _shape(e.input), _count(e.params, self.units), _count(e.macs, self.units),
                           _short(e.error or e.description)], "warn" if e.error else "row")
            blocks.append(table)
        return Document(blocks + [Line(NOTE)])

    def markdown(self) -> Document:
        blocks: list = []
        for section, group in self.sections().items():
            table = Table(columns(("name", "name", LEFT), ("input", "input", RIGHT), ("params", "params", RIGHT),
                                  ("macs", "MACs", RIGHT), ("description", "description", LEFT)), _title(section))
            for e in group:
                table.add([f"`{e.name}`", _shape(e.input), _count(e.params, self.units), _count(e.macs, self.units),
                           e.error or e.description])
            blocks.append(table)
        return Document(blocks + [Line(NOTE)])

    def csv(self) -> Table:
        table = Table(csv_columns("name", "section", "input", "params", "macs", "description", "error"))
        for e in self.entries:
            table.add([e.name, e.section, "x".join(map(str, e.input)), "" if e.params is None else e.params,
                       "" if e.macs is None else e.macs, e.description, e.error or ""])
        return table

    def json(self) -> Json:
        return Json({"version": 1, "configs": [asdict(e) for e in self.entries]})
