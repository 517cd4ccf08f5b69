"""What each kind moves through memory, whether it fuses, and which of its FLOPs are a matrix product
(`moved_elements`, `fuses_elementwise`, `gemm_flops`; docs/roofline.md): one table per question, kind by kind,
literals worked by hand."""

from __future__ import annotations

import pytest

from convcalc.cost.analysis import analyze
from convcalc.layers import REGISTRY
from convcalc.spec.loader import load

# (layer YAML, second input?, (weights, inputs, output) elements, fuses)
CASES = [
    ("{type: relu, name: x}", False, (0, 100, 100), True),
    ("{type: batchnorm, name: x}", False, (8, 100, 100), True),  # folded scale and shift: 2·C = 8
    ("{type: add, name: x, inputs: [input, y]}", True, (0, 200, 100), True),
    ("{type: multiply, name: x, inputs: [input, y]}", True, (0, 200, 100), True),
    ("{type: scalar, name: x, op: mul, value: 2}", False, (0, 100, 100), True),
    ("{type: conv, name: x, out: 2, kernel: 1, bias: false}", False, (8, 100, 50), False),  # 2·4 weights, 2·25 out
    ("{type: conv, name: x, out: 2, kernel: 3, bias: true}", False, (74, 100, 18), False),  # 2·4·9 + 2; 2·3·3
    ("{type: maxpool, name: x, kernel: 2, stride: 2}", False, (0, 100, 16), False),  # 4·2·2
    ("{type: concat, name: x, inputs: [input, y]}", True, (0, 200, 200), False),
    ("{type: flatten, name: x}", False, (0, 0, 0), False),  # a view
    ("{type: reshape, name: x, shape: [4, 25]}", False, (0, 0, 0), False),  # a view
    ("{type: dropout, name: x, p: 0.5}", False, (0, 0, 0), True),  # the identity at inference: a view
    ("{type: identity, name: x}", False, (0, 0, 0), True),
    ("{type: channel_slice, name: x, start: 1, stop: 3}", False, (0, 0, 0), False),  # a view
    ("{type: permute, name: x, dims: [1, 2, 0]}", False, (0, 100, 100), False),  # a copy
    ("{type: global_avgpool, name: x}", False, (0, 100, 4), False),
]


@pytest.mark.parametrize("layer, two, moved, fuses", CASES, ids=[c[0].split(",")[0][7:] for c in CASES])
def test_moved_elements_and_fusion(layer, two, moved, fuses):
    before = "  - {type: identity, name: y, inputs: input}\n" if two else ""
    graph = load(f"name: t\ninput: [4, 5, 5]\nlayers:\n{before}  - {layer}\n").expand()
    report = analyze(graph)
    node, row = graph.nodes[-1], report.layers[-1]
    shapes = {graph.input_name: tuple(graph.input_shape), **{r.name: tuple(r.output_shape) for r in report.layers}}
    kind = REGISTRY[node.kind](node)
    assert kind.moved_elements([shapes[n] for n in node.inputs], shapes[node.name], row.params, row.buffers) == moved
    assert kind.fuses_elementwise() is fuses


# (input, layer YAML, (FLOPs, GEMM FLOPs)) — the compute classes (docs/roofline.md, "Compute classes")
GEMM_CASES = [
    # 3×3 conv 64 → 64 at 8², padding 1: MACs 64·64·9·64 = 2,359,296, FLOPs 2× = 4,718,592, all a GEMM
    ("[64, 8, 8]", "{type: conv, name: x, out: 64, kernel: 3, padding: 1, bias: false}", (4_718_592, 4_718_592)),
    # groups 32: 2 input channels per group, MACs 64·2·9·64 = 73,728 → 147,456 FLOPs, still a GEMM per group
    ("[64, 8, 8]", "{type: conv, name: x, out: 64, kernel: 3, padding: 1, groups: 32, bias: false}",
     (147_456, 147_456)),
    # groups 64 = C_in: one input channel per group, MACs 64·1·9·64 = 36,864 → 73,728 FLOPs, none a GEMM
    ("[64, 8, 8]", "{type: conv, name: x, out: 64, kernel: 3, padding: 1, groups: 64, bias: false}", (73_728, 0)),
    ("[64, 8, 8]", "{type: depthwise, name: x, kernel: 3, padding: 1, bias: false}", (73_728, 0)),
    # 1×1 64 → 32 at 8²: MACs 32·64·64 = 131,072 → 262,144 + 32·64 = 2,048 bias adds = 264,192, the bias in the
    # GEMM's epilogue
    ("[64, 8, 8]", "{type: pointwise, name: x, out: 32}", (264_192, 264_192)),
    # 100 → 10: 2·1,000 + 10 bias adds
    ("[100]", "{type: linear, name: x, out: 10}", (2_010, 2_010)),
    # depthwise 73,728 FLOPs (vector) + pointwise 64 → 32: 2·131,072 = 262,144 (GEMM)
    ("[64, 8, 8]", "{type: depthwise_separable, name: x, out: 32, kernel: 3, padding: 1, bias: false}",
     (335_872, 262_144)),
    ("[64, 8, 8]", "{type: relu, name: x}", (4_096, 0)),  # 1 per element, 64·64
    ("[64, 8, 8]", "{type: maxpool, name: x, kernel: 2, stride: 2}", (3_072, 0)),  # 3 compares per 2×2 window, 64·16
]


@pytest.mark.parametrize("shape, layer, flops", GEMM_CASES, ids=[c[1].split(",")[0][7:] for c in GEMM_CASES])
def test_gemm_flops(shape, layer, flops):
    graph = load(f"name: t\ninput: {shape}\nlayers:\n  - {layer}\n").expand()
    node, row = graph.nodes[-1], analyze(graph).layers[-1]
    kind = REGISTRY[node.kind](node)
    assert (row.flops, kind.gemm_flops([tuple(graph.input_shape)])) == flops


def test_a_kind_with_macs_must_say_which_are_a_gemm():
    from convcalc.layers.base import Layer

    graph = load("name: t\ninput: [4, 5, 5]\nlayers:\n  - {type: conv, name: x, out: 2, kernel: 1}\n").expand()
    kind = REGISTRY["conv"](graph.nodes[0])
    with pytest.raises(NotImplementedError, match="declares no GEMM FLOPs"):
        Layer.gemm_flops(kind, [(4, 5, 5)])


def test_every_kind_with_macs_answers_gemm_flops_itself():
    """Never inherited from another registered kind (a kind derived from conv may not be a GEMM): its own, or one
    it re-declares on purpose (`gemm_flops = Conv.gemm_flops`), and at most its FLOPs."""
    from convcalc.layers.base import own

    for name, cls in sorted(REGISTRY.items()):
        if cls.placeholder:
            continue
        graph = load(cls.example.spec(name)).expand()
        report = analyze(graph)
        shapes = {graph.input_name: tuple(graph.input_shape), **{r.name: tuple(r.output_shape) for r in report.layers}}
        node, row = graph.nodes[-1], report.layers[-1]
        if row.macs:
            assert own(cls, "gemm_flops") is not None, f"`{name}` has MACs but no gemm_flops of its own"
        assert 0 <= cls(node).gemm_flops([shapes[n] for n in node.inputs]) * graph.batch <= row.flops, name
