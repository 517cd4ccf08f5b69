"""The normalisation kinds in the cost model (convcalc/layers/norm.py): hand-worked literal numbers.

FLOPs with the sample's own statistics (docs/flops.md): 5 per element, 3 per normalised set, 1 per element and
affine term (× γ, + β); with running statistics the folded batch-norm form, 2 per element. Every expected number is
written out with its arithmetic; nothing here calls the code's formulas.
"""

from __future__ import annotations

import pytest

import convcalc
from convcalc.errors import SpecError
from spec_helpers import analyze_layers, one

ROWS = [
    # (input, layer, params, buffers, FLOPs)
    pytest.param((96, 56, 56), {"type": "layernorm"}, 192, 0, 2_116_800,
                 # ConvNeXt's stem LayerNorm2d: params 2·96; elements 96·3,136 = 301,056; sets 56·56 = 3,136
                 # 301,056·5 + 3,136·3 + 2·301,056 = 1,505,280 + 9,408 + 602,112 = 2,116,800
                 id="layernorm-channels"),
    pytest.param((56, 56, 96), {"type": "layernorm", "axis": "last"}, 192, 0, 2_116_800,
                 # the same tensor channels-last, torch.nn.LayerNorm(96): n = 96, sets 56·56 = 3,136: the same numbers
                 id="layernorm-last-channels-last"),
    pytest.param((96, 56, 56), {"type": "layernorm", "bias": False}, 96, 0, 1_815_744,
                 # γ only: 96 params; 1,505,280 + 9,408 + 301,056 = 1,815,744
                 id="layernorm-no-bias"),
    pytest.param((96, 56, 56), {"type": "layernorm", "affine": False, "bias": False}, 0, 0, 1_514_688,
                 # no γ, β: 1,505,280 + 9,408 = 1,514,688
                 id="layernorm-no-affine"),
    pytest.param((4, 10), {"type": "layernorm", "axis": "last"}, 20, 0, 292,
                 # n = 10: params 2·10; elements 40, sets 4: 40·5 + 4·3 + 2·40 = 200 + 12 + 80 = 292
                 id="layernorm-last-1d"),
    pytest.param((768,), {"type": "layernorm"}, 1_536, 0, 5_379,
                 # flat features, one set of 768: 768·5 + 3 + 2·768 = 3,840 + 3 + 1,536 = 5,379
                 id="layernorm-flat-channels"),
    pytest.param((768,), {"type": "layernorm", "axis": "last"}, 1_536, 0, 5_379,
                 id="layernorm-flat-last"),
    pytest.param((256, 56, 56), {"type": "groupnorm", "groups": 32}, 512, 0, 5_619_808,
                 # Wu & He's G = 32: params 2·256; elements 256·3,136 = 802,816, 32 sets
                 # 802,816·5 + 32·3 + 2·802,816 = 4,014,080 + 96 + 1,605,632 = 5,619,808 (docs/flops.md)
                 id="groupnorm-32"),
    pytest.param((8, 4, 4), {"type": "groupnorm", "groups": 1, "affine": False}, 0, 0, 643,
                 # one group = a layer norm over (C, H, W): 128 elements: 128·5 + 1·3 = 643
                 id="groupnorm-1-no-affine"),
    pytest.param((6,), {"type": "groupnorm", "groups": 3}, 12, 0, 51,
                 # flat features, 3 sets of 2: 6·5 + 3·3 + 2·6 = 30 + 9 + 12 = 51
                 id="groupnorm-flat"),
    pytest.param((3, 4, 4), {"type": "instancenorm"}, 0, 0, 249,
                 # torch's defaults (no affine, no tracking): 48 elements, 3 sets: 48·5 + 3·3 = 240 + 9 = 249
                 id="instancenorm-defaults"),
    pytest.param((32, 64, 64), {"type": "instancenorm", "affine": True}, 64, 0, 917_600,
                 # elements 32·4,096 = 131,072: 655,360 + 32·3 + 2·131,072 = 655,360 + 96 + 262,144 = 917,600
                 id="instancenorm-affine"),
    pytest.param((16, 10), {"type": "instancenorm", "track_running_stats": True}, 0, 32, 320,
                 # running statistics: 2·16 buffers, the folded form 160·2 = 320
                 id="instancenorm1d-tracked"),
    pytest.param((4, 2, 3, 5), {"type": "instancenorm", "affine": True, "track_running_stats": True}, 8, 8, 240,
                 # 3-D: params 2·4, buffers 2·4, 120 elements·2 = 240
                 id="instancenorm3d-affine-tracked"),
    pytest.param((4, 2, 3, 5), {"type": "instancenorm"}, 0, 0, 612,
                 # 3-D, own statistics: 120·5 + 4·3 = 600 + 12 = 612
                 id="instancenorm3d"),
]


