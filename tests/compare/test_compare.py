"""`convcalc compare`: networks side by side (mode 2), layer what-if (mode 1) and whole-network rewrite (mode 3).

Every expected number is worked out by hand in a comment next to it.
"""

from __future__ import annotations

import csv
import io
import json
import re
from fractions import Fraction

import pytest
from typer.testing import CliRunner

from convcalc.cli.app import app
from convcalc.compare.networks import compare_networks, merged_order
from convcalc.compare.rewrite import rewrite_spec
from convcalc.compare.whatif import LAYER_SYNTAX, parse_layer, parse_target, what_if
from convcalc.cost.rollup import stage_of
from convcalc.layers.design import all_designs
from convcalc.errors import SpecError
from convcalc.layers import REGISTRY


def run(*args):
    return CliRunner().invoke(app, ["compare", *args])


def markdown_tables(text: str) -> list[list[str]]:
    """Every block of consecutive lines starting with `|`."""
    tables, current = [], []
    for line in text.splitlines() + [""]:
        if line.startswith("|"):
            current.append(line)
        elif current:
            tables.append(current)
            current = []
    return tables


def cells(line: str) -> list[str]:
    """Cells of a Markdown table row (escaped pipes stay inside their cell)."""
    assert line.startswith("|") and line.endswith("|"), line
    return re.split(r"(?<!\\)\|", line[1:-1])


def assert_valid_markdown(text: str, at_least: int = 1) -> list[list[str]]:
    """GitHub table rules: a header row, a separator row of ---/---:/:---, every row the same cell count."""
    tables = markdown_tables(text)
    assert len(tables) >= at_least, text
    for table in tables:
        assert len(table) >= 3, table  # header, separator, at least one row
        width = len(cells(table[0]))
        assert all(re.fullmatch(r"\s*:?-{3,}:?\s*", cell) for cell in cells(table[1])), table[1]
        for line in table:
            assert len(cells(line)) == width, (line, width)
    return tables


# =====================================================================================================================
# 2. Networks side by side
# =====================================================================================================================
# ResNet-50 v1 puts the stride-2 of each first bottleneck in conv1 (1×1), v1.5 in conv2 (3×3). In layer2.0 the
# 1×1 256→128 conv runs at 56×56 in v1.5 (56·56·256·128 = 102,760,448 MACs) and at 28×28 in v1 (25,690,112):
# 77,070,336 fewer; the same in layer3.0 (28²·512·256 vs 14²·512·256) and layer4.0 (14²·1024·512 vs 7²·1024·512).
V15_MINUS_V1 = 77_070_336


def test_resnet50_v15_against_v1():
    comparison = compare_networks(["resnet50", "resnet50_v1"])
    total = comparison.total
    assert total.entries[0].params == total.entries[1].params == 25_557_032
    assert total.delta(1, "macs") == -3 * V15_MINUS_V1
    assert total.status == ["base", "changed"]
    stages = {line.key: line for line in comparison.stages}
    assert [key for key in stages][:5] == ["conv1", "bn1", "relu", "maxpool", "layer1"]
    assert stages["layer1"].status[1] == "same"
    for name in ("layer2", "layer3", "layer4"):
        assert stages[name].delta(1, "macs") == -V15_MINUS_V1
        assert stages[name].delta(1, "params") == 0
    changed = [line.key for line in comparison.layers if line.differs]
    # the strided 1×1 conv and the BN and ReLU after it (their output shape changes); conv2 has 28×28 either way
    assert changed == [f"layer{i}.0.{name}" for i in (2, 3, 4) for name in ("conv1", "bn1", "relu1")]
    conv = next(line for line in comparison.layers if line.key == "layer2.0.conv1")
    assert (conv.entries[0].macs, conv.entries[1].macs) == (102_760_448, 25_690_112)
    assert conv.ratio(1, "macs") == 0.25


A = """name: a
input: [3, 8, 8]
defaults: {bias: false}
layers:
  - {type: conv, name: conv1, out: 4, kernel: 3, padding: 1}
  - {type: relu, name: relu1}
  - {type: conv, name: conv2, out: 8, kernel: 3, padding: 1}
  - {type: conv, name: head, out: 2, kernel: 1}
"""
B = """name: b
input: [3, 8, 8]
defaults: {bias: false}
layers:
  - {type: conv, name: conv1, out: 4, kernel: 3, padding: 1}
  - {type: batchnorm, name: bn1}
  - {type: relu, name: relu1}
  - {type: conv, name: head, out: 2, kernel: 1}
"""


