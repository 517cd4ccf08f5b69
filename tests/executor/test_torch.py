"""The executor's outputs against torch.nn.functional on random inputs, with the executor's own weights.

Skipped when torch is not installed (it is an optional extra: ``pip install torch==2.13.0``). Runs in float32,
the executor's default; the tolerance is 1e-4 relative to the largest magnitude of torch's output.
"""

from __future__ import annotations

import sys
from math import prod
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
F = torch.nn.functional

from convcalc.cost.analysis import expand  # noqa: E402
from convcalc.executor import run  # noqa: E402

from .helpers import run_layer  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from torch_build import build  # noqa: E402

RTOL = 1e-4


def assert_close(ours, theirs, rtol=RTOL):
    theirs = theirs.detach().numpy() if hasattr(theirs, "detach") else theirs
    assert ours.shape == theirs.shape
    scale = max(float(np.abs(theirs).max()), 1e-30)
    assert float(np.abs(ours - theirs).max()) / scale <= rtol


def t(array):
    return torch.from_numpy(np.ascontiguousarray(array))


def _pad_last_first(pairs):
    flat = []
    for before, after in reversed(pairs):
        flat += [before, after]
    return flat


# ---- convolution ---------------------------------------------------------------------------------------------
CONV = [
    # input, layer, torch kwargs (padding given to torch; pad_pairs applied with F.pad first when asymmetric)
    ((4, 20), {"type": "conv", "out": 6, "kernel": 3, "stride": 2, "padding": 2, "dilation": 2, "groups": 2},
     {"stride": 2, "padding": 2, "dilation": 2, "groups": 2}, None),
    ((6, 17, 15), {"type": "conv", "out": 9, "kernel": [3, 5], "stride": [1, 2], "padding": [1, 2],
                   "dilation": [2, 1], "groups": 3}, {"stride": (1, 2), "padding": (1, 2), "dilation": (2, 1),
                                                      "groups": 3}, None),
    ((4, 9, 10), {"type": "conv", "out": 4, "kernel": 3, "stride": 2, "padding": "same", "bias": False},
     {"stride": 2}, [(1, 1), (0, 1)]),
    ((8, 12, 12), {"type": "depthwise", "kernel": 3, "multiplier": 2, "padding": 2, "dilation": 2},
     {"padding": 2, "dilation": 2, "groups": 8}, None),
    ((8, 6, 7, 8), {"type": "conv", "out": 4, "kernel": [3, 3, 2], "stride": [2, 1, 2], "padding": [1, 1, 0],
                    "dilation": [1, 2, 1], "groups": 4}, {"stride": (2, 1, 2), "padding": (1, 1, 0),
                                                          "dilation": (1, 2, 1), "groups": 4}, None),
    ((6, 8, 8), {"type": "pointwise", "out": 4, "groups": 2, "stride": 2}, {"stride": 2, "groups": 2}, None),
]


@pytest.mark.parametrize("shape, layer, kwargs, pad_pairs", CONV)
def test_conv_equals_torch(shape, layer, kwargs, pad_pairs):
    ex, _, weights = run_layer(shape, layer, dtype="float32")
    fn = [F.conv1d, F.conv2d, F.conv3d][len(shape) - 2]
    x = t(ex.input)
    if pad_pairs:
        x = F.pad(x, _pad_last_first(pad_pairs))
    expected = fn(x, t(weights[0]), t(weights[1]) if len(weights) > 1 else None, **kwargs)
    assert_close(ex.output, expected)


