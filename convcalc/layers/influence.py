"""The vocabulary of the analytic effective receptive field: how a layer passes influence back to its input.

A kind's own ``erf_rule(ins, out, index)`` returns an :class:`ERFRule`: the uniform-weight gradient at the layer's
output, per channel, reaches input number ``index`` scaled by a channel ``factor`` (the fan-out: C_out/groups for a
conv, ``out`` for a linear layer) and, on each spatial axis, through a *reader*: output index → the input indices
it reads with their weights. :mod:`convcalc.erf.analytic` propagates an impulse through these rules (Luo et al.,
NIPS 2016, with uniform weights; borders ignored, so readers may return indices outside the input).

The readers here are the per-axis operators of the kinds: a sliding window (conv, pooling), a transposed window,
the whole axis (global pooling, flatten), adaptive windows, resampling (PyTorch's source-index rule), a broadcast
gate, a global spread. A kind without an ``erf_rule`` of its own is unsupported by the analytic ERF (see
:func:`convcalc.layers.base.own`). The kinds import this module inside their ``erf_rule``: the analysis never needs
it, so it does not pay for loading it.
"""

from __future__ import annotations

from fractions import Fraction
from math import floor
from typing import Callable

Reader = Callable[[int], list]  # output index → [(input index, weight int|Fraction), …]


class ERFRule:
    """How a layer maps the gradient at its output to one input: a channel factor and one reader per axis.

    ``extra``: further terms summed with this one (a composite layer with a path inside, e.g. the SE gate).
    ``note``: said in the result; with ``approximate`` the result is no longer exact."""

    __slots__ = ("factor", "readers", "extra", "note", "approximate")

    def __init__(self, factor, readers: list[Reader], extra: list | None = None, note: str = "",
                 approximate: bool = False):
        self.factor, self.readers, self.extra = factor, readers, list(extra or [])
        self.note, self.approximate = note, approximate


def identity(o):
    """Each output reads the input at its own position (elementwise kinds, merges)."""
    return [(o, 1)]


def identity_rule(rank: int, factor=1, **extra) -> ERFRule:
    """Every axis read as is, the gradient scaled by ``factor``: elementwise kinds, add, concat."""
    return ERFRule(Fraction(factor), [identity] * rank, **extra)


def window(k: int, s: int, d: int, pad_before: int, weight=1) -> Reader:
    """A sliding window: output o reads ``k`` taps spaced ``d`` apart from ``o·s − pad_before``."""
    def read(o):
        first = o * s - pad_before
        return [(first + t * d, weight) for t in range(k)]
    return read


def transposed(k: int, s: int, d: int, pad_before: int) -> Reader:
    """A transposed window: output o is written by every input i with ``o = i·s − p + t·d``."""
    def read(o):
        return [((o + pad_before - t * d) // s, 1) for t in range(k) if (o + pad_before - t * d) % s == 0]
    return read


def _reads_all(read: Reader, n: int) -> Reader:
    """``read`` marked as reading ``n`` taps per output position (``read.taps``): what the analytic ERF's work
    bound counts for a reader its receptive field does not show (convcalc/erf/analytic.py, work_estimate)."""
    read.taps = n
    return read


def whole(n: int, average: bool) -> Reader:
    """The single output reads the whole axis (global pooling, flatten)."""
    weight = Fraction(1, n) if average else 1
    return _reads_all(lambda o: [(i, weight) for i in range(n)] if o == 0 else [], n)


def adaptive(windows, average: bool) -> Reader:
    """Adaptive pooling: output o reads its window ``[a, b)``."""
    def read(o):
        if not 0 <= o < len(windows):
            return []
        a, b = windows[o]
        return [(i, Fraction(1, b - a) if average else 1) for i in range(a, b)]
    return read


def gate(n_out: int) -> Reader:
    """A broadcast input of size 1: every output position inside the map reads its single position."""
    return lambda o: [(0, 1)] if 0 <= o < n_out else []


def spread(n: int) -> Reader:
    """Every output position inside the map spreads over the whole map with weight 1/n (a global average)."""
    weight = Fraction(1, n)
    return _reads_all(lambda o: [(i, weight) for i in range(n)] if 0 <= o < n else [], n)


def cubic(x: Fraction) -> Fraction:
    """Keys' cubic convolution kernel with A = −0.75 (PyTorch's bicubic)."""
    a, x = Fraction(-3, 4), abs(x)
    if x <= 1:
        return ((a + 2) * x - (a + 3)) * x * x + 1
    if x < 2:
        return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a
    return Fraction(0)


def resample(n: int, o_size: int, scale, mode: str, align_corners: bool) -> Reader:
    """PyTorch's source index for output o (torch.nn.Upsample), extended past the borders without clamping."""
    if mode == "nearest":
        ratio = 1 / Fraction(scale) if scale is not None else Fraction(n, o_size)
        return lambda o: [(floor(o * ratio), 1)]
    if align_corners:
        ratio = Fraction(n - 1, o_size - 1) if o_size > 1 else Fraction(0)

        def source(o):
            return o * ratio
    else:
        ratio = 1 / Fraction(scale) if scale is not None else Fraction(n, o_size)

        def source(o):
            return (o + Fraction(1, 2)) * ratio - Fraction(1, 2)

    def read(o):
        src = source(o)
        i0 = floor(src)
        lam = src - i0
        if mode == "bicubic":
            return [(i0 + k, w) for k in (-1, 0, 1, 2) if (w := cubic(lam - k))]
        return [(i, w) for i, w in ((i0, 1 - lam), (i0 + 1, lam)) if w]
    return read


def fold(i: int, n: int, mode: str) -> int:
    """The input index that padded position ``i`` (an index of the unpadded axis of size ``n``, outside it in the
    padding) copies, as ``torch.nn.functional.pad``: reflect mirrors about the edge sample (excluding it), replicate
    repeats the edge, circular wraps; constant (zeros) keeps ``i`` (the unbounded model)."""
    if 0 <= i < n or mode in ("constant", "zeros"):
        return i
    if mode == "replicate":
        return min(max(i, 0), n - 1)
    if mode == "circular":
        return i % n
    return -i if i < 0 else 2 * (n - 1) - i  # reflect: each pad is below n


def padded(reader: Reader, mode: str, n: int, n_out: int) -> Reader:
    """``reader`` on an axis of size ``n`` padded in ``mode``: for the ``n_out`` outputs of the layer its taps in the
    padding read the pixels they copy (:func:`fold`); the outputs beyond the map keep the unbounded model."""
    if mode in ("constant", "zeros"):
        return reader

    def read(o):
        taps = reader(o)
        return [(fold(i, n, mode), w) for i, w in taps] if 0 <= o < n_out else taps
    return read

