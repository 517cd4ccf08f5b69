"""The whitelisted expression evaluator (convcalc/expr.py): exact arithmetic, the allowed functions, and what it
refuses. Expected values are worked out by hand."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from convcalc.errors import SpecError
from convcalc.limits import within
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


# ---- math functions (docs/spec.md, "Math functions") ------------------------------------------------------------
@pytest.mark.parametrize("text, value", [
    # exact where the inputs are exact and so is the answer
    ("log2(8)", 3),
    ("log2(1/8)", -3),
    ("log(8, 2)", 3),
    ("log(1000, 10)", 3),              # not the 2.9999999999999996 of math.log(1000, 10)
    ("log(125, 5)", 3),                # not 3.0000000000000004
    ("log(8, 0.5)", -3),
    ("log(1)", 0),
    ("exp(0)", 1),
    ("sqrt(16)", 4),                   # a perfect square: the int 4, no float
    ("sqrt(9 / 4)", Fraction(3, 2)),
    ("sqrt(10 ** 100)", 10**50),
    ("pow(2, 10)", 1024),              # a whole exponent: exact, as `**`
    ("pow(0.5, -2)", 4),
    ("pow(4, 0.5)", 2),                # the double 2.0 is exactly 2
    ("pow(27.89, 1)", Fraction(2789, 100)),
    # otherwise the IEEE double of Python's math module, taken exactly as the fraction it is
    ("sqrt(2)", Fraction(1.4142135623730951)),
    ("exp(1)", Fraction(2.718281828459045)),
    ("log(2)", Fraction(0.6931471805599453)),
    ("log2(10)", Fraction(3.321928094887362)),
    ("pow(2, 0.5)", Fraction(1.4142135623730951)),
    ("log(10 ** 100)", Fraction(230.25850929940458)),  # 100·ln 10: the largest number's log is an ordinary double
    # into an integer field only through an explicit rounding
    ("round(log(1000) / log(10))", 3),
    ("int(sqrt(10))", 3),
    ("ceil(log2(100))", 7),
])
def test_math_values(text, value):
    result = evaluate(text, NAMES)
    assert result == value and type(result) is type(value)


#: torchvision's regnet_y_400mf: BlockParams.from_init_params(depth=16, w_0=48, w_a=27.89, w_m=2.09,
#: group_width=8, se_ratio=0.25) (torchvision/models/regnet.py). Its quantisation, per block j:
#: u_j = w_0 + w_a·j; s_j = round(log(u_j / w_0) / log(w_m)); w_j = round(w_0·w_m^s_j / 8)·8.
REGNET_WIDTH = "round(w_0 * w_m ** round(log((w_0 + w_a * j) / w_0) / log(w_m)) / 8) * 8"


def test_regnet_y_400mf_width_quantisation():
    # by hand: log(u_j/48)/log(2.09) is 0, 0.62, 1.05, 1.37 | 1.63 … 2.48 (j = 4…9) | 2.60 … 3.08 (j = 10…15), so
    # s_j = 0 | 1 ×3 | 2 ×6 | 3 ×6, and w = 48 | 48·2.09 = 100.32 → 104 | 48·2.09² = 209.67 → 208 |
    # 48·2.09³ = 438.21 → 440 (the nearest multiple of 8 each time)
    names = {"w_0": 48, "w_a": Fraction(2789, 100), "w_m": Fraction(209, 100)}
    widths = [evaluate(REGNET_WIDTH, {**names, "j": j}) for j in range(16)]
    assert widths == [48] + [104] * 3 + [208] * 6 + [440] * 6
    stages = [(w, widths.count(w)) for w in dict.fromkeys(widths)]
    # torchvision's RegNetY-400MF stages: widths [48, 104, 208, 440], depths [1, 3, 6, 6]
    assert stages == [(48, 1), (104, 3), (208, 6), (440, 6)]


@pytest.mark.parametrize("text, words, hint", [
    ("log(0)", ["`log(0)`: the logarithm needs a number > 0, got 0"], "argument"),
    ("log(c - 96)", ["`log(c - 96)`: the logarithm needs a number > 0, got 0"], "argument"),
    ("log(-alpha)", ["got -0.5"], "argument"),
    ("log2(-8)", ["`log2(-8)`: the logarithm needs a number > 0, got -8"], "argument"),
    ("log(8, 1)", ["the base of a logarithm cannot be 1"], "base > 0 other than 1"),
    ("log(8, -2)", ["the base of a logarithm needs a number > 0, got -2"], "base > 0"),
    ("sqrt(-1)", ["`sqrt(-1)`: the square root needs a number ≥ 0, got -1"], "argument"),
    ("exp(1000)", ["`exp(1000)`: exp(1000) is about 10^434.3, beyond ±10^100"], "10^100"),
    ("exp(-1000)", ["exp(-1000) is about 10^-434.3, finer than 10^-100"], "10^100"),
    ("exp(231)", ["`exp(231)` gives 2.0990e+100 (101 digits), beyond ±10^100"], "10^100"),  # e^231 ≈ 10^100.3
    ("pow(-8, 1/3)", ["a negative base (-8) has no real power with the fractional exponent 0.3333333333"],
     "whole exponent"),
    ("pow(10, 200.5)", ["10 to the power 200.5 is about 10^200.5, beyond ±10^100"], "10^100"),
    ("pow(10, -200.5)", ["finer than 10^-100"], "10^100"),
    ("pow(2, 1000)", ["`pow(2, 1000)`: exponent 1000 is too large"], "±256"),
    ("pow(10, 150)", ["`pow(10, 150)`: 10 to the power 150 is beyond ±10^100"], "10^100"),  # refused uncomputed
    ("pow(10, 101)", ["`pow(10, 101)` gives 1.0000e+101 (102 digits), beyond ±10^100"], "10^100"),
    ("pow(0, -0.5)", ["division by zero in `pow(0, -0.5)`"], "values"),
    ("sqrt(flag)", ["`sqrt(flag)` does arithmetic on the boolean true"], "booleans"),
    ("log(2, 3, 4)", ["`log` takes 1 to 2 arguments, got 3"], ""),
    ("pow(2)", ["`pow` takes 2 arguments, got 1"], ""),
    ("4 ** 0.5", ["fractional powers are not exact"], "pow(x, y)"),
])
def test_math_refused(text, words, hint):
    with pytest.raises(SpecError) as info:
        evaluate(text, NAMES)
    for word in words:
        assert word in info.value.message
    assert hint in info.value.hint


def test_a_float_reaching_an_integer_field_says_how_to_round():
    import convcalc

    spec = {"name": "t", "input": [3, 8, 8], "vars": {"w": 10}, "layers": [{"type": "conv", "out": "sqrt(w)", "kernel": 1}]}
    with pytest.raises(SpecError) as info:
        convcalc.analyze(spec)
    assert info.value.message == "`out` must be a whole number, got 3.1622776601683795"  # the double, shortest form
    assert "round()" in info.value.hint and "int()" in info.value.hint
    spec["layers"][0]["out"] = "round(sqrt(w))"
    assert convcalc.analyze(spec).layers[0].output_shape == [3, 8, 8]  # 3·1·1 + 3 bias


_NUMBERS = st.one_of(
    st.integers(-10**100, 10**100),
    st.fractions(max_denominator=10**6).filter(lambda f: abs(f) <= 10**100),
    st.sampled_from([0, 1, -1, 2, 10**100, -10**100, Fraction(1, 10**100), Fraction(1, 2)]),
)


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(["log(x)", "log(x, y)", "log2(x)", "exp(x)", "sqrt(x)", "pow(x, y)"]), _NUMBERS, _NUMBERS)
def test_math_functions_give_a_bounded_number_or_a_spec_error(text, x, y):
    try:
        value = evaluate(text, {"x": x, "y": y})
    except SpecError as err:
        assert err.message.startswith("in expression")  # never a traceback: the expression, what is wrong
        return
    assert isinstance(value, (int, Fraction)) and within(value)
