"""The analytic effective receptive field: the exact influence distribution of a linearised network.

The theoretical receptive field (:mod:`convcalc.cost.rf`) says which input pixels a unit *can* see. The effective
receptive field (Luo, Li, Urtasun & Zemel, "Understanding the Effective Receptive Field in Deep Convolutional
Neural Networks", NIPS 2016) says how much each of them matters: the gradient of the unit with respect to the
input. Its centre is reached by many more paths than its edge, so it is roughly Gaussian and much smaller.

**Analytic ERF** (:func:`analytic_erf`, pure Python, exact). The network is linearised with uniform weights: every
weight is 1, biases 0, batch norm the identity, activations the identity, max/min pooling the window *sum*, and a
multiply passes the gradient to each input as if the other operands were 1. It is the gradient that
``--erf measured --weights uniform`` measures on a network without nonlinearities. An impulse at the chosen output
unit (summed over channels) is propagated backwards through the graph; every layer acts on each spatial axis as a
1-D operator (a conv scatters each position to k taps spaced d apart, i.e. a box of k taps spaced j·d input
pixels apart at the current jump j), and the per-channel gradient is scaled by the channel fan-out (C_out / groups
for a conv, ``out`` for a linear layer, 1/Πk for average pooling). The result per axis is the *marginal* of the
input gradient along that axis, as exact integers (distributions of path counts) times an exact scale.

* Borders are ignored: the input plane is treated as unbounded (no zero-padding clipping, no resampling clamps),
  so the distribution is that of an interior unit and may extend past the image.
* Chains: the distribution is the convolution of the per-layer boxes, and its variance is
  Σ_l (j_{l−1}·d_l)²·(k_l² − 1)/12 (10 stacked 3×3 convs: 20/3).
* Branches: the gradients of all paths are **summed**, weighted by their channel fan-outs (exactly what uniform
  weights give); at a residual add both paths count. The marginals stay exact, except where a layer whose taps
  per output vary with position (a transposed conv whose stride does not divide its kernel, an uneven adaptive
  pool) acts on a gradient that is already a sum over several paths; that is flagged (``exact`` false, with a
  note).

Statistics and the result types: :mod:`convcalc.erf.stats`; the measured ERF: :mod:`convcalc.erf.measured`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from math import floor, gcd, lcm, prod
from typing import Callable, Sequence

from ..errors import SpecError
from ..spec.graph import Graph, Node
from .stats import DEFAULT_MASS, ERF, axes_from, check_position, default_layer

# ---- the analytic model: per-axis marginals of the uniform-weight gradient ---------------------------------
@dataclass
class _State:
    """The per-channel gradient at one node: per axis, the marginal ``scale[a] · ints[a]`` (index ``offset[a]``
    first). Every marginal sums to ``mass``. ``separable``: the gradient is an outer product (one path)."""

    offsets: list[int]
    ints: list[list[int]]
    scales: list[Fraction]
    mass: Fraction
    separable: bool = True

    @classmethod
    def impulse(cls, position: Sequence[int]) -> "_State":
        return cls(list(position), [[1] for _ in position], [Fraction(1)] * len(position), Fraction(1))


Reader = Callable[[int], list]  # output index → [(input index, weight int|Fraction), …]
APPROXIMATE = "\0approximate\0"  # prefix of a note that makes the result inexact (stripped when reported)


@dataclass
class _Rule:
    """How a layer maps the gradient at its output to one input: a channel factor and one reader per axis.

    ``extra``: further terms summed with this one (a composite layer with a skip inside, e.g. the SE gate path).
    ``note``: said in the result; with ``approximate`` the result is no longer exact."""

    factor: Fraction
    readers: list[Reader]
    extra: list["_Rule"] = field(default_factory=list)
    note: str = ""
    approximate: bool = False


def _reduce(values: list[int]) -> tuple[list[int], int]:
    """Strip zeros at both ends is done by the caller; divide by the gcd to keep the integers small."""
    g = 0
    for v in values:
        g = gcd(g, v)
        if g == 1:
            return values, 1
    if g > 1:
        return [v // g for v in values], g
    return values, 1


def _apply(state: _State, rule: _Rule, in_rank: int, layer: str, notes: list[str]) -> _State:
    """Propagate ``state`` (at a layer's output) through ``rule`` to one input of rank ``in_rank``."""
    if not state.ints and in_rank:  # a flat output read from a map: one output "position" per input axis
        state = _State([0] * in_rank, [[1]] * in_rank, [state.mass] * in_rank, state.mass, True)
    if not in_rank:
        return _State([], [], [], state.mass * rule.factor, state.separable)
    if all(reader is _identity for reader in rule.readers):  # elementwise, add, concat: only the channel factor
        return _State(list(state.offsets), state.ints, [s * rule.factor for s in state.scales],
                      state.mass * rule.factor, state.separable)
    new_offsets, new_ints, raw_scales, ratios = [], [], [], []
    for a, reader in enumerate(rule.readers):
        offset, values = state.offsets[a], state.ints[a]
        gathered, denominators, tap_sums = [], 1, set()
        weighted = Fraction(0)
        for k, v in enumerate(values):
            if not v:
                continue
            taps = reader(offset + k)
            total = sum(Fraction(w) for _, w in taps)
            tap_sums.add(total)
            weighted += v * total
            for _, w in taps:
                if isinstance(w, Fraction):
                    denominators = lcm(denominators, w.denominator)
            gathered.append((v, taps))
        if len(tap_sums) > 1 and not state.separable:
            notes.append(APPROXIMATE + f"`{layer}`: taps per output vary with position on axis {a} and the gradient "
                         "there is a sum over paths, so the marginals are approximate")
        acc: dict[int, int] = {}
        for v, taps in gathered:
            for i, w in taps:
                acc[i] = acc.get(i, 0) + v * int(w * denominators)
        acc = {i: v for i, v in acc.items() if v}
        if not acc:
            raise SpecError(f"layer `{layer}`: no input position influences the chosen output (axis {a})", None,
                            "pick another output position with --at")
        lo, hi = min(acc), max(acc)
        ints, g = _reduce([acc.get(i, 0) for i in range(lo, hi + 1)])
        new_offsets.append(lo)
        new_ints.append(ints)
        raw_scales.append(state.scales[a] * g / denominators)
        # mean taps weight per unit of gradient on this axis (exact whatever the state when it is constant)
        ratios.append(weighted / sum(values))
    scales = []
    for a in range(len(rule.readers)):
        others = prod((r for b, r in enumerate(ratios) if b != a), start=Fraction(1))
        scales.append(rule.factor * raw_scales[a] * others)
    mass = rule.factor * state.mass * prod(ratios, start=Fraction(1))
    return _State(new_offsets, new_ints, scales, mass, state.separable)


def _add(a: _State | None, b: _State) -> _State:
    """Sum of two gradients arriving at one node (it feeds several consumers)."""
    if a is None:
        return b
    offsets, ints, scales = [], [], []
    for k in range(len(a.ints)):
        sa, sb = a.scales[k], b.scales[k]
        s = Fraction(gcd(sa.numerator, sb.numerator), lcm(sa.denominator, sb.denominator))
        ma, mb = int(sa / s), int(sb / s)
        lo = min(a.offsets[k], b.offsets[k])
        hi = max(a.offsets[k] + len(a.ints[k]), b.offsets[k] + len(b.ints[k]))
        out = [0] * (hi - lo)
        for src, off, m in ((a.ints[k], a.offsets[k], ma), (b.ints[k], b.offsets[k], mb)):
            for i, v in enumerate(src):
                out[off - lo + i] += m * v
        out, g = _reduce(out)
        offsets.append(lo)
        ints.append(out)
        scales.append(s * g)
    return _State(offsets, ints, scales, a.mass + b.mass, False)


# ---- per-kind rules (reusing the cost model's geometry; borders ignored) ------------------------------------
def _identity(o):
    return [(o, 1)]


def rule_for(node: Node, ins: Sequence[tuple], out: tuple, index: int) -> _Rule:
    """The uniform-weight backward rule of ``node`` towards its input number ``index``."""
    from ..layers import REGISTRY
    from ..layers.conv import Conv, ConvTranspose
    from ..layers.elementwise import Elementwise
    from ..layers.linear import Flatten, Linear
    from ..layers.merge import Add, Concat, Multiply
    from ..layers.pool import AdaptivePool, AvgPool, GlobalPool, WindowPool
    from ..layers.resample import Upsample

    layer = REGISTRY[node.kind](node)
    shape = ins[index]
    sizes = shape[1:]
    rank = len(sizes)
    variant = _variant_rule(layer, shape, out)
    if variant is not None:
        return variant
    if isinstance(layer, ConvTranspose):
        c_in, c_out, groups, kernel, stride, dilation, k_eff, pads, _ = layer.geometry(shape)
        readers = [_transposed_reader(k, s, d, p[0]) for k, s, d, p in zip(kernel, stride, dilation, pads)]
        return _Rule(Fraction(c_out // groups), readers)
    if isinstance(layer, Conv):
        c_in, c_out, groups, kernel, stride, dilation, k_eff, pads, _ = layer.geometry(shape)
        readers = [_window_reader(k, s, d, p[0]) for k, s, d, p in zip(kernel, stride, dilation, pads)]
        return _Rule(Fraction(c_out // groups), readers)
    if isinstance(layer, WindowPool):
        kernel, stride, k_eff, pads, _ = layer.geometry(shape)
        dilation = layer.per_axis("dilation", rank)
        average = isinstance(layer, AvgPool)
        readers = [_window_reader(k, s, d, p[0], Fraction(1, k) if average else 1)
                   for k, s, d, p in zip(kernel, stride, dilation, pads)]
        return _Rule(Fraction(1), readers)
    if isinstance(layer, GlobalPool):
        layer.output_shape(ins)
        return _Rule(Fraction(1), [_whole_reader(n, layer.op == "avgpool") for n in sizes])
    if isinstance(layer, AdaptivePool):
        return _Rule(Fraction(1), [_adaptive_reader(w, layer.op == "avgpool") for w in layer.windows(shape)])
    if isinstance(layer, Flatten):
        return _Rule(Fraction(1), [_whole_reader(n, False) for n in sizes])
    if isinstance(layer, Linear):
        return _Rule(Fraction(layer.out), [])
    if isinstance(layer, Upsample):
        out_sizes = layer.out_sizes(shape)
        scales = layer.per_axis("scale", rank) if layer.scale is not None else (None,) * rank
        readers = [_upsample_reader(n, o, sc, layer.mode, layer.align_corners)
                   for n, o, sc in zip(sizes, out_sizes, scales)]
        return _Rule(Fraction(1), readers)
    if isinstance(layer, (Add, Concat)):
        return _Rule(Fraction(1), [_identity] * rank)
    if isinstance(layer, Multiply):
        gate = any(n == 1 and m != 1 for n, m in zip(sizes, out[1:]))
        readers = [_gate_reader(m) if n == 1 and m != 1 else _identity for n, m in zip(sizes, out[1:])]
        fan = out[0] // shape[0] if shape and out and shape[0] == 1 else 1
        return _Rule(Fraction(fan), readers, note="the broadcast gate spreads the gradient over the whole map "
                                                  "(global context)" if gate else "")
    if isinstance(layer, Elementwise):
        return _Rule(Fraction(1), [_identity] * rank)
    raise SpecError(f"layer `{node.name}`: the analytic ERF has no rule for layer kind `{node.kind}`", node.mark,
                    "add one to convcalc/erf.py rule_for(), or use --erf measured")


def _variant_rule(layer, shape, out) -> _Rule | None:
    """Rules of the issue-4 variant kinds (convcalc/layers/variants.py), or None for the other kinds."""
    from types import SimpleNamespace

    from ..layers import channel, deformable, excitation, factorised, resample

    v = SimpleNamespace(**{**vars(channel), **vars(deformable), **vars(excitation), **vars(factorised),
                           **vars(resample)})  # temporary: the rules move onto the kinds
    sizes = shape[1:]
    rank = len(sizes)

    def conv_readers():
        _, _, _, kernel, stride, dilation, _, pads, _ = layer.geometry(shape)
        return [_window_reader(k, s, d, p[0]) for k, s, d, p in zip(kernel, stride, dilation, pads)]

    if isinstance(layer, v.Separable):  # one 1-D conv per axis: C_in → M → … → M → C_out, groups 1
        c_out = layer.geometry(shape)[1]
        mid = layer.mid if layer.mid is not None else c_out
        return _Rule(Fraction(mid ** (rank - 1) * c_out), conv_readers())
    if isinstance(layer, v.DepthwiseSeparable):  # depthwise (×m per channel), mid layers, pointwise (×C_out)
        c_out = layer.geometry(shape)[1]
        odd = [kind for kind, _ in layer.mid if not _is_elementwise(kind)]
        note = (f"its mid layers {', '.join(odd)} are taken as the identity" if odd else "")
        return _Rule(Fraction(layer.multiplier * c_out), conv_readers(), note=note, approximate=bool(odd))
    if isinstance(layer, v.Deformable):
        _, c_out, groups, *_ = layer.geometry(shape)
        return _Rule(Fraction(c_out // groups), conv_readers(),
                     note="deformable offsets taken as zero (the nominal sampling grid)")
    if isinstance(layer, v.SqueezeExcitation):
        # x·gate(x) with the gate as 1: the identity, plus the gate path pool → FC C→S → FC S→C, which spreads
        # Σ_o G(o)·S·C evenly over the map (1/N per position from the average pool)
        c, squeeze = shape[0], layer.squeezed(shape)
        gate = _Rule(Fraction(squeeze * c), [_spread_reader(n) for n in sizes])
        return _Rule(Fraction(1), [_identity] * rank, extra=[gate],
                     note="the gate path spreads the gradient over the whole map (global context)")
    if isinstance(layer, v.ChannelShuffle):  # a permutation of channels that all carry the same gradient
        return _Rule(Fraction(1), [_identity] * rank)
    if isinstance(layer, v.ChannelSlice):
        # only channels start … stop − 1 receive the gradient; it is spread evenly over all C input channels,
        # which keeps every later channel sum exact but not a per-channel (depthwise) path
        kept = out[0]
        return _Rule(Fraction(kept, shape[0]), [_identity] * rank, approximate=True,
                     note=f"the gradient of {kept} of {shape[0]} channels is averaged over all input channels")
    if isinstance(layer, v.PixelShuffle):
        r = layer.factor  # output o reads input floor(o / r) of channel (c, phase); averaged over the r^d phases
        return _Rule(Fraction(1), [lambda o, r=r: [(o // r, Fraction(1, r))] for _ in sizes], approximate=True,
                     note="the gradient of the r^d sub-pixel phases is averaged over the input channels")
    if isinstance(layer, v.PixelUnshuffle):
        r = layer.factor  # output (c, phase p) at o reads input c at o·r + p: every input channel sees r taps
        return _Rule(Fraction(1), [lambda o, r=r: [(o * r + p, 1) for p in range(r)] for _ in sizes])
    return None


def _is_elementwise(kind: str) -> bool:
    from ..layers import REGISTRY
    from ..layers.elementwise import Elementwise

    return issubclass(REGISTRY[kind], Elementwise)


def _gate_reader(n_out: int) -> Reader:
    """A broadcast input of size 1: every output position inside the map reads its single position."""
    return lambda o: [(0, 1)] if 0 <= o < n_out else []


def _spread_reader(n: int) -> Reader:
    """Every output position inside the map spreads over the whole map with weight 1/n (a global average)."""
    weight = Fraction(1, n)
    return lambda o: [(i, weight) for i in range(n)] if 0 <= o < n else []


def _cubic(x: Fraction) -> Fraction:
    """Keys' cubic convolution kernel with A = −0.75 (PyTorch's bicubic)."""
    a, x = Fraction(-3, 4), abs(x)
    if x <= 1:
        return ((a + 2) * x - (a + 3)) * x * x + 1
    if x < 2:
        return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a
    return Fraction(0)


def _window_reader(k: int, s: int, d: int, pad_before: int, weight=1) -> Reader:
    def read(o):
        first = o * s - pad_before
        return [(first + t * d, weight) for t in range(k)]
    return read


def _transposed_reader(k: int, s: int, d: int, pad_before: int) -> Reader:
    def read(o):  # forward: o = i·s − p + t·d
        return [((o + pad_before - t * d) // s, 1) for t in range(k) if (o + pad_before - t * d) % s == 0]
    return read


def _whole_reader(n: int, average: bool) -> Reader:
    weight = Fraction(1, n) if average else 1
    return lambda o: [(i, weight) for i in range(n)] if o == 0 else []


def _adaptive_reader(windows, average: bool) -> Reader:
    def read(o):
        if not 0 <= o < len(windows):
            return []
        a, b = windows[o]
        return [(i, Fraction(1, b - a) if average else 1) for i in range(a, b)]
    return read


def _upsample_reader(n: int, o_size: int, scale, mode: str, align_corners: bool) -> Reader:
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
            return [(i0 + k, w) for k in (-1, 0, 1, 2) if (w := _cubic(lam - k))]
        return [(i, w) for i, w in ((i0, 1 - lam), (i0 + 1, lam)) if w]
    return read



# ---- analytic ERF -----------------------------------------------------------------------------------------------
def influence(graph: Graph, shapes: dict, layer: str, position: Sequence[int]) -> tuple[_State, list[str]]:
    """Propagate a unit impulse at ``position`` of ``layer`` (all channels) back to the network input."""
    order = {node.name: i for i, node in enumerate(graph.nodes)}
    if layer not in order:
        from ..errors import did_you_mean

        raise SpecError(f"--layer: no layer named `{layer}`", None, did_you_mean(layer, list(order)))
    states: dict[str, _State] = {layer: _State.impulse(position)}
    notes: list[str] = []
    for node in reversed(graph.nodes[: order[layer] + 1]):
        state = states.pop(node.name, None)
        if state is None:
            continue
        ins = [shapes[name] for name in node.inputs]
        out = shapes[node.name]
        for index, name in enumerate(node.inputs):
            rule = rule_for(node, ins, out, index)
            for term in [rule, *rule.extra]:
                contribution = _apply(state, term, len(ins[index]) - 1, node.name, notes)
                states[name] = _add(states.get(name), contribution)
            if rule.note:
                notes.append((APPROXIMATE if rule.approximate else "") + f"`{node.name}`: {rule.note}")
    result = states.get(graph.input_name)
    if result is None:
        raise SpecError(f"`{layer}` does not depend on the network input", None, "choose another --layer")
    return result, notes


def analytic_erf(graph: Graph, report, layer: str | None = None, position: Sequence[int] | None = None,
                 mass=DEFAULT_MASS) -> ERF:
    """The exact uniform-weight ERF of one output unit (default: the centre of :func:`default_layer`).

    ``report``: the :class:`~convcalc.report.Report` of ``graph`` (shapes and theoretical RFs).
    """
    shapes = {graph.input_name: tuple(graph.input_shape)}
    shapes.update({l.name: tuple(l.output_shape) for l in report.layers})
    layer = layer or default_layer(graph, shapes)
    if layer not in shapes or layer == graph.input_name:
        from ..errors import did_you_mean

        raise SpecError(f"--layer: no layer named `{layer}`", None,
                        did_you_mean(layer, [l.name for l in report.layers]))
    position = check_position(layer, shapes[layer], position)
    state, notes = influence(graph, shapes, layer, position)
    axes = axes_from(state.offsets, state.ints, report, layer, position, graph.input_shape, mass)
    if any(v < 0 for values in state.ints for v in values):  # bicubic's negative lobes
        for axis in axes:
            axis.values = [abs(v) for v in axis.values]
        notes.append(APPROXIMATE + "some weights are negative (bicubic lobes): the statistics use their magnitude")
    exact = not any(note.startswith(APPROXIMATE) for note in notes)
    notes = [note.removeprefix(APPROXIMATE) for note in notes]
    return ERF("analytic", layer, position, tuple(graph.input_shape), axes, exact, _dedupe(notes))


def _dedupe(items):
    return list(dict.fromkeys(items))


