"""The ERF's bounded work: the analytic model's estimate and refusal before any work, its bounded precision
(efficientnet_b0's squeeze-excitation gates), statistics and pictures of integers of any size, and the measured
ERF's memory guard and sample cap. Expected numbers by hand (arithmetic in the comments)."""

from __future__ import annotations

import json
import time
from fractions import Fraction

import pytest
from typer.testing import CliRunner

import convcalc
from convcalc.cli.app import app
from convcalc.cost.analysis import analyze, expand
from convcalc.erf.analytic import MAX_WORK, _round_ints, analytic_erf, work_estimate
from convcalc.erf.stats import AxisERF, ERF
from convcalc.render.heatmap import profile_lines


def rf(*args):
    return CliRunner().invoke(app, ["rf", *args])


def graph_and_report(spec):
    graph = expand(convcalc.load(spec))
    return graph, analyze(graph)


def test_work_estimate_of_ten_stacked_convs():
    # conv l (1 … 10) has RF 2l + 1; the unit (conv 10) has RF 21. Per conv: its output positions inside the
    # unit's RF, (21 − (2l + 1))/1 + 1 = 21 − 2l, times the 3 taps each reads: Σ 3·(21 − 2l) = 3·(210 − 110) = 300
    spec = {"name": "t", "input": [1, 64], "layers": [{"type": "conv", "out": 1, "kernel": 3} for _ in range(10)]}
    graph, report = graph_and_report(spec)
    assert work_estimate(graph, report, report.layers[-1].name) == 300


@pytest.mark.parametrize("layers, taps", [
    # k_eff = 10^9·(3 − 1) + 1 = 2,000,000,001 taps read by the one output position of the unit
    ([{"type": "conv", "out": 1, "kernel": 3, "dilation": 10**9}], "2,000,000,001"),
    # a global pool over 3,000,000 positions: one output reading all of them
    ([{"type": "global_avgpool", "name": "pool"}], "3,000,000"),
    # a squeeze-excitation gate: RF 1 (the identity path, 1 tap), but its gate spreads that one position over all
    # 3,000,000 (fuzz seed 27's case 6388: the RF alone let it through, and the reader built a list of 2^31 taps)
    ([{"type": "squeeze_excitation", "name": "pool", "reduction": 1}], "3,000,001"),
])
def test_huge_dilations_and_inputs_are_refused_before_any_work(tmp_path, layers, taps):
    n = 2_000_000_010 if "dilation" in layers[0] else 3_000_000
    path = tmp_path / "t.yaml"
    path.write_text(json.dumps({"name": "t", "input": [1, n], "layers": layers}))  # JSON is YAML
    started = time.perf_counter()
    result = rf(str(path), "--erf", "analytic", *(["--layer", "pool"] if "pool" in str(layers) else []))
    assert time.perf_counter() - started < 5
    assert result.exit_code == 2, result.output
    assert f"would visit about {taps} taps, above the bound of {MAX_WORK:,}" in result.stderr
    assert "--erf measured" in result.stderr and "Traceback" not in result.output


def test_efficientnet_b0_on_a_small_input_finishes_with_rounded_marginals():
    # 16 squeeze-excitation gates each sum two paths with unrelated scales: the exact integers double at each
    # (61,832 bits by the stem), so they are rounded to 256 significant bits and the result says so
    started = time.perf_counter()
    result = rf("efficientnet_b0", "--erf", "analytic", "--input", "3x32x32")
    assert time.perf_counter() - started < 20
    assert result.exit_code == 0, result.output
    assert "rounded to 256 significant bits" in result.stderr + result.output


def test_small_networks_stay_exact():
    spec = {"name": "t", "input": [1, 16, 16], "layers": [{"type": "conv", "out": 1, "kernel": 3}] * 2}
    graph, report = graph_and_report(spec)
    erf = analytic_erf(graph, report)
    assert erf.exact and [a.values for a in erf.axes] == [[1, 2, 3, 2, 1]] * 2


def test_rounding_keeps_every_nonzero_weight():
    # 2^2000 >> 1990 = 2^10; 1 and 3 are far below one unit of 2^1990 but stay 1 (the support is kept)
    assert _round_ints([1, 2**2000, -3, 0, 3 * 2**1989], 1990) == [1, 1024, -1, 0, 2]  # 1.5 rounds to 2


def test_statistics_and_profile_of_integers_beyond_float_range():
    # weights [1, 2, 1]·10^400 at input 4 … 6: mean 5; variance (Σv·Σvk² − (Σvk)²)/(Σv)² with k from 0:
    # Σv = 4, Σvk = 0 + 2 + 2 = 4, Σvk² = 0 + 2 + 4 = 6 → (4·6 − 16)/16 = 1/2 (the factor 10^400 cancels)
    big = 10**400
    axis = AxisERF(0, 4, [big, 2 * big, big], Fraction(3), 5, 10)
    assert axis.mean == 5 and axis.variance == Fraction(1, 2)
    assert axis.normalised() == [0.25, 0.5, 0.25]
    assert axis.inside() == 1.0
    lines = profile_lines(ERF("analytic", "c", (0,), (1, 10), [axis]))
    assert "std 0.71" in lines[0]  # √(1/2) = 0.707…


def test_inside_share_does_not_walk_a_huge_input():
    axis = AxisERF(0, 5, [1, 1], Fraction(5), 2, 10**12)
    started = time.perf_counter()
    assert axis.inside() == 1.0
    assert time.perf_counter() - started < 2  # a hang guard: walking 10^12 positions takes hours


# ---- measured ERF ---------------------------------------------------------------------------------------------
def test_measured_erf_refuses_above_max_memory_before_any_work():
    result = rf("resnet50", "--erf", "measured", "--max-memory", "10M")
    assert result.exit_code == 2, result.output
    assert "--max-memory: refusing to run the measured ERF: its estimated peak memory is" in result.stderr
    assert "float32), above the limit of 10.0 MiB" in result.stderr and "Traceback" not in result.output


@pytest.mark.parametrize("samples", ["1001", "100000"])
def test_measured_erf_caps_samples(samples):
    result = rf("resnet18", "--erf", "measured", "--samples", samples)
    assert result.exit_code == 2, result.output
    assert f"--samples {samples}: must be from 1 to 1,000" in result.stderr


@pytest.mark.parametrize("method", ["analytic", "measured"])
def test_a_network_without_spatial_axes_has_no_erf(method):
    """Found by benchmarks/fuzz.py: a flat input (`input: [256]`) raised ValueError in the heatmap and the area
    ratios."""
    spec = "name: flat\ninput: [256]\nlayers:\n  - {type: linear, name: head, out: 10}\n"
    result = rf(spec, "--erf", method)
    assert result.exit_code == 2
    assert "error: --erf: the input of `flat` has no spatial axes (shape [256])" in result.stderr
