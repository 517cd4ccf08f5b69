"""Where convcalc follows PyTorch's own rules rather than the exact arithmetic: ceil-mode pooling whose kernel is
larger than the padded input, upsampling by a scale in double precision, and the inputs torch refuses that convcalc
accepts with a warning (AvgPool3d/LPPool3d smaller than the kernel, a linear mode on another rank, a flat channel
shuffle). Expected sizes worked by hand with torch's formulas (in the comments); each was also checked against
torch 2.13."""

from __future__ import annotations

import numpy as np
import pytest

import convcalc
from convcalc.cost.analysis import expand
from convcalc.errors import SpecError
from convcalc.executor import run

from spec_helpers import analyze_layers, one

POOLS = ["maxpool", "minpool", "avgpool", "lppool"]


def pool(kind, **fields):
    layer = {"type": kind, **fields}
    if kind == "lppool":
        layer["p"] = 2
    return layer


@pytest.mark.parametrize("kind", POOLS)
@pytest.mark.parametrize("sizes", [(1,), (1, 1), (1, 1, 1)])
def test_ceil_mode_window_longer_than_the_input(kind, sizes):
    # torch: ceil((1 + 0 + 0 − 2) / 2) + 1 = ceil(−1/2) + 1 = 0 + 1 = 1; the window starts at 0, inside the input,
    # so it is kept: maxpool kernel 2, ceil_mode on length 1 gives 1 (avg_pool1d(ones(1), 2, ceil_mode=True) = 1)
    row = one((2, *sizes), pool(kind, kernel=2, ceil_mode=True))
    assert row.output_shape == [2, *sizes]


@pytest.mark.parametrize("kind", POOLS)
def test_ceil_mode_kernel_three_stride_two_on_two(kind):
    # ceil((2 − 3) / 2) + 1 = 0 + 1 = 1 along both axes; 1 window of 3×3 taps per channel
    row = one((3, 2, 2), pool(kind, kernel=3, stride=2, ceil_mode=True))
    assert row.output_shape == [3, 1, 1]


def test_ceil_mode_with_padding_and_an_overhang():
    # n = 2, k = 4, s = 3, p = 1: ceil((2 + 1 + 1 − 4) / 3) + 1 = 0 + 1 = 1
    assert one((1, 2), {"type": "maxpool", "kernel": 4, "stride": 3, "padding": 1, "ceil_mode": True}
               ).output_shape == [1, 1]


def test_ceil_mode_runs_in_the_executor_as_torch_does():
    # avg of the one real tap: torch divides by the window clipped to the padded input, min(0 + 2, 1 + 0) − 0 = 1
    graph = expand(convcalc.load({"name": "t", "input": [1, 1], "layers": [{"type": "avgpool", "kernel": 2,
                                                                      "ceil_mode": True}]}))
    out = run(graph, x=np.full((1, 1, 1), 5.0)).output
    assert out.shape == (1, 1, 1) and out[0, 0, 0] == 5.0


def test_ceil_mode_refusal_states_its_arithmetic_consistently():
    # stride 1: ceil((1 − 2) / 1) + 1 = −1 + 1 = 0, a true "below 1"
    with pytest.raises(SpecError) as info:
        one((2, 1), {"type": "maxpool", "kernel": 2, "stride": 1, "ceil_mode": True})
    message = f"{info.value.message} — {info.value.hint}"
    assert "ceil((1 + 0 + 0 − 2) / 1) + 1 = 0, below 1" in message
    assert "1 short of the effective kernel (2)" in message


def test_floor_mode_still_needs_a_whole_window():
    # floor((1 − 2) / 2) + 1 = −1 + 1 = 0
    with pytest.raises(SpecError) as info:
        one((2, 1), {"type": "maxpool", "kernel": 2})
    assert "floor((1 + 0 + 0 − 2) / 2) + 1 = 0, below 1" in info.value.message