TRANSPOSE = [
    ((4, 9), {"type": "conv_transpose", "out": 6, "kernel": 4, "stride": 3, "padding": 1, "output_padding": 2,
              "groups": 2}, {"stride": 3, "padding": 1, "output_padding": 2, "groups": 2}),
    ((64, 16, 16), {"type": "conv_transpose", "out": 32, "kernel": 4, "stride": 2, "padding": 1},
     {"stride": 2, "padding": 1}),
    ((6, 5, 7), {"type": "conv_transpose", "out": 9, "kernel": [3, 2], "stride": [2, 3], "padding": [1, 0],
                 "output_padding": [1, 2], "dilation": [2, 1], "groups": 3},
     {"stride": (2, 3), "padding": (1, 0), "output_padding": (1, 2), "dilation": (2, 1), "groups": 3}),
    ((4, 3, 4, 5), {"type": "conv_transpose", "out": 4, "kernel": [2, 3, 3], "stride": [2, 1, 2],
                    "padding": [0, 1, 1], "output_padding": [1, 0, 1], "groups": 2, "bias": False},
     {"stride": (2, 1, 2), "padding": (0, 1, 1), "output_padding": (1, 0, 1), "groups": 2}),
]


@pytest.mark.parametrize("shape, layer, kwargs", TRANSPOSE)
def test_conv_transpose_equals_torch(shape, layer, kwargs):
    ex, _, weights = run_layer(shape, layer, dtype="float32")
    fn = [F.conv_transpose1d, F.conv_transpose2d, F.conv_transpose3d][len(shape) - 2]
    expected = fn(t(ex.input), t(weights[0]), t(weights[1]) if len(weights) > 1 else None, **kwargs)
    assert_close(ex.output, expected)


def test_conv_transpose_asymmetric_crop_equals_torch_cropped():
    # padding [[2, 1]]: torch has no asymmetric padding, so run it uncropped and crop 2 before, 1 after
    ex, _, weights = run_layer((3, 6), {"type": "conv_transpose", "out": 2, "kernel": 3, "stride": 2,
                                        "padding": [[2, 1]]}, dtype="float32")
    full = F.conv_transpose1d(t(ex.input), t(weights[0]), t(weights[1]), stride=2)  # length (6−1)·2 + 3 = 13
    assert_close(ex.output, full[..., 2:12])


# ---- pooling -------------------------------------------------------------------------------------------------
POOL = [
    ((3, 11), {"type": "maxpool", "kernel": 3, "stride": 2, "padding": 1, "ceil_mode": True}),
    ((3, 13, 12), {"type": "maxpool", "kernel": [3, 2], "stride": [2, 3], "padding": [1, 1], "dilation": [2, 1],
                   "ceil_mode": True}),
    ((3, 7, 8, 9), {"type": "maxpool", "kernel": 3, "stride": 2, "padding": 1}),
    ((3, 11), {"type": "avgpool", "kernel": 4, "stride": 3, "padding": 2, "ceil_mode": True}),
    ((3, 11, 10), {"type": "avgpool", "kernel": 3, "stride": 2, "padding": 1, "ceil_mode": True,
                   "count_include_pad": False}),
    ((3, 11, 10), {"type": "avgpool", "kernel": [3, 2], "stride": 2, "padding": 1}),
    ((3, 7, 8, 9), {"type": "avgpool", "kernel": [3, 2, 3], "stride": 2, "padding": 1, "ceil_mode": True,
                    "count_include_pad": False}),
]


@pytest.mark.parametrize("shape, layer", POOL)
def test_pool_equals_torch(shape, layer):
    ex, _, _ = run_layer(shape, layer, dtype="float32")
    rank = len(shape) - 1
    x = t(ex.input)
    common = {"kernel_size": layer["kernel"], "stride": layer.get("stride"), "padding": layer.get("padding", 0),
              "ceil_mode": layer.get("ceil_mode", False)}
    common = {k: tuple(v) if isinstance(v, list) else v for k, v in common.items()}
    if layer["type"] == "maxpool":
        fn = [F.max_pool1d, F.max_pool2d, F.max_pool3d][rank - 1]
        dilation = layer.get("dilation", 1)
        expected = fn(x, dilation=tuple(dilation) if isinstance(dilation, list) else dilation, **common)
    else:
        fn = [F.avg_pool1d, F.avg_pool2d, F.avg_pool3d][rank - 1]
        expected = fn(x, count_include_pad=layer.get("count_include_pad", True), **common)
    assert_close(ex.output, expected)


@pytest.mark.parametrize("shape, out", [((3, 10), [4]), ((3, 7, 5), [3, 2]), ((3, 13, 11), [5, 7]),
                                        ((2, 5, 6, 7), [2, 4, 3])])
