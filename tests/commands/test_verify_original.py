"""``convcalc verify SOURCE --against-original``: exit codes, the table and the JSON, --kwargs, the errors.

The import sources are hand-built models (tests/importers/handmade.py) behind a stand-in for branch core's
``convcalc.importers.source`` (``is_import_source``, ``load_imported``), so neither ONNX nor torch is needed.
"""

from __future__ import annotations

import json
import sys
import types

import pytest
from typer.testing import CliRunner

import convcalc
import convcalc.importers
from convcalc.cli.app import app
from convcalc.cli.common import parse_kwargs
from convcalc.errors import SpecError

from importers import handmade  # tests/ is on sys.path
from importers.handmade import Changes

runner = CliRunner()

MODELS = {
    "classifier.onnx": handmade.classifier,
    "wrong_fc.onnx": lambda: handmade.classifier(Changes("fc", (0, 0), 0.01)),
    "residual.onnx": handmade.residual,
    "concat.onnx": handmade.concat,
    "cumsum.onnx": lambda: handmade.with_unsupported(handmade.classifier()),
    "no_float64.onnx": lambda: handmade.classifier(float64=False),
    "torch:tests.nets:build": handmade.residual,
}


@pytest.fixture
def sources(monkeypatch):
    """Install the stand-in; its ``calls`` records every load_imported call's arguments."""
    source = types.ModuleType("convcalc.importers.source")
    source.calls = []
    source.is_import_source = lambda text: text.endswith(".onnx") or text.startswith("torch:") or ".py:" in text

    def load_imported(text, input_shape=None, kwargs=None, allow_unsupported=False):
        source.calls.append((text, input_shape, kwargs, allow_unsupported))
        if text not in MODELS:
            raise SpecError(f"cannot read {text}", None, "check the path")
        model = MODELS[text]()
        return convcalc.load(handmade.spec_of(model)), model

    source.load_imported = load_imported
    monkeypatch.setitem(sys.modules, "convcalc.importers.source", source)
    monkeypatch.setattr(convcalc.importers, "source", source, raising=False)
    return source


def verify(*args):
    return runner.invoke(app, ["verify", *args])


def test_an_import_that_agrees_exits_0_with_the_table(sources):
    result = verify("classifier.onnx", "--against-original")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    header = next(line for line in lines if "max abs error" in line)
    for column in ("layer", "type", "shape", "max rel error", "tolerance"):
        assert column in header
    rows = [line for line in lines if line.startswith("│ ")]
    assert [row.split("│")[1].strip() for row in rows] == ["conv1", "bn1", "relu1", "pool", "flatten", "fc"]
    assert all(row.rstrip().endswith("✓ │") for row in rows)
    assert [cell.strip() for cell in rows[0].split("│")[1:4]] == ["conv1", "conv", "8×8×8"]
    assert lines[-3].startswith("6/6 mapped tensors agree with classifier.onnx · 0 layers without a tensor skipped · "
                                "batch 2 · seed 0 · ran in ")
    assert lines[-2].startswith("float32 tolerance 4.96e-06 … ") and "8·max(r, ε·√K)" in lines[-2]
    assert lines[-1] == "every mapped tensor agrees with the original: 6 compared"
    assert result.stderr == ""
    assert sources.calls == [("classifier.onnx", None, {}, False)]


