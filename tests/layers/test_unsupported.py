"""The `unsupported` placeholder (convcalc/layers/placeholder.py): the given shape, zero counts that every output
says are unknown, an untracked receptive field, and errors at the field. Expected numbers are worked by hand."""

from __future__ import annotations

import csv
import io
import json

import pytest
from typer.testing import CliRunner

import convcalc
from convcalc.cli.app import app
from convcalc.cost.report import Report, UnsupportedLayer
from convcalc.errors import SpecError
from convcalc.render.analyze import AnalyzeView
from convcalc.render.emitters import emit

SPEC = """\
name: placeholders
input: [3, 8, 8]
layers:
  - {type: conv, name: conv, out: 4, kernel: 3, padding: 1}
  - {type: unsupported, name: cumsum, op: CumSum, shape: [4, 8, 8], of: /cumsum/CumSum}
  - {type: unsupported, name: flip, op: torch.flip, shape: [256]}
  - {type: linear, name: fc, out: 2}
"""


@pytest.fixture(scope="module")
def report():
    return convcalc.analyze(convcalc.load(SPEC))


def test_shape_and_counts(report):
    conv, cumsum, flip, fc = report.layers
    assert cumsum.output_shape == [4, 8, 8] and flip.output_shape == [256]
    for layer in (cumsum, flip):
        assert (layer.params, layer.buffers, layer.macs, layer.flops) == (0, 0, 0, 0)
    assert conv.macs == 6_912             # 4·8·8·3·3·3
    assert fc.macs == 512 and fc.params == 514   # 256·2; 256·2 + 2
    assert (report.totals.params, report.totals.macs) == (626, 7_424)   # 4·27 + 4 + 514; 6,912 + 512
    assert cumsum.details == {"op": "CumSum", "of": "/cumsum/CumSum"}


def test_the_report_lists_every_placeholder(report):
    assert report.unsupported == [UnsupportedLayer("cumsum", "CumSum", "/cumsum/CumSum"),
                                  UnsupportedLayer("flip", "torch.flip", "")]
    data = json.loads(report.to_json())
    assert data["unsupported"] == [{"name": "cumsum", "op": "CumSum", "node": "/cumsum/CumSum"},
                                   {"name": "flip", "op": "torch.flip", "node": ""}]
    assert Report.from_json(report.to_json()).unsupported == report.unsupported


def test_a_network_without_placeholders_has_an_empty_list():
    report = convcalc.analyze(convcalc.load("input: [3, 8, 8]\nlayers:\n  - {type: relu}\n"))
    assert report.unsupported == [] and json.loads(report.to_json())["unsupported"] == []


def test_the_receptive_field_is_not_tracked_from_a_placeholder(report):
    conv, cumsum, flip, fc = report.layers
    assert conv.rf.size == [3, 3] and not conv.rf.position_dependent
    assert cumsum.rf.size == [3, 3] and cumsum.rf.position_dependent   # the input's values, flagged
    assert cumsum.warnings == ["a placeholder for CumSum (node '/cumsum/CumSum'), an operator with no layer kind: "
                               "counted as zero (its params, MACs and FLOPs are unknown), and the receptive field "
                               "is not tracked from here"]
    assert flip.warnings[0].startswith("a placeholder for torch.flip, an operator with no layer kind")
    assert fc.warnings == []


SUMMARY = ("2 unsupported operators counted as zero: CumSum ×1 (`cumsum`), torch.flip ×1 (`flip`); the totals "
           "leave out their cost, which is unknown")


@pytest.mark.parametrize("fmt", ["table", "markdown"])
def test_the_table_and_markdown_say_so(report, fmt):
    out = io.StringIO()
    emit(AnalyzeView(report), fmt, out)
    assert SUMMARY in out.getvalue().splitlines()


def test_csv_ends_with_a_comment_row(report):
    out = io.StringIO()
    emit(AnalyzeView(report), "csv", out)
    rows = list(csv.reader(io.StringIO(out.getvalue())))
    assert rows[-2][0] != "Total" and rows[-1][0] == f"# {SUMMARY}" and set(rows[-1][1:]) == {""}
    assert [row[1] for row in rows[1:3]] == ["conv", "unsupported"]


def test_analyze_warns_on_stderr(write_spec):
    path = write_spec(SPEC)
    result = CliRunner().invoke(app, ["analyze", str(path)])
    assert result.exit_code == 0
    assert result.stderr.splitlines()[0].startswith("warning: cumsum: a placeholder for CumSum (node "
                                                    "'/cumsum/CumSum')")
    assert SUMMARY in result.stdout


def test_several_inputs():
    spec = {"input": [2, 4, 4], "layers": [{"type": "relu", "name": "a"}, {"type": "unsupported", "name": "u",
                                            "op": "Einsum", "shape": [3, 4], "inputs": ["input", "a"]}]}
    layer = convcalc.analyze(convcalc.load(spec)).layers[-1]
    assert layer.output_shape == [3, 4] and layer.inputs == ["input", "a"]


@pytest.mark.parametrize("layer, message, col", [
    ("{type: unsupported, shape: [4, 8, 8]}", "`op`", 5),
    ("{type: unsupported, op: CumSum, shape: [4, 0, 8]}", "at least 1", 48),   # the 0
    ("{type: unsupported, op: CumSum}", "`shape`", 5),
])
def test_bad_fields_are_errors_at_their_place(layer, message, col):
    with pytest.raises(SpecError) as info:
        convcalc.analyze(convcalc.load(f"input: [3, 8, 8]\nlayers:\n  - {layer}\n"))
    assert message in str(info.value)
    assert (info.value.mark.line, info.value.mark.col) == (3, col)


@pytest.mark.parametrize("args", [["verify"], ["verify", "--rf"], ["rf", "--erf", "measured", "--layer", "fc"]])
def test_refusing_to_run_a_placeholder_points_at_it(write_spec, args):
    """Found by benchmarks/fuzz.py: the refusal had no position."""
    path = write_spec(SPEC)
    result = CliRunner().invoke(app, [args[0], str(path), *args[1:]])
    assert result.exit_code == 2
    assert f"error: {path}:5:5: " in result.stderr and "cannot run layer `cumsum`" in result.stderr


@pytest.mark.parametrize("after", ["relu", "instancenorm"])  # relu keeps the layout, instancenorm resets it
@pytest.mark.parametrize("input_shape, shape, layouts", [
    ([3, 13], [4, 5, 5], "(C, L, C)"),        # more axes than the input: the extra one has no input axis to name
    ([3, 13], [2, 3, 4, 5], "(C, L, C, C)"),
    ([3, 13, 13], [4, 5], "(C, H)"),
])
def test_a_placeholder_of_another_rank_than_the_input(input_shape, shape, layouts, after):
    """Found by benchmarks/fuzz.py: a placeholder with more spatial axes than the input named axes the input does
    not have (IndexError in the layout text)."""
    spec = {"input": input_shape, "layers": [{"type": "unsupported", "name": "u", "op": "CumSum", "shape": shape},
                                             {"type": after, "name": "r"}]}
    report = convcalc.analyze(convcalc.load(spec))
    assert [layer.rf.layout for layer in report.layers] == [layouts, layouts]
