"""Build a ``torch.nn.Module`` from an expanded convcalc graph, with the weights of an executor run.

Used by the executor's torch cross-check tests and by ``benchmarks/executor_vs_torch.py``. It maps every layer
kind onto the matching ``torch.nn`` module (padding words and asymmetric padding become an explicit ``F.pad`` or
crop), so the torch side follows PyTorch's own semantics and shares no shape code with the executor.

    ex = convcalc.executor.run(graph)
    model = build(graph, ex)            # eval mode, the executor's weights and normalisation buffers loaded
    y = model(torch.from_numpy(ex.input))
"""

from __future__ import annotations

from fractions import Fraction

import torch
import torch.nn.functional as F
from torch import nn


def _axes(value, ndim):
    return tuple(value) if isinstance(value, tuple) else (value,) * ndim


def _forward_pads(value, sizes, k_eff, stride):
    """(before, after) per axis: TensorFlow's `same` (odd unit after), `full` = k_eff − 1, `valid` = 0."""
    ndim = len(sizes)
    if value == "valid":
        return [(0, 0)] * ndim
    if value == "full":
        return [(k - 1, k - 1) for k in k_eff]
    if value == "same":
        out = []
        for n, k, s in zip(sizes, k_eff, stride):
            total = max((-(-n // s) - 1) * s + k - n, 0)
            out.append((total // 2, total - total // 2))
        return out
    if isinstance(value, tuple):
        return [v if isinstance(v, tuple) else (v, v) for v in value]
    return [(value, value)] * ndim


def _torch_pad(pairs):
    """F.pad's argument: (before, after) pairs from the LAST axis backwards."""
    flat = []
    for before, after in reversed(pairs):
        flat += [before, after]
    return flat


class Pad(nn.Module):
    def __init__(self, pairs, value=0.0, mode="constant"):
        super().__init__()
        self.pad, self.value, self.mode = _torch_pad(pairs), value, mode

    def forward(self, x):
        if self.mode == "constant":
            return F.pad(x, self.pad, value=self.value)
        return F.pad(x, self.pad, mode=self.mode)


class Crop(nn.Module):
    def __init__(self, starts, sizes):
        super().__init__()
        self.index = (slice(None), slice(None)) + tuple(slice(a, a + n) for a, n in zip(starts, sizes))

    def forward(self, x):
        return x[self.index]


class Lambda(nn.Module):
    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def forward(self, *xs):
        return self.fn(*xs)


def _aligned(xs):
    """Per-sample shapes aligned on the right (the batch stays axis 0), as convcalc broadcasts."""
    rank = max(x.dim() for x in xs)
    return [x.reshape(x.shape[0], *([1] * (rank - x.dim())), *x.shape[1:]) for x in xs]


def _multiply(*xs):
    y = None
    for x in _aligned(xs):
        y = x if y is None else y * x
    return y


def _add(*xs):
    xs = _aligned(xs)
    return sum(xs[1:], xs[0])


def _depth_to_space_dcr(r):
    """ONNX DepthToSpace, mode DCR, d-D: the channels viewed as (r, …, r, C) (reshape [b, r, r, C, h, w],
    transpose [0, 3, 4, 1, 5, 2] for 2-D)."""
    def run(x):
        b, channels, *sizes = x.shape
        d = len(sizes)
        c = channels // r ** d
        y = x.reshape(b, *([r] * d), c, *sizes)
        y = y.permute(0, 1 + d, *(i for a in range(d) for i in (2 + d + a, 1 + a)))
        return y.reshape(b, c, *(n * r for n in sizes))
    return run


def _space_to_depth_dcr(r):
    """ONNX SpaceToDepth, d-D: reshape [b, C, h/r, r, w/r, r], transpose [0, 3, 5, 1, 2, 4] for 2-D."""
    def run(x):
        b, c, *sizes = x.shape
        d = len(sizes)
        y = x.reshape(b, c, *(v for n in sizes for v in (n // r, r)))
        y = y.permute(0, *(3 + 2 * a for a in range(d)), 1, *(2 + 2 * a for a in range(d)))
        return y.reshape(b, c * r ** d, *(n // r for n in sizes))
    return run


class PerChannel(nn.Module):
    """layer_scale (γ·x) and bias_add (x + β): a (C,) array, a parameter or a buffer, along dim 1 or the last."""

    def __init__(self, array, last: bool, multiply: bool, learnable: bool):
        super().__init__()
        tensor = torch.from_numpy(array.copy())
        if learnable:
            self.value = nn.Parameter(tensor)
        else:
            self.register_buffer("value", tensor)
        self.last, self.multiply = last, multiply

    def forward(self, x):
        value = self.value if self.last else self.value.reshape(-1, *([1] * (x.dim() - 2)))
        return x * value if self.multiply else x + value


_SCALAR = {
    "add": lambda v: lambda x: x + v, "sub": lambda v: lambda x: x - v, "mul": lambda v: lambda x: x * v,
    "div": lambda v: lambda x: x / v, "rsub": lambda v: lambda x: v - x, "rdiv": lambda v: lambda x: v / x,
    "pow": lambda v: lambda x: torch.pow(x, v),
}

_ACTIVATIONS = {
    "relu": nn.ReLU, "relu6": nn.ReLU6, "sigmoid": nn.Sigmoid, "tanh": nn.Tanh,
    "silu": nn.SiLU, "swish": nn.SiLU, "hardswish": nn.Hardswish, "selu": nn.SELU, "mish": nn.Mish,
    "identity": nn.Identity,
}


class Negated(nn.Module):
    """``-module(-x)``: min pooling as a model writes it, the max pool a submodule (the peers see it)."""

    def __init__(self, module):
        super().__init__()
        self.module = module

    def forward(self, x):
        return -self.module(-x)


class SqueezeExcitation(nn.Module):
    """torchvision.ops.SqueezeExcitation on any rank, with the executor's FC weights: mean over the positions,
    fc1, activation, fc2, gate, times the input."""

    def __init__(self, weights, activation: nn.Module, gate: nn.Module):
        super().__init__()
        w1, b1, w2, b2 = weights if len(weights) == 4 else (weights[0], None, weights[1], None)
        self.fc1 = nn.Linear(w1.shape[1], w1.shape[0], bias=b1 is not None)
        self.fc2 = nn.Linear(w2.shape[1], w2.shape[0], bias=b2 is not None)
        _load(self.fc1, [w for w in (w1, b1) if w is not None])
        _load(self.fc2, [w for w in (w2, b2) if w is not None])
        self.activation, self.gate = activation, gate

    def forward(self, x):
        squeezed = x.mean(dim=tuple(range(2, x.dim())))
        gate = self.gate(self.fc2(self.activation(self.fc1(squeezed))))
        return x * gate.reshape(*gate.shape, *[1] * (x.dim() - 2))


_SE_ACTIVATIONS = {**_ACTIVATIONS, "leaky_relu": nn.LeakyReLU, "gelu": nn.GELU, "hardsigmoid": nn.Hardsigmoid}


def layer_module(node, in_shapes, out_shape, weights, buffers) -> nn.Module:
    """The torch module of one node; ``in_shapes`` and ``out_shape`` are per sample."""
    kind, f = node.kind, node.fields
    shape = in_shapes[0]
    ndim = len(shape) - 1
    if kind in ("conv", "depthwise", "pointwise"):
        w = weights[0]
        c_in = shape[0]
        groups = c_in if kind == "depthwise" else f.get("groups", 1)
        kernel = tuple(w.shape[2:])
        stride, dilation = _axes(f.get("stride", 1), ndim), _axes(f.get("dilation", 1), ndim)
        k_eff = [d * (k - 1) + 1 for k, d in zip(kernel, dilation)]
        pairs = _forward_pads(f.get("padding", 0), shape[1:], k_eff, stride)
        mode = f.get("padding_mode", "zeros")
        symmetric = all(b == a for b, a in pairs)
        conv = [nn.Conv1d, nn.Conv2d, nn.Conv3d][ndim - 1](
            c_in, w.shape[0], kernel, stride=stride, dilation=dilation, groups=groups, bias=len(weights) > 1,
            padding=tuple(b for b, _ in pairs) if symmetric else 0, padding_mode=mode if symmetric else "zeros")
        _load(conv, weights)
        if symmetric:
            return conv
        return nn.Sequential(Pad(pairs, mode="constant" if mode == "zeros" else mode), conv)
    if kind == "conv_transpose":
        w = weights[0]
        c_in, groups = shape[0], f.get("groups", 1)
        kernel = tuple(w.shape[2:])
        stride, dilation = _axes(f.get("stride", 1), ndim), _axes(f.get("dilation", 1), ndim)
        out_pad = _axes(f.get("output_padding", 0), ndim)
        k_eff = [d * (k - 1) + 1 for k, d in zip(kernel, dilation)]
        padding = f.get("padding", 0)
        if padding == "same":
            pairs = [((k - s) // 2, k - s - (k - s) // 2) for k, s in zip(k_eff, stride)]
        else:
            pairs = _forward_pads(padding, shape[1:], k_eff, stride)
        symmetric = all(b == a for b, a in pairs)
        module = [nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d][ndim - 1](
            c_in, w.shape[1] * groups, kernel, stride=stride, dilation=dilation, groups=groups,
            bias=len(weights) > 1, output_padding=out_pad,
            padding=tuple(b for b, _ in pairs) if symmetric else 0)
        _load(module, weights)
        if symmetric:
            return module
        return nn.Sequential(module, Crop([b for b, _ in pairs], out_shape[1:]))
    if kind == "batchnorm":
        eps = float(f.get("eps", 1e-5))
        bn = [nn.BatchNorm1d, nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d][ndim](
            shape[0], eps=eps, affine=f.get("affine", True), track_running_stats=f.get("track_running_stats", True))
        return _load_norm(bn, weights, buffers)
    if kind == "layernorm":  # over the last axis; over channels as torchvision's LayerNorm2d: permute, norm, back
        over_channels = f.get("axis", "channels") == "channels" and ndim > 0
        ln = _load_norm(nn.LayerNorm(shape[0] if over_channels else shape[-1], eps=float(f.get("eps", 1e-5)),
                                     elementwise_affine=f.get("affine", True), bias=f.get("bias", True)),
                        weights, buffers)
        if not over_channels:
            return ln
        return nn.Sequential(Lambda(lambda x: x.movedim(1, -1)), ln, Lambda(lambda x: x.movedim(-1, 1)))
    if kind == "groupnorm":
        return _load_norm(nn.GroupNorm(f["groups"], shape[0], eps=float(f.get("eps", 1e-5)),
                                       affine=f.get("affine", True)), weights, buffers)
    if kind == "instancenorm":
        return _load_norm([nn.InstanceNorm1d, nn.InstanceNorm2d, nn.InstanceNorm3d][ndim - 1](
            shape[0], eps=float(f.get("eps", 1e-5)), affine=f.get("affine", False),
            track_running_stats=f.get("track_running_stats", False)), weights, buffers)
    if kind in _ACTIVATIONS:
        return _ACTIVATIONS[kind]()
    if kind == "squeeze_excitation":
        return SqueezeExcitation(weights, _SE_ACTIVATIONS[f.get("activation", "relu")](),
                                 _SE_ACTIVATIONS[f.get("gate", "sigmoid")]())
    if kind == "leaky_relu":
        return nn.LeakyReLU(float(f.get("negative_slope", 0.01)))
    if kind == "gelu":
        return nn.GELU(approximate=f.get("approximate", "none"))
    if kind == "hardsigmoid":
        alpha, beta = f.get("alpha", Fraction(1, 6)), f.get("beta", Fraction(1, 2))
        if (alpha, beta) == (Fraction(1, 6), Fraction(1, 2)):
            return nn.Hardsigmoid()
        return Lambda(lambda x: torch.clamp(float(alpha) * x + float(beta), 0, 1))
    if kind == "prelu":
        prelu = nn.PReLU(weights[0].size)
        with torch.no_grad():
            prelu.weight.copy_(torch.from_numpy(weights[0]))
        return prelu
    if kind == "elu":
        return nn.ELU(float(f.get("alpha", 1)))
    if kind == "softplus":
        return nn.Softplus(float(f.get("beta", 1)), float(f.get("threshold", 20)))
    if kind == "hardtanh":
        return nn.Hardtanh(float(f.get("min_val", -1)), float(f.get("max_val", 1)))
    if kind == "softmax":
        return nn.Softmax(dim=1 if f.get("axis", "channels") == "channels" else -1)
    if kind == "scalar":
        return Lambda(_SCALAR[f["op"]](float(f["value"])))
    if kind in ("layer_scale", "bias_add"):
        learnable = f.get("learnable", True)
        return PerChannel((weights if learnable else buffers)[0], f.get("axis", "channels") == "last",
                          kind == "layer_scale", learnable)
    if kind == "dropout":
        return nn.Dropout(float(f.get("p", 0)))
    if kind == "linear":
        w = weights[0]
        linear = nn.Linear(w.shape[1], w.shape[0], bias=len(weights) > 1)
        _load(linear, weights)
        return linear
    if kind == "flatten":
        end = f.get("end", -1)
        return nn.Flatten(f.get("start", 0) + 1, end + 1 if end >= 0 else end)
    if kind == "permute":
        dims = (0, *(d + 1 for d in f["dims"]))
        return Lambda(lambda x: x.permute(*dims))
    if kind == "reshape":
        return Lambda(lambda x: x.reshape(x.shape[0], *f["shape"]))
    if kind == "add":
        return Lambda(_add)
    if kind == "subtract":
        return Lambda(lambda *xs: torch.sub(*_aligned(xs)))
    if kind == "divide":
        return Lambda(lambda *xs: torch.div(*_aligned(xs)))
    if kind == "concat":
        return Lambda(lambda *xs: torch.cat(xs, dim=1))
    if kind == "multiply":
        return Lambda(_multiply)
    if kind == "pad":
        pairs = [v if isinstance(v, tuple) else (v, v) for v in f["padding"]] if isinstance(f["padding"], tuple) \
            else [(f["padding"], f["padding"])] * ndim
        return Pad(pairs, float(f.get("value", 0)), f.get("mode", "constant"))
    if kind == "channel_shuffle":  # torch.nn.ChannelShuffle: view (B, g, C/g, …), swap the channel axes, flatten
        return nn.ChannelShuffle(f["groups"])
    if kind == "channel_slice":
        start, stop = f.get("start", 0), f.get("stop")
        return Lambda(lambda x: x[:, start:stop])
    if kind in ("pixel_shuffle", "pixel_unshuffle"):
        r, dcr = f["factor"], f.get("order", "crd") == "dcr"
        if kind == "pixel_shuffle":
            return Lambda(_depth_to_space_dcr(r)) if dcr else nn.PixelShuffle(r)
        return Lambda(_space_to_depth_dcr(r)) if dcr else nn.PixelUnshuffle(r)
    if kind in ("maxpool", "minpool", "avgpool"):
        kernel = f["kernel"]
        stride = f.get("stride") or kernel
        if kind == "avgpool":
            return [nn.AvgPool1d, nn.AvgPool2d, nn.AvgPool3d][ndim - 1](
                kernel, stride, f.get("padding", 0), ceil_mode=f.get("ceil_mode", False),
                count_include_pad=f.get("count_include_pad", True))
        pool = [nn.MaxPool1d, nn.MaxPool2d, nn.MaxPool3d][ndim - 1](
            kernel, stride, f.get("padding", 0), dilation=f.get("dilation", 1), ceil_mode=f.get("ceil_mode", False))
        return pool if kind == "maxpool" else Negated(pool)
    if kind in ("global_avgpool", "global_maxpool", "adaptive_avgpool", "adaptive_maxpool"):
        size = 1 if kind.startswith("global") else f["output_size"]
        average = kind.endswith("avgpool")
        pool = ([nn.AdaptiveAvgPool1d, nn.AdaptiveAvgPool2d, nn.AdaptiveAvgPool3d] if average else
                [nn.AdaptiveMaxPool1d, nn.AdaptiveMaxPool2d, nn.AdaptiveMaxPool3d])[ndim - 1](size)
        if kind.startswith("global") and not f.get("keepdims", True):
            return nn.Sequential(pool, nn.Flatten())
        return pool
    if kind == "upsample":
        mode = f.get("mode", "nearest")
        if mode not in ("nearest", "bicubic"):  # bicubic is its own torch mode (2-D only, as the executor)
            mode = {1: "linear", 2: "bilinear", 3: "trilinear"}[ndim]
        scale = f.get("scale")
        if scale is not None:
            scale = tuple(float(s) for s in scale) if isinstance(scale, tuple) else float(scale)
        return nn.Upsample(size=f.get("size"), scale_factor=scale, mode=mode,
                           align_corners=f.get("align_corners", False) if mode != "nearest" else None)
    if kind in ("separable", "depthwise_separable", "flattened"):
        return _factorised(node, shape, weights, buffers)
    raise NotImplementedError(f"no torch module for layer kind {kind!r}")


class _Stage:
    """A stage of a factorised conv, as a node for :func:`layer_module`."""

    def __init__(self, kind, fields):
        self.kind, self.fields = kind, fields


#: a mid layer's arrays: (weights, buffers), from its fields (the executor allocates them in state_dict order)
def _mid_arrays(kind, f):
    if kind in ("batchnorm", "groupnorm", "instancenorm", "layernorm"):
        affine = f.get("affine", kind != "instancenorm")
        weights = (2 if f.get("bias", True) else 1) if kind == "layernorm" and affine else 2 * affine
        tracked = f.get("track_running_stats", kind == "batchnorm") and kind in ("batchnorm", "instancenorm")
        return weights, 2 * tracked
    return (1, 0) if kind == "prelu" else (0, 0)


def _factorised(node, shape, weights, buffers) -> nn.Module:
    """A factorised conv as the nn.Sequential of its stages a user writes: separable, one conv per axis (k×1 then
    1×k); depthwise_separable, the depthwise conv (groups = C_in), its mid layers, the pointwise conv; flattened,
    the lateral 1×1 conv, then one per-channel 1-D conv per axis. A per-axis stage pads its own axis with the
    whole kernel's padding on that axis. The executor's weights are in that order, each conv's weight then bias."""
    kind, f = node.kind, node.fields
    ndim = len(shape) - 1
    per = 2 if f.get("bias", True) else 1
    kernel = _axes(f["kernel"], ndim)
    stride, dilation = _axes(f.get("stride", 1), ndim), _axes(f.get("dilation", 1), ndim)
    k_eff = [d * (k - 1) + 1 for k, d in zip(kernel, dilation)]
    pairs = _forward_pads(f.get("padding", 0), shape[1:], k_eff, stride)
    sizes = list(shape[1:])

    def on(axis, values, other):
        return tuple(v if a == axis else other for a, v in enumerate(values))

    def conv(arrays, c_in, fields):
        return layer_module(_Stage("conv", fields), [(c_in, *sizes)], None, arrays, [])

    def axis_conv(arrays, axis, c_in, groups):
        return conv(arrays, c_in, {"stride": on(axis, stride, 1), "dilation": on(axis, dilation, 1),
                                   "padding": on(axis, pairs, (0, 0)), "groups": groups})

    stages = []
    if kind == "separable":
        for axis in range(ndim):
            w = weights[axis * per:(axis + 1) * per]
            stages.append(axis_conv(w, axis, w[0].shape[1], 1))
    elif kind == "flattened":
        stages.append(conv(weights[:per], shape[0], {}))
        for axis in range(ndim):
            w = weights[(axis + 1) * per:(axis + 2) * per]
            stages.append(axis_conv(w, axis, w[0].shape[0], w[0].shape[0]))
    else:
        stages.append(conv(weights[:per], shape[0], {"stride": stride, "dilation": dilation, "padding": tuple(pairs),
                                                     "groups": shape[0]}))
        w_at, b_at = per, 0
        wide = weights[0].shape[0]
        for mid_kind, fields in f.get("mid", ()):
            n_w, n_b = _mid_arrays(mid_kind, fields)
            stages.append(layer_module(_Stage(mid_kind, dict(fields)), [(wide, *sizes)], (wide, *sizes),
                                       weights[w_at:w_at + n_w], buffers[b_at:b_at + n_b]))
            w_at, b_at = w_at + n_w, b_at + n_b
        stages.append(conv(weights[w_at:w_at + per], wide, {}))
    return nn.Sequential(*stages)


def _load_norm(module, weights, buffers):
    """A normalisation module with the executor's γ, β and running statistics (state_dict order)."""
    with torch.no_grad():
        if weights:
            module.weight.copy_(torch.from_numpy(weights[0]))
        if len(weights) > 1:
            module.bias.copy_(torch.from_numpy(weights[1]))
        if buffers:
            module.running_mean.copy_(torch.from_numpy(buffers[0]))
            module.running_var.copy_(torch.from_numpy(buffers[1]))
    return module


def _load(module, weights):
    with torch.no_grad():
        module.weight.copy_(torch.from_numpy(weights[0]))
        if len(weights) > 1:
            module.bias.copy_(torch.from_numpy(weights[1]))


class GraphModule(nn.Module):
    """Runs the graph's nodes in order, freeing each value after its last use."""

    def __init__(self, graph, ex):
        super().__init__()
        self.graph = graph
        shapes = {graph.input_name: tuple(graph.input_shape)}
        for executed in ex.layers:
            shapes[executed.name] = tuple(executed.output_shape)
        self.steps = nn.ModuleList()
        for node in graph.nodes:
            self.steps.append(layer_module(node, [shapes[n] for n in node.inputs], shapes[node.name],
                                           ex.weights.get(node.name, []), ex.buffers.get(node.name, [])))
        self.last_use = {}
        for index, node in enumerate(graph.nodes):
            for name in node.inputs:
                self.last_use[name] = index
        self.output_name = graph.output or graph.nodes[-1].name

    def forward(self, x, keep=False):
        values = {self.graph.input_name: x}
        kept = {}
        for index, (node, step) in enumerate(zip(self.graph.nodes, self.steps)):
            values[node.name] = step(*[values[name] for name in node.inputs])
            if keep:
                kept[node.name] = values[node.name]
            for name in set(node.inputs):
                if self.last_use.get(name) == index and name != self.output_name:
                    values.pop(name, None)
        return kept if keep else values[self.output_name]


def build(graph, ex) -> GraphModule:
    """A torch module of ``graph`` in eval mode, with the weights and buffers of the executor run ``ex``."""
    dtype = torch.float64 if ex.output.dtype.itemsize == 8 else torch.float32
    previous = torch.get_default_dtype()
    torch.set_default_dtype(dtype)  # create the parameters in the run's dtype before copying weights in
    try:
        return GraphModule(graph, ex).eval()
    finally:
        torch.set_default_dtype(previous)
