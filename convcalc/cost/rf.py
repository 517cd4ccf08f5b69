"""Theoretical receptive field arithmetic (Araujo, Norris & Sim, "Computing Receptive Fields of Convolutional
Neural Networks", Distill 2019).

Per input axis we track, for the output unit at index 0 of the current feature map:

* ``size`` r — how many input positions it can see,
* ``jump`` j — the distance in input pixels between two adjacent units (the effective stride),
* ``center`` c — the input coordinate of the centre of its window.

The effective padding of the paper is derived, not stored: ``P = (r − 1)/2 − c``, and the first input index
covered is ``start = −P``. A window layer with effective kernel ``k_eff = d·(k − 1) + 1``, stride s and padding
p_before updates them as ``r += (k_eff − 1)·j``, ``c += ((k_eff − 1)/2 − p_before)·j``, ``j *= s`` — which is the
paper's ``P += p_before·j``. Jumps and centres are exact fractions, since upsampling divides the jump; a whole
value is kept as an ``int`` (int arithmetic is several times faster than Fraction's, and a 10,000-layer spec does
it for every window). Both print, compare and serialise alike.

**Layout.** The entries are per spatial axis of the *network input*, whatever the tensor's layout: a ``permute`` to
channels-last moves H and W within the tensor but not within the record, so ``convcalc rf`` keeps reporting H and
W through a ConvNeXt block. Where the input's axes sit in the current tensor is the record's ``layout``
(:mod:`convcalc.cost.layout`; ``None``, the channels-first layout, for every record of a network without a permute
or reshape). Kinds that read axis 0 as channels and the rest as the spatial axes only see channels-first tensors:
given another layout, the analysis marks the field :meth:`ReceptiveField.untracked` and warns
(:meth:`convcalc.layers.base.Layer.output_field`). ``erf_block`` says why the analytic ERF cannot follow a layer
(a layout its per-axis readers cannot state); the analytic ERF refuses units downstream of one.
"""

from __future__ import annotations

from ..records import field, record
from fractions import Fraction
from math import ceil
TYPE_CHECKING = False  # typing costs start-up; the annotations are text (PEP 563)
if TYPE_CHECKING:
    from typing import Any, ClassVar

from ..numbers import fraction_text, whole


class _cached:
    """``functools.cached_property`` without its lock (Python 3.11's takes an RLock on every first read, which
    cost more than the arithmetic it caches). Fields are immutable and analysis is single-threaded."""

    def __init__(self, func):
        self.func, self.name, self.__doc__ = func, func.__name__, func.__doc__

    def __get__(self, obj, owner=None):
        if obj is None:
            return self
        value = self.func(obj)
        _set(obj, self.name, value)  # (not obj.__dict__: see _made)
        return value


