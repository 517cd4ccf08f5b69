"""The PyTorch test models for the importers, written here because torchvision cannot be installed.

Each follows torchvision's layout (module names, submodule classes, the order of operations), so an import
reproduces the names a user of torchvision would see (``layer1.0.conv1``, ``features.3.block.1``). ``MODELS``
lists them with the input shape (per sample) each is imported with; ``resnet50`` is the full torchvision
ResNet-50, for the readability goal and the benchmark (build it under ``torch.device("meta")`` to take no memory).

Sources of the layouts: torchvision/models/resnet.py (Bottleneck, ResNet), mobilenetv2.py (InvertedResidual),
mobilenetv3.py (InvertedResidual with SqueezeExcitation), efficientnet.py (MBConv), shufflenetv2.py
(InvertedResidual, channel_shuffle), densenet.py (_DenseLayer, _DenseBlock), googlenet.py (Inception),
convnext.py (CNBlock, LayerNorm2d), and the UNet of Ronneberger et al. 2015.
"""

from __future__ import annotations

from functools import partial

import torch
import torch.nn.functional as F
from torch import nn


# ---- building blocks shared by several models ---------------------------------------------------------------
class ConvNormActivation(nn.Sequential):
    """torchvision.ops.Conv2dNormActivation: conv (no bias), batch norm, activation; children named 0, 1, 2."""

    def __init__(self, c_in, c_out, kernel=3, stride=1, groups=1, activation=nn.ReLU, dim=2):
        conv = [nn.Conv1d, nn.Conv2d, nn.Conv3d][dim - 1]
        norm = [nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d][dim - 1]
        layers = [conv(c_in, c_out, kernel, stride, (kernel - 1) // 2, groups=groups, bias=False), norm(c_out)]
        if activation is not None:
            layers.append(activation(inplace=True) if activation in (nn.ReLU, nn.ReLU6, nn.Hardswish, nn.SiLU)
                          else activation())
        super().__init__(*layers)


class SqueezeExcitation(nn.Module):
    """torchvision.ops.SqueezeExcitation: avgpool, fc1 (1×1 conv), activation, fc2, scale activation, multiply."""

    def __init__(self, channels, squeeze, activation=nn.ReLU, scale_activation=nn.Sigmoid):
        super().__init__()
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Conv2d(channels, squeeze, 1)
        self.fc2 = nn.Conv2d(squeeze, channels, 1)
        self.activation = activation()
        self.scale_activation = scale_activation()

    def forward(self, x):
        scale = self.scale_activation(self.fc2(self.activation(self.fc1(self.avgpool(x)))))
        return scale * x


def make_divisible(v, divisor=8):
    """torchvision's _make_divisible: round to a multiple of ``divisor``, never more than 10 % down."""
    new = max(divisor, int(v + divisor / 2) // divisor * divisor)
    return new + divisor if new < 0.9 * v else new


# ---- ResNet (bottleneck) ------------------------------------------------------------------------------------
class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, c_in, mid, stride=1, downsample=None):
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, mid, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(mid)
        self.conv2 = nn.Conv2d(mid, mid, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(mid)
        self.conv3 = nn.Conv2d(mid, mid * 4, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(mid * 4)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x):
        identity = x
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        if self.downsample is not None:
            identity = self.downsample(x)
        out += identity
        return self.relu(out)


class ResNet(nn.Module):
    def __init__(self, layers=(3, 4, 6, 3), width=64, num_classes=1000):
        super().__init__()
        self.inplanes = width
        self.conv1 = nn.Conv2d(3, width, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        self.layer1 = self._make_layer(width, layers[0])
        self.layer2 = self._make_layer(width * 2, layers[1], 2)
        self.layer3 = self._make_layer(width * 4, layers[2], 2)
        self.layer4 = self._make_layer(width * 8, layers[3], 2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(width * 8 * 4, num_classes)

    def _make_layer(self, mid, blocks, stride=1):
        downsample = None
        if stride != 1 or self.inplanes != mid * 4:
            downsample = nn.Sequential(nn.Conv2d(self.inplanes, mid * 4, 1, stride, bias=False),
                                       nn.BatchNorm2d(mid * 4))
        layers = [Bottleneck(self.inplanes, mid, stride, downsample)]
        self.inplanes = mid * 4
        layers += [Bottleneck(self.inplanes, mid) for _ in range(1, blocks)]
        return nn.Sequential(*layers)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


def resnet50(num_classes=1000):
    """torchvision's resnet50(): 25,557,032 params, 4,089,184,256 MACs at 3×224×224 (its model table)."""
    return ResNet((3, 4, 6, 3), 64, num_classes)


def resnet_stack():
    """A small bottleneck ResNet: two stages of two bottlenecks, width 16, 10 classes."""
    return ResNet((2, 2, 1, 1), 16, 10)


# ---- MobileNetV2 --------------------------------------------------------------------------------------------
class InvertedResidualV2(nn.Module):
    def __init__(self, c_in, c_out, stride, expand_ratio):
        super().__init__()
        hidden = int(round(c_in * expand_ratio))
        self.use_res_connect = stride == 1 and c_in == c_out
        layers = []
        if expand_ratio != 1:
            layers.append(ConvNormActivation(c_in, hidden, 1, activation=nn.ReLU6))
        layers += [ConvNormActivation(hidden, hidden, 3, stride, groups=hidden, activation=nn.ReLU6),
                   nn.Conv2d(hidden, c_out, 1, 1, 0, bias=False), nn.BatchNorm2d(c_out)]
        self.conv = nn.Sequential(*layers)

    def forward(self, x):
        return x + self.conv(x) if self.use_res_connect else self.conv(x)


class MobileNetV2Blocks(nn.Module):
    """The stem and the first three stages of MobileNetV2 (t, c, n, s = 1,16,1,1; 6,24,2,2; 6,32,3,2), a head."""

    def __init__(self, num_classes=10):
        super().__init__()
        features = [ConvNormActivation(3, 32, stride=2, activation=nn.ReLU6)]
        c_in = 32
        for t, c, n, s in ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2)):
            for i in range(n):
                features.append(InvertedResidualV2(c_in, c, s if i == 0 else 1, t))
                c_in = c
        features.append(ConvNormActivation(c_in, 128, 1, activation=nn.ReLU6))
        self.features = nn.Sequential(*features)
        self.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(128, num_classes))

    def forward(self, x):
        x = self.features(x)
        x = nn.functional.adaptive_avg_pool2d(x, (1, 1))
        return self.classifier(torch.flatten(x, 1))


# ---- MobileNetV3 --------------------------------------------------------------------------------------------
class InvertedResidualV3(nn.Module):
    def __init__(self, c_in, kernel, expanded, c_out, use_se, activation, stride):
        super().__init__()
        self.use_res_connect = stride == 1 and c_in == c_out
        act = nn.Hardswish if activation == "HS" else nn.ReLU
        layers = []
        if expanded != c_in:
            layers.append(ConvNormActivation(c_in, expanded, 1, activation=act))
        layers.append(ConvNormActivation(expanded, expanded, kernel, stride, groups=expanded, activation=act))
        if use_se:
            layers.append(SqueezeExcitation(expanded, make_divisible(expanded // 4), scale_activation=nn.Hardsigmoid))
        layers.append(ConvNormActivation(expanded, c_out, 1, activation=None))
        self.block = nn.Sequential(*layers)

    def forward(self, x):
        result = self.block(x)
        return result + x if self.use_res_connect else result


class MobileNetV3Blocks(nn.Module):
    """MobileNetV3-Small's stem and first four blocks (torchvision's table), then its head with hardswish."""

    def __init__(self, num_classes=10):
        super().__init__()
        settings = ((16, 3, 16, 16, True, "RE", 2), (16, 3, 72, 24, False, "RE", 2),
                    (24, 3, 88, 24, False, "RE", 1), (24, 5, 96, 40, True, "HS", 2))
        features = [ConvNormActivation(3, 16, 3, 2, activation=nn.Hardswish)]
        features += [InvertedResidualV3(*s) for s in settings]
        features.append(ConvNormActivation(40, 240, 1, activation=nn.Hardswish))
        self.features = nn.Sequential(*features)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(nn.Linear(240, 128), nn.Hardswish(inplace=True), nn.Dropout(0.2, inplace=True),
                                        nn.Linear(128, num_classes))

    def forward(self, x):
        return self.classifier(torch.flatten(self.avgpool(self.features(x)), 1))


# ---- EfficientNet MBConv ------------------------------------------------------------------------------------
class StochasticDepth(nn.Module):
    """torchvision.ops.StochasticDepth: the identity in eval mode."""

    def __init__(self, p):
        super().__init__()
        self.p = p

    def forward(self, x):
        if not self.training or self.p == 0:
            return x
        keep = torch.empty(x.shape[0], 1, 1, 1, dtype=x.dtype, device=x.device).bernoulli_(1 - self.p)
        return x * keep / (1 - self.p)


class MBConv(nn.Module):
    def __init__(self, c_in, c_out, kernel, stride, expand_ratio, sd_prob=0.0):
        super().__init__()
        self.use_res_connect = stride == 1 and c_in == c_out
        expanded = make_divisible(c_in * expand_ratio)
        layers = []
        if expanded != c_in:
            layers.append(ConvNormActivation(c_in, expanded, 1, activation=nn.SiLU))
        layers.append(ConvNormActivation(expanded, expanded, kernel, stride, groups=expanded, activation=nn.SiLU))
        layers.append(SqueezeExcitation(expanded, max(1, c_in // 4), activation=partial(nn.SiLU, inplace=True)))
        layers.append(ConvNormActivation(expanded, c_out, 1, activation=None))
        self.block = nn.Sequential(*layers)
        self.stochastic_depth = StochasticDepth(sd_prob)

    def forward(self, x):
        result = self.block(x)
        if self.use_res_connect:
            result = self.stochastic_depth(result) + x
        return result


class EfficientNetBlocks(nn.Module):
    """EfficientNet-B0's stem and its stages 1–3 (MBConv1 k3 16, MBConv6 k3 24 ×2, MBConv6 k5 40 ×2)."""

    def __init__(self, num_classes=10):
        super().__init__()
        features = [ConvNormActivation(3, 32, 3, 2, activation=nn.SiLU)]
        stages, c_in = [], 32
        for expand, kernel, stride, c_out, n in ((1, 3, 1, 16, 1), (6, 3, 2, 24, 2), (6, 5, 2, 40, 2)):
            stage = []
            for i in range(n):
                stage.append(MBConv(c_in, c_out, kernel, stride if i == 0 else 1, expand, 0.2 * len(stages) / 3))
                c_in = c_out
            stages.append(nn.Sequential(*stage))
        features += stages
        features.append(ConvNormActivation(c_in, 160, 1, activation=nn.SiLU))
        self.features = nn.Sequential(*features)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(nn.Dropout(0.2, inplace=True), nn.Linear(160, num_classes))

    def forward(self, x):
        return self.classifier(torch.flatten(self.avgpool(self.features(x)), 1))


# ---- ShuffleNetV2 -------------------------------------------------------------------------------------------
def channel_shuffle(x, groups: int):
    batch, channels, height, width = x.size()
    x = x.view(batch, groups, channels // groups, height, width)
    x = torch.transpose(x, 1, 2).contiguous()
    return x.view(batch, channels, height, width)


class ShuffleUnit(nn.Module):
    """torchvision's shufflenetv2.InvertedResidual (split, branch, concat, shuffle)."""

    def __init__(self, c_in, c_out, stride):
        super().__init__()
        self.stride = stride
        branch = c_out // 2
        if stride > 1:
            self.branch1 = nn.Sequential(
                nn.Conv2d(c_in, c_in, 3, stride, 1, groups=c_in, bias=False), nn.BatchNorm2d(c_in),
                nn.Conv2d(c_in, branch, 1, bias=False), nn.BatchNorm2d(branch), nn.ReLU(inplace=True))
        else:
            self.branch1 = nn.Sequential()
        self.branch2 = nn.Sequential(
            nn.Conv2d(c_in if stride > 1 else branch, branch, 1, bias=False), nn.BatchNorm2d(branch),
            nn.ReLU(inplace=True),
            nn.Conv2d(branch, branch, 3, stride, 1, groups=branch, bias=False), nn.BatchNorm2d(branch),
            nn.Conv2d(branch, branch, 1, bias=False), nn.BatchNorm2d(branch), nn.ReLU(inplace=True))

    def forward(self, x):
        if self.stride == 1:
            x1, x2 = x.chunk(2, dim=1)
            out = torch.cat((x1, self.branch2(x2)), dim=1)
        else:
            out = torch.cat((self.branch1(x), self.branch2(x)), dim=1)
        return channel_shuffle(out, 2)


class ShuffleNetV2Units(nn.Module):
    def __init__(self, num_classes=10):
        super().__init__()
        self.conv1 = nn.Sequential(nn.Conv2d(3, 24, 3, 2, 1, bias=False), nn.BatchNorm2d(24), nn.ReLU(inplace=True))
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        self.stage2 = nn.Sequential(ShuffleUnit(24, 48, 2), ShuffleUnit(48, 48, 1), ShuffleUnit(48, 48, 1))
        self.fc = nn.Linear(48, num_classes)

    def forward(self, x):
        x = self.stage2(self.maxpool(self.conv1(x)))
        return self.fc(x.mean([2, 3]))


# ---- DenseNet -----------------------------------------------------------------------------------------------
class DenseLayer(nn.Module):
    def __init__(self, c_in, growth, bn_size):
        super().__init__()
        self.norm1 = nn.BatchNorm2d(c_in)
        self.relu1 = nn.ReLU(inplace=True)
        self.conv1 = nn.Conv2d(c_in, bn_size * growth, 1, bias=False)
        self.norm2 = nn.BatchNorm2d(bn_size * growth)
        self.relu2 = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(bn_size * growth, growth, 3, 1, 1, bias=False)

    def forward(self, features):
        concated = torch.cat(features, 1)
        return self.conv2(self.relu2(self.norm2(self.conv1(self.relu1(self.norm1(concated))))))


class DenseBlock(nn.ModuleDict):
    def __init__(self, layers, c_in, growth=12, bn_size=4):
        super().__init__()
        for i in range(layers):
            self.add_module(f"denselayer{i + 1}", DenseLayer(c_in + i * growth, growth, bn_size))

    def forward(self, init):
        features = [init]
        for layer in self.values():
            features.append(layer(features))
        return torch.cat(features, 1)


class DenseNetBlock(nn.Module):
    def __init__(self, num_classes=10):
        super().__init__()
        self.features = nn.Sequential()
        self.features.add_module("conv0", nn.Conv2d(3, 24, 3, 1, 1, bias=False))
        self.features.add_module("denseblock1", DenseBlock(4, 24))
        self.features.add_module("norm5", nn.BatchNorm2d(24 + 4 * 12))
        self.classifier = nn.Linear(24 + 4 * 12, num_classes)

    def forward(self, x):
        out = F.relu(self.features(x), inplace=True)
        out = F.adaptive_avg_pool2d(out, (1, 1))
        return self.classifier(torch.flatten(out, 1))


# ---- Inception ----------------------------------------------------------------------------------------------
class BasicConv2d(nn.Module):
    def __init__(self, c_in, c_out, **kwargs):
        super().__init__()
        self.conv = nn.Conv2d(c_in, c_out, bias=False, **kwargs)
        self.bn = nn.BatchNorm2d(c_out, eps=0.001)

    def forward(self, x):
        return F.relu(self.bn(self.conv(x)), inplace=True)


class Inception(nn.Module):
    """GoogLeNet's Inception module (torchvision: the "5×5" branch uses a 3×3 conv)."""

    def __init__(self, c_in, ch1x1, ch3x3red, ch3x3, ch5x5red, ch5x5, pool_proj):
        super().__init__()
        self.branch1 = BasicConv2d(c_in, ch1x1, kernel_size=1)
        self.branch2 = nn.Sequential(BasicConv2d(c_in, ch3x3red, kernel_size=1),
                                     BasicConv2d(ch3x3red, ch3x3, kernel_size=3, padding=1))
        self.branch3 = nn.Sequential(BasicConv2d(c_in, ch5x5red, kernel_size=1),
                                     BasicConv2d(ch5x5red, ch5x5, kernel_size=3, padding=1))
        self.branch4 = nn.Sequential(nn.MaxPool2d(3, 1, 1, ceil_mode=True), BasicConv2d(c_in, pool_proj, kernel_size=1))

    def forward(self, x):
        return torch.cat([self.branch1(x), self.branch2(x), self.branch3(x), self.branch4(x)], 1)


class InceptionNet(nn.Module):
    def __init__(self, num_classes=10):
        super().__init__()
        self.conv1 = BasicConv2d(3, 32, kernel_size=3, stride=2, padding=1)
        self.maxpool1 = nn.MaxPool2d(3, 2, ceil_mode=True)
        self.inception3a = Inception(32, 16, 24, 32, 4, 8, 8)
        self.inception3b = Inception(64, 32, 32, 48, 8, 24, 16)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.dropout = nn.Dropout(0.2)
        self.fc = nn.Linear(120, num_classes)

    def forward(self, x):
        x = self.inception3b(self.inception3a(self.maxpool1(self.conv1(x))))
        return self.fc(self.dropout(torch.flatten(self.avgpool(x), 1)))


# ---- ConvNeXt -----------------------------------------------------------------------------------------------
class Permute(nn.Module):
    def __init__(self, dims):
        super().__init__()
        self.dims = list(dims)

    def forward(self, x):
        return torch.permute(x, self.dims)


class LayerNorm2d(nn.LayerNorm):
    """torchvision's LayerNorm2d: LayerNorm over channels of a channels-first map, by permuting around it."""

    def forward(self, x):
        x = x.permute(0, 2, 3, 1)
        x = F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)
        return x.permute(0, 3, 1, 2)


class CNBlock(nn.Module):
    def __init__(self, dim, layer_scale=1e-6, sd_prob=0.0):
        super().__init__()
        self.block = nn.Sequential(
            nn.Conv2d(dim, dim, kernel_size=7, padding=3, groups=dim, bias=True),
            Permute([0, 2, 3, 1]),
            nn.LayerNorm(dim, eps=1e-6),
            nn.Linear(dim, 4 * dim, bias=True),
            nn.GELU(),
            nn.Linear(4 * dim, dim, bias=True),
            Permute([0, 3, 1, 2]))
        self.layer_scale = nn.Parameter(torch.ones(dim, 1, 1) * layer_scale)
        self.stochastic_depth = StochasticDepth(sd_prob)

    def forward(self, x):
        result = self.layer_scale * self.block(x)
        return self.stochastic_depth(result) + x


class ConvNeXtBlocks(nn.Module):
    """ConvNeXt's stem, a stage of two CNBlocks, a downsample (LayerNorm2d + 2×2 conv), one more block, a head."""

    def __init__(self, num_classes=10, dim=16):
        super().__init__()
        self.features = nn.Sequential(
            nn.Sequential(nn.Conv2d(3, dim, 4, 4), LayerNorm2d(dim, eps=1e-6)),
            nn.Sequential(CNBlock(dim), CNBlock(dim)),
            nn.Sequential(LayerNorm2d(dim, eps=1e-6), nn.Conv2d(dim, 2 * dim, 2, 2)),
            nn.Sequential(CNBlock(2 * dim)))
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(LayerNorm2d(2 * dim, eps=1e-6), nn.Flatten(1), nn.Linear(2 * dim, num_classes))

    def forward(self, x):
        return self.classifier(self.avgpool(self.features(x)))


# ---- UNet ---------------------------------------------------------------------------------------------------
class DoubleConv(nn.Sequential):
    def __init__(self, c_in, c_out):
        super().__init__(nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True),
                         nn.Conv2d(c_out, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True))


class Up(nn.Module):
    def __init__(self, c_in, c_out):
        super().__init__()
        self.up = nn.ConvTranspose2d(c_in, c_in // 2, kernel_size=2, stride=2)
        self.conv = DoubleConv(c_in, c_out)

    def forward(self, x, skip):
        return self.conv(torch.cat([skip, self.up(x)], dim=1))


class UNet(nn.Module):
    def __init__(self, c_in=3, classes=2, width=8):
        super().__init__()
        self.inc = DoubleConv(c_in, width)
        self.down1 = nn.Sequential(nn.MaxPool2d(2), DoubleConv(width, 2 * width))
        self.down2 = nn.Sequential(nn.MaxPool2d(2), DoubleConv(2 * width, 4 * width))
        self.up1 = Up(4 * width, 2 * width)
        self.up2 = Up(2 * width, width)
        self.outc = nn.Conv2d(width, classes, 1)

    def forward(self, x):
        x1 = self.inc(x)
        x2 = self.down1(x1)
        x3 = self.down2(x2)
        return self.outc(self.up2(self.up1(x3, x2), x1))


# ---- 3-D ----------------------------------------------------------------------------------------------------
class Conv3DNet(nn.Module):
    """A small C3D-style video net: 3-D convs, batch norm, 3-D max pooling, a global pool and a classifier."""

    def __init__(self, num_classes=5):
        super().__init__()
        self.stem = ConvNormActivation(3, 8, 3, 1, dim=3)
        self.pool1 = nn.MaxPool3d((1, 2, 2))
        self.conv2 = ConvNormActivation(8, 16, 3, 1, dim=3)
        self.pool2 = nn.MaxPool3d(2, ceil_mode=True)
        self.conv3 = nn.Conv3d(16, 16, (3, 1, 1), padding=(1, 0, 0), groups=4)
        self.pool = nn.AdaptiveAvgPool3d(1)
        self.fc = nn.Linear(16, num_classes)

    def forward(self, x):
        x = self.pool2(self.conv2(self.pool1(self.stem(x))))
        return self.fc(torch.flatten(self.pool(F.relu(self.conv3(x))), 1))


# ---- activations, norms, pads and resampling ----------------------------------------------------------------
class OpsNet(nn.Module):
    """One of nearly every other supported operator, each after a small conv, for the op coverage."""

    def __init__(self, num_classes=4):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3, padding=1, padding_mode="reflect")
        self.prelu = nn.PReLU(8)
        self.gn = nn.GroupNorm(2, 8)
        self.elu = nn.ELU(0.5)
        self.pad = nn.ReflectionPad2d((1, 2, 0, 1))
        self.conv2 = nn.Conv2d(8, 8, 3, groups=2, dilation=2)
        self.inorm = nn.InstanceNorm2d(8, affine=True)
        self.selu = nn.SELU()
        self.pool = nn.AvgPool2d(3, 2, 1, ceil_mode=True, count_include_pad=False)
        self.mish = nn.Mish()
        self.up = nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False)
        self.softplus = nn.Softplus(beta=2)
        self.zpad = nn.ZeroPad2d(1)
        self.maxpool = nn.MaxPool2d(3, 2, dilation=2, ceil_mode=True)
        self.hardtanh = nn.Hardtanh(-2.0, 2.0)
        self.shuffle = nn.PixelShuffle(2)
        self.conv3 = nn.Conv2d(2, 16, 1)
        self.leaky = nn.LeakyReLU(0.1)
        self.tanh = nn.Tanh()
        self.drop = nn.Dropout(0.1)
        self.fc = nn.Linear(16, num_classes)
        self.softmax = nn.Softmax(dim=1)

    def forward(self, x):
        x = self.elu(self.gn(self.prelu(self.conv1(x))))
        x = self.pool(self.selu(self.inorm(self.conv2(self.pad(x)))))
        x = self.softplus(self.up(self.mish(x)))
        x = self.shuffle(self.hardtanh(self.maxpool(self.zpad(x))))
        x = self.drop(self.tanh(self.leaky(self.conv3(x))))
        x = torch.flatten(F.adaptive_max_pool2d(x, 1), 1)
        return self.softmax(self.fc(x))


# ---- an operator convcalc does not know ---------------------------------------------------------------------
class CumsumNet(nn.Module):
    """A conv, then a cumulative sum over the channels (ONNX CumSum, no layer kind), then a classifier."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(4, 2)

    def forward(self, x):
        x = torch.cumsum(self.conv(x), dim=1)
        return self.fc(torch.flatten(self.pool(x), 1))


# ---- a forward torch.fx cannot trace ------------------------------------------------------------------------
class ResizeToSkip(nn.Module):
    """Joins a decoder map to its skip, resizing it first only when the sizes differ (odd inputs): Python control
    flow on a shape, which torch.fx cannot trace (a traced size has no truth value) and torch.export can."""

    def forward(self, x, skip):
        if x.shape[-2:] != skip.shape[-2:]:
            x = F.interpolate(x, size=skip.shape[-2:], mode="nearest")
        return torch.cat([skip, x], 1)


class SkipResizeNet(nn.Module):
    """A one-level encoder-decoder: at 31×31 the 2×2 pool gives 15×15, the transposed conv 30×30, resized to 31."""

    def __init__(self):
        super().__init__()
        self.stem = ConvNormActivation(3, 8)
        self.down = nn.Sequential(nn.MaxPool2d(2), ConvNormActivation(8, 16))
        self.up = nn.ConvTranspose2d(16, 8, 2, 2)
        self.merge = ResizeToSkip()
        self.head = nn.Conv2d(16, 2, 1)

    def forward(self, x):
        skip = self.stem(x)
        return self.head(self.merge(self.up(self.down(skip)), skip))


#: name → (builder, input shape per sample): every supported model, imported from torch and from ONNX
MODELS = {
    "resnet_stack": (resnet_stack, (3, 64, 64)),
    "mobilenet_v2": (MobileNetV2Blocks, (3, 64, 64)),
    "mobilenet_v3": (MobileNetV3Blocks, (3, 64, 64)),
    "efficientnet": (EfficientNetBlocks, (3, 64, 64)),
    "shufflenet_v2": (ShuffleNetV2Units, (3, 64, 64)),
    "densenet": (DenseNetBlock, (3, 32, 32)),
    "inception": (InceptionNet, (3, 64, 64)),
    "convnext": (ConvNeXtBlocks, (3, 64, 64)),
    "unet": (UNet, (3, 32, 32)),
    "conv3d": (Conv3DNet, (3, 8, 32, 32)),
    "ops": (OpsNet, (3, 32, 32)),
}

#: a model with an operator no layer kind covers (torch.cumsum / ONNX CumSum)
UNSUPPORTED = (CumsumNet, (3, 16, 16))

#: a model torch.fx cannot trace (the torch frontend falls back to torch.export); not in MODELS, whose ONNX
#: exports other tests build
FX_UNTRACEABLE = (SkipResizeNet, (3, 31, 31))
