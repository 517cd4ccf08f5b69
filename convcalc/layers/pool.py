"""Pooling: max / average / min over sliding windows, global pooling and adaptive pooling.

All pooling keeps the channel count, has no parameters and no MACs; its FLOPs follow
:data:`convcalc.conventions.FLOPS_PER_ELEMENT`.
"""

from __future__ import annotations

from fractions import Fraction
from math import prod

from ..cost.conventions import flops_per_element
from ..spec.fields import Axes, Bool, Choice, Number, Size
from .base import Example, Layer, per_shape, register, times, window_rf_steps


class WindowPool(Layer):
    """Sliding-window pooling, as ``torch.nn.MaxPool{1,2,3}d`` / ``AvgPool{1,2,3}d``.

    https://pytorch.org/docs/stable/generated/torch.nn.MaxPool2d.html ::

        k_eff = d·(k − 1) + 1
        N_out = floor_or_ceil((N + p_b + p_a − k_eff) / s) + 1,
                minus 1 with ceil_mode when the last window would start in the right padding (PyTorch's rule)

    Shapes: (C, *N) → (C, *N_out). FLOPs per output element: (Πk − 1) comparisons for max/min,
    Πk (adds + one divide) for average; padding taps are counted as if present.
    """

    family = "pool"
    ranks = (1, 2, 3)
    op = ""
    #: FLOPs per output element as text, ``{w}`` = window size (Πk); must match :meth:`window_flops`
    window_formula = "({w} − 1)"
    formulas = {
        "shape": "N_out = floor((N + 2p − k_eff)/s) + 1 per axis (ceil with ceil_mode); channels kept",
        "params": "0", "macs": "0",
        "flops": "C·ΠN_out·(Πk − 1) comparisons",
        "rf": "r += (k_eff − 1)·j, centre += ((k_eff − 1)/2 − p)·j, j *= s per axis",
    }

    kernel = Axes()
    stride = Axes(default=None, doc="defaults to the kernel size")
    padding = Axes(default=0, min=0)
    dilation = Axes(default=1)
    ceil_mode = Bool(default=False)

    @per_shape
    def geometry(self, shape):
        self.check_rank(shape)
        sizes = shape[1:]
        ndim = len(sizes)
        kernel = self.per_axis("kernel", ndim)
        stride = kernel if self.stride is None else self.per_axis("stride", ndim)
        dilation = self.per_axis("dilation", ndim)
        k_eff = tuple(d * (k - 1) + 1 for k, d in zip(kernel, dilation))
        pads = [(p, p) for p in self.per_axis("padding", ndim)]
        for p, k in zip(pads, kernel):
            if 2 * p[0] > k:
                self.fail(f"padding {p[0]} is more than half the kernel ({k})",
                          "PyTorch requires padding ≤ kernel/2 for pooling; reduce the padding", "padding")
        out = tuple(self.window_size(axis, n, k, s, p, self.ceil_mode)
                    for axis, (n, k, s, p) in enumerate(zip(sizes, k_eff, stride, pads)))
        return kernel, stride, k_eff, pads, out

    def output_shape(self, ins):
        return (ins[0][0], *self.geometry(ins[0])[-1])

    def window_flops(self, window: int) -> int:
        return (window - 1) * flops_per_element(self.op)

    def flops(self, ins):
        kernel, *_, out = self.geometry(ins[0])
        return ins[0][0] * prod(out) * self.window_flops(prod(kernel))

    def receptive_field(self, rfs, ins):
        _, stride, k_eff, pads, _ = self.geometry(ins[0])
        return rfs[0].window(k_eff, stride, [p[0] for p in pads])

    def rf_steps(self, rfs, ins):
        _, stride, k_eff, pads, _ = self.geometry(ins[0])
        return window_rf_steps(rfs[0], k_eff, stride, [p[0] for p in pads])

    def worked(self, ins):
        kernel, stride, k_eff, pads, out = self.geometry(ins[0])
        rounding = "ceil" if self.ceil_mode else "floor"
        window = self.window_formula.format(w=prod(kernel))
        return {
            "shape": [f"axis {axis}: {rounding}(({n} + {pb} + {pa} − {k})/{s}) + 1 = {o}"
                      for axis, (n, (pb, pa), k, s, o) in enumerate(zip(ins[0][1:], pads, k_eff, stride, out))],
            "params": "0", "macs": "0",
            "flops": f"{ins[0][0]}·{times(out)}·{window}",
        }


