"""The YAML text of an imported model's spec, piece by piece: a field value, a flow mapping, a layer's mapping.

Shared by :mod:`convcalc.importers.writer` (the flat spec) and :mod:`convcalc.importers.blocks` (blocks and their
calls), so that both write every value the same way, through the one YAML scalar writer.
"""

from __future__ import annotations

from fractions import Fraction

from ..compare.yamlwrite import yaml_scalar


class Expr(str):
    """A field value written as an expression over block arguments (``4 * out``): emitted as it is, unquoted."""


def value_text(value) -> str:
    """One field value as YAML: floats exactly as their shortest decimal (0.00001, not 1e-05, which YAML 1.1
    reads as text), expressions bare, everything else by the one YAML scalar writer."""
    if isinstance(value, Expr):
        return str(value)
    return yaml_scalar(_exact(value))


def _exact(value):
    if isinstance(value, float) and not isinstance(value, bool):
        return Fraction(repr(value))
    if isinstance(value, (list, tuple)):
        return [_exact(v) for v in value]
    if isinstance(value, dict):
        return {k: _exact(v) for k, v in value.items()}
    return value


def flow(item: dict) -> str:
    """``{key: value, …}`` on one line."""
    return "{" + ", ".join(f"{yaml_scalar(str(key))}: {value_text(value)}" for key, value in item.items()) + "}"


def layer_item(kind: str, name: str, fields: dict, inputs: list | None, when=None) -> dict:
    """A layer as the mapping the spec writes: type, name, fields, inputs (None: the previous layer), when."""
    item = {"type": kind, "name": name, **fields}
    if inputs is not None:
        item["inputs"] = inputs[0] if len(inputs) == 1 else list(inputs)
    if when is not None:
        item["when"] = when
    return item
