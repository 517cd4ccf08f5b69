"""convcalc/cost/algorithms.py: direct, im2col, Winograd and FFT estimates per conv, hand-worked.

Sources of the literals: Lavin & Gray 2016 (arXiv:1509.09308): F(2×2,3×3) takes (2+3−1)² = 16 multiplications per
2×2 output tile per channel pair instead of 2·2·3·3 = 36; the F(2×2,3×3) input transform 32 additions and the
output transform 24 (§4.1). Mathieu, Henaff & LeCun 2014 (arXiv:1312.5851): 4·S·f·f'·n² for the pointwise
products. Everything else is worked out in the comments.
"""

from __future__ import annotations

from fractions import Fraction

import pytest

import convcalc
from convcalc.cost.algorithms import WINOGRAD, algorithms, by_multiplications, choose, transform_ops


def report(*layers, input=(1, 6, 6), batch=1):
    return algorithms(convcalc.load({"name": "t", "input": list(input), "batch": batch,
                                     "layers": list(layers)}).expand())


def counts(conv, key="multiplications"):
    return {e.algorithm: None if getattr(e, key) is None else int(getattr(e, key)) for e in conv.estimates}


# ---- the hand-worked single conv: 1 → 1 channel, 6×6 input, 3×3 valid: a 4×4 output --------------------------------
def test_one_channel_4x4_output():
    (conv,) = report({"type": "conv", "name": "c", "out": 1, "kernel": 3, "bias": False}).convs
    assert counts(conv) == {
        "direct": 144,              # 16 outputs · 9 taps
        "im2col": 144,              # one GEMM 1 × 16 × 9
        "winograd_2x2_3x3": 64,     # ceil(4/2)² = 4 tiles · 16
        "winograd_4x4_3x3": 36,     # 1 tile · 6²
        "fft": 256,                 # 6 padded → 8, N = 64 points: 4 · 64
    }
    assert counts(conv, "transform_ops") == {"direct": 0, "im2col": 0, "winograd_2x2_3x3": 4 * 32 + 4 * 24,
                                             "winograd_4x4_3x3": 336 + 200, "fft": 2 * 5 * 64 * 6}
    assert counts(conv, "filter_ops") == {"direct": 0, "im2col": 0, "winograd_2x2_3x3": 70,
                                          "winograd_4x4_3x3": 189, "fft": 5 * 64 * 6}
    # float32: im2col 9 × 16 lowered; F(2,3) V 16·4 + U 16 + M 16·4 = 144; F(4,3) 36·3; FFT 2·64·3 reals
    assert counts(conv, "workspace_bytes") == {"direct": 0, "im2col": 576, "winograd_2x2_3x3": 576,
                                               "winograd_4x4_3x3": 432, "fft": 1536}
    assert conv.best.algorithm == "winograd_4x4_3x3" and conv.reason.startswith("4.00× fewer")
    assert conv.estimate("im2col").shape == {"groups": 1, "m": 1, "n": 16, "k": 9}


def test_the_notes_figure_16_instead_of_36_per_tile():
    # one 2×2 output tile (4×4 input), one channel pair: 16 against direct's 2·2·9 = 36, 2.25× fewer
    (conv,) = report({"type": "conv", "out": 1, "kernel": 3}, input=(1, 4, 4)).convs
    assert counts(conv)["winograd_2x2_3x3"] == 16 and counts(conv)["direct"] == 36


def test_per_tile_transform_ops_from_the_matrices():
    f2, f4 = WINOGRAD
    # F(2,3): Bᵀ rows have 2 nonzeros ±1: 4 additions per 1-D transform, 8 of them per tile → 32 (Lavin & Gray);
    # Aᵀ rows 3 nonzeros: 2 + 2 = 4, over 4 columns and 2 rows → 24 (Lavin & Gray); G: rows ½ ½ ½ cost 2 + 3,
    # twice → 10, over 3 columns and 4 rows → 70 (their 28 shares sub-expressions)
    assert (f2.input_ops, f2.output_ops, f2.filter_ops) == (32, 24, 70)
    # F(4,3): Bᵀ rows 4, 5, 5, 5, 5, 4 = 28, ×12; Aᵀ 4, 5, 5, 6 = 20, ×10; G 1, 5, 5, 5, 5, 0 = 21, ×9
    assert (f4.input_ops, f4.output_ops, f4.filter_ops) == (336, 200, 189)
    assert transform_ops(((1, 0, -1),)) == 1 and transform_ops(((2, 3, 0),)) == 3 and transform_ops(((0, 0),)) == 0


