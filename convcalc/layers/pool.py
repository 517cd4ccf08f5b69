"""Pooling: max / average / min / power-average / stochastic over sliding windows, global and adaptive pooling.

All pooling keeps the channel count and has no parameters and no MACs. Its FLOPs are the reduction's cost per
window (:class:`MaxReduction`, :class:`AverageReduction`, …) from :data:`convcalc.cost.conventions.FLOPS_PER_ELEMENT`.
For the analytic ERF every pool is linear with uniform weights: an average weighs its taps equally, and max, min,
power-average and stochastic pooling are taken as the window *sum* (the gradient ``--erf measured --weights
uniform`` measures with max pooling as a sum).

The module is long because it holds every pooling kind (window, global and adaptive; max, average, min, power-average
and stochastic), each answering every question about itself, and the peers' rules for their torch.nn modules.
"""

from __future__ import annotations

from fractions import Fraction
from math import gcd, prod

from ..cost.conventions import backward_flops_per_element
from ..spec.fields import Axes, Bool, Choice, Number, Size
from .base import Example, Layer, ShapeSteps, SlidingWindow, effective_kernel, per_shape, register
from . import peers, saved
from .formula import NUMERIC, SYMBOLIC, Counts


class PoolGeometry:
    """A sliding-window pool at one input shape: per-axis kernel/stride/dilation/effective kernel, (before, after)
    padding, input and output sizes (a slotted record, like :class:`~convcalc.layers.conv.ConvGeometry`)."""

    __slots__ = ("kernel", "stride", "dilation", "k_eff", "pads", "in_sizes", "out_sizes")

    def __init__(self, kernel: tuple[int, ...], stride: tuple[int, ...], dilation: tuple[int, ...],
                 k_eff: tuple[int, ...], pads: tuple[tuple[int, int], ...], in_sizes: tuple[int, ...],
                 out_sizes: tuple[int, ...]):
        self.kernel, self.stride, self.dilation, self.k_eff = kernel, stride, dilation, k_eff
        self.pads, self.in_sizes, self.out_sizes = pads, in_sizes, out_sizes


# ---- what one window costs -----------------------------------------------------------------------------------
class MaxReduction:
    """Max or min of a window: (taps − 1) comparisons."""

    averages = False

    def window_cost(self, taps, q):
        return (taps - 1) * q.cost(self.op)

    def windows_cost(self, taps, windows, q):
        """Of ``windows`` windows holding ``taps`` taps in all."""
        return (taps - windows) * q.cost(self.op)

    def backward_windows_cost(self, taps, windows):
        """Backward of ``windows`` windows: each output gradient added to its argmax (``maxpool``, 1 per output)."""
        return windows * backward_flops_per_element("maxpool")


class AverageReduction:
    """Mean of a window: (taps − 1) adds + 1 divide = taps."""

    averages = True

    def window_cost(self, taps, q):
        return taps * q.cost(self.op)

    def windows_cost(self, taps, windows, q):
        return taps * q.cost(self.op)

    def backward_windows_cost(self, taps, windows):
        """Backward of ``windows`` windows holding ``taps`` taps: g / window (1 per output) added to every tap
        (1 per tap), ``avgpool``."""
        return (taps + windows) * backward_flops_per_element("avgpool")


