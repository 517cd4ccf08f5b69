"""`convcalc device list|show|measure` and `convcalc cost --device`: exit codes, formats, errors."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from convcalc.cli.app import app
from convcalc.cost.devices import read_device

POINTWISE = "name: pw\ninput: [64, 56, 56]\nlayers:\n  - {type: conv, name: pw, out: 256, kernel: 1, bias: false}\n"
MADE_UP = "name: made-up\ntitle: Made up\nkind: gpu\npeak_tflops:\n  float32: 10\nbandwidth_gb_s: 100\n"


def invoke(*args):
    return CliRunner().invoke(app, list(args))


@pytest.fixture
def files(tmp_path):
    spec, device = tmp_path / "pw.yaml", tmp_path / "made-up.yaml"
    spec.write_text(POINTWISE)
    device.write_text(MADE_UP)
    return str(spec), str(device)


def test_list_and_show():
    result = invoke("device", "list")
    assert result.exit_code == 0, result.output
    for name in ("h100", "h200", "a100", "rtx4090", "m2", "rpi5"):
        assert f"│ {name} " in result.output
    shown = invoke("device", "show", "a100-80gb")
    assert shown.exit_code == 0 and "(TF32) 156 TFLOPS | 312 TFLOPS*" in shown.output
    data = json.loads(invoke("device", "list", "--format", "json").output)
    assert [d["name"] for d in data["devices"]] == ["a100", "h100", "h200", "m2", "rpi5", "rtx4090"]


def test_device_errors():
    assert invoke("device", "lst").exit_code == 2
    result = invoke("device", "show", "h10")
    assert result.exit_code == 2 and "unknown device `h10`" in result.output and "h100" in result.output


def test_measure_writes_a_profile_that_reads_back(tmp_path):
    path = tmp_path / "mine.yaml"
    result = invoke("device", "measure", "--quick", "--threads", "1", "-o", str(path))
    assert result.exit_code == 0, result.output
    device = read_device(str(path))
    assert device.kind == "cpu" and device.threads == 1
    assert set(device.peak) == {"float32", "float64"} and device.bandwidth > 0 and 0 < device.efficiency <= 10
    assert set(device.vector_peak) == {"float32", "float64"} and all(v > 0 for v in device.vector_peak.values())
    text = path.read_text()
    assert all("#" in line for line in text.splitlines()
               if line.split(":")[0].strip() in ("float32", "float64", "bandwidth_gb_s", "efficiency"))
    # the vector ceiling's comment states its definition: level-2 BLAS gemv on a 128 KiB matrix in cache
    assert "level-2 BLAS gemv from cache" in text and "vector float32" in result.output
    assert "gemv y = A·x, A 128×256 (128 KiB, in L2)" in text and "gemv y = A·x, A 64×256 (128 KiB, in L2)" in text
    assert "2,097,152 per timed call" in text  # --quick: 2^21 FLOPs per call
    assert any(line.startswith("# BLAS: ") for line in text.splitlines())  # the library, and the core it runs
    assert "BLAS: " in result.output


def test_cost_with_a_device(files):
    spec, device = files
    result = invoke("cost", spec, "--device", device, "--units", "raw")
    assert result.exit_code == 0, result.output
    row = next(line for line in result.output.splitlines() if "│ pw " in line)
    # 102,760,448 FLOPs, 4,079,616 B, 25.2 FLOP/B, 40.8 µs memory-bound (tests/cost/test_roofline.py)
    assert [c.strip() for c in row.split("│")[3:11]] == ["102,760,448", "4,079,616 B", "65,536 B", "802,816 B",
                                                         "3,211,264 B", "25.2", "40.8 µs", "memory"]
    assert "memory-bound 1 of 1 layers (100%)" in result.output


def test_cost_roofline_json(files):
    spec, device = files
    data = json.loads(invoke("cost", spec, "--device", device, "--format", "json").output)
    roof = data["cost"]["roofline"]
    assert roof["layers"][0]["bytes"] == 4_079_616 and roof["layers"][0]["bound"] == "memory"
    assert roof["totals"]["latency_ms"] == pytest.approx(0.04079616)
    assert "algorithms" in data["cost"]


def test_cost_best_by_roofline(files):
    spec, device = files
    result = invoke("cost", spec, "--device", device, "--algorithm", "best")
    assert result.exit_code == 0, result.output
    assert "best by roofline time on made-up (float32)" in result.output
    assert "fastest on made-up" in result.output


def test_cost_roofline_options_need_a_device(files):
    spec, device = files
    result = invoke("cost", spec, "--fuse", "elementwise")
    assert result.exit_code == 2 and "needs a device" in result.output
    result = invoke("cost", spec, "--device", device, "--dtype", "bfloat16")
    assert result.exit_code == 2 and "no peak for bfloat16" in result.output


def test_compare_with_a_device(files, tmp_path):
    spec, device = files
    wide = tmp_path / "wide.yaml"
    wide.write_text(POINTWISE.replace("name: pw\n", "name: wide\n").replace("out: 256", "out: 512"))
    result = invoke("compare", spec, str(wide), "--device", device, "--format", "json")
    assert result.exit_code == 0, result.output
    roof = json.loads(result.output)["roofline"]
    # pw moves 4,079,616 B (40.79616 µs); wide: weights 131,072 + input 802,816 + output 6,422,528 = 7,356,416 B
    assert roof["device"] == "made-up"
    assert [s["bytes"] for s in roof["specs"]] == [4_079_616, 7_356_416]
    assert roof["specs"][0]["latency_ms"] == pytest.approx(0.04079616)
    table = invoke("compare", spec, str(wide), "--device", device)
    assert "Roofline on made-up against pw" in table.output and "×1.80" in table.output