@record(frozen=True)
class ReceptiveField:
    """Receptive field per input spatial axis."""

    size: tuple[int, ...]
    jump: tuple[Fraction | int, ...]
    center: tuple[Fraction | int, ...]
    position_dependent: bool = False
    notes: tuple[str, ...] = field(default=())
    # Three more attributes, not dataclass fields: every window builds a record, and a record of a network without
    # a permute or reshape never sets them (they stay these class defaults). Set them with :meth:`replaced`.
    #: where the input's spatial axes sit in the tensor (:mod:`convcalc.cost.layout`); None = channels first
    layout: ClassVar[Any] = None
    #: why the field is not tracked from this layer on (a channels-first kind read another layout); the analysis
    #: warns with it
    untracked: ClassVar[str] = ""
    #: why the analytic ERF cannot follow this layer
    erf_block: ClassVar[str] = ""
    #: every jump and centre is known to be an int (set by :meth:`step` and :meth:`window`, for the analysis's
    #: bounds check; False: not known)
    whole_values: ClassVar[bool] = False

    def replaced(self, **changes) -> "ReceptiveField":
        """A copy with ``changes`` to the fields and to ``layout``, ``untracked`` and ``erf_block`` (kept unless
        given)."""
        rf = ReceptiveField(changes.pop("size", self.size), changes.pop("jump", self.jump),
                            changes.pop("center", self.center),
                            changes.pop("position_dependent", self.position_dependent), changes.pop("notes", self.notes))
        for key in ("layout", "untracked", "erf_block"):
            value = changes.pop(key, getattr(self, key))
            if value != getattr(ReceptiveField, key):
                object.__setattr__(rf, key, value)
        if changes:
            raise TypeError(f"unknown receptive-field attributes {sorted(changes)}")
        return rf

    @classmethod
    def identity(cls, ndim: int) -> "ReceptiveField":
        return cls((1,) * ndim, (1,) * ndim, (0,) * ndim)

    # cached: a field passes unchanged through every elementwise layer, and Fraction arithmetic is slow
    @_cached
    def padding(self) -> tuple[Fraction, ...]:
        """Effective padding P per axis (Araujo et al.)."""
        return tuple(whole(_half(r - 1) - c) for r, c in zip(self.size, self.center))

    @_cached
    def start(self) -> tuple[Fraction, ...]:
        """First input index covered by output unit 0 (= −P)."""
        return tuple(-p for p in self.padding)

    def step(self, span, jump_factor, center_offset) -> "ReceptiveField":
        """The general per-axis update, in units of the *input* jump.

        ``span``: how many input steps the window of one output covers beyond its first input (k_eff − 1 for a
        conv); ``jump_factor``: the stride (a fraction < 1 for upsampling); ``center_offset``: where the centre of
        output 0's window lies, in input units ((k_eff − 1)/2 − p_before for a conv).
        """
        size, jump, center, start = [], [], [], []
        ints = True
        for r, j, c, n, s, o in zip(self.size, self.jump, self.center, span, jump_factor, center_offset):
            grow = n * j
            r += grow if type(grow) is int else int(ceil(grow))
            c += o * j
            j *= s
            if type(c) is not int or type(j) is not int:  # whole() only where a Fraction arose
                c, j, ints = whole(c), whole(j), False
            size.append(r)
            center.append(c)
            jump.append(j)
            start.append(_start(r, c))
        return _made(tuple(size), tuple(jump), tuple(center), self.position_dependent, self.notes, tuple(start), ints)

    def window(self, kernel_eff, stride, pad_before) -> "ReceptiveField":
        """Through a sliding window (conv, pooling): per-axis effective kernel, stride and padding before.

        :meth:`step` with span ``k_eff − 1`` and centre offset ``(k_eff − 1)/2 − p_before``, written out in one
        loop: every conv and pooling layer runs it, and the lists :meth:`step` takes cost as much as the update."""
        size, jump, center, start = [], [], [], []
        ints = True
        for r, j, c, k, s, p in zip(self.size, self.jump, self.center, kernel_eff, stride, pad_before):
            span = k - 1
            grow = span * j
            r += grow if type(grow) is int else int(ceil(grow))
            c += ((span // 2 if span % 2 == 0 else Fraction(span, 2)) - p) * j  # (_half, inlined)
            j *= s
            if type(c) is not int or type(j) is not int:  # whole() only where a Fraction arose
                c, j, ints = whole(c), whole(j), False
            size.append(r)
            center.append(c)
            jump.append(j)
            # (_start, inlined for the usual odd size and whole centre)
            start.append(c - (r - 1) // 2 if r & 1 and type(c) is int else _start(r, c))
        return _made(tuple(size), tuple(jump), tuple(center), self.position_dependent, self.notes, tuple(start), ints)

    def whole(self, in_sizes) -> "ReceptiveField":
        """A layer whose single output sees its whole input (global pooling, flatten)."""
        return self.window(tuple(in_sizes), tuple(in_sizes), (0,) * len(in_sizes))

    def flagged(self, note: str) -> "ReceptiveField":
        """The same field, marked position-dependent (different outputs see windows of different sizes)."""
        return self.replaced(position_dependent=True, notes=self.notes + (note,), untracked="", erf_block="")

    # ---- layouts (convcalc/cost/layout.py) ---------------------------------------------------------------------
    def channels_first(self, shape) -> bool:
        """Whether a tensor of ``shape`` with this field is laid out channels first (axis 0 channels, then the
        input's spatial axes in order; size-1 axes match anything)."""
        if self.layout is None:
            return True
        from . import layout

        return layout.normal(layout.entries(self.layout, shape), shape) is None

    def off_grid(self, shape) -> str:
        """How a tensor of ``shape`` is laid out when its positions are not the input's grid (not flat, and not
        channels first with one axis per input axis): its layout text, else "" (``convcalc rf --layer`` and the
        ERF take units of the input's grid only)."""
        if len(shape) == 1 or (self.layout is None and len(shape) == len(self.size) + 1):
            return ""
        return "" if self.channels_first(shape) and len(shape) == len(self.size) + 1 else self.layout_text(shape)

    def layout_text(self, shape) -> str:
        """The tensor's axes by what they carry: ``(C, H, W)``, ``(H, W, C)``, ``(C, H·W)``."""
        from . import layout

        return layout.text(self.layout, shape, len(self.size))

    def laid_out(self, new_layout, shape) -> "ReceptiveField":
        """The same field for a tensor of ``shape`` in another layout (a permute or a reshape moved the axes, no value
        mixed). ``None`` is kept for the input's channels-first grid and for flat tensors only: a channels-first
        tensor of another rank keeps its explicit layout, so the kinds after it see it (the analysis skips the
        layout check when every input's layout is None)."""
        return self.replaced(layout=self._settled(new_layout, shape), untracked="", erf_block="")

    def _settled(self, new_layout, shape):
        if new_layout is None and len(shape) not in (1, len(self.size) + 1):
            from . import layout

            return layout.standard(shape, len(self.size))
        return new_layout

    def blocked(self, reason: str) -> "ReceptiveField":
        """The same field, with the analytic ERF unable to follow the layer (``reason``)."""
        return self.replaced(erf_block=reason)

    def untracked_from(self, note: str) -> "ReceptiveField":
        """The field marked not tracked from here on: the values are the input's, flagged position-dependent (the
        table shows it), the layout reset to channels first (the kind's output), the analytic ERF blocked."""
        return ReceptiveField(self.size, self.jump, self.center, True, self.notes + (note,)).replaced(untracked=note,
                                                                                                   erf_block=note)

    def flat(self, shape) -> "ReceptiveField":
        """Through a layer whose output is flat (flatten, a reshape to (F,)): the single unit sees the whole input,
        as later layers mix every position. Each input axis counts with its size in the tensor (its layout)."""
        if self.layout is None:
            return self.whole(shape[1:]) if len(shape) > 1 else self
        from . import layout

        sizes = layout.axis_sizes(self.layout, shape, len(self.size))
        if sizes is None:
            return self.untracked_from("a flatten of a tensor whose layout is unknown (a reshape split a spatial "
                                       "axis): the receptive field is not tracked from here")
        return self.whole(sizes)

    def mixed(self, shape, axis: int, out_size: int, who: str) -> "ReceptiveField":
        """Through an op that mixes every position of tensor axis ``axis`` into ``out_size`` features (a linear
        layer over the last axis): the input axes that axis carries become whole, the axis becomes features. On a
        channels-last tensor (features last) nothing changes but the size."""
        from . import layout

        new_layout, carried = layout.mixed(self.layout, shape, axis, out_size)
        new_layout = self._settled(new_layout, (*shape[:axis], out_size, *shape[axis + 1:]))
        if carried is None:
            return self.untracked_from(f"`{who}` mixes an axis of a tensor whose layout is unknown: the receptive "
                                       "field is not tracked from here")
        if not carried:
            return self if new_layout == self.layout else self.replaced(layout=new_layout)
        sizes = layout.axis_sizes(self.layout, shape, len(self.size))
        whole = [sizes[a] if a in carried else 1 for a in range(len(self.size))]
        mixed = self.window(whole, whole, (0,) * len(whole))
        names = layout.names(len(self.size))
        block = (f"`{who}` mixes the positions of {'·'.join(names[a] for a in carried)} (its axis {axis} carries "
                 "them), which the analytic ERF's per-axis readers do not state")
        return mixed.replaced(layout=new_layout, erf_block=block)

    def aligned_with(self, other: "ReceptiveField") -> list[str]:
        """Why two merged inputs are misaligned (empty when aligned): jumps and centres must be equal, and the
        layouts too (a channels-first tensor added to a channels-last one of the same shape)."""
        problems = []
        if self.layout != other.layout:
            from . import layout

            def describe(value):
                return "channels first" if value is None else "unknown" if value == layout.UNKNOWN else \
                    layout.text(value, [2] * len(value), len(self.size))

            problems.append(f"layout {describe(self.layout)} vs {describe(other.layout)}")
        for axis, (j1, j2, c1, c2) in enumerate(zip(self.jump, other.jump, self.center, other.center)):
            if j1 != j2:
                problems.append(f"axis {axis}: jump {fraction_text(j1)} vs {fraction_text(j2)}")
            elif c1 != c2:
                problems.append(f"axis {axis}: centre of unit 0 at {fraction_text(c1)} vs {fraction_text(c2)}")
        return problems


def _half(value: int):
    """value / 2, exactly: an int when even."""
    return value // 2 if value % 2 == 0 else Fraction(value, 2)


def _start(size: int, center):
    """The first input index unit 0 sees, ``center − (size − 1)/2`` (= −P), as :attr:`ReceptiveField.start` gives
    it: an int when whole."""
    if type(center) is int and size & 1:  # an odd size: (size − 1)/2 is whole (most fields)
        return center - (size - 1) // 2
    return whole(center - _half(size - 1))


_new, _set = object.__new__, object.__setattr__


def _made(size, jump, center, position_dependent, notes, start, ints) -> ReceptiveField:
    """A ReceptiveField with its ``start`` already known, as :meth:`~ReceptiveField.step` and
    :meth:`~ReceptiveField.window` make one for every layer that moves the field: the same fields the record's
    frozen ``__init__`` sets, without its call, and ``start`` without a second pass through ``padding``. Set with
    ``object.__setattr__`` (the record is frozen), never through ``rf.__dict__``: reading an instance's __dict__ turns
    its attributes from CPython's inline values into a dict, and every later read of a field costs four times as
    much. ``ints``: every jump and centre is an int (``whole_values``)."""
    rf = _new(ReceptiveField)
    _set(rf, "size", size)
    _set(rf, "jump", jump)
    _set(rf, "center", center)
    _set(rf, "position_dependent", position_dependent)
    _set(rf, "notes", notes)
    _set(rf, "start", start)
    if ints:
        _set(rf, "whole_values", True)
    return rf


