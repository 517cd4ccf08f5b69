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
