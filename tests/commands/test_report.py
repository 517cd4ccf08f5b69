"""`convcalc report` (the HTML page) and `--plot FILE` on analyze, compare, sweep and rf --save: what the files hold,
exit codes, and the checks made before any work. Expected numbers are hand-worked in the comments."""

from __future__ import annotations

import re
import sys

import pytest
from typer.testing import CliRunner

from convcalc.cli.app import app

SMALL = """\
name: small
input: [3, 8, 8]
blocks:
  unit:
    args: {out: null}
    layers:
      - {type: conv, name: conv, out: out, kernel: 3, padding: 1}
      - {type: relu, name: act}
layers:
  - {type: conv, name: stem, out: 4, kernel: 3, padding: 1}
  - {block: unit, name: stage1, out: 4}
  - {type: global_avgpool, name: pool, keepdims: false}
  - {type: linear, name: fc, out: 10}
"""
WIDE = SMALL.replace("name: small", "name: wide").replace("out: 4}", "out: 8}")


@pytest.fixture()
def small(tmp_path):
    path = tmp_path / "small.yaml"
    path.write_text(SMALL)
    return str(path)


@pytest.fixture()
def wide(tmp_path):
    path = tmp_path / "wide.yaml"
    path.write_text(WIDE)
    return str(path)


def run(*args):
    return CliRunner().invoke(app, list(args))


def layer_rows(page: str, table: int = -1) -> list[str]:
    """The body rows of the ``table``-th table of the page (the last one: a network's layers)."""
    body = re.findall(r"<tbody>(.*?)</tbody>", page, re.S)[table]
    return re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S)


# ---- the stage roll-up --------------------------------------------------------------------------------------------
def test_stage_totals_roll_up_the_top_level_blocks():
    import convcalc
    from convcalc.overview import stage_totals

    stages = stage_totals(convcalc.analyze(convcalc.load(SMALL)))
    assert [(s.name, s.layers) for s in stages] == [("stem", 1), ("stage1", 2), ("pool", 1), ("fc", 1)]
    stage1 = stages[1]
    assert stage1.params == 148        # 4·4·3·3 weights + 4 bias
    assert stage1.macs == 9_216        # 4 out · 8·8 positions · 4 in · 3·3 taps
    assert stage1.flops == 18_944      # 2·9,216 + 256 bias adds + 256 relu


# ---- convcalc report ------------------------------------------------------------------------------------------------
def test_report_writes_one_self_contained_page(small, tmp_path):
    out = tmp_path / "small.html"
    result = run("report", small, "-o", str(out))
    assert result.exit_code == 0, result.output
    page = out.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    # nothing to fetch: no external script, stylesheet, image or font; the only URL is the SVG namespace
    assert not re.search(r"<(script|link|img|iframe)\b[^>]*\b(src|href)=", page)
    assert set(re.findall(r"https?://[^\s\"'<>)]+", page)) == {"http://www.w3.org/2000/svg"}
    rows = layer_rows(page)
    assert len(rows) == 5                                   # stem, stage1.conv, stage1.act, pool, fc
    assert 'data-v="6912"' in rows[0]                       # stem: 4·8·8·3·3·3 MACs, exact
    assert "<td>direct</td>" in rows[0] or "<td>winograd" in rows[0]  # the best algorithm column is filled
    assert len(layer_rows(page, -2)) == 4                    # the stage table: stem, stage1, pool, fc
    # charts: MACs and params per layer and per stage, RF by depth, the ERF heatmap
    assert page.count('<svg class="chart"') == 6
    assert "MACs per layer" in page and "Params per stage" in page and "receptive field by depth" in page
    assert 'class="rf-box"' in page and "analytic ERF of" in page
    assert "table.sortable" in page                          # the sorting script
    assert "Roofline time" not in page and "Side by side" not in page
    assert "wrote " in result.stderr


def test_report_bars_have_one_rect_per_layer(small, tmp_path):
    out = tmp_path / "r.html"
    assert run("report", small, "-o", str(out)).exit_code == 0
    page = out.read_text(encoding="utf-8")
    macs_chart = page.split("small: MACs per layer</title>", 1)[1].split("</svg>", 1)[0]
    assert macs_chart.count('class="bar"') == 5
    assert "stem: 6,912" in macs_chart                       # the tooltip holds the exact count


def test_report_to_stdout_and_the_device_columns(small):
    result = run("report", small, "--device", "a100")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("<!DOCTYPE html>")
    for header in ("Bytes moved", "FLOP/byte", "Roofline time", "Bound"):
        assert f">{header}</th>" in result.stdout
    assert "roofline on a100" in result.stdout


def test_report_two_specs_side_by_side(small, wide, tmp_path):
    out = tmp_path / "both.html"
    result = run("report", small, wide, "-o", str(out))
    assert result.exit_code == 0, result.output
    page = out.read_text(encoding="utf-8")
    assert "Side by side" in page and "small vs wide" in page
    assert page.count('<section class="network"') == 2 and "--n:2" in page
    # stage1 MACs: small 9,216; wide 8 out · 8·8 · 4 in · 3·3 = 18,432, ×2
    assert 'data-v="18432"' in page and "×2.000" in page


