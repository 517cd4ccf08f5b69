"""Deformable convolution v1 (Dai et al. 2017) and v2 / modulated (Zhu et al. 2019): offset conv, sampling, main
conv.

Notation: input (C_in, *N) with d spatial axes, output (C_out, *N_out); Πk is the product of the kernel sizes,
ΠN the number of positions. MACs and FLOPs are per sample.
"""

from __future__ import annotations

from math import prod

from ..cost.conventions import flops_per_element
from ..spec.fields import Bool, Int
from .base import Example, register, times
from .conv import Conv
from .composite import Staged, conv_stage, sub_row


@register
class Deformable(Staged, Conv):
    """Deformable convolution v1 (Dai et al. 2017) and v2 / modulated (Zhu et al. 2019), as torchvision's
    ``ops.DeformConv2d`` fed by an offset conv, generalised to d axes. Three parts:

    * offset branch: a conv C_in → d·G·Πk offsets (+ G·Πk mask logits when ``modulated``), with the same kernel,
      stride, padding and dilation, and a bias;
    * sampling: each of C_in channels is read at Πk displaced points per output position by d-linear
      interpolation, 2^d MACs per sampled value (4 for 2-D) + 1 mask multiply in v2;
    * main conv: as a standard conv (``groups`` allowed)::

        params: C_out·C_in/g·Πk (+ C_out) + C_off·C_in·Πk + C_off,   C_off = (d + m)·G·Πk, m = 1 if modulated
        MACs:   C_out·ΠN_out·C_in/g·Πk + C_off·ΠN_out·C_in·Πk + (2^d + m)·C_in·Πk·ΠN_out
        FLOPs:  2·(main + offset MACs) + bias adds + 2·sampling MACs + 3·G·Πk·ΠN_out (mask sigmoid, v2)

    Worked example (3×3, 64→64, 32×32, p1, G=1, bias, v1): params 36,928 + 10,386 = 47,314; MACs main 37,748,736
    + offset 10,616,832 + sampling 2,359,296. RF: the nominal (zero-offset) window, with a note: learned offsets
    move each output's samples with the data.
    """

    kind = "deformable"

    example = Example((3, 6, 6), {"out": 2, "kernel": 3, "padding": 1, "modulated": True})
    summary = "deformable conv v1/v2 (modulated): offset conv, bilinear sampling, main conv"
    offset_groups = Int(default=1, min=1, doc="G: offset groups (channels sharing one offset field)")
    modulated = Bool(default=False, doc="v2: a learned mask per sample")
    formulas = {
        "shape": "N_out = floor((N + p_b + p_a − k_eff)/s) + 1 per axis; channels C_out",
        "params": "C_out·C_in/g·Πk (+ C_out) + C_off·C_in·Πk + C_off, C_off = (d + m)·G·Πk",
        "macs": "main C_out·ΠN_out·C_in/g·Πk + offset C_off·ΠN_out·C_in·Πk + sampling (2^d + m)·C_in·Πk·ΠN_out",
        "flops": "2·(main + offset MACs) + bias adds + 2·sampling MACs + 3·G·Πk·ΠN_out (v2 sigmoid)",
        "rf": "the zero-offset conv window (r += (k_eff − 1)·j, j *= s); learned offsets move it with the data",
    }

    def stages(self, ins):
        c_in, c_out, groups, kernel, _, _, _, _, out_sizes = self.geometry(ins[0])
        g = self.offset_groups
        if c_in % g:
            self.fail(f"the input channels ({c_in}) are not divisible by offset_groups ({g})",
                      f"choose offset_groups dividing {c_in}", "offset_groups")
        ndim, taps, positions = len(out_sizes), prod(kernel), prod(out_sizes)
        m = 1 if self.modulated else 0
        c_off = (ndim + m) * g * taps
        sampling = (2 ** ndim + m) * c_in * taps * positions
        per_sample, sigmoid = flops_per_element("deformable_sampling"), flops_per_element("sigmoid")
        sample_flops = per_sample * sampling + sigmoid * m * g * taps * positions
        per_value = f"({2 ** ndim} + 1)" if m else f"{2 ** ndim}"
        sample_macs = f"{per_value}·{c_in}·{times(kernel)}·{times(out_sizes)}"
        sample_worked = {"macs": sample_macs, "flops": f"{per_sample}·{sample_macs}" + (
            f" + {sigmoid}·{g}·{times(kernel)}·{times(out_sizes)}" if m else "")}
        return [conv_stage("offset", "conv", c_in, c_off, 1, kernel, out_sizes, True),
                sub_row("sampling", "bilinear" if ndim == 2 else f"{ndim}-linear", (c_in * taps, *out_sizes), 0,
                         sampling, sample_flops, sample_worked),
                conv_stage("main", "conv", c_in, c_out, groups, kernel, out_sizes, self.bias)]

    def details(self, ins):
        rows = self.sub_rows(ins)
        return {"offset_channels": rows[0]["output_shape"][0], "params_main": rows[2]["params"],
                "params_offset": rows[0]["params"], "macs_main": rows[2]["macs"], "macs_offset": rows[0]["macs"],
                "macs_sampling": rows[1]["macs"], "sub_rows": rows}

    def receptive_field(self, rfs, ins):
        # Not flagged position-dependent: the zero-offset window is exact for the sampling grid; the learned
        # offsets move it with the data, which the note (and docs/variants.md) states.
        rf = super().receptive_field(rfs, ins)
        return type(rf)(rf.size, rf.jump, rf.center, rf.position_dependent,
                        rf.notes + (f"{self.name}: deformable offsets are learned; the field shown is the "
                                    f"zero-offset sampling grid",))


