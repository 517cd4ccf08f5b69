"""Every test model (tests/importers/models.py) imported from PyTorch and analysed: params and buffers as torch
counts them, MACs as the hook counter (tests/importers/hooks.py) counts them or worked by hand, and the layer
names of the model's own modules."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from convcalc.importers import torch_trace  # noqa: E402
from convcalc.importers.torch_read import read  # noqa: E402

from . import models  # noqa: E402
from .hooks import count_macs  # noqa: E402
from .torch_helpers import analyse, kinds, layer, torch_counts  # noqa: E402

_CACHE: dict = {}


def imported(name):
    """The import of MODELS[name] (cached: several tests read each)."""
    if name not in _CACHE:
        builder, shape = models.MODELS[name]
        _CACHE[name] = read(f"tests.importers.models:{builder.__name__}", {}, shape)
    return _CACHE[name]


def with_export(builder, shape):
    """The import with torch.fx made to fail, so that torch.export traces it."""
    original = torch_trace.trace_fx

    def fail(*args, **kwargs):
        raise torch_trace.TraceFailed("made to fail by the test")

    torch_trace.trace_fx = fail
    try:
        return read(f"tests.importers.models:{builder.__name__}", {}, shape)
    finally:
        torch_trace.trace_fx = original


@pytest.mark.parametrize("name", sorted(models.MODELS))
def test_every_model_imports_with_torchs_own_counts(name):
    builder, shape = models.MODELS[name]
    model = imported(name)
    assert model.warnings == [] and model.unsupported == []
    with torch.device("meta"):
        reference = builder()
    report = analyse(model)
    assert (report.totals.params, report.totals.buffers) == torch_counts(reference)
    assert report.totals.macs == count_macs(reference, shape)


@pytest.mark.parametrize("name", sorted(models.MODELS))
def test_every_layer_has_the_shape_torch_computed(name):
    """The analysis's output shape of each layer is the shape its original node had on the meta device."""
    builder, shape = models.MODELS[name]
    model = imported(name)
    report = analyse(model)
    traced = model_shapes(builder, shape)
    assert {l.name: tuple(l.output_shape) for l in report.layers} == \
        {l.name: traced[l.tensor] for l in model.layers}


def model_shapes(builder, shape):
    from torch import fx

    with torch.device("meta"):
        module = builder().eval()
    graph = fx.symbolic_trace(module)
    shapes = {}

    class Shapes(fx.Interpreter):
        def run_node(self, n):
            value = super().run_node(n)
            if isinstance(value, torch.Tensor):
                shapes[n.name] = tuple(value.shape[1:])
            return value

    Shapes(graph).run(torch.empty((2, *shape), device="meta"))
    return shapes


def test_unet_macs_worked_by_hand():
    """UNet(3, 2, width 8) at 3×32×32, conv MACs C_out·ΠN_out·C_in·Πk, transposed C_in·ΠN_in·C_out·Πk:
    inc 8·1024·27 + 8·1024·72 = 221,184 + 589,824; down1 (16×16) 16·256·72 + 16·256·144 = 294,912 + 589,824;
    down2 (8×8) 32·64·144 + 32·64·288 = 294,912 + 589,824; up1 transposed 32·64·16·4 = 131,072, then
    16·256·288 + 16·256·144 = 1,179,648 + 589,824; up2 transposed 16·256·8·4 = 131,072, then
    8·1024·144 + 8·1024·72 = 1,179,648 + 589,824; outc 2·1024·8 = 16,384. Total 6,397,952."""
    assert analyse(imported("unet")).totals.macs == 6_397_952


def test_the_fx_untraceable_model_goes_through_torch_export():
    builder, shape = models.FX_UNTRACEABLE
    model = read(f"tests.importers.models:{builder.__name__}", {}, shape)
    assert len(model.warnings) == 1
    assert "torch.fx could not trace the model (TraceError: symbolically traced variables cannot be used as inputs " \
           "to control flow); it was traced with torch.export instead" in model.warnings[0]
    assert [(l.name, l.kind) for l in model.layers] == [
        ("stem.0", "conv"), ("stem.1", "batchnorm"), ("stem.2", "relu"), ("down.0", "maxpool"),
        ("down.1.0", "conv"), ("down.1.1", "batchnorm"), ("down.1.2", "relu"), ("up", "conv_transpose"),
        ("merge.upsample_nearest2d", "upsample"), ("merge.cat", "concat"), ("head", "conv")]
    assert layer(model, "merge.upsample_nearest2d").fields == {"size": 31}
    assert layer(model, "merge.cat").scope == (("merge", "ResizeToSkip"),)
    assert layer(model, "down.1.0").scope == (("down", "Sequential"), ("down.1", "ConvNormActivation"))
    report = analyse(model)
    with torch.device("meta"):
        reference = builder()
    assert (report.totals.params, report.totals.buffers) == torch_counts(reference)
    # by hand, at 3×31×31: stem 8·961·27 = 207,576; down (15×15) 16·225·72 = 259,200; up, on its 15×15 input
    # positions, 16·225·8·4 = 115,200; head 2·961·16 = 30,752. Total 612,728.
    assert report.totals.macs == 612_728 == count_macs(reference, shape)


