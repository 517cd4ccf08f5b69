"""`convcalc sweep` on the shipped MobileNet v1 config: the paper's width and resolution multipliers.

Howard et al. 2017 ("MobileNets"), Table 6 (width multiplier α at 224) and Table 7 (resolution ρ at α = 1.0), in
millions of mult-adds and parameters:

    1.0 MobileNet-224  569 M MACs  4.2 M params       1.0 MobileNet-192  418 M
    0.75 MobileNet-224 325 M       2.6 M              1.0 MobileNet-160  290 M
    0.5 MobileNet-224  149 M       1.3 M              1.0 MobileNet-128  186 M
    0.25 MobileNet-224  41 M       0.5 M

The exact values pinned below are what configs/mobilenet_v1.yaml gives (its header derives 4,231,976 params and
568,740,352 MACs at α = 1.0, ρ = 224 from keras's layer list); each is checked to round to the paper's figure.
The paper says cost falls "roughly quadratically" with α and exactly quadratically with ρ (for the convs):
MACs(α)/MACs(1) ≈ α², MACs(ρ)/MACs(224) ≈ (ρ/224)². The classifier (1024α·1000) is linear in α, which is why
the small widths sit above α²; at α = 0.25: 41,030,272 / 568,740,352 = 0.0721 against 0.0625.
"""

from __future__ import annotations

import csv
import io
import json

import pytest
from typer.testing import CliRunner

from convcalc.cli.app import app
from convcalc.compare.sweep import parse_sweep_sets, sweep
from convcalc.errors import SpecError

ALPHAS = ["0.25", "0.5", "0.75", "1.0"]
RESOLUTIONS = ["128", "160", "192", "224"]

# (alpha, resolution): (params, MACs) exactly as the shipped config gives them, and the paper's (M MACs, M params)
PINNED = {
    ("1.0", "224"): (4_231_976, 568_740_352, 569, 4.2),
    ("0.75", "224"): (2_585_560, 325_400_448, 325, 2.6),
    ("0.5", "224"): (1_331_592, 149_497_088, 149, 1.3),
    ("0.25", "224"): (470_072, 41_030_272, 41, 0.5),
    ("1.0", "192"): (4_231_976, 418_121_728, 418, 4.2),
    ("1.0", "160"): (4_231_976, 290_675_200, 290, 4.2),  # 290.68: the paper truncates
    ("1.0", "128"): (4_231_976, 186_400_768, 186, 4.2),
}


@pytest.fixture(scope="module")
def grid():
    return sweep("mobilenet_v1", {"alpha": ALPHAS, "resolution": RESOLUTIONS})


def test_grid_is_the_cartesian_product_in_order(grid):
    assert len(grid.points) == 16
    assert [tuple(p.values.values()) for p in grid.points[:5]] == [
        ("0.25", "128"), ("0.25", "160"), ("0.25", "192"), ("0.25", "224"), ("0.5", "128")]


@pytest.mark.parametrize("key", sorted(PINNED))
def test_pinned_values_round_to_the_paper(grid, key):
    params, macs, paper_mmacs, paper_mparams = PINNED[key]
    point = grid.point({"alpha": key[0], "resolution": key[1]})
    assert (point.params, point.macs) == (params, macs)
    assert abs(macs / 1e6 - paper_mmacs) < 1
    assert round(params / 1e6, 1) == paper_mparams


def test_params_do_not_depend_on_resolution(grid):
    for alpha in ALPHAS:
        assert len({grid.point({"alpha": alpha, "resolution": r}).params for r in RESOLUTIONS}) == 1


