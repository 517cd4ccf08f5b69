"""Effective receptive fields: the analytic influence distribution (exact), its statistics, the measured gradient
(Luo et al. 2016) against it, RepLKNet's area ratio, pictures and saved files.

Hand-worked references:

* 10 stacked 3-tap convs (stride 1): the distribution is the trinomial row (1 + x + x²)^10, total 3^10 = 59049,
  centre coefficient 8953; variance 10 · (3² − 1)/12 = 20/3, std √(20/3) = 2.582; RF 1 + 10·2 = 21.
  Mass of the centred windows: 11 positions 8953 + 2·(8350 + 6765 + 4740 + 2850 + 1452) = 57267 (0.9698 ≥ 0.95),
  9 positions 57267 − 2·1452 = 54363 (0.9206 < 0.95, but ≥ 0.9), 7 positions 54363 − 2·2850 = 48663 (0.8241).
  So the 95 % window is 11 and the 90 % window 9.
* [3/s2, 3/s2, 3, 3]: jumps before each layer 1, 2, 4, 4, so the variance is (1 + 4 + 16 + 16)·(9 − 1)/12 = 74/3.
"""

from __future__ import annotations

import json
from fractions import Fraction

import pytest
from typer.testing import CliRunner

import convcalc
from convcalc.cost.analysis import analyze, expand
from convcalc.cli.app import app
from convcalc.erf.analytic import analytic_erf
from convcalc.erf.stats import area_ratios, variance_formula


def network(input_shape, *layers):
    graph = expand(convcalc.load({"name": "t", "input": list(input_shape), "layers": list(layers)}))
    return graph, analyze(graph)


def conv(k=3, s=1, out=1, **extra):
    return {"type": "conv", "out": out, "kernel": k, "stride": s, **extra}


def erf_of(input_shape, *layers, **kwargs):
    graph, report = network(input_shape, *layers)
    return analytic_erf(graph, report, **kwargs)


# ---- analytic: chains ------------------------------------------------------------------------------------------
def test_ten_stacked_3x3_convs():
    erf = erf_of([1, 64, 64], *[conv() for _ in range(10)])
    assert erf.position == (22, 22)  # 64 − 2·10 = 44 outputs; centre 44 // 2
    for axis in erf.axes:
        assert axis.values[:4] == [1, 10, 55, 210] and axis.values[10] == 8953 and sum(axis.values) == 59049
        assert axis.variance == Fraction(20, 3)
        assert round(axis.std, 3) == 2.582
        assert axis.rf_size == 21
        assert axis.window_size() == 11
        assert axis.window_size(Fraction(9, 10)) == 9
        assert axis.window() == (27, 37)  # unit 22 sees 22 … 42, centre 32; 32 ± 5
        assert axis.support == (22, 42)


def test_strided_chain_variance():
    erf = erf_of([1, 128], conv(s=2), conv(s=2), conv(), conv())
    assert erf.axes[0].variance == Fraction(74, 3)
    assert erf.axes[0].rf_size == 23  # 1 + 2·1 + 2·2 + 2·4 + 2·4 = 23
    assert variance_formula([(3, 2, 1), (3, 2, 1), (3, 1, 1), (3, 1, 1)]) == Fraction(74, 3)
    assert variance_formula([(3, 1, 1)] * 10) == Fraction(20, 3)


def test_dilation_spaces_the_taps():
    # one 3-tap conv with dilation 2: taps at −2, 0, 2 → variance (2² · 8)/12 = 8/3; RF 5
    axis = erf_of([1, 32], conv(dilation=2)).axes[0]
    assert axis.values == [1, 0, 1, 0, 1]
    assert axis.variance == Fraction(8, 3) and axis.rf_size == 5


# ---- analytic: branches (gradients of all paths are summed, weighted by channel fan-out) ----------------------
def test_residual_add_sums_both_paths():
    # x + conv3(x): identity gives a delta, the conv a box → [1, 2, 1]; variance (1 + 1)/4 = 1/2
    axis = erf_of([1, 16], conv(padding=1, name="c", inputs="input"),
                  {"type": "add", "name": "sum", "inputs": ["input", "c"]}).axes[0]
    assert axis.values == [1, 2, 1]
    assert axis.variance == Fraction(1, 2)


