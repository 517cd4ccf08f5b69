"""The convolution variant kinds in the cost model: hand-worked literal numbers (the arithmetic is in the comments)."""

from __future__ import annotations

from fractions import Fraction

import pytest

import convcalc
from convcalc.errors import SpecError
from spec_helpers import analyze_layers, one


# ---- spatially separable ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("n, m, separable, standard", [
    (8, 3, 252, 324),    # (8−3+1)·8·3 + 6²·3 = 144 + 108 = 252;  6²·9 = 324
    (10, 5, 480, 900),   # 6·10·5 + 6²·5 = 300 + 180 = 480;       6²·25 = 900
    (7, 2, 156, 144),    # 6·7·2 + 6²·2 = 84 + 72 = 156;          6²·4 = 144
    (32, 7, 10_556, 33_124),  # 26·32·7 + 26²·7 = 5,824 + 4,732 = 10,556;  26²·49 = 33,124
])
def test_separable_single_channel_valid(n, m, separable, standard):
    layer = one((1, n, n), {"type": "separable", "out": 1, "kernel": m, "padding": "valid", "bias": False})
    conv = one((1, n, n), {"type": "conv", "out": 1, "kernel": m, "padding": "valid", "bias": False})
    assert layer.output_shape == conv.output_shape == [1, n - m + 1, n - m + 1]
    assert (layer.macs, conv.macs) == (separable, standard)
    # the single-channel ratio 1/m + 1/(m(1 − (m−1)/N))
    assert Fraction(layer.macs, conv.macs) == Fraction(1, m) + 1 / (m * (1 - Fraction(m - 1, n)))
    assert layer.params == 2 * m  # one k×1 and one 1×k filter
    assert layer.rf.size == [m, m]


def test_separable_3d_with_mid_channels():
    layer = one((4, 6, 6, 6), {"type": "separable", "out": 8, "kernel": 3, "padding": 1, "mid": 4})
    # stages 4→4 (3×1×1), 4→4 (1×3×1), 4→8 (1×1×3), all at 6³ = 216 positions:
    # MACs 4·216·4·3 = 10,368 + 10,368 + 8·216·4·3 = 20,736 → 41,472
    # params (4·4·3 + 4) + (4·4·3 + 4) + (8·4·3 + 8) = 52 + 52 + 104 = 208
    assert layer.output_shape == [8, 6, 6, 6]
    assert (layer.params, layer.macs) == (208, 41_472)
    assert [row["macs"] for row in layer.details["sub_rows"]] == [10_368, 10_368, 20_736]
    # FLOPs: 2·41,472 + bias adds (4 + 4 + 8)·216 = 82,944 + 3,456 = 86,400
    assert layer.flops == 86_400


def test_separable_strided_stages_shrink_one_axis_at_a_time():
    layer = one((2, 9, 9), {"type": "separable", "out": 2, "kernel": 3, "stride": 2, "bias": False})
    # valid, stride 2: 9 → 4 per axis. Stage 1 (3×1, 2→2) at 4×9: 2·36·2·3 = 432; stage 2 (1×3) at 4×4: 2·16·2·3 = 192
    assert layer.output_shape == [2, 4, 4]
    assert [row["output_shape"] for row in layer.details["sub_rows"]] == [[2, 4, 9], [2, 4, 4]]
    assert layer.macs == 624


# ---- depthwise separable ----------------------------------------------------------------------------------------
def test_depthwise_separable_512_against_the_standard_conv():
    spec = {"out": 512, "kernel": 3, "padding": 1, "bias": False}
    layer = one((512, 14, 14), {"type": "depthwise_separable", **spec})
    conv = one((512, 14, 14), {"type": "conv", **spec})
    # depthwise 512·196·9 = 903,168 + pointwise 512·196·512 = 51,380,224 → 52,283,392
    # standard 512·196·512·9 = 462,422,016
    assert (layer.macs, conv.macs) == (52_283_392, 462_422_016)
    assert round(layer.macs / conv.macs, 5) == 0.11306
    assert Fraction(layer.macs, conv.macs) == Fraction(1, 512) + Fraction(1, 9)  # 1/C_out + 1/k²
    # 512·9 + 512·512 = 4,608 + 262,144
    assert layer.params == 266_752


