"""Shape-keeping elementwise layers: activations, dropout, identity (batch normalisation: convcalc/layers/norm.py).

Each costs ``FLOPS_PER_ELEMENT[op]`` (convcalc/cost/conventions.py) per element and leaves the receptive field and
the analytic ERF unchanged.
"""

from __future__ import annotations

from fractions import Fraction

from ..cost.conventions import flops_per_element
from ..spec.fields import Number
from .base import Example, Layer, register
from .formula import NUMERIC, Counts


class Elementwise(Layer):
    """An op applied to every element independently. Shapes: any → the same. FLOPs = elements × cost per element."""

    family = "activation"
    op = ""

    def counts(self, ins, q=NUMERIC):
        return Counts(flops=q.elements(ins[0]) * q.cost(self.op))

    def erf_rule(self, ins, out, index):
        """Uniform weights linearise every activation to the identity (Luo et al. 2016)."""
        from . import influence

        return influence.identity_rule(len(ins[index]) - 1)


def _activation(kind: str, formula: str, example=Example((3, 6)), **extra_fields):
    """Define and register one activation kind (they differ only in name, formula and per-element cost)."""
    attrs = {
        "kind": kind,
        "op": kind,
        "summary": f"activation {formula}",
        "__doc__": f"Activation ``{kind}``: {formula}. FLOPs per element: {flops_per_element(kind)} "
                   f"(convcalc/cost/conventions.py). Shapes: any → the same.",
        "example": example,
        **extra_fields,
    }
    return register(type(kind.title().replace("_", ""), (Elementwise,), attrs))


ReLU = _activation("relu", "max(x, 0)")
ReLU6 = _activation("relu6", "min(max(x, 0), 6)")
LeakyReLU = _activation("leaky_relu", "x if x > 0 else a·x", Example((3, 6), {"negative_slope": 0.2}),
                        negative_slope=Number(default=Fraction(1, 100)))
Sigmoid = _activation("sigmoid", "1 / (1 + exp(−x))")
Tanh = _activation("tanh", "tanh(x)")
GELU = _activation("gelu", "0.5·x·(1 + erf(x / √2))")
SiLU = _activation("silu", "x·sigmoid(x) (also called swish)")
Hardswish = _activation("hardswish", "x·relu6(x + 3) / 6")
Hardsigmoid = _activation("hardsigmoid", "relu6(x + 3) / 6")


@register
class Swish(Elementwise):
    """``swish`` is another name for SiLU, x·sigmoid(x) (Ramachandran et al. 2017); same cost."""

    kind = "swish"
    summary = "activation x·sigmoid(x) (= silu)"
    op = "silu"
    example = Example((3, 6))


@register
class Dropout(Elementwise):
    """Dropout: the identity at inference, so no FLOPs. Shapes: any → the same."""

    kind = "dropout"
    summary = "dropout (identity at inference)"
    family = "other"
    op = "dropout"
    example = Example((3, 6), {"p": 0.5})
    p = Number(default=0, min=0, below=1, doc="drop probability, 0 ≤ p < 1")


@register
class Identity(Elementwise):
    """Identity: passes its input through. Shapes: any → the same."""

    kind = "identity"
    summary = "identity (no-op)"
    family = "other"
    op = "identity"
    example = Example((3, 6))
