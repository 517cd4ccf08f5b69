"""What ``convcalc compare`` builds with the kinds: one conv mapping ("128 → 128, 3×3 at 56×56") built every way.

A :class:`ConvQuery` is the mapping: channels, kernel, stride, padding, dilation, bias, input size. A
:class:`Design` is one way to build it (standard, grouped, depthwise separable, …) as a few layers of registered
kinds, with the closed-form ratio of its params and MACs to the standard conv from the papers that define them.
Each design is declared by the kind it belongs to, as its own ``designs`` (a static method returning them, so
that this module loads only when compare asks; see :func:`convcalc.layers.base.own`); :func:`all_designs` collects
them from the registry, so a new kind offers a new design by declaring it, and nothing else lists designs.
"""

from __future__ import annotations

from typing import Any, Callable

from ..spec.fields import plain_value


class ConvQuery:
    """A conv mapping to redesign: C_in → C_out, kernel, stride, padding, dilation, bias, at an input size.

    ``padding`` is a normalised padding value (an int, a per-axis tuple, or valid/same/full); the other per-axis
    values are tuples with one entry per spatial axis. ``groups`` is the layer's own group count, for the record
    (every design starts from the ungrouped mapping). ``extra``: fields of the spec's layer beyond the plain
    mapping, set to non-default values (e.g. mid, multiplier). ``written_as``: the design (and its argument) the
    spec's layer is, when it is exactly one: ("grouped", 4).

    (A plain class, like the others here: the kinds import this module on every run, and a dataclass costs a
    fraction of a millisecond to create.)
    """

    __slots__ = ("c_in", "c_out", "kernel", "sizes", "stride", "padding", "dilation", "bias", "groups", "name",
                 "source", "kind", "extra", "written_as")

    def __init__(self, c_in: int, c_out: int, kernel: tuple[int, ...], sizes: tuple[int, ...],
                 stride: tuple[int, ...] = (), padding: Any = "same", dilation: tuple[int, ...] = (),
                 bias: bool = False, groups: int = 1, name: str = "", source: str = "", kind: str = "conv",
                 extra: dict | None = None, written_as: tuple[str, int | None] | None = None):
        n = len(sizes)
        self.c_in, self.c_out, self.kernel, self.sizes = c_in, c_out, kernel, sizes
        self.stride, self.padding = tuple(stride) or (1,) * n, padding
        self.dilation, self.bias, self.groups = tuple(dilation) or (1,) * n, bias, groups
        self.name, self.source, self.kind = name, source, kind
        self.extra, self.written_as = dict(extra or {}), written_as

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
            pad_text = f"padding {plain_value(pad)}"
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
        return {"out": self.c_out, "kernel": axes_value(self.kernel), "stride": axes_value(self.stride),
                "padding": plain_value(self.padding), "dilation": axes_value(self.dilation), "bias": self.bias}


def axes_value(values: tuple[int, ...]):
    """Per-axis values as a spec writes them: one int when all are equal."""
    return values[0] if len(set(values)) == 1 else list(values)


def kernel_text(kernel: tuple[int, ...]) -> str:
    """``3²``, ``3³``, ``5`` or ``3·1``: a kernel's size in a closed-form formula."""
    if len(set(kernel)) == 1:
        return f"{kernel[0]}{'²' if len(kernel) == 2 else '³' if len(kernel) == 3 else ''}"
    return "·".join(map(str, kernel))


class Built:
    """A design applied to a query: its layers (YAML dicts, unnamed), or why it does not apply."""

    __slots__ = ("layers", "reason")

    def __init__(self, layers: list[dict] | None = None, reason: str = ""):
        self.layers, self.reason = list(layers or []), reason


#: a field a kind may lack, when the design asks for its neutral value (it then simply has no such option)
_NEUTRAL = {"stride": 1, "dilation": 1, "groups": 1, "bias": False, "padding": 0}


def missing_kinds(kinds) -> list[str]:
    from .base import REGISTRY

    return [kind for kind in kinds if kind not in REGISTRY]