def test_depthwise_separable_mid_layers_and_sub_rows():
    layer = one((32, 14, 14), {"type": "depthwise_separable", "out": 64, "kernel": 3, "padding": 1, "bias": False,
                               "mid": ["batchnorm", "relu"]})
    rows = layer.details["sub_rows"]
    assert [(r["name"], r["type"]) for r in rows] == [("depthwise", "depthwise"), ("mid1", "batchnorm"),
                                                     ("mid2", "relu"), ("pointwise", "pointwise")]
    # depthwise 32·9 = 288, batchnorm 2·32 = 64, pointwise 64·32 = 2,048 → 2,400 params; BN buffers 2·32 = 64
    assert (layer.params, layer.buffers) == (2_400, 64)
    # MACs: 32·196·9 = 56,448 + 64·196·32 = 401,408 → 457,856
    assert layer.macs == 457_856
    # FLOPs: 2·457,856 = 915,712 + BN 2·32·196 = 12,544 + ReLU 32·196 = 6,272 → 934,528
    assert layer.flops == 934_528
    assert [r["flops"] for r in rows] == [112_896, 12_544, 6_272, 802_816]
    assert all(set(r) == {"name", "type", "output_shape", "params", "macs", "flops"} for r in rows)


def test_depthwise_separable_multiplier_and_bias():
    layer = one((8, 10, 10), {"type": "depthwise_separable", "out": 16, "kernel": 3, "multiplier": 2})
    # valid: 10 → 8. depthwise 8 → 16: 16·9 + 16 = 160 params; pointwise 16 → 16: 256 + 16 = 272 → 432
    # MACs 16·64·9 = 9,216 + 16·64·16 = 16,384 → 25,600
    assert layer.output_shape == [16, 8, 8]
    assert (layer.params, layer.macs) == (432, 25_600)


def test_depthwise_separable_mid_must_keep_the_shape():
    with pytest.raises(SpecError, match=r"mid layer `flatten` changes the shape \(8, 8, 8\)"):
        one((8, 10, 10), {"type": "depthwise_separable", "out": 16, "kernel": 3, "mid": ["flatten"]})
    with pytest.raises(SpecError, match="not a shape-keeping"):
        one((8, 10, 10), {"type": "depthwise_separable", "out": 16, "kernel": 3, "mid": ["maxpool"]})
    with pytest.raises(SpecError, match="unknown layer type `relu7`"):
        one((8, 10, 10), {"type": "depthwise_separable", "out": 16, "kernel": 3, "mid": ["relu7"]})


def test_json_exposes_sub_rows():
    report = analyze_layers((32, 14, 14), {"type": "depthwise_separable", "out": 64, "kernel": 3, "padding": 1})
    data = report.to_dict()["layers"][0]["details"]["sub_rows"]
    assert [row["name"] for row in data] == ["depthwise", "pointwise"]


# ---- flattened -------------------------------------------------------------------------------------------------
def test_flattened_params_and_macs():
    layer = one((128, 56, 56), {"type": "flattened", "out": 128, "kernel": 3, "padding": "same"})
    # F(C + k_h + k_w) + 3F = 128·(128 + 3 + 3) + 384 = 17,152 + 384 = 17,536
    assert layer.params == 17_536
    # 3,136·(128·128 + 128·3 + 128·3) = 3,136·17,152 = 53,788,672
    assert layer.macs == 53_788_672
    nobias = one((128, 56, 56), {"type": "flattened", "out": 128, "kernel": 3, "padding": "same", "bias": False})
    assert nobias.params == 17_152


def test_flattened_valid_stage_sizes():
    layer = one((3, 8, 8), {"type": "flattened", "out": 4, "kernel": [3, 5], "bias": False})
    # lateral 3→4 at 8×8: 4·64·3 = 768; vertical 3×1 at 6×8: 4·48·3 = 576; horizontal 1×5 at 6×4: 4·24·5 = 480
    assert layer.output_shape == [4, 6, 4]
    assert layer.macs == 768 + 576 + 480
    assert layer.params == 4 * (3 + 3 + 5)  # F(C + k_h + k_w) = 44


