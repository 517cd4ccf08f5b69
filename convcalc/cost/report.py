"""The analysis result: plain dataclasses that round-trip through JSON.

JSON contract, version 1 (docs/json.md): every count is a full integer; fractional jumps and starts are strings
such as ``"1/2"``.
"""

from __future__ import annotations

from fractions import Fraction
TYPE_CHECKING = False  # typing costs start-up; the annotations are text (PEP 563)
if TYPE_CHECKING:
    from typing import Any

from ..numbers import json_number
from ..records import as_dict, field, field_names, record
from .rollup import COUNT_FIELDS, Group, groups_json, roll_up  # COUNT_FIELDS: re-exported


def _frac(value) -> Fraction:
    return Fraction(value) if isinstance(value, (int, str)) else Fraction(value)


@record
class RFReport:
    """Receptive field per input spatial axis: size r, jump j, start −P (first input index seen by unit 0)."""

    size: list[int]
    jump: list[Fraction]
    start: list[Fraction]
    center: list[Fraction]
    position_dependent: bool = False
    #: not in the JSON: the layout of the layer's output when it is not channels first (``(H, W, C)``), and why
    #: the analytic ERF cannot follow the layer (convcalc/cost/layout.py)
    layout: str = field(default="", compare=False)
    erf_block: str = field(default="", compare=False)

    @property
    def padding(self) -> list[Fraction]:
        return [-s for s in self.start]

    def to_dict(self) -> dict:
        return {"size": list(self.size), "jump": [json_number(j) for j in self.jump],
                "start": [json_number(s) for s in self.start], "center": [json_number(c) for c in self.center],
                "padding": [json_number(s, -1) for s in self.start], "position_dependent": self.position_dependent}

    @classmethod
    def from_dict(cls, data: dict) -> "RFReport":
        return cls(list(data["size"]), [_frac(j) for j in data["jump"]], [_frac(s) for s in data["start"]],
                   [_frac(c) for c in data["center"]], bool(data.get("position_dependent", False)))


@record
class LayerReport:
    name: str
    type: str
    inputs: list[str]
    output_shape: list[int]
    params: int
    buffers: int
    macs: int
    flops: int
    activation_bytes: int
    rf: RFReport
    warnings: list[str] = field(default_factory=list)
    path: list[str] = field(default_factory=list)
    line: int = 0
    details: dict = field(default_factory=dict)
    #: the spec's `stage:` ("" when none, and then left out of the JSON): its stage for `analyze --by stage`
    stage: str = ""

    def to_dict(self, rf_dicts: dict | None = None) -> dict:
        """As JSON-ready values. ``rf_dicts`` (id of an RFReport → its dict) lets layers that share one field
        (every layer that leaves it unchanged) share its converted dict."""
        out, rf = self._without_rf()
        if rf_dicts is None:
            out["rf"] = rf.to_dict()
        else:
            shared = rf_dicts.get(id(rf))
            if shared is None:
                shared = rf_dicts[id(rf)] = rf.to_dict()
            out["rf"] = shared
        return out

    def _without_rf(self) -> tuple[dict, RFReport]:
        """The fields in declaration order except ``rf`` (which JSON writes last), and the field; ``stage`` only when
        the spec gave one."""
        out = dict(self.__dict__)
        if not out["stage"]:
            del out["stage"]
        return out, out.pop("rf")

    @classmethod
    def from_dict(cls, data: dict) -> "LayerReport":
        kwargs = {f: data[f] for f in field_names(cls) if f in data and f != "rf"}
        return cls(rf=RFReport.from_dict(data["rf"]), **kwargs)


@record
class UnsupportedLayer:
    """A placeholder layer (``type: unsupported``): an imported operator no kind describes, counted as zero because
    its cost is unknown. ``node`` is the original's node name ("" when not known)."""

    name: str
    op: str
    node: str = ""


def unsupported_summary(unsupported: list) -> str:
    """``2 unsupported operators counted as zero: CumSum ×1 (`cumsum`), torch.flip ×1 (`flip`); …``: every operator
    with its count and its first layers, as the reports print it ("" when there are none)."""
    if not unsupported:
        return ""
    by_op: dict[str, list[str]] = {}
    for layer in unsupported:
        by_op.setdefault(layer.op, []).append(layer.name)
    ops = ", ".join(f"{op} ×{len(names)} ({', '.join(f'`{n}`' for n in names[:3])}{', …' if len(names) > 3 else ''})"
                    for op, names in by_op.items())
    count = len(unsupported)
    return (f"{count} unsupported operator{'s' if count != 1 else ''} counted as zero: {ops}; the totals leave out "
            "their cost, which is unknown")