def test_added_and_removed_layers(write_spec):
    a, b = write_spec(A, "a.yaml"), write_spec(B, "b.yaml")
    comparison = compare_networks([str(a), str(b)])
    by_key = {line.key: line for line in comparison.layers}
    # bn1 sits where b has it: between conv1 and relu1
    assert [line.key for line in comparison.layers] == ["conv1", "bn1", "relu1", "conv2", "head"]
    assert by_key["bn1"].status == ["base", "added"]
    assert by_key["conv2"].status == ["base", "removed"]
    assert by_key["conv1"].status == ["base", "same"]
    # head: 1×1 over 8 channels in a (2·8 = 16 params, 16·64 = 1,024 MACs), over 4 in b (8 params, 512 MACs)
    assert by_key["head"].status == ["base", "changed"]
    assert (by_key["head"].entries[0].params, by_key["head"].entries[1].params) == (16, 8)
    assert by_key["head"].delta(1, "macs") == -512
    # totals: a = conv1 4·3·9 = 108 + conv2 8·4·9 = 288 + head 16 = 412 params;
    #         b = 108 + bn 2·4 = 8 + head 8 = 124 params
    assert [e.params for e in comparison.total.entries] == [412, 124]
    assert comparison.total.delta(1, "params") == -288
    result = run(str(a), str(b), "--units", "raw")
    assert result.exit_code == 0, result.output
    assert "added" in result.output and "removed" in result.output


STAGED = """name: staged
input: [3, 8, 8]
defaults: {bias: false}
layers:
  - {type: conv, name: stem, out: 4, kernel: 3, padding: 1, stage: early}
  - {type: conv, name: body, out: 4, kernel: 3, padding: 1, stage: early}
  - {type: conv, name: head, out: 2, kernel: 1}
"""


def test_stages_are_matched_by_the_specs_stage_key(write_spec):
    """`stage:` names a stage across differently named layers, as `analyze --by stage` rolls them up."""
    staged = write_spec(STAGED, "staged.yaml")
    comparison = compare_networks([str(staged), str(staged)])
    by_key = {line.key: line for line in comparison.stages}
    assert list(by_key) == ["early", "head"]
    # early: stem 4·3·9 = 108 + body 4·4·9 = 144 params, 2 layers; head: 2·4 = 8 params
    assert (by_key["early"].entries[0].params, by_key["early"].entries[0].layers) == (252, 2)
    assert by_key["head"].entries[0].params == 8


def test_merged_order_and_stages():
    assert merged_order([["a", "b", "c"], ["a", "x", "c", "y"], ["z", "a"]]) == ["z", "a", "x", "b", "c", "y"]
    assert stage_of("layer1.0.conv1") == "layer1" and stage_of("conv1") == "conv1"


def test_markdown_is_a_valid_github_table():
    result = run("resnet50", "resnet50_v1", "--format", "markdown")
    assert result.exit_code == 0, result.output
    tables = assert_valid_markdown(result.output, at_least=3)
    assert cells(tables[0][0])[0].strip() == "Spec"
    assert "#### Totals against resnet50" in result.output


def test_three_specs_json_and_csv():
    result = run("resnet18", "resnet50", "resnet50_v1", "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert [s["label"] for s in data["specs"]] == ["resnet18", "resnet50", "resnet50_v1"]
    totals = data["totals"]["specs"]
    # resnet18 has 11,689,512 params; resnet50 25,557,032: +13,867,520
    assert totals[0]["params"] == 11_689_512 and totals[1]["delta_params"] == 13_867_520
    result = run("resnet50", "resnet50_v1", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(result.output)))
    total = [r for r in rows if r["section"] == "total"]
    assert [int(r["macs"]) for r in total] == [4_089_184_256, 4_089_184_256 - 3 * V15_MINUS_V1]
    assert total[1]["delta_macs"] == str(-3 * V15_MINUS_V1)


def test_same_spec_twice_gets_unique_labels():
    comparison = compare_networks(["resnet18", "resnet18"])
    assert comparison.labels == ["resnet18", "resnet18#2"]
    assert comparison.unchanged_layers == len(comparison.layers)