# ---- channel shuffle, slice, pointwise grouped ---------------------------------------------------------------
def test_channel_shuffle_is_free_and_checks_groups():
    layer = one((240, 28, 28), {"type": "channel_shuffle", "groups": 3})
    assert (layer.output_shape, layer.params, layer.macs, layer.flops) == ([240, 28, 28], 0, 0, 0)
    with pytest.raises(SpecError, match=r"channels \(16\) are not divisible by groups \(3\)"):
        one((16, 4, 4), {"type": "channel_shuffle", "groups": 3})


def test_pointwise_grouped_for_shufflenet():
    layer = one((240, 28, 28), {"type": "pointwise", "out": 240, "groups": 3, "bias": False})
    # 240·(240/3) = 19,200 params; 784·19,200 = 15,052,800 MACs
    assert (layer.params, layer.macs) == (19_200, 15_052_800)


def test_channel_slice():
    layer = one((116, 28, 28), {"type": "channel_slice", "start": 58})
    assert layer.output_shape == [58, 28, 28] and layer.flops == 0
    assert one((116, 28, 28), {"type": "channel_slice", "stop": 58}).output_shape == [58, 28, 28]
    with pytest.raises(SpecError, match="past the last channel"):
        one((16, 4, 4), {"type": "channel_slice", "stop": 17})
    with pytest.raises(SpecError, match="must be below stop"):
        one((16, 4, 4), {"type": "channel_slice", "start": 8, "stop": 8})


# ---- squeeze-excitation -------------------------------------------------------------------------------------
def test_squeeze_excitation_256():
    layer = one((256, 7, 7), {"type": "squeeze_excitation", "reduction": 16})
    # S = 16: 256·16 + 16 + 16·256 + 256 = 4,096 + 16 + 4,096 + 256 = 8,464
    assert layer.params == 8_464
    assert layer.macs == 8_192  # 2·256·16
    # pool 256·49 = 12,544; fc1 2·4,096 + 16 = 8,208; relu 16; fc2 8,192 + 256 = 8,448; sigmoid 3·256 = 768;
    # multiply 12,544 → 42,528
    assert layer.flops == 42_528
    assert layer.output_shape == [256, 7, 7] and layer.rf.size == [1, 1]


def test_squeeze_excitation_explicit_squeeze_and_errors():
    layer = one((96, 14, 14), {"type": "squeeze_excitation", "squeeze": 4, "activation": "silu", "bias": False})
    assert (layer.params, layer.macs) == (768, 768)  # 2·96·4 = 768, no biases
    with pytest.raises(SpecError, match="not divisible by the reduction"):
        one((100, 4, 4), {"type": "squeeze_excitation", "reduction": 16})


# ---- deformable -------------------------------------------------------------------------------------------------
def test_deformable_worked_example_v1():
    layer = one((64, 32, 32), {"type": "deformable", "out": 64, "kernel": 3, "padding": 1})
    d = layer.details
    # main 64·64·9 + 64 = 36,928; offset 18·64·9 + 18 = 10,386 → 47,314
    assert (d["params_main"], d["params_offset"], layer.params) == (36_928, 10_386, 47_314)
    # main 64·1,024·576 = 37,748,736; offset 18·1,024·576 = 10,616,832; sampling 4·64·9·1,024 = 2,359,296
    assert (d["macs_main"], d["macs_offset"], d["macs_sampling"]) == (37_748_736, 10_616_832, 2_359_296)
    assert layer.macs == 50_724_864
    assert layer.rf.size == [3, 3] and not layer.rf.position_dependent and not layer.warnings


def test_deformable_v2_and_offset_groups():
    layer = one((64, 32, 32), {"type": "deformable", "out": 64, "kernel": 3, "padding": 1, "modulated": True,
                               "offset_groups": 2})
    d = layer.details
    # offset channels (2 + 1)·2·9 = 54: 54·576 + 54 = 31,158 params; 54·1,024·576 = 31,850,496 MACs
    assert d["offset_channels"] == 54
    assert (d["params_offset"], d["macs_offset"]) == (31_158, 31_850_496)
    # sampling (4 + 1)·64·9·1,024 = 2,949,120
    assert d["macs_sampling"] == 2_949_120
    with pytest.raises(SpecError, match="offset_groups"):
        one((6, 8, 8), {"type": "deformable", "out": 4, "kernel": 3, "offset_groups": 4})


