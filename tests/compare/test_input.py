"""`--input` on compare and sweep, as on every command that reads a spec (issue: both rejected it)."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from convcalc.cli.app import app

TINY = """\
name: tiny
input: [3, 8, 8]
vars: {width: 4}
layers:
  - {type: conv, name: c1, out: width, kernel: 3, padding: 1}
"""
# at 16×16 (--input 3x16x16): c1 does width·3·9 MACs at each of 256 positions: 4 → 27,648, 8 → 55,296
# (at the spec's own 8×8: 4·3·9·64 = 6,912)


@pytest.fixture
def tiny(tmp_path):
    path = tmp_path / "tiny.yaml"
    path.write_text(TINY)
    return str(path)


def run(*args):
    result = CliRunner().invoke(app, list(args), env={"NO_COLOR": "1"})
    assert result.exit_code == 0, result.output
    return result.stdout


def test_sweep_at_the_given_input(tiny):
    lines = run("sweep", tiny, "--set", "width=4,8", "--input", "3x16x16", "-f", "jsonl").splitlines()
    assert [json.loads(line)["macs"] for line in lines] == [27_648, 55_296]
    data = json.loads(run("sweep", tiny, "--set", "width=4,8", "-f", "json"))
    assert [point["macs"] for point in data["points"]] == [6_912, 13_824]  # without it: the spec's 8×8


def test_sweep_in_worker_processes_at_the_given_input(tiny):
    lines = run("sweep", tiny, "--set", "width=4,8", "--input", "3x16x16", "-f", "jsonl", "--jobs", "2")
    assert [json.loads(line)["macs"] for line in lines.splitlines()] == [27_648, 55_296]


def test_compare_side_by_side_at_the_given_input(tiny):
    data = json.loads(run("compare", tiny, "resnet18", "--input", "3x16x16", "-f", "json"))
    assert [spec["input"] for spec in data["specs"]] == [[3, 16, 16], [3, 16, 16]]
    assert data["totals"]["specs"][0]["macs"] == 27_648


def test_compare_layer_and_rewrite_at_the_given_input(tiny):
    assert "@16x16" in run("compare", tiny, "--layer", "c1", "--input", "3x16x16")
    # depthwise separable at 16×16: depthwise 3·9·256 = 6,912 + pointwise 4·3·256 = 3,072 → 9,984 MACs
    out = run("compare", tiny, "--as", "depthwise_separable", "--input", "3x16x16", "--units", "raw")
    assert "27,648" in out and "9,984" in out


def test_input_with_a_layer_description_is_refused():
    result = CliRunner().invoke(app, ["compare", "--layer", "conv 4->4 k3 @8x8", "--input", "3x16x16"])
    assert result.exit_code == 2 and "--input needs a spec" in result.output
