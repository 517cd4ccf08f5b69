"""The Python API (README, docs/json.md): ``convcalc.load(path_or_dict)``, ``convcalc.analyze(network, **overrides)``, and
reports made of plain dataclasses that round-trip through JSON. Expected numbers are hand-worked."""

from __future__ import annotations

import dataclasses
import json
from fractions import Fraction
from functools import lru_cache
from pathlib import Path

import pytest

import convcalc
from convcalc.errors import SpecError
from convcalc.cost.report import COUNT_FIELDS, LayerReport, Report, RFReport, Totals
from convcalc.spec.loader import Network, shipped_configs

ROOT = Path(__file__).resolve().parents[2]

WIDTH = {
    "name": "width",
    "input": [3, 32, 32],
    "vars": {"alpha": 1, "classes": 10},
    "layers": [
        {"type": "conv", "out": "make_divisible(32 * alpha, 8)", "kernel": 3, "padding": 1, "bias": False},
        {"type": "global_avgpool", "keepdims": False},
        {"type": "linear", "out": "classes"},
    ],
}
# alpha 1: conv 32 channels: params 32·3·9 = 864, MACs 32·1,024·27 = 884,736; linear 32→10: 330 params, 320 MACs
#          totals 864 + 330 = 1,194 params, 884,736 + 320 = 885,056 MACs
# alpha 0.5: make_divisible(16, 8) = 16: params 16·27 = 432, MACs 16·1,024·27 = 442,368; linear 16·10 + 10 = 170,
#          160 MACs → 602 params, 442,528 MACs


def test_load_accepts_a_dict_a_path_a_name_and_yaml_text(tmp_path):
    import yaml

    path = tmp_path / "width.yaml"
    path.write_text(yaml.safe_dump(WIDTH))
    sources = [WIDTH, str(path), path, yaml.safe_dump(WIDTH)]
    for source in sources:
        network = convcalc.load(source)
        assert isinstance(network, Network)
        totals = convcalc.analyze(network).totals
        assert (totals.params, totals.macs) == (1_194, 885_056), source
    shipped = convcalc.load("vgg16")
    assert shipped.name == "vgg16"
    # a name and its path give the same network
    assert convcalc.analyze(shipped).totals == convcalc.analyze(convcalc.load(ROOT / "configs" / "vgg16.yaml")).totals


def test_vgg16_published_totals_through_the_api():
    totals = convcalc.analyze(convcalc.load("vgg16")).totals
    # torchvision's VGG16: 138,357,544 params, 15,470,264,320 MACs
    assert (totals.params, totals.macs) == (138_357_544, 15_470_264_320)


@pytest.mark.parametrize("overrides, params, macs, batch, input_shape", [
    ({}, 1_194, 885_056, 1, [3, 32, 32]),
    ({"alpha": 0.5}, 602, 442_528, 1, [3, 32, 32]),
    ({"alpha": Fraction(1, 2)}, 602, 442_528, 1, [3, 32, 32]),
    ({"alpha": "1 / 2"}, 602, 442_528, 1, [3, 32, 32]),  # an expression, as with --set
    # batch 2: MACs 442,528·2 = 885,056, params unchanged
    ({"alpha": 0.5, "batch": 2}, 602, 885_056, 2, [3, 32, 32]),
    # 16×16 input: conv 16·256·27 = 110,592 + 160 = 110,752
    ({"alpha": 0.5, "input": (3, 16, 16)}, 602, 110_752, 1, [3, 16, 16]),
    # 100 classes: linear 32·100 + 100 = 3,300 params, 3,200 MACs → 864 + 3,300 = 4,164; 884,736 + 3,200 = 887,936
    ({"classes": 100}, 4_164, 887_936, 1, [3, 32, 32]),
])
def test_analyze_overrides(overrides, params, macs, batch, input_shape):
    report = convcalc.analyze(convcalc.load(WIDTH), **overrides)
    assert (report.totals.params, report.totals.macs, report.batch, report.input) == (params, macs, batch,
                                                                                      input_shape)


def test_analyze_takes_a_source_directly_and_leaves_the_network_reusable():
    network = convcalc.load(WIDTH)
    assert convcalc.analyze(network, alpha=0.5).totals.macs == 442_528
    assert convcalc.analyze(network).totals.macs == 885_056  # the override did not stick
    assert convcalc.analyze(WIDTH).totals.macs == 885_056


def test_unknown_override_is_a_spec_error():
    with pytest.raises(SpecError) as info:
        convcalc.analyze(convcalc.load(WIDTH), alpah=0.5)
    assert "alpah" in str(info.value) and "did you mean `alpha`?" in str(info.value)


