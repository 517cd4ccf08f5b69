"""The block spec of the PyTorch test models (tests/importers/models.py): the readability goal on torchvision's
ResNet-50, and for every model a block spec whose analysis is the flat spec's, layer by layer."""

from __future__ import annotations

import pytest

pytest.importorskip("torch")

from convcalc.cost.analysis import analyze  # noqa: E402
from convcalc.importers.writer import write_spec  # noqa: E402
from convcalc.spec.loader import load  # noqa: E402

from . import models  # noqa: E402
from .handmade import GOAL, round_trips  # noqa: E402
from .torch_helpers import imported  # noqa: E402

_IMPORTS: dict = {}


def torch_import(name):
    """The import of MODELS[name], or of the builder ``name`` at 3×224×224 (cached: several tests read each)."""
    if name not in _IMPORTS:
        builder, shape = models.MODELS[name] if name in models.MODELS else (getattr(models, name), (3, 224, 224))
        _IMPORTS[name] = imported(builder, shape)
    return _IMPORTS[name]


def test_torch_resnet50_meets_the_readability_goal():
    text = round_trips(torch_import("resnet50"))
    assert len(text.splitlines()) == 32 <= GOAL
    assert "  bottleneck:\n    args: {out: null, stride: 1, downsample: false}\n" in text
    assert "      - {type: conv, name: downsample.0, out: 4 * out, kernel: 1, bias: false, stride: stride, inputs: x, " \
           "when: downsample}\n" in text
    assert "  - {block: bottleneck, name: layer4, repeat: 3, out: 512, stride: [2, 1, 1], downsample: [true, false, " \
           "false]}\n" in text
    # torchvision's model table: 25,557,032 params and 4,089,184,256 MACs
    report = analyze(load(text))
    assert (report.totals.params, report.totals.macs) == (25_557_032, 4_089_184_256)


def per_layer(report) -> list:
    return [(layer.name, layer.type, layer.output_shape, layer.params, layer.buffers, layer.macs, layer.flops)
            for layer in report.layers]


@pytest.mark.parametrize("name", sorted(models.MODELS))
def test_every_model_analyses_the_same_as_its_flat_spec(name):
    model = torch_import(name)
    written, flat = write_spec(model), write_spec(model, flat=True)
    with_blocks, without = analyze(load(written)), analyze(load(flat))
    totals = lambda r: (r.totals.params, r.totals.buffers, r.totals.macs, r.totals.flops)  # noqa: E731
    assert totals(with_blocks) == totals(without)
    assert per_layer(with_blocks) == per_layer(without)
    assert [layer.name for layer in with_blocks.layers] == [layer.name for layer in model.layers]
    assert len(written.splitlines()) <= len(flat.splitlines())


def test_models_with_repeated_modules_get_blocks():
    shorter = {name for name in models.MODELS
               if len(write_spec(torch_import(name)).splitlines()) < len(write_spec(torch_import(name), flat=True)
                                                                        .splitlines())}
    assert shorter >= {"resnet_stack", "mobilenet_v2", "mobilenet_v3", "efficientnet", "shufflenet_v2", "inception",
                       "convnext", "unet"}