@pytest.mark.parametrize("name", sorted(models.MODELS))
def test_torch_export_gives_the_layers_fx_gives(name):
    """The ATen handlers agree with the module and function handlers: same names, kinds, fields, wiring, scopes."""
    builder, shape = models.MODELS[name]
    exported = with_export(builder, shape)
    assert "traced with torch.export instead" in exported.warnings[0]
    assert [(l.name, l.kind, l.fields, l.inputs, l.scope) for l in exported.layers] == \
        [(l.name, l.kind, l.fields, l.inputs, l.scope) for l in imported(name).layers]


def test_resnet50_on_the_meta_device_has_torchvisions_counts():
    """torchvision's model table: ResNet-50 has 25,557,032 params and 4.09 GFLOPS (4,089,184,256 MACs)."""
    model = read("tests.importers.models:resnet50", {}, (3, 224, 224))
    report = analyse(model)
    assert report.totals.params == 25_557_032
    assert report.totals.macs == 4_089_184_256
    assert report.totals.buffers == 53_120       # running mean and variance: 2 · 26,560 channels of batch norm
    assert len(model.layers) == 175


# ---- names -------------------------------------------------------------------------------------------------------
def test_resnet_layers_are_named_after_its_modules():
    model = imported("resnet_stack")
    names = [l.name for l in model.layers]
    assert names[:4] == ["conv1", "bn1", "relu", "maxpool"]
    assert names[4:16] == ["layer1.0.conv1", "layer1.0.bn1", "layer1.0.relu", "layer1.0.conv2", "layer1.0.bn2",
                           "layer1.0.relu_1", "layer1.0.conv3", "layer1.0.bn3", "layer1.0.downsample.0",
                           "layer1.0.downsample.1", "layer1.0.add", "layer1.0.relu_2"]
    assert names[-3:] == ["avgpool", "flatten", "fc"]
    add = layer(model, "layer1.0.add")
    assert add.inputs == ["layer1.0.bn3", "layer1.0.downsample.1"]
    assert add.scope == (("layer1", "Sequential"), ("layer1.0", "Bottleneck"))
    assert layer(model, "layer1.0.conv1").scope == add.scope
    assert layer(model, "layer1.0.conv1").origin == "torch.nn.Conv2d 'layer1.0.conv1'"
    assert layer(model, "layer1.0.relu_2").origin == "torch.nn.ReLU 'layer1.0.relu'"   # its third call
    assert layer(model, "layer1.0.conv1").tensor == "layer1_0_conv1"                 # the fx node
    assert layer(model, "layer1.1.add").inputs == ["layer1.1.bn3", "layer1.0.relu_2"]


def test_mobilenet_v3_names_and_the_squeeze_excitation_gate():
    model = imported("mobilenet_v3")
    se = [l for l in model.layers if l.name.startswith("features.1.block.1.")]
    assert [(l.name, l.kind) for l in se] == [
        ("features.1.block.1.avgpool", "global_avgpool"), ("features.1.block.1.fc1", "conv"),
        ("features.1.block.1.activation", "relu"), ("features.1.block.1.fc2", "conv"),
        ("features.1.block.1.scale_activation", "hardsigmoid"), ("features.1.block.1.mul", "multiply")]
    assert se[-1].inputs == ["features.1.block.1.scale_activation", "features.1.block.0.2"]
    assert layer(model, "features.3.block.0.0").scope == (
        ("features", "Sequential"), ("features.3", "InvertedResidualV3"), ("features.3.block", "Sequential"),
        ("features.3.block.0", "ConvNormActivation"))