@pytest.mark.parametrize("source", ["classifier.onnx", "residual.onnx", "concat.onnx"])
def test_float64_json(sources, source):
    result = verify(source, "--against-original", "--dtype", "float64", "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["ok"] is True and data["check"] == "original" and data["dtype"] == "float64"
    assert data["first_divergence"] is None and data["tolerance"] == {"rule": "1e-10 (fixed)", "min": 1e-10,
                                                                      "max": 1e-10}
    assert all(row["ok"] and row["max_rel"] <= 1e-10 for row in data["layers"])
    assert set(data["layers"][0]) == {"name", "type", "tensor", "ok", "shape", "original_shape", "max_abs",
                                      "max_rel", "tolerance", "float32_rounding", "problem"}


def test_a_divergence_exits_1_and_names_the_first_diverging_layer(sources):
    result = verify("wrong_fc.onnx", "--against-original")
    assert result.exit_code == 1, result.output
    assert result.stderr.startswith("mismatch: first divergence: layer `fc` (linear), the original's `logits`: "
                                    "max abs error ")
    assert "> tolerance" in result.stderr
    rows = [line for line in result.stdout.splitlines() if line.startswith("│ ")]
    assert [row.rstrip().endswith("✗ │") for row in rows] == [False] * 5 + [True]
    assert result.stdout.splitlines()[-3].startswith("5/6 mapped tensors agree")


def test_a_divergence_in_json(sources):
    result = verify("wrong_fc.onnx", "--against-original", "--format", "json", "--dtype", "float64")
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    first = data["first_divergence"]
    assert data["ok"] is False and first["name"] == "fc" and first["max_rel"] > first["tolerance"] == 1e-10
    assert first["sentence"].startswith("layer `fc` (linear), the original's `logits`: max abs error ")


def test_options_reach_the_loader_and_the_check(sources):
    result = verify("torch:tests.nets:build", "--against-original", "--input", "4x6x6", "--batch", "3", "--seed",
                    "5", "--kwargs", "num_classes=10", "--kwargs", "name=wide", "--kwargs", "widths=[1, 2]",
                    "--format", "json")
    assert result.exit_code == 0, result.output
    assert sources.calls == [("torch:tests.nets:build", (4, 6, 6), {"num_classes": 10, "name": "wide",
                                                                    "widths": [1, 2]}, False)]
    data = json.loads(result.stdout)
    assert data["batch"] == 3 and data["seed"] == 5 and data["source"] == "residual.onnx"


def test_parse_kwargs():
    assert parse_kwargs(["a=1", "b=0.5", "c=True", "d=None", "e='x y'", "f=text", "g=", "h=(1, 2)", "i=-3"]) == {
        "a": 1, "b": 0.5, "c": True, "d": None, "e": "x y", "f": "text", "g": "", "h": (1, 2), "i": -3}
    assert parse_kwargs(None) == {}


@pytest.mark.parametrize("args, message", [
    (["--kwargs", "noequals"], "--kwargs `noequals` is not KEY=VALUE with KEY a Python name — write e.g. "
                               "--kwargs num_classes=10"),
    (["--kwargs", "2x=1"], "--kwargs `2x=1` is not KEY=VALUE"),
    (["--kwargs", "a=1", "--kwargs", "a=2"], "--kwargs `a` is given twice"),
    (["--rf"], "--rf probes the spec with all-ones weights, --against-original the model's own weights — run them "
               "one at a time"),
])
def test_bad_options_exit_2(sources, args, message):
    result = verify("classifier.onnx", "--against-original", *args)
    assert result.exit_code == 2 and message in result.stderr, result.output


def test_kwargs_need_against_original(sources):
    result = verify("classifier.onnx", "--kwargs", "a=1")
    assert result.exit_code == 2
    assert "error: --kwargs passes keyword arguments to a PyTorch source's callable — add --against-original" \
        in result.stderr


@pytest.mark.parametrize("spec", ["resnet18", "net.yaml"])
def test_a_yaml_spec_has_no_original(sources, write_spec, spec):
    if spec.endswith(".yaml"):
        spec = str(write_spec("name: n\ninput: [3, 8, 8]\nlayers:\n  - {type: relu}\n", spec))
    result = verify(spec, "--against-original")
    assert result.exit_code == 2
    assert result.stderr.startswith(f"error: {spec}: a YAML spec has no original model to compare with — "
                                    "--against-original takes an ONNX file")
    assert "Traceback" not in result.output and sources.calls == []


@pytest.mark.parametrize("source, args, message", [
    ("cumsum.onnx", [], "error: classifier.onnx: operators with no layer kind (CumSum ×1)"),
    ("no_float64.onnx", ["--dtype", "float64"], "error: classifier.onnx: the original cannot run in float64 — "
                                                "use --dtype float32"),
    ("missing.onnx", [], "error: cannot read missing.onnx"),
    ("classifier.onnx", ["--max-memory", "1K"], "error: refusing to run: the estimated peak memory is "),
])
def test_what_cannot_be_checked_exits_2(sources, source, args, message):
    result = verify(source, "--against-original", *args)
    assert result.exit_code == 2 and result.stderr.startswith(message), result.output
    assert "Traceback" not in result.output


def test_arrays_of_the_wrong_shape_exit_2(sources, monkeypatch):
    def wrong():
        model = handmade.classifier()
        w, b = model.layers[0].arrays()[0]
        model.layers[0].arrays = lambda: ([w.transpose(1, 0, 2, 3), b], [])
        return model

    monkeypatch.setitem(MODELS, "wrong_shape.onnx", wrong)
    result = verify("wrong_shape.onnx", "--against-original")
    assert result.exit_code == 2
    assert result.stderr.startswith("error: classifier.onnx: layer `conv1` (conv): its kernel allocates weights "
                                    "(8, 3, 3, 3), (8,) and no buffers, but the arrays given are weights "
                                    "(3, 8, 3, 3), (8,) and no buffers")


def test_allow_unsupported_reaches_the_loader_but_cannot_be_checked(sources):
    result = verify("cumsum.onnx", "--against-original", "--allow-unsupported")
    assert result.exit_code == 2 and sources.calls == [("cumsum.onnx", None, {}, True)]
    assert result.stderr.startswith("error: classifier.onnx: operators with no layer kind (CumSum ×1): their "
                                    "placeholders compute zeros, so the import cannot be checked against the "
                                    "original — --against-original needs every operator mapped to a layer kind")


def test_plain_verify_is_unchanged(sources, write_spec):
    path = write_spec("name: n\ninput: [3, 8, 8]\nlayers:\n  - {type: conv, out: 4, kernel: 3}\n")
    result = verify(str(path), "--format", "json")
    assert result.exit_code == 0 and "first_mismatch" in json.loads(result.stdout)
    assert sources.calls == []
