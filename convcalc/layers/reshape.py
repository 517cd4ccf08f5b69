"""Rearranging the per-sample axes: permute (``x.permute``), reshape (``x.reshape``) and flatten (``torch.flatten``).

None computes anything: params, MACs and FLOPs are 0 (a copy or a view). Shapes are per sample; the batch axis is
never named (``dims: [1, 2, 0]`` is ``x.permute(0, 2, 3, 1)`` on the batched tensor: channels-last for (C, H, W)).

Receptive field: no value mixes with another, so every output element sees what its input element saw; the record
stays per spatial axis of the network input and only its **layout** changes (:mod:`convcalc.cost.layout`): a
permute reorders where H and W sit, a reshape merges or splits axes. After a permute to channels-last the
channels-first kinds (conv, pooling, batchnorm, …) must not read the tensor (the analysis warns and stops tracking
the field, :meth:`convcalc.layers.base.Layer.output_field`); shape-keeping kinds and the kinds that work on the last
axis (``linear`` with ``axis: last``) may. A reshape or flatten to a flat ``(F,)`` makes the field the whole
input, as ``flatten`` always has (the layers after it mix every position).

Analytic ERF: its state is one marginal per spatial axis of the network input, and a rearrangement reads every
position as it is (identity readers), so permutes and reshapes pass it unchanged whatever they do to the tensor's
axes; a flat output reads its whole input when that input is the channels-first grid (otherwise ``erf_block``:
use ``--erf measured``). Kinds with other readers need the channels-first grid (see
:meth:`~convcalc.layers.base.Layer.output_field`).
"""

from __future__ import annotations

from fractions import Fraction
from math import prod

from ..cost.conventions import backward_flops_per_element
from ..spec.fields import EXPRESSION, REQUIRED, Field, Int, _items
from .base import Example, Layer, ShapeSteps, fmt_tuple, register
from . import peers, saved
from .formula import NUMERIC, SYMBOLIC, Counts


class IntList(Field):
    """A list of whole numbers (``dims: [1, 2, 0]``, ``shape: [-1, 96]``), each at least ``min``; one value per
    per-sample axis, so a list under ``repeat: N`` stays whole (nest lists for one per repetition)."""

    type_name = "list of ints"
    takes_list = True

    def __init__(self, default=REQUIRED, min: int = 0, doc: str = ""):
        super().__init__(default, doc)
        self.min = min

    def value_schema(self):
        return {"type": "array", "minItems": 1, "items": {"anyOf": [{"type": "integer", "minimum": self.min},
                                                                      EXPRESSION]}}

    def coerce(self, value, mark, evaluate):
        if not isinstance(value, list) or not value:
            self._fail(f"expects a list of whole numbers, got {self._describe(value)}", mark,
                       f"write e.g. `{self.name}: [1, 2, 0]`")
        out = []
        for item, item_mark in _items(value, mark):
            number = self._number(item, item_mark, evaluate, integral=True)
            if number < self.min:
                self._fail(f"entries must be at least {self.min}, got {number}", item_mark,
                           f"use values ≥ {self.min}")
            out.append(number)
        return tuple(out)


def rearranged(rf, shape, out_shape, who: str):
    """The field after a row-major reshape of ``shape`` to ``out_shape``: the whole input for a flat output, else
    the same values in the new layout. The analytic ERF follows any such move (its state is per input axis and a
    rearrangement reads every position as it is), except into a flat output from a tensor that is not the input's
    channels-first grid (its whole-axis readers are per tensor axis)."""
    rank = len(rf.size)
    if len(out_shape) == 1:
        flat = rf.flat(shape)
        on_grid = len(shape) == 1 or (rf.layout is None and len(shape) == rank + 1)
        return flat if on_grid else flat.blocked(
            f"`{who}` flattens {fmt_tuple(shape)}, laid out {rf.layout_text(shape)}, which the analytic ERF's "
            "whole-axis readers (one per tensor axis) do not state")
    from ..cost import layout

    new = layout.reshape(rf.layout, shape, out_shape)
    return rf if new is None and rf.layout is None and len(out_shape) == len(shape) else rf.laid_out(new, out_shape)


