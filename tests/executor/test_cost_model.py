"""The cost model against the executor on random configurations of the composite kinds (hypothesis) and on the
shipped variant configs: shapes, params, buffers and MACs; and the receptive field of unit 0, the cost model's
rule against the executor's actual dependence (every kind's own example: test_registry.py)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from convcalc.cost.analysis import analyze
from convcalc.errors import SpecError
from convcalc.executor import run

from .helpers import graph_of


def conv_fields(draw, rank):
    return {"kernel": draw(st.integers(1, 3)), "stride": draw(st.integers(1, 2)),
            "padding": draw(st.sampled_from([0, 1, "same", "valid"])), "dilation": draw(st.integers(1, 2)),
            "bias": draw(st.booleans())}


@st.composite
def variant_layers(draw):
    rank = draw(st.integers(1, 3))
    size = draw(st.integers(4, 7 if rank < 3 else 5))
    c = draw(st.sampled_from([2, 4, 6]))
    kind = draw(st.sampled_from(["separable", "depthwise_separable", "flattened", "deformable",
                                 "locally_connected", "tiled", "channel_shuffle", "channel_slice",
                                 "squeeze_excitation", "lppool", "stochastic_pool", "pixel_shuffle",
                                 "pixel_unshuffle"]))
    out = draw(st.integers(1, 5))
    layer = {"type": kind}
    if kind in ("separable", "depthwise_separable", "flattened", "deformable", "locally_connected", "tiled"):
        layer.update(out=out, **conv_fields(draw, rank))
    if kind == "flattened":
        pass
    elif kind == "separable":
        layer["mid"] = draw(st.integers(1, 4))
    elif kind == "depthwise_separable":
        layer.update(multiplier=draw(st.integers(1, 2)), mid=draw(st.sampled_from([[], ["batchnorm", "relu"]])))
    elif kind == "deformable":
        layer.update(modulated=draw(st.booleans()), offset_groups=draw(st.sampled_from([1, 2])))
    elif kind == "locally_connected":
        layer["bias"] = draw(st.sampled_from([True, False, "channel"]))
    elif kind == "tiled":
        layer["tile"] = draw(st.integers(1, 3))
    elif kind == "channel_shuffle":
        layer["groups"] = draw(st.sampled_from([1, 2]))
    elif kind == "channel_slice":
        layer.update(start=1, stop=c)
    elif kind == "squeeze_excitation":
        layer.update(reduction=2, activation=draw(st.sampled_from(["relu", "silu", "hardswish"])))
    elif kind in ("lppool", "stochastic_pool"):
        layer.update(kernel=draw(st.integers(1, 3)), stride=draw(st.integers(1, 2)),
                     ceil_mode=draw(st.booleans()))
        layer.update({"p": draw(st.sampled_from([1, 2, 3]))} if kind == "lppool" else
                     {"mode": draw(st.sampled_from(["train", "test"]))})
    else:  # pixel shuffles
        layer["factor"] = 2
        if kind == "pixel_shuffle":
            c = 2 ** rank * c
        else:
            size = 2 * (size // 2)
    return (c, *([size] * rank)), layer


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(variant_layers())
def test_cost_model_equals_executor(case):
    input_shape, layer = case
    layers = [{"type": "relu"}, layer] if layer["type"] == "stochastic_pool" else [layer]
    try:
        graph = graph_of(input_shape, *layers, batch=2)
        report = analyze(graph)
    except SpecError:
        assume(False)
    ex = run(graph, seed=1, dtype="float64")
    for ours, theirs in zip(report.layers, ex.layers):
        assert tuple(ours.output_shape) == theirs.output_shape, layer
        assert (ours.params, ours.buffers, ours.macs) == (theirs.params, theirs.buffers, theirs.macs), layer


def test_variant_configs_run_with_the_cost_model_counts():
    from convcalc.cost.analysis import expand
    from convcalc.spec.loader import shipped_configs

    for name in sorted(n for n in shipped_configs() if n.startswith("variants/")):
        graph = expand(name)
        report, ex = analyze(graph), run(graph, seed=0)
        for ours, theirs in zip(report.layers, ex.layers):
            assert (tuple(ours.output_shape), ours.params, ours.buffers, ours.macs) == \
                (theirs.output_shape, theirs.params, theirs.buffers, theirs.macs), (name, ours.name)


RF_CASES = [
    ((2, 9, 9), {"type": "separable", "out": 2, "kernel": 3, "stride": 2, "padding": "same", "mid": 3}),
    ((2, 9, 9), {"type": "depthwise_separable", "out": 3, "kernel": [3, 5], "padding": [1, 2],
                 "mid": ["batchnorm", "relu"]}),
    ((2, 9, 9), {"type": "flattened", "out": 2, "kernel": 3, "stride": [2, 1], "padding": [1, 0]}),
    ((2, 9, 9), {"type": "locally_connected", "out": 2, "kernel": 3, "stride": 2}),
    ((2, 9, 9), {"type": "tiled", "out": 2, "kernel": 3, "padding": 1, "tile": 2}),
    ((2, 9, 9), {"type": "lppool", "p": 2, "kernel": 3, "stride": 2}),
    ((2, 9, 9), {"type": "stochastic_pool", "kernel": 2}),
    ((2, 8, 8), {"type": "pixel_unshuffle", "factor": 2}),
    ((8, 4, 4), {"type": "pixel_shuffle", "factor": 2}),
    ((2, 12), {"type": "separable", "out": 2, "kernel": 5, "padding": "same"}),
    ((2, 5, 5, 5), {"type": "flattened", "out": 2, "kernel": 3, "padding": 1}),
]


@pytest.mark.parametrize("shape, layer", RF_CASES)
def test_receptive_field_of_unit_zero_matches_the_executor(shape, layer):
    graph = graph_of(shape, layer, batch=1)
    rf = analyze(graph).layers[0].rf
    sizes = shape[1:]
    base = np.ones((1, *shape))
    reference = run(graph, dtype="float64", weights="ones", x=base).output
    unit = (slice(None), slice(None)) + (0,) * len(sizes)
    seen = []
    for position in np.ndindex(*sizes):
        x = base.copy()
        x[(slice(None), slice(None)) + position] += 1.0
        if not np.allclose(run(graph, dtype="float64", weights="ones", x=x).output[unit], reference[unit]):
            seen.append(position)
    low = [min(p[a] for p in seen) for a in range(len(sizes))]
    high = [max(p[a] for p in seen) for a in range(len(sizes))]
    expected_low = [max(int(s), 0) for s in rf.start]
    expected_high = [min(int(s) + r - 1, n - 1) for s, r, n in zip(rf.start, rf.size, sizes)]
    assert (low, high) == (expected_low, expected_high), (rf, seen)
