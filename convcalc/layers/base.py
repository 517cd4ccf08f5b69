"""The layer registry, the base class every layer kind derives from, and the contract of a kind.

One registered class per ``type:``. Its class attributes that are :class:`~convcalc.spec.fields.Field` objects
are the YAML keys it accepts; its methods answer every question convcalc asks about a layer of that kind. Shapes
are per sample, channels first: ``(C,)``, ``(C, L)``, ``(C, H, W)`` or ``(C, D, H, W)``; counts are per sample
(the analysis multiplies MACs and FLOPs by the batch).

The questions (docs/extending.md lists them with what each must return):

* ``output_shape(ins)``, and for explain ``shape_steps(ins, q)`` (the per-axis size formulas) or ``shape_rule``;
* ``counts(ins, q)`` — params, buffers, MACs, FLOPs, written once with the quantities of
  :mod:`convcalc.layers.formula` so that the same code gives the ints and the printed formulas;
* ``receptive_field(rfs, ins)`` and ``rf_steps(rfs, ins)`` / ``rf_rule`` (Araujo et al.'s update), which the
  analysis reaches through :meth:`Layer.output_field` (the layout check: ``any_layout``);
* ``details(ins)`` and ``warnings(ins)``;
* the **own** answers, which a kind must give itself and never inherits from another registered kind (see
  :func:`own`): ``example`` (a small network using it), ``erf_rule`` (the analytic ERF,
  :mod:`convcalc.layers.influence`) and ``designs`` (what ``convcalc compare`` can build with it,
  :mod:`convcalc.layers.design`). A kind that lacks one is reported as unsupported for that question.
"""

from __future__ import annotations

from functools import wraps
from math import prod
TYPE_CHECKING = False  # typing costs start-up; the annotations are text (PEP 563)
if TYPE_CHECKING:
    from typing import Any, ClassVar, Mapping, Sequence

from ..cost.rf import ReceptiveField
from ..errors import SpecError
from ..numbers import fraction_text
from ..spec.fields import Field, fields_of
from ..spec.graph import Node
from .formula import NUMERIC, SYMBOLIC, ZERO, Counts
from .registry import REGISTRY

Shape = tuple[int, ...]


class Example:
    """A small network that uses a kind: the input, the kind's fields, and what feeds it.

    Every registered kind has its own (tests/layers/test_contract.py checks). ``convcalc explain KIND`` works its
    formulas through it, and the tests run it for every kind: cost model against the executor, the executor's VJP
    against finite differences, the analytic ERF. ``before`` are layers that come first (name them to use them in
    ``inputs``); ``inputs`` are the kind's inputs by name (default: the previous layer). ``also`` are further field
    settings whose formulas differ (``{"mode": "nearest"}``), shown by explain next to the main one. Keep it small
    (a few thousand MACs): the finite-difference test runs it dozens of times.
    """

    __slots__ = ("input", "fields", "before", "inputs", "also")

    def __init__(self, input: tuple[int, ...], fields: Mapping[str, Any] | None = None,
                 before: tuple[Mapping[str, Any], ...] = (), inputs: tuple[str, ...] | None = None,
                 also: tuple[Mapping[str, Any], ...] = ()):
        self.input, self.fields, self.before, self.inputs, self.also = input, dict(fields or {}), before, inputs, also

    def spec(self, kind: str, **changes) -> dict:
        """The example as a spec dict; the kind's layer is the last one, named after the kind."""
        layer = {"type": kind, "name": kind, **self.fields, **changes}
        if self.inputs is not None:
            layer["inputs"] = list(self.inputs)
        return {"name": f"example_{kind}", "input": list(self.input),
                "layers": [dict(item) for item in self.before] + [layer]}


def per_shape(method):
    """Cache a layer's shape-derived ``method(self, shape)`` for the last shape it saw.

    The questions (shape, counts, RF, details) each re-derive the same geometry from the same input shape; one
    layer instance answers them all for one shape, so the geometry is computed once. A failing call raises and
    caches nothing."""
    slot = "_cached_" + method.__name__

    # getattr and setattr, not self.__dict__: reading an instance's __dict__ turns its attributes from CPython's
    # inline values into a dict, and every later field read of the layer costs four times as much
    @wraps(method)
    def cached(self, shape):
        hit = getattr(self, slot, None)
        if hit is not None and hit[0] == shape:
            return hit[1]
        value = method(self, shape)
        setattr(self, slot, (tuple(shape), value))
        return value

    return cached


