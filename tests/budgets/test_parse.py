"""convcalc.budgets.parse: budget values, ``budgets:`` sections, budgets files, command-line flags, merging."""

from __future__ import annotations

from fractions import Fraction

import pytest

import convcalc
from convcalc.budgets.kinds import LayerMax, MaxIncrease, MinRF, TotalMax
from convcalc.budgets.parse import (BudgetsFile, load_budgets_file, merge, parse_amount, parse_cli_increase,
                                    parse_cli_max, parse_cli_min_rf, parse_section, spec_budgets)
from convcalc.errors import SpecError
from convcalc.spec.yamlio import load_yaml

from .helpers import FIXTURES, section


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
    assert [type(b) for b in budgets] == [TotalMax] * 3 + [LayerMax] * 2 + [MinRF] + [MaxIncrease] * 2
    assert budgets[6].relative and not budgets[7].relative
    assert [b.label for b in budgets] == [
        "params ≤ 5M", "macs ≤ 600M", "peak_activation_bytes ≤ 8MiB", "layer_max.macs ≤ 200M",
        "layer_max.activation_bytes ≤ 4MiB", "min_rf ≥ 224×160", "macs ≤ baseline +2%",
        "params ≤ baseline +1K"]


def test_layer_rules_with_globs_and_min_rf_mapping():
    budgets = section('layer_max:\n  - {macs: 1M}\n  - {layers: "conv*", activation_bytes: 48KiB}\n'
                      "min_rf: {size: 5, layer: conv2}\n")
    assert [(b.key, b.layers, b.mark.line) for b in budgets] == [
        ("layer_max.macs", None, 2), ("layer_max[conv*].activation_bytes", "conv*", 3), ("min_rf", "conv2", 4)]
    assert budgets[1].layers_mark.line == 3 and budgets[2].layer == "conv2"


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


def test_spec_section_is_read_from_the_spec():
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


def test_a_spec_section_is_keyed_by_the_name_as_written(tmp_path):
    # `1_0:` and `0x10:` name the specs 1_0 and 0x10 (YAML 1.1 would read them as the numbers 10 and 16)
    path = tmp_path / "budgets.yaml"
    path.write_text("specs:\n  1_0: {macs: 1M}\n  0x10: {params: 2M}\n  null: {macs: 3M}\n")
    loaded = load_budgets_file(str(path))
    assert [(b.key, b.limit) for b in loaded.for_spec("1_0")] == [("macs", 1_000_000)]
    assert [(b.key, b.limit) for b in loaded.for_spec("0x10")] == [("params", 2_000_000)]
    assert [(b.key, b.limit) for b in loaded.for_spec("null")] == [("macs", 3_000_000)]
    assert loaded.for_spec("10") == loaded.for_spec("16") == []


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
    assert [type(b) for b in flags] == [TotalMax, LayerMax, MinRF]
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


def test_budgets_file_dataclass_default():
    assert BudgetsFile("x").for_spec("a") == []
