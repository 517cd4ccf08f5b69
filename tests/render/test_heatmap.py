"""The plain-text ERF heatmap draws the whole theoretical RF box, also when two pixels share a character."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from convcalc.cli.app import app

# three 9×9 convs: RF 1 + 3·8 = 25; the default unit of a 47×47 output is its centre, 23, so the box spans input
# rows and columns 23 − 12 = 11 … 35. The map is 47 wide, more than 32 cells of two characters, so the text draws
# 2×2 pixels a cell: rows/columns 11 and 35 are odd, the second pixel of cells 5 and 17.
SPEC = """\
name: box
input: [1, 47, 47]
layers:
  - {type: conv, out: 2, kernel: 9, padding: 4}
  - {type: conv, out: 2, kernel: 9, padding: 4}
  - {type: conv, out: 2, kernel: 9, padding: 4}
"""


def test_the_whole_rf_box_is_drawn_at_two_pixels_a_cell(tmp_path):
    pytest.importorskip("numpy")
    path = tmp_path / "box.yaml"
    path.write_text(SPEC)
    result = CliRunner().invoke(app, ["rf", str(path), "--erf", "measured"], env={"NO_COLOR": "1"})
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("Heatmap"))
    assert "theoretical RF outlined" in lines[start]
    rows = lines[start + 1:start + 1 + 24]  # 47 rows, two a line
    top, bottom = rows[5], rows[17]
    assert top == " " * 10 + "[]" * 13 and bottom == " " * 10 + "[]" * 13  # cells 5 … 17, two characters each
    for row in rows[6:17]:
        assert row[10:12] == "[]" and row[34:36] == "[]", row  # both sides on every row between
    assert all("[]" not in row for row in rows[:5] + rows[18:])
