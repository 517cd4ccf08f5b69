"""Placeholders (``type: unsupported``): an imported operator convcalc has no definition of, so nothing to run.

Its kernel refuses with the layer, the operator and the original's node, so that a direct :func:`convcalc.executor.run`
of a network holding one stops with an answer instead of computing zeros. (``convcalc verify`` and the measured ERF
refuse earlier, before running anything, from the analysis's list of placeholders.) There is no VJP: the forward
pass never gets this far.
"""

from __future__ import annotations

from .base import Context, footprint, kernel


@kernel("unsupported")
def unsupported(ctx: Context, node, xs):
    """Refuse: the operator in ``op`` (from the original's node ``of``) has no definition here."""
    op, of = node.fields.get("op", "?"), node.fields.get("of", "")
    where = f" (node '{of}')" if of else ""
    ctx.fail(f"a placeholder for {op}{where}, an operator with no layer kind: the executor has no definition of it "
             "to run", "map the operator to a layer kind (docs/import.md), or leave it out of the network")


footprint("unsupported")(lambda ctx, node, xs, y: 0)  # it refuses before allocating anything