def test_set_applies_to_the_specs_that_declare_the_var():
    result = run("mobilenet_v1", "resnet18", "--set", "alpha=0.5", "--format", "json")
    assert result.exit_code == 0, result.output
    totals = json.loads(result.output)["totals"]["specs"]
    # MobileNet v1 at α = 0.5 has 1,331,592 params (tests/compare/test_sweep.py); ResNet-18 has no alpha: 11,689,512
    assert [t["params"] for t in totals] == [1_331_592, 11_689_512]


@pytest.mark.parametrize("args, message", [
    (["resnet18", "resnet50", "--set", "alpha=2"], "none of the specs has a var named `alpha`"),
    (["resnet18"], "two or more specs"),
    (["resnet18", "nope_net"], "neither a file nor a shipped config"),
])
def test_errors(args, message):
    result = run(*args)
    assert result.exit_code == 2
    assert message in result.output and "Traceback" not in result.output


# =====================================================================================================================
# 1. Layer what-if
# =====================================================================================================================


def row_of(result, design, arg=None):
    """The row of ``design`` (with ``arg``), or skip the test when its layer kind is not registered yet."""
    missing = [kind for kind in all_designs()[design].kinds if kind not in REGISTRY]
    if missing:
        pytest.skip(f"layer kind {missing} not registered; the what-if leaves the row out with a note")
    for row in result.rows:
        if row.design == design and row.arg == arg:
            return row
    raise AssertionError(f"no row {design} {arg}: skipped = {result.skipped}")


@pytest.fixture(scope="module")
def small():
    # 128→128, 3×3, stride 1, same padding, no bias, on 56×56: P = 56·56 = 3,136 output positions
    return what_if(parse_layer("conv 128->128 k3 s1 @56x56"))


@pytest.fixture(scope="module")
def deep():
    # 512→512, 3×3, stride 1, same padding, no bias, on 14×14: P = 14·14 = 196 output positions
    return what_if(parse_layer("conv 512 -> 512 k3 s1 p1 @14x14"))


def test_parse_layer():
    q = parse_layer("conv 64->128 k3x1 s2 p1x0 d1 bias @32x16")
    assert (q.c_in, q.c_out, q.kernel, q.stride, q.padding, q.bias, q.sizes) == (
        64, 128, (3, 1), (2, 2), (1, 0), True, (32, 16))
    q = parse_layer("conv 3→8 k5 valid @100")
    assert (q.kernel, q.padding, q.sizes) == ((5,), "valid", (100,))
    assert parse_layer("conv 8->8 k3 @4x4x4").kernel == (3, 3, 3)
    for bad in ("conv 8->8 @4x4", "conv 8->8 k3", "conv k3 @4x4", "pool 8->8 k3 @4x4", "conv 8->8 k3x3x3 @4x4",
                "conv 8->8 k3 z4 @4x4"):
        with pytest.raises(SpecError):
            parse_layer(bad)
    assert "@HxW" in LAYER_SYNTAX


def test_standard_and_grouped_128(small):
    std = row_of(small, "standard")
    # params 128·128·3·3 = 147,456; MACs 3,136 · 147,456 = 462,422,016; FLOPs 2·MACs (no bias) = 924,844,032;
    # activations 128·56·56 floats · 4 B = 1,605,632 B; receptive field 3
    assert (std.params, std.macs, std.flops, std.activation_bytes, std.rf) == (
        147_456, 462_422_016, 924_844_032, 1_605_632, [3, 3])
    # every g dividing 128 with 1 < g < 128: 2, 4, …, 64
    grouped = {r.arg: r for r in small.rows if r.design == "grouped"}
    assert sorted(grouped) == [2, 4, 8, 16, 32, 64]
    # g = 4: params 147,456 / 4 = 36,864; MACs 462,422,016 / 4 = 115,605,504
    assert (grouped[4].params, grouped[4].macs) == (36_864, 115_605_504)
    # g = 64: 2,304 params (128·2·9), 7,225,344 MACs
    assert (grouped[64].params, grouped[64].macs) == (2_304, 7_225_344)
    for g, row in grouped.items():
        assert row.macs_ratio == row.closed_macs == Fraction(1, g)


