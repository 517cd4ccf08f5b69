"""Budgeted values as the messages of ``convcalc check`` print them: exact with thousands separators, with a
human form beside (``1,622,336 (1.62 M)``, ``196,904 B (192.29 KiB)``), percentages and lists of layers. The
numbers themselves are written by :mod:`convcalc.numbers`; a byte quantity is one of
:data:`~convcalc.budgets.quantities.BYTE_QUANTITIES`, and ``rf`` sizes are per-axis tuples."""

from __future__ import annotations

from typing import Any

from ..numbers import exact_text as exact
from ..numbers import fmt_bytes, fmt_count
from ..numbers import percent_text as percent
from .quantities import BYTE_QUANTITIES, TIME_QUANTITIES
from .results import Contributor


def amount(quantity: str, value: Any) -> str:
    """A value with its human form: ``1,622,336 (1.62 M)``, ``196,904 B (192.29 KiB)``, ``35×35``."""
    if quantity == "rf" or isinstance(value, (tuple, list)):
        return exact(value)
    if quantity in TIME_QUANTITIES:
        return f"{float(value):,.4g} ms"
    if quantity in BYTE_QUANTITIES:
        human = fmt_bytes(value) if value >= 1024 else ""
        return f"{exact(value)} B" + (f" ({human})" if human else "")
    human = fmt_count(value, "auto") if value >= 1000 else ""
    return exact(value) + (f" ({human})" if human else "")


def short(quantity: str, value: Any) -> str:
    """A compact human value for tables: ``1.62 M``, ``192.29 KiB``, ``35×35``."""
    if quantity == "rf" or isinstance(value, (tuple, list)):
        return exact(value)
    if quantity in TIME_QUANTITIES:
        return f"{float(value):,.4g} ms"
    if quantity in BYTE_QUANTITIES:
        return fmt_bytes(value) if value >= 1024 else f"{exact(value)} B"
    return fmt_count(value, "auto") if value >= 1000 else exact(value)


def limit_text(quantity: str, text: str, value: Any) -> str:
    """The limit as written, with its exact value when that reads differently: ``5K (= 5,000)``."""
    unit = " B" if quantity in BYTE_QUANTITIES else " ms" if quantity in TIME_QUANTITIES else ""
    full = exact(value) + unit
    return text if text == exact(value) else f"{text} (= {full})"


def layer_list(quantity: str, layers: list[Contributor], signed: bool = False) -> str:
    """``conv2 1.18 M (72.71%), conv1 442.37 K (27.27%)``; shares are of the total (or of the increase)."""
    parts = []
    for c in layers:
        value = ("+" if signed else "") + short(quantity, c.value)
        parts.append(f"{c.name} {value}{share_text(c)}")
    return ", ".join(parts)


def share_text(c: Contributor) -> str:
    """`` (72.71%)``, a contributor's share of the total; empty when it has none."""
    return f" ({percent(c.share * 100)})" if c.share is not None else ""