@pytest.mark.parametrize("op", ["max", "avg"])
def test_adaptive_pool_equals_torch(shape, out, op):
    ex, _, _ = run_layer(shape, {"type": f"adaptive_{op}pool", "output_size": out}, dtype="float32")
    rank = len(shape) - 1
    fn = {"max": [F.adaptive_max_pool1d, F.adaptive_max_pool2d, F.adaptive_max_pool3d],
          "avg": [F.adaptive_avg_pool1d, F.adaptive_avg_pool2d, F.adaptive_avg_pool3d]}[op][rank - 1]
    assert_close(ex.output, fn(t(ex.input), tuple(out)))


@pytest.mark.parametrize("op", ["avg", "max"])
def test_global_pool_equals_torch(op):
    ex, _, _ = run_layer((5, 7, 6), {"type": f"global_{op}pool", "keepdims": False}, dtype="float32")
    fn = F.adaptive_avg_pool2d if op == "avg" else F.adaptive_max_pool2d
    assert_close(ex.output, fn(t(ex.input), 1).flatten(1))


# ---- interpolation -------------------------------------------------------------------------------------------
INTERPOLATE = [
    ((3, 5, 7), {"mode": "nearest", "scale": 2}, {"scale_factor": 2, "mode": "nearest"}),
    ((3, 5, 7), {"mode": "nearest", "scale": [3, 1.5]}, {"scale_factor": (3.0, 1.5), "mode": "nearest"}),
    ((3, 5, 7), {"mode": "nearest", "size": [12, 4]}, {"size": (12, 4), "mode": "nearest"}),
    ((3, 9), {"mode": "nearest", "size": [4]}, {"size": (4,), "mode": "nearest"}),
    ((2, 4, 5, 3), {"mode": "nearest", "scale": 2}, {"scale_factor": 2, "mode": "nearest"}),
    ((3, 5, 7), {"mode": "bilinear", "scale": 2}, {"scale_factor": 2, "mode": "bilinear", "align_corners": False}),
    ((3, 5, 7), {"mode": "bilinear", "scale": 2, "align_corners": True},
     {"scale_factor": 2, "mode": "bilinear", "align_corners": True}),
    ((3, 5, 7), {"mode": "bilinear", "size": [11, 4]}, {"size": (11, 4), "mode": "bilinear", "align_corners": False}),
    ((3, 5, 7), {"mode": "bilinear", "size": [11, 4], "align_corners": True},
     {"size": (11, 4), "mode": "bilinear", "align_corners": True}),
    ((3, 6, 6), {"mode": "bilinear", "scale": 2.5}, {"scale_factor": 2.5, "mode": "bilinear", "align_corners": False}),
    ((3, 9), {"mode": "linear", "scale": 3}, {"scale_factor": 3, "mode": "linear", "align_corners": False}),
    ((2, 3, 4, 5), {"mode": "trilinear", "size": [5, 7, 9], "align_corners": True},
     {"size": (5, 7, 9), "mode": "trilinear", "align_corners": True}),
]


@pytest.mark.parametrize("shape, fields, kwargs", INTERPOLATE)
def test_upsample_equals_interpolate(shape, fields, kwargs):
    ex, _, _ = run_layer(shape, {"type": "upsample", **fields}, dtype="float32")
    assert_close(ex.output, F.interpolate(t(ex.input), **kwargs))


# ---- normalisation and activations ---------------------------------------------------------------------------
@pytest.mark.parametrize("shape", [(6,), (6, 9), (6, 5, 4), (6, 3, 4, 5)])
def test_batchnorm_equals_torch_inference(shape):
    ex, record, weights = run_layer(shape, {"type": "batchnorm"}, dtype="float32", batch=3)
    mean, var = ex.buffers[ex.layers[0].name]
    expected = F.batch_norm(t(ex.input), t(mean), t(var), t(weights[0]), t(weights[1]), training=False, eps=1e-5)
    assert_close(ex.output, expected)


