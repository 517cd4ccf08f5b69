"""Design comparisons: networks side by side, parameter sweeps, layer what-ifs and whole-network rewrites.

Logic only: every number here comes from :func:`convcalc.analysis.analyze` (the cost model), and the results are
plain dataclasses that :mod:`convcalc.render.compare` turns into text. No numpy, no Rich.

* :func:`compare_networks` — totals, per-stage and per-layer diffs of two or more specs against the first.
* :func:`sweep` — the Cartesian product of ``--set NAME=v1,v2,…`` values, analysed one point at a time.
* :func:`what_if` — one conv layer built every way (standard, grouped, depthwise separable, …), each as a tiny
  spec analysed on its own, with the measured ratio to standard next to the closed-form ratio.
* :func:`rewrite_spec` — every eligible conv of a network replaced by one design; the result is a flat spec dict.
"""

from __future__ import annotations

import itertools
import math
import re
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from .errors import SpecError

#: the counts compared everywhere (all exact ints)
COUNTS = ("params", "macs", "flops", "activation_bytes")


def ratio(value: int, base: int) -> Fraction | None:
    """``value / base`` exactly; None when the base is 0 (no meaningful ratio)."""
    return Fraction(value, base) if base else None


# =====================================================================================================================
# 2. Networks side by side
# =====================================================================================================================
@dataclass
class Entry:
    """One network, or one stage or layer of it: its exact counts (and, for a layer, its type and output)."""

    params: int = 0
    macs: int = 0
    flops: int = 0
    activation_bytes: int = 0
    type: str = ""
    output_shape: list[int] = field(default_factory=list)
    layers: int = 0

    def counts(self) -> dict[str, int]:
        return {key: getattr(self, key) for key in COUNTS}


@dataclass
class Line:
    """A row of a comparison: one key (network, stage or layer name) with an entry per spec (None = absent).

    ``status[i]`` compares spec i with spec 0: ``base`` (i = 0), ``same``, ``changed``, ``added`` (absent from
    spec 0), ``removed`` (absent from spec i) or ``absent`` (in neither).
    """

    key: str
    entries: list[Entry | None]
    status: list[str]

    def delta(self, index: int, key: str) -> int | None:
        base, other = self.entries[0], self.entries[index]
        if base is None or other is None:
            return None
        return getattr(other, key) - getattr(base, key)

    def ratio(self, index: int, key: str) -> Fraction | None:
        base, other = self.entries[0], self.entries[index]
        if base is None or other is None:
            return None
        return ratio(getattr(other, key), getattr(base, key))

    @property
    def differs(self) -> bool:
        return any(s not in ("base", "same") for s in self.status)


@dataclass
class NetworkComparison:
    """What ``convcalc compare a.yaml b.yaml …`` shows: every spec against the first."""

    labels: list[str]
    sources: list[str]
    inputs: list[list[int]]
    batches: list[int]
    total: Line  # key "Total": one entry per spec
    peak_activation_bytes: list[int]
    stages: list[Line]
    layers: list[Line]

    @property
    def unchanged_layers(self) -> int:
        return sum(1 for line in self.layers if not line.differs)


def stage_of(name: str) -> str:
    """The stage a layer belongs to: its top-level block instance or layer, without the repetition index.

    ``layer1.0.conv1`` → ``layer1`` (torchvision's stages), ``block7_11.3.dw`` → ``block7_11``, ``conv1`` → ``conv1``.
    """
    return name.split(".", 1)[0]


def _layer_entry(layer) -> Entry:
    return Entry(layer.params, layer.macs, layer.flops, layer.activation_bytes, layer.type,
                 list(layer.output_shape), 1)


def _status(entries: list[Entry | None], same) -> list[str]:
    base = entries[0]
    out = ["base"]
    for other in entries[1:]:
        if base is None and other is None:
            out.append("absent")
        elif base is None:
            out.append("added")
        elif other is None:
            out.append("removed")
        else:
            out.append("same" if same(base, other) else "changed")
    return out


def _same_layer(a: Entry, b: Entry) -> bool:
    return (a.type, a.output_shape, a.counts()) == (b.type, b.output_shape, b.counts())


def _same_counts(a: Entry, b: Entry) -> bool:
    return a.counts() == b.counts() and a.layers == b.layers