# ---- upsample by a scale: torch's double precision ------------------------------------------------------------
@pytest.mark.parametrize("scale, expected", [
    (2.3, 114),      # 50·2.3 = 114.99999999999999 in double → 114 (exact: 115)
    ("23/10", 114),  # the same double, written as an expression
    (2.5, 125),      # 50·2.5 = 125 exactly in double
    (0.1, 5),        # 50·0.1 = 5.000000000000001 → 5
])
def test_upsample_scale_is_multiplied_in_double(scale, expected):
    row = one((1, 50), {"type": "upsample", "scale": scale, "mode": "linear"})
    assert row.output_shape == [1, expected]


def test_upsample_executor_agrees_and_later_layers_follow():
    spec = {"name": "t", "input": [1, 50], "layers": [{"type": "upsample", "scale": 2.3},
                                                       {"type": "conv", "out": 1, "kernel": 3}]}
    report = analyze_layers((1, 50), *spec["layers"])
    assert [l.output_shape for l in report.layers] == [[1, 114], [1, 112]]  # 114 − 3 + 1 = 112
    ex = run(expand(convcalc.load(spec)))
    assert ex.output.shape == (1, 1, 112)


def test_upsample_scale_beyond_the_number_bound_is_refused_before_any_double_overflows():
    # 10^10 · 10^300 would pass a double's 1.8·10^308; the scale itself is past the ±10^100 bound (docs/spec.md,
    # Limits), and within the bound N·scale stays below 10^200, so the double never overflows
    with pytest.raises(SpecError) as info:
        one((1, 10**10), {"type": "upsample", "scale": 1e300})
    assert "beyond ±10^100" in info.value.message


# ---- inputs torch refuses: a warning ------------------------------------------------------------------------
@pytest.mark.parametrize("layer, shape, refused", [
    ({"type": "avgpool", "kernel": 3, "stride": 1, "padding": 1}, (1, 2, 5, 5), "AvgPool3d"),
    ({"type": "avgpool", "kernel": 3}, (1, 3, 3, 3), ""),                 # 3 ≥ 3 on every axis
    ({"type": "avgpool", "kernel": 3, "stride": 1, "padding": 1}, (1, 2, 5), ""),  # AvgPool2d accepts it
    ({"type": "maxpool", "kernel": 3, "stride": 1, "padding": 1}, (1, 2, 5, 5), ""),  # MaxPool3d accepts it
    ({"type": "lppool", "p": 2, "kernel": 2, "ceil_mode": True}, (1, 1, 1, 1), "LPPool3d"),
])
def test_pool3d_smaller_than_its_kernel_warns(layer, shape, refused):
    warnings = one(shape, layer).warnings
    if refused:
        assert len(warnings) == 1 and f"torch.nn.{refused} refuses this input" in warnings[0]
    else:
        assert warnings == []


@pytest.mark.parametrize("mode, shape, named", [
    ("bilinear", (1, 8), "linear"), ("bilinear", (1, 4, 4, 4), "trilinear"), ("trilinear", (1, 4, 4), "bilinear"),
    ("linear", (1, 4, 4), "bilinear"), ("bilinear", (1, 4, 4), ""), ("trilinear", (1, 2, 2, 2), ""),
    ("linear", (1, 8), ""), ("nearest", (1, 8), ""),
])
def test_linear_mode_on_another_rank_names_the_generalisation(mode, shape, named):
    warnings = one(shape, {"type": "upsample", "scale": 2, "mode": mode}).warnings
    if named:
        assert len(warnings) == 1 and f"i.e. as `{named}`" in warnings[0] and "torch" in warnings[0]
    else:
        assert warnings == []


def test_flat_channel_shuffle_warns_that_torch_refuses_it():
    assert "refuses a flat (C,) input" in one((6,), {"type": "channel_shuffle", "groups": 2}).warnings[0]
    assert one((6, 2), {"type": "channel_shuffle", "groups": 2}).warnings == []