# ---- sliding windows -----------------------------------------------------------------------------------------
class WindowPool(SlidingWindow, Layer):
    """Sliding-window pooling, as ``torch.nn.MaxPool{1,2,3}d`` / ``AvgPool{1,2,3}d``.

    https://pytorch.org/docs/stable/generated/torch.nn.MaxPool2d.html ::

        k_eff = d·(k − 1) + 1
        N_out = floor_or_ceil((N + p_b + p_a − k_eff) / s) + 1,
                minus 1 with ceil_mode when the last window would start in the right padding (PyTorch's rule)

    Shapes: (C, *N) → (C, *N_out). FLOPs: C·ΠN_out windows, each at the reduction's cost (padding taps are
    counted as if present).
    """

    family = "pool"
    ranks = (1, 2, 3)
    op = ""

    #: the torch module whose 3-D form refuses an input smaller than its kernel along any axis, padded or not
    #: (``pool3d_shape_check`` with ``check_input_size``, aten/src/ATen/native/Pool.h); "" when it accepts one
    torch_3d_refuses_small = ""

    kernel = Axes()
    stride = Axes(default=None, doc="defaults to the kernel size")
    padding = Axes(default=0, min=0)
    dilation = Axes(default=1)
    ceil_mode = Bool(default=False)

    @per_shape
    def geometry(self, shape) -> PoolGeometry:
        self.check_rank(shape)
        sizes = tuple(shape[1:])
        ndim = len(sizes)
        kernel = self.per_axis("kernel", ndim)
        stride = kernel if self.stride is None else self.per_axis("stride", ndim)
        dilation = self.per_axis("dilation", ndim)
        k_eff = effective_kernel(kernel, dilation)
        pads = tuple((p, p) for p in self.per_axis("padding", ndim))
        for p, k in zip(pads, kernel):
            if 2 * p[0] > k:
                self.fail(f"padding {p[0]} is more than half the kernel ({k})",
                          "PyTorch requires padding ≤ kernel/2 for pooling; reduce the padding", "padding")
        return PoolGeometry(kernel, stride, dilation, k_eff, pads, sizes, self.out_sizes(sizes, k_eff, stride, pads))

    def out_sizes(self, sizes, k_eff, stride, pads, q=NUMERIC):
        return tuple(self.window_size(axis, n, k, s, p, self.ceil_mode, q)
                     for axis, (n, k, s, p) in enumerate(zip(sizes, k_eff, stride, pads)))

    def shape_steps(self, ins, q=SYMBOLIC):
        g = self.geometry(ins[0])
        k_eff = effective_kernel(g.kernel, g.dilation, q)
        return ShapeSteps(q("C", ins[0][0]), list(self.out_sizes(g.in_sizes, k_eff, g.stride, g.pads, q)))

    def output_shape(self, ins):
        return (ins[0][0], *self.geometry(ins[0]).out_sizes)

    def counts(self, ins, q=NUMERIC):
        g = self.geometry(ins[0])
        windows = q("C", ins[0][0]) * q.prod("N_out", g.out_sizes)
        return Counts(flops=windows * self.window_cost(q.prod("k", g.kernel), q))

    def backward_flops(self, ins, input_grad=True, trainable=True):
        """The input gradient of C·ΠN_out windows of Πk taps (padding taps counted as if present, as forward)."""
        if not input_grad:
            return 0
        g = self.geometry(ins[0])
        windows = ins[0][0] * prod(g.out_sizes)
        return self.backward_windows_cost(windows * prod(g.kernel), windows)

    def warnings(self, ins):
        g = self.geometry(ins[0])
        small = [(n, k) for n, k in zip(g.in_sizes, g.kernel) if n < k]
        if not self.torch_3d_refuses_small or len(g.in_sizes) != 3 or not small:
            return []
        sizes, kernel = "×".join(map(str, g.in_sizes)), "×".join(map(str, g.kernel))
        return [f"torch.nn.{self.torch_3d_refuses_small} refuses this input: {sizes} is smaller than the kernel "
                f"{kernel} along {len(small)} ax{'is' if len(small) == 1 else 'es'}, padding or not (its 1-D and "
                "2-D forms accept it); convcalc counts the windows PyTorch's size rule gives; use a larger input or "
                "a smaller kernel to run it in torch"]

    def erf_rule(self, ins, out, index):
        """The window per axis, weights 1/k when averaging (max and the others as the sum)."""
        from . import influence

        weight = (lambda k: Fraction(1, k)) if self.averages else (lambda k: 1)
        return influence.ERFRule(Fraction(1), self.window_readers(ins[index], weight))


def _thop_adaptive_avg(layer, ins, out) -> int:
    """thop's count_adap_avgpool: (Π(N_in/N_out) + 1) per output element, truncated (its float arithmetic)."""
    positions = prod(out) // ins[0][0]  # per channel: 1 for a global pool (keepdims or not)
    return int((Fraction(prod(ins[0][1:]), positions) + 1) * prod(out))