def test_report_without_spatial_axes_says_why_there_is_no_erf(tmp_path):
    spec = tmp_path / "flat.yaml"
    spec.write_text("name: flat\ninput: [16]\nlayers:\n  - {type: linear, out: 4}\n")
    result = run("report", str(spec))
    assert result.exit_code == 0, result.output
    assert "No analytic ERF" in result.stdout and "no spatial axes" in result.stdout


def test_report_refusals(small, tmp_path):
    result = run("report", small, "-o", str(tmp_path / "missing" / "r.html"))
    assert result.exit_code == 2 and "no directory" in result.stderr
    result = run("report", small, "--dtype", "bfloat16")
    assert result.exit_code == 2 and "needs a device" in result.stderr
    assert run("report").exit_code == 2


# ---- --plot -------------------------------------------------------------------------------------------------------
def test_analyze_plot_svg_needs_nothing_extra(small, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # SVG is drawn without matplotlib
    out = tmp_path / "macs.svg"
    result = run("analyze", small, "--plot", str(out), "--format", "json")
    assert result.exit_code == 0, result.output
    assert result.stdout.lstrip().startswith("{")        # the JSON on stdout is unchanged
    svg = out.read_text(encoding="utf-8")
    assert svg.startswith("<?xml") and svg.count('class="bar"') == 5


def test_analyze_fast_path_takes_plot(small, tmp_path):
    from convcalc.cli.entry import parse_analyze

    assert parse_analyze([small, "--plot", "x.svg"])["plot"] == "x.svg"


@pytest.mark.parametrize("args, heavy", [
    (["analyze", "{spec}", "--plot", "{dir}/a.png"], "convcalc.cost.analysis.analyze"),
    (["compare", "{spec}", "{spec}", "--plot", "{dir}/c.pdf"], "convcalc.cost.analysis.analyze"),
    (["sweep", "{spec}", "--set", "x=1,2", "--plot", "{dir}/s.png"], "convcalc.compare.sweep.sweep"),
    (["rf", "{spec}", "--erf", "analytic", "--save", "{dir}/e.pdf"], "convcalc.erf.analytic.analytic_erf"),
])
def test_png_and_pdf_without_matplotlib_fail_before_any_work(args, heavy, small, tmp_path, monkeypatch):
    def no_work(*_, **__):
        raise AssertionError(f"{heavy} ran before the check")

    monkeypatch.setitem(sys.modules, "matplotlib", None)  # as if it were not installed
    monkeypatch.setattr(heavy, no_work)
    result = run(*[a.format(spec=small, dir=tmp_path) for a in args])
    assert result.exit_code == 2, result.output
    assert 'pip install "convcalc[plot]"' in result.stderr and "needs matplotlib" in result.stderr


def test_plot_refusals(small, tmp_path):
    result = run("analyze", small, "--plot", str(tmp_path / "a.gif"))
    assert result.exit_code == 2 and "unknown file type `.gif`" in result.stderr
    result = run("analyze", small, "--plot", str(tmp_path / "nowhere" / "a.svg"))
    assert result.exit_code == 2 and "no directory" in result.stderr
    result = run("sweep", small, "--set", "x=1,2", "--format", "jsonl", "--plot", str(tmp_path / "s.svg"))
    assert result.exit_code == 2 and "streams" in result.stderr
    result = run("compare", "--layer", "conv 8->8 k3 @8x8", "--plot", str(tmp_path / "c.svg"))
    assert result.exit_code == 2 and "--layer" in result.stderr


def test_compare_and_sweep_plot_svg(small, wide, tmp_path):
    out = tmp_path / "c.svg"
    assert run("compare", small, wide, "--plot", str(out)).exit_code == 0
    svg = out.read_text(encoding="utf-8")
    assert svg.count('class="bar"') == 8                    # 4 stages × 2 networks
    spec = tmp_path / "swept.yaml"
    spec.write_text(SMALL.replace("name: small\n", "name: swept\nvars: {w: 4}\n").replace("out: 4}", "out: w}"))
    out = tmp_path / "s.svg"
    result = run("sweep", str(spec), "--set", "w=2,4,8", "--plot", str(out))
    assert result.exit_code == 0, result.output
    assert out.read_text(encoding="utf-8").count('class="point"') == 3


@pytest.mark.parametrize("suffix, magic", [("png", b"\x89PNG"), ("pdf", b"%PDF")])
def test_png_and_pdf_with_matplotlib(suffix, magic, small, tmp_path):
    pytest.importorskip("matplotlib")
    for args in (["analyze", small], ["compare", small, small], ["rf", small, "--erf", "analytic"]):
        out = tmp_path / f"{args[0]}.{suffix}"
        flag = "--save" if args[0] == "rf" else "--plot"
        result = run(*args, flag, str(out))
        assert result.exit_code == 0, result.output
        assert out.read_bytes()[:4] == magic
