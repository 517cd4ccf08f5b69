"""From mapped records (:mod:`convcalc.importers.torch_map`) to imported layers: fusions, the live set, names.

Fusions (:data:`FUSIONS`) are keyed by the kinds of a chain of two or three layers, each but the last used only
by the next; a rule returns the fused layer's kind, fields, the record whose weights (and call) it keeps and its
own name, or None when the chain is not the pattern. The fused layer takes the last one's place (so whatever
reads it still does) and the chain's other layers are dropped with the dead ones.
"""

from __future__ import annotations

import math
from collections import Counter
from types import SimpleNamespace

from .ir import ImportedLayer, Unsupported
from .fields import spec_fields

#: how many node names an unsupported operator keeps (the message shows the first few)
FIRST_NAMES = 5


# ---- fusions --------------------------------------------------------------------------------------------------
def padded_conv(pad, conv):
    """torch.export writes ``Conv2d(padding_mode="reflect")`` as a pad and an unpadded conv inside the module's
    call: they are that conv again (an explicit pad module before a conv stays a pad layer)."""
    if not pad.call.scope or pad.call.scope[-1] != conv.call.scope[-1] or conv.call.kind != "aten" \
            or conv.fields.get("padding", 0) != 0 or conv.fields.get("padding_mode", "zeros") != "zeros" \
            or pad.fields.get("mode", "constant") not in PADDING_MODES:
        return None
    padding = pad.fields["padding"]
    if isinstance(padding, list) and any(isinstance(p, list) for p in padding):
        return None  # asymmetric: padding_mode pads both sides alike
    fields = dict(conv.fields, padding=padding, padding_mode=pad.fields["mode"])
    return conv.kind, spec_fields(conv.kind, **fields), conv, conv.base


#: the pad modes that are a conv's padding_mode
PADDING_MODES = ("reflect", "replicate", "circular")


