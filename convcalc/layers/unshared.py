"""Unshared convolutions: locally connected (one kernel per output position, DeepFace) and tiled (t kernels per
axis cycled over the output positions).

Notation: input (C_in, *N) with d spatial axes, output (C_out, *N_out); Πk is the product of the kernel sizes,
ΠN the number of positions. MACs and FLOPs are per sample.
"""

from __future__ import annotations

from math import prod

from ..spec.fields import Axes, Bool, Field, Int
from ..spec.yamlio import YBool
from .base import Example, per_group_text, register, times
from .conv import Conv


class BiasMode(Field):
    """``true`` / ``element`` (a bias per output element), ``channel`` (one per output channel), ``false``.
    Normalised to the words ``element``, ``channel`` or ``none``."""

    type_name = "bias mode"

    def coerce(self, value, mark, evaluate):
        if isinstance(value, YBool):
            value = bool(value) if value.word in ("true", "false") else value.word
        if value is True or value == "element":
            return "element"
        if value is False or value == "none":
            return "none"
        if value == "channel":
            return "channel"
        self._fail(f"is {self._describe(value)}", mark, "write true (per output element), channel, or false")


@register
class LocallyConnected(Conv):
    """Locally connected (unshared) convolution (Taigman et al. 2014, DeepFace; Goodfellow, Bengio & Courville
    2016, §9.5): the conv's window, but every output position has its own kernel
    ``Z[i, j, k] = Σ V[l, j+m−1, k+n−1] · W[i, j, k, l, m, n]``, as Keras' ``LocallyConnected2D``::

        shape:  the conv rule
        params: ΠN_out · C_out · C_in · Πk + bias: C_out·ΠN_out (``bias: true``), C_out (``channel``), 0
        MACs:   C_out · ΠN_out · C_in · Πk (as a conv)
        FLOPs:  2·MACs + C_out·ΠN_out with a bias
    """

    kind = "locally_connected"

    example = Example((2, 6, 6), {"out": 3, "kernel": 3, "stride": 2, "padding": 1})
    summary = "locally connected (unshared) conv: one kernel per output position (DeepFace)"
    groups = None
    bias = BiasMode(default="element")
    formulas = {
        "shape": "N_out = floor((N + p_b + p_a − k_eff)/s) + 1 per axis; channels C_out",
        "params": "ΠN_out·C_out·C_in·Πk + (C_out·ΠN_out | C_out | 0) bias",
        "macs": "C_out·ΠN_out·C_in·Πk",
        "flops": "2·MACs + C_out·ΠN_out (bias)",
        "rf": "as the conv: r += (k_eff − 1)·j, j *= s per axis",
    }

    def group_count(self, c_in):
        return 1

    def kernels(self, out_sizes) -> int:
        """How many distinct kernels (one per output position)."""
        return prod(out_sizes)

    def bias_count(self, c_out, out_sizes) -> int:
        return {"element": c_out * prod(out_sizes), "channel": c_out, "none": 0}[self.bias]

    def params(self, ins):
        c_in, c_out, groups, kernel, *_, out_sizes = self.geometry(ins[0])
        return self.kernels(out_sizes) * c_out * (c_in // groups) * prod(kernel) + self.bias_count(c_out, out_sizes)

    def flops(self, ins):
        *_, out_sizes = self.geometry(ins[0])
        return 2 * self.macs(ins) + (self.out * prod(out_sizes) if self.bias != "none" else 0)

    def details(self, ins):
        *_, out_sizes = self.geometry(ins[0])
        return {"kernels": self.kernels(out_sizes)}

    def worked(self, ins):
        c_in, c_out, groups, kernel, *_, out_sizes = self.geometry(ins[0])
        kernels = self.kernels(out_sizes)
        bias = self.bias_count(c_out, out_sizes)
        g = per_group_text(c_in, groups)
        macs = f"{c_out}·{times(out_sizes)}·{g}·{times(kernel)}"
        return {"params": f"{kernels}·{c_out}·{g}·{times(kernel)}" + (f" + {bias}" if bias else ""),
                "macs": macs,
                "flops": f"2·{macs}" + (f" + {c_out}·{times(out_sizes)}" if self.bias != "none" else "")}


@register
class Tiled(LocallyConnected):
    """Tiled convolution (Goodfellow, Bengio & Courville 2016, §9.5; Le et al. 2010): t_i distinct kernels per axis
    (``tile``), Πt kernels cycled over the output positions (position o uses kernel o mod t per axis), so
    neighbours within a tile differ and tiles share. A bias per kernel per output channel when ``bias``::

        kernels = Π_i min(t_i, N_out,i)
        params  = kernels · C_out · C_in/g · Πk (+ kernels · C_out)
        MACs    = C_out · ΠN_out · C_in/g · Πk (as a conv);  FLOPs = 2·MACs + C_out·ΠN_out (bias)

    t = 1 gives the conv's params; t = N_out gives the locally connected params (per-element bias).
    """

    kind = "tiled"

    example = Example((4, 7, 7), {"out": 4, "kernel": 3, "padding": 1, "tile": 2, "groups": 2})
    summary = "tiled conv: t kernels per axis cycled over the output positions"
    groups = Int(default=1, min=1)
    bias = Bool(default=True)
    tile = Axes(doc="t: distinct kernels per axis")
    formulas = {
        "shape": "N_out = floor((N + p_b + p_a − k_eff)/s) + 1 per axis; channels C_out",
        "params": "Π_i min(t_i, N_out,i) · C_out·C_in/g·Πk (+ that many · C_out bias)",
        "macs": "C_out·ΠN_out·C_in/g·Πk",
        "flops": "2·MACs + C_out·ΠN_out (bias)",
        "rf": "as the conv: r += (k_eff − 1)·j, j *= s per axis",
    }

    def group_count(self, c_in):
        return self.groups

    def kernels(self, out_sizes):
        tiles = self.per_axis("tile", len(out_sizes))
        return prod(min(t, n) for t, n in zip(tiles, out_sizes))

    def warnings(self, ins):
        *_, out_sizes = self.geometry(ins[0])
        tiles = self.per_axis("tile", len(out_sizes))
        return [f"tile {t} on spatial axis {axis} exceeds its {n} output positions: {n} distinct kernels there"
                for axis, (t, n) in enumerate(zip(tiles, out_sizes)) if t > n]

    def bias_count(self, c_out, out_sizes):
        return self.kernels(out_sizes) * c_out if self.bias else 0

    def flops(self, ins):
        *_, out_sizes = self.geometry(ins[0])
        return 2 * self.macs(ins) + (self.out * prod(out_sizes) if self.bias else 0)

    def worked(self, ins):
        out = super().worked(ins)
        if not self.bias:
            out["flops"] = out["flops"].split(" + ")[0]
        return out


