"""convcalc.budgets: parsing budget values and sections, evaluating them on a report, the baseline gate.

The fixture network (tests/fixtures/check/tiny.yaml), worked out by hand. Input 3×32×32, batch 1, float32
(4 bytes), no bias except fc:

=====  ===================  ==============================  =========  ===============================  =====
layer  output               params                          MACs       activation bytes                 RF
=====  ===================  ==============================  =========  ===============================  =====
conv1  16×32×32 (k3 p1)     16·3·3·3 = 432                  432·1024   16·1024·4 = 65,536               3
                                                            = 442,368
relu1  16×32×32             0                               0          65,536                           3
conv2  32×16×16 (k3 s2 p1)  32·16·3·3 = 4,608               4,608·256  32·256·4 = 32,768                3+2·1 = 5
                                                            = 1,179,648
relu2  32×16×16             0                               0          32,768                           5
pool   32×1×1 (global)      0                               0          128                              5+15·2 = 35
flat   32                   0                               0          128                              35
fc     10                   32·10 + 10 = 330                320        40                               35
=====  ===================  ==============================  =========  ===============================  =====

Totals: params 432 + 4,608 + 330 = 5,370; MACs 442,368 + 1,179,648 + 320 = 1,622,336; activation bytes
65,536·2 + 32,768·2 + 128·2 + 40 = 196,904; weight bytes 5,370·4 = 21,480. FLOPs: 2·442,368 + 16,384 (relu1)
+ 2·1,179,648 + 8,192 (relu2) + 32·256 (global average: 256 adds/divide per channel) + 2·320 + 10 = 3,277,450.
Peak of live activations: while relu1 runs, conv1's output (65,536) and relu1's (65,536) are alive, the input
(12,288) is already freed after conv1: 131,072 = 128 KiB.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import pytest

import convcalc
from convcalc.budgets.core import (Budget, BudgetsFile, load_budgets_file, load_baseline, merge, parse_amount,
                              parse_cli_increase, parse_cli_max, parse_cli_min_rf, parse_section, evaluate,
                              spec_budgets)
from convcalc.errors import SpecError
from convcalc.spec.yamlio import load_yaml

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "check"


@pytest.fixture(scope="module")
def tiny():
    return convcalc.analyze(convcalc.load(str(FIXTURES / "tiny.yaml")))


def section(text: str, filename: str = "b.yaml") -> list[Budget]:
    return parse_section(load_yaml(text, filename), "test")


def one(report, text: str, baseline=None):
    (result,) = evaluate(report, section(text), baseline)
    return result


# ---- values ------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("text, byte_units, expected", [
    ("5M", False, 5_000_000),
    ("600M", False, 600_000_000),
    ("1.5G", False, 1_500_000_000),
    ("2T", False, 2_000_000_000_000),
    ("10k", False, 10_000),
    ("10K", False, 10_000),
    (" 5 M ", False, 5_000_000),
    ("1e6", False, 1_000_000),
    ("1.2345K", False, Fraction(2469, 2)),  # 1234.5, kept exact
    ("25,557,032", False, 25_557_032),
    ("25_557_032", False, 25_557_032),
    (".5K", False, 500),
    ("4MiB", True, 4 * 1_048_576),  # 4,194,304
    ("128KiB", True, 131_072),
    ("0.5GiB", True, 536_870_912),
    ("1TiB", True, 1_099_511_627_776),
    ("4MB", True, 4_000_000),
    ("100B", True, 100),
    ("8M", True, 8_000_000),
])
def test_amounts_parse_exactly(text, byte_units, expected):
    amount, relative, shown = parse_amount(text, None, "x", byte_units=byte_units)
    assert amount == expected and type(amount) is type(expected) and not relative and shown == text.strip()


def test_yaml_numbers_are_taken_as_they_are():
    doc = load_yaml("a: 600000000\nb: 1.5\nc: 0\n", "f.yaml")
    assert parse_amount(doc["a"], None, "a")[0] == 600_000_000
    assert parse_amount(doc["b"], None, "b")[0] == Fraction(3, 2)
    assert parse_amount(doc["c"], None, "c")[0] == 0


def test_percentages_only_where_allowed():
    assert parse_amount("2%", None, "macs", percent=True) == (Fraction(1, 50), True, "2%")
    assert parse_amount("0.5%", None, "macs", percent=True)[0] == Fraction(1, 200)
    assert parse_amount("1K", None, "macs", percent=True) == (1000, False, "1K")
    with pytest.raises(SpecError, match="only allowed in `max_increase`"):
        parse_amount("2%", None, "macs")


@pytest.mark.parametrize("value, byte_units, fragment", [
    ("600Q", False, "unknown suffix `Q`"),
    ("4MiB", False, "byte suffixes are for byte budgets"),
    ("4MB", False, "byte suffixes are for byte budgets"),
    ("5m", False, "suffixes are upper case (`M`)"),
    ("4Mib", True, "did you mean `MiB`"),
    ("-5M", False, "cannot read"),
    ("abc", False, "cannot read"),
    ("1,5M", False, "use `.` for decimals"),
    ("e5", False, "cannot read"),
    ("2K%", False, "only allowed in `max_increase`"),
])
def test_bad_values(value, byte_units, fragment):
    with pytest.raises(SpecError) as err:
        parse_amount(value, None, "macs", byte_units=byte_units)
    assert fragment in str(err.value)


def test_negative_number_and_boolean_are_refused_with_position():
    doc = load_yaml("budgets:\n  params: -5\n  macs: yes\n", "n.yaml")["budgets"]
    with pytest.raises(SpecError) as err:
        parse_section(doc, "test")
    assert str(err.value).startswith("n.yaml:2:11: `params` cannot be negative, got -5")
    doc = load_yaml("budgets:\n  macs: yes\n", "n.yaml")["budgets"]
    with pytest.raises(SpecError) as err:
        parse_section(doc, "test")
    assert str(err.value).startswith("n.yaml:2:9: `macs` got the YAML boolean `yes`, not a number")


# ---- sections ----------------------------------------------------------------------------------------------------
def test_section_reads_every_kind_with_its_line():
    budgets = section(
        "params: 5M\n"                                        # line 1
        "macs: 600M\n"                                        # line 2
        "peak_activation_bytes: 8MiB\n"                       # line 3
        "layer_max: {macs: 200M, activation_bytes: 4MiB}\n"   # line 4
        "min_rf: [224, 160]\n"                                # line 5
        "max_increase:\n"                                     # line 6
        "  macs: 2%\n"                                        # line 7
        "  params: 1K\n")                                     # line 8
    assert [(b.key, b.limit, b.mark.line) for b in budgets] == [
        ("params", 5_000_000, 1), ("macs", 600_000_000, 2), ("peak_activation_bytes", 8_388_608, 3),
        ("layer_max.macs", 200_000_000, 4), ("layer_max.activation_bytes", 4_194_304, 4),
        ("min_rf", (224, 160), 5), ("max_increase.macs", Fraction(1, 50), 7), ("max_increase.params", 1000, 8)]
    assert budgets[6].relative and not budgets[7].relative
    assert [b.label for b in budgets[:6]] == [
        "params ≤ 5M", "macs ≤ 600M", "peak_activation_bytes ≤ 8MiB", "layer_max.macs ≤ 200M",
        "layer_max.activation_bytes ≤ 4MiB", "min_rf ≥ 224×160"]


def test_layer_rules_with_globs_and_min_rf_mapping():
    budgets = section('layer_max:\n  - {macs: 1M}\n  - {layers: "conv*", activation_bytes: 48KiB}\n'
                      "min_rf: {size: 5, layer: conv2}\n")
    assert [(b.key, b.layers, b.mark.line) for b in budgets] == [
        ("layer_max.macs", None, 2), ("layer_max[conv*].activation_bytes", "conv*", 3), ("min_rf", "conv2", 4)]


@pytest.mark.parametrize("text, where, fragment", [
    ("mac: 600M\n", "b.yaml:1:1", "unknown budget `mac` — did you mean `macs`?"),
    ("params: 5M\nmacs: 600Q\n", "b.yaml:2:7", "`macs: 600Q`: unknown suffix `Q`"),
    ("layer_max: {mac: 1M}\n", "b.yaml:1:13", "`layer_max` has no quantity `mac` — did you mean `macs`?"),
    ("layer_max: {layers: conv*}\n", "b.yaml:1:12", "a `layer_max` rule with no limit"),
    ("max_increase: {macs: 2%, parms: 0%}\n", "b.yaml:1:26", "no quantity `parms` — did you mean `params`?"),
    ("max_increase: 2%\n", "b.yaml:1:15", "`max_increase` must be a mapping"),
    ("min_rf: 0\n", "b.yaml:1:9", "`min_rf` must be a whole number"),
    ("min_rf: [224, 22.5]\n", "b.yaml:1:15", "`min_rf` must be a whole number"),
    ("min_rf: {size: 224, layr: fc}\n", "b.yaml:1:21", "`min_rf` has no key `layr` — did you mean `layer`?"),
    ("params: 4MiB\n", "b.yaml:1:9", "byte suffixes are for byte budgets"),
])
def test_section_errors_point_at_file_line_col(text, where, fragment):
    with pytest.raises(SpecError) as err:
        section(text)
    message = str(err.value)
    assert message.startswith(where + ": ") and fragment in message


def test_spec_section_is_read_from_the_spec(tiny):
    budgets = spec_budgets(convcalc.load(str(FIXTURES / "tiny.yaml")))
    # tiny.yaml lines 18-23
    assert [(b.key, b.limit, b.mark.line) for b in budgets] == [
        ("params", 10_000, 18), ("macs", 2_000_000, 19), ("weight_bytes", 32_768, 20),
        ("peak_activation_bytes", 131_072, 21), ("layer_max.macs", 1_200_000, 22), ("min_rf", 35, 23)]
    assert spec_budgets(convcalc.load(str(FIXTURES / "no_budgets.yaml"))) == []


def test_budgets_file_common_and_per_spec_sections():
    loaded = load_budgets_file(str(FIXTURES / "budgets.yaml"))
    assert [(b.key, b.limit, b.mark.line) for b in loaded.common] == [
        ("params", 6000, 4), ("peak_activation_bytes", 102_400, 5)]
    assert [b.key for b in loaded.for_spec("other", "tiny")] == [
        "params", "peak_activation_bytes", "macs", "max_increase.params", "max_increase.macs"]
    assert [b.key for b in loaded.for_spec("nothing")] == ["params", "peak_activation_bytes"]


def test_bare_budgets_file_and_misplaced_keys(tmp_path):
    bare = tmp_path / "bare.yaml"
    bare.write_text("macs: 600M\n")
    assert [b.key for b in load_budgets_file(str(bare)).common] == ["macs"]
    mixed = tmp_path / "mixed.yaml"
    mixed.write_text("budgets: {params: 5M}\nmacs: 600M\n")
    with pytest.raises(SpecError) as err:
        load_budgets_file(str(mixed))
    assert str(err.value).startswith(f"{mixed}:2:1: unknown key `macs`") and "under `budgets:`" in str(err.value)


def test_command_line_budgets():
    flags = parse_cli_max(["params=5M", "layer_max.activation_bytes=4MiB"]) + parse_cli_min_rf("224x160")
    assert [(b.key, b.limit, b.mark) for b in flags] == [
        ("params", 5_000_000, None), ("layer_max.activation_bytes", 4_194_304, None), ("min_rf", (224, 160), None)]
    assert parse_cli_min_rf("224")[0].limit == 224
    (increase,) = parse_cli_increase(["macs=2%"])
    assert increase.limit == Fraction(1, 50) and increase.relative and increase.origin == "--max-increase macs=2%"
    for bad, fragment in [(["mac=5M"], "did you mean `macs`"), (["params"], "is not KEY=VALUE"),
                          (["layer_max.buffers=1"], "`layer_max` has no quantity `buffers`")]:
        with pytest.raises(SpecError, match=fragment):
            parse_cli_max(bad)
    with pytest.raises(SpecError, match="need whole sizes"):
        parse_cli_min_rf("224xabc")


def test_later_sources_override_the_same_budget_in_place():
    spec = section("params: 5M\nmacs: 600M\n")
    cli = parse_cli_max(["params=6M"])
    merged = merge(spec, cli)
    assert [(b.key, b.limit, b.origin) for b in merged] == [("params", 6_000_000, "--max params=6M"),
                                                            ("macs", 600_000_000, "test")]


# ---- evaluation (numbers from the module docstring) --------------------------------------------------------------
def test_fixture_totals_are_the_hand_worked_numbers(tiny):
    assert (tiny.totals.params, tiny.totals.macs, tiny.totals.flops, tiny.totals.activation_bytes) == (
        5_370, 1_622_336, 3_277_450, 196_904)
    assert (tiny.weight_bytes, tiny.peak_activation_bytes) == (21_480, 131_072)


def test_total_over_budget_lists_excess_and_top_three_layers(tiny):
    result = one(tiny, "macs: 1.5M\n")
    assert result.status == "fail" and (result.actual, result.limit) == (1_622_336, 1_500_000)
    assert result.excess_percent == Fraction(122_336 * 100, 1_500_000)  # 8.1557…%
    assert [(c.name, c.value, c.share) for c in result.contributors] == [
        ("conv2", 1_179_648, Fraction(1_179_648, 1_622_336)),   # 72.71%
        ("conv1", 442_368, Fraction(442_368, 1_622_336)),       # 27.27%
        ("fc", 320, Fraction(320, 1_622_336))]
    assert [c.line for c in result.contributors] == [12, 10, 16]  # their lines in tiny.yaml


def test_limit_is_inclusive_and_used_percent(tiny):
    result = one(tiny, "peak_activation_bytes: 128KiB\n")  # 131,072 = 128·1024 exactly
    assert result.status == "pass" and result.used_percent == 100 and result.excess_percent is None
    result = one(tiny, "params: 10K\n")
    assert result.status == "pass" and result.used_percent == Fraction(5_370 * 100, 10_000)  # 53.7%


def test_weight_bytes_contributors_are_params_times_dtype(tiny):
    result = one(tiny, "weight_bytes: 16KiB\n")  # 21,480 > 16,384: (21,480 − 16,384)/16,384 = 31.10%
    assert result.status == "fail" and result.excess_percent == Fraction(5_096 * 100, 16_384)
    assert [(c.name, c.value) for c in result.contributors] == [("conv2", 18_432), ("conv1", 1_728), ("fc", 1_320)]


def test_peak_contributors_are_the_tensors_live_at_the_peak(tiny):
    result = one(tiny, "peak_activation_bytes: 100KiB\n")  # 131,072 vs 102,400: 28% over
    assert result.status == "fail" and result.excess_percent == 28
    assert [(c.name, c.value, c.share) for c in result.contributors] == [
        ("conv1", 65_536, Fraction(1, 2)), ("relu1", 65_536, Fraction(1, 2))]


def test_layer_max_every_layer_and_glob(tiny):
    result = one(tiny, "layer_max: {macs: 1M}\n")
    assert result.status == "fail" and result.subject == "conv2" and result.actual == 1_179_648
    assert result.excess_percent == Fraction(179_648 * 100, 1_000_000)  # 17.96%
    assert [(c.name, c.line) for c in result.offenders] == [("conv2", 12)]
    result = one(tiny, 'layer_max: {layers: "conv*", activation_bytes: 48KiB}\n')
    # conv1 65,536 > 49,152 (33.33% over); conv2 32,768 is within; relu1 (65,536) is not matched by the glob
    assert [(c.name, c.value) for c in result.offenders] == [("conv1", 65_536)]
    assert result.excess_percent == Fraction(100, 3)
    result = one(tiny, "layer_max: {params: 5K}\n")
    assert result.status == "pass" and result.subject == "conv2" and result.actual == 4_608


def test_layer_glob_matching_nothing_is_bad_input(tiny):
    with pytest.raises(SpecError) as err:
        evaluate(tiny, section('layer_max: {layers: "cnv*", macs: 1M}\n'))
    assert str(err.value).startswith("b.yaml:1:21: `layers: cnv*` matches no layer of `tiny`")


def test_min_rf_final_layer_per_axis_and_named_layer(tiny):
    assert one(tiny, "min_rf: 35\n").status == "pass"
    result = one(tiny, "min_rf: [40, 32]\n")  # 35 < 40 on axis 0: short by 5/40 = 12.5%
    assert result.status == "fail" and result.actual == (35, 35) and result.limit == (40, 32)
    assert result.excess_percent == Fraction(25, 2) and result.subject == "fc"
    result = one(tiny, "min_rf: {size: 6, layer: conv2}\n")  # conv2 sees 5: short by 1/6 = 16.67%
    assert result.status == "fail" and result.actual == (5, 5) and result.excess_percent == Fraction(50, 3)
    with pytest.raises(SpecError, match="gives 3 sizes but `tiny` has 2 spatial axes"):
        evaluate(tiny, section("min_rf: [1, 1, 1]\n"))
    with pytest.raises(SpecError, match="no such layer"):
        evaluate(tiny, section("min_rf: {size: 6, layer: conv9}\n"))


def test_increase_over_baseline(tiny):
    # The baseline is tiny with 9 classes: fc has 32·9 + 9 = 297 params and 288 MACs, so the baseline has
    # 5,337 params and 1,622,304 MACs. Now: +33 params (+0.618%) and +32 MACs (+0.00197%).
    baseline = load_baseline(str(FIXTURES / "baseline_tiny.json"))
    assert (baseline.totals.params, baseline.totals.macs) == (5_337, 1_622_304)
    params, macs = evaluate(tiny, section("max_increase: {params: 0%, macs: 2%}\n"), baseline)
    assert params.status == "fail" and (params.actual, params.limit, params.baseline) == (5_370, 5_337, 5_337)
    assert params.change_percent == Fraction(3_300, 5_337)
    assert [(c.name, c.value, c.share) for c in params.contributors] == [("fc", 33, 1)]
    assert macs.status == "pass" and macs.limit == Fraction(1_622_304 * 102, 100)  # 1,654,750.08
    (absolute,) = evaluate(tiny, parse_cli_increase(["params=33"]), baseline)
    assert absolute.status == "pass" and absolute.limit == 5_370  # inclusive
    (skipped,) = evaluate(tiny, parse_cli_increase(["params=0%"]))
    assert skipped.status == "skip" and "--baseline" in skipped.note


def test_baseline_directory_and_bad_baselines(tmp_path):
    (tmp_path / "tiny.json").write_text((FIXTURES / "baseline_tiny.json").read_text())
    assert load_baseline(str(tmp_path), "tiny").name == "tiny"
    with pytest.raises(SpecError, match="no baseline for `other`"):
        load_baseline(str(tmp_path), "other")
    broken = tmp_path / "broken.json"
    broken.write_text('{"version": 1,\n  "name": }')
    with pytest.raises(SpecError) as err:
        load_baseline(str(broken))
    assert str(err.value).startswith(f"{broken}:2:11: the baseline is not JSON")
    partial = tmp_path / "partial.json"
    partial.write_text('{"version": 1, "name": "x"}')
    with pytest.raises(SpecError, match="not a complete convcalc report"):
        load_baseline(str(partial))


def test_budgets_file_dataclass_default():
    assert BudgetsFile("x").for_spec("a") == []
