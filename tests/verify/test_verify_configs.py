"""`convcalc verify` passes (analytic == executed for every layer) on every shipped config, the networks of configs/
and the per-kind examples of configs/variants/ (all small: run at their own input).

Heavy configs (above ~2 GMACs at their default input) run on a reduced input so the file stays well under 60 s;
the comparison is the same, only the spatial size changes.
"""

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from convcalc.cli.app import app

pytest.importorskip("numpy")

CONFIGS = sorted(Path(__file__).resolve().parents[2].joinpath("configs").glob("*.yaml"))
VARIANTS = sorted(Path(__file__).resolve().parents[2].joinpath("configs", "variants").glob("*.yaml"))
REDUCED = {
    "alexnet": "3x127x127",
    "c3d": "3x16x64x64",
    # 0.5 GMACs but 138 M params (525 MiB of weights); at 80×80: C1 70, M2 35, C3 27, L4 19, L5 7, L6 3
    "deepface": "3x80x80",
    "r3d_18": "3x8x64x64",
    "deeplabv3_resnet50": "--set resolution=64",
    "vgg16": "3x64x64",
}

runner = CliRunner()


@pytest.mark.parametrize("config", CONFIGS + VARIANTS,
                         ids=[c.stem for c in CONFIGS] + [f"variants/{c.stem}" for c in VARIANTS])
def test_verify_config(config):
    args = ["verify", str(config), "--format", "json"]
    if config in CONFIGS and config.stem in REDUCED:
        reduced = REDUCED[config.stem]
        args += reduced.split() if reduced.startswith("--") else ["--input", reduced]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["ok"] and all(row["ok"] for row in data["layers"])
