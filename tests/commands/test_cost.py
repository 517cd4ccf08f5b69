"""`convcalc cost` and `convcalc explain winograd|im2col|fft|direct`: exit codes, formats, the worked figures.

Literals: the 1 → 1 channel 3×3 conv on 6×6 (a 4×4 output): direct 16·9 = 144, F(2×2,3×3) 4 tiles · 16 = 64,
F(4×4,3×3) 1 tile · 36 = 36, FFT on 8×8 4·64 = 256 (docs/algorithms.md works them out); Lavin & Gray's
F(2×2,3×3) figure, 16 multiplications instead of 36 per tile and channel pair.
"""

from __future__ import annotations

import csv
import io
import json

import pytest
from typer.testing import CliRunner

from convcalc.cli.app import app

ONE_CONV = "name: one_conv\ninput: [1, 6, 6]\nlayers:\n  - {type: conv, name: conv, out: 1, kernel: 3, bias: false}\n"


@pytest.fixture
def one_conv(tmp_path):
    path = tmp_path / "one_conv.yaml"
    path.write_text(ONE_CONV)
    return str(path)


def invoke(*args):
    return CliRunner().invoke(app, list(args))


def test_all_side_by_side(one_conv):
    result = invoke("cost", one_conv, "--units", "raw")
    assert result.exit_code == 0, result.output
    row = next(line for line in result.output.splitlines() if "│ conv " in line)
    assert [cell.strip() for cell in row.split("│")[4:9]] == ["144", "144", "64", "36", "256"]
    assert "winograd F(4×4,3×3)" in row
    assert "total multiplications: direct 144, best 36 (4.00× fewer)" in result.output


def test_best_says_why(one_conv):
    result = invoke("cost", one_conv, "--algorithm", "best", "--format", "markdown")
    assert result.exit_code == 0
    assert ("| `conv` | conv | 1→1 3×3 s1 @6×6 | 144 | winograd F(4×4,3×3) | 36 | 4.00× fewer multiplications than "
            "direct — but its transforms (536 ops per run) exceed the 108 saved; winograd F(2×2,3×3) 2.25× fewer; "
            "fft 1.78× more |") in result.output


def test_one_family_every_number(one_conv):
    result = invoke("cost", one_conv, "-a", "winograd", "--units", "raw")
    assert result.exit_code == 0
    lines = [line for line in result.output.splitlines() if "winograd F(" in line and "│" in line]
    assert len(lines) == 2
    f2 = [cell.strip() for cell in lines[0].split("│")]
    assert f2[3:8] == ["winograd F(2×2,3×3)", "64", "2.25× fewer", "224", "70"]  # 4·32 + 4·24; G g Gᵀ 70


def test_not_applicable_is_said(tmp_path):
    path = tmp_path / "t.yaml"
    path.write_text("input: [2, 9, 9]\nlayers:\n  - {type: conv, name: c, out: 2, kernel: 5, stride: 2}\n"
                    "  - {type: conv_transpose, name: up, out: 2, kernel: 2, stride: 2}\n")
    result = invoke("cost", str(path), "-a", "winograd")
    assert result.exit_code == 0
    assert "not applicable: kernel 5×5: F(m×m, 3×3) needs a 3×3 kernel" in result.output
    assert "not applicable: a transposed conv scatters" in result.output


def test_json_cost_section(one_conv):
    result = invoke("cost", one_conv, "--format", "json")
    data = json.loads(result.output)
    assert data["version"] == 1 and data["batch"] == 1 and data["dtype"] == "float32"
    section = data["cost"]["algorithms"]
    (layer,) = section["layers"]
    assert layer["conv"]["kernel"] == [3, 3] and layer["conv"]["output"] == [4, 4]
    assert {e["algorithm"]: e["multiplications"] for e in layer["estimates"]} == {
        "direct": 144, "im2col": 144, "winograd_2x2_3x3": 64, "winograd_4x4_3x3": 36, "fft": 256}
    assert layer["best"]["algorithm"] == "winograd_4x4_3x3"
    assert section["totals"]["best"]["multiplications"] == 36


def test_csv_exact(one_conv):
    result = invoke("cost", one_conv, "-a", "im2col", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(result.output)))
    assert rows == [{"layer": "conv", "stage": "", "type": "conv", "algorithm": "im2col", "applicable": "true",
                     "multiplications": "144", "transform_ops": "0", "filter_ops": "0", "workspace_bytes": "576",
                     "best": "false", "reason": ""}]