def merged_order(sequences: list[list[str]]) -> list[str]:
    """The union of several name sequences, in the first one's order, each new name placed after the name that
    precedes it in its own sequence (so an inserted layer shows up where it sits in the network)."""
    order: list[str] = list(dict.fromkeys(sequences[0])) if sequences else []
    for sequence in sequences[1:]:
        known = set(order)
        cursor = -1
        for name in sequence:
            if name in known:
                cursor = order.index(name)
            else:
                cursor += 1
                order.insert(cursor, name)
                known.add(name)
    return order


def unique_labels(names: list[str]) -> list[str]:
    """Spec names, made unique with ``#2``, ``#3`` suffixes when the same network is given twice."""
    seen: dict[str, int] = {}
    out = []
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        out.append(name if seen[name] == 1 else f"{name}#{seen[name]}")
    return out


def compare_reports(reports: list, labels: list[str] | None = None) -> NetworkComparison:
    """Compare analysed reports (:class:`convcalc.report.Report`) against the first one."""
    if len(reports) < 2:
        raise SpecError("compare needs at least two networks", None,
                        "give two or more specs, or one spec with --as or --layer")
    labels = unique_labels(labels or [r.name for r in reports])
    totals = [Entry(*(getattr(r.totals, k) for k in COUNTS), layers=r.totals.layers) for r in reports]
    total = Line("Total", list(totals), _status(list(totals), _same_counts))

    stage_maps: list[dict[str, Entry]] = []
    for report in reports:
        stages: dict[str, Entry] = {}
        for layer in report.layers:
            entry = stages.setdefault(stage_of(layer.name), Entry())
            for key in COUNTS:
                setattr(entry, key, getattr(entry, key) + getattr(layer, key))
            entry.layers += 1
            entry.output_shape = list(layer.output_shape)
        stage_maps.append(stages)
    stage_order = merged_order([list(m) for m in stage_maps])
    stages = []
    for key in stage_order:
        entries = [m.get(key) for m in stage_maps]
        stages.append(Line(key, entries, _status(entries, _same_counts)))

    layer_maps = [{layer.name: _layer_entry(layer) for layer in r.layers} for r in reports]
    layers = []
    for key in merged_order([[layer.name for layer in r.layers] for r in reports]):
        entries = [m.get(key) for m in layer_maps]
        layers.append(Line(key, entries, _status(entries, _same_layer)))

    return NetworkComparison(labels, [r.source for r in reports], [list(r.input) for r in reports],
                             [r.batch for r in reports], total, [r.peak_activation_bytes for r in reports],
                             stages, layers)


def compare_networks(specs: list[str], batch: int | None = None, sets: dict | None = None) -> NetworkComparison:
    """Load, analyse and compare specs (paths or shipped names); ``sets`` overrides vars where a spec has them."""
    from .analysis import analyze
    from .spec import load

    networks = [load(spec) for spec in specs]
    for name in sets or {}:
        if not any(name in network.vars for network in networks):
            raise SpecError(f"--set {name}: none of the specs has a var named `{name}`", None,
                            "the vars are listed under `vars:` in each spec")
    reports = []
    for network in networks:
        own = {k: v for k, v in (sets or {}).items() if k in network.vars}
        reports.append(analyze(network.expand(own, batch=batch)))
    return compare_reports(reports)


def comparison_dict(comparison: NetworkComparison) -> dict:
    """The JSON form (version 1): exact ints; ratios as exact ``"p/q"`` strings and as floats."""

    def line_dict(line: Line) -> dict:
        specs = []
        for index, (label, entry, status) in enumerate(zip(comparison.labels, line.entries, line.status)):
            item: dict[str, Any] = {"spec": label, "status": status}
            if entry is not None:
                item.update(entry.counts())
                if entry.type:
                    item["type"] = entry.type
                    item["output_shape"] = entry.output_shape
                else:
                    item["layers"] = entry.layers
                if index:
                    for key in COUNTS:
                        d, r = line.delta(index, key), line.ratio(index, key)
                        if d is not None:
                            item[f"delta_{key}"] = d
                            item[f"ratio_{key}"] = fraction_text(r) if r is not None else None
            specs.append(item)
        return {"key": line.key, "specs": specs}

    return {
        "version": 1,
        "specs": [{"label": label, "source": source, "input": shape, "batch": batch, "peak_activation_bytes": peak}
                  for label, source, shape, batch, peak in zip(comparison.labels, comparison.sources,
                                                               comparison.inputs, comparison.batches,
                                                               comparison.peak_activation_bytes)],
        "totals": line_dict(comparison.total),
        "stages": [line_dict(line) for line in comparison.stages],
        "layers": [line_dict(line) for line in comparison.layers],
    }


