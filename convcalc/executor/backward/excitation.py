"""VJP of squeeze_excitation: y = x · gate(mean(x)). The gate path is recomputed by the forward's
:func:`~convcalc.executor.excitation.excitation` from the node's kept arrays; both the direct term and the gate
path are differentiated (the activation and the gate through their own VJPs), unless ``ctx.gates`` holds the
gate constant."""

from __future__ import annotations

from math import prod

from ..excitation import excitation
from ..base import nbytes
from .base import GradContext, apply_vjp, train_step, vjp, vjp_footprint


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


@train_step("squeeze_excitation")
def squeeze_excitation_train(ctx: GradContext, wctx: GradContext, node, xs, y, gy, input_grad, trainable):
    """Back along the gate path: FC2's weight gradient ``(C × B) @ (B × S)`` and input gradient ``(B × C) @ (C ×
    S)`` (needed for FC1's weights or for the input), FC1's weight gradient, then — for the input gradient only —
    FC1's input gradient, spread over the positions, plus the direct term gy·gate. The gate's gradient Σ gy·x and
    the mean are elementwise (FLOPs), not counted here."""
    x = xs[0]
    batch, c = x.shape[:2]
    w1 = ctx.weights[0]
    w2 = ctx.weights[2 if node.fields.get("bias", True) else 1]
    path = excitation(ctx.replay(), node, x)
    pooled = x.reshape(batch, c, -1).mean(axis=2)
    g_gate = (gy * x).reshape(batch, c, -1).sum(axis=2)
    g_gpre = apply_vjp(ctx.sub(path.gate_node), path.gate_node, [path.g_pre], path.gate, g_gate)[0]
    if trainable:
        wctx.matmul(g_gpre.T, path.h)
    g_hpre = apply_vjp(ctx.sub(path.activation), path.activation, [path.h_pre], path.h, ctx.matmul(g_gpre, w2))[0]
    if trainable:
        wctx.matmul(g_hpre.T, pooled)
    if not input_grad:
        return [None]
    spread = (1,) * (x.ndim - 2)
    g_pooled = ctx.matmul(g_hpre, w1) / gy.dtype.type(prod(x.shape[2:]))
    gx = gy * path.gate.reshape(batch, c, *spread).astype(gy.dtype)
    return [gx + g_pooled.reshape(batch, c, *spread).astype(gy.dtype)]