def test_deformable_1d():
    layer = one((4, 10), {"type": "deformable", "out": 8, "kernel": 3, "padding": 1, "bias": False})
    # offsets 1·1·3 = 3 channels: 3·4·3 + 3 = 39 params, 3·10·12 = 360 MACs; main 8·12 = 96 params,
    # 8·10·12 = 960 MACs; sampling 2·4·3·10 = 240
    assert (layer.params, layer.macs) == (39 + 96, 360 + 960 + 240)


# ---- locally connected and tiled -------------------------------------------------------------------------------
def test_locally_connected():
    base = {"type": "locally_connected", "out": 8, "kernel": 3}
    layer = one((4, 6, 6), base)
    # 4×4 = 16 positions: 16·8·4·9 = 4,608 weights + 8·16 = 128 biases
    assert layer.output_shape == [8, 4, 4]
    assert (layer.params, layer.macs) == (4_736, 4_608)
    assert one((4, 6, 6), {**base, "bias": "channel"}).params == 4_616
    assert one((4, 6, 6), {**base, "bias": False}).params == 4_608
    # DeepFace L4: 16 → 16, 9×9 on 63×63 → 55×55: 3,025·16·16·81 = 62,726,400 + 16·3,025 = 48,400
    assert one((16, 63, 63), {"type": "locally_connected", "out": 16, "kernel": 9}).params == 62_774_800


def test_tiled_between_conv_and_locally_connected():
    base = {"out": 8, "kernel": 3}
    conv = one((4, 6, 6), {"type": "conv", **base})
    lc = one((4, 6, 6), {"type": "locally_connected", **base})
    assert one((4, 6, 6), {"type": "tiled", **base, "tile": 1}).params == conv.params == 296  # 8·4·9 + 8
    tiled = one((4, 6, 6), {"type": "tiled", **base, "tile": 2})
    assert tiled.params == 1_184  # 2² kernels: 4·288 + 4·8
    full = one((4, 6, 6), {"type": "tiled", **base, "tile": 4})  # t = output size
    assert full.params == lc.params == 4_736
    assert tiled.macs == conv.macs == lc.macs == 4_608


# ---- dilated and transposed ---------------------------------------------------------------------------------
def test_dilated_same_padding():
    layer = one((8, 14, 14), {"type": "conv", "out": 8, "kernel": 3, "dilation": 2, "padding": "same"})
    # k_eff = 5: total padding 13 + 5 − 14 = 4 → (2, 2); output 14; RF 5
    assert layer.output_shape == [8, 14, 14] and layer.rf.size == [5, 5] and layer.rf.start == [-2, -2]
    strided = one((8, 14, 14), {"type": "conv", "out": 8, "kernel": 3, "dilation": 2, "stride": 2,
                                "padding": "same"})
    # ceil(14/2) = 7; total 6·2 + 5 − 14 = 3 → (1, 2)
    assert strided.output_shape == [8, 7, 7] and strided.rf.start == [-1, -1]


def test_transposed_warns_and_reports_taps():
    layer = one((2, 4), {"type": "conv_transpose", "out": 2, "kernel": 3, "stride": 2, "padding": 1})
    # out (4 − 1)·2 − 2 + 3 = 7; taps per output 1,2,1,2,1,2,1: min 1, max 2, mean 10/7
    assert layer.output_shape == [2, 7]
    assert layer.details["taps_per_output"] == {"min": 1, "max": 2, "mean": "10/7"}
    assert any("checkerboard" in w for w in layer.warnings)
    even = one((2, 4), {"type": "conv_transpose", "out": 2, "kernel": 4, "stride": 2, "padding": 1})
    # k4 s2 p1 → 8 outputs: o = 2i − 1 + t reaches o0 and o7 once, every other output twice: 14/8 = 7/4
    assert not even.warnings
    assert even.details["taps_per_output"] == {"min": 1, "max": 2, "mean": "7/4"}


