"""What each kind moves through memory and whether it fuses (`moved_elements`, `fuses_elementwise`;
docs/roofline.md): one table, kind by kind, on a (4, 5, 5) input (100 elements), literals worked by hand."""

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
