"""The `backward_macs` and `backward_flops` budgets of one training step (docs/check.md, docs/training.md,
docs/flops.md): one table, one row per budget, each total worked by hand."""

import pytest
from typer.testing import CliRunner

from convcalc.cli.app import app

runner = CliRunner()

# conv1 3→4 3×3 p1 on 8×8: 6,912 MACs (bias 256 adds), fed by the input: dW only; relu on 4·64 = 256 elements;
# conv2 4→2: 4,608 MACs (bias 128), dX + dW.
# backward_macs: 6,912 + 2·4,608 = 16,128; with conv1 frozen (trainable: false) conv2's dW alone, 4,608.
# backward_flops: conv1 2·6,912 + 256 = 14,080; relu 256; conv2 2·(4,608 + 4,608) + 128 = 18,560; total 32,896;
# with conv1 frozen conv2's weight and bias gradients alone, 9,216 + 128 = 9,344.
SPEC = """name: two
input: [3, 8, 8]
budgets: {{{quantity}: {limit}}}
layers:
  - {{type: conv, name: conv1, out: 4, kernel: 3, padding: 1{frozen}}}
  - {{type: relu}}
  - {{type: conv, name: conv2, out: 2, kernel: 3, padding: 1}}
"""

#: quantity, the total, the total with conv1 frozen, what a baseline lacks (the refusal's words)
BUDGETS = [
    ("backward_macs", 16128, 4608, "backward MACs"),
    ("backward_flops", 32896, 9344, "backward FLOPs"),
]


def _check(tmp_path, quantity, limit, frozen=""):
    path = tmp_path / "two.yaml"
    path.write_text(SPEC.format(quantity=quantity, limit=limit, frozen=frozen))
    return runner.invoke(app, ["check", str(path)])


@pytest.mark.parametrize("quantity, total, frozen_total, words", BUDGETS)
def test_within_and_over(tmp_path, quantity, total, frozen_total, words):
    assert _check(tmp_path, quantity, total).exit_code == 0
    over = _check(tmp_path, quantity, total - 1)
    assert over.exit_code == 1 and f"{total:,}" in over.output and "conv2" in over.output


@pytest.mark.parametrize("quantity, total, frozen_total, words", BUDGETS)
def test_trainable_false_is_honoured(tmp_path, quantity, total, frozen_total, words):
    assert _check(tmp_path, quantity, frozen_total, ", trainable: false").exit_code == 0
    assert _check(tmp_path, quantity, frozen_total - 1, ", trainable: false").exit_code == 1


@pytest.mark.parametrize("quantity, total, frozen_total, words", BUDGETS)
def test_not_a_max_increase(quantity, total, frozen_total, words):
    result = runner.invoke(app, ["check", "resnet18", "--max-increase", f"{quantity}=2%", "--baseline", "x.json"])
    assert result.exit_code == 2 and f"has no {words}" in result.output
