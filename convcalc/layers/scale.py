"""Scaling and shifting: arithmetic with a constant (``scalar``), a per-channel scale (``layer_scale``) and a
per-channel shift (``bias_add``).

These are the multiplications and additions by constants that real models write outside their convs (``x / 6``,
``x + 3``, ConvNeXt's layer scale γ·x, a bias added to a bias-free conv): elementwise, shape-keeping, no MACs, the
receptive field unchanged. The per-channel kinds take their channels on axis 0 (``axis: channels``) or on the last
axis (``axis: last``, for channels-last tensors written by a ``permute``).
"""

from __future__ import annotations

from fractions import Fraction
from math import prod

from ..cost.conventions import BACKWARD_FLOPS_PER_ELEMENT as BACKWARD, backward_flops_per_element
from ..spec.fields import Bool, Choice, Number
from .base import Example, Layer, register
from . import peers, saved
from .formula import NUMERIC, Counts

SCALAR_OPS = ("add", "sub", "mul", "div", "rsub", "rdiv", "pow")


@register
class Scalar(Layer):
    """Arithmetic with a constant v: y = x + v (``add``), x − v (``sub``), x·v (``mul``), x / v (``div``),
    v − x (``rsub``), v / x (``rdiv``) or x^v (``pow``), as torch's ``x + 3``, ``x / 6``, ``torch.pow(x, 2)`` and
    ONNX's Add, Sub, Mul, Div and Pow with a scalar constant. No params. FLOPs = C·ΠN·f_scalar: one operation per
    element (a power counts as one, as a transcendental). Shapes: any → the same.

    Rejected: ``mul``, ``rdiv`` and ``pow`` with v = 0 (the output no longer depends on the input) and ``div`` by 0
    (every output infinite or NaN). Accepted as torch computes it: ``pow`` with a non-integer v, which is NaN on
    negative inputs (``torch.pow(torch.tensor(-1.), 0.5)`` is nan; such a power usually follows a non-negative
    layer), and ``rdiv``, infinite at x = 0; the executor gives the same NaN and infinities as torch.

    Analytic ERF (Luo et al. 2016's uniform-weight linearisation): ``add``, ``sub`` and ``rsub`` shift the values
    and pass the gradient with a factor 1 (``rsub`` negates it; the ERF's distribution is of magnitudes); ``mul``
    and ``div`` are linear and scale it by |v| and 1/|v|; ``pow`` and ``rdiv`` are nonlinear and are linearised to
    the identity, as the activations are.
    """

    kind = "scalar"
    peer_rules = peers.UNCOUNTED  # convcalc/layers/peers.py
    summary = "x op v with a constant v: add, sub, mul, div, rsub (v − x), rdiv (v / x), pow"
    family = "other"
    any_layout = True  # one op per element, whatever the layout (convcalc/cost/layout.py)
    example = Example((3, 6), {"op": "mul", "value": 0.5},
                      also=({"op": "add", "value": 3}, {"op": "pow", "value": 2}))
    op = Choice(SCALAR_OPS, doc="the operation: x + v, x − v, x·v, x / v, v − x, v / x, x^v")
    value = Number(doc="the constant v")

    def saved_for_backward(self, ins):
        """``pow``: its input (``pow_backward(grad, self, exponent)``); ``rdiv`` (v / x, which torch runs as
        reciprocal then mul) the reciprocal's result, a new tensor of the input's size; the shifts and the
        scalings by v: nothing (a Python scalar is no tensor)."""
        if self.op == "pow":
            return saved.saves(saved.input_())
        if self.op == "rdiv":
            return saved.saves(saved.own("reciprocal", "1/x", saved.elements(ins[0])))
        return saved.NOTHING

    def output_shape(self, ins):
        if self.value == 0 and self.op in ("mul", "div", "rdiv", "pow"):
            what = "every output is infinite or NaN" if self.op == "div" else \
                "the output no longer depends on the input"
            self.fail(f"`{self.op}` with `value: 0`: {what}", "give a non-zero value, or remove the layer", "value")
        return ins[0]

    def counts(self, ins, q=NUMERIC):
        return Counts(flops=q.elements(ins[0]) * q.cost("scalar"))

    def backward_flops(self, ins, input_grad=True, trainable=True):
        """The input gradient, per element: x ± v passes g (``scalar_add``, 0); v − x negates it (``scalar_neg``,
        1); x·v and x / v scale it (``scalar_mul``, 1); v / x: −g·y/x (``scalar_rdiv``, 3); x^v: g·v·x^(v−1)
        (``scalar_pow``, 3)."""
        op = {"add": "scalar_add", "sub": "scalar_add", "rsub": "scalar_neg", "mul": "scalar_mul",
              "div": "scalar_mul", "rdiv": "scalar_rdiv", "pow": "scalar_pow"}[self.op]
        return prod(ins[0]) * backward_flops_per_element(op) if input_grad else 0

    def fuses_elementwise(self) -> bool:
        """One op per element: it can run in the epilogue of the kernel producing its input."""
        return True

    def erf_rule(self, ins, out, index):
        """A factor |v| for ``mul``, 1/|v| for ``div``, 1 for the shifts and the linearised ``pow``/``rdiv``."""
        from . import influence

        factor = {"mul": abs(Fraction(self.value)), "div": 1 / abs(Fraction(self.value))}.get(self.op, 1)
        return influence.identity_rule(len(ins[index]) - 1, factor)