# ---- pooling and resampling ----------------------------------------------------------------------------------
def test_lppool():
    layer = one((16, 6, 6), {"type": "lppool", "p": 2, "kernel": 2})
    # 3×3 windows of 4: 16·9·(2·4) = 1,152 FLOPs
    assert (layer.output_shape, layer.flops, layer.params) == ([16, 3, 3], 1_152, 0)
    assert one((2, 7), {"type": "lppool", "p": 3, "kernel": 3, "stride": 2, "ceil_mode": True}).output_shape == [2, 3]


def test_stochastic_pool():
    layer = one((16, 6, 6), {"type": "stochastic_pool", "kernel": 2})
    # 16·9·(3·4 − 1) = 1,584 FLOPs, both modes
    assert (layer.output_shape, layer.flops) == ([16, 3, 3], 1_584)
    assert one((16, 6, 6), {"type": "stochastic_pool", "kernel": 2, "mode": "train"}).flops == 1_584
    assert layer.rf.size == [2, 2] and layer.rf.jump == [2, 2]


def test_pixel_shuffle_and_unshuffle():
    up = one((16, 6, 6), {"type": "pixel_shuffle", "factor": 2})
    assert up.output_shape == [4, 12, 12] and up.rf.jump == [Fraction(1, 2)] * 2 and up.flops == 0
    down = one((16, 6, 6), {"type": "pixel_unshuffle", "factor": 2})
    assert down.output_shape == [64, 3, 3] and down.rf.size == [2, 2]
    assert one((27, 2, 2, 2), {"type": "pixel_shuffle", "factor": 3}).output_shape == [1, 6, 6, 6]
    with pytest.raises(SpecError, match="not divisible by r"):
        one((6, 4, 4), {"type": "pixel_shuffle", "factor": 2})
    with pytest.raises(SpecError, match="not divisible by the factor"):
        one((6, 5, 4), {"type": "pixel_unshuffle", "factor": 2})


def test_bicubic_upsample():
    layer = one((16, 6, 6), {"type": "upsample", "scale": 2, "mode": "bicubic"})
    # 16·12·12 = 2,304 outputs · (16 multiplies + 15 adds) = 71,424
    assert (layer.output_shape, layer.flops) == ([16, 12, 12], 71_424)
    with pytest.raises(SpecError, match="bicubic"):
        one((4, 8), {"type": "upsample", "scale": 2, "mode": "bicubic"})


def test_batch_multiplies_the_variant_macs():
    layer = one((64, 32, 32), {"type": "deformable", "out": 64, "kernel": 3, "padding": 1}, batch=2)
    assert layer.macs == 2 * 50_724_864


# ---- the shipped examples ----------------------------------------------------------------------------------
def _variant_configs():
    from convcalc.spec.loader import shipped_configs

    return sorted(name for name in shipped_configs() if name.startswith("variants/"))


def test_every_variant_kind_has_an_example():
    names = {name.split("/", 1)[1] for name in _variant_configs()}
    for kind in ("separable", "depthwise_separable", "flattened", "channel_shuffle", "channel_slice",
                 "squeeze_excitation", "deformable", "locally_connected", "tiled", "lppool", "stochastic_pool",
                 "pixel_shuffle", "pixel_unshuffle", "bicubic", "dilated", "transposed"):
        assert kind in names


@pytest.mark.parametrize("name", _variant_configs())
def test_variant_configs_analyse_by_name(name):
    report = convcalc.analyze(name)
    assert report.totals.layers > 0
    if name != "variants/transposed":  # the transposed example shows the checkerboard warning on purpose
        assert report.warnings == []


def test_named_examples_match_their_headers():
    layers = {layer.name: layer for layer in convcalc.analyze("variants/dilated").layers}
    assert [layers[n].rf.size for n in ("rate1", "rate2", "rate4")] == [[3, 3], [7, 7], [15, 15]]
    assert layers["rate4"].output_shape == [32, 64, 64]  # `same` with dilation 4 keeps 64×64
    assert convcalc.analyze("variants/channel_shuffle").totals.macs == 7_949_760
    assert convcalc.analyze("variants/channel_slice").totals.macs == 5_684_000
    dws = convcalc.analyze("variants/depthwise_separable").layers[0]
    assert dws.macs == 52_283_392


