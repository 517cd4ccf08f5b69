"""The factorised kernels (convcalc/executor/factorised.py) from their definitions: flattened = a rank-1 filter,
separable = a rank-1 kernel per channel pair, depthwise_separable = two convs; and against torch."""

from __future__ import annotations

import numpy as np

from .helpers import reference_conv, run_layer, torch_or_skip


def test_flattened_is_a_rank_one_3d_filter():
    ex, rec, (lateral, vertical, horizontal) = run_layer(
        (3, 8, 9), {"type": "flattened", "out": 4, "kernel": [3, 2], "bias": False}, keep=True)
    # W[f, c, i, j] = lateral[f, c] · vertical[f, i] · horizontal[f, j]
    w = lateral[:, :, 0, 0][:, :, None, None] * vertical[:, 0, :, 0][:, None, :, None] \
        * horizontal[:, 0, 0, :][:, None, None, :]
    np.testing.assert_allclose(ex.output, reference_conv(ex.input, w), rtol=1e-10, atol=1e-10)
    # lateral 4·3 + vertical 4·3 + horizontal 4·2 = 32 = F(C + k_h + k_w)
    assert rec.params == 32


def test_separable_is_a_rank_one_kernel_per_channel_pair():
    ex, _, (vertical, horizontal) = run_layer((1, 7, 7), {"type": "separable", "out": 1, "kernel": 3,
                                                         "bias": False})
    w = vertical[:, :, :, 0][:, :, :, None] * horizontal[:, :, 0, :][:, :, None, :]   # the outer product V·H
    np.testing.assert_allclose(ex.output, reference_conv(ex.input, w), rtol=1e-10, atol=1e-10)


def test_depthwise_separable_matches_two_convs():
    ex, _, (dw, dw_b, pw, pw_b) = run_layer((4, 6, 6), {"type": "depthwise_separable", "out": 3, "kernel": 3,
                                                        "padding": 1})
    mid = np.concatenate([reference_conv(ex.input[:, c:c + 1], dw[c:c + 1], dw_b[c:c + 1], padding=1)
                          for c in range(4)], axis=1)
    np.testing.assert_allclose(ex.output, reference_conv(mid, pw, pw_b), rtol=1e-10, atol=1e-10)


def test_depthwise_separable_and_separable_matchtorch_or_skip():
    torch = torch_or_skip()
    F = torch.nn.functional
    t = torch.from_numpy
    ex, _, (dw, dw_b, pw, pw_b) = run_layer((4, 7, 7), {"type": "depthwise_separable", "out": 6, "kernel": 3,
                                                        "stride": 2, "padding": 1, "multiplier": 2})
    expected = F.conv2d(F.conv2d(t(ex.input), t(dw), t(dw_b), stride=2, padding=1, groups=4), t(pw), t(pw_b))
    np.testing.assert_allclose(ex.output, expected.numpy(), rtol=1e-10, atol=1e-10)
    ex, _, (v, v_b, h, h_b) = run_layer((3, 8, 6), {"type": "separable", "out": 5, "kernel": [3, 2], "mid": 4,
                                                    "padding": [1, 0]})
    expected = F.conv2d(F.conv2d(t(ex.input), t(v), t(v_b), padding=(1, 0)), t(h), t(h_b))
    np.testing.assert_allclose(ex.output, expected.numpy(), rtol=1e-10, atol=1e-10)