def test_concat_weights_paths_by_channels():
    # concat of a 1-channel k1 path and a 3-channel k3 path: per channel of the impulse, path A brings 1 (delta),
    # path B 3 per tap → [3, 1 + 3, 3] = [3, 4, 3]; variance (3 + 3)/10 = 3/5
    axis = erf_of([1, 16], conv(k=1, name="a", inputs="input"), conv(out=3, padding=1, name="b", inputs="input"),
                  {"type": "concat", "name": "cat", "inputs": ["a", "b"]}).axes[0]
    assert axis.values == [3, 4, 3]
    assert axis.variance == Fraction(3, 5)


def test_average_pool_weights():
    # x + avgpool3(x): taps 1/3 each → [1/3, 1 + 1/3, 1/3] ∝ [1, 4, 1]; variance 2/6 = 1/3
    axis = erf_of([1, 16], {"type": "avgpool", "kernel": 3, "stride": 1, "padding": 1, "name": "p",
                            "inputs": "input"}, {"type": "add", "name": "sum", "inputs": ["input", "p"]}).axes[0]
    assert axis.values == [1, 4, 1]
    assert axis.variance == Fraction(1, 3)


def test_transposed_conv_and_upsample():
    # conv_transpose k3 s2: output 4 reads inputs 1 and 2, output 5 reads input 2 only (o = 2i + t)
    assert erf_of([1, 8], {"type": "conv_transpose", "out": 1, "kernel": 3, "stride": 2},
                  layer="conv_transpose1", position=(4,)).axes[0].values == [1, 1]
    axis = erf_of([1, 8], {"type": "conv_transpose", "out": 1, "kernel": 3, "stride": 2},
                  position=(5,)).axes[0]
    assert (axis.offset, axis.values) == (2, [1])
    # nearest ×2 then conv k3 p1: output 8 reads upsampled 7, 8, 9 → inputs 3, 4, 4 → [1, 2] at 3 … 4
    axis = erf_of([1, 8], {"type": "upsample", "scale": 2}, conv(padding=1), position=(8,)).axes[0]
    assert (axis.offset, axis.values) == (3, [1, 2])


def test_resnet50_analytic_erf_is_centred_and_smaller_than_the_rf():
    graph = expand("resnet50")
    erf = analytic_erf(graph, analyze(graph))
    assert erf.layer == "layer4.2.relu3" and erf.position == (3, 3) and erf.exact
    axis = erf.axes[0]
    assert axis.rf_size == 427 and axis.support == (-117, 309)  # −213 + 3·32 … + 426
    assert axis.mean == 96  # the RF centre: every path of torchvision's ResNet-50 is aligned
    lo, hi = axis.window()
    assert lo + hi == 2 * 96 and (hi - lo + 1) / 427 < 0.5


def test_uneven_layer_under_a_sum_of_paths_is_flagged_approximate():
    # forward: input → conv_transpose k3 s2 (taps per output vary: 2 or 1) → x; x → k1 and x → k3; add.
    # Backward, x receives the sum of two paths, then meets the uneven layer: its 2-D gradient is no longer an
    # outer product, so the per-axis marginals are approximate and say so.
    erf = erf_of([1, 8, 8], {"type": "conv_transpose", "name": "up", "out": 1, "kernel": 3, "stride": 2},
                 conv(k=1, name="a"), conv(padding=1, name="b", inputs="up"),
                 {"type": "add", "name": "sum", "inputs": ["a", "b"]})
    assert erf.exact is False
    assert erf.notes and "`up`" in erf.notes[0] and "approximate" in erf.notes[0]
    # a single path through the same layer stays exact
    assert erf_of([1, 8, 8], {"type": "conv_transpose", "name": "up", "out": 1, "kernel": 3, "stride": 2},
                  conv(padding=1)).exact is True


def test_three_d_heatmap_is_summed_over_depth():
    from convcalc.render.heatmap import heatmap_lines

    erf = erf_of([1, 12, 12, 12], conv(), conv())  # 8×8×8 output, unit (4, 4, 4); RF 5 on every axis
    assert [a.rf_size for a in erf.axes] == [5, 5, 5]
    assert [a.values for a in erf.axes] == [[1, 2, 3, 2, 1]] * 3
    lines = heatmap_lines(erf, color=False)
    assert "summed over the first spatial axis" in lines[0]
    assert lines[1] == "[][][][][]"  # the 5×5 RF box is the whole support: its outline is the border
    # middle row of [1,2,3,2,1]⊗[1,2,3,2,1] over its maximum 9: 6/9, 9/9, 6/9 inside the outline; the ramp
    # ' .:-=+*#%@' maps 0.667 → index int(6.67) = 6 '*', and 1 → the last, '@'.
    assert lines[3] == "[]**@@**[]"


