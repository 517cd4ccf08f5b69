"""The `backward_flops` budget: the backward FLOPs of one training step (docs/check.md, docs/flops.md)."""

from typer.testing import CliRunner

from convcalc.cli.app import app

runner = CliRunner()

# conv1 3→4 3×3 p1 on 8×8 (6,912 MACs, bias 256 adds), fed by the input: dW only, 2·6,912 + 256 = 14,080;
# relu on 4·64 = 256 elements: 256; conv2 4→2 (4,608 MACs, bias 128): 2·(4,608 + 4,608) + 128 = 18,560.
# Total 32,896. With conv1 frozen: conv2's weight and bias gradients alone, 9,216 + 128 = 9,344.
SPEC = """name: two
input: [3, 8, 8]
budgets: {{backward_flops: {limit}}}
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
    assert _check(tmp_path, 32896).exit_code == 0
    over = _check(tmp_path, 32895)
    assert over.exit_code == 1 and "32,896" in over.output and "conv2" in over.output


def test_trainable_false_is_honoured(tmp_path):
    assert _check(tmp_path, 9344, ", trainable: false").exit_code == 0
    assert _check(tmp_path, 9343, ", trainable: false").exit_code == 1


def test_not_a_max_increase():
    result = runner.invoke(app, ["check", "resnet18", "--max-increase", "backward_flops=2%", "--baseline", "x.json"])
    assert result.exit_code == 2 and "has no backward FLOPs" in result.output