@register
class MaxPool(WindowPool):
    __doc__ = "Max pooling: the largest value of each window.\n\n" + WindowPool.__doc__
    kind = "maxpool"
    example = Example((2, 9, 9), {"kernel": 3, "stride": 2, "padding": 1})
    summary = "max pooling over sliding windows (kernel, stride, padding, dilation, ceil_mode)"
    op = "maxpool"


@register
class MinPool(WindowPool):
    __doc__ = ("Min pooling: the smallest value of each window (= −maxpool(−x)); no PyTorch module, defined as "
               "in the design notes' region functions.\n\n" + WindowPool.__doc__)
    kind = "minpool"
    example = Example((2, 6, 6), {"kernel": 2})
    summary = "min pooling over sliding windows"
    op = "minpool"


@register
class AvgPool(WindowPool):
    __doc__ = ("Average pooling. With ``count_include_pad`` (PyTorch's default) the divisor is the window size "
               "including padding; without, only the real taps.\n\n" + WindowPool.__doc__)
    kind = "avgpool"
    example = Example((2, 7, 8), {"kernel": 3, "stride": 2, "padding": 1, "ceil_mode": True})
    summary = "average pooling over sliding windows (count_include_pad, ceil_mode)"
    op = "avgpool"
    window_formula = "{w}"
    formulas = {**WindowPool.formulas, "flops": "C·ΠN_out·Πk ((Πk − 1) adds + 1 divide)",
                "rf": "r += (k − 1)·j, centre += ((k − 1)/2 − p)·j, j *= s per axis"}
    dilation = None  # torch.nn.AvgPool has no dilation
    count_include_pad = Bool(default=True)

    def per_axis(self, key, ndim):
        if key == "dilation":
            return (1,) * ndim
        return super().per_axis(key, ndim)

    def window_flops(self, window):
        return window * flops_per_element(self.op)


class GlobalPool(Layer):
    """Global pooling: one value per channel over all spatial positions (``AdaptiveAvgPool(1)``).

    Shapes: (C, *N) → (C, 1, …, 1), or (C,) with ``keepdims: false``.
    """

    family = "pool"
    ranks = (1, 2, 3)
    op = ""
    keepdims = Bool(default=True)
    formulas = {"shape": "(C, *N) → (C, 1, …, 1), or (C,) without keepdims", "params": "0", "macs": "0",
                "flops": "C·ΠN (average: adds + divide) or C·(ΠN − 1) (max: comparisons)",
                "rf": "the whole input: r += (N − 1)·j per axis"}

    def worked(self, ins):
        positions = prod(ins[0][1:])
        per = f"{positions}" if self.op == "avgpool" else f"({positions} − 1)"
        return {"params": "0", "macs": "0", "flops": f"{ins[0][0]}·{per}"}

    def output_shape(self, ins):
        self.check_rank(ins[0])
        return (ins[0][0], *([1] * (len(ins[0]) - 1))) if self.keepdims else (ins[0][0],)

    def flops(self, ins):
        window = prod(ins[0][1:])
        per = window if self.op == "avgpool" else window - 1
        return ins[0][0] * per * flops_per_element(self.op)

    def receptive_field(self, rfs, ins):
        return rfs[0].whole(ins[0][1:])


@register
class GlobalAvgPool(GlobalPool):
    __doc__ = "Global average pooling. FLOPs = C · ΠN (adds + one divide per channel).\n\n" + GlobalPool.__doc__
    kind = "global_avgpool"
    example = Example((3, 4, 5))
    summary = "global average pooling (one value per channel)"
    op = "avgpool"