class Rearrangement(Layer):
    """A kind that moves elements without arithmetic: any layout, no cost, the field carried (module docstring)."""

    family = "reshape"
    any_layout = True
    op = ""

    def counts(self, ins, q=NUMERIC):
        return Counts(flops=q.elements(ins[0]) * q.cost(self.op))

    def backward_flops(self, ins, input_grad=True, trainable=True):
        """g reshaped or permuted back: ``rearrange``, 0 per element."""
        return prod(ins[0]) * backward_flops_per_element("rearrange")

    def erf_rule(self, ins, out, index):
        """Flat output: the single unit reads the whole map. Otherwise every input axis keeps its positions (the
        per-axis state is per spatial axis of the network input, wherever the tensor holds it)."""
        from . import influence

        if len(out) == 1 and len(ins[index]) > 1:
            return influence.ERFRule(Fraction(1), [influence.whole(n, False) for n in ins[index][1:]])
        return influence.identity_rule(len(ins[index]) - 1)


@register
class Permute(Rearrangement):
    """Permute the per-sample axes; ``dims: [1, 2, 0]`` makes (C, H, W) channels-last.

    As ``x.permute(0, *(d + 1 for d in dims))`` (https://pytorch.org/docs/stable/generated/torch.permute.html) or
    ONNX ``Transpose``::

        shape  (N_0, N_1, …) → (N_dims[0], N_dims[1], …)
        params = MACs = FLOPs = 0  (a copy)

    ``dims: [1, 2, 0]`` makes (C, H, W) channels-last (H, W, C), as ConvNeXt's block does before its LayerNorm and
    MLP (Liu et al. 2022, "A ConvNet for the 2020s"); ``[2, 0, 1]`` makes it channels first again.

    RF: unchanged, per spatial axis of the input; the record's layout is permuted (:mod:`convcalc.cost.layout`), so
    after ``[1, 2, 0]`` it reads ``(H, W, C)`` and a conv there is warned about, and after ``[2, 0, 1]`` it is
    channels first again.
    """

    kind = "permute"
    peer_rules = peers.free("a view or a copy, no arithmetic")  # convcalc/layers/peers.py
    summary = "permute the per-sample axes (x.permute; dims [1, 2, 0] = channels-last for (C, H, W))"
    op = "permute"
    example = Example((3, 4, 5), {"dims": [1, 2, 0]})
    shape_rule = "(N_0, N_1, …) → (N_dims[0], N_dims[1], …)"
    rf_rule = "unchanged per input axis; the layout (where H, W, C sit) is permuted"
    dims = IntList(min=0, doc="a permutation of the per-sample axes 0 … rank − 1")

    def checked_dims(self, shape) -> tuple[int, ...]:
        rank = len(shape)
        if len(self.dims) != rank or sorted(self.dims) != list(range(rank)):
            self.fail(f"`dims` {list(self.dims)} is not a permutation of the {rank} per-sample axes of "
                      f"{fmt_tuple(shape)} (0 … {rank - 1})",
                      f"list each of 0 … {rank - 1} once, e.g. {list(range(1, rank)) + [0]} for channels-last",
                      "dims")
        return self.dims

    saved_for_backward = saved.is_strided_view  # a strided view, not contiguous

    def output_shape(self, ins):
        return tuple(ins[0][d] for d in self.checked_dims(ins[0]))

    def receptive_field(self, rfs, ins):
        from ..cost import layout

        dims = self.checked_dims(ins[0])
        new = layout.permute(rfs[0].layout, ins[0], dims)
        return rfs[0] if new == rfs[0].layout else rfs[0].laid_out(new, self.output_shape(ins))