@pytest.mark.parametrize("shape, layer, params, buffers, flops", ROWS)
def test_counts(shape, layer, params, buffers, flops):
    row = one(shape, layer)
    assert row.output_shape == list(shape)
    assert (row.params, row.buffers, row.macs, row.flops) == (params, buffers, 0, flops)


def test_flops_scale_with_the_batch_and_params_do_not():
    row = one((3, 4, 4), {"type": "instancenorm", "affine": True}, batch=4)
    # per sample 48·5 + 9 + 2·48 = 345; batch 4: 1,380; params 2·3 = 6
    assert (row.params, row.flops) == (6, 1_380)


def test_the_formula_prints_itself():
    from convcalc.layers import REGISTRY
    from convcalc.layers.formula import SYMBOLIC

    layer = REGISTRY["groupnorm"](convcalc.load({"input": [4, 3, 3], "layers": [
        {"type": "groupnorm", "groups": 2}]}).expand().nodes[0])
    flops = layer.counts([(4, 3, 3)], SYMBOLIC).flops
    assert flops.symbolic() == "C·ΠN·f_norm_stats + g·f_norm_set (+ 2·C·ΠN·f_norm_affine scale and shift, with affine)"
    assert flops.worked() == "4·3·3·5 + 2·3 + 2·4·3·3" and flops.value == 258   # 180 + 6 + 72


# ---- errors at the offending value --------------------------------------------------------------------------------
def _error(text):
    with pytest.raises(SpecError) as info:
        convcalc.analyze(convcalc.load(text))
    return info.value


def test_groups_must_divide_the_channels():
    err = _error("input: [6, 4, 4]\nlayers:\n  - {type: groupnorm, groups: 4}\n")
    assert (err.mark.line, err.mark.col) == (3, 31)   # the value 4
    assert "the channels (6) are not divisible by groups (4)" in err.message
    assert err.hint == "torch.nn.GroupNorm needs groups dividing C: one of 1, 2, 3, 6"


def test_the_divisors_are_listed_only_for_a_count_they_can_be_found_for():
    # 720 = 2⁴·3²·5 has (4 + 1)(2 + 1)(1 + 1) = 30 divisors, listed in order
    err = _error("input: [720, 2, 2]\nlayers:\n  - {type: groupnorm, groups: 7}\n")
    assert err.hint == ("torch.nn.GroupNorm needs groups dividing C: one of 1, 2, 3, 4, 5, 6, 8, 9, 10, 12, 15, 16, "
                        "18, 20, 24, 30, 36, 40, 45, 48, 60, 72, 80, 90, 120, 144, 180, 240, 360, 720")
    # 10^20 − 1 channels (fuzz seed 17's case 5448, `--input 99999999999999999999`): listing its divisors one by one
    # never ended; now the hint only names the count
    err = _error("input: [99999999999999999999]\nlayers:\n  - {type: groupnorm, groups: 2}\n")
    assert err.hint == "torch.nn.GroupNorm needs groups dividing C: a divisor of 99,999,999,999,999,999,999"


def test_a_bad_spec_is_exit_2_with_file_line_and_column(tmp_path):
    from typer.testing import CliRunner

    from convcalc.cli.app import app

    path = tmp_path / "gn.yaml"
    path.write_text("name: gn\ninput: [6, 4, 4]\nlayers:\n  - {type: groupnorm, groups: 4}\n")
    result = CliRunner().invoke(app, ["analyze", str(path)])
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.startswith(f"error: {path}:4:31: layer `groupnorm1` (groupnorm): the channels (6) are not "
                                    "divisible by groups (4)")
    assert "Traceback" not in result.stderr


def test_more_groups_than_channels_is_the_same_error():
    err = _error("input: [4, 4, 4]\nlayers:\n  - {type: conv, out: 3, kernel: 1}\n  - {type: groupnorm, groups: 6}\n")
    assert (err.mark.line, err.mark.col) == (4, 31)
    assert "the channels (3) are not divisible by groups (6)" in err.message


