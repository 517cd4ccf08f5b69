"""convcalc.budgets.kinds: each kind of budget evaluated on the fixture network (numbers worked out in
helpers.py), and the texts each kind gives the renderers, as literals worked out by hand."""

from __future__ import annotations

import re
from fractions import Fraction
from pathlib import Path

import pytest

import convcalc
from convcalc.budgets.evaluate import evaluate, load_baseline
from convcalc.budgets.kinds import Budget, LayerMax, MaxIncrease, Maximum, MinRF, TotalMax
from convcalc.budgets.parse import parse_cli_increase
from convcalc.budgets.results import BudgetResult, Contributor, Status
from convcalc.errors import SpecError

from .helpers import FIXTURES, one, section


@pytest.fixture(scope="module")
def baseline():
    """tiny with 9 classes (see test_increase_over_baseline)."""
    return load_baseline(str(FIXTURES / "baseline_tiny.json"))


# ---- evaluation (numbers from helpers.py) ---------------------------------------------------------------------
def test_fixture_totals_are_the_hand_worked_numbers(tiny):
    assert (tiny.totals.params, tiny.totals.macs, tiny.totals.flops, tiny.totals.activation_bytes) == (
        5_370, 1_622_336, 3_277_450, 196_904)
    assert (tiny.weight_bytes, tiny.peak_activation_bytes) == (21_480, 131_072)


def test_total_over_budget_lists_excess_and_top_three_layers(tiny):
    result = one(tiny, "macs: 1.5M\n")
    assert result.status is Status.FAIL and (result.actual, result.limit) == (1_622_336, 1_500_000)
    assert result.excess_percent == Fraction(122_336 * 100, 1_500_000)  # 8.1557…%
    assert [(c.name, c.value, c.share) for c in result.contributors] == [
        ("conv2", 1_179_648, Fraction(1_179_648, 1_622_336)),   # 72.71%
        ("conv1", 442_368, Fraction(442_368, 1_622_336)),       # 27.27%
        ("fc", 320, Fraction(320, 1_622_336))]
    assert [c.line for c in result.contributors] == [12, 10, 16]  # their lines in tiny.yaml


def test_limit_is_inclusive_and_used_percent(tiny):
    result = one(tiny, "peak_activation_bytes: 128KiB\n")  # 131,072 = 128·1024 exactly
    assert result.status is Status.PASS and result.used_percent == 100 and result.excess_percent is None
    result = one(tiny, "params: 10K\n")
    assert result.status is Status.PASS and result.used_percent == Fraction(5_370 * 100, 10_000)  # 53.7%


def test_weight_bytes_contributors_are_params_times_dtype(tiny):
    result = one(tiny, "weight_bytes: 16KiB\n")  # 21,480 > 16,384: (21,480 − 16,384)/16,384 = 31.10%
    assert result.status is Status.FAIL and result.excess_percent == Fraction(5_096 * 100, 16_384)
    assert [(c.name, c.value) for c in result.contributors] == [("conv2", 18_432), ("conv1", 1_728), ("fc", 1_320)]


def test_peak_contributors_are_the_tensors_live_at_the_peak(tiny):
    result = one(tiny, "peak_activation_bytes: 100KiB\n")  # 131,072 vs 102,400: 28% over
    assert result.status is Status.FAIL and result.excess_percent == 28
    assert [(c.name, c.value, c.share) for c in result.contributors] == [
        ("conv1", 65_536, Fraction(1, 2)), ("relu1", 65_536, Fraction(1, 2))]


def test_layer_max_every_layer_and_glob(tiny):
    result = one(tiny, "layer_max: {macs: 1M}\n")
    assert result.status is Status.FAIL and result.subject == "conv2" and result.actual == 1_179_648
    assert result.excess_percent == Fraction(179_648 * 100, 1_000_000)  # 17.96%
    assert [(c.name, c.line) for c in result.offenders] == [("conv2", 12)]
    result = one(tiny, 'layer_max: {layers: "conv*", activation_bytes: 48KiB}\n')
    # conv1 65,536 > 49,152 (33.33% over); conv2 32,768 is within; relu1 (65,536) is not matched by the glob
    assert [(c.name, c.value) for c in result.offenders] == [("conv1", 65_536)]
    assert result.excess_percent == Fraction(100, 3)
    result = one(tiny, "layer_max: {params: 5K}\n")
    assert result.status is Status.PASS and result.subject == "conv2" and result.actual == 4_608