def test_batchnorm_without_running_stats_uses_the_batch_statistics():
    ex, record, weights = run_layer((4, 5, 6), {"type": "batchnorm", "track_running_stats": False,
                                                "affine": False, "eps": 0.001}, dtype="float32", batch=3)
    assert (record.params, record.buffers) == (0, 0)
    assert_close(ex.output, F.batch_norm(t(ex.input), None, None, training=True, eps=0.001))


NORMS = [
    # input, layer: torch.nn.functional with the executor's γ, β and running statistics
    ((6,), {"type": "layernorm"}),
    ((6, 9), {"type": "layernorm", "axis": "last"}),
    ((6, 5, 4), {"type": "layernorm", "eps": 1e-6}),                               # LayerNorm2d
    ((6, 5, 4), {"type": "layernorm", "axis": "last", "bias": False}),
    ((6, 3, 4, 5), {"type": "layernorm", "affine": False, "bias": False, "eps": 1e-3}),
    ((6, 5, 4), {"type": "groupnorm", "groups": 3}),
    ((6,), {"type": "groupnorm", "groups": 2}),
    ((6, 3, 4, 5), {"type": "groupnorm", "groups": 1, "affine": False}),
    ((6, 9), {"type": "instancenorm"}),
    ((6, 5, 4), {"type": "instancenorm", "affine": True, "eps": 1e-3}),
    ((6, 3, 4, 5), {"type": "instancenorm", "affine": True, "track_running_stats": True}),
]


def _functional(layer, x, weights, buffers):
    """The torch.nn.functional form of a normalisation layer (eval mode)."""
    eps = layer.get("eps", 1e-5)
    w, b = (t(weights[0]) if weights else None), (t(weights[1]) if len(weights) > 1 else None)
    if layer["type"] == "layernorm":
        if layer.get("axis", "channels") == "last" or x.dim() == 2:
            return F.layer_norm(x, (x.shape[-1],), w, b, eps)
        return F.layer_norm(x.movedim(1, -1), (x.shape[1],), w, b, eps).movedim(-1, 1)
    if layer["type"] == "groupnorm":
        return F.group_norm(x, layer["groups"], w, b, eps)
    mean, var = (t(buffers[0]), t(buffers[1])) if buffers else (None, None)
    return F.instance_norm(x, mean, var, w, b, use_input_stats=not buffers, eps=eps)


@pytest.mark.parametrize("shape, layer", NORMS)
def test_norm_equals_torch(shape, layer):
    ex, _, weights = run_layer(shape, layer, dtype="float32", batch=3)
    buffers = ex.buffers[ex.layers[0].name]
    assert_close(ex.output, _functional(layer, t(ex.input), weights, buffers))


ACTIVATIONS = [
    ("relu", F.relu), ("relu6", F.relu6), ("sigmoid", torch.sigmoid), ("tanh", torch.tanh), ("gelu", F.gelu),
    ("silu", F.silu), ("swish", F.silu), ("hardswish", F.hardswish), ("hardsigmoid", F.hardsigmoid),
    ("identity", lambda x: x), ("dropout", lambda x: x), ("elu", F.elu), ("selu", F.selu), ("mish", F.mish),
    ("softplus", F.softplus), ("hardtanh", F.hardtanh), ("softmax", lambda x: F.softmax(x, dim=1)),
]


@pytest.mark.parametrize("kind, fn", ACTIVATIONS)
def test_activation_equals_torch(kind, fn):
    x = 4 * np.random.default_rng(1).standard_normal((3, 4, 50), dtype=np.float32)  # spread over ±12
    assert_close(run(_graph(kind), x=x).output, fn(t(x)))


def test_leaky_relu_slope_equals_torch():
    graph = expand({"name": "t", "input": [3, 8], "batch": 2,
                    "layers": [{"type": "leaky_relu", "negative_slope": 0.2}]})
    ex = run(graph)
    assert_close(ex.output, F.leaky_relu(t(ex.input), 0.2))


def _graph(kind):
    return expand({"name": "t", "input": [4, 50], "batch": 3, "layers": [{"type": kind}]})


