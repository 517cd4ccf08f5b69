"""LP and stochastic pooling (convcalc/executor/pool.py) by hand and against torch (the max, min, average,
global and adaptive pools: test_naive.py)."""

from __future__ import annotations

import numpy as np
import pytest

from convcalc.errors import SpecError

from .helpers import run_layer, torch_or_skip


def test_stochastic_pool_test_mode_by_hand():
    x = np.array([[[[1.0, 2.0], [3.0, 4.0]]]])
    ex, _, _ = run_layer((1, 2, 2), {"type": "stochastic_pool", "kernel": 2}, batch=1, x=x)
    # Σa²/Σa = (1 + 4 + 9 + 16)/10 = 3
    assert ex.output.reshape(-1).tolist() == [3.0]
    zero = run_layer((1, 2, 2), {"type": "stochastic_pool", "kernel": 2}, batch=1, x=np.zeros((1, 1, 2, 2)))[0]
    assert zero.output.reshape(-1).tolist() == [0.0]


def test_stochastic_pool_train_mode_samples_in_proportion():
    # 2,000 windows [1, 3]: the 3 is drawn with probability 3/4
    x = np.tile(np.array([1.0, 3.0]), (1, 1, 2000))
    ex, _, _ = run_layer((1, 4000), {"type": "stochastic_pool", "kernel": 2, "mode": "train"}, batch=1, x=x)
    values = ex.output.reshape(-1)
    assert set(values.tolist()) <= {1.0, 3.0}
    assert abs((values == 3.0).mean() - 0.75) < 0.04
    again, _, _ = run_layer((1, 4000), {"type": "stochastic_pool", "kernel": 2, "mode": "train"}, batch=1, x=x)
    np.testing.assert_array_equal(again.output, ex.output)  # seeded


def test_stochastic_pool_rejects_negative_input():
    with pytest.raises(SpecError, match="needs non-negative input, but the smallest value is -1"):
        run_layer((1, 4), {"type": "stochastic_pool", "kernel": 2}, batch=1, x=np.array([[[1.0, -1.0, 2, 3]]]))


def test_lppool_partial_ceil_window_sums_what_is_inside():
    # five ones, p = 1, window 2, stride 2, ceil_mode: windows [1, 1], [1, 1], [1] → 2, 2, 1
    # (PyTorch's lp_pool1d scales the partial window to 2; see convcalc/layers/pool.py)
    ex, _, _ = run_layer((1, 5), {"type": "lppool", "p": 1, "kernel": 2, "ceil_mode": True}, batch=1,
                         x=np.ones((1, 1, 5)))
    assert ex.output.reshape(-1).tolist() == [2.0, 2.0, 1.0]


@pytest.mark.parametrize("shape, layer, fn, kwargs", [
    ((3, 8, 9), {"type": "lppool", "p": 2, "kernel": 2}, "lp_pool2d", {"kernel_size": 2}),
    ((3, 9, 7), {"type": "lppool", "p": 3, "kernel": [3, 2], "stride": [2, 1]}, "lp_pool2d",
     {"kernel_size": (3, 2), "stride": (2, 1)}),
    ((2, 11), {"type": "lppool", "p": 1, "kernel": 3, "stride": 2}, "lp_pool1d", {"kernel_size": 3, "stride": 2}),
])
def test_lppool_matches_torch(shape, layer, fn, kwargs):
    torch = torch_or_skip()
    x = np.abs(np.random.default_rng(0).standard_normal((2, *shape)))  # p = 3 of a negative sum has no real root
    ex, _, _ = run_layer(shape, layer, x=x)
    expected = getattr(torch.nn.functional, fn)(torch.from_numpy(x), layer["p"], **kwargs)
    np.testing.assert_allclose(ex.output, expected.numpy(), rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("n, o", [(10, 4), (10, 3), (7, 5), (4, 10), (9, 3), (1, 6), (13, 13), (5, 1)])
def test_adaptive_pooling_by_width_groups_equals_one_window_at_a_time(n, o):
    """pool_axis reduces every window of one width in one gather; the reference reduces window i = [⌊iN/O⌋,
    ⌈(i+1)N/O⌉) alone, as the kernel did before (an array object per output)."""
    from convcalc.executor.pool import MAX, MEAN, adaptive_windows, pool_axis

    x = np.random.default_rng(n * 100 + o).standard_normal((2, 3, n, 2)).astype(np.float32)
    spans = adaptive_windows(n, o)
    assert [spans[i] for i in range(o)] == [(i * n // o, -(-(i + 1) * n // o)) for i in range(o)]
    starts, ends = spans.bounds()
    assert list(zip(starts.tolist(), ends.tolist())) == list(spans)
    assert spans.widest() == max(e - s for s, e in spans)
    for how, reduce in ((MAX, np.max), (MEAN, np.mean)):
        expected = np.concatenate([reduce(x[:, :, s:e], axis=2, keepdims=True) for s, e in spans], axis=2)
        np.testing.assert_allclose(pool_axis(how, x, 2, spans), expected, rtol=1e-6)


def test_adaptive_windows_are_not_listed():
    """Three million outputs: the windows are worked out, not held (they had been a list of tuples, ~100 bytes
    each), and the layer's ERF windows are a sequence of the same rule."""
    from convcalc.executor.pool import adaptive_windows
    from convcalc.layers.pool import AdaptiveWindows

    spans, windows = adaptive_windows(4, 3_000_000), AdaptiveWindows(4, 3_000_000)
    assert len(spans) == len(windows) == 3_000_000
    # output 1,999,999: ⌊1,999,999·4/3,000,000⌋ = 2, ⌈2,000,000·4/3,000,000⌉ = ⌈2.67⌉ = 3
    assert spans[1_999_999] == windows[1_999_999] == (2, 3)
    # N mod O = 4 = gcd(4, 3,000,000): no window straddles two inputs, so every window is ⌈4/3,000,000⌉ = 1 wide
    assert spans.widest() == 1


@pytest.mark.parametrize("sizes, out", [((10,), (4,)), ((7, 5), (5, 3)), ((4, 6), (10, 4)), ((5, 4, 3), (3, 4, 5)),
                                        ((9, 9), (3, 3)), ((3,), (1,))])
@pytest.mark.parametrize("arg", [np.argmax, np.argmin])
def test_adaptive_extreme_gradient_equals_one_window_at_a_time(sizes, out, arg):
    """The routed input gradient, all windows of a width combination at once, against a window at a time (the
    former loop): each output's gradient at the first extreme of its window, C order, summed where windows
    overlap. Values on a coarse grid, so ties happen and the first extreme matters."""
    from itertools import product

    from convcalc.executor.backward.pool import _route_adaptive_extremes, _route_first_extreme
    from convcalc.executor.pool import adaptive_windows

    rng = np.random.default_rng(len(sizes) * 10 + out[0])
    x = rng.integers(0, 3, (2, 3, *sizes)).astype(np.float32)
    gy = rng.standard_normal((2, 3, *out)).astype(np.float32)
    windows = [adaptive_windows(n, o) for n, o in zip(sizes, out)]
    expected = np.zeros_like(x)
    for index in product(*(range(o) for o in out)):
        region = (slice(None), slice(None), *(slice(*spans[i]) for spans, i in zip(windows, index)))
        expected[region] += _route_first_extreme(x[region], gy[(slice(None), slice(None), *index)], arg)
    np.testing.assert_allclose(_route_adaptive_extremes(x, gy, windows, arg), expected, rtol=1e-6, atol=1e-6)
