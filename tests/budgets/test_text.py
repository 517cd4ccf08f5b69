"""convcalc.budgets.text: values as the messages of `convcalc check` print them."""

from __future__ import annotations

from fractions import Fraction

import pytest

from convcalc.budgets.results import Contributor
from convcalc.budgets.text import amount, exact, layer_list, limit_text, percent, short


@pytest.mark.parametrize("value, signed, expected", [
    (None, False, "∞%"),                    # a limit of 0
    (Fraction(122_336 * 100, 1_500_000), False, "8.16%"),
    (Fraction(3_300, 5_337), True, "+0.62%"),
    (Fraction(1, 200), True, "+<0.01%"),     # 0.005%
    (Fraction(-1, 200), True, "-<0.01%"),
    (Fraction(0), True, "0.00%"),
    (Fraction(123_456), False, "123,456.00%"),
])
def test_percent(value, signed, expected):
    assert percent(value, signed) == expected


@pytest.mark.parametrize("quantity, value, full, compact", [
    ("macs", 999, "999", "999"),
    ("macs", 1_000, "1,000 (1.00 K)", "1.00 K"),
    ("macs", Fraction(2_469, 2), "1,234.5 (1.23 K)", "1.23 K"),
    ("activation_bytes", 1_023, "1,023 B", "1,023 B"),
    ("activation_bytes", 1_024, "1,024 B (1.00 KiB)", "1.00 KiB"),
    ("weight_bytes", 21_480, "21,480 B (20.98 KiB)", "20.98 KiB"),  # 21,480 / 1,024 = 20.977
    ("rf", (35, 35), "35×35", "35×35"),
])
def test_amount_and_short(quantity, value, full, compact):
    assert (amount(quantity, value), short(quantity, value)) == (full, compact)


def test_exact_limit_text_and_layer_lists():
    assert exact(Fraction(2_469, 2)) == "1,234.5" and exact((224, 160)) == "224×160"
    assert limit_text("params", "5K", 5_000) == "5K (= 5,000)"
    assert limit_text("params", "5,000", 5_000) == "5,000"
    assert limit_text("activation_bytes", "48KiB", 49_152) == "48KiB (= 49,152 B)"
    layers = [Contributor("fc", 33, Fraction(1)), Contributor("new", 7)]
    assert layer_list("params", layers, signed=True) == "fc +33 (100.00%), new +7"
