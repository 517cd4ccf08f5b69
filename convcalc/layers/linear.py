"""Fully connected layers and the reshape into them."""

from __future__ import annotations

from fractions import Fraction
from math import prod

from ..spec.fields import Bool, Int
from .base import Example, Layer, ShapeSteps, register
from .formula import NUMERIC, SYMBOLIC, Counts


def linear_counts(q, f_in, out, bias: bool, macs_name: str | None = "MACs") -> Counts:
    """One fully connected layer (torch.nn.Linear), written once for the kind and for the stages that are one::

        params = F_in·out (+ out bias);  MACs = F_in·out;  FLOPs = 2·MACs (+ out bias adds)
    """
    macs = f_in * out
    return Counts(macs + q.opt(bias, out, "bias"), 0, macs,
                  2 * (q.named(macs_name, macs) if macs_name else macs) + q.opt(bias, out, "bias adds"))


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
    summary = "fully connected layer on a flat (C,) input"
    family = "linear"
    ranks = (0,)
    example = Example((12,), {"out": 4})
    shape_rule = "(F_in,) → (out,)"
    rf_rule = "unchanged (a flat input already sees its field)"
    out = Int(min=1)
    bias = Bool(default=True)

    def output_shape(self, ins):
        self.check_rank(ins[0])
        return (self.out,)

    def counts(self, ins, q=NUMERIC):
        self.check_rank(ins[0])
        return linear_counts(q, q("F_in", ins[0][0]), q("out", self.out), self.bias)

    def receptive_field(self, rfs, ins):
        return rfs[0]  # a flat input already sees everything its producer saw

    def erf_rule(self, ins, out, index):
        """Every output reads every input: the gradient per input is ``out`` times the output's."""
        from . import influence

        return influence.ERFRule(Fraction(self.out), [])


@register
class Flatten(Layer):
    """Flatten (C, *N) into (C·ΠN,), as ``torch.nn.Flatten()`` on one sample. No cost.

    The receptive field becomes the whole input, since later layers mix every position.
    """

    kind = "flatten"
    summary = "flatten (C, *N) to (C·ΠN,)"
    example = Example((2, 3, 3))
    rf_rule = "the whole input: r += (N − 1)·j per axis"

    def output_shape(self, ins):
        return (prod(ins[0]),)

    def counts(self, ins, q=NUMERIC):
        return Counts(flops=q.elements(ins[0]) * q.cost("flatten"))

    def shape_steps(self, ins, q=SYMBOLIC):
        return ShapeSteps(q.elements(ins[0]), [])

    def receptive_field(self, rfs, ins):
        return rfs[0].whole(ins[0][1:]) if len(ins[0]) > 1 else rfs[0]

    def erf_rule(self, ins, out, index):
        """The single flat output reads the whole map."""
        from . import influence

        return influence.ERFRule(Fraction(1), [influence.whole(n, False) for n in ins[index][1:]])
