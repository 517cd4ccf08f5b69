"""Factorised convolutions from the design notes: spatially separable (k×1 then 1×k), depthwise separable
(depthwise k×k then pointwise 1×1) and flattened (lateral 1×1, then one 1-D conv per axis).

Notation: input (C_in, *N) with d spatial axes, output (C_out, *N_out); Πk is the product of the kernel sizes,
ΠN the number of positions. MACs and FLOPs are per sample.
"""

from __future__ import annotations


from ..spec.fields import Int
from ..spec.graph import Node
from .base import Example, REGISTRY, Layer, register
from .composite import ConvVariant, SubLayers, conv_stage, sub_row


@register
class Separable(ConvVariant):
    """Spatially separable convolution: a k×1 conv then a 1×k conv (generalised to d axes: one 1-D conv per axis,
    in axis order), each stage applying its own axis's stride, padding and dilation.

    Design notes ("spatially separable": f ∗ K = f ∗ V ∗ H for K = V·H); Szegedy et al. 2016, "Rethinking the
    Inception Architecture" (n×1 followed by 1×n). Stage i maps C_in → M (the first d − 1 stages) or M → C_out
    (the last; one stage only for 1-D input), with M = ``mid`` (default C_out)::

        shape:  stage i turns axis i from N_i into N_out_i (the conv rule), so the result is the conv's shape
        params: Σ_i C_out,i · C_in,i · k_i  (+ C_out,i bias per stage)
        MACs:   Σ_i C_out,i · (N_out_1 ⋯ N_out_i · N_i+1 ⋯ N_d) · C_in,i · k_i
        FLOPs:  2·MACs + bias adds

    Single channel, valid, N×N, m×m: MACs = (N−m+1)·N·m + (N−m+1)²·m; ratio to the standard conv
    1/m + 1/(m(1 − (m−1)/N)) → 2/m. RF: the conv's window (the stages compose to k per axis).
    """

    kind = "separable"

    example = Example((2, 9, 9), {"out": 2, "kernel": 3, "stride": 2, "padding": "same", "mid": 3})
    summary = "spatially separable conv: k×1 then 1×k (one 1-D conv per axis), with `mid` channels between"
    mid = Int(default=None, min=1, doc="channels between the stages (default: out)")
    formulas = {
        "shape": "stage i applies the conv rule on axis i only: N_out,i = floor((N_i + p_b + p_a − k_eff,i)/s_i) + 1",
        "params": "Σ_i C_out,i · C_in,i · k_i (+ C_out,i per stage with bias); stages C_in→M, …, M→C_out",
        "macs": "Σ_i C_out,i · (positions after stage i) · C_in,i · k_i",
        "flops": "2·MACs + Σ_i C_out,i · (positions after stage i) with bias",
        "rf": "as the conv: r += (k_eff − 1)·j, j *= s per axis",
    }

    def stages(self, ins):
        c_in, c_out, _, kernel, _, _, _, _, out_sizes = self.geometry(ins[0])
        sizes = ins[0][1:]
        ndim = len(sizes)
        mid = self.mid if self.mid is not None else c_out
        rows, channels = [], c_in
        for axis in range(ndim):
            stage_out = c_out if axis == ndim - 1 else mid
            after = (*out_sizes[:axis + 1], *sizes[axis + 1:])
            k = tuple(kernel[axis] if a == axis else 1 for a in range(ndim))
            rows.append(conv_stage(f"axis{axis} {'×'.join(map(str, k))}", "conv", channels, stage_out, 1, k, after,
                                    self.bias))
            channels = stage_out
        return rows



