"""The block spec of an imported model (convcalc/importers/blocks.py, through ``write_spec(model, flat=False)``):
repeated instances become blocks with args, `repeat` and `when:`, the layers keep the model's own names, and the
written spec always expands to exactly the model's layers (the round trip drops any block that would not).

Readability goal (issue 15): a torchvision-style ResNet-50 in at most 3 × 44 = 132 lines, the length of the
hand-written configs/resnet50.yaml. Hand-built models here; the torch imports are in test_torch_blocks.py."""

from __future__ import annotations

import re

import pytest

from convcalc.cost.analysis import analyze
from convcalc.importers import blocks
from convcalc.importers.writer import write_spec
from convcalc.spec.loader import load, shipped_configs

from .handmade import GOAL, deep_resnet, ir_of, nodes_of, resnet_class, round_trips

SHIPPED = sorted(shipped_configs())


# ---- ResNet-50 as an ONNX import gives it: scopes from the node names, no class names --------------------------
RESNET50_BLOCKS = """\
name: resnet50
input: [3, 224, 224]
blocks:
  layer_block:
    args: {out: null, stride: 1, downsample: false}
    layers:
      - {type: conv, name: conv1, out: out, kernel: 1, bias: false}
      - {type: batchnorm, name: bn1}
      - {type: relu, name: relu1}
      - {type: conv, name: conv2, out: out, kernel: 3, padding: 1, bias: false, stride: stride}
      - {type: batchnorm, name: bn2}
      - {type: relu, name: relu2}
      - {type: conv, name: conv3, out: 4 * out, kernel: 1, bias: false}
      - {type: batchnorm, name: bn3}
      - {type: conv, name: downsample.0, out: 4 * out, kernel: 1, bias: false, stride: stride, inputs: x, when: downsample}
      - {type: batchnorm, name: downsample.1, inputs: downsample.0, when: downsample}
      - {type: add, name: add1, inputs: [bn3, downsample.1]}
      - {type: relu, name: relu3}
layers:
  - {type: conv, name: conv1, out: 64, kernel: 7, stride: 2, padding: 3, bias: false}
  - {type: batchnorm, name: bn1}
  - {type: relu, name: relu}
  - {type: maxpool, name: maxpool, kernel: 3, stride: 2, padding: 1}
  - {block: layer_block, name: layer1, repeat: 3, out: 64, downsample: [true, false, false]}
  - {block: layer_block, name: layer2, repeat: 4, out: 128, stride: [2, 1, 1, 1], downsample: [true, false, false, false]}
  - {block: layer_block, name: layer3, repeat: 6, out: 256, stride: [2, 1, 1, 1, 1, 1], downsample: [true, false, false, false, false, false]}
  - {block: layer_block, name: layer4, repeat: 3, out: 512, stride: [2, 1, 1], downsample: [true, false, false]}
  - {type: global_avgpool, name: avgpool}
  - {type: flatten, name: flatten1}
  - {type: linear, name: fc, out: 1000}
"""


def test_resnet50_without_class_names_is_four_calls_of_one_bottleneck_block():
    # what configs/resnet50.yaml says by hand: the projection shortcut only in layerN.0 (`when:`), the stride of
    # each stage's first block, conv3 and the projection at 4 × the width
    text = round_trips(ir_of("resnet50"))
    head, body = text.split("name: resnet50\n")
    assert head.startswith("# resnet50, imported from model.onnx by convcalc ")
    assert "name: resnet50\n" + body == RESNET50_BLOCKS
    assert len(text.splitlines()) == 32 <= GOAL


def test_resnet50_with_torchvision_class_names_is_the_same_block_named_after_the_class():
    text = round_trips(ir_of("resnet50", resnet_class))
    assert "  bottleneck:\n" in text and "{block: bottleneck, name: layer3, repeat: 6, out: 256," in text
    assert len(text.splitlines()) == 32


def test_the_block_spec_analyses_to_torchvisions_resnet50():
    report = analyze(load(write_spec(ir_of("resnet50"))))
    # torchvision's model table (configs/resnet50.yaml's Expected header)
    assert (report.totals.params, report.totals.macs) == (25_557_032, 4_089_184_256)
    assert [layer.name for layer in report.layers][4:6] == ["layer1.0.conv1", "layer1.0.bn1"]


