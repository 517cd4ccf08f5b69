"""Import sources (convcalc/importers/source.py): what names one, the frontend each goes to, the missing optional
package, the in-memory path every spec command takes, and errors that name the layer. The frontends are stand-ins
returning hand-built models (tests/importers/handmade.py): no onnx or torch needed."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from convcalc.cli.app import app
from convcalc.errors import SpecError
from convcalc.importers.ir import ImportedLayer, ImportedModel
from convcalc.importers.source import import_model, is_import_source, load_imported, load_network

from .handmade import fake_frontend, ir_of, resnet_class, with_unsupported


@pytest.mark.parametrize("text", ["model.onnx", "nets/Model.ONNX", "torch:torchvision.models:resnet50",
                                  "torch:nets/my.py:build", "nets/my.py:build", "my.py:Net.build"])
def test_import_sources(text):
    assert is_import_source(text)


@pytest.mark.parametrize("text", ["resnet50", "configs/resnet50.yaml", "variants/separable", "my.py", "my.py:",
                                  "my.py:1x", "name: x\ninput: [3]\n# model.onnx", None, {"layers": []}])
def test_not_import_sources(text):
    assert not is_import_source(text)


@pytest.fixture
def onnx_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "model.onnx").write_bytes(b"\x08\x07")  # never read: the stand-in frontend answers
    return "model.onnx"


@pytest.fixture
def resnet_onnx(onnx_file, monkeypatch):
    """``model.onnx`` read as the ResNet-50 of configs/resnet50.yaml (at the given input shape)."""
    def model_for(path, shape):
        return ir_of("resnet50", resnet_class, source=path, **({"input_shape": shape} if shape else {}))

    return fake_frontend(monkeypatch, "onnx", model_for)


def tiny(source="model.onnx", shape=(3, 8, 8), warnings=()):
    """stem.conv (k5, no padding) → relu → head: a network an --input below 5×5 breaks."""
    layers = [ImportedLayer("stem.conv", "conv", {"out": 4, "kernel": 5}, ["input"], (("stem", "Stem"),),
                            "Conv node '/stem/conv/Conv'"),
              ImportedLayer("stem.relu", "relu", {}, ["stem.conv"], (("stem", "Stem"),), "Relu node '/stem/Relu'"),
              ImportedLayer("pool", "global_avgpool", {}, ["stem.relu"], (), "GlobalAveragePool node '/pool'")]
    return ImportedModel("tiny", source, tuple(shape), layers, warnings=list(warnings))


def test_onnx_goes_to_the_onnx_frontend_with_the_shape_and_batch(resnet_onnx):
    model = import_model("model.onnx", [3, 64, 64], batch=4)
    assert resnet_onnx.calls == [("model.onnx", (3, 64, 64), 4)]
    assert model.input_shape == (3, 64, 64)


def test_torch_targets_go_to_the_torch_frontend_with_their_kwargs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "net.py").write_text("def build(): pass\n")
    frontend = fake_frontend(monkeypatch, "torch", lambda target, shape: tiny(target, shape or (3, 8, 8)))
    import_model("torch:pkg.nets:build", (3, 16, 16), {"width": 2})
    import_model("net.py:build")
    assert frontend.calls == [("pkg.nets:build", {"width": 2}, (3, 16, 16), None), ("net.py:build", {}, None, None)]


@pytest.mark.parametrize("source, package, extra", [("model.onnx", "onnx", "onnx"),
                                                    ("model.onnx", "onnxruntime", "onnx"),
                                                    ("torch:pkg.nets:build", "torch", "torch")])
def test_a_missing_optional_package_says_what_to_install(onnx_file, monkeypatch, source, package, extra):
    def model_for(target, shape):
        raise ModuleNotFoundError(f"No module named '{package}'", name=package)

    fake_frontend(monkeypatch, "onnx" if source.endswith(".onnx") else "torch", model_for)
    result = CliRunner().invoke(app, ["analyze", source])
    assert result.exit_code == 2
    assert result.stderr == f'error: {source} needs the optional {package} package — pip install "convcalc[{extra}]"\n'


def test_a_missing_file_is_said_before_any_frontend_runs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    frontend = fake_frontend(monkeypatch, "onnx", lambda target, shape: tiny())
    result = CliRunner().invoke(app, ["analyze", "nets/missing.onnx"])
    assert (result.exit_code, result.stderr) == (2, "error: no such file: nets/missing.onnx — check the path\n")
    assert frontend.calls == []


def test_a_torch_source_must_name_a_callable():
    with pytest.raises(SpecError, match="does not name a callable"):
        import_model("torch:pkg.nets")


def test_load_imported_gives_the_network_and_the_model(resnet_onnx):
    from convcalc.cost.analysis import analyze

    network, model = load_imported("model.onnx")
    assert (network.name, network.source, model.name) == ("resnet50", "model.onnx", "resnet50")
    report = analyze(network.expand())
    # torchvision's ResNet-50: 25,557,032 params, 4,089,184,256 MACs (configs/resnet50.yaml's Expected header)
    assert (report.totals.params, report.totals.macs) == (25_557_032, 4_089_184_256)
    assert report.source == "model.onnx"


SPEC_COMMANDS = [
    (["analyze", "model.onnx", "--format", "json"], '"params": 25557032'),
    (["analyze", "model.onnx", "--input", "3x64x64", "--format", "csv"], "layer4.2.relu3"),
    (["verify", "model.onnx", "--input", "3x32x32"], "175/175 layers agree"),
    (["rf", "model.onnx", "--layer", "layer1.0.conv2"], "layer1.0.conv2"),
    (["check", "model.onnx", "--max", "params=30M"], "within its budget"),
    (["compare", "resnet50", "model.onnx"], "resnet50"),
    (["compare", "model.onnx", "--layer", "layer1.0.conv2"], "depthwise"),
    (["compare", "model.onnx", "--as", "grouped:2"], "grouped"),
    (["explain", "model.onnx", "--layer", "fc"], "2,049,000"),
]


@pytest.mark.parametrize("args, shown", SPEC_COMMANDS, ids=lambda a: " ".join(a) if isinstance(a, list) else "")
def test_every_spec_command_takes_an_import_source(resnet_onnx, args, shown):
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert shown in result.stdout


def test_input_goes_to_the_frontend(resnet_onnx):
    result = CliRunner().invoke(app, ["analyze", "model.onnx", "--input", "3x64x64", "--format", "json"])
    assert result.exit_code == 0
    assert resnet_onnx.calls == [("model.onnx", (3, 64, 64), None)]
    assert '"input": [\n    3,\n    64,\n    64\n  ]' in result.stdout


def test_an_error_in_the_generated_spec_names_the_layer_and_its_origin(onnx_file, monkeypatch):
    fake_frontend(monkeypatch, "onnx", lambda path, shape: tiny(path, shape or (3, 8, 8)))
    result = CliRunner().invoke(app, ["analyze", "model.onnx", "--input", "3x4x4"])
    assert result.exit_code == 2 and result.stdout == ""
    error = result.stderr.strip()
    assert error.startswith("error: model.onnx: layer `stem.conv` (Conv node '/stem/conv/Conv'): ")
    assert error.endswith("`convcalc import model.onnx --input 3x4x4` prints the spec it was read as")
    assert not re.search(r"model\.onnx:\d+:\d+", error)  # no line and column of a text the user never saw
    assert "the input (4) is smaller than the effective kernel (5)" in error


def test_the_frontends_warnings_go_to_stderr(onnx_file, monkeypatch):
    fake_frontend(monkeypatch, "onnx", lambda path, shape: tiny(path, warnings=["batch norms were folded"]))
    result = CliRunner().invoke(app, ["analyze", "model.onnx"])
    assert result.exit_code == 0
    assert "warning: model.onnx: batch norms were folded\n" in result.stderr
    seen = []
    load_network("model.onnx", warn=seen.append)
    assert seen == ["model.onnx: batch norms were folded"]


def test_a_spec_is_loaded_as_before():
    assert load_network("resnet50").name == "resnet50"


def test_the_yaml_fast_path_imports_no_importer():
    code = ("import io, sys, contextlib\nfrom convcalc.cli.entry import parse_analyze\n"
            "from convcalc.cli.commands.analyze import analyze\n"
            "with contextlib.redirect_stdout(io.StringIO()):\n    analyze(**parse_analyze(['resnet50']))\n"
            "print(sorted(m for m in sys.modules if m.startswith('convcalc.importers') or m in ('numpy', 'onnx')))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


# ---- operators with no layer kind: --allow-unsupported on every spec command ------------------------------------
@pytest.fixture
def cumsum_onnx(onnx_file, monkeypatch):
    """``model.onnx`` read as ``tiny`` with a CumSum placeholder before its pool (what a frontend gives with
    allow_unsupported; the stand-in gives it always, so import_model's own check is what refuses)."""
    return fake_frontend(monkeypatch, "onnx", lambda path, shape: with_unsupported(tiny(path, shape or (3, 8, 8))))


PLACEHOLDER_WARNING = ("warning: model.onnx: 1 operator with no layer kind kept as zero-cost `unsupported` placeholder "
                       "(CumSum ×1): the counts leave out their cost\n")


@pytest.mark.parametrize("args", [["analyze", "model.onnx"], ["verify", "model.onnx"], ["rf", "model.onnx"],
                                  ["check", "model.onnx", "--max", "params=1M"], ["compare", "model.onnx", "resnet18"],
                                  ["import", "model.onnx"]])
def test_without_the_flag_every_command_refuses_the_unsupported_operators(cumsum_onnx, args):
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2, result.output
    assert ("model.onnx: 1 operator type with no convcalc layer kind (1 node): CumSum ×1 ('/cumsum/CumSum') — pass "
            "--allow-unsupported to count them as zero-cost `unsupported` placeholders") in result.stderr
    assert cumsum_onnx.allowed == [False]


@pytest.mark.parametrize("args, shown", [
    (["analyze", "model.onnx"], "1 unsupported operator counted as zero: CumSum ×1 (`cumsum`)"),
    (["analyze", "model.onnx", "--format", "json"], '"unsupported": [\n    {\n      "name": "cumsum"'),
    (["rf", "model.onnx"], "Not tracked from `cumsum` on: a placeholder for CumSum (node '/cumsum/CumSum')"),
    (["check", "model.onnx", "--max", "params=1M"], "within its budget"),
    (["compare", "resnet18", "model.onnx"], "resnet18"),
])
def test_with_the_flag_the_placeholders_are_counted_as_zero_and_said(cumsum_onnx, args, shown):
    result = CliRunner().invoke(app, [*args, "--allow-unsupported"])
    assert result.exit_code == 0, result.output
    assert shown in result.stdout and cumsum_onnx.allowed == [True]
    assert PLACEHOLDER_WARNING in result.stderr.replace("warning: tiny: ", "warning: ")  # check names the spec


def test_check_says_its_budgets_meet_a_lower_bound(cumsum_onnx):
    result = CliRunner().invoke(app, ["check", "model.onnx", "--max", "params=1M", "--allow-unsupported"])
    assert ("warning: tiny: 1 unsupported operator counted as zero: CumSum ×1 (`cumsum`); the totals leave out "
            "their cost, which is unknown, so every budget is checked against a lower bound") in result.stderr


@pytest.mark.parametrize("args, message", [
    (["verify", "model.onnx"], "error: verify cannot run layer `cumsum`: it is a placeholder for CumSum (node "
                               "'/cumsum/CumSum'), an operator with no layer kind — "),
    (["rf", "model.onnx", "--erf", "measured", "--layer", "pool"], "error: the measured ERF cannot run layer "
                                                                  "`cumsum`: it is a placeholder for CumSum"),
    (["rf", "model.onnx", "--erf", "analytic", "--layer", "pool"], "the analytic ERF cannot follow layer "
                                                                  "`cumsum`: a placeholder for CumSum"),
])
def test_nothing_runs_a_placeholder(cumsum_onnx, args, message):
    result = CliRunner().invoke(app, [*args, "--allow-unsupported"])
    assert result.exit_code == 2 and message in result.stderr, result.output
    assert "Traceback" not in result.output