class PerChannel(Layer):
    """A per-channel array applied to every element (the family base of ``layer_scale`` and ``bias_add``): one value
    per channel of axis 0 (``axis: channels``) or of the last axis (``axis: last``), C params when ``learnable``,
    else C buffers. FLOPs = C·ΠN·f (one mul or add per element). Shapes: any → the same."""

    family = "other"
    op = ""
    axis = Choice(("channels", "last"), default="channels",
                  doc="`channels`: one value per channel of axis 0; `last`: of the last axis (channels-last tensors)")
    learnable = Bool(default=True, doc="true: C params (trained); false: C buffers (a constant of the model)")

    @property
    def any_layout(self) -> bool:
        """``last`` finds its channels on the last axis (a channels-last tensor); ``channels`` reads axis 0."""
        return self.axis == "last"

    def counts(self, ins, q=NUMERIC):
        shape = ins[0]
        if self.axis == "channels" or len(shape) == 1:
            c = q("C", shape[0])
        else:
            c = q("C_last", shape[-1])
        return Counts(q.opt(self.learnable, c, "with learnable"), q.opt(not self.learnable, c, "with learnable: false"),
                      0, q.elements(shape) * q.cost(self.op))

    def backward_flops(self, ins, input_grad=True, trainable=True):
        """Per element: the input gradient's row ``{op}`` (when needed; absent: it passes g) and the parameter
        gradient's row ``{op}_weight`` (when trainable), of the backward table."""
        elements = prod(ins[0])
        dx = backward_flops_per_element(self.op) if input_grad and self.op in BACKWARD else 0
        dw = backward_flops_per_element(self.op + "_weight") if trainable else 0
        return elements * (dx + dw)

    def fuses_elementwise(self) -> bool:
        """One op per element: it can run in the epilogue of the kernel producing its input."""
        return True


@register
class LayerScale(PerChannel):
    """Layer scale, y = γ ⊙ x with one γ per channel (Touvron et al. 2021, "Going deeper with Image Transformers",
    CaiT; ConvNeXt, Liu et al. 2022). params = C (γ; C buffers with ``learnable: false``);
    FLOPs = C·ΠN·f_layer_scale (1 mul per element). Shapes: any → the same.

    γ has shape (C,), the layout of timm's ``LayerScale`` on a channels-last (…, C) tensor (``axis: last``).
    torchvision's ConvNeXt ``CNBlock`` keeps its γ as (C, 1, 1) and multiplies a channels-first tensor
    (``axis: channels``); the importers reshape that γ to (C,).

    Analytic ERF: uniform weights make γ = 1, so the layer is exactly the identity (Luo et al. 2016's linearisation
    is exact for this linear map).
    """

    kind = "layer_scale"
    peer_rules = peers.UNCOUNTED  # convcalc/layers/peers.py
    summary = "y = γ·x, one learned γ per channel (ConvNeXt's layer scale)"
    op = "layer_scale"
    example = Example((3, 4, 5), also=({"axis": "last"}, {"learnable": False}))

    def saved_for_backward(self, ins):
        """Its input when γ is trained (dγ = Σ g·x; ``mul`` saves x only for γ's gradient): nothing with
        ``learnable: false``, a buffer."""
        return saved.saves(saved.input_(when="trainable"))

    def erf_rule(self, ins, out, index):
        """γ = 1 under uniform weights: the identity, exactly."""
        from . import influence

        return influence.identity_rule(len(ins[index]) - 1)


@register
class BiasAdd(PerChannel):
    """A bias added per channel, y = x + β with one β per channel (a bias-free conv's bias written apart, as ONNX
    exporters write an Add of a (C, 1, 1) constant). params = C (β; C buffers with ``learnable: false``); FLOPs =
    C·ΠN·f_bias_add (1 add per element). Shapes: any → the same.

    Analytic ERF: an added constant does not change the gradient: the identity, exactly, whatever β (Luo et al.
    2016's uniform weights set biases to 0 besides).
    """

    kind = "bias_add"
    peer_rules = peers.UNCOUNTED  # convcalc/layers/peers.py
    summary = "y = x + β, one learned β per channel"
    op = "bias_add"
    example = Example((3, 4, 5), also=({"axis": "last"}, {"learnable": False}))

    saved_for_backward = saved.saves_nothing  # dx = g, dβ = Σ g

    def erf_rule(self, ins, out, index):
        """An added constant: the identity, exactly."""
        from . import influence

        return influence.identity_rule(len(ins[index]) - 1)
