"""A small YAML emitter for flat specs (one flow mapping per layer), and field values as plain YAML data."""

from __future__ import annotations

import re
from fractions import Fraction


def yaml_value(value):
    """A normalised field value as plain YAML data: tuples → lists, whole Fractions → ints (other Fractions stay,
    for :func:`yaml_scalar`), a list of sub-layers ``(kind, fields)`` → ``{type: kind, **fields}`` mappings."""
    if isinstance(value, (tuple, list)) and value and all(
            isinstance(v, tuple) and len(v) == 2 and isinstance(v[0], str) and isinstance(v[1], dict) for v in value):
        return [{"type": kind, **yaml_value(fields)} for kind, fields in value]
    if isinstance(value, tuple) or isinstance(value, list):
        return [yaml_value(v) for v in value]
    if isinstance(value, Fraction):
        return int(value) if value.denominator == 1 else value
    if isinstance(value, dict):
        return {str(k): yaml_value(v) for k, v in value.items()}
    if isinstance(value, bool):
        return bool(value)
    return value



def same_value(a, b) -> bool:
    try:
        return type(a) is type(b) and a == b or (isinstance(a, (int, Fraction)) and isinstance(b, (int, Fraction))
                                                  and not isinstance(a, bool) and a == b)
    except Exception:  # noqa: BLE001 - incomparable values are different
        return False



_PLAIN = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]*")
_YAML_WORDS = {"true", "false", "yes", "no", "on", "off", "null", "y", "n", "~"}


def yaml_scalar(value) -> str:
    import json

    if value is None:
        return "null"
    if isinstance(value, bool) or hasattr(value, "word"):
        return "true" if bool(value) else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Fraction):
        return _fraction_text(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(yaml_scalar(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{yaml_scalar(str(k))}: {yaml_scalar(v)}" for k, v in value.items()) + "}"
    text = str(value)
    if _PLAIN.fullmatch(text) and text.lower() not in _YAML_WORDS:
        return text
    return json.dumps(text, ensure_ascii=False)  # a double-quoted JSON string is a valid YAML scalar


def _fraction_text(value: Fraction) -> str:
    """Exact YAML for a number: decimal when it has a finite expansion (0.001; read back as exactly 1/1000), else
    a quoted expression ("1/3"), which the spec reader evaluates exactly."""
    if value.denominator == 1:
        return str(value.numerator)
    for digits in range(1, 40):
        scaled = value * 10**digits
        if scaled.denominator == 1:
            sign = "-" if scaled < 0 else ""
            text = str(abs(scaled.numerator)).rjust(digits + 1, "0")
            return f"{sign}{text[:-digits]}.{text[-digits:]}"
    return f'"{value.numerator}/{value.denominator}"'


def dump_spec(spec: dict, header: str = "") -> str:
    """A flat spec as YAML: top-level keys block style, one flow mapping per layer."""
    lines = [f"# {line}" for line in header.splitlines()]
    for key, value in spec.items():
        if key == "layers":
            lines.append("layers:")
            lines += [f"  - {yaml_scalar(layer)}" for layer in value]
        else:
            lines.append(f"{key}: {yaml_scalar(value)}")
    return "\n".join(lines) + "\n"