def refuse_placeholders(unsupported: list, what: str, names=None, graph=None) -> None:
    """Raise :class:`SpecError` when ``what`` (``verify``, the measured ERF) would have to run a placeholder
    (``unsupported``): it has no definition to run. ``names``: only these layers count (default all). ``graph``:
    the expanded network, whose node gives the error its position."""
    found = [layer for layer in unsupported if names is None or layer.name in names]
    if not found:
        return
    from ..errors import SpecError, real_mark
    from ..spec.loader import is_import_source

    first, others = found[0], [f"`{layer.name}`" for layer in found[1:]]
    node = f" (node '{first.node}')" if first.node else ""
    more = (f"; so {'is' if len(others) == 1 else 'are'} {', '.join(others[:3])}{', …' if len(others) > 3 else ''}"
            if others else "")
    mark = next((real_mark(n.mark) for n in graph.nodes if n.name == first.name), None) \
        if graph is not None else None
    if mark is not None and is_import_source(mark.file):  # an imported model's spec text is not the user's to
        mark = None                                         # read: the message names the layer and its node
    raise SpecError(f"{what} cannot run layer `{first.name}`: it is a placeholder for {first.op}{node}, an operator "
                    f"with no layer kind{more}", mark,
                    "the executor runs only operators mapped to a layer kind; `convcalc analyze` counts the "
                    "placeholders as zero (docs/import.md)")


@record
class Totals:
    params: int = 0
    buffers: int = 0
    macs: int = 0
    flops: int = 0
    activation_bytes: int = 0
    layers: int = 0

    def add(self, layer: LayerReport) -> None:
        """Add one layer's counts (the COUNT_FIELDS, written out: this runs twice per layer)."""
        self.params += layer.params
        self.buffers += layer.buffers
        self.macs += layer.macs
        self.flops += layer.flops
        self.activation_bytes += layer.activation_bytes
        self.layers += 1


