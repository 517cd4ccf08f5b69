"""`Report.to_dataframe()`: one row per layer, integer count columns, pandas imported only when asked; and the
Python API's `input="3x160x160"` text form."""

from __future__ import annotations

import sys

import pytest

import convcalc

TINY = {"name": "tiny", "input": [3, 8, 8], "layers": [
    {"type": "conv", "name": "c1", "out": 4, "kernel": 3, "padding": 1},
    {"type": "global_avgpool", "name": "gap", "keepdims": False},
    {"type": "linear", "name": "fc", "out": 10},
]}
# c1: 4·3·9 + 4 = 112 params, 4·8·8·27 = 6,912 MACs; fc: 4·10 + 10 = 50 params, 40 MACs


def test_one_row_per_layer_with_integer_counts():
    pd = pytest.importorskip("pandas")
    frame = convcalc.analyze(TINY).to_dataframe()
    assert isinstance(frame, pd.DataFrame)
    assert list(frame.index) == ["c1", "gap", "fc"]
    assert list(frame["params"]) == [112, 0, 50] and list(frame["macs"]) == [6_912, 0, 40]
    assert frame["macs"].sum() == 6_952 and frame["params"].dtype == "int64"
    assert frame.loc["c1", "output_shape"] == (4, 8, 8) and frame.loc["c1", "rf_size"] == (3, 3)
    assert frame.loc["fc", "type"] == "linear"


def test_without_pandas_the_error_says_how_to_get_it(monkeypatch):
    report = convcalc.analyze(TINY)
    monkeypatch.setitem(sys.modules, "pandas", None)  # `import pandas` raises ImportError
    with pytest.raises(ImportError, match="needs pandas, an optional dependency"):
        report.to_dataframe()


def test_input_as_text_like_the_command_line():
    # resnet50 at 224: 4,089,184,256 MACs, of which the fc's 2,048·1,000 = 2,048,000. At 160 every feature map is
    # 5/7 of its size per axis (80, 40, 20, 10, 5 for 112, 56, 28, 14, 7), so the convs' 4,087,136,256 scale by
    # 25/49 to 2,085,273,600; + the fc's 2,048,000 = 2,087,321,600
    report = convcalc.analyze("resnet50", input="3x160x160")
    assert report.input == [3, 160, 160] and report.totals.macs == 2_087_321_600
    assert convcalc.analyze("resnet50", input=(3, 160, 160)).totals.macs == 2_087_321_600


def test_source_is_the_name_or_path_as_given(tmp_path, monkeypatch):
    assert convcalc.analyze("resnet18").source == "resnet18"  # not …/site-packages/convcalc/configs/resnet18.yaml
    monkeypatch.chdir(tmp_path)
    (tmp_path / "net.yaml").write_text("input: [3, 8, 8]\nlayers:\n  - {type: conv, out: 4, kernel: 3}\n")
    assert convcalc.analyze("net.yaml").source == "net.yaml"


def test_the_readmes_python_api_section_runs():
    pytest.importorskip("pandas")
    from pathlib import Path

    text = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    section = text[text.index("## Python API"):]
    code = section[section.index("```python\n") + 10:section.index("```\n", section.index("```python"))]
    scope: dict = {}
    exec(compile(code, "README.md (Python API)", "exec"), scope)
    assert scope["report"].totals.macs == 4_089_184_256  # torchvision's 4.09 GFLOPS for ResNet-50
    assert scope["frame"]["macs"].sum() == 4_089_184_256
    assert scope["small"].input == [3, 160, 160]
