"""Winograd minimal filtering F(2×2,3×3) and F(4×4,3×3) (Lavin & Gray 2016, "Fast Algorithms for Convolutional
Neural Networks", arXiv:1509.09308), run on real arrays: the executor's witness for the Winograd counts of
``convcalc cost`` (convcalc/cost/algorithms.py, which it never imports; it keeps its own transform matrices).

For a stride-1, dilation-1 3×3 cross-correlation of ``x (B, C_in, H, W)`` with ``w (C_out, C_in/g, 3, 3)``:

* the padded input is cut into tiles d of α×α (α = m + 2) that overlap by 2, one per m×m output block,
  T = ceil(H_out/m)·ceil(W_out/m) per map (the last row and column of tiles read zeros past the padded input);
* V = Bᵀ d B per tile and input channel; U = G g Gᵀ per filter (output, input channel pair);
* M[ξ, ν] = Σ_c U[o, c, ξ, ν] · V[c, tile, ξ, ν]: per group, α² GEMMs of (C_out/g × C_in/g) by (C_in/g × T·B),
  run through :meth:`Context.matmul`, so ``ctx.mac_count`` counts exactly the elementwise products performed:
  α²·C_out·(C_in/g)·T·B;
* Y = Aᵀ M A per tile and output channel, the m×m blocks laid side by side and cropped to H_out×W_out.

The transforms are dense matrix products here (NumPy einsum); the MACs they take are counted apart, in
:class:`WinogradRun`, from the shapes multiplied (an optimised kernel skips the zeros and ±1 of the matrices).

Numerical stability: F(2×2,3×3) uses the points 0, ±1, ∞ and matches direct convolution to rounding (float64:
1e-9 relative); F(4×4,3×3) uses 0, ±1, ±2, ∞, whose matrices hold 1/24 … 8, so its error grows by about an order
of magnitude more per transform (Lavin & Gray §4.3; the tests allow 1e-7 relative in float64).
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from .base import Context

#: m → (Bᵀ, G, Aᵀ), as printed by Lavin & Gray (§4.1 for F(2,3); §4.3 for F(4,3))
MATRICES = {
    2: (np.array([[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]], dtype=float),
        np.array([[1, 0, 0], [1 / 2, 1 / 2, 1 / 2], [1 / 2, -1 / 2, 1 / 2], [0, 0, 1]]),
        np.array([[1, 1, 1, 0], [0, 1, -1, -1]], dtype=float)),
    4: (np.array([[4, 0, -5, 0, 1, 0], [0, -4, -4, 1, 1, 0], [0, 4, -4, -1, 1, 0], [0, -2, -1, 2, 1, 0],
                  [0, 2, -1, -2, 1, 0], [0, 4, 0, -5, 0, 1]], dtype=float),
        np.array([[1 / 4, 0, 0], [-1 / 6, -1 / 6, -1 / 6], [-1 / 6, 1 / 6, -1 / 6], [1 / 24, 1 / 12, 1 / 6],
                  [1 / 24, -1 / 12, 1 / 6], [0, 0, 1]]),
        np.array([[1, 1, 1, 1, 1, 0], [0, 1, -1, 2, -2, 0], [0, 1, 1, 4, 4, 0], [0, 1, -1, 8, -8, 1]], dtype=float)),
}


class WinogradRun:
    """The output and what the run did: ``products`` (the elementwise products of the transformed domain, also in
    ``ctx.mac_count``), ``tiles`` per map, and the dense MACs of the ``input``, ``filter`` and ``output``
    transforms."""

    __slots__ = ("y", "products", "tiles", "input", "filter", "output")

    def __init__(self, y, products, tiles, input, filter, output):
        self.y, self.products, self.tiles = y, products, tiles
        self.input, self.filter, self.output = input, filter, output


def winograd_conv2d(ctx: Context, x: np.ndarray, w: np.ndarray, pads, m: int, groups: int = 1,
                    b: np.ndarray | None = None) -> WinogradRun:
    """F(m×m, 3×3) convolution of ``x`` with ``w``; ``pads`` are the (before, after) zero paddings of H and W."""
    if m not in MATRICES:
        raise ValueError(f"F({m}×{m}, 3×3) is not implemented (m = 2 or 4)")
    bt, gm, at = (a.astype(x.dtype) for a in MATRICES[m])
    alpha = m + 2
    batch, c_in, h, wd = x.shape
    c_out, c_group, kh, kw = w.shape
    if (kh, kw) != (3, 3) or c_in != c_group * groups or c_out % groups:
        raise ValueError(f"winograd_conv2d needs a 3×3 kernel and C_in = (C_in/g)·g, got {w.shape} for {x.shape}")
    (pt, pb), (pl, pr) = pads
    h_out, w_out = h + pt + pb - 2, wd + pl + pr - 2
    th, tw = -(-h_out // m), -(-w_out // m)
    # zeros after the padding so that every tile is whole: th·m + 2 rows, tw·m + 2 columns
    xp = np.pad(x, ((0, 0), (0, 0), (pt, th * m + 2 - h - pt), (pl, tw * m + 2 - wd - pl)))
    d = sliding_window_view(xp, (alpha, alpha), axis=(2, 3))[:, :, ::m, ::m]        # (B, C, th, tw, α, α)
    v = np.einsum("ij,bcxyjk,lk->bcxyil", bt, d, bt, optimize=True)                 # Bᵀ d B
    u = np.einsum("ij,ocjk,lk->ocil", gm, w, gm, optimize=True)                     # G g Gᵀ
    # per group: α² GEMMs (C_out/g × C_in/g) @ (C_in/g × T·B)
    a2, o_group, positions = alpha * alpha, c_out // groups, th * tw * batch
    vv = v.reshape(batch, groups, c_group, th * tw, a2).transpose(4, 1, 2, 0, 3).reshape(a2, groups, c_group,
                                                                                         positions)
    uu = u.reshape(groups, o_group, c_group, a2).transpose(3, 0, 1, 2)             # (α², g, C_out/g, C_in/g)
    before = ctx.mac_count
    mm = ctx.matmul(uu, vv)                                                         # (α², g, C_out/g, T·B)
    products = ctx.mac_count - before
    mm = mm.reshape(alpha, alpha, c_out, batch, th, tw).transpose(3, 2, 4, 5, 0, 1)  # (B, C_out, th, tw, α, α)
    y = np.einsum("ij,boxyjk,lk->boxyil", at, mm, at, optimize=True)                # Aᵀ M A: (…, m, m)
    y = y.transpose(0, 1, 2, 4, 3, 5).reshape(batch, c_out, th * m, tw * m)[:, :, :h_out, :w_out]
    y = np.ascontiguousarray(y)
    if b is not None:
        y += b.reshape(1, c_out, 1, 1)
    tiles = batch * th * tw
    return WinogradRun(y, products, th * tw,
                       input=tiles * c_in * 2 * alpha ** 3,                          # α×α by α×α, twice per tile
                       filter=c_out * c_group * (alpha * 3 * 3 + alpha * 3 * alpha),  # (α×3)(3×3), then (α×3)(3×α)
                       output=tiles * c_out * (m * alpha * alpha + m * alpha * m))   # (m×α)(α×α), then (m×α)(α×m)