def fraction_text(value: Fraction | None) -> str | None:
    if value is None:
        return None
    return str(value.numerator) if value.denominator == 1 else f"{value.numerator}/{value.denominator}"


# =====================================================================================================================
# 4. Sweep
# =====================================================================================================================
@dataclass
class SweepPoint:
    """One combination of var values and the network's totals there."""

    values: dict[str, str]
    params: int
    macs: int
    flops: int
    activation_bytes: int
    peak_activation_bytes: int


@dataclass
class Sweep:
    """The grid: ``axes`` maps each swept var to its values (as typed), ``points`` follows their product."""

    name: str
    source: str
    axes: dict[str, list[str]]
    fixed: dict[str, str]
    points: list[SweepPoint]

    def exponents(self, key: str) -> dict[str, float | None]:
        """How ``key`` (params or macs) scales with each swept var: the log-log slope between its smallest and
        largest value, the other vars held at their last listed value. MobileNet: MACs ∝ α^≈2, ρ^≈2."""
        out: dict[str, float | None] = {}
        last = {name: values[-1] for name, values in self.axes.items()}
        for name, values in self.axes.items():
            numeric = [(_number(v), v) for v in values]
            numeric = [(x, v) for x, v in numeric if x is not None and x > 0]
            if len(numeric) < 2:
                out[name] = None
                continue
            (lo, lo_text), (hi, hi_text) = min(numeric), max(numeric)
            a = self.point({**last, name: lo_text})
            b = self.point({**last, name: hi_text})
            if lo == hi or a is None or b is None or getattr(a, key) <= 0 or getattr(b, key) <= 0:
                out[name] = None
                continue
            out[name] = math.log(getattr(b, key) / getattr(a, key)) / math.log(hi / lo)
        return out

    def point(self, values: dict[str, str]) -> SweepPoint | None:
        for p in self.points:
            if p.values == values:
                return p
        return None


def _number(text: str) -> float | None:
    try:
        return float(Fraction(text))
    except (ValueError, ZeroDivisionError):
        return None


def parse_sweep_sets(values: list[str]) -> tuple[dict[str, list[str]], dict[str, str]]:
    """``NAME=v1,v2,…`` options → (swept vars with their values, vars fixed to one value)."""
    axes: dict[str, list[str]] = {}
    for text in values:
        if "=" not in text:
            raise SpecError(f"`--set {text}` is not NAME=VALUE[,VALUE…]", None,
                            "write e.g. --set alpha=0.25,0.5,0.75,1.0")
        name, raw = (part.strip() for part in text.split("=", 1))
        items = [item.strip() for item in _top_level_split(raw)]
        if not name or not all(items):
            raise SpecError(f"`--set {text}`: empty name or value", None, "write e.g. --set resolution=128,160")
        if name in axes:
            raise SpecError(f"--set {name} given twice", None, "list every value in one option: NAME=a,b,c")
        axes[name] = list(dict.fromkeys(items))
    swept = {k: v for k, v in axes.items() if len(v) > 1}
    fixed = {k: v[0] for k, v in axes.items() if len(v) == 1}
    return swept, fixed


def _top_level_split(text: str) -> list[str]:
    """``a,max(1, 2),c`` → ``a``, ``max(1, 2)``, ``c``: commas inside parentheses belong to a function call."""
    items, depth, start = [], 0, 0
    for i, char in enumerate(text):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == "," and depth == 0:
            items.append(text[start:i])
            start = i + 1
    return items + [text[start:]]


MAX_SWEEP_POINTS = 1000


def sweep(spec: str, axes: dict[str, list[str]], fixed: dict[str, str] | None = None,
          batch: int | None = None) -> Sweep:
    """Analyse ``spec`` at every point of the product of ``axes`` (var → values), with ``fixed`` vars set."""
    from .analysis import analyze
    from .spec import load, parse_override

    network = load(spec)
    fixed = dict(fixed or {})
    for name in [*axes, *fixed]:
        if name not in network.vars:
            from .errors import did_you_mean

            raise SpecError(f"--set {name}: no var named `{name}` in {network.source}", None,
                            did_you_mean(name, list(network.vars)) if network.vars else "the spec declares no `vars:`")
    size = math.prod(len(v) for v in axes.values()) if axes else 1
    if size > MAX_SWEEP_POINTS:
        raise SpecError(f"the sweep has {size:,} points (more than {MAX_SWEEP_POINTS:,})", None,
                        "sweep fewer values at a time")
    points = []
    for combo in itertools.product(*axes.values()):
        values = dict(zip(axes, combo))
        overrides = dict(parse_override(f"{k}={v}") for k, v in {**fixed, **values}.items())
        where = ", ".join(f"{k}={v}" for k, v in values.items())
        try:
            report = analyze(network.expand(overrides, batch=batch))
        except SpecError as err:
            raise SpecError(f"at {where}: {err.message}" if where else err.message, err.mark, err.hint) from None
        t = report.totals
        points.append(SweepPoint(values, t.params, t.macs, t.flops, t.activation_bytes,
                                 report.peak_activation_bytes))
    return Sweep(network.name, network.source, dict(axes), fixed, points)