# ---- YAML, rendering and errors --------------------------------------------------------------------------------
def test_mid_layers_from_yaml_with_mappings_and_expressions(tmp_path):
    path = tmp_path / "dws.yaml"
    path.write_text("name: dws\ninput: [8, 10, 10]\nvars: {slope: 0.2}\nlayers:\n"
                    "  - {type: depthwise_separable, out: 16, kernel: 3, bias: false,\n"
                    "     mid: [batchnorm, {type: leaky_relu, negative_slope: 'slope / 2'}]}\n")
    layer = convcalc.analyze(str(path)).layers[0]
    # depthwise 8·9 = 72 + BN 16 + pointwise 16·8 = 128 → 216; leaky relu 2 FLOPs per element on 8·8·8 = 512
    assert layer.params == 216
    assert [row["flops"] for row in layer.details["sub_rows"]][2] == 1_024


def test_table_shows_sub_rows_and_csv_does_not():
    import io

    from convcalc.render.analyze import RenderOptions, render

    report = analyze_layers((32, 14, 14), {"type": "depthwise_separable", "out": 64, "kernel": 3, "padding": 1,
                                           "mid": ["batchnorm", "relu"]})
    table, csv = io.StringIO(), io.StringIO()
    render(report, "table", RenderOptions(units="raw"), table)
    render(report, "csv", RenderOptions(units="raw"), csv)
    lines = table.getvalue().splitlines()
    assert any("· depthwise" in line and "↳ depthwise" in line and "56,448" in line for line in lines)
    assert any("· pointwise" in line and "401,408" in line for line in lines)
    assert "↳" not in csv.getvalue() and len(csv.getvalue().splitlines()) == 2  # header, the layer


def test_cli_error_points_at_the_line(tmp_path):
    from typer.testing import CliRunner

    from convcalc.cli.app import app

    path = tmp_path / "bad.yaml"
    path.write_text("name: bad\ninput: [16, 4, 4]\nlayers:\n  - {type: conv, out: 10, kernel: 1}\n"
                    "  - {type: channel_shuffle, groups: 4}\n")
    result = CliRunner().invoke(app, ["analyze", str(path)])
    assert result.exit_code == 2
    assert "bad.yaml:5:" in result.output and "channels (10) are not divisible by groups (4)" in result.output


def test_variant_configs_open_with_a_one_line_title():
    from convcalc.zoo import header_description
    from convcalc.spec.loader import shipped_configs

    for name in _variant_configs():
        title = header_description(shipped_configs()[name].read_text(encoding="utf-8"))
        assert title and len(title) <= 100 and title.endswith("."), (name, title)


def test_mid_list_under_repeat_is_one_value_unless_nested(tmp_path):
    path = tmp_path / "rep.yaml"
    path.write_text("name: rep\ninput: [8, 6, 6]\nlayers:\n"
                    "  - {type: depthwise_separable, out: 8, kernel: 3, padding: 1, repeat: 2,\n"
                    "     mid: [batchnorm, relu]}\n"
                    "  - {type: depthwise_separable, out: 8, kernel: 3, padding: 1, repeat: 2,\n"
                    "     mid: [[batchnorm], [relu6]]}\n")
    layers = convcalc.analyze(str(path)).layers
    mids = [[row["type"] for row in layer.details["sub_rows"][1:-1]] for layer in layers]
    assert mids == [["batchnorm", "relu"], ["batchnorm", "relu"], ["batchnorm"], ["relu6"]]


# ---- relations to the existing kinds (hypothesis) ---------------------------------------------------------------
from hypothesis import assume, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


def _try(input_shape, *layers):
    try:
        return analyze_layers(input_shape, *layers)
    except SpecError:
        assume(False)


@st.composite
def conv_cases(draw):
    rank = draw(st.integers(1, 3))
    shape = (draw(st.integers(1, 6)), *[draw(st.integers(3, 9)) for _ in range(rank)])
    fields = {"out": draw(st.integers(1, 6)), "kernel": draw(st.integers(1, 4)), "stride": draw(st.integers(1, 3)),
              "padding": draw(st.sampled_from([0, 1, 2, "same", "valid", "full"])),
              "dilation": draw(st.integers(1, 2)), "bias": draw(st.booleans())}
    return shape, fields