def channel_shuffle(first, middle, last):
    """ShuffleNetV2's ``view(B, g, C/g, *N) → transpose(1, 2) → view(B, C, *N)`` is ``channel_shuffle`` with g
    groups (Zhang et al. 2018, torchvision's shufflenetv2.channel_shuffle)."""
    source = first.inputs[0].shape
    if not source or not first.shape:
        return None
    channels, rest = source[0], tuple(source[1:])
    groups = first.shape[0]
    if groups < 2 or first.shape != (groups, channels // groups, *rest) or last.shape != source or \
            middle.fields.get("dims") != [1, 0, *range(2, len(first.shape))]:
        return None
    return "channel_shuffle", {"groups": groups}, middle, "channel_shuffle"


def layernorm_over_channels(first, middle, last):
    """torchvision's LayerNorm2d: permute channels last, layer norm over the last axis, permute back, which is
    ``layernorm`` over the channels at every position."""
    rank = len(first.inputs[0].shape)
    if first.fields.get("dims") != [*range(1, rank), 0] or last.fields.get("dims") != [rank - 1, *range(rank - 1)] \
            or middle.fields.get("axis") != "last":
        return None
    fields = {key: value for key, value in middle.fields.items() if key != "axis"}
    return "layernorm", spec_fields("layernorm", **fields), middle, middle.base


def grouped_instance_norm(first, norm, last):
    """Group norm as exporters decompose it: reshape (C, *N) to (g, C/g·ΠN), an instance norm without affine
    parameters (each group over its channels and positions), reshape back; the affine γ and β follow as a layer
    scale and a bias add, which :func:`affine_group_norm` takes in."""
    source = first.inputs[0].shape
    if len(first.shape) != 2 or not source:  # a reshape to a scalar or a vector is no grouping
        return None
    groups = first.shape[0]
    if first.shape[1] * groups != math.prod(source) or last.shape != source \
            or norm.fields.get("affine", False) or norm.fields.get("track_running_stats", False) \
            or source[0] % groups:
        return None
    eps = norm.fields.get("eps")
    return "groupnorm", spec_fields("groupnorm", groups=groups, affine=False, eps=eps), norm, "group_norm"


def affine_group_norm(norm, scale, shift):
    """A group norm without affine parameters, then γ·x and x + β per channel: the affine group norm."""
    if norm.fields.get("affine", True) or any(part.fields for part in (scale, shift)):
        return None
    fields = {key: value for key, value in norm.fields.items() if key != "affine"}
    donor = SimpleNamespace(weights=scale.weights + shift.weights, buffers=[], call=norm.call)
    return "groupnorm", spec_fields("groupnorm", **fields), donor, norm.base


#: the kinds of a single-use chain → the rule that fuses it
FUSIONS = {
    ("pad", "conv"): padded_conv,
    ("reshape", "permute", "flatten"): channel_shuffle,
    ("reshape", "permute", "reshape"): channel_shuffle,
    ("permute", "layernorm", "permute"): layernorm_over_channels,
    ("reshape", "instancenorm", "reshape"): grouped_instance_norm,
    ("flatten", "instancenorm", "reshape"): grouped_instance_norm,
    ("groupnorm", "layer_scale", "bias_add"): affine_group_norm,
}


def consumers(records, output) -> Counter:
    uses = Counter({id(output): 1})
    for record in records:
        for act in record.inputs:
            uses[id(act)] += 1
    return uses


def chain(last, uses) -> list:
    """``last`` and up to two single-use layers before it, each the only input of the next, first first."""
    links = [last]
    while len(links) < 3:
        head = links[0]
        before = head.inputs[0] if len(head.inputs) == 1 else None
        if before is None or not hasattr(before, "kind") or uses[id(before)] != 1:
            break
        links.insert(0, before)
    return links


def fuse(records: list, output) -> None:
    uses = consumers(records, output)
    for last in records:
        links = chain(last, uses)
        for start in range(len(links) - 1):  # the longest chain first
            parts = links[start:]
            rule = FUSIONS.get(tuple(part.kind for part in parts))
            fused = rule(*parts) if rule else None
            if fused is None:
                continue
            kind, fields, donor, base = fused
            last.meta["origin"] = " → ".join(part.call.label for part in parts) + f" '{last.tensor}'"
            last.kind, last.fields, last.inputs = kind, fields, list(parts[0].inputs)
            last.weights, last.buffers, last.call, last.base = donor.weights, donor.buffers, donor.call, base
            for part in parts[:-1]:
                part.absorbed = True
            break


def live(records: list, output) -> list:
    """The records the output depends on, in order."""
    needed, stack = set(), [output]
    while stack:
        act = stack.pop()
        if id(act) in needed or not hasattr(act, "kind"):
            continue
        needed.add(id(act))
        stack.extend(act.inputs)
    return [r for r in records if id(r) in needed]


# ---- names ----------------------------------------------------------------------------------------------------
def call_name(entry) -> str:
    path, _, index = entry
    return path if index == 0 else f"{path}_{index}"


def name_records(records: list) -> None:
    """See :mod:`convcalc.importers.torch_map` for the rules."""
    per_call = Counter()
    for record in records:
        for entry in record.call.scope:
            per_call[(entry[0], entry[2])] += 1
    taken, counters = {"input"}, Counter()
    for record in records:
        scope = record.call.scope
        if scope and per_call[(scope[-1][0], scope[-1][2])] == 1:
            name, record.meta["scope"] = call_name(scope[-1]), scope[:-1]
        else:
            prefix = call_name(scope[-1]) if scope else ""
            count = counters[(prefix, record.base)]
            counters[(prefix, record.base)] += 1
            own = record.base if count == 0 else f"{record.base}_{count}"
            name, record.meta["scope"] = (f"{prefix}.{own}" if prefix else own), scope
        unique, n = name, 1
        while unique in taken:
            unique, n = f"{name}_{n}", n + 1
        taken.add(unique)
        record.name = unique


def origin(record) -> str:
    if "origin" in record.meta:
        return record.meta["origin"]
    call = record.call
    where = call.node.target if call.kind == "module" else call.node.name
    inside = f" in {call.scope[-1][1]} '{call.scope[-1][0]}'" if call.kind == "aten" and call.scope else ""
    return f"{call.label} '{where}'{inside}"


def imported_layers(records: list, arrays_of) -> list:
    """ImportedLayers, with ``arrays_of(record)`` giving each its arrays loader."""
    layers = []
    for record in records:
        inputs = [getattr(act, "name", "") or "input" for act in record.inputs]
        layers.append(ImportedLayer(record.name, record.kind, dict(record.fields), inputs,
                                    tuple((path, cls) for path, cls, _ in record.meta["scope"]), origin(record),
                                    record.tensor, arrays_of(record)))
    return layers


# ---- shared by the frontends -------------------------------------------------------------------------------
def unsupported_ops(records: list) -> list:
    """Records kept as ``unsupported`` placeholders, grouped by op (and reason): :class:`Unsupported`."""
    groups: dict = {}
    for record in records:
        if "unmapped" in record.meta:  # (the meta key a placeholder carries: torch_map, onnx_map)
            groups.setdefault(record.meta["unmapped"], []).append(record.meta["of"])
    return [Unsupported(f"{op} ({reason})" if reason else op, len(nodes), nodes[:FIRST_NAMES])
            for (op, reason), nodes in groups.items()]


def cached(make):
    """``make()``, called once, on first use."""
    made = []

    def get():
        if not made:
            made.append(make())
        return made[0]

    return get