#: torch.nn.AdaptiveAvgPool{1,2,3}d (global_avgpool, adaptive_avgpool): fvcore has a handler for the 2-D form only
_ADAPTIVE_AVG_RULES = peers.pool(
    peers.Rule(lambda layer, ins, out: prod(ins[0]) if len(ins[0]) == 3 else 0,
               "aten::adaptive_avg_pool2d: 1 per input element (the 1-D and 3-D forms: no handler, 0)"),
    peers.Rule(_thop_adaptive_avg, "count_adap_avgpool: (Π(N_in/N_out) + 1) per output element"))
#: torch.nn.MaxPool{1,2,3}d and AdaptiveMaxPool{1,2,3}d (global_maxpool, adaptive_maxpool)
_MAX_RULES = peers.pool(peers.zero("aten::max_pool* / adaptive_max_pool*: no handler, an unsupported operator"),
                         peers.zero("zero_ops rule"))


@register
class MaxPool(MaxReduction, WindowPool):
    __doc__ = "Max pooling: the largest value of each window.\n\n" + WindowPool.__doc__
    kind = "maxpool"
    summary = "max pooling over sliding windows (kernel, stride, padding, dilation, ceil_mode)"
    op = "maxpool"
    example = Example((2, 9, 9), {"kernel": 3, "stride": 2, "padding": 1})
    peer_rules = _MAX_RULES

    def saved_for_backward(self, ins):
        """Its input and the argmax of every window, an int64 per output element (``max_pool2d_with_indices``
        returns them; its backward reads self and indices)."""
        out = saved.elements(self.output_shape(ins))
        return saved.saves(saved.input_(), saved.own("indices", "argmax indices", out, "int64"))


@register
class MinPool(MaxReduction, WindowPool):
    __doc__ = ("Min pooling: the smallest value of each window (= −maxpool(−x)); no PyTorch module, defined by "
               "symmetry with max pooling.\n\n" + WindowPool.__doc__)
    kind = "minpool"
    summary = "min pooling over sliding windows"
    op = "minpool"
    example = Example((2, 6, 6), {"kernel": 2})

    def torch_parts(self, ins) -> list:
        """As a model writes it, ``-pool(-x)`` with ``pool`` an ``nn.MaxPool{d}d`` of its fields (tests/torch_build.py):
        its max pool, with its input (the negations are tensor ops no peer counts)."""
        from ..spec.graph import Node

        return [(MaxPool(Node(f"{self.name}.maxpool", "maxpool", dict(self.node.fields), [], self.node.mark)), ins)]

    peer_rules = peers.composed(lambda layer, ins: layer.torch_parts(ins), "−maxpool(−x): its MaxPool module, by "
                                "max pooling's rule")

    def saved_for_backward(self, ins):
        """As max pooling: its input and the argmin of every window (int64 per output element). (As −maxpool(−x),
        torch saves −x, a new tensor of the input's size, instead of x.)"""
        out = saved.elements(self.output_shape(ins))
        return saved.saves(saved.input_(), saved.own("indices", "argmin indices", out, "int64"))