def test_layer_glob_matching_nothing_is_bad_input(tiny):
    with pytest.raises(SpecError) as err:
        evaluate(tiny, section('layer_max: {layers: "cnv*", macs: 1M}\n'))
    assert str(err.value).startswith("b.yaml:1:21: `layers: cnv*` matches no layer of `tiny`")


def test_min_rf_final_layer_per_axis_and_named_layer(tiny):
    assert one(tiny, "min_rf: 35\n").status is Status.PASS
    result = one(tiny, "min_rf: [40, 32]\n")  # 35 < 40 on axis 0: short by 5/40 = 12.5%
    assert result.status is Status.FAIL and result.actual == (35, 35) and result.limit == (40, 32)
    assert result.excess_percent == Fraction(25, 2) and result.subject == "fc"
    result = one(tiny, "min_rf: {size: 6, layer: conv2}\n")  # conv2 sees 5: short by 1/6 = 16.67%
    assert result.status is Status.FAIL and result.actual == (5, 5) and result.excess_percent == Fraction(50, 3)
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
    assert params.status is Status.FAIL and (params.actual, params.limit, params.baseline) == (5_370, 5_337, 5_337)
    assert params.change_percent == Fraction(3_300, 5_337)
    assert [(c.name, c.value, c.share) for c in params.contributors] == [("fc", 33, 1)]
    assert macs.status is Status.PASS and macs.limit == Fraction(1_622_304 * 102, 100)  # 1,654,750.08
    (absolute,) = evaluate(tiny, parse_cli_increase(["params=33"]), baseline)
    assert absolute.status is Status.PASS and absolute.limit == 5_370  # inclusive
    (skipped,) = evaluate(tiny, parse_cli_increase(["params=0%"]))
    assert skipped.status is Status.SKIP and "--baseline" in skipped.note


# ---- what every kind answers ---------------------------------------------------------------------------------------
def test_kinds_carry_their_json_name_and_only_max_increase_needs_a_baseline():
    assert [(kind.kind, kind.needs_baseline) for kind in (TotalMax, LayerMax, MinRF, MaxIncrease)] == [
        ("max", False), ("layer_max", False), ("min_rf", False), ("max_increase", True)]
    assert [issubclass(kind, Maximum) for kind in (TotalMax, LayerMax, MinRF, MaxIncrease)] == [
        True, True, False, True]
    for abstract in (Budget, Maximum):  # they answer no kind's questions themselves
        with pytest.raises(TypeError):
            abstract(quantity="macs", limit=1, text="1", origin="test")


@pytest.mark.parametrize("budget, key, label, layers, relative", [
    (TotalMax(quantity="macs", limit=600_000_000, text="600M", origin="t"), "macs", "macs ≤ 600M", None, False),
    (LayerMax(quantity="macs", limit=200_000_000, text="200M", origin="t"),
     "layer_max.macs", "layer_max.macs ≤ 200M", None, False),
    (LayerMax(quantity="macs", limit=200_000_000, text="200M", origin="t", layers="layer4.*"),
     "layer_max[layer4.*].macs", "layer_max.macs ≤ 200M (layers layer4.*)", "layer4.*", False),
    (MinRF(limit=224, text="224", origin="t"), "min_rf", "min_rf ≥ 224", None, False),
    (MinRF(limit=(224, 160), text="224×160", origin="t", layer="conv5"),
     "min_rf", "min_rf ≥ 224×160 (conv5)", "conv5", False),
    (MaxIncrease(quantity="params", limit=0, text="0%", origin="t", relative=True),
     "max_increase.params", "params ≤ baseline +0%", None, True),
    (MaxIncrease(quantity="macs", limit=1000, text="1K", origin="t"), "max_increase.macs", "macs ≤ baseline +1K",
     None, False),
])
def test_key_label_and_json_fields(budget, key, label, layers, relative):
    assert (budget.key, budget.label, budget.layers, budget.relative) == (key, label, layers, relative)