@register
class Reshape(Rearrangement):
    """Reshape each sample to ``shape`` in row-major order; the element counts must match.

    As ``x.reshape(B, *shape)`` (https://pytorch.org/docs/stable/generated/torch.reshape.html) or ONNX ``Reshape``
    with a static shape (and ``Squeeze``/``Unsqueeze``)::

        shape  → ``shape``, one entry may be −1: Π(input) / Π(the others)
        params = MACs = FLOPs = 0  (a view)

    The element counts must match. RF: a flat target ``(F,)`` sees the whole input (as ``flatten``); otherwise the
    values are unchanged and the layout follows the reshape (merged axes stay known, so a reshape back restores
    them; splitting a spatial axis makes the layout unknown and the kinds after it are warned about).
    """

    kind = "reshape"
    peer_rules = peers.free("a view or a copy, no arithmetic")  # convcalc/layers/peers.py
    summary = "reshape each sample to a shape (one entry may be -1), row-major"
    op = "reshape"
    example = Example((4, 3, 2), {"shape": [2, 2, -1]})
    shape_rule = "the target `shape`, −1 = the remaining elements"
    rf_rule = "flat target: the whole input; else unchanged per input axis, the layout regrouped"
    shape = IntList(min=-1, doc="the per-sample target shape; one entry may be -1")

    def target(self, shape) -> tuple[int, ...]:
        total, wanted = prod(shape), list(self.shape)
        if 0 in wanted:
            self.fail(f"`shape` {wanted} has a 0 entry", "every axis needs at least one element", "shape")
        free = [i for i, n in enumerate(wanted) if n == -1]
        if len(free) > 1:
            self.fail(f"`shape` {wanted} has {len(free)} entries −1; at most one can be inferred",
                      "give every size but one", "shape")
        known = prod(n for n in wanted if n != -1)
        if free:
            if total % known:
                self.fail(f"cannot reshape {fmt_tuple(shape)} ({total} elements) to {wanted}: {total} is not "
                          f"divisible by {known}", "choose sizes whose product divides the element count", "shape")
            wanted[free[0]] = total // known
        elif known != total:
            self.fail(f"cannot reshape {fmt_tuple(shape)} ({total} elements) to {fmt_tuple(wanted)} ({known} "
                      "elements)", f"the sizes must multiply to {total}, or use −1 for one of them", "shape")
        return tuple(wanted)

    saved_for_backward = saved.is_reshape  # a view of a contiguous input

    def output_shape(self, ins):
        return self.target(ins[0])

    def receptive_field(self, rfs, ins):
        return rearranged(rfs[0], ins[0], self.target(ins[0]), self.name)

    def moved_elements(self, ins, out, params, buffers):
        """A view of its input (the same elements in the same order): nothing moves through memory."""
        return 0, 0, 0


@register
class Flatten(Rearrangement):
    """Flatten per-sample axes ``start`` … ``end`` into one, as ``torch.flatten(x, start_dim=start + 1,
    end_dim=end + 1)`` (``end: -1`` is the last axis) or ``torch.nn.Flatten`` / ONNX ``Flatten``. The defaults
    (0, −1) flatten (C, *N) into (C·ΠN,), ``torch.nn.Flatten()`` on one sample. No cost.

    A flat output's receptive field is the whole input, since later layers mix every position; a partial flatten
    (``start: 1`` on (C, H, W) gives (C, H·W)) keeps the values and merges the axes in the layout.
    """

    kind = "flatten"
    peer_rules = peers.free("a view or a copy, no arithmetic")  # convcalc/layers/peers.py
    summary = "flatten per-sample axes start … end into one (default all: (C, *N) → (C·ΠN,))"
    family = "other"
    op = "flatten"
    example = Example((2, 3, 3))
    rf_rule = "flat output: the whole input, r += (N − 1)·j per axis; else unchanged, the axes merged"
    start = Int(default=0, doc="first per-sample axis flattened (0 = channels)")
    end = Int(default=-1, doc="last per-sample axis flattened; negative counts from the end")

    def span(self, shape) -> tuple[int, int]:
        rank = len(shape)
        start, end = self.start, self.end + rank if self.end < 0 else self.end
        if not 0 <= start < rank:
            self.fail(f"`start` {self.start} is not a per-sample axis of {fmt_tuple(shape)} (0 … {rank - 1})",
                      f"use 0 … {rank - 1}", "start")
        if not 0 <= end < rank or end < start:
            self.fail(f"`end` {self.end} is not a per-sample axis at or after `start` {start} of {fmt_tuple(shape)}",
                      f"use {start} … {rank - 1}, or −1 for the last axis", "end")
        return start, end

    saved_for_backward = saved.is_reshape  # a view of a contiguous input

    def output_shape(self, ins):
        shape = ins[0]
        start, end = self.span(shape)
        return (*shape[:start], prod(shape[start:end + 1]), *shape[end + 1:])

    def shape_steps(self, ins, q=SYMBOLIC):
        start, end = self.span(ins[0])
        if (start, end) != (0, len(ins[0]) - 1):
            return None  # a partial flatten: the rule in words
        return ShapeSteps(q.elements(ins[0]), [])

    def receptive_field(self, rfs, ins):
        return rearranged(rfs[0], ins[0], self.output_shape(ins), self.name)

    def moved_elements(self, ins, out, params, buffers):
        """A view of its input (the same elements in the same order): nothing moves through memory."""
        return 0, 0, 0
