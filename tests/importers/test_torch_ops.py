"""The op table, one row per module, function or method form: what it imports as (kind and fields).

Each row is (module or callable under test, input shape per sample, the layers expected). Fields are compared
with the plan's defaults left out (:data:`PLAN_DEFAULTS`, the field defaults of docs/spec.md and the import plan),
so a row reads the same whether or not the kind is registered on this branch yet.
"""

from __future__ import annotations

import operator

import pytest

torch = pytest.importorskip("torch")
import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402

from convcalc.errors import SpecError  # noqa: E402

from .torch_helpers import analyse, imported, layer  # noqa: E402

#: field defaults by kind (docs/spec.md and the import plan), left out of both sides of a comparison
PLAN_DEFAULTS = {
    "conv": {"stride": 1, "padding": 0, "dilation": 1, "groups": 1, "bias": True, "padding_mode": "zeros"},
    "conv_transpose": {"stride": 1, "padding": 0, "output_padding": 0, "dilation": 1, "groups": 1, "bias": True},
    "batchnorm": {"affine": True, "track_running_stats": True, "eps": 1e-5},
    "layernorm": {"axis": "channels", "affine": True, "bias": True, "eps": 1e-5},
    "groupnorm": {"affine": True, "eps": 1e-5},
    "instancenorm": {"affine": False, "track_running_stats": False, "eps": 1e-5},
    "prelu": {"num_parameters": 1}, "elu": {"alpha": 1.0}, "softplus": {"beta": 1, "threshold": 20},
    "hardtanh": {"min_val": -1, "max_val": 1}, "softmax": {"axis": "channels"}, "gelu": {"approximate": "none"},
    "leaky_relu": {"negative_slope": 0.01}, "dropout": {"p": 0},
    "maxpool": {"padding": 0, "dilation": 1, "ceil_mode": False},
    "avgpool": {"padding": 0, "ceil_mode": False, "count_include_pad": True},
    "lppool": {"ceil_mode": False}, "global_avgpool": {"keepdims": True}, "global_maxpool": {"keepdims": True},
    "linear": {"bias": True, "axis": "flat"}, "flatten": {"start": 0, "end": -1},
    "upsample": {"mode": "nearest", "align_corners": False}, "pixel_shuffle": {"order": "crd"},
    "pixel_unshuffle": {"order": "crd"}, "channel_slice": {"start": 0},
    "pad": {"mode": "constant", "value": 0}, "layer_scale": {"axis": "channels", "learnable": True},
    "bias_add": {"axis": "channels", "learnable": True},
    "deformable": {"stride": 1, "padding": 0, "dilation": 1, "groups": 1, "bias": True, "offset_groups": 1,
                   "modulated": False},
}


def written(kind, fields) -> dict:
    defaults = PLAN_DEFAULTS.get(kind, {})
    return {k: v for k, v in fields.items() if k not in defaults or defaults[k] != v}


def mapped(model) -> list:
    return [(l.kind, written(l.kind, l.fields)) for l in model.layers]


class Wrap(nn.Module):
    """The module under test as the attribute ``op``, so its layer is named ``op``."""

    def __init__(self, op):
        super().__init__()
        self.op = op

    def forward(self, x):
        return self.op(x)


class Fn(nn.Module):
    """A function of the input, traced through."""

    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def forward(self, x):
        return self.fn(x)


def case(make, shape, *expected, id=None):
    return pytest.param(make, shape, list(expected), id=id)


def unmappable(make, shape, message, id=None):
    return pytest.param(make, shape, message, id=id)


