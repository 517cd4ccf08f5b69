"""The squeeze-and-excitation kernel (convcalc/executor/excitation.py) by hand and against torch."""

from __future__ import annotations

import numpy as np

from .helpers import run_layer, torch_or_skip


def test_squeeze_excitation_by_hand():
    ex, _, (w1, b1, w2, b2) = run_layer((4, 3, 3), {"type": "squeeze_excitation", "reduction": 2})
    x = ex.input
    h = np.maximum(x.mean(axis=(2, 3)) @ w1.T + b1, 0)
    gate = 1 / (1 + np.exp(-(h @ w2.T + b2)))
    np.testing.assert_allclose(ex.output, x * gate[:, :, None, None], rtol=1e-10, atol=1e-12)


def test_squeeze_excitation_matchestorch_or_skip():
    torch = torch_or_skip()
    F = torch.nn.functional
    t = torch.from_numpy
    ex, _, (w1, b1, w2, b2) = run_layer((8, 5, 5), {"type": "squeeze_excitation", "squeeze": 3,
                                                    "activation": "silu"})
    x = t(ex.input)
    gate = torch.sigmoid(F.linear(F.silu(F.linear(x.mean(dim=(2, 3)), t(w1), t(b1))), t(w2), t(b2)))
    np.testing.assert_allclose(ex.output, (x * gate[:, :, None, None]).numpy(), rtol=1e-10, atol=1e-10)
