"""`convcalc compare`: networks side by side (mode 2), layer what-if (mode 1) and whole-network rewrite (mode 3).

Every expected number is worked out by hand in a comment next to it.
"""

from __future__ import annotations

import csv
import io
import json
import re

import pytest
from typer.testing import CliRunner

from convcalc.cli import app
from convcalc.compare import compare_networks, merged_order, stage_of


def run(*args):
    return CliRunner().invoke(app, ["compare", *args])


def markdown_tables(text: str) -> list[list[str]]:
    """Every block of consecutive lines starting with `|`."""
    tables, current = [], []
    for line in text.splitlines() + [""]:
        if line.startswith("|"):
            current.append(line)
        elif current:
            tables.append(current)
            current = []
    return tables


def cells(line: str) -> list[str]:
    """Cells of a Markdown table row (escaped pipes stay inside their cell)."""
    assert line.startswith("|") and line.endswith("|"), line
    return re.split(r"(?<!\\)\|", line[1:-1])


def assert_valid_markdown(text: str, at_least: int = 1) -> list[list[str]]:
    """GitHub table rules: a header row, a separator row of ---/---:/:---, every row the same cell count."""
    tables = markdown_tables(text)
    assert len(tables) >= at_least, text
    for table in tables:
        assert len(table) >= 3, table  # header, separator, at least one row
        width = len(cells(table[0]))
        assert all(re.fullmatch(r"\s*:?-{3,}:?\s*", cell) for cell in cells(table[1])), table[1]
        for line in table:
            assert len(cells(line)) == width, (line, width)
    return tables


# =====================================================================================================================
# 2. Networks side by side
# =====================================================================================================================
# ResNet-50 v1 puts the stride-2 of each first bottleneck in conv1 (1×1), v1.5 in conv2 (3×3). In layer2.0 the
# 1×1 256→128 conv runs at 56×56 in v1.5 (56·56·256·128 = 102,760,448 MACs) and at 28×28 in v1 (25,690,112):
# 77,070,336 fewer; the same in layer3.0 (28²·512·256 vs 14²·512·256) and layer4.0 (14²·1024·512 vs 7²·1024·512).
V15_MINUS_V1 = 77_070_336


def test_resnet50_v15_against_v1():
    comparison = compare_networks(["resnet50", "resnet50_v1"])
    total = comparison.total
    assert total.entries[0].params == total.entries[1].params == 25_557_032
    assert total.delta(1, "macs") == -3 * V15_MINUS_V1
    assert total.status == ["base", "changed"]
    stages = {line.key: line for line in comparison.stages}
    assert [key for key in stages][:5] == ["conv1", "bn1", "relu", "maxpool", "layer1"]
    assert stages["layer1"].status[1] == "same"
    for name in ("layer2", "layer3", "layer4"):
        assert stages[name].delta(1, "macs") == -V15_MINUS_V1
        assert stages[name].delta(1, "params") == 0
    changed = [line.key for line in comparison.layers if line.differs]
    # the strided 1×1 conv and the BN and ReLU after it (their output shape changes); conv2 has 28×28 either way
    assert changed == [f"layer{i}.0.{name}" for i in (2, 3, 4) for name in ("conv1", "bn1", "relu1")]
    conv = next(line for line in comparison.layers if line.key == "layer2.0.conv1")
    assert (conv.entries[0].macs, conv.entries[1].macs) == (102_760_448, 25_690_112)
    assert conv.ratio(1, "macs") == 0.25


A = """name: a
input: [3, 8, 8]
defaults: {bias: false}
layers:
  - {type: conv, name: conv1, out: 4, kernel: 3, padding: 1}
  - {type: relu, name: relu1}
  - {type: conv, name: conv2, out: 8, kernel: 3, padding: 1}
  - {type: conv, name: head, out: 2, kernel: 1}
"""
B = """name: b
input: [3, 8, 8]
defaults: {bias: false}
layers:
  - {type: conv, name: conv1, out: 4, kernel: 3, padding: 1}
  - {type: batchnorm, name: bn1}
  - {type: relu, name: relu1}
  - {type: conv, name: head, out: 2, kernel: 1}
"""


def test_added_and_removed_layers(write_spec):
    a, b = write_spec(A, "a.yaml"), write_spec(B, "b.yaml")
    comparison = compare_networks([str(a), str(b)])
    by_key = {line.key: line for line in comparison.layers}
    # bn1 sits where b has it: between conv1 and relu1
    assert [line.key for line in comparison.layers] == ["conv1", "bn1", "relu1", "conv2", "head"]
    assert by_key["bn1"].status == ["base", "added"]
    assert by_key["conv2"].status == ["base", "removed"]
    assert by_key["conv1"].status == ["base", "same"]
    # head: 1×1 over 8 channels in a (2·8 = 16 params, 16·64 = 1,024 MACs), over 4 in b (8 params, 512 MACs)
    assert by_key["head"].status == ["base", "changed"]
    assert (by_key["head"].entries[0].params, by_key["head"].entries[1].params) == (16, 8)
    assert by_key["head"].delta(1, "macs") == -512
    # totals: a = conv1 4·3·9 = 108 + conv2 8·4·9 = 288 + head 16 = 412 params;
    #         b = 108 + bn 2·4 = 8 + head 8 = 124 params
    assert [e.params for e in comparison.total.entries] == [412, 124]
    assert comparison.total.delta(1, "params") == -288
    result = run(str(a), str(b), "--units", "raw")
    assert result.exit_code == 0, result.output
    assert "added" in result.output and "removed" in result.output


def test_merged_order_and_stages():
    assert merged_order([["a", "b", "c"], ["a", "x", "c", "y"], ["z", "a"]]) == ["z", "a", "x", "b", "c", "y"]
    assert stage_of("layer1.0.conv1") == "layer1" and stage_of("conv1") == "conv1"


def test_markdown_is_a_valid_github_table():
    result = run("resnet50", "resnet50_v1", "--format", "markdown")
    assert result.exit_code == 0, result.output
    tables = assert_valid_markdown(result.output, at_least=3)
    assert cells(tables[0][0])[0].strip() == "Spec"
    assert "#### Totals against resnet50" in result.output


def test_three_specs_json_and_csv():
    result = run("resnet18", "resnet50", "resnet50_v1", "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert [s["label"] for s in data["specs"]] == ["resnet18", "resnet50", "resnet50_v1"]
    totals = data["totals"]["specs"]
    # resnet18 has 11,689,512 params; resnet50 25,557,032: +13,867,520
    assert totals[0]["params"] == 11_689_512 and totals[1]["delta_params"] == 13_867_520
    result = run("resnet50", "resnet50_v1", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(result.output)))
    total = [r for r in rows if r["section"] == "total"]
    assert [int(r["macs"]) for r in total] == [4_089_184_256, 4_089_184_256 - 3 * V15_MINUS_V1]
    assert total[1]["delta_macs"] == str(-3 * V15_MINUS_V1)


def test_same_spec_twice_gets_unique_labels():
    comparison = compare_networks(["resnet18", "resnet18"])
    assert comparison.labels == ["resnet18", "resnet18#2"]
    assert comparison.unchanged_layers == len(comparison.layers)


@pytest.mark.parametrize("args, message", [
    (["resnet18"], "two or more specs"),
    (["resnet18", "nope_net"], "neither a file nor a shipped config"),
])
def test_errors(args, message):
    result = run(*args)
    assert result.exit_code == 2
    assert message in result.output and "Traceback" not in result.output