def fit_fields(layers: list[dict]) -> Built:
    """Drop keys a kind does not have when their value is neutral; otherwise the design does not apply."""
    from .base import REGISTRY

    missing = missing_kinds(dict.fromkeys(layer["type"] for layer in layers))
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


def as_kind(kind: str) -> Callable[[ConvQuery, Any], Built]:
    """The build of a design that is one kind taking the conv's own fields (out, kernel, stride, …)."""

    def build(q: ConvQuery, _arg=None) -> Built:
        return fit_fields([{"type": kind, **q.conv_fields()}])

    return build


def groups_reason(g: int, q: ConvQuery) -> str:
    """Why ``g`` groups do not fit the mapping (empty when they do)."""
    if g < 2:
        return "the group count must be at least 2"
    if q.c_in % g or q.c_out % g:
        return f"{g} does not divide both channel counts ({q.c_in}, {q.c_out})"
    return ""


ClosedForm = Callable[[ConvQuery, Any, tuple, list], tuple]


class Design:
    """One way to build a conv mapping, declared by the kind it belongs to.

    ``build(q, arg)`` returns the layers; ``closed_form(q, arg, out_sizes, layers)`` returns (params ratio, MACs
    ratio, formula text) to the standard conv, bias left out. ``arg`` names its integer parameter (``g``, ``d``,
    ``t``) if any: ``choices(q, groups)`` lists the values the what-if table tries (``groups`` from ``--groups``),
    ``none_fit`` says why when there are none, ``least`` is the smallest value ``--as KEY:N`` accepts and
    ``arg_required`` whether ``--as KEY`` needs one. ``order`` sorts the what-if table (the standard conv, 0,
    first); ``any_kernel``: it applies to a 1×1 conv too; ``reference``: the standard conv itself.
    """

    __slots__ = ("key", "label", "order", "build", "closed_form", "kinds", "arg", "default_arg", "choices", "none_fit",
                 "least", "arg_required", "aliases", "any_kernel", "reference")

    def __init__(self, key: str, label: str, order: int, build: Callable[[ConvQuery, Any], Built],
                 closed_form: ClosedForm, kinds: tuple[str, ...] = (), arg: str = "", default_arg: int | None = None,
                 choices: Callable[[ConvQuery, list | None], list] | None = None,
                 none_fit: Callable[[ConvQuery], str] | None = None, least: int = 2, arg_required: bool = False,
                 aliases: tuple[str, ...] = (), any_kernel: bool = False, reference: bool = False):
        self.key, self.label, self.order, self.build, self.closed_form = key, label, order, build, closed_form
        self.kinds, self.arg, self.default_arg, self.choices, self.none_fit = kinds, arg, default_arg, choices, none_fit
        self.least, self.arg_required, self.aliases = least, arg_required, aliases
        self.any_kernel, self.reference = any_kernel, reference

    def __repr__(self) -> str:
        return f"Design({self.key!r})"

    def title(self, arg: int | None) -> str:
        return f"{self.label} {self.arg}={arg}" if self.arg and arg is not None else self.label

    def args(self, q: ConvQuery, groups: list[int] | None = None) -> list[int | None]:
        """The parameter values the what-if table tries this design with."""
        if self.choices is not None:
            return self.choices(q, groups)
        return [self.default_arg] if self.arg else [None]

    def why_none(self, q: ConvQuery) -> str:
        return self.none_fit(q) if self.none_fit is not None else ""


def all_designs() -> dict[str, Design]:
    """Every design declared by a registered kind (its own ``designs``), in table order."""
    from .base import REGISTRY, own

    found = [design for cls in REGISTRY.values() for design in (own(cls, "designs") or tuple)()]
    return {design.key: design for design in sorted(found, key=lambda d: (d.order, d.key))}


def design_aliases() -> dict[str, str]:
    """Other names of the designs (``dws`` → ``depthwise_separable``)."""
    return {alias: design.key for design in all_designs().values() for alias in design.aliases}