def test_dilated_128(small):
    # the 3×3 window with 2 taps per axis at dilation 2: 128·128·2·2 = 65,536 params, 3,136·65,536 = 205,520,896
    # MACs, ratio (2/3)² = 4/9, same receptive field 3
    row = row_of(small, "dilated", 2)
    assert (row.params, row.macs, row.rf) == (65_536, 205_520_896, [3, 3])
    assert row.macs_ratio == row.closed_macs == Fraction(4, 9)
    assert [r.arg for r in small.rows if r.design == "dilated"] == [2]
    # a 5×5 maps exactly to 3 taps at d = 2 and 2 taps at d = 4; a 4×4 (span 3) to 2 taps at d = 3
    assert [r.arg for r in what_if(parse_layer("conv 8->8 k5 @16x16")).rows if r.design == "dilated"] == [2, 4]
    assert [r.arg for r in what_if(parse_layer("conv 8->8 k4 @16x16")).rows if r.design == "dilated"] == [3]


def test_depthwise_separable_128(small):
    row = row_of(small, "depthwise_separable")
    # depthwise 128·9 = 1,152 + pointwise 128·128 = 16,384 → 17,536 params; MACs 3,136 · 17,536 = 54,992,896;
    # ratio 1/128 + 1/9 = 137/1152 = 0.11892
    assert (row.params, row.macs) == (17_536, 54_992_896)
    assert row.macs_ratio == row.closed_macs == Fraction(137, 1152)
    # activations: the depthwise map and the output, 2 · 128·56·56 floats · 4 B = 3,211,264 B
    assert row.activation_bytes == 3_211_264


def test_depthwise_separable_512(deep):
    std = row_of(deep, "standard")
    # 512·512·9 = 2,359,296 params; 196 · 2,359,296 = 462,422,016 MACs
    assert (std.params, std.macs) == (2_359_296, 462_422_016)
    row = row_of(deep, "depthwise_separable")
    # depthwise 512·9 = 4,608 + pointwise 512·512 = 262,144 → 266,752 params; 196 · 266,752 = 52,283,392 MACs;
    # ratio 1/512 + 1/9 = 521/4608 = 0.113064
    assert (row.params, row.macs) == (266_752, 52_283_392)
    assert row.macs_ratio == row.closed_macs == Fraction(521, 4608)


def test_the_group_counts_are_the_common_divisors():
    from convcalc.layers.conv import _grouped_choices

    # gcd(96, 144) = 48 = 2⁴·3: its divisors strictly between 1 and 96
    assert _grouped_choices(parse_layer("conv 96->144 k3 @8x8"), None) == [2, 3, 4, 6, 8, 12, 16, 24, 48]
    # gcd(64, 128) = 64 = min(C_in, C_out): g = 64 is left out (g < min)
    assert _grouped_choices(parse_layer("conv 64->128 k3 @8x8"), None) == [2, 4, 8, 16, 32]
    # 10^9 + 7 and 10^9 + 37 are coprime: none. Trying every g up to 10^9 never ended (a hang).
    assert _grouped_choices(parse_layer("conv 1000000007->1000000037 k1 @1x1"), None) == []
    # gcd 2^40 (under 2^42: exact): 2, 4, …, 2^39 (2^40 = C_in is not below min)
    assert _grouped_choices(parse_layer(f"conv {2**40}->{3 * 2**40} k1 @1x1"), None) == [2 ** i for i in range(1, 40)]
    assert _grouped_choices(parse_layer("conv 96->144 k3 @8x8"), [3, 5]) == [3, 5]  # --groups as given


def test_the_dilations_divide_the_kernel_span():
    from convcalc.layers.conv import dilation_choices

    # k7: span 6, so d ∈ {2, 3, 6} with 4, 3 and 2 taps; k5 d1: span 4, d ∈ {2, 4}; k5 d2: span 8, d > 2: {4, 8}
    assert dilation_choices(parse_layer("conv 8->8 k7 @16x16")) == [2, 3, 6]
    assert dilation_choices(parse_layer("conv 8->8 k5 @16x16")) == [2, 4]
    assert dilation_choices(parse_layer("conv 8->8 k5 d2 @16x16")) == [4, 8]
    # 7×5: spans 6 and 4 share only d = 2 (4 × 3 taps)
    assert dilation_choices(parse_layer("conv 8->8 k7x5 @16x16")) == [2]
    assert dilation_choices(parse_layer("conv 8->8 k1 @16x16")) == []
    # k 10^8 + 1: span 10^8 = 2^8·5^8 has 81 divisors; trying every d up to 10^8 never ended
    assert len(dilation_choices(parse_layer("conv 8->8 k100000001 valid @100000001"))) == 80  # all but d = 1


