"""`convcalc verify`: exit codes, JSON shape, memory guard."""

import json

import pytest
from typer.testing import CliRunner

from convcalc.cli.app import app
from convcalc.verify import ALLOCATOR_SLACK, estimate_peak_bytes, parse_bytes

pytest.importorskip("numpy")

runner = CliRunner()

SMALL = """\
name: small
input: [3, 8, 8]
layers:
  - {name: c1, type: conv, out: 4, kernel: 3, padding: 1}
  - {name: r1, type: relu}
  - {name: p1, type: maxpool, kernel: 2}
  - {name: f, type: flatten}
  - {name: fc, type: linear, out: 10}
"""


def _write(tmp_path, text, name="net.yaml"):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_good_spec_exit_0_and_json(tmp_path):
    path = _write(tmp_path, SMALL)
    result = runner.invoke(app, ["verify", path, "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["ok"] is True and data["first_mismatch"] is None
    rows = {row["name"]: row for row in data["layers"]}
    # c1: params 4·3·3·3 + 4 = 112; MACs 4·3·9 per output position × 8·8 positions = 108·64 = 6912
    assert rows["c1"]["analytic"] == {"output_shape": [4, 8, 8], "params": 112, "macs": 6912}
    assert rows["c1"]["executed"] == rows["c1"]["analytic"]
    # fc: 4·4·4 = 64 inputs → 10 outputs: 640 MACs, 650 params
    assert rows["fc"]["executed"]["macs"] == 640 and rows["fc"]["executed"]["params"] == 650


def test_table_has_checkmarks(tmp_path):
    result = runner.invoke(app, ["verify", _write(tmp_path, SMALL)])
    assert result.exit_code == 0, result.output
    assert "✓" in result.stdout and "✗" not in result.stdout
    assert "5/5 layers agree" in result.stdout


def test_bad_spec_exit_2(tmp_path):
    path = _write(tmp_path, SMALL.replace("type: relu", "type: no_such_kind"))
    result = runner.invoke(app, ["verify", path])
    assert result.exit_code == 2
    assert "no_such_kind" in result.stderr


def test_memory_guard_refuses_with_estimate(tmp_path):
    result = runner.invoke(app, ["verify", _write(tmp_path, SMALL), "--batch", "4", "--max-memory", "1K"])
    assert result.exit_code == 2
    assert "estimated peak memory" in result.stderr and "bytes" in result.stderr
    assert "--batch" in result.stderr and "--input" in result.stderr


def test_parse_bytes():
    assert parse_bytes("512M") == 512 * 1024 * 1024
    assert parse_bytes("4G") == 4 * 1024**3
    assert parse_bytes("1000") == 1000


def test_estimate_hand_worked(tmp_path):
    from convcalc.cost.analysis import analyze, expand
    from convcalc.executor.memory import BUFFER_BYTES

    graph = expand(_write(tmp_path, SMALL))
    report = analyze(graph)
    # float32, batch 1; the peak is at c1 (conv 3→4, 3×3, padding 1, on 8×8).
    # held: c1's weights 4·3·3·3 + 4 = 112 params · 4 B = 448 B; live: the input 3·8·8 = 192 elements · 4 B = 768 B
    # (the float64 draw, 192·8 = 1536 B, is freed once cast).
    # c1's footprint: the zero-padded copy 3·10·10·4 = 1200 B, the im2col matrix 3·9·64·4 = 6912 B, the output
    # 4·64·4 = 1024 B, and NumPy's buffers.
    peak = 448 + 768 + 1200 + 6912 + 1024 + BUFFER_BYTES
    share, fixed = ALLOCATOR_SLACK
    assert estimate_peak_bytes(graph, report, "float32") == int(peak + peak * share) + fixed


def test_mismatch_exit_1_with_sentence(tmp_path, monkeypatch):
    import convcalc.cost.analysis as analysis

    real = analysis.analyze

    def off_by_one(graph):
        report = real(graph)
        report.layers[0].macs += 1  # pretend the cost model said 6913 for c1
        return report

    monkeypatch.setattr(analysis, "analyze", off_by_one)
    result = runner.invoke(app, ["verify", _write(tmp_path, SMALL)])
    assert result.exit_code == 1
    assert "✗" in result.stdout
    assert "layer `c1` (conv): the cost model says MACs 6,913, but the executor produced 6,912" in result.stderr
