"""Layer what-ifs: one conv mapping built every way (standard, grouped, depthwise separable, …), each as a tiny spec
analysed by the cost model on its own, with the measured ratio to the standard conv next to the closed-form ratio.

The mapping comes from the ``--layer`` mini-syntax (:func:`parse_layer`) or from a conv of a spec
(:func:`layer_query_from_spec`). The designs are :data:`DESIGNS`.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from ..errors import SpecError

from .networks import ratio_text, ratio
from .yamlwrite import same_value, yaml_value


@dataclass
class ConvQuery:
    """A conv mapping to redesign: C_in → C_out, kernel, stride, padding, dilation, bias, at an input size.

    ``padding`` is a normalised padding value (an int, a per-axis tuple, or valid/same/full); the other per-axis
    values are tuples with one entry per spatial axis. ``groups`` is the layer's own group count, for the record
    (every design starts from the ungrouped mapping).
    """

    c_in: int
    c_out: int
    kernel: tuple[int, ...]
    sizes: tuple[int, ...]
    stride: tuple[int, ...] = ()
    padding: Any = "same"
    dilation: tuple[int, ...] = ()
    bias: bool = False
    groups: int = 1
    name: str = ""
    source: str = ""
    kind: str = "conv"
    #: fields of the spec's layer beyond the plain mapping, set to non-default values (e.g. mid, multiplier)
    extra: dict = field(default_factory=dict)

    def __post_init__(self):
        n = len(self.sizes)
        self.stride = tuple(self.stride) or (1,) * n
        self.dilation = tuple(self.dilation) or (1,) * n

    @property
    def ndim(self) -> int:
        return len(self.sizes)

    def describe(self) -> str:
        def axes(values):
            return "x".join(map(str, values)) if len(set(values)) > 1 else str(values[0])

        pad = self.padding
        if isinstance(pad, str):
            pad_text = pad
        elif isinstance(pad, tuple) and all(isinstance(p, int) for p in pad):
            pad_text = f"p{axes(pad)}"
        elif isinstance(pad, int):
            pad_text = f"p{pad}"
        else:
            pad_text = f"padding {yaml_value(pad)}"
        parts = [f"conv {self.c_in}->{self.c_out}", f"k{axes(self.kernel)}", f"s{axes(self.stride)}", pad_text]
        if set(self.dilation) != {1}:
            parts.append(f"d{axes(self.dilation)}")
        if self.groups != 1:
            parts.append(f"g{self.groups}")
        parts.append("bias" if self.bias else "nobias")
        parts.append("@" + "x".join(map(str, self.sizes)))
        return " ".join(parts)

    def conv_fields(self) -> dict:
        """The YAML fields of the standard conv with this mapping."""
        return {"out": self.c_out, "kernel": _axes(self.kernel), "stride": _axes(self.stride),
                "padding": yaml_value(self.padding), "dilation": _axes(self.dilation), "bias": self.bias}


def _axes(values: tuple[int, ...]):
    return values[0] if len(set(values)) == 1 else list(values)


# ---- the mini-syntax: "conv 128->128 k3 s1 p1 d1 g1 @56x56" ---------------------------------------------------------
LAYER_SYNTAX = ("conv CIN->COUT kK [sS] [pP|same|valid|full] [dD] [gG] [bias|nobias] @HxW (or @L, @DxHxW); "
                "K, S, P, D may be per axis (k3x1); defaults: s1, same padding, d1, g1, no bias")

_TOKEN = re.compile(r"(?P<key>[ksdpg])(?P<value>\d+(?:x\d+)*|same|valid|full)$")


def parse_layer(text: str) -> ConvQuery:
    """Read a conv description: ``conv 128->128 k3 s1 @56x56`` (see :data:`LAYER_SYNTAX`)."""
    def fail(message):
        raise SpecError(f"--layer {text!r}: {message}", None, f"write {LAYER_SYNTAX}")

    cleaned = re.sub(r"\s*(->|→)\s*", "->", text.strip().replace("×", "x"))
    tokens = cleaned.split()
    if not tokens or tokens[0].lower() != "conv":
        fail("the description must start with `conv`")
    values: dict[str, Any] = {}
    channels = sizes = None
    bias = False
    for token in tokens[1:]:
        low = token.lower()
        match = _TOKEN.match(low)
        if re.fullmatch(r"\d+->\d+", low):
            channels = tuple(int(v) for v in low.split("->"))
        elif low.startswith("@") and re.fullmatch(r"@\d+(x\d+){0,2}", low):
            sizes = tuple(int(v) for v in low[1:].split("x"))
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
                values[key] = tuple(int(v) for v in value.split("x"))
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


def query_from_node(node, in_shape: tuple[int, ...], out_shape: tuple[int, ...], source: str = "") -> ConvQuery:
    """The mapping of a conv-like node (conv, depthwise, pointwise, or a variant built on them) at its input."""
    from ..layers import REGISTRY
    from ..layers.conv import Conv, ConvTranspose

    cls = REGISTRY[node.kind]
    if not issubclass(cls, Conv) or issubclass(cls, ConvTranspose):
        raise SpecError(f"layer `{node.name}` is a `{node.kind}`, not a convolution", node.mark,
                        "pick a conv, depthwise or pointwise layer (`convcalc analyze` lists the layers)")
    _, _, groups, kernel, stride, dilation, *_ = cls(node).geometry(tuple(in_shape))
    plain = ("out", "kernel", "stride", "padding", "dilation", "groups", "bias")
    extra = {key: yaml_value(value) for key, value in node.fields.items()
             if key not in plain and key in cls.fields and not cls.fields[key].required
             and not same_value(value, cls.fields[key].default)}
    return ConvQuery(in_shape[0], out_shape[0], tuple(kernel), tuple(in_shape[1:]), tuple(stride),
                     node.fields.get("padding", 0), tuple(dilation), bool(node.fields.get("bias", False)),
                     groups, node.name, source, node.kind, extra)


def layer_query_from_spec(spec: str, name: str, batch: int | None = None) -> ConvQuery:
    """The conv named ``name`` in ``spec``, at the input shape it really gets."""
    from ..cost.analysis import analyze
    from ..errors import did_you_mean
    from ..spec.loader import load

    network = load(spec)
    graph = network.expand(batch=batch)
    nodes = {node.name: node for node in graph.nodes}
    if name not in nodes:
        raise SpecError(f"--layer {name}: no layer of that name in {network.source}", None,
                        did_you_mean(name, list(nodes)))
    report = analyze(graph)
    shapes = {graph.input_name: tuple(graph.input_shape)}
    shapes.update({layer.name: tuple(layer.output_shape) for layer in report.layers})
    node = nodes[name]
    return query_from_node(node, shapes[node.inputs[0]], shapes[name], network.source)


# ---- designs ----------------------------------------------------------------------------------------------------
#: a field a kind may lack, when the design asks for its neutral value (it then simply has no such option)
_NEUTRAL = {"stride": 1, "dilation": 1, "groups": 1, "bias": False, "padding": 0}


@dataclass
class Built:
    """A design applied to a query: its layers (YAML dicts, unnamed), or why it does not apply."""

    layers: list[dict] = field(default_factory=list)
    reason: str = ""


def _kinds_missing(kinds) -> list[str]:
    from ..layers import REGISTRY

    return [kind for kind in kinds if kind not in REGISTRY]


def _fit_fields(layers: list[dict]) -> Built:
    """Drop keys a kind does not have when their value is neutral; otherwise the design does not apply."""
    from ..layers import REGISTRY

    missing = _kinds_missing(dict.fromkeys(layer["type"] for layer in layers))
    if missing:
        return Built(reason=f"layer kind {', '.join(f'`{k}`' for k in missing)} is not registered in this "
                            f"version of convcalc (see docs/variants.md)")
    out = []
    for layer in layers:
        fields = REGISTRY[layer["type"]].fields
        kept = {"type": layer["type"]}
        for key, value in layer.items():
            if key == "type":
                continue
            if key in fields:
                kept[key] = value
            elif _NEUTRAL.get(key, object()) != value and not (key == "padding" and value == "valid"):
                return Built(reason=f"`{layer['type']}` has no `{key}` field (needed: {key} = {value})")
        out.append(kept)
    return Built(out)


def _divides(g: int, q: ConvQuery) -> str:
    if g < 2:
        return "the group count must be at least 2"
    if q.c_in % g or q.c_out % g:
        return f"{g} does not divide both channel counts ({q.c_in}, {q.c_out})"
    return ""


def build_grouped(q: ConvQuery, g: int) -> Built:
    reason = _divides(g, q)
    return Built(reason=reason) if reason else _fit_fields([{"type": "conv", **q.conv_fields(), "groups": g}])


def build_standard(q: ConvQuery, _arg=None) -> Built:
    return _fit_fields([{"type": "conv", **q.conv_fields()}])


def build_variant(kind: str):
    """A design that is one registered variant kind taking the conv's own fields (out, kernel, stride, …)."""

    def build(q: ConvQuery, _arg=None) -> Built:
        return _fit_fields([{"type": kind, **q.conv_fields()}])

    return build