def test_grouped_and_dilated_512(deep):
    grouped = {r.arg: r for r in deep.rows if r.design == "grouped"}
    assert sorted(grouped) == [2, 4, 8, 16, 32, 64, 128, 256]
    # g = 256: 512·2·9 = 9,216 params, 196 · 9,216 = 1,806,336 MACs
    assert (grouped[256].params, grouped[256].macs) == (9_216, 1_806_336)
    row = row_of(deep, "dilated", 2)
    # 512·512·4 = 1,048,576 params; 196 · 1,048,576 = 205,520,896 MACs
    assert (row.params, row.macs) == (1_048_576, 205_520_896)


def test_shuffle_grouped_128(small):
    row = row_of(small, "shuffle", 4)
    # grouped 3×3: 147,456 / 4 = 36,864; shuffle: 0; pointwise grouped 128·128/4 = 4,096 → 40,960 params;
    # MACs 3,136 · 40,960 = 128,450,560; ratio 1/4 + 128/(4·128·9) = 1/4 + 1/36 = 5/18
    assert (row.params, row.macs) == (40_960, 128_450_560)
    assert row.macs_ratio == row.closed_macs == Fraction(5, 18)
    # three 128×56×56 float32 maps (grouped, shuffled, pointwise): 3 · 1,605,632 = 4,816,896 B
    assert row.activation_bytes == 4_816_896
    assert [r.arg for r in small.rows if r.design == "shuffle"] == [2, 4, 8]  # 3 does not divide 128


def test_shuffle_grouped_512(deep):
    row = row_of(deep, "shuffle", 8)
    # 2,359,296 / 8 = 294,912 + 512·512/8 = 32,768 → 327,680 params; 196 · 327,680 = 64,225,280 MACs
    assert (row.params, row.macs) == (327_680, 64_225_280)


def test_flattened_128_and_512(small, deep):
    row = row_of(small, "flattened")
    # lateral 128·128 = 16,384 + vertical 128·3 + horizontal 128·3 = 768 → 17,152 params (F(C + k_h + k_w));
    # MACs 3,136 · 17,152 = 53,788,672; ratio 1/9 + 2/(128·3) = 67/576
    assert (row.params, row.macs) == (17_152, 53_788_672)
    assert row.macs_ratio == row.closed_macs == Fraction(67, 576)
    row = row_of(deep, "flattened")
    # 512·(512 + 6) = 265,216 params; 196 · 265,216 = 51,982,336 MACs
    assert (row.params, row.macs) == (265_216, 51_982_336)


def test_separable_and_flattened_at_stride_2():
    result = what_if(parse_layer("conv 64->128 k3 s2 p1 @28x28"))
    # standard: 128·64·9 = 73,728 params, 14·14 · 73,728 = 14,450,688 MACs
    assert row_of(result, "standard").macs == 14_450_688
    row = row_of(result, "separable")
    # 3×1 (64 → 128, stride 2 on H) at 14×28: 128·64·3·392 = 9,633,792; 1×3 (128 → 128, stride 2 on W) at 14×14:
    # 128·128·3·196 = 9,633,792 → 19,267,584 MACs, ratio 4/3 (more than the standard conv: M = C_out = 2·C_in)
    assert row.macs == 19_267_584
    assert row.macs_ratio == row.closed_macs == Fraction(4, 3)
    row = row_of(result, "flattened")
    # lateral 128·64 at 28·28 = 6,422,528; 3×1 per channel at 14×28: 128·3·392 = 150,528; 1×3 at 14×14:
    # 128·3·196 = 75,264 → 6,648,320 MACs
    assert row.macs == 6_648_320
    assert row.macs_ratio == row.closed_macs == Fraction(6_648_320, 14_450_688)


def test_separable_128_and_512(small, deep):
    row = row_of(small, "separable")
    # k×1 (128 → 128) 49,152 + 1×k (128 → 128) 49,152 = 98,304 params; 3,136 · 98,304 = 308,281,344 MACs;
    # ratio 2/k = 2/3 with same padding
    assert (row.params, row.macs) == (98_304, 308_281_344)
    assert row.macs_ratio == row.closed_macs == Fraction(2, 3)
    row = row_of(deep, "separable")
    # 2 · 512·512·3 = 1,572,864 params; 196 · 1,572,864 = 308,281,344 MACs
    assert (row.params, row.macs) == (1_572_864, 308_281_344)