def test_min_rf_measures_receptive_fields():
    assert MinRF(limit=224, text="224", origin="t").quantity == "rf"


# ---- the texts the renderers print ----------------------------------------------------------------------------------
TOP_MACS = "conv2 1.18 M (72.71%), conv1 442.37 K (27.27%), fc 320 (0.02%)"  # shares of 1,622,336 MACs


def test_total_max_texts(tiny):
    result = one(tiny, "macs: 1.5M\n")  # 122,336 / 1,500,000 = 8.16% over
    budget = result.budget
    assert budget.failure_message(result) == (
        "macs 1,622,336 (1.62 M) is over the limit 1.5M (= 1,500,000) by 8.16%; top layers: " + TOP_MACS)
    assert budget.table_value(result) == "1,622,336 (1.62 M), 8.16% over"
    assert budget.table_detail(result) == "top layers: " + TOP_MACS
    assert (budget.cell(result.actual), budget.cell(result.limit), budget.cell(None)) == ("1.62 M", "1.50 M", "–")
    assert budget.layer_annotations(result, "tiny") == []
    within = one(tiny, "params: 10K\n")  # 5,370 / 10,000 = 53.70%
    assert within.budget.pass_message(within) == "params 5,370 (5.37 K), 53.70% of the limit"
    assert within.budget.table_value(within) == "5,370 (5.37 K), 53.70% of the limit"
    assert within.budget.table_detail(within) == ""


def test_total_max_of_peak_memory_names_the_live_tensors(tiny):
    result = one(tiny, "peak_activation_bytes: 100KiB\n")  # 131,072 vs 102,400: 28% over
    assert result.budget.failure_message(result) == (
        "peak_activation_bytes 131,072 B (128.00 KiB) is over the limit 100KiB (= 102,400 B) by 28.00%; "
        "live at the peak: conv1 64.00 KiB (50.00%), relu1 64.00 KiB (50.00%)")
    assert result.budget.table_detail(result) == "live at the peak: conv1 64.00 KiB (50.00%), relu1 64.00 KiB (50.00%)"


def test_a_limit_of_zero_has_no_percentage(tiny):
    result = one(tiny, "params: 0\n")
    assert (result.status, result.excess_percent, result.used_percent) == (Status.FAIL, None, None)
    assert result.budget.table_value(result) == "5,370 (5.37 K), ∞% over"


def test_layer_max_texts(tiny):
    result = one(tiny, "layer_max: {macs: 1M}\n")  # conv2 1,179,648: 17.96% over; 72.71% of all MACs
    budget = result.budget
    assert budget.failure_message(result) == (
        "layer_max.macs: `conv2` has 1,179,648 (1.18 M), over the limit 1M (= 1,000,000) by 17.96%; "
        "1 layer over the limit: conv2 1.18 M (72.71%)")
    assert budget.table_value(result) == "`conv2` 1,179,648 (1.18 M), 17.96% over"
    assert budget.table_detail(result) == "1 layer over: conv2 1.18 M (72.71%)"
    # conv2 is on line 12 of tiny.yaml
    assert budget.layer_annotations(result, "tiny") == [
        (12, "tiny: `conv2` has 1,179,648 (1.18 M), 17.96% over layer_max.macs ≤ 1M (= 1,000,000)")]
    within = one(tiny, "layer_max: {params: 5K}\n")  # conv2 4,608 / 5,000 = 92.16%
    assert within.budget.pass_message(within) == (
        "layer_max.params: largest is `conv2` with 4,608 (4.61 K), 92.16% of the limit")
    assert within.budget.table_value(within) == "`conv2` 4,608 (4.61 K), 92.16% of the limit"