def register(cls: type["Layer"]) -> type["Layer"]:
    """Class decorator: make ``cls`` the handler of ``type: cls.kind``."""
    REGISTRY.add(cls)  # raises for a kind registered twice
    cls.fields = fields_of(cls)
    return cls


def registered(cls: type) -> bool:
    """Whether ``cls`` is the registered class of a kind (not a family base such as ``Elementwise``)."""
    kind = getattr(cls, "kind", "")
    return bool(kind) and REGISTRY.get(kind) is cls


def own(cls: type["Layer"], name: str):
    """The kind's own answer ``name`` (an attribute or method of the class), or None.

    An answer is the kind's own when the kind's class defines it, or an unregistered family base it derives from
    does (``Elementwise`` for the activations). It is never inherited through another registered kind: a new kind
    derived from ``conv`` does not silently get conv's analytic-ERF rule, whose window may not be its own. To reuse
    a parent kind's answer on purpose, re-declare it in the class body (``erf_rule = Conv.erf_rule``).
    """
    for klass in cls.__mro__:
        if name in klass.__dict__:
            return klass.__dict__[name] if klass is cls or not registered(klass) else None
        if klass is not cls and registered(klass):
            return None
    return None


class Layer:
    """Base class of all layer kinds. Subclasses override what differs from 'shape-keeping, free, RF unchanged'."""

    kind: ClassVar[str] = ""
    summary: ClassVar[str] = ""
    family: ClassVar[str] = "other"
    #: inputs accepted: (minimum, maximum); None means unbounded
    arity: ClassVar[tuple[int, int | None]] = (1, 1)
    #: spatial ranks the kind works on (0 = flat features)
    ranks: ClassVar[tuple[int, ...]] = (0, 1, 2, 3)
    fields: ClassVar[dict[str, Field]] = {}
    #: a small network using the kind (see :class:`Example`); an own answer
    example: ClassVar[Example | None] = None
    #: the output shape in words, for kinds without per-axis :meth:`shape_steps`
    shape_rule: ClassVar[str] = "same as the input"
    #: the receptive-field update in words (``convcalc explain``)
    rf_rule: ClassVar[str] = "unchanged"
    #: where the layer reads its input moves with the data (learned offsets), so no fixed window can be checked
    data_dependent_window: ClassVar[bool] = False
    #: False (the default): the kind reads axis 0 as channels and the others as the spatial axes in order, so its
    #: input must be channels first (:meth:`output_field`). True: it reads no axis by role (elementwise ops,
    #: merges of equal layouts, permute, reshape, flatten) or finds its own (a linear layer over the last axis)
    any_layout: ClassVar[bool] = False
    #: True for a stand-in for an operator no kind describes (``unsupported``, :mod:`convcalc.layers.placeholder`):
    #: its zero counts are unknown, not free, so the analysis lists it (:meth:`stands_in_for`); it has no definition
    #: to run, differentiate or follow with the analytic ERF (the registry-driven tests check that it is refused)
    placeholder: ClassVar[bool] = False
    #: fields whose built-in default the kind means on its own, whatever a flat ``defaults:`` entry meant for other
    #: kinds says: ``squeeze_excitation``'s FC biases, a classifier's bias, a layernorm's shift are not followed by
    #: a norm that would cancel them, as a conv's is. A flat default that changes one of them is applied, and the
    #: analysis warns once per kind with the params it changes (docs/spec.md, "defaults")
    own_defaults: ClassVar[tuple[str, ...]] = ()
    #: set by the analysis on a layer its graph keeps between analyses (``Network.expanded``): ``(ins, (output
    #: shape, counts, warnings))``, the answers at input shapes ``ins``, which are pure functions of them; the next
    #: analysis of the same graph reads them instead of asking again (convcalc/cost/analysis.py)
    analysed: ClassVar[tuple | None] = None

    def __init__(self, node: Node):
        self.node = node
        self.name = node.name
        if self.fields:  # (a kind without fields, an activation or a merge, has none to copy)
            values = node.fields
            # setattr, not self.__dict__.update: an instance whose __dict__ was read keeps its attributes in a dict,
            # where every later read of a field costs four times as much as from CPython's inline values
            for key in self.fields:
                setattr(self, key, values[key])

    # ---- the questions ------------------------------------------------------------------------------------
    def output_shape(self, ins: Sequence[Shape]) -> Shape:
        return ins[0]

    def counts(self, ins: Sequence[Shape], q=NUMERIC) -> Counts:
        """Params, buffers, MACs and FLOPs per sample, written with the quantities of ``q``
        (:mod:`convcalc.layers.formula`): ints with ``NUMERIC``, printable terms with ``SYMBOLIC``."""
        return ZERO

    def backward_macs(self, ins: Sequence[Shape], input_grad: bool = True, trainable: bool = True) -> tuple[int, int]:
        """Backward multiply-accumulates per sample, ``(dX, dW)``: the input-gradient work (when ``input_grad``) and
        the weight-gradient work (when ``trainable``) of a training step (docs/training.md). A kind with no MACs in
        its forward has none in its backward either (its gradients are elementwise: FLOPs, not MACs); a kind with
        MACs must answer for itself, so it is a loud error here, never a silent zero."""
        if self.counts(ins).macs:
            raise NotImplementedError(f"layer `{self.name}`: kind `{self.kind}` has MACs but declares no backward "
                                      "MACs (add `backward_macs` to its class, docs/training.md)")
        return 0, 0

    def backward_flops(self, ins: Sequence[Shape], input_grad: bool = True, trainable: bool = True) -> int:
        """Backward FLOPs per sample of a training step: the input gradient's work (when ``input_grad``) and the
        parameter gradients' (when ``trainable``), from the backward per-op table
        (``BACKWARD_FLOPS_PER_ELEMENT`` in :mod:`convcalc.cost.conventions`, docs/flops.md "Backward"). Every
        kind answers for itself: a loud error here, never a silent zero."""
        raise NotImplementedError(f"layer `{self.name}`: kind `{self.kind}` declares no backward FLOPs (add "
                                  "`backward_flops` to its class, docs/flops.md \"Backward\")")

    def shape_steps(self, ins: Sequence[Shape], q=SYMBOLIC) -> ShapeSteps | None:
        """The output size of every spatial axis as a formula, and the channels (None: see ``shape_rule``)."""
        return None

    def receptive_field(self, rfs: Sequence[ReceptiveField], ins: Sequence[Shape]) -> ReceptiveField:
        return rfs[0]

    def fuses_elementwise(self) -> bool:
        """Whether ``convcalc cost --fuse elementwise`` folds the kind into the layer that produces its input, so
        that the tensor between them is neither written nor read back (docs/roofline.md). The base answer, False:
        the kind runs as a kernel of its own."""
        return False

    def gemm_flops(self, ins: Sequence[Shape]) -> int:
        """The FLOPs per sample that run as a matrix product (GEMM) at a device's GEMM peak; the rest of the kind's
        FLOPs is vector work (sliding-window, elementwise, reduction), which runs at its vector peak when the
        profile gives one (docs/roofline.md, "Compute classes"). A kind with no MACs does no matrix product: 0. A
        kind with MACs must answer for itself, so it is a loud error here, never a silent guess."""
        if self.counts(ins).macs:
            raise NotImplementedError(f"layer `{self.name}`: kind `{self.kind}` has MACs but declares no GEMM FLOPs "
                                      "(add `gemm_flops` to its class, docs/roofline.md \"Compute classes\")")
        return 0

    def moved_elements(self, ins: Sequence[Shape], out: Shape, params: int, buffers: int) -> tuple[int, int, int]:
        """What the kind moves through main memory, in elements: ``(weights, inputs, output)`` — its params and
        buffers read once (per run), each input read once and the output written once (per sample). The base
        answer suits every kind that reads what it is given and writes a new tensor (docs/roofline.md)."""
        return params + buffers, sum(prod(shape) for shape in ins), prod(out)

    def output_field(self, rfs: Sequence[ReceptiveField], ins: Sequence[Shape]) -> ReceptiveField:
        """The receptive field of the output, as the analysis asks for it: :meth:`receptive_field`, once every
        input is laid out as the kind reads it. A kind that is not ``any_layout`` given a tensor that is not
        channels first (after a ``permute`` to channels-last, say) would read the wrong axes as channels and
        positions: its counts are what the shapes give, but no window of the input's axes describes it, so the
        field is marked untracked and the analysis warns (:meth:`ReceptiveField.untracked_from`).

        (The analysis calls :meth:`receptive_field` directly when no input has a layout: ``layout`` is None
        exactly on the input's channels-first grid and on flat tensors.)"""
        block = ""
        if not self.any_layout:
            for name, rf, shape in zip(self.node.inputs, rfs, ins):
                if rf.layout is None:
                    continue
                if not rf.channels_first(shape):
                    return rf.untracked_from(
                        f"`{self.name}` ({self.kind}) reads axis 0 as channels and the others as spatial axes, but "
                        f"its input `{name}` {fmt_tuple(shape)} is laid out {rf.layout_text(shape)}: the receptive "
                        "field is not tracked from here; permute the input back to channels first before it")
                if len(shape) != len(rf.size) + 1:  # channels first, but a reshape changed the rank
                    block = (f"`{self.name}` reads {fmt_tuple(shape)} as {len(shape) - 1} spatial axes of a "
                             f"{len(rf.size)}-axis input, which the analytic ERF's per-axis state does not follow")
        rf = self.receptive_field(rfs, ins)
        if not block:
            return rf
        out = tuple(self.output_shape(ins))  # its output is off the grid too: keep it explicit for the layers after
        return rf.laid_out(rf.layout, out).blocked(block)

    def rf_steps(self, rfs: Sequence[ReceptiveField], ins: Sequence[Shape]) -> list[str]:
        """The RF update with numbers, one line per axis (empty when the kind has no simple window rule)."""
        return []

    def details(self, ins: Sequence[Shape]) -> dict:
        """Extra, kind-specific numbers for the JSON report (docs/json.md lists every key)."""
        return {}

    def warnings(self, ins: Sequence[Shape]) -> list[str]:
        return []

    def stands_in_for(self) -> tuple[str, str]:
        """A placeholder's operator and the original's node name (``("CumSum", "/cumsum/CumSum")``); asked only
        when :attr:`placeholder` is true."""
        raise NotImplementedError(f"`{self.kind}` is not a placeholder")

    def conv_query(self, in_shape: Shape, out_shape: Shape, source: str = ""):
        """The conv mapping this layer computes (a :class:`~convcalc.layers.design.ConvQuery`), for ``convcalc
        compare --layer`` and ``--as``; None when it is not a convolution."""
        return None

    # ---- helpers for subclasses ---------------------------------------------------------------------------
    def fail(self, message: str, hint: str, key: str | None = None):
        raise SpecError(f"layer `{self.name}` ({self.kind}): {message}", self.node.mark_of(key), hint)

    def check_rank(self, shape: Shape):
        rank = len(shape) - 1
        if rank not in self.ranks:
            wanted = " or ".join(_rank_words(r) for r in self.ranks)
            self.fail(f"expects a {wanted} input, got shape {fmt_tuple(shape)} ({_rank_words(rank)})",
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
        """(before, after) padding per axis. Conventions in :mod:`convcalc.spec.fields`."""
        value = getattr(self, key)
        ndim = len(in_sizes)
        if type(value) is int:  # the same padding on both sides of every axis (most layers): no text to compare
            return [(value, value)] * ndim
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

    def window_size(self, axis: int, n: int, k_eff, s: int, pads: tuple[int, int], ceil_mode: bool = False,
                    q=NUMERIC):
        """Output length of a sliding window (PyTorch's rule, as a formula of ``q``); explains the arithmetic
        when it falls below 1. ``k_eff`` may be a term (its definition then prints under the formula).

        PyTorch's rule (``pooling_output_shape`` in aten/src/ATen/native/Pool.h) is the only test: with
        ``ceil_mode`` a window may start anywhere in the input or the left padding and hang over the end, so a
        kernel larger than the padded input still gives one window when ``ceil(span / s) ≥ 0``
        (``maxpool kernel 2, ceil_mode`` on length 1 gives 1); without, the padded input must hold a window."""
        before, after = pads
        span = q("N", n) + q("p_b", before) + q("p_a", after) - k_eff
        out = (q.ceil_div if ceil_mode else q.floor_div)(span, q("s", s)) + 1
        if ceil_mode and (out - 1) * s >= n + before:
            out = out - 1  # PyTorch: the last window may not start in the right padding
        if out < 1:
            rounding = "ceil" if ceil_mode else "floor"
            padded = f"the padded input ({n} + {before} + {after} = {n + before + after})"
            why = (f"with ceil_mode a window may hang over the end only when the stride ({s}) exceeds the "
                   f"shortfall; {padded} is {int(k_eff) - n - before - after} short of the effective kernel "
                   f"({int(k_eff)})" if ceil_mode else
                   f"the input ({n}) is smaller than the effective kernel ({int(k_eff)})")
            self.fail(f"output size along spatial axis {axis} is {rounding}(({n} + {before} + {after} − "
                      f"{int(k_eff)}) / {s}) + 1 = {int(out)}, below 1",
                      f"{why}; use a smaller kernel or dilation, more padding, or a larger input")
        return out


class ShapeSteps:
    """What :meth:`Layer.shape_steps` returns: the channel count and one size formula per spatial axis."""

    __slots__ = ("channels", "sizes")

    def __init__(self, channels, sizes: list):
        self.channels, self.sizes = channels, sizes


def effective_kernel(kernel, dilation, q=NUMERIC) -> tuple:
    """``k_eff = d·(k − 1) + 1`` per axis (dilation 1 means none), as a named sub-term of ``q``."""
    k_eff = []
    for k, d in zip(kernel, dilation):  # a loop: a generator costs more than the arithmetic (every conv and pool)
        k_eff.append(q.named("k_eff", q("d", d) * (q("k", k) - 1) + 1, False))
    return tuple(k_eff)


def _rank_words(rank: int) -> str:
    return {0: "flat (C,)", 1: "1-D (C, L)", 2: "2-D (C, H, W)", 3: "3-D (C, D, H, W)"}.get(rank, f"{rank}-D")


def fmt_tuple(shape) -> str:
    """A shape as Python writes a tuple: ``(192,)``, ``(64, 56, 56)``."""
    shape = list(shape)
    return "(" + ", ".join(str(s) for s in shape) + ("," if len(shape) == 1 else "") + ")"


class SlidingWindow:
    """Mixin of the kinds whose outputs each read a sliding window of the input (convolutions, pooling): the
    receptive field, its worked steps and the analytic-ERF readers all come from the kind's ``geometry(shape)``
    (a named tuple with ``kernel``, ``stride``, ``dilation``, ``k_eff`` and ``pads``)."""

    rf_rule = "r += (k_eff − 1)·j, centre += ((k_eff − 1)/2 − p_b)·j, j *= s per axis"

    def receptive_field(self, rfs, ins):
        g = self.geometry(ins[0])
        return rfs[0].window(g.k_eff, g.stride, next(zip(*g.pads)))  # (the padding before each axis)

    def rf_steps(self, rfs, ins):
        g = self.geometry(ins[0])
        return window_rf_steps(rfs[0], g.k_eff, g.stride, [p[0] for p in g.pads])

    def window_readers(self, shape, weight=lambda k: 1) -> list:
        """One reader per axis for the analytic ERF: ``k`` taps spaced ``d`` apart (``weight(k)`` each)."""
        from . import influence

        g = self.geometry(shape)
        return [influence.window(k, s, d, p[0], weight(k)) for k, s, d, p in zip(g.kernel, g.stride, g.dilation,
                                                                                g.pads)]


def window_rf_steps(rf: ReceptiveField, kernel_eff, stride, pad_before) -> list[str]:
    """Araujo et al.'s window update written out per axis: size, jump and start of unit 0."""
    lines = []
    for axis, (r, j, start, k, s, p) in enumerate(zip(rf.size, rf.jump, rf.start, kernel_eff, stride, pad_before)):
        size = r + (k - 1) * j
        lines.append(f"axis {axis}: r = {r} + ({k} − 1)·{fraction_text(j)} = {fraction_text(size)}; "
                     f"j = {fraction_text(j)}·{s} = {fraction_text(j * s)}; "
                     f"start = {fraction_text(start)} − {p}·{fraction_text(j)} = {fraction_text(start - p * j)}")
    return lines
