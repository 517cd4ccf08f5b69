"""`convcalc verify --train` passes on every shipped config: the executor's training step (its own backward pass,
computing the needed input gradients and every weight gradient) performs exactly the dX and dW MACs per layer
that `convcalc cost --train` predicts.

Run at small inputs to keep the file short (measured on the shared 2-core machine: about 70 s in all, most of it
allocating the weights of vgg16, alexnet and the 3-D nets, which no input size shrinks).
"""

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from convcalc.cli.app import app

pytest.importorskip("numpy")

ROOT = Path(__file__).resolve().parents[2]
CONFIGS = sorted(ROOT.joinpath("configs").glob("*.yaml"))
VARIANTS = sorted(ROOT.joinpath("configs", "variants").glob("*.yaml"))
#: the smallest input each network takes (its fixed pools and merges set the floor), else 3×32×32
SMALL = {
    "alexnet": "3x63x63",
    "alexnet_bvlc": "3x96x96",
    "c3d": "3x16x32x32",
    "deepface": "3x96x96",
    "deeplabv3_resnet50": "--set resolution=64",
    "inception_v3": "3x96x96",
    "r3d_18": "3x4x16x16",
    "shufflenet_v1_g3": "",          # its global pool is a fixed 7×7: only 224×224
    "xception": "3x99x99",
    "dcgan_generator": "",
}

runner = CliRunner()


@pytest.mark.parametrize("config", CONFIGS + VARIANTS,
                         ids=[c.stem for c in CONFIGS] + [f"variants/{c.stem}" for c in VARIANTS])
def test_verify_train_config(config):
    args = ["verify", str(config), "--train", "--format", "json"]
    if config in CONFIGS:
        small = SMALL.get(config.stem, "3x32x32")
        args += small.split() if small.startswith("--") else ["--input", small] if small else []
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["ok"] and data["train"] and all(row["ok"] for row in data["train"])
    # a plain first layer, fed by the input, computes no input gradient (a composite one still runs its inner
    # stages' input gradients, for the weights of the stages before them)
    first = data["train"][0]
    if first["type"] in ("conv", "depthwise", "pointwise", "conv_transpose", "linear"):
        assert first["executed"]["dx_macs"] == 0


def test_verify_train_frozen():
    """Frozen layers: the executor skips their weight gradients, and the layers before the first trainable one
    do no backward at all; the cost model agrees."""
    result = runner.invoke(app, ["verify", "resnet18", "--input", "3x32x32", "--train", "--freeze", "conv1",
                                 "--freeze", "bn1", "--freeze", "layer1", "--format", "json"])
    assert result.exit_code == 0, result.output
    rows = {row["name"]: row for row in json.loads(result.stdout)["train"]}
    assert rows["conv1"]["executed"] == {"dx_macs": 0, "dw_macs": 0}
    assert rows["layer1.1.conv2"]["executed"] == {"dx_macs": 0, "dw_macs": 0}
    # layer2.0.conv1: 3×3, 64 → 128, stride 2, on 8×8 → 4×4: 128·16·64·9 = 1,179,648 MACs, only dW (nothing
    # trainable above it)
    assert rows["layer2.0.conv1"]["executed"] == {"dx_macs": 0, "dw_macs": 1_179_648}


def test_verify_freeze_needs_train():
    result = runner.invoke(app, ["verify", "resnet18", "--freeze", "conv1"])
    assert result.exit_code == 2
    assert "--train" in result.output


def test_verify_train_table():
    result = runner.invoke(app, ["verify", "configs/variants/separable.yaml", "--train"])
    assert result.exit_code == 0, result.output
    assert "training step: input-gradient (dX) and weight-gradient (dW) MACs" in result.stdout
    assert "layers agree with `convcalc cost --train`" in result.stdout