#: the fields of the activations and the scaling kinds against torch's functions (weights: the executor's)
WITH_FIELDS = [
    ({"type": "gelu", "approximate": "tanh"}, lambda x, w: F.gelu(x, approximate="tanh")),
    ({"type": "hardsigmoid", "alpha": 0.2, "beta": 0.5}, lambda x, w: torch.clamp(0.2 * x + 0.5, 0, 1)),
    ({"type": "elu", "alpha": 0.3}, lambda x, w: F.elu(x, 0.3)),
    ({"type": "softplus", "beta": 0.5, "threshold": 2}, lambda x, w: F.softplus(x, 0.5, 2)),
    ({"type": "hardtanh", "min_val": -3, "max_val": 0.5}, lambda x, w: F.hardtanh(x, -3.0, 0.5)),
    ({"type": "prelu"}, lambda x, w: F.prelu(x, t(w[0]))),
    ({"type": "prelu", "num_parameters": 4}, lambda x, w: F.prelu(x, t(w[0]))),
    ({"type": "softmax", "axis": "last"}, lambda x, w: F.softmax(x, dim=-1)),
    ({"type": "scalar", "op": "add", "value": 3}, lambda x, w: x + 3),
    ({"type": "scalar", "op": "sub", "value": 0.5}, lambda x, w: x - 0.5),
    ({"type": "scalar", "op": "mul", "value": -2}, lambda x, w: x * -2),
    ({"type": "scalar", "op": "div", "value": 6}, lambda x, w: x / 6),
    ({"type": "scalar", "op": "rsub", "value": 1}, lambda x, w: 1 - x),
    ({"type": "scalar", "op": "rdiv", "value": 2}, lambda x, w: 2 / x),
    ({"type": "scalar", "op": "pow", "value": 3}, lambda x, w: torch.pow(x, 3)),
    ({"type": "layer_scale"}, lambda x, w: x * t(w[0]).reshape(-1, 1)),
    ({"type": "layer_scale", "axis": "last"}, lambda x, w: x * t(w[0])),
    ({"type": "bias_add"}, lambda x, w: x + t(w[0]).reshape(-1, 1)),
    ({"type": "bias_add", "axis": "last"}, lambda x, w: x + t(w[0])),
]


@pytest.mark.parametrize("layer, fn", WITH_FIELDS, ids=[f"{l['type']}-{i}" for i, (l, _) in enumerate(WITH_FIELDS)])
def test_activation_and_scaling_fields_equal_torch(layer, fn):
    x = 4 * np.random.default_rng(1).standard_normal((3, 4, 50), dtype=np.float32)  # spread over ±12
    ex, _, weights = run_layer((4, 50), layer, dtype="float32", batch=3, x=x)
    assert_close(ex.output, fn(t(x), weights))


def test_a_non_integer_power_is_nan_where_torch_is():
    x = np.array([[[-4.0, -0.5, 0.0, 0.25, 9.0]]], dtype=np.float32)
    ex, _, _ = run_layer((1, 5), {"type": "scalar", "op": "pow", "value": 0.5}, dtype="float32", batch=1, x=x)
    expected = torch.pow(t(x), 0.5).numpy()
    np.testing.assert_array_equal(np.isnan(ex.output), np.isnan(expected))
    np.testing.assert_allclose(ex.output[~np.isnan(expected)], expected[~np.isnan(expected)], rtol=1e-6)


def test_linear_equals_torch():
    ex, _, weights = run_layer((20,), {"type": "linear", "out": 7}, dtype="float32", batch=5)
    assert_close(ex.output, F.linear(t(ex.input), t(weights[0]), t(weights[1])))


# ---- padding, rearrangements, the last axis, merges ---------------------------------------------------------------
PADS = [
    ((3, 7), {"padding": [[2, 3]], "mode": "reflect"}),
    ((3, 5, 6), {"padding": [[1, 2], [3, 0]], "mode": "reflect"}),
    ((3, 5, 6), {"padding": [[4, 1], 2], "mode": "replicate"}),
    ((3, 5, 6), {"padding": [[5, 2], [6, 1]], "mode": "circular"}),
    ((2, 3, 4, 5), {"padding": [1, [0, 2], 3], "mode": "circular"}),
    ((3, 5, 6), {"padding": [[-1, 2], [3, -2]], "value": 0.25}),
    ((2, 3, 4, 5), {"padding": [[2, 0], 1, [0, 3]], "mode": "replicate"}),
]


