"""Squeeze-and-excitation (Hu et al. 2018, SENet): a gated composite kind.

Notation: input (C_in, *N) with d spatial axes, output (C_out, *N_out); Πk is the product of the kernel sizes,
ΠN the number of positions. MACs and FLOPs are per sample.
"""

from __future__ import annotations

from math import prod

from ..cost.conventions import flops_per_element
from ..spec.fields import Bool, Choice, Int
from .base import Example, Layer, register
from .composite import Staged, sub_row


_ACTIVATIONS = ("relu", "relu6", "leaky_relu", "silu", "swish", "hardswish", "gelu", "tanh", "sigmoid")


@register
class SqueezeExcitation(Staged, Layer):
    """Squeeze-and-excitation (Hu et al. 2018, SENet): global average pool → FC C→S → activation → FC S→C →
    gate (sigmoid) → multiply the input by the per-channel gate. S = ``squeeze``, or C/r with ``reduction`` r::

        shape:  (C, *N) → (C, *N)
        params: C·S + S + S·C + C = 2C²/r + C/r + C    (without bias: 2C²/r)     C=256, r=16: 8,464
        MACs:   2·C·S = 2C²/r
        FLOPs:  C·ΠN (pool) + 2·C·S + S (FC1) + S·f(act) + 2·S·C + C (FC2) + C·f(gate) + C·ΠN (multiply)

    f(·) per element from convcalc/conventions.py. RF: each output sees its own position, and the whole input
    through the gate (a note, as at a broadcast multiply).
    """

    kind = "squeeze_excitation"

    example = Example((8, 4, 4), {"reduction": 4})
    summary = "squeeze-and-excitation: pool, FC C→C/r, act, FC C/r→C, sigmoid, multiply"
    family = "linear"
    ranks = (1, 2, 3)
    reduction = Int(default=16, min=1, doc="r: S = C / r")
    squeeze = Int(default=None, min=1, doc="S, the squeezed channels (overrides reduction)")
    activation = Choice(_ACTIVATIONS, default="relu")
    gate = Choice(("sigmoid", "hardsigmoid"), default="sigmoid")
    bias = Bool(default=True)
    formulas = {
        "shape": "(C, *N) → (C, *N)",
        "params": "C·S + S + S·C + C (S = C/r; no S, C terms without bias)",
        "macs": "2·C·S",
        "flops": "C·ΠN + (2·C·S + S) + S·f(act) + (2·S·C + C) + C·f(gate) + C·ΠN",
        "rf": "unchanged per position; also sees the whole input through the gate",
    }

    def warnings(self, ins):
        if self.squeeze is not None and "reduction" in self.node.field_marks:
            return [f"both `squeeze: {self.squeeze}` and `reduction: {self.reduction}` are given; "
                    f"`squeeze` decides (S = {self.squeeze}) and `reduction` is not used"]
        return []

    def squeezed(self, shape) -> int:
        self.check_rank(shape)
        channels = shape[0]
        if self.squeeze is not None:
            return self.squeeze
        if channels % self.reduction:
            self.fail(f"the channels ({channels}) are not divisible by the reduction ({self.reduction})",
                      "give `squeeze:` explicitly, or a reduction dividing the channels", "reduction")
        return channels // self.reduction

    def params(self, ins):
        c, s = ins[0][0], self.squeezed(ins[0])
        return 2 * c * s + ((s + c) if self.bias else 0)

    def macs(self, ins):
        return 2 * ins[0][0] * self.squeezed(ins[0])

    def stages(self, ins):
        shape = ins[0]
        c, s, positions = shape[0], self.squeezed(shape), prod(shape[1:])
        b = 1 if self.bias else 0
        ones = [1] * (len(shape) - 1)
        return [
            sub_row("squeeze", "global_avgpool", (c, *ones), 0, 0, c * positions * flops_per_element("avgpool"),
                     {"flops": f"{c}·{positions}·{flops_per_element('avgpool')}"}),
            sub_row("fc1", "linear", (s, *ones), c * s + b * s, c * s, 2 * c * s + b * s,
                     {"params": f"{c}·{s}" + (f" + {s}" if b else ""), "macs": f"{c}·{s}",
                      "flops": f"2·{c}·{s}" + (f" + {s}" if b else "")}),
            sub_row(self.activation, self.activation, (s, *ones), 0, 0, s * flops_per_element(_op(self.activation)),
                     {"flops": f"{s}·{flops_per_element(_op(self.activation))}"}),
            sub_row("fc2", "linear", (c, *ones), s * c + b * c, s * c, 2 * s * c + b * c,
                     {"params": f"{s}·{c}" + (f" + {c}" if b else ""), "macs": f"{s}·{c}",
                      "flops": f"2·{s}·{c}" + (f" + {c}" if b else "")}),
            sub_row(self.gate, self.gate, (c, *ones), 0, 0, c * flops_per_element(self.gate),
                     {"flops": f"{c}·{flops_per_element(self.gate)}"}),
            sub_row("scale", "multiply", shape, 0, 0, c * positions * flops_per_element("multiply"),
                     {"flops": f"{c}·{positions}·{flops_per_element('multiply')}"}),
        ]

    def details(self, ins):
        return {"squeeze_channels": self.squeezed(ins[0]), "sub_rows": self.sub_rows(ins)}

    def receptive_field(self, rfs, ins):
        rf = rfs[0]
        return type(rf)(rf.size, rf.jump, rf.center, rf.position_dependent,
                        rf.notes + (f"{self.name}: also sees its whole input through the squeeze-excitation gate",))


def _op(activation: str) -> str:
    return "silu" if activation == "swish" else activation