def test_separable_valid_matches_the_design_notes():
    result = what_if(parse_layer("conv 1->1 k3 valid @8x8"))
    row = row_of(result, "separable")
    # single channel, valid, N = 8, m = 3: standard (8−3+1)²·9 = 324; separable (N−m+1)·N·m + (N−m+1)²·m =
    # 6·8·3 + 36·3 = 252; ratio 1/m + 1/(m(1 − (m−1)/N)) = 1/3 + 4/9 = 7/9
    assert (row_of(result, "standard").macs, row.macs) == (324, 252)
    assert row.macs_ratio == row.closed_macs == Fraction(7, 9)


def test_locally_connected_and_tiled_128(small):
    row = row_of(small, "locally_connected")
    # one 128·128·9 kernel per output position: 3,136 · 147,456 = 462,422,016 params; MACs as the conv
    assert (row.params, row.macs) == (462_422_016, 462_422_016)
    assert row.params_ratio == row.closed_params == 3136
    row = row_of(small, "tiled", 2)
    # t = 2 per axis: 2² = 4 kernels: 4 · 147,456 = 589,824 params; MACs as the conv
    assert (row.params, row.macs) == (589_824, 462_422_016)
    assert row.params_ratio == row.closed_params == 4 and row.macs_ratio == 1


def test_missing_kinds_are_left_out_with_a_note(small):
    missing = [d for d in all_designs().values() if any(kind not in REGISTRY for kind in d.kinds)]
    shown = {row.design for row in small.rows}
    for design in missing:
        assert design.key not in shown
        assert any(title == design.label and "not registered" in reason for title, reason in small.skipped)


def test_what_if_of_a_spec_layer_uses_its_real_input():
    result = run("resnet18", "--layer", "layer2.0.conv1", "--units", "raw", "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    # layer2.0.conv1: 64 → 128, 3×3, stride 2, padding 1, on 56×56 → 28×28: 128·64·9 = 73,728 params,
    # 784 · 73,728 = 57,802,752 MACs
    assert data["layer"]["input"] == [64, 56, 56]
    standard = data["rows"][0]
    assert (standard["design"], standard["params"], standard["macs"], standard["as_written"]) == (
        "standard", 73_728, 57_802_752, True)
    assert standard["output_shape"] == [128, 28, 28]


def test_what_if_cli_table_and_markdown():
    result = run("--layer", "conv 128->128 k3 s1 @56x56", "--units", "raw")
    assert result.exit_code == 0, result.output
    assert "462,422,016" in result.output and "1/g = 1/4" in result.output and "█" in result.output
    result = run("--layer", "conv 128->128 k3 s1 @56x56", "--format", "markdown")
    tables = assert_valid_markdown(result.output)
    assert cells(tables[0][0])[0].strip() == "Design"
    result = run("--layer", "conv 128->128 k3 @56x56", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(result.output)))
    assert rows[0]["design"] == "standard" and rows[0]["macs"] == "462422016"


@pytest.mark.parametrize("args, message", [
    (["--layer", "conv 8->8 @4x4"], "missing the kernel"),
    (["resnet18", "--layer", "layer9"], "no layer of that name"),
    (["resnet18", "--layer", "bn1"], "not a convolution"),
    (["--layer", "conv 8->8 k3 @4x4", "--groups", "x"], "--groups"),
])
def test_what_if_errors(args, message):
    result = run(*args)
    assert result.exit_code == 2, result.output
    assert message in result.output and "Traceback" not in result.output


# =====================================================================================================================
# 3. Whole-network rewrite
# =====================================================================================================================
# ResNet-18's 3×3 convs (conv1 is 7×7 on 3 channels; the downsample convs are 1×1):
#   layer1: 4 × 64·64·9 = 147,456
#   layer2: 64·128·9 = 73,728 + 3 × 128·128·9 = 442,368 → 516,096
#   layer3: 128·256·9 = 294,912 + 3 × 256·256·9 = 1,769,472 → 2,064,384
#   layer4: 256·512·9 = 1,179,648 + 3 × 512·512·9 = 7,077,888 → 8,257,536
#   all 16: 10,985,472. With groups = 4 they keep a quarter: 10,985,472 · 3/4 = 8,239,104 fewer params.
RESNET18_PARAMS = 11_689_512


