"""The spec fields an importer writes, shared by every frontend: numbers as a spec writes them, per-axis values,
and :func:`spec_fields`, which leaves out what equals a kind's default so the written spec stays short."""

from __future__ import annotations

from fractions import Fraction


def number(value):
    """A Python number as a spec would write it: an int when whole (``2.0`` → 2), else the float."""
    if isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def axes(value, n: int) -> tuple:
    """A per-axis value (an int or a sequence) as ``n`` ints."""
    if isinstance(value, (list, tuple)):
        values = tuple(number(v) for v in value)
        return values * n if len(values) == 1 else values
    return (number(value),) * n


def compact(values):
    """Per-axis values as a spec writes them: one int when every axis agrees, else a list."""
    values = list(values)
    return values[0] if values and all(v == values[0] for v in values) else values


def same_value(value, default) -> bool:
    """Whether a field value equals a kind's default (floats compared as the decimals they print as)."""
    if isinstance(value, bool) or isinstance(default, bool) or value is None or default is None:
        return value is default or (type(value) is type(default) and value == default)
    if isinstance(value, (int, float, Fraction)) and isinstance(default, (int, float, Fraction)):
        return Fraction(str(value)) == Fraction(str(default)) if isinstance(value, float) else value == default
    return value == default


def spec_fields(kind: str, **values) -> dict:
    """The fields of a layer as a person would write them: None dropped, and values equal to the kind's own
    defaults left out (when the kind is registered), so the written spec stays short."""
    from ..layers import REGISTRY

    declared = REGISTRY[kind].fields if kind in REGISTRY else {}
    out = {}
    for key, value in values.items():
        if value is None:
            continue
        known = declared.get(key)
        if known is not None and not known.required and same_value(value, known.default):
            continue
        out[key] = value
    return out
