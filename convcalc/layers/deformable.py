"""Deformable convolution v1 (Dai et al. 2017) and v2 / modulated (Zhu et al. 2019): offset conv, sampling, main
conv."""

from __future__ import annotations

from fractions import Fraction
from math import prod

from ..spec.fields import Bool, Int
from .base import Example, register
from .composite import Stage, Staged
from .conv import Conv, as_itself, conv_counts
from . import saved
from .formula import NUMERIC, Counts
from .lowering import not_lowered


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
    summary = "deformable conv v1/v2 (modulated): offset conv, bilinear sampling, main conv"
    example = Example((3, 6, 6), {"out": 2, "kernel": 3, "padding": 1, "modulated": True},
                      also=({"modulated": False},))
    rf_rule = "the zero-offset conv window (r += (k_eff − 1)·j, j *= s); learned offsets move it with the data"
    written_as = as_itself
    data_dependent_window = True  # the learned offsets move every sample
    padding_mode = None  # torchvision's DeformConv2d pads with zeros only
    conv_lowering = not_lowered("its sampling points move with learned, per-position offsets: there is no fixed "
                                "window to lower (im2col), tile (Winograd) or transform (FFT)")
    offset_groups = Int(default=1, min=1, doc="G: offset groups (channels sharing one offset field)")
    modulated = Bool(default=False, doc="v2: a learned mask per sample")

    def saved_for_backward(self, ins):
        """As torchvision's ``deform_conv2d`` trains: the offset conv saves the input; the deformable conv saves
        the input, the offsets (the offset conv's output, whose slice it reads) and, in v2, the mask (the
        sigmoid's output, which the sigmoid saves too); the weights are parameters."""
        stages = self.stages(ins)
        offset = stages[0].output_shape
        items = [saved.input_(), saved.own("offsets", "offset conv output", saved.elements(offset))]
        if self.modulated:
            ndim = len(offset) - 1
            mask = offset[0] // (ndim + 1) * saved.elements(offset[1:])
            items.append(saved.own("mask", "mask (sigmoid output)", mask))
        return saved.SavedTensors(items)

    def stages(self, ins, q=NUMERIC):
        g = self.geometry(ins[0])
        groups = self.offset_groups
        if g.c_in % groups:
            self.fail(f"the input channels ({g.c_in}) are not divisible by offset_groups ({groups})",
                      f"choose offset_groups dividing {g.c_in}", "offset_groups")
        ndim = len(g.out_sizes)
        taps, positions = q.prod("k", g.kernel), q.prod("N_out", g.out_sizes)
        c_in, offset_groups = q("C_in", g.c_in), q("G", groups)
        mask = q.opt(self.modulated, 1, "mask, v2")
        c_off = q.named("C_off", (q("d", ndim) + mask) * offset_groups * taps, expand=False)
        off_channels = (ndim + (1 if self.modulated else 0)) * groups * int(taps)
        sampling = (q("2^d", 2 ** ndim) + mask) * c_in * taps * positions
        sample_flops = q.cost("deformable_sampling") * sampling + q.opt(
            self.modulated, q.cost("sigmoid") * offset_groups * taps * positions, "mask sigmoid, v2")
        c_out, per_group = self.channel_terms(g, q)
        return [Stage("offset", "conv", (off_channels, *g.out_sizes),
                      conv_counts(q, c_off, c_in, taps, positions, True, None)),
                Stage("sampling", "bilinear" if ndim == 2 else f"{ndim}-linear",
                      (g.c_in * int(taps), *g.out_sizes), Counts(0, 0, sampling, sample_flops)),
                Stage("main", "conv", (g.c_out, *g.out_sizes), conv_counts(q, c_out, per_group, taps, positions,
                                                                          self.bias, None))]

    def backward_macs(self, ins, input_grad=True, trainable=True):
        """``(dX, dW)`` per sample, from the definition of the three parts (torchvision's
        ``deform_conv2d`` backward, ``torchvision/csrc/ops/cpu/deform_conv2d_kernel.cpp``, computes the same
        gradients). With V = C_in·Πk·ΠN_out sampled values, P = G·Πk·ΠN_out sampling points, m = 1 if modulated:

        * main conv: dW = its MACs; the column gradient Wᵀ·gy (its MACs) is needed for any gradient below it;
        * sampling, offset side (needed for the input gradient and for the offset conv's weights):
          m·V (g·mask) + 2^d·V (each corner weight's gradient Σ_c g·x_corner) + d·2^d·P (the offsets' gradient,
          the corner weights' derivatives times those) + m·V (the mask's gradient Σ_c g·sample);
        * sampling, input side (the input gradient only): 2^d·V (each value's gradient scattered to its corners);
        * offset conv: dX = its MACs (input gradient only), dW = its MACs.

        All of it except the weight gradients is counted as dX. A trainable deformable layer fed by the network
        input still computes the column gradient and the offset side, for its offset conv's weights."""
        g = self.geometry(ins[0])
        offset, sampling, main = self.stages(ins)
        ndim, modulated = len(g.out_sizes), int(self.modulated)
        taps, positions = prod(g.kernel), prod(g.out_sizes)
        values, points = g.c_in * taps * positions, self.offset_groups * taps * positions
        offset_side = 2 * modulated * values + 2 ** ndim * values + ndim * 2 ** ndim * points
        dx = 0
        if input_grad or trainable:
            dx += main.counts.macs + offset_side
        if input_grad:
            dx += 2 ** ndim * values + offset.counts.macs
        dw = offset.counts.macs + main.counts.macs if trainable else 0
        return dx, dw

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

    def erf_rule(self, ins, out, index):
        """The main conv's rule at zero offsets (the nominal sampling grid)."""
        from . import influence

        g = self.geometry(ins[index])
        readers = self.window_readers(ins[index])
        return influence.ERFRule(Fraction(g.c_out // g.groups), readers,
                                 note="deformable offsets taken as zero (the nominal sampling grid)")