@record
class Report:
    """What ``convcalc.analyze`` returns."""

    name: str
    input: list[int]
    batch: int
    dtype: str
    layers: list[LayerReport]
    totals: Totals
    by_type: dict[str, Totals]
    weight_bytes: int = 0
    peak_activation_bytes: int = 0
    #: names of the tensors live when activation memory peaks, largest first ("input" is the network input)
    peak_live: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    source: str = ""
    conventions: dict[str, str] = field(default_factory=dict)
    #: the placeholder layers (``type: unsupported``), counted as zero: their cost is unknown
    unsupported: list[UnsupportedLayer] = field(default_factory=list)
    version: int = 1

    def to_dict(self) -> dict:
        rf_dicts: dict = {}  # the layers stay alive while this runs, so ids are not reused
        return self._dict_with([layer.to_dict(rf_dicts) for layer in self.layers])

    def _dict_with(self, layers: Any, stages: Any = None) -> dict:
        """The JSON-ready values with ``layers`` as the layer list (and ``stages``, default the stage roll-up's)."""
        totals = as_dict(self.totals)
        totals.update(weight_bytes=self.weight_bytes, peak_activation_bytes=self.peak_activation_bytes)
        if stages is None:
            stages = [group.to_dict() for group in roll_up(self.layers, "stage")]
        return {
            "version": self.version, "name": self.name, "source": self.source, "input": list(self.input),
            "batch": self.batch, "dtype": self.dtype,
            "layers": layers,
            "totals": totals,
            "by_type": {kind: as_dict(t) for kind, t in self.by_type.items()},
            "stages": stages,
            "peak_live": list(self.peak_live),
            "warnings": list(self.warnings),
            "unsupported": [as_dict(layer) for layer in self.unsupported],
            "conventions": dict(self.conventions),
        }

    def to_dataframe(self):
        """One row per layer as a pandas ``DataFrame`` (pandas is optional: imported here, on first use), indexed
        by layer name: ``type``, ``output_shape`` (a tuple), the counts ``params``, ``buffers``, ``macs``,
        ``flops``, ``activation_bytes`` (int64 columns; object columns of exact Python ints if a count passes
        2^63 − 1), and the receptive field per axis ``rf_size``, ``rf_jump``, ``rf_start`` (tuples). No total
        row: ``df["macs"].sum() == report.totals.macs``."""
        try:
            import pandas as pd
        except ImportError:
            raise ImportError("Report.to_dataframe() needs pandas, an optional dependency: pip install \"convcalc[dataframe]\" (or pandas)") \
                from None
        counts = ("params", "buffers", "macs", "flops", "activation_bytes")
        rows = {"name": [], "type": [], "output_shape": [], **{key: [] for key in counts},
                "rf_size": [], "rf_jump": [], "rf_start": []}
        for layer in self.layers:
            rows["name"].append(layer.name)
            rows["type"].append(layer.type)
            rows["output_shape"].append(tuple(layer.output_shape))
            for key in counts:
                rows[key].append(getattr(layer, key))
            rf = layer.rf
            rows["rf_size"].append(tuple(rf.size) if rf else ())
            rows["rf_jump"].append(tuple(rf.jump) if rf else ())
            rows["rf_start"].append(tuple(rf.start) if rf else ())
        int64 = (-(2 ** 63), 2 ** 63 - 1)
        columns = {}
        for key, values in rows.items():
            if key in counts:
                fits = all(int64[0] <= v <= int64[1] for v in values)
                columns[key] = pd.Series(values, dtype="int64" if fits else "object")
            else:
                columns[key] = pd.Series(values, dtype="object")
        return pd.DataFrame(columns).set_index("name")

    def to_json(self, indent: int | str | None = 2) -> str:
        """The report as JSON. With ``indent``, the top level is indented and each layer is one line: easy to read
        and diff."""
        import json  # here, not at the top: the table output of `convcalc analyze` never needs it (1 ms)

        if indent is None:
            return json.dumps(self.to_dict(), ensure_ascii=False)
        return "".join(self.json_pieces(indent))

    def json_pieces(self, indent: int | str = 2) -> list[str]:
        """``to_json(indent)`` in pieces, to write one after another (``convcalc analyze --format json``: no copy of
        4 MB for 10k layers). The layers and the stages are written apart, a line per layer and an f-string per
        stage, and joined into json's dump of the rest (:mod:`convcalc.cost.jsontext`)."""
        from .jsontext import spliced_pieces

        unit = indent if isinstance(indent, str) else " " * indent  # as json.dumps reads `indent`
        layers, sums = layers_pieces(self.layers, unit)
        spliced = {"layers": layers}
        stages = groups_json(sums, unit, 1)
        if stages is None:  # a value groups_json does not write: json does
            stages = [dict(zip(Group.__slots__, group)) for group in sums]
        else:
            spliced["stages"], stages = (stages,), ()
        return spliced_pieces(self._dict_with((), stages), indent, spliced)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Report":
        totals = dict(data["totals"])
        weight_bytes = totals.pop("weight_bytes", 0)
        peak = totals.pop("peak_activation_bytes", 0)
        return cls(
            name=data["name"], input=list(data["input"]), batch=data["batch"], dtype=data["dtype"],
            layers=[LayerReport.from_dict(layer) for layer in data["layers"]],
            totals=Totals(**totals), by_type={k: Totals(**v) for k, v in data.get("by_type", {}).items()},
            weight_bytes=weight_bytes, peak_activation_bytes=peak, peak_live=list(data.get("peak_live", [])),
            warnings=list(data.get("warnings", [])),
            source=data.get("source", ""), conventions=dict(data.get("conventions", {})),
            unsupported=[UnsupportedLayer(**layer) for layer in data.get("unsupported", [])],
            version=data.get("version", 1),
        )

    @classmethod
    def from_json(cls, text: str) -> "Report":
        import json

        return cls.from_dict(json.loads(text))


def layers_pieces(layers: list[LayerReport], indent: str) -> tuple[tuple[str, ...], list[list]]:
    """The pieces of the JSON text of a report's ``layers`` list, at nesting level 1 of a document indented by
    ``indent``: one line per layer, exactly ``json.dumps(layer.to_dict(), ensure_ascii=False)``; and the layers'
    :func:`~convcalc.cost.rollup.group_sums` by stage (summed in the same pass where it can)."""
    from .jsontext import layer_lines

    if not layers:
        return ("[]",), []
    lines, stages = layer_lines(layers, tuple(field_names(LayerReport)), indent * 2)
    return ("[\n", ",\n".join(lines), f"\n{indent}]"), stages
