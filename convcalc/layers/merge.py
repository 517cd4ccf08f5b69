"""Layers that merge several inputs: channel concat and the elementwise merges with NumPy broadcasting — add
(residual connections), multiply (gates), subtract and divide.

Receptive field at a merge: the inputs must be aligned (equal jump, equal centre of unit 0, which is the paper's
equal ``P − (r − 1)/2``, and equal layout: convcalc/cost/layout.py). The merged field takes the input with the
largest size; a misaligned merge gives a warning naming both paths. An input broadcast along every spatial axis (an
SE gate of shape (C, 1, 1)) is global context, not a positioned window: it is left out of the field and of the
alignment check (:func:`broadcast`). The elementwise merges read no axis by role (``any_layout``); concat joins
along axis 0, the channels, so its inputs must be channels first.
"""

from __future__ import annotations

from fractions import Fraction
from math import prod

from ..cost.conventions import backward_flops_per_element
from .base import Example, Layer, fmt_tuple, register
from . import peers, saved
from .formula import NUMERIC, Counts


class Merge(Layer):
    """Inputs of one shape → that shape; FLOPs (n − 1) per output element."""

    family = "merge"
    arity = (2, None)
    op = ""
    shape_rule = "inputs of one shape → that shape"
    rf_rule = "the largest input field; inputs must be aligned"

    def counts(self, ins, q=NUMERIC):
        return Counts(flops=(q("n", len(ins)) - 1) * q.elements(self.output_shape(ins)) * q.cost(self.op))

    def backward_flops(self, ins, input_grad=True, trainable=True):
        """The inputs' gradients (every input's, when the layer's is needed): the kind's
        :meth:`backward_per_output` per output element, plus the sums of broadcast inputs' gradients."""
        if not input_grad:
            return 0
        out = prod(self.output_shape(ins))
        return out * self.backward_per_output(len(ins)) + self.reduction_flops(ins, out)

    def backward_per_output(self, inputs: int) -> int:
        """Backward FLOPs per output element for ``inputs`` inputs (backward table, convcalc/cost/conventions.py)."""
        raise NotImplementedError(f"kind `{self.kind}` declares no backward FLOPs per output element")

    def reduction_flops(self, ins, out: int) -> int:
        """The sums over broadcast axes of inputs smaller than the output: none without broadcasting."""
        return 0

    def receptive_field(self, rfs, ins):
        out = self.output_shape(ins)
        spatial = [rf for rf, shape in zip(rfs, ins) if not broadcast(shape, out)]
        rf = max(spatial or rfs, key=lambda rf: rf.size)
        gates = [name for name, shape in zip(self.node.inputs, ins) if broadcast(shape, out)]
        if gates and spatial:
            names = ", ".join(f"`{name}`" for name in gates)
            rf = rf.replaced(notes=rf.notes + (f"{self.name}: also sees its whole input through the broadcast "
                                               f"{names}",), untracked="", erf_block="")
        return rf

    def erf_rule(self, ins, out, index):
        """Every input reads the output at its own position (a sum or a copy: factor 1)."""
        from . import influence

        return influence.identity_rule(len(ins[index]) - 1)


