"""Shape-keeping elementwise layers: activations (softmax among them), dropout, identity (batch normalisation:
convcalc/layers/norm.py).

Each costs ``FLOPS_PER_ELEMENT[op]`` (convcalc/cost/conventions.py) per element and leaves the receptive field and
the analytic ERF unchanged; softmax is the exception, as it normalises along an axis (its class says how).
"""

from __future__ import annotations

from fractions import Fraction
from math import prod

from ..cost.conventions import backward_flops_per_element, flops_per_element
from ..spec.fields import Choice, Int, Number
from .base import Example, Layer, fmt_tuple, register
from . import peers, saved
from .formula import NUMERIC, Counts


class Elementwise(Layer):
    """An op applied to every element independently. Shapes: any → the same. FLOPs = elements × cost per element."""

    family = "activation"
    op = ""
    any_layout = True  # one op per element: no axis is read as channels (batch norm, per channel, is not)

    def counts(self, ins, q=NUMERIC):
        return Counts(flops=q.elements(ins[0]) * q.cost(self.op))

    def backward_flops(self, ins, input_grad=True, trainable=True):
        """The input gradient only (no params): elements × the op's row of the backward table (its derivative)."""
        return prod(ins[0]) * backward_flops_per_element(self.backward_op()) if input_grad else 0

    def backward_op(self) -> str:
        """The row of the backward table (convcalc/cost/conventions.py) this kind's derivative costs."""
        return self.op

    def fuses_elementwise(self) -> bool:
        """One op per element: it can run in the epilogue of the kernel producing its input."""
        return True

    def erf_rule(self, ins, out, index):
        """Uniform weights linearise every activation to the identity (Luo et al. 2016)."""
        from . import influence

        return influence.identity_rule(len(ins[index]) - 1)


def _peer_activation(ptflops: peers.Rule, fvcore: str = "no handler: an unsupported operator, skipped",
                     thop: peers.Rule | None = None, torchinfo: peers.Rule | None = None) -> dict:
    """The peer rules of an activation module ptflops hooks or counts through its functional
    (convcalc/layers/peers.py); the others count nothing unless given."""
    return {"fvcore": peers.zero(fvcore), "ptflops": ptflops,
            "thop": thop or peers.zero("no rule, or its zero_ops rule: zero ops"),
            "torchinfo": torchinfo or peers.zero("no weight or bias")}


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


ReLU = _activation("relu", "max(x, 0)", saved_for_backward=saved.saves_output,
                   peer_rules=_peer_activation(peers.twice(peers.per_output(1, "relu hook: 1 per element")),
                                               fvcore="aten::relu is on its list of ignored operators"))  # threshold_backward(grad, result)
ReLU6 = _activation("relu6", "min(max(x, 0), 6)", saved_for_backward=saved.saves_input,
                    peer_rules=_peer_activation(peers.per_output(1, "relu hook: 1 per element (nn.ReLU6 calls "
                                                                   "F.hardtanh, which it does not patch)")))  # hardtanh_backward(grad, self)
LeakyReLU = _activation("leaky_relu", "x if x > 0 else a·x", Example((3, 6), {"negative_slope": 0.2}),
                        negative_slope=Number(default=Fraction(1, 100)),
                        peer_rules=_peer_activation(peers.per_output(1, "relu hook: 1 per element"),
                                                    thop=peers.zero("count_relu: 0")),
                        saved_for_backward=saved.saves_input)  # leaky_relu_backward(grad, self, …)
Sigmoid = _activation("sigmoid", "1 / (1 + exp(−x))", peer_rules=peers.UNCOUNTED,
                     saved_for_backward=saved.saves_output)  # sigmoid_backward(grad, result)
Tanh = _activation("tanh", "tanh(x)", peer_rules=peers.UNCOUNTED, saved_for_backward=saved.saves_output)  # tanh_backward(grad, result)


