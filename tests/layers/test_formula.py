"""convcalc/layers/formula.py and terms.py: one formula, two evaluations. Numeric quantities are plain ints; symbolic ones build
terms whose value equals the ints and which print the formula and the worked arithmetic (expected texts by hand)."""

from __future__ import annotations

import pytest

from convcalc.layers.formula import NUMERIC, SYMBOLIC
from convcalc.layers.terms import Const, term
from convcalc.render.explain import evaluate_worked


def conv_macs(q, c_out, out_sizes, per_group, kernel):
    return q("C_out", c_out) * q.prod("N_out", out_sizes) * q("C_in/g", per_group) * q.prod("k", kernel)


def test_numeric_quantities_are_plain_ints():
    macs = conv_macs(NUMERIC, 64, (56, 56), 64, (3, 3))
    assert macs == 64 * 56 * 56 * 64 * 9 and type(macs) is int  # 115,605,504: no term was built


def test_symbolic_terms_print_the_formula_and_the_numbers():
    macs = conv_macs(SYMBOLIC, 64, (56, 56), 64, (3, 3))
    assert macs.value == 115_605_504
    assert macs.symbolic() == "C_out·ΠN_out·C_in/g·Πk"
    assert macs.worked() == "64·56·56·64·3·3"


@pytest.mark.parametrize("bias, worked, value", [(True, "4·3 + 4", 16), (False, "4·3", 12)])
def test_an_optional_addend_is_always_in_the_formula_and_only_counted_when_it_holds(bias, worked, value):
    q = SYMBOLIC
    params = q("C_out", 4) * q("C_in", 3) + q.opt(bias, q("C_out", 4), "bias")
    assert params.symbolic() == "C_out·C_in (+ C_out bias)"
    assert (params.worked(), params.value) == (worked, value)


def test_parentheses_follow_precedence():
    q = SYMBOLIC
    taps = q.prod("k", (3, 3))
    per_window = (taps - 1) * q("f", 1)
    assert per_window.symbolic() == "(Πk − 1)·f" and per_window.worked() == "(3·3 − 1)·1"
    size = q.floor_div(q("N", 56) + q("p_b", 1) + q("p_a", 1) - q("k", 3), q("s", 2)) + 1
    assert size.symbolic() == "floor((N + p_b + p_a − k)/s) + 1"
    assert size.worked() == "floor((56 + 1 + 1 − 3)/2) + 1" and size.value == 28  # floor(55/2) + 1
    assert q.ceil_div(q("N", 7), q("s", 2)).value == 4 and evaluate_worked("ceil(7/2)") == 4
    assert q.exact_div(q("C", 64), q("r", 16)).worked() == "64/16"


def test_named_sub_terms_print_by_name_and_are_defined():
    q = SYMBOLIC
    k_eff = q.named("k_eff", q("d", 2) * (q("k", 3) - 1) + 1, expand=False)
    span = q("N", 9) - k_eff
    assert span.symbolic() == "N − k_eff" and span.worked() == "9 − 5" and span.value == 4  # k_eff = 2·2 + 1
    (definition,) = span.definitions()
    assert (definition.name, definition.term.symbolic(), definition.term.worked()) == ("k_eff", "d·(k − 1) + 1",
                                                                                       "2·(3 − 1) + 1")
    stage = q.named("depthwise", q("C", 8) * q.prod("k", (3, 3)))
    total = stage + q.named("pointwise", q("C_out", 16) * q("C", 8))
    assert total.symbolic() == "depthwise + pointwise" and total.worked() == "8·3·3 + 16·8"


def test_costs_of_one_are_left_out_of_the_arithmetic_but_named_in_the_formula():
    q = SYMBOLIC
    flops = q.elements((3, 6)) * q.cost("relu") + q.elements((3, 6)) * q.cost("sigmoid")
    assert flops.symbolic() == "C·ΠN·f_relu + C·ΠN·f_sigmoid"
    assert flops.worked() == "3·6 + 3·6·3" and flops.value == 72  # relu 1 per element, sigmoid 3


def test_zero_parts_are_not_shown():
    q = SYMBOLIC
    total = 0 + q.named("relu", Const(0)) + q.named("fc", q("C", 8) * q("S", 2))
    assert total.symbolic() == "fc" and total.worked() == "8·2" and total.value == 16


def test_every_worked_form_evaluates_to_its_value():
    q = SYMBOLIC
    for expression in (conv_macs(q, 6, (5, 4), 2, (3, 3)), 2 * conv_macs(q, 6, (5, 4), 2, (3, 3)) + 7,
                       term(5) - q("x", 2) * 3, q.prod("k", ())):
        assert evaluate_worked(expression.worked()) == expression.value