def test_colour_heatmap_uses_half_blocks():
    from convcalc.render.heatmap import OUTLINE, heatmap_lines

    erf = erf_of([1, 16, 16], conv(), conv())
    lines = heatmap_lines(erf, color=True)
    body = lines[1:-1]
    assert len(body) == 3  # 5 pixel rows → 3 text rows of '▀' (upper pixel = foreground, lower = background)
    assert all(span.style.color and span.style.bgcolor for span in body[0].spans)
    assert body[-1].spans[0].style.bgcolor is None  # the odd last pixel row has no lower pixel
    assert set(body[0].plain) == {"▀"} and len(body[0].plain) == 5
    assert body[0].spans[0].style.color.triplet == OUTLINE


# ---- analytic: the convolution variants ---------------------------------------------------------------------
def test_separable_and_depthwise_separable_channel_factors():
    # separable k3 (out 1, mid 3): the k×1 stage has 3 outputs, the 1×k stage 1 → factor 3·1 = 3 per channel;
    # marginal on axis 0: 3 · [1, 1, 1] · (3 taps on axis 1) = [9, 9, 9]; plus the identity's delta → [9, 10, 9]
    axis = erf_of([1, 16, 16], {"type": "separable", "name": "s", "out": 1, "mid": 3, "kernel": 3, "padding": 1},
                  {"type": "add", "name": "sum", "inputs": ["input", "s"]}).axes[0]
    assert axis.values == [9, 10, 9]
    # depthwise_separable k3, multiplier 2, out 1: factor 2·1 = 2 → 2 · [1, 1, 1] · 3 = [6, 6, 6], + delta
    axis = erf_of([1, 16, 16], {"type": "depthwise_separable", "name": "d", "out": 1, "kernel": 3, "padding": 1,
                                "multiplier": 2}, {"type": "add", "name": "sum", "inputs": ["input", "d"]}).axes[0]
    assert axis.values == [6, 7, 6]


def test_squeeze_excitation_gate_spreads_over_the_map():
    # 1-D, C 4, reduction 2 → S 2. Unit 4 of 8: the identity term gives 1 at 4; the gate path gives
    # S·C = 8 times the average pool's 1/8 at each of the 8 positions → 1 each. Total [1, 1, 1, 1, 2, 1, 1, 1].
    erf = erf_of([4, 8], {"type": "squeeze_excitation", "name": "se", "reduction": 2})
    assert (erf.axes[0].offset, erf.axes[0].values) == (0, [1, 1, 1, 1, 2, 1, 1, 1])
    assert "global context" in erf.notes[0]


def test_pixel_unshuffle_and_shuffle():
    # pixel_unshuffle r2 then conv k3 p1: unit 2 reads unshuffled 1, 2, 3, each two inputs → inputs 2 … 7
    axis = erf_of([1, 8], {"type": "pixel_unshuffle", "factor": 2}, conv(padding=1), position=(2,)).axes[0]
    assert (axis.offset, axis.values) == (2, [1, 1, 1, 1, 1, 1])
    # 1-D pixel_shuffle r2 (2 channels of 8 → 1 channel of 16) then conv k3 p1 at 8: reads shuffled 7, 8, 9 →
    # inputs 3, 4, 4 → [1, 2] at 3 (each with weight 1/2: averaged over the 2 phases), flagged approximate
    erf = erf_of([2, 8], {"type": "pixel_shuffle", "factor": 2}, conv(padding=1), position=(8,))
    assert (erf.axes[0].offset, erf.axes[0].values) == (3, [1, 2]) and erf.exact is False


