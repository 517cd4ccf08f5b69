"""More pooling kinds from the design notes: power-average (LP) pooling and stochastic pooling.

Both slide a window like max pooling (:class:`~convcalc.layers.pool.WindowPool`): same shape rule, same RF,
no parameters and no MACs. Their FLOPs per window are stated in :data:`convcalc.conventions.FLOPS_PER_ELEMENT`.
"""

from __future__ import annotations

from ..conventions import flops_per_element
from ..fields import Choice, Number
from .base import register
from .pool import WindowPool


class _NoPadPool(WindowPool):
    """A window pool without padding or dilation fields (PyTorch's LPPool has neither)."""

    padding = None
    dilation = None

    def per_axis(self, key, ndim):
        if key == "padding":
            return (0,) * ndim
        if key == "dilation":
            return (1,) * ndim
        return super().per_axis(key, ndim)


@register
class LPPool(_NoPadPool):
    """Power-average pooling, as ``torch.nn.LPPool{1,2,3}d``
    (https://pytorch.org/docs/stable/generated/torch.nn.LPPool2d.html): ``f(X) = (Σ_{x∈X} x^p)^(1/p)`` over each
    window; p = 1 is sum pooling, p → ∞ max pooling. No padding, no dilation; ``ceil_mode`` as in max pooling::

        N_out = floor_or_ceil((N − k)/s) + 1
        FLOPs = C · ΠN_out · 2·Πk     (Πk powers, Πk − 1 adds, 1 root per output element)

    One difference from PyTorch: with ``ceil_mode``, a last window that hangs over the input end sums only the
    values inside it (the definition); PyTorch computes ``avg_pool(x^p) · Πk``, which scales such a partial sum by
    Πk / (taps inside) (``lp_pool1d(ones(5), 1, 2, ceil_mode=True)`` gives 2 for the last window, we give 1).
    """

    kind = "lppool"
    summary = "power-average pooling (Σx^p)^(1/p) over sliding windows (torch LPPool)"
    op = "lppool"
    window_formula = "2·{w}"
    p = Number(min=1, doc="the norm type p (torch's norm_type)")
    formulas = {
        "shape": "N_out = floor((N − k)/s) + 1 per axis (ceil with ceil_mode); channels kept",
        "params": "0", "macs": "0",
        "flops": "C·ΠN_out·2·Πk (powers, adds, one root per window)",
        "rf": "r += (k − 1)·j, j *= s per axis",
    }

    def window_flops(self, window):
        return window * flops_per_element(self.op)


@register
class StochasticPool(_NoPadPool):
    """Stochastic pooling (Zeiler & Fergus 2013, "Stochastic Pooling for Regularization of Deep Convolutional
    Neural Networks"). Over each window of non-negative activations a_i, with p_i = a_i / Σa:

    * ``mode: train`` picks one a_i with probability p_i;
    * ``mode: test`` returns the probability-weighted average Σ p_i·a_i = Σa² / Σa (0 for an all-zero window).

    Negative input is an error (the probabilities need a ≥ 0). Shape and RF as max pooling (no padding)::

        FLOPs = C · ΠN_out · (3·Πk − 1)
          test:  Πk squares + (Πk − 1) adds for Σa² + (Πk − 1) adds for Σa + 1 divide
          train: (Πk − 1) adds for Σa + 1 multiply (u·Σa) + (Πk − 1) adds (running sum) + Πk comparisons
    """

    kind = "stochastic_pool"
    summary = "stochastic pooling (Zeiler & Fergus 2013): sample ∝ a in training, Σa²/Σa at test"
    op = "stochastic_pool"
    window_formula = "(3·{w} − 1)"
    mode = Choice(("train", "test"), default="test")
    formulas = {
        "shape": "N_out = floor((N − k)/s) + 1 per axis (ceil with ceil_mode); channels kept",
        "params": "0", "macs": "0",
        "flops": "C·ΠN_out·(3·Πk − 1)",
        "rf": "r += (k − 1)·j, j *= s per axis",
    }

    def window_flops(self, window):
        return window * flops_per_element(self.op) - 1
