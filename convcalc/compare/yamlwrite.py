"""A small YAML emitter for flat specs: top-level keys block style, one flow mapping per layer."""

from __future__ import annotations

import re
from fractions import Fraction


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
