"""`defaults:` (docs/spec.md, "`defaults`"): the flat and the per-kind form, their precedence, what a flat default
reaches, and the warning when a flat default changes a kind's own default. Counts are worked by hand."""

from __future__ import annotations

from pathlib import Path

import pytest
from spec_helpers import analyze_layers

import convcalc

ROOT = Path(__file__).resolve().parents[2]


def params(report) -> dict:
    return {layer.name: layer.params for layer in report.layers}


CONV = {"type": "conv", "name": "c", "out": 16, "kernel": 3}   # 3→16, 3×3: 3·16·9 = 432 weights, +16 bias = 448
SE = {"type": "squeeze_excitation", "name": "se", "reduction": 4}  # C 16, S 4: 16·4 + 4·16 = 128, +4 +16 bias = 148


@pytest.mark.parametrize("defaults, layers, expected", [
    (None, [CONV, SE], {"c": 448, "se": 148}),
    ({"bias": False}, [CONV, SE], {"c": 432, "se": 128}),                      # flat: every kind with `bias`
    ({"conv": {"bias": False}}, [CONV, SE], {"c": 432, "se": 148}),            # per kind: conv only
    ({"conv": {"bias": False}, "squeeze_excitation": {"bias": True}}, [CONV, SE], {"c": 432, "se": 148}),
    ({"bias": False, "squeeze_excitation": {"bias": True}}, [CONV, SE], {"c": 432, "se": 148}),  # per kind wins
    ({"conv": {"bias": True}, "bias": False}, [{**CONV, "bias": False}, SE], {"c": 432, "se": 128}),  # own wins
])
def test_flat_and_per_kind_defaults_and_their_precedence(defaults, layers, expected):
    top = {} if defaults is None else {"defaults": defaults}
    assert params(analyze_layers((3, 8, 8), *layers, **top)) == expected


def test_a_flat_default_reaches_composite_kinds_but_not_their_mid_layers():
    # depthwise_separable 16 → 32, 3×3, with `mid: [batchnorm]` between its stages:
    # depthwise 16·9 = 144 (+16 bias), batchnorm γ, β 2·16 = 32, pointwise 16·32 = 512 (+32 bias)
    dws = {"type": "depthwise_separable", "name": "dws", "out": 32, "kernel": 3, "mid": ["batchnorm"]}
    assert params(analyze_layers((16, 8, 8), dws)) == {"dws": 144 + 16 + 32 + 512 + 32}
    # the flat `bias: false` reaches both convs of the composite; the flat `affine: false` (a batchnorm field)
    # does not reach the batchnorm written in `mid:`, which takes what is written there
    report = analyze_layers((16, 8, 8), dws, defaults={"bias": False, "affine": False})
    assert params(report) == {"dws": 144 + 32 + 512}
    assert report.warnings == []


#: the squeeze-and-excitation layers of torchvision's mobilenet_v3_large (torchvision/models/mobilenetv3.py,
#: _mobilenet_v3_conf: SE in the blocks with expanded channels 72, 120, 120, 480, 672, 672, 960, 960; squeeze
#: channels _make_divisible(C // 4, 8) = 24, 32, 32, 120, 168, 168, 240, 240). Their biases: S + C each,
#: (24 + 32 + 32 + 120 + 168 + 168 + 240 + 240) + (72 + 120 + 120 + 480 + 672 + 672 + 960 + 960)
#: = 1,024 + 4,056 = 5,080 params.
MOBILENET_V3_LARGE_SE = [(72, 24), (120, 32), (120, 32), (480, 120), (672, 168), (672, 168), (960, 240), (960, 240)]


def mobilenet_v3_se_layers():
    layers = []
    for index, (channels, squeeze) in enumerate(MOBILENET_V3_LARGE_SE):
        layers += [{"type": "conv", "name": f"expand{index}", "out": channels, "kernel": 1},
                   {"type": "squeeze_excitation", "name": f"se{index}", "squeeze": squeeze}]
    return layers


def test_a_flat_bias_false_on_squeeze_excitation_warns_once_with_the_params_it_removes():
    report = analyze_layers((16, 4, 4), *mobilenet_v3_se_layers(), defaults={"bias": False})
    assert report.warnings == [
        "defaults: the flat `bias: false` (line 1) also reaches 8 `squeeze_excitation` layers, whose own default is "
        "`bias: true`, and removes 5,080 params (`se0`, `se1`, `se2`, …); if that is meant, write "
        "`squeeze_excitation: {bias: false}` under `defaults:`; if not, write the default per kind "
        "(`defaults: {conv: {bias: false}}`) or add `squeeze_excitation: {bias: true}` to it"]
    kept = analyze_layers((16, 4, 4), *mobilenet_v3_se_layers(), defaults={"conv": {"bias": False}})
    assert kept.totals.params - report.totals.params == 5_080 and kept.warnings == []


@pytest.mark.parametrize("defaults, se", [
    ({"bias": False, "squeeze_excitation": {"bias": False}}, {}),   # said per kind: meant
    ({"bias": False, "squeeze_excitation": {"bias": True}}, {}),    # the fix: SE keeps its bias
    ({"bias": False}, {"bias": False}),                            # written on the layer
    ({"bias": True}, {}),                                          # the flat value is SE's own default
])
def test_no_warning_when_the_default_is_said_per_kind_or_on_the_layer(defaults, se):
    report = analyze_layers((3, 8, 8), CONV, {**SE, **se}, defaults=defaults)
    assert report.warnings == []


def test_a_flat_default_that_changes_no_count_does_not_warn():
    # layernorm without affine has neither γ nor β, so `bias: false` changes nothing
    report = analyze_layers((3, 8, 8), CONV, {"type": "layernorm", "affine": False}, defaults={"bias": False})
    assert report.warnings == []


def test_linear_and_layernorm_biases_are_their_own_defaults_too():
    # a flat `bias: false` meant for the convs also strips a classifier's bias (10) and a layernorm's β (16)
    report = analyze_layers((3, 8, 8), CONV, {"type": "layernorm", "name": "ln"}, {"type": "global_avgpool"},
                            {"type": "flatten"}, {"type": "linear", "name": "fc", "out": 10},
                            defaults={"bias": False})
    assert [w.split(", whose")[0] for w in report.warnings] == [
        "defaults: the flat `bias: false` (line 1) also reaches 1 `layernorm` layer",
        "defaults: the flat `bias: false` (line 1) also reaches 1 `linear` layer"]
    assert "removes 16 params (`ln`)" in report.warnings[0] and "removes 10 params (`fc`)" in report.warnings[1]


def test_the_warning_gives_the_line_of_the_flat_default(tmp_path):
    spec = tmp_path / "se.yaml"
    spec.write_text("name: se\ninput: [16, 4, 4]\ndefaults:\n  bias: false\nlayers:\n"
                    "  - {type: squeeze_excitation, reduction: 4}\n")
    (warning,) = convcalc.analyze(convcalc.load(str(spec))).warnings
    assert warning.startswith("defaults: the flat `bias: false` (line 4) also reaches 1 `squeeze_excitation` "
                              "layer, whose own default is `bias: true`, and removes 20 params")  # S 4 + C 16


@pytest.mark.parametrize("path", sorted((ROOT / "configs").rglob("*.yaml")), ids=lambda p: p.stem)
def test_shipped_configs_say_what_their_defaults_mean(path):
    report = convcalc.analyze(convcalc.load(str(path)))
    assert [w for w in report.warnings if w.startswith("defaults:")] == []
