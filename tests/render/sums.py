"""Check that printed per-layer columns add up to the printed Total row (torchinfo's tests do the same for their
golden summaries).

Each checker parses the output as a reader would — the box-drawn table, the Markdown table or the CSV of
``convcalc analyze --units raw`` — and sums the layer rows of every count column present (params, buffers, MACs,
FLOPs, activation bytes). Stage rows of composite layers (type ``↳ …``) are parts of the layer above and enter no
total, so they are skipped. Returns the totals it checked, so a test can also pin them.
"""

from __future__ import annotations

import csv
import io

#: printed header → the count it holds (the table and Markdown); CSV uses the JSON keys
HEADERS = {"Params": "params", "Buffers": "buffers", "MACs": "macs", "FLOPs": "flops",
           "Activations": "activation_bytes"}
CSV_KEYS = ("params", "buffers", "macs", "flops", "activation_bytes")


class SumMismatch(AssertionError):
    pass


def _number(cell: str) -> int:
    """``1,234`` or ``1,234 B`` (raw units) → 1234; anything else is not a raw count."""
    text = cell.strip().strip("*").removesuffix(" B").replace(",", "")
    if not text.isdigit():
        raise ValueError(f"not a raw-units count: {cell!r} (render with --units raw)")
    return int(text)


def _check(header: list[str], rows: list[list[str]], key_of: dict[str, str], where: str) -> dict[str, int]:
    names = [h.strip() for h in header]
    wanted = {i: key_of[name] for i, name in enumerate(names) if name in key_of}
    if not wanted:
        raise SumMismatch(f"{where}: no count column in {names}")
    type_col = next((i for i, name in enumerate(names) if name.lower() == "type"), None)
    totals = [row for row in rows if row[0].strip().strip("*") == "Total"]
    if len(totals) != 1:
        raise SumMismatch(f"{where}: {len(totals)} Total rows")
    layers = [row for row in rows if row is not totals[0]
              and not (type_col is not None and row[type_col].strip().startswith("↳"))]
    checked = {}
    for index, key in wanted.items():
        summed = sum(_number(row[index]) for row in layers)
        printed = _number(totals[0][index])
        if summed != printed:
            raise SumMismatch(f"{where}: {key} of the {len(layers)} rows sum to {summed:,}, the Total row says "
                              f"{printed:,}")
        checked[key] = printed
    return checked


def check_table(text: str) -> dict[str, int]:
    """The first box-drawn table of ``text`` (the per-layer table of ``analyze``); also the ``Total: …`` line."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("┃"))
    header = lines[start].strip("┃").split("┃")
    rows = []
    for line in lines[start + 2:]:
        if line.startswith("└"):
            break
        if line.startswith("│"):
            rows.append(line.strip("│").split("│"))
    checked = _check(header, rows, HEADERS, "table")
    summary = next((line for line in lines if line.startswith("Total: ")), None)
    if summary is not None:  # "Total: 1,482 params, 0 buffers, 350,288 MACs, 725,162 FLOPs"
        said = {part.split(" ", 1)[1]: int(part.split(" ", 1)[0].replace(",", ""))
                for part in summary.removeprefix("Total: ").split(", ")}
        for key, label in (("params", "params"), ("buffers", "buffers"), ("macs", "MACs"), ("flops", "FLOPs")):
            if key in checked and checked[key] != said[label]:
                raise SumMismatch(f"table: the Total row has {checked[key]:,} {label}, the summary {said[label]:,}")
    return checked


def check_markdown(text: str) -> dict[str, int]:
    """The first Markdown table of ``text``."""
    lines = [line for line in text.splitlines() if line.startswith("|")]
    cells = [line.strip().strip("|").split(" | ") for line in lines]
    return _check(cells[0], cells[2:], HEADERS, "markdown")


def check_csv(text: str, expected: dict[str, int] | None = None) -> dict[str, int]:
    """The sums of the CSV's count columns (it has no Total row: every row is a layer or a collapsed block, stage
    rows ``↳ …`` aside), checked against ``expected`` totals when given."""
    rows = list(csv.reader(io.StringIO(text)))
    header = rows[0]
    if any(row and row[0] == "Total" for row in rows[1:]):
        raise SumMismatch("csv: a Total row (pandas would count every layer twice)")
    layers = [row for row in rows[1:] if row and not row[0].startswith("#")
              and not row[header.index("type")].startswith("↳")] if "type" in header else \
        [row for row in rows[1:] if row and not row[0].startswith("#")]
    summed = {key: sum(int(row[header.index(key)]) for row in layers) for key in CSV_KEYS if key in header}
    for key, value in (expected or {}).items():
        if key in summed and summed[key] != value:
            raise SumMismatch(f"csv: {key} of the {len(layers)} rows sum to {summed[key]:,}, the total is {value:,}")
    return summed
