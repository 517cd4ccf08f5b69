"""The contract of a layer kind (convcalc/layers/base.py): every kind answers every question itself.

* every registered kind has its own example, which the cost model analyses;
* its counts are one definition: the ints of the analysis equal the values of the printed terms, and the worked
  arithmetic evaluates to them;
* the own answers (example, analytic-ERF rule, compare designs) are never inherited from another registered kind:
  a throw-away kind derived from ``conv`` is reported unsupported by the analytic ERF until it declares a rule.
"""

from __future__ import annotations

import pytest

from convcalc.cost.analysis import analyze
from convcalc.errors import SpecError
from convcalc.layers import REGISTRY
from convcalc.layers.base import own, register
from convcalc.layers.conv import Conv
from convcalc.layers.formula import NUMERIC, SYMBOLIC, value_of
from convcalc.render.explain import evaluate_worked
from convcalc.spec.loader import load

KINDS = sorted(REGISTRY)


def instance(kind, **changes):
    """The kind's layer in its example network, its input shapes and the analysed report."""
    graph = load(REGISTRY[kind].example.spec(kind, **changes)).expand()
    report = analyze(graph)
    shapes = {graph.input_name: tuple(graph.input_shape)}
    shapes.update({layer.name: tuple(layer.output_shape) for layer in report.layers})
    node = graph.nodes[-1]
    return REGISTRY[kind](node), [shapes[name] for name in node.inputs], report.layers[-1]


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_has_its_own_example_and_erf_rule(kind):
    """A placeholder (``unsupported``) has no rule: its field blocks the analytic ERF instead (test below)."""
    cls = REGISTRY[kind]
    assert own(cls, "example") is not None, f"`{kind}` has no example of its own"
    if cls.placeholder:
        assert own(cls, "erf_rule") is None and getattr(cls, "erf_rule", None) is None, kind
    else:
        assert own(cls, "erf_rule") is not None, f"`{kind}` has no analytic-ERF rule of its own"
    assert cls.summary and (cls.__doc__ or "").strip(), kind


@pytest.mark.parametrize("kind", [kind for kind in KINDS if REGISTRY[kind].placeholder])
def test_a_placeholder_blocks_the_analytic_erf(kind):
    from convcalc.erf.analytic import analytic_erf

    graph = load(REGISTRY[kind].example.spec(kind)).expand()
    report = analyze(graph)
    with pytest.raises(SpecError) as err:
        analytic_erf(graph, report, kind, None)
    assert err.value.message.startswith(f"the analytic ERF cannot follow layer `{kind}`: a placeholder for ")


@pytest.mark.parametrize("kind", KINDS)
def test_counts_are_one_definition(kind):
    example = REGISTRY[kind].example
    for changes in [{}, *example.also]:
        layer, ins, row = instance(kind, **changes)
        numeric, symbolic = layer.counts(ins, NUMERIC), layer.counts(ins, SYMBOLIC)
        assert tuple(numeric) == (row.params, row.buffers, row.macs, row.flops)  # batch 1
        for key, number, term in zip(numeric._fields, numeric, symbolic):
            assert value_of(term) == number, (kind, key)
            text = term.worked() if hasattr(term, "worked") else str(term)
            assert evaluate_worked(text) == number, (kind, key, text)
        steps = layer.shape_steps(ins, SYMBOLIC)
        if steps is not None:
            for size, expected in zip(steps.sizes, row.output_shape[1:]):
                assert value_of(size) == expected and evaluate_worked(size.worked()) == expected, kind


def test_the_symbolic_terms_print_the_formula_and_the_numbers():
    # conv (4, 9, 8) → 6 channels, k3 s2 p1, groups 2: output 5×4; (C_in/g) = 4/2
    layer, ins, _ = instance("conv")
    counts = layer.counts(ins, SYMBOLIC)
    assert counts.macs.symbolic() == "C_out·ΠN_out·(C_in/g)·Πk"
    assert counts.macs.worked() == "6·5·4·(4/2)·3·3" and counts.macs.value == 2160
    assert counts.params.symbolic() == "C_out·(C_in/g)·Πk (+ C_out bias)"
    assert counts.params.worked() == "6·(4/2)·3·3 + 6" and counts.params.value == 114
    layer, ins, _ = instance("conv", bias=False)
    assert layer.counts(ins, SYMBOLIC).params.worked() == "6·(4/2)·3·3"  # the bias term is left out, not "+ 0"


