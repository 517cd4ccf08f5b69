"""``convcalc verify``: run the network on the NumPy executor and check the cost model's output shape, params and
MACs layer by layer. Exit 0 if every layer agrees, 1 on a mismatch (the first explained on stderr), 2 on bad input
or when the memory guard refuses (see :mod:`convcalc.verify`). Rendered by :mod:`convcalc.render.verify`.

JSON shape (``--format json``, version 1): ``{"version", "name", "batch", "dtype", "seed", "ok", "seconds",
"memory_estimate_bytes", "first_mismatch": sentence | null, "layers": [{"name", "type", "ok", "mismatches":
[...], "analytic": {"output_shape", "params", "macs"}, "executed": {same keys}}], "rf": null}``; with ``--rf``,
``"rf"`` is a list of per-axis entries ``{"layer", "position", "axis", "index", "analytic": {"first", "last",
"size", "clipped"}, "measured": {"first", "last", "span", "taps"}, "input_size", "status", "ok", "note",
"mismatch"}`` (see :func:`convcalc.verify.probe_rf` and docs/rf.md) and ``first_mismatch`` falls back to the first
RF mismatch.
"""

from __future__ import annotations

import sys

from ..common import expand, parse_at
from ...errors import SpecError


def verify(spec: str, batch: int | None = None, input: str | None = None, sets: list[str] | None = None,
           seed: int = 0, dtype: str = "float32", format: str = "table", max_memory: str = "4G", rf: bool = False,
           layer: str | None = None, at: str | None = None) -> int:
    """Run the network on a NumPy executor and check shapes, params and MACs against the cost model.

    With --rf, also measure which input positions influence one output unit and check the span and first index
    against the analytic receptive field (docs/rf.md).
    """
    from ...render.emitters import emit
    from ...render.verify import LazyProgress, VerifyView
    from ...verify import MemoryRefused, parse_bytes, probe_rf
    from ...verify import verify as run_verify

    if (layer is not None or at is not None) and not rf:
        raise SpecError("--layer and --at choose the unit of the RF probe", None, "add --rf")
    limit = parse_bytes(max_memory)
    graph = expand(spec, batch, input, sets)
    progress = LazyProgress(len(graph.nodes))
    try:
        result = run_verify(graph, seed=seed, dtype=dtype, max_memory=limit, progress=progress)
        if rf:
            axes = probe_rf(graph, result.report, layer, parse_at(at), limit)
            result.rf = [axis.to_dict() for axis in axes]
    except MemoryRefused as refused:
        print(f"error: {refused}", file=sys.stderr)
        return 2
    finally:
        progress.close()
    emit(VerifyView(result, rf), format)
    sentence = result.first_mismatch_sentence
    if sentence is not None:
        print(f"mismatch: {sentence}", file=sys.stderr)
        return 1
    return 0
