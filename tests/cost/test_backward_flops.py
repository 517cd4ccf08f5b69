"""Backward FLOPs of one training step, per kind (docs/flops.md "Backward", docs/training.md).

One table: kind, fields, input shape, what the layer needs (input gradient, trainable), and the expected backward
FLOPs per sample, worked by hand from the backward per-op table in the comment of each row (E = input elements,
O = output elements)."""

import pytest

import convcalc
from convcalc.cost.analysis import analyze
from convcalc.cost.training import training
from convcalc.layers import REGISTRY
from convcalc.layers.base import Layer, own
from convcalc.spec.loader import load


def backward_flops(layer, input, input_grad=True, trainable=True, before=(), inputs=None):
    spec = {"name": "t", "input": list(input), "layers": [*before, {"name": "x", **layer}]}
    if inputs:
        spec["layers"][-1]["inputs"] = list(inputs)
    graph = load(spec).expand()
    report = analyze(graph)
    shapes = {graph.input_name: tuple(graph.input_shape)}
    shapes.update({row.name: tuple(row.output_shape) for row in report.layers})
    node = graph.nodes[-1]
    cls = REGISTRY[node.kind]
    return own(cls, "backward_flops")(cls(node), [shapes[name] for name in node.inputs], input_grad, trainable)


GATE = ({"type": "global_avgpool", "name": "pool"},)
B = ({"type": "relu", "name": "b"},)
CASES = [
    # kind, fields, input, input_grad, trainable, expected
    ("relu", {}, (2, 4, 4), True, False, 32),                       # E 32 × 1
    ("relu6", {}, (2, 4, 4), True, False, 64),                      # 32 × 2
    ("hardtanh", {}, (3, 6), True, False, 36),                      # 18 × 2
    ("leaky_relu", {}, (3, 6), True, False, 36),                    # 18 × 2
    ("sigmoid", {}, (2, 4, 4), True, False, 96),                    # 32 × 3: g·y·(1 − y)
    ("tanh", {}, (2, 4, 4), True, False, 96),                       # 32 × 3: g·(1 − y²)
    ("gelu", {}, (3, 6), True, False, 198),                         # 18 × 11
    ("gelu", {"approximate": "tanh"}, (3, 6), True, False, 324),    # 18 × 18
    ("silu", {}, (3, 6), True, False, 144),                         # 18 × 8
    ("swish", {}, (3, 6), True, False, 144),                        # silu's
    ("hardswish", {}, (3, 6), True, False, 90),                     # 18 × 5
    ("hardsigmoid", {}, (3, 6), True, False, 54),                   # 18 × 3
    ("hardsigmoid", {"alpha": 0.2, "beta": 0.5}, (3, 6), True, False, 90),   # 18 × 5
    ("elu", {}, (3, 6), True, False, 54),                           # 18 × 3
    ("selu", {}, (3, 6), True, False, 72),                          # 18 × 4
    ("mish", {}, (3, 6), True, False, 234),                         # 18 × 13
    ("softplus", {}, (3, 6), True, False, 108),                     # 18 × 6
    ("softmax", {}, (4, 3, 5), True, False, 240),                   # 60 × 4: y·(g − Σ g·y)
    ("dropout", {}, (3, 6), True, False, 36),                       # 18 × 2: g·mask·scale
    ("identity", {}, (3, 6), True, False, 0),
    ("prelu", {"num_parameters": 3}, (3, 6), True, True, 90),       # 18 × (2 + 3)
    ("prelu", {"num_parameters": 3}, (3, 6), False, True, 54),      # fed by the input: slopes only, 18 × 3
    ("prelu", {"num_parameters": 3}, (3, 6), True, False, 36),      # frozen: 18 × 2
    ("batchnorm", {}, (2, 2, 2), True, True, 72),                   # C=2, 2×2, N=1: E 8 × (4 sums + 5)
    ("batchnorm", {}, (2, 2, 2), False, True, 32),                  # dγ, dβ only: 8 × 4
    ("layernorm", {}, (4, 3, 3), True, True, 558),                  # E 36, 9 sets: 36·(7+1) + 9·10 + 36·(4+1)
    ("layernorm", {"bias": False}, (4, 3, 3), True, True, 522),     # 288 + 90 + 36·4
    ("layernorm", {"affine": False}, (4, 3, 3), True, False, 342),  # 36·7 + 90
    ("groupnorm", {"groups": 2}, (4, 3, 3), True, True, 488),       # 36·8 + 2·10 + 36·5
    ("instancenorm", {}, (4, 3, 3), True, False, 292),              # no affine: 36·7 + 4 sets·10
    ("maxpool", {"kernel": 2}, (1, 4, 4), True, False, 4),          # O 4 × 1 (to the argmax)
    ("minpool", {"kernel": 2}, (1, 4, 4), True, False, 4),
    ("avgpool", {"kernel": 2}, (1, 4, 4), True, False, 20),         # 4 windows × (1 div + 4 adds)
    ("global_avgpool", {}, (2, 3, 3), True, False, 20),             # 2 divides + 18 adds
    ("global_maxpool", {}, (2, 3, 3), True, False, 2),
    ("adaptive_avgpool", {"output_size": 2}, (1, 5), True, False, 8),   # windows [0,3) [2,5): 6 taps + 2
    ("adaptive_maxpool", {"output_size": 2}, (1, 5), True, False, 2),
    ("lppool", {"p": 2, "kernel": 2}, (1, 4, 4), True, False, 56),  # 16 taps × 3 + 4 windows × 2
    ("stochastic_pool", {"kernel": 2, "mode": "train"}, (1, 4, 4), True, False, 4),
    ("stochastic_pool", {"kernel": 2}, (1, 4, 4), True, False, 80),  # test: 16 taps × 5
    ("upsample", {"scale": 2}, (1, 2, 2), True, False, 16),         # nearest: O 16 × 1
    ("upsample", {"scale": 2, "mode": "bilinear"}, (1, 2, 2), True, False, 128),   # 16 × 4 corners × 2
    ("upsample", {"scale": 2, "mode": "bicubic"}, (1, 2, 2), True, False, 512),    # 16 × 16 taps × 2
    ("upsample", {"scale": 2, "mode": "linear"}, (1, 3), True, False, 24),         # 6 × 2 × 2
    ("pad", {"padding": 1, "mode": "reflect"}, (1, 3, 3), True, False, 16),        # 25 − 9 padded elements
    ("pad", {"padding": 1}, (1, 3, 3), True, False, 0),             # constant: a slice
    ("scalar", {"op": "add", "value": 3}, (3, 6), True, False, 0),
    ("scalar", {"op": "rsub", "value": 3}, (3, 6), True, False, 18),
    ("scalar", {"op": "mul", "value": 0.5}, (3, 6), True, False, 18),
    ("scalar", {"op": "rdiv", "value": 2}, (3, 6), True, False, 54),
    ("scalar", {"op": "pow", "value": 2}, (3, 6), True, False, 54),
    ("layer_scale", {}, (3, 6), True, True, 54),                    # 18 × (1 + 2)
    ("bias_add", {}, (3, 6), True, True, 18),                       # 18 × (0 + 1)
    ("flatten", {}, (2, 3, 3), True, False, 0),
    ("permute", {"dims": [1, 2, 0]}, (2, 3, 3), True, False, 0),
    ("channel_shuffle", {"groups": 2}, (4, 3, 3), True, False, 0),
    ("pixel_shuffle", {"factor": 2}, (4, 3, 3), True, False, 0),
    # conv 3→4, 3×3, p1 on 8×8: 6,912 MACs; bias 4·64 = 256 adds
    ("conv", {"out": 4, "kernel": 3, "padding": 1}, (3, 8, 8), True, True, 27_904),   # 2·(6,912 + 6,912) + 256
    ("conv", {"out": 4, "kernel": 3, "padding": 1}, (3, 8, 8), False, True, 14_080),  # 2·6,912 + 256
    ("conv", {"out": 4, "kernel": 3, "padding": 1}, (3, 8, 8), True, False, 13_824),  # frozen: 2·6,912
    ("conv", {"out": 4, "kernel": 3, "padding": 1, "bias": False}, (3, 8, 8), True, True, 27_648),
    ("linear", {"out": 4}, (8,), True, True, 132),                  # 32 MACs: 2·64 + 4
]