MODULES = [
    # convolutions
    case(lambda: nn.Conv2d(3, 8, 3, 2, 1, bias=False), (3, 9, 9),
         ("conv", {"out": 8, "kernel": 3, "stride": 2, "padding": 1, "bias": False}), id="Conv2d"),
    case(lambda: nn.Conv1d(2, 4, 5, padding=(4,), dilation=2), (2, 20),
         ("conv", {"out": 4, "kernel": 5, "padding": 4, "dilation": 2}), id="Conv1d"),
    case(lambda: nn.Conv3d(2, 4, (3, 1, 1), padding=(1, 0, 0), groups=2), (2, 4, 6, 6),
         ("conv", {"out": 4, "kernel": [3, 1, 1], "padding": [1, 0, 0], "groups": 2}), id="Conv3d"),
    case(lambda: nn.Conv2d(3, 4, 3, padding="same"), (3, 6, 6),
         ("conv", {"out": 4, "kernel": 3, "padding": "same"}), id="Conv2d-same"),
    case(lambda: nn.Conv2d(3, 4, 3, padding="valid"), (3, 6, 6),
         ("conv", {"out": 4, "kernel": 3, "padding": "valid"}), id="Conv2d-valid"),
    case(lambda: nn.Conv2d(3, 4, 3, padding=(1, 2), padding_mode="circular"), (3, 6, 6),
         ("conv", {"out": 4, "kernel": 3, "padding": [1, 2], "padding_mode": "circular"}), id="Conv2d-circular"),
    case(lambda: nn.ConvTranspose2d(4, 6, 3, 2, 1, output_padding=1, groups=2), (4, 5, 5),
         ("conv_transpose", {"out": 6, "kernel": 3, "stride": 2, "padding": 1, "output_padding": 1, "groups": 2}),
         id="ConvTranspose2d"),
    case(lambda: nn.ConvTranspose1d(2, 3, 4, 2, bias=False), (2, 7),
         ("conv_transpose", {"out": 3, "kernel": 4, "stride": 2, "bias": False}), id="ConvTranspose1d"),
    # normalisation
    case(lambda: nn.BatchNorm2d(4), (4, 3, 3), ("batchnorm", {}), id="BatchNorm2d"),
    case(lambda: nn.BatchNorm1d(4, eps=1e-3, affine=False), (4, 10), ("batchnorm", {"eps": 1e-3, "affine": False}),
         id="BatchNorm1d"),
    case(lambda: nn.BatchNorm3d(4, track_running_stats=False), (4, 2, 3, 3),
         ("batchnorm", {"track_running_stats": False}), id="BatchNorm3d"),
    case(lambda: nn.LayerNorm(6), (6,), ("layernorm", {"axis": "last"}), id="LayerNorm-flat"),
    case(lambda: nn.LayerNorm(5, elementwise_affine=False, eps=1e-6), (3, 4, 5),
         ("layernorm", {"axis": "last", "affine": False, "eps": 1e-6}), id="LayerNorm-no-affine"),
    case(lambda: nn.LayerNorm(5, bias=False), (3, 4, 5), ("layernorm", {"axis": "last", "bias": False}),
         id="LayerNorm-no-bias"),
    case(lambda: nn.GroupNorm(2, 6), (6, 3, 3), ("groupnorm", {"groups": 2}), id="GroupNorm"),
    case(lambda: nn.GroupNorm(3, 6, eps=1e-3, affine=False), (6, 4), ("groupnorm", {"groups": 3, "eps": 1e-3,
                                                                                    "affine": False}),
         id="GroupNorm-no-affine"),
    case(lambda: nn.InstanceNorm2d(4), (4, 3, 3), ("instancenorm", {}), id="InstanceNorm2d"),
    case(lambda: nn.InstanceNorm1d(4, affine=True, track_running_stats=True), (4, 6),
         ("instancenorm", {"affine": True, "track_running_stats": True}), id="InstanceNorm1d"),
    # activations
    case(nn.ReLU, (3, 4), ("relu", {}), id="ReLU"),
    case(nn.ReLU6, (3, 4), ("relu6", {}), id="ReLU6"),
    case(lambda: nn.Hardtanh(0.0, 6.0), (3, 4), ("relu6", {}), id="Hardtanh-0-6"),
    case(nn.Hardtanh, (3, 4), ("hardtanh", {}), id="Hardtanh"),
    case(lambda: nn.Hardtanh(-2.5, 2.0), (3, 4), ("hardtanh", {"min_val": -2.5, "max_val": 2}), id="Hardtanh-bounds"),
    case(nn.Sigmoid, (3, 4), ("sigmoid", {}), id="Sigmoid"),
    case(nn.Tanh, (3, 4), ("tanh", {}), id="Tanh"),
    case(nn.GELU, (3, 4), ("gelu", {}), id="GELU"),
    case(lambda: nn.GELU("tanh"), (3, 4), ("gelu", {"approximate": "tanh"}), id="GELU-tanh"),
    case(nn.SiLU, (3, 4), ("silu", {}), id="SiLU"),
    case(nn.Mish, (3, 4), ("mish", {}), id="Mish"),
    case(nn.Hardswish, (3, 4), ("hardswish", {}), id="Hardswish"),
    case(nn.Hardsigmoid, (3, 4), ("hardsigmoid", {}), id="Hardsigmoid"),
    case(nn.SELU, (3, 4), ("selu", {}), id="SELU"),
    case(lambda: nn.ELU(0.3), (3, 4), ("elu", {"alpha": 0.3}), id="ELU"),
    case(lambda: nn.LeakyReLU(0.2), (3, 4), ("leaky_relu", {"negative_slope": 0.2}), id="LeakyReLU"),
    case(nn.PReLU, (3, 4), ("prelu", {}), id="PReLU"),
    case(lambda: nn.PReLU(3), (3, 4), ("prelu", {"num_parameters": 3}), id="PReLU-per-channel"),
    case(lambda: nn.Softplus(2, 10), (3, 4), ("softplus", {"beta": 2, "threshold": 10}), id="Softplus"),
    case(lambda: nn.Softmax(dim=1), (3, 4), ("softmax", {}), id="Softmax-channels"),
    case(lambda: nn.Softmax(dim=-1), (3, 4), ("softmax", {"axis": "last"}), id="Softmax-last"),
    case(lambda: nn.Dropout(0.3), (3, 4), ("dropout", {"p": 0.3}), id="Dropout"),
    case(nn.Dropout2d, (3, 4, 4), ("dropout", {"p": 0.5}), id="Dropout2d"),
    case(nn.Identity, (3, 4), ("identity", {}), id="Identity"),
    # pooling
    case(lambda: nn.MaxPool2d(3, 2, 1, dilation=2, ceil_mode=True), (2, 9, 9),
         ("maxpool", {"kernel": 3, "stride": 2, "padding": 1, "dilation": 2, "ceil_mode": True}), id="MaxPool2d"),
    case(lambda: nn.MaxPool1d(2), (2, 9), ("maxpool", {"kernel": 2}), id="MaxPool1d"),
    case(lambda: nn.MaxPool3d((1, 2, 2)), (2, 3, 4, 4), ("maxpool", {"kernel": [1, 2, 2]}), id="MaxPool3d"),
    case(lambda: nn.AvgPool2d(3, 1, 1, count_include_pad=False), (2, 5, 5),
         ("avgpool", {"kernel": 3, "stride": 1, "padding": 1, "count_include_pad": False}), id="AvgPool2d"),
    case(lambda: nn.LPPool2d(2, 3, stride=2), (2, 7, 7), ("lppool", {"p": 2, "kernel": 3, "stride": 2}),
         id="LPPool2d"),
    case(lambda: nn.AdaptiveAvgPool2d(1), (4, 5, 5), ("global_avgpool", {}), id="AdaptiveAvgPool2d-1"),
    case(lambda: nn.AdaptiveAvgPool2d((2, None)), (4, 6, 5), ("adaptive_avgpool", {"output_size": [2, 5]}),
         id="AdaptiveAvgPool2d-None"),
    case(lambda: nn.AdaptiveMaxPool1d(3), (4, 7), ("adaptive_maxpool", {"output_size": 3}), id="AdaptiveMaxPool1d"),
    case(lambda: nn.AdaptiveMaxPool3d(1), (4, 2, 3, 3), ("global_maxpool", {}), id="AdaptiveMaxPool3d"),
    # linear and reshapes
    case(lambda: nn.Linear(12, 5), (12,), ("linear", {"out": 5}), id="Linear"),
    case(lambda: nn.Linear(6, 3, bias=False), (4, 6), ("linear", {"out": 3, "bias": False, "axis": "last"}),
         id="Linear-last-axis"),
    case(nn.Flatten, (4, 3, 3), ("flatten", {}), id="Flatten"),
    case(lambda: nn.Flatten(2), (4, 3, 3), ("flatten", {"start": 1}), id="Flatten-start"),
    case(lambda: nn.Flatten(1, 2), (4, 3, 3), ("flatten", {"end": 1}), id="Flatten-end"),
    case(lambda: nn.Unflatten(1, (2, 2)), (4, 3), ("reshape", {"shape": [2, 2, 3]}), id="Unflatten"),
    # resampling
    case(lambda: nn.Upsample(scale_factor=2), (2, 3, 3), ("upsample", {"scale": 2}), id="Upsample"),
    case(lambda: nn.Upsample(size=(5, 7), mode="bilinear", align_corners=True), (2, 3, 3),
         ("upsample", {"size": [5, 7], "mode": "bilinear", "align_corners": True}), id="Upsample-size"),
    case(lambda: nn.UpsamplingBilinear2d(scale_factor=2), (2, 3, 3),
         ("upsample", {"scale": 2, "mode": "bilinear", "align_corners": True}), id="UpsamplingBilinear2d"),
    case(lambda: nn.Upsample(scale_factor=2, mode="linear"), (2, 5), ("upsample", {"scale": 2, "mode": "linear"}),
         id="Upsample-linear"),
    case(lambda: nn.Upsample(scale_factor=(1, 2, 2), mode="trilinear"), (2, 2, 3, 3),
         ("upsample", {"scale": [1, 2, 2], "mode": "trilinear"}), id="Upsample-trilinear"),
    case(lambda: nn.PixelShuffle(2), (8, 3, 3), ("pixel_shuffle", {"factor": 2}), id="PixelShuffle"),
    case(lambda: nn.PixelUnshuffle(2), (2, 4, 4), ("pixel_unshuffle", {"factor": 2}), id="PixelUnshuffle"),
    case(lambda: nn.ChannelShuffle(2), (4, 3, 3), ("channel_shuffle", {"groups": 2}), id="ChannelShuffle"),
    # padding
    case(lambda: nn.ZeroPad2d(1), (2, 3, 3), ("pad", {"padding": 1}), id="ZeroPad2d"),
    case(lambda: nn.ZeroPad2d((1, 2, 0, 1)), (2, 3, 3), ("pad", {"padding": [[0, 1], [1, 2]]}), id="ZeroPad2d-sides"),
    case(lambda: nn.ConstantPad1d(2, 0.5), (2, 3), ("pad", {"padding": 2, "value": 0.5}), id="ConstantPad1d"),
    case(lambda: nn.ReflectionPad2d(1), (2, 3, 3), ("pad", {"padding": 1, "mode": "reflect"}), id="ReflectionPad2d"),
    case(lambda: nn.ReplicationPad3d((1, 1, 2, 2, 0, 0)), (2, 2, 3, 3),
         ("pad", {"padding": [0, 2, 1], "mode": "replicate"}), id="ReplicationPad3d"),
    case(lambda: nn.CircularPad1d(1), (2, 4), ("pad", {"padding": 1, "mode": "circular"}), id="CircularPad1d"),
]


