"""Every test model (tests/importers/models.py) exported to ONNX by torch.onnx.export and imported from the file:
params and buffers as torch counts them, MACs as the hook counter (tests/importers/hooks.py) counts them, the same
totals as the model's torch import (test_cross.py), and ``--against-original`` (onnxruntime) green in float32.

The exports (tests/importers/onnx_exports.py) keep batch norm as BatchNormalization; the exporter's constant
folding, which folds it into the convs, is tested on its own (the counts differ there by construction).
"""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

from torch import nn  # noqa: E402

from convcalc.cost.analysis import analyze  # noqa: E402
from convcalc.errors import SpecError  # noqa: E402
from convcalc.importers.original import check  # noqa: E402
from convcalc.importers.source import load_imported  # noqa: E402

from . import models  # noqa: E402
from .hooks import count_macs  # noqa: E402
from .onnx_exports import loaded, meta_model  # noqa: E402
from .torch_helpers import torch_counts  # noqa: E402


def expected_warnings(reference: nn.Module) -> list:
    """A file with biased convs and no BatchNormalization may have had batch norm folded in by the exporter, and
    the import says so. The file cannot tell it from a model that never had batch norm (ConvNeXt, OpsNet here),
    so those get the warning too."""
    norms = any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in reference.modules())
    biased = any(isinstance(m, nn.modules.conv._ConvNd) and m.bias is not None for m in reference.modules())
    return [] if norms or not biased else [FOLDED_WARNING]


FOLDED_WARNING = ("the model's convs have biases and it has no BatchNormalization: if it was trained with batch "
                  "norm, the exporter folded it into the convs, so params and buffers differ from the training "
                  "model's (export with do_constant_folding=False, or training=TrainingMode.PRESERVE, to keep it)")


# ---- counts --------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(models.MODELS))
def test_every_export_imports_with_torchs_own_counts(name, onnx_exports):
    graph, model = loaded(onnx_exports.path(name))
    reference = meta_model(name)
    assert model.unsupported == [] and model.warnings == expected_warnings(reference)
    report = analyze(graph)
    assert (report.totals.params, report.totals.buffers) == torch_counts(reference)
    assert report.totals.macs == count_macs(reference, models.MODELS[name][1])


# ---- against the original --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(models.MODELS))
def test_against_original_agrees_in_float32(name, onnx_exports):
    graph, model = loaded(onnx_exports.path(name))
    result = check(model, graph, dtype="float32", batch=2)
    assert result.ok, result.sentence()
    assert result.output_compared and result.batch == 2
    assert len(result.rows) == len(model.layers) and result.skipped == []


def test_float64_is_refused_with_the_reason(onnx_exports):
    graph, model = loaded(onnx_exports.path("resnet_stack"))
    with pytest.raises(SpecError) as info:
        check(model, graph, dtype="float64")
    assert str(info.value) == (
        f"{model.source}: the original cannot run in float64 (onnxruntime has no float64 CPU kernel for Conv, "
        "ConvTranspose, AveragePool, GlobalAveragePool, Resize or most activations) — use --dtype float32 "
        "(compared to a tolerance derived from float32's epsilon)")


def test_the_command_line_check(onnx_exports):
    from typer.testing import CliRunner

    from convcalc.cli.app import app

    path = onnx_exports.path("mobilenet_v3")
    result = CliRunner().invoke(app, ["verify", path, "--against-original", "--batch", "3"])
    assert result.exit_code == 0, result.output
    assert f"{len(loaded(path)[1].layers)}/{len(loaded(path)[1].layers)} mapped tensors agree" in result.stdout
    result = CliRunner().invoke(app, ["verify", path, "--against-original", "--dtype", "float64"])
    assert result.exit_code == 2
    assert "the original cannot run in float64 (onnxruntime has no float64 CPU kernel" in result.output
    assert "Traceback" not in result.output


# ---- batch norm folded by the exporter ----------------------------------------------------------------------------
def test_folded_batch_norm_is_said_and_counted_as_exported(onnx_exports):
    """With constant folding the exporter folds each BatchNorm2d into the conv before it: the conv (bias=False
    here) gains a bias of C values, and the norm's weight, bias (2C params) and running statistics (2C buffers)
    are gone. So params = torch's − Σ C over the norms, buffers = 0; MACs are the same."""
    path = onnx_exports.folded("resnet_stack")
    graph, model = loaded(path)
    assert model.warnings == [FOLDED_WARNING]
    reference = meta_model("resnet_stack")
    norms = [m.num_features for m in reference.modules() if isinstance(m, nn.BatchNorm2d)]
    assert len(norms) == 23 and all(m.bias is None for m in reference.modules() if isinstance(m, nn.Conv2d))
    params, _ = torch_counts(reference)
    report = analyze(graph)
    assert (report.totals.params, report.totals.buffers) == (params - sum(norms), 0)
    assert report.totals.macs == count_macs(reference, models.MODELS["resnet_stack"][1])
    assert not [l for l in model.layers if l.kind == "batchnorm"]
    result = check(model, graph, dtype="float32")
    assert result.ok, result.sentence()


# ---- an operator with no layer kind -------------------------------------------------------------------------------
def test_the_unsupported_operator_is_listed(onnx_exports):
    path = onnx_exports.path("unsupported")
    with pytest.raises(SpecError) as info:
        load_imported(path)
    message = str(info.value)
    assert message.startswith(f"{path}: 1 operator type with no convcalc layer kind (1 node): CumSum ×1 ('")
    assert "pass --allow-unsupported" in message


def test_an_exported_resnet50_reads_as_a_spec_of_at_most_three_times_the_hand_written_lines(tmp_path):
    # the readability goal of issue 15: configs/resnet50.yaml has 44 lines, the import at most 3 × 44; on a 3×64×64
    # input (the export fixes it; params do not depend on it): torchvision's 25,557,032 params
    from convcalc.importers.source import import_model
    from convcalc.importers.writer import write_spec

    from .handmade import GOAL
    from .onnx_exports import export

    torch.manual_seed(0)
    path = export(models.resnet50().eval(), (3, 64, 64), tmp_path / "resnet50.onnx")
    text = write_spec(import_model(path))
    assert len(text.splitlines()) <= GOAL
    assert "  - {block: layer_block, name: layer3, repeat: 6, out: 256," in text
    report = analyze(load_imported(path)[0].expand())
    assert report.totals.params == 25_557_032
    assert "layer4.2.conv3" in [row.name for row in report.layers]
