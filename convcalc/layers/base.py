"""The layer registry and the base class every layer kind derives from.

One registered class per ``type:``. Its class attributes that are :class:`~convcalc.fields.Field` objects are the
YAML keys it accepts; its methods answer the cost questions for given input shapes. Shapes are per sample,
channels first: ``(C,)``, ``(C, L)``, ``(C, H, W)`` or ``(C, D, H, W)``. ``macs`` and ``flops`` are per sample;
the analysis multiplies them by the batch.

To add a kind: write a subclass in a module under ``convcalc/layers/``, decorate it with :func:`register`, add
its kernel to the executor, a config under ``configs/`` and a test file. Nothing else changes.
"""

from __future__ import annotations

from fractions import Fraction
from dataclasses import dataclass, field
from functools import wraps
from math import prod
from typing import Any, ClassVar, Mapping, Sequence

from ..errors import SpecError
from ..spec.fields import Field, fields_of
from ..spec.graph import Node
from ..cost.rf import ReceptiveField
from ..numbers import fraction_text

Shape = tuple[int, ...]


@dataclass(frozen=True)
class Example:
    """A small network that uses a kind: the input, the kind's fields, and what feeds it.

    Every registered kind has one (``tests/layers/test_contract.py`` checks). ``convcalc explain KIND`` works its
    formulas through it, and the tests run it on every kind: cost model against the executor, the executor's VJP
    against finite differences. ``before`` are layers that come first (name them to use them in ``inputs``);
    ``inputs`` are the kind's inputs by name (default: the previous layer). Keep it small (a few thousand MACs):
    the finite-difference test runs it dozens of times.
    """

    input: tuple[int, ...]
    fields: Mapping[str, Any] = field(default_factory=dict)
    before: tuple[Mapping[str, Any], ...] = ()
    inputs: tuple[str, ...] | None = None

    def spec(self, kind: str) -> dict:
        """The example as a spec dict; the kind's layer is the last one, named after the kind."""
        layer = {"type": kind, "name": kind, **self.fields}
        if self.inputs is not None:
            layer["inputs"] = list(self.inputs)
        return {"name": f"example_{kind}", "input": list(self.input),
                "layers": [dict(item) for item in self.before] + [layer]}

REGISTRY: dict[str, type["Layer"]] = {}


def per_shape(method):
    """Cache a layer's shape-derived ``method(self, shape)`` for the last shape it saw.

    The cost questions (shape, params, MACs, FLOPs, RF, details) each re-derive the same geometry from the same
    input shape; one layer instance answers them all for one shape, so the geometry is computed once. A failing
    call raises and caches nothing."""
    slot = "_cached_" + method.__name__

    @wraps(method)
    def cached(self, shape):
        hit = self.__dict__.get(slot)
        if hit is not None and hit[0] == shape:
            return hit[1]
        value = method(self, shape)
        self.__dict__[slot] = (tuple(shape), value)
        return value

    return cached


def register(cls: type["Layer"]) -> type["Layer"]:
    """Class decorator: make ``cls`` the handler of ``type: cls.kind``."""
    if cls.kind in REGISTRY:
        raise RuntimeError(f"layer kind {cls.kind!r} registered twice")
    REGISTRY[cls.kind] = cls
    cls.fields = fields_of(cls)
    return cls