@register
class GELU(Elementwise):
    """Activation ``gelu``: 0.5·x·(1 + erf(x / √2)), or with ``approximate: tanh`` the tanh approximation
    0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))) (Hendrycks & Gimpel 2016), as ``torch.nn.GELU(approximate)``
    (https://pytorch.org/docs/stable/generated/torch.nn.GELU.html). FLOPs per element: ``f_gelu`` = 5, or
    ``f_gelu_tanh`` = 9 (convcalc/cost/conventions.py). Shapes: any → the same.
    """

    kind = "gelu"
    summary = "activation 0.5·x·(1 + erf(x / √2)), or its tanh approximation"
    op = "gelu"
    example = Example((3, 6), also=({"approximate": "tanh"},))
    approximate = Choice(("none", "tanh"), default="none", doc="`tanh`: the tanh approximation, as torch's")

    saved_for_backward = saved.saves_input  # gelu_backward(grad, self, approximate)
    peer_rules = _peer_activation(peers.twice(peers.per_output(1, "its relu hook: 1 per element")))

    def counts(self, ins, q=NUMERIC):
        op = "gelu_tanh" if self.approximate == "tanh" else self.op
        return Counts(flops=q.elements(ins[0]) * q.cost(op))

    def backward_flops(self, ins, input_grad=True, trainable=True):
        """gelu_backward(grad, self, approximate): elements × ``gelu`` (11) or ``gelu_tanh`` (18)."""
        op = "gelu_tanh" if self.approximate == "tanh" else self.op
        return prod(ins[0]) * backward_flops_per_element(op) if input_grad else 0


SiLU = _activation("silu", "x·sigmoid(x) (also called swish)",
                   peer_rules=_peer_activation(peers.functional(peers.zero("no module hook for SiLU"), 1)),
                   saved_for_backward=saved.saves_input)  # silu_backward(grad, self)
Hardswish = _activation("hardswish", "x·relu6(x + 3) / 6", peer_rules=peers.UNCOUNTED,
                        saved_for_backward=saved.saves_input)  # hardswish_backward(grad, self)


@register
class Hardsigmoid(Elementwise):
    """Activation ``hardsigmoid``: max(0, min(1, α·x + β)). The defaults α = 1/6, β = 1/2 are relu6(x + 3) / 6, as
    ``torch.nn.Hardsigmoid`` (https://pytorch.org/docs/stable/generated/torch.nn.Hardsigmoid.html); other values
    are ONNX HardSigmoid's (whose defaults are α = 0.2, β = 0.5). FLOPs per element: 4, ``f_hardsigmoid`` (add +
    2 comparisons + div) or, with other α and β, ``f_hardsigmoid_affine`` (mul + add + 2 comparisons).
    Shapes: any → the same.

    ``alpha: 0`` is rejected: the output would be the constant clip(β, 0, 1), whatever the input.
    """

    kind = "hardsigmoid"
    summary = "activation max(0, min(1, α·x + β)); by default relu6(x + 3) / 6"
    op = "hardsigmoid"
    example = Example((3, 6), also=({"alpha": 0.2, "beta": 0.5},))
    alpha = Number(default=Fraction(1, 6), doc="α, the slope (torch's 1/6; ONNX's default is 0.2)")
    beta = Number(default=Fraction(1, 2), doc="β, the offset")

    saved_for_backward = saved.saves_input  # hardsigmoid_backward(grad, self)
    peer_rules = peers.UNCOUNTED

    def output_shape(self, ins):
        if self.alpha == 0:
            self.fail(f"`alpha` is 0, so the output is the constant clip({float(self.beta):g}, 0, 1) for every "
                      "input", "give a non-zero slope (torch's hardsigmoid is alpha 1/6, beta 1/2)", "alpha")
        return ins[0]

    def counts(self, ins, q=NUMERIC):
        torch_form = self.alpha == Fraction(1, 6) and self.beta == Fraction(1, 2)
        return Counts(flops=q.elements(ins[0]) * q.cost(self.op if torch_form else "hardsigmoid_affine"))

    def backward_flops(self, ins, input_grad=True, trainable=True):
        """hardsigmoid_backward: elements × ``hardsigmoid`` (3), or ``hardsigmoid_affine`` (5) with other α, β."""
        torch_form = self.alpha == Fraction(1, 6) and self.beta == Fraction(1, 2)
        op = self.op if torch_form else "hardsigmoid_affine"
        return prod(ins[0]) * backward_flops_per_element(op) if input_grad else 0


