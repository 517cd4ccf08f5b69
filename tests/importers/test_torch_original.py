"""The original behind a torch import (convcalc.importers.torch_original): built for real once, its arrays in
the executor's layout, and every mapped node's value when run."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402

from convcalc.importers.torch_read import read  # noqa: E402

from . import models  # noqa: E402
from .test_torch_ops import deform_conv_class  # noqa: E402
from .torch_helpers import imported, layer, torch_counts  # noqa: E402


def reference(builder, dtype=torch.float32):
    """The model as the original builds it: seed 0, eval mode."""
    torch.manual_seed(0)
    return builder().eval().to(dtype)


@pytest.mark.parametrize("name", sorted(models.MODELS))
def test_run_gives_every_layers_value_and_the_models_output(name):
    builder, shape = models.MODELS[name]
    model = read(f"tests.importers.models:{builder.__name__}", {}, shape)
    original = model.original()
    assert original is model.original() and original.supports_float64
    x = np.random.default_rng(1).standard_normal((3, *shape)).astype(np.float32)
    values = original.run(x, "float32")
    assert {l.tensor for l in model.layers} <= set(values)
    assert all(values[l.tensor].shape[0] == 3 and values[l.tensor].dtype == np.float32 for l in model.layers)
    with torch.no_grad():
        expected = reference(builder)(torch.from_numpy(x)).numpy()
    np.testing.assert_array_equal(values[model.layers[-1].tensor], expected)


def test_values_are_taken_before_an_in_place_op_overwrites_them():
    """ResNet's ReLU(inplace=True) overwrites bn1's output and ``out += identity``'s: each layer's value is its
    own, as a forward hook on the module sees it."""
    builder, shape = models.MODELS["resnet_stack"]
    model = read(f"tests.importers.models:{builder.__name__}", {}, shape)
    x = np.random.default_rng(3).standard_normal((2, *shape)).astype(np.float32)
    values = model.original().run(x, "float32")
    seen = {}
    module = reference(builder)
    for name in ("bn1", "layer1.0.bn3"):
        module.get_submodule(name).register_forward_hook(
            lambda m, i, o, name=name: seen.update({name: o.detach().clone().numpy()}))  # returns None
    with torch.no_grad():
        module(torch.from_numpy(x))
    np.testing.assert_array_equal(values["bn1"], seen["bn1"])
    assert (values["bn1"] < 0).any()                             # not the ReLU's output
    np.testing.assert_array_equal(values["layer1_0_bn3"], seen["layer1.0.bn3"])
    assert not np.array_equal(values["add"], np.maximum(values["add"], 0))   # the sum, before its in-place ReLU


@pytest.mark.parametrize("name", ["resnet_stack", "convnext", "shufflenet_v2"])
def test_run_in_float64(name):
    builder, shape = models.MODELS[name]
    model = read(f"tests.importers.models:{builder.__name__}", {}, shape)
    x = np.random.default_rng(2).standard_normal((2, *shape))
    doubles = model.original().run(x, "float64")
    assert all(doubles[l.tensor].dtype == np.float64 for l in model.layers)
    with torch.no_grad():
        expected = reference(builder, torch.float64)(torch.from_numpy(x)).numpy()
    np.testing.assert_array_equal(doubles[model.layers[-1].tensor], expected)


@pytest.mark.parametrize("name", sorted(models.MODELS))
def test_the_arrays_are_the_models_parameters_and_buffers(name):
    """Every parameter once, every buffer but num_batches_tracked once, summed over the layers."""
    builder, shape = models.MODELS[name]
    model = read(f"tests.importers.models:{builder.__name__}", {}, shape)
    weights = buffers = 0
    for l in model.layers:
        w, b = l.arrays()
        weights += sum(a.size for a in w)
        buffers += sum(a.size for a in b)
    assert (weights, buffers) == torch_counts(reference(builder))


def test_the_fx_untraceable_model_runs_through_a_fresh_export():
    builder, shape = models.FX_UNTRACEABLE
    model = read(f"tests.importers.models:{builder.__name__}", {}, shape)
    x = np.ones((3, *shape), dtype=np.float64)           # batch 3: the import traced batch 2
    values = model.original().run(x, "float64")
    assert {l.tensor for l in model.layers} <= set(values)
    with torch.no_grad():
        expected = reference(builder, torch.float64)(torch.from_numpy(x)).numpy()
    np.testing.assert_array_equal(values[model.layers[-1].tensor], expected)
    assert [a.shape for a in layer(model, "stem.1").arrays()[1]] == [(8,), (8,)]


def test_layouts_and_values_of_the_arrays():
    model = read("tests.importers.models:ConvNeXtBlocks", {}, (3, 64, 64))
    real = model.original().model()
    state = {k: v.detach().numpy() for k, v in real.state_dict().items()}
    weights, buffers = layer(model, "features.0.0").arrays()
    np.testing.assert_array_equal(weights[0], state["features.0.0.weight"])
    assert [a.shape for a in weights] == [(16, 3, 4, 4), (16,)] and buffers == []
    weights, _ = layer(model, "features.1.0.mul").arrays()          # layer scale (C, 1, 1) → (C,)
    assert [a.shape for a in weights] == [(16,)]
    np.testing.assert_array_equal(weights[0], state["features.1.0.layer_scale"].reshape(16))
    weights, _ = layer(model, "features.0.1").arrays()              # LayerNorm2d's γ, β
    np.testing.assert_array_equal(weights[1], state["features.0.1.bias"])
    assert layer(model, "features.1.0.block.3").arrays()[0][0].shape == (64, 16)    # Linear (out, in)

    ops = read("tests.importers.models:OpsNet", {}, (3, 32, 32))
    assert [a.shape for a in layer(ops, "prelu").arrays()[0]] == [(8,)]
    assert [[a.shape for a in part] for part in layer(ops, "inorm").arrays()] == [[(8,), (8,)], []]
    bn = read("tests.importers.models:resnet_stack", {}, (3, 32, 32))
    weights, buffers = layer(bn, "bn1").arrays()                    # num_batches_tracked is no buffer here
    assert [a.shape for a in weights] == [(16,), (16,)] and [a.shape for a in buffers] == [(16,), (16,)]
    transposed = read("tests.importers.models:UNet", {}, (3, 32, 32))
    assert [a.shape for a in layer(transposed, "up1.up").arrays()[0]] == [(32, 16, 2, 2), (16,)]


def test_arrays_of_constants_computed_in_forward_and_of_buffers():
    class Computed(nn.Module):
        def __init__(self):
            super().__init__()
            self.weight = nn.Parameter(torch.randn(4, 3, 1, 1))
            self.register_buffer("gain", torch.arange(4.0).reshape(4, 1, 1))

        def forward(self, x):
            return F.conv2d(x, self.weight * 2) * self.gain

    model = imported(Computed, (3, 2, 2))
    real = model.original().model()
    weights, _ = layer(model, "conv2d").arrays()
    np.testing.assert_array_equal(weights[0], (real.weight * 2).detach().numpy())
    weights, buffers = layer(model, "mul").arrays()        # (the constant weight · 2 is no layer)
    assert weights == [] and buffers[0].tolist() == [0.0, 1.0, 2.0, 3.0]


def test_a_deformable_convs_offset_conv_holds_the_offset_and_mask_convs():
    DeformConv2d = deform_conv_class()

    class DCNv2(nn.Module):
        def __init__(self):
            super().__init__()
            self.offset = nn.Conv2d(4, 18, 3, padding=1)
            self.mask = nn.Conv2d(4, 9, 3, padding=1, bias=False)
            self.deform = DeformConv2d(4, 6, 3, padding=1)
            nn.init.ones_(self.deform.weight)
            nn.init.zeros_(self.deform.bias)

        def forward(self, x):
            return self.deform(x, self.offset(x), torch.sigmoid(self.mask(x)))

    model = imported(DCNv2, (4, 5, 5))
    weights, buffers = model.layers[0].arrays()
    assert [a.shape for a in weights] == [(27, 4, 3, 3), (27,), (6, 4, 3, 3), (6,)] and buffers == []
    real = model.original().model()
    np.testing.assert_array_equal(weights[0][:18], real.offset.weight.detach().numpy())
    np.testing.assert_array_equal(weights[0][18:], real.mask.weight.detach().numpy())
    np.testing.assert_array_equal(weights[1][18:], np.zeros(9))    # the mask conv has no bias: zeros
