"""The ShuffleNet configs compute what the reference PyTorch code computes, not only the same counts.

Params and MACs cannot see a miswired branch when the swapped tensors have the same shape (ShuffleNet v2's two
channel halves, a shuffle in the wrong direction). Here each network is rebuilt independently in torch.nn from its
reference code's structure (torchvision's shufflenetv2.py; Megvii's ShuffleNet-Series ShuffleNetV1 network.py
and blocks.py), the executor's weights and batch-norm buffers are copied in module order, and the outputs must
agree. Skipped without torch (an optional extra). float64, ~1 s per network.
"""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
nn = torch.nn
F = torch.nn.functional

from convcalc.cost.analysis import expand  # noqa: E402
from convcalc.executor import run  # noqa: E402

WEIGHTED = ("conv", "depthwise", "pointwise", "batchnorm", "linear")


def _bn_conv(c_in, c_out, kernel=1, stride=1, groups=1, relu=True):
    layers = [nn.Conv2d(c_in, c_out, kernel, stride, kernel // 2, groups=groups, bias=False), nn.BatchNorm2d(c_out)]
    return layers + [nn.ReLU()] if relu else layers


class _V2Unit(nn.Module):
    """torchvision InvertedResidual: stride 1 keeps x1 and transforms x2; stride 2 transforms x in both branches;
    concat, then channel_shuffle(·, 2) = view (2, C/2), transpose."""

    def __init__(self, c_in, c_out, stride):
        super().__init__()
        half = c_out // 2
        self.stride = stride
        self.branch1 = nn.Sequential(*_bn_conv(c_in, c_in, 3, stride, c_in, relu=False), *_bn_conv(c_in, half)) \
            if stride == 2 else None
        self.branch2 = nn.Sequential(*_bn_conv(c_in if stride == 2 else half, half),
                                     *_bn_conv(half, half, 3, stride, half, relu=False), *_bn_conv(half, half))

    def forward(self, x):
        if self.stride == 1:
            x1, x2 = x.chunk(2, dim=1)
            out = torch.cat((x1, self.branch2(x2)), dim=1)
        else:
            out = torch.cat((self.branch1(x), self.branch2(x)), dim=1)
        b, c, h, w = out.shape
        return out.view(b, 2, c // 2, h, w).transpose(1, 2).reshape(b, c, h, w)


def shufflenet_v2_x1_0():
    layers, c_in = [*_bn_conv(3, 24, 3, 2), nn.MaxPool2d(3, 2, 1)], 24
    for repeats, c_out in ((4, 116), (8, 232), (4, 464)):
        for i in range(repeats):
            layers.append(_V2Unit(c_in, c_out, 2 if i == 0 else 1))
            c_in = c_out
    layers += [*_bn_conv(464, 1024), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(1024, 1000)]
    return nn.Sequential(*layers)


class _V1Unit(nn.Module):
    """Megvii ShuffleV1Block: pw (groups 1 in the very first unit) → BN → ReLU → dw → BN → shuffle (view (C/g, g),
    transpose) → grouped pw → BN; stride 1: relu(x + main); stride 2: cat(avgpool 3/2(x), relu(main))."""

    def __init__(self, c_in, c_out, group, first, stride):
        super().__init__()
        mid = c_out // 4
        self.group, self.stride = group, stride
        self.main1 = nn.Sequential(*_bn_conv(c_in, mid, groups=1 if first else group),
                                   *_bn_conv(mid, mid, 3, stride, mid, relu=False))
        self.main2 = nn.Sequential(*_bn_conv(mid, c_out - c_in if stride == 2 else c_out, groups=group, relu=False))

    def forward(self, x):
        y = self.main1(x)
        b, c, h, w = y.shape
        y = self.main2(y.reshape(b, c // self.group, self.group, h, w).permute(0, 2, 1, 3, 4).reshape(b, c, h, w))
        if self.stride == 1:
            return F.relu(x + y)
        return torch.cat((F.avg_pool2d(x, 3, 2, 1), F.relu(y)), dim=1)


def shufflenet_v1_g3():
    layers, c_in = [*_bn_conv(3, 24, 3, 2), nn.MaxPool2d(3, 2, 1)], 24
    for stage, (repeats, c_out) in enumerate(((4, 240), (8, 480), (4, 960))):
        for i in range(repeats):
            layers.append(_V1Unit(c_in, c_out, 3, stage == 0 and i == 0, 2 if i == 0 else 1))
            c_in = c_out
    layers += [nn.AvgPool2d(7), nn.Flatten(), nn.Linear(960, 1000, bias=False)]
    return nn.Sequential(*layers)


@pytest.mark.parametrize("name, reference", [("shufflenet_v2_x1_0", shufflenet_v2_x1_0),
                                             ("shufflenet_v1_g3", shufflenet_v1_g3)])
def test_config_computes_the_reference_network(name, reference):
    graph = expand(name)
    ex = run(graph, seed=3, dtype="float64", keep=True)
    model = reference().double().eval()
    nodes = [node for node in graph.nodes if node.kind in WEIGHTED]
    modules = [m for m in model.modules() if isinstance(m, (nn.Conv2d, nn.BatchNorm2d, nn.Linear))]
    assert len(nodes) == len(modules)
    with torch.no_grad():
        for node, module in zip(nodes, modules):
            arrays = [torch.from_numpy(a) for a in ex.weights[node.name]]
            if isinstance(module, nn.BatchNorm2d):
                module.weight.copy_(arrays[0])
                module.bias.copy_(arrays[1])
                module.running_mean.copy_(torch.from_numpy(ex.buffers[node.name][0]))
                module.running_var.copy_(torch.from_numpy(ex.buffers[node.name][1]))
            else:
                assert tuple(module.weight.shape) == tuple(arrays[0].shape), node.name
                module.weight.copy_(arrays[0])
                assert len(arrays) == (1 if module.bias is None else 2), node.name
                if module.bias is not None:
                    module.bias.copy_(arrays[1])
        theirs = model(torch.from_numpy(ex.values[graph.input_name])).numpy()
    assert ex.output.shape == theirs.shape == (1, 1000)
    assert np.abs(ex.output - theirs).max() <= 1e-9 * np.abs(theirs).max()
