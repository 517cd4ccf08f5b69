"""`latency_ms` and `bytes_moved` budgets (convcalc/budgets/kinds.py RooflineMax; docs/check.md, docs/roofline.md).

The 1×1 conv 64 → 256 at 56×56 in float32 moves 65,536 + 802,816 + 3,211,264 = 4,079,616 bytes; on a device of
100 GB/s (and 10 TFLOP/s, so memory-bound) it takes 4,079,616 / 10^11 s = 0.04079616 ms.
"""

from __future__ import annotations

import json

from typer.testing import CliRunner

from convcalc.cli.app import app

SPEC = ("name: pw\ninput: [64, 56, 56]\nbudgets: {{{budgets}}}\nlayers:\n"
        "  - {{type: conv, name: pw, out: 256, kernel: 1, bias: false}}\n")
DEVICE = "name: made-up\ntitle: Made up\nkind: gpu\npeak_tflops:\n  float32: 10\nbandwidth_gb_s: 100\n"


def check(tmp_path, budgets, *args):
    spec, device = tmp_path / "pw.yaml", tmp_path / "dev.yaml"
    spec.write_text(SPEC.format(budgets=budgets))
    device.write_text(DEVICE)
    return CliRunner().invoke(app, ["check", str(spec), *[a.replace("DEV", str(device)) for a in args]])


def test_bytes_moved_needs_no_device(tmp_path):
    assert check(tmp_path, "bytes_moved: 4079616").exit_code == 0
    result = check(tmp_path, "bytes_moved: 4079615")
    assert result.exit_code == 1 and "4,079,616 B" in result.output


def test_latency_ms_on_a_device(tmp_path):
    result = check(tmp_path, "latency_ms: 0.0408", "--device", "DEV", "--format", "json")
    assert result.exit_code == 0, result.output
    (entry,) = json.loads(result.output)["specs"][0]["budgets"]
    assert entry["actual"] == "10199/250000"  # 0.040796 ms = 40,796 ns / 10^6: rounded to the nanosecond, exact
    over = check(tmp_path, "latency_ms: 0.04", "--device", "DEV")
    assert over.exit_code == 1 and "0.0408 ms" in over.output


def test_latency_ms_without_a_device_is_bad_input_at_its_position(tmp_path):
    result = check(tmp_path, "latency_ms: 1")
    # line 3 `budgets: {latency_ms: 1}`: the key at column 11
    assert result.exit_code == 2 and "pw.yaml:3:11: `latency_ms`" in result.output and "--device" in result.output


def test_the_flags(tmp_path):
    result = check(tmp_path, "params: 1G", "--device", "DEV", "--max", "latency_ms=1", "--max", "bytes_moved=4MB")
    assert result.exit_code == 1 and "bytes_moved" in result.output