def test_reports_are_plain_dataclasses():
    report = convcalc.analyze(WIDTH)
    for obj in (report, report.totals, report.layers[0], report.layers[0].rf):
        assert dataclasses.is_dataclass(obj)
    assert isinstance(report, Report) and isinstance(report.totals, Totals)
    assert isinstance(report.layers[0], LayerReport) and isinstance(report.layers[0].rf, RFReport)
    conv = report.layers[0]
    assert (conv.name, conv.type, conv.inputs, conv.output_shape, conv.params, conv.macs) == (
        "conv1", "conv", ["input"], [32, 32, 32], 864, 884_736)
    assert type(conv.macs) is int and type(report.totals.flops) is int


@lru_cache(maxsize=None)
def shipped_report(name: str) -> Report:
    return convcalc.analyze(convcalc.load(name))


SHIPPED = sorted(shipped_configs())


@pytest.mark.parametrize("name", SHIPPED)
def test_round_trip_through_json(name):
    report = shipped_report(name)
    text = report.to_json()
    back = Report.from_json(text)
    assert back == report
    assert back.to_json() == text
    assert Report.from_dict(json.loads(json.dumps(report.to_dict()))) == report


@pytest.mark.parametrize("name", SHIPPED)
def test_totals_are_the_sums_of_the_layers(name):
    report = shipped_report(name)
    for key in COUNT_FIELDS:
        assert getattr(report.totals, key) == sum(getattr(layer, key) for layer in report.layers), key
        assert getattr(report.totals, key) == sum(getattr(t, key) for t in report.by_type.values()), key
    assert report.totals.layers == len(report.layers) == sum(t.layers for t in report.by_type.values())
    for kind, t in report.by_type.items():
        assert t.macs == sum(layer.macs for layer in report.layers if layer.type == kind)


def test_fractions_survive_the_round_trip():
    spec = {"name": "up", "input": [4, 8, 8], "layers": [
        {"type": "conv", "out": 4, "kernel": 3, "padding": 1},
        {"type": "upsample", "scale": 2},                                            # j 1/2
        {"type": "conv_transpose", "out": 4, "kernel": 4, "stride": 2, "padding": 1},  # j 1/4
    ]}
    report = convcalc.analyze(spec)
    data = json.loads(report.to_json())
    # upsample (nearest): j 1 → 1/2, r 3, centre 0 → start −1; the transposed conv: j 1/4,
    # r 3 + (ceil(4/2) − 1)·(1/2) → 3 + 1 (whole inputs) = 4
    assert data["layers"][1]["rf"]["jump"] == ["1/2", "1/2"]
    assert data["layers"][2]["rf"]["jump"] == ["1/4", "1/4"]
    back = Report.from_json(report.to_json())
    rf = back.layers[2].rf
    assert rf.jump == [Fraction(1, 4)] * 2 and all(type(j) is Fraction for j in rf.jump)
    assert rf.size == [4, 4]
    assert all(isinstance(s, Fraction) and s == report.layers[2].rf.start[i] for i, s in enumerate(rf.start))
    assert back == report


def test_json_totals_and_extras():
    data = json.loads(convcalc.analyze(WIDTH, batch=2).to_json())
    # params 1,194 (batch-independent); MACs 885,056·2 = 1,770,112; weight bytes 1,194·4 = 4,776
    assert (data["totals"]["params"], data["totals"]["macs"], data["totals"]["weight_bytes"]) == (
        1_194, 1_770_112, 4_776)
    assert data["by_type"]["conv"]["macs"] == 1_769_472  # 884,736·2
    assert "bias excluded" in data["conventions"]["macs"]


@pytest.mark.parametrize("overrides, words", [
    ({"batch": 0}, ["batch=0", "≥ 1"]),              # used to give 0 MACs
    ({"batch": -2}, ["batch=-2"]),                   # used to give negative counts
    ({"batch": True}, ["batch=True"]),
    ({"input": (3, 0, 32)}, ["input=[3, 0, 32]"]),
    ({"input": (3, 32.5, 32)}, ["input=[3, 32.5, 32]"]),  # used to give float "exact" counts
    ({"input": (3, 2, 2, 2, 2)}, ["1 to 4 whole numbers"]),
])
def test_bad_batch_and_input_overrides_are_spec_errors(overrides, words):
    with pytest.raises(SpecError) as info:
        convcalc.analyze(convcalc.load(WIDTH), **overrides)
    assert all(word in str(info.value) for word in words) and info.value.hint


def test_the_report_dataclasses_are_offered_at_the_top():
    import dataclasses

    from convcalc.cost import report

    for name in ("Report", "LayerReport", "Totals", "RFReport"):
        assert getattr(convcalc, name) is getattr(report, name) and dataclasses.is_dataclass(getattr(convcalc, name))
    assert isinstance(convcalc.analyze("resnet18"), convcalc.Report)