@pytest.mark.parametrize("shape, fields", PADS)
def test_pad_equals_f_pad(shape, fields):
    ex, _, _ = run_layer(shape, {"type": "pad", **fields}, dtype="float32")
    rank = len(shape) - 1
    value = fields["padding"]
    pairs = [v if isinstance(v, list) else [v, v] for v in value]
    mode = fields.get("mode", "constant")
    kwargs = {"value": fields.get("value", 0.0)} if mode == "constant" else {}
    assert len(pairs) == rank
    assert_close(ex.output, F.pad(t(ex.input), _pad_last_first(pairs), mode=mode, **kwargs))


@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular"])
@pytest.mark.parametrize("shape, layer, kwargs", [
    ((4, 9, 8), {"type": "conv", "out": 6, "kernel": 3, "stride": 2, "padding": [1, 2], "groups": 2},
     {"stride": 2, "groups": 2, "padding": (1, 2)}),
    ((4, 11), {"type": "conv", "out": 3, "kernel": 5, "padding": 2, "dilation": 2}, {"padding": 2, "dilation": 2}),
    ((6, 5, 6, 7), {"type": "depthwise", "kernel": 3, "padding": 1}, {"padding": 1, "groups": 6}),
])
def test_conv_padding_mode_equals_torch(mode, shape, layer, kwargs):
    ex, _, weights = run_layer(shape, {**layer, "padding_mode": mode}, dtype="float32")
    module = [torch.nn.Conv1d, torch.nn.Conv2d, torch.nn.Conv3d][len(shape) - 2](
        shape[0], weights[0].shape[0], tuple(weights[0].shape[2:]), padding_mode=mode, **kwargs)
    with torch.no_grad():
        module.weight.copy_(t(weights[0]))
        module.bias.copy_(t(weights[1]))
        assert_close(ex.output, module(t(ex.input)))


@pytest.mark.parametrize("shape, layer, fn", [
    ((4, 5, 6), {"type": "permute", "dims": [1, 2, 0]}, lambda x: x.permute(0, 2, 3, 1)),
    ((4, 5, 6), {"type": "permute", "dims": [2, 0, 1]}, lambda x: x.permute(0, 3, 1, 2)),
    ((4, 5, 6), {"type": "reshape", "shape": [2, -1, 3]}, lambda x: x.reshape(x.shape[0], 2, -1, 3)),
    ((4, 5, 6), {"type": "flatten", "start": 1}, lambda x: torch.flatten(x, 2)),
    ((4, 5, 6), {"type": "flatten", "start": 0, "end": 1}, lambda x: torch.flatten(x, 1, 2)),
    ((2, 3, 4, 5), {"type": "flatten", "start": 1, "end": -2}, lambda x: torch.flatten(x, 2, -2)),
    ((8, 3, 4), {"type": "pixel_shuffle", "factor": 2}, lambda x: F.pixel_shuffle(x, 2)),
    ((2, 6, 4), {"type": "pixel_unshuffle", "factor": 2}, lambda x: F.pixel_unshuffle(x, 2)),
])
def test_rearrangements_equal_torch(shape, layer, fn):
    ex, _, _ = run_layer(shape, layer, dtype="float32")
    assert_close(ex.output, fn(t(ex.input)))


def test_linear_over_the_last_axis_equals_torch():
    ex, record, weights = run_layer((5, 6, 8), {"type": "linear", "axis": "last", "out": 7}, dtype="float32", batch=3)
    assert_close(ex.output, F.linear(t(ex.input), t(weights[0]), t(weights[1])))
    assert record.macs == 3 * 30 * 8 * 7   # batch 3 · 5·6 positions · 8 · 7


