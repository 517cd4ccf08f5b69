"""The shipped configs (configs/ → package data ``convcalc.configs``) with their totals, for ``convcalc zoo``.

Each entry is analysed at its own input, batch 1: params are trainable parameters, MACs are conv+linear
multiply-accumulates per sample, bias excluded (the convention of :mod:`convcalc.cost.conventions`). The
description is the spec's ``description:`` key, or else the first line of its header comment.
"""

from __future__ import annotations

from dataclasses import dataclass, field

#: the section of configs/*.yaml (a sub-folder's configs are in a section named after it: ``variants``)
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
    from .cost.analysis import analyze
    from .errors import SpecError
    from .limits import read_file
    from .spec.loader import load, shipped_configs

    entries = []
    for name, path in shipped_configs().items():
        section = name.rsplit("/", 1)[0] if "/" in name else NETWORKS
        if section != NETWORKS and not include_subfolders:
            continue
        entry = ZooEntry(name, section, str(path))
        try:
            text = read_file(str(path), "the config")
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