def test_rewrite_resnet18_grouped(tmp_path):
    result = rewrite_spec("resnet18", "grouped:4")
    assert len(result.rewritten) == 16
    assert result.kept == {"4 does not divide both channel counts (3, 64)": ["conv1"],
                           "1×1 kernel": [f"layer{i}.0.downsample.0" for i in (2, 3, 4)]}
    assert result.before.totals.params == RESNET18_PARAMS
    assert result.after.totals.params == RESNET18_PARAMS - 8_239_104 == 3_450_408
    path = tmp_path / "out.yaml"
    result.write(str(path))
    from convcalc.cost.analysis import analyze

    again = analyze(str(path))
    assert (again.totals.params, again.totals.macs) == (result.after.totals.params, result.after.totals.macs)
    assert [layer.name for layer in again.layers] == [layer.name for layer in result.before.layers]


def test_rewrite_only_glob():
    result = rewrite_spec("resnet18", "grouped:2", only=["layer4.*"])
    assert result.rewritten == [f"layer4.{b}.conv{c}" for b in (0, 1) for c in (1, 2)]
    # layer4's four 3×3 convs: 8,257,536 params, halved: 4,128,768 fewer
    assert result.before.totals.params - result.after.totals.params == 4_128_768


def test_rewrite_cli_markdown_and_write(tmp_path):
    out = tmp_path / "r18.yaml"
    result = run("resnet18", "--as", "grouped:4", "--write", str(out), "--format", "markdown")
    assert result.exit_code == 0, result.output
    assert_valid_markdown(result.output, at_least=3)
    assert "Rewrote 16 conv(s) as grouped:4" in result.output
    text = out.read_text()
    assert text.startswith("# Rewritten by") and "groups: 4" in text
    check = CliRunner().invoke(app, ["analyze", str(out), "--format", "json"])
    assert check.exit_code == 0, check.output
    assert json.loads(check.output)["totals"]["params"] == 3_450_408


@pytest.mark.parametrize("target", ["depthwise_separable", "separable", "flattened", "shuffle:4", "dilated",
                                    "locally_connected", "tiled:2"])
def test_every_design_rewrites_a_small_net_that_analyses(tmp_path, write_spec, target):
    design, _ = parse_target(target)
    missing = [kind for kind in design.kinds if kind not in REGISTRY]
    if missing:
        pytest.skip(f"layer kind {missing} not registered")
    spec = write_spec("name: small\ninput: [8, 12, 12]\ndefaults: {bias: false}\nlayers:\n"
                      "  - {type: conv, name: a, out: 16, kernel: 3, padding: 1}\n"
                      "  - {type: relu}\n"
                      "  - {type: conv, name: b, out: 16, kernel: 3, padding: 1}\n"
                      "  - {type: add, inputs: [a, b]}\n")
    result = rewrite_spec(str(spec), target)
    assert result.rewritten == ["a", "b"]
    path = tmp_path / "out.yaml"
    result.write(str(path))
    from convcalc.cost.analysis import analyze

    assert analyze(str(path)).totals.macs == result.after.totals.macs
    assert result.after.layers[-1].output_shape == [16, 12, 12]


def test_rewritten_spec_verifies_against_the_executor(tmp_path, write_spec):
    """The executor runs the rewritten spec and counts the same params, MACs and shapes, layer by layer."""
    np = pytest.importorskip("numpy")  # noqa: F841
    from convcalc.cost.analysis import analyze, expand
    from convcalc.executor import KERNELS, run as execute

    spec = write_spec("name: small\ninput: [8, 10, 10]\ndefaults: {bias: false}\nlayers:\n"
                      "  - {type: conv, name: a, out: 16, kernel: 3, padding: 1}\n"
                      "  - {type: relu}\n"
                      "  - {type: conv, name: b, out: 16, kernel: 3, stride: 2, padding: 1}\n")
    checked, runnable = 0, 0
    for target in ("grouped:4", "dilated", "depthwise_separable", "shuffle:2", "separable", "flattened",
                   "locally_connected", "tiled:2"):
        design, _ = parse_target(target)
        if any(kind not in REGISTRY or kind not in KERNELS for kind in design.kinds):
            continue
        runnable += 1
        result = rewrite_spec(str(spec), target)
        path = tmp_path / f"{target.replace(':', '')}.yaml"
        result.write(str(path))
        graph = expand(str(path))
        if any(node.kind not in KERNELS for node in graph.nodes):
            continue
        report = analyze(graph)
        executed = execute(graph, seed=0)
        for model, done in zip(report.layers, executed.layers):
            assert (model.name, tuple(model.output_shape), model.params, model.macs) == (
                done.name, tuple(done.output_shape), done.params, done.macs), target
        checked += 1
    assert checked == runnable >= 2  # grouped and dilated always run (conv kernels exist)