def test_a_shipped_network(one_conv):
    result = invoke("cost", "resnet18", "-a", "best", "--batch", "2")
    assert result.exit_code == 0
    assert "batch 2" in result.output and "only direct applies: `linear` declares no conv lowering" in result.output


def test_unknown_algorithm_is_an_option_error(one_conv):
    result = invoke("cost", one_conv, "--algorithm", "foo")
    assert result.exit_code == 2
    assert "error: --algorithm foo: must be one of all, best, direct, im2col, winograd, fft" in result.output
    assert "Traceback" not in result.output


def test_bad_spec_exits_2():
    assert invoke("cost", "no_such_network").exit_code == 2


# ---- explain ------------------------------------------------------------------------------------------------------
def test_explain_winograd_general():
    result = invoke("explain", "winograd")
    assert result.exit_code == 0
    out = result.output
    assert "arXiv:1509.09308" in out
    assert ("per 2×2 output tile and (input, output) channel pair 4² = 16 multiplications instead of 2·2·3·3 = 36 "
            "(2.25× fewer)") in out
    assert "input Bᵀ d B 32 ops" in out and "output Aᵀ M A 24 ops" in out
    # the worked example: 64 → 64, 3×3 p1 on 56×56: T = 28·28 = 784, 16·64·64·784 = 51,380,224
    assert "= 16·64·64·784·1 = 51,380,224  (direct 115,605,504: 2.25× fewer)" in out


@pytest.mark.parametrize("family, words", [("im2col", "g·(C_out/g)·N·K"), ("fft", "arXiv:1312.5851"),
                                           ("direct", "B·C_out·ΠN_out·(C_in/g)·Πk")])
def test_explain_other_algorithms(family, words):
    result = invoke("explain", family)
    assert result.exit_code == 0 and words in result.output


def test_explain_a_layer_through_an_algorithm():
    result = invoke("explain", "resnet50", "--layer", "layer1.0.conv2", "--algorithm", "winograd")
    assert result.exit_code == 0, result.output
    # 64 → 64 3×3 p1 on 56×56: F(4×4,3×3) T = 14·14 = 196, 36·64·64·196 = 28,901,376 (direct 115,605,504: 4×)
    assert "= 36·64·64·196·1 = 28,901,376  (direct 115,605,504: 4.00× fewer)" in result.output


def test_explain_algorithm_needs_a_layer_and_a_known_name():
    result = invoke("explain", "resnet50", "--algorithm", "winograd")
    assert result.exit_code == 2 and "add --layer NAME" in result.output
    result = invoke("explain", "resnet50", "--layer", "layer1.0.conv2", "--algorithm", "best")
    assert result.exit_code == 2 and "error: --algorithm best: must be one of direct, im2col, winograd, fft" \
        in result.output
    result = invoke("explain", "resnet50", "--layer", "relu", "--algorithm", "fft")
    assert result.exit_code == 2 and "not a convolution" in result.output


def test_stages_of_a_composite_and_unsupported_layers(tmp_path):
    path = tmp_path / "t.yaml"
    path.write_text("input: [4, 8, 8]\nlayers:\n"
                    "  - {type: depthwise_separable, name: dws, out: 6, kernel: 3, padding: 1}\n"
                    "  - {type: unsupported, name: cum, op: CumSum, shape: [6, 8, 8], of: /cumsum}\n")
    result = invoke("cost", str(path), "--units", "raw")
    assert result.exit_code == 0, result.output
    rows = [line.split("│")[1].strip() for line in result.output.splitlines() if line.startswith("│")]
    assert rows == ["dws.depthwise", "dws.pointwise"]
    assert "warning: 1 unsupported placeholder layer not counted (their cost is unknown, not zero): cum" \
        in result.output


def test_explain_a_layer_no_algorithm_applies_to():
    result = invoke("explain", "deepface", "--layer", "L4", "--algorithm", "fft")
    assert result.exit_code == 0
    assert "not applicable: unshared weights" in result.output and "direct: the layer's MACs, 62,726,400" \
        in result.output


def test_train_and_device_together_are_refused_with_the_way_out():
    result = CliRunner().invoke(app, ["cost", "resnet18", "--train", "--device", "a100"])
    assert result.exit_code == 2
    assert result.output.startswith("error: --train and --device are two views of `convcalc cost`")
    assert "run them one at a time" in result.output