@pytest.mark.parametrize("make, shape, expected", MODULES)
def test_module(make, shape, expected):
    model = imported(lambda: Wrap(make()), shape)
    assert mapped(model) == expected
    assert [l.name for l in model.layers] == ["op"]
    assert model.layers[0].origin.startswith("torch.nn.")


FUNCTIONS = [
    case(lambda x: F.relu(x), (3, 4), ("relu", {}), id="F.relu"),
    case(lambda x: torch.relu(x).sigmoid(), (3, 4), ("relu", {}), ("sigmoid", {}), id="torch.relu-method"),
    case(lambda x: F.relu6(x), (3, 4), ("relu6", {}), id="F.relu6"),
    case(lambda x: torch.clamp(x, 0, 6), (3, 4), ("relu6", {}), id="clamp-0-6"),
    case(lambda x: x.clamp(min=0), (3, 4), ("relu", {}), id="clamp-min"),
    case(lambda x: torch.clamp(x, -1.5, 2), (3, 4), ("hardtanh", {"min_val": -1.5, "max_val": 2}), id="clamp"),
    case(lambda x: F.gelu(x, approximate="tanh"), (3, 4), ("gelu", {"approximate": "tanh"}), id="F.gelu"),
    case(lambda x: F.softmax(x, dim=-1), (3, 4), ("softmax", {"axis": "last"}), id="F.softmax"),
    case(lambda x: F.adaptive_avg_pool2d(x, 1), (3, 4, 4), ("global_avgpool", {}), id="F.adaptive_avg_pool2d"),
    case(lambda x: F.max_pool2d(x, 2), (3, 4, 4), ("maxpool", {"kernel": 2}), id="F.max_pool2d"),
    case(lambda x: F.avg_pool2d(x, 3, 2, 1, ceil_mode=True), (3, 6, 6),
         ("avgpool", {"kernel": 3, "stride": 2, "padding": 1, "ceil_mode": True}), id="F.avg_pool2d"),
    case(lambda x: torch.flatten(x, 1), (3, 2, 2), ("flatten", {}), id="torch.flatten"),
    case(lambda x: x.view(x.size(0), -1), (3, 2, 2), ("flatten", {}), id="view-size-folded"),
    case(lambda x: x.reshape(x.shape[0], x.shape[1] - 1, -1), (3, 2, 2), ("reshape", {"shape": [2, 6]}),
         id="reshape-shape-folded"),
    case(lambda x: x.reshape(x.shape[0], x.shape[1] * 2, -1), (3, 2, 2), ("flatten", {"end": 1}),
         id="reshape-that-is-a-flatten"),
    case(lambda x: x.squeeze(-1), (3, 4, 1), ("flatten", {"start": 1}), id="squeeze"),
    case(lambda x: x.unsqueeze(1), (4,), ("reshape", {"shape": [1, 4]}), id="unsqueeze"),
    case(lambda x: x.permute(0, 2, 3, 1), (3, 4, 5), ("permute", {"dims": [1, 2, 0]}), id="permute"),
    case(lambda x: torch.permute(x, [0, 3, 1, 2]), (3, 4, 5), ("permute", {"dims": [2, 0, 1]}), id="torch.permute"),
    case(lambda x: torch.transpose(x, 2, 3), (3, 4, 5), ("permute", {"dims": [0, 2, 1]}), id="transpose"),
    case(lambda x: x.permute(0, 1, 2).contiguous().relu(), (3, 4), ("relu", {}), id="no-op-permute-contiguous"),
    case(lambda x: x[:, 2:5], (6, 3), ("channel_slice", {"start": 2, "stop": 5}), id="getitem-slice"),
    case(lambda x: x[:, -2:, ...], (6, 3), ("channel_slice", {"start": 4}), id="getitem-negative"),
    case(lambda x: torch.narrow(x, 1, 1, 2), (6, 3), ("channel_slice", {"start": 1, "stop": 3}), id="narrow"),
    case(lambda x: x.mean([2, 3]), (3, 4, 4), ("global_avgpool", {"keepdims": False}), id="mean"),
    case(lambda x: x.mean((-1, -2), keepdim=True), (3, 4, 4), ("global_avgpool", {}), id="mean-keepdim"),
    case(lambda x: torch.amax(x, (2, 3)), (3, 4, 4), ("global_maxpool", {"keepdims": False}), id="amax"),
    case(lambda x: F.interpolate(x, scale_factor=1.5, mode="bicubic"), (2, 4, 4), ("upsample", {"scale": 1.5,
                                                                                               "mode": "bicubic"}),
         id="F.interpolate-scale"),
    case(lambda x: F.interpolate(x, size=(3, 5)), (2, 4, 4), ("upsample", {"size": [3, 5]}), id="F.interpolate-size"),
    case(lambda x: F.pixel_shuffle(x, 2), (8, 2, 2), ("pixel_shuffle", {"factor": 2}), id="F.pixel_shuffle"),
    case(lambda x: F.pad(x, (1, 1)), (2, 3, 3), ("pad", {"padding": [0, 1]}), id="F.pad-last-axis"),
    case(lambda x: F.pad(x, (1, 0, 2, 2), mode="replicate"), (2, 3, 3),
         ("pad", {"padding": [[2, 2], [1, 0]], "mode": "replicate"}), id="F.pad-replicate"),
    case(lambda x: F.dropout(x, 0.2, training=False), (3, 4), ("dropout", {"p": 0.2}), id="F.dropout"),
    # arithmetic with numbers
    case(lambda x: x + 3, (3, 4), ("scalar", {"op": "add", "value": 3}), id="add-number"),
    case(lambda x: 3 + x, (3, 4), ("scalar", {"op": "add", "value": 3}), id="radd-number"),
    case(lambda x: x - 1.5, (3, 4), ("scalar", {"op": "sub", "value": 1.5}), id="sub-number"),
    case(lambda x: 1 - x, (3, 4), ("scalar", {"op": "rsub", "value": 1}), id="rsub-number"),
    case(lambda x: x * 0.5, (3, 4), ("scalar", {"op": "mul", "value": 0.5}), id="mul-number"),
    case(lambda x: x / 6, (3, 4), ("scalar", {"op": "div", "value": 6}), id="div-number"),
    case(lambda x: 6 / x, (3, 4), ("scalar", {"op": "rdiv", "value": 6}), id="rdiv-number"),
    case(lambda x: x ** 2, (3, 4), ("scalar", {"op": "pow", "value": 2}), id="pow-number"),
    case(lambda x: -x, (3, 4), ("scalar", {"op": "mul", "value": -1}), id="neg"),
    case(lambda x: x * (x.size(1) // 2), (4, 4), ("scalar", {"op": "mul", "value": 2}), id="mul-size-folded"),
    # merges of two activations
    case(lambda x: torch.add(x.relu(), x), (3, 4), ("relu", {}), ("add", {}), id="torch.add"),
    case(lambda x: operator.iadd(x.relu(), x), (3, 4), ("relu", {}), ("add", {}), id="operator.iadd"),
    case(lambda x: operator.sub(x.relu(), x), (3, 4), ("relu", {}), ("subtract", {}), id="sub"),
    case(lambda x: x.relu() * x, (3, 4), ("relu", {}), ("multiply", {}), id="mul"),
    case(lambda x: x.relu() / x.sigmoid(), (3, 4), ("relu", {}), ("sigmoid", {}), ("divide", {}), id="truediv"),
    case(lambda x: x.mean((2, 3), keepdim=True) + x, (3, 4, 4), ("global_avgpool", {}), ("add", {}),
         id="add-broadcast"),
    case(lambda x: torch.cat([x, x.relu()], 1), (3, 4), ("relu", {}), ("concat", {}), id="torch.cat"),
]


@pytest.mark.parametrize("fn, shape, expected", FUNCTIONS)
def test_function(fn, shape, expected):
    model = imported(lambda: Fn(fn), shape)
    assert mapped(model) == expected


class Parametrised(nn.Module):
    """Functional calls on the module's own parameters and buffers (fx get_attr nodes)."""

    def __init__(self):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(8, 3, 3, 3))
        self.bias = nn.Parameter(torch.zeros(8))
        self.gamma = nn.Parameter(torch.ones(8, 1, 1))
        self.beta = nn.Parameter(torch.zeros(8, 1, 1))
        self.register_buffer("scale", torch.ones(8, 1, 1))
        self.norm_weight = nn.Parameter(torch.ones(8))
        self.fc_weight = nn.Parameter(torch.ones(4, 8))

    def forward(self, x):
        x = F.conv2d(x, self.weight, self.bias, stride=2, padding=1)
        x = self.beta + self.gamma * x * self.scale
        x = x.permute(0, 2, 3, 1)
        x = x * self.norm_weight
        x = F.layer_norm(x, (8,), self.norm_weight, None, 1e-6)
        return F.linear(x, self.fc_weight)


def test_functional_forms_with_the_modules_own_parameters():
    model = imported(Parametrised, (3, 8, 8))
    assert [(l.name, l.kind, written(l.kind, l.fields)) for l in model.layers] == [
        ("conv2d", "conv", {"out": 8, "kernel": 3, "stride": 2, "padding": 1}),
        ("mul", "layer_scale", {}),
        ("mul_1", "layer_scale", {"learnable": False}),          # a buffer: fixed
        ("add", "bias_add", {}),
        ("permute", "permute", {"dims": [1, 2, 0]}),
        ("mul_2", "layer_scale", {"axis": "last"}),               # (C,) against a channels-last map
        ("layer_norm", "layernorm", {"axis": "last", "bias": False, "eps": 1e-6}),
        ("linear", "linear", {"out": 4, "bias": False, "axis": "last"})]


class SizedUp(nn.Module):
    """A transposed conv called with output_size, which torch meets with an output padding of its own."""

    def __init__(self):
        super().__init__()
        self.up = nn.ConvTranspose2d(4, 2, 3, 2, 1)

    def forward(self, x):
        return self.up(x, output_size=(10, 10))


def test_a_transposed_conv_called_with_an_output_size():
    # (5 − 1)·2 − 2·1 + 3 = 9 without output padding: 10 needs output_padding 1
    model = imported(SizedUp, (4, 5, 5))
    assert mapped(model) == [("conv_transpose", {"out": 2, "kernel": 3, "stride": 2, "padding": 1,
                                                 "output_padding": 1})]


UNMAPPABLE = [
    unmappable(lambda: Wrap(nn.LayerNorm((4, 5))), (3, 4, 5), "torch.nn.LayerNorm (it normalises over the last 2 axes [4, 5]; "
         "layernorm normalises one axis (over the channels or the last axis)) ×1 ('op')", id="LayerNorm-2-axes"),
    unmappable(lambda: Wrap(nn.MaxPool2d(2, return_indices=True)), (2, 4, 4),
         "torch.nn.MaxPool2d (return_indices (the indices for max-unpooling have no layer kind)) ×1 ('op')",
         id="MaxPool2d-return_indices"),
    unmappable(lambda: Wrap(nn.AvgPool2d(2, divisor_override=3)), (2, 4, 4),
         "torch.nn.AvgPool2d (divisor_override (avgpool divides by the window size)) ×1 ('op')", id="divisor_override"),
    unmappable(lambda: Wrap(nn.Softmax(dim=2)), (2, 4, 4),
         "torch.nn.Softmax (a softmax over axis 2 (neither the channels nor the last axis)) ×1 ('op')", id="Softmax-H"),
    unmappable(lambda: Wrap(nn.Upsample(scale_factor=2, mode="area")), (2, 4, 4), "torch.nn.Upsample (mode 'area' "
               "(upsample has nearest, linear, bilinear, trilinear and bicubic)) ×1 ('op')", id="Upsample-area"),
    unmappable(lambda: Fn(lambda x: F.interpolate(x, scale_factor=2, mode="nearest-exact")), (2, 4, 4),
         "torch.nn.functional.interpolate (mode 'nearest-exact' (upsample has nearest, linear, bilinear, trilinear and "
         "bicubic)) ×1 ('interpolate')", id="interpolate-nearest-exact"),
    unmappable(lambda: Fn(lambda x: torch.flatten(x)), (2, 3), "torch.flatten (it reshapes across the batch axis) ×1 "
         "('flatten')", id="flatten-batch"),
    unmappable(lambda: Fn(lambda x: x.transpose(0, 1)), (2, 3), "Tensor.transpose (it moves the batch axis) ×1 ('transpose')",
         id="transpose-batch"),
    unmappable(lambda: Fn(lambda x: x[:, :, 1:]), (2, 3), "operator.getitem (an index `[:, :, 1:]` that is not a "
         "slice of the channels) ×1 ('getitem')",
         id="getitem-spatial"),
    unmappable(lambda: Fn(lambda x: torch.cat([x, x], 2)), (2, 3), "torch.cat (a concatenation along an axis other than the "
         "channels) ×1 ('cat')", id="cat-spatial"),
    unmappable(lambda: Fn(lambda x: x.mean(1)), (2, 3), "Tensor.mean (a reduction over axes [1] (a global pool reduces every "
         "spatial axis)) ×1 ('mean')", id="mean-channels"),
    unmappable(lambda: Fn(lambda x: 2 ** x), (2, 3), "operator.pow (a number raised to a tensor power) ×1 ('pow_1')",
         id="rpow"),
    unmappable(lambda: Fn(lambda x: F.pad(x, (0, 0, 1, 1))), (2, 3), "torch.nn.functional.pad (it pads the channel or batch "
         "axis) ×1 ('pad')", id="pad-channels"),
    unmappable(lambda: Fn(lambda x: F.pad(x, (-1, -1))), (2, 3), "torch.nn.functional.pad (a negative pad (a crop)) ×1 "
         "('pad')", id="pad-negative"),
]


@pytest.mark.parametrize("make, shape, message", UNMAPPABLE)
def test_unmappable_settings_say_why(make, shape, message):
    with pytest.raises(SpecError) as caught:
        imported(make, shape)
    assert f"1 operator type with no convcalc layer kind (1 node): {message} — pass --allow-unsupported" \
        in str(caught.value)


# ---- multiple outputs, fusions ------------------------------------------------------------------------------------
class Splits(nn.Module):
    def forward(self, x):
        a, _, c = x.chunk(3, dim=1)
        d, e = torch.split(x, [1, 5], dim=1)
        return torch.cat([a, c, d, e], 1)


def test_splits_give_one_channel_slice_per_used_piece():
    model = imported(Splits, (6, 2))
    assert [(l.name, l.kind, l.fields, l.inputs) for l in model.layers] == [
        ("chunk.0", "channel_slice", {"stop": 2}, ["input"]),
        ("chunk.2", "channel_slice", {"start": 4}, ["input"]),
        ("split.0", "channel_slice", {"stop": 1}, ["input"]),
        ("split.1", "channel_slice", {"start": 1}, ["input"]),
        ("cat", "concat", {}, ["chunk.0", "chunk.2", "split.0", "split.1"])]
    assert [l.tensor for l in model.layers] == ["getitem", "getitem_2", "getitem_3", "getitem_4", "cat"]


def test_a_channel_shuffle_of_four_groups():
    def shuffle(x):
        batch, channels, height, width = x.size()
        x = x.view(batch, 4, channels // 4, height, width).transpose(1, 2).contiguous()
        return x.view(batch, -1, height, width)

    model = imported(lambda: Fn(shuffle), (8, 3, 3))
    assert [(l.name, l.kind, l.fields) for l in model.layers] == [("channel_shuffle", "channel_shuffle", {"groups": 4})]


def test_a_view_transpose_view_that_is_no_shuffle_stays_as_it_is():
    model = imported(lambda: Fn(lambda x: x.view(x.size(0), 2, 4, 3).transpose(1, 3).reshape(x.size(0), 8, 3)),
                     (8, 3))
    assert [l.kind for l in model.layers] == ["reshape", "permute", "reshape"]


def deform_conv_class():
    """A stand-in for torchvision.ops.DeformConv2d (torchvision is not installed here): the op table finds it by
    its qualified name, as it would find torchvision's, without importing torchvision."""

    class DeformConv2d(nn.Module):
        def __init__(self, c_in, c_out, kernel, stride=1, padding=0, dilation=1, groups=1, bias=True):
            super().__init__()
            self.weight = nn.Parameter(torch.empty(c_out, c_in // groups, kernel, kernel))
            self.bias = nn.Parameter(torch.empty(c_out)) if bias else None
            self.stride, self.padding, self.dilation = (stride, stride), (padding, padding), (dilation, dilation)

        def forward(self, input, offset, mask=None):  # the shape torchvision's gives, without its sampling
            return F.conv2d(input, self.weight, self.bias, self.stride, self.padding, self.dilation)

    DeformConv2d.__module__, DeformConv2d.__qualname__ = "torchvision.ops.deform_conv", "DeformConv2d"
    return DeformConv2d


def test_a_deformable_conv_takes_in_its_offset_and_mask_convs():
    DeformConv2d = deform_conv_class()

    class DCNv2(nn.Module):
        def __init__(self):
            super().__init__()
            self.offset = nn.Conv2d(4, 2 * 9, 3, padding=1)
            self.mask = nn.Conv2d(4, 9, 3, padding=1)
            self.deform = DeformConv2d(4, 6, 3, padding=1)

        def forward(self, x):
            return self.deform(x, self.offset(x), torch.sigmoid(self.mask(x)))

    model = imported(DCNv2, (4, 5, 5))
    assert [(l.name, l.kind, written(l.kind, l.fields), l.inputs) for l in model.layers] == [
        ("deform", "deformable", {"out": 6, "kernel": 3, "padding": 1, "modulated": True},
         ["input"])]


def test_a_deformable_conv_whose_offsets_are_not_a_conv_is_unsupported():
    DeformConv2d = deform_conv_class()

    class Odd(nn.Module):
        def __init__(self):
            super().__init__()
            self.deform = DeformConv2d(2, 2, 3, padding=1)

        def forward(self, x):
            return self.deform(x, torch.cat([x] * 9, 1))

    with pytest.raises(SpecError, match=r"convcalc_torch_test_cases.*DeformConv2d \(its offset \(and mask\) must each "
                                        r"come from a conv of the same input, used only here\) ×1 \('deform'\)"):
        imported(Odd, (2, 4, 4))


# ---- unsupported operators ----------------------------------------------------------------------------------------
class Unknown(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 1)
        self.act = nn.CELU()

    def forward(self, x):
        x = torch.cumsum(self.conv(x), 1)
        x = self.act(torch.cumsum(x, 2))
        return x.flip(1)


def test_every_unsupported_operator_is_listed_in_one_error():
    with pytest.raises(SpecError) as caught:
        imported(Unknown, (3, 4, 4))
    message = str(caught.value)
    source = message.split(": ", 1)[0]
    assert source.startswith("torch:convcalc_torch_test_cases:case")
    assert message == (f"{source}: 3 operator types with no convcalc layer kind (4 nodes): torch.cumsum ×2 "
                       "('cumsum', 'cumsum_1'); torch.nn.CELU ×1 ('act'); Tensor.flip ×1 ('flip') — pass "
                       "--allow-unsupported to count them as zero-cost `unsupported` placeholders (listed in the report)")


def test_allowed_unsupported_operators_become_placeholders():
    model = imported(Unknown, (3, 4, 4), allow_unsupported=True)
    assert [(l.name, l.kind, l.fields, l.inputs) for l in model.layers] == [
        ("conv", "conv", {"out": 4, "kernel": 1}, ["input"]),
        ("cumsum", "unsupported", {"op": "torch.cumsum", "shape": [4, 4, 4], "of": "cumsum"}, ["conv"]),
        ("cumsum_1", "unsupported", {"op": "torch.cumsum", "shape": [4, 4, 4], "of": "cumsum_1"}, ["cumsum"]),
        ("act", "unsupported", {"op": "torch.nn.CELU", "shape": [4, 4, 4], "of": "act"}, ["cumsum_1"]),
        ("flip", "unsupported", {"op": "Tensor.flip", "shape": [4, 4, 4], "of": "flip"}, ["act"])]
    assert [(u.op, u.count, u.nodes) for u in model.unsupported] == [
        ("torch.cumsum", 2, ["cumsum", "cumsum_1"]), ("torch.nn.CELU", 1, ["act"]), ("Tensor.flip", 1, ["flip"])]


def test_the_unsupported_test_model():
    from .models import UNSUPPORTED

    builder, shape = UNSUPPORTED
    with pytest.raises(SpecError, match=r"1 operator type with no convcalc layer kind \(1 node\): torch.cumsum ×1 "
                                        r"\('cumsum'\)"):
        imported(builder, shape)
    model = imported(builder, shape, allow_unsupported=True)
    assert layer(model, "cumsum").fields == {"op": "torch.cumsum", "shape": [4, 14, 14], "of": "cumsum"}
    assert layer(model, "pool").inputs == ["cumsum"]
    report = analyse(model)
    assert report.totals.macs == 4 * 14 * 14 * 27 + 4 * 2  # the conv and fc: the cumsum adds nothing


# ---- names --------------------------------------------------------------------------------------------------------
class Permute(nn.Module):
    def __init__(self, dims):
        super().__init__()
        self.dims = dims

    def forward(self, x):
        return torch.permute(x, self.dims)


class Twice(nn.Module):
    """A module called twice, and a module whose forward is one functional op."""

    def __init__(self):
        super().__init__()
        self.act = nn.ReLU()
        self.to_last = Permute([0, 2, 1])
        self.block = nn.Sequential(nn.Conv1d(2, 2, 1), nn.ReLU())

    def forward(self, x):
        y = self.block(self.act(x))
        y = self.block(self.act(y)) + y
        return self.to_last(y + y)


def test_names_of_repeated_calls_and_one_op_modules():
    model = imported(Twice, (2, 5))
    assert [(l.name, l.kind, l.scope) for l in model.layers] == [
        ("act", "relu", ()),
        ("block.0", "conv", (("block", "Sequential"),)),
        ("block.1", "relu", (("block", "Sequential"),)),
        ("act_1", "relu", ()),
        ("block.0_1", "conv", (("block", "Sequential"),)),
        ("block.1_1", "relu", (("block", "Sequential"),)),
        ("add", "add", ()),
        ("add_1", "add", ()),
        ("to_last", "permute", ())]
    assert layer(model, "block.0_1").origin == "torch.nn.Conv1d 'block.0'"
    assert layer(model, "to_last").origin == "torch.permute 'permute'"


def test_an_unused_computation_is_left_out_with_a_warning():
    class Unused(nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.b = nn.Conv2d(3, 3, 1), nn.Conv2d(3, 3, 1)

        def forward(self, x):
            self.b(x)
            return self.a(x)

    model = imported(Unused, (3, 2, 2))
    assert [l.name for l in model.layers] == ["a"]
    assert model.warnings == ["1 operation(s) do not feed the output and are left out: 'b'"]