class Broadcasting(Merge):
    """An elementwise merge with NumPy broadcasting of the per-sample shapes (aligned on the right; a size of 1
    against any size). FLOPs: (n − 1) per output element, broadcast inputs included."""

    any_layout = True
    shape_rule = "NumPy broadcasting of the input shapes"
    verb = ""
    hint = "sizes must be equal or 1 on every axis"

    def output_shape(self, ins):
        first = ins[0]
        for shape in ins:
            if shape != first:
                break
        else:
            return first  # equal shapes, the residual add of every ResNet
        rank = max(len(s) for s in ins)
        out = []
        for axis in range(rank):
            sizes = {s[axis - rank + len(s)] for s in ins if axis - rank + len(s) >= 0} - {1}
            if len(sizes) > 1:
                self.mismatch(ins)
            out.append(sizes.pop() if sizes else 1)
        return tuple(out)

    def receptive_field(self, rfs, ins):
        first = ins[0]
        for shape in ins:
            if shape != first:
                break
        else:  # nothing broadcast (the residual add of every ResNet): Merge's rule with every input positioned
            return max(rfs, key=_field_size)
        rf = super().receptive_field(rfs, ins)
        out = self.output_shape(ins)
        if any(len(shape) != len(out) for shape in ins) or rf.off_grid(out):
            rf = rf.blocked(f"`{self.name}` broadcasts {' and '.join(map(fmt_tuple, ins))} (laid out "
                            f"{rf.layout_text(out)}), which the analytic ERF's gate readers, one per spatial axis of "
                            "a channels-first map of equal rank, do not state")
        return rf

    def fuses_elementwise(self) -> bool:
        """One op per output element: it can run in the epilogue of the kernel producing one of its inputs
        (the others are still read)."""
        return True

    def reduction_flops(self, ins, out):
        """An input broadcast to the output gets g summed over the broadcast axes (sum_to_size): ``broadcast_sum``,
        1 add per output element, per broadcast input."""
        return sum(out for shape in ins if prod(shape) != out) * backward_flops_per_element("broadcast_sum")

    def mismatch(self, ins):
        """Shapes that do not broadcast: the first input and the first other one it does not broadcast with
        (``cannot add `a` (…) and `b` (…)``), or every input when only their combination fails."""
        pairs = [(name, shape) for name, shape in zip(self.node.inputs[1:], ins[1:]) if not _broadcasts(ins[0], shape)]
        named = [(self.node.inputs[0], ins[0]), pairs[0]] if pairs else list(zip(self.node.inputs, ins))
        shapes = " and ".join(f"`{n}` {fmt_tuple(s)}" for n, s in named)
        self.fail(f"cannot {self.verb} {shapes}", self.hint, "inputs")

    def erf_rule(self, ins, out, index):
        """The other operands held at 1 (a sum passes the gradient as is): a positioned input reads its own
        position; a broadcast gate (size 1 on an axis) is read by every output position, so it spreads the gradient
        over the whole map."""
        from . import influence

        shape = ins[index]
        sizes = shape[1:]
        gated = any(n == 1 and m != 1 for n, m in zip(sizes, out[1:]))
        readers = [influence.gate(m) if n == 1 and m != 1 else influence.identity for n, m in zip(sizes, out[1:])]
        fan = out[0] // shape[0] if shape and out and shape[0] == 1 else 1
        if not gated and fan == 1 and len(shape) == len(out):
            return influence.identity_rule(len(shape) - 1, **self.erf_extra(index))
        note = "the broadcast gate spreads the gradient over the whole map (global context)" if gated else ""
        extra = self.erf_extra(index)
        return influence.ERFRule(Fraction(fan), readers, note="; ".join(n for n in (note, extra.get("note", "")) if n),
                                 approximate=extra.get("approximate", False))

    def erf_extra(self, index) -> dict:
        return {}


@register
class Add(Broadcasting):
    """Elementwise sum of two or more inputs (residual connection), with NumPy broadcasting: a size of 1 against
    any size (``x + bias`` of shape (C, 1, 1)); other mismatches are an error. FLOPs: (n − 1) per output element.
    """

    kind = "add"
    peer_rules = peers.UNCOUNTED  # convcalc/layers/peers.py
    summary = "elementwise sum of inputs (residual add), broadcasting size-1 axes"
    op = "add"
    verb = "add"
    hint = ("all inputs need the same shape (or size 1 where it broadcasts); add a projection (1×1 conv with "
            "stride) or pooling on one path")
    example = Example((3, 6, 6), before=({"type": "conv", "name": "a", "out": 3, "kernel": 3, "padding": 1},),
                      inputs=("input", "a"))
    shape_rule = "inputs of one shape → that shape (size-1 axes broadcast)"
    saved_for_backward = saved.saves_nothing  # dx_i = g (summed over broadcast axes)

    def backward_per_output(self, inputs):
        """The gradient passes to every input unchanged (``add``, 0); broadcast inputs' sums are extra."""
        return backward_flops_per_element(self.op)


@register
class Concat(Merge):
    """Concatenation along the channel axis. Spatial sizes must match. No FLOPs (a copy)."""

    kind = "concat"
    peer_rules = peers.UNCOUNTED  # convcalc/layers/peers.py
    summary = "concatenate inputs along channels"
    op = "concat"
    example = Example((2, 6, 6), before=({"type": "conv", "name": "a", "out": 3, "kernel": 1},),
                      inputs=("a", "input"))
    shape_rule = "(C_1, *N), (C_2, *N), … → (ΣC_i, *N)"

    saved_for_backward = saved.saves_nothing  # cat_tensors_backward: slices of g, sizes only

    def backward_per_output(self, inputs):
        """cat_tensors_backward slices g: ``rearrange``, 0."""
        return backward_flops_per_element("rearrange")

    def output_shape(self, ins):
        first = ins[0]
        for name, shape in zip(self.node.inputs[1:], ins[1:]):
            if shape[1:] != first[1:]:
                self.fail(f"cannot concat `{self.node.inputs[0]}` {fmt_tuple(first)} and `{name}` {fmt_tuple(shape)}: "
                          "spatial sizes differ", "pad, crop or resample one path so the spatial sizes match",
                          "inputs")
        return (sum(shape[0] for shape in ins), *first[1:])


