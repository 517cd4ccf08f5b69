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

Bounded work. Before any work, :func:`work_estimate` counts the taps the propagation will visit (per layer and axis:
the positions of its output inside the unit's theoretical RF times the taps each reads, both from the report's
receptive fields) and :func:`check_work` refuses above :data:`MAX_WORK` with the numbers: a huge input under a
global pool, a huge dilation or a huge kernel cannot hang it. The exact integers can also grow: gradients summed
over paths with different scales (a squeeze-excitation gate's in-map share of the gradient is a ratio of large
integers) double their digits at every merge, so a marginal is rounded to :data:`PRECISION_BITS` significant bits
once it exceeds :data:`EXACT_BITS` bits (a nonzero value stays nonzero, so the support is kept), and the result
says so (``exact`` false, with a note). Hand-sized networks never reach that bound and stay exact.

Statistics and the result types: :mod:`convcalc.erf.stats`; the measured ERF: :mod:`convcalc.erf.measured`.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from math import ceil, gcd, lcm, prod
from typing import Sequence

from ..errors import SpecError
from ..spec.graph import Graph, Node
from ..layers.influence import ERFRule, identity
from ..numbers import fmt_count, json_number
from .stats import DEFAULT_MASS, ERF, axes_from, rf_window, unit

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


APPROXIMATE = "\0approximate\0"  # prefix of a note that makes the result inexact (stripped when reported)

#: the most taps the propagation may visit (work_estimate): about 10 s of pure Python at the precision below
#: (densenet121 at 224 × 224, the largest shipped, estimates 228,774 and takes 2.5 s)
MAX_WORK = 1_000_000
#: a marginal or scale whose integers exceed EXACT_BITS bits is rounded to PRECISION_BITS significant bits
EXACT_BITS = 1024
PRECISION_BITS = 256
ROUNDED = (APPROXIMATE + "the path sums needed integers of more than {} bits, so the marginals were rounded to "
           "{} significant bits (relative error below 2^-{}; every nonzero weight kept)")


def _bits(values: list[int]) -> int:
    return max((abs(v).bit_length() for v in values), default=0)


def _round_ints(values: list[int], shift: int) -> list[int]:
    """``values / 2^shift`` rounded to the nearest, a nonzero value never to zero (the support is kept)."""
    half = 1 << (shift - 1)
    out = []
    for v in values:
        r = (abs(v) + half) >> shift
        r = r or (1 if v else 0)
        out.append(r if v >= 0 else -r)
    return out


def _round_fraction(x: Fraction) -> Fraction:
    """``x`` to PRECISION_BITS significant bits when its numerator or denominator exceeds EXACT_BITS bits."""
    if max(x.numerator.bit_length(), x.denominator.bit_length()) <= EXACT_BITS or not x:
        return x
    e = x.numerator.bit_length() - x.denominator.bit_length() - PRECISION_BITS
    scaled = x / (Fraction(2) ** e)
    return Fraction(round(scaled)) * Fraction(2) ** e


def _bounded(state: "_State", notes: list[str]) -> "_State":
    """The state with every marginal and scale within EXACT_BITS bits (see the module docstring)."""
    ints, scales, rounded = [], [], False
    for values, scale in zip(state.ints, state.scales):
        bits = _bits(values)
        if bits > EXACT_BITS:
            shift = bits - PRECISION_BITS
            values, scale, rounded = _round_ints(values, shift), scale * (1 << shift), True
        rounded_scale = _round_fraction(scale)
        rounded |= rounded_scale != scale
        ints.append(values)
        scales.append(rounded_scale)
    mass = _round_fraction(state.mass)
    if not rounded and mass == state.mass:
        return state
    notes.append(ROUNDED.format(EXACT_BITS, PRECISION_BITS, PRECISION_BITS - 1))
    return _State(state.offsets, ints, scales, mass, state.separable)


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


