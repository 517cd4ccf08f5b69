"""Whole-network rewrites: every eligible conv of a network replaced by one design; the result is a flat spec,
analysed before and after (``convcalc compare SPEC --as DESIGN``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from ..errors import SpecError

from ..layers import REGISTRY
from ..layers.design import missing_kinds
from .whatif import parse_target
from ..spec.fields import plain_value, same_value
from .yamlwrite import dump_spec


# ---- 3. whole-network rewrite -----------------------------------------------------------------------------------
ELIGIBILITY = ("a layer is rewritten when it is a standard `conv` with groups == 1 and a kernel larger than 1 on "
               "some axis, the design's group count divides both its channel counts, and its name matches --only "
               "(when given)")

#: the reason of a conv left because it is of another design (:func:`_other_design`)
NOT_STANDARD = "not a standard conv"


@dataclass
class RewriteResult:
    """A network with its eligible convs rewritten, as a flat spec, analysed before and after."""

    target: str
    spec: dict
    before: Any  # Report
    after: Any  # Report
    rewritten: list[str]
    kept: dict[str, list[str]]  # reason → names of the convs left as they were

    def yaml(self) -> str:
        header = (f"Rewritten by `convcalc compare {self.before.source} --as {self.target}`: "
                  f"{len(self.rewritten)} conv(s) replaced. Flat (expanded) spec: every layer names its inputs.")
        return dump_spec(self.spec, header)

    def write(self, path: str) -> None:
        try:
            with open(path, "w", encoding="utf-8") as out:
                out.write(self.yaml())
        except OSError as err:
            raise SpecError(f"--write {path}: {err.strerror or err}", None, "check the path") from None


def node_fields_yaml(node) -> dict:
    """The node's fields as plain YAML values, leaving out those equal to their default."""
    out = {}
    for key, field_obj in REGISTRY[node.kind].fields.items():
        value = node.fields.get(key)
        if not field_obj.required and same_value(value, field_obj.default):
            continue
        out[key] = plain_value(value)
    return out


def rewrite_spec(spec: str, target: str, only: list[str] | None = None, batch: int | None = None,
                 allow_unsupported: bool = False, input_shape: tuple[int, ...] | None = None,
                 convention: str = "torchvision", with_bugs: bool = False) -> RewriteResult:
    """Rewrite every eligible conv of ``spec`` (see :data:`ELIGIBILITY`) as ``target`` (at ``input_shape`` when
    given); analyse before and after (counted under ``convention``, convcalc/cost/peers.py)."""
    import fnmatch

    from ..cost.analysis import analyze, expand
    from ..cost.peers import under_convention
    from ..importers.source import load_network
    from ..spec.loader import load

    design, arg = parse_target(target)
    missing = missing_kinds(design.kinds)
    if missing:
        raise SpecError(f"--as {target}: layer kind {', '.join(f'`{k}`' for k in missing)} is not registered in "
                        f"this version of convcalc", None, "see docs/variants.md for the kinds available")
    network = load_network(spec, input_shape, allow_unsupported=allow_unsupported)
    graph = network.expand(input_shape=input_shape, batch=batch)
    before = analyze(graph)
    shapes = {graph.input_name: tuple(graph.input_shape)}
    shapes.update({layer.name: tuple(layer.output_shape) for layer in before.layers})
    layers, rewritten, kept = [], [], {}
    for node in graph.nodes:
        entry = {"name": node.name, "type": node.kind, "inputs": list(node.inputs), **node_fields_yaml(node)}
        reason = ""
        query = REGISTRY[node.kind](node).conv_query(shapes[node.inputs[0]], shapes[node.name], network.source)
        written = query.written_as if query is not None else None
        if written is None or written[0] not in ("standard", "grouped"):  # not a plain conv (Conv.written_as)
            if query is not None:  # a conv of another design (depthwise, pointwise, …): left, and said so
                kept.setdefault(_other_design(node.kind, written, query), []).append(node.name)
            layers.append(entry)
            continue
        if only and not any(fnmatch.fnmatchcase(node.name, pattern) for pattern in only):
            reason = "not matched by --only"
        elif written[0] == "grouped":
            reason = "already grouped"
        elif math.prod(query.kernel) == 1:
            reason = "1×1 kernel"
        else:
            built = design.build(query, arg)
            reason = built.reason
        if reason:
            kept.setdefault(reason, []).append(node.name)
            layers.append(entry)
            continue
        parts = built.layers
        previous = list(node.inputs)
        for index, part in enumerate(parts):
            last = index == len(parts) - 1
            name = node.name if last else f"{node.name}.{_part_name(part, index)}"
            layers.append({"name": name, **part, "inputs": previous})
            previous = [name]
        rewritten.append(node.name)
    label = target.replace(":", "")
    flat = {"name": f"{graph.name}_{label}", "input": list(graph.input_shape), "batch": graph.batch,
            "dtype": graph.dtype, "layers": [_ordered(layer) for layer in layers]}
    after_graph = expand(load(flat))
    after = under_convention(analyze(after_graph), after_graph, convention, with_bugs)
    after.source = f"{network.source} --as {target}"
    return RewriteResult(target, flat, under_convention(before, graph, convention, with_bugs), after, rewritten,
                         kept)


def _other_design(kind: str, written, q) -> str:
    """Why a conv that is not a standard one is left as it is (a depthwise-separable stage of MobileNet v1 is a
    `depthwise` and a `pointwise` layer): what it already is."""
    if q.groups > 1 and q.groups == q.c_in:
        what = "already grouped, one group per channel"
    elif math.prod(q.kernel) == 1:
        what = "a 1×1 conv"
    else:
        what = f"a {written[0] if written else kind} design already"
    return f"`{kind}`, {NOT_STANDARD}: {what}"


def _part_name(part: dict, index: int) -> str:
    return {"conv": "grouped", "channel_shuffle": "shuffle"}.get(part["type"], part["type"]) + str(index + 1)


def _ordered(layer: dict) -> dict:
    """name, type, inputs first, then the fields."""
    head = {key: layer[key] for key in ("name", "type", "inputs") if key in layer}
    return {**head, **{k: v for k, v in layer.items() if k not in head}}


