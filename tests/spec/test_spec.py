"""The spec reader's wiring rules for `when:` (docs/spec.md, "`when:`"): what a layer reads after a skipped one,
and the warning when that differs from what the skipped layer would pass through."""

from __future__ import annotations

import pytest
from spec_helpers import analyze_layers

WARNING = "the last kept layer"


def wiring(report):
    return {layer.name: (layer.inputs, [w for w in layer.warnings if WARNING in w]) for layer in report.layers}


def test_implicit_input_after_a_skipped_layer_with_its_own_inputs_warns():
    report = analyze_layers(
        (4, 8, 8),
        {"type": "conv", "name": "a", "out": 6, "kernel": 1},
        {"type": "conv", "name": "b", "out": 5, "kernel": 1, "inputs": "input", "when": False},
        {"type": "conv", "name": "c", "out": 7, "kernel": 1},
        {"type": "conv", "name": "d", "out": 7, "kernel": 1, "inputs": "b"},
    )
    layers = wiring(report)
    assert layers["c"][0] == ["a"] and layers["d"] == (["input"], [])
    (note,) = layers["c"][1]
    assert note == ("reads `a`, the last kept layer: `b` before it is skipped by `when:` and would pass `input` "
                    "through; write `inputs: a` (or `inputs: input`) to make the choice explicit")
    assert f"c: {note}" in report.warnings


@pytest.mark.parametrize("b, c", [
    ({"when": False}, {}),                          # b reads `a` implicitly: it passes `a` through, c reads `a`
    ({"inputs": "a", "when": False}, {}),           # b names `a`, which is also the last kept layer
    ({"inputs": "input", "when": False}, {"inputs": "a"}),  # c names its input
    ({"inputs": "input", "when": True}, {}),        # b is kept: c reads b, nothing differs
])
def test_no_warning_when_the_wiring_is_unambiguous(b, c):
    report = analyze_layers(
        (4, 8, 8),
        {"type": "conv", "name": "a", "out": 4, "kernel": 1},
        {"type": "conv", "name": "b", "out": 4, "kernel": 1, **b},
        {"type": "conv", "name": "c", "out": 4, "kernel": 1, **c},
    )
    assert all(not notes for _, notes in wiring(report).values())


def test_only_the_first_implicit_reader_after_the_skip_warns():
    report = analyze_layers(
        (4, 8, 8),
        {"type": "conv", "name": "a", "out": 4, "kernel": 1},
        {"type": "conv", "name": "b", "out": 4, "kernel": 1, "inputs": "input", "when": False},
        {"type": "relu", "name": "c"},
        {"type": "relu", "name": "d"},  # reads c, which is kept: no ambiguity left
    )
    layers = wiring(report)
    assert len(layers["c"][1]) == 1 and layers["d"] == (["c"], [])


def test_inside_a_block_the_hint_uses_local_names():
    report = analyze_layers(
        (4, 8, 8),
        {"block": "unit", "name": "u"},
        blocks={"unit": {"layers": [
            {"type": "conv", "name": "a", "out": 4, "kernel": 1},
            {"type": "conv", "name": "b", "out": 4, "kernel": 1, "inputs": "x", "when": False},
            {"type": "relu", "name": "c"},
        ]}},
    )
    inputs, (note,) = wiring(report)["u.c"]
    assert inputs == ["u.a"]
    assert note.startswith("reads `a`, the last kept layer: `b` before it is skipped") and "`inputs: x`" in note


def test_a_block_call_after_a_skipped_item_warns_on_its_first_layer():
    report = analyze_layers(
        (4, 8, 8),
        {"type": "conv", "name": "a", "out": 4, "kernel": 1},
        {"block": "unit", "name": "skipped", "inputs": "input", "when": False},
        {"block": "unit", "name": "kept"},
        blocks={"unit": {"layers": [{"type": "relu", "name": "act"}]}},
    )
    inputs, (note,) = wiring(report)["kept.act"]
    assert inputs == ["a"]
    assert note.startswith("block `kept` reads `a`, the last kept layer: `skipped` before it is skipped")


# ---- a merge given the same tensor more than once (docs/spec.md, "`inputs`: a DAG") ------------------------------
SAME = "receives the same tensor"


def same_tensor(report):
    return {layer.name: [w for w in layer.warnings if SAME in w] for layer in report.layers if layer.warnings}


def test_a_merge_of_one_tensor_with_itself_warns_with_the_names_as_written():
    report = analyze_layers(
        (4, 8, 8),
        {"type": "conv", "name": "a", "out": 4, "kernel": 1},
        {"type": "add", "name": "twice", "inputs": ["a", "a"]},
        {"type": "concat", "name": "cat", "inputs": ["a", "twice", "a", "a"]},
    )
    assert same_tensor(report) == {
        "twice": ["`add` receives the same tensor twice: its inputs `a`, `a` are both `a`; if that is meant, "
                  "ignore this, else name distinct layers in `inputs:`"],
        "cat": ["`concat` receives the same tensor 3 times: its inputs `a`, `a`, `a` are all `a`; if that is "
                "meant, ignore this, else name distinct layers in `inputs:`"],
    }
    assert report.layers[1].output_shape == [4, 8, 8] and report.layers[2].output_shape == [16, 8, 8]  # still legal
    assert "twice: `add` receives the same tensor twice" in report.warnings[0]


def test_a_skipped_layer_that_passes_the_other_input_through_warns():
    report = analyze_layers(
        (4, 8, 8),
        {"type": "conv", "name": "a", "out": 4, "kernel": 1},
        {"type": "conv", "name": "proj", "out": 4, "kernel": 1, "inputs": "a", "when": False},
        {"type": "add", "name": "sum", "inputs": ["a", "proj"]},
    )
    assert same_tensor(report) == {"sum": [
        "`add` receives the same tensor twice: its inputs `a`, `proj` are both `a` (`proj` stands for it: a layer "
        "skipped by `when:` passes its input through, a block input is what the call passes); if that is meant, "
        "ignore this, else name distinct layers in `inputs:`"]}


def test_a_block_called_with_one_tensor_for_two_inputs_warns_inside():
    report = analyze_layers(
        (4, 8, 8),
        {"type": "relu", "name": "r"},
        {"block": "pair", "name": "p", "inputs": ["r", "r"]},
        blocks={"pair": {"inputs": ["x", "y"], "layers": [{"type": "multiply", "name": "m", "inputs": ["x", "y"]}]}},
    )
    (note,) = same_tensor(report)["p.m"]
    assert note.startswith("`multiply` receives the same tensor twice: its inputs `x`, `y` are both `r` "
                           "(`x` and `y` stand for it")


def test_distinct_inputs_and_one_input_kinds_do_not_warn():
    report = analyze_layers(
        (4, 8, 8),
        {"type": "conv", "name": "a", "out": 4, "kernel": 1},
        {"type": "conv", "name": "b", "out": 4, "kernel": 1, "inputs": "a"},
        {"type": "add", "name": "sum", "inputs": ["a", "b"]},
        {"type": "relu", "inputs": "a"},
    )
    assert report.warnings == []