def test_shufflenet_split_shuffle_and_mean():
    model = imported("shufflenet_v2")
    unit = [(l.name, l.kind, l.fields) for l in model.layers
            if l.name.startswith("stage2.1.") and ".branch2." not in l.name]
    assert unit == [("stage2.1.chunk.0", "channel_slice", {"stop": 24}),
                    ("stage2.1.chunk.1", "channel_slice", {"start": 24}),
                    ("stage2.1.cat", "concat", {}),
                    ("stage2.1.channel_shuffle", "channel_shuffle", {"groups": 2})]
    assert layer(model, "stage2.1.branch2.0").inputs == ["stage2.1.chunk.1"]
    assert layer(model, "stage2.1.cat").inputs == ["stage2.1.chunk.0", "stage2.1.branch2.7"]
    shuffle = layer(model, "stage2.1.channel_shuffle")
    assert shuffle.tensor == "view_3" and shuffle.origin == "Tensor.view → torch.transpose → Tensor.view 'view_3'"
    assert (layer(model, "mean").kind, layer(model, "mean").fields) == ("global_avgpool", {"keepdims": False})
    assert "permute" not in kinds(model) and "reshape" not in kinds(model)


def test_convnext_layer_norms_permutes_and_layer_scale():
    model = imported("convnext")
    # LayerNorm2d (permute, layer_norm over the last axis, permute back) is one layernorm over the channels,
    # named after its module; nn.LayerNorm inside CNBlock works on the channels-last map between Permutes
    assert [(l.name, l.kind) for l in model.layers[:2]] == [("features.0.0", "conv"), ("features.0.1", "layernorm")]
    # (the plan's defaults filled in: they are left out once the kind is registered)
    assert {"affine": True, "bias": True, **layer(model, "features.0.1").fields} == \
        {"affine": True, "bias": True, "eps": 1e-6}
    block = [(l.name, l.kind) for l in model.layers if l.name.startswith("features.1.0.")]
    assert block == [("features.1.0.block.0", "conv"), ("features.1.0.block.1", "permute"),
                     ("features.1.0.block.2", "layernorm"), ("features.1.0.block.3", "linear"),
                     ("features.1.0.block.4", "gelu"), ("features.1.0.block.5", "linear"),
                     ("features.1.0.block.6", "permute"), ("features.1.0.mul", "layer_scale"),
                     ("features.1.0.add", "add")]
    assert layer(model, "features.1.0.block.1").fields == {"dims": [1, 2, 0]}
    assert layer(model, "features.1.0.block.2").fields["axis"] == "last"
    assert layer(model, "features.1.0.block.3").fields == {"out": 64, "axis": "last"}
    assert layer(model, "features.1.0.block.6").fields == {"dims": [2, 0, 1]}
    assert layer(model, "features.1.0.mul").inputs == ["features.1.0.block.6"]
    assert layer(model, "features.1.0.add").inputs == ["features.1.0.mul", "features.0.1"]


def test_densenet_concatenations():
    model = imported("densenet")
    first = layer(model, "features.denseblock1.denselayer1.norm1")
    assert first.inputs == ["features.conv0"]            # torch.cat of one tensor is no layer
    assert layer(model, "features.denseblock1.denselayer3.cat").inputs == [
        "features.conv0", "features.denseblock1.denselayer1.conv2", "features.denseblock1.denselayer2.conv2"]
    assert layer(model, "features.denseblock1.cat").kind == "concat"
    assert [l.name for l in model.layers[-4:]] == ["relu", "adaptive_avg_pool2d", "flatten", "classifier"]


def test_ops_model_fields():
    model = imported("ops")
    fields = {l.name: (l.kind, l.fields) for l in model.layers}
    assert fields["conv1"] == ("conv", {"out": 8, "kernel": 3, "padding": 1, "padding_mode": "reflect"})
    assert fields["prelu"][0] == "prelu" and fields["prelu"][1]["num_parameters"] == 8
    assert fields["pad"][0] == "pad" and fields["pad"][1]["padding"] == [[0, 1], [1, 2]]
    assert fields["pad"][1]["mode"] == "reflect"
    assert fields["conv2"] == ("conv", {"out": 8, "kernel": 3, "dilation": 2, "groups": 2})
    assert fields["pool"] == ("avgpool", {"kernel": 3, "stride": 2, "padding": 1, "ceil_mode": True,
                                          "count_include_pad": False})
    assert fields["up"] == ("upsample", {"mode": "bilinear", "scale": 2})
    assert fields["maxpool"] == ("maxpool", {"kernel": 3, "stride": 2, "dilation": 2, "ceil_mode": True})
    assert fields["hardtanh"][1] == {"min_val": -2, "max_val": 2}
    assert fields["shuffle"] == ("pixel_shuffle", {"factor": 2})
    assert fields["adaptive_max_pool2d"] == ("global_maxpool", {})
    assert fields["softmax"] == ("softmax", {})
