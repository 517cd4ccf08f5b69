"""The columns-sum-to-totals helper (tests/render/sums.py) on live output, and that it fails when a number is off."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from convcalc.cli.app import app

from .sums import SumMismatch, check_csv, check_markdown, check_table

TINY = """\
name: tiny
input: [3, 8, 8]
layers:
  - {type: conv, name: c1, out: 4, kernel: 3, padding: 1}
  - {type: depthwise_separable, name: ds, out: 8, kernel: 3, padding: 1, mid: [batchnorm, relu]}
  - {type: global_avgpool, keepdims: false}
  - {type: linear, out: 10}
"""
# c1: 4·27 + 4 = 112 params, 4·64·27 = 6,912 MACs; ds: depthwise 4·9 + 4 = 40, BN 2·4 = 8, pointwise 8·4 + 8 = 40
# → 88 params, MACs 4·64·9 + 8·64·4 = 2,304 + 2,048 = 4,352; linear 8·10 + 10 = 90 params, 80 MACs
# params 112 + 88 + 90 = 290; MACs 6,912 + 4,352 + 80 = 11,344


def analyze(path, *args):
    result = CliRunner().invoke(app, ["analyze", str(path), "--units", "raw", *args], env={"NO_COLOR": "1"})
    assert result.exit_code == 0, result.output
    return result.stdout


@pytest.fixture
def tiny(tmp_path):
    path = tmp_path / "tiny.yaml"
    path.write_text(TINY)
    return path


def test_every_format_adds_up_and_the_stage_rows_are_not_counted_twice(tiny):
    table = analyze(tiny)
    assert "↳ depthwise" in table  # the stage rows are there, and skipped by the helper
    totals = check_table(table)
    assert (totals["params"], totals["macs"]) == (290, 11_344)
    assert check_markdown(analyze(tiny, "-f", "markdown")) == totals
    assert {k: v for k, v in check_csv(analyze(tiny, "-f", "csv")).items() if k in totals} == totals


def test_collapsed_blocks_add_up_too():
    totals = check_csv(analyze("resnet18", "-f", "csv", "--depth", "0"))
    assert (totals["params"], totals["macs"]) == (11_689_512, 1_814_073_344)  # torchvision's model table
    assert check_table(analyze("resnet18", "--depth", "1"))["macs"] == 1_814_073_344


def _tamper(text: str, old: str, new: str) -> str:
    assert old in text
    return text.replace(old, new, 1)


def test_a_wrong_number_is_caught(tiny):
    table = analyze(tiny)
    with pytest.raises(SumMismatch, match="macs of the 4 rows sum to 11,345"):
        check_table(_tamper(table, " 6,912 │", " 6,913 │"))
    with pytest.raises(SumMismatch, match="the Total row has 290 params, the summary 291"):
        check_table(_tamper(table, "Total: 290 params", "Total: 291 params"))
    markdown = analyze(tiny, "-f", "markdown")
    with pytest.raises(SumMismatch, match="params"):
        check_markdown(_tamper(markdown, "| 112 |", "| 113 |"))
    csv = analyze(tiny, "-f", "csv")
    with pytest.raises(SumMismatch, match="params of the 4 rows sum to 289, the total is 290"):
        check_csv(_tamper(csv, ",112,", ",111,"), {"params": 290})


def test_human_units_are_refused(tiny):
    result = CliRunner().invoke(app, ["analyze", str(tiny), "--units", "K"], env={"NO_COLOR": "1"})
    with pytest.raises(ValueError, match="render with --units raw"):
        check_table(result.stdout)


def test_the_csv_has_no_total_row_so_pandas_sums_it_once(tiny):
    pd = pytest.importorskip("pandas")
    import io

    frame = pd.read_csv(io.StringIO(analyze(tiny, "-f", "csv")))
    layers = frame[~frame["type"].str.startswith("↳")]
    assert list(layers["name"]) == ["c1", "ds", "global_avgpool1", "linear1"]
    assert int(layers["params"].sum()) == 290 and int(layers["macs"].sum()) == 11_344  # the hand sums above
    for column in ("depth", "params", "buffers", "macs", "flops", "activation_bytes"):
        assert frame[column].dtype.kind == "i", column  # integers, not floats (no empty Total cells)