def test_layer_max_groups_annotations_by_line_and_shortens_long_lists():
    """Seven offenders, built by hand: six layers of one repeated definition on line 6 with 147,456 MACs each
    ((147,456 − 100,000) / 100,000 = 47.46% over) and `head` on line 9 with 120,000 (20.00% over)."""
    budget = LayerMax(quantity="macs", limit=100_000, text="100K", origin="test")
    offenders = [Contributor(f"body.{i}", 147_456, None, 6) for i in range(6)] + [Contributor("head", 120_000, None, 9)]
    result = BudgetResult(budget, Status.FAIL, 147_456, 100_000, Fraction(47_456, 1_000), subject="body.0",
                          offenders=offenders)
    body = ", ".join(f"body.{i} 147.46 K" for i in range(5))
    assert budget.failure_message(result) == (
        "layer_max.macs: `body.0` has 147,456 (147.46 K), over the limit 100K (= 100,000) by 47.46%; "
        "7 layers over the limit: body.0 147.46 K, body.1 147.46 K, body.2 147.46 K, …")
    assert budget.table_detail(result) == f"7 layers over: {body} and 2 more"
    assert budget.layer_annotations(result, "net") == [
        (6, f"net: 6 layers defined here exceed layer_max.macs ≤ 100K (= 100,000), the worst by 47.46%: {body} "
            "and 1 more"),
        (9, "net: `head` has 120,000 (120.00 K), 20.00% over layer_max.macs ≤ 100K (= 100,000)")]


def test_min_rf_texts(tiny):
    result = one(tiny, "min_rf: [40, 70]\n")  # fc sees 35×35: short by 5/40 = 12.5% and 35/70 = 50%
    budget = result.budget
    assert budget.failure_message(result) == (
        "min_rf: the receptive field of `fc` is 35×35, below the limit 40×70 by 50.00% "
        "(axis 0: 35 < 40, axis 1: 35 < 70)")
    assert budget.table_value(result) == "35×35 at `fc`, 50.00% short"
    assert budget.table_detail(result) == ""
    assert (budget.cell(result.actual), budget.cell(result.limit)) == ("35×35", "40×70")
    within = one(tiny, "min_rf: 35\n")
    assert within.budget.pass_message(within) == "min_rf: `fc` sees 35×35 (limit 35×35)"
    assert within.budget.table_value(within) == "35×35 at `fc`, ok"


def test_max_increase_texts(tiny, baseline):
    # params 5,337 → 5,370: +33 = 0.62% of 5,337, all of it in fc; 0% allowed, so 0.62% over
    params, macs = evaluate(tiny, section("max_increase: {params: 0%, macs: 2%}\n"), baseline)
    assert params.budget.failure_message(params) == (
        "params rose from 5,337 (5.34 K) to 5,370 (5.37 K) (+0.62%), over the allowed +0% (= 5,337 (5.34 K)) by "
        "0.62%; top increases: fc +33 (100.00%)")
    assert params.budget.table_value(params) == "5,370 (5.37 K), +0.62% vs baseline 5.34 K, 0.62% over"
    assert params.budget.table_detail(params) == "top increases: fc +33 (100.00%)"
    # MACs 1,622,304 → 1,622,336: +32 = 0.002%; allowed 1,622,304·1.02 = 1,654,750.08, of which 98.04% is used
    assert macs.budget.pass_message(macs) == (
        "macs 1,622,336 (1.62 M) vs baseline 1,622,304 (1.62 M) (+<0.01%; allowed +2%)")
    assert macs.budget.table_value(macs) == "1,622,336 (1.62 M), +<0.01% vs baseline 1.62 M, 98.04% of the limit"
    assert macs.budget.table_detail(macs) == ""


# ---- nobody else dispatches on kinds ------------------------------------------------------------------------------
def test_renderers_and_checks_never_ask_a_budget_its_kind():
    root = Path(convcalc.__file__).parent
    sources = [root / "render" / "check.py", root / "cli" / "commands" / "check.py",
               *sorted((root / "budgets").glob("*.py"))]
    asking = re.compile(r"\bkind\s*[!=]=|\.kind\s+(not\s+)?in\b")
    found = [f"{path.relative_to(root)}:{number}" for path in sources
             for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if asking.search(line)]
    assert found == []