@settings(max_examples=40, deadline=None)
@given(conv_cases())
def test_separable_is_its_stages_as_convs(case):
    shape, f = case
    rank = len(shape) - 1
    mid = f["out"] + 1
    layer = _try(shape, {"type": "separable", "mid": mid, **f}).layers[0]
    pads = _try(shape, {"type": "conv", **f}).layers[0]
    assert layer.output_shape == pads.output_shape and layer.rf.size == pads.rf.size
    # the same stages written as plain convs, each with its own axis's kernel, stride, dilation and padding pair
    # [p_b, p_a]: p_b = −start of the whole conv's field, p_a whatever completes the conv's output size
    k_eff = f["dilation"] * (f["kernel"] - 1) + 1
    stages, current = [], shape
    for axis in range(rank):
        n, after = shape[1 + axis], pads.output_shape[1 + axis]
        before = -int(pads.rf.start[axis])
        pair = [before, max((after - 1) * f["stride"] + k_eff - n - before, 0)]
        conv = {"type": "conv", "out": f["out"] if axis == rank - 1 else mid, "bias": f["bias"],
                "kernel": [f["kernel"] if a == axis else 1 for a in range(rank)],
                "stride": [f["stride"] if a == axis else 1 for a in range(rank)],
                "dilation": [f["dilation"] if a == axis else 1 for a in range(rank)],
                "padding": [pair if a == axis else [0, 0] for a in range(rank)]}
        report = _try(current, conv)
        stages.append(report.layers[0])
        current = tuple(report.layers[0].output_shape)
    assert tuple(layer.output_shape) == current
    assert layer.params == sum(s.params for s in stages)
    assert layer.macs == sum(s.macs for s in stages)
    assert layer.flops == sum(s.flops for s in stages)


@settings(max_examples=40, deadline=None)
@given(conv_cases(), st.integers(1, 3))
def test_depthwise_separable_is_depthwise_then_pointwise(case, multiplier):
    shape, f = case
    layer = _try(shape, {"type": "depthwise_separable", "multiplier": multiplier, **f}).layers[0]
    dw_fields = {k: v for k, v in f.items() if k != "out"}
    pair = _try(shape, {"type": "depthwise", "multiplier": multiplier, **dw_fields},
                {"type": "pointwise", "out": f["out"], "bias": f["bias"]})
    assert layer.output_shape == pair.layers[1].output_shape and layer.rf.size == pair.layers[1].rf.size
    assert (layer.params, layer.macs, layer.flops) == (pair.totals.params, pair.totals.macs, pair.totals.flops)


@settings(max_examples=40, deadline=None)
@given(conv_cases())
def test_tiled_spans_conv_to_locally_connected(case):
    shape, f = case
    conv = _try(shape, {"type": "conv", **f}).layers[0]
    lc = _try(shape, {"type": "locally_connected", **f}).layers[0]
    one = _try(shape, {"type": "tiled", "tile": 1, **f}).layers[0]
    every = _try(shape, {"type": "tiled", "tile": max(conv.output_shape[1:]), **f}).layers[0]
    assert one.params == conv.params and every.params == lc.params
    assert conv.macs == lc.macs == one.macs == every.macs
    assert conv.output_shape == lc.output_shape == one.output_shape and conv.rf.size == lc.rf.size


@settings(max_examples=40, deadline=None)
@given(conv_cases(), st.booleans(), st.sampled_from([1, 2]))
def test_deformable_parts_are_convs(case, modulated, groups):
    shape, f = case
    assume(shape[0] % groups == 0)
    layer = _try(shape, {"type": "deformable", "modulated": modulated, "offset_groups": groups, **f}).layers[0]
    d, rank = layer.details, len(shape) - 1
    main = _try(shape, {"type": "conv", **f}).layers[0]
    taps = f["kernel"] ** rank
    offset = _try(shape, {"type": "conv", **f, "out": (rank + modulated) * groups * taps, "bias": True}).layers[0]
    assert (d["params_main"], d["macs_main"]) == (main.params, main.macs)
    assert (d["params_offset"], d["macs_offset"]) == (offset.params, offset.macs)
    assert layer.output_shape == main.output_shape and layer.rf.size == main.rf.size