# ---- own answers ---------------------------------------------------------------------------------------------
class _Family:
    """An unregistered family base: its answers are its kinds' own."""

    def erf_rule(self, ins, out, index):
        raise NotImplementedError


def test_own_follows_the_family_but_never_another_kind():
    elementwise = REGISTRY["relu"]
    assert own(elementwise, "erf_rule") is not None  # defined on the unregistered Elementwise base
    assert own(REGISTRY["depthwise"], "erf_rule") is Conv.__dict__["erf_rule"]  # re-declared on purpose
    assert own(REGISTRY["depthwise"], "designs") is None  # conv's designs are conv's, not depthwise's
    assert own(REGISTRY["conv"], "designs")


@pytest.fixture
def ghost():
    """A throw-away kind derived from conv, as a GhostNet-style module would be written (Han et al. 2020): a
    primary conv to half the channels, then a cheap 3×3 depthwise conv that makes the other half, so its receptive
    field is the primary window plus 2 on every axis. It declares its shape and counts, not an ERF rule."""

    @register
    class Ghost(Conv):
        """GhostNet's ghost module (test only)."""

        kind = "ghost_test"
        summary = "ghost module (test only)"

        def receptive_field(self, rfs, ins):
            g = self.geometry(ins[0])
            return rfs[0].window(tuple(k + 2 for k in g.k_eff), g.stride, [p[0] + 1 for p in g.pads])

    yield Ghost
    del REGISTRY["ghost_test"]


GHOST_SPEC = {"name": "g", "input": [4, 16, 16], "layers": [{"type": "ghost_test", "name": "ghost", "out": 8,
                                                                "kernel": 1}]}


def test_a_kind_derived_from_conv_does_not_inherit_its_erf_rule(ghost):
    from convcalc.erf.analytic import analytic_erf

    graph = load(GHOST_SPEC).expand()
    report = analyze(graph)
    assert report.layers[0].rf.size == [3, 3]  # its own window: 1×1 primary + the 3×3 cheap op
    with pytest.raises(SpecError) as err:
        analytic_erf(graph, report, "ghost", (8, 8))
    assert "no rule for layer kind `ghost_test`" in err.value.message
    assert "derives from `conv` but does not take its rule" in err.value.message
    assert "--erf measured" in err.value.hint


def test_a_kind_may_take_its_parents_rule_on_purpose(ghost):
    from convcalc.erf.analytic import analytic_erf

    ghost.erf_rule = Conv.erf_rule  # written in the class body by a kind whose window really is the conv's
    graph = load(GHOST_SPEC).expand()
    erf = analytic_erf(graph, analyze(graph), "ghost", (8, 8))
    assert erf.exact and [axis.support for axis in erf.axes] == [(8, 8), (8, 8)]  # the 1×1 window it declared


def test_a_kind_without_designs_or_example_says_so(ghost):
    from convcalc.layers.design import all_designs
    from convcalc.render.explain import kind_lines

    assert "ghost_test" not in {key for design in all_designs().values() for key in design.kinds}
    assert any("no example" in line for line in kind_lines("ghost_test"))


def test_every_kind_is_documented_in_the_spec_reference():
    """docs/spec.md's kinds tables name every registered kind (a row starting with it, or sharing a row)."""
    import re
    from pathlib import Path

    text = (Path(__file__).resolve().parents[2] / "docs" / "spec.md").read_text(encoding="utf-8")
    rows = [line.split("|")[1] for line in text.splitlines() if line.startswith("| `")]
    documented = {name for cell in rows for name in re.findall(r"`([a-z0-9_]+)`", cell)}
    assert set(REGISTRY) - documented == set()
