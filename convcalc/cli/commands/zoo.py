"""``convcalc zoo``: the shipped configs (configs/ → package data ``convcalc.configs``) with their totals.

Each entry is analysed at its own input, batch 1: params are trainable parameters, MACs are conv+linear
multiply-accumulates per sample, bias excluded (the convention of :mod:`convcalc.conventions`). The description is
the spec's ``description:`` key, or else the first line of its header comment.
"""

from __future__ import annotations

import json
import sys
from dataclasses import asdict, dataclass, field
from typing import TextIO

import typer

from ..app import Format, Units, app, user_errors

NETWORKS = "networks"


@dataclass
class ZooEntry:
    """One shipped config: its name (what `convcalc analyze NAME` takes), totals and description."""

    name: str
    section: str  # "networks" for configs/*.yaml, else the sub-folder ("variants")
    path: str
    input: list[int] = field(default_factory=list)
    params: int | None = None
    macs: int | None = None
    description: str = ""
    error: str | None = None


def header_description(text: str) -> str:
    """The first line of a spec's leading comment block (every shipped config opens with a one-line title)."""
    for line in text.splitlines():
        if not line.startswith("#"):
            return ""
        if line[1:].strip():
            return line[1:].strip()
    return ""


def zoo_entries(include_subfolders: bool = False) -> list[ZooEntry]:
    """Every shipped config, networks first, each analysed at its own input with batch 1."""
    from ...cost.analysis import analyze
    from ...errors import SpecError
    from ...spec.loader import load, shipped_configs

    entries = []
    for name, path in shipped_configs().items():
        section = name.rsplit("/", 1)[0] if "/" in name else NETWORKS
        if section != NETWORKS and not include_subfolders:
            continue
        entry = ZooEntry(name, section, str(path))
        try:
            text = path.read_text(encoding="utf-8")
            network = load(path)
            report = analyze(network, batch=1)
            entry.input, entry.params, entry.macs = list(report.input), report.totals.params, report.totals.macs
            entry.description = str(network.doc.get("description") or header_description(text))
        except SpecError as err:
            entry.error = str(err)
        except OSError as err:
            entry.error = f"cannot read {path}: {err}"
        entries.append(entry)
    entries.sort(key=lambda e: (e.section != NETWORKS, e.section, e.name))
    return entries


# ---- rendering ---------------------------------------------------------------------------------------------------
DESCRIPTION_WIDTH = 100
NOTE = ("Params = trainable parameters (BatchNorm running statistics are buffers, not counted); MACs = conv+linear "
        "multiply-accumulates per sample, bias excluded. `convcalc analyze NAME` shows the per-layer table.")


def _shape(values: list[int]) -> str:
    return "×".join(map(str, values)) if values else "-"


def _count(value: int | None, units: str) -> str:
    from ...numbers import fmt_count

    return "error" if value is None else fmt_count(value, units)


def _sections(entries: list[ZooEntry]) -> dict[str, list[ZooEntry]]:
    out: dict[str, list[ZooEntry]] = {}
    for entry in entries:
        out.setdefault(entry.section, []).append(entry)
    return out


def _title(section: str) -> str:
    return "Networks" if section == NETWORKS else f"{section.capitalize()} (configs/{section}/)"


def _short(text: str, width: int = DESCRIPTION_WIDTH) -> str:
    return text if len(text) <= width else text[: width - 1].rstrip() + "…"


def write_table(entries: list[ZooEntry], units: str, out: TextIO) -> None:
    from ...render.grid import Grid
    from ...render.table import write_lines

    lines: list[tuple[str, str]] = []
    for section, group in _sections(entries).items():
        grid = Grid(["Name", "Input", "Params", "MACs", "Description"], [False, True, True, True, False])
        for e in group:
            grid.add([e.name, _shape(e.input), _count(e.params, units), _count(e.macs, units),
                      _short(e.error or e.description)], "warn" if e.error else "row")
        lines += [(f"{_title(section)} — {len(group)} shipped", "title")] + grid.lines()
    lines.append((NOTE, "note"))
    write_lines(lines, out)


def write_markdown(entries: list[ZooEntry], units: str, out: TextIO) -> None:
    for section, group in _sections(entries).items():
        out.write(f"### {_title(section)}\n\n| name | input | params | MACs | description |\n|---|---:|---:|---:|---|\n")
        for e in group:
            cells = [f"`{e.name}`", _shape(e.input), _count(e.params, units), _count(e.macs, units),
                     e.error or e.description]
            out.write("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |\n")
        out.write("\n")
    out.write(NOTE + "\n")


def write_csv(entries: list[ZooEntry], out: TextIO) -> None:
    import csv

    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["name", "section", "input", "params", "macs", "description", "error"])
    for e in entries:
        writer.writerow([e.name, e.section, "x".join(map(str, e.input)), e.params if e.params is not None else "",
                         e.macs if e.macs is not None else "", e.description, e.error or ""])


def write_json(entries: list[ZooEntry], out: TextIO) -> None:
    data = {"version": 1, "configs": [asdict(e) for e in entries]}
    out.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")


@app.command()
def zoo(
    format: Format = typer.Option(Format.table, "--format", "-f", help="Output format."),
    variants: bool = typer.Option(False, "--variants", help="Also list the examples in sub-folders of configs/ "
                                                            "(the layer variants), each folder in its own section."),
    units: Units = typer.Option(Units.raw, "--units", help="raw (exact, the default), auto (human), or fixed K/M/G."),
):
    """List the shipped configs with their input, params and MACs: `convcalc analyze NAME` takes any of them.

    \b
    Exit codes: 0 success; 2 a shipped config failed to load (it is listed with its error).
    """
    with user_errors():
        entries = zoo_entries(include_subfolders=variants)
        if format is Format.json:
            write_json(entries, sys.stdout)
        elif format is Format.csv:
            write_csv(entries, sys.stdout)
        elif format is Format.markdown:
            write_markdown(entries, units.value, sys.stdout)
        else:
            write_table(entries, units.value, sys.stdout)
    broken = [e for e in entries if e.error]
    for entry in broken:
        print(f"error: {entry.error}", file=sys.stderr)
    if broken:
        raise typer.Exit(2)