@pytest.mark.parametrize("kind, fn", [("add", torch.add), ("subtract", torch.sub), ("divide", torch.div)])
def test_broadcasting_merges_equal_torch(kind, fn):
    graph = expand({"name": "t", "input": [3, 4, 5], "batch": 2, "layers": [
        {"type": "global_avgpool", "name": "g"}, {"type": "sigmoid", "name": "s"},
        {"type": kind, "inputs": ["input", "s"]}]})
    ex = run(graph, keep=True)
    assert_close(ex.output, fn(t(ex.values["input"]), t(ex.values["s"])))


# ---- property: random normalisation layers, cost model == executor == torch.nn ------------------------------------
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from convcalc.cost.analysis import analyze  # noqa: E402


@st.composite
def norm_layers(draw):
    kind = draw(st.sampled_from(["layernorm", "groupnorm", "instancenorm", "batchnorm"]))
    rank = draw(st.integers(1 if kind == "instancenorm" else 0, 3))
    groups = draw(st.integers(1, 3))
    channels = groups * draw(st.integers(1, 3)) if kind == "groupnorm" else draw(st.integers(1, 5))
    shape = (channels, *(draw(st.integers(1, 5)) for _ in range(rank)))
    layer = {"type": kind, "eps": draw(st.sampled_from([1e-5, 1e-3, 0.1]))}
    if kind == "layernorm":
        layer.update(axis=draw(st.sampled_from(["channels", "last"])), bias=draw(st.booleans()))
    if kind == "groupnorm":
        layer["groups"] = groups
    if kind in ("instancenorm", "batchnorm"):
        layer["track_running_stats"] = draw(st.booleans())
    layer["affine"] = draw(st.booleans())
    return shape, layer


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(norm_layers())
def test_random_norms_cost_model_executor_and_torch_agree(case):
    shape, layer = case
    graph = expand({"name": "t", "input": list(shape), "batch": 2, "layers": [layer]})
    row = analyze(graph).layers[0]
    ex = run(graph, dtype="float64")
    executed = ex.layers[0]
    model = build(graph, ex)
    params = sum(p.numel() for p in model.parameters())
    buffers = sum(b.numel() for name, b in model.named_buffers() if not name.endswith("num_batches_tracked"))
    assert (row.params, row.buffers) == (executed.params, executed.buffers) == (params, buffers)
    assert tuple(row.output_shape) == executed.output_shape == shape
    if layer["type"] == "instancenorm" and not layer["track_running_stats"] and prod(shape[1:]) == 1:
        # torch refuses one value per instance ("Expected more than 1 spatial element"); it normalises to 0
        beta = ex.weights[graph.nodes[0].name][1] if layer["affine"] else np.zeros(shape[0])
        np.testing.assert_array_equal(ex.output, np.broadcast_to(beta.reshape(-1, *shape[1:]), ex.output.shape))
        return
    with torch.no_grad():
        expected = model(t(ex.input))
    if layer["type"] == "batchnorm" and not layer["track_running_stats"]:
        expected = F.batch_norm(t(ex.input), None, None, *(t(w) for w in ex.weights[graph.nodes[0].name]) if
                                layer["affine"] else (None, None), training=True, eps=layer["eps"])
    assert_close(ex.output, expected, rtol=1e-9)


# ---- whole networks through torch.nn, built from the same spec ------------------------------------------------
#: networks run below their 224×224 input, to keep the file fast (the kernels are the same at any size)
SMALLER = {"mobilenet_v3_small": {"resolution": 112}, "regnet_y_400mf": {"resolution": 96}}


@pytest.mark.parametrize("config", ["squeezenet1_1", "efficientnet_b0", "dcgan_generator", "mobilenet_v2",
                                    "mobilenet_v3_small", "regnet_y_400mf", "variants/squeeze_excitation",
                                    "variants/layernorm", "variants/groupnorm", "variants/instancenorm"])
def test_shipped_network_equals_torch(config):
    graph = expand(config, input=None, **SMALLER.get(config, {}))
    ex = run(graph, dtype="float64")
    model = build(graph, ex)
    with torch.no_grad():
        expected = model(t(ex.input))
    assert_close(ex.output, expected, rtol=1e-9)
