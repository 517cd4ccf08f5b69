"""``convcalc explain``: a layer kind's formulas, or one layer's numbers substituted into them, step by step.

* ``convcalc explain TYPE`` — fields, and the shape / params / MACs / FLOPs / RF formulas of a kind;
* ``convcalc explain SPEC --layer NAME`` — the same formulas with that layer's numbers substituted, ending in the
  numbers ``convcalc analyze`` reports (the substituted arithmetic is evaluated here and checked against them);
* ``convcalc explain --list`` — every kind with its one-line summary;
* ``convcalc explain --flops`` — the FLOPs-per-element table (convcalc/conventions.py).

The formulas live on the layer classes (``Layer.formulas`` and ``Layer.worked``), one place per kind.
"""

from __future__ import annotations

import ast
import sys
from fractions import Fraction
from typing import TextIO

from ..common import expand, user_errors
from ...errors import KINDS_LISTING, SpecError, did_you_mean
from ...numbers import fmt_axes, fraction_text

QUANTITIES = (("shape", "shape"), ("params", "params"), ("macs", "MACs"), ("flops", "FLOPs"), ("rf", "RF"))


def evaluate_worked(text: str) -> Fraction:
    """The value of a worked formula (ints, ``·``, ``×``, ``+``, ``−``, ``/``, parentheses), exactly."""
    plain = text.replace("·", "*").replace("×", "*").replace("−", "-").replace(",", "")
    return _value(ast.parse(plain, mode="eval").body)


def _value(node) -> Fraction:
    if isinstance(node, ast.Constant) and isinstance(node.value, int):
        return Fraction(node.value)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return -_value(node.operand)
    if isinstance(node, ast.BinOp):
        left, right = _value(node.left), _value(node.right)
        ops = {ast.Add: lambda: left + right, ast.Sub: lambda: left - right, ast.Mult: lambda: left * right,
               ast.Div: lambda: left / right}
        if type(node.op) in ops:
            return ops[type(node.op)]()
    raise ValueError(f"not a worked formula: {ast.dump(node)}")


def kind_class(kind: str):
    from ...layers import REGISTRY

    if kind not in REGISTRY:
        raise SpecError(f"unknown layer kind `{kind}`", None, did_you_mean(kind, REGISTRY, KINDS_LISTING))
    return REGISTRY[kind]


def first_paragraph(cls) -> str:
    doc = (cls.__doc__ or "").strip()
    return " ".join(doc.split("\n\n")[0].split())


def kind_lines(kind: str) -> list[str]:
    """What `convcalc explain TYPE` prints."""
    cls = kind_class(kind)
    lines = [f"{kind} — {cls.summary}", "", first_paragraph(cls), "", "fields:"]
    if not cls.fields:
        lines.append("  (none)")
    for name, field in cls.fields.items():
        default = "required" if field.required else f"default {_show(field.default)}"
        doc = f" — {field.doc}" if field.doc else ""
        lines.append(f"  {name}: {field.type_name}, {default}{doc}")
    lines += ["", "formulas:"]
    width = max(len(label) for _, label in QUANTITIES) + 1
    for key, label in QUANTITIES:
        lines.append(f"  {label + ':':<{width}} {cls.formulas.get(key, '—')}")
    lines += ["", "counting conventions: docs/flops.md (`convcalc explain --flops`); derivations: docs/variants.md"]
    return lines


def _show(value) -> str:
    if value is None:
        return "none"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, tuple):
        return "[" + ", ".join(_show(v) for v in value) + "]"
    return str(value)


