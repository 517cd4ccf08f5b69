"""Squeeze-and-excitation (Hu et al. 2018): y = x · gate(FC₂(act(FC₁(mean over positions of x)))).

Weights, in allocation order (``Execution.weights[name]``): FC1 ``(S, C)`` (+ bias ``(S,)``), FC2 ``(C, S)``
(+ bias ``(C,)``). MACs: the two GEMMs, B·C·S each. The activation and the gate run through their own kernels.
The intermediate values (:func:`excitation`) are recomputed by the backward pass from the same arrays.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..spec.graph import Node
from .base import KERNELS, Context, footprint, kernel, nbytes, require_rank


def sub_layer(node, kind: str) -> Node:
    """The node of an activation nested in ``node`` (named ``NODE.KIND``)."""
    return Node(f"{node.name}.{kind}", kind, {}, [node.name], node.mark)


@dataclass
class Excitation:
    """The values along the gate path: FC1's output before and after the activation ``(B, S)``, FC2's output
    before and after the gate ``(B, C)``, and the two nested nodes."""

    h_pre: np.ndarray
    h: np.ndarray
    g_pre: np.ndarray
    gate: np.ndarray
    activation: Node
    gate_node: Node


def _dense(ctx: Context, x, out: int, bias: bool):
    w = ctx.weight((out, x.shape[1]), x.shape[1])
    b = ctx.weight((out,), x.shape[1], role="bias") if bias else None
    y = ctx.matmul(x[:, None, :], w.T[None])[:, 0]                       # (B, 1, in) @ (1, in, out)
    return y + b if b is not None else y


def excitation(ctx: Context, node, x: np.ndarray) -> Excitation:
    """Mean over positions → FC C→S → activation → FC S→C → gate (allocating, or replaying, the FC arrays)."""
    require_rank(ctx, x)
    batch, c = x.shape[:2]
    s = node.fields.get("squeeze")
    if s is None:
        r = node.fields.get("reduction", 16)
        if c % r:
            ctx.fail(f"the channels ({c}) are not divisible by the reduction ({r})", "give `squeeze:`", "reduction")
        s = c // r
    bias = node.fields.get("bias", True)
    activation = sub_layer(node, node.fields.get("activation", "relu"))
    gate_node = sub_layer(node, node.fields.get("gate", "sigmoid"))
    pooled = x.reshape(batch, c, -1).mean(axis=2)                        # (B, C)
    h_pre = _dense(ctx, pooled, s, bias)
    h = KERNELS[activation.kind](ctx, activation, [h_pre])
    g_pre = _dense(ctx, h, c, bias)
    gate = KERNELS[gate_node.kind](ctx, gate_node, [g_pre])
    return Excitation(h_pre, h, g_pre, gate, activation, gate_node)


@kernel("squeeze_excitation")
def squeeze_excitation(ctx: Context, node, xs):
    """x · gate, the gate ``(B, C)`` broadcast over every position."""
    x = xs[0]
    gate = excitation(ctx, node, x).gate
    return x * gate.reshape(*x.shape[:2], *([1] * (x.ndim - 2)))


@footprint("squeeze_excitation")
def squeeze_excitation_footprint(ctx: Context, node, xs, y):
    """x · gate, and the gate path's few (B, C) arrays in float64 (the pooled means, FC outputs, activations)."""
    return y.nbytes + 8 * nbytes(xs[0].shape[:2], 8)