def sweep_dict(result: Sweep) -> dict:
    return {
        "version": 1, "name": result.name, "source": result.source, "vars": result.axes, "fixed": result.fixed,
        "points": [{"vars": p.values, "params": p.params, "macs": p.macs, "flops": p.flops,
                    "activation_bytes": p.activation_bytes, "peak_activation_bytes": p.peak_activation_bytes}
                   for p in result.points],
        "exponents": {"params": result.exponents("params"), "macs": result.exponents("macs")},
    }


# =====================================================================================================================
# 1. Layer what-if and 3. whole-network rewrite: one conv built several ways ("designs")
# =====================================================================================================================
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
            pad_text = f"padding {_yaml_value(pad)}"
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
                "padding": _yaml_value(self.padding), "dilation": _axes(self.dilation), "bias": self.bias}


def _axes(values: tuple[int, ...]):
    return values[0] if len(set(values)) == 1 else list(values)


def _yaml_value(value):
    """A normalised field value as plain YAML data: tuples → lists, whole Fractions → ints (other Fractions stay,
    for :func:`yaml_scalar`), a list of sub-layers ``(kind, fields)`` → ``{type: kind, **fields}`` mappings."""
    if isinstance(value, (tuple, list)) and value and all(
            isinstance(v, tuple) and len(v) == 2 and isinstance(v[0], str) and isinstance(v[1], dict) for v in value):
        return [{"type": kind, **_yaml_value(fields)} for kind, fields in value]
    if isinstance(value, tuple) or isinstance(value, list):
        return [_yaml_value(v) for v in value]
    if isinstance(value, Fraction):
        return int(value) if value.denominator == 1 else value
    if isinstance(value, dict):
        return {str(k): _yaml_value(v) for k, v in value.items()}
    if isinstance(value, bool):
        return bool(value)
    return value


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
    from .layers import REGISTRY
    from .layers.conv import Conv, ConvTranspose

    cls = REGISTRY[node.kind]
    if not issubclass(cls, Conv) or issubclass(cls, ConvTranspose):
        raise SpecError(f"layer `{node.name}` is a `{node.kind}`, not a convolution", node.mark,
                        "pick a conv, depthwise or pointwise layer (`convcalc analyze` lists the layers)")
    _, _, groups, kernel, stride, dilation, *_ = cls(node).geometry(tuple(in_shape))
    plain = ("out", "kernel", "stride", "padding", "dilation", "groups", "bias")
    extra = {key: _yaml_value(value) for key, value in node.fields.items()
             if key not in plain and key in cls.fields and not cls.fields[key].required
             and not _same_value(value, cls.fields[key].default)}
    return ConvQuery(in_shape[0], out_shape[0], tuple(kernel), tuple(in_shape[1:]), tuple(stride),
                     node.fields.get("padding", 0), tuple(dilation), bool(node.fields.get("bias", False)),
                     groups, node.name, source, node.kind, extra)


def layer_query_from_spec(spec: str, name: str, batch: int | None = None) -> ConvQuery:
    """The conv named ``name`` in ``spec``, at the input shape it really gets."""
    from .analysis import analyze
    from .errors import did_you_mean
    from .spec import load

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
    from .layers import REGISTRY

    return [kind for kind in kinds if kind not in REGISTRY]


def _fit_fields(layers: list[dict]) -> Built:
    """Drop keys a kind does not have when their value is neutral; otherwise the design does not apply."""
    from .layers import REGISTRY

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
    from .conventions import DTYPE_BYTES

    total = 0
    for layer in report.layers:
        for sub in (layer.details or {}).get("sub_rows", [])[:-1]:
            total += math.prod(sub["output_shape"]) * DTYPE_BYTES[report.dtype] * report.batch
    return total


