"""The SVG charts of convcalc/render/charts.py and the ERF heatmap's SVG: axis numbers, one mark per value, exact
tooltips, escaping, and the outlines of the RF and of the image."""

from __future__ import annotations

import re

import pytest

from convcalc.render.charts import BAR, LINE, SCATTER, Chart, Series, _nice_top, svg, tick_text
from convcalc.render.heatmap import heatmap_svg


@pytest.mark.parametrize("value, top", [(0, 1.0), (0.7, 1.0), (3, 5.0), (2.5e6, 2.5e6), (4_089_184_256, 5e9),
                                        (118_013_952, 2e8), (10, 10.0)])
def test_the_axis_top_is_the_next_round_number(value, top):
    assert _nice_top(value) == pytest.approx(top)


@pytest.mark.parametrize("value, text", [(0, "0"), (12, "12"), (2_500_000, "2.5M"), (1.25e9, "1.25G"),
                                         (625_000, "625K")])
def test_tick_text(value, text):
    assert tick_text(value) == text


def test_bars_one_rect_per_value_with_the_exact_number():
    chart = Chart(BAR, "a <b> & c", "layer", "MACs", ["conv<1>", "fc"],
                  [Series("x", [118_013_952, 40]), Series("y", [1, 0])])
    drawn = svg(chart)
    assert drawn.count('class="bar"') == 4
    assert "conv&lt;1&gt;: 118,013,952 (x)" in drawn        # escaped label, exact count, the series
    assert "<title>a &lt;b&gt; &amp; c</title>" in drawn
    heights = [float(h) for h in re.findall(r'class="bar"[^>]*height="([\d.]+)"', drawn)]
    # in order: (conv<1>, x), (conv<1>, y), (fc, x), (fc, y). The axis tops at 2·10^8 and the plot is 230 px high
    # (300 − 40 below − 30 above), so 118,013,952 is 0.59007 · 230 = 135.72 px
    assert heights[0] == pytest.approx(135.72, abs=0.01)
    assert heights[0] == max(heights) and heights[3] == 0


def test_lines_and_points():
    line = svg(Chart(LINE, "rf", "depth", "RF", ["a", "b", "c"], [Series("RF", [3, 5, 7], [1, 2, 3])], unit="raw"))
    assert line.count("<polyline") == 1 and line.count("<circle") == 3 and "c: RF 7" in line
    points = svg(Chart(SCATTER, "sweep", "params", "MACs", ["w=1", "w=2"],
                       [Series("points", [10, 40], [3, 12])]))
    assert points.count('class="point"') == 2 and "w=2: params 12, MACs 40" in points


def test_heatmap_outlines_the_image_only_when_the_map_reaches_past_it():
    image = [[0.0, 0.5, 0.0], [0.5, 1.0, 0.5], [0.0, 0.5, 0.0]]
    inside = heatmap_svg(image, (0, 0), ((0, 2), (0, 2)), 1, (8, 8), "erf")
    assert 'class="rf-box"' in inside and 'class="image-box"' not in inside
    past = heatmap_svg(image, (-1, -1), ((-1, 1), (-1, 1)), 1, (2, 2), "erf")
    assert 'class="image-box"' in past and "the input image: 2 × 2" in past
    assert past.count("<rect") == 1 + 9 + 1 + 1 + 11 + 1    # background, cells, RF, image, scale, legend box