@pytest.mark.parametrize("config", SHIPPED)
def test_round_trip_of_every_shipped_config(config):
    graph = load(config).expand()
    model = ir_of(config, source=f"{config}.onnx")
    text = write_spec(model)
    written = load(text).expand()
    assert nodes_of(written) == nodes_of(graph)
    assert (written.input_shape, written.batch, written.output) == (graph.input_shape, graph.batch, graph.output)
    assert len(text.splitlines()) <= len(write_spec(model, flat=True).splitlines())


@pytest.mark.parametrize("config, most", [("resnet18", 30), ("resnext50_32x4d", 32), ("densenet121", 40),
                                          ("mobilenet_v2", 40), ("convnext_tiny", 35), ("vgg16", 30)])
def test_repeated_stages_become_blocks(config, most):
    assert len(write_spec(ir_of(config)).splitlines()) <= most


# ---- arguments, inputs, calls ------------------------------------------------------------------------------------
TWO_INPUTS = {
    "name": "decoder", "input": [16, 8, 8],
    "blocks": {"up": {"args": {"out": None}, "inputs": ["x", "skip"], "layers": [
        {"type": "conv_transpose", "name": "up", "out": "out", "kernel": 2, "stride": 2},
        {"type": "concat", "name": "cat", "inputs": ["skip", "up"]},
        {"type": "conv", "name": "conv", "out": "out", "kernel": 3, "padding": 1},
        {"type": "relu", "name": "relu"}]}},
    "layers": [
        {"type": "upsample", "name": "s1", "scale": 2},        # the skips: 16 channels at 16, 32 and 64
        {"type": "upsample", "name": "s2", "scale": 2},
        {"type": "upsample", "name": "s3", "scale": 2},
        {"type": "conv", "name": "deep", "out": 16, "kernel": 1, "inputs": "input"},
        {"block": "up", "name": "u1", "out": 8, "inputs": ["deep", "s1"]},
        {"block": "up", "name": "u2", "out": 4, "inputs": ["u1", "s2"]},
        {"block": "up", "name": "u3", "out": 4, "inputs": ["u2", "s3"]}]}


def test_a_block_with_two_inputs_names_them_and_each_call_passes_its_own():
    text = round_trips(ir_of(TWO_INPUTS))
    analyze(load(text))  # the shapes agree
    assert "    args: {out: 4}\n    inputs: [x, x2]\n" in text
    assert "      - {type: concat, name: cat, inputs: [x2, up]}\n" in text
    assert "  - {block: u, name: u1, inputs: [deep, s1], out: 8}\n" in text
    assert "  - {block: u, name: u3, inputs: [u2.relu, s3]}\n" in text


SCATTERED = {
    "name": "scattered", "input": [4, 8, 8],
    "layers": [{"type": "conv", "name": f"{p}.conv", "out": 4, "kernel": 1} for p in ("a", "b", "c")]
    + [{"type": "relu", "name": f"{p}.relu", "inputs": f"{p}.conv"} for p in ("a", "b", "c")]}


def test_instances_whose_layers_are_not_one_run_stay_flat():
    # a.conv, b.conv, c.conv, then a.relu, …: no path's layers are contiguous, so nothing is a block
    assert blocks.instances(ir_of(SCATTERED)) == []
    assert write_spec(ir_of(SCATTERED)) == write_spec(ir_of(SCATTERED), flat=True)


