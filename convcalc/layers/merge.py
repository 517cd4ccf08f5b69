"""Layers that merge several inputs: residual add, channel concat, and (broadcasting) multiply.

Receptive field at a merge: the inputs must be aligned (equal jump, and equal centre of unit 0, which is the
paper's equal ``P − (r − 1)/2``). The merged field takes the input with the largest size; a misaligned merge gives
a warning naming both paths. An input broadcast along every spatial axis (an SE gate of shape (C, 1, 1)) is global
context, not a positioned window: it is left out of the field and of the alignment check (:func:`broadcast`).
"""

from __future__ import annotations

from fractions import Fraction

from .base import Example, Layer, fmt_tuple, register
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

    def receptive_field(self, rfs, ins):
        out = self.output_shape(ins)
        spatial = [rf for rf, shape in zip(rfs, ins) if not broadcast(shape, out)]
        rf = max(spatial or rfs, key=lambda rf: rf.size)
        gates = [name for name, shape in zip(self.node.inputs, ins) if broadcast(shape, out)]
        if gates and spatial:
            names = ", ".join(f"`{name}`" for name in gates)
            rf = type(rf)(rf.size, rf.jump, rf.center, rf.position_dependent,
                          rf.notes + (f"{self.name}: also sees its whole input through the broadcast {names}",))
        return rf

    def erf_rule(self, ins, out, index):
        """Every input reads the output at its own position (a sum or a copy: factor 1)."""
        from . import influence

        return influence.identity_rule(len(ins[index]) - 1)

    def _same_shapes(self, ins, what):
        first = ins[0]
        for name, shape in zip(self.node.inputs[1:], ins[1:]):
            if shape != first:
                self.fail(f"cannot {what} `{self.node.inputs[0]}` {fmt_tuple(first)} and `{name}` {fmt_tuple(shape)}",
                          "all inputs need the same shape; add a projection (1×1 conv with stride) or pooling "
                          "on one path", "inputs")


@register
class Add(Merge):
    """Elementwise sum of two or more inputs of one shape (residual connection). FLOPs: (n − 1) per element."""

    kind = "add"
    summary = "elementwise sum of inputs of equal shape (residual add)"
    op = "add"
    example = Example((3, 6, 6), before=({"type": "conv", "name": "a", "out": 3, "kernel": 3, "padding": 1},),
                      inputs=("input", "a"))

    def output_shape(self, ins):
        self._same_shapes(ins, "add")
        return ins[0]


@register
class Concat(Merge):
    """Concatenation along the channel axis. Spatial sizes must match. No FLOPs (a copy)."""

    kind = "concat"
    summary = "concatenate inputs along channels"
    op = "concat"
    example = Example((2, 6, 6), before=({"type": "conv", "name": "a", "out": 3, "kernel": 1},),
                      inputs=("a", "input"))
    shape_rule = "(C_1, *N), (C_2, *N), … → (ΣC_i, *N)"

    def output_shape(self, ins):
        first = ins[0]
        for name, shape in zip(self.node.inputs[1:], ins[1:]):
            if shape[1:] != first[1:]:
                self.fail(f"cannot concat `{self.node.inputs[0]}` {fmt_tuple(first)} and `{name}` {fmt_tuple(shape)}: "
                          "spatial sizes differ", "pad, crop or resample one path so the spatial sizes match",
                          "inputs")
        return (sum(shape[0] for shape in ins), *first[1:])


@register
class Multiply(Merge):
    """Elementwise product with NumPy broadcasting, e.g. an SE gate (C, 1, 1) times a map (C, H, W).

    FLOPs: (n − 1) per output element.
    """

    kind = "multiply"
    summary = "elementwise product with broadcasting (SE gates, attention masks)"
    op = "multiply"
    example = Example((4, 5, 5), before=({"type": "global_avgpool", "name": "pool"},
                                         {"type": "sigmoid", "name": "gate"}), inputs=("input", "gate"))
    shape_rule = "NumPy broadcasting of the input shapes"
    rf_rule = "the largest positioned input; broadcast (C, 1, …) gates are global context"

    def output_shape(self, ins):
        rank = max(len(s) for s in ins)
        out = []
        for axis in range(rank):
            sizes = {s[axis - rank + len(s)] for s in ins if axis - rank + len(s) >= 0} - {1}
            if len(sizes) > 1:
                shapes = " and ".join(f"`{n}` {fmt_tuple(s)}" for n, s in zip(self.node.inputs, ins))
                self.fail(f"cannot broadcast {shapes}", "sizes must be equal or 1 on every axis", "inputs")
            out.append(sizes.pop() if sizes else 1)
        return tuple(out)

    def erf_rule(self, ins, out, index):
        """The other operands held at 1: a positioned input reads its own position; a broadcast gate (size 1 on
        an axis) is read by every output position, so it spreads the gradient over the whole map."""
        from . import influence

        shape = ins[index]
        sizes = shape[1:]
        gated = any(n == 1 and m != 1 for n, m in zip(sizes, out[1:]))
        readers = [influence.gate(m) if n == 1 and m != 1 else influence.identity for n, m in zip(sizes, out[1:])]
        fan = out[0] // shape[0] if shape and out and shape[0] == 1 else 1
        return influence.ERFRule(Fraction(fan), readers, note="the broadcast gate spreads the gradient over the "
                                                              "whole map (global context)" if gated else "")


def broadcast(shape, out) -> bool:
    """Whether an input of ``shape`` is broadcast along every spatial axis of a merge with output ``out``: a global
    gate such as SE's (C, 1, 1), whose single position applies to every output position."""
    return len(shape) > 1 and len(out) > 1 and all(n == 1 for n in shape[1:]) and any(n != 1 for n in out[1:])