def build_shuffle(q: ConvQuery, g: int) -> Built:
    """ShuffleNet-style: grouped k×k conv C_in→C_out, channel shuffle, pointwise grouped conv C_out→C_out."""
    reason = _divides(g, q)
    if reason:
        return Built(reason=reason)
    return _fit_fields([{"type": "conv", **q.conv_fields(), "groups": g},
                        {"type": "channel_shuffle", "groups": g},
                        {"type": "pointwise", "out": q.c_out, "groups": g, "bias": q.bias}])


def dilated_kernel(q: ConvQuery, d: int) -> tuple[int, ...] | None:
    """Taps per axis of a conv with dilation ``d`` and the same effective kernel, if that maps exactly with fewer
    taps: d'·(k' − 1) = d·(k − 1) on every axis, k' < k on some axis and at least 2 taps wherever k > 1."""
    spans = [dil * (k - 1) for k, dil in zip(q.kernel, q.dilation)]
    if any(span % d for span in spans):
        return None
    kernel = tuple(span // d + 1 for span in spans)
    if any(kk < 2 for kk, k in zip(kernel, q.kernel) if k > 1) or kernel == q.kernel \
            or any(kk > k for kk, k in zip(kernel, q.kernel)):
        return None
    return kernel


def dilation_choices(q: ConvQuery) -> list[int]:
    """Every dilation that gives the same receptive field with fewer taps (k = 5: d = 2 with 3 taps, d = 4 with 2)."""
    top = max(dil * (k - 1) for k, dil in zip(q.kernel, q.dilation))
    return [d for d in range(2, top + 1) if d > max(q.dilation) and dilated_kernel(q, d)]


def build_dilated(q: ConvQuery, d: int) -> Built:
    kernel = dilated_kernel(q, d)
    if kernel is None or d <= max(q.dilation):
        return Built(reason=f"dilation {d} does not give the effective kernel "
                            f"{'x'.join(str(dl * (k - 1) + 1) for k, dl in zip(q.kernel, q.dilation))} "
                            f"with fewer taps")
    return _fit_fields([{"type": "conv", **q.conv_fields(), "kernel": _axes(kernel), "dilation": d}])


def build_tiled(q: ConvQuery, t: int) -> Built:
    """Tiled conv (Goodfellow et al. 2016, ch. 9): t per axis, t^n kernels cycled over the output positions."""
    if t < 1:
        return Built(reason="the tile must be at least 1")
    return _fit_fields([{"type": "tiled", **q.conv_fields(), "tile": t}])


@dataclass(frozen=True)
class Design:
    """One way to build the mapping. ``arg`` names its integer parameter (groups, dilation, tile) if any."""

    key: str
    label: str
    build: Any
    kinds: tuple[str, ...] = ()
    arg: str = ""
    default_arg: int | None = None

    def title(self, arg: int | None) -> str:
        return f"{self.label} {self.arg}={arg}" if self.arg and arg is not None else self.label


DESIGNS: dict[str, Design] = {d.key: d for d in (
    Design("standard", "standard", build_standard, ("conv",)),
    Design("grouped", "grouped", build_grouped, ("conv",), "g", 2),
    Design("depthwise_separable", "depthwise separable", build_variant("depthwise_separable"),
           ("depthwise_separable",)),
    Design("separable", "spatially separable", build_variant("separable"), ("separable",)),
    Design("flattened", "flattened", build_variant("flattened"), ("flattened",)),
    Design("shuffle", "shuffle-grouped", build_shuffle,
           ("conv", "channel_shuffle", "pointwise"), "g", 4),
    Design("dilated", "dilated", build_dilated, ("conv",), "d", 2),
    Design("locally_connected", "locally connected", build_variant("locally_connected"),
           ("locally_connected",)),
    Design("tiled", "tiled", build_tiled, ("tiled",), "t", 2),
)}
ALIASES = {"dws": "depthwise_separable", "depthwise-separable": "depthwise_separable", "group": "grouped",
           "groups": "grouped", "shuffled": "shuffle", "shuffle_grouped": "shuffle", "spatial": "separable",
           "lc": "locally_connected", "unshared": "locally_connected", "dilation": "dilated"}
#: ShuffleNet v1 (Zhang et al. 2018, Table 1) tries g = 1, 2, 3, 4, 8
SHUFFLE_GROUPS = (2, 3, 4, 8)


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


def _k_text(kernel: tuple[int, ...]) -> str:
    if len(set(kernel)) == 1:
        return f"{kernel[0]}{'²' if len(kernel) == 2 else '³' if len(kernel) == 3 else ''}"
    return "·".join(map(str, kernel))


def closed_form(design: str, arg: int | None, q: ConvQuery, out_sizes: tuple[int, ...],
                layers: list[dict]) -> tuple[Fraction | None, Fraction | None, str]:
    """(params ratio, MACs ratio, formula) to a standard conv, from the formulas in the design notes and papers.

    Bias is left out (the ratios are those of the weights and the multiply-accumulates). Spatially separable and
    flattened convs run one 1-D conv per axis; stage i sees the output size on the axes before it and the input
    size on the axes after it, so their ratios depend on the padding and stride.
    """
    C, N, K = q.c_in, q.c_out, math.prod(q.kernel)
    kt = _k_text(q.kernel)
    if design == "standard":
        return Fraction(1), Fraction(1), "1"
    if design == "grouped":
        return Fraction(1, arg), Fraction(1, arg), f"1/g = 1/{arg}"
    if design == "depthwise_separable":
        r = Fraction(1, N) + Fraction(1, K)
        return r, r, f"1/C_out + 1/k{'²' if q.ndim == 2 else ''} = 1/{N} + 1/{kt}"
    if design == "shuffle":
        r = Fraction(1, arg) + Fraction(N, arg * C * K)
        return r, r, f"1/g + C_out/(g·C_in·k²) = 1/{arg} + {N}/({arg}·{C}·{kt})"
    if design == "dilated":
        kernel = dilated_kernel(q, arg)
        r = Fraction(math.prod(kernel), K)
        return r, r, f"k'^n/k^n = {_k_text(kernel)}/{kt}"
    if design == "locally_connected":
        positions = math.prod(out_sizes)
        return Fraction(positions), Fraction(1), f"params × output positions ({'·'.join(map(str, out_sizes))}); " \
                                                 f"MACs × 1"
    if design == "tiled":
        kernels = math.prod(min(arg, n) for n in out_sizes)
        return Fraction(kernels), Fraction(1), f"params × t^n = {arg}^{q.ndim}; MACs × 1"
    # one 1-D stage per axis, in axis order; stage i has already reduced axes ≤ i to their output size
    sizes_in, sizes_out = q.sizes, out_sizes
    positions = [math.prod(sizes_out[:i + 1]) * math.prod(sizes_in[i + 1:]) for i in range(q.ndim)]
    standard_macs = C * N * K * math.prod(sizes_out)
    if design == "separable":
        # C_in → M → … → M → C_out (M = mid, default C_out); the design notes' ratio for one channel in valid mode
        # is 1/m + 1/(m(1 − (m−1)/N)), 2/m with same padding
        mid = _mid_channels(layers, N)
        chans = [(C, N)] if q.ndim == 1 else [(C, mid)] + [(mid, mid)] * (q.ndim - 2) + [(mid, N)]
        params = Fraction(sum(a * b * k for (a, b), k in zip(chans, q.kernel)), C * N * K)
        macs = Fraction(sum(a * b * k * n for (a, b), k, n in zip(chans, q.kernel, positions)), standard_macs)
        if q.ndim != 2:
            return params, macs, "Σ_i C_in,i·C_out,i·k_i·positions_i / standard (one 1-D conv per axis)"
        (kh, kw), w_in, w_out = q.kernel, sizes_in[1], sizes_out[1]
        if kh == kw and mid == C == N and w_in == w_out:
            text = f"2/k = 2/{kh}"
        elif kh == kw and mid == C == N:
            text = f"1/k + W_in/(k·W_out) = 1/{kh} + {w_in}/({kh}·{w_out})  (notes: 1/m + 1/(m(1 − (m−1)/N)))"
        else:
            text = f"M·W_in/(C_out·W_out·k_w) + M/(C_in·k_h) = {mid}·{w_in}/({N}·{w_out}·{kw}) + {mid}/({C}·{kh})"
        return params, macs, text
    if design == "flattened":
        # lateral 1×1 (C_in → F) on the input, then one 1-D conv per axis on each channel (Jin et al. 2014);
        # params F·(C + Σk)
        params = Fraction(C + sum(q.kernel), C * K)
        macs = Fraction(C * math.prod(sizes_in) + sum(k * n for k, n in zip(q.kernel, positions)),
                        C * K * math.prod(sizes_out))
        if q.ndim == 2 and len(set(q.kernel)) == 1 and tuple(sizes_in) == tuple(sizes_out):
            k = q.kernel[0]
            return params, macs, f"1/k² + 2/(C_in·k) = 1/{k * k} + 2/({C}·{k})"
        return params, macs, "(C_in·ΠN_in + Σ_i k_i·positions_i)/(C_in·Πk·ΠN_out)"
    return None, None, ""


def _mid_channels(layers: list[dict], default: int) -> int:
    for layer in layers:
        for key in ("mid", "mid_channels", "intermediate"):
            if isinstance(layer.get(key), int):
                return layer[key]
    return default


def parse_groups(text: str | None) -> list[int] | None:
    """``--groups 2,4,8`` → [2, 4, 8]."""
    if not text:
        return None
    try:
        values = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise SpecError(f"--groups {text}: not a list of whole numbers", None, "write e.g. --groups 2,4,8") from None
    if not values or min(values) < 2:
        raise SpecError(f"--groups {text}: group counts must be at least 2", None, "write e.g. --groups 2,4,8")
    return values


def design_args(design: Design, q: ConvQuery, groups: list[int] | None = None) -> list[int | None]:
    """The parameter values a design is tried with in the what-if table."""
    if design.key == "grouped":
        common = math.gcd(q.c_in, q.c_out)
        return groups or [g for g in range(2, min(q.c_in, q.c_out)) if common % g == 0]
    if design.key == "shuffle":
        return groups or [g for g in SHUFFLE_GROUPS if not _divides(g, q)]
    if design.key == "dilated":
        return dilation_choices(q)
    if design.arg:
        return [design.default_arg]
    return [None]


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
    """Every design of the mapping ``q``, each analysed as a tiny spec; ratios against the standard conv."""
    if math.prod(q.kernel) == 1:
        note = "a 1×1 conv: only the grouped designs apply"
    else:
        note = ""
    rows: list[WhatIfRow] = []
    skipped: list[tuple[str, str]] = []
    standard = None
    for design in DESIGNS.values():
        args = design_args(design, q, groups)
        if not args:
            why = {"grouped": f"no group count between 2 and {min(q.c_in, q.c_out) - 1} divides both "
                              f"{q.c_in} and {q.c_out}",
                   "shuffle": f"none of g = {', '.join(map(str, SHUFFLE_GROUPS))} divides both channel counts",
                   "dilated": "no dilation gives the same effective kernel with fewer taps"}.get(design.key, "")
            skipped.append((design.label, why))
            continue
        for arg in args:
            title = design.title(arg)
            if note and design.key not in ("standard", "grouped"):
                skipped.append((design.label, note))
                break
            missing = _kinds_missing(design.kinds)
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
            row.closed_params, row.closed_macs, row.formula = closed_form(
                design.key, arg, q, tuple(standard.output_shape[1:]), built.layers)
            rows.append(row)
    notes = []
    if q.name:  # a layer of a spec: mark the row it already is
        design, arg = ("standard", None) if q.kind == "conv" and q.groups == 1 else \
            ("grouped", q.groups) if q.kind == "conv" else (q.kind, None)
        for row in rows:
            if row.design == design and row.arg == arg and not q.extra:
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
                  "padding": yaml_value(q.padding), "dilation": list(q.dilation), "bias": q.bias,
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

    key, _, raw = text.strip().partition(":")
    key = ALIASES.get(key.strip(), key.strip())
    if key not in DESIGNS or key == "standard":
        raise SpecError(f"--as {text}: unknown design `{key}`", None,
                        did_you_mean(key, [k for k in DESIGNS if k != "standard"]))
    design = DESIGNS[key]
    if raw and not design.arg:
        raise SpecError(f"--as {text}: `{key}` takes no number", None, f"write --as {key}")
    if raw:
        try:
            arg = int(raw)
        except ValueError:
            raise SpecError(f"--as {text}: `{raw}` is not a whole number", None, f"write e.g. --as {key}:4") from None
        if arg < (1 if key == "tiled" else 2):
            raise SpecError(f"--as {text}: {design.arg} must be at least {1 if key == 'tiled' else 2}", None,
                            f"write e.g. --as {key}:4")
        return design, arg
    if key in ("grouped", "shuffle"):
        raise SpecError(f"--as {text}: give the group count", None, f"write e.g. --as {key}:4")
    return design, design.default_arg


