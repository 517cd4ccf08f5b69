"""``convcalc zoo``: the shipped configs with their totals (:mod:`convcalc.zoo`), rendered by
:mod:`convcalc.render.zoo`."""

from __future__ import annotations

import sys

from ...zoo import zoo_entries


def zoo(format: str = "table", variants: bool = False, units: str = "raw", width: int | None = None,
        wide: bool = False) -> int:
    """List the shipped configs with their totals.

    Each shipped config with its input, params and MACs: `convcalc analyze NAME` takes any of them.

    \b
    Examples:
      convcalc zoo
      convcalc zoo --variants --units auto
      convcalc zoo --format json

    \b
    Exit codes: 0 success; 2 a shipped config failed to load (it is listed with its error).
    """
    from ...render.emitters import emit
    from ...render.width import resolve_width
    from ...render.zoo import ZooView

    entries = zoo_entries(include_subfolders=variants)
    emit(ZooView(entries, units), format, width=resolve_width(width, wide))
    broken = [e for e in entries if e.error]
    for entry in broken:
        print(f"error: {entry.error}", file=sys.stderr)
    return 2 if broken else 0