def layer_lines(graph, report, name: str) -> list[str]:
    """What `convcalc explain SPEC --layer NAME` prints: formulas, substitution, values equal to the report's."""
    from ...layers import REGISTRY

    nodes = {node.name: node for node in graph.nodes}
    if name not in nodes:
        hint = did_you_mean(name, nodes, f"`convcalc analyze {graph.source}` lists the layer names")
        raise SpecError(f"no layer `{name}` in {graph.name}", None, hint)
    node = nodes[name]
    row = next(layer for layer in report.layers if layer.name == name)
    shapes = {graph.input_name: tuple(graph.input_shape)}
    shapes.update({layer.name: tuple(layer.output_shape) for layer in report.layers})
    ins = [shapes[i] for i in node.inputs]
    layer = REGISTRY[node.kind](node)
    formulas, worked = layer.formulas, layer.worked(ins)
    batch = report.batch
    lines = [f"layer `{name}` ({node.kind}): {layer.summary}",
             f"input {', '.join(_tuple(s) for s in ins)} → output {_tuple(row.output_shape)}"
             + (f", batch {batch}" if batch != 1 else ""), ""]
    lines += [f"shape:  {formulas.get('shape', '')}"]
    lines += [f"        {step}" for step in worked.get("shape", [])]
    lines += [f"        = {_tuple(row.output_shape)}"]
    for key, label, value in (("params", "params", row.params), ("macs", "MACs", row.macs),
                              ("flops", "FLOPs", row.flops)):
        per_sample = value if key == "params" else value // batch
        text = worked.get(key, str(per_sample))
        check = evaluate_worked(text)
        if check != per_sample:  # a formula text that disagrees with the method is a bug, not bad input
            raise AssertionError(f"{node.kind}.worked()[{key!r}] = {text} = {check}, but the layer gives {per_sample}")
        lines += [f"{label + ':':<7} {formulas.get(key, '')}"]
        if text != str(per_sample):
            lines += [f"        = {text}"]
        total = f"{per_sample:,}"
        if key != "params" and batch != 1:
            total += f" per sample × batch {batch} = {value:,}"
        lines += [f"        = {total}"]
    if key_rows := row.details.get("sub_rows"):
        lines += ["", "stages (per sample):"]
        for sub in key_rows:
            lines += [f"  {sub['name']:<14} {sub['type']:<16} {_tuple(sub['output_shape']):<16} "
                      f"params {sub['params']:,}  MACs {sub['macs']:,}  FLOPs {sub['flops']:,}"]
    rf = row.rf
    lines += ["", f"RF:     {formulas.get('rf', '')}"]
    lines += [f"        {step}" for step in layer.rf_steps([_field(graph, report, i) for i in node.inputs], ins)]
    lines += [f"        = size {_axes(rf.size)}, jump {_axes(rf.jump)}, start {_axes(rf.start)}"
              + (" (position-dependent)" if rf.position_dependent else "")]
    for warning in row.warnings:
        lines.append(f"warning: {warning}")
    return lines


def _field(graph, report, name):
    """The receptive field of a layer's input, rebuilt from the report (identity at the network input)."""
    from ...cost.rf import ReceptiveField

    if name == graph.input_name:
        return ReceptiveField.identity(len(graph.input_shape) - 1)
    rf = next(layer.rf for layer in report.layers if layer.name == name)
    return ReceptiveField(tuple(rf.size), tuple(rf.jump), tuple(rf.center), rf.position_dependent)


def _tuple(shape) -> str:
    shape = list(shape)
    return f"({shape[0]},)" if len(shape) == 1 else "(" + ", ".join(str(s) for s in shape) + ")"


def _axes(values) -> str:
    return fmt_axes(values, fraction_text)


def list_lines() -> list[str]:
    from ...layers import REGISTRY

    width = max(len(kind) for kind in REGISTRY)
    return [f"{kind:<{width}}  {REGISTRY[kind].summary}" for kind in sorted(REGISTRY)]


def flops_lines() -> list[str]:
    from ...cost.conventions import FLOPS_DEFINITION, FLOPS_PER_ELEMENT, MACS_DEFINITION

    width = max(len(op) for op in FLOPS_PER_ELEMENT)
    lines = [MACS_DEFINITION, FLOPS_DEFINITION, ""]
    return lines + [f"{op:<{width}}  {cost}  {what}" for op, (cost, what) in FLOPS_PER_ELEMENT.items()]


def write(lines: list[str], out: TextIO | None = None) -> None:
    (out or sys.stdout).write("\n".join(lines) + "\n")


def explain(target: str | None = None, layer: str | None = None, list_: bool = False, flops: bool = False,
            batch: int | None = None, input: str | None = None, sets: list[str] | None = None):
    """A layer kind's formulas (shape, params, MACs, FLOPs, RF), or one layer's numbers worked through them.

    \b
    convcalc explain depthwise_separable          formulas of a kind
    convcalc explain resnet18 --layer conv1       the numbers of one layer, step by step
    convcalc explain --list                       every kind
    """
    with user_errors():
        if list_:
            return write(list_lines())
        if flops:
            return write(flops_lines())
        if target is None:
            raise SpecError("give a layer kind, a spec with --layer, --list or --flops", None,
                            "e.g. `convcalc explain conv` or `convcalc explain resnet18 --layer conv1`")
        if layer is None:
            from ...layers import REGISTRY

            if target not in REGISTRY and (target.endswith((".yaml", ".yml")) or "/" in target):
                raise SpecError(f"`{target}` looks like a spec: add --layer NAME to explain one of its layers",
                                None, "e.g. `convcalc explain resnet18 --layer conv1`")
            return write(kind_lines(target))
        from ...cost.analysis import analyze

        graph = expand(target, batch, input, sets)
        write(layer_lines(graph, analyze(graph), layer))
