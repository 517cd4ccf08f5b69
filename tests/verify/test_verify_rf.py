"""`convcalc verify --rf`: the receptive-field probe (docs/rf.md). Input gradient of one output unit with all-ones
weights, max pooling as a sum and a positive input, per axis: the influenced span, the nonzero taps, the first
index, against the analytic RF size and −P + u·j. Every expected number is worked out by hand in the comments."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

import convcalc
from convcalc.cost.analysis import analyze, expand
from convcalc.cli.app import app


def write(tmp_path, input_shape, *layers, name="net"):
    lines = [f"name: {name}", f"input: {list(input_shape)}", "layers:"]
    lines += [f"  - {json.dumps(layer)}" for layer in layers]
    path = tmp_path / f"{name}.yaml"
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def conv(k=3, **extra):
    return {"type": "conv", "out": 1, "kernel": k, **extra}


def probe(tmp_path, input_shape, *layers, args=()):
    path = write(tmp_path, input_shape, *layers)
    result = CliRunner().invoke(app, ["verify", path, "--rf", "--format", "json", *args])
    return result, (json.loads(result.stdout) if result.stdout.strip().startswith("{") else None)


def axes_of(data):
    return [(a["measured"]["first"], a["measured"]["last"], a["measured"]["span"], a["measured"]["taps"],
             a["status"]) for a in data["rf"]]


def test_three_stacked_3x3_convs_span_7(tmp_path):
    # 11 → 9 → 7 → 5 (valid); RF 1 + 3·2 = 7, jump 1, start 0; centre unit 2 sees 2 … 8
    result, data = probe(tmp_path, [1, 11, 11], conv(), conv(), conv())
    assert result.exit_code == 0, result.output
    assert data["ok"] is True and data["rf"][0]["position"] == [2, 2]
    assert axes_of(data) == [(2, 8, 7, 7, "ok")] * 2
    assert data["rf"][0]["analytic"] == {"first": 2, "last": 8, "size": 7, "clipped": False}


def test_dilated_3x3_span_5_with_3_nonzero_taps(tmp_path):
    # k3 d2: k_eff 5; 9 → 5; unit 2 sees 2 … 6 but only the taps 2, 4, 6
    result, data = probe(tmp_path, [1, 9, 9], conv(dilation=2))
    assert result.exit_code == 0, result.output
    assert axes_of(data) == [(2, 6, 5, 3, "ok")] * 2


def test_strided_net_first_index_is_minus_p_plus_u_j(tmp_path):
    # conv k3 s2 p1: r 3, j 2, P 1; conv k3 s2 p1: r 3 + 2·2 = 7, j 4, P 1 + 1·2 = 3. 16 → 8 → 4.
    layers = (conv(stride=2, padding=1), conv(stride=2, padding=1))
    result, data = probe(tmp_path, [1, 16, 16], *layers)
    assert result.exit_code == 0, result.output
    # centre unit 2: −3 + 2·4 = 5 … 11
    assert data["rf"][0]["position"] == [2, 2] and axes_of(data) == [(5, 11, 7, 7, "ok")] * 2
    # unit 3: −3 + 3·4 = 9 … 15, the last input index: still inside
    _, data = probe(tmp_path, [1, 16, 16], *layers, args=["--at", "3,3"])
    assert axes_of(data) == [(9, 15, 7, 7, "ok")] * 2
    # unit 0: −3 … 3 reaches past the border. By hand: it reads the first conv's −1 (padding), 0, 1, which read
    # inputs −1 … 1 and 1 … 3 → 0 … 3 (span 4), the analytic window clipped
    result, data = probe(tmp_path, [1, 16, 16], *layers, args=["--at", "0,0"])
    assert result.exit_code == 0, result.output
    assert axes_of(data) == [(0, 3, 4, 4, "ok")] * 2
    assert data["rf"][0]["analytic"] == {"first": -3, "last": 3, "size": 7, "clipped": True}
    assert "compared clipped" in data["rf"][0]["note"]


def test_max_pool_counts_as_a_sum(tmp_path):
    # conv k3 p1 (r 3, j 1, P 1), relu, maxpool 2/2 (r 4, j 2, P 1), conv k3 p1 (r 4 + 2·2 = 8, j 2, P 1 + 2 = 3).
    # 16 → 16 → 8 → 8; centre unit 4: −3 + 4·2 = 5 … 12. A real max would route to one element per window and
    # leave holes; the probe sums every window.
    result, data = probe(tmp_path, [1, 16, 16], conv(padding=1), {"type": "relu"}, {"type": "maxpool", "kernel": 2},
                         conv(padding=1))
    assert result.exit_code == 0, result.output
    assert axes_of(data) == [(5, 12, 8, 8, "ok")] * 2


def test_relu6_and_sigmoid_masks_are_held_open(tmp_path):
    # all-ones weights push the activations far above 6, where ReLU6 passes nothing; the probe keeps every mask
    # open. Two 3×3 convs (9 channels of fan-in 27 …): RF 5, unit 2 of 5 sees 2 … 6
    result, data = probe(tmp_path, [3, 9, 9], conv(out=4), {"type": "relu6"}, conv(out=4), {"type": "sigmoid"})
    assert result.exit_code == 0, result.output
    assert axes_of(data) == [(2, 6, 5, 5, "ok")] * 2


def test_residual_with_squeeze_excitation_leaves_the_gate_out(tmp_path):
    # x + SE(conv3(x)): the gate sees the whole map (global context), which the analytic RF leaves out; the
    # probe holds it constant. RF 3 (the conv; the identity is 1), unit 6 of 12: 5 … 7
    result, data = probe(tmp_path, [4, 12, 12], conv(out=4, padding=1, name="c"),
                         {"type": "squeeze_excitation", "name": "se", "reduction": 2},
                         {"type": "add", "name": "sum", "inputs": ["input", "se"]})
    assert result.exit_code == 0, result.output
    assert axes_of(data) == [(5, 7, 3, 3, "ok")] * 2


def test_concat_of_two_paths_spans_the_larger(tmp_path):
    # a: k1 (r 1), b: k5 p2 (r 5), aligned (both centred); concat RF 5; 1-D, unit 5 of 10: 3 … 7
    result, data = probe(tmp_path, [1, 10], conv(k=1, name="a", inputs="input"),
                         conv(k=5, padding=2, name="b", inputs="input"),
                         {"type": "concat", "name": "cat", "inputs": ["a", "b"]})
    assert result.exit_code == 0, result.output
    assert axes_of(data) == [(3, 7, 5, 5, "ok")]


def test_transposed_conv_reports_the_exact_window(tmp_path):
    # conv_transpose k3 s2 (1-D, 8 → 17): output o = 2i + t. o = 9 reads only i = 4 (t = 1); o = 8 reads
    # i = 4 (t = 0) and i = 3 (t = 2). Position-dependent: shown as the exact window, never a failure.
    layer = {"type": "conv_transpose", "out": 1, "kernel": 3, "stride": 2}
    result, data = probe(tmp_path, [1, 8], layer, args=["--at", "9"])
    assert result.exit_code == 0, result.output
    assert axes_of(data) == [(4, 4, 1, 1, "position-dependent")]
    assert "exact window" in data["rf"][0]["note"]
    _, data = probe(tmp_path, [1, 8], layer, args=["--at", "8"])
    assert axes_of(data) == [(3, 4, 2, 2, "position-dependent")]


def test_table_output_and_help(tmp_path):
    path = write(tmp_path, [1, 11, 11], conv(), conv(), conv())
    result = CliRunner().invoke(app, ["verify", path, "--rf"])
    assert result.exit_code == 0, result.output
    assert "RF probe: `conv3` unit (2,2)" in result.stdout
    assert "2 … 8" in result.stdout and "2/2 axes agree with the analytic RF" in result.stdout
    help_text = CliRunner().invoke(app, ["verify", "--help"]).stdout
    assert "--rf" in help_text and "--at" in help_text


def test_mismatch_exits_1_with_a_sentence(tmp_path, monkeypatch):
    import convcalc.erf.stats as erf

    real = erf.rf_window
    monkeypatch.setattr(erf, "rf_window", lambda *a: [(start, size + 2) for start, size in real(*a)])
    path = write(tmp_path, [1, 11, 11], conv(), conv(), conv())
    result = CliRunner().invoke(app, ["verify", path, "--rf"])
    assert result.exit_code == 1
    # the wrong size 9 at 2 … 10: the gradient reaches 2 … 8
    assert ("mismatch: RF probe, `conv3` unit 2,2, axis 0: the analytic RF is 9 inputs, 2 … 10, but the input "
            "gradient reaches 2 … 8 (span 7)") in result.stderr
    result = CliRunner().invoke(app, ["verify", path, "--rf", "--format", "json"])
    data = json.loads(result.stdout)
    assert result.exit_code == 1 and data["ok"] is False and data["first_mismatch"].startswith("RF probe")


@pytest.mark.parametrize("args, message", [
    (["--at", "1,1"], "add --rf"),
    (["--rf", "--layer", "nope"], "no layer named `nope`"),
    (["--rf", "--layer", "conv1", "--at", "99,0"], "outside `conv1`"),
    (["--rf", "--at", "1"], "2 spatial axes"),
])
def test_bad_input_exits_2(tmp_path, args, message):
    path = write(tmp_path, [1, 11, 11], conv(), conv(), conv())
    result = CliRunner().invoke(app, ["verify", path, *args])
    assert result.exit_code == 2, result.output
    assert message in result.stderr


def test_python_api_and_unit_choice():
    from convcalc.verify import probe_rf

    graph = expand(convcalc.load({"name": "t", "input": [1, 12, 12], "layers": [
        {"type": "conv", "out": 1, "kernel": 7, "padding": 3}]}))
    axes = probe_rf(graph, analyze(graph))
    # k7 p3: r 7, j 1, P 3; 12 → 12, the centre 6 sees 3 … 9 (inside)
    assert [(a.index, a.measured_first, a.measured_last, a.status) for a in axes] == [(6, 3, 9, "ok")] * 2
    graph = expand(convcalc.load({"name": "t", "input": [1, 8], "layers": [
        {"type": "conv", "out": 1, "kernel": 7, "padding": [[6, 0]]}]}))
    # causal k7: 8 → 8, unit u sees u − 6 … u. The centre 4 sees −2 … 4 (past the border); by distance from
    # it, 3 (−3 … 3) and 5 (−1 … 5) do not fit either, nor 2; 6 sees 0 … 6: the chosen unit
    axes = probe_rf(graph, analyze(graph))
    assert [(a.index, a.measured_first, a.measured_last, a.span, a.status) for a in axes] == [(6, 0, 6, 7, "ok")]


def _scan(report, layer, shape, input_sizes):
    """The rule of choose_unit by search: per axis, the units by distance from the centre N // 2 (the lower first
    at a tie), the first whose window s + i·j … + r − 1 lies in 0 … N_in − 1; the centre when none does."""
    rf = next(l.rf for l in report.layers if l.name == layer)
    chosen = []
    for axis, n in enumerate(shape[1:]):
        centre = n // 2
        order = sorted(range(n), key=lambda i: (abs(i - centre), i))
        fits = [i for i in order if rf.start[axis] + i * rf.jump[axis] >= 0
                and rf.start[axis] + i * rf.jump[axis] + rf.size[axis] - 1 <= input_sizes[axis] - 1]
        chosen.append(fits[0] if fits else centre)
    return tuple(chosen)


@pytest.mark.parametrize("layers", [
    [conv()], [conv(stride=2, padding=1), conv(stride=2, padding=1)], [conv(k=5, padding=4)],
    [conv(padding=3), conv(padding=3)], [{"type": "maxpool", "kernel": 3, "stride": 2, "padding": 1}],
    [conv(stride=3, padding=2), {"type": "conv_transpose", "out": 1, "kernel": 4, "stride": 2, "padding": 1}],
    [{"type": "conv_transpose", "out": 1, "kernel": 3, "stride": 3}, conv(k=7, padding=6)]])
def test_the_probed_unit_is_the_fitting_one_nearest_the_centre(layers):
    from convcalc.verify import choose_unit

    report = analyze(expand({"input": [1, 13, 10], "layers": layers}))
    last = report.layers[-1]
    assert choose_unit(report, last.name, last.output_shape, [13, 10]) == _scan(report, last.name,
                                                                                 last.output_shape, [13, 10])


def test_a_huge_padding_is_worked_out_not_searched():
    # conv k3 s1 p100,000 on 11: 11 + 200,000 − 2 = 200,009 units; unit i sees −100,000 + i … + 2, inside 0 … 10
    # for 100,000 ≤ i ≤ 100,008; the centre 100,004 is inside.
    from convcalc.verify import choose_unit

    report = analyze(expand({"input": [1, 11], "layers": [conv(padding=100_000)]}))
    assert tuple(report.layers[0].output_shape) == (1, 200_009)
    assert choose_unit(report, report.layers[0].name, (1, 200_009), [11]) == (100_004,)
    # then a valid k25 conv: 200,009 − 24 = 199,985 units of RF 3 + 24 = 27 > 11 inputs, so none fits and the
    # centre 99,992 is probed (a search tried all 199,985 units first: 1.4 s for fuzz seed 16's case 15134)
    report = analyze(expand({"input": [1, 11], "layers": [conv(padding=100_000), conv(k=25)]}))
    assert tuple(report.layers[1].output_shape) == (1, 199_985)
    assert choose_unit(report, report.layers[1].name, (1, 199_985), [11]) == (99_992,)
