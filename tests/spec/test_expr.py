"""The whitelisted expression evaluator (convcalc/expr.py): exact arithmetic, the allowed functions, and what it
refuses. Expected values are worked out by hand."""

from __future__ import annotations

from fractions import Fraction

import pytest

from convcalc.errors import SpecError
from convcalc.spec.expr import evaluate

NAMES = {"alpha": Fraction(1, 2), "c": 96, "flag": True, "off": False}


@pytest.mark.parametrize("text, value", [
    ("64 / 2", 32),                                # a whole quotient is an int
    ("1 / 3 + 1 / 6", Fraction(1, 2)),             # exact, never 0.49999…
    ("0.1 * 30", 3),                               # 0.1 is exactly 1/10
    ("c // 5 + c % 5", 20),                        # 19 + 1
    ("2 ** 10", 1024),
    ("make_divisible(32 * alpha, 8)", 16),         # 16 is a multiple of 8
    ("make_divisible(0.75 * 44, 8)", 32),          # 33 → 32, not more than 10% below
    ("make_divisible(0.25 * 20, 8)", 8),           # 5 → the minimum 8
    ("round(2.5)", 2),                             # Python's (banker's) rounding, as torchvision scripts use it
    ("ceil(c / 10)", 10),
    ("floor(c / 10)", 9),
    ("max(c, 128) - min(c, 64)", 64),
    ("c if flag else 0", 96),
    ("c if off else 3", 3),
    ("flag and c == 96", True),
    ("not flag or 1 < alpha", False),
    ("1 < 2 < 3", True),
    ("4.00000000000000000001", Fraction(400000000000000000001, 10**20)),  # as written, not a float's 4.0
    ("4 + 1.0e-40", 4 + Fraction(1, 10**40)),
    ("2.5e-3", Fraction(1, 400)),
    ("1_000.5 * 2", 2001),
    ("round(7 / 3, 2)", Fraction(233, 100)),
    ("make_divisible(20, divisor=16, min_value=32)", 32),  # nearest multiple 16 is below the minimum 32
])
def test_values(text, value):
    result = evaluate(text, NAMES)
    assert result == value and type(result) is type(value)


@pytest.mark.parametrize("text, words", [
    ("8 * flag", ["`8 * flag` does arithmetic on the boolean true"]),
    ("c + off", ["`c + off` does arithmetic on the boolean false"]),
    ("-flag", ["`-flag` does arithmetic on the boolean true"]),
    ("1 / 0", ["division by zero"]),
    ("2 ** 1000", ["exponent 1000 is too large"]),
    ("4 ** 0.5", ["fractional powers are not exact"]),
    ("c.real", ["is not allowed"]),
    ("[1, 2]", ["is not allowed"]),
    ("'text' * 2", ["'text'", "not a number"]),
    ("beta + 1", ["unknown name `beta`"]),
    ("open('x')", ["unknown function `open`"]),
    ("max(1,", ["cannot parse the expression"]),
    # booleans are for logic, numbers for arithmetic; Python's True == 1 would let both through
    ("int(flag)", ["`int(flag)` does arithmetic on the boolean true"]),
    ("max(flag, 4)", ["does arithmetic on the boolean true"]),
    ("3 and 4", ["`3 and 4` needs a boolean, got 3"]),
    ("0 or flag", ["needs a boolean, got 0"]),
    ("4 if 3 else 5", ["needs a boolean, got 3"]),
    ("not c", ["`not c` needs a boolean, got 96"]),
    # arguments
    ("min(4)", ["`min` takes at least 2 arguments, got 1"]),
    ("ceil(1, 2)", ["`ceil` takes 1 argument, got 2"]),
    ("round(4, 0.5)", ["the digits must be a whole number ≥ 0, got 1/2"]),
    ("make_divisible(20, -8)", ["the divisor must be a whole number ≥ 1, got -8"]),
    ("make_divisible(20, 2.5)", ["the divisor must be a whole number ≥ 1, got 5/2"]),
    # what would be lost or take forever
    ("4 # four", ["contains `#`"]),
    ("1e100000000", ["1e100000000 is beyond ±10^100"]),
        ("1e-100000000", ["1e-100000000 is finer than 10^-100"]),
        ("round(1, 1000000000)", ["the digits must be at most 100, got 1000000000"]),
        ("2 ** 200 * 2 ** 200", ["`2 ** 200 * 2 ** 200` gives 2.5822e+120 (121 digits), beyond ±10^100"]),
        ("0x" + "f" * 900, ["(902 characters)", "(1,084 digits), beyond ±10^100"]),
        ("-" * 999 + "1", ["nests more than 100 levels deep"]),
        ("-" * 100000 + "1", ["is longer than 1,000 characters"]),
])
def test_refused(text, words):
    with pytest.raises(SpecError) as info:
        evaluate(text, NAMES)
    for word in words:
        assert word in info.value.message