def _apply(state: _State, rule: ERFRule, in_rank: int, layer: str, notes: list[str]) -> _State:
    """Propagate ``state`` (at a layer's output) through ``rule`` to one input of rank ``in_rank``."""
    if not state.ints and in_rank:  # a flat output read from a map: one output "position" per input axis
        state = _State([0] * in_rank, [[1]] * in_rank, [state.mass] * in_rank, state.mass, True)
    if not in_rank:
        return _State([], [], [], state.mass * rule.factor, state.separable)
    if all(reader is identity for reader in rule.readers):  # elementwise, add, concat: only the channel factor
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


# ---- the rule of a layer: its kind's own (convcalc/layers/influence.py) ------------------------------------------
def rule_for(node: Node, ins: Sequence[tuple], out: tuple, index: int) -> ERFRule:
    """The uniform-weight backward rule of ``node`` towards its input number ``index``: the kind's own
    ``erf_rule``. A kind without one of its own is unsupported (it never borrows another kind's rule)."""
    from ..layers import REGISTRY
    from ..layers.base import own

    cls = REGISTRY[node.kind]
    method = own(cls, "erf_rule")
    if method is None:
        parent = next((base.kind for base in cls.__mro__[1:] if getattr(base, "kind", "") in REGISTRY
                       and REGISTRY[base.kind] is base), "")
        why = f" (it derives from `{parent}` but does not take its rule: its window may differ)" if parent else ""
        raise SpecError(f"layer `{node.name}`: the analytic ERF has no rule for layer kind `{node.kind}`{why}",
                        node.mark, "use --erf measured, or give the kind its own `erf_rule` (docs/extending.md)")
    return method(cls(node), ins, out, index)


# ---- analytic ERF -----------------------------------------------------------------------------------------------
def check_followable(graph: Graph, report, layer: str) -> None:
    """Refuse a unit downstream of a layer whose ``erf_block`` says the per-axis readers cannot follow it (a
    layout they do not state: convcalc/cost/layout.py); the measured ERF runs the real arrays and can."""
    blocked = {l.name: l.rf.erf_block for l in report.layers if getattr(l.rf, "erf_block", "")}
    if not blocked:
        return
    seen = upstream(graph, layer)
    # the first in graph order (a layer passing the field on unchanged shares its record, and its note)
    first = next((node for node in graph.nodes if node.name in seen and node.name in blocked), None)
    if first is not None:
        raise SpecError(f"the analytic ERF cannot follow layer `{first.name}`: {blocked[first.name]}", first.mark,
                        "use --erf measured (it runs the arrays), or pick a --layer before it")


def upstream(graph: Graph, layer: str) -> set[str]:
    """The names of ``layer`` and every node it depends on."""
    by_name = {node.name: node for node in graph.nodes}
    seen, stack = set(), [layer]
    while stack:
        name = stack.pop()
        if name not in seen and name in by_name:
            seen.add(name)
            stack.extend(by_name[name].inputs)
    return seen


def work_estimate(graph: Graph, report, layer: str) -> int:
    """The taps the propagation to ``layer`` will visit, from the theoretical receptive fields alone: per layer
    and axis, the positions of its output inside the unit's RF, ``(r_unit − r_out)/j_out + 1``, times the taps each
    reads, ``(r_out − r_in)/j_in + 1`` (k_eff for a window, N for a global pool), summed over its inputs."""
    rfs = {l.name: l.rf for l in report.layers}
    shapes = {graph.input_name: tuple(graph.input_shape), **{l.name: tuple(l.output_shape) for l in report.layers}}
    rank = len(graph.input_shape) - 1
    unit = rfs[layer]
    needed = upstream(graph, layer)
    total = 0
    for node in graph.nodes:
        if node.name not in needed:
            continue
        out = rfs[node.name]
        positions = [max((unit.size[a] - out.size[a]) / out.jump[a] + 1, 1) if out.jump[a] else 1
                     for a in range(rank)]
        for index, name in enumerate(node.inputs):
            src = rfs.get(name)
            for a in range(rank):
                r_in, j_in = (src.size[a], src.jump[a]) if src is not None else (1, 1)
                taps = max((out.size[a] - r_in) / j_in + 1, 1) if j_in else 1
                total += ceil(positions[a] * taps)
            total += _extra_taps(node, [shapes[n] for n in node.inputs], shapes[node.name], index, positions)
    return total


