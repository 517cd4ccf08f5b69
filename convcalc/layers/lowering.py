"""What a kind answers when ``convcalc cost`` asks how it could be computed (:mod:`convcalc.cost.algorithms`).

A kind that runs plain convolutions answers ``conv_lowering(ins)`` with one :class:`Lowered` per convolution it runs
(a conv: itself; depthwise separable: its depthwise and its pointwise stage), each a
:class:`~convcalc.layers.conv.ConvGeometry` with the stage's channels, groups, kernel, stride, dilation, padding and
sizes — the numbers the im2col, Winograd and FFT models read. A conv-like kind whose arithmetic is not a plain
convolution (transposed, deformable, unshared) answers :class:`NotLowered` with the reason, which the cost table
prints as "not applicable" next to its direct count. It is an own answer (:func:`convcalc.layers.base.own`): a new
kind derived from ``conv`` does not inherit conv's lowering, it is reported as declaring none.
"""

from __future__ import annotations


class Lowered:
    """One plain convolution a layer runs: ``stage`` ("" for the layer itself) and its geometry."""

    __slots__ = ("stage", "geometry")

    def __init__(self, stage: str, geometry):
        self.stage, self.geometry = stage, geometry


class NotLowered:
    """A conv-like kind that no convolution algorithm applies to, and why (said next to its direct count)."""

    __slots__ = ("reason",)

    def __init__(self, reason: str):
        self.reason = reason


def not_lowered(reason: str):
    """A ``conv_lowering`` answer that always says ``reason``."""
    return lambda self, ins: NotLowered(reason)