@pytest.mark.parametrize("variant", WINOGRAD, ids=lambda v: v.key)
def test_the_matrices_compute_a_correlation(variant):
    # Y = Aᵀ[(G g) ⊙ (Bᵀ d)] in 1-D, exactly, for integer data: y_i = Σ_t d_{i+t} g_t
    m, r, a = variant.m, variant.r, variant.alpha

    def mul(matrix, vector):
        return [sum(Fraction(x) * v for x, v in zip(row, vector)) for row in matrix]

    for seed in range(5):
        d = [(seed * 7 + 3 * i * i + 1) % 11 - 5 for i in range(a)]
        g = [(seed * 5 + 2 * t + 3) % 7 - 3 for t in range(r)]
        product = [u * v for u, v in zip(mul(variant.g, g), mul(variant.bt, d))]
        assert mul(variant.at, product) == [sum(d[i + t] * g[t] for t in range(r)) for i in range(m)]


# ---- per group, per stage, and what does not apply -------------------------------------------------------------------
def test_grouped_conv_runs_per_group():
    # 8 → 12, 4 groups (2 in, 3 out each), 3×3 p1 on 10×10, batch 2: direct 2·12·100·2·9 = 43,200
    (conv,) = report({"type": "conv", "out": 12, "kernel": 3, "padding": 1, "groups": 4}, input=(8, 10, 10),
                     batch=2).convs
    c = counts(conv)
    assert c["direct"] == c["im2col"] == 43_200
    assert conv.estimate("im2col").shape == {"groups": 4, "m": 3, "n": 200, "k": 18}   # N = 100·2, K = 2·9
    # F(2,3): T = 5·5 = 25 tiles; 16·12·2·25·2 = 19,200.  F(4,3): T = 3·3 = 9; 36·12·2·9·2 = 15,552
    assert (c["winograd_2x2_3x3"], c["winograd_4x4_3x3"]) == (19_200, 15_552)
    assert conv.estimate("winograd_2x2_3x3").shape["gemm"] == {"m": 3, "n": 50, "k": 2}
    assert conv.estimate("winograd_2x2_3x3").shape["gemms"] == 16 * 4
    assert c["fft"] == 4 * 2 * 12 * 2 * 256  # 12 padded → 16·16 points


def test_depthwise_separable_is_two_convs():
    # depthwise 4 → 4 (one channel per group) 3×3 p1 on 8×8, then pointwise 4 → 6
    convs = report({"type": "depthwise_separable", "name": "dws", "out": 6, "kernel": 3, "padding": 1},
                   input=(4, 8, 8)).convs
    assert [(c.name, c.geometry.groups) for c in convs] == [("dws.depthwise", 4), ("dws.pointwise", 1)]
    depthwise, pointwise = (counts(c) for c in convs)
    assert depthwise["direct"] == 4 * 64 * 9 == 2_304
    assert depthwise["winograd_2x2_3x3"] == 16 * 4 * 1 * 16          # 16 tiles, no sum over channels
    assert pointwise["direct"] == 6 * 64 * 4 == 1_536
    assert pointwise["winograd_2x2_3x3"] is None and convs[1].estimate("winograd_2x2_3x3").why == "kernel 1×1"
    assert convs[1].estimate("im2col").workspace_bytes == 0           # 1×1 s1 p0: the input is the matrix


@pytest.mark.parametrize("layer, input, why", [
    ({"type": "conv", "out": 2, "kernel": 3, "stride": 2}, (1, 9, 9), "stride 2×2"),
    ({"type": "conv", "out": 2, "kernel": 5}, (1, 9, 9), "kernel 5×5"),
    ({"type": "conv", "out": 2, "kernel": 3, "dilation": 2}, (1, 9, 9), "dilation 2×2"),
    ({"type": "conv", "out": 2, "kernel": 3}, (1, 9), "1-D"),
    ({"type": "conv", "out": 2, "kernel": 3}, (1, 6, 6, 6), "3-D"),
])
def test_winograd_not_applicable(layer, input, why):
    (conv,) = report(layer, input=input).convs
    for variant in ("winograd_2x2_3x3", "winograd_4x4_3x3"):
        estimate = conv.estimate(variant)
        assert not estimate.applicable and estimate.why == why and estimate.multiplications is None
    assert conv.best.applicable


def test_fft_not_applicable_with_a_stride_but_with_a_dilation():
    (strided,) = report({"type": "conv", "out": 2, "kernel": 3, "stride": 2}, input=(1, 9, 9)).convs
    assert not strided.estimate("fft").applicable and "stride 2" in strided.estimate("fft").reason
    (dilated,) = report({"type": "conv", "out": 2, "kernel": 3, "dilation": 2}, input=(1, 9, 9)).convs
    assert counts(dilated)["fft"] == 4 * 2 * 256  # 9 → 16 per axis


