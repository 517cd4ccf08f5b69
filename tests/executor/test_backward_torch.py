"""The executor's backward pass against torch autograd, same graph, same weights (tests/torch_build.py), same
input: the gradient of a random projection of the output with respect to the input, float64.

Skipped when torch is not installed (an optional extra)."""

from __future__ import annotations

import sys
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from convcalc.executor import run  # noqa: E402
from convcalc.executor.backward import backward, input_gradient  # noqa: E402

from .helpers import graph_of  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from torch_build import build  # noqa: E402

RTOL = 1e-10


def torch_check(input_shape, *layers, batch=2, seed=0, rtol=RTOL):
    graph = graph_of(input_shape, *layers, batch=batch)
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch, *input_shape))
    ex = run(graph, seed=seed, dtype="float64", x=x, keep=True)
    layer = graph.nodes[-1].name
    r = rng.standard_normal(ex.values[layer].shape)
    ours = backward(graph, ex, {layer: r})[graph.input_name]
    model = build(graph, ex)
    tx = torch.from_numpy(x).requires_grad_(True)
    y = model(tx)
    np.testing.assert_allclose(y.detach().numpy(), ex.output, rtol=1e-9, atol=1e-12)
    (y * torch.from_numpy(r)).sum().backward()
    theirs = tx.grad.numpy()
    scale = max(float(np.abs(theirs).max()), 1e-30)
    assert float(np.abs(ours - theirs).max()) / scale <= rtol


def conv(out=3, k=3, **extra):
    return {"type": "conv", "out": out, "kernel": k, **extra}


