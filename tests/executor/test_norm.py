"""The normalisation kernels and VJPs (convcalc/executor/norm.py, backward/norm.py): against loops written from
the definitions, in the ones mode, with the statistics held for the receptive-field probe, and the arrays in
torch's state_dict order (what the importers load real weights into)."""

from __future__ import annotations

import numpy as np
import pytest

import convcalc
from convcalc.executor import run
from convcalc.executor.backward import backward

from .helpers import graph_of, run_layer, torch_or_skip


def _standardised(values, eps):
    """(v − mean)/√(mean((v − mean)²) + eps) of a 1-D list, one element at a time."""
    n = len(values)
    mean = sum(values) / n
    var = sum((v - mean) ** 2 for v in values) / n
    return [(v - mean) / (var + eps) ** 0.5 for v in values]


def test_layernorm_over_channels_is_per_position():
    ex, record, (gamma, beta) = run_layer((3, 2, 4), {"type": "layernorm", "eps": 0.01})
    x, y = ex.input, ex.output
    assert (record.params, record.buffers) == (6, 0)
    for b in range(2):
        for i in range(2):
            for j in range(4):
                expected = _standardised(list(x[b, :, i, j]), 0.01)
                np.testing.assert_allclose(y[b, :, i, j], np.array(expected) * gamma + beta, rtol=1e-12)


def test_layernorm_over_the_last_axis_without_bias():
    ex, record, (gamma,) = run_layer((3, 5), {"type": "layernorm", "axis": "last", "bias": False})
    assert (record.params, record.buffers) == (5, 0)  # γ over the last axis only
    for b in range(2):
        for c in range(3):
            np.testing.assert_allclose(ex.output[b, c], np.array(_standardised(list(ex.input[b, c]), 1e-5)) * gamma,
                                       rtol=1e-12)


def test_groupnorm_sets_are_the_groups_channels_and_positions():
    ex, record, (gamma, beta) = run_layer((4, 3), {"type": "groupnorm", "groups": 2})
    assert (record.params, record.buffers) == (8, 0)
    for b in range(2):
        for group in range(2):
            channels = [2 * group, 2 * group + 1]
            flat = _standardised([ex.input[b, c, i] for c in channels for i in range(3)], 1e-5)
            for k, c in enumerate(channels):
                np.testing.assert_allclose(ex.output[b, c], np.array(flat[3 * k: 3 * k + 3]) * gamma[c] + beta[c],
                                           rtol=1e-12)


def test_instancenorm_own_and_running_statistics():
    ex, record, _ = run_layer((2, 6), {"type": "instancenorm"})
    assert (record.params, record.buffers) == (0, 0)
    for b in range(2):
        for c in range(2):
            np.testing.assert_allclose(ex.output[b, c], _standardised(list(ex.input[b, c]), 1e-5), rtol=1e-12)
    ex, record, (gamma, beta) = run_layer((2, 6), {"type": "instancenorm", "affine": True,
                                                   "track_running_stats": True})
    mean, var = ex.buffers[ex.layers[0].name]
    assert (record.params, record.buffers) == (4, 4)
    expected = (ex.input - mean[:, None]) / np.sqrt(var[:, None] + 1e-5) * gamma[:, None] + beta[:, None]
    np.testing.assert_allclose(ex.output, expected, rtol=1e-12)


def test_tracked_instancenorm_is_the_identity_in_ones_mode():
    # as batch norm: mean 0, variance 1 − eps, γ = 1, β = 0
    ex, _, _ = run_layer((3, 4, 4), {"type": "instancenorm", "affine": True, "track_running_stats": True},
                         weights="ones")
    np.testing.assert_allclose(ex.output, ex.input, rtol=1e-15)


def test_held_statistics_give_the_direct_path_only():
    graph = graph_of((4, 3, 3), {"type": "groupnorm", "groups": 2, "eps": 0.5}, batch=1)
    ex = run(graph, dtype="float64", keep=True)
    gy = np.random.default_rng(3).standard_normal(ex.output.shape)
    held = backward(graph, ex, {graph.nodes[0].name: gy}, gates=False)[graph.input_name]
    gamma = ex.weights[graph.nodes[0].name][0]
    x = ex.input.reshape(1, 2, 18)
    inv = 1 / np.sqrt(x.var(axis=2) + 0.5)                    # 1/σ per group
    expected = gy * gamma[None, :, None, None] * np.repeat(inv, 2, axis=1)[:, :, None, None]
    np.testing.assert_allclose(held, expected, rtol=1e-12)
    full = backward(graph, ex, {graph.nodes[0].name: gy})[graph.input_name]
    assert not np.allclose(full, held)                            # the statistics do carry gradient


@pytest.mark.parametrize("norm", [{"type": "layernorm"}, {"type": "groupnorm", "groups": 2},
                                  {"type": "instancenorm"}, {"type": "layernorm", "axis": "last"}])
def test_verify_rf_probe_agrees_through_a_norm(norm):
    # all-ones weights make every channel equal: the mean subtraction alone would cancel the probe's gradient
    from convcalc.verify import probe_rf

    graph = convcalc.load({"input": [2, 12, 12], "layers": [
        {"type": "conv", "out": 4, "kernel": 3, "padding": 1}, norm,
        {"type": "conv", "out": 4, "kernel": 3, "padding": 1, "name": "out"}]}).expand()
    axes = probe_rf(graph, convcalc.analyze(graph), "out")
    assert [(axis.status, axis.span) for axis in axes] == [("ok", 5), ("ok", 5)]


# ---- the arrays in torch's state_dict order ----------------------------------------------------------------------
def _modules(nn):
    return [
        ((6, 4, 5), {"type": "layernorm", "axis": "last"}, nn.LayerNorm(5)),
        ((6, 4, 5), {"type": "layernorm", "axis": "last", "bias": False}, nn.LayerNorm(5, bias=False)),
        ((6, 4, 5), {"type": "groupnorm", "groups": 3}, nn.GroupNorm(3, 6)),
        ((6, 4, 5), {"type": "instancenorm", "affine": True, "track_running_stats": True},
         nn.InstanceNorm2d(6, affine=True, track_running_stats=True)),
        ((6, 4), {"type": "instancenorm", "track_running_stats": True}, nn.InstanceNorm1d(6, track_running_stats=True)),
        ((6, 4, 5), {"type": "batchnorm"}, nn.BatchNorm2d(6)),
    ]


def test_weights_then_buffers_follow_the_state_dict():
    torch = torch_or_skip()
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        for shape, layer, module in _modules(torch.nn):
            ex, record, weights = run_layer(shape, layer)
            keys = [key for key in module.state_dict() if key != "num_batches_tracked"]
            arrays = weights + ex.buffers[ex.layers[0].name]
            assert [tuple(module.state_dict()[key].shape) for key in keys] == [a.shape for a in arrays], layer
            module.load_state_dict({key: torch.from_numpy(a) for key, a in zip(keys, arrays)}, strict=False)
            with torch.no_grad():
                expected = module.eval()(torch.from_numpy(ex.input)).numpy()
            np.testing.assert_allclose(ex.output, expected, rtol=1e-10, atol=1e-12)
            params = sum(p.numel() for p in module.parameters())
            buffers = sum(b.numel() for name, b in module.named_buffers() if not name.endswith("num_batches_tracked"))
            assert (record.params, record.buffers) == (params, buffers), layer
    finally:
        torch.set_default_dtype(previous)
