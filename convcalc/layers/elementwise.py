"""Shape-keeping elementwise layers: batch normalisation, activations, dropout, identity.

Each costs ``FLOPS_PER_ELEMENT[op]`` (see :mod:`convcalc.conventions`) per element and leaves the receptive field
unchanged.
"""

from __future__ import annotations

from fractions import Fraction
from math import prod

from ..cost.conventions import flops_per_element
from ..spec.fields import Bool, Number
from .base import Example, Layer, register, times


class Elementwise(Layer):
    """An op applied to every element independently. Shapes: any → the same. FLOPs = cost per element × elements."""

    family = "activation"
    op = ""
    formulas = {"shape": "any → the same", "params": "0", "macs": "0",
                "flops": "elements × FLOPs per element (convcalc/conventions.py)", "rf": "unchanged"}

    def flops(self, ins):
        return prod(ins[0]) * flops_per_element(self.op)

    def worked(self, ins):
        return {"params": str(self.params(ins)), "macs": "0",
                "flops": f"{times(ins[0])}·{flops_per_element(self.op)}"}


@register
class BatchNorm(Elementwise):
    """Batch normalisation, as ``torch.nn.BatchNorm{1,2,3}d`` (Ioffe & Szegedy 2015).

    ``params = 2·C`` (γ, β) when ``affine``; ``buffers = 2·C`` (running mean and variance) when
    ``track_running_stats``. PyTorch also keeps an integer ``num_batches_tracked`` counter, which holds no
    activation statistics and is not counted. FLOPs: the folded inference form, 2 per element.
    """

    kind = "batchnorm"

    example = Example((3, 4, 4))
    summary = "batch normalisation: 2C params (γ, β) and 2C buffers (running mean, var)"
    family = "norm"
    op = "batchnorm"
    affine = Bool(default=True)
    track_running_stats = Bool(default=True)
    eps = Number(default=Fraction(1, 100000), min=0,
                 doc="added to the variance, torch's default 1e-5; the executor uses it, no count depends on it")

    formulas = {"shape": "any → the same", "params": "2·C (γ, β) with affine; buffers 2·C", "macs": "0",
                "flops": "2 per element (folded scale and shift)", "rf": "unchanged"}

    def params(self, ins):
        return 2 * ins[0][0] if self.affine else 0

    def buffers(self, ins):
        return 2 * ins[0][0] if self.track_running_stats else 0

    def worked(self, ins):
        return {"params": f"2·{ins[0][0]}" if self.affine else "0", "macs": "0", "flops": f"{times(ins[0])}·2"}


def _activation(kind: str, formula: str, **extra_fields):
    """Define and register one activation kind (they differ only in name, formula and per-element cost)."""
    attrs = {
        "kind": kind,
        "op": kind,
        "summary": f"activation {formula}",
        "formulas": {"shape": "any → the same", "params": "0", "macs": "0",
                     "flops": f"elements × {flops_per_element(kind)} ({formula})", "rf": "unchanged"},
        "__doc__": f"Activation ``{kind}``: {formula}. FLOPs per element: {flops_per_element(kind)} "
                   f"(convcalc.cost.conventions). Shapes: any → the same.",
        "example": Example((3, 6), {"negative_slope": 0.2} if "negative_slope" in extra_fields else {}),
        **extra_fields,
    }
    return register(type(kind.title().replace("_", ""), (Elementwise,), attrs))


ReLU = _activation("relu", "max(x, 0)")
ReLU6 = _activation("relu6", "min(max(x, 0), 6)")
LeakyReLU = _activation("leaky_relu", "x if x > 0 else a·x", negative_slope=Number(default=Fraction(1, 100)))
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

    example = Example((3, 6))
    summary = "activation x·sigmoid(x) (= silu)"
    op = "silu"


@register
class Dropout(Elementwise):
    """Dropout: the identity at inference, so no FLOPs. Shapes: any → the same."""

    kind = "dropout"

    example = Example((3, 6), {"p": 0.5})
    summary = "dropout (identity at inference)"
    family = "other"
    op = "dropout"
    p = Number(default=0, min=0, below=1, doc="drop probability, 0 ≤ p < 1")


@register
class Identity(Elementwise):
    """Identity: passes its input through. Shapes: any → the same."""

    kind = "identity"

    example = Example((3, 6))
    summary = "identity (no-op)"
    family = "other"
    op = "identity"