CASES = {
    "conv1d": ((4, 20), [conv(out=6, k=3, stride=2, padding=2, dilation=2, groups=2)]),
    "conv2d": ((6, 17, 15), [conv(out=9, k=[3, 5], stride=[1, 2], padding=[1, 2], dilation=[2, 1], groups=3)]),
    "conv2d_asymmetric": ((4, 9, 10), [conv(out=4, k=3, stride=2, padding=[[1, 0], [0, 2]], bias=False)]),
    "conv2d_same": ((4, 9, 10), [conv(out=4, k=3, stride=2, padding="same")]),
    "conv3d": ((8, 6, 7, 8), [conv(out=4, k=[3, 3, 2], stride=[2, 1, 2], padding=[1, 1, 0], dilation=[1, 2, 1],
                                   groups=4)]),
    "depthwise": ((8, 12, 12), [{"type": "depthwise", "kernel": 3, "multiplier": 2, "padding": 2, "dilation": 2}]),
    "conv_transpose1d": ((4, 9), [{"type": "conv_transpose", "out": 6, "kernel": 4, "stride": 3, "padding": 1,
                                   "output_padding": 2, "groups": 2}]),
    "conv_transpose2d": ((6, 5, 7), [{"type": "conv_transpose", "out": 9, "kernel": [3, 2], "stride": [2, 3],
                                      "padding": [1, 0], "output_padding": [1, 2], "dilation": [2, 1],
                                      "groups": 3}]),
    "conv_transpose2d_asymmetric": ((3, 6, 5), [{"type": "conv_transpose", "out": 2, "kernel": 3, "stride": 2,
                                                 "padding": [[2, 1], [0, 1]]}]),
    "conv_transpose3d": ((4, 3, 4, 3), [{"type": "conv_transpose", "out": 4, "kernel": [2, 3, 2],
                                         "stride": [2, 1, 2], "padding": [0, 1, 1], "output_padding": [1, 0, 1],
                                         "groups": 2, "bias": False}]),
    "maxpool1d_ceil": ((3, 11), [{"type": "maxpool", "kernel": 3, "stride": 2, "padding": 1, "ceil_mode": True}]),
    "maxpool2d_dilation": ((3, 13, 12), [{"type": "maxpool", "kernel": [3, 2], "stride": [2, 3], "padding": [1, 1],
                                          "dilation": [2, 1], "ceil_mode": True}]),
    "maxpool3d": ((2, 5, 6, 7), [{"type": "maxpool", "kernel": 2, "stride": 2, "ceil_mode": True}]),
    "avgpool_include_pad": ((3, 11, 10), [{"type": "avgpool", "kernel": 3, "stride": 2, "padding": 1,
                                           "ceil_mode": True}]),
    "avgpool_exclude_pad": ((3, 11, 10), [{"type": "avgpool", "kernel": [3, 2], "stride": [2, 1], "padding": 1,
                                           "count_include_pad": False, "ceil_mode": True}]),
    "avgpool1d": ((2, 9), [{"type": "avgpool", "kernel": 4, "stride": 3, "padding": 2, "ceil_mode": True,
                            "count_include_pad": False}]),
    "adaptive_avgpool": ((3, 10, 7), [{"type": "adaptive_avgpool", "output_size": [3, 4]}]),
    "adaptive_maxpool": ((3, 10, 7), [{"type": "adaptive_maxpool", "output_size": [4, 3]}]),
    "adaptive_avgpool3d": ((2, 5, 6, 7), [{"type": "adaptive_avgpool", "output_size": [2, 4, 3]}]),
    "global_pools": ((3, 6, 5), [{"type": "global_maxpool", "name": "g"}, {"type": "flatten"}]),
    "nearest": ((3, 5, 6), [{"type": "upsample", "scale": [2, 3]}]),
    "nearest_size": ((3, 5, 6), [{"type": "upsample", "size": [7, 11]}]),
    "bilinear": ((3, 5, 6), [{"type": "upsample", "scale": 2, "mode": "bilinear"}]),
    "bilinear_align": ((3, 5, 6), [{"type": "upsample", "size": [9, 8], "mode": "bilinear",
                                    "align_corners": True}]),
    "linear1d": ((3, 7), [{"type": "upsample", "scale": 1.5, "mode": "linear"}]),
    "trilinear": ((2, 3, 4, 3), [{"type": "upsample", "size": [5, 7, 6], "mode": "trilinear"}]),
    "bicubic": ((2, 4, 5), [{"type": "upsample", "scale": 2, "mode": "bicubic"}]),
    "bicubic_align": ((2, 4, 5), [{"type": "upsample", "size": [7, 9], "mode": "bicubic", "align_corners": True}]),
    "batchnorm": ((5, 6, 6), [{"type": "batchnorm"}]),
    "batchnorm1d": ((5, 8), [{"type": "batchnorm", "eps": 1e-3}]),
    "layernorm2d": ((6, 5, 4), [conv(out=6, k=3, padding=1, name="c"), {"type": "layernorm"}]),
    "layernorm_last": ((4, 5, 7), [{"type": "layernorm", "axis": "last", "bias": False, "eps": 1e-3}]),
    "layernorm_flat": ((3, 4, 4), [{"type": "flatten"}, {"type": "linear", "out": 8}, {"type": "layernorm"}]),
    "groupnorm": ((6, 5, 4), [{"type": "groupnorm", "groups": 3}]),
    "groupnorm3d": ((4, 3, 4, 3), [{"type": "groupnorm", "groups": 2, "affine": False}]),
    "instancenorm": ((3, 5, 6), [{"type": "instancenorm", "affine": True}]),
    "instancenorm1d_tracked": ((3, 8), [{"type": "instancenorm", "track_running_stats": True}]),
    "instancenorm3d_tracked_affine": ((2, 3, 4, 3), [{"type": "instancenorm", "affine": True,
                                                      "track_running_stats": True}]),
    "norm_network": ((4, 8, 8), [
        conv(out=8, padding=1, name="c1"), {"type": "groupnorm", "groups": 4, "name": "gn"}, {"type": "relu"},
        conv(out=8, padding=1, name="c2"), {"type": "layernorm", "name": "ln"},
        {"type": "add", "inputs": ["gn", "ln"]}, {"type": "instancenorm", "affine": True}]),
    "linear": ((3, 4, 4), [{"type": "flatten"}, {"type": "linear", "out": 7}, {"type": "relu"},
                           {"type": "linear", "out": 3, "bias": False}]),
    "activations": ((4, 9), [conv(out=4, k=1, name="c"), {"type": "gelu"}, {"type": "silu"},
                             {"type": "hardswish"}, {"type": "tanh"}, {"type": "sigmoid"},
                             {"type": "leaky_relu", "negative_slope": 0.1}, {"type": "relu6"},
                             {"type": "hardsigmoid"}]),
    "activations_for_imports": ((4, 9), [conv(out=4, k=1, name="c"), {"type": "prelu", "num_parameters": 4},
                                         {"type": "elu", "alpha": 0.5}, {"type": "selu"}, {"type": "mish"},
                                         {"type": "softplus", "beta": 2, "threshold": 1},
                                         {"type": "hardtanh", "min_val": -0.5, "max_val": 2},
                                         {"type": "gelu", "approximate": "tanh"},
                                         {"type": "hardsigmoid", "alpha": 0.2, "beta": 0.5}, {"type": "softmax"}]),
    "softmax_last": ((3, 4, 5), [conv(out=3, padding=1), {"type": "softmax", "axis": "last"}]),
    "scaling": ((3, 5, 4), [conv(out=3, k=1), {"type": "scalar", "op": "mul", "value": 0.5},
                            {"type": "scalar", "op": "rsub", "value": 2}, {"type": "layer_scale"},
                            {"type": "bias_add", "learnable": False}, {"type": "layer_scale", "axis": "last"},
                            {"type": "scalar", "op": "pow", "value": 2}, {"type": "bias_add", "axis": "last"}]),
    "residual_network": ((3, 16, 16), [
        conv(out=8, k=7, stride=2, padding=3, bias=False, name="stem"), {"type": "batchnorm"},
        {"type": "relu", "name": "r0"}, {"type": "maxpool", "kernel": 3, "stride": 2, "padding": 1, "name": "mp"},
        conv(out=8, padding=1, bias=False, name="c1"), {"type": "batchnorm"}, {"type": "relu"},
        conv(out=8, padding=1, bias=False, name="c2"), {"type": "batchnorm", "name": "bn2"},
        {"type": "add", "name": "sum1", "inputs": ["mp", "bn2"]}, {"type": "relu", "name": "r1"},
        conv(out=16, stride=2, padding=1, bias=False, name="c3"), {"type": "batchnorm"}, {"type": "relu"},
        conv(out=16, padding=1, bias=False, name="c4"), {"type": "batchnorm", "name": "bn4"},
        conv(out=16, k=1, stride=2, bias=False, name="down", inputs="r1"), {"type": "batchnorm", "name": "bnd"},
        {"type": "add", "name": "sum2", "inputs": ["bn4", "bnd"]}, {"type": "relu", "name": "r2"},
        {"type": "global_avgpool", "keepdims": False}, {"type": "linear", "out": 5}]),
    "pad_modes": ((2, 5, 6), [{"type": "pad", "padding": [[1, 2], [3, 0]], "mode": "reflect"},
                              {"type": "pad", "padding": [[2, 1], 3], "mode": "replicate"},
                              {"type": "pad", "padding": [[4, 8], [9, 2]], "mode": "circular"},
                              {"type": "pad", "padding": [[-1, 2], [3, -2]], "value": 0.5}]),
    "conv_padding_modes": ((3, 7, 6), [conv(out=4, padding=1, padding_mode="reflect"),
                                       conv(out=4, stride=2, padding=[[2, 0], [1, 1]], padding_mode="circular"),
                                       {"type": "depthwise", "kernel": 3, "padding": 2, "dilation": 2,
                                        "padding_mode": "replicate"}]),
    "convnext_block": ((8, 7, 7), [
        {"type": "depthwise", "name": "dw", "kernel": 7, "padding": 3}, {"type": "permute", "dims": [1, 2, 0]},
        {"type": "linear", "axis": "last", "out": 16}, {"type": "gelu"}, {"type": "linear", "axis": "last", "out": 8},
        {"type": "permute", "name": "back", "dims": [2, 0, 1]}, {"type": "add", "inputs": ["input", "back"]}]),
    "reshapes": ((6, 4, 4), [{"type": "reshape", "shape": [2, 3, 4, 4]}, {"type": "permute", "dims": [1, 0, 2, 3]},
                             {"type": "reshape", "shape": [6, -1]}, {"type": "flatten", "start": 0, "end": 0},
                             {"type": "flatten"}, {"type": "linear", "out": 3}]),
    "pixel_orders": ((8, 3, 3), [{"type": "pixel_shuffle", "factor": 2, "order": "dcr"},
                                 {"type": "pixel_unshuffle", "factor": 2}, {"type": "pixel_shuffle", "factor": 2},
                                 {"type": "pixel_unshuffle", "factor": 2, "order": "dcr"}]),
    "broadcasting_merges": ((3, 4, 4), [
        {"type": "global_avgpool", "name": "g"}, {"type": "sigmoid", "name": "s"},
        {"type": "add", "name": "a", "inputs": ["input", "g"]}, {"type": "subtract", "name": "d", "inputs": ["s", "a"]},
        {"type": "divide", "inputs": ["d", "s"]}]),
    "concat_and_se": ((4, 6, 6), [
        conv(out=4, padding=1, name="a"), conv(out=2, k=1, name="b", inputs="input"),
        {"type": "concat", "name": "cat", "inputs": ["a", "b"]}, {"type": "global_avgpool", "name": "g"},
        conv(out=6, k=1, name="fc"), {"type": "sigmoid", "name": "gate"},
        {"type": "multiply", "name": "m", "inputs": ["cat", "gate"]}]),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_input_gradient_equals_torch_autograd(case):
    input_shape, layers = CASES[case]
    # torch's hardsigmoid backward multiplies by 1/6 rounded to float32 even in float64 (a relative 3e-8)
    torch_check(input_shape, *layers, rtol=1e-7 if case == "activations" else RTOL)


def test_bicubic_equals_torch_interpolate():
    # checked with F.interpolate directly (and through torch_build in CASES)
    for layer, kwargs in (({"scale": 2}, {"scale_factor": 2.0}),
                          ({"size": [7, 9], "align_corners": True}, {"size": (7, 9), "align_corners": True})):
        graph = graph_of((2, 4, 5), {"type": "upsample", "mode": "bicubic", **layer})
        ex = run(graph, dtype="float64", keep=True)
        r = np.random.default_rng(1).standard_normal(ex.output.shape)
        ours = backward(graph, ex, {graph.nodes[0].name: r})[graph.input_name]
        tx = torch.from_numpy(ex.input.copy()).requires_grad_(True)
        y = torch.nn.functional.interpolate(tx, mode="bicubic", **kwargs)
        np.testing.assert_allclose(y.detach().numpy(), ex.output, rtol=1e-9, atol=1e-12)
        (y * torch.from_numpy(r)).sum().backward()
        np.testing.assert_allclose(ours, tx.grad.numpy(), rtol=1e-9, atol=1e-12)


def test_centre_unit_gradient_float32():
    # the measured-ERF use: one unit summed over channels, float32, random weights
    graph = graph_of((3, 20, 20), conv(out=6, padding=1, name="c1"), {"type": "relu"},
                     {"type": "maxpool", "kernel": 2}, conv(out=6, padding=1, name="c2"), {"type": "relu",
                                                                                           "name": "out"},
                     batch=1)
    ex = run(graph, dtype="float32", keep=True)
    ours = input_gradient(graph, ex, "out", (5, 5))
    model = build(graph, ex)
    tx = torch.from_numpy(ex.input.copy()).requires_grad_(True)
    model(tx)[:, :, 5, 5].sum().backward()
    theirs = tx.grad.numpy()
    assert float(np.abs(ours - theirs).max()) <= 1e-5 * float(np.abs(theirs).max())


# ---- property: random conv / conv_transpose / pool geometries -------------------------------------------------
from hypothesis import HealthCheck, assume, example, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from convcalc.errors import SpecError  # noqa: E402


@st.composite
def geometries(draw):
    rank = draw(st.sampled_from([1, 1, 2, 2, 3]))
    kind = draw(st.sampled_from(["conv", "conv_transpose", "maxpool", "avgpool"]))
    groups = draw(st.sampled_from([1, 2])) if kind.startswith("conv") else 1
    c_in = groups * draw(st.integers(1, 2))
    sizes = [draw(st.integers(3, 7 if rank < 3 else 4)) for _ in range(rank)]
    kernel = [draw(st.integers(1, 3)) for _ in range(rank)]
    stride = [draw(st.integers(1, 3)) for _ in range(rank)]
    layer = {"type": kind, "kernel": kernel, "stride": stride}
    if kind.startswith("conv"):
        dilation = [draw(st.integers(1, 2)) for _ in range(rank)]
        layer.update(out=groups * draw(st.integers(1, 2)), groups=groups, dilation=dilation,
                     bias=draw(st.booleans()))
        if kind == "conv":
            layer["padding"] = draw(st.sampled_from(["same", "valid", "full"])) if draw(st.booleans()) else \
                [[draw(st.integers(0, 2)), draw(st.integers(0, 2))] for _ in range(rank)]
        else:
            layer["padding"] = [draw(st.integers(0, 1)) for _ in range(rank)]
            layer["output_padding"] = [draw(st.integers(0, max(s, d) - 1)) for s, d in zip(stride, dilation)]
    else:
        layer["padding"] = [draw(st.integers(0, k // 2)) for k in kernel]
        layer["ceil_mode"] = draw(st.booleans())
        if kind == "avgpool":
            layer["count_include_pad"] = draw(st.booleans())
        else:
            layer["dilation"] = [draw(st.integers(1, 2)) for _ in range(rank)]
    return (c_in, *sizes), layer


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(geometries())
def test_random_geometries_equal_torch_autograd(case):
    input_shape, layer = case
    try:
        graph_of(input_shape, layer)
        run(graph_of(input_shape, layer), dtype="float64")
    except SpecError:
        assume(False)
    torch_check(input_shape, layer)


# ---- property: random pads and conv padding modes ------------------------------------------------------------
@st.composite
def padded(draw):
    rank = draw(st.sampled_from([1, 2, 2, 3]))
    sizes = [draw(st.integers(2, 6 if rank < 3 else 4)) for _ in range(rank)]
    mode = draw(st.sampled_from(["constant", "reflect", "replicate", "circular"]))
    top = {"constant": 4, "reflect": 0, "replicate": 5, "circular": 0}
    pairs = []
    for n in sizes:
        hi = {"reflect": n - 1, "circular": n}.get(mode, top[mode])
        lo = -(n // 2) if mode == "constant" else 0
        pairs.append([draw(st.integers(lo, hi)), draw(st.integers(lo, hi))])
    if draw(st.booleans()):
        layer = {"type": "pad", "padding": pairs, "mode": mode}
        if mode == "constant":
            layer["value"] = draw(st.sampled_from([0, 1.5]))
        return (2, *sizes), [layer]
    mode = "zeros" if mode == "constant" else mode
    pairs = [[max(b, 0), max(a, 0)] for b, a in pairs]
    kernel = [draw(st.integers(1, 3)) for _ in range(rank)]
    return (2, *sizes), [{"type": "conv", "out": 2, "kernel": kernel, "padding": pairs, "padding_mode": mode,
                          "stride": draw(st.integers(1, 2))}]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(padded())
def test_random_pads_equal_torch_autograd(case):
    input_shape, layers = case
    try:
        run(graph_of(input_shape, *layers), dtype="float64")
    except SpecError:
        assume(False)
    torch_check(input_shape, *layers)


# ---- property: the activation and scaling kinds with random fields, any rank -------------------------------------
def _number(draw, choices):
    return draw(st.sampled_from(choices))


@st.composite
def elementwise_layers(draw):
    rank = draw(st.integers(0, 3))
    channels = draw(st.integers(2, 4))
    sizes = [draw(st.integers(2, 4 if rank < 3 else 3)) for _ in range(rank)]
    kind = draw(st.sampled_from(["prelu", "elu", "selu", "mish", "softplus", "hardtanh", "softmax", "gelu",
                                 "hardsigmoid", "scalar", "layer_scale", "bias_add"]))
    layer = {"type": kind}
    if kind == "prelu":
        layer["num_parameters"] = draw(st.sampled_from([1, channels]))
    elif kind == "elu":
        layer["alpha"] = _number(draw, [0.1, 0.5, 1, 2])
    elif kind == "softplus":
        layer.update(beta=_number(draw, [-1, 0.5, 1, 3]), threshold=_number(draw, [0.5, 1, 20]))
    elif kind == "hardtanh":
        low = _number(draw, [-2, -1, -0.25, 0])
        layer.update(min_val=low, max_val=low + _number(draw, [0.5, 1, 3]))
    elif kind == "softmax":
        layer["axis"] = draw(st.sampled_from(["channels", "last"]))
    elif kind == "gelu":
        layer["approximate"] = draw(st.sampled_from(["none", "tanh"]))
    elif kind == "hardsigmoid":
        layer.update(alpha=_number(draw, [Fraction(1, 6), 0.2, -0.5, 1]),
                     beta=_number(draw, [Fraction(1, 2), 0, 0.5]))
    elif kind == "scalar":
        op = draw(st.sampled_from(["add", "sub", "mul", "div", "rsub", "rdiv", "pow"]))
        layer.update(op=op, value=_number(draw, [2, 3] if op == "pow" else [-3, -0.5, 0.25, 2, 6]))
    elif kind in ("layer_scale", "bias_add"):
        layer.update(axis=draw(st.sampled_from(["channels", "last"])), learnable=draw(st.booleans()))
    return (channels, *sizes), layer


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(elementwise_layers())
@example(((3, 4), {"type": "hardsigmoid", "alpha": Fraction(1, 6), "beta": Fraction(1, 2)}))
@example(((2, 3, 2), {"type": "softmax", "axis": "last"}))
def test_random_elementwise_layers_equal_torch_autograd(case):
    """cost model == executor == torch: the analysis's shape, params and buffers equal the executor's, whose output
    and input gradient equal torch's."""
    from convcalc.cost.analysis import analyze

    input_shape, layer = case
    graph = graph_of(input_shape, layer)
    row, executed = analyze(graph).layers[0], run(graph, dtype="float64").layers[0]
    assert (tuple(row.output_shape), row.params, row.buffers) == \
        (executed.output_shape, executed.params, executed.buffers)
    # torch's hardsigmoid backward multiplies by 1/6 rounded to float32 (see above): 1e-7 for it
    torch_check(input_shape, layer, rtol=1e-7 if layer["type"] == "hardsigmoid" else 1e-9)