@register
class Multiply(Broadcasting):
    """Elementwise product with NumPy broadcasting, e.g. an SE gate (C, 1, 1) times a map (C, H, W).

    FLOPs: (n − 1) per output element.
    """

    kind = "multiply"
    peer_rules = peers.UNCOUNTED  # convcalc/layers/peers.py
    summary = "elementwise product with broadcasting (SE gates, attention masks)"
    op = "multiply"
    verb = "broadcast"
    example = Example((4, 5, 5), before=({"type": "global_avgpool", "name": "pool"},
                                         {"type": "sigmoid", "name": "gate"}), inputs=("input", "gate"))
    rf_rule = "the largest positioned input; broadcast (C, 1, …) gates are global context"

    def mismatch(self, ins):
        shapes = " and ".join(f"`{n}` {fmt_tuple(s)}" for n, s in zip(self.node.inputs, ins))
        self.fail(f"cannot broadcast {shapes}", self.hint, "inputs")  # as before broadcasting was shared

    def backward_per_output(self, inputs):
        """Each input's gradient is g times the other inputs: n·(n − 1) multiplies (``multiply``), 2 for a pair."""
        return inputs * (inputs - 1) * backward_flops_per_element(self.op)

    def saved_for_backward(self, ins):
        """Every input: d(a·b)/da = b and d/db = a (``mul.Tensor`` saves other for self and self for other); with
        more inputs, the running products in between too (``((a·b)·c)…``, as torch evaluates it)."""
        items = [saved.input_(i) for i in range(len(ins))]
        for k in range(2, len(ins)):
            items.append(saved.own(f"product{k}", f"product of inputs 0..{k - 1}",
                                   saved.elements(Broadcasting.output_shape(self, ins[:k]))))
        return saved.SavedTensors(items)


class Binary(Broadcasting):
    """A merge of exactly two inputs, ``a op b``, broadcasting as NumPy does. FLOPs: 1 per output element.

    Analytic ERF: the uniform-weight linearisation holds the other operand at 1, so b's gradient is −1 times the
    output's (``a − b``, and ``−a/b²`` for a divide); the ERF adds influence magnitudes, so where both operands
    come from one source (``x − f(x)``) the cancelling paths are counted: marked approximate."""

    arity = (2, 2)
    rf_rule = "the largest positioned input; inputs must be aligned"

    def counts(self, ins, q=NUMERIC):
        return Counts(flops=q.elements(self.output_shape(ins)) * q.cost(self.op))

    def erf_extra(self, index) -> dict:
        if index == 0:
            return {}
        return {"note": f"`{self.kind}` negates the second input's gradient; the analytic ERF adds magnitudes",
                "approximate": True}


@register
class Subtract(Binary):
    """Elementwise difference ``a − b`` of two inputs with NumPy broadcasting, as ``torch.sub`` / ONNX ``Sub``.
    FLOPs: 1 per output element."""

    kind = "subtract"
    peer_rules = peers.UNCOUNTED  # convcalc/layers/peers.py
    summary = "elementwise difference a − b of two inputs, with broadcasting"
    op = "subtract"
    verb = "subtract"
    example = Example((3, 5, 5), before=({"type": "conv", "name": "a", "out": 3, "kernel": 3, "padding": 1},),
                      inputs=("input", "a"))
    saved_for_backward = saved.saves_nothing  # da = g, db = −g

    def backward_per_output(self, inputs):
        """ga = g, gb = −g: 1 negation (``subtract``)."""
        return backward_flops_per_element(self.op)


@register
class Divide(Binary):
    """Elementwise quotient ``a / b`` of two inputs with NumPy broadcasting, as ``torch.div`` / ONNX ``Div``
    (e.g. a map divided by a per-channel (C, 1, 1) norm). FLOPs: 1 per output element."""

    kind = "divide"
    peer_rules = peers.UNCOUNTED  # convcalc/layers/peers.py
    summary = "elementwise quotient a / b of two inputs, with broadcasting"
    op = "divide"
    verb = "divide"
    example = Example((3, 4, 4), before=({"type": "global_avgpool", "name": "pool"},
                                         {"type": "sigmoid", "name": "scale"}), inputs=("input", "scale"))

    def backward_per_output(self, inputs):
        """ga = g/b, gb = −g·(a/b)/b (``divide``, 5)."""
        return backward_flops_per_element(self.op)

    def saved_for_backward(self, ins):
        """Both inputs: d(a/b)/da = 1/b, d/db = −a/b² (``div.Tensor`` saves other, and self for other's grad)."""
        return saved.saves(saved.input_(0), saved.input_(1))


def _field_size(rf):
    return rf.size


def broadcast(shape, out) -> bool:
    """Whether an input of ``shape`` is broadcast along every spatial axis of a merge with output ``out``: a global
    gate such as SE's (C, 1, 1), whose single position applies to every output position."""
    if shape == out:  # the residual add of every ResNet: nothing broadcast
        return False
    return len(shape) > 1 and len(out) > 1 and all(n == 1 for n in shape[1:]) and any(n != 1 for n in out[1:])


def _broadcasts(a, b) -> bool:
    """Whether two shapes broadcast (aligned on the right, each size equal or 1)."""
    return all(m == n or 1 in (m, n) for m, n in zip(reversed(a), reversed(b)))
