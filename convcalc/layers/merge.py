"""Layers that merge several inputs: residual add, channel concat, and (broadcasting) multiply.

Receptive field at a merge: the inputs must be aligned (equal jump, and equal centre of unit 0, which is the
paper's equal ``P − (r − 1)/2``). The merged field takes the input with the largest size; a misaligned merge gives
a warning naming both paths. An input broadcast along every spatial axis (an SE gate of shape (C, 1, 1)) is global
context, not a positioned window: it is left out of the field and of the alignment check (:func:`broadcast`).
"""

from __future__ import annotations

from math import prod

from ..cost.conventions import flops_per_element
from .base import Example, Layer, register, times
from .base import _fmt_shape as _fmt


class Merge(Layer):
    family = "merge"
    arity = (2, None)
    op = ""
    formulas = {"shape": "inputs of one shape → that shape", "params": "0", "macs": "0",
                "flops": "(n − 1)·elements of the output", "rf": "the largest input field; inputs must be aligned"}

    def worked(self, ins):
        return {"params": "0", "macs": "0",
                "flops": f"({len(ins)} − 1)·{times(self.output_shape(ins))}·{flops_per_element(self.op)}"}

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

    def flops(self, ins):
        return (len(ins) - 1) * prod(self.output_shape(ins)) * flops_per_element(self.op)

    def _same_shapes(self, ins, what):
        first = ins[0]
        for name, shape in zip(self.node.inputs[1:], ins[1:]):
            if shape != first:
                self.fail(f"cannot {what} `{self.node.inputs[0]}` {_fmt(first)} and `{name}` {_fmt(shape)}",
                          "all inputs need the same shape; add a projection (1×1 conv with stride) or pooling "
                          "on one path", "inputs")


@register
class Add(Merge):
    """Elementwise sum of two or more inputs of one shape (residual connection). FLOPs: (n − 1) per element."""

    kind = "add"

    example = Example((3, 6, 6), before=({"type": "conv", "name": "a", "out": 3, "kernel": 3, "padding": 1},), inputs=("input", "a"))
    summary = "elementwise sum of inputs of equal shape (residual add)"
    op = "add"

    def output_shape(self, ins):
        self._same_shapes(ins, "add")
        return ins[0]


@register
class Concat(Merge):
    """Concatenation along the channel axis. Spatial sizes must match. No FLOPs (a copy)."""

    kind = "concat"

    example = Example((2, 6, 6), before=({"type": "conv", "name": "a", "out": 3, "kernel": 1},), inputs=("a", "input"))
    summary = "concatenate inputs along channels"
    op = "concat"
    formulas = {"shape": "(C_1, *N), (C_2, *N), … → (ΣC_i, *N)", "params": "0", "macs": "0", "flops": "0 (a copy)",
                "rf": "the largest input field; inputs must be aligned"}

    def output_shape(self, ins):
        first = ins[0]
        for name, shape in zip(self.node.inputs[1:], ins[1:]):
            if shape[1:] != first[1:]:
                self.fail(f"cannot concat `{self.node.inputs[0]}` {_fmt(first)} and `{name}` {_fmt(shape)}: "
                          "spatial sizes differ", "pad, crop or resample one path so the spatial sizes match",
                          "inputs")
        return (sum(shape[0] for shape in ins), *first[1:])


@register
class Multiply(Merge):
    """Elementwise product with NumPy broadcasting, e.g. an SE gate (C, 1, 1) times a map (C, H, W).

    FLOPs: (n − 1) per output element.
    """

    kind = "multiply"

    example = Example((4, 5, 5), before=({"type": "global_avgpool", "name": "pool"}, {"type": "sigmoid", "name": "gate"}), inputs=("input", "gate"))
    summary = "elementwise product with broadcasting (SE gates, attention masks)"
    op = "multiply"
    formulas = {"shape": "NumPy broadcasting of the input shapes", "params": "0", "macs": "0",
                "flops": "(n − 1)·elements of the output",
                "rf": "the largest positioned input; broadcast (C, 1, …) gates are global context"}

    def output_shape(self, ins):
        rank = max(len(s) for s in ins)
        out = []
        for axis in range(rank):
            sizes = {s[axis - rank + len(s)] for s in ins if axis - rank + len(s) >= 0} - {1}
            if len(sizes) > 1:
                shapes = " and ".join(f"`{n}` {_fmt(s)}" for n, s in zip(self.node.inputs, ins))
                self.fail(f"cannot broadcast {shapes}", "sizes must be equal or 1 on every axis", "inputs")
            out.append(sizes.pop() if sizes else 1)
        return tuple(out)


def broadcast(shape, out) -> bool:
    """Whether an input of ``shape`` is broadcast along every spatial axis of a merge with output ``out``: a global
    gate such as SE's (C, 1, 1), whose single position applies to every output position."""
    return len(shape) > 1 and len(out) > 1 and all(n == 1 for n in shape[1:]) and any(n != 1 for n in out[1:])
