"""VJP of squeeze_excitation: y = x · gate(mean(x)). The gate path is recomputed by the forward's
:func:`~convcalc.executor.excitation.excitation` from the node's kept arrays; both the direct term and the gate
path are differentiated (the activation and the gate through their own VJPs), unless ``ctx.gates`` holds the
gate constant."""

from __future__ import annotations

from math import prod

from ..excitation import excitation
from ..base import nbytes
from .base import GradContext, apply_vjp, vjp, vjp_footprint


@vjp("squeeze_excitation")
def squeeze_excitation(ctx: GradContext, node, xs, y, gy):
    x = xs[0]
    batch, c = x.shape[:2]
    w1 = ctx.weights[0]
    w2 = ctx.weights[2 if node.fields.get("bias", True) else 1]
    path = excitation(ctx.replay(), node, x)
    spread = (1,) * (x.ndim - 2)
    gx = gy * path.gate.reshape(batch, c, *spread).astype(gy.dtype)
    if not ctx.gates:  # the gate held constant (GradContext.gates): only the direct term
        return [gx]
    g_gate = (gy * x).reshape(batch, c, -1).sum(axis=2)
    g_gpre = apply_vjp(ctx.sub(path.gate_node), path.gate_node, [path.g_pre], path.gate, g_gate)[0]
    g_hpre = apply_vjp(ctx.sub(path.activation), path.activation, [path.h_pre], path.h, g_gpre @ w2)[0]
    g_pooled = (g_hpre @ w1) / gy.dtype.type(prod(x.shape[2:]))
    return [gx + g_pooled.reshape(batch, c, *spread).astype(gy.dtype)]


@vjp_footprint("squeeze_excitation")
def squeeze_excitation_footprint(ctx: GradContext, node, xs, y, gy):
    """gy·gate, gy·x, the sum of the two terms, and the gate path's few (B, C) arrays in float64."""
    return 3 * gy.nbytes + 12 * nbytes(xs[0].shape[:2], 8)