def test_macs_scale_about_quadratically_with_alpha_and_resolution(grid):
    full = grid.point({"alpha": "1.0", "resolution": "224"}).macs
    for alpha in ALPHAS:
        measured = grid.point({"alpha": alpha, "resolution": "224"}).macs / full
        expected = float(alpha) ** 2
        assert expected <= measured <= 1.2 * expected, alpha  # 0.0721 vs 0.0625 at α = 0.25 is the worst
    for resolution in RESOLUTIONS:
        measured = grid.point({"alpha": "1.0", "resolution": resolution}).macs / full
        expected = (int(resolution) / 224) ** 2
        assert abs(measured / expected - 1) < 0.01, resolution  # 186,400,768 / 568,740,352 = 0.3277 vs 0.3265
    exponents = grid.exponents("macs")
    assert 1.85 < exponents["alpha"] < 2.0  # log(568.74 / 41.03) / log(4) = 1.897
    assert 1.98 < exponents["resolution"] < 2.01  # log(568.74 / 186.40) / log(224 / 128) = 1.993
    assert grid.exponents("params")["resolution"] == 0


def test_parse_sweep_sets():
    assert parse_sweep_sets(["alpha=0.5, 1.0", "num_classes=10"]) == ({"alpha": ["0.5", "1.0"]},
                                                                       {"num_classes": "10"})
    # a comma inside a call's parentheses is the call's, not a new value
    assert parse_sweep_sets(["w=max(1, 2),3"]) == ({"w": ["max(1, 2)", "3"]}, {})
    for bad in (["alpha"], ["alpha=0.5,"], ["alpha=1,2", "alpha=3,4"]):
        with pytest.raises(SpecError):
            parse_sweep_sets(bad)


def run(*args):
    return CliRunner().invoke(app, ["sweep", "mobilenet_v1", *args])


def test_cli_table_has_pivot_chart_and_scaling():
    result = run("--set", "alpha=0.25,0.5,0.75,1.0", "--set", "resolution=128,160,192,224", "--units", "raw")
    assert result.exit_code == 0, result.output
    out = result.output
    assert "mobilenet_v1: 16 points" in out
    assert "MACs by alpha (rows) and resolution (columns)" in out
    assert "568,740,352" in out and "41,030,272" in out
    assert "MACs against params" in out and "o alpha=0.25" in out and "* alpha=1.0" in out
    assert "MACs ∝ alpha^1.90 · resolution^1.99" in out


def test_cli_csv_and_json():
    result = run("--set", "alpha=0.5,1.0", "--set", "resolution=224", "-f", "csv")
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.output)))
    assert [(r["alpha"], int(r["params"]), int(r["macs"])) for r in rows] == [
        ("0.5", 1_331_592, 149_497_088), ("1.0", 4_231_976, 568_740_352)]
    result = run("--set", "alpha=0.5,1.0", "-f", "json")
    data = json.loads(result.output)
    assert data["vars"] == {"alpha": ["0.5", "1.0"]}
    assert [p["macs"] for p in data["points"]] == [149_497_088, 568_740_352]


def test_cli_markdown_is_a_table():
    result = run("--set", "alpha=0.5,1.0", "--set", "resolution=160,224", "-f", "markdown")
    assert result.exit_code == 0, result.output
    lines = [line for line in result.output.splitlines() if line.startswith("|")]
    assert lines[0].startswith("| alpha | resolution | Params |")
    assert set(lines[1]) <= set("|-:")
    assert len({line.count("|") for line in lines[:6]}) == 1


@pytest.mark.parametrize("args, message", [
    (["--set", "width=0.5,1.0"], "no var named `width`"),
    (["--set", "alpha=1.0"], "nothing to sweep"),
    ([], "nothing to sweep"),
    (["--set", "alpha"], "is not NAME=VALUE"),
])
def test_cli_errors_exit_2_without_traceback(args, message):
    result = run(*args)
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_sweep_reports_each_point_to_its_progress(jobs):
    from convcalc.render.progress import Progress

    seen = []

    class Recording(Progress):
        def _draw(self, label):
            seen.append((self.done, label))

    progress = Recording(0)
    axes, fixed = parse_sweep_sets(["alpha=0.5,1.0", "resolution=128,160"])
    result = sweep("mobilenet_v1", axes, fixed, jobs=jobs, progress=progress)
    assert len(result.points) == 4 and progress.total == 4  # 2 × 2 points, in grid order
    assert seen == [(1, "alpha=0.5 resolution=128"), (2, "alpha=0.5 resolution=160"),
                    (3, "alpha=1.0 resolution=128"), (4, "alpha=1.0 resolution=160")]