def test_groups_is_required_and_positive():
    err = _error("input: [6, 4, 4]\nlayers:\n  - {type: groupnorm}\n")
    assert err.mark.line == 3 and "groups" in err.message
    err = _error("input: [6, 4, 4]\nlayers:\n  - {type: groupnorm, groups: 0}\n")
    assert (err.mark.line, err.mark.col) == (3, 31) and "at least 1" in err.message


def test_instance_norm_needs_a_map():
    err = _error("input: [16]\nlayers:\n  - {type: instancenorm}\n")
    assert err.mark.line == 3
    assert "flat features (16,)" in err.message and "layernorm" in err.hint


def test_layernorm_axis_is_a_choice():
    err = _error("input: [6, 4, 4]\nlayers:\n  - {type: layernorm, axis: lats}\n")
    assert (err.mark.line, err.mark.col) == (3, 29)   # the value `lats`
    assert "did you mean `last`" in err.hint


# ---- warnings ---------------------------------------------------------------------------------------------------
def test_instance_norm_of_a_1x1_map_warns_that_it_normalises_one_value():
    report = analyze_layers((8, 6, 6), {"type": "global_avgpool"}, {"type": "instancenorm", "name": "inorm"})
    (warning,) = report.layers[1].warnings
    assert "single value" in warning and "normalises to 0" in warning and "β" in warning


def test_single_value_sets_warn_for_every_kind_but_not_with_running_statistics():
    assert one((1, 5, 5), {"type": "layernorm"}).warnings          # one channel per position
    assert one((4, 1), {"type": "layernorm", "axis": "last"}).warnings  # a last axis of size 1
    assert one((6,), {"type": "groupnorm", "groups": 6}).warnings  # C/g·ΠN = 1
    assert not one((6, 1, 1), {"type": "instancenorm", "track_running_stats": True}).warnings
    assert not one((6, 5, 5), {"type": "groupnorm", "groups": 6}).warnings  # 25 values per set


# ---- receptive field and the analytic ERF -----------------------------------------------------------------------
NET = [{"type": "conv", "out": 8, "kernel": 3, "padding": 1, "name": "c1"}, None,
       {"type": "conv", "out": 8, "kernel": 3, "padding": 1, "name": "c2"}]


def _erf(norm, input=(3, 12, 12)):
    from convcalc.erf.analytic import analytic_erf

    graph = convcalc.load({"input": list(input), "layers": [norm if layer is None else layer for layer in NET]})
    graph = graph.expand()
    report = convcalc.analyze(graph)
    return report, analytic_erf(graph, report)


@pytest.mark.parametrize("norm, exact", [
    ({"type": "batchnorm"}, True),                                   # affine at inference
    ({"type": "instancenorm", "track_running_stats": True}, True),   # running statistics: affine
    ({"type": "layernorm"}, False),                                  # the sample's own statistics
    ({"type": "groupnorm", "groups": 4}, False),
    ({"type": "instancenorm"}, False),
])
def test_statistics_from_the_data_make_the_analytic_erf_approximate(norm, exact):
    report, erf = _erf(norm)
    # the norm keeps the conv's RF (3) and the identity rule keeps the ERF of two 3×3 convs: [1, 2, 3, 2, 1]
    assert report.layers[1].rf.size == [3, 3] and report.layers[2].rf.size == [5, 5]
    assert [axis.values for axis in erf.axes] == [[1, 2, 3, 2, 1]] * 2
    assert erf.exact is exact
    if not exact:
        assert any("held fixed" in note and "--erf measured" in note for note in erf.notes)


def test_depthwise_separable_mid_groupnorm_is_counted_and_taken_as_identity():
    from convcalc.erf.analytic import analytic_erf

    spec = {"input": [4, 6, 6], "layers": [{"type": "depthwise_separable", "out": 8, "kernel": 3, "padding": 1,
                                            "bias": False, "mid": [{"type": "groupnorm", "groups": 2}, "relu"]}]}
    graph = convcalc.load(spec).expand()
    report = convcalc.analyze(graph)
    # depthwise 4·9 = 36, groupnorm 2·4 = 8, pointwise 8·4 = 32: 76 params
    # FLOPs: depthwise 2·4·36·9 = 2,592; groupnorm 144·5 + 2·3 + 2·144 = 1,014; relu 144; pointwise 2·8·36·4 = 2,304
    assert (report.layers[0].params, report.layers[0].flops) == (76, 6_054)
    assert not analytic_erf(graph, report).exact
