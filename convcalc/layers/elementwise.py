"""Shape-keeping elementwise layers: batch normalisation, activations, dropout, identity.

Each costs ``FLOPS_PER_ELEMENT[op]`` (convcalc/cost/conventions.py) per element and leaves the receptive field and
the analytic ERF unchanged.
"""

from __future__ import annotations

from fractions import Fraction

from ..cost.conventions import flops_per_element
from ..spec.fields import Bool, Number
from .base import Example, Layer, register
from .formula import NUMERIC, Counts


class Elementwise(Layer):
    """An op applied to every element independently. Shapes: any → the same. FLOPs = elements × cost per element."""

    family = "activation"
    op = ""
    any_layout = True  # one op per element: no axis is read as channels (batch norm, per channel, is not)

    def counts(self, ins, q=NUMERIC):
        return Counts(flops=q.elements(ins[0]) * q.cost(self.op))

    def erf_rule(self, ins, out, index):
        """Uniform weights linearise every activation to the identity (Luo et al. 2016)."""
        from . import influence

        return influence.identity_rule(len(ins[index]) - 1)


@register
class BatchNorm(Elementwise):
    """Batch normalisation, as ``torch.nn.BatchNorm{1,2,3}d`` (Ioffe & Szegedy 2015).

    ``params = 2·C`` (γ, β) when ``affine``; ``buffers = 2·C`` (running mean and variance) when
    ``track_running_stats``. PyTorch also keeps an integer ``num_batches_tracked`` counter, which holds no
    activation statistics and is not counted. FLOPs: the folded inference form, 2 per element.
    """

    kind = "batchnorm"
    summary = "batch normalisation: 2C params (γ, β) and 2C buffers (running mean, var)"
    family = "norm"
    op = "batchnorm"
    any_layout = False  # per channel, on axis 0
    example = Example((3, 4, 4), also=({"affine": False, "track_running_stats": False},))
    affine = Bool(default=True)
    track_running_stats = Bool(default=True)
    eps = Number(default=Fraction(1, 100000), min=0,
                 doc="added to the variance, torch's default 1e-5; the executor uses it, no count depends on it")

    def counts(self, ins, q=NUMERIC):
        channels = 2 * q("C", ins[0][0])
        return Counts(q.opt(self.affine, channels, "γ and β, with affine"),
                      q.opt(self.track_running_stats, channels, "running mean and var, with track_running_stats"),
                      0, q.elements(ins[0]) * q.cost(self.op))


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
