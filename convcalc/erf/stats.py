"""Effective receptive fields (Luo, Li, Urtasun & Zemel, "Understanding the Effective Receptive Field in Deep
Convolutional Neural Networks", NIPS 2016): the result types and their statistics, shared by the analytic model
(:mod:`convcalc.erf.analytic`) and the measurement (:mod:`convcalc.erf.measured`).

The theoretical receptive field (:mod:`convcalc.cost.rf`) says which input pixels a unit *can* see. The effective
receptive field says how much each of them matters: the gradient of the unit with respect to the input. Its centre
is reached by many more paths than its edge, so it is roughly Gaussian and much smaller.

Statistics per axis (:class:`AxisERF`): centre of mass, variance, standard deviation, and the centred window that
holds a fraction ``mass`` of the distribution (windows are symmetric about the centre of mass rounded to a half
pixel, so 11 for 10 stacked 3×3 convs at 95 %), with its ratio to the theoretical RF.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from math import floor, prod, sqrt
from typing import Any, Sequence

from ..errors import SpecError
from ..spec.graph import Graph
from ..numbers import json_number

DEFAULT_MASS = Fraction(95, 100)
AREA_THRESHOLDS = (0.2, 0.3, 0.5, 0.99)


# ---- statistics of one axis ---------------------------------------------------------------------------------
@dataclass
class AxisERF:
    """The ERF along one input axis: ``values[k]`` is the weight of input index ``offset + k``.

    Analytic values are exact ints (their scale does not matter); measured values are floats. ``rf_start`` and
    ``rf_size`` give the theoretical window of the same unit, ``input_size`` the length of the axis.
    """

    axis: int
    offset: int
    values: list
    rf_start: Fraction
    rf_size: int
    input_size: int
    mass: Fraction = DEFAULT_MASS

    @property
    def total(self):
        return sum(self.values)

    @property
    def exact(self) -> bool:
        return all(isinstance(v, (int, Fraction)) for v in self.values)

    def _num(self, value):
        return value if self.exact else float(value)

    def _moments(self):
        """Σv, Σv·k, Σv·k² over the values (k from 0), as ints for exact values: a Fraction is built once at the
        end, so large analytic integers cost a few multiplications each, not a gcd per term."""
        s0 = s1 = s2 = 0
        for k, v in enumerate(self.values):
            s0 += v
            s1 += v * k
            s2 += v * k * k
        return s0, s1, s2

    @property
    def mean(self):
        """Centre of mass, in input coordinates (exact Fraction for analytic values)."""
        s0, s1, _ = self._moments()
        return self.offset + (Fraction(s1, s0) if self.exact else s1 / s0)

    @property
    def variance(self):
        """Σv·(x − mean)²/Σv = (Σv·Σv·k² − (Σv·k)²)/(Σv)², shift-invariant (k from 0)."""
        s0, s1, s2 = self._moments()
        if self.exact:
            return Fraction(s0 * s2 - s1 * s1, s0 * s0)
        return max(s2 / s0 - (s1 / s0) ** 2, 0.0)

    @property
    def std(self) -> float:
        return sqrt(self.variance)

    @property
    def support(self) -> tuple[int, int]:
        """First and last input index with nonzero weight."""
        nonzero = [k for k, v in enumerate(self.values) if v]
        return self.offset + nonzero[0], self.offset + nonzero[-1]

    @property
    def centre(self) -> Fraction:
        """The centre of mass rounded to the nearest half pixel: the centre of the windows below."""
        mean = Fraction(self.mean) if self.exact else Fraction(round(2 * self.mean), 2)
        return Fraction(round(2 * mean), 2)

    def window(self, mass=None) -> tuple[int, int]:
        """The smallest window ``[lo, hi]`` centred on :attr:`centre` holding at least ``mass`` of the total."""
        mass = Fraction(mass if mass is not None else self.mass)
        if not self.exact:
            mass = float(mass)
        centre, total = self.centre, self.total
        lo = hi = int(centre) if centre.denominator == 1 else None
        if lo is None:
            lo, hi = floor(centre), floor(centre) + 1
        first, last = self.support
        held = self._slice_sum(lo, hi)
        while held < mass * total and (lo > first or hi < last):
            lo, hi = lo - 1, hi + 1
            held += self._at(lo) + self._at(hi)
        return lo, hi

    def window_size(self, mass=None) -> int:
        lo, hi = self.window(mass)
        return hi - lo + 1

    def _at(self, index: int):
        k = index - self.offset
        return self.values[k] if 0 <= k < len(self.values) else 0

    def _slice_sum(self, lo: int, hi: int):
        """Σ of the values at input indices lo … hi (only the part that overlaps the values is visited)."""
        first, last = max(lo - self.offset, 0), min(hi - self.offset, len(self.values) - 1)
        return sum(self.values[first:last + 1]) if first <= last else 0

    def inside(self) -> float:
        """Share of the weight that falls inside the input (0 … input_size − 1)."""
        inner = self._slice_sum(0, self.input_size - 1) if self.values else 0
        return float(Fraction(inner) / self.total) if self.exact else inner / self.total

    def normalised(self) -> list[float]:
        """Each value over the total, as floats (large exact ints are divided as ints: no float overflow)."""
        total = self.total
        return [v / total for v in self.values]

    def to_dict(self) -> dict:
        lo, hi = self.window()
        first, last = self.support
        exact = self.exact
        variance = self.variance
        return {
            "axis": self.axis,
            "mean": json_number(self.mean) if exact else float(self.mean),
            "variance": json_number(variance) if exact else float(variance),
            "std": self.std,
            "mass": float(self.mass),
            "window": [lo, hi],
            "window_size": hi - lo + 1,
            "support": [first, last],
            "rf_size": self.rf_size,
            "rf_window": [json_number(self.rf_start), json_number(self.rf_start + self.rf_size - 1)],
            "window_over_rf": (hi - lo + 1) / self.rf_size,
            "std_over_rf": self.std / self.rf_size,
            "inside_input": self.inside(),
            "offset": self.offset,
            "profile": self.normalised(),
        }


@dataclass
class ERF:
    """An effective receptive field: one :class:`AxisERF` per spatial input axis, for one output unit."""

    method: str                 # "analytic" or "measured"
    layer: str
    position: tuple[int, ...]   # the output unit, per spatial axis of the layer's output
    input_shape: tuple[int, ...]
    axes: list[AxisERF]
    exact: bool = True
    notes: list[str] = field(default_factory=list)
    samples: int = 0
    weights: str = ""
    grid: Any = None            # measured: the averaged |gradient| map summed over channels (numpy array)
    positive: Any = None        # measured: the averaged positive gradient summed over channels
    area_ratios: list[dict] = field(default_factory=list)
    seconds: float = 0.0

    def image(self):
        """The map to draw: the measured gradient, or the outer product of the analytic marginals (exact for a
        single-path network), over the analytic support. Returns ``(array, origin)`` with origin the input index
        of element 0 per axis."""
        import numpy as np

        if self.grid is not None:
            return np.asarray(self.grid, dtype=np.float64), tuple(0 for _ in self.axes)
        out = np.ones((), dtype=np.float64)
        for axis in self.axes:
            out = np.multiply.outer(out, np.asarray(axis.normalised(), dtype=np.float64))
        return out, tuple(a.offset for a in self.axes)

    def to_dict(self) -> dict:
        data = {
            "method": self.method, "layer": self.layer, "position": list(self.position),
            "exact": self.exact, "axes": [a.to_dict() for a in self.axes], "notes": list(self.notes),
        }
        if self.method == "measured":
            data.update(samples=self.samples, weights=self.weights, seconds=self.seconds,
                        area_ratios=self.area_ratios)
        return data



# ---- choosing the unit ----------------------------------------------------------------------------------------
def default_layer(graph: Graph, shapes: dict, skip=frozenset()) -> str:
    """The last layer whose output is a spatial map larger than one position (Luo et al. look at the last conv
    layer, RepLKNet at the last stage), else the last layer; layers in ``skip`` (outputs not channels first) are
    passed over."""
    for node in reversed(graph.nodes):
        shape = shapes[node.name]
        if len(shape) > 1 and any(n > 1 for n in shape[1:]) and node.name not in skip:
            return node.name
    return graph.nodes[-1].name


def shapes_of(graph: Graph, report) -> dict:
    """Every tensor's shape per sample, the network input's included, by name."""
    shapes = {graph.input_name: tuple(graph.input_shape)}
    shapes.update({layer.name: tuple(layer.output_shape) for layer in report.layers})
    return shapes


def unit(graph: Graph, report, layer: str | None, position: Sequence[int] | None):
    """The unit to study: ``(shapes, layer, position)``; the layer defaults to :func:`default_layer`, the position
    to the centre (:func:`check_position`). Bad input for an unknown layer or a position outside it."""
    shapes = shapes_of(graph, report)
    laid_out = off_grid(report)
    layer = layer or default_layer(graph, shapes, laid_out)
    if layer not in shapes or layer == graph.input_name:
        from ..errors import did_you_mean

        raise SpecError(f"--layer: no layer named `{layer}`", None,
                        did_you_mean(layer, [l.name for l in report.layers]))
    check_on_grid(layer, laid_out)
    return shapes, layer, check_position(layer, shapes[layer], position)


def off_grid(report) -> dict[str, str]:
    """The layers whose output is not the input's channels-first grid (after a permute or reshape), with their
    layout (convcalc/cost/layout.py): their positions are not one index per input axis."""
    return {l.name: l.rf.layout for l in report.layers if getattr(l.rf, "layout", "")}


def check_on_grid(layer: str, laid_out: dict[str, str]) -> None:
    """A unit is given per spatial axis of a channels-first output: refuse a layer laid out otherwise."""
    if layer in laid_out:
        raise SpecError(f"--layer: `{layer}` is laid out {laid_out[layer]}, not channels first like the input, so "
                        "its positions are not one per input axis", None,
                        "pick a layer after the permute (or reshape) back to channels first")


def centre_position(shape: Sequence[int]) -> tuple[int, ...]:
    """The centre unit: index N // 2 per spatial axis (as RepLKNet's ``out_size // 2``)."""
    return tuple(n // 2 for n in shape[1:])


def check_position(layer: str, shape: Sequence[int], position: Sequence[int] | None) -> tuple[int, ...]:
    sizes = tuple(shape[1:])
    if position is None:
        return centre_position(shape)
    position = tuple(position)
    if len(position) != len(sizes):
        raise SpecError(f"--at gives {len(position)} coordinate(s), but `{layer}` has {len(sizes)} spatial "
                        f"ax{'is' if len(sizes) == 1 else 'es'} (output {'×'.join(map(str, shape))})", None,
                        f"give {len(sizes)} comma-separated indices, e.g. --at {','.join(['0'] * len(sizes))}"
                        if sizes else "a flat layer has one unit: leave out --at")
    for axis, (p, n) in enumerate(zip(position, sizes)):
        if not 0 <= p < n:
            raise SpecError(f"--at: index {p} on axis {axis} is outside `{layer}`'s output (0 … {n - 1})", None,
                            f"use an index from 0 to {n - 1}")
    return position



def rf_window(report, layer: str, position: Sequence[int]) -> list[tuple[Fraction, int]]:
    """(first input index, size) of the theoretical window of ``position`` of ``layer``, per axis."""
    rf = next(l.rf for l in report.layers if l.name == layer)
    position = list(position) or [0] * len(rf.size)
    return [(Fraction(s) + p * Fraction(j), r) for s, j, r, p in zip(rf.start, rf.jump, rf.size, position)]


def axes_from(offsets, values, report, layer, position, input_shape, mass) -> list[AxisERF]:
    windows = rf_window(report, layer, position)
    return [AxisERF(a, offsets[a], values[a], windows[a][0], windows[a][1], input_shape[1 + a], Fraction(mass))
            for a in range(len(values))]



def area_ratios(positive, thresholds=AREA_THRESHOLDS) -> list[dict]:
    """RepLKNet's high-contribution area ratio (Ding et al. 2022, erf/analyze_erf.py): take log10(x + 1) of the
    summed positive gradient, divide by its maximum, and find for each threshold t the smallest centred square
    (cube, segment) of odd side 2i + 1 (i ≥ 1, centred at N // 2) whose share of the total is *above* t; its area
    ratio is side^d / ΠN. ``side`` is None when no such square fits (RepLKNet returns None too)."""
    import numpy as np

    data = np.log10(np.asarray(positive, dtype=np.float64) + 1)
    top = data.max() if data.size else 0.0
    if top > 0:
        data = data / top
    total = data.sum()
    sizes = data.shape
    out = []
    for t in thresholds:
        found = None
        if total > 0:
            for i in range(1, min(sizes) // 2):
                box = tuple(slice(n // 2 - i, n // 2 + i + 1) for n in sizes)
                if data[box].sum() / total > t:
                    side = 2 * i + 1
                    found = {"threshold": t, "side": side, "area_ratio": side ** len(sizes) / prod(sizes)}
                    break
        out.append(found or {"threshold": t, "side": None, "area_ratio": None})
    return out


def variance_formula(layers: Sequence[tuple[int, int, int]]) -> Fraction:
    """Σ_l (j_{l−1}·d_l)²·(k_l² − 1)/12 for a chain of (kernel, stride, dilation): the analytic ERF variance of a
    linear chain of sliding windows (a box of k taps spaced j·d apart has variance (j·d)²(k² − 1)/12)."""
    jump, total = 1, Fraction(0)
    for k, s, d in layers:
        total += Fraction((jump * d) ** 2 * (k * k - 1), 12)
        jump *= s
    return total


