"""Each test model imported from its PyTorch module and from its ONNX export (tests/importers/onnx_exports.py):
the same layers under the same names, the same totals, and ``--against-original`` green from both sources (the
ONNX one in test_onnx_models.py).

The names are the same where the exporter keeps the module's structure (ResNet, ConvNeXt, UNet, the 3-D net:
identical lists). Elsewhere they differ only where the TorchScript exporter writes an operator otherwise, and
:func:`as_exported` rewrites the torch import's layers into what the export holds, one rule per difference:

* Dropout is not exported (the identity in eval mode);
* an unscoped function is named after the function in torch (``adaptive_avg_pool2d``) and after the ONNX op in the
  file (``global_average_pool``);
* ``x.chunk(2, 1)`` is two Slice nodes: ``chunk.0``, ``chunk.1`` become ``slice``, ``slice_1``;
* a conv's ``padding_mode`` is a Pad node before it (``conv1.pad``, ``conv1.conv``), which costs nothing, like
  the conv's own padding. (SiLU, Mish, Softplus(β ≠ 1) and GroupNorm are decomposed by the exporter too, and the
  ONNX frontend fuses them back.)

Totals (params, buffers, MACs, FLOPs) are equal for every model.
"""

from __future__ import annotations

import re

import pytest

pytest.importorskip("torch")
pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

from convcalc.importers.original import check  # noqa: E402

from . import models  # noqa: E402
from .onnx_exports import loaded, torch_loaded, totals  # noqa: E402

#: torch kind → the layers its export holds instead: (suffix of the layer's name, kind)
SPLITS = {
    "dropout": [],
}
#: what a conv with a padding_mode becomes
PADDED_CONV = [("pad", "pad"), ("conv", "conv")]
#: unscoped functions: torch's name → the ONNX op's
FUNCTIONS = {"adaptive_avg_pool2d": "global_average_pool", "adaptive_max_pool2d": "global_max_pool"}
CHUNK = re.compile(r"^(.*\.)?chunk\.(\d+)$")

def as_exported(layer) -> list:
    """``(name, kind)`` of the layers the ONNX export holds for one layer of the torch import."""
    name, kind, fields = layer.name, layer.kind, layer.fields
    if kind == "conv" and fields.get("padding_mode", "zeros") != "zeros":
        split = PADDED_CONV
    else:
        split = SPLITS.get(kind)
    if split is not None:
        return [(f"{name}.{suffix}", part) for suffix, part in split]
    chunk = CHUNK.match(name)
    if chunk:
        index = int(chunk.group(2))
        return [(f"{chunk.group(1) or ''}slice{'_' + str(index) if index else ''}", kind)]
    return [(FUNCTIONS.get(name, name), kind)]


@pytest.mark.parametrize("name", sorted(models.MODELS))
def test_the_same_layers_under_the_same_names(name, onnx_exports):
    _, from_onnx = loaded(onnx_exports.path(name))
    _, from_torch = torch_loaded(name)
    expected = [pair for layer in from_torch.layers for pair in as_exported(layer)]
    assert [(l.name, l.kind) for l in from_onnx.layers] == expected


def names(model) -> list:
    return [layer.name for layer in model.layers]


def test_where_the_names_are_identical(onnx_exports):
    same = [name for name in sorted(models.MODELS)
            if names(loaded(onnx_exports.path(name))[1]) == names(torch_loaded(name)[1])]
    assert same == ["conv3d", "convnext", "resnet_stack", "unet"]


@pytest.mark.parametrize("name", sorted(models.MODELS))
def test_the_same_totals(name, onnx_exports):
    from_onnx = totals(loaded(onnx_exports.path(name))[0])
    from_torch = totals(torch_loaded(name)[0])
    assert from_onnx == from_torch


@pytest.mark.parametrize("name", sorted(models.MODELS))
def test_against_original_green_from_torch_too(name):
    """The torch source's check, in both dtypes (the ONNX source's, in float32, is test_onnx_models.py's
    test_against_original_agrees_in_float32)."""
    graph, model = torch_loaded(name)
    for dtype in ("float32", "float64"):
        result = check(model, graph, dtype=dtype)
        assert result.ok, f"{model.source} in {dtype}: {result.sentence()}"
        assert result.output_compared