@pytest.mark.parametrize("kind, fields, input, input_grad, trainable, expected", CASES,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_backward_flops_per_kind(kind, fields, input, input_grad, trainable, expected):
    assert backward_flops({"type": kind, **fields}, input, input_grad, trainable) == expected


MERGES = [
    # kind, input, before, inputs, expected
    ("add", (1, 2, 2), B, ("input", "b"), 0),                       # the gradient passes to both
    ("add", (2, 2, 2), GATE, ("input", "pool"), 8),                 # the (2,1,1) input sums 8 output elements
    ("multiply", (1, 2, 2), B, ("input", "b"), 8),                  # 4 outputs × 2 multiplies
    ("multiply", (2, 2, 2), GATE, ("input", "pool"), 24),           # 8 × 2 + 8 for the broadcast sum
    ("subtract", (1, 2, 2), B, ("input", "b"), 4),                  # −g: 4 negations
    ("divide", (1, 2, 2), B, ("input", "b"), 20),                   # 4 × 5
    ("concat", (1, 2, 2), B, ("input", "b"), 0),
]


@pytest.mark.parametrize("kind, input, before, inputs, expected", MERGES, ids=[m[0] for m in MERGES])
def test_backward_flops_of_merges(kind, input, before, inputs, expected):
    assert backward_flops({"type": kind}, input, before=before, inputs=inputs) == expected


@pytest.mark.parametrize("kind", sorted(REGISTRY))
def test_every_kind_answers(kind):
    """Every kind gives its own answer on its example, a non-negative int; the placeholder's is a loud error."""
    cls = REGISTRY[kind]
    graph = load(cls.example.spec(kind)).expand()
    report = analyze(graph)
    shapes = {graph.input_name: tuple(graph.input_shape)}
    shapes.update({row.name: tuple(row.output_shape) for row in report.layers})
    node = graph.nodes[-1]
    answer = own(cls, "backward_flops")
    ins = [shapes[name] for name in node.inputs]
    if cls.placeholder:
        assert answer is Layer.backward_flops
        with pytest.raises(NotImplementedError):
            answer(cls(node), ins)
        return
    assert answer is not Layer.backward_flops, f"`{kind}` declares no backward FLOPs"
    value = answer(cls(node), ins, True, True)
    assert isinstance(value, int) and value >= 0


def test_small_network_totals():
    """conv1 3→4 3×3 p1 on 8×8 (6,912 MACs, fed by the input), batchnorm, relu, conv2 4→2 3×3 p1 (4,608 MACs).
    conv1: 2·6,912 + 256 = 14,080; bn (E 256): 256·9 = 2,304; relu: 256; conv2: 2·(2·4,608) + 128 = 18,560.
    Forward FLOPs: conv1 2·6,912 + 256 = 14,080; bn 256·2 = 512; relu 256; conv2 9,216 + 128 = 9,344."""
    spec = {"name": "n", "input": [3, 8, 8], "layers": [
        {"type": "conv", "name": "conv1", "out": 4, "kernel": 3, "padding": 1},
        {"type": "batchnorm", "name": "bn"},
        {"type": "relu", "name": "relu"},
        {"type": "conv", "name": "conv2", "out": 2, "kernel": 3, "padding": 1}]}
    t = training(convcalc.load(spec).expand())
    assert [row.backward_flops for row in t.layers] == [14_080, 2_304, 256, 18_560]
    totals = t.totals()
    assert totals["backward_flops"] == 35_200
    assert totals["forward_flops"] == 24_192
    assert totals["training_flops"] == 59_392
    t2 = training(convcalc.load(spec).expand(batch=2))
    assert t2.totals()["backward_flops"] == 70_400     # linear in the batch
    frozen = training(convcalc.load(spec).expand(), freeze=["conv1", "bn"])
    # nothing trainable above conv2: only its weight gradient, 2·4,608 + 128
    assert [row.backward_flops for row in frozen.layers] == [0, 0, 0, 9_344]
