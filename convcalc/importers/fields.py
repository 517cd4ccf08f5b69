"""The spec fields an importer writes, shared by every frontend: numbers as a spec writes them, per-axis values,
:func:`spec_fields`, which leaves out what equals a kind's default so the written spec stays short, and the
decisions both frontends make alike from shapes and numbers (a reshape that is a flatten, a per-channel constant,
the activation a clip is)."""

from __future__ import annotations

import math
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


def flatten_span(before: tuple, after: tuple):
    """``(start, end)`` when ``after`` is ``before`` with axes start..end merged into one, else None."""
    for start in range(len(before)):
        for end in range(len(before) - 1, start, -1):
            if before[:start] + (math.prod(before[start:end + 1]),) + before[end + 1:] == after:
                return start, end
    return None


def reshape_layer(before: tuple, after: tuple):
    """A reshape of a per-sample ``before`` to ``after`` as ``(kind, fields)``: ``flatten`` when it merges a run of
    axes, else ``reshape``; None when the shape is unchanged."""
    if tuple(after) == tuple(before):
        return None
    span = flatten_span(tuple(before), tuple(after))
    if span is not None:
        start, end = span
        end = None if end == len(before) - 1 else end  # start 0 and end -1 (all axes) are written as nothing
        return "flatten", spec_fields("flatten", start=start or None, end=end)
    return "reshape", {"shape": list(after)}


def per_channel_axis(const_shape: tuple, x_shape: tuple):
    """Where a constant of ``const_shape`` holds one value per channel of a per-sample ``x_shape``: ``(None, C)``
    for (C, 1, …, 1) against a channels-first map, ``("last", n)`` for (n,) against the last axis; leading 1s are
    the batch's. Else a string saying why not."""
    shape = list(const_shape)
    while len(shape) > len(x_shape):
        if shape[0] != 1:
            return f"a constant of shape {tuple(const_shape)} against a per-sample shape {tuple(x_shape)}"
        shape.pop(0)
    if shape == [x_shape[0]] + [1] * (len(x_shape) - 1):
        return None, x_shape[0]
    if shape == [x_shape[-1]] and len(x_shape) > 1:
        return "last", x_shape[-1]
    return f"a constant of shape {tuple(const_shape)} that is not one value per channel of {tuple(x_shape)}"


#: (min, max) bounds that are an activation of their own: ReLU6 is Hardtanh(0, 6), ReLU is a clamp at 0
CLIPS = {(0, 6): "relu6", (0, None): "relu", (0, math.inf): "relu"}


def clip_layer(low, high):
    """Clamping to [low, high] (None: unbounded) as ``(kind, fields)``: ``relu6`` for (0, 6), ``relu`` for
    (0, ∞), else ``hardtanh``; a string saying why not when a bound is missing."""
    low, high = number(low) if low is not None else None, number(high) if high is not None else None
    kind = CLIPS.get((low, high))
    if kind:
        return kind, {}
    if low is None or high is None or math.isinf(low) or math.isinf(high):
        return f"a clamp to [{low}, {high}] (hardtanh needs both bounds)"
    return "hardtanh", spec_fields("hardtanh", min_val=low, max_val=high)


def softmax_layer(axis: int, rank: int):
    """A softmax over per-sample ``axis`` of a ``rank``-axis sample as ``(kind, fields)``: over the channels (axis
    0) or the last axis; else a string saying why not."""
    if axis == 0:
        return "softmax", {}
    if axis == rank - 1:
        return "softmax", spec_fields("softmax", axis="last")
    return f"a softmax over axis {axis + 1} (neither the channels nor the last axis)"