@pytest.mark.parametrize("args, message", [
    (["resnet18", "--as", "wavelet"], "unknown design"),
    (["resnet18", "--as", "grouped"], "give the group count"),
    (["resnet18", "--as", "grouped:x"], "not a whole number"),
    (["resnet18", "resnet50", "--as", "grouped:2"], "exactly one spec"),
])
def test_rewrite_errors(args, message):
    result = run(*args)
    assert result.exit_code == 2, result.output
    assert message in result.output and "Traceback" not in result.output


def test_compare_and_sweep_do_not_import_numpy():
    import subprocess
    import sys

    code = ("import sys\nfrom typer.testing import CliRunner\nfrom convcalc.cli.app import app\n"
            "for args in (['compare', 'resnet18', 'resnet50'], ['compare', '--layer', 'conv 8->8 k3 @8x8'],\n"
            "             ['compare', 'resnet18', '--as', 'grouped:2'],\n"
            "             ['sweep', 'mobilenet_v1', '--set', 'alpha=0.5,1.0']):\n"
            "    assert CliRunner().invoke(app, args).exit_code == 0, args\n"
            "assert 'numpy' not in sys.modules, 'numpy was imported'\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def _shipped():
    from convcalc.spec.loader import shipped_configs

    return sorted(shipped_configs())


@pytest.mark.parametrize("name", _shipped())
def test_flat_yaml_round_trips_every_shipped_config(name):
    """With nothing rewritten (--only matches no layer), the flat YAML re-analyses to the very same report: every
    layer's name, type, shape, counts and receptive field, and the peak memory. This exercises the emitter on every
    field kind the shipped specs use (padding pairs, fractions like dropout 0.001, sub-layer lists, words)."""
    import convcalc
    from convcalc.cost.analysis import analyze

    result = rewrite_spec(name, "grouped:2", only=["no layer has this name"])
    assert result.rewritten == []
    again = analyze(convcalc.load(result.yaml()))

    def key(report):
        return ([(la.name, la.type, la.inputs, la.output_shape, la.params, la.buffers, la.macs, la.flops,
                  la.rf.to_dict()) for la in report.layers], report.peak_activation_bytes)

    assert key(again) == key(result.before)


def test_as_written_marks_only_the_exact_layer():
    # ResNeXt-50's 3×3 convs are grouped 32 ways: that row is the layer as written
    rows = what_if(layer_query("resnext50_32x4d", "layer1.0.conv2")).rows
    assert [(r.design, r.arg) for r in rows if r.as_written] == [("grouped", 32)]
    # the shipped depthwise separable example has mid layers [batchnorm, relu]: no plain row is exactly it
    result = what_if(layer_query("variants/depthwise_separable", "dws"))
    assert not any(r.as_written for r in result.rows)
    assert "mid = [batchnorm, relu]" in result.notes[0]


def layer_query(spec, name):
    from convcalc.compare.whatif import layer_query_from_spec

    return layer_query_from_spec(spec, name)


def test_as_grouped_on_mobilenet_v1_says_what_it_left_and_why():
    # the help's own example: MobileNet v1 is conv1 (3 → 32, which 4 does not divide), 13 depthwise-separable
    # stages (a `depthwise` 3×3 then a `pointwise` 1×1 layer each; stages 7–11 are one repeated block) and the
    # 1×1 conv_preds: nothing is a standard conv grouped:4 applies to, and each of the 28 convs is accounted for
    stages = [f"block{i}" for i in range(1, 7)] + [f"block7_11.{i}" for i in range(5)] + ["block12", "block13"]
    result = rewrite_spec("mobilenet_v1", "grouped:4")
    assert result.rewritten == []
    assert result.kept == {
        "4 does not divide both channel counts (3, 32)": ["conv1"],
        "`depthwise`, not a standard conv: already grouped, one group per channel": [f"{s}.dw" for s in stages],
        "`pointwise`, not a standard conv: a 1×1 conv": [f"{s}.pw" for s in stages],
        "1×1 kernel": ["conv_preds"],
    }
    out = CliRunner().invoke(app, ["compare", "mobilenet_v1", "--as", "grouped:4"], env={"NO_COLOR": "1"}).stdout
    assert ("Nothing was rewritten: the network's other convs are 13 `depthwise` and 13 `pointwise` layers, designs "
            "that --as leaves as they are") in out
    assert "convcalc compare mobilenet_v1 --layer block1.dw." in out
