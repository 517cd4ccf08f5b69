"""The resampling kernels (convcalc/executor/resample.py) against torch: pixel (un)shuffle and bicubic."""

from __future__ import annotations

import numpy as np
import pytest

from .helpers import run_layer, torch_or_skip


def test_pixel_shuffle_and_unshuffle_matchtorch_or_skip():
    torch = torch_or_skip()
    ex, _, _ = run_layer((12, 3, 4), {"type": "pixel_shuffle", "factor": 2})
    np.testing.assert_array_equal(ex.output, torch.nn.functional.pixel_shuffle(torch.from_numpy(ex.input), 2))
    ex, _, _ = run_layer((3, 6, 4), {"type": "pixel_unshuffle", "factor": 2})
    np.testing.assert_array_equal(ex.output, torch.nn.functional.pixel_unshuffle(torch.from_numpy(ex.input), 2))


@pytest.mark.parametrize("layer, kwargs", [
    ({"scale": 2}, {"scale_factor": 2}),
    ({"scale": 3, "align_corners": True}, {"scale_factor": 3, "align_corners": True}),
    ({"size": [7, 5]}, {"size": (7, 5)}),
    ({"size": [13, 4]}, {"size": (13, 4), "align_corners": True}),
])
def test_bicubic_matches_torch(layer, kwargs):
    torch = torch_or_skip()
    layer = {"type": "upsample", "mode": "bicubic", **layer}
    if kwargs.get("align_corners"):
        layer["align_corners"] = True
    ex, _, _ = run_layer((3, 5, 6), layer)
    kwargs.setdefault("align_corners", False)
    expected = torch.nn.functional.interpolate(torch.from_numpy(ex.input), mode="bicubic", **kwargs)
    np.testing.assert_allclose(ex.output, expected.numpy(), rtol=1e-9, atol=1e-9)