@register
class GlobalMaxPool(GlobalPool):
    __doc__ = "Global max pooling. FLOPs = C · (ΠN − 1) comparisons.\n\n" + GlobalPool.__doc__
    kind = "global_maxpool"
    example = Example((3, 4, 5), {"keepdims": False})
    summary = "global max pooling (one value per channel)"
    op = "maxpool"


class AdaptivePool(Layer):
    """Adaptive pooling to a fixed output size, as ``torch.nn.AdaptiveAvgPool{1,2,3}d``.

    Output index i along an axis of length N pools ``[floor(i·N/O), ceil((i+1)·N/O))`` (PyTorch's rule), so
    windows may overlap and differ in size when O does not divide N. FLOPs are summed over the actual windows.
    """

    family = "pool"
    ranks = (1, 2, 3)
    op = ""
    output_size = Size()
    formulas = {"shape": "(C, *N) → (C, *output_size); output i pools [floor(i·N/O), ceil((i+1)·N/O))",
                "params": "0", "macs": "0",
                "flops": "C·Σ windows (average) or C·(Σ windows − ΠO) (max), over the actual windows",
                "rf": "widest window − 1 added, j *= N/O; flagged when windows differ"}

    def worked(self, ins):
        per_axis = self.windows(ins[0])
        taps = prod(sum(b - a for a, b in w) for w in per_axis)
        positions = prod(len(w) for w in per_axis)
        per = f"{taps}" if self.op == "avgpool" else f"({taps} − {positions})"
        return {"params": "0", "macs": "0", "flops": f"{ins[0][0]}·{per}"}

    def windows(self, shape):
        self.check_rank(shape)
        sizes = shape[1:]
        out = self.per_axis("output_size", len(sizes))
        return [[(i * n // o, -(-(i + 1) * n // o)) for i in range(o)] for n, o in zip(sizes, out)]

    def output_shape(self, ins):
        return (ins[0][0], *(len(w) for w in self.windows(ins[0])))

    def flops(self, ins):
        per_axis = self.windows(ins[0])
        taps = prod(sum(b - a for a, b in w) for w in per_axis)  # Σ over output positions of window volume
        positions = prod(len(w) for w in per_axis)
        per_channel = taps if self.op == "avgpool" else taps - positions
        return ins[0][0] * per_channel * flops_per_element(self.op)

    def receptive_field(self, rfs, ins):
        per_axis = self.windows(ins[0])
        spans, jumps, offsets, uneven = [], [], [], False
        for n, w in zip(ins[0][1:], per_axis):
            lengths = {b - a for a, b in w}
            uneven |= len(lengths) > 1 or n % len(w) != 0
            spans.append(max(lengths) - 1)
            jumps.append(Fraction(n, len(w)))
            offsets.append(Fraction(w[0][1] - 1, 2))
        rf = rfs[0].step(spans, jumps, offsets)
        return rf.flagged(f"{self.name}: adaptive windows differ in size or spacing") if uneven else rf


@register
class AdaptiveAvgPool(AdaptivePool):
    __doc__ = "Adaptive average pooling.\n\n" + AdaptivePool.__doc__
    kind = "adaptive_avgpool"
    example = Example((2, 7, 9), {"output_size": [3, 4]})
    summary = "adaptive average pooling to a fixed output size"
    op = "avgpool"


@register
class AdaptiveMaxPool(AdaptivePool):
    __doc__ = "Adaptive max pooling.\n\n" + AdaptivePool.__doc__
    kind = "adaptive_maxpool"
    example = Example((2, 7, 9), {"output_size": [3, 4]})
    summary = "adaptive max pooling to a fixed output size"
    op = "maxpool"


# ---- power-average and stochastic pooling (no padding, no dilation) ------------------------------------------
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

    example = Example((2, 7, 7), {"p": 2, "kernel": 3, "stride": 2, "ceil_mode": True})
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

    example = Example((2, 6, 6), {"kernel": 2}, before=({"type": "relu"},))
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
