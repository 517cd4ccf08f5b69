"""Theoretical receptive field arithmetic (Araujo, Norris & Sim, "Computing Receptive Fields of Convolutional
Neural Networks", Distill 2019).

Per input axis we track, for the output unit at index 0 of the current feature map:

* ``size`` r — how many input positions it can see,
* ``jump`` j — the distance in input pixels between two adjacent units (the effective stride),
* ``center`` c — the input coordinate of the centre of its window.

The effective padding of the paper is derived, not stored: ``P = (r − 1)/2 − c``, and the first input index
covered is ``start = −P``. A window layer with effective kernel ``k_eff = d·(k − 1) + 1``, stride s and padding
p_before updates them as ``r += (k_eff − 1)·j``, ``c += ((k_eff − 1)/2 − p_before)·j``, ``j *= s`` — which is the
paper's ``P += p_before·j``. Jumps and centres are exact fractions, since upsampling divides the jump.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from functools import cached_property
from math import ceil


@dataclass(frozen=True)
class ReceptiveField:
    """Receptive field per input spatial axis."""

    size: tuple[int, ...]
    jump: tuple[Fraction, ...]
    center: tuple[Fraction, ...]
    position_dependent: bool = False
    notes: tuple[str, ...] = field(default=())

    @classmethod
    def identity(cls, ndim: int) -> "ReceptiveField":
        return cls((1,) * ndim, (Fraction(1),) * ndim, (Fraction(0),) * ndim)

    # cached: a field passes unchanged through every elementwise layer, and Fraction arithmetic is slow
    @cached_property
    def padding(self) -> tuple[Fraction, ...]:
        """Effective padding P per axis (Araujo et al.)."""
        return tuple(Fraction(r - 1, 2) - c for r, c in zip(self.size, self.center))

    @cached_property
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
            size.append(r + _whole(n * j))
            center.append(c + Fraction(o) * j)
            jump.append(j * Fraction(s))
        return ReceptiveField(tuple(size), tuple(jump), tuple(center), self.position_dependent, self.notes)

    def window(self, kernel_eff, stride, pad_before) -> "ReceptiveField":
        """Through a sliding window (conv, pooling): per-axis effective kernel, stride and padding before."""
        return self.step([k - 1 for k in kernel_eff], stride,
                         [Fraction(k - 1, 2) - p for k, p in zip(kernel_eff, pad_before)])

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
                problems.append(f"axis {axis}: jump {_fmt(j1)} vs {_fmt(j2)}")
            elif c1 != c2:
                problems.append(f"axis {axis}: centre of unit 0 at {_fmt(c1)} vs {_fmt(c2)}")
        return problems


def _fmt(value: Fraction) -> str:
    return str(value.numerator) if value.denominator == 1 else f"{value.numerator}/{value.denominator}"


def _whole(value) -> int:
    value = Fraction(value)
    return int(ceil(value))
