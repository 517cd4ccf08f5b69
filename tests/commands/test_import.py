"""``convcalc import SOURCE``: the spec on stdout or in a file (never over one silently), the options reaching the
frontend and the header, placeholders only with --allow-unsupported, and every error with exit code 2.

Most tests read hand-built models through a stand-in frontend (tests/importers/handmade.py); the last ones import
a real PyTorch module when torch is installed.
"""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

import convcalc
from convcalc.cli.app import app
from convcalc.importers.ir import ImportedLayer, ImportedModel

from importers.handmade import fake_frontend, ir_of, resnet_class  # tests/ is on sys.path

runner = CliRunner()


def invoke(*args):
    return runner.invoke(app, ["import", *args])


@pytest.fixture
def resnet18_onnx(tmp_path, monkeypatch):
    """``model.onnx`` read as configs/resnet18.yaml (at the given input shape) by a stand-in frontend."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "model.onnx").write_bytes(b"\x08\x07")  # never read: the stand-in answers

    def model_for(path, shape):
        return ir_of("resnet18", resnet_class, source=path, **({"input_shape": shape} if shape else {}))

    return fake_frontend(monkeypatch, "onnx", model_for)


def with_cumsum(path, shape):
    """conv → a CumSum placeholder → global pool, as a frontend gives it with ``allow_unsupported``."""
    from convcalc.importers.ir import Unsupported

    layers = [ImportedLayer("conv", "conv", {"out": 4, "kernel": 3, "padding": 1}, ["input"]),
              ImportedLayer("cumsum", "unsupported", {"op": "CumSum", "shape": [4, 8, 8], "of": "/cumsum/CumSum"},
                            ["conv"]),
              ImportedLayer("pool", "global_avgpool", {}, ["cumsum"])]
    return ImportedModel("cum", path, (3, 8, 8), layers, unsupported=[Unsupported("CumSum", 1, ["/cumsum/CumSum"])])


def test_the_spec_goes_to_stdout_and_analyses_as_the_model(resnet18_onnx):
    result = invoke("model.onnx")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("# resnet18, imported from model.onnx by convcalc ")
    assert "made by: convcalc import model.onnx\n" in result.stdout and result.stderr == ""
    report = convcalc.analyze(convcalc.load(result.stdout))
    # torchvision's ResNet-18: 11,689,512 params, 1,814,073,344 MACs (configs/resnet18.yaml's Expected header)
    assert (report.totals.params, report.totals.macs) == (11_689_512, 1_814_073_344)
    # the model's own names survive the blocks the writer finds
    assert "layer1.0.conv1" in [layer.name for layer in report.layers] and "\nblocks:\n" in result.stdout


def test_options_reach_the_frontend_and_the_header(resnet18_onnx):
    result = invoke("model.onnx", "--input", "3x64x64", "--batch", "4", "--flat", "--allow-unsupported")
    assert result.exit_code == 0, result.output
    assert resnet18_onnx.calls == [("model.onnx", (3, 64, 64), 4)] and resnet18_onnx.allowed == [True]
    assert ("made by: convcalc import model.onnx --input 3x64x64 --batch 4 --flat --allow-unsupported\n"
            in result.stdout)
    assert "\ninput: [3, 64, 64]\nbatch: 4\n" in result.stdout


def test_output_writes_a_file_and_never_over_one_silently(resnet18_onnx, tmp_path):
    result = invoke("model.onnx", "-o", "net.yaml")
    assert result.exit_code == 0 and result.stdout == ""
    # stem conv, bn, relu, maxpool; 8 blocks of conv, bn, relu, conv, bn, add, relu; 3 downsamples of conv, bn;
    # avgpool, flatten, fc: 4 + 56 + 6 + 3 = 69 layers
    assert result.stderr == "wrote net.yaml (69 layers)\n"
    written = (tmp_path / "net.yaml").read_text()
    (tmp_path / "net.yaml").write_text("# my edits\n" + written)
    result = invoke("model.onnx", "--output", "net.yaml")
    assert result.exit_code == 2
    assert result.stderr == "error: --output net.yaml exists — pass --force to overwrite it, or choose another file\n"
    assert (tmp_path / "net.yaml").read_text().startswith("# my edits\n")
    assert invoke("model.onnx", "-o", "net.yaml", "--force").exit_code == 0
    assert (tmp_path / "net.yaml").read_text() == written


@pytest.mark.parametrize("args, message", [
    (["model.onnx", "-o", "."], "error: --output . is a directory — give a file name, e.g. -o net.yaml"),
    (["model.onnx", "-o", "no/such/dir/net.yaml"], "error: --output no/such/dir/net.yaml: no directory "),
    (["model.onnx", "--force"], "error: --force overwrites the --output file — add -o FILE, or leave --force out"),
    (["model.onnx", "--kwargs", "a=1"], "error: --kwargs passes keyword arguments to a PyTorch source's callable"),
    (["net.yaml"], "error: `net.yaml` is not an import source — give an ONNX file (model.onnx), "),
    (["missing.onnx"], "error: no such file: missing.onnx — check the path"),
    (["model.onnx", "--input", "3x0x8"], "error: --input"),
])
def test_bad_input_exits_2(resnet18_onnx, args, message):
    result = invoke(*args)
    assert result.exit_code == 2 and result.stderr.startswith(message), result.output
    assert "Traceback" not in result.output and result.stdout == ""


def test_unsupported_operators_need_the_flag(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "cum.onnx").write_bytes(b"")
    frontend = fake_frontend(monkeypatch, "onnx", with_cumsum)
    result = invoke("cum.onnx")
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr == ("error: cum.onnx: 1 operator type with no convcalc layer kind (1 node): CumSum ×1 "
                             "('/cumsum/CumSum') — pass --allow-unsupported to count them as zero-cost `unsupported` "
                             "placeholders (listed in the report)\n")
    result = invoke("cum.onnx", "--allow-unsupported")
    assert result.exit_code == 0 and frontend.allowed == [False, True]
    assert '- {type: unsupported, name: cumsum, op: CumSum, shape: [4, 8, 8], of: "/cumsum/CumSum"}' in result.stdout
    assert "# unsupported operators, kept as zero-cost `unsupported` placeholders: CumSum ×1" in result.stdout
    assert result.stderr == ("warning: cum.onnx: 1 operator with no layer kind kept as zero-cost `unsupported` "
                             "placeholder (CumSum ×1): the counts leave out their cost\n")


# ---- a real PyTorch module --------------------------------------------------------------------------------------
NET = '''\
import torch
from torch import nn


class Net(nn.Module):
    def __init__(self, width=4, classes=3):
        super().__init__()
        self.conv = nn.Conv2d(3, width, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(width)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(width, classes)

    def forward(self, x):
        x = self.pool(torch.relu(self.bn(self.conv(x))))
        return self.fc(torch.flatten(x, 1))


class Cumulative(nn.Module):
    def forward(self, x):
        return torch.cumsum(x, 1)


def broken():
    raise ValueError("no such width")
'''


@pytest.fixture
def net_py(tmp_path, monkeypatch):
    pytest.importorskip("torch")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "tiny_net.py").write_text(NET)
    return "tiny_net.py"


def test_a_pytorch_module(net_py, tmp_path):
    import torch  # noqa: F401 (the module above needs it)

    result = invoke(f"{net_py}:Net", "--input", "3x8x8", "--kwargs", "width=6", "-o", "net.yaml")
    assert result.exit_code == 0, result.output
    text = (tmp_path / "net.yaml").read_text()
    assert "made by: convcalc import tiny_net.py:Net --input 3x8x8 --kwargs width=6\n" in text
    report = convcalc.analyze(convcalc.load(str(tmp_path / "net.yaml")))
    # torch's sum(p.numel()): conv 6·3·3·3 = 162, bn 2·6 = 12, fc 6·3 + 3 = 21 → 195; buffers: bn's 2·6 = 12
    assert (report.totals.params, report.totals.buffers) == (195, 12)
    # MACs by hand: conv 6·8·8·27 = 10,368; fc 6·3 = 18
    assert report.totals.macs == 10_386


@pytest.mark.parametrize("target, args, message", [
    ("tiny_net.py:broken", ["--input", "3x8x8"], "error: tiny_net.py:broken: calling broken() raised ValueError: "
                                                 "no such width"),
    ("tiny_net.py:Net", [], "error: tiny_net.py:Net: a PyTorch module has no input shape — "),
    ("torch:no_such_package_xyz.nets:build", ["--input", "3x8x8"], "error: torch:no_such_package_xyz.nets:build: "
                                                                  "no module named `no_such_package_xyz`"),
    ("tiny_net.py:Cumulative", ["--input", "3x8x8"], "error: tiny_net.py:Cumulative: 1 operator type with no "
                                                     "convcalc layer kind (1 node): torch.cumsum ×1 ('cumsum')"),
])
def test_pytorch_errors_exit_2(net_py, target, args, message):
    result = invoke(target, *args)
    assert result.exit_code == 2 and result.stderr.startswith(message), result.output
    assert "Traceback" not in result.output


def test_a_pytorch_placeholder_is_analysed_with_the_flag(net_py):
    result = invoke("tiny_net.py:Cumulative", "--input", "3x8x8", "--allow-unsupported")
    assert result.exit_code == 0, result.output
    report = convcalc.analyze(convcalc.load(result.stdout))
    assert [(u.name, u.op, u.node) for u in report.unsupported] == [("cumsum", "torch.cumsum", "cumsum")]
