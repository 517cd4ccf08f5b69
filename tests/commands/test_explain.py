"""`convcalc explain`: every kind's formulas, and one layer's numbers worked through them, equal to the analysis."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

import convcalc
import convcalc.spec.loader
from convcalc.cost.analysis import analyze, expand
from convcalc.cli.app import app
from convcalc.layers import REGISTRY
from convcalc.layers.formula import SYMBOLIC
from convcalc.render.explain import evaluate_worked

runner = CliRunner()


def invoke(*args):
    return runner.invoke(app, ["explain", *args])


LABELS = ("shape:", "params:", "MACs:", "FLOPs:", "RF:")


def test_every_kind_has_a_summary_and_its_own_example():
    from convcalc.layers.base import own

    for kind, cls in REGISTRY.items():
        assert cls.summary, kind
        assert own(cls, "example") is not None, kind


@pytest.mark.parametrize("kind", sorted(REGISTRY))
def test_explain_type_prints_fields_formulas_and_the_worked_example(kind):
    result = invoke(kind)
    assert result.exit_code == 0, result.output
    cls = REGISTRY[kind]
    assert result.output.startswith(f"{kind} — {cls.summary}")
    for name in cls.fields:
        assert f"  {name}: " in result.output
    formulas = result.output.split("formulas:\n", 1)[1].split("\nexample: ", 1)
    for label in LABELS:
        assert f"  {label} " in formulas[0], (kind, label)
    assert len(formulas) == 2 and "  params: " in formulas[1] and "  FLOPs:  " in formulas[1]


def test_explain_conv_by_hand():
    # the example: (4, 9, 8) → conv out 6, k3, s2, p1, groups 2: N_out = floor((9 + 2 − 3)/2) + 1 = 5 and
    # floor((8 + 2 − 3)/2) + 1 = 4; params 6·(4/2)·9 + 6 = 114; MACs 6·20·2·9 = 2,160; FLOPs 2·2,160 + 6·20 = 4,440
    output = invoke("conv").output
    assert "  params: C_out·(C_in/g)·Πk (+ C_out bias)\n" in output
    assert "  MACs:   C_out·ΠN_out·(C_in/g)·Πk\n" in output
    assert "  FLOPs:  2·MACs (+ C_out·ΠN_out bias adds)\n" in output
    assert "axis 0: floor((9 + 1 + 1 − 3)/2) + 1 = 5" in output and "axis 1: floor((8 + 1 + 1 − 3)/2) + 1 = 4" in output
    assert "  params: 6·(4/2)·3·3 + 6 = 114\n" in output
    assert "  MACs:   6·5·4·(4/2)·3·3 = 2,160\n" in output
    assert "  FLOPs:  2·6·5·4·(4/2)·3·3 + 6·5·4 = 4,440\n" in output


def test_explain_shows_each_setting_whose_formula_differs():
    output = invoke("upsample").output
    # FLOPs per output element: bilinear 4 + 3 = 7 (2-D), nearest 0 (a copy), bicubic 16 + 15 = 31
    assert "C·ΠN·(2^d + 2^d − 1)·f_upsample_linear    (mode: bilinear)" in output
    assert "C·ΠN·f_upsample_nearest    (mode: nearest)" in output
    assert "C·ΠN·(4^d + 4^d − 1)·f_upsample_cubic    (mode: bicubic)" in output
    assert "  FLOPs:  2·8·10·(4 + 4 − 1) = 1,120\n" in output  # (2, 4, 5) ×2 → 2·8·10 = 160 outputs × 7


def test_explain_list_names_every_kind():
    result = invoke("--list")
    assert result.exit_code == 0
    listed = [line.split()[0] for line in result.output.splitlines()]
    assert listed == sorted(REGISTRY)


def test_explain_flops_table():
    result = invoke("--flops")
    assert result.exit_code == 0
    assert "bicubic: 16 + 15 = 31" in result.output and "stochastic_pool" in result.output


def test_unknown_kind_exits_2_with_did_you_mean():
    result = invoke("deformabel")
    assert result.exit_code == 2
    assert "unknown layer kind `deformabel`" in result.output and "did you mean `deformable`?" in result.output


def test_unknown_layer_and_spec_without_layer():
    result = invoke("resnet18", "--layer", "conv9")
    assert result.exit_code == 2 and "--layer `conv9`: no layer of that name" in result.output and "did you mean" in result.output
    result = invoke("variants/dilated")
    assert result.exit_code == 2 and "--layer" in result.output
    assert invoke().exit_code == 2


# ---- worked numbers ------------------------------------------------------------------------------------------
def test_conv1_of_resnet18_step_by_step():
    result = invoke("resnet18", "--layer", "conv1")
    assert result.exit_code == 0, result.output
    # 7×7/2, padding 3 on 224: floor((224 + 3 + 3 − 7)/2) + 1 = 112; params 64·3·7·7 = 9,408;
    # MACs 64·112·112·3·7·7 = 118,013,952
    assert "axis 0: floor((224 + 3 + 3 − 7)/2) + 1 = 112" in result.output
    assert "= 64·3·7·7\n        = 9,408\n" in result.output
    assert "= 64·112·112·3·7·7\n        = 118,013,952\n" in result.output
    assert "size 7, jump 2, start -3" in result.output


def test_deformable_worked_example():
    result = invoke("variants/deformable", "--layer", "v1")
    assert result.exit_code == 0, result.output
    # params 10,386 offset + 36,928 main = 47,314; MACs 10,616,832 + 2,359,296 + 37,748,736 = 50,724,864
    assert "= (18·64·3·3 + 18) + (64·64·3·3 + 64)\n        = 47,314\n" in result.output
    assert "= 50,724,864\n" in result.output
    assert "sampling       bilinear" in result.output


def test_batch_is_shown_and_multiplied():
    result = invoke("variants/squeeze_excitation", "--layer", "se", "--batch", "4")
    assert result.exit_code == 0, result.output
    # MACs 2·256·16 = 8,192 per sample, 32,768 for the batch of 4; params 8,464 (not multiplied)
    assert "= 8,192 per sample × batch 4 = 32,768" in result.output
    assert "= 8,464\n" in result.output


CONFIGS = ["resnet18", "mobilenet_v2", "efficientnet_b0", "inception_v3", "dcgan_generator", "densenet121",
           "c3d", "mobilenet_v3_large", "regnet_y_400mf"]


@pytest.mark.parametrize("config", CONFIGS + [name for name in convcalc.spec.loader.shipped_configs()
                                               if name.startswith("variants/")])
def test_worked_formulas_evaluate_to_the_analysis(config):
    graph = expand(config)
    report = analyze(graph)
    shapes = {graph.input_name: tuple(graph.input_shape)}
    seen = set()
    for node, row in zip(graph.nodes, report.layers):
        shapes[node.name] = tuple(row.output_shape)
        if node.kind in seen and not config.startswith("variants/"):
            continue  # one layer per kind is enough for the big networks
        seen.add(node.kind)
        layer = REGISTRY[node.kind](node)
        counts = layer.counts([shapes[name] for name in node.inputs], SYMBOLIC)
        for key, value in (("params", row.params), ("buffers", row.buffers), ("macs", row.macs // graph.batch),
                           ("flops", row.flops // graph.batch)):
            term = getattr(counts, key)
            worked = term.worked() if hasattr(term, "worked") else str(term)
            assert evaluate_worked(worked) == value, (config, node.name, key, worked)


def test_cli_numbers_equal_the_report_for_several_kinds():
    for config, name in (("variants/depthwise_separable", "dws"), ("variants/separable", "single"),
                         ("variants/flattened", "down"), ("variants/locally_connected", "L5"),
                         ("variants/tiled", "t2"), ("variants/lppool", "l3"), ("variants/transposed", "uneven"),
                         ("variants/bicubic", "bicubic")):
        row = next(layer for layer in analyze(config).layers if layer.name == name)
        output = invoke(config, "--layer", name).output
        for value in (row.params, row.macs, row.flops):
            assert f"= {value:,}\n" in output, (config, name, value, output)


def test_evaluate_worked():
    assert evaluate_worked("2·64·(64/2)·3·3 + 64") == 36_928
    assert evaluate_worked("(3 − 1)·5") == 10


def test_rf_steps_by_hand():
    result = invoke("resnet18", "--layer", "layer2.0.conv1")
    assert result.exit_code == 0, result.output
    # conv1 7/2 p3: r 7, j 2, start −3; maxpool 3/2 p1: r 11, j 4, start −5; four 3×3 p1 convs in layer1:
    # r 11 + 4·2·4 = 43, start −5 − 4·4 = −21; then this 3×3/2 p1: 43 + 2·4 = 51, j 8, start −21 − 4 = −25
    assert "axis 0: r = 43 + (3 − 1)·4 = 51; j = 4·2 = 8; start = -21 − 1·4 = -25" in result.output


@pytest.mark.parametrize("config", ["resnet50", "inception_v3", "variants/dilated", "variants/separable",
                                    "variants/lppool", "variants/tiled"])
def test_rf_steps_end_in_the_reported_field(config):
    import re

    from convcalc.render.explain import _field

    graph = expand(config)
    report = analyze(graph)
    shapes = {graph.input_name: tuple(graph.input_shape)}
    checked = 0
    for node, row in zip(graph.nodes, report.layers):
        ins = [shapes[name] for name in node.inputs]
        shapes[node.name] = tuple(row.output_shape)
        steps = REGISTRY[node.kind](node).rf_steps([_field(graph, report, i) for i in node.inputs], ins)
        for axis, step in enumerate(steps):
            size, jump, start = re.search(r"= (\S+); j = .* = (\S+); start = .* = (\S+)$", step).groups()
            assert (int(size), jump, start) == (row.rf.size[axis], str(row.rf.jump[axis]),
                                                str(row.rf.start[axis])), (config, node.name, step)
            checked += 1
    assert checked > 0


def test_explain_depthwise_separable_prints_its_cost_against_a_standard_conv():
    # the example maps 3 → 4 channels with a 3×3 kernel; per output position a standard conv does 4·3·9 = 108
    # MACs, the depthwise separable one 3·9 + 4·3 = 39: 39/108 = 13/36 (= 1/C_out + 1/k² = 1/4 + 1/9), as the
    # README promises ("cost relative to a standard conv")
    result = invoke("depthwise_separable")
    assert result.exit_code == 0, result.output
    assert "against a standard conv of the same mapping (3 → 4, 3×3)" in result.output
    assert "depthwise separable: 1/C_out + 1/k² = 1/4 + 1/3²" in result.output
    assert "params and MACs 13/36 ≈ 0.361 (×2.77 fewer) of the standard conv" in result.output


def test_explain_conv_prints_grouped_and_dilated_against_the_standard_one():
    output = invoke("conv").output
    assert "grouped g=2: 1/g = 1/2" in output and "dilated d=2: k'^n/k^n = 2²/3²" in output
    assert "params and MACs 4/9 ≈ 0.444 (×2.25 fewer)" in output  # 2·2 taps for 3·3