# ---- RepLKNet's high-contribution area ratio -------------------------------------------------------------------
def test_area_ratio_of_a_spike_and_of_a_flat_map():
    import numpy as np

    spike = np.zeros((9, 9))
    spike[4, 4] = 9.0  # log10(10) = 1, the rest 0: the first square (side 3) holds everything
    assert [r["side"] for r in area_ratios(spike)] == [3, 3, 3, 3]
    assert area_ratios(spike)[0]["area_ratio"] == 9 / 81
    flat = np.full((9, 9), 9.0)  # uniform: side 3 holds 9/81 = 0.11, side 5 25/81 = 0.31, side 7 49/81 = 0.60
    result = area_ratios(flat)
    assert [r["side"] for r in result] == [5, 5, 7, None]  # RepLKNet stops before side 9
    assert result[1]["area_ratio"] == 25 / 81


# ---- CLI ------------------------------------------------------------------------------------------------------
STACK = "name: stack\ninput: [1, 48, 48]\nlayers:\n" + "".join(
    "  - {type: conv, out: 1, kernel: 3}\n" for _ in range(10))


@pytest.fixture
def stack(tmp_path):
    path = tmp_path / "stack.yaml"
    path.write_text(STACK)
    return str(path)


def test_cli_analytic_json(stack):
    result = CliRunner().invoke(app, ["rf", stack, "--erf", "analytic", "--format", "json"])
    assert result.exit_code == 0, result.output
    erf = json.loads(result.stdout)["erf"]
    assert erf["method"] == "analytic" and erf["exact"] is True and erf["position"] == [14, 14]
    axis = erf["axes"][0]
    assert axis["variance"] == "20/3" and axis["window_size"] == 11 and axis["rf_size"] == 21
    assert axis["window"] == [19, 29]  # unit 14 sees 14 … 34, centre 24, ± 5


def test_cli_mass_option_and_table(stack):
    result = CliRunner().invoke(app, ["rf", stack, "--erf", "analytic", "--mass", "0.9"])
    assert result.exit_code == 0, result.output
    assert "90% window" in result.stdout and "20 … 28" in result.stdout  # 24 ± 4
    assert "[]" in result.stdout  # the theoretical RF outlined in the plain heatmap
    assert "Axis 1 profile" in result.stdout


def test_cli_saves_npy_csv_svg(stack, tmp_path):
    import numpy as np

    for suffix in ("npy", "csv", "svg"):
        path = tmp_path / f"erf.{suffix}"
        result = CliRunner().invoke(app, ["rf", stack, "--erf", "analytic", "--save", str(path)])
        assert result.exit_code == 0, result.output
        assert path.stat().st_size > 0
    image = np.load(tmp_path / "erf.npy")
    assert image.shape == (21, 21)  # the outer product of the two marginals over their support
    assert image[10, 10] == pytest.approx((8953 / 59049) ** 2)
    assert np.loadtxt(tmp_path / "erf.csv", delimiter=",").shape == (21, 21)
    assert (tmp_path / "erf.svg").read_text().lstrip().startswith("<svg")


def test_cli_png_needs_the_plot_extra(stack, tmp_path):
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        result = CliRunner().invoke(app, ["rf", stack, "--erf", "analytic", "--save", str(tmp_path / "e.png")])
        assert result.exit_code == 2
        assert "needs matplotlib" in result.stderr and "convcalc[plot]" in result.stderr
    else:
        result = CliRunner().invoke(app, ["rf", stack, "--erf", "analytic", "--save", str(tmp_path / "e.png")])
        assert result.exit_code == 0, result.output
        assert (tmp_path / "e.png").read_bytes()[:4] == b"\x89PNG"


def test_cli_unknown_save_type(stack, tmp_path):
    result = CliRunner().invoke(app, ["rf", stack, "--erf", "analytic", "--save", str(tmp_path / "e.gif")])
    assert result.exit_code == 2 and "unknown file type `.gif`" in result.stderr


# ---- measured (needs the executor's backward pass) ------------------------------------------------------------
def _backward_available() -> bool:
    try:
        import convcalc.executor.backward  # noqa: F401
    except ImportError:
        return False
    return True


needs_backward = pytest.mark.skipif(not _backward_available(),
                                    reason="convcalc/executor/backward.py (the verify helper's VJPs) is not there yet")