@register
class AvgPool(AverageReduction, WindowPool):
    __doc__ = ("Average pooling. With ``count_include_pad`` (PyTorch's default) the divisor is the window size "
               "including padding; without, only the real taps.\n\n" + WindowPool.__doc__)
    kind = "avgpool"
    summary = "average pooling over sliding windows (count_include_pad, ceil_mode)"
    op = "avgpool"
    example = Example((2, 7, 8), {"kernel": 3, "stride": 2, "padding": 1, "ceil_mode": True})
    dilation = None  # torch.nn.AvgPool has no dilation
    torch_3d_refuses_small = "AvgPool3d"
    count_include_pad = Bool(default=True)
    peer_rules = peers.pool(peers.zero("aten::avg_pool*: no handler, an unsupported operator"),
                             peers.per_output(1, "count_avgpool: 1 per output element"))

    def per_axis(self, key, ndim):
        if key == "dilation":
            return (1,) * ndim
        return super().per_axis(key, ndim)

    def saved_for_backward(self, ins):
        """Its input: ``avg_pool2d_backward(grad, self, …)`` takes self (for its shape only, yet autograd keeps
        the tensor)."""
        return saved.saves(saved.input_())


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
    summary = "power-average pooling (Σx^p)^(1/p) over sliding windows (torch LPPool)"
    op = "lppool"
    averages = False
    torch_3d_refuses_small = "LPPool3d"  # avg_pool3d of x^p
    example = Example((2, 7, 7), {"p": 2, "kernel": 3, "stride": 2, "ceil_mode": True})
    p = Number(min=1, doc="the norm type p (torch's norm_type)")

    def window_cost(self, taps, q):
        return taps * q.cost(self.op)

    def backward_windows_cost(self, taps, windows):
        """dx = g·y^(1−p)·x^(p−1): per output ``lppool_window`` (2), per tap ``lppool`` (3)."""
        return taps * backward_flops_per_element("lppool") + windows * backward_flops_per_element("lppool_window")

    def saved_for_backward(self, ins):
        """What torch's ``lp_pool`` (``(sign(a)·relu(|a|)·Πk)^(1/p)`` with a = avg_pool(x^p)) saves: x (for
        pow), x^p (avg_pool's input), and four distinct tensors of the output's size: a (for abs), relu's result
        (which the product saves again), sign(a) (the product's other factor) and the product·Πk (for the final
        pow)."""
        out = saved.elements(self.output_shape(ins))
        return saved.saves(saved.input_(), saved.own("powered", "x^p", saved.elements(ins[0])),
                           saved.own("chain", "4 output-sized intermediates", 4 * out))


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
    averages = False
    example = Example((2, 6, 6), {"kernel": 2}, before=({"type": "relu"},))
    mode = Choice(("train", "test"), default="test")

    def window_cost(self, taps, q):
        return taps * q.cost(self.op) - 1

    def backward_windows_cost(self, taps, windows):
        """``train``: the gradient to the picked tap, 1 per output (``stochastic_pool``); ``test``: d(Σa²/Σa)/da_i
        = (2a_i − y)/Σa at every tap (``stochastic_pool_test``, 5 per tap)."""
        if self.mode == "train":
            return windows * backward_flops_per_element("stochastic_pool")
        return taps * backward_flops_per_element("stochastic_pool_test")

    def saved_for_backward(self, ins):
        """``train``: the index of the picked tap per window (int64 per output element): the gradient goes to it
        alone. ``test``: the input and Σa, Σa² per window (two output-sized tensors) for d(Σa²/Σa)/da."""
        out = saved.elements(self.output_shape(ins))
        if self.mode == "train":
            return saved.saves(saved.own("indices", "picked indices", out, "int64"))
        return saved.saves(saved.input_(), saved.own("sums", "Σa, Σa² per window", 2 * out))


# ---- global and adaptive -------------------------------------------------------------------------------------
class GlobalPool(Layer):
    """Global pooling: one value per channel over all spatial positions (``AdaptiveAvgPool(1)``).

    Shapes: (C, *N) → (C, 1, …, 1), or (C,) with ``keepdims: false``. FLOPs: C windows of ΠN taps.
    """

    family = "pool"
    ranks = (1, 2, 3)
    op = ""
    shape_rule = "(C, *N) → (C, 1, …, 1), or (C,) without keepdims"
    rf_rule = "the whole input: r += (N − 1)·j per axis"
    keepdims = Bool(default=True)

    def output_shape(self, ins):
        self.check_rank(ins[0])
        return (ins[0][0], *([1] * (len(ins[0]) - 1))) if self.keepdims else (ins[0][0],)

    def counts(self, ins, q=NUMERIC):
        self.check_rank(ins[0])
        return Counts(flops=q("C", ins[0][0]) * self.window_cost(q.prod("N", ins[0][1:]), q))

    def backward_flops(self, ins, input_grad=True, trainable=True):
        """The input gradient of C windows of ΠN taps."""
        return self.backward_windows_cost(prod(ins[0]), ins[0][0]) if input_grad else 0

    def receptive_field(self, rfs, ins):
        return rfs[0].whole(ins[0][1:])

    def erf_rule(self, ins, out, index):
        """The single output reads the whole map (weights 1/N when averaging)."""
        from . import influence

        return influence.ERFRule(Fraction(1), [influence.whole(n, self.averages) for n in ins[index][1:]])