def _extra_taps(node, ins, out, index: int, positions) -> int:
    """The taps of a rule's extra terms that read more than the receptive field shows (an SE gate spreads every
    position over the whole map: ``reader.taps`` per position), for :func:`work_estimate`; 0 for a kind without a
    rule, which the propagation refuses by itself."""
    try:
        rule = rule_for(node, ins, out, index)
    except SpecError:
        return 0
    return sum(ceil(positions[a] * reader.taps) for term in rule.extra for a, reader in enumerate(term.readers)
               if a < len(positions) and getattr(reader, "taps", None))


def check_work(graph: Graph, report, layer: str) -> None:
    """Refuse, before any work, a unit whose analytic ERF would visit more than MAX_WORK taps."""
    work = work_estimate(graph, report, layer)
    if work > MAX_WORK:
        rf = next(l.rf for l in report.layers if l.name == layer)
        raise SpecError(f"--erf analytic: the ERF of `{layer}` (theoretical RF {'×'.join(map(str, rf.size))}) would "
                        f"visit about {fmt_count(work)} taps, above the bound of {fmt_count(MAX_WORK)}", None,
                        "pick an earlier --layer (a smaller RF), a smaller --input, or use --erf measured, whose "
                        "cost is bounded by --max-memory")


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
                states[name] = _bounded(_add(states.get(name), contribution), notes)
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
    shapes, layer, position = unit(graph, report, layer, position)
    check_followable(graph, report, layer)
    check_work(graph, report, layer)
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


# ---- one output's input window (`convcalc rf --at`) ----------------------------------------------------------
@dataclass
class AxisWindow:
    """The input window of one output position along one axis: the theoretical one (Araujo et al.: start + i·j
    … + r − 1), the exact set of input indices the impulse reaches (``support``), and both clipped to the input."""

    axis: int
    index: int
    start: Fraction
    end: Fraction
    size: int
    input_size: int
    support: tuple[int, int] | None = None

    @property
    def clipped(self) -> bool:
        return self.start < 0 or self.end > self.input_size - 1

    @property
    def inside(self) -> tuple[Fraction, Fraction]:
        return max(self.start, Fraction(0)), min(self.end, Fraction(self.input_size - 1))

    def to_dict(self) -> dict:
        lo, hi = self.inside
        return {"axis": self.axis, "index": self.index, "start": json_number(self.start), "end": json_number(self.end),
                "size": self.size, "clipped": self.clipped, "inside": [json_number(lo), json_number(hi)],
                "support": list(self.support) if self.support else None}


def input_window(graph, report, layer: str, at: tuple[int, ...]) -> list[AxisWindow]:
    """Where output position ``at`` of ``layer`` looks in the input, per axis (exact support by an impulse)."""
    shapes, layer, at = unit(graph, report, layer, at)
    check_followable(graph, report, layer)
    check_work(graph, report, layer)
    state, _ = influence(graph, shapes, layer, at)
    windows = []
    for axis, (start, size) in enumerate(rf_window(report, layer, at)):
        values, offset = state.ints[axis], state.offsets[axis]
        nonzero = [k for k, v in enumerate(values) if v]
        support = (offset + nonzero[0], offset + nonzero[-1]) if nonzero else None
        index = at[axis] if at else 0
        windows.append(AxisWindow(axis, index, start, start + size - 1, size, graph.input_shape[1 + axis], support))
    return windows