def analyze_design(q: ConvQuery, layers: list[dict]):
    from .analysis import analyze
    from .spec import load

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
                  "padding": _yaml_value(q.padding), "dilation": list(q.dilation), "bias": q.bias,
                  "groups": q.groups, "input": [q.c_in, *q.sizes]},
        "rows": [{"design": r.design, "label": r.label, "arg": r.arg, "as_written": r.as_written,
                  "layers": r.layers, "params": r.params, "macs": r.macs, "flops": r.flops,
                  "activation_bytes": r.activation_bytes, "peak_activation_bytes": r.peak_activation_bytes,
                  "rf": r.rf, "output_shape": r.output_shape,
                  "params_ratio": fraction_text(r.params_ratio), "macs_ratio": fraction_text(r.macs_ratio),
                  "closed_form_params_ratio": fraction_text(r.closed_params),
                  "closed_form_macs_ratio": fraction_text(r.closed_macs), "formula": r.formula}
                 for r in result.rows],
        "skipped": [{"design": title, "reason": reason} for title, reason in result.skipped],
        "notes": list(result.notes),
    }


# ---- 3. whole-network rewrite -----------------------------------------------------------------------------------
ELIGIBILITY = ("a layer is rewritten when it is a standard `conv` with groups == 1 and a kernel larger than 1 on "
               "some axis, the design's group count divides both its channel counts, and its name matches --only "
               "(when given)")


def parse_target(text: str) -> tuple[Design, int | None]:
    """``depthwise_separable``, ``grouped:4``, ``shuffle:4``, ``dilated:2``, ``tiled:3`` … → (design, arg)."""
    from .errors import did_you_mean

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
    from .layers import REGISTRY

    out = {}
    for key, field_obj in REGISTRY[node.kind].fields.items():
        value = node.fields.get(key)
        if not field_obj.required and _same_value(value, field_obj.default):
            continue
        out[key] = _yaml_value(value)
    return out


def _same_value(a, b) -> bool:
    try:
        return type(a) is type(b) and a == b or (isinstance(a, (int, Fraction)) and isinstance(b, (int, Fraction))
                                                  and not isinstance(a, bool) and a == b)
    except Exception:  # noqa: BLE001 - incomparable values are different
        return False


def rewrite_spec(spec: str, target: str, only: list[str] | None = None, batch: int | None = None) -> RewriteResult:
    """Rewrite every eligible conv of ``spec`` (see :data:`ELIGIBILITY`) as ``target``; analyse before and after."""
    import fnmatch

    from .analysis import analyze
    from .spec import load

    design, arg = parse_target(target)
    missing = _kinds_missing(design.kinds)
    if missing:
        raise SpecError(f"--as {target}: layer kind {', '.join(f'`{k}`' for k in missing)} is not registered in "
                        f"this version of convcalc", None, "see docs/variants.md for the kinds available")
    network = load(spec)
    graph = network.expand(batch=batch)
    before = analyze(graph)
    shapes = {graph.input_name: tuple(graph.input_shape)}
    shapes.update({layer.name: tuple(layer.output_shape) for layer in before.layers})
    layers, rewritten, kept = [], [], {}
    for node in graph.nodes:
        entry = {"name": node.name, "type": node.kind, "inputs": list(node.inputs), **node_fields_yaml(node)}
        reason = ""
        if node.kind != "conv":
            layers.append(entry)
            continue
        if only and not any(fnmatch.fnmatchcase(node.name, pattern) for pattern in only):
            reason = "not matched by --only"
        elif node.fields.get("groups", 1) != 1:
            reason = "already grouped"
        else:
            query = query_from_node(node, shapes[node.inputs[0]], shapes[node.name], network.source)
            if math.prod(query.kernel) == 1:
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
    after = analyze(load(flat))
    after.source = f"{network.source} --as {target}"
    return RewriteResult(target, flat, before, after, rewritten, kept)


def _part_name(part: dict, index: int) -> str:
    return {"conv": "grouped", "channel_shuffle": "shuffle"}.get(part["type"], part["type"]) + str(index + 1)


def _ordered(layer: dict) -> dict:
    """name, type, inputs first, then the fields."""
    head = {key: layer[key] for key in ("name", "type", "inputs") if key in layer}
    return {**head, **{k: v for k, v in layer.items() if k not in head}}


# ---- a small YAML emitter for flat specs (one flow mapping per layer) --------------------------------------------
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
