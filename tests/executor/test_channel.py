"""The channel kernels (convcalc/executor/channel.py): slice and shuffle by hand, shuffle against torch."""

from __future__ import annotations

import numpy as np

from .helpers import run_layer, torch_or_skip


def test_channel_slice_and_shuffle():
    x = np.arange(2 * 6 * 2, dtype=np.float64).reshape(2, 6, 2)
    ex, _, _ = run_layer((6, 2), {"type": "channel_shuffle", "groups": 3}, x=x)
    # (g, C/g) = (3, 2): channel order 0, 2, 4, 1, 3, 5
    np.testing.assert_array_equal(ex.output, x[:, [0, 2, 4, 1, 3, 5]])
    ex, _, _ = run_layer((6, 2), {"type": "channel_slice", "start": 2, "stop": 5}, x=x)
    np.testing.assert_array_equal(ex.output, x[:, 2:5])


def test_channel_shuffle_matchestorch_or_skip():
    torch = torch_or_skip()
    ex, _, _ = run_layer((12, 3, 3), {"type": "channel_shuffle", "groups": 4}, dtype="float32")
    expected = torch.nn.ChannelShuffle(4)(torch.from_numpy(ex.input))
    np.testing.assert_array_equal(ex.output, expected.numpy())