@pytest.mark.parametrize("layer, words", [
    ({"type": "conv_transpose", "out": 2, "kernel": 3, "stride": 2}, "transposed conv scatters"),
    ({"type": "deformable", "out": 2, "kernel": 3, "padding": 1}, "learned"),
    ({"type": "locally_connected", "out": 2, "kernel": 3}, "unshared"),
    ({"type": "tiled", "out": 2, "kernel": 3, "tile": 2}, "tiled"),
])
def test_other_conv_kinds_say_not_applicable_loudly(layer, words):
    rows = report(layer, input=(2, 6, 6)).convs
    assert len(rows) == 1
    (conv,) = rows
    assert words in conv.not_lowered and conv.geometry is None
    assert conv.best.algorithm == "direct" and conv.reason.startswith("only direct applies")
    assert int(conv.estimate("direct").multiplications) > 0   # its MACs, never a silent zero
    assert all(not e.applicable and e.reason == conv.not_lowered for e in conv.estimates if e.family != "direct")


def test_a_layer_with_macs_and_no_lowering_is_listed_layers_without_are_not():
    rows = report({"type": "relu"}, {"type": "flatten"}, {"type": "linear", "name": "fc", "out": 5},
                  input=(2, 3, 3)).convs
    assert [(c.name, int(c.estimate("direct").multiplications)) for c in rows] == [("fc", 90)]  # 5 · 18
    assert "declares no conv lowering" in rows[0].not_lowered


def test_a_kind_derived_from_conv_does_not_inherit_the_lowering():
    from convcalc.layers import REGISTRY
    from convcalc.layers.base import own

    assert own(REGISTRY["conv"], "conv_lowering") is not None
    assert own(REGISTRY["depthwise"], "conv_lowering") is not None   # re-declared on purpose

    class Derived(REGISTRY["conv"]):  # not registered: own() still refuses conv's answer through it
        kind = "derived_for_test"

    assert own(Derived, "conv_lowering") is None


# ---- the chooser takes a cost function ---------------------------------------------------------------------------------
def test_the_chooser_takes_a_cost_function():
    (conv,) = report({"type": "conv", "out": 1, "kernel": 3}).convs
    assert choose(conv.estimates)[0].algorithm == "winograd_4x4_3x3"
    by_ops = lambda e: int(e.multiplications) + int(e.transform_ops)  # noqa: E731
    best, reason = choose(conv.estimates, by_ops)
    assert best.algorithm == "direct"  # 144 + 0 against 64 + 224, 36 + 536, 256 + 3840
    assert reason.startswith("fewest multiplications")  # the reason words stay about multiplications
    assert by_multiplications(conv.estimate("direct")) < by_multiplications(conv.estimate("im2col"))  # workspace


def test_totals_and_json():
    r = report({"type": "conv", "name": "a", "out": 1, "kernel": 3}, {"type": "conv", "name": "b", "out": 1,
                                                                       "kernel": 3, "stride": 2}, input=(1, 8, 8))
    # a: 8 → 6 output, 6·6·9 = 324 direct, F(4,3) 2·2 tiles · 36 = 144; b: 6 → 2, 2·2·9 = 36, direct only
    totals = r.totals()
    assert totals["direct"]["multiplications"] == 360
    assert totals["winograd_4x4_3x3"] == {"multiplications": 144, "convs": 1, "not_applicable": 1}
    assert totals["best"]["multiplications"] == 144 + 36
    data = r.to_dict(("winograd",))
    section = data["cost"]["algorithms"]
    assert section["families"] == ["winograd"] and section["chosen_by"] == "multiplications"
    assert [e["algorithm"] for e in section["layers"][0]["estimates"]] == ["winograd_2x2_3x3", "winograd_4x4_3x3"]
    assert set(section["totals"]) == {"winograd_2x2_3x3", "winograd_4x4_3x3", "best"}
    assert section["layers"][1]["estimates"][0]["applicable"] is False


def test_resnet50_totals():
    # torchvision ResNet-50: 4,089,184,256 MACs (conv + fc) = direct; the 16 3×3 stride-1 convs are Winograd's
    r = algorithms(convcalc.load("resnet50").expand())
    totals = r.totals()
    assert totals["direct"]["multiplications"] == 4_089_184_256
    assert totals["winograd_2x2_3x3"]["convs"] == 13  # 16 3×3 convs less the 3 with stride 2 (layer2-4.0.conv2)
    assert all(c.best.applicable for c in r.convs)


