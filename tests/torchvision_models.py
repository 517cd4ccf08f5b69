"""Whole torchvision classifiers, rewritten here because torchvision cannot be installed: the witnesses of
tests/test_torchvision_configs.py for the shipped configs of the same names.

Each builder follows torchvision's source module for module (the same layers, widths, biases and order; module
names are not kept), at these versions of pytorch/vision:

* ``mobilenet_v3_large``, ``mobilenet_v3_small``: torchvision/models/mobilenetv3.py at 2f7f558158c8
  (InvertedResidualConfig, InvertedResidual, MobileNetV3, _mobilenet_v3_conf) and torchvision/ops/misc.py
  (Conv2dNormActivation, SqueezeExcitation);
* ``efficientnet``: torchvision/models/efficientnet.py at 53938452198c (MBConvConfig, MBConv, EfficientNet,
  _efficientnet; efficientnet_b0, b1, b2, b3 = width 1.0, 1.0, 1.1, 1.2 and depth 1.0, 1.1, 1.2, 1.4);
* ``regnet_y_400mf``, ``regnet_y_800mf``, ``regnet_y_1_6gf``, ``regnet_y_3_2gf``: torchvision/models/regnet.py at 90a8f703cd1f (SimpleStemIN, BottleneckTransform,
  ResBottleneckBlock, AnyStage, BlockParams.from_init_params and _adjust_widths_groups_compatibilty, RegNet);
* ``convnext_tiny``: torchvision/models/convnext.py at 086fe1f69de3 (LayerNorm2d, CNBlock, ConvNeXt).

Stochastic depth and dropout are the identity at inference and hold no weights, so they are left out. Build the
models under ``torch.device("meta")`` to count params and MACs without allocating the weights.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


def make_divisible(v, divisor=8, min_value=None):
    """torchvision/models/_utils.py `_make_divisible`: the nearest multiple of ``divisor``, never 10 % below."""
    min_value = divisor if min_value is None else min_value
    new = max(min_value, int(v + divisor / 2) // divisor * divisor)
    return new + divisor if new < 0.9 * v else new


def conv_bn_act(c_in, c_out, kernel=1, stride=1, groups=1, act=None, eps=1e-5):
    """torchvision.ops.Conv2dNormActivation with BatchNorm2d: conv (bias off, padding (k − 1)/2), norm, act."""
    layers = [nn.Conv2d(c_in, c_out, kernel, stride, (kernel - 1) // 2, groups=groups, bias=False),
              nn.BatchNorm2d(c_out, eps=eps)]
    if act is not None:
        layers.append(act())
    return nn.Sequential(*layers)


class SqueezeExcitation(nn.Module):
    """torchvision.ops.SqueezeExcitation: pool, fc1 (1×1 conv with bias), activation, fc2, scale activation,
    scale · input."""

    def __init__(self, channels, squeeze, activation=nn.ReLU, scale_activation=nn.Sigmoid):
        super().__init__()
        self.fc1 = nn.Conv2d(channels, squeeze, 1)
        self.fc2 = nn.Conv2d(squeeze, channels, 1)
        self.activation, self.scale_activation = activation(), scale_activation()

    def forward(self, x):
        scale = self.fc2(self.activation(self.fc1(F.adaptive_avg_pool2d(x, 1))))
        return self.scale_activation(scale) * x


class Residual(nn.Module):
    """``body(x) + x`` when ``skip``, else ``body(x)``."""

    def __init__(self, body, skip):
        super().__init__()
        self.body, self.skip = body, skip

    def forward(self, x):
        return self.body(x) + x if self.skip else self.body(x)


# ---- MobileNetV3 --------------------------------------------------------------------------------------------
# (input, kernel, expanded, out, use_se, activation, stride): _mobilenet_v3_conf's rows, dilation 1
V3_LARGE = [(16, 3, 16, 16, False, "RE", 1), (16, 3, 64, 24, False, "RE", 2), (24, 3, 72, 24, False, "RE", 1),
            (24, 5, 72, 40, True, "RE", 2), (40, 5, 120, 40, True, "RE", 1), (40, 5, 120, 40, True, "RE", 1),
            (40, 3, 240, 80, False, "HS", 2), (80, 3, 200, 80, False, "HS", 1), (80, 3, 184, 80, False, "HS", 1),
            (80, 3, 184, 80, False, "HS", 1), (80, 3, 480, 112, True, "HS", 1), (112, 3, 672, 112, True, "HS", 1),
            (112, 5, 672, 160, True, "HS", 2), (160, 5, 960, 160, True, "HS", 1), (160, 5, 960, 160, True, "HS", 1)]
V3_SMALL = [(16, 3, 16, 16, True, "RE", 2), (16, 3, 72, 24, False, "RE", 2), (24, 3, 88, 24, False, "RE", 1),
            (24, 5, 96, 40, True, "HS", 2), (40, 5, 240, 40, True, "HS", 1), (40, 5, 240, 40, True, "HS", 1),
            (40, 5, 120, 48, True, "HS", 1), (48, 5, 144, 48, True, "HS", 1), (48, 5, 288, 96, True, "HS", 2),
            (96, 5, 576, 96, True, "HS", 1), (96, 5, 576, 96, True, "HS", 1)]


def mobilenet_v3(rows, last_channel, width_mult=1.0, num_classes=1000):
    adjust = lambda c: make_divisible(c * width_mult, 8)  # noqa: E731  (InvertedResidualConfig.adjust_channels)
    bn_eps = 0.001
    layers = [conv_bn_act(3, adjust(rows[0][0]), 3, 2, act=nn.Hardswish, eps=bn_eps)]
    for c_in, kernel, expanded, c_out, use_se, activation, stride in rows:
        c_in, expanded, c_out = adjust(c_in), adjust(expanded), adjust(c_out)
        act = nn.Hardswish if activation == "HS" else nn.ReLU
        block = []
        if expanded != c_in:
            block.append(conv_bn_act(c_in, expanded, 1, act=act, eps=bn_eps))
        block.append(conv_bn_act(expanded, expanded, kernel, stride, groups=expanded, act=act, eps=bn_eps))
        if use_se:
            block.append(SqueezeExcitation(expanded, make_divisible(expanded // 4, 8),
                                           scale_activation=nn.Hardsigmoid))
        block.append(conv_bn_act(expanded, c_out, 1, eps=bn_eps))
        layers.append(Residual(nn.Sequential(*block), stride == 1 and c_in == c_out))
    last_in = adjust(rows[-1][3])
    layers.append(conv_bn_act(last_in, 6 * last_in, 1, act=nn.Hardswish, eps=bn_eps))
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(1),
                         nn.Linear(6 * last_in, adjust(last_channel)), nn.Hardswish(),
                         nn.Linear(adjust(last_channel), num_classes))


def mobilenet_v3_large():
    return mobilenet_v3(V3_LARGE, 1280)


def mobilenet_v3_small():
    return mobilenet_v3(V3_SMALL, 1024)


# ---- EfficientNet (B0–B7) ---------------------------------------------------------------------------------------
# (expand_ratio, kernel, stride, input, out, num_layers): _efficientnet's bneck_conf rows
EFFICIENTNET = [(1, 3, 1, 32, 16, 1), (6, 3, 2, 16, 24, 2), (6, 5, 2, 24, 40, 2), (6, 3, 2, 40, 80, 3),
                (6, 5, 1, 80, 112, 3), (6, 5, 2, 112, 192, 4), (6, 3, 1, 192, 320, 1)]


def efficientnet(width_mult, depth_mult, num_classes=1000):
    adjust = lambda c, mult=width_mult: make_divisible(c * mult, 8)  # noqa: E731  (MBConvConfig.adjust_channels)
    layers = [conv_bn_act(3, adjust(EFFICIENTNET[0][3]), 3, 2, act=nn.SiLU)]
    for expand_ratio, kernel, stride, c_in, c_out, num_layers in EFFICIENTNET:
        c_in, c_out = adjust(c_in), adjust(c_out)
        for i in range(int(math.ceil(num_layers * depth_mult))):  # MBConvConfig.adjust_depth
            block_in, block_stride = (c_in, stride) if i == 0 else (c_out, 1)
            expanded = adjust(block_in, expand_ratio)
            block = []
            if expanded != block_in:
                block.append(conv_bn_act(block_in, expanded, 1, act=nn.SiLU))
            block += [conv_bn_act(expanded, expanded, kernel, block_stride, groups=expanded, act=nn.SiLU),
                      SqueezeExcitation(expanded, max(1, block_in // 4), activation=nn.SiLU),
                      conv_bn_act(expanded, c_out, 1)]
            layers.append(Residual(nn.Sequential(*block), block_stride == 1 and block_in == c_out))
    last_in = adjust(EFFICIENTNET[-1][4])
    layers.append(conv_bn_act(last_in, 4 * last_in, 1, act=nn.SiLU))
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(1), nn.Linear(4 * last_in, num_classes))


def efficientnet_b0():
    return efficientnet(1.0, 1.0)


def efficientnet_b1():
    return efficientnet(1.0, 1.1)


def efficientnet_b2():
    return efficientnet(1.1, 1.2)


def efficientnet_b3():
    return efficientnet(1.2, 1.4)


# ---- RegNet ----------------------------------------------------------------------------------------------------
def regnet_block_params(depth, w_0, w_a, w_m, group_width, bottleneck_multiplier=1.0):
    """BlockParams.from_init_params: (stage widths, stage depths, group widths), quantised to multiples of 8."""
    widths_cont = torch.arange(depth, device="cpu") * w_a + w_0  # on the CPU even under torch.device("meta")
    block_capacity = torch.round(torch.log(widths_cont / w_0) / math.log(w_m))
    block_widths = (torch.round(torch.divide(w_0 * torch.pow(w_m, block_capacity), 8)) * 8).int().tolist()
    splits = [w != wp for w, wp in zip(block_widths + [0], [0] + block_widths)]
    stage_widths = [w for w, t in zip(block_widths, splits[:-1]) if t]
    stage_depths = torch.diff(torch.tensor([d for d, t in enumerate(splits) if t], device="cpu")).int().tolist()
    # _adjust_widths_groups_compatibilty
    bottlenecks = [int(w * bottleneck_multiplier) for w in stage_widths]
    group_widths = [min(group_width, w) for w in bottlenecks]
    bottlenecks = [make_divisible(w, g) for w, g in zip(bottlenecks, group_widths)]
    stage_widths = [int(w / bottleneck_multiplier) for w in bottlenecks]
    return stage_widths, stage_depths, group_widths


class ResBottleneckBlock(nn.Module):
    """x + F(x) (a projection of x when the shape changes), then ReLU; F = 1×1, 3×3 grouped, SE, 1×1."""

    def __init__(self, w_in, w_out, stride, group_width, se_ratio, bottleneck_multiplier=1.0):
        super().__init__()
        w_b = int(round(w_out * bottleneck_multiplier))
        self.proj = conv_bn_act(w_in, w_out, 1, stride) if (w_in != w_out or stride != 1) else None
        self.f = nn.Sequential(conv_bn_act(w_in, w_b, 1, act=nn.ReLU),
                               conv_bn_act(w_b, w_b, 3, stride, groups=w_b // group_width, act=nn.ReLU),
                               SqueezeExcitation(w_b, int(round(se_ratio * w_in)), activation=nn.ReLU),
                               conv_bn_act(w_b, w_out, 1))
        self.activation = nn.ReLU()

    def forward(self, x):
        return self.activation((self.proj(x) if self.proj is not None else x) + self.f(x))


def regnet_y(depth, w_0, w_a, w_m, group_width, se_ratio=0.25, stem_width=32, num_classes=1000):
    widths, depths, group_widths = regnet_block_params(depth, w_0, w_a, w_m, group_width)
    layers, current = [conv_bn_act(3, stem_width, 3, 2, act=nn.ReLU)], stem_width
    for width, stage_depth, g in zip(widths, depths, group_widths):
        for i in range(stage_depth):
            layers.append(ResBottleneckBlock(current if i == 0 else width, width, 2 if i == 0 else 1, g, se_ratio))
        current = width
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(1), nn.Linear(current, num_classes))


def regnet_y_400mf():
    return regnet_y(depth=16, w_0=48, w_a=27.89, w_m=2.09, group_width=8)


def regnet_y_800mf():
    return regnet_y(depth=14, w_0=56, w_a=38.84, w_m=2.4, group_width=16)


def regnet_y_1_6gf():
    return regnet_y(depth=27, w_0=48, w_a=20.71, w_m=2.65, group_width=24)


def regnet_y_3_2gf():
    return regnet_y(depth=21, w_0=80, w_a=42.63, w_m=2.66, group_width=24)


# ---- ConvNeXt ---------------------------------------------------------------------------------------------------
class LayerNorm2d(nn.LayerNorm):
    """A LayerNorm over the channels of a (B, C, H, W) tensor."""

    def forward(self, x):
        return F.layer_norm(x.permute(0, 2, 3, 1), self.normalized_shape, self.weight, self.bias,
                            self.eps).permute(0, 3, 1, 2)


class CNBlock(nn.Module):
    """7×7 depthwise conv, channels-last LayerNorm, Linear 4× up, GELU, Linear down, layer scale, residual."""

    def __init__(self, dim):
        super().__init__()
        self.dwconv = nn.Conv2d(dim, dim, 7, padding=3, groups=dim)
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = nn.Sequential(nn.Linear(dim, 4 * dim), nn.GELU(), nn.Linear(4 * dim, dim))
        self.layer_scale = nn.Parameter(torch.full((dim, 1, 1), 1e-6))

    def forward(self, x):
        y = self.mlp(self.norm(self.dwconv(x).permute(0, 2, 3, 1))).permute(0, 3, 1, 2)
        return self.layer_scale * y + x


def convnext(dims=(96, 192, 384, 768), depths=(3, 3, 9, 3), num_classes=1000):
    layers = [nn.Conv2d(3, dims[0], 4, 4), LayerNorm2d(dims[0], eps=1e-6)]
    for i, (dim, depth) in enumerate(zip(dims, depths)):
        layers += [CNBlock(dim) for _ in range(depth)]
        if i + 1 < len(dims):
            layers += [LayerNorm2d(dim, eps=1e-6), nn.Conv2d(dim, dims[i + 1], 2, 2)]
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), LayerNorm2d(dims[-1], eps=1e-6), nn.Flatten(1),
                         nn.Linear(dims[-1], num_classes))


def convnext_tiny():
    return convnext()
