"""Fully connected layers: on a flat feature vector, or over the last axis of any tensor."""

from __future__ import annotations

from fractions import Fraction
from math import prod
from ..cost.conventions import backward_flops_per_element
from ..spec.fields import Bool, Choice, Int
from .base import Example, Layer, register
from . import peers, saved
from .formula import NUMERIC, Counts


def linear_counts(q, f_in, out, bias: bool, macs_name: str | None = "MACs") -> Counts:
    """One fully connected layer (torch.nn.Linear), written once for the kind and for the stages that are one::

        params = F_in·out (+ out bias);  MACs = F_in·out;  FLOPs = 2·MACs (+ out bias adds)
    """
    macs = f_in * out
    return Counts(macs + q.opt(bias, out, "bias"), 0, macs,
                  2 * (q.named(macs_name, macs) if macs_name else macs) + q.opt(bias, out, "bias adds"))


@register
class Linear(Layer):
    """Fully connected layer, on a flat feature vector or over the last axis of any tensor.

    As ``torch.nn.Linear`` (https://pytorch.org/docs/stable/generated/torch.nn.Linear.html). ``axis: flat`` (the default): the input must be a flat feature vector, (F_in,) → (out,). Put ``flatten`` or a
    global pool with ``keepdims: false`` before it::

        params = F_in · out (+ out bias)
        MACs   = F_in · out
        FLOPs  = 2·MACs (+ out bias adds)

    ``axis: last``: over the last axis of any input, as ``torch.nn.Linear`` on (…, F_in) — ConvNeXt's MLP on a
    channels-last (H, W, C) tensor, or ONNX ``MatMul`` with a constant weight. (…, F_in) → (…, out), the same
    weights at each of the ΠN = elements / F_in positions::

        params = F_in · out (+ out bias)
        MACs   = ΠN · F_in · out
        FLOPs  = 2·MACs (+ ΠN · out bias adds)

    RF: a flat input already sees everything its producer saw. Over the last axis: when that axis holds features
    (channels-last), the field is unchanged; when it holds input positions (the W of a channels-first map, H·W
    after a partial flatten, as MLP-Mixer's token mixing does), every output sees the whole of them
    (:meth:`~convcalc.cost.rf.ReceptiveField.mixed`), and the analytic ERF does not follow it.
    """

    kind = "linear"
    summary = "fully connected layer on a flat (F,) input, or over the last axis"
    family = "linear"
    ranks = (0,)  # with axis: flat (axis: last takes any rank)
    any_layout = True  # it reads the last axis whatever it holds (the field says what it held)
    example = Example((12,), {"out": 4}, also=({"axis": "last"},))
    shape_rule = "(F_in,) → (out,); with axis: last (…, F_in) → (…, out)"
    rf_rule = "unchanged (a flat input already sees its field; over the last axis: unless it holds positions)"
    out = Int(min=1)
    bias = Bool(default=True)
    own_defaults = ("bias",)  # a classifier's bias is no conv's before a norm: a flat `bias: false` is reported
    axis = Choice(("flat", "last"), default="flat", doc="flat: the input is (F,); last: over the last axis of any "
                                                       "input")
    #: how the peers count torch.nn.Linear (convcalc/layers/peers.py)
    peer_rules = {
        "fvcore": peers.macs("aten::linear: Πinput·F_out, bias not counted"),
        "ptflops": peers.macs_bias("linear hook: (F_in·F_out + F_out bias) per position"),
        "thop": peers.macs("count_linear: F_in·output elements"),
        "torchinfo": peers.Rule(
            lambda layer, ins, out: layer.counts(ins).params * prod(ins[0][:-1]), "(weight + bias params) per position",
            bug=peers.Rule(lambda layer, ins, out: layer.counts(ins).params,
                           "(weight + bias params) once per sample, whatever the positions it runs at (torchinfo "
                           f"{peers.VERSIONS['torchinfo']}: a Linear over the last axis of (…, F) is counted once)")),
    }

    def saved_for_backward(self, ins):
        """Its input, only when its weight gets a gradient: ``addmm``/``matmul`` saves mat1 for dW = gᵀ·x and
        mat2 (the weight, a parameter) for dX (derivatives.yaml, ``mm``: each operand is saved only for the other's
        gradient). Over the last axis the input is a view reshaped to (ΠN, F_in): the same storage."""
        return saved.saves(saved.input_(when="trainable"))

    def output_shape(self, ins):
        if self.axis == "flat":
            self.check_rank(ins[0])
        return (*ins[0][:-1], self.out)

    def counts(self, ins, q=NUMERIC):
        if self.axis == "flat":
            self.check_rank(ins[0])
            return linear_counts(q, q("F_in", ins[0][0]), q("out", self.out), self.bias)
        positions, f_in, out = q.prod("N", ins[0][:-1]), q("F_in", ins[0][-1]), q("out", self.out)
        macs = positions * f_in * out
        return Counts(f_in * out + q.opt(self.bias, out, "bias"), 0, macs,
                      2 * q.named("MACs", macs) + q.opt(self.bias, positions * out, "bias adds"))

    def gemm_flops(self, ins):
        """All its FLOPs: y = x·Wᵀ is a matrix product (``addmm``), the bias added in its epilogue."""
        return self.counts(ins).flops

    def backward_macs(self, ins, input_grad=True, trainable=True):
        """``(dX, dW)`` per sample, each equal to the forward MACs: y = x·Wᵀ gives gx = gy·W and gW = gyᵀ·x
        (PyTorch's ``mm``/``addmm`` entries in tools/autograd/derivatives.yaml), one product per forward product."""
        macs = self.counts(ins).macs
        return (macs if input_grad else 0), (macs if trainable else 0)

    def backward_flops(self, ins, input_grad=True, trainable=True):
        """2 FLOPs per backward MAC, plus the bias gradient when trainable: 1 add per output element (``bias_grad``;
        ``axis: last``: at every position), as the forward counts its bias add."""
        counts = self.counts(ins)
        dx, dw = self.backward_macs(ins, input_grad, trainable)
        bias_adds = counts.flops - 2 * counts.macs
        return 2 * (dx + dw) + (bias_adds * backward_flops_per_element("bias_grad") if trainable else 0)

    def receptive_field(self, rfs, ins):
        if self.axis == "flat" or len(ins[0]) == 1:
            return rfs[0]  # a flat input already sees everything its producer saw
        return rfs[0].mixed(ins[0], len(ins[0]) - 1, self.out, self.name)

    def erf_rule(self, ins, out, index):
        """Every output reads every input feature at its own position: the gradient per input is ``out`` times the
        output's (the analysis blocks the analytic ERF where the last axis holds positions)."""
        from . import influence

        return influence.identity_rule(len(ins[index]) - 1, self.out) if self.axis == "last" else \
            influence.ERFRule(Fraction(self.out), [])
