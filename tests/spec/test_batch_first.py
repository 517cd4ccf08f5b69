"""`input: [1, 3, 224, 224]` (torchinfo's batch-first habit) makes a 3-D network: say so, and how to write it."""

from __future__ import annotations

import pytest

import convcalc

SPEC = "input: {input}\nlayers:\n  - {{type: conv, out: 8, kernel: 3}}\n"


def warnings(input_text: str, **kw) -> list[str]:
    return convcalc.analyze(SPEC.format(input=input_text), **kw).warnings


def test_batch_first_input_warns_with_the_fix():
    report = convcalc.analyze(SPEC.format(input="[1, 3, 224, 224]"))
    # read as C=1, D=3, H=W=224: a 3×3×3 conv, output 8×1×222×222
    assert report.layers[0].output_shape == [8, 1, 222, 222]
    (warning,) = report.warnings
    assert warning.startswith("<string>:1:8: input: [1, 3, 224, 224] is read as [C, D, H, W]: a 3-D network with "
                              "1 channel and depth 3")
    assert "write `input: [3, 224, 224]` for a 2-D network on 3-channel images" in warning


def test_batch_first_input_option_warns_in_its_own_terms():
    (warning,) = warnings("[3, 32, 32]", input=(1, 3, 32, 32))
    assert warning.startswith("--input 1x3x32x32 is read as [C, D, H, W]") and "write --input 3x32x32" in warning


@pytest.mark.parametrize("shape", ["[3, 224, 224]", "[1, 224, 224]", "[3, 16, 112, 112]", "[1, 16, 112, 112]",
                                   "[1, 4, 16, 16]"])
def test_no_warning_for_real_inputs(shape):
    # 2-D (3 or 1 channels), video (C=3, 16 frames), one-channel volumes of depth 16, a small volume (16 < 8·4)
    assert warnings(shape) == []


def test_the_cli_prints_it_on_stderr(tmp_path):
    from typer.testing import CliRunner

    from convcalc.cli.app import app

    path = tmp_path / "net.yaml"
    path.write_text(SPEC.format(input="[1, 3, 64, 64]"))
    result = CliRunner().invoke(app, ["analyze", str(path)])
    assert result.exit_code == 0
    assert "warning: " in result.stderr and "write `input: [3, 64, 64]`" in result.stderr