# A linear network with branches: conv, depthwise (multiplier 2), a residual add, an average pool, a concat of a
# 1×1 path and a 3×3 path, and a nearest upsample. No nonlinearity, so with uniform weights the measured gradient
# is exactly the analytic one. The centre unit's support stays inside the 40×40 input (borders play no part).
LINEAR_BRANCHES = [
    {"type": "conv", "name": "c1", "out": 3, "kernel": 3, "padding": 1},
    {"type": "depthwise", "name": "dw", "kernel": 3, "stride": 2, "padding": 1, "multiplier": 2},
    {"type": "conv", "name": "c2", "out": 6, "kernel": 3, "padding": 1},
    {"type": "add", "name": "res", "inputs": ["dw", "c2"]},
    {"type": "avgpool", "name": "pool", "kernel": 3, "stride": 1, "padding": 1},
    {"type": "conv", "name": "a", "out": 2, "kernel": 1, "inputs": "pool"},
    {"type": "conv", "name": "b", "out": 3, "kernel": 3, "padding": 2, "dilation": 2, "inputs": "pool"},
    {"type": "concat", "name": "cat", "inputs": ["a", "b"]},
    {"type": "upsample", "name": "up", "scale": 2},
    {"type": "conv", "name": "head", "out": 2, "kernel": 3, "padding": 1},
]


@needs_backward
def test_measured_equals_analytic_with_uniform_weights():
    import numpy as np

    from convcalc.erf.measured import measured_erf

    graph, report = network([2, 40, 40], *LINEAR_BRANCHES)
    analytic = analytic_erf(graph, report)
    measured = measured_erf(graph, report, samples=2, weights="uniform")
    assert measured.layer == analytic.layer == "head" and measured.position == analytic.position == (20, 20)
    for a, m in zip(analytic.axes, measured.axes):
        first, last = a.support
        assert 0 <= first and last < 40
        expected = np.zeros(40)
        expected[a.offset:a.offset + len(a.values)] = [v / a.total for v in a.values]
        got = np.asarray(m.values) / sum(m.values)
        np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-12)
        assert m.variance == pytest.approx(float(a.variance), rel=1e-9)
        assert m.window() == a.window()


@needs_backward
def test_measured_chain_map_is_the_outer_product():
    import numpy as np

    from convcalc.erf.measured import measured_erf

    graph, report = network([1, 32, 32], *[conv(padding=1) for _ in range(5)])
    measured = measured_erf(graph, report, weights="uniform")
    image, _ = analytic_erf(graph, report).image()  # 11×11 outer product of the (1 + x + x²)^5 rows / 243
    grid = measured.grid / measured.grid.sum()
    np.testing.assert_allclose(grid[11:22, 11:22], image, rtol=1e-9, atol=1e-15)
    assert grid[:11].sum() == pytest.approx(0, abs=1e-15)


@needs_backward
def test_measured_random_weights_resnet_block():
    from convcalc.erf.measured import measured_erf

    graph, report = network(
        [3, 32, 32], conv(out=8, padding=1, name="c1"), {"type": "relu", "name": "r1"},
        {"type": "maxpool", "kernel": 2, "stride": 2, "name": "mp"}, conv(out=8, padding=1, name="c2"),
        {"type": "relu", "name": "r2"}, {"type": "add", "name": "sum", "inputs": ["mp", "r2"]})
    erf = measured_erf(graph, report, samples=3, weights="random", seed=1)
    assert erf.layer == "sum" and erf.position == (8, 8) and erf.grid.shape == (32, 32)
    # c1 k3 p1: r 3, j 1, start −1; maxpool k2 s2: r 4, j 2, start −1; c2 k3 p1: r 4 + 2·2 = 8, j 2, start −3.
    # Output 16×16, centre unit 8: window −3 + 8·2 = 13 … 20. Both paths of the add are centred at 1/2 (aligned).
    for axis in erf.axes:
        assert axis.rf_size == 8 and axis.rf_start == 13
        lo, hi = axis.support
        assert 13 <= lo and hi <= 20
    assert [r["threshold"] for r in erf.area_ratios] == [0.2, 0.3, 0.5, 0.99]


@needs_backward
def test_cli_measured_json(stack):
    result = CliRunner().invoke(app, ["rf", stack, "--erf", "measured", "--weights", "uniform", "--format",
                                      "json"])
    assert result.exit_code == 0, result.output
    erf = json.loads(result.stdout)["erf"]
    assert erf["method"] == "measured" and erf["samples"] == 1 and erf["weights"] == "uniform"
    axis = erf["axes"][0]
    assert axis["window_size"] == 11 and axis["rf_size"] == 21
    assert float(axis["variance"]) == pytest.approx(20 / 3, rel=1e-9)
