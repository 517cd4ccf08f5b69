"""The `backward_macs` budget: the dX + dW MACs of one training step (docs/check.md, docs/training.md)."""

from typer.testing import CliRunner

from convcalc.cli.app import app

runner = CliRunner()

# conv1 3→4 3×3 p1 on 8×8: 6,912 MACs (dW only, fed by the input); conv2 4→2: 4,608 MACs, dX + dW = 9,216;
# backward 6,912 + 9,216 = 16,128. With conv1 frozen (trainable: false): conv2's dW alone, 4,608.
SPEC = """name: two
input: [3, 8, 8]
budgets: {{backward_macs: {limit}}}
layers:
  - {{type: conv, name: conv1, out: 4, kernel: 3, padding: 1{frozen}}}
  - {{type: relu}}
  - {{type: conv, name: conv2, out: 2, kernel: 3, padding: 1}}
"""


def _check(tmp_path, limit, frozen=""):
    path = tmp_path / "two.yaml"
    path.write_text(SPEC.format(limit=limit, frozen=frozen))
    return runner.invoke(app, ["check", str(path)])


def test_within_and_over(tmp_path):
    assert _check(tmp_path, 16128).exit_code == 0
    over = _check(tmp_path, 16127)
    assert over.exit_code == 1 and "16,128" in over.output and "conv2" in over.output


def test_trainable_false_is_honoured(tmp_path):
    assert _check(tmp_path, 4608, ", trainable: false").exit_code == 0
    assert _check(tmp_path, 4607, ", trainable: false").exit_code == 1


def test_not_a_max_increase():
    result = runner.invoke(app, ["check", "resnet18", "--max-increase", "backward_macs=2%", "--baseline", "x.json"])
    assert result.exit_code == 2 and "has no backward MACs" in result.output
