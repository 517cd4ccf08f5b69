"""Squeeze-and-excitation (Hu et al. 2018, SENet): a gated composite kind."""

from __future__ import annotations

from fractions import Fraction

from ..spec.fields import Bool, Choice, Int
from .base import REGISTRY, Example, Layer, register
from .composite import Stage, Staged
from . import peers, saved
from .formula import NUMERIC, Counts
from .linear import linear_counts

_ACTIVATIONS = ("relu", "relu6", "leaky_relu", "silu", "swish", "hardswish", "gelu", "tanh", "sigmoid")


@register
class SqueezeExcitation(Staged, Layer):
    """Squeeze-and-excitation (Hu et al. 2018, SENet): global average pool → FC C→S → activation → FC S→C →
    gate (sigmoid) → multiply the input by the per-channel gate. S = ``squeeze``, or C/r with ``reduction`` r::

        shape:  (C, *N) → (C, *N)
        params: C·S + S + S·C + C = 2C²/r + C/r + C    (without bias: 2C²/r)     C=256, r=16: 8,464
        MACs:   2·C·S = 2C²/r
        FLOPs:  C·ΠN (pool) + 2·C·S + S (FC1) + S·f(act) + 2·S·C + C (FC2) + C·f(gate) + C·ΠN (multiply)

    f(·) per element from convcalc/cost/conventions.py. RF: each output sees its own position, and the whole input
    through the gate (a note, as at a broadcast multiply).
    """

    kind = "squeeze_excitation"
    summary = "squeeze-and-excitation: pool, FC C→C/r, act, FC C/r→C, sigmoid, multiply"
    family = "linear"
    ranks = (1, 2, 3)
    example = Example((8, 4, 4), {"reduction": 4}, also=({"bias": False, "gate": "hardsigmoid"},))
    rf_rule = "unchanged per position; also sees the whole input through the gate"
    reduction = Int(default=16, min=1, doc="r: S = C / r")
    squeeze = Int(default=None, min=1, doc="S, the squeezed channels (overrides reduction)")
    activation = Choice(_ACTIVATIONS, default="relu")
    gate = Choice(("sigmoid", "hardsigmoid"), default="sigmoid")
    bias = Bool(default=True, doc="both FCs have a bias, as torchvision's SqueezeExcitation convs")
    own_defaults = ("bias",)  # no norm follows its FCs: a flat `defaults: {bias: false}` meant for convs is a loss

    def torch_parts(self, ins) -> list:
        """The modules torch runs it with (torchvision.ops.SqueezeExcitation, tests/torch_build.py), as layers with
        their inputs: fc1, the activation, fc2, the gate. The mean and the final multiply are tensor methods."""
        from ..spec.graph import Node

        c, s = ins[0][0], self.squeezed(ins[0])
        parts = []
        for kind, fields, size in (("linear", {"out": s, "bias": self.bias}, c), (self.activation, {}, s),
                                   ("linear", {"out": c, "bias": self.bias}, s), (self.gate, {}, c)):
            cls = REGISTRY[kind]
            defaults = {key: field.default for key, field in cls.fields.items()}
            parts.append((cls(Node(f"{self.name}.{kind}", kind, {**defaults, **fields}, [], self.node.mark)),
                          [(size,)]))
        return parts

    #: the peers count its modules, each by its kind's rule; nobody counts the mean or the multiply
    peer_rules = peers.composed(lambda layer, ins: layer.torch_parts(ins),
                                "its fc1, activation, fc2 and gate modules, each by its kind's rule")

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

    def saved_for_backward(self, ins):
        """As torchvision's ``SqueezeExcitation`` trains: the mean saves nothing; fc1 its input (the pooled C
        values) and fc2 its input (the activation's output, S), when their weights train; the activation and the
        gate what their own kinds save (their input or output: S and C values); the final x·gate both factors:
        the input and the gate (C values, viewed as (C, 1, …))."""
        from ..spec.graph import Node
        from .base import own

        c, s = ins[0][0], self.squeezed(ins[0])
        items = [saved.input_(what="input (x·gate)"), saved.own("pooled", "pooled (fc1's input)", c)]
        for kind, size, before, after in ((self.activation, s, "fc1", self.activation), (self.gate, c, "fc2",
                                                                                        self.gate)):
            cls = REGISTRY[kind]  # the activation with its defaults, as the SE runs it
            layer = cls(Node(f"{self.name}.{kind}", kind, {k: f.default for k, f in cls.fields.items()}, [],
                             self.node.mark))
            answer = own(cls, "saved_for_backward")(layer, [(size,)])
            for item in answer.saved:
                name = before if item.tensor == "in0" else after
                items.append(saved.own(name, f"{name} output", size))
            items.append(saved.own(after, f"{after} output ({'fc2' if after == self.activation else 'x·gate'}"
                                          "'s input)", size))
        return saved.SavedTensors(items)

    def stages(self, ins, q=NUMERIC):
        shape = ins[0]
        ones = (1,) * (len(shape) - 1)
        s_value = self.squeezed(shape)
        c, elements = q("C", shape[0]), q.elements(shape)
        s = q("S", s_value) if self.squeeze is not None else q.named("S", q.exact_div(c, q("r", self.reduction)),
                                                                     expand=False)
        return [
            Stage("squeeze", "global_avgpool", (shape[0], *ones), Counts(flops=elements * q.cost("avgpool"))),
            Stage("fc1", "linear", (s_value, *ones), linear_counts(q, c, s, self.bias, None)),
            Stage(self.activation, self.activation, (s_value, *ones),
                  Counts(flops=s * q.cost(REGISTRY[self.activation].op))),
            Stage("fc2", "linear", (shape[0], *ones), linear_counts(q, s, c, self.bias, None)),
            Stage(self.gate, self.gate, (shape[0], *ones), Counts(flops=c * q.cost(REGISTRY[self.gate].op))),
            Stage("scale", "multiply", shape, Counts(flops=elements * q.cost("multiply"))),
        ]

    def details(self, ins):
        return {"squeeze_channels": self.squeezed(ins[0]), "sub_rows": self.sub_rows(ins)}

    def receptive_field(self, rfs, ins):
        rf = rfs[0]
        return type(rf)(rf.size, rf.jump, rf.center, rf.position_dependent,
                        rf.notes + (f"{self.name}: also sees its whole input through the squeeze-excitation gate",))

    def erf_rule(self, ins, out, index):
        """x·gate(x) with the gate as 1: the identity, plus the gate path pool → FC C→S → FC S→C, which spreads
        Σ_o G(o)·S·C evenly over the map (1/N per position from the average pool)."""
        from . import influence

        shape = ins[index]
        gate = influence.ERFRule(Fraction(self.squeezed(shape) * shape[0]), [influence.spread(n) for n in shape[1:]])
        return influence.identity_rule(len(shape) - 1, extra=[gate],
                                       note="the gate path spreads the gradient over the whole map (global context)")