@register
class Swish(Elementwise):
    """``swish`` is another name for SiLU, x·sigmoid(x) (Ramachandran et al. 2017); same cost."""

    kind = "swish"
    summary = "activation x·sigmoid(x) (= silu)"
    op = "silu"
    example = Example((3, 6))
    saved_for_backward = saved.saves_input  # silu's: silu_backward(grad, self)
    peer_rules = SiLU.peer_rules  # torch.nn.SiLU


@register
class Dropout(Elementwise):
    """Dropout: the identity at inference, so no FLOPs. Shapes: any → the same."""

    kind = "dropout"
    summary = "dropout (identity at inference)"
    family = "other"
    op = "dropout"
    peer_rules = peers.free("the identity in eval mode (fvcore ignores aten::dropout; thop's zero_ops)")
    example = Example((3, 6), {"p": 0.5})
    p = Number(default=0, min=0, below=1, doc="drop probability, 0 ≤ p < 1")

    def saved_for_backward(self, ins):
        """The keep mask, 1 byte per element: training-mode ``native_dropout`` returns (output, mask) with a bool
        mask that ``native_dropout_backward(grad, mask, scale)`` reads (CUDA; ATen's CPU path saves a float mask
        of the input's dtype instead, docs/training.md). Nothing when p = 0 (torch returns the input)."""
        if self.p == 0:
            return saved.NOTHING
        return saved.saves(saved.own("mask", "keep mask", saved.elements(ins[0]), "bool"))

    def moved_elements(self, ins, out, params, buffers):
        """The identity at inference, a view of its input: nothing moves through memory."""
        return 0, 0, 0


@register
class Identity(Elementwise):
    """Identity: passes its input through. Shapes: any → the same."""

    kind = "identity"
    summary = "identity (no-op)"
    family = "other"
    op = "identity"
    example = Example((3, 6))
    saved_for_backward = saved.is_view  # returns its input: no new storage, nothing saved
    peer_rules = peers.free("torch.nn.Identity: nothing")

    def moved_elements(self, ins, out, params, buffers):
        """Its input itself: nothing moves through memory."""
        return 0, 0, 0


# ---- activations added for imported models (ONNX and PyTorch) ------------------------------------------------
@register
class PReLU(Elementwise):
    """Parametric ReLU (He et al. 2015, "Delving Deep into Rectifiers"), as ``torch.nn.PReLU``
    (https://pytorch.org/docs/stable/generated/torch.nn.PReLU.html): y = x if x > 0 else a·x, with one learned
    slope shared by every channel (``num_parameters: 1``) or one per channel (``num_parameters: C``, along axis 0
    of the per-sample shape, torch's dim 1). params = num_parameters; FLOPs = C·ΠN·f_prelu (1 comparison + 1 mul).
    Shapes: any → the same.

    Analytic ERF: uniform weights make every slope 1, so the layer is exactly the identity (Luo et al. 2016).
    """

    kind = "prelu"
    summary = "parametric ReLU: x if x > 0 else a·x, a learned (one shared, or one per channel)"
    op = "prelu"
    example = Example((3, 6), {"num_parameters": 3}, also=({"num_parameters": 1},))
    num_parameters = Int(default=1, min=1, doc="1 (one slope for every channel) or C (one per channel, axis 0)")

    @property
    def any_layout(self) -> bool:
        """One shared slope reads no axis; one per channel reads axis 0 as channels (convcalc/cost/layout.py)."""
        return self.num_parameters == 1

    def slopes(self, shape) -> int:
        if self.num_parameters not in (1, shape[0]):
            self.fail(f"`num_parameters` is {self.num_parameters}, but the input {fmt_tuple(shape)} has "
                      f"{shape[0]} channels", f"use 1 (one shared slope) or {shape[0]} (one per channel)",
                      "num_parameters")
        return self.num_parameters

    saved_for_backward = saved.saves_input  # _prelu_kernel_backward(grad, self, weight); the weight is a parameter
    peer_rules = _peer_activation(peers.twice(peers.per_output(1, "its relu hook: 1 per element")),
                                  thop=peers.per_input(1, "count_prelu (eval): 1 per element"),
                                  torchinfo=peers.params_times(lambda *_: 1, "its weight params, once per sample"))

    def output_shape(self, ins):
        self.slopes(ins[0])
        return ins[0]

    def counts(self, ins, q=NUMERIC):
        slopes = self.slopes(ins[0])
        return Counts(q("C", slopes) if slopes > 1 else 1, 0, 0, q.elements(ins[0]) * q.cost(self.op))

    def backward_flops(self, ins, input_grad=True, trainable=True):
        """Input gradient elements × ``prelu`` (2), when needed; slope gradient elements × ``prelu_weight`` (3),
        when trainable (_prelu_kernel_backward returns both)."""
        elements = prod(ins[0])
        return (elements * backward_flops_per_element("prelu") if input_grad else 0) + \
            (elements * backward_flops_per_element("prelu_weight") if trainable else 0)

    def erf_rule(self, ins, out, index):
        """Slopes of 1 (uniform weights): the identity, exactly."""
        from . import influence

        return influence.identity_rule(len(ins[index]) - 1)