class Layer:
    """Base class of all layer kinds. Subclasses override what differs from 'elementwise, free, shape-keeping'."""

    kind: ClassVar[str] = ""
    summary: ClassVar[str] = ""
    family: ClassVar[str] = "other"
    #: inputs accepted: (minimum, maximum); None means unbounded
    arity: ClassVar[tuple[int, int | None]] = (1, 1)
    #: spatial ranks the kind works on (0 = flat features)
    ranks: ClassVar[tuple[int, ...]] = (0, 1, 2, 3)
    fields: ClassVar[dict[str, Field]] = {}
    #: a small network using the kind (see :class:`Example`); every registered kind sets its own
    example: ClassVar[Example | None] = None
    #: the kind's formulas in words, for `convcalc explain`: shape, params, macs, flops, rf
    formulas: ClassVar[dict[str, str]] = {"shape": "same as the input", "params": "0", "macs": "0",
                                          "flops": "0", "rf": "unchanged"}

    def __init__(self, node: Node):
        self.node = node
        self.name = node.name
        for key in self.fields:
            setattr(self, key, node.fields[key])

    # ---- the cost questions -------------------------------------------------------------------------------
    def output_shape(self, ins: Sequence[Shape]) -> Shape:
        return ins[0]

    def params(self, ins: Sequence[Shape]) -> int:
        return 0

    def buffers(self, ins: Sequence[Shape]) -> int:
        return 0

    def macs(self, ins: Sequence[Shape]) -> int:
        return 0

    def flops(self, ins: Sequence[Shape]) -> int:
        return 0

    def receptive_field(self, rfs: Sequence[ReceptiveField], ins: Sequence[Shape]) -> ReceptiveField:
        return rfs[0]

    def details(self, ins: Sequence[Shape]) -> dict:
        """Extra, kind-specific numbers for the JSON report."""
        return {}

    def warnings(self, ins: Sequence[Shape]) -> list[str]:
        return []

    def rf_steps(self, rfs: Sequence[ReceptiveField], ins: Sequence[Shape]) -> list[str]:
        """The RF update with numbers, one line per axis (empty when the kind has no simple window rule)."""
        return []

    def worked(self, ins: Sequence[Shape]) -> dict[str, str]:
        """The formulas with this layer's numbers substituted, as arithmetic (``·``, ``+``, ``−``, ``/``, ints) that
        evaluates to ``params``, ``macs`` and ``flops`` (per sample). `convcalc explain SPEC --layer` prints them."""
        return {key: str(getattr(self, key)(ins)) for key in ("params", "macs", "flops")}

    # ---- helpers for subclasses ---------------------------------------------------------------------------
    def fail(self, message: str, hint: str, key: str | None = None):
        raise SpecError(f"layer `{self.name}` ({self.kind}): {message}", self.node.mark_of(key), hint)

    def check_rank(self, shape: Shape):
        rank = len(shape) - 1
        if rank not in self.ranks:
            wanted = " or ".join(_rank_words(r) for r in self.ranks)
            self.fail(f"expects a {wanted} input, got shape {_fmt_shape(shape)} ({_rank_words(rank)})",
                      "flatten or pool before a flat layer, and keep conv/pool layers on (C, …) maps")

    def per_axis(self, key: str, ndim: int) -> tuple:
        """The value of a per-axis field expanded to ``ndim`` axes."""
        value = getattr(self, key)
        if isinstance(value, tuple):
            if len(value) != ndim:
                self.fail(f"`{key}` has {len(value)} values but the input has {ndim} spatial "
                          f"ax{'is' if ndim == 1 else 'es'}", f"give {ndim} values or a single int", key)
            return value
        return (value,) * ndim

    def padding_pairs(self, key: str, in_sizes: Sequence[int], kernel_eff: Sequence[int],
                      stride: Sequence[int]) -> list[tuple[int, int]]:
        """(before, after) padding per axis. Conventions in :mod:`convcalc.fields`."""
        value = getattr(self, key)
        ndim = len(in_sizes)
        if value == "valid":
            return [(0, 0)] * ndim
        if value == "full":
            return [(k - 1, k - 1) for k in kernel_eff]
        if value == "same":
            pairs = []
            for n, k, s in zip(in_sizes, kernel_eff, stride):
                total = max((-(-n // s) - 1) * s + k - n, 0)
                pairs.append((total // 2, total - total // 2))
            return pairs
        if isinstance(value, tuple):
            if len(value) != ndim:
                self.fail(f"`{key}` has {len(value)} entries but the input has {ndim} spatial axes",
                          f"give {ndim} entries or a single int", key)
            return [v if isinstance(v, tuple) else (v, v) for v in value]
        return [(value, value)] * ndim

    def window_size(self, axis: int, n: int, k_eff: int, s: int, pads: tuple[int, int],
                    ceil_mode: bool = False) -> int:
        """Output length of a sliding window; explains the arithmetic when it falls below 1."""
        before, after = pads
        span = n + before + after - k_eff
        out = (span + (s - 1 if ceil_mode else 0)) // s + 1
        if ceil_mode and (out - 1) * s >= n + before:
            out -= 1  # PyTorch: the last window may not start in the right padding
        if out < 1 or span < 0:
            rounding = "ceil" if ceil_mode else "floor"
            self.fail(f"output size along spatial axis {axis} is {rounding}(({n} + {before} + {after} − {k_eff})"
                      f" / {s}) + 1 = {out}, below 1",
                      f"the input ({n}) is smaller than the effective kernel ({k_eff}); use a smaller kernel or "
                      f"dilation, more padding, or a larger input")
        return out


def _rank_words(rank: int) -> str:
    return {0: "flat (C,)", 1: "1-D (C, L)", 2: "2-D (C, H, W)", 3: "3-D (C, D, H, W)"}.get(rank, f"{rank}-D")


def _fmt_shape(shape: Shape) -> str:
    return "(" + ", ".join(str(s) for s in shape) + ("," if len(shape) == 1 else "") + ")"  # (192,) as Python writes it


def window_rf_steps(rf: ReceptiveField, kernel_eff, stride, pad_before) -> list[str]:
    """Araujo et al.'s window update written out per axis: size, jump and start of unit 0."""
    lines = []
    for axis, (r, j, start, k, s, p) in enumerate(zip(rf.size, rf.jump, rf.start, kernel_eff, stride, pad_before)):
        size = r + (k - 1) * j
        lines.append(f"axis {axis}: r = {r} + ({k} − 1)·{fraction_text(j)} = {fraction_text(size)}; j = {fraction_text(j)}·{s} = {fraction_text(j * s)}; "
                     f"start = {fraction_text(start)} − {p}·{fraction_text(j)} = {fraction_text(start - p * j)}")
    return lines


def per_group_text(channels: int, groups: int) -> str:
    """Channels per group for a worked formula: ``64``, ``(64/4)``, or ``1`` when every channel is a group."""
    if groups == 1:
        return str(channels)
    return "1" if channels == groups else f"({channels}/{groups})"


def times(values) -> str:
    """``(3, 3)`` → ``3·3``: a product written out, for the worked formulas of `convcalc explain`."""
    values = list(values)
    return "·".join(str(v) for v in values) if values else "1"


def elements(shape: Shape) -> int:
    return prod(shape)


def as_fraction(value) -> Fraction:
    return value if isinstance(value, Fraction) else Fraction(value)
