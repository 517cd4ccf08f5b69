"""The spec writer (convcalc/importers/writer.py): the flat form, exact values, and the round trip of every shipped
config (expanded graph → imported model → written spec → loaded → the same graph). Hand-built models only."""

from __future__ import annotations

from fractions import Fraction

import pytest

from convcalc.cost.analysis import analyze
from convcalc.importers.ir import ImportedLayer, ImportedModel, Unsupported
from convcalc.importers.writer import write_spec
from convcalc.spec.loader import load, shipped_configs

from .handmade import ir_of, nodes_of, resnet_class

SHIPPED = sorted(shipped_configs())


def small(**changes):
    layers = [ImportedLayer("features.0", "conv", {"out": 8, "kernel": 3, "padding": [[0, 1], 1], "bias": False}),
              ImportedLayer("features.1", "batchnorm", {"eps": 0.001}, ["features.0"]),
              ImportedLayer("features.2", "leaky_relu", {"negative_slope": 0.1}, ["features.1"]),
              ImportedLayer("skip", "conv", {"out": 8, "kernel": 1, "padding": "same"}, ["input"]),
              ImportedLayer("sum", "add", {}, ["features.2", "skip"])]
    return ImportedModel(**{"name": "small", "source": "nets/small.onnx", "input_shape": (3, 16, 16),
                            "layers": layers, **changes})


def test_flat_text():
    assert write_spec(small(), flat=True) == (
        "# small, imported from nets/small.onnx by convcalc 0.1.0\n"
        "# input 3x16x16 (per sample, channels first); made by: convcalc import nets/small.onnx\n"
        "name: small\n"
        "input: [3, 16, 16]\n"
        "layers:\n"
        "  - {type: conv, name: features.0, out: 8, kernel: 3, padding: [[0, 1], 1], bias: false}\n"
        "  - {type: batchnorm, name: features.1, eps: 0.001}\n"
        "  - {type: leaky_relu, name: features.2, negative_slope: 0.1}\n"
        "  - {type: conv, name: skip, out: 8, kernel: 1, padding: same, inputs: input}\n"
        "  - {type: add, name: sum, inputs: [features.2, skip]}\n")


def test_header_says_batch_command_unsupported_and_warnings():
    model = small(batch=8, warnings=["the convs carry folded batch norms"],
                  unsupported=[Unsupported("CumSum", 2, ["/a/CumSum", "/b/CumSum"])])
    text = write_spec(model, flat=True, command="convcalc import nets/small.onnx --input 3x16x16 --allow-unsupported")
    assert text.splitlines()[:6] == [
        "# small, imported from nets/small.onnx by convcalc 0.1.0",
        "# input 3x16x16 (per sample, channels first); made by: convcalc import nets/small.onnx --input 3x16x16 "
        "--allow-unsupported",
        "# unsupported operators, kept as zero-cost `unsupported` placeholders: CumSum ×2",
        "# warning: the convs carry folded batch norms",
        "name: small",
        "input: [3, 16, 16]"]
    assert "batch: 8" in text.splitlines()
    assert load(text).expand().batch == 8


def test_floats_are_written_exactly():
    # 1e-05 would be text in YAML 1.1; the float32 epsilon 0.0010000000474974513 keeps every digit
    model = small(layers=[ImportedLayer("bn", "batchnorm", {"eps": 1e-05}),
                          ImportedLayer("bn2", "batchnorm", {"eps": 0.0010000000474974513}, ["bn"])])
    text = write_spec(model, flat=True)
    assert "eps: 0.00001}" in text and "eps: 0.0010000000474974513}" in text
    eps = [node.fields["eps"] for node in load(text).expand().nodes]
    assert eps == [Fraction(1, 100_000), Fraction("0.0010000000474974513")]


def test_resnet50_flat_has_one_line_per_layer_and_analyses_to_torchvision():
    text = write_spec(ir_of("resnet50", resnet_class), flat=True)
    assert len(text.splitlines()) == 2 + 2 + 1 + 175   # header, name and input, `layers:`, 175 layers
    report = analyze(load(text))
    # torchvision's ResNet-50 (configs/resnet50.yaml's Expected header): 25,557,032 params, 4,089,184,256 MACs
    assert (report.totals.params, report.totals.macs) == (25_557_032, 4_089_184_256)
    assert "  - {type: conv, name: layer1.0.downsample.0, out: 256, kernel: 1, bias: false, inputs: maxpool}" in text


@pytest.mark.parametrize("config", SHIPPED)
def test_round_trip_flat(config):
    graph = load(config).expand()
    written = load(write_spec(ir_of(config, source=f"{config}.onnx"), flat=True)).expand()
    assert nodes_of(written) == nodes_of(graph)
    assert (written.input_shape, written.batch, written.output) == (graph.input_shape, graph.batch, graph.output)