@register
class ELU(Elementwise):
    """ELU (Clevert et al. 2016, "Fast and Accurate Deep Network Learning by Exponential Linear Units"), as
    ``torch.nn.ELU`` (https://pytorch.org/docs/stable/generated/torch.nn.ELU.html): y = x if x > 0 else
    α·(exp(x) − 1). FLOPs = C·ΠN·f_elu (1 comparison + exp + sub + mul). Shapes: any → the same.
    """

    kind = "elu"
    summary = "activation x if x > 0 else α·(exp(x) − 1)"
    op = "elu"
    example = Example((3, 6), {"alpha": 0.5})
    alpha = Number(default=1, doc="α: the negative side tends to −α")
    saved_for_backward = saved.saves_input  # elu_backward(grad, α, scale, input_scale, is_result=false, self)
    peer_rules = _peer_activation(peers.twice(peers.per_output(1, "its relu hook: 1 per element")))


@register
class SELU(Elementwise):
    """SELU (Klambauer et al. 2017, "Self-Normalizing Neural Networks"), as ``torch.nn.SELU``
    (https://pytorch.org/docs/stable/generated/torch.nn.SELU.html): y = λ·(x if x > 0 else α·(exp(x) − 1)) with
    torch's constants α = 1.6732632423543772848170429916717 and λ = 1.0507009873554804934193349852946 (no fields:
    ONNX Selu's own alpha and gamma are accepted by the importers only when they are these). FLOPs = C·ΠN·f_selu
    (the ELU's 4 + the mul by λ). Shapes: any → the same.
    """

    kind = "selu"
    summary = "activation λ·elu_α(x) with torch's α ≈ 1.6733 and λ ≈ 1.0507 (self-normalising)"
    op = "selu"
    example = Example((3, 6))
    saved_for_backward = saved.saves_input  # elu_backward with torch's α and λ, on self
    peer_rules = peers.UNCOUNTED


@register
class Mish(Elementwise):
    """Mish (Misra 2019, "Mish: A Self Regularized Non-Monotonic Activation Function"), as ``torch.nn.Mish``
    (https://pytorch.org/docs/stable/generated/torch.nn.Mish.html): y = x·tanh(softplus(x)) =
    x·tanh(log(1 + exp(x))). FLOPs = C·ΠN·f_mish (exp + add + log + tanh + mul). Shapes: any → the same.
    """

    kind = "mish"
    summary = "activation x·tanh(softplus(x))"
    op = "mish"
    example = Example((3, 6))
    saved_for_backward = saved.saves_input  # mish_backward(grad, self)
    peer_rules = peers.UNCOUNTED


