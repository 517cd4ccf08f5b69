"""Layer what-ifs: one conv mapping built every way (standard, grouped, depthwise separable, …), each as a tiny spec
analysed by the cost model on its own, with the measured ratio to the standard conv next to the closed-form ratio.

The mapping (:class:`~convcalc.layers.design.ConvQuery`) comes from the ``--layer`` mini-syntax
(:func:`parse_layer`) or from a conv of a spec (:func:`layer_query_from_spec`). The designs, and their closed
forms, are declared by the layer kinds they belong to (:func:`convcalc.layers.design.all_designs`).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from ..errors import SpecError
from ..limits import shorten, whole_number

from ..layers.design import ConvQuery, Design, all_designs, design_aliases, missing_kinds
from .networks import ratio, ratio_text
from ..spec.fields import plain_value


# ---- the mini-syntax: "conv 128->128 k3 s1 p1 d1 g1 @56x56" ---------------------------------------------------------
LAYER_WORD = "conv"  # the mini-syntax's first word
LAYER_SYNTAX = ("conv CIN->COUT kK [sS] [pP|same|valid|full] [dD] [gG] [bias|nobias] @HxW (or @L, @DxHxW); "
                "K, S, P, D may be per axis (k3x1); defaults: s1, same padding, d1, g1, no bias")

_TOKEN = re.compile(r"(?P<key>[ksdpg])(?P<value>\d+(?:x\d+)*|same|valid|full)$")


def parse_layer(text: str) -> ConvQuery:
    """Read a conv description: ``conv 128->128 k3 s1 @56x56`` (see :data:`LAYER_SYNTAX`)."""
    def fail(message):
        raise SpecError(f"--layer `{shorten(text, 200)}`: {message}", None, f"write {LAYER_SYNTAX}")

    def number(digits: str) -> int:
        return whole_number(digits, f"--layer `{shorten(text, 200)}`")

    cleaned = re.sub(r"\s*(->|→)\s*", "->", text.strip().replace("×", "x"))
    tokens = cleaned.split()
    if not tokens or tokens[0].lower() != LAYER_WORD:
        fail("the description must start with `conv`")
    values: dict[str, Any] = {}
    channels = sizes = None
    bias = False
    for token in tokens[1:]:
        low = token.lower()
        match = _TOKEN.match(low)
        if re.fullmatch(r"\d+->\d+", low):
            channels = tuple(number(v) for v in low.split("->"))
        elif low.startswith("@") and re.fullmatch(r"@\d+(x\d+){0,2}", low):
            sizes = tuple(number(v) for v in low[1:].split("x"))
        elif low in ("same", "valid", "full"):
            values["p"] = low
        elif low in ("bias", "nobias"):
            bias = low == "bias"
        elif match:
            key, value = match["key"], match["value"]
            if key in values:
                fail(f"`{key}` given twice")
            if value in ("same", "valid", "full"):
                if key != "p":
                    fail(f"`{token}`: only padding takes a word")
                values[key] = value
            else:
                values[key] = tuple(number(v) for v in value.split("x"))
        else:
            fail(f"cannot read `{token}`")
    if channels is None:
        fail("missing the channels, e.g. 128->128")
    if sizes is None:
        fail("missing the input size, e.g. @56x56")
    if "k" not in values:
        fail("missing the kernel, e.g. k3")
    n = len(sizes)

    def per_axis(key, default):
        value = values.get(key, (default,))
        if len(value) == 1:
            value = value * n
        if len(value) != n:
            fail(f"`{key}` has {len(value)} values but the input has {n} spatial axes")
        if min(value) < (0 if key == "p" else 1):
            fail(f"`{key}` must be positive")
        return value

    kernel, stride, dilation = per_axis("k", 1), per_axis("s", 1), per_axis("d", 1)
    padding = values.get("p", "same")
    if not isinstance(padding, str):
        padding = per_axis("p", 0)
        padding = padding[0] if len(set(padding)) == 1 else padding
    groups = values.get("g", (1,))[0]
    if min(channels) < 1 or min(sizes) < 1:
        fail("channels and sizes must be positive")
    return ConvQuery(channels[0], channels[1], kernel, sizes, stride, padding, dilation, bias, groups,
                     source="--layer")


def layer_query_from_spec(spec: str, name: str, batch: int | None = None, allow_unsupported: bool = False,
                          input_shape: tuple[int, ...] | None = None) -> ConvQuery:
    """The conv named ``name`` in ``spec`` (at ``input_shape`` when given), at the input shape it really gets."""
    from ..cost.analysis import analyze
    from ..errors import did_you_mean
    from ..importers.source import load_network

    network = load_network(spec, input_shape, allow_unsupported=allow_unsupported)
    graph = network.expand(input_shape=input_shape, batch=batch)
    nodes = {node.name: node for node in graph.nodes}
    if name not in nodes:
        raise SpecError(f"--layer {name}: no layer of that name in {network.source}", None,
                        did_you_mean(name, list(nodes)))
    report = analyze(graph)
    shapes = {graph.input_name: tuple(graph.input_shape)}
    shapes.update({layer.name: tuple(layer.output_shape) for layer in report.layers})
    node = nodes[name]
    return query_from_node(node, shapes[node.inputs[0]], shapes[name], network.source)


def query_from_node(node, in_shape, out_shape, source: str = "") -> ConvQuery:
    """The conv mapping of a node at its input (its kind's ``conv_query``), or bad input if it is not a conv."""
    from ..layers import REGISTRY

    query = REGISTRY[node.kind](node).conv_query(tuple(in_shape), tuple(out_shape), source)
    if query is None:
        raise SpecError(f"layer `{node.name}` is a `{node.kind}`, not a convolution", node.mark,
                        "pick a conv, depthwise or pointwise layer (`convcalc analyze` lists the layers)")
    return query


# ---- the what-if table ------------------------------------------------------------------------------------------
@dataclass
class WhatIfRow:
    """One design of the mapping, analysed as a tiny spec by the cost model (batch 1)."""

    design: str
    label: str
    arg: int | None
    layers: list[dict]
    params: int
    macs: int
    flops: int
    activation_bytes: int
    peak_activation_bytes: int
    rf: list[int]
    output_shape: list[int]
    params_ratio: Fraction | None = None
    macs_ratio: Fraction | None = None
    closed_params: Fraction | None = None
    closed_macs: Fraction | None = None
    formula: str = ""
    as_written: bool = False

    @property
    def kinds(self) -> list[str]:
        return [layer["type"] for layer in self.layers]


@dataclass
class WhatIf:
    query: ConvQuery
    rows: list[WhatIfRow]
    skipped: list[tuple[str, str]]  # (design title, why it is not shown)
    notes: list[str] = field(default_factory=list)


def tiny_spec(q: ConvQuery, layers: list[dict], name: str = "what-if") -> dict:
    return {"name": name, "input": [q.c_in, *q.sizes], "batch": 1, "layers": [dict(layer) for layer in layers]}


def parse_groups(text: str | None) -> list[int] | None:
    """``--groups 2,4,8`` → [2, 4, 8]."""
    if not text:
        return None
    try:
        values = [whole_number(part, "--groups", shown=text) for part in text.split(",") if part.strip()]
    except ValueError:
        raise SpecError(f"--groups {shorten(text)}: not a list of whole numbers", None,
                        "write e.g. --groups 2,4,8") from None
    if not values or min(values) < 2:
        raise SpecError(f"--groups {shorten(text)}: group counts must be at least 2", None, "write e.g. --groups 2,4,8")
    return values


def intermediate_bytes(report) -> int:
    """Bytes of the maps a composite layer computes inside itself (its ``details.sub_rows`` before the last), so
    a depthwise separable layer counts its depthwise output as two separate layers would."""
    from ..cost.conventions import DTYPE_BYTES

    total = 0
    for layer in report.layers:
        for sub in (layer.details or {}).get("sub_rows", [])[:-1]:
            total += math.prod(sub["output_shape"]) * DTYPE_BYTES[report.dtype] * report.batch
    return total


def analyze_design(q: ConvQuery, layers: list[dict]):
    from ..cost.analysis import analyze
    from ..spec.loader import load

    return analyze(load(tiny_spec(q, layers)))


def what_if(q: ConvQuery, groups: list[int] | None = None) -> WhatIf:
    """Every design of the mapping ``q`` (:func:`convcalc.layers.design.all_designs`), each analysed as a tiny
    spec; ratios against the standard conv."""
    note = "a 1×1 conv: only the grouped designs apply" if math.prod(q.kernel) == 1 else ""
    rows: list[WhatIfRow] = []
    skipped: list[tuple[str, str]] = []
    standard = None
    for design in all_designs().values():
        args = design.args(q, groups)
        if not args:
            skipped.append((design.label, design.why_none(q)))
            continue
        for arg in args:
            title = design.title(arg)
            if note and not design.any_kernel:
                skipped.append((design.label, note))
                break
            missing = missing_kinds(design.kinds)
            if missing:  # one note for the design, not one per group count
                skipped.append((design.label, f"layer kind {', '.join(f'`{k}`' for k in missing)} is not "
                                              f"registered in this version of convcalc (see docs/variants.md)"))
                break
            built = design.build(q, arg)
            if built.reason:
                skipped.append((title, built.reason))
                continue
            try:
                report = analyze_design(q, built.layers)
            except SpecError as err:
                skipped.append((title, f"the cost model rejects it: {err.message}"))
                continue
            last = report.layers[-1]
            t = report.totals
            row = WhatIfRow(design.key, title, arg, built.layers, t.params, t.macs, t.flops,
                            t.activation_bytes + intermediate_bytes(report), report.peak_activation_bytes,
                            list(last.rf.size), list(last.output_shape))
            if standard is None:
                standard = row
            elif row.output_shape != standard.output_shape:
                skipped.append((title, f"output {'×'.join(map(str, row.output_shape))} differs from the "
                                       f"standard conv's {'×'.join(map(str, standard.output_shape))}"))
                continue
            row.params_ratio, row.macs_ratio = ratio(row.params, standard.params), ratio(row.macs, standard.macs)
            row.closed_params, row.closed_macs, row.formula = design.closed_form(
                q, arg, tuple(standard.output_shape[1:]), built.layers)
            rows.append(row)
    notes = []
    if q.name:  # a layer of a spec: mark the row it already is
        for row in rows:
            if (row.design, row.arg) == q.written_as and not q.extra:
                row.as_written = True
        if not any(row.as_written for row in rows):
            extra = ", ".join(f"{k} = {_short_value(v)}" for k, v in q.extra.items())
            notes.append(f"`{q.name}` as written is a `{q.kind}`" + (f" with groups = {q.groups}" if q.groups > 1
                                                                        else "")
                         + (f" and {extra}" if extra else "") + ": no row is exactly that layer; the rows are the "
                         f"plain {q.c_in} → {q.c_out} mapping")
    return WhatIf(q, rows, skipped, notes)


def _short_value(value) -> str:
    if isinstance(value, list) and all(isinstance(v, dict) and "type" in v for v in value):
        return "[" + ", ".join(v["type"] for v in value) + "]"
    return str(value)


def what_if_dict(result: WhatIf) -> dict:
    q = result.query
    return {
        "version": 1,
        "layer": {"name": q.name, "source": q.source, "description": q.describe(), "c_in": q.c_in,
                  "c_out": q.c_out, "kernel": list(q.kernel), "stride": list(q.stride),
                  "padding": plain_value(q.padding), "dilation": list(q.dilation), "bias": q.bias,
                  "groups": q.groups, "input": [q.c_in, *q.sizes]},
        "rows": [{"design": r.design, "label": r.label, "arg": r.arg, "as_written": r.as_written,
                  "layers": r.layers, "params": r.params, "macs": r.macs, "flops": r.flops,
                  "activation_bytes": r.activation_bytes, "peak_activation_bytes": r.peak_activation_bytes,
                  "rf": r.rf, "output_shape": r.output_shape,
                  "params_ratio": ratio_text(r.params_ratio), "macs_ratio": ratio_text(r.macs_ratio),
                  "closed_form_params_ratio": ratio_text(r.closed_params),
                  "closed_form_macs_ratio": ratio_text(r.closed_macs), "formula": r.formula}
                 for r in result.rows],
        "skipped": [{"design": title, "reason": reason} for title, reason in result.skipped],
        "notes": list(result.notes),
    }




def parse_target(text: str) -> tuple[Design, int | None]:
    """``depthwise_separable``, ``grouped:4``, ``shuffle:4``, ``dilated:2``, ``tiled:3`` … → (design, arg)."""
    from ..errors import did_you_mean

    designs = {key: design for key, design in all_designs().items() if not design.reference}
    key, _, raw = text.strip().partition(":")
    key = design_aliases().get(key.strip(), key.strip())
    if key not in designs:
        raise SpecError(f"--as {shorten(text)}: unknown design `{shorten(key)}`", None,
                        did_you_mean(key, list(designs)))
    design = designs[key]
    if raw and not design.arg:
        raise SpecError(f"--as {shorten(text)}: `{key}` takes no number", None, f"write --as {key}")
    if raw:
        try:
            arg = whole_number(raw, "--as", shown=text)
        except ValueError:
            raise SpecError(f"--as {shorten(text)}: `{shorten(raw)}` is not a whole number", None,
                            f"write e.g. --as {key}:4") from None
        if arg < design.least:
            raise SpecError(f"--as {shorten(text)}: {design.arg} must be at least {design.least}", None,
                            f"write e.g. --as {key}:4")
        return design, arg
    if design.arg_required:
        raise SpecError(f"--as {shorten(text)}: give the group count", None, f"write e.g. --as {key}:4")
    return design, design.default_arg