@register
class DepthwiseSeparable(ConvVariant):
    """Depthwise separable convolution (Chollet 2017, Xception; Howard et al. 2017, MobileNet): a depthwise k×k
    conv (C_in → C_in·m, ``multiplier`` m), optional shape-keeping ``mid`` layers (e.g. ``[batchnorm, relu]``),
    then a pointwise 1×1 conv (C_in·m → C_out). ``bias`` applies to both convs::

        shape:  the depthwise conv's spatial rule, then C_out channels
        params: C_in·m·Πk + C_out·C_in·m  (+ C_in·m + C_out with bias) + the mid layers' params
        MACs:   C_in·m·ΠN_out·Πk + C_out·ΠN_out·C_in·m
        FLOPs:  2·MACs + bias adds + the mid layers' FLOPs on (C_in·m, *N_out)

    Ratio to the standard conv (m = 1): 1/C_out + 1/Πk (≈ 1/9 for 3×3). RF: the depthwise window.
    """

    kind = "depthwise_separable"

    example = Example((3, 7, 7), {"out": 4, "kernel": 3, "padding": 1, "multiplier": 2, "mid": ["batchnorm", "relu"]})
    summary = "depthwise k×k (with multiplier) then pointwise 1×1, optional `mid` layers between"
    multiplier = Int(default=1, min=1, doc="depthwise outputs per input channel")
    mid = SubLayers(default=(), doc="shape-keeping layers between the two convs, e.g. [batchnorm, relu]")
    formulas = {
        "shape": "N_out = floor((N + p_b + p_a − k_eff)/s) + 1 per axis (depthwise); channels C_out",
        "params": "C_in·m·Πk + C_out·C_in·m (+ C_in·m + C_out bias) + mid layers",
        "macs": "C_in·m·ΠN_out·Πk + C_out·ΠN_out·C_in·m",
        "flops": "2·MACs + bias adds + mid layers' FLOPs",
        "rf": "the depthwise window: r += (k_eff − 1)·j, j *= s per axis (the 1×1 adds nothing)",
    }

    def mid_layers(self, shape) -> list[Layer]:
        layers = []
        for index, (kind, fields) in enumerate(self.mid):
            node = Node(f"{self.name}.mid{index + 1}", kind, dict(fields), [self.name], self.node.mark_of("mid"))
            layers.append(REGISTRY[kind](node))
        for layer in layers:
            if tuple(layer.output_shape([shape])) != tuple(shape):
                self.fail(f"mid layer `{layer.kind}` changes the shape {shape}", "use shape-keeping layers", "mid")
        return layers

    def stages(self, ins):
        c_in, c_out, _, kernel, _, _, _, _, out_sizes = self.geometry(ins[0])
        wide = c_in * self.multiplier
        rows = [conv_stage("depthwise", "depthwise", c_in, wide, c_in, kernel, out_sizes, self.bias)]
        shape = (wide, *out_sizes)
        for layer in self.mid_layers(shape):
            rows.append(sub_row(layer.name.rsplit(".", 1)[-1], layer.kind, shape, layer.params([shape]),
                                 layer.macs([shape]), layer.flops([shape]), layer.worked([shape])))
        rows.append(conv_stage("pointwise", "pointwise", wide, c_out, 1, (1,) * len(out_sizes), out_sizes,
                                self.bias))
        return rows

    def buffers(self, ins):
        *_, out_sizes = self.geometry(ins[0])
        shape = (ins[0][0] * self.multiplier, *out_sizes)
        return sum(layer.buffers([shape]) for layer in self.mid_layers(shape))


@register
class Flattened(ConvVariant):
    """Flattened convolution (Jin, Dundar & Culurciello 2014, "Flattened convolutional neural networks for
    feedforward acceleration"): a lateral 1×1 conv C_in → F (F = ``out``), then one per-channel 1-D conv along each
    spatial axis (vertical k_h×1, horizontal 1×k_w for 2-D), each with its axis's stride, padding and dilation.
    Together they are a rank-1 3-D filter (channels × k_h × k_w)::

        params: F·C_in + F·Σ_i k_i  (+ (d + 1)·F bias)     2-D: F(C + k_h + k_w) + 3F
        MACs:   F·ΠN·C_in + Σ_i F·(positions after stage i)·k_i
        FLOPs:  2·MACs + bias adds

    RF: the conv's window.
    """

    kind = "flattened"

    example = Example((2, 9, 9), {"out": 2, "kernel": 3, "stride": [2, 1], "padding": [1, 0]})
    summary = "flattened conv (Jin et al. 2014): lateral 1×1 C→F, then a per-channel 1-D conv along each axis"
    formulas = {
        "shape": "lateral keeps N; stage i applies the conv rule on axis i: "
                 "N_out,i = floor((N_i + p − k_eff,i)/s_i) + 1",
        "params": "F·C_in + F·Σ_i k_i (+ (d + 1)·F bias)",
        "macs": "F·ΠN·C_in + Σ_i F·(positions after stage i)·k_i",
        "flops": "2·MACs + bias adds",
        "rf": "as the conv: r += (k_eff − 1)·j, j *= s per axis",
    }

    def stages(self, ins):
        c_in, f, _, kernel, _, _, _, _, out_sizes = self.geometry(ins[0])
        sizes = ins[0][1:]
        ndim = len(sizes)
        rows = [conv_stage("lateral 1×1", "pointwise", c_in, f, 1, (1,) * ndim, sizes, self.bias)]
        for axis in range(ndim):
            after = (*out_sizes[:axis + 1], *sizes[axis + 1:])
            k = tuple(kernel[axis] if a == axis else 1 for a in range(ndim))
            rows.append(conv_stage(f"axis{axis} {'×'.join(map(str, k))}", "depthwise", f, f, f, k, after,
                                    self.bias))
        return rows