@register
class Softplus(Elementwise):
    """Softplus, as ``torch.nn.Softplus`` (https://pytorch.org/docs/stable/generated/torch.nn.Softplus.html):
    y = log(1 + exp(β·x)) / β, reverting to the identity y = x where β·x > threshold, as torch does. FLOPs =
    C·ΠN·f_softplus (mul + the threshold comparison + exp + add + log + div), whatever the values. Shapes: any →
    the same.

    ``beta: 0`` is rejected (a division by zero).
    """

    kind = "softplus"
    summary = "activation log(1 + exp(β·x)) / β, the identity where β·x > threshold"
    op = "softplus"
    example = Example((3, 6), {"beta": 2, "threshold": 1})
    beta = Number(default=1, doc="β, the sharpness (y → relu(x) as β grows)")
    threshold = Number(default=20, doc="where β·x is above it, y = x (torch's numerical-stability switch)")

    saved_for_backward = saved.saves_input  # softplus_backward(grad, self, β, threshold)
    peer_rules = peers.UNCOUNTED

    def output_shape(self, ins):
        if self.beta == 0:
            self.fail("`beta` is 0, and softplus divides by it", "give a non-zero beta (torch's default is 1)",
                      "beta")
        return ins[0]


@register
class Hardtanh(Elementwise):
    """Hardtanh, as ``torch.nn.Hardtanh`` (https://pytorch.org/docs/stable/generated/torch.nn.Hardtanh.html):
    y = min(max(x, min_val), max_val), the form ONNX's Clip takes. FLOPs = C·ΠN·f_hardtanh (2 comparisons).
    Shapes: any → the same.

    ``min_val`` must be below ``max_val``, as torch requires (its constructor raises otherwise).
    """

    kind = "hardtanh"
    summary = "activation min(max(x, min_val), max_val)"
    op = "hardtanh"
    example = Example((3, 6), {"min_val": -2, "max_val": 0.5})
    min_val = Number(default=-1, doc="the lower bound")
    max_val = Number(default=1, doc="the upper bound, above min_val")

    saved_for_backward = saved.saves_input  # hardtanh_backward(grad, self, min_val, max_val)
    peer_rules = peers.UNCOUNTED

    def output_shape(self, ins):
        if self.min_val >= self.max_val:
            self.fail(f"`min_val` ({float(self.min_val):g}) is not below `max_val` ({float(self.max_val):g})",
                      "give min_val < max_val, as torch.nn.Hardtanh requires (relu6 is min_val 0, max_val 6)",
                      "max_val")
        return ins[0]