def test_an_unsupported_placeholder_is_listed_not_counted():
    r = report({"type": "conv", "name": "c", "out": 4, "kernel": 3, "padding": 1},
               {"type": "unsupported", "name": "cum", "op": "CumSum", "shape": [4, 5, 5], "of": "/cumsum/CumSum"},
               input=(4, 5, 5))
    assert [c.name for c in r.convs] == ["c"] and r.unsupported == ["cum"]
    assert r.to_dict()["cost"]["algorithms"]["unsupported"] == ["cum"]


def _kinds_with_examples():
    from convcalc.layers import REGISTRY
    from convcalc.layers.base import own

    return sorted(kind for kind, cls in REGISTRY.items() if own(cls, "example") is not None and not cls.placeholder)


@pytest.mark.parametrize("kind", _kinds_with_examples())
def test_every_kinds_example(kind):
    """Every kind's example (and its `also` settings): each layer with MACs is a row (a lowered conv, or said not to
    be), every applicable estimate is a positive count, and direct sums to the layer's MACs."""
    from convcalc.cost.analysis import analyze
    from convcalc.layers import REGISTRY

    example = REGISTRY[kind].example
    for also in ({},) + tuple(example.also):
        graph = convcalc.load(example.spec(kind, **also)).expand()
        rows = analyze(graph).layers
        r = algorithms(graph)
        for row in rows:
            convs = [c for c in r.convs if c.layer == row.name]
            assert bool(convs) == bool(row.macs), (row.name, row.type)
            # the stages' geometries reproduce the kind's own MACs (its mid layers have none)
            assert sum(int(c.estimate("direct").multiplications) for c in convs) == row.macs, row.name
            for conv in convs:
                assert all(int(e.multiplications) > 0 for e in conv.estimates if e.applicable)


@pytest.mark.parametrize("name", sorted(__import__("convcalc.spec.loader", fromlist=["x"]).shipped_configs()))
def test_every_shipped_config(name):
    """Direct's total is the network's MACs (every layer with MACs is a row, none counted twice)."""
    graph = convcalc.load(name).expand()
    r = algorithms(graph)
    assert r.totals()["direct"]["multiplications"] == convcalc.analyze(graph).totals.macs
    assert r.totals()["best"]["multiplications"] <= r.totals()["direct"]["multiplications"]


def test_the_fft_size_holds_the_linear_correlation():
    """The model's FFT size (the padded input, rounded up to a power of two) is enough: the circular correlation of
    that size gives the valid outputs exactly (checked with numpy.fft against a direct sum)."""
    np = pytest.importorskip("numpy")
    from convcalc.cost.algorithms import fft_size

    rng = np.random.default_rng(0)
    for n, k in ((6, 3), (9, 5), (16, 7), (5, 5), (33, 3)):
        size = fft_size(n)
        assert size >= n and size & (size - 1) == 0
        x, w = rng.standard_normal(n), rng.standard_normal(k)
        circular = np.fft.ifft(np.fft.fft(x, size) * np.conj(np.fft.fft(w, size))).real
        direct = np.array([x[i:i + k] @ w for i in range(n - k + 1)])
        assert np.allclose(circular[:n - k + 1], direct)
    assert [fft_size(n) for n in (1, 2, 3, 8, 9, 58, 230)] == [1, 2, 4, 8, 16, 64, 256]


def test_lavin_and_grays_own_transform_counts_are_shown():
    # §4.1: "The data transform uses 32 additions, the filter transform uses 28 floating point instructions, and the
    # inverse transform uses 24 additions"; §4.3: 13(6 + 6) = 156, 8(3 + 6) = 72, 10(4 + 4) = 100
    assert [v.paper_ops for v in WINOGRAD] == [(32, 28, 24), (156, 72, 100)]


def test_the_reason_warns_when_transforms_outweigh_the_saving():
    # the 1 → 1 conv on 6×6: F(4×4,3×3) saves 144 − 36 = 108 multiplications, its transforms take 336 + 200 = 536
    (conv,) = report({"type": "conv", "out": 1, "kernel": 3}).convs
    assert conv.reason.startswith("4.00× fewer multiplications than direct — but its transforms (536 ops per run) "
                                  "exceed the 108 saved")
    # 64 → 64 on 56×56: F(4×4,3×3) saves 115,605,504 − 28,901,376 = 86,704,128; transforms 6,723,584: no warning
    (big,) = report({"type": "conv", "out": 64, "kernel": 3, "padding": 1}, input=(64, 56, 56)).convs
    assert "exceed" not in big.reason
