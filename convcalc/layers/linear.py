"""Fully connected layers and reshapes into them."""

from __future__ import annotations

from math import prod

from ..spec.fields import Bool, Int
from .base import Example, Layer, register, times


@register
class Linear(Layer):
    """Fully connected layer, as ``torch.nn.Linear`` on a flat feature vector.

    Shapes: (F_in,) → (out,). ::

        params = F_in · out (+ out bias)
        MACs   = F_in · out
        FLOPs  = 2·MACs (+ out bias adds)

    It takes flat input only: put ``flatten`` or a global pool with ``keepdims: false`` before it.
    """

    kind = "linear"

    example = Example((12,), {"out": 4})
    summary = "fully connected layer on a flat (C,) input"
    family = "linear"
    ranks = (0,)
    out = Int(min=1)
    bias = Bool(default=True)
    formulas = {"shape": "(F_in,) → (out,)", "params": "F_in·out (+ out bias)", "macs": "F_in·out",
                "flops": "2·MACs (+ out bias adds)", "rf": "unchanged (a flat input already sees its field)"}

    def worked(self, ins):
        f_in = ins[0][0]
        return {"params": f"{f_in}·{self.out}" + (f" + {self.out}" if self.bias else ""),
                "macs": f"{f_in}·{self.out}",
                "flops": f"2·{f_in}·{self.out}" + (f" + {self.out}" if self.bias else "")}

    def output_shape(self, ins):
        self.check_rank(ins[0])
        return (self.out,)

    def params(self, ins):
        return ins[0][0] * self.out + (self.out if self.bias else 0)

    def macs(self, ins):
        self.check_rank(ins[0])
        return ins[0][0] * self.out

    def flops(self, ins):
        return 2 * self.macs(ins) + (self.out if self.bias else 0)

    def receptive_field(self, rfs, ins):
        return rfs[0]  # a flat input already sees everything its producer saw


@register
class Flatten(Layer):
    """Flatten (C, *N) into (C·ΠN,), as ``torch.nn.Flatten()`` on one sample. No cost.

    The receptive field becomes the whole input, since later layers mix every position.
    """

    kind = "flatten"

    example = Example((2, 3, 3))
    summary = "flatten (C, *N) to (C·ΠN,)"
    formulas = {"shape": "(C, *N) → (C·ΠN,)", "params": "0", "macs": "0", "flops": "0 (a reshape)",
                "rf": "the whole input: r += (N − 1)·j per axis"}

    def worked(self, ins):
        return {"shape": [f"{times(ins[0])} = {prod(ins[0])}"], "params": "0", "macs": "0", "flops": "0"}

    def output_shape(self, ins):
        return (prod(ins[0]),)

    def receptive_field(self, rfs, ins):
        return rfs[0].whole(ins[0][1:]) if len(ins[0]) > 1 else rfs[0]