@register
class Softmax(Layer):
    """Softmax over one axis, as ``torch.nn.Softmax(dim)``
    (https://pytorch.org/docs/stable/generated/torch.nn.Softmax.html): y_i = exp(x_i) / Σ_j exp(x_j) over the n
    values of axis 0 (``channels``, torch's dim 1) or of the last axis (``last``, dim −1). FLOPs =
    rows·(f_softmax·n − 1): n exps, n − 1 adds and n divides per softmax. Shapes: any → the same.

    ``last`` is for channels-last tensors written by a ``permute``; on a flat (C,) input both words name axis 0.
    The FLOPs are thop's count (``calculate_softmax``; docs/flops.md); the maximum torch subtracts first for
    numerical stability is not counted. An axis of size 1 is rejected: the output would be the constant 1.

    RF: over ``channels``, unchanged; over ``last`` on a map, every output sees the whole axis of n positions: a
    window of 2n − 1 taps centred on the output (padding n − 1), which, clipped to the input, is exactly the n
    positions for every output. Analytic ERF: softmax is linearised to the identity, as the activations are
    (Luo et al. 2016). Over channels that loses nothing spatial: the softmax mixes the channels of one position and
    never two positions, so the uniform-weight gradient (summed over channels) passes position by position. Over
    the last axis the identity drops the coupling along it, so the rule is flagged approximate.
    """

    kind = "softmax"
    summary = "softmax over the channels (axis 0) or the last axis"
    family = "activation"
    op = "softmax"
    example = Example((4, 3, 5), also=({"axis": "last"},))
    rf_rule = "channels: unchanged; last: the whole last axis (a window of 2n − 1, padding n − 1)"
    axis = Choice(("channels", "last"), default="channels",
                  doc="`channels`: axis 0 (torch's dim 1); `last`: the last axis (dim −1, channels-last tensors)")

    def axis_of(self, shape) -> int:
        """The per-sample axis the softmax runs over (checked to hold more than one value)."""
        axis = 0 if self.axis == "channels" else len(shape) - 1
        if shape[axis] == 1:
            self.fail(f"the softmax axis (`{self.axis}`, axis {axis} of {fmt_tuple(shape)}) has size 1, so every "
                      "output would be the constant 1", "softmax over an axis with several values (channels "
                      "before a global pool, or `axis: last` on a channels-last tensor), or remove the layer",
                      "axis")
        return axis

    saved_for_backward = saved.saves_output  # _softmax_backward_data(grad, result, dim)
    #: how the peers count torch.nn.Softmax(dim) (convcalc/layers/peers.py)
    peer_rules = _peer_activation(
        peers.functional(peers.zero("no module hook for Softmax"), 1),
        thop=peers.Rule(lambda layer, ins, out: 3 * prod(ins[0]) - prod(ins[0]) // ins[0][layer.axis_of(ins[0])],
                        "count_softmax: (3n − 1) per set of n (exp, add, div)"))

    def output_shape(self, ins):
        self.axis_of(ins[0])
        return ins[0]

    def counts(self, ins, q=NUMERIC):
        shape = ins[0]
        axis = self.axis_of(shape)
        if len(shape) == 1:
            rows, n = 1, q("C", shape[0])
        elif axis == 0:
            rows, n = q.prod("N", shape[1:]), q("C", shape[0])
        else:
            rows = q("C", shape[0]) * q.prod("N_rest", shape[1:-1]) if len(shape) > 2 else q("C", shape[0])
            n = q("N_last", shape[-1])
        return Counts(flops=rows * (q.cost(self.op) * n - 1))

    def backward_flops(self, ins, input_grad=True, trainable=True):
        """_softmax_backward_data(grad, result): gx = y·(g − Σ g·y), elements × ``softmax`` (4)."""
        return prod(ins[0]) * backward_flops_per_element(self.op) if input_grad else 0

    @property
    def any_layout(self) -> bool:
        """``last`` finds its axis itself (a channels-last tensor's channels); ``channels`` reads axis 0."""
        return self.axis == "last"

    def receptive_field(self, rfs, ins):
        shape = ins[0]
        axis = self.axis_of(shape)
        if axis == 0:
            return rfs[0]
        if rfs[0].layout is not None:  # a permute or reshape moved the axes (convcalc/cost/layout.py)
            from ..cost import layout

            current = layout.entries(rfs[0].layout, shape)
            if current != layout.UNKNOWN and layout.features_only(current[-1]):
                return rfs[0]  # channels-last: a softmax over the channels mixes no positions
            return rfs[0].untracked_from(f"`{self.name}` (softmax) normalises over an axis laid out "
                                         f"{rfs[0].layout_text(shape)} that holds positions: the receptive field "
                                         "is not tracked from here")
        ones = [1] * (len(shape) - 2)
        n = shape[-1]
        return rfs[0].window(ones + [2 * n - 1], ones + [1], [0] * len(ones) + [n - 1])

    def erf_rule(self, ins, out, index):
        """Linearised to the identity; over the last axis of a map that drops its coupling: approximate."""
        from . import influence

        shape = ins[index]
        if self.axis_of(shape) == 0:
            return influence.identity_rule(len(shape) - 1)
        return influence.identity_rule(len(shape) - 1, approximate=True,
                                       note=f"softmax over the last axis ({shape[-1]} positions) couples the "
                                            "positions along it; the analytic ERF takes it as the identity")