def test_integer_multiples_and_quotients_of_an_argument_are_expressions():
    spec = {"name": "wide", "input": [8, 8, 8], "layers": [
        item for i, (kernel, width) in enumerate(((1, 8), (3, 24), (5, 40), (7, 56)))
        for item in ({"type": "conv", "name": f"s.{i}.k", "out": 8, "kernel": kernel, "padding": kernel // 2},
                     {"type": "conv", "name": f"s.{i}.a", "out": width, "kernel": 1},
                     {"type": "conv", "name": f"s.{i}.b", "out": 4 * width, "kernel": 1},
                     {"type": "conv", "name": f"s.{i}.c", "out": width // 2, "kernel": 1})]}
    text = round_trips(ir_of(spec))
    assert "      - {type: conv, name: a, out: out, kernel: 1}\n" in text
    assert "      - {type: conv, name: b, out: 4 * out, kernel: 1}\n" in text
    assert "      - {type: conv, name: c, out: out // 2, kernel: 1}\n" in text
    # the widths are 8 × the kernels here, but a channel count is never written as a multiple of a kernel size
    assert "{block: s_block, name: s, repeat: 4, kernel: [1, 3, 5, 7], padding: [0, 1, 2, 3], out: [8, 24, 40, 56]}" in text


def test_repeat_only_for_a_chain_from_p0_that_reads_the_previous_layer():
    # `repeat` gives every repetition the call's `inputs:`, so a chain whose first instance reads another layer
    # than the previous one is called instance by instance
    def stage(side_first: bool) -> dict:
        units = [{"type": "conv", "name": f"p.{i}.conv", "out": 8, "kernel": 3, "padding": 1} for i in range(3)]
        units = [dict(unit, inputs=["input"]) if i == 0 and side_first else unit for i, unit in enumerate(units)]
        rest = [[{"type": "batchnorm", "name": f"p.{i}.bn"}, {"type": "relu", "name": f"p.{i}.relu"}]
                for i in range(3)]
        side = [{"type": "conv", "name": "side", "out": 8, "kernel": 1}] if side_first else []
        return {"name": "chain", "input": [8, 16, 16],
                "layers": side + [item for unit, after in zip(units, rest) for item in [unit, *after]]}

    assert "  - {block: p_block, name: p, repeat: 3}\n" in round_trips(ir_of(stage(False)))
    text = round_trips(ir_of(stage(True)))
    assert "  - {block: p_block, name: p.0, inputs: input}\n  - {block: p_block, name: p.1}\n" in text


# ---- the round trip: a block that does not expand to its instances is written flat ------------------------------
def spoil(monkeypatch, which, change):
    """Make build_block give a wrong block for the groups whose first instance's path matches ``which``."""
    build = blocks.build_block

    def wrong(candidate, members, model, names):
        block = build(candidate, members, model, names)
        if block is not None and re.fullmatch(which, min(m.path for m in members)):
            change(block)
        return block

    monkeypatch.setattr(blocks, "build_block", wrong)


def test_a_block_with_a_wrong_field_is_written_flat(monkeypatch):
    spoil(monkeypatch, r"layer.*", lambda block: block.layers[0].update(kernel=3))
    model = ir_of("resnet50")
    assert round_trips(model) == write_spec(model, flat=True)


def test_a_block_the_loader_rejects_is_written_flat(monkeypatch):
    # the decoder stages are one block; an unknown input name in it is an error of the loader
    spoil(monkeypatch, "u1", lambda block: block.layers[1].update(inputs=["nowhere", "up"]))
    assert round_trips(ir_of(TWO_INPUTS)) == write_spec(ir_of(TWO_INPUTS), flat=True)


def test_only_the_wrong_block_is_written_flat(monkeypatch):
    # ShuffleNet v2: one block for the first unit of each stage, one for the others; spoil the first one's wiring
    model = ir_of("shufflenet_v2_x1_0")
    assert "{block: stage_block, name: stage2.0, out: 58}" in write_spec(model)
    spoil(monkeypatch, r"stage2\.0", lambda block: block.layers[5].pop("inputs"))
    text = round_trips(model)
    assert "name: stage2.0," not in text and "  - {type: concat, name: stage2.0.cat," in text  # not one call now
    assert "  - {block: stage_block, name: stage3.1}\n" in text  # the other block stays


# ---- size (the speed is benchmarks/block_spec_speed.py's: machines are shared, so no timed assertion here) ---------
def test_a_deeper_network_is_still_four_calls():
    large = ir_of(deep_resnet(8))
    assert len(large.layers) == 1295
    assert len(write_spec(large).splitlines()) == 32


@pytest.mark.parametrize("word, name", [("index", "index_2"), ("in_channels", "in_channels_2"), ("in_size", "in_size_2"),
                                        ("in_rank", "in_rank_2"), ("downsample", "downsample")])
def test_an_argument_never_takes_a_name_expressions_reserve(word, name):
    """`index`, `in_channels`, `in_size` and `in_rank` are read by every expression (docs/spec.md), so a block
    argument (named after a field or a layer such as `index.0`) takes another name, which the loader accepts."""
    assert blocks._Arguments(2, set())._new(word) == name