@register
class GlobalAvgPool(AverageReduction, GlobalPool):
    __doc__ = "Global average pooling. FLOPs = C · ΠN (adds + one divide per channel).\n\n" + GlobalPool.__doc__
    kind = "global_avgpool"
    summary = "global average pooling (one value per channel)"
    op = "avgpool"
    example = Example((3, 4, 5))
    peer_rules = _ADAPTIVE_AVG_RULES

    def saved_for_backward(self, ins):
        """Nothing: torch's adaptive average pooling to size 1 is ``mean`` over the positions, whose backward
        needs only the sizes."""
        return saved.NOTHING


@register
class GlobalMaxPool(MaxReduction, GlobalPool):
    __doc__ = "Global max pooling. FLOPs = C · (ΠN − 1) comparisons.\n\n" + GlobalPool.__doc__
    kind = "global_maxpool"
    summary = "global max pooling (one value per channel)"
    op = "maxpool"
    example = Example((3, 4, 5), {"keepdims": False})
    peer_rules = _MAX_RULES

    def saved_for_backward(self, ins):
        """Its input and the argmax per channel (int64), as ``adaptive_max_pool(1)``."""
        return saved.saves(saved.input_(), saved.own("indices", "argmax indices", ins[0][0], "int64"))


def adaptive_axis(n: int, o: int) -> tuple[int, int, int]:
    """Adaptive pooling of N positions to O along one axis, in O(1) (an output size of 10^9 costs nothing):
    (Σ of the O window lengths, the widest, where window 0 ends).

    Window i is ``[floor(i·N/O), ceil((i+1)·N/O))``. The sum telescopes to N + O − gcd(N, O): Σ ceil − Σ floor
    differs from N by the O − gcd(N, O) windows whose end is not a whole number. With N = q·O + s: every window is q
    long when s = 0; else q + 1, and q + 2 for some window exactly when s > gcd(N, O) (window i is q + 2 long when
    (i·N mod O) + s > O, and i·N mod O reaches O − gcd(N, O)). tests/layers/test_adaptive_pool.py checks all three against
    the windows listed one by one."""
    q, s = divmod(n, o)
    g = gcd(n, o)
    widest = q if s == 0 else q + 2 if s > g else q + 1
    return n + o - g, widest, -(-n // o)


class AdaptiveWindows:
    """Adaptive pooling's windows along one axis, as a sequence: output i of O over N pools
    ``[floor(i·N/O), ceil((i+1)·N/O))``. O(1) to make, whatever O (their sizes in O(1): :func:`adaptive_axis`)."""

    __slots__ = ("n", "o")

    def __init__(self, n: int, o: int):
        self.n, self.o = n, o

    def __len__(self) -> int:
        return self.o

    def __getitem__(self, i: int) -> tuple[int, int]:
        if not 0 <= i < self.o:
            raise IndexError(i)
        return i * self.n // self.o, -(-(i + 1) * self.n // self.o)


class AdaptivePool(Layer):
    """Adaptive pooling to a fixed output size, as ``torch.nn.AdaptiveAvgPool{1,2,3}d``.

    Output index i along an axis of length N pools ``[floor(i·N/O), ceil((i+1)·N/O))`` (PyTorch's rule), so
    windows may overlap and differ in size when O does not divide N. FLOPs are summed over the actual windows.
    """

    family = "pool"
    ranks = (1, 2, 3)
    op = ""
    shape_rule = "(C, *N) → (C, *output_size); output i pools [floor(i·N/O), ceil((i+1)·N/O))"
    rf_rule = "widest window − 1 added, j *= N/O; flagged when windows differ"
    output_size = Size()

    def windows(self, shape):
        """Every output's window per axis, an :class:`AdaptiveWindows` (``windows[i]`` is output i's ``(start,
        stop)``, worked out when asked): for the analytic ERF, which bounds how many it asks for; the shape, counts and
        RF use :func:`adaptive_axis`, in O(1) per axis. (A list of every window cost ~100 bytes per output: 10^8
        outputs were 10 GB before the ERF's work bound could refuse them.)"""
        self.check_rank(shape)
        sizes = shape[1:]
        out = self.per_axis("output_size", len(sizes))
        return [AdaptiveWindows(n, o) for n, o in zip(sizes, out)]

    def axes(self, shape):
        """(N, O) per spatial axis."""
        self.check_rank(shape)
        return list(zip(shape[1:], self.per_axis("output_size", len(shape) - 1)))

    def output_shape(self, ins):
        return (ins[0][0], *(o for _, o in self.axes(ins[0])))

    def counts(self, ins, q=NUMERIC):
        axes = self.axes(ins[0])
        taps = q("Σ windows", prod(adaptive_axis(n, o)[0] for n, o in axes))  # Σ over outputs of window volume
        return Counts(flops=q("C", ins[0][0]) * self.windows_cost(taps, q.prod("O", [o for _, o in axes]), q))

    def backward_flops(self, ins, input_grad=True, trainable=True):
        """The input gradient of C·ΠO windows holding C·Σ window sizes taps (PyTorch's windows)."""
        if not input_grad:
            return 0
        axes = self.axes(ins[0])
        taps = prod(adaptive_axis(n, o)[0] for n, o in axes)
        return self.backward_windows_cost(ins[0][0] * taps, ins[0][0] * prod(o for _, o in axes))

    def receptive_field(self, rfs, ins):
        spans, jumps, offsets, uneven = [], [], [], False
        for n, o in self.axes(ins[0]):
            _, widest, first_stop = adaptive_axis(n, o)
            uneven |= n % o != 0  # O | N: every window N/O long, N/O apart; else they differ in size or spacing
            spans.append(widest - 1)
            jumps.append(Fraction(n, o))
            offsets.append(Fraction(first_stop - 1, 2))
        rf = rfs[0].step(spans, jumps, offsets)
        return rf.flagged(f"{self.name}: adaptive windows differ in size or spacing") if uneven else rf

    def erf_rule(self, ins, out, index):
        """Output i reads its window [floor(i·N/O), ceil((i+1)·N/O)) (weights 1/size when averaging)."""
        from . import influence

        return influence.ERFRule(Fraction(1), [influence.adaptive(w, self.averages)
                                               for w in self.windows(ins[index])])


@register
class AdaptiveAvgPool(AverageReduction, AdaptivePool):
    __doc__ = "Adaptive average pooling.\n\n" + AdaptivePool.__doc__
    kind = "adaptive_avgpool"
    summary = "adaptive average pooling to a fixed output size"
    op = "avgpool"
    example = Example((2, 7, 9), {"output_size": [3, 4]})
    peer_rules = _ADAPTIVE_AVG_RULES

    def saved_for_backward(self, ins):
        """Its input (``_adaptive_avg_pool2d_backward(grad, self)``); nothing for output size 1, where torch
        takes the ``mean`` instead."""
        if all(o == 1 for _, o in self.axes(ins[0])):
            return saved.NOTHING
        return saved.saves(saved.input_())


@register
class AdaptiveMaxPool(MaxReduction, AdaptivePool):
    __doc__ = "Adaptive max pooling.\n\n" + AdaptivePool.__doc__
    kind = "adaptive_maxpool"
    summary = "adaptive max pooling to a fixed output size"
    op = "maxpool"
    example = Example((2, 7, 9), {"output_size": [3, 4]})
    peer_rules = _MAX_RULES

    def saved_for_backward(self, ins):
        """Its input and the argmax of every window, an int64 per output element
        (``adaptive_max_pool2d_backward(grad, self, indices)``)."""
        out = saved.elements(self.output_shape(ins))
        return saved.saves(saved.input_(), saved.own("indices", "argmax indices", out, "int64"))


