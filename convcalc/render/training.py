"""``convcalc cost SPEC --train``: the backward compute of one training step
(:class:`~convcalc.cost.training.TrainingCompute`), as the lines and table :class:`~convcalc.render.cost.CostView`
adds under the algorithms. Layers with no backward work are left out of the table (the JSON lists every layer)."""

from __future__ import annotations

from ..numbers import fmt_count
from .model import LEFT, RIGHT, Line, Table, columns


def training_blocks(training, units: str = "auto", markdown: bool = False) -> list:
    """The header line, one row per layer that does backward work, the totals and a note."""
    totals = training.totals()
    frozen = f", {totals['frozen_layers']} frozen" if totals["frozen_layers"] else ""
    blocks = [Line(""), Line(f"training step (backward compute) · batch {training.batch} · "
                             f"{totals['trainable_layers']} trainable layers{frozen}", "title")]
    table = Table(columns(("layer", "layer", LEFT), ("type", "type", LEFT), ("trainable", "trainable", LEFT),
                          ("dx_macs", "dX MACs", RIGHT), ("dw_macs", "dW MACs", RIGHT),
                          ("backward_macs", "backward MACs", RIGHT), ("backward_flops", "backward FLOPs", RIGHT)))
    for row in training.layers:
        if not row.needs_backward:
            continue
        table.add([f"`{row.name}`" if markdown else row.name, row.type,
                   "yes" if row.trainable else ("frozen" if row.name in training.frozen else "—"),
                   fmt_count(row.dx_macs, units), fmt_count(row.dw_macs, units), fmt_count(row.backward_macs, units),
                   fmt_count(row.backward_flops, units)])
    table.add(["total", "", "", fmt_count(totals["dx_macs"], units), fmt_count(totals["dw_macs"], units),
               fmt_count(totals["backward_macs"], units), fmt_count(totals["backward_flops"], units)], "total")
    blocks += [table,
               Line(f"forward {fmt_count(totals['forward_macs'], units)} MACs + backward "
                    f"{fmt_count(totals['backward_macs'], units)} = {fmt_count(totals['training_macs'], units)} "
                    "MACs per training step", "total"),
               Line(f"forward {fmt_count(totals['forward_flops'], units)} FLOPs + backward "
                    f"{fmt_count(totals['backward_flops'], units)} = {fmt_count(totals['training_flops'], units)} "
                    "FLOPs per training step", "total"),
               Line("dX: input-gradient MACs (none for layers with no trainable layer upstream), dW: weight-gradient "
                    "MACs (trainable layers); backward FLOPs: 2 per backward MAC + bias gradients + the backward per-op "
                    "table (docs/flops.md); docs/training.md", "note")]
    return blocks
