"""The executor's Winograd F(2×2,3×3) and F(4×4,3×3) (convcalc/executor/winograd.py) and FFT convolution
(convcalc/executor/fft.py): their outputs equal the executor's direct convolution, and the products they count
equal the cost model's multiplications for the same layer — two independent witnesses (the executor keeps its own
matrices and FFT-size rule).

Tolerances, float64: F(2×2,3×3) (points 0, ±1, ∞) 1e-9 relative to the largest output; F(4×4,3×3) (points 0, ±1,
±2, ∞: matrix entries from 1/24 to 8, so more rounding per transform) 1e-7.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import convcalc
from convcalc.cost.algorithms import algorithms
from convcalc.executor.base import Context
from convcalc.executor.conv import conv_nd
from convcalc.executor.winograd import MATRICES, winograd_conv2d

TOLERANCE = {2: 1e-9, 4: 1e-7}
KEY = {2: "winograd_2x2_3x3", 4: "winograd_4x4_3x3"}


def direct(x, w, pads, groups):
    out = tuple(n + b + a - 2 for n, (b, a) in zip(x.shape[2:], pads))
    return conv_nd(Context(np.random.default_rng(0), np.float64), x, w, None, (1, 1), (1, 1), pads, out, groups)


def run(x, w, pads, m, groups=1, b=None):
    ctx = Context(np.random.default_rng(0), np.float64)
    result = winograd_conv2d(ctx, x, w, pads, m, groups, b)
    assert result.products == ctx.mac_count
    return result


def relative_error(y, ref):
    return float(np.abs(y - ref).max() / max(np.abs(ref).max(), 1e-300))


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_equals_direct_convolution(data):
    batch = data.draw(st.integers(1, 3), label="batch")
    c_in, c_out = data.draw(st.integers(1, 5), label="c_in"), data.draw(st.integers(1, 5), label="c_out")
    h, w_ = data.draw(st.integers(3, 13), label="H"), data.draw(st.integers(3, 13), label="W")
    pads = tuple(tuple(data.draw(st.integers(0, 2), label="pad") for _ in range(2)) for _ in range(2))
    rng = np.random.default_rng(data.draw(st.integers(0, 2**16), label="seed"))
    x = rng.standard_normal((batch, c_in, h, w_))
    w = rng.standard_normal((c_out, c_in, 3, 3))
    ref = direct(x, w, pads, 1)
    for m in (2, 4):
        result = run(x, w, pads, m)
        assert result.y.shape == ref.shape
        assert relative_error(result.y, ref) < TOLERANCE[m], (m, x.shape, pads)


def test_groups_and_bias():
    rng = np.random.default_rng(1)
    x, w, b = rng.standard_normal((2, 6, 9, 7)), rng.standard_normal((4, 3, 3, 3)), rng.standard_normal(4)
    ref = direct(x, w, ((1, 1), (1, 1)), 2) + b.reshape(1, 4, 1, 1)
    for m in (2, 4):
        assert relative_error(run(x, w, ((1, 1), (1, 1)), m, 2, b).y, ref) < TOLERANCE[m]


def test_hand_worked_counts():
    # 1 → 1 channel, 6×6 input, no padding: a 4×4 output. F(2×2,3×3): 4 tiles × 16 = 64 products (direct 144);
    # F(4×4,3×3): one tile × 36
    x, w = np.ones((1, 1, 6, 6)), np.ones((1, 1, 3, 3))
    f2, f4 = run(x, w, ((0, 0), (0, 0)), 2), run(x, w, ((0, 0), (0, 0)), 4)
    assert (f2.tiles, f2.products, f4.tiles, f4.products) == (4, 64, 1, 36)
    assert np.allclose(f2.y, 9) and np.allclose(f4.y, 9)
    # the dense transforms, per tile: input 2·4³ = 128 MACs, output 2·4·4 + 2·4·2 = 48; filter 4·9 + 4·3·4 = 84
    assert (f2.input, f2.output, f2.filter) == (4 * 128, 4 * 48, 84)


def test_the_matrices_are_lavin_and_grays():
    bt, g, at = MATRICES[2]
    assert bt.shape == (4, 4) and g.shape == (4, 3) and at.shape == (2, 4)
    assert MATRICES[4][0].shape == (6, 6) and MATRICES[4][1].shape == (6, 3) and MATRICES[4][2].shape == (4, 6)
    with pytest.raises(ValueError):
        winograd_conv2d(Context(np.random.default_rng(0), np.float64), np.ones((1, 1, 5, 5)),
                        np.ones((1, 1, 5, 5)), ((0, 0), (0, 0)), 2)


@settings(max_examples=25, deadline=None)
@given(c_in=st.integers(1, 6), c_out=st.integers(1, 6), groups=st.sampled_from([1, 2, 3]), h=st.integers(3, 12),
       w=st.integers(3, 12), padding=st.integers(0, 2), batch=st.integers(1, 3))
def test_counted_products_equal_the_cost_model(c_in, c_out, groups, h, w, padding, batch):
    c_in, c_out = c_in * groups, c_out * groups
    spec = {"name": "t", "input": [c_in, h, w], "batch": batch,
            "layers": [{"type": "conv", "name": "c", "out": c_out, "kernel": 3, "padding": padding,
                        "groups": groups}]}
    (conv,) = algorithms(convcalc.load(spec).expand()).convs
    rng = np.random.default_rng(0)
    x, weights = rng.standard_normal((batch, c_in, h, w)), rng.standard_normal((c_out, c_in // groups, 3, 3))
    for m in (2, 4):
        result = run(x, weights, ((padding, padding), (padding, padding)), m, groups)
        assert result.products == int(conv.estimate(KEY[m]).multiplications)
        assert result.tiles == conv.estimate(KEY[m]).shape["tiles"]


# ---- the FFT witness (convcalc/executor/fft.py) ---------------------------------------------------------------------
@settings(max_examples=30, deadline=None)
@given(c_in=st.integers(1, 4), c_out=st.integers(1, 4), groups=st.sampled_from([1, 2]), kernel=st.integers(1, 5),
       dilation=st.integers(1, 2), size=st.integers(5, 12), padding=st.integers(0, 2), batch=st.integers(1, 2),
       rank=st.sampled_from([1, 2]))
def test_fft_equals_direct_and_counts_what_the_cost_model_says(c_in, c_out, groups, kernel, dilation, size,
                                                               padding, batch, rank):
    from convcalc.executor.fft import fft_conv

    c_in, c_out = c_in * groups, c_out * groups
    if dilation * (kernel - 1) + 1 > size + 2 * padding:
        return
    rng = np.random.default_rng(size)
    x = rng.standard_normal((batch, c_in, *[size] * rank))
    w = rng.standard_normal((c_out, c_in // groups, *[kernel] * rank))
    pads = ((padding, padding),) * rank
    k_eff = dilation * (kernel - 1) + 1
    out = (size + 2 * padding - k_eff + 1,) * rank
    ref = conv_nd(Context(rng, np.float64), x, w, None, (1,) * rank, (dilation,) * rank, pads, out, groups)
    result = fft_conv(x, w, pads, (dilation,) * rank, groups)
    assert relative_error(result.y, ref) < 1e-9
    spec = {"name": "t", "input": [c_in, *[size] * rank], "batch": batch,
            "layers": [{"type": "conv", "out": c_out, "kernel": kernel, "padding": padding, "dilation": dilation,
                        "groups": groups}]}
    (conv,) = algorithms(convcalc.load(spec).expand()).convs
    fft = conv.estimate("fft")
    assert 4 * result.products == int(fft.multiplications)      # 4 real multiplications per complex product
    assert list(result.size) == fft.shape["fft_size"]


def test_fft_hand_worked():
    from convcalc.executor.fft import fft_conv

    # 1 → 1, 6×6, 3×3 valid: 8×8 FFTs, 64 complex products (the cost model's 4·64 = 256 real); 2 forward, 1 inverse
    result = fft_conv(np.ones((1, 1, 6, 6)), np.ones((1, 1, 3, 3)), ((0, 0), (0, 0)))
    assert (result.size, result.products, result.forward, result.inverse) == ((8, 8), 64, 2, 1)
    assert np.allclose(result.y, 9)
