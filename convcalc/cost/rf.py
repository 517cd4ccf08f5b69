"""Theoretical receptive field arithmetic (Araujo, Norris & Sim, "Computing Receptive Fields of Convolutional
Neural Networks", Distill 2019).

Per input axis we track, for the output unit at index 0 of the current feature map:

* ``size`` r — how many input positions it can see,
* ``jump`` j — the distance in input pixels between two adjacent units (the effective stride),
* ``center`` c — the input coordinate of the centre of its window.

The effective padding of the paper is derived, not stored: ``P = (r − 1)/2 − c``, and the first input index
covered is ``start = −P``. A window layer with effective kernel ``k_eff = d·(k − 1) + 1``, stride s and padding
p_before updates them as ``r += (k_eff − 1)·j``, ``c += ((k_eff − 1)/2 − p_before)·j``, ``j *= s`` — which is the
paper's ``P += p_before·j``. Jumps and centres are exact fractions, since upsampling divides the jump; a whole
value is kept as an ``int`` (int arithmetic is several times faster than Fraction's, and a 10,000-layer spec does
it for every window). Both print, compare and serialise alike.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from math import ceil
from ..numbers import fraction_text, whole


class _cached:
    """``functools.cached_property`` without its lock (Python 3.11's takes an RLock on every first read, which
    cost more than the arithmetic it caches). Fields are immutable and analysis is single-threaded."""

    def __init__(self, func):
        self.func, self.name, self.__doc__ = func, func.__name__, func.__doc__

    def __get__(self, obj, owner=None):
        if obj is None:
            return self
        value = obj.__dict__[self.name] = self.func(obj)
        return value


@dataclass(frozen=True)
class ReceptiveField:
    """Receptive field per input spatial axis."""

    size: tuple[int, ...]
    jump: tuple[Fraction | int, ...]
    center: tuple[Fraction | int, ...]
    position_dependent: bool = False
    notes: tuple[str, ...] = field(default=())

    @classmethod
    def identity(cls, ndim: int) -> "ReceptiveField":
        return cls((1,) * ndim, (1,) * ndim, (0,) * ndim)

    # cached: a field passes unchanged through every elementwise layer, and Fraction arithmetic is slow
    @_cached
    def padding(self) -> tuple[Fraction, ...]:
        """Effective padding P per axis (Araujo et al.)."""
        return tuple(whole(_half(r - 1) - c) for r, c in zip(self.size, self.center))

    @_cached
    def start(self) -> tuple[Fraction, ...]:
        """First input index covered by output unit 0 (= −P)."""
        return tuple(-p for p in self.padding)

    def step(self, span, jump_factor, center_offset) -> "ReceptiveField":
        """The general per-axis update, in units of the *input* jump.

        ``span``: how many input steps the window of one output covers beyond its first input (k_eff − 1 for a
        conv); ``jump_factor``: the stride (a fraction < 1 for upsampling); ``center_offset``: where the centre of
        output 0's window lies, in input units ((k_eff − 1)/2 − p_before for a conv).
        """
        size, jump, center = [], [], []
        for r, j, c, n, s, o in zip(self.size, self.jump, self.center, span, jump_factor, center_offset):
            grow = n * j
            size.append(r + (grow if type(grow) is int else int(ceil(grow))))
            center.append(whole(c + o * j))
            jump.append(whole(j * s))
        return ReceptiveField(tuple(size), tuple(jump), tuple(center), self.position_dependent, self.notes)

    def window(self, kernel_eff, stride, pad_before) -> "ReceptiveField":
        """Through a sliding window (conv, pooling): per-axis effective kernel, stride and padding before."""
        return self.step([k - 1 for k in kernel_eff], stride,
                         [_half(k - 1) - p for k, p in zip(kernel_eff, pad_before)])

    def whole(self, in_sizes) -> "ReceptiveField":
        """A layer whose single output sees its whole input (global pooling, flatten)."""
        return self.window(tuple(in_sizes), tuple(in_sizes), (0,) * len(in_sizes))

    def flagged(self, note: str) -> "ReceptiveField":
        """The same field, marked position-dependent (different outputs see windows of different sizes)."""
        return ReceptiveField(self.size, self.jump, self.center, True, self.notes + (note,))

    def aligned_with(self, other: "ReceptiveField") -> list[str]:
        """Why two merged inputs are misaligned (empty when aligned): jumps and centres must be equal."""
        problems = []
        for axis, (j1, j2, c1, c2) in enumerate(zip(self.jump, other.jump, self.center, other.center)):
            if j1 != j2:
                problems.append(f"axis {axis}: jump {fraction_text(j1)} vs {fraction_text(j2)}")
            elif c1 != c2:
                problems.append(f"axis {axis}: centre of unit 0 at {fraction_text(c1)} vs {fraction_text(c2)}")
        return problems


def _half(value: int):
    """value / 2, exactly: an int when even."""
    return value // 2 if value % 2 == 0 else Fraction(value, 2)


