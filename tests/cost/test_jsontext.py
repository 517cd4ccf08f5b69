"""The report's JSON text (convcalc/cost/report.py `to_json`, convcalc/cost/jsontext.py, rollup.groups_json): it is
written by hand-built lines for speed, and must be byte for byte what json writes. The witness here is the plain
way: json.dumps of the whole document with the layer list standing in, and each layer one json.dumps line."""

from __future__ import annotations

import enum
import json
import math
from fractions import Fraction

import pytest

import convcalc
from convcalc.cost.report import Report
from convcalc.cost.rollup import COUNT_FIELDS, ROLL_UPS, group_sums, roll_up
from convcalc.records import replace

TOKEN = "\x00layers\x00"


def witness(report: Report, indent=2) -> str:
    """The documented layout (docs/json.md) with json alone: the top level indented, each layer on one line."""
    data = report.to_dict()
    layers = data["layers"]
    text = json.dumps({**data, "layers": TOKEN}, indent=indent, ensure_ascii=False)
    unit = indent if isinstance(indent, str) else " " * indent
    body = ("[\n" + ",\n".join(unit * 2 + json.dumps(layer, ensure_ascii=False) for layer in layers)
            + f"\n{unit}]") if layers else "[]"
    return text.replace(json.dumps(TOKEN), body)


def naive_groups(layers, by: str) -> list[dict]:
    """roll_up's groups, layer by layer (the old code)."""
    from convcalc.cost.rollup import KEYS

    groups: dict = {}
    for layer in layers:
        group = groups.setdefault(KEYS[by](layer), {"name": KEYS[by](layer), "layers": 0,
                                                    **{key: 0 for key in COUNT_FIELDS}})
        group["layers"] += 1
        for key in COUNT_FIELDS:
            group[key] = group[key] + getattr(layer, key)
    return list(groups.values())


SPEC = """\
name: odd
input: [3, 8, 8]
layers:
  - {type: conv, name: stem, out: 4, kernel: 3, padding: 1, bias: false}
  - {type: batchnorm, name: s1.bn}
  - {type: upsample, name: s1.up, scale: 2}
  - {type: conv_transpose, name: s2.t, out: 2, kernel: 4, stride: 2, padding: 1}
  - {type: relu, name: s1.relu}
"""


@pytest.fixture(scope="module")
def odd():
    return convcalc.analyze(convcalc.load(SPEC))


class Count(enum.IntEnum):
    FIVE = 5


def _changed(report: Report, index: int, **changes) -> Report:
    layers = list(report.layers)
    layers[index] = replace(layers[index], **changes)
    return replace(report, layers=layers)


def _rf_changed(report: Report, index: int, **changes) -> Report:
    return _changed(report, index, rf=replace(report.layers[index].rf, **changes))


ODD_CHANGES = [
    {"name": 'say "hi"'}, {"name": "back\\slash"}, {"name": "new\nline"}, {"name": "tab\there"},
    {"name": "é→ü"}, {"name": "line\u2028sep"}, {"name": "del\x7f"}, {"name": "it's"},
    {"type": 'q"'}, {"inputs": ['a"b']}, {"inputs": ["x", "y\\z"]}, {"inputs": []}, {"inputs": ("stem",)},
    {"inputs": [1]}, {"inputs": "stem"},
    {"path": ['blk"1', "blk.0"]}, {"path": ("b",)}, {"path": [None]},
    {"stage": "custom"}, {"stage": 'st"age'}, {"stage": "a.b"}, {"stage": 3}, {"stage": None},
    {"params": True}, {"macs": 1.5}, {"flops": math.nan}, {"buffers": Count.FIVE}, {"line": False},
    {"activation_bytes": 10 ** 30},
    {"output_shape": (4, 8, 8)}, {"output_shape": [4, True, 8]}, {"output_shape": [4.0, 8, 8]}, {"output_shape": []},
    {"warnings": ["it's \"odd\""]}, {"warnings": ("w",)}, {"details": {"k": [1, "2"]}}, {"details": None},
]


@pytest.mark.parametrize("changes", ODD_CHANGES, ids=repr)
def test_odd_layer_values_are_written_as_json_writes_them(odd, changes):
    for index in (0, 2, 4):  # the first layer, one in the middle, the last
        report = _changed(odd, index, **changes)
        assert report.to_json() == witness(report), (index, changes)


@pytest.mark.parametrize("changes", [
    {"jump": [Fraction(1, 2), 1]}, {"start": [Fraction(-7, 4), -1]}, {"center": [Fraction(1, 3), 0]},
    {"position_dependent": True}, {"position_dependent": 0}, {"size": (3, 3)}, {"jump": (1, 1)},
    {"size": [True, 3]}, {"start": [-1.0, -1]},
])
def test_odd_receptive_fields_are_written_as_json_writes_them(odd, changes):
    report = _rf_changed(odd, 1, **changes)
    assert report.to_json() == witness(report)


@pytest.mark.parametrize("indent", [2, 4, 0, "\t"])
def test_every_indent_gives_json_layout(odd, indent):
    assert odd.to_json(indent) == witness(odd, indent)
    assert odd.to_json(None) == json.dumps(odd.to_dict(), ensure_ascii=False)


def test_no_layers(odd):
    empty = replace(odd, layers=[])
    assert empty.to_json() == witness(empty) and '"layers": []' in empty.to_json()


@pytest.mark.parametrize("name", ["resnet50", "inception_v3", "dcgan_generator", "mobilenet_v3_small",
                                  "deeplabv3_resnet50"])
def test_shipped_reports_are_written_as_json_writes_them(name):
    report = convcalc.analyze(name)
    assert report.to_json() == witness(report)
    assert "".join(report.json_pieces()) == report.to_json()


def test_stages_that_come_back_sum_in_layer_order(odd):
    # stem, s1.bn, s1.up, s2.t, s1.relu: stage s1 comes back after s2, and float counts must add up in layer order
    layers = [replace(layer, macs=value) for layer, value in zip(odd.layers, [0.1, 0.2, 0.3, 0.4, 1e16])]
    for by in ROLL_UPS:
        for some in (odd.layers, layers):
            assert [g.to_dict() for g in roll_up(some, by)] == naive_groups(some, by), by
            assert [dict(zip(("name", "layers", *COUNT_FIELDS), sums)) for sums in group_sums(some, by)] == \
                naive_groups(some, by)
    report = replace(odd, layers=layers)
    assert report.to_json() == witness(report)
    assert [s["name"] for s in json.loads(report.to_json())["stages"]] == ["stem", "s1", "s2"]
