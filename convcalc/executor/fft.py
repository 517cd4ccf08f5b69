"""FFT convolution (Mathieu, Henaff & LeCun 2014, "Fast Training of Convolutional Networks through FFTs",
arXiv:1312.5851), run on real arrays: the executor's witness for the FFT counts of ``convcalc cost`` (it never
imports the cost model).

For a stride-1 cross-correlation of ``x (B, C_in, *N)`` with ``w (C_out, C_in/g, *k)`` (any dilation, g groups):
every padded input map and every (dilated) kernel is transformed once with an n-point FFT per axis, n the padded
size rounded up to a power of two (so the circular correlation holds every valid output); per group,
``Y[o] = Σ_c X[c] · conj(W[o, c])`` frequency by frequency — the complex products counted in :class:`FFTRun` —;
one inverse FFT per output map, cropped to N_out.
"""

from __future__ import annotations

from math import prod

import numpy as np


class FFTRun:
    """The output, the FFT size per axis, the complex pointwise ``products`` performed, and how many maps were
    transformed (``forward``: inputs and kernels; ``inverse``: outputs)."""

    __slots__ = ("y", "size", "products", "forward", "inverse")

    def __init__(self, y, size, products, forward, inverse):
        self.y, self.size, self.products, self.forward, self.inverse = y, size, products, forward, inverse


def fft_conv(x: np.ndarray, w: np.ndarray, pads, dilation=None, groups: int = 1) -> FFTRun:
    """Stride-1 correlation of ``x`` with ``w`` through FFTs; ``pads`` are the (before, after) zero paddings."""
    batch, c_in, *sizes = x.shape
    c_out, c_group, *kernel = w.shape
    rank = len(sizes)
    dilation = tuple(dilation or (1,) * rank)
    padded = [n + b + a for n, (b, a) in zip(sizes, pads)]
    k_eff = [d * (k - 1) + 1 for k, d in zip(kernel, dilation)]
    out = [p - k + 1 for p, k in zip(padded, k_eff)]
    size = tuple(1 << max(p - 1, 0).bit_length() for p in padded)
    axes = tuple(range(2, 2 + rank))
    xp = np.pad(x, [(0, 0), (0, 0), *pads])
    taps = np.zeros((c_out, c_group, *k_eff), dtype=w.dtype)          # the dilated kernel: zeros between taps
    taps[(slice(None), slice(None)) + tuple(slice(None, None, d) for d in dilation)] = w
    xf = np.fft.fftn(xp, size, axes=axes).reshape(batch, groups, c_group, -1)
    wf = np.conj(np.fft.fftn(taps, size, axes=axes)).reshape(groups, c_out // groups, c_group, -1)
    yf = np.einsum("bgcf,gocf->bgof", xf, wf)                           # Σ_c per frequency, per group
    products = batch * groups * (c_out // groups) * c_group * prod(size)
    y = np.fft.ifftn(yf.reshape(batch, c_out, *size), axes=axes).real
    y = np.ascontiguousarray(y[(slice(None), slice(None)) + tuple(slice(0, n) for n in out)]).astype(x.dtype)
    return FFTRun(y, size, products, forward=batch * c_in + c_out * c_group, inverse=batch * c_out)
