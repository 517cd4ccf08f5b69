"""An import reports its stages and, for a PyTorch module, each node it traces, to a progress bar."""

from __future__ import annotations

import pytest

pytest.importorskip("torch")

TINY = '''\
import torch.nn as nn


def tiny():
    return nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.Conv2d(4, 2, 1))
'''


def test_a_torch_import_reports_stages_and_every_traced_node(tmp_path):
    from convcalc.importers.source import imported_spec
    from convcalc.render.progress import Progress

    path = tmp_path / "tiny_net.py"
    path.write_text(TINY)
    seen = []

    class Recording(Progress):
        def _draw(self, label):
            seen.append((self.done, label))

    progress = Recording(0)
    imported_spec(f"{path}:tiny", (3, 8, 8), progress=progress)
    # 4 stages (reading, tracing, checking, writing) + the fx graph's 5 nodes: input, 3 modules, output
    assert progress.total == 4 + 5 and progress.done == progress.total
    labels = [label for _, label in seen]
    assert labels[0].startswith("reading ") and labels[1] == "tracing"
    assert [label for label in labels if label.startswith("tracing ")] == [
        "tracing input_1", "tracing _0", "tracing _1", "tracing _2", "tracing output"]
    assert labels[-3:] == ["checking 3 layers", "writing the spec", ""]
    assert [done for done, _ in seen] == sorted(done for done, _ in seen)  # it only moves forward


def test_import_output_is_checked_before_the_import(tmp_path):
    from typer.testing import CliRunner

    from convcalc.cli.app import app

    path = tmp_path / "tiny_net.py"
    path.write_text(TINY)
    result = CliRunner().invoke(app, ["import", f"{path}:tiny", "--input", "3x8x8", "-o",
                                      str(tmp_path / "missing" / "net.yaml")])
    assert result.exit_code == 2 and "no directory" in result.stderr
